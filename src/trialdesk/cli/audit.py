"""``trialdesk audit verify``: walk the ledger's hash chain."""

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
