"""Shared set-up for the enrolment and randomisation tests (imported by their modules; not a test file).

Builds participants through the real services only.
"""

from __future__ import annotations

import datetime as dt
import itertools

from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model

from trialdesk.apps.accounts.services import create_user, grant_role
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants.services import PersonalDetails, transition
from trialdesk.apps.participants.status import State
from trialdesk.apps.trial.models import Site
from trialdesk.apps.trial.services import install_protocol
from trialdesk.protocol import load_protocol

TEST_KEY = Fernet.generate_key().decode()
TEST_PASSWORD = "pw-for-tests"
SCREENED_ON = dt.date(2011, 3, 1)
_serials = itertools.count(1)


def install() -> Context:
    protocol = load_protocol()
    context = Context(actor="signe", channel="web", protocol_hash=protocol.content_hash)
    install_protocol(protocol, Context(actor="setup", channel="command", protocol_hash=protocol.content_hash))
    return context


def site(code: str = "BAL") -> Site:
    return Site.objects.get(code=code)


def user(name: str, role: str, site_code: str | None = None, *, password: str = TEST_PASSWORD, **flags):
    setup = Context(actor="setup", channel="command")
    made = create_user(name, password, setup, check_password=False, email=f"{name}@example.org")
    if flags.get("unblinded"):
        flags.setdefault("reason", "named unblinded for the test")
    grant_role(made, role, setup, site=Site.objects.get(code=site_code) if site_code else None, **flags)
    return get_user_model().objects.get(pk=made.pk)


def new_cpr() -> str:
    """A valid CPR number no other test person has: born 1 January 1980 (7th digit 0-3: 1900s)."""
    return f"010180-{next(_serials) % 4000:04d}"


def person(cpr: str | None = None) -> PersonalDetails:
    return PersonalDetails(cpr=cpr or new_cpr(), name="Test Person", contact="+45 1234 5678")


def answers(diagnosis: str = "F20.0", **overrides: object) -> dict[str, object]:
    """Answers that make a person eligible under the IMR protocol (age comes from the CPR number)."""
    base: dict[str, object] = {
        "I2": True,
        "I3": diagnosis,
        "I4": True,
        "I5": True,
        "E1": False,
        "E2": "",
        "E3": False,
        "E4": False,
        "E5": False,
        "E6": False,
    }
    base.update(overrides)
    return base


def screen(context: Context, site_code: str = "BAL", diagnosis: str = "F20.0", **overrides: object):
    from trialdesk.apps.screening.services import screen as do_screen

    return do_screen(
        site(site_code),
        screened_on=SCREENED_ON,
        referral_source="clinician",
        answers=answers(diagnosis, **overrides),
        person=person(),
        context=context,
    )


def enrol(context: Context, site_code: str = "BAL", diagnosis: str = "F20.0"):
    """Screen, consent and complete baseline: ready to randomise."""
    from trialdesk.apps.consent.services import record_consent

    participant = screen(context, site_code, diagnosis).participant
    record_consent(
        participant,
        version="1.0",
        oral_on=SCREENED_ON,
        written_on=SCREENED_ON,
        taken_by="signe",
        context=context,
    )
    transition(participant, State.BASELINE_COMPLETE, context)
    participant.refresh_from_db()
    return participant


STRATA = (
    "site=BAL|diagnosis=schizophrenia", "site=BAL|diagnosis=bipolar",
    "site=FRB|diagnosis=schizophrenia", "site=FRB|diagnosis=bipolar",
)  # fmt: skip
DIAGNOSIS_CODES = {"schizophrenia": "F20.0", "bipolar": "F31.3"}


def stratum_parts(stratum: str) -> tuple[str, str]:
    """``site=BAL|diagnosis=bipolar`` -> ``("BAL", "F31.3")``: what to screen to land in it."""
    levels = dict(part.split("=") for part in stratum.split("|"))
    return levels["site"], DIAGNOSIS_CODES[levels["diagnosis"]]


def list_text(per_stratum: int, strata: tuple[str, ...] = STRATA) -> str:
    """A hand-written list CSV in blocks of two (IMR, TAU then TAU, IMR): the arms are known to the test."""
    patterns = (("IMR", "TAU"), ("TAU", "IMR"))
    lines = ["stratum,sequence,block,block_size,arm"]
    for stratum in strata:
        for seq in range(1, per_stratum + 1):
            arm = patterns[((seq - 1) // 2) % 2][(seq - 1) % 2]
            lines.append(f"{stratum},{seq},{(seq - 1) // 2 + 1},2,{arm}")
    return "\n".join(lines) + "\n"


def install_rows(context: Context, per_stratum: int):
    from trialdesk.apps.randomisation.lists import upload

    return upload(list_text(per_stratum), context=context, label="test list")
