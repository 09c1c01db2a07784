"""Killing ``trialdesk serve`` while it answers a burst of randomisation requests leaves no partial data.

The server process (tests/crash_support.py ``serve``: ``trialdesk serve`` with a hook) answers eight
concurrent API clients; its 10th randomisation stops inside its transaction after the slot, allocation and
status are written but before the ledger entry, and the test kills the server with SIGKILL there. Every
randomisation the server acknowledged (201) must be stored, the interrupted one must have left nothing,
and allocations, slots, statuses and ledger entries must reconcile; ``trialdesk audit verify`` passes.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.request
import uuid

import pytest

from crash_support import (
    DEADLINE_S,
    Worker,
    audit_verify,
    free_port,
    kill_leftovers,
    seeded_database,
    stored,
    waiting,
)

KILLED_AT = 10
CLIENTS = 8


@pytest.fixture
def env(tmp_path, tmp_path_factory):
    with seeded_database(tmp_path_factory.getbasetemp() / "crash-seed", tmp_path, "serve") as env:
        yield env
        kill_leftovers()


def _healthy(url: str, server: Worker) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        assert server.process.poll() is None, "the server stopped at start-up"
        try:
            with urllib.request.urlopen(f"{url}/health/", timeout=2) as answer:  # noqa: S310 - local http
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)  # polling the readiness endpoint, within the deadline
    raise AssertionError("the server did not answer /health/")


def _burst(url: str, tokens: dict[str, str], people: list[tuple[str, str]]) -> tuple[list, threading.Thread]:
    """CLIENTS threads posting randomisations; returns the acknowledged trial ids (filled in as they come)."""
    acknowledged: list[str] = []

    def client(mine):
        for trial_id, site in mine:
            request = urllib.request.Request(  # noqa: S310 - local http
                f"{url}/api/participants/{trial_id}/randomisation", method="POST", data=b"",
                headers={"Authorization": f"Bearer {tokens[site]}", "Idempotency-Key": uuid.uuid4().hex},
            )  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=DEADLINE_S) as answer:  # noqa: S310
                    if answer.status == 201 and json.load(answer)["trial_id"] == trial_id:
                        acknowledged.append(trial_id)
            except OSError:
                return  # the server was killed under this request

    threads = [threading.Thread(target=client, args=(people[k::CLIENTS],)) for k in range(CLIENTS)]
    for thread in threads:
        thread.start()

    def join_all():
        for thread in threads:
            thread.join(timeout=DEADLINE_S)

    return acknowledged, threading.Thread(target=join_all)


def test_killing_the_server_mid_randomisation_keeps_every_acknowledged_allocation_and_nothing_partial(env):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = Worker(env, "serve", "--port", str(port), "--hook-at", str(KILLED_AT))
    tokens = dict(pair.split("=", 1) for pair in server.wait_for("tokens").split()[1:])
    _healthy(url, server)
    people = waiting(env)

    acknowledged, joiner = _burst(url, tokens, people)
    in_flight = server.wait_for("ready").removeprefix("ready ")
    assert server.kill() == -signal.SIGKILL
    joiner.start()
    joiner.join()

    found = stored(env)
    assert len(found["allocated"]) == KILLED_AT - 1  # randomisations are serialised: the 9 before it
    assert in_flight not in found["allocated"]
    assert in_flight not in found["ledger_randomised"]
    assert set(acknowledged) <= set(found["allocated"])  # every 201 the clients saw is stored
    assert found["ledger_randomised"] == sorted(found["allocated"])
    assert found["status_randomised"] == sorted(found["allocated"])
    assert found["slots_taken"] == found["distinct_slots"] == len(found["allocated"])
    assert found["slot_mismatches"] == []
    for sequence in found["sequences"].values():
        assert sequence == list(range(1, len(sequence) + 1))
    verdict = audit_verify(env)
    assert verdict["exit"] == 0
    assert verdict["checked"] == found["ledger_entries"]
