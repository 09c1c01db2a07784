"""``trialdesk register``: import hospital-register extracts and count service use per period."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from trialdesk.errors import UserError


@click.group()
def register() -> None:
    """Hospital-register extracts (CPR-keyed, stored pseudonymised)."""


def _user(username: str):
    from django.contrib.auth import get_user_model

    found = get_user_model().objects.filter(username=username, is_active=True).first()
    if found is None:
        raise UserError(f"no active user named {username!r}")
    return found


@register.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--user", "username", required=True,
              help="run as this user (needs the import-registers permission)")
@click.option("--accept-unmatched", is_flag=True,
              help="store the matched rows even if some CPR numbers are not in the key table")
@click.option("--json", "as_json", is_flag=True, help="print the reconciliation report as one JSON document")
def import_(path: Path, username: str, accept_unmatched: bool, as_json: bool) -> None:
    """Import a register extract (CSV or .xlsx) all or nothing, and print its reconciliation report.

    Columns: cpr, event (admission | er_visit | outpatient_contact), start_date, end_date (discharge
    date, required for admissions).
    """
    from trialdesk.web.bootstrap import setup

    setup()
    from trialdesk.apps.accounts.permissions import allowed
    from trialdesk.apps.ledger.services import Context
    from trialdesk.apps.registers.services import import_register
    from trialdesk.apps.trial.services import active_hash

    user = _user(username)
    if not allowed(user, "import-registers"):
        raise UserError(f"{username} may not import register extracts (needs the personal-data key holder "
                        "permission)")
    try:
        data = path.read_bytes()
    except OSError as problem:
        raise UserError(f"cannot read {path}: {problem.strerror}") from None
    context = Context(actor=username, channel="import", protocol_hash=active_hash())
    report = import_register(data, path.name, context, user=user, accept_unmatched=accept_unmatched).report
    if as_json:
        click.echo(json.dumps(report, sort_keys=True))
        return
    click.echo(f"{report['file_name']}: {report['rows_read']} rows read, {report['rows_matched']} matched, "
               f"{report['rows_unmatched']} unmatched")
    click.echo(f"  {report['events_created']} new events stored, "
               f"{report['events_already_present']} already present")
    for title, key in (("unmatched CPR numbers", "unmatched"), ("not stored", "not_stored"),
                       ("outside follow-up", "outside_follow_up"),
                       ("overlapping admissions", "overlapping_admissions")):
        if report[key]:
            click.echo(f"  {title}: {len(report[key])}")
            for finding in report[key]:
                click.echo("    " + ", ".join(f"{k} {v}" for k, v in finding.items()))


@register.command()
@click.option("--user", "username", required=True, help="run as this user (needs the export-data permission)")
@click.option("--through", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="last date the extracts cover (YYYY-MM-DD); follow-up is cut there")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="write CSV here")
@click.option("--json", "as_json", is_flag=True, help="print the table as one JSON document")
def periods(username: str, through: dt.datetime | None, out: Path | None, as_json: bool) -> None:
    """Admissions, bed days, ER visits, outpatient contacts and follow-up days per participant and period."""
    from trialdesk.web.bootstrap import setup

    setup()
    from trialdesk.apps.accounts.permissions import allowed
    from trialdesk.apps.registers.followup import register_table

    if not allowed(_user(username), "export-data"):
        raise UserError(f"{username} may not export data")
    table = register_table(through.date() if through else None)
    if out is not None:
        table.to_csv(out, index=False)
    if as_json:
        click.echo(json.dumps({"table": "register", "rows": table.to_dict(orient="records")}))
    elif out is None:
        click.echo(table.to_csv(index=False), nl=False)
