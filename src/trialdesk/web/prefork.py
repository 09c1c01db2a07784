"""Several server processes (gunicorn, threaded workers): Python runs one thread at a time per process, so a
single process uses at most one core however many threads it has (docs/performance.md)."""

from __future__ import annotations

import ctypes
import signal
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

#: prctl(2) option: the signal a process receives when its parent dies.
_PR_SET_PDEATHSIG = 1


def _die_with_the_master(_server: Any, _worker: Any) -> None:
    # A killed master must not leave workers finishing requests on their own: on Linux the kernel sends
    # them SIGKILL too, so "the server was killed" means every process of it (the crash tests rely on it).
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class _Prefork(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self):
        from trialdesk.web.wsgi import application

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
