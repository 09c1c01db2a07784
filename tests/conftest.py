"""Test-wide set-up.

The ledger's append-only triggers refuse DELETE and TRUNCATE, which is also how Django empties tables
between transactional tests. For the length of that flush only, and only here in the test suite, the
triggers are dropped and re-created; the production database never runs this path.
"""

from __future__ import annotations

import pytest


def _ledger_safe_flush() -> None:
    from django.db import connection

    from trialdesk.apps.ledger import triggers

    operations = type(connection.ops)
    original = operations.sql_flush
    if getattr(original, "_ledger_safe", False):
        return

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = original(self, style, tables, reset_sequences=reset_sequences,
                              allow_cascade=allow_cascade)
        if triggers.TABLE not in tables:
            return statements
        vendor = self.connection.vendor
        return [*triggers.drop_sql(vendor), *statements, *triggers.create_sql(vendor)]

    sql_flush._ledger_safe = True  # type: ignore[attr-defined]
    operations.sql_flush = sql_flush


@pytest.fixture(scope="session", autouse=True)
def _ledger_flush(django_db_blocker):
    _ledger_safe_flush()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 is the production hasher (tested in test_security_settings); tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _two_factor_off(settings):
    # Two-factor authentication has its own tests (tests/*/test_security_two_factor*.py), which switch it
    # back on; every other test signs users in with force_login or the password form and exercises the
    # pages behind it, as the demo server does with TRIALDESK_REQUIRE_2FA=0.
    settings.TRIALDESK_REQUIRE_2FA = False


@pytest.fixture
def personal_data_key(monkeypatch):
    """The personal-data key (CPR numbers, names) set to the test suite's throw-away key."""
    from enrolment_support import TEST_KEY
    from trialdesk.apps.participants import keys

    monkeypatch.setenv(keys.ENV_KEY, TEST_KEY)


@pytest.fixture
def data_dir(settings, tmp_path):
    """A fresh data directory (snapshots, uploads, reports) for the test."""
    settings.DATA_DIR = tmp_path
