"""``run_plan``: the protocol's whole analysis plan on the analysis tables, as one results document.

The document has the shape of :mod:`trialdesk.reporting.results_schema` (what ``trialdesk analyse
--json`` prints and the report reads). It holds nothing that depends on the clock or the machine
beyond the package versions in ``provenance``: the same tables, protocol and seed give the same
numbers, and :func:`to_json` writes them as the same bytes (keys sorted, floats as Python's shortest
round-trip repr).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pandas as pd
from threadpoolctl import threadpool_limits

from trialdesk.analysis import frames
from trialdesk.analysis.indices import blinding_index, fidelity_agreement
from trialdesk.analysis.primary import (
    PrimaryModel,
    fill_groups,
    imputation_for,
    pooled_fit,
    prepare,
    single_fit,
)
from trialdesk.analysis.secondary import ancova_rows, mmrm_estimates, nb_estimate, register_frame
from trialdesk.analysis.sensitivity import primary_sensitivity
from trialdesk.errors import UserError
from trialdesk.instruments import get_library
from trialdesk.reporting.consort import count_consort
from trialdesk.stats.results import json_safe

if TYPE_CHECKING:
    from trialdesk.protocol import Protocol
    from trialdesk.protocol.plan import AnalysisPlan
    from trialdesk.protocol.schema import Outcome

#: Bump when the same inputs would give different results.
ALGORITHM_VERSION = "trialdesk-analysis/1"
PACKAGES = ("numpy", "scipy", "pandas", "statsmodels", "patsy")
Progress = Callable[[float, str], None]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


class _Runner:
    def __init__(
        self, protocol: Protocol, tables: Mapping[str, pd.DataFrame], seed: int, progress: Progress | None
    ) -> None:
        for name in ("participants", "status_events"):
            if name not in tables:
                raise UserError(f"the analysis needs the {name} table; the data have {', '.join(tables)}")
        self.protocol, self.tables, self.seed = protocol, dict(tables), seed
        self.report = progress or (lambda fraction, message: None)
        self.frame = frames.itt(self.tables)
        if self.frame.empty:
            raise UserError("nobody has been randomised: there is nothing to analyse")
        self.arms = frames.arms_of(self.frame, protocol, self.tables)
        self.baseline = next(v.code for v in sorted(protocol.visits, key=lambda v: v.month))
        self.seeds: dict[str, int] = {"run": seed}

    # -- helpers -------------------------------------------------------------------------------
    def plan_for(self, outcome: str) -> AnalysisPlan:
        return next(p for p in self.protocol.analysis.plans if outcome in p.outcomes)

    def visits_of(self, instrument: str) -> list[str]:
        return [
            v.code for v in sorted(self.protocol.visits, key=lambda v: v.month) if instrument in v.instruments
        ]

    def plan_seed(self, plan: AnalysisPlan) -> int:
        seed = plan.missing_data.seed if plan.missing_data.seed is not None else self.seed
        self.seeds[f"{plan.code}.imputation"] = seed
        return seed

    def bounds(self, outcome: Outcome) -> tuple[float, float] | None:
        try:
            low, high = get_library().get(str(outcome.instrument)).score_range(outcome.score or "total")
        except (KeyError, ValueError):
            return None
        return float(low), float(high)

    def base(self, outcome: Outcome, visit: str, plan: AnalysisPlan, **fields: Any) -> dict[str, Any]:
        return {
            "outcome": outcome.code,
            "visit": visit,
            "label": outcome.label,
            "model": plan.model,
            "contrast": self.arms.contrast,
            "scale": "difference",
            **fields,
        }

    # -- parts ---------------------------------------------------------------------------------
    def consort(self) -> dict[str, Any]:
        primary = self.protocol.primary_outcome
        key = (
            (primary.instrument, primary.score or "total", primary.visits[0]) if primary.instrument else None
        )
        counts = count_consort(self.tables, intervention_arms={self.arms.treated}, primary=key)
        return dict(counts.to_dict())

    def primary(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        outcome = self.protocol.primary_outcome
        plan = self.plan_for(outcome.code)
        if outcome.instrument is None:
            raise UserError(
                f"primary outcome {outcome.code} is not an instrument score; the runner "
                "analyses instrument scores as primary outcomes"
            )
        visit = outcome.visits[0]
        visits = self.visits_of(outcome.instrument)
        scored = frames.with_scores(
            self.frame, self.tables, outcome.instrument, outcome.score or "total", visits
        )
        wide = frames.with_dose(scored, self.tables, self.arms)
        model = PrimaryModel(plan, self.arms)

        def prepare_one(data: pd.DataFrame) -> pd.DataFrame:
            return fill_groups(prepare(data, visit, self.baseline), self.arms)

        observed = prepare_one(wide)
        n_observed = {
            a: int(observed.loc[observed[frames.ARM] == a, "y"].notna().sum()) for a in self.arms.contrast
        }
        imputation = None
        if plan.missing_data.method == "mi":
            self.report(0.05, f"imputing {outcome.code} (m = {plan.missing_data.imputations})")
            imputation = imputation_for(wide, plan, visits, self.plan_seed(plan))
            m = imputation.m
            found = pooled_fit(
                model,
                imputation,
                prepare_one,
                lambda i: self.report(0.05 + 0.45 * i / m, f"primary model, imputation {i}/{m}"),
                columns=(visit, self.baseline),
            )
            effect, means = found["effect"], found["means"]
            missing = {
                "method": "mi",
                "m": m,
                "seed": imputation.seed,
                "dfcom": found["dfcom"],
                "algorithm": imputation.algorithm_version,
                "fmi": effect["fmi"],
            }
        else:
            found = single_fit(model, observed.dropna(subset=["y"]))
            effect, means = found["effect"], found["means"]
            missing = {"method": plan.missing_data.method}
        for arm, mean in means.items():
            mean["n"] = n_observed[arm]
        estimate = self.base(
            outcome,
            visit,
            plan,
            **{k: effect[k] for k in ("estimate", "se", "ci_low", "ci_high", "p", "df")},
            means=means,
            n=len(observed),
            n_observed=n_observed,
            missing_data=missing,
            term=model.term,
            formula=model.formula,
        )
        self.report(0.5, "sensitivity analyses of the primary outcome")
        rows = primary_sensitivity(
            model,
            observed,
            which=plan.sensitivity,
            higher_is_better=outcome.direction == "higher_is_better",
            bounds=self.bounds(outcome),
            imputation=imputation,
            primary=estimate,
            step=self.protocol.sample_size.delta / 3,
            threshold=self.protocol.intervention.completer_threshold,
            prepare_one=prepare_one,
            outcome_column=visit,
            baseline_column=self.baseline,
        )
        sensitivity = [self.base(outcome, visit, plan, **row) for row in rows]
        return estimate, sensitivity

    def scores(self, plan: AnalysisPlan) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        estimates: list[dict[str, Any]] = []
        sensitivity: list[dict[str, Any]] = []
        outcomes = [o for o in self.protocol.outcomes if o.code in plan.outcomes and o.instrument]
        fitted: dict[tuple[str, str], tuple[dict[str, dict[str, Any]], int, dict[str, Any]]] = {}
        for number, outcome in enumerate(outcomes):
            self.report(0.6 + 0.3 * number / max(len(outcomes), 1), f"secondary outcome {outcome.code}")
            instrument, score = str(outcome.instrument), outcome.score or "total"
            visits = [v for v in self.visits_of(instrument) if v != self.baseline]
            baseline = self.baseline if self.baseline in self.visits_of(instrument) else None
            key = (instrument, score)
            if key not in fitted:
                wide = frames.with_scores(
                    self.frame, self.tables, instrument, score, ([baseline] if baseline else []) + visits
                )
                by_visit, n = mmrm_estimates(plan, self.arms, wide, visits, baseline)
                extra: dict[str, Any] = {}
                if "complete_case" in plan.sensitivity:
                    extra["complete_case"] = ancova_rows(plan, self.arms, wide, visits, baseline)
                if "mi" in plan.sensitivity:
                    m = self.protocol_m()
                    seed = self.plan_seed(plan)
                    extra["mi"] = ancova_rows(plan, self.arms, wide, visits, baseline, seed=seed, m=m)
                fitted[key] = (by_visit, n, extra)
            by_visit, n, extra = fitted[key]
            for visit in outcome.visits:
                estimates.append(self.base(outcome, visit, plan, **by_visit[visit], n=n))
                for analysis, rows in extra.items():
                    description = (
                        "ANCOVA at the visit, observed values only"
                        if analysis == "complete_case"
                        else f"ANCOVA at the visit pooled over {self.protocol_m()} imputations "
                        "(within arm, predictive mean matching)"
                    )
                    sensitivity.append(
                        self.base(
                            outcome, visit, plan, analysis=analysis, description=description, **rows[visit]
                        )
                    )
        return estimates, sensitivity

    def protocol_m(self) -> int:
        """Imputations for MI sensitivity rows: the primary plan's m, at most 20 (they are supportive)."""
        primary = self.plan_for(self.protocol.primary_outcome.code)
        return min(primary.missing_data.imputations or 20, 20)

    def register(self, plan: AnalysisPlan) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        register = self.tables.get("register")
        if register is None or register.empty:
            return [], []
        estimates, sensitivity = [], []
        periods = sorted(set(register["period"].astype(str)))
        with_dose = frames.with_dose(self.frame, self.tables, self.arms)
        for outcome in (o for o in self.protocol.outcomes if o.code in plan.outcomes and o.measure):
            for visit in outcome.visits:
                period = next((p for p in periods if p.endswith(f"-{visit}")), None)
                if period is None:
                    continue
                data = register_frame(register, with_dose, period, str(outcome.measure))
                found = nb_estimate(plan, self.arms, data)
                fields = {"scale": "ratio", "period": period, "unit": "per person-year"}
                estimates.append(self.base(outcome, visit, plan, **found, **fields))
                if "per_protocol" in plan.sensitivity:
                    keep = (data[frames.ARM] != self.arms.treated) | data["completer"].fillna(False).astype(
                        bool
                    )
                    pp = nb_estimate(plan, self.arms, data[keep].reset_index(drop=True))
                    sensitivity.append(
                        self.base(
                            outcome,
                            visit,
                            plan,
                            **pp,
                            **fields,
                            analysis="per_protocol",
                            description=f"arm {self.arms.control} and the completers "
                            f"of arm {self.arms.treated}",
                        )
                    )
        return estimates, sensitivity

    def provenance(self, snapshot_hash: str | None) -> dict[str, Any]:
        return {
            "snapshot_hash": snapshot_hash or "",
            "protocol_hash": self.protocol.content_hash,
            "trialdesk_version": _version("trialdesk"),
            "algorithm": ALGORITHM_VERSION,
            "packages": {name: _version(name) for name in PACKAGES},
            "seeds": dict(self.seeds),
        }


