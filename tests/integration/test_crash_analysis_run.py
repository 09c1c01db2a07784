"""Killing the background worker in the middle of an analysis run: nothing of the interrupted attempt is
kept, the ledger verifies, and the next worker runs it again from its queued state (first interruption) to
results identical to an uninterrupted run's, stored once; or fails it with a clear message (second).

A real ``trialdesk worker`` process (tests/crash_analysis_support.py) runs the plan on the 24-participant
demo trial and stops at a known point, signalled through a pipe: halfway through the plan, or inside the
transaction that stores the results once they, "done" and the ledger entry are written. The test kills it
there with SIGKILL and starts another worker, which finds the run silent for longer than
TRIALDESK_JOB_STALE_SECONDS (2 s here). Runs on the suite's kind of database (SQLite file or PostgreSQL).
"""

from __future__ import annotations

import signal

import pytest

from crash_analysis_support import SCRIPT, run_state, seeded_demo, uninterrupted
from crash_support import Worker, audit_verify, kill_leftovers, run, stored, until_ended


@pytest.fixture
def database(tmp_path, tmp_path_factory):
    base = tmp_path_factory.getbasetemp() / "crash-analysis-seed"
    with seeded_demo(base, tmp_path, "analysis") as env:
        env["TRIALDESK_JOB_STALE_SECONDS"] = "2"
        yield env
        kill_leftovers()


def _killed(env: dict[str, str], hook: str) -> str:
    worker = Worker(env, "worker", "--hook", hook, script=SCRIPT)
    signalled = worker.wait_for("ready")
    assert worker.kill() == -signal.SIGKILL
    return signalled


def _verified(env: dict[str, str]) -> int:
    verdict = audit_verify(env)
    assert verdict["exit"] == 0 and verdict["ok"] is True
    return verdict["checked"]


@pytest.mark.parametrize("hook", ["plan", "storing"])
def test_a_run_killed_in_its_worker_runs_again_to_the_uninterrupted_results_stored_once(database, hook):
    env = database
    reference = uninterrupted(env)
    assert reference["results_sha256"] and reference["results"]["consort"]["randomised"] == 24
    run_id = int(run(env, "queue", script=SCRIPT).strip())
    ledger_before = stored(env)["ledger_entries"]  # with the run's "create" entry

    signalled = _killed(env, hook).split()[1]
    state = run_state(env, run_id)
    assert (state["status"], state["attempts"], state["tasks"]) == ("running", 1, ["RUNNING"])
    assert (state["results"], state["results_sha256"], state["ledger_updates"]) == (None, "", [])
    if hook == "plan":  # halfway: the progress as the worker last stored it, committed
        assert 0.4 < float(signalled) == state["progress"] <= 0.5
    else:  # inside the storing transaction the run was "done": none of it committed
        assert (signalled, state["progress"]) == ("done", 1.0)
    assert stored(env)["ledger_entries"] == ledger_before and _verified(env) == ledger_before

    worker = Worker(env, "worker", script=SCRIPT)
    worker.wait_for("started")
    state = until_ended(lambda: run_state(env, run_id))
    worker.kill()
    assert (state["status"], state["attempts"], state["interruptions"], state["error"]) == ("done", 2, 1, "")
    assert state["tasks"] == ["SUCCESSFUL"]
    assert state["results_sha256"] == reference["results_sha256"]
    assert state["results"] == reference["results"]
    assert state["ledger_updates"] == [{"status": "done", "results_sha256": reference["results_sha256"],
                                        "error": ""}]  # fmt: skip
    assert _verified(env) == ledger_before + 1  # only the run's "done"


def test_a_run_killed_twice_fails_with_a_clear_message(database):
    env = database
    run_id = int(run(env, "queue", script=SCRIPT).strip())
    ledger_before = stored(env)["ledger_entries"]
    _killed(env, "plan")
    _killed(env, "plan")  # the second worker queues it again, runs it and is killed at the same point
    state = run_state(env, run_id)
    assert (state["status"], state["attempts"], state["interruptions"]) == ("running", 2, 1)

    worker = Worker(env, "worker", script=SCRIPT)
    worker.wait_for("started")
    state = until_ended(lambda: run_state(env, run_id))
    worker.kill()
    message = (
        "the run was interrupted 2 times (the background worker stopped while it ran); no results were "
        "stored. Start the run again, or run the analysis with `trialdesk analyse`."
    )
    assert (state["status"], state["attempts"], state["interruptions"]) == ("failed", 2, 2)
    assert (state["error"], state["results"], state["results_sha256"]) == (message, None, "")
    assert state["tasks"] == ["FAILED"]
    assert state["ledger_updates"] == [{"status": "failed", "results_sha256": "", "error": message}]
    assert _verified(env) == ledger_before + 1  # only the run's "failed"
