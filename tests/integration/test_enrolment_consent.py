"""Consent: versioned documents, required forms, declines, withdrawal scopes honoured from their date."""

import datetime as dt

import pytest

from enrolment_support import SCREENED_ON, enrol, install, screen
from trialdesk.apps.consent.models import ConsentRecord, Withdrawal
from trialdesk.apps.consent.services import (
    may_collect,
    record_consent,
    record_decline,
    record_withdrawal,
    require_consent,
)
from trialdesk.apps.participants.models import StatusEvent
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.participants.status import State
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]
LATER = SCREENED_ON + dt.timedelta(days=60)


@pytest.fixture
def ctx():
    return install()


def test_consent_moves_an_eligible_person_to_consented(ctx):
    participant = screen(ctx).participant
    assert not may_collect(participant, "assessment", LATER)
    with pytest.raises(UserError, match="no valid consent yet"):
        require_consent(participant, on=LATER)
    record_consent(
        participant,
        version="1.0",
        oral_on=SCREENED_ON,
        written_on=SCREENED_ON + dt.timedelta(days=2),
        taken_by="signe",
        context=ctx,
    )
    participant.refresh_from_db()
    assert participant.state is State.CONSENTED
    require_consent(participant, on=LATER)
    # Data dated before written consent was complete is refused.
    with pytest.raises(UserError, match="consented on 2011-03-03, after 2011-03-02"):
        require_consent(participant, on=SCREENED_ON + dt.timedelta(days=1))


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"version": "9.9"}, "version", "unknown consent document version '9.9'"),
        ({"written_on": None}, "written_on", "date of written consent is required"),
        ({"oral_on": SCREENED_ON - dt.timedelta(days=1)}, "oral_on", "before the screening"),
        ({"taken_by": " "}, "taken_by", "who took consent"),
    ],
)
def test_bad_consent_is_refused_at_its_field_and_stores_nothing(ctx, kwargs, field, message):
    participant = screen(ctx).participant
    values = {
        "version": "1.0",
        "oral_on": SCREENED_ON,
        "written_on": SCREENED_ON,
        "taken_by": "signe",
    } | kwargs
    with pytest.raises(InputError) as refused:
        record_consent(participant, context=ctx, **values)
    assert message in refused.value.fields[field]
    assert ConsentRecord.objects.count() == 0
    participant.refresh_from_db()
    assert participant.state is State.ELIGIBLE


def test_an_ineligible_person_cannot_consent(ctx):
    participant = screen(ctx, E4=True).participant
    with pytest.raises(UserError, match="ineligible"):
        record_consent(
            participant,
            version="1.0",
            oral_on=SCREENED_ON,
            written_on=SCREENED_ON,
            taken_by="signe",
            context=ctx,
        )


def test_decline_is_recorded_with_its_category(ctx):
    participant = screen(ctx).participant
    with pytest.raises(InputError, match="unknown reason category 'bored'"):
        record_decline(participant, category="bored", declined_on=SCREENED_ON, context=ctx)
    record_decline(participant, category="randomisation", declined_on=SCREENED_ON, context=ctx)
    event = StatusEvent.objects.get(participant=participant, to_state="declined")
    assert "Does not want to be randomised" in event.reason


def test_intervention_only_withdrawal_keeps_follow_up(ctx):
    participant = enrol(ctx)
    record_withdrawal(participant, withdrawn_on=LATER, scope="intervention", context=ctx)
    participant.refresh_from_db()
    assert participant.state is State.BASELINE_COMPLETE
    assert may_collect(participant, "intervention", LATER - dt.timedelta(days=1))
    assert not may_collect(participant, "intervention", LATER)
    assert may_collect(participant, "assessment", LATER + dt.timedelta(days=200))


def test_withdrawal_from_data_collection_is_honoured_from_its_date(ctx):
    participant = enrol(ctx)
    record_withdrawal(
        participant, withdrawn_on=LATER, scope="data_collection", reason="moved away", context=ctx
    )
    participant.refresh_from_db()
    assert participant.state is State.WITHDRAWN
    assert may_collect(participant, "assessment", LATER - dt.timedelta(days=1))  # collected before withdrawal
    for kind in ("assessment", "register", "intervention"):
        assert not may_collect(participant, kind, LATER)
    assert may_collect(participant, "analysis")
    with pytest.raises(UserError, match="withdrew \\(data collection\\) on 2011-04-30"):
        require_consent(participant, "assessment", LATER)


def test_withdrawal_of_all_use_stops_analysis_of_earlier_data(ctx):
    participant = enrol(ctx)
    record_withdrawal(participant, withdrawn_on=LATER, scope="all_data", context=ctx)
    assert not may_collect(participant, "analysis", SCREENED_ON)


def test_withdrawal_needs_consent_and_a_known_scope(ctx):
    participant = screen(ctx).participant
    with pytest.raises(UserError, match="no recorded consent"):
        record_withdrawal(participant, withdrawn_on=LATER, scope="all_data", context=ctx)
    participant = enrol(ctx)
    with pytest.raises(InputError, match="unknown withdrawal scope 'everything'"):
        record_withdrawal(participant, withdrawn_on=LATER, scope="everything", context=ctx)
    assert Withdrawal.objects.count() == 0


def test_unknown_kind_is_a_programming_error(ctx):
    with pytest.raises(ValueError, match="unknown kind"):
        may_collect(enrol(ctx), "gossip")
