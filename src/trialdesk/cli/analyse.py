"""``trialdesk analyse``: run the analysis plan on a locked snapshot and keep the results."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from trialdesk.apps.snapshots.models import Snapshot


@click.command()
@click.option("--snapshot", "snapshot_id", default=None, help="snapshot id (default: the latest)")
@click.option(
    "--seed",
    type=int,
    default=None,
    help="seed for imputations whose plan names none (default: the primary plan's seed)",
)
@click.option("--queue", is_flag=True, help="queue the run for `trialdesk worker` instead of running it here")
@click.option("--json", "as_json", is_flag=True, help="print the results document (one JSON object)")
def analyse(snapshot_id: str | None, seed: int | None, queue: bool, as_json: bool) -> None:
    """Run the protocol's analysis plan on a locked snapshot; re-runs give byte-identical JSON.

    The snapshot must be unblinded (the plan compares the arms): without --snapshot, the latest one,
    which after a database lock is the statistician's `trialdesk snapshot take --unblinded`. A result
    the data cannot carry is reported as not estimable, with its reason; the rest is still estimated.
    """
    from trialdesk.web.bootstrap import setup

    setup()
    from trialdesk.analysis import to_json
    from trialdesk.apps.analysis import services
    from trialdesk.apps.ledger.services import Context

    context = Context(actor=getpass.getuser(), channel="command")
    if queue:
        run = services.enqueue(services.create_run(context, snapshot_id, seed=seed))
        click.echo(
            f'{{"run": {run.pk}, "status": "{run.status}"}}'
            if as_json
            else f"analysis run {run.pk} queued on snapshot {run.snapshot_id}"
        )
        return
    run = services.create_run(context, snapshot_id, seed=seed)
    if not as_json:
        click.echo(f"analysis run {run.pk} on {_described(run.snapshot)}", err=True)
    run = services.execute(run.pk)
    if as_json:
        click.echo(to_json(run.results), nl=False)
        return
    primary = run.results["primary"]
    where = f"primary: {primary['outcome']} at {primary['visit']}"
    if primary.get("status") == "not_estimable":
        click.echo(f"{where}: not estimable: {primary['reason']}")
    else:
        click.echo(
            f"{where}: difference {primary['estimate']:.2f} "
            f"(95% CI {primary['ci_low']:.2f} to {primary['ci_high']:.2f}), p = {primary['p']:.3g}"
        )
    unestimated = len(run.results.get("notes", []))
    if unestimated:
        click.echo(
            f"{unestimated} result(s) of the plan could not be estimated from these data; --json lists "
            "each with its reason (status, reason), and so does the report"
        )
    click.echo(f"results SHA-256 {run.results_sha256}; `trialdesk report` writes the report")


def _described(snapshot: Snapshot) -> str:
    from trialdesk.apps.analysis.services import lock_of

    lock = lock_of(snapshot)
    locked = (
        f"taken under database lock {lock['id']} of {lock['locked_at'][:10]}"
        if lock
        else "taken while the database was not locked (an interim analysis)"
    )
    return f"unblinded snapshot {snapshot.id} ({snapshot.label}), {locked}"
