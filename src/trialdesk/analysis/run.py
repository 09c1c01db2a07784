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
from trialdesk.analysis.estimability import Once, estimate, refused, require_per_arm
from trialdesk.analysis.estimability import part as part_of
from trialdesk.analysis.indices import blinding_index, fidelity_agreement
from trialdesk.analysis.primary import (
    PrimaryModel,
    fill_groups,
    imputation_for,
    pooled_fit,
    prepare,
    single_fit,
)
from trialdesk.analysis.secondary import (
    ancova_at,
    mmrm_estimates,
    nb_estimate,
    register_frame,
    visit_imputation,
)
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
        self.notes: list[str] = []  # one line per result that could not be estimated

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
        visit = outcome.visits[0]
        what = f"primary outcome {outcome.code} at {visit}"
        base = self.base(outcome, visit, plan, missing_data={"method": plan.missing_data.method})
        if outcome.instrument is None:
            why = "the runner analyses instrument scores as primary outcomes; this one is not"
            return estimate(base, refused(why), what, self.notes), []
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
        base.update(n=len(observed), n_observed=n_observed, term=model.term, formula=model.formula)
        imputation = None
        if plan.missing_data.method == "mi":
            seed = self.plan_seed(plan)
            imputation = Once(
                lambda: imputation_for(wide, plan, visits, seed), "the multiple imputation failed"
            )

        def fit() -> dict[str, Any]:
            require_per_arm(n_observed, f"{outcome.label} at {visit}")
            if imputation is not None:
                self.report(0.05, f"imputing {outcome.code} (m = {plan.missing_data.imputations})")
                imputed = imputation()
                m = imputed.m
                found = pooled_fit(
                    model,
                    imputed,
                    prepare_one,
                    lambda i: self.report(0.05 + 0.45 * i / m, f"primary model, imputation {i}/{m}"),
                    columns=(visit, self.baseline),
                )
                missing = {
                    "method": "mi",
                    "m": m,
                    "seed": imputed.seed,
                    "dfcom": found["dfcom"],
                    "algorithm": imputed.algorithm_version,
                    "fmi": found["effect"]["fmi"],
                }
            else:
                found = single_fit(model, observed.dropna(subset=["y"]))
                missing = {"method": plan.missing_data.method}
            for arm, mean in found["means"].items():
                mean["n"] = n_observed[arm]
            effect = found["effect"]
            return {
                **{k: effect[k] for k in ("estimate", "se", "ci_low", "ci_high", "p", "df")},
                "means": found["means"],
                "missing_data": missing,
            }

        result = estimate(base, fit, what, self.notes)
        self.report(0.5, "sensitivity analyses of the primary outcome")
        rows = primary_sensitivity(
            model,
            observed,
            which=plan.sensitivity,
            higher_is_better=outcome.direction == "higher_is_better",
            bounds=self.bounds(outcome),
            imputation=imputation,
            primary=result,
            step=self.protocol.sample_size.delta / 3,
            threshold=self.protocol.intervention.completer_threshold,
            prepare_one=prepare_one,
            outcome_column=visit,
            baseline_column=self.baseline,
            base=self.base(outcome, visit, plan),
            notes=self.notes,
        )
        return result, rows

    def scores(self, plan: AnalysisPlan) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every outcome of an MMRM plan at each of its visits, and the plan's ANCOVA sensitivity rows.

        Outcomes that share an instrument score share its MMRM and its imputations (run once each).
        """
        estimates: list[dict[str, Any]] = []
        sensitivity: list[dict[str, Any]] = []
        outcomes = [o for o in self.protocol.outcomes if o.code in plan.outcomes and o.instrument]
        shared: dict[tuple[str, str], tuple[pd.DataFrame, str | None, Once[Any], Once[Any]]] = {}
        m = self.protocol_m()
        for number, outcome in enumerate(outcomes):
            self.report(0.6 + 0.3 * number / max(len(outcomes), 1), f"secondary outcome {outcome.code}")
            instrument, score = str(outcome.instrument), outcome.score or "total"
            visits = [v for v in self.visits_of(instrument) if v != self.baseline]
            baseline = self.baseline if self.baseline in self.visits_of(instrument) else None
            key = (instrument, score)
            if key not in shared:
                wide = frames.with_scores(
                    self.frame, self.tables, instrument, score, ([baseline] if baseline else []) + visits
                )
                seed = self.plan_seed(plan) if "mi" in plan.sensitivity else 0
                shared[key] = (
                    wide,
                    baseline,
                    Once(functools.partial(mmrm_estimates, plan, self.arms, wide, visits, baseline), "MMRM"),
                    Once(
                        functools.partial(visit_imputation, plan, wide, visits, baseline, seed=seed, m=m),
                        "the multiple imputation failed",
                    ),
                )
            wide, baseline, mmrm, imputed = shared[key]
            for visit in outcome.visits:
                what = f"{outcome.code} at {visit}"
                estimates.append(
                    estimate(
                        self.base(outcome, visit, plan), functools.partial(_at, mmrm, visit), what, self.notes
                    )
                )
                for analysis in (a for a in ("complete_case", "mi") if a in plan.sensitivity):
                    description = (
                        "ANCOVA at the visit, observed values only"
                        if analysis == "complete_case"
                        else f"ANCOVA at the visit pooled over {m} imputations "
                        "(within arm, predictive mean matching)"
                    )
                    row = self.base(outcome, visit, plan, analysis=analysis, description=description)
                    step = functools.partial(
                        _ancova,
                        plan,
                        self.arms,
                        wide,
                        visit,
                        baseline=baseline,
                        imputed=imputed if analysis == "mi" else None,
                    )
                    sensitivity.append(
                        estimate(row, step, f"sensitivity analysis {analysis} of {what}", self.notes)
                    )
        return estimates, sensitivity

    def protocol_m(self) -> int:
        """Imputations for MI sensitivity rows: the primary plan's m, at most 20 (they are supportive)."""
        primary = self.plan_for(self.protocol.primary_outcome.code)
        return min(primary.missing_data.imputations or 20, 20)

    def register(self, plan: AnalysisPlan) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        estimates: list[dict[str, Any]] = []
        sensitivity: list[dict[str, Any]] = []
        register = self.tables.get("register")
        periods = sorted(set(register["period"].astype(str))) if register is not None else []
        with_dose = frames.with_dose(self.frame, self.tables, self.arms)
        for outcome in (o for o in self.protocol.outcomes if o.code in plan.outcomes and o.measure):
            for visit in outcome.visits:
                period = next((p for p in periods if p.endswith(f"-{visit}")), None)
                fields = {"scale": "ratio", "period": period, "unit": "per person-year"}
                what = f"{outcome.code} at {visit}"
                if register is None or period is None:
                    why = f"the register data have no counting period ending at {visit}"
                    estimates.append(estimate(self.base(outcome, visit, plan, **fields), refused(why), what,
                                              self.notes))  # fmt: skip
                    continue
                data = register_frame(register, with_dose, period, str(outcome.measure))
                step = functools.partial(nb_estimate, plan, self.arms, data)
                estimates.append(estimate(self.base(outcome, visit, plan, **fields), step, what, self.notes))
                if "per_protocol" in plan.sensitivity:
                    keep = (data[frames.ARM] != self.arms.treated) | data["completer"].fillna(False).astype(
                        bool
                    )
                    row = self.base(
                        outcome,
                        visit,
                        plan,
                        **fields,
                        analysis="per_protocol",
                        description=f"arm {self.arms.control} and the completers of arm {self.arms.treated}",
                    )
                    step = functools.partial(nb_estimate, plan, self.arms, data[keep].reset_index(drop=True))
                    sensitivity.append(
                        estimate(row, step, f"sensitivity analysis per_protocol of {what}", self.notes)
                    )
        return estimates, sensitivity

    def provenance(self, snapshot_hash: str | None, snapshot: Mapping[str, Any] | None) -> dict[str, Any]:
        return {
            "snapshot_hash": snapshot_hash or "",
            "snapshot": dict(snapshot or {}),
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
    snapshot: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run every analysis of the protocol's plan on ``tables`` (the tables of :mod:`trialdesk.datasets`).

    ``seed`` seeds any imputation whose plan names no seed of its own; ``snapshot`` (its id, time and
    database lock) goes into the provenance as given; ``progress(fraction, message)`` is called as the
    run goes. Each result is estimated on its own or says why it is not estimable
    (:mod:`trialdesk.analysis.estimability`); ``notes`` lists those that are not, one line each.
    """
    # Many small matrices: BLAS threads only contend (several times slower on a loaded machine).
    with threadpool_limits(limits=1, user_api="blas"):
        return _run(
            protocol, tables, seed=seed, snapshot_hash=snapshot_hash, snapshot=snapshot, progress=progress
        )


def _run(
    protocol: Protocol,
    tables: Mapping[str, pd.DataFrame],
    *,
    seed: int,
    snapshot_hash: str | None,
    snapshot: Mapping[str, Any] | None,
    progress: Progress | None,
) -> dict[str, Any]:
    runner = _Runner(protocol, tables, seed, progress)
    runner.report(0.0, "counting the participant flow")
    results: dict[str, Any] = {"consort": runner.consort()}
    results["primary"], sensitivity = runner.primary()
    secondary: list[dict[str, Any]] = []
    for plan in protocol.analysis.plans:
        if protocol.primary_outcome.code in plan.outcomes:
            continue
        if plan.model in ("mmrm", "nb", "poisson"):
            part = runner.scores(plan) if plan.model == "mmrm" else runner.register(plan)
            secondary += part[0]
            sensitivity += part[1]
        else:
            why = f"model {plan.model!r} is not supported for secondary outcomes"
            for outcome in (o for o in protocol.outcomes if o.code in plan.outcomes):
                for visit in outcome.visits:
                    base = runner.base(outcome, visit, plan)
                    secondary.append(estimate(base, refused(why), f"{outcome.code} at {visit}", runner.notes))
    results["secondary"] = secondary
    results["sensitivity"] = sensitivity
    runner.report(0.92, "blinding and agreement indices")
    results["blinding_index"] = part_of(
        lambda: blinding_index(runner.tables.get("guesses"), runner.frame, runner.arms),
        "blinding index",
        runner.notes,
    )
    results["agreement"] = part_of(
        lambda: fidelity_agreement(runner.tables.get("fidelity")), "fidelity agreement", runner.notes
    )
    results["notes"] = runner.notes
    results["provenance"] = runner.provenance(snapshot_hash, snapshot)
    runner.report(1.0, "done")
    return results


def _at(mmrm: Once[Any], visit: str) -> dict[str, Any]:
    by_visit, n = mmrm()
    return {**by_visit[visit], "n": n}


def _ancova(
    plan: AnalysisPlan,
    arms: frames.Arms,
    wide: pd.DataFrame,
    visit: str,
    *,
    baseline: str | None,
    imputed: Once[Any] | None,
) -> dict[str, Any]:
    return ancova_at(
        plan, arms, wide, visit, baseline=baseline, imputation=imputed() if imputed is not None else None
    )


def to_json(results: Mapping[str, Any]) -> str:
    """The results as canonical JSON text: sorted keys, no NaN (null instead), a final newline."""
    return (
        json.dumps(json_safe(dict(results)), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
        + "\n"
    )
