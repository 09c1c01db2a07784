"""Models and migrations agree: no model change is left without its migration."""

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as stop:
        pytest.fail(f"models changed without a migration:\n{out.getvalue()}" if stop.code else "")
