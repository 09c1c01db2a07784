"""Stage 4, registers: the generated register events as the extract a register office sends (keyed by
CPR number, one CSV per site), imported by each site's key holder through ``registers.import_register``."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trialdesk.apps.registers.services import import_register

from .timeline import on


@dataclass
class Imported:
    counts: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def distinct(events: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct event: a register lists two same-day contacts of one kind once, and the
    import refuses duplicate rows."""
    return events.drop_duplicates(["trial_id", "event", "start_date", "end_date"])


def extract_csv(events: pd.DataFrame, cpr: dict[str, str]) -> bytes:
    """The extract file: cpr, event, start_date, end_date (ISO dates)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["cpr", "event", "start_date", "end_date"])
    for trial_id, event, start, end in events[["trial_id", "event", "start_date", "end_date"]].itertuples(
        index=False
    ):
        writer.writerow([cpr[trial_id], event, start.isoformat(), end.isoformat()])
    return out.getvalue().encode()


def import_events(
    events: pd.DataFrame,
    *,
    cpr: dict[str, str],
    site_of: dict[str, str],
    day: Any,
    importers: dict[str, tuple[Any, Any]],
    folder: Path,
) -> Imported:
    """Write and import one extract per site on ``day``; ``importers[site] = (user, context)``."""
    done = Imported(counts={"same-day duplicates merged": len(events) - len(distinct(events))})
    events = distinct(events)
    folder.mkdir(parents=True, exist_ok=True)
    sites = events["trial_id"].map(site_of)
    for site, (user, context) in importers.items():
        data = extract_csv(events[sites == site], cpr)
        path = folder / f"register-extract-{site}.csv"
        path.write_bytes(data)
        path.chmod(0o600)  # CPR numbers: readable by the owner only
        with on(day):
            result = import_register(data, path.name, context, user=user)
        report = result.report
        for key in ("rows_read", "events_created", "events_already_present", "rows_unmatched"):
            done.counts[key] = done.counts.get(key, 0) + int(report[key])
        done.counts["not stored"] = done.counts.get("not stored", 0) + len(report["not_stored"])
        done.files.append(str(path))
    return done
