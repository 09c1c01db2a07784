"""``trialdesk serve``: the web app on the configured database, with its background-task worker."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="port to listen on")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64),
              help="threads serving requests in each worker process")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 32),
              help="server processes; more than one uses several cores (PostgreSQL, or SQLite's one writer)")
@click.option("--task-worker/--no-task-worker", default=True, show_default=True,
              help="also run `trialdesk worker` for queued analysis runs (off when one runs elsewhere)")
def serve(host: str, port: int, threads: int, workers: int, task_worker: bool) -> None:
    """Serve the web app (migrating the database first)."""
    from trialdesk.web.bootstrap import setup

    setup(migrate=True)
    from trialdesk.web.processes import start_task_worker

    tasks = start_task_worker() if task_worker else None
    click.echo(f"trialdesk serving on http://{host}:{port}/  (Ctrl+C to stop)")
    try:
        if workers == 1:
            # One process: waitress, pure Python and portable.
            from waitress import serve as waitress_serve

            from trialdesk.web.heap import settle
            from trialdesk.web.wsgi import application

            settle()
            waitress_serve(application, host=host, port=port, threads=threads, ident="trialdesk")
        else:
            from trialdesk.web.prefork import serve_prefork

            serve_prefork(host=host, port=port, threads=threads, workers=workers)
    finally:
        if tasks is not None:
            tasks.terminate()
            tasks.wait(timeout=10)
