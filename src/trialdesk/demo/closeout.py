"""Stage 5, close-out: the data manager locks the whole database (which takes a blinded snapshot), the
statistician takes the unblinded analysis snapshot of the locked data (the primary model needs the IMR
groups), runs the analysis plan on it and writes the report (open: arms shown as A/B)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialdesk.apps.datamanagement.locks import lock
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.snapshots.snapshot import take_snapshot

from .timeline import on


@dataclass
class Closed:
    snapshot_id: str = ""
    paths: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def lock_database(day: dt.date, *, user: Any, context: Context) -> Closed:
    with on(day):
        made = lock("database", context, user=user, reason="end of follow-up: database lock for the analysis")
    closed = Closed(snapshot_id=str(made.snapshot_id))
    closed.paths["blinded_snapshot"] = str(made.snapshot_id)
    return closed


def analysis_snapshot(closed: Closed, day: dt.date, *, context: Context) -> None:
    """The unblinded snapshot of the locked data that the analysis runs on."""
    with on(day):
        snapshot = take_snapshot(context, "analysis snapshot at the database lock", blinded=False)
    closed.snapshot_id = snapshot.id
    closed.counts = {
        f"snapshot rows: {name}": int(t["rows"]) for name, t in snapshot.manifest["tables"].items()
    }


def analyse_and_report(
    closed: Closed, day: dt.date, *, context: Context, out: Path, pdf: bool = True
) -> None:
    """Run the analysis plan on the snapshot and write the blinded report to ``out``."""
    from trialdesk.apps.analysis.reports import build_report

    with on(day):
        paths, run = build_report(context, out, snapshot_id=closed.snapshot_id, closed=False, pdf=pdf)
    closed.paths.update({name: str(value) for name, value in vars(paths).items() if value is not None})
    closed.counts["analysis run"] = int(run.pk)
