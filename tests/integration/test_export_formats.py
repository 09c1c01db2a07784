"""Exports: CSV, Parquet, Stata and ODM files of the analysis tables, blinded for blinded roles, never
identifying, with a data dictionary; bad formats and users without the permission are refused."""

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

import snapshots_support as trial
from enrolment_support import TEST_KEY, user
from trialdesk import datasets
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.participants import keys
from trialdesk.apps.snapshots.export import export
from trialdesk.apps.snapshots.models import ArmLetter
from trialdesk.errors import UserError
from trialdesk.instruments import get_library

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key", "data_dir")]
ARM_CODES = ("IMR", "TAU")
ARM_LABELS = ("IMR + treatment as usual", "Treatment as usual")


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setenv(keys.ENV_KEY, TEST_KEY)
        data = trial.build()
        data["cprs"] = trial.cprs()
        data["ciphertexts"] = trial.ciphertexts()
        data["blinded"] = trial.export_user("dorte")
        data["unblinded"] = trial.export_user("ivan", unblinded=True)
    yield data
    with django_db_blocker.unblock():
        trial.wipe()


def _read(fmt, path):
    if fmt == "csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if fmt == "parquet":
        return pq.read_table(path).to_pandas()
    return pd.read_stata(path)


SUFFIX = {"csv": "csv", "parquet": "parquet", "stata": "dta"}


@pytest.mark.parametrize("fmt", ["csv", "parquet", "stata"])
def test_every_table_is_written_with_its_columns_and_rows(built, tmp_path, fmt):
    result = export(fmt, tmp_path / fmt, user=built["unblinded"])
    assert not result.blinded
    for name in datasets.TABLES:
        path = tmp_path / fmt / f"{name}.{SUFFIX[fmt]}"
        frame = _read(fmt, path)
        assert list(frame.columns) == datasets.TABLES[name].column_names, name
        assert len(frame) == result.files[path.name]["rows"], name
    participants = _read(fmt, tmp_path / fmt / f"participants.{SUFFIX[fmt]}")
    assert sorted(participants["arm"]) == sorted(built["arms"].values())
    items = _read(fmt, tmp_path / fmt / f"items.{SUFFIX[fmt]}")
    # Every item response of the complete, scored forms: compare with the database row count.
    from trialdesk.apps.assessments.models import ItemResponse

    scored = [i.code for i in get_library() if i.score_names]
    expected = ItemResponse.objects.filter(
        assessment__status="complete", assessment__instrument__in=scored, number__isnull=False
    ).count()
    assert len(items) == expected > 0
    summary = json.loads((tmp_path / fmt / "export.json").read_text())
    assert summary["format"] == fmt and summary["blinded"] is False


def test_parquet_tables_pass_the_declaration_with_their_types(built, tmp_path):
    export("parquet", tmp_path, user=built["unblinded"])
    for name in datasets.TABLES:
        table = pq.read_table(tmp_path / f"{name}.parquet")
        datasets.check(name, table.to_pandas())
    assert str(pq.read_table(tmp_path / "scores.parquet").schema.field("assessed_on").type) == "date32[day]"


def test_stata_dates_are_dates(built, tmp_path):
    export("stata", tmp_path, user=built["unblinded"])
    scores = pd.read_stata(tmp_path / "scores.dta")
    assert str(scores["assessed_on"].dtype).startswith("datetime64")
    assert scores["assessed_on"].dropna().dt.year.isin([2011]).all()


def _all_bytes(directory):
    return {path.name: path.read_bytes() for path in directory.iterdir() if path.is_file()}


