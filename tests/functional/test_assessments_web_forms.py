"""Every instrument's form, generated from its definition, entered end to end through the web (test client):
refusals name the item and its allowed values and store nothing; dates before baseline and corrections
without a reason are refused; not done needs a reason."""

import datetime as dt
import re
from fractions import Fraction
from itertools import pairwise

import pytest

from assessments_html import fields, text
from assessments_support import (
    BASELINE_FORM,
    BASELINE_ON,
    MAXIMUM_TOTALS,
    baseline_done,
    complete,
    consented,
    extreme_values,
    protocol_instruments,
)
from enrolment_support import install, user
from trialdesk.apps.assessments.models import Assessment, Score
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.instruments import get_library
from trialdesk.protocol import load_protocol

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]
M9_DAY = dt.date(2011, 12, 1)
BASELINE_INSTRUMENTS = set(load_protocol().visit("baseline").instruments)


@pytest.fixture
def ctx():
    return install()


@pytest.fixture
def assessor(client, ctx):
    anna = user("anna", "assessor", "BAL")
    client.force_login(anna)
    return anna


def _post_data(values: dict, day: dt.date, action: str = "complete", **extra) -> dict:
    return {
        "assessed_on": day.isoformat(),
        "action": action,
        **{f"item_{k}": v for k, v in values.items()},
        **extra,
    }


def _weighted(item) -> bool:
    """Allowed values spaced more than one point apart, or unevenly (AUDIT 9-10: 0, 2, 4)."""
    steps = {Fraction(str(b)) - Fraction(str(a)) for a, b in pairwise(item.allowed)}
    return len(steps) > 1 or any(step > 1 for step in steps)


def _where(ctx, code):
    """A participant, visit and date at which ``code`` is due (csq8 is not collected at baseline)."""
    if code in BASELINE_INSTRUMENTS:
        return consented(ctx), "baseline", BASELINE_ON
    return baseline_done(ctx), "m9", M9_DAY


@pytest.mark.parametrize("code", protocol_instruments())
def test_every_instrument_form_is_generated_and_submitted_end_to_end(code, ctx, client, assessor):
    instrument = get_library().get(code)
    participant, visit, day = _where(ctx, code)
    url = f"/assessments/p/{participant.trial_id}/{visit}/{code}/"
    page = client.get(url)
    assert page.status_code == 200
    found = fields(page.content.decode())
    for item in instrument.items:
        assert f"item_{item.code}" in found, f"{code} item {item.code} has no field"
        if _weighted(item):
            assert found[f"item_{item.code}"].options == ["", *(str(v) for v in item.allowed)]
        elif item.numeric and item.allowed:
            assert found[f"item_{item.code}"].attrs["type"] == "number"
    values = extreme_values(instrument)

    first = next(item for item in instrument.items if item.numeric)
    wrong = {**values, first.code: first.maximum + 1}
    refused = client.post(url, _post_data(wrong, day))
    assert refused.status_code == 400
    message = text(refused.content.decode())
    assert f"{code} item {first.code}: {first.maximum + 1} " in message
    assert f"allowed values are {first.allowed_text}" in message
    assert not Assessment.objects.filter(instrument=code).exists()

    saved = client.post(url, _post_data(values, day))
    assert saved.status_code == 302
    assessment = Assessment.objects.get(participant=participant, visit__code=visit, instrument=code)
    assert assessment.status == "complete"
    assert assessment.entered_by == "anna"
    shown = client.get(url).content.decode()
    if code == "baseline":
        assert assessment.values() == BASELINE_FORM
        assert not Score.objects.filter(assessment=assessment).exists()
    else:
        assert Score.objects.get(assessment=assessment, name="total").value == MAXIMUM_TOTALS[code]
        assert re.search(rf'data-score="total">{MAXIMUM_TOTALS[code]}\b', shown)
        # Each score is named as the definition names it: the subscales by their labels.
        named = [("Total", "total"), *((s.label, s.name) for s in instrument.subscales)]
        assert [label for label, name in named if f'<th>{label}</th><td class="score" data-score="{name}">'
                not in shown] == []  # fmt: skip


