"""``trialdesk worker``: run queued background tasks (analysis runs, register imports) from the database
queue, and recover the ones a stopped worker left running (``trialdesk.apps.restarts``)."""

from __future__ import annotations

import logging
import threading
import time

import click

log = logging.getLogger("trialdesk.worker")

#: Run as the worker starts and then regularly beside the queue: each finds the jobs a stopped worker left
#: running (django-tasks would leave them so for ever) and queues them again or fails them.
RECOVERIES = (
    "trialdesk.apps.registers.jobs.recover_interrupted",
    "trialdesk.apps.analysis.services.recover_interrupted",
)
#: How often; a job counts as stopped only once silent for TRIALDESK_JOB_STALE_SECONDS anyway.
RECOVER_EVERY_S = 5.0


def recover() -> None:
    from django.db import connection
    from django.utils.module_loading import import_string

    try:
        for path in RECOVERIES:  # each on its own: one kind's failure does not hold up the others
            try:
                import_string(path)()
            except Exception:  # a busy or unreachable database: the next round tries again
                log.exception("recovering interrupted jobs failed (%s)", path)
    finally:
        connection.close()


def _recovering() -> None:
    def loop() -> None:
        while True:
            time.sleep(RECOVER_EVERY_S)
            recover()

    threading.Thread(target=loop, name="trialdesk-recovery", daemon=True).start()


@click.command()
@click.option("--batch", is_flag=True, help="exit when the queue is empty instead of waiting for more")
@click.option("--interval", type=float, default=1.0, show_default=True, help="seconds between queue polls")
def worker(batch: bool, interval: float) -> None:
    """Run queued tasks (django-tasks' database backend): queued work survives restarts, and a job whose
    worker stopped while it ran is run again or failed (TRIALDESK_JOB_STALE_SECONDS)."""
    from trialdesk.web.bootstrap import setup

    setup()
    from django.core.management import call_command

    recover()
    if not batch:
        _recovering()
    args = ["--interval", str(interval)] + (["--batch"] if batch else [])
    call_command("db_worker", *args)
