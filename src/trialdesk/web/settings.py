"""Django settings. SQLite (WAL) under the data directory by default; any database via DATABASE_URL.

Environment:
  TRIALDESK_DATA_DIR   where the SQLite file, secret key and snapshots live (default ./var)
  DATABASE_URL         e.g. postgres://user@127.0.0.1:5432/test or sqlite:///path/to/file.sqlite3
  TRIALDESK_DEBUG      1 for development error pages (never with real data)
  TRIALDESK_SECRET_KEY overrides the generated key file
  TRIALDESK_ALLOWED_HOSTS comma-separated host names (default: localhost, 127.0.0.1)
  TRIALDESK_HTTPS      1 behind TLS: HSTS, HTTP→HTTPS redirect, secure __Host- cookies (docs/security.md)
  TRIALDESK_REQUIRE_2FA 0 turns two-factor authentication off (the demo server only; default on)
  TRIALDESK_LOG_FORMAT json (default) or plain; TRIALDESK_LOG_LEVEL (default WARNING)
  TRIALDESK_DB_POOL_MAX PostgreSQL connection-pool size per process (default 20)
  TRIALDESK_JOB_STALE_SECONDS a running background job silent this long is re-run or failed (default 120)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

from trialdesk.web import logs, security

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("TRIALDESK_DATA_DIR", Path.cwd() / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    if key := os.environ.get("TRIALDESK_SECRET_KEY"):
        return key
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("TRIALDESK_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("TRIALDESK_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "django_htmx",  # request.htmx and htmx itself as a static file ({% htmx_script %})
    "trialdesk.apps.ledger",
    "trialdesk.apps.trial",
    "trialdesk.apps.accounts",
    "trialdesk.apps.participants",
    "trialdesk.apps.screening",
    "trialdesk.apps.consent",
    "trialdesk.apps.randomisation",
    "trialdesk.apps.assessments",
    "trialdesk.apps.registers",
    "trialdesk.apps.intervention",
    "trialdesk.apps.snapshots",
    "trialdesk.apps.datamanagement",
    "django_tasks",
    "django_tasks_db",
    "trialdesk.apps.analysis",
    "ninja",  # the API docs page's own static files (Swagger UI), served from here, not a CDN
    "trialdesk.api",
]

# Background tasks (analysis runs, register imports): a database queue, so queued work survives restarts.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# A running background job whose worker has not been heard from for this long was stopped (killed, or the
# server restarted): `trialdesk worker` queues it again or fails it (trialdesk.apps.restarts).
TRIALDESK_JOB_STALE_SECONDS = float(os.environ.get("TRIALDESK_JOB_STALE_SECONDS", "120"))

MIDDLEWARE = [
    "trialdesk.web.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "trialdesk.web.security.HeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "trialdesk.web.sessions.SessionMiddleware",  # inactivity expiry, refreshed at most once a minute
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django_htmx.middleware.HtmxMiddleware",  # request.htmx: answer a partial page to htmx requests
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "trialdesk.apps.accounts.language.UserLanguageMiddleware",  # the signed-in user's chosen language
    "trialdesk.apps.accounts.twofactor.RequireTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as axes asks: turns a flagged lockout into the lockout page
]

ROOT_URLCONF = "trialdesk.web.urls"
WSGI_APPLICATION = "trialdesk.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "web" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "trialdesk.apps.accounts.context.roles",
                "csp.context_processors.nonce",
                "trialdesk.web.security.context",
            ],
        },
    },
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'trialdesk.sqlite3'}")
    config = dj_database_url.parse(url, conn_max_age=0)
    if config["ENGINE"] == "django.db.backends.postgresql":
        # Django's psycopg pool: connections are reused across requests without persistent-connection
        # leaks; size it above the server's thread count (trialdesk serve --threads, default 8).
        pool_max = int(os.environ.get("TRIALDESK_DB_POOL_MAX", "20"))
        # Server-side binding lets psycopg prepare a statement after its fifth use on a connection: the
        # server then stops re-planning the same queries, which was most of its CPU per request.
        config["OPTIONS"] = {"pool": {"min_size": 2, "max_size": pool_max, "timeout": 20},
                             "server_side_binding": True}
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so two
        # writers queue (busy timeout) instead of failing with "database is locked" mid-transaction.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        }
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out username+address pairs
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = 30 * 60  # inactivity expiry (trialdesk.web.sessions refreshes it)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = security.CONTENT_SECURITY_POLICY
globals().update(security.https_settings(os.environ.get("TRIALDESK_HTTPS") == "1"))

# Login throttling (django-axes): a username+address pair is locked out after 5 failures for 15 minutes;
# failures while locked out do not push the retry time back, so the time shown on the lockout page holds.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = security.LOCKOUT_COOL_OFF
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "trialdesk.apps.accounts.lockout.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["password", "csrfmiddlewaretoken", "token"]

# Two-factor authentication (django-otp TOTP) for roles that see allocations or identifying data.
TRIALDESK_REQUIRE_2FA = os.environ.get("TRIALDESK_REQUIRE_2FA", "1") != "0"
OTP_TOTP_ISSUER = "trialdesk"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("da", "Dansk")]
TIME_ZONE = "Europe/Copenhagen"
USE_I18N = True
LOCALE_PATHS = [PACKAGE_DIR / "locale"]  # Danish: make messages (scripts/messages.py) writes and compiles it
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [PACKAGE_DIR / "web" / "static"]
STATIC_ROOT = DATA_DIR / "static"  # collectstatic target; in place of it WhiteNoise serves from the finders
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

EMAIL_BACKEND = os.environ.get("TRIALDESK_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = "trialdesk@localhost"

LOGGING = logs.logging_config(
    fmt=os.environ.get("TRIALDESK_LOG_FORMAT", "json"),
    level=os.environ.get("TRIALDESK_LOG_LEVEL", "WARNING"),
)
