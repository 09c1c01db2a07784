"""Register imports as background jobs: the upload is checked at the field and nothing kept when it is
refused; an accepted one is kept owner-only until its job ends; the job's page (to the key holder who
started it) shows the progress, polled by htmx or reloaded without JavaScript; the worker runs it; a job
whose worker stopped is queued again once, then failed. Killing a real worker is in
tests/integration/test_crash_register_job.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from enrolment_support import new_cpr, user
from registers_support import csv_bytes, keeper, randomised, row_counts
from trialdesk import clock
from trialdesk.apps.accounts.models import UserPreference
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import Context, verify_ledger
from trialdesk.apps.participants.services import read_personal_data
from trialdesk.apps.registers import jobs, uploads
from trialdesk.apps.registers.models import RegisterEvent, RegisterImport, RegisterImportJob
from trialdesk.cli import main
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key", "data_dir")]


@pytest.fixture
def cprs():
    from enrolment_support import install

    ctx = install()
    people = [randomised(ctx, dt.date(2011, 3, 10)) for _ in range(2)]
    return [read_personal_data(p, ctx).cpr for p in people]


def client_for(who, language: str = "en") -> Client:
    UserPreference.objects.update_or_create(user=who, defaults={"language": language})
    client = Client()
    client.force_login(who)
    return client


def post(client, data: bytes, name: str = "extract.csv", **fields):
    return client.post("/registers/", {"extract": SimpleUploadedFile(name, data), **fields})


def kept_files() -> list:
    folder = uploads.directory()
    return sorted(folder.iterdir())


def good(cprs) -> bytes:
    return csv_bytes([(cprs[0], "admission", "2011-04-01", "2011-04-10"),
                      (cprs[1], "er_visit", "2011-05-02", "")])


HEADER_ONLY_BAD = b"cpr;event;start\n010180-0001;er_visit;2011-05-02\n"


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("extract.pdf", b"%PDF-1.4", "choose a CSV (.csv) or Excel workbook (.xlsx); .pdf files cannot be"),
        ("extract.xlsx", b"cpr,event,start_date,end_date\n", "this .xlsx file is not an Excel workbook"),
        ("extract.csv", HEADER_ONLY_BAD, "row 1 (header): missing column(s) start_date, end_date"),
        ("extract.csv", b"  \n", "extract.csv is empty: expected a header row with cpr, event"),
        ("extract.csv", b"cpr,event,start_date,end_date\n" + b"x" * (20 * 2**20),
         "the file is 20.0 MB; an extract may be at most 20 MB"),
    ],
    ids=["not-csv-or-xlsx", "not-a-workbook", "header-without-a-column", "empty", "too-large"],
)  # fmt: skip
def test_an_upload_is_checked_at_the_field_and_nothing_is_kept(cprs, name, data, expected):
    client = client_for(keeper())
    ledger = LedgerEntry.objects.count()
    page = post(client, data, name)
    html = page.content.decode()
    assert page.status_code == 400
    assert f'<p class="error" id="id_extract-error" role="alert">{expected}' in html
    assert 'aria-invalid="true" aria-describedby="id_extract-error"' in html
    assert not RegisterImportJob.objects.exists()
    assert not DBTaskResult.objects.exists()
    assert LedgerEntry.objects.count() == ledger
    assert kept_files() == []


def test_a_job_keeps_its_file_owner_only_until_it_ends_and_shows_its_progress(cprs):
    client = client_for(keeper())
    data = good(cprs)
    answer = post(client, data, f"extract-{cprs[0]}.csv")
    job = RegisterImportJob.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/registers/jobs/{job.pk}/"
    assert (job.status, job.step, job.file_name) == ("queued", "queued", f"extract-{cprs[0][:6]}-****.csv")
    task = DBTaskResult.objects.get(pk=job.task_id)
    assert task.status == TaskResultStatus.READY and task.args_kwargs["args"] == [job.pk]
    # The bytes wait in an owner-only directory of the data directory, under a random name.
    [kept] = kept_files()
    assert kept.read_bytes() == data and kept.name == job.upload and cprs[0] not in kept.name
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    assert row_counts()["events"] == 0

    page = client.get(answer["Location"]).content.decode()
    assert '<dd id="status">queued</dd>' in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert f'hx-get="/registers/jobs/{job.pk}/" hx-trigger="every 2s"' in page
    assert cprs[0] not in page and cprs[0].replace("-", "") not in page
    region = client.get(answer["Location"], HTTP_HX_REQUEST="true")
    assert region.content.decode().lstrip().startswith('<div id="job-progress"')
    assert "<html" not in region.content.decode()
    assert "HX-Request" in region["Vary"]

    assert jobs.run(job.pk) == "done"
    job.refresh_from_db()
    assert (job.status, job.progress, job.attempts, job.rows_read) == ("done", 1.0, 1, 2)
    assert job.summary["events_created"] == 2 and job.register_import == RegisterImport.objects.get()
    assert kept_files() == [] and job.upload == ""
    done = client.get(answer["Location"]).content.decode()
    assert '<dd id="status">done</dd>' in done and '<dd id="events-created">2</dd>' in done
    assert "hx-trigger" not in done and "http-equiv" not in done
    assert f'href="/registers/{job.register_import.pk}/"' in done
    final = client.get(answer["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'id="live-status" hx-swap-oob="innerHTML">Register import job' in final
    entries = LedgerEntry.objects.filter(entity="register-import-job")
    trail = list(entries.values_list("channel", "action", "new_value"))
    assert [(c, a) for c, a, _ in trail] == [("web", "create"), ("system", "update")]
    assert json.loads(trail[1][2]) == {"status": "done", "attempts": 1,
                                       "register_import": job.register_import.pk}
    assert RegisterEvent.objects.count() == 2 and verify_ledger().ok


def test_a_job_page_is_for_the_key_holder_who_started_it(cprs):
    post(client_for(keeper()), good(cprs))
    url = f"/registers/jobs/{RegisterImportJob.objects.get().pk}/"
    other = client_for(keeper("other-keeper"))
    assert other.get(url).status_code == 404
    assert client_for(user("dm", "data_manager")).get(url).status_code == 403
    assert client_for(user("anna", "assessor", "BAL")).get(url).status_code == 403
    assert Client().get(url)["Location"].startswith("/login/")
    listing = other.get("/registers/").content.decode()
    assert "/registers/jobs/" not in listing


def test_a_refused_import_fails_its_job_in_the_uploaders_language(cprs):
    stranger = new_cpr()
    danish = client_for(keeper(), "da")
    rows = [(cprs[0], "er_visit", "2011-05-02", ""), (stranger, "er_visit", "2011-05-02", "")]
    answer = post(danish, csv_bytes(rows))
    job = RegisterImportJob.objects.get()
    assert job.language == "da"
    before = row_counts()
    assert jobs.run(job.pk) == "failed"
    page = danish.get(answer["Location"]).content.decode()
    assert '<dd id="status">mislykket</dd>' in page
    assert '<ul class="errorlist"><li>udtrækket blev ikke importeret: 1 række med et CPR-nummer' in page
    assert f"række 3: {stranger[:6]}-****" in page and stranger not in page
    assert row_counts() == before and kept_files() == []
    # The ledger keeps the facts, never the uploader's message.
    last = LedgerEntry.objects.filter(entity="register-import-job").last()
    assert json.loads(last.new_value) == {"status": "failed", "attempts": 1, "register_import": None}


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_queued_jobs(cprs):
    client = client_for(keeper())
    post(client, good(cprs))
    assert main(["worker", "--batch", "--interval", "0"]) == 0
    job = RegisterImportJob.objects.get()
    assert job.status == "done" and RegisterEvent.objects.count() == 2
    assert DBTaskResult.objects.get(pk=job.task_id).status == TaskResultStatus.SUCCESSFUL
    assert kept_files() == []


def _stopped_while_running(job: RegisterImportJob, attempts: int, silent_for: dt.timedelta) -> None:
    """The state a worker leaves when it dies inside a job: the job and its task row running, its last
    heartbeat ``silent_for`` ago (the import's transaction died with it, so no data)."""
    DBTaskResult.objects.filter(pk=job.task_id).update(status=TaskResultStatus.RUNNING)
    RegisterImportJob.objects.filter(pk=job.pk).update(
        status="running", step="storing", attempts=attempts, heartbeat_at=clock.now() - silent_for
    )


def test_a_job_whose_worker_stopped_runs_again_then_fails(cprs, settings):
    settings.TRIALDESK_JOB_STALE_SECONDS = 60
    client = client_for(keeper())
    post(client, good(cprs))
    job = RegisterImportJob.objects.get()
    _stopped_while_running(job, 1, dt.timedelta(seconds=30))
    assert jobs.recover_interrupted() == []  # still within the time a live worker may stay silent
    _stopped_while_running(job, 1, dt.timedelta(seconds=61))
    assert jobs.recover_interrupted() == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.step) == ("queued", "requeued")
    assert DBTaskResult.objects.get(pk=job.task_id).status == TaskResultStatus.READY
    assert "interrupted (the worker stopped): queued to run again" in client.get(
        f"/registers/jobs/{job.pk}/").content.decode()
    assert kept_files() != []
    # Stopped again on its second attempt: failed, and the file goes.
    _stopped_while_running(job, 2, dt.timedelta(seconds=61))
    assert jobs.recover_interrupted() == [job.pk]
    job.refresh_from_db()
    assert job.status == "failed" and job.error.startswith("the import was interrupted 2 times")
    assert DBTaskResult.objects.get(pk=job.task_id).status == TaskResultStatus.FAILED
    assert kept_files() == [] and row_counts()["events"] == 0
    assert jobs.run(job.pk) == "failed"  # a late duplicate of its task changes nothing


