"""The instrument library: rating scales, questionnaires and typed forms declared as data, and their scoring.

Definitions live in ``definitions/<code>.toml`` (item codes and short neutral labels only, never a
scale's copyrighted wording); :func:`get_library` parses them once per process. :func:`score` is the one
scoring function; :func:`run_checks` evaluates the declared edit checks. See docs/reference/instruments.md.
"""

from trialdesk.instruments.checks import Finding, run_checks
from trialdesk.instruments.library import Library, LibraryError, get_library, load_library
from trialdesk.instruments.schema import (
    TEXT_CONTEXT,
    Anchor,
    Category,
    Check,
    Choice,
    Instrument,
    Item,
    MissingRule,
    Scoring,
    Subscale,
)
from trialdesk.instruments.scoring import Scores, check_responses, score

__all__ = [
    "TEXT_CONTEXT",
    "Anchor",
    "Category",
    "Check",
    "Choice",
    "Finding",
    "Instrument",
    "Item",
    "Library",
    "LibraryError",
    "MissingRule",
    "Scores",
    "Scoring",
    "Subscale",
    "check_responses",
    "get_library",
    "load_library",
    "run_checks",
    "score",
]
