"""Processes for the crash test of a background analysis run (tests/integration/test_crash_analysis_run.py;
not a test file). Run as a script with the environment of :func:`seeded_demo`:

  queue
      queue a run of the analysis plan on the latest snapshot, as the statistician's page does
      (``services.enqueue(services.create_run(...))``); prints the run's id.
  worker --fd FD [--hook plan|storing]
      ``trialdesk worker`` itself. With --hook the run it executes stops and writes ``ready ...`` to FD, then
      waits there for the SIGKILL the test sends:
        plan     halfway through the plan, as it reports progress 0.5: ``ready <the progress stored>``;
        storing  inside the transaction that stores the results, once the results, "done" and its ledger
                 entry are written: ``ready <the run's status seen inside it>``.

The database is the 24-participant demo trial (``trialdesk demo``: locked, with its unblinded analysis
snapshot and the demo's own, uninterrupted, analysis run), made once per test session; each test works on a
copy of it and of its data directory (the snapshot files).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from crash_support import _admin, _env, _query, _server_url, _setup, _signal, _wait_for_the_kill

SCRIPT = Path(__file__).resolve()
PARTICIPANTS = 24
SEED_DEADLINE_S = 300.0
_seeded: dict[str, object] = {}


def queue() -> None:
    _setup()
    from trialdesk.apps.analysis import services
    from trialdesk.apps.ledger.services import Context

    run = services.enqueue(services.create_run(Context(actor="statistician", channel="web")))
    print(run.pk)


def stop_halfway_through_the_plan(fd: int) -> None:
    from trialdesk.apps.analysis import services
    from trialdesk.apps.analysis.models import AnalysisRun

    original = services.run_plan

    def plan(*args, progress, **kwargs):
        def report(fraction: float, message: str) -> None:
            progress(fraction, message)
            if fraction >= 0.5:
                [stored] = AnalysisRun.objects.filter(status="running").values_list("progress", flat=True)
                _signal(fd, f"ready {stored}")
                _wait_for_the_kill()

        return original(*args, progress=report, **kwargs)

    services.run_plan = plan


def stop_inside_the_storing_transaction(fd: int) -> None:
    from trialdesk.apps.analysis import services
    from trialdesk.apps.analysis.models import AnalysisRun

    original = services.append

    def append_then_stop(context, **change):
        written = original(context, **change)
        if change["entity"] == "analysis-run" and change["new"]["status"] == "done":
            _signal(fd, f"ready {AnalysisRun.objects.get(pk=change['entity_id']).status}")
            _wait_for_the_kill()
        return written

    services.append = append_then_stop


HOOKS = {"plan": stop_halfway_through_the_plan, "storing": stop_inside_the_storing_transaction}


def worker(fd: int, hook: str | None) -> None:
    _setup()
    from trialdesk.cli import main as trialdesk

    if hook:
        HOOKS[hook](fd)
    _signal(fd, "started")
    trialdesk(["worker", "--interval", "0.2"])


# --- the test side ---


def run_state(env: dict[str, str], run_id: int) -> dict:
    """The run, its task rows and its ledger entries, read with plain SQL."""
    [(status, attempts, interruptions, progress, error, sha, results, task_id)] = _query(env, f"""
        SELECT status, attempts, interruptions, progress, error, results_sha256, results, task_id
        FROM analysis_analysisrun WHERE id = {int(run_id)}""")  # fmt: skip
    tasks = [row[0] for row in _query(env, "SELECT status FROM django_tasks_database_dbtaskresult")]
    entries = _query(env, f"""SELECT new_value FROM ledger_ledgerentry
        WHERE entity = 'analysis-run' AND entity_id = '{int(run_id)}' AND action = 'update' ORDER BY seq""")
    return {"status": status, "attempts": attempts, "interruptions": interruptions, "progress": progress,
            "error": error, "results_sha256": sha, "results": _json(results), "task_id": task_id,
            "tasks": tasks, "ledger_updates": [json.loads(row[0]) for row in entries]}  # fmt: skip


def uninterrupted(env: dict[str, str]) -> dict:
    """The demo's own run of the plan on the same snapshot, run to the end in one process."""
    [(sha, results)] = _query(env, """SELECT results_sha256, results FROM analysis_analysisrun
        WHERE status = 'done' ORDER BY id LIMIT 1""")
    return {"results_sha256": sha, "results": _json(results)}


def _json(value):
    return json.loads(value) if isinstance(value, str | bytes) else value


def _seed_once(base: Path) -> None:
    """``trialdesk demo`` into a database of its own, once per test session."""
    if _seeded:
        return
    server = _server_url()
    data = base / "data"
    data.mkdir(parents=True, exist_ok=True)
    if server is None:
        url = f"sqlite:///{base / 'seed.sqlite3'}"
    else:
        name = f"trialdesk_crash_analysis_seed_{os.getpid()}"
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin(f'CREATE DATABASE "{name}"')
        atexit.register(_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        url, _seeded["template"] = f"{server}/{name}", name
    command = [sys.executable, "-m", "trialdesk", "demo", "--participants", str(PARTICIPANTS), "--no-pdf",
               "--out", str(base / "demo-out")]  # fmt: skip
    done = subprocess.run(command, env=_env(data, url), capture_output=True, text=True,
                          timeout=SEED_DEADLINE_S, check=False)  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(f"the demo failed ({done.returncode}):\n{done.stderr[-3000:]}")
    _seeded["base"] = base


@contextlib.contextmanager
def seeded_demo(base: Path, tmp_path: Path, label: str) -> Iterator[dict[str, str]]:
    """A worker environment on a fresh copy of the demo's database (SQLite file or PostgreSQL database, the
    suite's kind) and of its data directory."""
    _seed_once(base)
    data = tmp_path / "data"
    shutil.copytree(base / "data", data)
    server = _server_url()
    if server is None:
        for suffix in ("", "-wal", "-shm"):
            if (source := base / f"seed.sqlite3{suffix}").exists():
                shutil.copyfile(source, tmp_path / f"crash.sqlite3{suffix}")
        yield _env(data, f"sqlite:///{tmp_path / 'crash.sqlite3'}")
        return
    name = f"trialdesk_crash_{label}_{os.getpid()}"
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{_seeded["template"]}"')
    try:
        yield _env(data, f"{server}/{name}")
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("queue")
    p = commands.add_parser("worker")
    p.add_argument("--fd", type=int, required=True)
    p.add_argument("--hook", choices=sorted(HOOKS))
    args = parser.parse_args()
    if args.command == "queue":
        queue()
    else:
        worker(args.fd, args.hook)


if __name__ == "__main__":
    main()
