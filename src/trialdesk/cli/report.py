"""``trialdesk report``: the trial report (HTML and PDF) from a snapshot and its analysis run."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from trialdesk.errors import UserError


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("report"),
    show_default=True,
    help="directory for report-open/closed.html and .pdf",
)
@click.option("--snapshot", "snapshot_id", default=None, help="snapshot id (default: the latest)")
@click.option(
    "--closed",
    is_flag=True,
    help="arms named (for the data monitoring committee); needs --user "
    "with the view-closed-report permission",
)
@click.option("--user", "username", default=None, help="run as this user (required with --closed)")
@click.option("--no-pdf", is_flag=True, help="HTML only")
@click.option("--json", "as_json", is_flag=True, help="print the paths written as one JSON document")
def report(
    *, out_dir: Path, snapshot_id: str | None, closed: bool, username: str | None, no_pdf: bool, as_json: bool
) -> None:
    """Write the CONSORT flow, tables, figures, results and provenance as HTML and PDF.

    Open (arms coded A/B) by default. Uses the latest finished analysis run on the snapshot, running
    the analysis plan first when there is none.
    """
    from trialdesk.web.bootstrap import setup

    setup()
    from trialdesk.apps.analysis.reports import build_report
    from trialdesk.apps.ledger.services import Context

    user = None
    if closed:
        if not username:
            raise UserError("--closed needs --user NAME: the closed report is for users allowed to see it")
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise UserError(f"no active user named {username!r}")
    context = Context(actor=username or getpass.getuser(), channel="command")
    paths, run = build_report(
        context, out_dir, snapshot_id=snapshot_id, closed=closed, user=user, pdf=not no_pdf
    )
    written = {
        "html": str(paths.html),
        "pdf": str(paths.pdf) if paths.pdf else None,
        "run": run.pk,
        "snapshot": run.snapshot_id,
        "closed": closed,
    }
    if as_json:
        click.echo(json.dumps(written, sort_keys=True))
    else:
        click.echo(f"wrote {paths.html}" + (f" and {paths.pdf}" if paths.pdf else ""))
