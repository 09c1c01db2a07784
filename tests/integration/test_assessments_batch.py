"""save_visit: a whole visit's forms at once give exactly what one save per form gives (forms, items,
scores, ledger facts, visit date, status), refuse the same bad input naming the form, and store nothing."""

import pytest

from assessments_support import BASELINE_ON, consented, extreme_values
from enrolment_support import install
from trialdesk.apps.assessments import services
from trialdesk.apps.assessments.models import Assessment, ItemResponse, Score, Visit
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import verify_ledger
from trialdesk.apps.participants.problems import InputError
from trialdesk.errors import UserError
from trialdesk.protocol import load_protocol

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]
BASELINE = list(load_protocol().visit("baseline").instruments)


@pytest.fixture
def ctx():
    return install()


def _facts(participant):
    forms = {
        a.instrument: (a.status, a.assessed_on, a.not_done_reason, a.values(),
                       {s.name: (s.value, s.prorated) for s in a.scores.all()})
        for a in Assessment.objects.filter(participant=participant)
    }  # fmt: skip
    entries = LedgerEntry.objects.filter(participant=participant.trial_id, entity="assessment")
    ledger = [(e.action, e.entity, e.entity_id.split("/", 1)[1], e.field, e.new_value) for e in entries]
    return forms, sorted(ledger)


def test_a_batch_stores_what_one_save_per_form_stores(ctx):
    one, batch = consented(ctx), consented(ctx)
    blank = {**extreme_values("mhrm"), "1": None}  # one blank item: the total is prorated
    forms = {code: blank if code == "mhrm" else extreme_values(code) for code in BASELINE if code != "ymrs"}
    for code, values in forms.items():
        services.save(one, "baseline", code, values, assessed_on=BASELINE_ON, context=ctx, complete=True)
    services.mark_not_done(one, "baseline", "ymrs", "participant too tired", ctx)
    made = services.save_visit(batch, "baseline", forms, assessed_on=BASELINE_ON, context=ctx,
                               not_done={"ymrs": "participant too tired"})  # fmt: skip
    assert len(made) == len(BASELINE)
    assert _facts(batch)[0] == _facts(one)[0]
    mhrm = Score.objects.get(assessment__participant=batch, assessment__instrument="mhrm", name="total")
    assert mhrm.prorated
    # the same facts reach the ledger (the single path's schedule entries aside)
    assert set(_facts(one)[1]) == set(_facts(batch)[1])
    for person in (one, batch):
        person.refresh_from_db()
        assert Visit.objects.get(participant=person, code="baseline").target == BASELINE_ON
    # every form complete or not done: the visit is finished, in both paths alike
    assert one.status == batch.status == "baseline_complete"
    assert verify_ledger().ok


def test_a_complete_batch_completes_the_baseline(ctx):
    person = consented(ctx)
    services.save_visit(person, "baseline", {code: extreme_values(code) for code in BASELINE},
                        assessed_on=BASELINE_ON, context=ctx)  # fmt: skip
    person.refresh_from_db()
    assert person.status == "baseline_complete"
    assert Visit.objects.get(participant=person, code="baseline").done_on == BASELINE_ON


def test_bad_input_names_the_form_and_stores_nothing(ctx):
    person = consented(ctx)
    before = (Assessment.objects.count(), ItemResponse.objects.count(), LedgerEntry.objects.count())
    forms = {"gaf_f": {"rating": 101}, "panss": extreme_values("panss")}
    with pytest.raises(InputError) as refused:
        services.save_visit(person, "baseline", forms, assessed_on=BASELINE_ON, context=ctx,
                            not_done={"ymrs": " "})  # fmt: skip
    assert set(refused.value.fields) == {"gaf_f.item_rating", "ymrs.not_done_reason"}
    assert (Assessment.objects.count(), ItemResponse.objects.count(), LedgerEntry.objects.count()) == before


def test_forms_already_entered_are_corrected_one_at_a_time(ctx):
    person = consented(ctx)
    services.save(person, "baseline", "gaf_f", extreme_values("gaf_f"), assessed_on=BASELINE_ON, context=ctx,
                  complete=True)  # fmt: skip
    with pytest.raises(UserError, match=r"gaf_f at Baseline .* already entered"):
        services.save_visit(person, "baseline", {"gaf_f": extreme_values("gaf_f")}, assessed_on=BASELINE_ON,
                            context=ctx)  # fmt: skip
    with pytest.raises(UserError, match="csq8 not collected at visit Baseline"):
        services.save_visit(person, "baseline", {"csq8": extreme_values("csq8")}, assessed_on=BASELINE_ON,
                            context=ctx)  # fmt: skip


def test_edit_checks_raise_the_same_queries_as_single_saves(ctx):
    from trialdesk.apps.datamanagement.models import Query

    one, batch = consented(ctx), consented(ctx)
    odd = {**extreme_values("baseline"), "age": 17, "years_since_first_contact": 31}
    forms = {"baseline": odd, "gaf_f": extreme_values("gaf_f")}
    for code, values in forms.items():
        services.save(one, "baseline", code, values, assessed_on=BASELINE_ON, context=ctx, complete=True)
    services.save_visit(batch, "baseline", forms, assessed_on=BASELINE_ON, context=ctx)

    def raised(person):
        found = Query.objects.filter(participant=person)
        return sorted(found.values_list("check_code", "instrument", "field"))

    assert raised(batch) == raised(one)
    assert ("baseline.adult", "baseline", "age") in raised(batch)
