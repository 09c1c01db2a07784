"""Production settings, read from the settings module itself (tests override some of them)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher

import trialdesk.web.settings as production


def test_argon2_is_the_first_password_hasher():
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    encoded = Argon2PasswordHasher().encode("correct horse battery", Argon2PasswordHasher().salt())
    assert encoded.startswith("argon2$argon2id$")
    assert Argon2PasswordHasher().verify("correct horse battery", encoded)


def test_password_policy_and_session_expiry():
    validators = production.AUTH_PASSWORD_VALIDATORS
    minimum = next(v for v in validators if v["NAME"].endswith("MinimumLengthValidator"))
    assert minimum["OPTIONS"]["min_length"] == 10
    assert production.SESSION_COOKIE_AGE == 30 * 60
    assert "trialdesk.web.sessions.SessionMiddleware" in production.MIDDLEWARE
    assert production.SESSION_COOKIE_HTTPONLY and production.SESSION_COOKIE_SAMESITE == "Lax"


def test_lockout_and_two_factor_are_on_by_default():
    assert production.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert production.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert production.AXES_FAILURE_LIMIT == 5
    assert timedelta(minutes=15) == production.AXES_COOLOFF_TIME
    assert production.TRIALDESK_REQUIRE_2FA is True


def test_middleware_order():
    chain = production.MIDDLEWARE
    position = chain.index
    assert chain[0] == "trialdesk.web.logs.RequestIdMiddleware"
    assert position("django.contrib.auth.middleware.AuthenticationMiddleware") \
        < position("django_otp.middleware.OTPMiddleware") \
        < position("trialdesk.apps.accounts.twofactor.RequireTwoFactorMiddleware")
    assert "csp.middleware.CSPMiddleware" in chain
    assert chain[-1] == "axes.middleware.AxesMiddleware"


def test_postgres_gets_a_connection_pool_and_sqlite_wal(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://trial@db.example:5432/trialdesk")
    monkeypatch.setenv("TRIALDESK_DB_POOL_MAX", "12")
    postgres = production._database()
    assert postgres["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 12, "timeout": 20}
    assert postgres["CONN_MAX_AGE"] == 0  # Django refuses persistent connections together with a pool
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/x.sqlite3")
    sqlite = production._database()
    assert "journal_mode=WAL" in sqlite["OPTIONS"]["init_command"]
    assert sqlite["OPTIONS"]["transaction_mode"] == "IMMEDIATE" and sqlite["OPTIONS"]["timeout"] == 20


@pytest.mark.django_db
def test_the_live_connection_uses_the_pool_or_wal():
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            assert connection.pool is not None and connection.pool.max_size == 20
            cursor.execute("SELECT 1")
        else:
            cursor.execute("PRAGMA busy_timeout")
            assert cursor.fetchone()[0] == 20_000
            assert connection.vendor == "sqlite"
