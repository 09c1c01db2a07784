"""Snapshots: analysis tables as Parquet with a manifest of SHA-256s, immutable, verified on every load."""

import hashlib
import json
import os

import pandas as pd
import pytest

import snapshots_support as trial
from enrolment_support import TEST_KEY
from trialdesk import datasets
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants import keys
from trialdesk.apps.snapshots.models import ArmLetter, Snapshot
from trialdesk.apps.snapshots.snapshot import load_snapshot, snapshot_dir, take_snapshot
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key", "data_dir")]


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setenv(keys.ENV_KEY, TEST_KEY)
        data = trial.build()
    yield data
    with django_db_blocker.unblock():
        trial.wipe()


def _ctx():
    return Context(actor="dorte", channel="command")


def test_a_snapshot_holds_every_table_and_each_passes_the_declaration(built):
    snapshot = take_snapshot(_ctx(), label="database lock", blinded=False)
    tables = load_snapshot(snapshot.id)
    assert sorted(tables) == sorted(datasets.TABLES)
    for name, frame in tables.items():
        datasets.check(name, frame)
        assert snapshot.manifest["tables"][name]["rows"] == len(frame)
    # Six randomised participants, arms as the hand-written list gives them (IMR, TAU, TAU, IMR, IMR, TAU).
    participants = tables["participants"].set_index("trial_id")
    assert participants["arm"].tolist() == ["IMR", "TAU", "TAU", "IMR", "IMR", "TAU"]
    assert sorted(tables["dose"]["trial_id"]) == sorted(p.trial_id for p in built["imr"])
    assert set(tables["dose"]["sessions_attended"]) == {1}
    # The not-done GAF-F at month 9 is a row with no value and its reason.
    not_done = tables["scores"][tables["scores"]["not_done_reason"].notna()]
    assert not_done[["visit", "instrument", "value"]].iloc[0].tolist()[:2] == ["m9", "gaf_f"]
    assert not_done["value"].isna().all()
    assert len(tables["guesses"]) == 4
    assert len(tables["fidelity"]) == 1 and tables["fidelity"]["score"].iloc[0] == 4.0
    assert tables["register"]["er_visits"].sum() == 2
    assert tables["register"]["bed_days"].sum() == 10


def test_the_manifest_records_hashes_rows_protocol_and_time(built):
    snapshot = take_snapshot(_ctx(), label="lock 1")
    directory = snapshot_dir(snapshot.id)
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest == snapshot.manifest
    assert manifest["protocol_hash"] == built["context"].protocol_hash
    assert manifest["blinded"] is True and manifest["label"] == "lock 1"
    for entry in manifest["tables"].values():
        data = (directory / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert not os.access(directory / entry["file"], os.W_OK) or os.geteuid() == 0
        assert (directory / entry["file"]).stat().st_mode & 0o222 == 0
    assert LedgerEntry.objects.filter(entity="snapshot", entity_id=snapshot.id).count() == 1


def test_a_blinded_snapshot_shows_letters_and_leaves_out_dose_and_groups(built):
    snapshot = take_snapshot(_ctx(), label="blinded")
    tables = load_snapshot(snapshot.id)
    letters = dict(ArmLetter.objects.values_list("arm", "letter"))
    assert sorted(letters.values()) == ["A", "B"]
    participants = tables["participants"]
    assert set(participants["arm"]) == {"A", "B"}
    expected = [letters[built["arms"][t]] for t in participants["trial_id"]]
    assert participants["arm"].tolist() == expected
    assert participants["group_id"].isna().all()
    assert "dose" not in tables
    assert set(tables["guesses"]["guess"]) <= {"A", "B"}
    for name, frame in tables.items():
        text = frame.astype(str).to_csv()
        assert "IMR" not in text and "TAU" not in text, name


def test_the_letters_are_drawn_once_and_kept(built):
    first = take_snapshot(_ctx(), label="one")
    second = take_snapshot(_ctx(), label="two")
    a = load_snapshot(first.id)["participants"]["arm"].tolist()
    b = load_snapshot(second.id)["participants"]["arm"].tolist()
    assert a == b
    assert ArmLetter.objects.count() == 2


def test_an_altered_file_fails_the_load_naming_the_file(built):
    snapshot = take_snapshot(_ctx(), label="lock")
    path = snapshot_dir(snapshot.id) / "scores.parquet"
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match=r"scores\.parquet does not match its SHA-256"):
        load_snapshot(snapshot.id)


def test_an_altered_manifest_fails_the_load(built):
    snapshot = take_snapshot(_ctx(), label="lock")
    path = snapshot_dir(snapshot.id) / "manifest.json"
    path.chmod(0o644)
    path.write_text(path.read_text().replace('"label": "lock"', '"label": "lick"'))
    with pytest.raises(UserError, match=r"manifest\.json does not match"):
        load_snapshot(snapshot.id)


def test_a_snapshot_row_refuses_changes_and_deletion(built):
    snapshot = take_snapshot(_ctx(), label="lock")
    snapshot.label = "something else"
    with pytest.raises(UserError, match="immutable: refusing to change label"):
        snapshot.save()
    with pytest.raises(UserError, match="cannot be deleted"):
        Snapshot.objects.get(pk=snapshot.pk).delete()
    assert Snapshot.objects.get(pk=snapshot.pk).label == "lock"


def test_the_latest_snapshot_is_loaded_without_an_id(built):
    take_snapshot(_ctx(), label="first")
    take_snapshot(_ctx(), label="second")
    latest = Snapshot.objects.order_by("-taken_at").first()
    assert latest.label == "second"
    tables = load_snapshot()
    assert isinstance(tables["items"], pd.DataFrame) and len(tables["items"]) > 0


def test_no_snapshot_and_unknown_id_are_clear_errors(built):
    with pytest.raises(UserError, match="there is no snapshot yet"):
        load_snapshot()
    with pytest.raises(UserError, match="no snapshot 'nope'"):
        load_snapshot("nope")


def test_an_unblinded_snapshot_is_refused_to_a_blinded_user(built):
    snapshot = take_snapshot(_ctx(), label="open", blinded=False)
    blinded = trial.export_user("dorte")
    with pytest.raises(UserError, match="is unblinded: dorte may not read it"):
        load_snapshot(snapshot.id, user=blinded)
    assert "dose" in load_snapshot(snapshot.id, user=trial.export_user("ivan", unblinded=True))
