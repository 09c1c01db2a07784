"""The API's authorisation matrix: every endpoint × every role × own/other site, allowed or refused exactly
as ``allowed()`` says for the rule the endpoint declares.

The cases are generated from the registry (``trialdesk.api.registry.all_endpoints()``), and the registry is
checked against the served OpenAPI description, so an endpoint added without a rule, or without a request
here to exercise it, fails this module. Refused means 403 or 404 (404 when the caller may not even see
the object); allowed means any other answer below 500 (a 409 or 422 is a refusal of the input, after the
permission check passed). Writes are rolled back after each case.
"""

import datetime as dt
from types import SimpleNamespace

import pytest

import snapshots_support as trial
from api_support import Api
from assessments_support import randomised
from enrolment_support import TEST_KEY, enrol, new_cpr, screen, user
from trialdesk.api.main import api
from trialdesk.api.registry import all_endpoints
from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.accounts.roles import Role
from trialdesk.apps.datamanagement import queries
from trialdesk.apps.participants import keys
from trialdesk.apps.participants.models import PersonalData

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key", "data_dir")]
OWN, OTHER = "BAL", "FRB"
#: Every role at the own site, plus the flags that add actions (personal data, named unblinded).
CALLERS = [(role.value, {}) for role in Role] + [
    ("coordinator", {"personal_data": True}),
    ("statistician", {"unblinded": True}),
]
DAY = "2011-03-01"


def _caller_id(role: str, flags: dict) -> str:
    return role + "".join(f"+{flag}" for flag in sorted(flags))


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setenv(keys.ENV_KEY, TEST_KEY)
        context = trial.install()
        trial.allocation_list(context, per_stratum=8)
        dm = user("dm-setup", "data_manager")
        sites = {}
        for code in (OWN, OTHER):
            eligible = screen(context, code).participant
            done = randomised(context, code)
            query = queries.raise_query(done, context, user=dm, text="please check")
            sites[code] = {
                "eligible": eligible, "ineligible": screen(context, code, E3=True).participant,
                "ready": enrol(context, code), "randomised": done, "query": query,
                "cpr": keys.decrypt(PersonalData.objects.get(participant=eligible).cpr_encrypted),
            }  # fmt: skip
        callers = {}
        for number, (role, flags) in enumerate(CALLERS):
            who = user(f"caller{number}", role, OWN, **flags)
            callers[_caller_id(role, flags)] = (who, Api(who))
    yield {"sites": sites, "callers": callers}
    with django_db_blocker.unblock():
        trial.wipe()


def _screening(code: str) -> dict:
    from enrolment_support import answers

    return {"site": code, "screened_on": DAY, "referral_source": "clinician", "cpr": new_cpr(),
            "name": "Test Person", "answers": answers()}  # fmt: skip


def _form(instrument: str) -> str:
    return f"/visits/m9/assessments/{instrument}"


#: endpoint name -> (the object its rule is checked on, method path body headers) for one site's world.
REQUESTS = {
    "me": lambda s: (None, "/api/me", None),
    "list_participants": lambda s: (None, "/api/participants", None),
    "lookup": lambda s: (s["eligible"], "/api/participants/lookup", {"cpr": s["cpr"]}),
    "participant_detail": lambda s: (s["eligible"], "/api/participants/{eligible}", None),
    "personal_data": lambda s: (s["eligible"], "/api/participants/{eligible}/personal-data", None),
    "list_screenings": lambda s: (None, "/api/screenings", None),
    "screen": lambda s: (SimpleNamespace(site_id=s["eligible"].site_id), "/api/screenings",
                         _screening(s["eligible"].site.code)),
    "rescreen": lambda s: (s["ineligible"], "/api/screenings/rescreen/{ineligible}",
                           {"screened_on": "2011-05-01", "referral_source": "clinician", "answers": {}}),
    "consent_state": lambda s: (s["eligible"], "/api/participants/{eligible}/consent", None),
    "record_consent": lambda s: (s["eligible"], "/api/participants/{eligible}/consents",
                                 {"version": "1.0", "oral_on": DAY, "written_on": DAY, "taken_by": "x"}),
    "record_decline": lambda s: (s["eligible"], "/api/participants/{eligible}/decline",
                                 {"category": "burden", "declined_on": DAY}),
    "record_withdrawal": lambda s: (s["randomised"], "/api/participants/{randomised}/withdrawals",
                                    {"scope": "intervention", "withdrawn_on": "2011-06-01"}),
    "randomise_participant": lambda s: (s["ready"], "/api/participants/{ready}/randomisation", None),
    "allocation": lambda s: (s["randomised"], "/api/participants/{randomised}/allocation", None),
    "schedule": lambda s: (s["randomised"], "/api/participants/{randomised}/visits", None),
    "book": lambda s: (s["randomised"], "/api/participants/{randomised}/visits/m9/booking",
                       {"booked_on": "2011-12-01"}),
    "missed": lambda s: (s["randomised"], "/api/participants/{randomised}/visits/m21/missed",
                         {"reason": "moved away"}),
    "worklist": lambda s: (None, "/api/worklist", None),
    "read": lambda s: (s["randomised"], "/api/participants/{randomised}" + _form("{instrument}"), None),
    "save": lambda s: (s["randomised"], "/api/participants/{randomised}" + _form("{instrument}"),
                       {"assessed_on": "2011-12-01", "values": {}, "complete": False}),
    "not_done": lambda s: (s["randomised"], "/api/participants/{randomised}" + _form("{instrument}/not-done"),
                           {"reason": "not possible"}),
    "list_queries": lambda s: (None, "/api/queries", None),
    "read_query": lambda s: (s["query"], "/api/queries/{query}", None),
    "raise_query": lambda s: (s["randomised"], "/api/participants/{randomised}/queries", {"text": "check"}),
    "answer": lambda s: (s["query"], "/api/queries/{query}/answer", {"text": "checked"}),
    "close": lambda s: (s["query"], "/api/queries/{query}/close", {"text": "resolved"}),
    "reopen": lambda s: (s["query"], "/api/queries/{query}/reopen", {"text": "again"}),
    "exports": lambda s: (None, "/api/exports", None),
    "table_csv": lambda s: (None, "/api/exports/tables/participants", None),
    "archive": lambda s: (None, "/api/exports/archive/csv", None),
}

