"""Hospital-register events over each participant's follow-up: admissions, ER visits, outpatient contacts.

Counts are negative binomial (a gamma-mixed Poisson: overdispersed, as service use is): participant i
has rate ``rate * exp(severity * -z_i - severity^2 / 2) * G_i`` per person-year for each event type,
with ``G_i ~ Gamma(k, 1/k)`` and ``z_i`` the latent baseline functioning (worse functioning, more
use; the second term keeps the mean rate at ``rate``). Rates and dispersions are assumed (:data:`RATES`)
for adults with schizophrenia or bipolar disorder in Danish community mental health centres; there is
no arm effect (the trial found none). Follow-up runs from baseline to the last visit's month, or to
death or withdrawal from data collection. Event dates are uniform over it; admissions do not overlap,
last a lognormal number of days (median 14) and are cut at the end of follow-up.

The frame has the register extract's columns (``event``, ``start_date``, ``end_date``) keyed by
``trial_id`` instead of the CPR number; :func:`register_counts` gives the analysis table ``register``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from trialdesk.visits import add_months

if TYPE_CHECKING:
    from trialdesk.protocol import Protocol

#: event -> (events per person-year, negative binomial shape k) (assumed)
RATES: dict[str, tuple[float, float]] = {
    "admission": (0.4, 0.6), "er_visit": (0.8, 0.5), "outpatient_contact": (20.0, 3.0),
}
STAY_MEDIAN_DAYS = 14.0
STAY_LOG_SD = 1.0
SEVERITY = 0.3
COLUMNS = ["trial_id", "event", "start_date", "end_date"]


def follow_up_end(baseline_on: dt.date, protocol: Protocol, end: dt.date | None = None) -> dt.date:
    last = add_months(baseline_on, max(v.month for v in protocol.visits))
    return last if end is None else min(last, end)


def register_events(participants: pd.DataFrame, protocol: Protocol, rng: np.random.Generator, *,
                    severity_z: np.ndarray | None = None, ends: dict[str, dt.date] | None = None,
                    rates: dict[str, tuple[float, float]] | None = None) -> pd.DataFrame:
    """One row per event of each participant (trial_id, baseline_on), dates inside follow-up."""
    rates = rates or RATES
    ends = ends or {}
    n = len(participants)
    z = np.zeros(n) if severity_z is None else np.asarray(severity_z, dtype=float)
    starts = participants["baseline_on"].tolist()
    stops = [follow_up_end(b, protocol, ends.get(t)) for b, t in zip(starts, participants["trial_id"],
                                                                      strict=True)]
    days = np.array([(e - s).days for s, e in zip(starts, stops, strict=True)], dtype=float)
    relative = np.exp(-SEVERITY * z - SEVERITY**2 / 2)
    ids = participants["trial_id"].tolist()
    rows: list[tuple[str, str, dt.date, dt.date]] = []
    for event, (rate, shape) in rates.items():
        mean = rate * days / 365.25 * relative
        counts = rng.poisson(rng.gamma(shape, 1 / shape, n) * mean)
        for i in np.flatnonzero(counts):
            offsets = np.sort(rng.integers(0, int(days[i]) + 1, counts[i])).tolist()
            begin = starts[i]
            if event != "admission":
                days_of = (begin + dt.timedelta(days=o) for o in offsets)
                rows.extend((ids[i], event, day, day) for day in days_of)
                continue
            stays = np.rint(rng.lognormal(np.log(STAY_MEDIAN_DAYS), STAY_LOG_SD, counts[i])).tolist()
            free_from = begin
            for offset, stay in zip(offsets, stays, strict=True):
                admitted = max(begin + dt.timedelta(days=offset), free_from)
                if admitted > stops[i]:
                    break
                discharged = min(admitted + dt.timedelta(days=int(stay)), stops[i])
                rows.append((ids[i], event, admitted, discharged))
                free_from = discharged + dt.timedelta(days=1)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["trial_id", "start_date", "event"], ignore_index=True)


def register_counts(events: pd.DataFrame, participants: pd.DataFrame, protocol: Protocol,
                    ends: dict[str, dt.date] | None = None) -> pd.DataFrame:
    """The analysis table ``register``: counts per participant and period between follow-up visits."""
    ends = ends or {}
    months = [0, *sorted(v.month for v in protocol.visits if v.month > 0)]
    codes = {v.month: v.code for v in protocol.visits}
    by_participant: dict[str, list[tuple[str, dt.date, dt.date]]] = {}
    for trial_id, event, start, end in events[COLUMNS].itertuples(index=False):
        by_participant.setdefault(trial_id, []).append((event, start, end))
    rows = []
    for trial_id, baseline_on in zip(participants["trial_id"], participants["baseline_on"], strict=True):
        mine = by_participant.get(trial_id, [])
        stop = follow_up_end(baseline_on, protocol, ends.get(trial_id))
        for first, last in itertools.pairwise(months):
            p0, p1 = add_months(baseline_on, first), add_months(baseline_on, last)
            counted = dict.fromkeys(RATES, 0)
            bed_days = 0
            for event, start, end in mine:
                counted[event] = counted.get(event, 0) + int(p0 <= start < p1)
                if event == "admission":
                    bed_days += max((min(end, p1) - max(start, p0)).days, 0)
            rows.append({
                "trial_id": trial_id, "period": f"{codes[first]}-{codes[last]}",
                "admissions": counted["admission"], "bed_days": bed_days,
                "er_visits": counted["er_visit"], "outpatient_contacts": counted["outpatient_contact"],
                "followup_days": float(max((min(stop, p1) - p0).days, 0)),
            })
    return pd.DataFrame(rows)
