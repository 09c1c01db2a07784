"""``trialdesk export``: the analysis tables as CSV, Parquet, Stata or CDISC ODM, with a data dictionary."""

from __future__ import annotations

import json
from pathlib import Path

import click

from trialdesk.errors import UserError


def find_user(username: str | None):
    """The active user named ``username`` (None stays None: a blinded export)."""
    if username is None:
        return None
    from django.contrib.auth import get_user_model

    found = get_user_model().objects.filter(username=username, is_active=True).first()
    if found is None:
        raise UserError(f"no active user named {username!r}")
    return found


@click.command()
@click.option("--format", "fmt", required=True, metavar="csv|parquet|stata|odm", help="file format")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="directory to write into (default ./export-FORMAT)",
)
@click.option(
    "--user",
    "username",
    default=None,
    help="export as this user (needs export-data; blinded unless they may see allocations); "
    "without it the export is blinded",
)
@click.option("--json", "as_json", is_flag=True, help="print what was written as one JSON document")
def export(fmt: str, out: Path | None, username: str | None, as_json: bool) -> None:
    """Export every analysis table, pseudonymised, with a data dictionary (dictionary.md, dictionary.csv).

    csv and parquet stream (memory stays flat); stata builds each table in memory; odm writes one CDISC
    ODM 1.3.2 file with study metadata, clinical data and the audit trail.
    """
    from trialdesk.apps.snapshots.export import check_format

    check_format(fmt)  # before starting Django: a typo fails fast
    from trialdesk.web.bootstrap import setup

    setup()
    from trialdesk.apps.snapshots.export import export as run

    result = run(fmt, out or Path(f"export-{fmt}"), user=find_user(username))
    if as_json:
        click.echo(json.dumps(result.summary(), sort_keys=True))
        return
    blinded = "blinded (arms as letters)" if result.blinded else "unblinded"
    click.echo(f"{fmt} export, {blinded}, data as of {result.as_of:%Y-%m-%d %H:%M:%S %Z}, in {result.out}:")
    for name, entry in result.files.items():
        rows = f"{entry['rows']:>9} rows  " if "rows" in entry else " " * 16
        click.echo(f"  {name:<28}{rows}sha256 {entry['sha256'][:16]}")
