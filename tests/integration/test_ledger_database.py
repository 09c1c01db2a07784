"""The ledger in a real database: appends chain, UPDATE/DELETE are refused, verify names tampering."""

import pytest
from django.db import DatabaseError, connection, transaction

from trialdesk.apps.ledger import triggers
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import Change, Context, append, append_many, deferred, verify_ledger
from trialdesk.cli import main
from trialdesk.errors import UserError

pytestmark = pytest.mark.django_db

CTX = Context(actor="dorte", channel="command", protocol_hash="f" * 64)


def _append_three() -> None:
    with transaction.atomic():
        for value in (40, 45, 50):
            append(CTX, action="update", entity="assessment", entity_id="7", field="gaf_f", old=value - 5,
                   new=value, reason="corrected from source", participant="BAL-0001", site="BAL")


def test_appends_form_a_verified_chain():
    _append_three()
    entries = list(LedgerEntry.objects.order_by("seq"))
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[1].prev_hash == entries[0].hash
    assert entries[0].new_value == "40" and entries[0].protocol_hash == "f" * 64
    assert verify_ledger().ok


@pytest.mark.django_db(transaction=True)
def test_append_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        append(CTX, action="create", entity="x")


def test_change_without_reason_is_refused_and_nothing_written():
    with pytest.raises(UserError, match="reason is required"), transaction.atomic():
        append(CTX, action="update", entity="assessment", entity_id="7", field="gaf_f", old=1, new=2,
               require_reason=True)
    assert LedgerEntry.objects.count() == 0


@pytest.mark.parametrize("statement", [
    f"UPDATE {triggers.TABLE} SET actor = 'mallory'",
    f"DELETE FROM {triggers.TABLE}",
])
def test_raw_update_and_delete_fail_in_the_database(statement):
    _append_three()
    refused = pytest.raises(DatabaseError, match="append-only")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert LedgerEntry.objects.filter(actor="dorte").count() == 3


def _tamper(statement: str, params: list) -> None:
    """Alter the ledger behind the app's back: what an attacker with database access could do."""
    vendor = connection.vendor
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in triggers.drop_sql(vendor):
            cursor.execute(sql)
        cursor.execute(statement, params)
        for sql in triggers.create_sql(vendor):
            cursor.execute(sql)


def test_verify_names_the_altered_entry(capsys):
    _append_three()
    _tamper(f"UPDATE {triggers.TABLE} SET new_value = %s WHERE seq = %s", ["99", 2])
    verdict = verify_ledger()
    assert not verdict.ok and verdict.broken_seq == 2
    assert main(["audit", "verify"]) == 1
    assert "ledger entry #2" in capsys.readouterr().err


def test_verify_finds_a_deleted_entry():
    _append_three()
    _tamper(f"DELETE FROM {triggers.TABLE} WHERE seq = %s", [2])
    verdict = verify_ledger()
    assert not verdict.ok and verdict.broken_seq == 3


def test_cli_verify_on_an_intact_ledger(capsys):
    _append_three()
    assert main(["audit", "verify", "--json"]) == 0
    assert '"ok": true' in capsys.readouterr().out


def _advisory_locks_held() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_deferred_block_writes_its_entries_in_order_as_it_ends():
    other = Context(actor="system", channel="system", protocol_hash="f" * 64)
    with transaction.atomic():
        with deferred():
            assert append(CTX, action="complete", entity="assessment", entity_id="BAL-0001/m9/gaf_f") is None
            append_many(other, [Change(action="raise", entity="query", entity_id="1"),
                                Change(action="raise", entity="query", entity_id="2")])
            with deferred():  # a nested block joins the outer one
                append(CTX, action="update", entity="visit", entity_id="BAL-0001/m9", field="done_on")
            # Nothing written, and on PostgreSQL the ordering lock not taken, until the block ends.
            assert LedgerEntry.objects.count() == 0
            if connection.vendor == "postgresql":
                assert _advisory_locks_held() == 0
        if connection.vendor == "postgresql":
            assert _advisory_locks_held() == 1
        entries = list(LedgerEntry.objects.order_by("seq"))
    assert [(e.seq, e.actor, e.entity_id) for e in entries] == [
        (1, "dorte", "BAL-0001/m9/gaf_f"), (2, "system", "1"), (3, "system", "2"),
        (4, "dorte", "BAL-0001/m9"),
    ]
    assert verify_ledger().ok


def _refused_after_an_entry() -> None:
    with transaction.atomic(), deferred():
        append(CTX, action="complete", entity="assessment", entity_id="BAL-0001/m9/gaf_f")
        raise UserError("refused after the first entry")


def test_a_deferred_block_left_by_an_error_writes_nothing():
    with pytest.raises(UserError, match="refused"):
        _refused_after_an_entry()
    assert LedgerEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_deferred_block_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"), deferred():
        pass
