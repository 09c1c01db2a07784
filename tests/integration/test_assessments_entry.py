"""Entering forms: drafts, completion with scores and the missing-item rule, every refusal storing nothing,
corrections with a reason written to the ledger field by field, not done, and the baseline table."""

import datetime as dt

import pytest

from assessments_support import BASELINE_FORM, BASELINE_ON, baseline_done, complete, consented
from enrolment_support import install
from trialdesk.apps.assessments import queries, services
from trialdesk.apps.assessments.models import Assessment, ItemResponse, Score
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import verify_ledger
from trialdesk.apps.participants.problems import InputError
from trialdesk.errors import UserError
from trialdesk.instruments import get_library

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]
PANSS = [item.code for item in get_library().get("panss").items]


@pytest.fixture
def ctx():
    return install()


def _counts():
    return (
        Assessment.objects.count(),
        ItemResponse.objects.count(),
        Score.objects.count(),
        LedgerEntry.objects.count(),
    )


def _scores(assessment):
    return {s.name: (s.value, s.prorated) for s in assessment.scores.all()}


def test_a_complete_panss_is_scored_with_its_subscales(ctx):
    participant = consented(ctx)
    assessment = complete(participant, "baseline", "panss", ctx, BASELINE_ON, values=dict.fromkeys(PANSS, 3))
    # By hand: 7 x 3, 7 x 3, 16 x 3; total 30 x 3.
    assert _scores(assessment) == {
        "total": (90, False),
        "positive": (21, False),
        "negative": (21, False),
        "general": (48, False),
    }
    assert assessment.status == "complete"
    assert assessment.entered_by == "signe"
    assert assessment.protocol_hash == ctx.protocol_hash
    assert ItemResponse.objects.filter(assessment=assessment).count() == 30


def test_missing_items_are_prorated_within_the_rule_and_missing_beyond_it(ctx):
    participant = consented(ctx)
    values = dict.fromkeys(PANSS, 4)
    values["P1"] = values["P2"] = ""
    assessment = complete(participant, "baseline", "panss", ctx, BASELINE_ON, values=values)
    # Positive: 2 of 7 missing, more than the 1 a 7-item scale tolerates. Total: 28 items x 4 = 112,
    # prorated x 30 / 28 = 120.
    assert _scores(assessment) == {
        "total": (120, True),
        "positive": (None, False),
        "negative": (28, False),
        "general": (64, False),
    }


def test_a_draft_keeps_partial_answers_without_scores(ctx):
    participant = consented(ctx)
    draft = services.save(
        participant, "baseline", "panss", {"P1": "2", "P2": "5"}, assessed_on=BASELINE_ON, context=ctx,
        complete=False,
    )  # fmt: skip
    assert draft.status == "draft"
    assert draft.values() == {"P1": 2, "P2": 5}
    assert not draft.scores.exists()
    assert LedgerEntry.objects.filter(
        action="save-draft", entity_id=f"{participant.trial_id}/baseline/panss"
    ).exists()
    later = complete(participant, "baseline", "panss", ctx, BASELINE_ON, values=dict.fromkeys(PANSS, 1))
    assert later.pk == draft.pk
    assert _scores(later)["total"] == (30, False)


def test_out_of_range_items_are_all_named_with_their_allowed_values_and_nothing_is_stored(ctx):
    participant = consented(ctx)
    complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON)
    before = _counts()
    values = dict.fromkeys(PANSS, 3)
    values.update({"P3": 8, "G16": "0", "N2": "x"})
    with pytest.raises(InputError) as refused:
        complete(participant, "baseline", "panss", ctx, BASELINE_ON, values=values)
    fields = refused.value.fields
    assert fields["item_P3"] == "panss item P3: 8 is not allowed; allowed values are 1, 2, 3, 4, 5, 6, 7"
    assert fields["item_G16"] == "panss item G16: 0 is not allowed; allowed values are 1, 2, 3, 4, 5, 6, 7"
    assert "panss item N2: 'x' is not a number" in fields["item_N2"]
    assert _counts() == before


def test_weighted_items_refuse_the_values_between(ctx):
    participant = consented(ctx)
    values = dict.fromkeys([str(n) for n in range(1, 11)], 0)
    values["9"] = 3
    with pytest.raises(InputError) as refused:
        complete(participant, "baseline", "audit", ctx, BASELINE_ON, values=values)
    assert refused.value.fields["item_9"] == "audit item 9: 3 is not allowed; allowed values are 0, 2, 4"
    assert not Assessment.objects.exists()


def test_dates_before_baseline_in_the_future_or_before_consent_are_refused(ctx):
    participant = baseline_done(ctx)
    before = _counts()
    with pytest.raises(InputError) as refused:
        complete(participant, "m9", "gaf_f", ctx, BASELINE_ON - dt.timedelta(days=1))
    assert refused.value.fields["assessed_on"] == (
        "assessment date 2011-03-09 is before the baseline date 2011-03-10; "
        "forms of every visit are dated on or after the baseline"
    )
    with pytest.raises(InputError, match="is in the future"):
        complete(participant, "m9", "gaf_f", ctx, dt.date.today() + dt.timedelta(days=3))
    assert _counts() == before
    fresh = consented(ctx)
    with pytest.raises(InputError, match="consented on 2011-03-01, after 2011-02-20"):
        complete(fresh, "baseline", "gaf_f", ctx, dt.date(2011, 2, 20))


