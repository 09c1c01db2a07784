"""Analysis runs whose background worker stopped: a run silent for longer than TRIALDESK_JOB_STALE_SECONDS
is queued again from the start once, then failed with a clear message; a run still beating is left alone;
an attempt queued again meanwhile stores nothing; the run's page says which of these happened. Killing a
real worker is in tests/integration/test_crash_analysis_run.py.

The snapshot is of four randomised participants with nothing after baseline: the plan still runs to the
end (every comparison not estimable), and quickly.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from assessments_support import allocation_list, randomised
from enrolment_support import install, user
from trialdesk import clock
from trialdesk.apps.accounts.models import UserPreference
from trialdesk.apps.analysis import services
from trialdesk.apps.analysis.models import AnalysisRun
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import verify_ledger
from trialdesk.apps.snapshots.snapshot import take_snapshot
from trialdesk.cli.worker import RECOVERIES

pytestmark = pytest.mark.django_db

INTERRUPTED_TWICE = (
    "the run was interrupted 2 times (the background worker stopped while it ran); no results were stored. "
    "Start the run again, or run the analysis with `trialdesk analyse`."
)


@pytest.fixture(autouse=True)
def _environment(personal_data_key, data_dir, settings):
    settings.TRIALDESK_JOB_STALE_SECONDS = 60


@pytest.fixture
def ctx():
    context = install()
    allocation_list(context, per_stratum=4)
    for _ in range(4):
        randomised(context, "BAL")
    take_snapshot(context, label="interim", blinded=False)
    return context


def page(run: AnalysisRun, url: str = "") -> str:
    """The run's page (or ``url``) as the statistician sees it."""
    statistician = get_user_model().objects.filter(username="stan").first()
    statistician = statistician or user("stan", "statistician", unblinded=True)
    UserPreference.objects.update_or_create(user=statistician, defaults={"language": "en"})
    client = Client()
    client.force_login(statistician)
    return client.get(url or f"/analysis/runs/{run.pk}/").content.decode()


def queued(ctx) -> AnalysisRun:
    return services.enqueue(services.create_run(ctx))


def stopped_while_running(run: AnalysisRun, attempts: int, silent_for: dt.timedelta) -> None:
    """What a worker leaves when it dies inside a run: the run and its task row running, part of the
    progress written, its last heartbeat ``silent_for`` ago, no results (they commit only with "done")."""
    DBTaskResult.objects.filter(pk=run.task_id).update(status=TaskResultStatus.RUNNING)
    AnalysisRun.objects.filter(pk=run.pk).update(
        status="running", attempts=attempts, progress=0.4, message="secondary outcomes",
        started_at=clock.now() - silent_for, heartbeat_at=clock.now() - silent_for,
    )  # fmt: skip


def done_entries(run: AnalysisRun) -> list[dict]:
    entries = LedgerEntry.objects.filter(entity="analysis-run", entity_id=str(run.pk), action="update")
    return [json.loads(value) for value in entries.values_list("new_value", flat=True)]


def test_the_worker_recovers_analysis_runs():
    assert "trialdesk.apps.analysis.services.recover_interrupted" in RECOVERIES


def test_a_silent_run_is_queued_again_then_failed_and_a_beating_one_left_alone(ctx):
    silent, beating = queued(ctx), queued(ctx)
    stopped_while_running(silent, 1, dt.timedelta(seconds=61))
    stopped_while_running(beating, 1, dt.timedelta(seconds=59))  # within the time a live worker may be quiet
    before = AnalysisRun.objects.get(pk=beating.pk)
    assert services.recover_interrupted() == [silent.pk]

    beating.refresh_from_db()
    assert (beating.status, beating.attempts, beating.interruptions) == ("running", 1, 0)
    assert beating.progress == 0.4
    assert beating.heartbeat_at == before.heartbeat_at
    assert DBTaskResult.objects.get(pk=beating.task_id).status == TaskResultStatus.RUNNING

    silent.refresh_from_db()
    assert (silent.status, silent.attempts, silent.interruptions) == ("queued", 1, 1)
    assert (silent.progress, silent.message, silent.heartbeat_at, silent.error) == (0.0, "", None, "")
    assert DBTaskResult.objects.get(pk=silent.task_id).status == TaskResultStatus.READY
    html = page(silent)
    assert '<dd id="status">queued</dd>' in html
    assert '<dd id="interrupted">interrupted (the worker stopped): queued to run again</dd>' in html
    assert 'hx-trigger="every 2s"' in html  # still polled: the run will go on
    assert "queued (interrupted (the worker stopped): queued to run again)" in page(silent, "/analysis/")
    assert services.recover_interrupted() == []  # queued now: nothing to recover

    # Its second attempt is stopped too: failed, with its task, and said so in the ledger.
    stopped_while_running(silent, 2, dt.timedelta(seconds=61))
    ledger = LedgerEntry.objects.count()
    assert services.recover_interrupted() == [silent.pk]
    silent.refresh_from_db()
    assert (silent.status, silent.attempts, silent.interruptions) == ("failed", 2, 2)
    assert silent.error == INTERRUPTED_TWICE and silent.results is None and silent.results_sha256 == ""
    assert silent.finished_at is not None
    assert DBTaskResult.objects.get(pk=silent.task_id).status == TaskResultStatus.FAILED
    assert LedgerEntry.objects.count() == ledger + 1
    assert done_entries(silent) == [{"status": "failed", "results_sha256": "", "error": INTERRUPTED_TWICE}]
    assert verify_ledger().ok
    html = page(silent)
    assert '<dd id="status">failed</dd>' in html
    # The page renders the message from its own template, in the reader's language: the same words.
    assert f'<dd class="error" role="alert">{INTERRUPTED_TWICE}</dd>' in html
    assert 'id="interrupted"' not in html and '<dd id="attempts">2</dd>' in html
    assert "hx-trigger" not in html
    # A late duplicate of its task changes nothing.
    assert services.execute(silent.pk).status == "failed"
    silent.refresh_from_db()
    assert (silent.status, silent.attempts, silent.results) == ("failed", 2, None)


