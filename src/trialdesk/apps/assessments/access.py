"""Who may enter and read which forms: the instrument's rater decides the action, ``allowed()`` decides.

Assessor-rated scales need ``enter-assessment``; self-report questionnaires ``enter-self-report`` (staff
typing in a paper form, or issuing a link); the clinician IMRS and the typed baseline form are entered
from paper by either. Reading a form needs the right to enter it or ``view-assessments``: so a
facilitator or fidelity rater never sees an outcome rating.
"""

from __future__ import annotations

from typing import Any

from trialdesk.apps.accounts.permissions import allowed
from trialdesk.instruments import get_library

ENTRY_ACTIONS: dict[str, tuple[str, ...]] = {
    "assessor": ("enter-assessment",),
    "self": ("enter-self-report",),
    "clinician": ("enter-self-report", "enter-assessment"),
    "staff": ("enter-self-report", "enter-assessment"),
    "fidelity_rater": (),
}
#: Any of these lets a user open a participant's visit page.
VISIT_ACTIONS = ("enter-assessment", "enter-self-report", "book-visits", "view-assessments", "record-guess")


def can_enter(user: Any, instrument: str, participant: Any) -> bool:
    rater = get_library().get(instrument).rater
    return any(allowed(user, action, participant) for action in ENTRY_ACTIONS[rater])


def can_view(user: Any, instrument: str, participant: Any) -> bool:
    return can_enter(user, instrument, participant) or allowed(user, "view-assessments", participant)


def can_open_visits(user: Any, participant: Any = None) -> bool:
    return allowed(user, "view-participants", participant) and any(
        allowed(user, action, participant) for action in VISIT_ACTIONS
    )
