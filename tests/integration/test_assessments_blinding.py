"""Blinding integrity records: the assessor's guess of allocation and unblinding incidents."""

import datetime as dt
import hashlib
import json

import pytest

from assessments_support import allocation_list, baseline_done, randomised
from enrolment_support import install, user
from trialdesk.apps.assessments import services
from trialdesk.apps.assessments.models import AllocationGuess, UnblindingIncident
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.participants.problems import InputError
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]
GUESS_DAY = dt.date(2011, 12, 10)


@pytest.fixture
def ctx():
    context = install()
    allocation_list(context)
    return context


@pytest.fixture
def anna():
    return user("anna", "assessor", "BAL")


def _guess(participant, assessor, ctx, *, guess="IMR", confidence="3", visit="m9", on=GUESS_DAY):
    return services.record_guess(
        participant, visit, assessor, guess=guess, confidence=confidence, guessed_on=on, context=ctx
    )


def test_the_choices_are_the_protocols_arms_and_dont_know(ctx):
    assert [code for code, _ in services.guess_choices()] == ["IMR", "TAU", "dont_know"]


def test_a_guess_is_stored_once_per_assessor_and_visit(ctx, anna):
    participant = randomised(ctx)
    row = _guess(participant, anna, ctx, guess="TAU", confidence="4")
    assert (row.guess, row.confidence, row.guessed_on, row.visit.code) == ("TAU", 4, GUESS_DAY, "m9")
    entry = LedgerEntry.objects.get(entity="allocation-guess")
    assert json.loads(entry.new_value)["guess"] == "TAU"
    with pytest.raises(InputError, match="already recorded a guess"):
        _guess(participant, anna, ctx)
    other = user("jonas", "assessor", "BAL")
    _guess(participant, other, ctx, guess="dont_know", confidence="")
    assert AllocationGuess.objects.filter(participant=participant).count() == 2


def test_guesses_are_refused_before_randomisation(ctx, anna):
    participant = baseline_done(ctx)
    with pytest.raises(UserError, match="has not been randomised"):
        _guess(participant, anna, ctx)
    participant = randomised(ctx)
    with pytest.raises(UserError, match="comes before randomisation"):
        _guess(participant, anna, ctx, visit="baseline")
    assert not AllocationGuess.objects.exists()


def test_guess_and_confidence_are_checked(ctx, anna):
    participant = randomised(ctx)
    with pytest.raises(InputError) as refused:
        _guess(participant, anna, ctx, guess="IMR+TAU", confidence="9", on=dt.date(2011, 3, 1))
    fields = refused.value.fields
    assert fields["guess"] == "guess 'IMR+TAU' is not allowed; allowed values are IMR, TAU, dont_know"
    assert fields["guessed_on"] == "the date of the guess, 2011-03-01, is before the baseline date 2011-03-10"
    with pytest.raises(InputError) as refused:
        _guess(participant, anna, ctx, guess="TAU", confidence="9")
    assert (
        refused.value.fields["confidence"]
        == "confidence '9' is not allowed; allowed values are 1, 2, 3, 4, 5"
    )
    with pytest.raises(InputError, match="confidence is required with a guess"):
        _guess(participant, anna, ctx, guess="TAU", confidence="")
    with pytest.raises(InputError, match="not recorded with don't know"):
        _guess(participant, anna, ctx, guess="dont_know", confidence="2")
    assert not AllocationGuess.objects.exists()


def test_an_incident_keeps_its_description_out_of_the_ledger(ctx, anna):
    participant = randomised(ctx)
    text = "the participant mentioned the weekly group"
    incident = services.record_incident(
        participant, "m9", anna, occurred_on=GUESS_DAY, how="participant_disclosed", description=text,
        assessor_replaced=True, context=ctx,
    )  # fmt: skip
    assert (incident.how, incident.assessor_replaced, incident.visit.code) == (
        "participant_disclosed",
        True,
        "m9",
    )
    entry = LedgerEntry.objects.get(entity="unblinding-incident")
    assert text not in entry.new_value
    assert json.loads(entry.new_value)["description_sha256"] == hashlib.sha256(text.encode()).hexdigest()


def test_an_incident_needs_how_and_whether_the_assessor_was_replaced(ctx, anna):
    participant = randomised(ctx)
    with pytest.raises(InputError) as refused:
        services.record_incident(participant, "m4", anna, occurred_on=None, how="gossip", description="",
                                 assessor_replaced=None, context=ctx)  # fmt: skip
    fields = refused.value.fields
    assert set(fields) == {"occurred_on", "how", "assessor_replaced", "visit"}
    assert "allowed values are participant_disclosed, relative_disclosed" in fields["how"]
    with pytest.raises(InputError, match="describe how it happened"):
        services.record_incident(participant, None, anna, occurred_on=GUESS_DAY, how="other", description=" ",
                                 assessor_replaced=False, context=ctx)  # fmt: skip
    assert not UnblindingIncident.objects.exists()
