"""Background jobs that survive a restart of their worker: the claim, the heartbeat and the recovery shared
by register import jobs (``registers.jobs``) and analysis runs (``analysis.services``).

django-tasks' database queue keeps queued work across restarts, but a task whose worker stops while it runs
(killed, server restarted) stays "running" for ever. So a job is run as numbered attempts: :func:`claim`
turns a queued job into a running attempt, which beats a :func:`heartbeat` while it works and writes
nothing once it is no longer the job's current attempt. :func:`recover` (``trialdesk worker`` calls each
kind's recovery as it starts and then regularly) finds the jobs silent for longer than
TRIALDESK_JOB_STALE_SECONDS: a job started fewer than MAX_ATTEMPTS times is queued to run again from the
start, its task row made ready again in the same transaction; after that it is failed with its task, with
the message its kind gives (a job that kills its worker must not kill every worker after it).

A job's model has ``status`` (QUEUED, RUNNING, FAILED), ``attempts``, ``heartbeat_at``, ``finished_at`` and
``task_id``; what else "queued again" and "failed" set is the kind's own (:class:`Restart`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model, QuerySet
from django.utils.module_loading import import_string

from trialdesk import clock

log = logging.getLogger("trialdesk.restarts")
#: How many times a job is started before an interruption fails it.
MAX_ATTEMPTS = 2


def stale_after() -> dt.timedelta:
    return dt.timedelta(seconds=settings.TRIALDESK_JOB_STALE_SECONDS)


def claim(job: Any, **fields: Any) -> int | None:
    """Mark a queued job running as its next attempt (with ``fields``): the attempt's number, or None when
    the job is not queued (finished, or running in another worker)."""
    attempt = job.attempts + 1
    now = clock.now()
    claimed = (
        type(job)
        .objects.filter(pk=job.pk, status=job.QUEUED)
        .update(status=job.RUNNING, attempts=attempt, started_at=now, heartbeat_at=now, **fields)
    )
    return attempt if claimed else None


def current(job: Any, attempt: int) -> QuerySet:
    """The job while ``attempt`` is its running attempt: every write of that attempt goes through this, so
    a run that was queued again (or failed) meanwhile changes nothing."""
    return type(job).objects.filter(pk=job.pk, attempts=attempt, status=job.RUNNING)


@contextlib.contextmanager
def heartbeat(running: QuerySet, name: str) -> Iterator[None]:
    """Beat (``heartbeat_at``) on ``running`` while the block runs, from a thread with its own connection.
    On SQLite a beat waits while the job's own transaction holds the write lock (that is why a job counts
    as stopped only after minutes)."""
    stop = threading.Event()
    every = min(30.0, max(0.5, settings.TRIALDESK_JOB_STALE_SECONDS / 4))

    def beat() -> None:
        try:
            while not stop.wait(every):
                try:
                    running.update(heartbeat_at=clock.now())
                except Exception:  # a busy database: the next beat tries again
                    log.warning("%s: heartbeat not written", name)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"{name}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _nothing(job: Any) -> None:
    return None


@dataclass(frozen=True)
class Restart:
    """What one kind of job sets when a stopped worker's job is queued again or failed."""

    #: The django-tasks task that runs the job, called with the job's id (a dotted path).
    task: str
    #: Fields of a job queued again, besides its status (``step``, ``progress``, ...).
    requeued: Callable[[Any], dict[str, Any]]
    #: Fields of a job failed after MAX_ATTEMPTS interruptions, besides its status: its message.
    failed: Callable[[Any], dict[str, Any]]
    #: In the transaction that fails it (the ledger entry).
    record_failed: Callable[[Any], None] = _nothing
    #: Once failed (files it kept removed).
    ended: Callable[[Any], None] = _nothing


def recover(jobs: QuerySet, restart: Restart, now: dt.datetime | None = None) -> list[int]:
    """Queue again, or fail, the running ``jobs`` whose worker has been silent longer than
    ``stale_after()``; the ids of the jobs acted on. A job beating again meanwhile is left alone."""
    now = now or clock.now()
    model: Any = jobs.model
    acted = []
    for job in jobs.filter(status=model.RUNNING, heartbeat_at__lt=now - stale_after()):
        silent = model.objects.filter(pk=job.pk, status=model.RUNNING, attempts=job.attempts,
                                      heartbeat_at=job.heartbeat_at)  # fmt: skip
        if job.attempts < MAX_ATTEMPTS:
            with transaction.atomic():  # queued with its task ready again, or neither
                if silent.update(status=model.QUEUED, heartbeat_at=None, **restart.requeued(job)):
                    _queue_again(job, restart.task)
                    acted.append(job.pk)
            continue
        with transaction.atomic():
            if silent.update(status=model.FAILED, finished_at=now, **restart.failed(job)):
                restart.record_failed(job)
                _end_task(job.task_id, now)
                acted.append(job.pk)
        if acted and acted[-1] == job.pk:
            restart.ended(job)
    return acted


def _queue_again(job: Model, task: str) -> None:
    """Back to the queue: the interrupted task row is made ready again (django-tasks' "ready to be
    executed again"), or, if there is none, a new one is enqueued."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    task_id = getattr(job, "task_id", "")
    if task_id:
        interrupted = DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING)
        if interrupted.update(status=TaskResultStatus.READY, started_at=None):
            return
    type(job).objects.filter(pk=job.pk).update(task_id=str(import_string(task).enqueue(job.pk).id))


def _end_task(task_id: str, now: dt.datetime) -> None:
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    if task_id:
        DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED, finished_at=now
        )
