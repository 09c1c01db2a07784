"""``trialdesk serve``: the web app on the configured database."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="port to listen on")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64),
              help="worker threads serving requests")
def serve(host: str, port: int, threads: int) -> None:
    """Serve the web app (migrating the database first)."""
    from trialdesk.web.bootstrap import setup

    setup(migrate=True)
    from waitress import serve as waitress_serve

    from trialdesk.web.wsgi import application

    click.echo(f"trialdesk serving on http://{host}:{port}/  (Ctrl+C to stop)")
    waitress_serve(application, host=host, port=port, threads=threads, ident="trialdesk")
