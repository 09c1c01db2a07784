"""Queries through the API: raised by data management, answered by the site, closed and re-opened, each
step in the ledger with channel api; site staff see only their own site's queries."""

import pytest

from api_support import Api
from datamanagement_support import staff
from enrolment_support import install, screen
from trialdesk.apps.datamanagement.models import Query
from trialdesk.apps.ledger.models import LedgerEntry

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def world():
    ctx = install()
    people = staff()
    return {
        "ctx": ctx, "bal": screen(ctx, "BAL").participant, "frb": screen(ctx, "FRB").participant,
        **{name: Api(who) for name, who in people.items()},
    }  # fmt: skip


def test_raise_answer_close_and_reopen(world):
    dm, site = world["dm"], world["coord_bal"]
    raised = dm.post(f"/api/participants/{world['bal'].trial_id}/queries",
                     {"text": "Please check the referral date", "field": "screened_on"})
    assert raised.status_code == 201
    pk = raised.json()["id"]
    assert raised.json()["status"] == "open"
    assert [m["kind"] for m in raised.json()["thread"]] == ["raise"]
    listed = site.get("/api/queries").json()
    assert [q["id"] for q in listed["items"]] == [pk]
    no_text = site.post(f"/api/queries/{pk}/answer", {"text": ""})
    assert (no_text.status_code, no_text.json()["field"]) == (422, "text")
    answered = site.post(f"/api/queries/{pk}/answer", {"text": "Checked against the referral letter"})
    assert (answered.status_code, answered.json()["status"]) == (200, "answered")
    assert site.post(f"/api/queries/{pk}/close", {"text": "fine"}).status_code == 403
    closed = dm.post(f"/api/queries/{pk}/close", {"text": ""})
    assert closed.json()["status"] == "closed"
    assert dm.post(f"/api/queries/{pk}/close", {}).status_code == 409
    reopened = dm.post(f"/api/queries/{pk}/reopen", {"text": "the date is still wrong"})
    assert [m["kind"] for m in reopened.json()["thread"]] == ["raise", "answer", "close", "reopen"]
    steps = LedgerEntry.objects.filter(entity="query").order_by("seq")
    assert [(e.action, e.channel) for e in steps] == [
        ("raise", "api"), ("answer", "api"), ("close", "api"), ("reopen", "api")
    ]


def test_site_staff_see_only_their_sites_queries(world):
    dm = world["dm"]
    for participant in (world["bal"], world["frb"]):
        path = f"/api/participants/{participant.trial_id}/queries"
        assert dm.post(path, {"text": "check"}).status_code == 201
    frb_query = Query.objects.get(participant=world["frb"])
    site = world["coord_bal"]
    assert [q["trial_id"] for q in site.get("/api/queries").json()["items"]] == [world["bal"].trial_id]
    assert site.get(f"/api/queries/{frb_query.pk}").status_code == 404
    assert site.post(f"/api/queries/{frb_query.pk}/answer", {"text": "x"}).status_code == 404
    assert len(dm.get("/api/queries").json()["items"]) == 2
    assert dm.get("/api/queries", site="FRB").json()["items"][0]["id"] == frb_query.pk


def test_raising_needs_manage_queries_and_a_text(world):
    path = f"/api/participants/{world['bal'].trial_id}/queries"
    assert world["coord_bal"].post(path, {"text": "check"}).status_code == 403
    empty = world["dm"].post(path, {"text": "  "})
    assert (empty.status_code, empty.json()["field"]) == (422, "text")
    no_visit = world["dm"].post(path, {"text": "check", "visit": "m9"})
    assert (no_visit.status_code, no_visit.json()["field"]) == (422, "visit")
    assert not Query.objects.exists()


def test_an_unknown_query_is_not_found(world):
    assert world["dm"].get("/api/queries/999999").status_code == 404
    assert world["dm"].get("/api/queries/0").status_code == 422
