"""schemathesis against the served OpenAPI description, in process (Django's WSGI application), as a
coordinator and as an assessor: valid and invalid requests to every operation, asserting no server error
and that every answer conforms to the description (status codes, content types, headers, bodies).

Path parameters are drawn half from what schemathesis generates and half from the trial's real trial ids,
visits, instruments and queries, so requests also reach the services behind the look-ups. Bounded:
derandomised (the same cases every run) and a few examples per operation, to run in well under two
minutes.
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import snapshots_support as trial
from api_support import token_for
from assessments_support import randomised
from enrolment_support import TEST_KEY, enrol, screen, user
from trialdesk.apps.datamanagement import queries
from trialdesk.apps.participants import keys
from trialdesk.protocol import load_protocol

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key", "data_dir")]
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]  # fmt: skip
REAL: dict[str, list] = {}


@pytest.fixture(scope="module")
def tokens(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setenv(keys.ENV_KEY, TEST_KEY)
        context = trial.install()
        trial.allocation_list(context, per_stratum=8)
        people = [randomised(context, "BAL"), randomised(context, "BAL"), screen(context, "BAL").participant,
                  enrol(context, "BAL"), screen(context, "BAL", E3=True).participant]  # fmt: skip
        manager = user("dorte", "data_manager")
        raised = [queries.raise_query(p, context, user=manager, text="check") for p in people[:2]]
        protocol = load_protocol()
        REAL.update(
            trial_id=[p.trial_id for p in people],
            visit=[v.code for v in protocol.visits],
            instrument=sorted({code for v in protocol.visits for code in v.instruments}),
            pk=[q.pk for q in raised],
            name=["participants", "items", "dose"],
        )
        made = {"coordinator": token_for(user("cora", "coordinator", "BAL")),
                "assessor": token_for(user("anna", "assessor", "BAL"))}  # fmt: skip
    yield made
    with django_db_blocker.unblock():
        trial.wipe()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django's test client stops a request's end from closing the database connection; schemathesis
    calls the WSGI application directly, so do the same here (on PostgreSQL a closed connection goes back
    to the pool mid-test)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Each parameter: the generated value, or one that exists in the trial."""
    if not path_parameters:
        return st.just(path_parameters)
    choices = {
        name: st.one_of(st.just(value), st.sampled_from(REAL[name])) if REAL.get(name) else st.just(value)
        for name, value in path_parameters.items()
    }
    return st.fixed_dictionaries(choices)


@pytest.mark.parametrize("caller", ["coordinator", "assessor"])
@schema.parametrize()
@settings(max_examples=10, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
def test_the_api_conforms_to_its_description(case, caller, tokens):
    response = case.call_and_validate(headers={"Authorization": f"Bearer {tokens[caller]}"}, checks=CHECKS)
    assert response.status_code < 500
