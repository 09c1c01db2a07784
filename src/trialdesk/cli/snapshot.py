"""``trialdesk snapshot``: take, list and verify immutable snapshots of the analysis tables."""

from __future__ import annotations

import json

import click

from trialdesk.cli.export import find_user
from trialdesk.errors import UserError


@click.group()
def snapshot() -> None:
    """Immutable Parquet snapshots of the analysis tables (what the analysis reads)."""


def _setup() -> None:
    from trialdesk.web.bootstrap import setup

    setup()


@snapshot.command()
@click.option("--label", required=True, help="what the snapshot is for, e.g. 'database lock 2014-12-31'")
@click.option("--user", "username", required=True, help="taken by this user (needs export-data)")
@click.option("--unblinded", is_flag=True, help="named arms (the user must be allowed to see allocations)")
@click.option("--json", "as_json", is_flag=True, help="print the manifest as one JSON document")
def take(label: str, username: str, unblinded: bool, as_json: bool) -> None:
    """Write every analysis table to a new snapshot."""
    _setup()
    from trialdesk.apps.accounts.permissions import allowed
    from trialdesk.apps.ledger.services import Context
    from trialdesk.apps.snapshots.snapshot import take_snapshot
    from trialdesk.apps.trial.services import active_hash

    user = find_user(username)
    if not allowed(user, "export-data"):
        raise UserError(f"{username} may not take snapshots (needs the export-data permission)")
    if unblinded and not allowed(user, "view-allocation"):
        raise UserError(f"{username} may not take an unblinded snapshot (may not see allocations)")
    context = Context(actor=username, channel="command", protocol_hash=active_hash())
    made = take_snapshot(context, label=label, blinded=not unblinded)
    if as_json:
        click.echo(json.dumps(made.manifest, sort_keys=True))
        return
    click.echo(f"snapshot {made.id} ({'blinded' if made.blinded else 'unblinded'}): {made.label}")
    for entry in made.manifest["tables"].values():
        click.echo(f"  {entry['file']:<24}{entry['rows']:>9} rows  sha256 {entry['sha256'][:16]}")


@snapshot.command("list")
@click.option("--json", "as_json", is_flag=True, help="print the list as one JSON document")
def list_(as_json: bool) -> None:
    """List snapshots, newest first."""
    _setup()
    from trialdesk.apps.snapshots.models import Snapshot

    rows = [
        {
            "id": s.id,
            "label": s.label,
            "taken_at": s.taken_at.isoformat(),
            "taken_by": s.taken_by,
            "blinded": s.blinded,
            "protocol_hash": s.protocol_hash,
            "rows": {n: t["rows"] for n, t in s.manifest["tables"].items()},
        }
        for s in Snapshot.objects.all()
    ]
    if as_json:
        click.echo(json.dumps({"snapshots": rows}, sort_keys=True))
        return
    if not rows:
        click.echo("no snapshots yet")
    for row in rows:
        kind = "blinded" if row["blinded"] else "unblinded"
        click.echo(f"{row['id']}  {row['taken_at'][:19]}  {row['taken_by']:<12} {kind:<9} {row['label']}")


@snapshot.command()
@click.argument("snapshot_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="print the verdict as one JSON document")
def verify(snapshot_id: str | None, as_json: bool) -> None:
    """Check a snapshot's files (default: the latest) against its manifest; exit 1 naming any problem."""
    _setup()
    from trialdesk.apps.snapshots.snapshot import _get, problems

    found = _get(snapshot_id)
    issues = problems(found)
    if as_json:
        click.echo(json.dumps({"id": found.id, "ok": not issues, "problems": issues}))
    elif issues:
        for line in issues:
            click.echo(line, err=True)
    else:
        click.echo(f"ok: snapshot {found.id}, {len(found.manifest['tables'])} files match the manifest")
    if issues:
        raise click.exceptions.Exit(1)
