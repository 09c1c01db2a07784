"""Immutable snapshots of the analysis tables: taken at a lock, read by the analysis, never changed.

A snapshot is a directory ``DATA_DIR/snapshots/<id>`` of Parquet files, one per table of
:mod:`trialdesk.datasets`, and a ``manifest.json`` with each file's SHA-256 and row count, the protocol
hash and the time. Files are written once and made read-only; the database row keeps the manifest and
its hash and refuses changes. :func:`load_snapshot` checks every hash before returning anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock, datasets
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.trial.services import active_hash
from trialdesk.errors import UserError

from .arrow import schema, sha256_file, to_arrow
from .extract import Extraction
from .models import Snapshot
from .reading import consistent_read

FORMAT = "trialdesk-snapshot/1"
READ_ONLY_FILE, READ_ONLY_DIR = 0o444, 0o555


def snapshots_root() -> Path:
    return Path(settings.DATA_DIR) / "snapshots"


def snapshot_dir(snapshot_id: str) -> Path:
    return snapshots_root() / snapshot_id


def write_table(extraction: Extraction, name: str, path: Path) -> int:
    """Write one table as Parquet a chunk (row group) at a time; returns the row count.

    Each chunk is checked against the declaration (columns, empty values, duplicate keys within it).
    Keys cannot repeat across chunks: the chunked tables (items, scores) are read in primary-key order
    from rows whose key columns are unique together in the database.
    """
    rows = 0
    with pq.ParquetWriter(path, schema(name)) as writer:
        if name in ("items", "scores"):
            for chunk in extraction.chunks(name):
                checked = datasets.check(name, chunk)
                writer.write_table(to_arrow(name, checked))
                rows += len(checked)
        else:
            whole = extraction.table(name)
            writer.write_table(to_arrow(name, whole))
            rows = len(whole)
    return rows


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def take_snapshot(context: Context, label: str = "", *, blinded: bool = True) -> Snapshot:
    """Write every analysis table to a new snapshot and record it (the locking code calls this)."""
    label = label.strip() or "snapshot"
    if len(label) > Snapshot._meta.get_field("label").max_length:
        raise UserError(_("a snapshot label has at most 200 characters; this one has %(count)s") % {
            "count": len(label)})
    extraction = Extraction(blinded=blinded)  # draws the arm letters first if this is their first use
    taken_at = clock.now()
    snapshot_id = f"{taken_at.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    final = snapshot_dir(snapshot_id)
    partial = snapshots_root() / f".{snapshot_id}.partial"
    partial.mkdir(parents=True)
    try:
        tables: dict[str, Any] = {}
        with consistent_read():
            protocol_hash = active_hash()
            for name in extraction.tables:
                path = partial / f"{name}.parquet"
                rows = write_table(extraction, name, path)
                path.chmod(READ_ONLY_FILE)
                tables[name] = {
                    "file": path.name,
                    "rows": rows,
                    "sha256": sha256_file(path),
                    "bytes": path.stat().st_size,
                }
        manifest = {
            "format": FORMAT,
            "id": snapshot_id,
            "label": label,
            "taken_at": taken_at.isoformat(),
            "taken_by": context.actor,
            "protocol_hash": protocol_hash,
            "blinded": blinded,
            "tables": tables,
        }
        text = _manifest_bytes(manifest)
        (partial / "manifest.json").write_bytes(text)
        (partial / "manifest.json").chmod(READ_ONLY_FILE)
        partial.rename(final)
        final.chmod(READ_ONLY_DIR)
        with transaction.atomic():
            snapshot = Snapshot(
                id=snapshot_id,
                label=label,
                taken_at=taken_at,
                taken_by=context.actor,
                protocol_hash=protocol_hash,
                blinded=blinded,
                manifest=manifest,
                manifest_sha256=hashlib.sha256(text).hexdigest(),
            )
            snapshot.save()
            append(
                context,
                action="create",
                entity="snapshot",
                entity_id=snapshot_id,
                new={
                    "label": label,
                    "blinded": blinded,
                    "manifest_sha256": snapshot.manifest_sha256,
                    "rows": {name: t["rows"] for name, t in tables.items()},
                },
            )
    except BaseException:
        for leftover in (partial, final):
            if leftover.exists():
                _remove(leftover)
        raise
    return snapshot


def _remove(directory: Path) -> None:
    directory.chmod(0o755)
    for path in directory.iterdir():
        path.chmod(0o644)
    shutil.rmtree(directory)


def _get(snapshot_id: str | None) -> Snapshot:
    if snapshot_id is None:
        found = Snapshot.objects.order_by("-taken_at", "-id").first()
        if found is None:
            raise UserError(_("there is no snapshot yet: take one with `trialdesk snapshot take`"))
        return found
    found = Snapshot.objects.filter(pk=snapshot_id).first()
    if found is None:
        raise UserError(_("no snapshot %(snapshot_id)s; `trialdesk snapshot list` shows them") % {
            "snapshot_id": repr(snapshot_id)})
    return found


def problems(snapshot: Snapshot) -> list[str]:
    """Every way the files on disk differ from the recorded manifest (empty: intact)."""
    directory = snapshot_dir(snapshot.id)
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        return [f"snapshot {snapshot.id}: {manifest_path} is missing"]
    if sha256_file(manifest_path) != snapshot.manifest_sha256:
        return [
            f"snapshot {snapshot.id}: {manifest_path} does not match the SHA-256 recorded when the "
            "snapshot was taken (altered)"
        ]
    found = []
    for name, entry in snapshot.manifest["tables"].items():
        path = directory / entry["file"]
        if not path.is_file():
            found.append(f"snapshot {snapshot.id}: {path} is missing (table {name})")
        elif sha256_file(path) != entry["sha256"]:
            found.append(
                f"snapshot {snapshot.id}: {path} does not match its SHA-256 in the manifest "
                f"(table {name} altered or corrupted)"
            )
    return found


def load_snapshot(snapshot_id: str | None = None, *, user: Any = None) -> dict[str, pd.DataFrame]:
    """The tables of a snapshot (the latest if no id), after checking every file against the manifest.

    With ``user``, an unblinded snapshot is refused to users not allowed to see allocations.
    """
    snapshot = _get(snapshot_id)
    if user is not None and not snapshot.blinded:
        from trialdesk.apps.accounts.permissions import allowed

        if not allowed(user, "view-allocation"):
            raise UserError(_("snapshot %(id)s is unblinded: %(username)s may not read it") % {
                "id": snapshot.id, "username": user.get_username()})
    found = problems(snapshot)
    if found:
        raise UserError("\n".join(found))
    out = {}
    for name, entry in snapshot.manifest["tables"].items():
        path = snapshot_dir(snapshot.id) / entry["file"]
        data = path.read_bytes()
        # Hash the very bytes that are parsed, so a file swapped after the check above is caught too.
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise UserError(_("snapshot %(id)s: %(path)s does not match its SHA-256 in the manifest") % {
                "id": snapshot.id, "path": path})
        out[name] = datasets.check(name, pq.read_table(pa.BufferReader(data)).to_pandas())
    return out
