"""Export downloads and the snapshot list through the Django test client."""

import csv
import io
import zipfile

import pytest
from django.test import Client

import snapshots_support as trial
from enrolment_support import TEST_KEY
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants import keys
from trialdesk.apps.snapshots.models import ArmLetter
from trialdesk.apps.snapshots.snapshot import take_snapshot

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key", "data_dir")]


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setenv(keys.ENV_KEY, TEST_KEY)
        data = trial.build()
        data["cprs"] = trial.cprs()
        data["blinded"] = trial.export_user("dorte")
        data["unblinded"] = trial.export_user("ivan", unblinded=True)
    yield data
    with django_db_blocker.unblock():
        trial.wipe()


def client_for(who) -> Client:
    client = Client()
    client.force_login(who)
    return client


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _no_identifying_data(data: bytes, built) -> None:
    for needle in [trial.NAME, trial.CONTACT, *built["cprs"]]:
        assert needle.encode() not in data


def test_an_assessor_reaches_no_export(built):
    client = client_for(built["assessor"])
    for url in ("/exports/", "/exports/table/items.csv", "/exports/download/csv/"):
        assert client.get(url).status_code == 403, url


def test_a_blinded_data_manager_downloads_a_table_as_streamed_csv_with_letters(built):
    client = client_for(built["blinded"])
    page = client.get("/exports/")
    assert page.status_code == 200
    assert b"participants.csv" in page.content and b"dose.csv" not in page.content
    response = client.get("/exports/table/participants.csv")
    assert response.status_code == 200 and response.streaming
    data = _body(response)
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    letters = dict(ArmLetter.objects.values_list("arm", "letter"))
    assert [r["arm"] for r in rows] == [letters[built["arms"][r["trial_id"]]] for r in rows]
    assert b"IMR" not in data and b"TAU" not in data
    _no_identifying_data(data, built)
    assert client.get("/exports/table/dose.csv").status_code == 404


def test_an_unblinded_user_downloads_the_odm_export_as_a_zip(built):
    response = client_for(built["unblinded"]).get("/exports/download/odm/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(_body(response)))
    assert sorted(archive.namelist()) == [
        "dictionary.csv",
        "dictionary.md",
        "export.json",
        "trialdesk-odm.xml",
    ]
    odm = archive.read("trialdesk-odm.xml")
    assert b'ODMVersion="1.3.2"' in odm and b'Value="IMR"' in odm
    _no_identifying_data(odm, built)


def test_an_unknown_format_is_not_found(built):
    assert client_for(built["unblinded"]).get("/exports/download/xlsx/").status_code == 404


def test_the_snapshot_list_shows_blinded_users_blinded_snapshots_only(built):
    ctx = Context(actor="ivan", channel="command")
    take_snapshot(ctx, label="blinded lock")
    take_snapshot(ctx, label="unblinded lock", blinded=False)
    blinded = client_for(built["blinded"]).get("/exports/").content
    assert b"blinded lock" in blinded and b"unblinded lock" not in blinded
    unblinded = client_for(built["unblinded"]).get("/exports/").content
    assert b"unblinded lock" in unblinded
