"""Exports through the API, on the web's terms: export-data needed; blinded callers get arm letters and no
dose table; tables stream as CSV; a whole export streams as a zip; each download is in the ledger."""

import csv
import io
import zipfile

import pytest

import snapshots_support as trial
from api_support import Api
from enrolment_support import TEST_KEY
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.participants import keys
from trialdesk.apps.snapshots.models import ArmLetter

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key", "data_dir")]


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setenv(keys.ENV_KEY, TEST_KEY)
        data = trial.build()
        data["cprs"] = trial.cprs()
        data["blinded"] = Api(trial.export_user("dorte"))
        data["unblinded"] = Api(trial.export_user("ivan", unblinded=True))
        data["assessor_api"] = Api(data["assessor"])
    yield data
    with django_db_blocker.unblock():
        trial.wipe()


def _body(response) -> bytes:
    # Read to its end, a download closes itself (the test client's wrapper; closing it again would end the
    # request a second time and, on PostgreSQL, hand the test's connection back to the pool).
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_an_assessor_reaches_no_export(built):
    api = built["assessor_api"]
    for path in ("/api/exports", "/api/exports/tables/items", "/api/exports/archive/csv"):
        answer = api.get(path)
        assert answer.status_code == 403, path
        assert answer.json()["detail"].startswith("your role does not allow this")


def test_a_blinded_caller_streams_a_table_with_arm_letters(built):
    api = built["blinded"]
    listing = api.get("/api/exports").json()
    assert listing["blinded"] is True
    names = [t["name"] for t in listing["tables"]]
    assert "participants" in names and "dose" not in names
    response = api.get("/api/exports/tables/participants")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    data = _body(response)
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    letters = dict(ArmLetter.objects.values_list("arm", "letter"))
    assert [r["arm"] for r in rows] == [letters[built["arms"][r["trial_id"]]] for r in rows]
    assert b"IMR" not in data and b"TAU" not in data
    for needle in [trial.NAME, trial.CONTACT, *built["cprs"]]:
        assert needle.encode() not in data
    assert api.get("/api/exports/tables/dose").status_code == 404
    entry = LedgerEntry.objects.filter(entity="export-table").latest("seq")
    assert (entry.channel, entry.actor, entry.entity_id) == ("api", "dorte", "participants")


def test_an_unblinded_caller_downloads_a_whole_export_as_a_zip(built):
    response = built["unblinded"].get("/api/exports/archive/csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(_body(response)))
    assert {"participants.csv", "dose.csv", "dictionary.md", "export.json"} <= set(archive.namelist())
    assert b"IMR" in archive.read("participants.csv")
    entry = LedgerEntry.objects.filter(entity="export").latest("seq")
    assert (entry.channel, entry.actor, entry.entity_id) == ("api", "ivan", "csv")


def test_an_unknown_format_is_refused(built):
    answer = built["unblinded"].get("/api/exports/archive/xlsx")
    assert (answer.status_code, answer.json()["field"]) == (422, "fmt")
