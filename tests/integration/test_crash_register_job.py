"""Killing the background worker in the middle of a register import job: nothing partial is stored, the
ledger verifies, and the next worker runs the job again from its queued state (first interruption) or fails
it with a clear message (second); the uploaded file is removed when the job ends.

A real ``trialdesk worker`` process (tests/crash_job_support.py) imports a 4,000-row extract of 40
participants and stops inside the import's transaction once every event and its ledger entry is written;
the test kills it there with SIGKILL and starts another worker, which finds the job silent for longer
than TRIALDESK_JOB_STALE_SECONDS (2 s here). Runs on the suite's kind of database (SQLite file or
PostgreSQL; CI runs both).
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from crash_job_support import SCRIPT, job_state
from crash_support import EXTRACT_ROWS as ROWS
from crash_support import Worker, audit_verify, kill_leftovers, run, seeded_database, stored, until_ended


@pytest.fixture
def database(tmp_path, tmp_path_factory):
    base = tmp_path_factory.getbasetemp() / "crash-seed"
    with seeded_database(base, tmp_path, "job") as env:
        env["TRIALDESK_JOB_STALE_SECONDS"] = "2"
        yield env, base / "extract.csv"
        kill_leftovers()


def _kept(env: dict[str, str]) -> list[str]:
    folder = Path(env["TRIALDESK_DATA_DIR"]) / "register-uploads"
    return sorted(path.name for path in folder.iterdir())


def _killed_inside_the_import(env: dict[str, str]) -> None:
    worker = Worker(env, "worker", "--hook", script=SCRIPT)
    # Inside the transaction every event is written: the kill lands on a fully written, uncommitted import.
    assert worker.wait_for("ready") == f"ready {ROWS}"
    assert worker.kill() == -signal.SIGKILL


def _nothing_partial(env: dict[str, str], ledger_before: int) -> None:
    after = stored(env)
    assert (after["register_events"], after["register_imports"]) == (0, 0)
    assert (after["ledger_register_events"], after["ledger_register_imports"]) == (0, 0)
    verdict = audit_verify(env)
    assert verdict["exit"] == 0 and verdict["ok"] is True
    assert verdict["checked"] == ledger_before


def test_a_job_killed_inside_its_import_runs_again_and_imports_whole(database):
    env, extract = database
    assert run(env, "queue", "--extract", str(extract), script=SCRIPT).strip() == "1"
    ledger_before = stored(env)["ledger_entries"]  # with the job's "create" entry
    _killed_inside_the_import(env)
    _nothing_partial(env, ledger_before)
    state = job_state(env)
    assert (state["status"], state["attempts"], state["tasks"]) == ("running", 1, ["RUNNING"])
    assert _kept(env) == [state["upload"]]  # kept for the run to come

    worker = Worker(env, "worker", script=SCRIPT)
    worker.wait_for("started")
    state = until_ended(lambda: job_state(env))
    worker.kill()
    assert (state["status"], state["attempts"], state["error"]) == ("done", 2, "")
    assert state["tasks"] == ["SUCCESSFUL"] and state["upload"] == "" and _kept(env) == []
    whole = stored(env)
    assert (whole["register_events"], whole["ledger_register_events"]) == (ROWS, ROWS)
    assert (whole["register_imports"], whole["ledger_register_imports"]) == (1, 1)
    verdict = audit_verify(env)
    assert verdict["exit"] == 0
    assert verdict["checked"] == ledger_before + ROWS + 2  # the events, the import, the job's end


def test_a_job_killed_twice_fails_with_a_clear_message_and_its_file_removed(database):
    env, extract = database
    run(env, "queue", "--extract", str(extract), script=SCRIPT)
    ledger_before = stored(env)["ledger_entries"]
    _killed_inside_the_import(env)
    _killed_inside_the_import(env)  # the second worker runs it again and is killed at the same point
    _nothing_partial(env, ledger_before)

    worker = Worker(env, "worker", script=SCRIPT)
    worker.wait_for("started")
    state = until_ended(lambda: job_state(env))
    worker.kill()
    assert (state["status"], state["attempts"]) == ("failed", 2)
    assert state["error"].startswith(
        "the import was interrupted 2 times (the background worker stopped while it ran); nothing was stored."
    )
    assert state["tasks"] == ["FAILED"] and state["upload"] == "" and _kept(env) == []
    _nothing_partial(env, ledger_before + 1)  # only the job's "failed" entry
