"""Screening: answers per protocol criterion, ICD-10 code sets, verdicts, re-screening, bad inputs."""

import datetime as dt

import pytest

from enrolment_support import SCREENED_ON, answers, install, person, screen, site
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.participants.models import Participant, PersonalData, StatusEvent
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.participants.services import PersonalDetails
from trialdesk.apps.participants.status import State
from trialdesk.apps.screening import icd10
from trialdesk.apps.screening.models import Screening
from trialdesk.apps.screening.services import rescreen
from trialdesk.apps.screening.services import screen as do_screen
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def ctx():
    return install()


def _counts():
    return (
        Participant.objects.count(),
        PersonalData.objects.count(),
        Screening.objects.count(),
        StatusEvent.objects.count(),
        LedgerEntry.objects.count(),
    )


@pytest.mark.parametrize(
    ("typed", "normal"), [("F20.0", "F20.0"), ("f200", "F20.0"), (" F31 ", "F31"), ("F31.81", "F31.81")]
)
def test_icd10_codes_are_normalised(typed, normal):
    assert icd10.normalise(typed) == normal


def test_icd10_match_is_by_category():
    assert icd10.matches("F20.0", ("F20", "F31")) == "F20"
    assert icd10.matches("F31", ("F20", "F31")) == "F31"
    assert icd10.matches("F200", ("F20",)) is None  # not normalised: F200 is not under F20 by text
    assert icd10.matches("F32.1", ("F20", "F31")) is None


def test_eligible_person_is_logged_with_answers(ctx):
    screening = screen(ctx, diagnosis="f20.0")
    assert screening.verdict == "eligible"
    assert screening.reasons == []
    assert screening.answers["I3"] == ["F20.0"]
    assert screening.answers["I1"] == 31
    assert screening.participant.state is State.ELIGIBLE


def test_ineligible_person_is_logged_with_reasons(ctx):
    screening = screen(ctx, diagnosis="F32.1", E4=True)
    assert screening.verdict == "ineligible"
    assert screening.reason_codes == ["I3", "E4"]
    assert screening.participant.state is State.INELIGIBLE
    transition = StatusEvent.objects.get(participant=screening.participant, to_state="ineligible")
    assert "I3" in transition.reason
    assert "E4" in transition.reason


def test_exclusion_diagnosis_excludes(ctx):
    screening = screen(ctx, E2="F70.1, F41")
    assert screening.reason_codes == ["E2"]


def test_age_criterion_comes_from_the_cpr_birth_date(ctx):
    young = do_screen(
        site(),
        screened_on=SCREENED_ON,
        referral_source="gp",
        answers=answers(),
        person=person("020395-1234"),
        context=ctx,
    )  # 15 years old on the screening day
    assert young.answers["I1"] == 15
    assert young.reason_codes == ["I1"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"I2": None}, "I2", "missing answer to I2"),
        ({"I3": "F2O"}, "I3", "'F2O' is not an ICD-10 code"),
        ({"I3": ""}, "I3", "missing answer to I3"),
        ({"E2": "dementia"}, "E2", "'dementia' is not an ICD-10 code"),
        ({"E3": "perhaps"}, "E3", "answer yes or no"),
        ({"X9": True}, "X9", "unknown criterion"),
    ],
)
def test_bad_answers_name_the_criterion_and_store_nothing(ctx, change, field, message):
    before = _counts()
    raw = answers()
    raw.update(change)
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(InputError) as refused:
        do_screen(
            site(), screened_on=SCREENED_ON, referral_source="gp", answers=raw, person=person(), context=ctx
        )
    assert message in refused.value.fields[field]
    assert _counts() == before


def test_invalid_cpr_and_missing_name_are_reported_together(ctx):
    before = _counts()
    with pytest.raises(InputError) as refused:
        do_screen(
            site(),
            screened_on=SCREENED_ON,
            referral_source="",
            answers=answers(),
            person=PersonalDetails(cpr="3102801234", name=" "),
            context=ctx,
        )
    assert set(refused.value.fields) == {"cpr", "name", "referral_source"}
    assert "3102801234" not in str(refused.value)
    assert _counts() == before


def test_future_screening_date_is_refused(ctx):
    with pytest.raises(InputError, match="in the future"):
        do_screen(
            site(),
            screened_on=dt.date.today() + dt.timedelta(days=2),
            referral_source="gp",
            answers=answers(),
            person=person(),
            context=ctx,
        )


def test_rescreening_after_only_rescreenable_criteria_links_to_the_first(ctx):
    first = screen(ctx, E3=True, E5=True)
    assert first.reason_codes == ["E3", "E5"]
    second = rescreen(
        first.participant,
        screened_on=SCREENED_ON + dt.timedelta(days=90),
        referral_source="gp",
        answers=answers(),
        context=ctx,
    )
    assert second.rescreen_of == first
    assert second.verdict == "eligible"
    assert second.participant.trial_id == first.participant.trial_id
    states = list(
        StatusEvent.objects.filter(participant=first.participant).values_list("to_state", flat=True)
    )
    assert states == ["screened", "ineligible", "screened", "eligible"]


def test_rescreening_is_refused_when_a_fixed_criterion_failed(ctx):
    first = screen(ctx, E3=True, E4=True)
    before = _counts()
    with pytest.raises(UserError, match="excluded by E4"):
        rescreen(
            first.participant,
            screened_on=SCREENED_ON + dt.timedelta(days=90),
            referral_source="gp",
            answers=answers(),
            context=ctx,
        )
    assert _counts() == before


def test_rescreening_an_eligible_person_is_refused(ctx):
    first = screen(ctx)
    with pytest.raises(UserError, match="only an ineligible person"):
        rescreen(
            first.participant,
            screened_on=SCREENED_ON + dt.timedelta(days=1),
            referral_source="gp",
            answers=answers(),
            context=ctx,
        )
