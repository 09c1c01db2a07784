"""The only writers of visits, assessments, blinding records and self-report links.

Every function validates, writes and appends to the ledger in one transaction; bad input raises a
:class:`~trialdesk.errors.UserError` (an ``InputError`` naming each field) and stores nothing.
"""

from .batch import save_visit
from .blinding import guess_choices, record_guess, record_incident
from .entry import mark_not_done, save
from .links import LinkRefusedError, finish, issue, resolve, submit
from .schedule import book_visit, change_baseline_date, ensure_visits, mark_missed, visit_progress

__all__ = [
    "LinkRefusedError",
    "book_visit",
    "change_baseline_date",
    "ensure_visits",
    "finish",
    "guess_choices",
    "issue",
    "mark_missed",
    "mark_not_done",
    "record_guess",
    "record_incident",
    "resolve",
    "save",
    "save_visit",
    "submit",
    "visit_progress",
]