def test_a_requeued_job_imports_whole(cprs, settings):
    settings.TRIALDESK_JOB_STALE_SECONDS = 60
    post(client_for(keeper()), good(cprs))
    job = RegisterImportJob.objects.get()
    _stopped_while_running(job, 1, dt.timedelta(minutes=5))
    jobs.recover_interrupted()
    assert jobs.run(job.pk) == "done"
    job.refresh_from_db()
    assert job.attempts == 2 and job.summary["events_created"] == 2 and RegisterEvent.objects.count() == 2


def test_recovery_removes_only_files_no_job_needs(cprs):
    post(client_for(keeper()), good(cprs))
    waiting = RegisterImportJob.objects.get().upload
    orphan, young = uploads.keep(b"left by a crash"), uploads.keep(b"an upload whose job is being saved")
    old = clock.now().timestamp() - uploads.SWEEP_GRACE_S - 60
    os.utime(uploads.directory() / orphan, (old, old))
    os.utime(uploads.directory() / waiting, (old, old))
    jobs.recover_interrupted()
    assert sorted(p.name for p in kept_files()) == sorted([waiting, young])


def test_only_a_key_holder_can_start_a_job(cprs):
    with pytest.raises(UserError, match="personal-data key holder permission"):
        jobs.start(good(cprs), "x.csv", Context(actor="dm", channel="web"), user=user("dm", "data_manager"),
                   accept_unmatched=False)
    assert kept_files() == [] and not RegisterImportJob.objects.exists()