def test_a_later_visit_waits_for_the_baseline(ctx):
    participant = consented(ctx)
    with pytest.raises(InputError, match="enter a baseline form before visit"):
        complete(participant, "m9", "gaf_f", ctx, dt.date(2011, 12, 1))


def test_an_instrument_not_collected_at_the_visit_is_refused(ctx):
    participant = baseline_done(ctx)
    with pytest.raises(UserError, match="csq8 not collected at visit Baseline"):
        complete(participant, "baseline", "csq8", ctx, BASELINE_ON)


def test_correcting_a_complete_form_needs_a_reason_and_is_ledgered_field_by_field(ctx):
    participant = consented(ctx)
    first = dict.fromkeys(PANSS, 3)
    complete(participant, "baseline", "panss", ctx, BASELINE_ON, values=first)
    before = _counts()
    changed = {**first, "P3": 5, "G1": 1}
    with pytest.raises(InputError) as refused:
        complete(participant, "baseline", "panss", ctx, BASELINE_ON, values=changed)
    assert refused.value.fields == {"reason": "a reason is required to change a completed or not-done form"}
    assert _counts() == before
    assert Assessment.objects.get(instrument="panss").values()["P3"] == 3
    corrected = complete(participant, "baseline", "panss", ctx, BASELINE_ON, values=changed,
                         reason="transcription error")  # fmt: skip
    entries = LedgerEntry.objects.filter(action="update", entity="assessment").order_by("seq")
    assert [(e.field, e.old_value, e.new_value, e.reason) for e in entries] == [
        ("item P3", "3", "5", "transcription error"),
        ("item G1", "3", "1", "transcription error"),
    ]
    # 90 + 2 - 2: the total is unchanged, the positive and general scales move.
    assert _scores(corrected)["total"] == (90, False)
    assert _scores(corrected)["positive"] == (23, False)
    assert _scores(corrected)["general"] == (46, False)
    assert verify_ledger().ok


def test_a_complete_form_cannot_go_back_to_draft(ctx):
    participant = consented(ctx)
    complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON)
    with pytest.raises(InputError, match="cannot go back to draft"):
        services.save(participant, "baseline", "gaf_f", {"rating": 40}, assessed_on=BASELINE_ON, context=ctx,
                      complete=False, reason="x")  # fmt: skip


def test_not_done_needs_a_reason_and_entering_it_later_needs_another(ctx):
    participant = consented(ctx)
    with pytest.raises(InputError, match="a reason is required to record PANSS as not done"):
        services.mark_not_done(participant, "baseline", "panss", "", ctx)
    not_done = services.mark_not_done(participant, "baseline", "panss", "participant too unwell", ctx)
    assert (not_done.status, not_done.not_done_reason) == ("not_done", "participant too unwell")
    with pytest.raises(InputError, match="reason is required"):
        complete(participant, "baseline", "panss", ctx, BASELINE_ON)
    done = complete(participant, "baseline", "panss", ctx, BASELINE_ON, reason="interview done after all")
    assert done.status == "complete"
    status_change = LedgerEntry.objects.get(action="update", field="status")
    assert (status_change.old_value, status_change.new_value) == ('"not_done"', '"complete"')


def test_an_empty_completion_is_refused(ctx):
    participant = consented(ctx)
    with pytest.raises(InputError, match="record the form as not done"):
        complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON, values={"rating": ""})


def test_required_baseline_fields(ctx):
    participant = consented(ctx)
    values = {**BASELINE_FORM, "age": "", "diagnosis": "schizophrenia"}
    with pytest.raises(InputError) as refused:
        complete(participant, "baseline", "baseline", ctx, BASELINE_ON, values=values)
    assert "baseline item age is required" in refused.value.fields["item_age"]
    assert "is not an ICD-10 code" in refused.value.fields["item_diagnosis"]


def test_baseline_characteristics_come_back_typed(ctx):
    participant = consented(ctx)
    complete(participant, "baseline", "baseline", ctx, BASELINE_ON,
             values={**BASELINE_FORM, "age": "34", "diagnosis": "f31.1", "medication_names": ""})  # fmt: skip
    (row,) = queries.baseline_characteristics()
    assert row.trial_id == participant.trial_id
    assert row.site == "BAL"
    assert row.values["age"] == 34
    assert isinstance(row.values["age"], int)
    assert row.values["years_since_first_contact"] == 12.5
    assert row.values["diagnosis"] == "F31.1"
    assert row.values["sex"] == "female"
    assert row.values["medication_names"] is None


def test_baseline_forms_cannot_be_dated_after_randomisation(ctx):
    from assessments_support import allocation_list, randomised

    allocation_list(ctx)
    participant = randomised(ctx)
    services.mark_not_done(participant, "baseline", "audit", "changing the record", ctx)
    with pytest.raises(InputError) as refused:
        complete(
            participant, "baseline", "audit", ctx, BASELINE_ON + dt.timedelta(days=10), reason="found it"
        )
    assert "comes before randomisation" in refused.value.fields["assessed_on"]
    assert "after randomisation on 2011-03-12" in refused.value.fields["assessed_on"]
