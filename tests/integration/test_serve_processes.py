"""``trialdesk serve`` runs the background-task worker beside the web app, and several server processes
with ``--workers``; killing the server (SIGKILL) takes every one of its processes with it.

Each test serves its own SQLite database in a temporary data directory, whatever database the suite uses:
what is tested is the processes, not the database.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from cryptography.fernet import Fernet

from crash_support import free_port

DEADLINE_S = 60.0


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    environment = {
        **os.environ,
        "TRIALDESK_DATA_DIR": str(tmp_path),
        "TRIALDESK_PERSONAL_DATA_KEY": Fernet.generate_key().decode(),
        "TRIALDESK_LOG_LEVEL": "ERROR",
    }
    environment.pop("DATABASE_URL", None)
    return environment


def _serve(env: dict[str, str], *options: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = Path(env["TRIALDESK_DATA_DIR"]) / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "trialdesk", "serve", "--port", str(port), *options],
            env=env, stdout=out, stderr=out,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(f"{url}/health/", timeout=2) as answer:  # noqa: S310 - local http
                if answer.status == 200:
                    return server, url
        except OSError:
            time.sleep(0.2)  # polling the readiness endpoint, within the deadline
    server.kill()
    raise AssertionError("the server did not answer /health/")


def _children(server: subprocess.Popen) -> list[psutil.Process]:
    return psutil.Process(server.pid).children(recursive=True)


def _all_gone(processes: list[psutil.Process]) -> bool:
    _, alive = psutil.wait_procs(processes, timeout=10)
    return not alive


def _task_status(database: Path, task_id: str) -> str:
    with sqlite3.connect(database) as db:
        row = db.execute("SELECT status FROM django_tasks_database_dbtaskresult WHERE id = ?",
                         [task_id.replace("-", "")]).fetchone()  # fmt: skip
    return row[0] if row else ""


def test_serve_runs_queued_tasks_and_its_worker_dies_with_it(env, tmp_path):
    server, _url = _serve(env)
    try:
        workers = [p for p in _children(server) if "worker" in p.cmdline()]
        assert len(workers) == 1
        # A task for an analysis run that does not exist: the worker picks it up and records its failure.
        queued = subprocess.run(
            [sys.executable, "-c", "from trialdesk.web.bootstrap import setup; setup(); "
             "from trialdesk.apps.analysis.tasks import analyse_run; print(analyse_run.enqueue(999999).id)"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        deadline = time.monotonic() + DEADLINE_S
        while _task_status(tmp_path / "trialdesk.sqlite3", queued) in ("", "READY", "RUNNING"):
            assert time.monotonic() < deadline, "the queued task was not picked up"
            time.sleep(0.2)  # the worker polls the queue once a second
        assert _task_status(tmp_path / "trialdesk.sqlite3", queued) == "FAILED"
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    assert _all_gone(workers)


def test_several_server_processes_answer_and_die_with_the_master(env):
    server, url = _serve(env, "--workers", "2", "--no-task-worker")
    try:
        processes = _children(server)
        assert len(processes) == 2
        assert not any("worker" in p.cmdline() for p in processes)  # no task worker: only the two
        for _ in range(20):
            with urllib.request.urlopen(f"{url}/health/", timeout=5) as answer:  # noqa: S310 - local http
                assert answer.status == 200
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    assert _all_gone(processes)
