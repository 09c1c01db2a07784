"""The report's sections, each built on its own from the tables and the analysis results.

A missing table or results part, or data a section cannot use, makes that section say "not available"
and why: the report itself is always written. Results the analysis could not estimate are marked where
they belong and listed once (:meth:`_Builder.plan_status`). In the open report, free text that names an
arm is scrubbed (``[arm]``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pandas as pd
from markupsafe import Markup

from trialdesk import datasets
from trialdesk.errors import UserError
from trialdesk.reporting import delivery, figures
from trialdesk.reporting.arms import ArmView, arm_view, oriented
from trialdesk.reporting.consort import count_consort, reconcile
from trialdesk.reporting.consort_svg import consort_svg
from trialdesk.reporting.results_schema import AnalysisResults, Estimate, clean_results, estimated
from trialdesk.reporting.tables import baseline_table, fmt_effect, fmt_p, outcome_table
from trialdesk.reporting.trialinfo import TrialInfo, from_tables

SENSITIVITY_LABELS = {
    "complete_case": "Complete cases",
    "best_worst": "Best–worst case",
    "worst_best": "Worst–best case",
    "per_protocol": "Per protocol (completers)",
    "tipping_point": "Tipping point (delta-adjusted)",
    "cace": "Complier average causal effect",
    "mi": "Multiple imputation",
}


@dataclass
class Section:
    key: str
    title: str
    data: dict[str, Any] | None = None  # None: not available
    missing: str = ""


def _versions() -> dict[str, str]:
    out = {}
    for name in ("trialdesk", "matplotlib", "jinja2", "pandas", "xhtml2pdf"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def usable_tables(tables: Mapping[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The tables that fit :data:`trialdesk.datasets.TABLES`, and a note for each one that does not."""
    good, notes = {}, []
    for name in datasets.TABLES:
        frame = tables.get(name)
        if frame is None:
            continue
        try:
            good[name] = datasets.check(name, frame)
        except UserError as problem:
            notes.append(f"{problem}: sections using it are not available")
    return good, notes


