"""What a report needs to know about the trial besides the data: labels, arms, sites, targets, outcomes.

Built from a loaded protocol (:func:`from_protocol`) or, when none is given, guessed from the tables
(:func:`from_tables`) so that a report can always be drawn. Kept as plain frozen dataclasses so the
reporting code does not depend on the protocol schema's internals.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd


@dataclass(frozen=True)
class ArmInfo:
    code: str
    label: str
    receives_intervention: bool = False


@dataclass(frozen=True)
class SiteInfo:
    code: str
    name: str
    target: int | None = None


@dataclass(frozen=True)
class VisitInfo:
    code: str
    label: str
    month: float


@dataclass(frozen=True)
class OutcomeInfo:
    code: str
    label: str
    visits: tuple[str, ...]
    role: str = "secondary"
    instrument: str | None = None  # None for register outcomes
    score: str = "total"
    measure: str | None = None  # register column for register outcomes
    direction: str = "higher_is_better"


@dataclass(frozen=True)
class Variable:
    """A baseline characteristic: a participants column or an instrument score at baseline."""

    name: str
    label: str
    kind: Literal["mean_sd", "median_iqr", "categorical"]
    instrument: str | None = None  # set for a score taken from the scores table at the baseline visit
    score: str = "total"


DEFAULT_VARIABLES: tuple[Variable, ...] = (
    Variable("age", "Age, years", "mean_sd"),
    Variable("sex", "Sex", "categorical"),
    Variable("diagnosis", "Diagnosis", "categorical"),
    Variable("site", "Site", "categorical"),
    # Skewed: years since first contact is summarised as median (IQR).
    Variable("years_since_first_contact", "Years since first psychiatric contact", "median_iqr"),
    Variable("education", "Education", "categorical"),
    Variable("employment", "Employment", "categorical"),
    Variable("living", "Living situation", "categorical"),
)


@dataclass(frozen=True)
class TrialInfo:
    title: str = "Trial report"
    short_title: str = "Trial"
    arms: tuple[ArmInfo, ...] = ()
    sites: tuple[SiteInfo, ...] = ()
    target_participants: int | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    visits: tuple[VisitInfo, ...] = ()
    outcomes: tuple[OutcomeInfo, ...] = ()
    baseline_visit: str = "baseline"
    baseline_variables: tuple[Variable, ...] = DEFAULT_VARIABLES
    criteria: Mapping[str, str] = field(default_factory=dict)
    decline_reasons: Mapping[str, str] = field(default_factory=dict)
    modules: int | None = None
    fidelity_high: float = 4.0
    fidelity_moderate: float = 3.0
    intervention_name: str = "the intervention"
    protocol_hash: str | None = None

    def arm_label(self, code: str) -> str:
        return next((a.label for a in self.arms if a.code == code), code)

    def site_name(self, code: str) -> str:
        return next((s.name for s in self.sites if s.code == code), code)

    def visit_label(self, code: str) -> str:
        return next((v.label for v in self.visits if v.code == code), code)

    def visit_month(self, code: str) -> float:
        found = next((v.month for v in self.visits if v.code == code), None)
        return found if found is not None else _month_from_code(code)

    @property
    def primary(self) -> OutcomeInfo | None:
        return next((o for o in self.outcomes if o.role == "primary"), None)


def _month_from_code(code: str) -> float:
    """Visit codes like m9 or month_21 give their month; baseline is 0; anything else sorts last."""
    if code in {"baseline", "bl", "screening"}:
        return 0.0
    found = re.search(r"(\d+(?:\.\d+)?)", code)
    return float(found.group(1)) if found else 999.0


def from_protocol(protocol: Any) -> TrialInfo:
    """TrialInfo from a :class:`trialdesk.protocol.Protocol` (read through its public attributes)."""
    baseline = next((v.code for v in protocol.visits if v.month == 0), "baseline")
    outcomes = tuple(
        OutcomeInfo(
            code=o.code,
            label=o.label,
            visits=tuple(o.visits),
            role=o.role,
            instrument=o.instrument,
            score=o.score or "total",
            measure=o.measure,
            direction=o.direction,
        )
        for o in protocol.outcomes
    )
    seen: set[str] = set()
    score_variables = []
    for o in outcomes:  # baseline value of every instrument outcome measured at baseline, once each
        visit = next((v for v in protocol.visits if v.code == baseline), None)
        if (
            o.instrument
            and visit is not None
            and o.instrument in visit.instruments
            and o.instrument not in seen
        ):
            seen.add(o.instrument)
            label = re.sub(r"\s+at (end of treatment|follow-up)$", "", o.label)
            score_variables.append(
                Variable(f"baseline_{o.instrument}", label, "mean_sd", o.instrument, o.score)
            )
    intervention = protocol.intervention
    return TrialInfo(
        title=protocol.trial.title,
        short_title=protocol.trial.short_title,
        arms=tuple(ArmInfo(a.code, a.label, a.receives_intervention) for a in protocol.arms),
        sites=tuple(SiteInfo(s.code, s.name, s.recruitment_target) for s in protocol.sites),
        target_participants=protocol.trial.target_participants,
        start_date=protocol.trial.start_date,
        end_date=protocol.trial.completion_date,
        visits=tuple(VisitInfo(v.code, v.label, float(v.month)) for v in protocol.visits),
        outcomes=outcomes,
        baseline_visit=baseline,
        baseline_variables=DEFAULT_VARIABLES + tuple(score_variables),
        criteria={c.code: c.text for c in protocol.eligibility},
        decline_reasons={c.code: c.label for c in protocol.consent.decline_reasons},
        modules=len(intervention.modules),
        fidelity_high=intervention.fidelity.high,
        fidelity_moderate=intervention.fidelity.moderate,
        intervention_name=intervention.name,
        protocol_hash=protocol.content_hash,
    )


def from_tables(tables: Mapping[str, pd.DataFrame], title: str = "Trial report") -> TrialInfo:
    """A TrialInfo guessed from the data alone: codes serve as labels, every score total is an outcome."""
    participants = tables.get("participants")
    arms: tuple[ArmInfo, ...] = ()
    sites: tuple[SiteInfo, ...] = ()
    dose = tables.get("dose")
    treated: set[str] = set()
    if participants is not None and {"arm", "site", "trial_id"} <= set(participants.columns):
        if dose is not None and "trial_id" in dose.columns:
            treated = set(participants.loc[participants["trial_id"].isin(dose["trial_id"]), "arm"].dropna())
        codes = sorted(str(a) for a in participants["arm"].dropna().unique() if str(a))
        arms = tuple(ArmInfo(c, c, c in treated) for c in codes)
        sites = tuple(SiteInfo(str(s), str(s)) for s in sorted(participants["site"].dropna().unique()))
    visits: tuple[VisitInfo, ...] = ()
    outcomes: tuple[OutcomeInfo, ...] = ()
    scores = tables.get("scores")
    if scores is not None and {"visit", "instrument", "score"} <= set(scores.columns):
        codes = sorted({str(v) for v in scores["visit"].dropna()}, key=lambda c: (_month_from_code(c), c))
        visits = tuple(VisitInfo(c, c, _month_from_code(c)) for c in codes)
        follow_up = tuple(c for c in codes if _month_from_code(c) > 0)
        totals = scores[scores["score"] == "total"]
        outcomes = tuple(
            OutcomeInfo(code=str(i), label=str(i), visits=follow_up, instrument=str(i))
            for i in sorted(totals["instrument"].dropna().unique())
        )
    baseline = visits[0].code if visits else "baseline"
    return TrialInfo(
        title=title, arms=arms, sites=sites, visits=visits, outcomes=outcomes, baseline_visit=baseline
    )
