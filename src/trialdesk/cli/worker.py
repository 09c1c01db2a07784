"""``trialdesk worker``: run queued background tasks (analysis runs) from the database queue."""

from __future__ import annotations

import click


@click.command()
@click.option("--batch", is_flag=True, help="exit when the queue is empty instead of waiting for more")
@click.option("--interval", type=float, default=1.0, show_default=True, help="seconds between queue polls")
def worker(batch: bool, interval: float) -> None:
    """Run queued tasks (django-tasks' database backend): queued work survives restarts."""
    from trialdesk.web.bootstrap import setup

    setup()
    from django.core.management import call_command

    args = ["--interval", str(interval)] + (["--batch"] if batch else [])
    call_command("db_worker", *args)
