"""Backup and restore: one archive file holding a consistent copy of the database, checked before use.

The archive is a zip file with ``manifest.json`` (format, database kind, time, every file's SHA-256 and
row counts) and the data:

* SQLite: ``database.sqlite3``, a page-by-page copy made with SQLite's online backup API
  (``sqlite3.Connection.backup``), consistent while the application keeps running;
* PostgreSQL: ``tables/<table>.copy``, every table in PostgreSQL's COPY text format (``COPY ... TO
  STDOUT``), all read in one REPEATABLE READ transaction so they show one moment. pg_dump is not needed.

The key table (``participants_personaldata``) is in it as stored: ciphertext and keyed fingerprints.
The personal-data key lives outside the database and is never in an archive; keep it apart.

Restore checks every SHA-256 before it touches the database and refuses a corrupted or altered archive,
an archive of another database kind, and a database that already holds trial data. It then brings
everything back in one step and verifies the audit ledger's hash chain.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.ledger.services import Context, append, verify_ledger
from trialdesk.errors import UserError

from .reading import consistent_read

FORMAT = "trialdesk-backup/1"
SQLITE_FILE = "database.sqlite3"
KEY_TABLE = "participants_personaldata"
#: Tables that must be empty for a restore (a migrated but unused database has rows only in Django's own).
TRIAL_TABLES = ("ledger_ledgerentry", "trial_protocolversion", "participants_participant", "auth_user")
BLOCK = 1 << 20


def _stream(source, target, digest) -> int:
    size = 0
    while block := source.read(BLOCK):
        digest.update(block)
        target.write(block)
        size += len(block)
    return size


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - table names from introspection
        return int(cursor.fetchone()[0])


def _sqlite_copy(archive: zipfile.ZipFile, workdir: Path) -> dict[str, Any]:
    copy_path = workdir / SQLITE_FILE
    connection.ensure_connection()
    target = sqlite3.connect(copy_path)
    try:
        connection.connection.backup(target)
    finally:
        target.close()
    digest = hashlib.sha256()
    with copy_path.open("rb") as source, archive.open(SQLITE_FILE, "w", force_zip64=True) as out:
        size = _stream(source, out, digest)
    check = sqlite3.connect(copy_path)
    try:
        names = [
            r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        rows = {n: check.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}  # noqa: S608
    finally:
        check.close()
    return {"files": {SQLITE_FILE: {"sha256": digest.hexdigest(), "bytes": size}}, "rows": rows}


def _pg_columns(cursor, table: str) -> list[str]:
    return [column.name for column in connection.introspection.get_table_description(cursor, table)]


def _pg_copy(archive: zipfile.ZipFile) -> dict[str, Any]:
    from psycopg import sql

    files: dict[str, Any] = {}
    rows: dict[str, int] = {}
    columns: dict[str, list[str]] = {}
    with consistent_read(), connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            columns[table] = _pg_columns(cursor, table)
            statement = sql.SQL("COPY {} ({}) TO STDOUT").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns[table]))
            )
            digest, size, lines = hashlib.sha256(), 0, 0
            name = f"tables/{table}.copy"
            with archive.open(name, "w", force_zip64=True) as out, cursor.copy(statement) as copy:
                for block in copy:
                    data = bytes(block)
                    digest.update(data)
                    out.write(data)
                    size += len(data)
                    lines += data.count(b"\n")  # one line per row: COPY escapes newlines in values
            files[name] = {"sha256": digest.hexdigest(), "bytes": size}
            rows[table] = lines
    return {"files": files, "rows": rows, "columns": columns}


def backup(path: Path, context: Context) -> dict[str, Any]:
    """Write a backup archive to ``path``; returns its manifest."""
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise UserError(_("backup supports SQLite and PostgreSQL, not %(vendor)s") % {"vendor": vendor})
    if path.exists():
        raise UserError(_("%(path)s exists: choose a new file name for the backup") % {"path": path})
    with transaction.atomic():
        # Recorded before the copy, so the archive holds its own entry and the restored ledger ends there.
        append(context, action="backup", entity="database", entity_id=vendor, new={"file": path.name})
    partial = path.with_name(f".{path.name}.partial")
    try:
        with (
            tempfile.TemporaryDirectory() as workdir,
            zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        ):
            data = _sqlite_copy(archive, Path(workdir)) if vendor == "sqlite" else _pg_copy(archive)
            manifest = {
                "format": FORMAT,
                "vendor": vendor,
                "created_at": clock.now().isoformat(),
                "created_by": context.actor,
                **data,
                "key_table": {
                    "table": KEY_TABLE,
                    "rows": data["rows"].get(KEY_TABLE, 0),
                    "note": "encrypted as stored; the personal-data key is not in this archive",
                },
            }
            archive.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest


def _read_manifest(path: Path, archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = json.loads(archive.read("manifest.json"))
    except KeyError:
        raise UserError(
            _("%(path)s is not a trialdesk backup: it has no manifest.json") % {"path": path}
        ) from None
    except (ValueError, zipfile.BadZipFile, zlib_error()):
        raise UserError(
            _("%(path)s: manifest.json is damaged; nothing was restored") % {"path": path}
        ) from None
    if manifest.get("format") != FORMAT:
        raise UserError(_("%(path)s is not a %(format)s archive (format %(found)s)") % {
            "path": path, "format": FORMAT, "found": repr(manifest.get('format'))})
    return manifest


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error


def verify_archive(path: Path) -> dict[str, Any]:
    """The archive's manifest, after checking every file's SHA-256; a UserError names the first problem."""
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise UserError(_("no such file: %(path)s") % {"path": path}) from None
    except zipfile.BadZipFile:
        raise UserError(_("%(path)s is not a trialdesk backup archive (not a readable zip file)") % {
            "path": path}) from None
    with archive:
        manifest = _read_manifest(path, archive)
        listed = set(manifest["files"]) | {"manifest.json"}
        extra = sorted(set(archive.namelist()) - listed)
        if extra:
            raise UserError(
                _("%(path)s: %(extra)s is not in the manifest (archive altered); nothing was restored") % {
                    "path": path, "extra": extra[0]}
            )
        for name, entry in manifest["files"].items():
            digest = hashlib.sha256()
            try:
                with archive.open(name) as member:
                    while block := member.read(BLOCK):
                        digest.update(block)
            except KeyError:
                raise UserError(_("%(path)s: %(name)s is missing from the archive; nothing was restored") % {
                    "path": path, "name": name}) from None
            except (zipfile.BadZipFile, zlib_error(), EOFError):
                raise UserError(_("%(path)s: %(name)s is corrupted (unreadable); nothing was restored") % {
                    "path": path, "name": name}) from None
            if digest.hexdigest() != entry["sha256"]:
                raise UserError(
                    _(
                        "%(path)s: %(name)s does not match its SHA-256 in the manifest (corrupted or "
                        "altered); nothing was restored"
                    ) % {"path": path, "name": name}
                )
    return manifest


def _require_empty() -> None:
    present = set(connection.introspection.table_names())
    busy = [f"{table} ({n} rows)" for table in TRIAL_TABLES if table in present and (n := _count(table))]
    if busy:
        raise UserError(
            "restore needs an empty database (migrated, never used), but it holds data: "
            + ", ".join(busy)
            + "; nothing was restored"
        )


def _sqlite_restore(path: Path, manifest: dict[str, Any]) -> None:
    expected = manifest["files"][SQLITE_FILE]["sha256"]
    with tempfile.TemporaryDirectory() as workdir:
        copy_path = Path(workdir) / SQLITE_FILE
        digest = hashlib.sha256()
        with (
            zipfile.ZipFile(path) as archive,
            archive.open(SQLITE_FILE) as source,
            copy_path.open("wb") as out,
        ):
            _stream(source, out, digest)
        if digest.hexdigest() != expected:  # the file changed since it was verified
            raise UserError(_("%(path)s: %(sqlite_file)s changed while restoring; nothing was restored") % {
                "path": path, "sqlite_file": SQLITE_FILE})
        source_db = sqlite3.connect(copy_path)
        try:
            connection.ensure_connection()
            source_db.backup(connection.connection)
        finally:
            source_db.close()


def _pg_restore(path: Path, manifest: dict[str, Any]) -> None:
    from psycopg import sql

    with connection.cursor() as cursor:
        present = {t: _pg_columns(cursor, t) for t in connection.introspection.table_names(cursor)}
    if present != manifest["columns"]:
        archived = manifest["columns"]
        differ = sorted(t for t in set(present) | set(archived) if present.get(t) != archived.get(t))
        raise UserError(
            _(
                "this database's tables differ from the archive's (migrate it to the version the backup "
                "was made with first): %(differ)s; nothing was restored"
            ) % {"differ": ', '.join(differ)}
        )
    tables = [t for t in sorted(present) if t != "django_migrations"]
    with transaction.atomic(), connection.cursor() as cursor, zipfile.ZipFile(path) as archive:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in tables:
            cursor.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
        for table in tables:
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, present[table]))
            )
            with archive.open(f"tables/{table}.copy") as source, cursor.copy(statement) as copy:
                while block := source.read(BLOCK):
                    copy.write(block)
        from django.apps import apps

        for statement in connection.ops.sequence_reset_sql(
            no_style(), apps.get_models(include_auto_created=True)
        ):
            cursor.execute(statement)


def restore(path: Path):
    """Restore the archive at ``path`` into this (empty) database; returns the ledger's verdict."""
    manifest = verify_archive(path)
    if manifest["vendor"] != connection.vendor:
        raise UserError(
            _(
                "%(path)s is a %(archive_vendor)s backup; this database is %(vendor)s: restore into the same "
                "kind of database; nothing was restored"
            ) % {"path": path, "archive_vendor": manifest['vendor'], "vendor": connection.vendor}
        )
    _require_empty()
    if connection.vendor == "sqlite":
        _sqlite_restore(path, manifest)
    else:
        _pg_restore(path, manifest)
    return verify_ledger()
