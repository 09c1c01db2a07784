"""``trialdesk backup PATH`` and ``trialdesk restore PATH``: one archive with the whole database."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import click

from trialdesk.errors import UserError


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print the manifest as one JSON document")
def backup(path: Path, as_json: bool) -> None:
    """Write a consistent copy of the database (with the encrypted key table, never the key) to PATH.

    Keep the printed SHA-256 apart from the archive: `trialdesk restore --sha256` checks it.
    """
    from trialdesk.web.bootstrap import setup

    setup()
    from trialdesk.apps.ledger.services import Context
    from trialdesk.apps.snapshots.backup import backup as run

    manifest = run(path, Context(actor="command", channel="command"))
    digest = _sha256(path)
    if as_json:
        click.echo(json.dumps({"path": str(path), "sha256": digest, "manifest": manifest}, sort_keys=True))
        return
    rows = sum(manifest["rows"].values())
    click.echo(
        f"backup of the {manifest['vendor']} database written to {path}: {len(manifest['files'])} "
        f"file(s), {rows} rows, {manifest['key_table']['rows']} encrypted key-table rows"
    )
    click.echo(f"sha256 {digest}")


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sha256", "expected", default=None, help="refuse the archive unless it has this SHA-256")
@click.option("--json", "as_json", is_flag=True, help="print the verdict as one JSON document")
def restore(path: Path, expected: str | None, as_json: bool) -> None:
    """Restore a backup archive into an empty database, then verify the audit ledger (exit 1 if broken).

    Every file is checked against the archive's manifest first; a corrupted or altered archive is
    refused and nothing is changed.
    """
    if expected is not None and path.is_file() and _sha256(path) != expected.lower():
        raise UserError(f"{path} does not have the SHA-256 given with --sha256; nothing was restored")
    from trialdesk.web.bootstrap import setup

    setup(migrate=True)
    from trialdesk.apps.snapshots.backup import restore as run

    verdict = run(path)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "restored": str(path),
                    "ledger_ok": verdict.ok,
                    "checked": verdict.checked,
                    "broken_seq": verdict.broken_seq,
                    "problem": verdict.problem,
                }
            )
        )
    else:
        click.echo(f"restored {path}; ledger: {verdict}", err=not verdict.ok)
    if not verdict.ok:
        raise click.exceptions.Exit(1)