def test_the_panss_grid_shows_three_sections_and_a_shared_legend(ctx, client, assessor):
    participant = consented(ctx)
    html = client.get(f"/assessments/p/{participant.trial_id}/baseline/panss/").content.decode()
    page = text(html)
    for heading in ("Positive scale", "Negative scale", "General psychopathology scale"):
        assert heading in page
    assert html.count('class="legend"') == 1
    names = [name for name in fields(html) if name.startswith("item_")]
    assert names == [f"item_{item.code}" for item in get_library().get("panss").items]
    assert "autofocus" in html.split('name="item_P1"')[1].split(">")[0]


def test_a_visit_date_before_baseline_is_refused_and_nothing_stored(ctx, client, assessor):
    participant = baseline_done(ctx)
    before = LedgerEntry.objects.count()
    response = client.post(f"/assessments/p/{participant.trial_id}/m9/gaf_f/",
                           _post_data({"rating": 55}, dt.date(2011, 3, 1)))  # fmt: skip
    assert response.status_code == 400
    assert "assessment date 2011-03-01 is before the baseline date 2011-03-10" in text(
        response.content.decode()
    )
    assert not Assessment.objects.filter(visit__code="m9").exists()
    assert LedgerEntry.objects.count() == before


def test_a_correction_without_a_reason_is_refused_and_with_one_is_ledgered(ctx, client, assessor):
    participant = consented(ctx)
    complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON, values={"rating": 45})
    url = f"/assessments/p/{participant.trial_id}/baseline/gaf_f/"
    page = client.get(url).content.decode()
    assert "Reason for the change" in page
    response = client.post(url, _post_data({"rating": 54}, BASELINE_ON))
    assert response.status_code == 400
    assert "a reason is required to change a completed or not-done form" in text(response.content.decode())
    assert Assessment.objects.get(instrument="gaf_f").values() == {"rating": 45}
    response = client.post(url, _post_data({"rating": 54}, BASELINE_ON, reason="rated from the wrong band"))
    assert response.status_code == 302
    entry = LedgerEntry.objects.get(action="update", field="item rating")
    assert (entry.old_value, entry.new_value, entry.actor) == ("45", "54", "anna")
    assert entry.reason == "rated from the wrong band"
    assert re.search(r'data-score="total">54\b', client.get(url).content.decode())


def test_not_done_needs_a_reason(ctx, client, assessor):
    participant = consented(ctx)
    url = f"/assessments/p/{participant.trial_id}/baseline/hamd17/"
    response = client.post(url, {"action": "not_done", "not_done_reason": ""})
    assert response.status_code == 400
    assert "a reason is required to record HAM-D 17 as not done" in text(response.content.decode())
    assert (
        client.post(url, {"action": "not_done", "not_done_reason": "refused the interview"}).status_code
        == 302
    )
    row = Assessment.objects.get(instrument="hamd17")
    assert (row.status, row.not_done_reason) == ("not_done", "refused the interview")
    assert "reason: refused the interview" in text(client.get(url).content.decode())


def test_a_draft_keeps_what_was_typed(ctx, client, assessor):
    participant = consented(ctx)
    url = f"/assessments/p/{participant.trial_id}/baseline/ymrs/"
    assert client.post(url, _post_data({"1": 2, "5": 6}, BASELINE_ON, action="draft")).status_code == 302
    found = fields(client.get(url).content.decode())
    assert found["item_1"].attrs["value"] == "2"
    assert found["item_5"].attrs["value"] == "6"
    assert found["item_2"].attrs["value"] == ""
    assert Assessment.objects.get(instrument="ymrs").status == "draft"


def test_roles_reach_only_their_forms(ctx, client):
    participant = consented(ctx)
    coordinator = user("signe2", "coordinator", "BAL")
    client.force_login(coordinator)
    base = f"/assessments/p/{participant.trial_id}/baseline"
    assert client.get(f"{base}/panss/").status_code == 403  # assessor-rated: not for unblinded site staff
    assert client.get(f"{base}/audit/").status_code == 200  # self-report from paper
    facilitator = user("freja", "facilitator", "BAL")
    client.force_login(facilitator)
    assert client.get(f"{base}/audit/").status_code == 404
    assert client.get("/assessments/").status_code == 403
    other_site = user("jonas", "assessor", "FRB")
    client.force_login(other_site)
    assert client.get(f"{base}/panss/").status_code == 404
