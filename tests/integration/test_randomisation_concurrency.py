"""Allocation under load: 200 requests from 20 parallel clients, each with its own database connection.

Runs on whichever database the suite runs on (CI runs SQLite and PostgreSQL). SQLite's in-memory test
database cannot be shared between threads, so on SQLite the test migrates a file database of its own.
"""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection, connections

from enrolment_support import STRATA, TEST_KEY, enrol, install, install_rows, stratum_parts
from trialdesk.apps.ledger.services import verify_ledger
from trialdesk.apps.participants import keys
from trialdesk.apps.randomisation.models import Allocation, AllocationSlot
from trialdesk.apps.randomisation.services import randomise

pytestmark = pytest.mark.django_db(transaction=True)
CLIENTS = 20
REQUESTS = 200


@pytest.fixture
def shared_database(tmp_path, monkeypatch):
    """A database every thread can reach: the suite's own on PostgreSQL, a migrated file on SQLite."""
    monkeypatch.setenv(keys.ENV_KEY, TEST_KEY)
    if connection.vendor != "sqlite":
        yield
        return
    # The in-memory test database lives as long as the main thread's connection: keep that one open but
    # set aside, and give every thread (this one included) a connection to a migrated file instead.
    settings_dict = connections.settings["default"]
    original_name, original_connection = settings_dict["NAME"], connections["default"]
    settings_dict["NAME"] = str(tmp_path / "concurrency.sqlite3")
    connections["default"] = connections.create_connection("default")
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield
    finally:
        connections["default"].close()
        settings_dict["NAME"] = original_name
        connections["default"] = original_connection


def _run_clients(jobs: list[list], context) -> list[BaseException]:
    start = threading.Barrier(len(jobs))
    failures: list[BaseException] = []

    def client(participants):
        try:
            start.wait()
            for participant in participants:
                randomise(participant, context)
        except BaseException as problem:
            failures.append(problem)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    return failures


def test_200_requests_from_20_clients_take_200_distinct_slots_in_order(shared_database):
    ctx = install()
    per_stratum = REQUESTS // len(STRATA)
    install_rows(ctx, per_stratum)
    participants = [
        enrol(ctx, *stratum_parts(stratum))
        for _ in range(per_stratum) for stratum in STRATA
    ]  # fmt: skip
    # Client k gets every 20th participant: all clients hit all four strata at once.
    jobs = [participants[k::CLIENTS] for k in range(CLIENTS)]
    failures = _run_clients(jobs, ctx)
    assert failures == []
    allocations = list(Allocation.objects.select_related("slot").order_by("pk"))
    assert len(allocations) == REQUESTS
    assert len({a.slot_id for a in allocations}) == REQUESTS
    assert len({a.participant_id for a in allocations}) == REQUESTS
    by_stratum = defaultdict(list)
    for allocation in allocations:
        assert allocation.slot.stratum == allocation.stratum
        assert allocation.arm == allocation.slot.arm
        by_stratum[allocation.stratum].append(allocation.slot.sequence)
    # In order of allocation, each stratum took 1, 2, ..., 50: no duplicates, no gaps, no overtaking.
    assert dict(by_stratum.items()) == {stratum: list(range(1, per_stratum + 1)) for stratum in STRATA}
    assert AllocationSlot.objects.filter(participant__isnull=True).count() == 0
    assert verify_ledger().ok


def test_parallel_requests_for_one_participant_give_one_allocation(shared_database):
    ctx = install()
    install_rows(ctx, 4)
    participant = enrol(ctx)
    failures = _run_clients([[participant] for _ in range(8)], ctx)
    assert failures == []
    assert Allocation.objects.filter(participant=participant).count() == 1
    assert AllocationSlot.objects.filter(participant__isnull=False).count() == 1
