"""``trialdesk register import|periods``: runs as a named user, JSON report, one-line errors with exit 2."""

import datetime as dt
import json

import pytest

from enrolment_support import install, new_cpr, user
from registers_support import csv_bytes, keeper, randomised, row_counts
from trialdesk.apps.participants.services import read_personal_data
from trialdesk.cli import main

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def cpr():
    ctx = install()
    return read_personal_data(randomised(ctx, dt.date(2011, 3, 10)), ctx).cpr


def test_import_prints_the_report_as_json_and_is_idempotent(cpr, tmp_path, capsys):
    keeper()
    path = tmp_path / "extract.csv"
    path.write_bytes(csv_bytes([(cpr, "admission", "2011-12-05", "2011-12-15")]))
    assert main(["register", "import", str(path), "--user", "keeper", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["rows_read"], report["events_created"], report["file_name"]) == (1, 1, "extract.csv")
    assert main(["register", "import", str(path), "--user", "keeper"]) == 0
    out = capsys.readouterr().out
    assert "0 new events stored, 1 already present" in out
    assert cpr not in out


def test_periods_prints_the_register_table(cpr, tmp_path, capsys):
    keeper()
    path = tmp_path / "extract.csv"
    path.write_bytes(csv_bytes([(cpr, "admission", "2011-12-05", "2011-12-15")]))
    main(["register", "import", str(path), "--user", "keeper"])
    capsys.readouterr()
    user("stat", "statistician")
    assert main(["register", "periods", "--user", "stat", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["period"], r["admissions"], r["bed_days"], r["followup_days"]) for r in rows] == [
        ("baseline-m9", 1, 5, 275.0), ("m9-m21", 0, 5, 366.0)]


def test_errors_are_one_line_each_with_exit_status_2(cpr, tmp_path, capsys):
    keeper()
    user("plain", "data_manager")
    stranger = new_cpr()
    path = tmp_path / "extract.csv"
    rows = [(stranger, "er_visit", "2011-05-02", ""), (cpr, "er_visit", "2011-13-02", "")]
    path.write_bytes(csv_bytes(rows))
    before = row_counts()
    assert main(["register", "import", str(path), "--user", "keeper"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: the extract was not imported (1 problem):",
        "error: row 3, column start_date: not a date (write YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY)",
    ]
    assert main(["register", "import", str(path), "--user", "plain"]) == 2
    assert "plain may not import register extracts" in capsys.readouterr().err
    assert main(["register", "import", str(path), "--user", "nobody"]) == 2
    assert "no active user named 'nobody'" in capsys.readouterr().err
    assert main(["register", "import", str(tmp_path / "missing.csv"), "--user", "keeper"]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert row_counts() == before
    assert stranger not in err
