"""Placement under contention: parallel requests, each on its own connection, never fill a group past its
capacity nor put one participant in two groups. Runs on SQLite (a migrated file: the in-memory test
database cannot be shared between threads) and on PostgreSQL (the suite's database)."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection, connections

import intervention_support as imr
from enrolment_support import TEST_KEY
from trialdesk import clock
from trialdesk.apps.intervention import services
from trialdesk.apps.intervention.models import GroupMembership
from trialdesk.apps.ledger.services import verify_ledger
from trialdesk.apps.participants import keys
from trialdesk.errors import UserError

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shared_database(tmp_path, monkeypatch):
    monkeypatch.setenv(keys.ENV_KEY, TEST_KEY)
    if connection.vendor != "sqlite":
        yield
        return
    settings_dict = connections.settings["default"]
    original_name, original_connection = settings_dict["NAME"], connections["default"]
    settings_dict["NAME"] = str(tmp_path / "imr-concurrency.sqlite3")
    connections["default"] = connections.create_connection("default")
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield
    finally:
        connections["default"].close()
        settings_dict["NAME"] = original_name
        connections["default"] = original_connection


def _parallel(calls) -> tuple[int, list[BaseException]]:
    barrier = threading.Barrier(len(calls))
    done, failures, lock = [0], [], threading.Lock()

    def run(call):
        try:
            barrier.wait()
            with clock.frozen(imr.RANDOMISED_AT):
                call()
            with lock:
                done[0] += 1
        except BaseException as problem:  # collected and asserted on below
            with lock:
                failures.append(problem)
        finally:
            close_old_connections()
            connections["default"].close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0], failures


def test_parallel_placements_stop_at_capacity(shared_database):
    ctx = imr.trial()
    people, _ = imr.randomised(ctx, 12)
    group = imr.group(ctx)
    with clock.frozen(imr.RANDOMISED_AT):
        for participant in people[:8]:
            services.place(participant, group, imr.GROUP_START, ctx)
    placed, failures = _parallel(
        [lambda p=p: services.place(p, group, imr.GROUP_START, ctx) for p in people[8:]]
    )
    assert placed == 2
    assert len(failures) == 2
    assert all(isinstance(f, UserError) and "capacity rule" in str(f) for f in failures)
    assert GroupMembership.objects.filter(group=group, left_on__isnull=True).count() == 10
    assert verify_ledger().ok


def test_one_participant_placed_in_two_groups_at_once_lands_in_one(shared_database):
    ctx = imr.trial()
    people, _ = imr.randomised(ctx, 1)
    first = imr.group(ctx)
    second = imr.group(
        ctx, name="Thursday group", people=imr.facilitators("BAL", names=("t1", "t2")), weekday=3
    )
    placed, failures = _parallel(
        [lambda g=g: services.place(people[0], g, imr.GROUP_START, ctx) for g in (first, second)]
    )
    assert placed == 1
    assert len(failures) == 1
    # Either the service's check or, when both passed it at once, the database's one-active-group constraint.
    assert (
        "one-group rule" in str(failures[0])
        or "one_active_imr_group" in str(failures[0])
        or "UNIQUE constraint failed" in str(failures[0])
    )
    assert GroupMembership.objects.filter(participant=people[0]).count() == 1
