"""Backup and restore on the configured database (SQLite by default; PostgreSQL with DATABASE_URL).

Restored data verify their ledger and export byte for byte what the original exported; a corrupted,
altered or foreign archive is refused with a clear error and changes nothing; so is a non-empty database.
"""

import datetime as dt
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

import snapshots_support as trial
from enrolment_support import TEST_KEY, enrol, install
from trialdesk import clock
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants import keys
from trialdesk.apps.participants.models import Participant, PersonalData
from trialdesk.apps.snapshots.backup import backup, restore
from trialdesk.apps.snapshots.export import export
from trialdesk.errors import UserError

pytestmark = pytest.mark.django_db(transaction=True)
CTX = Context(actor="dorte", channel="command")
EXPORTED_AT = dt.datetime(2015, 1, 5, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _key(monkeypatch, settings, tmp_path):
    monkeypatch.setenv(keys.ENV_KEY, TEST_KEY)
    settings.DATA_DIR = tmp_path / "data"


def _wipe():
    call_command("flush", interactive=False, verbosity=0)
    assert LedgerEntry.objects.count() == 0


def _exports(directory, username):
    """Every format, one after another. Each export appends to the ledger and the next one reports that
    entry's time, so both runs are made at the same (frozen) instant."""
    user = get_user_model().objects.get(username=username)
    files = {}
    for fmt in ("csv", "parquet", "stata", "odm"):
        with clock.frozen(EXPORTED_AT):
            export(fmt, directory / fmt, user=user)
        files.update({f"{fmt}/{p.name}": p.read_bytes() for p in sorted((directory / fmt).iterdir())})
    return files


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_restored_database_verifies_its_ledger_and_exports_byte_for_byte(tmp_path):
    trial.build()
    trial.export_user("ivan", unblinded=True)
    ciphertexts = sorted(trial.ciphertexts())
    archive = tmp_path / "trial.backup"
    manifest = backup(archive, CTX)
    assert manifest["vendor"] == connection.vendor
    assert manifest["key_table"]["rows"] == PersonalData.objects.count() == 6
    original = _exports(tmp_path / "original", "ivan")
    ledger = LedgerEntry.objects.count()

    _wipe()
    verdict = restore(archive)
    assert verdict.ok, str(verdict)
    # The restored ledger ends at the backup's own entry; the exports made after it are not in it.
    assert verdict.checked == LedgerEntry.objects.count() == ledger - 4
    assert LedgerEntry.objects.order_by("-seq").first().action == "backup"
    assert sorted(trial.ciphertexts()) == ciphertexts
    assert sorted(trial.cprs()) == sorted(trial.cprs())  # still decrypts with the key kept outside
    restored = _exports(tmp_path / "restored", "ivan")
    assert restored.keys() == original.keys()
    for name, data in original.items():
        assert restored[name] == data, name


def test_the_archive_holds_the_key_table_encrypted_and_never_the_key(tmp_path):
    install()
    enrol(install())
    archive = tmp_path / "trial.backup"
    backup(archive, CTX)
    everything = b"".join(_members(archive).values())
    assert TEST_KEY.encode() not in everything
    assert trial.NAME.encode() not in everything and trial.cprs()[0].encode() not in everything
    assert trial.ciphertexts()[0].encode() in everything


def _small(tmp_path):
    enrol(install())
    archive = tmp_path / "trial.backup"
    backup(archive, CTX)
    return archive


def _rewritten(archive, target, change):
    """A copy of ``archive`` with the largest data member changed by ``change`` (manifest untouched)."""
    members = _members(archive)
    victim = max((n for n in members if n != "manifest.json"), key=lambda n: len(members[n]))
    members[victim] = change(members[victim])
    with zipfile.ZipFile(target, "w") as out:
        for name, data in members.items():
            out.writestr(name, data)
    return victim


def _flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


def test_an_altered_archive_is_refused_and_nothing_changes(tmp_path):
    archive = _small(tmp_path)
    altered = tmp_path / "altered.backup"
    victim = _rewritten(archive, altered, _flip)
    _wipe()
    with pytest.raises(
        UserError, match=rf"{victim} does not match its SHA-256 in the manifest .* nothing was"
    ):
        restore(altered)
    assert Participant.objects.count() == 0 and LedgerEntry.objects.count() == 0


def _data_offset(path):
    """Where the compressed bytes of the archive's largest member start."""
    with zipfile.ZipFile(path) as archive:
        info = max(archive.infolist(), key=lambda i: i.compress_size)
    with path.open("rb") as handle:
        handle.seek(info.header_offset + 26)
        name_length, extra_length = (
            int.from_bytes(handle.read(2), "little"),
            int.from_bytes(handle.read(2), "little"),
        )
    return info.header_offset + 30 + name_length + extra_length, info.compress_size


def test_a_corrupted_file_is_refused_and_nothing_changes(tmp_path):
    archive = _small(tmp_path)
    data = bytearray(archive.read_bytes())
    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(bytes(data[: len(data) // 2]))
    flipped = tmp_path / "flipped.backup"
    start, size = _data_offset(archive)
    data[start + size // 2] ^= 0xFF  # a bit flip inside the stored data, as a failing disk would make
    flipped.write_bytes(bytes(data))
    _wipe()
    with pytest.raises(UserError, match="not a trialdesk backup archive"):
        restore(truncated)
    with pytest.raises(UserError, match=r"(corrupted|does not match its SHA-256).*nothing was restored"):
        restore(flipped)
    with pytest.raises(UserError, match="no such file"):
        restore(tmp_path / "missing.backup")
    assert Participant.objects.count() == 0 and LedgerEntry.objects.count() == 0


def test_a_database_with_data_is_not_overwritten(tmp_path):
    archive = _small(tmp_path)
    before = (Participant.objects.count(), LedgerEntry.objects.count())
    with pytest.raises(UserError, match=r"restore needs an empty database .* ledger_ledgerentry"):
        restore(archive)
    assert (Participant.objects.count(), LedgerEntry.objects.count()) == before


def test_an_archive_of_another_kind_of_database_is_refused(tmp_path):
    archive = _small(tmp_path)
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    members = _members(archive)
    foreign = tmp_path / "foreign.backup"
    with zipfile.ZipFile(foreign, "w") as out:
        for name, data in members.items():
            swapped = data.replace(
                f'"vendor": "{connection.vendor}"'.encode(), f'"vendor": "{other}"'.encode()
            )
            out.writestr(name, swapped if name == "manifest.json" else data)
    _wipe()
    with pytest.raises(UserError, match=f"is a {other} backup; this database is {connection.vendor}"):
        restore(foreign)


def test_backup_refuses_to_overwrite_a_file(tmp_path):
    install()
    existing = tmp_path / "there.backup"
    existing.write_text("keep me")
    with pytest.raises(UserError, match="exists: choose a new file name"):
        backup(existing, CTX)
    assert existing.read_text() == "keep me"
