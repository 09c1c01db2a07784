"""``/health/``: database reachable, migrations all applied (503 if not), the ledger's last sequence
number. Runs on whichever database DATABASE_URL names (CI runs SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client

from enrolment_support import install

pytestmark = pytest.mark.django_db


def _last_seq() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(seq) FROM ledger_ledgerentry")
        return cursor.fetchone()[0] or 0


def test_healthy_reports_database_migrations_and_ledger():
    install()
    assert _last_seq() > 0
    response = Client().get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": connection.vendor, "migrations_pending": 0,
                               "ledger_last_seq": _last_seq()}
    assert "no-cache" in response["Cache-Control"]


def test_empty_ledger_reports_zero():
    assert Client().get("/health/").json()["ledger_last_seq"] == 0


def test_a_pending_migration_makes_it_unhealthy():
    MigrationRecorder.Migration.objects.filter(app="accounts", name="0001_initial").delete()
    response = Client().get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["migrations_pending"] == 1
    assert body["problem"] == "1 migration(s) not applied"
    assert "ledger_last_seq" not in body
