"""Shared set-up for the outcome-assessment tests (imported by their modules; not a test file).

Participants are built through the real services only: screened, consented, baseline forms entered,
randomised from a hand-written list.
"""

from __future__ import annotations

import datetime as dt

from enrolment_support import SCREENED_ON, install_rows, screen
from trialdesk import clock
from trialdesk.apps.assessments import services
from trialdesk.apps.consent.services import record_consent
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants.models import Participant
from trialdesk.instruments import Instrument, get_library
from trialdesk.protocol import load_protocol

BASELINE_ON = dt.date(2011, 3, 10)

#: The highest total of each scale, as published (imr-trial.md's outcome table), written out by hand.
MAXIMUM_TOTALS = {
    "gaf_f": 100, "gaf_s": 100, "psp": 100, "panss": 210, "hamd17": 52, "ymrs": 60, "audit": 40, "dudit": 44,
    "mhrm": 120, "ashs": 48, "csq8": 32, "imrs_client": 75, "imrs_clinician": 75,
}  # fmt: skip
#: ... and the lowest.
MINIMUM_TOTALS = {
    "gaf_f": 1, "gaf_s": 1, "psp": 1, "panss": 30, "hamd17": 0, "ymrs": 0, "audit": 0, "dudit": 0,
    "mhrm": 0, "ashs": 6, "csq8": 8, "imrs_client": 15, "imrs_clinician": 15,
}  # fmt: skip

BASELINE_FORM = {
    "age": 34, "sex": "female", "diagnosis": "F20.0", "years_since_first_contact": 12.5,
    "education": "vocational", "employment": "disability_pension", "living_situation": "alone",
    "antipsychotic": "yes", "mood_stabiliser": "no", "antidepressant": "no", "other_psychotropic": "no",
    "medication_names": "olanzapine 10 mg",
}  # fmt: skip


def protocol_instruments() -> list[str]:
    """Every instrument collected at some visit of the IMR protocol, in first-seen order."""
    codes: dict[str, None] = {}
    for visit in load_protocol().visits:
        codes.update(dict.fromkeys(visit.instruments))
    return list(codes)


def extreme_values(instrument: Instrument | str, *, highest: bool = True) -> dict[str, object]:
    """Every item at its highest (or lowest) allowed value; typed forms get the baseline answers above."""
    instrument = instrument if isinstance(instrument, Instrument) else get_library().get(instrument)
    if instrument.code == "baseline":
        return dict(BASELINE_FORM)
    return {item.code: item.maximum if highest else item.minimum for item in instrument.items if item.numeric}


def consented(context: Context, site_code: str = "BAL", diagnosis: str = "F20.0") -> Participant:
    participant = screen(context, site_code, diagnosis).participant
    record_consent(
        participant,
        version="1.0",
        oral_on=SCREENED_ON,
        written_on=SCREENED_ON,
        taken_by="signe",
        context=context,
    )
    participant.refresh_from_db()
    return participant


def complete(
    participant: Participant,
    visit: str,
    instrument: str,
    context: Context,
    on: dt.date,
    *,
    values: dict[str, object] | None = None,
    **kwargs,
):
    return services.save(
        participant,
        visit,
        instrument,
        values if values is not None else extreme_values(instrument),
        assessed_on=on,
        context=context,
        complete=True,
        **kwargs,
    )


def complete_visit(participant: Participant, visit: str, context: Context, on: dt.date) -> None:
    for code in load_protocol().visit(visit).instruments:
        complete(participant, visit, code, context, on)


def baseline_done(
    context: Context, site_code: str = "BAL", diagnosis: str = "F20.0", on: dt.date = BASELINE_ON
) -> Participant:
    participant = consented(context, site_code, diagnosis)
    complete_visit(participant, "baseline", context, on)
    participant.refresh_from_db()
    return participant


def randomised(
    context: Context, site_code: str = "BAL", diagnosis: str = "F20.0", on: dt.date = BASELINE_ON
) -> Participant:
    """Baseline complete and randomised (install a list first with :func:`allocation_list`)."""
    from trialdesk.apps.randomisation.services import randomise

    participant = baseline_done(context, site_code, diagnosis, on)
    with clock.frozen(dt.datetime.combine(on + dt.timedelta(days=2), dt.time(10))):
        randomise(participant, context)
    participant.refresh_from_db()
    return participant


def allocation_list(context: Context, per_stratum: int = 4):
    """The hand-written list of enrolment_support: in each stratum IMR, TAU, TAU, IMR, ..."""
    return install_rows(context, per_stratum)
