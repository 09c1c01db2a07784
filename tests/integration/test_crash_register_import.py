"""Killing the process in the middle of a register import stores nothing; the same file then imports whole.

The worker (tests/crash_support.py) imports a 4,000-row extract of 40 participants and stops inside the
import's transaction once every event and its ledger entry is written; the test kills it with SIGKILL
there. Runs on the suite's kind of database: a file SQLite database, or a PostgreSQL database of its own
(CI runs both).
"""

from __future__ import annotations

import signal

import pytest

from crash_support import EXTRACT_ROWS as ROWS
from crash_support import Worker, audit_verify, kill_leftovers, seeded_database, stored


@pytest.fixture
def database(tmp_path, tmp_path_factory):
    base = tmp_path_factory.getbasetemp() / "crash-seed"
    with seeded_database(base, tmp_path, "import") as env:
        yield env, base / "extract.csv"
        kill_leftovers()


def test_an_import_killed_inside_its_transaction_stores_nothing_then_imports_whole(database):
    env, extract = database
    ledger_before = stored(env)["ledger_entries"]
    worker = Worker(env, "import", "--extract", str(extract), "--hook")
    # Inside the transaction every event is written: the kill lands on a fully written, uncommitted import.
    assert worker.wait_for("ready") == f"ready {ROWS}"
    assert worker.kill() == -signal.SIGKILL

    after_kill = stored(env)
    assert after_kill["register_events"] == 0
    assert after_kill["register_imports"] == 0
    assert after_kill["ledger_register_events"] == 0
    assert after_kill["ledger_register_imports"] == 0
    verdict = audit_verify(env)
    assert verdict["exit"] == 0
    assert verdict["ok"] is True
    assert verdict["checked"] == ledger_before  # not one entry more or less than before

    # Nothing half-done is left in the way: the same extract now imports in full.
    worker = Worker(env, "import", "--extract", str(extract))
    assert worker.wait_for("imported") == f"imported {ROWS}"
    assert worker.finish() == 0
    whole = stored(env)
    assert whole["register_events"] == ROWS
    assert whole["ledger_register_events"] == ROWS
    assert whole["register_imports"] == 1
    assert whole["ledger_register_imports"] == 1
    verdict = audit_verify(env)
    assert verdict["exit"] == 0
    assert verdict["checked"] == ledger_before + ROWS + 1
