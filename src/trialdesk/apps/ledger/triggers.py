"""Database-level refusal of UPDATE and DELETE on the ledger table, per vendor.

Kept as data so the migration creates them and the test suite's table flush (which must empty every
table between transactional tests) can lift them for the length of the flush only.
"""

from __future__ import annotations

TABLE = "ledger_ledgerentry"
MESSAGE = "the audit ledger is append-only"

_SQLITE_CREATE = [
    f"CREATE TRIGGER ledger_no_update BEFORE UPDATE ON {TABLE} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
    f"CREATE TRIGGER ledger_no_delete BEFORE DELETE ON {TABLE} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
]
_SQLITE_DROP = ["DROP TRIGGER IF EXISTS ledger_no_update;", "DROP TRIGGER IF EXISTS ledger_no_delete;"]

_PG_CREATE = [
    f"""CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION '{MESSAGE}'; END; $$ LANGUAGE plpgsql;""",
    f"CREATE TRIGGER ledger_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();",
    f"CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON {TABLE} "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();",
]
_PG_DROP = [
    f"DROP TRIGGER IF EXISTS ledger_no_update_delete ON {TABLE};",
    f"DROP TRIGGER IF EXISTS ledger_no_truncate ON {TABLE};",
]


def create_sql(vendor: str) -> list[str]:
    return {"sqlite": _SQLITE_CREATE, "postgresql": _PG_CREATE}.get(vendor, [])


def drop_sql(vendor: str) -> list[str]:
    return {"sqlite": _SQLITE_DROP, "postgresql": _PG_DROP}.get(vendor, [])
