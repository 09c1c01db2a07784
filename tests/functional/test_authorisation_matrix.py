"""The authorisation matrix: every URL of the URL configuration x every demo role (and no login) x a record
at the user's own site and at the other site, compared with the declared table in ``trialdesk.web.access``.

The URLs come from the resolver, not from a list kept here: a URL name missing from the access table, or
a URL with path parameters this test has no record for, fails. Allowed means 200, 400 (a refusal at the
field of an empty submission) or a redirect to anything but the login page; refused means 403 or 404
(404: "no such record among yours", which does not confirm that a record exists). Never a 5xx. The
admin, static files and the REST API (which has its own matrix) are left out.

Each request runs in a savepoint that is rolled back, so an allowed empty POST cannot change what the
next request sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import web_support
from trialdesk.apps.trial.demo import DEMO_STAFF
from trialdesk.web.access import ACCESS, PUBLIC

EXCLUDED_PREFIXES = ("admin/", "static/", "api/")
ANONYMOUS = "(not signed in)"


def url_names() -> dict[str, list[str]]:
    """Every named URL outside the excluded prefixes -> the names of its path parameters."""
    found: dict[str, list[str]] = {}

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith(EXCLUDED_PREFIXES):
                continue
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or ""
                joined = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
                walk(pattern.url_patterns, route, joined)
            elif isinstance(pattern, URLPattern):
                assert pattern.name, f"URL {route!r} has no name: name it and declare it in web/access.py"
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                found[name] = list(pattern.pattern.converters)

    walk(get_resolver().url_patterns, "", "")
    return found


URLS = url_names()


@dataclass(frozen=True)
class Target:
    kwargs: dict[str, Any]
    obj: Any  # what the rule is checked against (None: trial-wide)


T = web_support.Trial


def _participant(name_of: Callable[[T, str], Any]) -> Callable[[T, str], Target]:
    def make(trial: T, site: str) -> Target:
        person = name_of(trial, site)
        return Target({"trial_id": person.trial_id}, person)

    return make


def _with(base: Callable[[T, str], Target], **extra: Any) -> Callable[[T, str], Target]:
    def make(trial: T, site: str) -> Target:
        target = base(trial, site)
        values = {k: (v(trial, site) if callable(v) else v) for k, v in extra.items()}
        return Target({**target.kwargs, **values}, target.obj)

    return make


def _trial_wide(**kwargs: Callable[[T], Any] | str) -> Callable[[T, str], Target]:
    def make(trial: T, site: str) -> Target:
        return Target({k: (v(trial) if callable(v) else v) for k, v in kwargs.items()}, None)

    make.trial_wide = True  # type: ignore[attr-defined]
    return make


randomised = _participant(lambda t, s: t.people[s][1])
imr_member = _participant(lambda t, s: t.in_arm(s, "IMR"))


def _group(attribute: str, pk_of: Callable[[Any], int] = lambda o: o.pk):
    def make(trial: T, site: str) -> Target:
        record = getattr(trial, attribute)[site]
        group = record if attribute == "groups" else record.group
        return Target({"pk": pk_of(record)}, group)

    return make


def _assessment_pk(trial: T, site: str) -> int:
    from trialdesk.apps.assessments.models import Assessment

    return Assessment.objects.filter(participant=trial.people[site][0], status="complete").first().pk


def _unblinding(trial: T, site: str) -> Target:
    item = trial.unblinding[site]
    return Target({"pk": item.pk}, item.participant)


def _query(trial: T, site: str) -> Target:
    query = trial.queries[site]
    return Target({"pk": query.pk}, query)


def _step(trial: T, site: str) -> Target:
    step = trial.steps[site]
    person = step.goal.participant
    return Target({"trial_id": person.trial_id, "pk": step.pk}, person)


def _token(trial: T, site: str) -> Target:
    """An API token of the first site's coordinator (made in the test's transaction)."""
    from trialdesk.api.tokens import create_token
    from trialdesk.apps.ledger.services import Context

    owner = trial.users()["coordinator"]
    _secret, record = create_token(
        owner, Context(actor=owner.username, channel="web"), name="matrix", days=30
    )
    return Target({"pk": record.pk}, record)


_token.trial_wide = True  # type: ignore[attr-defined]


def _register_job(trial: T, site: str) -> Target:
    """A background register import started by the first site's coordinator, a key holder (made in the
    test's transaction; its upload is kept under the trial's data directory)."""
    from trialdesk.apps.ledger.services import Context
    from trialdesk.apps.registers import jobs

    owner = trial.users()["coordinator"]
    acting = Context(actor=owner.username, channel="web")
    empty = b"cpr,event,start_date,end_date\n"
    job = jobs.start(empty, "matrix.csv", acting, user=owner, accept_unmatched=False)
    return Target({"pk": job.pk}, job)


_register_job.trial_wide = True  # type: ignore[attr-defined]


def _self_report_instrument(trial: T) -> str:
    from trialdesk.apps.assessments.services import resolve
    from trialdesk.apps.assessments.services.links import forms_left

    return forms_left(resolve(trial.extra["token"]))[0]


def _active_list(trial: T) -> int:
    from trialdesk.apps.randomisation.models import AllocationList

    return AllocationList.objects.get(active=True).pk


def _staff_member(trial: T) -> int:
    """A demo account the staff pages act on (the monitor: no refusal depends on who it is)."""
    return trial.users()["monitor"].pk


def _staff_membership(trial: T) -> int:
    from trialdesk.apps.accounts.models import Membership

    return Membership.objects.get(user__username="monitor").pk


#: URL name -> how to fill its path parameters (per site), for every URL that has any.
TARGETS: dict[str, Callable[[T, str], Target]] = {
    "participants:detail": randomised,
    "participants:personal": randomised,
    "participants:correct_personal": randomised,
    "participants:status": randomised,
    "screening:rescreen": randomised,
    "consent:record": _participant(lambda t, s: t.eligible[s]),
    "consent:decline": _participant(lambda t, s: t.eligible[s]),
    "consent:withdraw": randomised,
    "randomisation:activate": _trial_wide(pk=_active_list),
    "randomisation:unblinding_detail": _unblinding,
    "randomisation:request_unblinding": randomised,
    "randomisation:randomise": _participant(lambda t, s: t.waiting[s]),
    "registers:detail": _trial_wide(pk=lambda t: t.extra["register_import"].pk),
    "registers:job": _register_job,
    "assessments:participant": randomised,
    "assessments:baseline_date": randomised,
    "assessments:incident": randomised,
    "assessments:book": _with(randomised, visit="m21"),
    "assessments:missed": _with(randomised, visit="m21"),
    "assessments:guess": _with(randomised, visit="m9"),
    "assessments:issue_link": _with(randomised, visit="m9"),
    "assessments:form": _with(randomised, visit="m9", instrument="panss"),  # assessor-rated
    "assessments:check_item": _with(randomised, visit="m9", instrument="panss", item="P1"),
    "self_report:start": _trial_wide(token=lambda t: t.extra["token"]),
    "self_report:finish": _trial_wide(token=lambda t: t.extra["token"]),
    "self_report:questionnaire": _trial_wide(
        token=lambda t: t.extra["token"], instrument=_self_report_instrument
    ),
    "snapshots:table": _trial_wide(name="participants"),
    "snapshots:download": _trial_wide(fmt="csv"),
    "intervention:group": _group("groups"),
    "intervention:group_action": _group("groups"),
    "intervention:leave": _group("memberships"),
    "intervention:session": _group("sessions"),
    "intervention:attendance": _group("sessions"),
    "intervention:session_hold": _group("sessions"),
    "intervention:session_cancel": _group("sessions"),
    "intervention:session_reschedule": _group("sessions"),
    "intervention:goals": imr_member,
    "intervention:step_done": _step,
    "datamanagement:query": _query,
    "datamanagement:casebook": randomised,
    "datamanagement:raise_query": randomised,
    "datamanagement:verify": _with(_participant(lambda t, s: t.people[s][0]), pk=_assessment_pk),
    "datamanagement:sign": randomised,
    "datamanagement:request_unlock": _trial_wide(pk=lambda t: t.extra["lock"].pk),
    "datamanagement:decide": _trial_wide(pk=lambda t: t.extra["unlock_request"].pk),
    "api-tokens:revoke": _token,
    "staff:detail": _trial_wide(pk=_staff_member),
    "staff:details": _trial_wide(pk=_staff_member),
    "staff:grant": _trial_wide(pk=_staff_member),
    "staff:activation": _trial_wide(pk=_staff_member),
    "staff:password": _trial_wide(pk=_staff_member),
    "staff:two_factor": _trial_wide(pk=_staff_member),
    "staff:revoke": _trial_wide(pk=_staff_membership),
    "analysis:run": _trial_wide(pk=lambda t: t.extra["analysis_run"].pk),
    "analysis:report": _trial_wide(pk=lambda t: t.extra["analysis_run"].pk, version="open"),
}


@pytest.fixture(scope="module")
def trial(django_db_setup, django_db_blocker, tmp_path_factory):
    with web_support.built_once(django_db_blocker, tmp_path_factory, "matrix-data") as built:
        yield built


@pytest.fixture(autouse=True)
def _environment(request, personal_data_key, settings):
    if "trial" in request.fixturenames:
        # the snapshots and exports the trial wrote live under its data directory
        settings.DATA_DIR = request.getfixturevalue("trial").extra["data_dir"]


def test_every_url_is_declared_and_every_declaration_is_a_url():
    assert sorted(set(URLS) - set(ACCESS)) == [], "declare these URL names in src/trialdesk/web/access.py"
    assert sorted(set(ACCESS) - set(URLS)) == [], "these declared URL names no longer exist"
    with_parameters = {name for name, params in URLS.items() if params}
    assert sorted(with_parameters - set(TARGETS)) == [], "give these URLs a record to test with (TARGETS)"
    assert sorted(set(TARGETS) - with_parameters) == []


def _request(client: Client, url: str):
    """GET, or an empty POST when the view takes only POST; inside a savepoint that is rolled back.
    A streamed answer is read to its end (an error while streaming counts), which closes it: closing it
    again would fire request_finished and close the database connection inside the transaction."""
    with transaction.atomic():
        response = client.get(url)
        if response.status_code == 405:
            response = client.post(url, {})
        if response.streaming:
            b"".join(response.streaming_content)
        transaction.set_rollback(True)
    return response


#: Pages whose answer to everyone is a redirect to the login page.
SIGN_OUT = {"logout"}


def _outcome(response, name: str) -> str:
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if status in (301, 302, 303):
        location = urlparse(response["Location"]).path
        return "login" if location == reverse("login") and name not in SIGN_OUT else "allowed"
    if status in (200, 400):
        return "allowed"
    if status in (403, 404):
        return "refused"
    return f"unexpected {status}"


def _expected(name: str, user: Any, obj: Any) -> str:
    rule = ACCESS[name]
    if user is None:
        return "allowed" if rule is PUBLIC else "login"
    return "allowed" if rule.allows(user, obj) else "refused"


def _cases(trial: T, name: str) -> list[tuple[str, str, Target]]:
    """(label, site code, target): own (first site) and other (second site) for per-site records."""
    make = TARGETS.get(name)
    if make is None:
        return [("", web_support.SITES[0], Target({}, None))]
    if getattr(make, "trial_wide", False):
        return [("", web_support.SITES[0], make(trial, web_support.SITES[0]))]
    return [(f"record at {site}", site, make(trial, site)) for site in web_support.SITES]


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(URLS))
def test_url_answers_every_role_as_declared(trial, name):
    assert name in ACCESS, f"{name} is not declared in src/trialdesk/web/access.py"
    users = trial.users()
    logins = [(login.username, users[login.username]) for login in DEMO_STAFF] + [(ANONYMOUS, None)]
    mismatches = []
    for label, _site, target in _cases(trial, name):
        url = reverse(name, kwargs=target.kwargs)
        for username, user in logins:
            client = Client()
            if user is not None:
                client.force_login(user)
            got = _outcome(_request(client, url), name)
            wanted = _expected(name, user, target.obj)
            if got != wanted:
                mismatches.append(f"{username} {label}: {url} -> {got}, declared {wanted} ({ACCESS[name]})")
    assert mismatches == []


@pytest.mark.django_db
def test_the_matrix_sees_both_answers(trial):
    """The table is not trivially all-allowed or all-refused: a site coordinator opens their own
    participant's page and is refused the other site's; an assessor is refused a group page."""
    users = trial.users()
    own, other = (randomised(trial, site).kwargs for site in web_support.SITES)
    client = Client()
    client.force_login(users["coordinator"])
    assert client.get(reverse("participants:detail", kwargs=own)).status_code == 200
    assert client.get(reverse("participants:detail", kwargs=other)).status_code == 404
    client.force_login(users["assessor"])
    group = trial.groups[web_support.SITES[0]]
    assert client.get(reverse("intervention:group", kwargs={"pk": group.pk})).status_code == 403
