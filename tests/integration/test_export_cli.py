"""``trialdesk export``, ``snapshot``, ``backup`` and ``restore`` through the command line entry point."""

import json

import pytest
from django.core.management import call_command

from enrolment_support import TEST_KEY, enrol, install, user
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.participants import keys
from trialdesk.apps.participants.models import Participant
from trialdesk.cli import main

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _key(monkeypatch, settings, tmp_path):
    monkeypatch.setenv(keys.ENV_KEY, TEST_KEY)
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def trial():
    context = install()
    enrol(context)
    return user("dorte", "data_manager")


def test_an_unknown_format_is_one_clear_line_and_exit_2(trial, tmp_path, capsys):
    assert main(["export", "--format", "sas", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err == "error: unknown export format 'sas'; formats are csv, parquet, stata, odm\n"
    assert not (tmp_path / "x").exists()


def test_export_as_a_user_prints_what_was_written(trial, tmp_path, capsys):
    assert (
        main(["export", "--format", "csv", "--out", str(tmp_path / "csv"), "--user", "dorte", "--json"]) == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["blinded"] is True and summary["files"]["screening.csv"]["rows"] == 1
    assert (tmp_path / "csv" / "dictionary.md").exists()


def test_an_assessor_is_refused_with_exit_2(trial, tmp_path, capsys):
    user("anna", "assessor", "BAL")
    assert main(["export", "--format", "odm", "--out", str(tmp_path / "x"), "--user", "anna"]) == 2
    assert "anna may not export data" in capsys.readouterr().err


def test_snapshot_take_list_and_verify(trial, capsys):
    assert main(["snapshot", "take", "--label", "interim lock", "--user", "dorte", "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["label"] == "interim lock" and manifest["blinded"] is True
    assert main(["snapshot", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["snapshots"]
    assert [s["id"] for s in listed] == [manifest["id"]]
    assert main(["snapshot", "verify", manifest["id"]]) == 0
    assert "ok: snapshot" in capsys.readouterr().out
    assert main(["snapshot", "take", "--label", "x", "--user", "dorte", "--unblinded"]) == 2
    assert "may not take an unblinded snapshot" in capsys.readouterr().err


def test_backup_and_restore_commands(trial, tmp_path, capsys):
    archive = tmp_path / "trial.backup"
    assert main(["backup", str(archive), "--json"]) == 0
    digest = json.loads(capsys.readouterr().out)["sha256"]
    entries = LedgerEntry.objects.count()
    assert main(["restore", str(archive)]) == 2  # the database still holds the trial
    assert "restore needs an empty database" in capsys.readouterr().err
    call_command("flush", interactive=False, verbosity=0)
    assert main(["restore", str(archive), "--sha256", "0" * 64]) == 2
    assert "does not have the SHA-256 given" in capsys.readouterr().err
    assert Participant.objects.count() == 0
    assert main(["restore", str(archive), "--sha256", digest, "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ledger_ok"] is True and verdict["checked"] == LedgerEntry.objects.count() == entries
    assert Participant.objects.count() == 1
