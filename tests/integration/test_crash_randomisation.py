"""Killing the process in the middle of a burst of randomisations leaves every allocation ledgered.

The worker (tests/crash_support.py) randomises 40 participants from 4 threads at once; the 15th
randomisation stops inside its transaction after its slot, allocation and status are written but before
its ledger entry, and the test kills the process with SIGKILL there. Then allocations, slots, statuses and
ledger entries must reconcile one to one, the chain must verify, and a restarted burst must finish the
rest with every stratum's slots taken in order. Runs on the suite's kind of database: a file SQLite
database, or a PostgreSQL database of its own (CI runs both).
"""

from __future__ import annotations

import signal

import pytest

from crash_support import PARTICIPANTS, Worker, audit_verify, kill_leftovers, seeded_database, stored

KILLED_AT = 15


@pytest.fixture
def env(tmp_path, tmp_path_factory):
    with seeded_database(tmp_path_factory.getbasetemp() / "crash-seed", tmp_path, "randomise") as env:
        yield env
        kill_leftovers()


def _reconciled(found: dict) -> None:
    """Each allocation has its slot, its status and one ledger entry, and each ledger entry an allocation."""
    assert found["ledger_randomised"] == sorted(found["allocated"])
    assert found["status_randomised"] == sorted(found["allocated"])
    assert found["slots_taken"] == found["distinct_slots"] == len(found["allocated"])
    assert found["slot_mismatches"] == []
    # In order of allocation each stratum's slots were taken 1, 2, 3, ...: none skipped, none twice.
    for sequence in found["sequences"].values():
        assert sequence == list(range(1, len(sequence) + 1))


def test_a_randomisation_burst_killed_mid_allocation_reconciles_and_resumes(env):
    before = stored(env)
    assert before["allocated"] == []
    assert before["status_baseline_complete"] == PARTICIPANTS

    worker = Worker(env, "randomise", "--threads", "4", "--hook-at", str(KILLED_AT))
    in_flight = worker.wait_for("ready").removeprefix("ready ")
    assert worker.kill() == -signal.SIGKILL
    reported = [line.removeprefix("done ") for line in worker.lines if line.startswith("done ")]

    after_kill = stored(env)
    # Randomisations are serialised, so the 14 before the one killed had committed; that one left nothing.
    assert len(after_kill["allocated"]) == KILLED_AT - 1
    assert in_flight not in after_kill["allocated"]
    assert set(reported) <= set(after_kill["allocated"])  # every commit the worker saw is stored
    _reconciled(after_kill)
    assert after_kill["status_baseline_complete"] == PARTICIPANTS - (KILLED_AT - 1)
    verdict = audit_verify(env)
    assert verdict["exit"] == 0
    assert verdict["ok"] is True
    assert verdict["checked"] == after_kill["ledger_entries"]

    # A restarted burst randomises everyone left, the interrupted participant included, exactly once.
    worker = Worker(env, "randomise", "--threads", "4")
    assert worker.wait_for("finished", "failed") == "finished"
    assert worker.finish() == 0
    resumed = stored(env)
    assert len(resumed["allocated"]) == PARTICIPANTS
    assert in_flight in resumed["allocated"]
    assert resumed["status_baseline_complete"] == 0
    _reconciled(resumed)
    verdict = audit_verify(env)
    assert verdict["exit"] == 0
    assert verdict["checked"] == resumed["ledger_entries"]
