"""The API's contract beyond single endpoints: every endpoint documented; refusals are JSON; what no
column can hold is refused at the door; token requests need no CSRF token and carry the security headers;
an operation that skips its permission look-up fails instead of answering; a bug answers 500 without a
traceback."""

import json
from pathlib import Path

import pytest
from django.test import Client
from ninja import NinjaAPI
from ninja.testing import TestClient

from api_support import Api
from enrolment_support import SCREENED_ON, answers, install, new_cpr, screen, user
from trialdesk.api import errors, registry
from trialdesk.api.registry import Routes, Rule, all_endpoints
from trialdesk.apps.participants.models import Participant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


@pytest.fixture
def coordinator():
    install()
    return Api(user("signe", "coordinator", "BAL"))


def test_every_endpoint_is_in_the_api_docs():
    page = DOCS.read_text()
    rows = {f"{e.method} {e.path}": f"| `{e.method}` | `{e.path}` |" for e in all_endpoints()}
    missing = [name for name, row in rows.items() if row not in page]
    assert not missing


def test_unknown_paths_and_methods_answer_json(coordinator):
    unknown = coordinator.get("/api/no/such/thing")
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "no API endpoint /api/no/such/thing")
    token = {"Authorization": f"Bearer {coordinator.token}"}
    wrong = coordinator.client.delete("/api/participants", headers=token)
    assert wrong.status_code == 405
    assert wrong["Allow"] == "GET"
    assert wrong.json()["detail"] == "DELETE is not allowed here (allowed: GET)"


def _screening(**changes) -> dict:
    body = {"site": "BAL", "screened_on": SCREENED_ON.isoformat(), "referral_source": "clinician",
            "cpr": new_cpr(), "name": "Test Person", "answers": answers()}  # fmt: skip
    return body | changes


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"referral_source": "GP\x00"}, "referral_source"),
        ({"name": "Test \ud800Person"}, "name"),
        ({"answers": {**answers(), "I2": 10**20}}, "answers.I2"),
        ({"answers": {**answers(), "E2": ["F20\x00"]}}, "answers.E2.0"),
    ],
)
def test_unstorable_values_are_refused_before_anything_runs(coordinator, change, field):
    body = json.dumps(_screening(**change), ensure_ascii=True)  # lone surrogates travel as \ud800 escapes
    answer = coordinator.client.post("/api/screenings", body, content_type="application/json",
                                     headers={"Authorization": f"Bearer {coordinator.token}"})  # fmt: skip
    assert answer.status_code == 422
    assert answer.json()["field"] == field
    assert not Participant.objects.exists()


def test_a_nul_in_a_path_is_refused(coordinator):
    answer = coordinator.get("/api/participants/BAL-0001%00/visits")
    assert answer.status_code == 422
    assert answer.json()["field"] == "trial_id"


def test_token_requests_need_no_csrf_token_and_carry_the_security_headers(coordinator):
    participant = screen_one()
    client = Client(enforce_csrf_checks=True)
    answer = client.post(f"/api/participants/{participant.trial_id}/consents",
                         json.dumps({"version": "1.0", "oral_on": "2011-03-01", "written_on": "2011-03-01",
                                     "taken_by": "signe"}),
                         content_type="application/json",
                         headers={"Authorization": f"Bearer {coordinator.token}"})  # fmt: skip
    assert answer.status_code == 201
    assert "default-src 'self'" in answer["Content-Security-Policy"]
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in answer["Cache-Control"]


def screen_one():
    from trialdesk.apps.ledger.services import Context
    from trialdesk.apps.trial.services import active_hash

    return screen(Context(actor="signe", channel="web", protocol_hash=active_hash()), "BAL").participant


@pytest.fixture
def scratch_api():
    """A throw-away API with test operations; the registry is restored afterwards."""
    before = list(registry.ENDPOINTS)
    api = NinjaAPI(urls_namespace="scratch")
    errors.install(api)
    routes = Routes("/scratch", "scratch")
    yield api, routes
    registry.ENDPOINTS[:] = before


def test_an_operation_that_skips_its_permission_look_up_fails_loudly(scratch_api, coordinator):
    api, routes = scratch_api

    @routes.get("/{trial_id}", rule=Rule("participant", ("view-participants",)))
    def unchecked(request, trial_id: str):
        return {"trial_id": trial_id}

    api.add_router(routes.prefix, routes.router)
    answer = TestClient(api).get("/scratch/BAL-0001")
    assert answer.status_code == 500
    assert answer.json()["detail"].startswith("internal error")
    assert "Traceback" not in answer.content.decode()


def test_a_trial_wide_rule_is_enforced_by_the_wrapper(scratch_api):
    api, routes = scratch_api
    install()
    called = []

    @routes.get("/thing", rule=Rule("trial", ("export-data",)), response=dict)
    def thing(request):
        called.append(True)
        return {"ok": True}

    api.add_router(routes.prefix, routes.router)
    client = TestClient(api)
    refused = client.get("/scratch/thing", user=user("anna", "assessor", "BAL"))
    assert refused.status_code == 403
    assert not called
    assert client.get("/scratch/thing", user=user("dana", "data_manager")).status_code == 200
    assert called == [True]