def run_plan(
    protocol: Protocol,
    tables: Mapping[str, pd.DataFrame],
    *,
    seed: int,
    snapshot_hash: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run every analysis of the protocol's plan on ``tables`` (the tables of :mod:`trialdesk.datasets`).

    ``seed`` seeds any imputation whose plan names no seed of its own; ``progress(fraction, message)``
    is called as the run goes.
    """
    # Many small matrices: BLAS threads only contend (several times slower on a loaded machine).
    with threadpool_limits(limits=1, user_api="blas"):
        return _run(protocol, tables, seed, snapshot_hash, progress)


def _run(
    protocol: Protocol,
    tables: Mapping[str, pd.DataFrame],
    seed: int,
    snapshot_hash: str | None,
    progress: Progress | None,
) -> dict[str, Any]:
    runner = _Runner(protocol, tables, seed, progress)
    runner.report(0.0, "counting the participant flow")
    results: dict[str, Any] = {"consort": runner.consort()}
    notes: list[str] = []

    def attempt(what: str, step: Callable[[], Any]) -> Any:
        # A part the data cannot support (too few participants, one arm only...) is reported as a note
        # naming the reason; the rest of the plan still runs, and the report shows what is there.
        try:
            return step()
        except UserError as problem:
            notes.append(f"{what}: not analysed: {problem}")
            return None

    found = attempt(f"primary outcome {protocol.primary_outcome.code}", runner.primary)
    sensitivity: list[dict[str, Any]] = []
    if found is not None:
        results["primary"], sensitivity = found
    secondary: list[dict[str, Any]] = []
    for plan in protocol.analysis.plans:
        if protocol.primary_outcome.code in plan.outcomes:
            continue
        if plan.model in ("mmrm", "nb", "poisson"):
            method = runner.scores if plan.model == "mmrm" else runner.register
            part = attempt(f"plan {plan.code}", functools.partial(method, plan))
        else:
            notes.append(f"plan {plan.code}: model {plan.model!r} is not supported for secondary outcomes")
            part = None
        if part is not None:
            secondary += part[0]
            sensitivity += part[1]
    results["secondary"] = secondary
    results["sensitivity"] = sensitivity
    runner.report(0.92, "blinding and agreement indices")
    blinding = attempt(
        "blinding index", lambda: blinding_index(runner.tables.get("guesses"), runner.frame, runner.arms)
    )
    if blinding is not None:
        results["blinding_index"] = blinding
    agreement = attempt("fidelity agreement", lambda: fidelity_agreement(runner.tables.get("fidelity")))
    if agreement is not None:
        results["agreement"] = agreement
    results["notes"] = notes
    results["provenance"] = runner.provenance(snapshot_hash)
    runner.report(1.0, "done")
    return results


def to_json(results: Mapping[str, Any]) -> str:
    """The results as canonical JSON text: sorted keys, no NaN (null instead), a final newline."""
    return (
        json.dumps(json_safe(dict(results)), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
        + "\n"
    )
