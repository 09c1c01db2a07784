"""Blinding from the outside: an assessor calls every GET endpoint of the API (and is refused the writes
that would reveal an arm) on a small trial with allocations, IMR groups, sessions, attendance, fidelity
ratings and allocation guesses, and no answer — data, error or description — names an arm, a group, a
session or attendance."""

import re
from itertools import product

import pytest

import snapshots_support as trial
from api_support import Api, arm_pattern
from enrolment_support import TEST_KEY
from trialdesk import datasets
from trialdesk.api.registry import all_endpoints
from trialdesk.apps.datamanagement import queries
from trialdesk.apps.datamanagement.models import Query
from trialdesk.apps.participants import keys
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.snapshots.export import FORMATS
from trialdesk.protocol import load_protocol

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key", "data_dir")]
DELIVERY = re.compile(r"Tuesday group|\battendance\b|\bsessions?\b|\bfidelity\b|\bgroup_id\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setenv(keys.ENV_KEY, TEST_KEY)
        data = trial.build()
        manager = trial.export_user("dorte")
        for person in data["people"][:2]:
            queries.raise_query(person, data["context"], user=manager, text="please check the rating")
        data["api"] = Api(data["assessor"])
    yield data
    with django_db_blocker.unblock():
        trial.wipe()


def _fillings():
    """Every value each path parameter can take in this trial."""
    protocol = load_protocol()
    forms = [(visit.code, code) for visit in protocol.visits for code in visit.instruments]
    return {
        "trial_id": [p.trial_id for p in Participant.objects.all()],
        "visit_instrument": forms,
        "visit": [visit.code for visit in protocol.visits],
        "pk": list(Query.objects.values_list("pk", flat=True)),
        "name": list(datasets.TABLES),
        "fmt": list(FORMATS),
    }


def _paths(template: str, fill: dict) -> list[str]:
    names = re.findall(r"{(\w+)}", template)
    if "visit" in names and "instrument" in names:
        choices = [fill["trial_id"], fill["visit_instrument"]]
        return [template.format(trial_id=t, visit=v, instrument=i) for t, (v, i) in product(*choices)]
    choices = [fill[name] for name in names]
    return [template.format(**dict(zip(names, values, strict=True))) for values in product(*choices)]


def _text(response) -> str:
    data = b"".join(response.streaming_content) if response.streaming else response.content  # closes it
    return data.decode("utf-8", errors="replace")


def test_an_assessor_meets_no_arm_group_or_session_anywhere_in_the_api(built):
    assert len(set(built["arms"].values())) == 2, "both arms are needed for the check to mean anything"
    client, arms, fill = built["api"], arm_pattern(), _fillings()
    paths = ["/api/openapi.json", "/api/docs"]
    for endpoint in all_endpoints():
        if endpoint.method == "GET":
            paths += _paths(endpoint.path, fill)
    statuses = {}
    for path in paths:
        response = client.get(path)
        text = _text(response)
        statuses[path] = response.status_code
        assert response.status_code < 500, path
        assert not arms.search(text), f"{path} names an arm: {arms.search(text).group(0)!r}"
        assert not DELIVERY.search(text), f"{path} shows delivery data: {DELIVERY.search(text).group(0)!r}"
    reached = [path for path, status in statuses.items() if status == 200]
    # The crawl really read the assessor's data, not just refusals.
    assert len(reached) > 200, sorted(set(statuses.values()))
    assert any("/visits/m9/assessments/panss" in path for path in reached)
    assert any(path.startswith("/api/queries/") for path in reached)


def test_an_assessors_refused_writes_name_no_arm(built):
    client, arms = built["api"], arm_pattern()
    person = built["people"][0]
    answers = [
        client.post(f"/api/participants/{person.trial_id}/randomisation", headers={"Idempotency-Key": "a"}),
        client.post(f"/api/participants/{person.trial_id}/withdrawals",
                    {"scope": "intervention", "withdrawn_on": "2011-06-01"}),
        client.get(f"/api/participants/{person.trial_id}/allocation"),
    ]
    for answer in answers:
        assert answer.status_code == 403
        assert not arms.search(answer.content.decode())


def test_the_scan_finds_arms_where_they_are_allowed(built):
    """Control: the same pattern does match an unblinded caller's answer, so the crawl's silence means
    something."""
    from enrolment_support import user

    coordinator = Api(user("cora", "coordinator", "BAL"))
    person = built["people"][0]
    answer = coordinator.get(f"/api/participants/{person.trial_id}/allocation")
    assert answer.status_code == 200
    assert arm_pattern().search(answer.content.decode())
