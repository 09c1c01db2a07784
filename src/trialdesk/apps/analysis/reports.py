"""The trial report from a snapshot and its analysis run, open (A/B) or closed (arms named)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.snapshots.snapshot import load_snapshot
from trialdesk.errors import UserError
from trialdesk.reporting import ReportPaths, render_html, render_report
from trialdesk.reporting.trialinfo import from_protocol

from . import services
from .models import AnalysisRun


def _inputs(run: AnalysisRun, closed: bool) -> dict[str, Any]:
    tables = load_snapshot(run.snapshot_id)
    protocol = services.protocol_of(run.snapshot)
    key = None
    if not closed and not run.snapshot.blinded:
        from trialdesk.apps.snapshots.letters import arm_letters

        key = arm_letters()  # the trial's fixed letters, the same as in blinded exports
    results = dict(run.results or {})
    if run.finished_at is not None:  # the run's own time, never the rendering's: reports reproduce
        results["provenance"] = {**results.get("provenance", {}), "created": run.finished_at.isoformat()}
    return {"tables": tables, "results": results, "trial": from_protocol(protocol), "arm_key": key}


def check_closed(user: Any) -> None:
    if user is None or not allowed(user, "view-closed-report"):
        name = user.get_username() if user is not None else "this user"
        raise UserError(_(
            "%(name)s may not see the closed report (needs the view-closed-report permission)"
        ) % {"name": name})


def run_for(context: Context, snapshot_id: str | None) -> AnalysisRun:
    snapshot = services.resolve_snapshot(snapshot_id)
    return services.latest_done(snapshot) or services.run_now(context, snapshot.pk)


def build_report(
    context: Context,
    out_dir: Path,
    *,
    snapshot_id: str | None = None,
    closed: bool = False,
    user: Any = None,
    pdf: bool = True,
) -> tuple[ReportPaths, AnalysisRun]:
    if closed:
        check_closed(user)
    run = run_for(context, snapshot_id)
    inputs = _inputs(run, closed)
    paths = render_report(
        inputs["tables"],
        inputs["results"],
        out_dir,
        closed,
        trial=inputs["trial"],
        arm_key=inputs["arm_key"],
        pdf=pdf,
    )
    return paths, run


def report_html(run: AnalysisRun, *, closed: bool, user: Any) -> str:
    if closed:
        check_closed(user)
    inputs = _inputs(run, closed)
    return render_html(
        inputs["tables"], inputs["results"], closed, trial=inputs["trial"], arm_key=inputs["arm_key"]
    )
