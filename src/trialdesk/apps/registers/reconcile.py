"""What an extract's linked rows say against each participant's follow-up and the stored events (pure).

Each finding names rows by number and participants by trial id only; a CPR number appears, if at all,
masked (``010180-****``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Linked:
    """An extract row linked to a participant (the CPR number is no longer needed, nor kept)."""

    row: int
    trial_id: str
    event: str
    start: dt.date
    end: dt.date


def outside_follow_up(
    rows: Iterable[Linked], windows: dict[str, tuple[dt.date, dt.date] | None]
) -> list[dict[str, object]]:
    """Rows whose event starts outside the participant's follow-up [baseline, end)."""
    found: list[dict[str, object]] = []
    for row in rows:
        window = windows.get(row.trial_id)
        if window is None:
            reason = "the participant has no register follow-up (not randomised)"
        elif row.start < window[0]:
            reason = f"starts before follow-up began ({window[0]})"
        elif row.start >= window[1]:
            reason = f"starts after follow-up ended ({window[1] - dt.timedelta(days=1)})"
        else:
            continue
        found.append({"row": row.row, "trial_id": row.trial_id, "event": row.event,
                      "start_date": row.start.isoformat(), "reason": reason})
    return found


def overlapping_admissions(
    rows: Iterable[Linked], stored: Iterable[tuple[str, dt.date, dt.date]]
) -> list[dict[str, object]]:
    """Admissions of one participant that overlap in time (a discharge and readmission the same day do
    not: that is a transfer). ``stored`` holds (trial id, start, end) of admissions already stored."""
    spans: dict[str, dict[tuple[dt.date, dt.date], str]] = defaultdict(dict)
    for trial_id, start, end in stored:
        spans[trial_id][(start, end)] = "stored"
    for row in rows:
        if row.event == "admission":
            spans[row.trial_id][(row.start, row.end)] = f"row {row.row}"
    found: list[dict[str, object]] = []
    for trial_id in sorted(spans):
        ordered = sorted(spans[trial_id].items())
        latest: tuple[tuple[dt.date, dt.date], str] | None = None
        for span, source in ordered:
            overlaps = latest is not None and span[0] < latest[0][1]
            if overlaps and latest is not None and (source, latest[1]) != ("stored", "stored"):
                found.append({
                    "trial_id": trial_id,
                    "first": f"{latest[1]} ({latest[0][0]} to {latest[0][1]})",
                    "second": f"{source} ({span[0]} to {span[1]})",
                })
            if latest is None or span[1] > latest[0][1]:
                latest = (span, source)
    return found
