"""Several server processes (gunicorn, threaded workers): Python runs one thread at a time per process, so a
single process uses at most one core however many threads it has (docs/performance.md)."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from .processes import die_with_parent


def _die_with_the_master(_server: Any, _worker: Any) -> None:
    die_with_parent()


class _Prefork(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self):  # in each worker, after the fork
        from trialdesk.web.heap import settle
        from trialdesk.web.wsgi import application

        settle()
        return application


def serve_prefork(*, host: str, port: int, threads: int, workers: int) -> None:
    """Serve with ``workers`` processes of ``threads`` threads each (each process has its own DB pool)."""
    from django.db import connections

    # Connections opened by the migration must not be inherited by the forked workers.
    for connection in connections.all():
        connection.close()
        if hasattr(connection, "close_pool"):
            connection.close_pool()
    _Prefork({
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "post_fork": _die_with_the_master,
        "accesslog": None,  # requests are logged by trialdesk.web.logs, with personal data masked
        "errorlog": "-",
        "loglevel": "warning",
        "timeout": 120,
        "proc_name": "trialdesk",
    }).run()