class _Builder:
    def __init__(
        self, tables: dict[str, pd.DataFrame], results: AnalysisResults, trial: TrialInfo, view: ArmView
    ) -> None:
        self.t, self.r, self.trial, self.view = tables, results, trial, view
        self.scrub = _scrubber(trial, view)

    def need(self, *names: str) -> None:
        absent = [n for n in names if n not in self.t or self.t[n].empty]
        if absent:
            raise _Missing(f"no {' or '.join(absent)} data")

    def consort(self) -> dict[str, Any]:
        self.need("participants", "status_events")
        primary = self.trial.primary
        key = None
        if primary and primary.instrument and primary.visits:
            key = (primary.instrument, primary.score, primary.visits[0])
        counts = count_consort(
            self.t,
            intervention_arms=self.view.intervention
            or {a.code for a in self.trial.arms if a.receives_intervention},
            primary=key,
        )
        for flow in counts.arms.values():  # free-text reasons may name an arm: not in the open report
            for counter in (flow.lost, flow.discontinued, flow.not_received):
                for reason in list(counter):
                    clean = self.scrub(reason)
                    if clean != reason:
                        counter[clean] += counter.pop(reason)
        problems = reconcile(counts, self.r.get("consort"))
        svg = consort_svg(counts, self.view, self.trial.criteria, self.trial.decline_reasons, problems)
        return {
            "svg": trusted(svg),
            "problems": [self.scrub(p) for p in problems],
            "checked_against_results": "consort" in self.r,
        }

    def recruitment(self) -> dict[str, Any]:
        self.need("participants")
        p = self.t["participants"]
        randomised = p[p["arm"].notna() & (p["arm"].astype(str) != "")]
        if randomised.empty:
            raise _Missing("nobody has been randomised")
        rows = []
        for site in sorted(randomised["site"].astype(str).unique()):
            of = randomised[randomised["site"].astype(str) == site]
            target = next((s.target for s in self.trial.sites if s.code == site), None)
            dates = pd.to_datetime(of["randomised_on"], errors="coerce").dropna()
            rows.append(
                {
                    "site": self.trial.site_name(site),
                    "n": len(of),
                    "target": target,
                    "percent": 100 * len(of) / target if target else None,
                    "first": dates.min().date().isoformat() if not dates.empty else "–",
                    "last": dates.max().date().isoformat() if not dates.empty else "–",
                }
            )
        return {
            "svg": trusted(figures.recruitment(p, self.trial)),
            "rows": rows,
            "total": len(randomised),
            "target": self.trial.target_participants,
        }

    def baseline(self) -> dict[str, Any]:
        self.need("participants")
        rows = baseline_table(self.t["participants"], self.t.get("scores"), self.trial, self.view)
        if rows[0].cells["__total__"].n == 0:
            raise _Missing("nobody has been randomised")
        return {"rows": rows}

    def _label(self, e: Estimate) -> str:
        outcome = next((o for o in self.trial.outcomes if o.code == e["outcome"]), None)
        label = outcome.label if outcome else e["outcome"]
        visit = self.trial.visit_label(e["visit"])
        return label if outcome and len(outcome.visits) == 1 else f"{label}, {visit}"

    def primary(self) -> dict[str, Any]:
        e = self.r.get("primary")
        if not e:
            raise _Missing("the analysis results have no primary outcome")
        if not estimated(e):
            raise _Missing(f"{self._label(e)} could not be estimated: {self.scrub(e.get('reason', ''))}")
        e = oriented(e, self.view)
        means = [
            {"arm": self.view.name(a), "mean": m.get("mean"), "se": m.get("se"), "n": m.get("n")}
            for a in self.view.codes
            for m in [e.get("means", {}).get(a)]
            if m
        ]
        contrast = e.get("contrast") or list(self.view.codes[:2])
        sign = " / " if e.get("scale") == "ratio" else " − "
        return {
            "label": self._label(e),
            "visit": self.trial.visit_label(e["visit"]),
            "estimate": e,
            "effect": fmt_effect(e),
            "p": fmt_p(e.get("p")),
            "means": means,
            "model": e.get("model", ""),
            "contrast": sign.join(self.view.short_name(c) for c in contrast),
            "with_n": any(m["n"] is not None for m in means),
        }

    def outcomes(self) -> dict[str, Any]:
        self.need("participants")
        if "scores" not in self.t and "register" not in self.t:
            raise _Missing("no scores or register data")
        rows = outcome_table(self.t, self.trial, self.view, self.r)
        if not rows:
            raise _Missing("no outcome of the protocol has data")
        shown = {r.outcome for r in rows} | {r.group for r in rows}
        absent = [
            o.label
            for o in self.trial.outcomes
            if o.code not in shown and (o.instrument or o.measure) not in shown
        ]
        unestimated = [
            (f"{r.label}, {r.visit_label}", self.scrub(r.estimate.get("reason", "")))
            for r in rows
            if r.estimate and not estimated(r.estimate)
        ]
        return {
            "rows": rows,
            "absent": absent,
            "unestimated": unestimated,
            "has_results": bool(self.r.get("primary") or self.r.get("secondary")),
        }

    def _estimates(self) -> list[tuple[str, Estimate]]:
        items = [self.r.get("primary"), *(self.r.get("secondary") or [])]
        return [
            (self._label(e), oriented(e, self.view)) for e in items if e and e.get("estimate") is not None
        ]

    def forest(self) -> dict[str, Any]:
        estimates = self._estimates()
        if not estimates:
            raise _Missing("the analysis results have no effect estimates")
        return {"svg": trusted(figures.forest(estimates, self.view))}

    def trajectories(self) -> dict[str, Any]:
        self.need("scores", "participants")
        panels, seen = [], set()
        for o in self.trial.outcomes:
            if o.instrument and (o.instrument, o.score) not in seen:
                seen.add((o.instrument, o.score))
                label = re.sub(r"\s+at (end of treatment|follow-up)$", "", o.label)
                panels.append((o.instrument, o.score, label))
        scores = self.t["scores"]
        panels = [p for p in panels if ((scores["instrument"] == p[0]) & scores["value"].notna()).any()]
        if not panels:
            raise _Missing("no outcome scores recorded")
        return {
            "svg": trusted(
                figures.trajectories(
                    scores,
                    self.t["participants"],
                    self.trial,
                    self.view,
                    panels,
                )
            )
        }

    def delivery(self) -> dict[str, Any]:
        if "dose" not in self.t and "fidelity" not in self.t:
            raise _Missing("no dose or fidelity data")
        out: dict[str, Any] = {
            "dose": None,
            "fidelity": None,
            "modules": self.trial.modules,
            "name": self.trial.intervention_name,
        }
        if "dose" in self.t and not self.t["dose"].empty:
            out["dose"] = delivery.dose_summary(self.t["dose"])
            out["attendance_svg"] = trusted(figures.attendance(self.t["dose"], self.trial.modules))
        if "fidelity" in self.t and not self.t["fidelity"].empty:
            agreement = self.r.get("agreement")
            out["fidelity"] = delivery.fidelity_summary(
                self.t["fidelity"], self.trial, agreement if estimated(agreement) else None
            )
            out["fidelity_svg"] = trusted(figures.fidelity_over_time(self.t["fidelity"], self.trial))
        return out

    def blinding(self) -> dict[str, Any]:
        self.need("guesses", "participants")
        index = self.r.get("blinding_index")
        summary = delivery.blinding_summary(
            self.t["guesses"], self.t["participants"], self.view, index if estimated(index) else None
        )
        if summary is None:
            raise _Missing("no guesses recorded")
        names = {g: self.view.name(g) for g in summary.arms} | {delivery.DONT_KNOW: "Don't know"}
        return {"s": summary, "names": names}

    def sensitivity(self) -> dict[str, Any]:
        items = self.r.get("sensitivity") or []
        if not items:
            raise _Missing("the analysis results have no sensitivity analyses")
        rows = []
        for e in items:
            o = oriented(e, self.view)
            analysis = e.get("analysis", "")
            label = SENSITIVITY_LABELS.get(analysis, analysis.replace("_", " "))
            description = self.scrub(e.get("description", ""))
            rows.append(
                {
                    "analysis": label,
                    "outcome": self._label(e),
                    "effect": fmt_effect(o) if estimated(e) else "not estimable",
                    "p": fmt_p(o.get("p")),
                    "description": description,
                    "reason": "" if estimated(e) else self.scrub(e.get("reason", "")),
                }
            )
        primary = self.r.get("primary")
        shown = fmt_effect(oriented(primary, self.view)) if primary and estimated(primary) else None
        return {"rows": rows, "primary": shown}

    def plan_status(self) -> tuple[list[str], list[str]]:
        """One line per result of the plan that could not be estimated (with the reason), and one per
        result estimated with warnings from its fit (with the warnings)."""
        unestimated, warned = [], []
        parts: list[Any] = [
            self.r.get("primary"),
            *self.r.get("secondary", []),
            *self.r.get("sensitivity", []),
        ]
        named: list[tuple[str, Any]] = []
        for e in parts:
            if e:
                analysis = str(e.get("analysis") or "")
                suffix = f", {SENSITIVITY_LABELS.get(analysis, analysis)}" if analysis else ""
                named.append((self._label(e) + suffix, e))
        for key, name in (("blinding_index", "Blinding index"), ("agreement", "Fidelity agreement")):
            if self.r.get(key):
                named.append((name, self.r.get(key)))
        for label, e in named:
            if not estimated(e):
                unestimated.append(f"{label}: {self.scrub(str(e.get('reason', '')))}")
            elif e.get("warnings"):
                warned.append(f"{label}: {self.scrub('; '.join(map(str, e['warnings'])))}")
        return unestimated, warned

    def provenance(self) -> dict[str, Any]:
        p = self.r.get("provenance") or {}
        return {
            "p": p,
            "protocol_hash": p.get("protocol_hash") or self.trial.protocol_hash,
            "versions": _versions(),
        }


