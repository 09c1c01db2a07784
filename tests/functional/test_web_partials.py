"""htmx partial pages through Django's test client: an HX-Request answers only the region the page
updates, any other request the whole page; both pass the same permission check, refusals show at the
field and store nothing; no template relies on htmx features the Content Security Policy forbids."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

import intervention_support as imr
from datamanagement_support import install, staff, with_baseline_form
from enrolment_support import user
from trialdesk import clock
from trialdesk.apps.datamanagement import queries
from trialdesk.apps.datamanagement.models import Query
from trialdesk.apps.intervention import services
from trialdesk.apps.intervention.models import Attendance
from trialdesk.apps.ledger.models import LedgerEntry

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key", "data_dir")]
HX = {"HTTP_HX_REQUEST": "true"}
SRC = Path(__file__).resolve().parents[2] / "src" / "trialdesk"


@pytest.fixture
def ctx():
    return install()


@pytest.fixture
def people(ctx):
    return staff()


def _client(who) -> Client:
    client = Client()
    client.force_login(who)
    return client


def _is_partial(response) -> bool:
    return "<html" not in response.content.decode() and "HX-Request" in response["Vary"]


def test_participant_filter_answers_the_table_alone_to_htmx(ctx, people):
    with_baseline_form(ctx)
    coordinator = _client(people["coord_bal"])
    full = coordinator.get(reverse("participants:list"), {"status": "consented"})
    part = coordinator.get(reverse("participants:list"), {"status": "consented"}, **HX)
    assert full.status_code == part.status_code == 200
    assert "<html" in full.content.decode() and 'hx-target="#participant-results"' in full.content.decode()
    assert _is_partial(part) and "HX-Request" in full["Vary"]
    body = part.content.decode()
    # The table, its count, and the count again for the status line screen readers announce.
    assert "BAL-0001" in body and "<form" not in body and "<h1>" not in body
    assert body.count("1 participant.") == 2 and 'id="live-status" hx-swap-oob="innerHTML"' in body
    # The full page holds the same region (one template), without the out-of-band status line.
    assert "BAL-0001" in full.content.decode() and "hx-swap-oob" not in full.content.decode()
    empty = coordinator.get(reverse("participants:list"), {"status": "withdrawn"}, **HX).content.decode()
    assert "No participants." in empty and "0 participants." in empty


def test_partials_are_refused_to_the_roles_the_full_page_refuses(ctx, people):
    assessor = _client(user("alma", "assessor", "BAL"))
    monitor = _client(people["monitor"])
    coordinator = _client(people["coord_bal"])
    for client, url in (
        (coordinator, reverse("datamanagement:audit")),
        (monitor, reverse("intervention:home")),
        (assessor, reverse("intervention:groups")),
        (assessor, reverse("analysis:runs")),
    ):
        assert client.get(url).status_code == 403, url
        refused = client.get(url, **HX)
        assert refused.status_code == 403, url
        assert "<table" not in refused.content.decode()


def test_query_list_filter_and_pages_answer_the_table_alone(ctx, people):
    participant = with_baseline_form(ctx)
    dm = people["dm"]
    for number in range(51):
        queries.raise_query(participant, ctx, user=dm, text=f"check item {number}")
    client = _client(dm)
    first = client.get(reverse("datamanagement:queries"), {"status": "open"}, **HX)
    assert _is_partial(first)
    body = first.content.decode()
    assert "51 queries." in body and "page 1 of 2" in body and 'id="page-next"' in body
    assert 'href="?status=open&amp;page=2"' in body and 'hx-target="#query-results"' in body
    second = client.get(reverse("datamanagement:queries"), {"status": "open", "page": "2"}, **HX)
    assert "page 2 of 2" in second.content.decode() and 'id="page-previous"' in second.content.decode()
    closed = client.get(reverse("datamanagement:queries"), {"status": "closed"}, **HX).content.decode()
    assert "No queries to show." in closed and "By site" not in closed


def test_a_query_is_answered_in_place_and_a_refusal_shows_at_the_field(ctx, people):
    participant = with_baseline_form(ctx)
    query = queries.raise_query(participant, ctx, user=people["dm"], text="Age differs from the CPR")
    coordinator = _client(people["coord_bal"])
    url = reverse("datamanagement:query", args=[query.pk])
    before = LedgerEntry.objects.count()
    empty = coordinator.post(url, {"action": "answer", "text": ""}, **HX)
    assert empty.status_code == 400 and _is_partial(empty)
    assert 'aria-invalid="true" aria-describedby="text-error"' in empty.content.decode()
    assert 'id="text-error" role="alert">an answer is required' in empty.content.decode()
    assert LedgerEntry.objects.count() == before and query.messages.count() == 1
    answered = coordinator.post(url, {"action": "answer", "text": "Checked: 34 is right"}, **HX)
    assert answered.status_code == 200 and _is_partial(answered)
    body = answered.content.decode()
    assert f'role="status">Query #{query.pk} updated.' in body and "Checked: 34 is right" in body
    assert '<strong id="status">answered</strong>' in body and 'id="query-answer"' not in body
    assert Query.objects.get(pk=query.pk).status == "answered"
    # Without htmx the same form posts, redirects and shows the message on the next page.
    dm = _client(people["dm"])
    closed = dm.post(url, {"action": "close", "text": ""})
    assert closed.status_code == 302 and closed["Location"] == url
    assert f"Query #{query.pk} updated." in dm.get(url).content.decode()
    # Another site's coordinator gets the same 404 with or without htmx.
    other = _client(people["coord_frb"])
    assert other.post(url, {"action": "answer", "text": "x"}, **HX).status_code == 404


def test_audit_filter_errors_show_at_their_field_in_the_partial(ctx, people):
    with_baseline_form(ctx)
    client = _client(people["dm"])
    bad = client.get(reverse("datamanagement:audit"), {"since": "soon"}, **HX)
    assert bad.status_code == 400 and _is_partial(bad)
    body = bad.content.decode()
    assert 'id="since"' in body and "&#x27;soon&#x27; is not a date; write it as YYYY-MM-DD" in body
    good = client.get(reverse("datamanagement:audit"), {"channel": "web"}, **HX).content.decode()
    assert "channel=web" in good and 'hx-target="#audit-review"' in good and "<h1>" not in good


def test_attendance_is_saved_in_place_with_htmx(monkeypatch):
    ctx = imr.trial()
    people, _ = imr.randomised(ctx, 6)
    group = imr.running_group(ctx, people)
    session = group.sessions.get(number=1)
    url = reverse("intervention:attendance", args=[session.pk])
    with clock.frozen(imr.at_local(dt.date(2011, 3, 8))):
        services.hold_session(
            session, minutes=90, modules=[1], facilitators_present=list(group.facilitators.all()), context=ctx
        )
        client = _client(group.facilitators.first())
        before = LedgerEntry.objects.count()
        marks = {p.trial_id: "present" for p in people[:5]}
        refused = client.post(url, marks, **HX)
        assert refused.status_code == 400 and _is_partial(refused)
        assert f"every member must be marked; missing {people[5].trial_id}" in refused.content.decode()
        assert (Attendance.objects.count(), LedgerEntry.objects.count()) == (0, before)
        marks[people[5].trial_id] = "absent_with_notice"
        saved = client.post(url, marks, **HX)
    assert saved.status_code == 200 and _is_partial(saved)
    body = saved.content.decode()
    assert 'role="status" id="saved">Attendance saved: 5 of 6 present.' in body
    # The register stays open with the marks as stored; a change now needs a reason.
    assert body.count("checked") == 6 and 'id="reason"' in body and " autofocus" not in body
    assert Attendance.objects.filter(session=session).count() == 6


def test_analysis_progress_polls_while_the_run_is_unfinished(ctx):
    from trialdesk.apps.analysis import services as analysis
    from trialdesk.apps.analysis.models import AnalysisRun
    from trialdesk.apps.snapshots.snapshot import take_snapshot

    statistician = user("stig", "statistician")
    snapshot = take_snapshot(ctx, label="interim", blinded=False)
    run = analysis.create_run(ctx, snapshot.pk)
    client = _client(statistician)
    url = reverse("analysis:run", args=[run.pk])
    full = client.get(url).content.decode()
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in full
    polling = client.get(url, **HX).content.decode()
    assert 'hx-trigger="every 2s"' in polling and "<html" not in polling and "hx-swap-oob" not in polling
    AnalysisRun.objects.filter(pk=run.pk).update(status=AnalysisRun.FAILED, error="stopped by the test")
    finished = client.get(url, **HX).content.decode()
    assert "hx-trigger" not in finished and "stopped by the test" in finished
    assert f'hx-swap-oob="innerHTML">Analysis run {run.pk}: failed.' in finished


def test_templates_use_no_htmx_feature_the_csp_forbids():
    """hx-on, hx-vars, js: values and trigger filters ([...]) need eval, which the policy refuses."""
    forbidden = (r"\bhx-(?:on\b[^=]*|vars)=", r'hx-[a-z-]+="js:', r'hx-trigger="[^"]*\[')
    offenders = [
        f"{template.name}: {found}"
        for template in SRC.rglob("templates/**/*.html")
        for pattern in forbidden
        for found in re.findall(pattern, template.read_text())
    ]
    assert offenders == []
    assert len(list(SRC.rglob("templates/**/_*.html"))) >= 6  # the scan sees the partials