@pytest.mark.parametrize("fmt", ["csv", "parquet", "stata", "odm"])
def test_a_blinded_export_has_letters_only_and_no_dose(built, tmp_path, fmt):
    result = export(fmt, tmp_path, user=built["blinded"])
    assert result.blinded
    letters = dict(ArmLetter.objects.values_list("arm", "letter"))
    files = _all_bytes(tmp_path)
    assert not any(name.startswith("dose.") for name in files)
    for name, data in files.items():
        for label in ARM_LABELS:
            assert label.encode() not in data, (name, label)
    if fmt == "odm":
        from lxml import etree

        root = etree.fromstring(files["trialdesk-odm.xml"])
        values = set(root.xpath("//@Value | //@CodedValue"))
        assert not values & set(ARM_CODES)
        arm_values = root.xpath("//*[local-name()='ItemData'][@ItemOID='I.randomisation.arm']/@Value")
        assert sorted(arm_values) == sorted(letters[a] for a in built["arms"].values())
        entities = " ".join(root.xpath("//*[local-name()='SourceID']/text()"))
        assert "imr-" not in entities and "allocation" not in entities
        return
    for name in ("participants", "guesses"):
        frame = _read(fmt, tmp_path / f"{name}.{SUFFIX[fmt]}")
        column = "arm" if name == "participants" else "guess"
        assert set(frame[column]) <= {"A", "B", "dont_know"}, name
        assert set(frame[column]) & {"A", "B"}
    for table in datasets.TABLES:
        path = tmp_path / f"{table}.{SUFFIX[fmt]}"
        if path.exists():
            cells = set(_read(fmt, path).astype(str).to_numpy().ravel())
            assert not cells & set(ARM_CODES), table


@pytest.mark.parametrize("fmt", ["csv", "parquet", "stata", "odm"])
def test_no_identifying_data_in_any_export(built, tmp_path, fmt):
    export(fmt, tmp_path / "open", user=built["unblinded"])
    export(fmt, tmp_path / "blind", user=built["blinded"])
    needles = [trial.NAME, trial.CONTACT, *built["ciphertexts"]]
    for cpr in built["cprs"]:
        needles += [cpr, cpr.replace("-", "")]
    for directory in (tmp_path / "open", tmp_path / "blind"):
        for name, data in _all_bytes(directory).items():
            for needle in needles:
                assert needle.encode() not in data, (name, needle)


def test_the_data_dictionary_describes_every_column_and_item(built, tmp_path):
    export("csv", tmp_path, user=built["unblinded"])
    dictionary = pd.read_csv(tmp_path / "dictionary.csv", dtype=str, keep_default_na=False)
    columns = dictionary[dictionary["section"] == "table"]
    for name, table in datasets.TABLES.items():
        assert columns[columns["table_or_instrument"] == name]["name"].tolist() == table.column_names
    items = dictionary[dictionary["section"] == "item"]
    panss = items[items["table_or_instrument"] == "panss"]
    assert len(panss) == 30 and set(panss["allowed"]) == {"1, 2, 3, 4, 5, 6, 7"}
    markdown = (tmp_path / "dictionary.md").read_text()
    assert "## items" in markdown and "### panss" in markdown


def test_csv_and_parquet_exports_of_the_same_data_are_byte_identical(built, tmp_path):
    for fmt in ("csv", "parquet"):
        first = export(fmt, tmp_path / f"{fmt}1", user=built["blinded"])
        second = export(fmt, tmp_path / f"{fmt}2", user=built["blinded"])
        tables = {k: v for k, v in first.files.items() if not k.startswith("dictionary")}
        assert tables == {k: v for k, v in second.files.items() if not k.startswith("dictionary")}


def test_an_export_is_recorded_in_the_ledger(built, tmp_path):
    result = export("csv", tmp_path, user=built["blinded"])
    entry = LedgerEntry.objects.filter(entity="export").order_by("-seq").first()
    assert entry.actor == "dorte" and entry.entity_id == "csv"
    assert json.loads(entry.new_value)["files"]["items.csv"] == result.files["items.csv"]["sha256"]


def test_an_unknown_format_is_refused(built, tmp_path):
    with pytest.raises(UserError, match="unknown export format 'xlsx'; formats are csv, parquet, stata, odm"):
        export("xlsx", tmp_path / "x", user=built["unblinded"])
    assert not (tmp_path / "x").exists()


def test_an_assessor_may_not_export(built, tmp_path):
    assessor = built["assessor"]
    before = LedgerEntry.objects.count()
    with pytest.raises(UserError, match="anna may not export data"):
        export("csv", tmp_path / "x", user=assessor)
    assert not (tmp_path / "x").exists()
    assert LedgerEntry.objects.count() == before


def test_a_coordinator_who_sees_allocations_still_may_not_export(built, tmp_path):
    coordinator = user("carl", "coordinator", "BAL")
    with pytest.raises(UserError, match="carl may not export data"):
        export("odm", tmp_path / "x", user=coordinator)
