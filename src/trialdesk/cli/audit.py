"""``trialdesk audit verify``: walk the ledger's hash chain; ``trialdesk audit export``: the ledger as CSV."""

from __future__ import annotations

import json

import click


@click.group()
def audit() -> None:
    """Check and review the audit ledger."""


@audit.command()
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
def verify(as_json: bool) -> None:
    """Verify the ledger's hash chain; exit 1 naming the first broken entry."""
    from trialdesk.web.bootstrap import setup

    setup()
    from trialdesk.apps.ledger.services import verify_ledger

    verdict = verify_ledger()
    if as_json:
        click.echo(json.dumps({"ok": verdict.ok, "checked": verdict.checked, "broken_seq": verdict.broken_seq,
                               "problem": verdict.problem}))
    else:
        click.echo(str(verdict), err=not verdict.ok)
    if not verdict.ok:
        raise click.exceptions.Exit(1)


@audit.command("export")
@click.option("--participant", default="", help="only entries about this trial id")
@click.option("--user", "actor", default="", help="only entries made by this username")
@click.option("--since", default="", help="from this UTC date on (YYYY-MM-DD)")
@click.option("--until", default="", help="up to and including this UTC date (YYYY-MM-DD)")
@click.option("--entity", default="", help="only this kind of record (form), e.g. assessment")
@click.option("--channel", default="", help="only this channel: web, api, import, command, system")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="write the CSV here (default: standard output)")
@click.option("--json", "as_json", is_flag=True, help="with --out: print a JSON summary (rows, file)")
def export(
    *, participant: str, actor: str, since: str, until: str, entity: str, channel: str, out: str | None,
    as_json: bool,
) -> None:
    """Export ledger entries as CSV, streamed in chunks (the operator sees every entry)."""
    from trialdesk.errors import UserError

    if as_json and out is None:
        raise UserError("--json prints a summary: give --out for the CSV")
    from trialdesk.web.bootstrap import setup

    setup()
    from trialdesk.apps.datamanagement.audit import AuditFilter, csv_lines, entries_for

    audit_filter = AuditFilter.from_params({"participant": participant, "user": actor, "since": since,
                                            "until": until, "entity": entity, "channel": channel})
    rows = -1  # the header line is not a row
    try:
        with click.open_file(out or "-", "w", encoding="utf-8") as stream:
            for line in csv_lines(entries_for(None, audit_filter)):
                stream.write(line)
                rows += 1
    except OSError as problem:
        raise UserError(f"cannot write {out}: {problem.strerror}") from None
    if as_json:
        click.echo(json.dumps({"rows": rows, "out": out}))
    elif out is not None:
        click.echo(f"{rows} entries written to {out}", err=True)
