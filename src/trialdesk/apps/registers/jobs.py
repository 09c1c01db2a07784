"""Register imports as background jobs, the web's way to import: the only writer of RegisterImportJob.

The page checks the upload (type, size, header) and :func:`start` keeps its bytes (``uploads``), records a
queued job and puts it on django-tasks' database queue in one transaction. The worker runs :func:`run`,
which imports through ``services.import_register`` (all or nothing, idempotent) as the key holder who
uploaded the file, in the language they uploaded in; the job is marked done inside the import's own
transaction, so an import and its job's "done" commit together or not at all. The file is removed when
the job ends.

Restarts (``trialdesk.apps.restarts``, shared with analysis runs). A queued job waits in the database. A job
whose worker stops while it runs (killed, server restarted) is left "running" by django-tasks for ever, so
the running job beats a heartbeat and :func:`recover_interrupted` (``trialdesk worker`` calls it as it
starts and then regularly) finds the silent ones: the first interruption queues the job to run again from
the start; a second fails it with a message saying nothing was stored. The import's transaction died with
the worker, so a re-run starts from nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps import restarts
from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.trial.services import active_hash
from trialdesk.errors import UserError

from . import uploads
from .models import RegisterImport, RegisterImportJob
from .services import SUMMARY, import_register, masked_file_name

log = logging.getLogger("trialdesk.registers")
Job = RegisterImportJob
#: Share of the job done when each step starts. Measured on a 10,000-row extract through the worker: reading
#: and checking 0.13 s, matching 0.08-0.17 s, storing in one transaction 0.9 s (SQLite) to 1.7 s (PostgreSQL).
STEP_PROGRESS = {"reading": 0.02, "matching": 0.12, "storing": 0.2}


def start(data: bytes, file_name: str, context: Context, *, user: Any, accept_unmatched: bool) -> Job:
    """Keep the upload and queue its import; nothing is read from it here beyond what the form checked."""
    from .tasks import import_extract

    if not allowed(user, "import-registers"):
        raise UserError(_("importing register extracts needs the personal-data key holder permission"))
    token = uploads.keep(data)
    try:
        with transaction.atomic():
            language = translation.get_language() or settings.LANGUAGE_CODE
            job = Job.objects.create(
                user=user, created_at=clock.now(), language=language,
                file_name=masked_file_name(file_name), file_sha256=hashlib.sha256(data).hexdigest(),
                file_size=len(data), upload=token, accept_unmatched=accept_unmatched,
            )  # fmt: skip
            job.task_id = str(import_extract.enqueue(job.pk).id)
            job.save(update_fields=["task_id"])
            append(context, action="create", entity="register-import-job", entity_id=job.pk, new={
                "file_name": job.file_name, "file_sha256": job.file_sha256, "bytes": job.file_size,
                "accept_unmatched": accept_unmatched,
            })  # fmt: skip
    except BaseException:
        uploads.remove(token)
        raise
    return job


class _SupersededError(Exception):
    """This run's job was queued again meanwhile: its import must not commit."""


def run(job_id: int) -> str:
    """The task's body; its outcome is the job's status. It raises nothing: a task's exception and traceback
    would be stored in the queue's own table, outside the rules for what may be kept."""
    job = Job.objects.select_related("user").get(pk=job_id)
    attempt = restarts.claim(job, step="reading", progress=STEP_PROGRESS["reading"], error="")
    if attempt is None:  # finished, or running in another worker
        return job.status
    with (translation.override(job.language or settings.LANGUAGE_CODE),
          restarts.heartbeat(restarts.current(job, attempt), f"register-job-{job.pk}")):  # fmt: skip
        try:
            data = uploads.read(job.upload)
        except (OSError, ValueError):
            return _fail(job, attempt, _("the uploaded file is no longer there: upload the extract again"))
        context = Context(actor=job.user.get_username(), channel="import", protocol_hash=active_hash())
        try:
            import_register(
                data, job.file_name, context, user=job.user, accept_unmatched=job.accept_unmatched,
                progress=_reporter(job, attempt), before_commit=_done(job, attempt),
            )  # fmt: skip
        except _SupersededError:
            return Job.QUEUED
        except UserError as refused:
            return _fail(job, attempt, str(refused))
        except Exception as problem:  # a bug or the database: logged (CPR-like numbers masked), job failed
            log.exception("register import job %s stopped", job.pk)
            return _fail(job, attempt, _(
                "the import stopped on an unexpected error (%(kind)s); nothing was stored"
            ) % {"kind": type(problem).__name__})
    uploads.remove(job.upload)
    return Job.DONE


def _reporter(job: Job, attempt: int) -> Callable[[str, int], None]:
    def report(step: str, count: int) -> None:
        counts = {"matching": "rows_read", "storing": "events_to_store"}
        restarts.current(job, attempt).update(
            step=step, progress=STEP_PROGRESS[step], heartbeat_at=clock.now(), **{counts[step]: count}
        )

    return report


def _done(job: Job, attempt: int) -> Callable[[RegisterImport], None]:
    """Inside the import's transaction: the job is done with it, or the import rolls back."""

    def finish(result: RegisterImport) -> None:
        summary = {key: result.report[key] for key in SUMMARY}
        marked = restarts.current(job, attempt).update(
            status=Job.DONE, step="done", progress=1.0, finished_at=clock.now(), register_import=result,
            summary=summary, upload="",
        )  # fmt: skip
        if not marked:
            raise _SupersededError
        _record(job, Job.DONE, attempt, result.pk)

    return finish


def _fail(job: Job, attempt: int, error: str) -> str:
    with transaction.atomic():
        failed = restarts.current(job, attempt).update(
            status=Job.FAILED, step="failed", error=error, finished_at=clock.now(), upload=""
        )
        if not failed:  # queued again meanwhile: the next run needs the file
            return Job.QUEUED
        _record(job, Job.FAILED, attempt)
    uploads.remove(job.upload)
    return Job.FAILED


def _record(job: Job, status: str, attempts: int, register_import: int | None = None) -> None:
    # The job's error is in its uploader's language and may list masked numbers: the ledger keeps the facts.
    append(Context(actor=job.user.get_username(), channel="system"), action="update",
           entity="register-import-job", entity_id=job.pk,
           new={"status": status, "attempts": attempts, "register_import": register_import})  # fmt: skip


def recover_interrupted(now: dt.datetime | None = None) -> list[int]:
    """Queue again, or fail, the jobs whose worker has been silent longer than ``restarts.stale_after()``;
    remove kept files no job needs. The ids of the jobs acted on."""
    acted = restarts.recover(Job.objects.select_related("user"), RESTART, now)
    uploads.sweep(Job.objects.filter(status__in=(Job.QUEUED, Job.RUNNING)).values_list("upload", flat=True))
    return acted


def _interrupted(job: Job) -> dict[str, Any]:
    with translation.override(job.language or settings.LANGUAGE_CODE):
        error = _(
            "the import was interrupted %(count)s times (the background worker stopped while it ran); "
            "nothing was stored. Upload the extract again, or import it with `trialdesk register import`."
        ) % {"count": job.attempts}
    return {"step": "failed", "error": error, "upload": ""}


RESTART = restarts.Restart(
    task="trialdesk.apps.registers.tasks.import_extract",
    requeued=lambda job: {"step": "requeued", "progress": 0.0},
    failed=_interrupted,
    record_failed=lambda job: _record(job, Job.FAILED, job.attempts),
    ended=lambda job: uploads.remove(job.upload),
)
