"""The report's tables: baseline characteristics by arm, and outcomes by arm and visit.

Baseline: n, mean (SD) or median (IQR) for continuous variables, n (%) for categorical ones; no
p-values (CONSORT 2025 item 15's explanation: baseline differences in a randomised trial are by
chance, so significance tests of them are not meaningful). Percentages are of the participants with
the value recorded; a "not recorded" line counts the rest. SDs use n - 1; quartiles are pandas'
linear interpolation (R's ``quantile(type = 7)``).

Outcomes: the layout of Jensen et al. 2019 (BMC Psychiatry 19:65), Table 3 — per outcome and visit,
each arm's complete-case mean (SD) and n beside its model-estimated mean (SE), then the effect with
its 95 % CI and p, when analysis results are supplied.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from trialdesk.reporting.arms import ArmView, oriented
from trialdesk.reporting.results_schema import AnalysisResults, Estimate
from trialdesk.reporting.trialinfo import OutcomeInfo, TrialInfo, Variable

TOTAL = "__total__"


@dataclass(frozen=True)
class Summary:
    """One cell of the baseline table (the numbers; :meth:`text` formats them)."""

    n: int  # participants with the value recorded
    missing: int = 0
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    count: int | None = None  # categorical: participants at this level
    percent: float | None = None

    def text(self, kind: str, digits: int = 1) -> str:
        if kind == "categorical":
            if self.count is None:
                return ""
            return (
                f"{self.count} ({self.percent:.{digits}f} %)" if self.percent is not None else str(self.count)
            )
        if self.n == 0:
            return "–"
        if kind == "median_iqr":
            return f"{self.median:.{digits}f} ({self.q1:.{digits}f}–{self.q3:.{digits}f})"
        sd = "–" if self.sd is None else f"{self.sd:.{digits}f}"
        return f"{self.mean:.{digits}f} ({sd})"


@dataclass(frozen=True)
class BaselineRow:
    label: str
    kind: str  # mean_sd, median_iqr, categorical, header, count
    cells: Mapping[str, Summary] = field(default_factory=dict)  # arm code (or TOTAL) -> summary
    level: str | None = None


def _continuous(values: pd.Series) -> Summary:
    x = pd.to_numeric(values, errors="coerce")
    present = x.dropna()
    n = int(present.size)
    if n == 0:
        return Summary(n=0, missing=int(x.size))
    return Summary(
        n=n,
        missing=int(x.size - n),
        mean=float(present.mean()),
        sd=float(present.std(ddof=1)) if n > 1 else None,
        median=float(present.median()),
        q1=float(present.quantile(0.25)),
        q3=float(present.quantile(0.75)),
    )


def _level_label(variable: Variable, level: str, trial: TrialInfo) -> str:
    if variable.name == "site":
        return trial.site_name(level)
    return level.replace("_", " ")


def baseline_table(
    participants: pd.DataFrame, scores: pd.DataFrame | None, trial: TrialInfo, view: ArmView
) -> list[BaselineRow]:
    """Rows of the baseline table for every randomised participant, by arm and in total."""
    randomised = participants[participants["arm"].astype(str).isin(view.codes)].copy()
    randomised["arm"] = randomised["arm"].astype(str)
    if scores is not None and not scores.empty:
        base = scores[scores["visit"] == trial.baseline_visit]
        for variable in trial.baseline_variables:
            if variable.instrument:
                hit = base[(base["instrument"] == variable.instrument) & (base["score"] == variable.score)]
                randomised[variable.name] = randomised["trial_id"].map(hit.set_index("trial_id")["value"])
    groups: dict[str, pd.DataFrame] = {a: randomised[randomised["arm"] == a] for a in view.codes}
    groups[TOTAL] = randomised
    rows = [
        BaselineRow("Participants", "count", {k: Summary(n=len(g), count=len(g)) for k, g in groups.items()})
    ]
    for variable in trial.baseline_variables:
        if variable.name not in randomised.columns or randomised[variable.name].isna().all():
            continue
        if variable.kind != "categorical":
            label = f"{variable.label}, " + ("mean (SD)" if variable.kind == "mean_sd" else "median (IQR)")
            rows.append(
                BaselineRow(
                    label, variable.kind, {k: _continuous(g[variable.name]) for k, g in groups.items()}
                )
            )
            missing = {k: _continuous(g[variable.name]).missing for k, g in groups.items()}
            if any(missing.values()):
                rows.append(
                    BaselineRow(
                        "not recorded",
                        "categorical",
                        {k: Summary(n=m, count=m) for k, m in missing.items()},
                        "not recorded",
                    )
                )
            continue
        rows.append(BaselineRow(f"{variable.label}, n (%)", "header"))
        levels = sorted(str(v) for v in randomised[variable.name].dropna().unique())
        for level in levels:
            cells = {}
            for k, g in groups.items():
                known = g[variable.name].dropna().astype(str)
                count = int((known == level).sum())
                cells[k] = Summary(
                    n=int(known.size), count=count, percent=100.0 * count / known.size if known.size else None
                )
            rows.append(BaselineRow(_level_label(variable, level, trial), "categorical", cells, level))
        missing = {k: int(g[variable.name].isna().sum()) for k, g in groups.items()}
        if any(missing.values()):
            rows.append(
                BaselineRow(
                    "not recorded",
                    "categorical",
                    {k: Summary(n=m, count=m) for k, m in missing.items()},
                    "not recorded",
                )
            )
    return rows


@dataclass(frozen=True)
class OutcomeCell:
    n: int
    mean: float | None
    sd: float | None
    model_mean: float | None = None
    model_se: float | None = None


@dataclass(frozen=True)
class OutcomeRow:
    group: str  # instrument code or register measure
    label: str
    visit: str
    visit_label: str
    cells: Mapping[str, OutcomeCell]
    estimate: Estimate | None = None
    outcome: str | None = None  # protocol outcome code the estimate belongs to
    role: str = "secondary"
    unit: str = ""  # "" for scores; "per period" for register counts


def _estimates(results: AnalysisResults) -> dict[tuple[str, str], Estimate]:
    found: dict[tuple[str, str], Estimate] = {}
    for item in [results.get("primary"), *(results.get("secondary") or [])]:
        if item:
            found[(item["outcome"], item["visit"])] = item
    return found


def _cells(values: pd.DataFrame, view: ArmView, estimate: Estimate | None) -> dict[str, OutcomeCell]:
    cells = {}
    for arm in view.codes:
        x = pd.to_numeric(values.loc[values["arm"] == arm, "value"], errors="coerce").dropna()
        model = (estimate or {}).get("means", {}).get(arm, {})
        cells[arm] = OutcomeCell(
            n=int(x.size),
            mean=float(x.mean()) if x.size else None,
            sd=float(x.std(ddof=1)) if x.size > 1 else None,
            model_mean=model.get("mean"),
            model_se=model.get("se"),
        )
    return cells


def _base_label(outcome: OutcomeInfo) -> str:
    for suffix in (" at end of treatment", " at follow-up"):
        if outcome.label.endswith(suffix):
            return outcome.label[: -len(suffix)]
    return outcome.label


def outcome_table(
    tables: Mapping[str, pd.DataFrame],
    trial: TrialInfo,
    view: ArmView,
    results: AnalysisResults | None = None,
) -> list[OutcomeRow]:
    """One row per outcome and visit (baseline included where measured), complete cases by arm."""
    estimates = _estimates(results or {})
    participants = tables["participants"][["trial_id", "arm"]].astype({"arm": str})
    rows: list[OutcomeRow] = []
    scores = tables.get("scores")
    groups: dict[tuple[str, str], list[OutcomeInfo]] = {}
    for o in trial.outcomes:
        if o.instrument:
            groups.setdefault((o.instrument, o.score), []).append(o)
    if scores is not None and not scores.empty:
        long = scores.merge(participants, on="trial_id", how="inner")
        for (instrument, score), outcomes in groups.items():
            of = long[(long["instrument"] == instrument) & (long["score"] == score)]
            visits = {v for o in outcomes for v in o.visits}
            if not of[of["visit"] == trial.baseline_visit].empty:
                visits.add(trial.baseline_visit)
            for visit in sorted(visits, key=lambda v: (trial.visit_month(v), v)):
                owner = next((o for o in outcomes if visit in o.visits), None)
                estimate = estimates.get((owner.code, visit)) if owner else None
                estimate = oriented(estimate, view) if estimate else None
                cells = _cells(of[of["visit"] == visit], view, estimate)
                if estimate is None and not any(c.n for c in cells.values()):
                    continue  # neither data nor results: the note under the table lists these outcomes
                rows.append(
                    OutcomeRow(
                        group=instrument,
                        label=_base_label(outcomes[0]),
                        visit=visit,
                        visit_label=trial.visit_label(visit),
                        cells=cells,
                        estimate=estimate,
                        outcome=owner.code if owner else None,
                        role=owner.role if owner else "secondary",
                    )
                )
    register = tables.get("register")
    if register is not None and not register.empty:
        reg = register.merge(participants, on="trial_id", how="inner")
        for o in trial.outcomes:
            if not o.measure or o.measure not in reg.columns:
                continue
            for visit in o.visits:
                period = next(
                    (p for p in sorted(reg["period"].unique()) if str(p).endswith(f"-{visit}")), None
                )
                if period is None:
                    continue
                values = reg.loc[reg["period"] == period, ["arm", o.measure]].rename(
                    columns={o.measure: "value"}
                )
                estimate = estimates.get((o.code, visit))
                estimate = oriented(estimate, view) if estimate else None
                rows.append(
                    OutcomeRow(
                        group=o.measure,
                        label=o.label,
                        visit=visit,
                        visit_label=str(period),
                        cells=_cells(values, view, estimate),
                        estimate=estimate,
                        outcome=o.code,
                        role=o.role,
                        unit="per period",
                    )
                )
    return rows


def fmt(value: float | None, digits: int = 1) -> str:
    """A number for a table cell; an en dash when missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}".replace("-", "−")  # a true minus sign, as journals print it


def fmt_p(p: float | None) -> str:
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_effect(estimate: Estimate | None, digits: int = 1) -> str:
    """'1.9 (−2.0 to 5.8)'; ratios get two decimals."""
    if not estimate or estimate.get("estimate") is None:
        return "–"
    if estimate.get("scale") == "ratio":
        digits = 2
    low, high = estimate.get("ci_low"), estimate.get("ci_high")
    ci = f" ({fmt(low, digits)} to {fmt(high, digits)})" if low is not None and high is not None else ""
    return f"{fmt(estimate['estimate'], digits)}{ci}"