def test_a_requeued_run_runs_whole_with_the_results_of_an_uninterrupted_run(ctx):
    uninterrupted = services.run_now(ctx)
    assert uninterrupted.status == "done" and uninterrupted.results_sha256
    run = queued(ctx)
    stopped_while_running(run, 1, dt.timedelta(minutes=5))
    assert services.recover_interrupted() == [run.pk]
    finished = services.execute(run.pk)
    assert (finished.status, finished.attempts, finished.interruptions) == ("done", 2, 1)
    assert finished.results_sha256 == uninterrupted.results_sha256
    assert finished.results == uninterrupted.results
    assert done_entries(finished) == [
        {"status": "done", "results_sha256": finished.results_sha256, "error": ""}
    ]
    html = page(finished)
    assert '<dd id="interrupted">interrupted (the worker stopped): run again from the start</dd>' in html
    assert '<dd id="attempts">2</dd>' in html


def test_an_attempt_queued_again_while_it_ran_stores_nothing(ctx, monkeypatch):
    """A worker taken for dead (silent too long) that was only slow: its run was queued again meanwhile,
    so when it ends its results, "done" and ledger entry are not written; the next attempt's are."""
    run = queued(ctx)
    original = services.run_plan

    def plan_while_the_run_is_recovered(*args, **kwargs):
        kwargs["progress"](0.3, "taken for dead here")
        assert services.recover_interrupted(clock.now() + dt.timedelta(minutes=5)) == [run.pk]
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "run_plan", plan_while_the_run_is_recovered)
    ledger = LedgerEntry.objects.count()
    late = services.execute(run.pk)
    assert (late.status, late.attempts, late.interruptions, late.results) == ("queued", 1, 1, None)
    assert late.progress == 0.0 and late.results_sha256 == "" and done_entries(run) == []
    assert LedgerEntry.objects.count() == ledger

    monkeypatch.setattr(services, "run_plan", original)
    finished = services.execute(run.pk)
    assert (finished.status, finished.attempts) == ("done", 2)
    assert [entry["status"] for entry in done_entries(run)] == ["done"]


def test_a_run_that_failed_on_its_own_after_an_interruption_shows_its_error(ctx):
    run = queued(ctx)
    AnalysisRun.objects.filter(pk=run.pk).update(status="failed", attempts=2, interruptions=1,
                                                 error="LinAlgError: singular matrix")  # fmt: skip
    html = page(AnalysisRun.objects.get(pk=run.pk))
    assert '<dd class="error" role="alert">LinAlgError: singular matrix</dd>' in html
    assert '<dd id="interrupted">interrupted (the worker stopped): run again from the start</dd>' in html


@pytest.mark.django_db(transaction=True)
def test_a_slow_run_beats_its_heartbeat_and_is_not_taken_for_dead(ctx, settings, monkeypatch):
    """The plan's own progress writes stop for 2.5 s (a long model fit); the heartbeat thread keeps the run
    alive through it, so a recovery then finds nothing silent for 1 s."""
    settings.TRIALDESK_JOB_STALE_SECONDS = 1  # a beat every 0.5 s
    run = queued(ctx)
    original = services.run_plan
    recovered: list[list[int]] = []

    def slow_plan(*args, **kwargs):
        kwargs["progress"](0.1, "a long fit")
        time.sleep(2.5)
        recovered.append(services.recover_interrupted())
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "run_plan", slow_plan)
    finished = services.execute(run.pk)
    assert recovered == [[]]
    assert (finished.status, finished.attempts, finished.interruptions) == ("done", 1, 0)
    assert not [t for t in threading.enumerate() if t.name.endswith("-heartbeat")]  # ended with the run