def trusted(text: str) -> Markup:
    """Mark SVG and CSS that this package wrote (every piece of data in them escaped) as safe HTML."""
    return Markup(text)  # noqa: S704 - our own markup, see the docstring


class _Missing(Exception):  # noqa: N818 - control flow for "this section is not available"
    pass


def _scrubber(trial: TrialInfo, view: ArmView) -> Callable[[str], str]:
    """Free text with every arm code and label replaced by "[arm]" (the open report only)."""
    if view.closed:
        return lambda text: text
    words = sorted(
        {w for a in trial.arms for w in (a.code, a.label) if w} | set(view.codes) - set(view.short.values()),
        key=len,
        reverse=True,
    )
    if not words:
        return lambda text: text
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.I)
    return lambda text: pattern.sub("[arm]", text)


SECTIONS: tuple[tuple[str, str], ...] = (
    ("consort", "Participant flow (CONSORT 2025)"),
    ("recruitment", "Recruitment"),
    ("baseline", "Baseline characteristics"),
    ("primary", "Primary outcome"),
    ("outcomes", "Primary and secondary outcomes"),
    ("forest", "Effects on all outcomes"),
    ("trajectories", "Outcome trajectories"),
    ("delivery", "Intervention delivery"),
    ("blinding", "Blinding of outcome assessors"),
    ("sensitivity", "Sensitivity analyses"),
    ("provenance", "Provenance"),
)


@dataclass(frozen=True)
class Built:
    sections: list[Section]
    notes: list[str]  # inputs not used
    unestimated: list[str]  # results of the plan that could not be estimated, with the reason
    warned: list[str]  # results estimated with warnings from the fit, with the warnings
    trial: TrialInfo
    view: ArmView


def build_sections(
    tables: Mapping[str, pd.DataFrame],
    results: Any,
    closed: bool,
    trial: TrialInfo | None = None,
    arm_key: Mapping[str, str] | None = None,
) -> Built:
    usable, notes = usable_tables(tables)
    cleaned, result_notes = clean_results(results)
    trial = trial or from_tables(usable)
    view = arm_view(usable.get("participants"), trial, closed, arm_key)
    builder = _Builder(usable, cleaned, trial, view)
    sections = []
    for key, title in SECTIONS:
        section = Section(key, title)
        try:
            section.data = getattr(builder, key)()
        except _Missing as why:
            section.missing = str(why)
        except (UserError, ValueError, KeyError, TypeError, IndexError) as problem:
            # A section that cannot be drawn from these data must not take the report down with it.
            section.missing = f"could not be drawn from these data ({type(problem).__name__}: {problem})"
        sections.append(section)
    return Built(sections, notes + result_notes, *builder.plan_status(), trial, view)