#: The form endpoints' rule is refined by the instrument's rater (assessments.access, documented in the
#: rule's note): for these instruments, reading and entering need exactly these actions besides
#: view-participants. imrs_clinician (clinician-rated) is what the declared rule says as it stands.
RATERS = {
    "imrs_clinician": None,
    "panss": {"read": ("enter-assessment", "view-assessments"), "enter": ("enter-assessment",)},
    "mhrm": {"read": ("enter-self-report", "view-assessments"), "enter": ("enter-self-report",)},
}


def _cases():
    for endpoint in all_endpoints():
        instruments = list(RATERS) if endpoint.name in ("read", "save", "not_done") else [None]
        sites = (OWN, OTHER) if endpoint.rule.on not in ("trial", "self") else (OWN,)
        for instrument in instruments:
            for role, flags in CALLERS:
                for site in sites:
                    caller = _caller_id(role, flags)
                    label = f"{endpoint.method} {endpoint.path} {instrument or ''} {caller} {site}"
                    yield pytest.param(endpoint, instrument, caller, site, id=label)


def test_every_served_operation_is_registered_and_exercised():
    served = {(method.upper(), path) for path, item in api.get_openapi_schema()["paths"].items()
              for method in item}  # fmt: skip
    registered = {(e.method, e.path) for e in all_endpoints()}
    assert served == registered
    assert len(registered) == len(all_endpoints()), "an operation is registered twice"
    assert {e.name for e in all_endpoints()} == set(REQUESTS)


def _expected(endpoint, instrument, who, obj) -> bool:
    rater = RATERS.get(instrument) if instrument else None
    if rater is None:
        return endpoint.rule.allows(who, obj)
    needs = rater["read" if endpoint.method == "GET" else "enter"]
    return allowed(who, "view-participants", obj) and any(allowed(who, action, obj) for action in needs)


@pytest.mark.parametrize(("endpoint", "instrument", "caller", "site"), list(_cases()))
def test_matrix(world, endpoint, instrument, caller, site):
    who, client = world["callers"][caller]
    objects = world["sites"][site]
    obj, path, body = REQUESTS[endpoint.name](objects)
    path = path.format(instrument=instrument, query=objects["query"].pk,
                       **{k: v.trial_id for k, v in objects.items() if hasattr(v, "trial_id")})  # fmt: skip
    headers = {"Idempotency-Key": f"matrix-{dt.datetime.now().timestamp()}"}
    if endpoint.method == "GET":
        answer = client.get(path)
    elif endpoint.method == "PUT":
        answer = client.put(path, body, headers=headers)
    else:
        answer = client.post(path, body, headers=headers)
    assert answer.status_code < 500, answer.content[:300]
    refused = answer.status_code in (403, 404)
    expected = _expected(endpoint, instrument, who, obj)
    # Reading a download to its end closes it (and a file download's temporary file with it).
    detail = b"".join(answer.streaming_content)[:0] if answer.streaming else answer.content[:300]
    assert refused is not expected, f"{caller} at {site}: {answer.status_code} {detail!r}"
    assert answer.status_code != 401
