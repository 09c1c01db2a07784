"""Shared set-up for the data-management tests (imported by their modules; not a test file).

Participants and forms are made through the real services only.
"""

from __future__ import annotations

import datetime as dt

from assessments_support import BASELINE_FORM, BASELINE_ON, complete, consented
from enrolment_support import install, user
from trialdesk.apps.assessments import services
from trialdesk.apps.ledger.services import Context


def staff() -> dict[str, object]:
    """One user per role the data-management pages serve; coordinators at two sites."""
    return {
        "dm": user("dana", "data_manager"),
        "dm2": user("dmitri", "data_manager"),
        "monitor": user("mona", "monitor"),
        "investigator": investigator(),
        "coord_bal": user("cora", "coordinator", "BAL"),
        "coord_frb": user("finn", "coordinator", "FRB"),
    }


def investigator(name: str = "ivan", full_name: str = "Ivan Investigator"):
    """An investigator with a full name (the signature manifest prints it)."""
    from django.contrib.auth import get_user_model

    from enrolment_support import TEST_PASSWORD
    from trialdesk.apps.accounts.services import create_user, grant_role

    setup = Context(actor="setup", channel="command")
    made = create_user(name, TEST_PASSWORD, setup, check_password=False, full_name=full_name)
    grant_role(made, "investigator", setup)
    return get_user_model().objects.get(pk=made.pk)


def with_baseline_form(context: Context, site_code: str = "BAL", **answers: object):
    """A consented participant with the baseline characteristics form complete (``answers`` override)."""
    participant = consented(context, site_code)
    complete(participant, "baseline", "baseline", context, BASELINE_ON, values={**BASELINE_FORM, **answers})
    participant.refresh_from_db()
    return participant


def correct(
    participant,
    visit: str,
    instrument: str,
    values: dict,
    context: Context,
    *,
    on: dt.date,
    reason: str = "transcription error",
):
    return services.save(
        participant, visit, instrument, values, assessed_on=on, context=context, complete=True, reason=reason
    )


__all__ = ["BASELINE_FORM", "BASELINE_ON", "correct", "install", "staff", "with_baseline_form"]
