"""Sensitivity analyses of the primary comparison, as the plan lists them, in the results' shape.

Each runs the primary model (:class:`~trialdesk.analysis.primary.PrimaryModel`) on a changed data set
through :mod:`trialdesk.stats.sensitivity`. The tipping-point grid is in steps of a third of the
protocol's minimal important difference (``sample_size.delta``), four steps, shifting the imputed
intervention-arm values towards significance when the primary result is not significant and away
from it when it is; each step re-fits the first :data:`TIPPING_IMPUTATIONS` imputed data sets (a grid
of full m = 50 fits would dominate the run time and the tipping point is read to the step, not the
decimal).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from trialdesk.analysis.frames import ARM, ID
from trialdesk.analysis.primary import Y0, PrimaryModel, Y, pooled_fit
from trialdesk.stats import sensitivity as sens
from trialdesk.stats.imputation import Imputation

TIPPING_IMPUTATIONS = 10
TIPPING_STEPS = 4
ALPHA = 0.05


def _row(analysis: str, found: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {
        "analysis": analysis,
        "estimate": float(found["estimate"]),
        "ci_low": float(found["ci_low"]),
        "ci_high": float(found["ci_high"]),
        "p": float(found["p"]),
        "se": float(found["se"]),
        "n": int(found["nobs"]),
        "description": description,
        **extra,
    }


def subset(imputation: Imputation, m: int) -> Imputation:
    """The first ``m`` imputed data sets of ``imputation``."""
    m = min(m, imputation.m)
    return Imputation(
        data=imputation.data,
        m=m,
        imputed={k: v[:m] for k, v in imputation.imputed.items()},
        missing=imputation.missing,
        method=imputation.method,
        by=imputation.by,
        maxit=imputation.maxit,
        seed=imputation.seed,
        predictors=imputation.predictors,
    )


def primary_sensitivity(
    model: PrimaryModel,
    data: pd.DataFrame,
    *,
    which: tuple[str, ...],
    higher_is_better: bool,
    bounds: tuple[float, float] | None,
    imputation: Imputation | None,
    primary: dict[str, Any],
    step: float,
    threshold: float,
    prepare_one: Callable[[pd.DataFrame], pd.DataFrame],
    outcome_column: str,
    baseline_column: str | None = None,
) -> list[dict[str, Any]]:
    """The plan's sensitivity analyses of the primary outcome, in the plan's order."""
    arms = model.arms
    rows: list[dict[str, Any]] = []
    fit = model.fit
    for analysis in which:
        if analysis == "complete_case":
            found = sens.complete_case(data, fit, outcome=Y, term=model.term)
            rows.append(_row(analysis, found, "participants with the outcome observed, no imputation"))
        elif analysis in ("best_worst", "worst_best"):
            both = sens.best_worst(
                data,
                fit,
                outcome=Y,
                term=model.term,
                arm=ARM,
                treatment=arms.treated,
                higher_is_better=higher_is_better,
                bounds=bounds,
            )
            found = both[0] if analysis == "best_worst" else both[1]
            favoured = arms.treated if analysis == "best_worst" else arms.control
            rows.append(
                _row(
                    analysis,
                    found,
                    f"missing outcomes set to the arm's observed mean ± 2 SD, favouring arm {favoured}",
                )
            )
        elif analysis == "per_protocol":
            found = sens.per_protocol(
                data, fit, outcome=Y, term=model.term, arm=ARM, treatment=arms.treated, completer="completer"
            )
            rows.append(
                _row(
                    analysis,
                    found,
                    f"arm {arms.control} and the completers of arm {arms.treated} "
                    "(dose table's completer flag), outcome observed",
                )
            )
        elif analysis == "tipping_point" and imputation is not None:
            rows += _tipping(
                model,
                imputation,
                primary,
                step=step,
                prepare_one=prepare_one,
                outcome_column=outcome_column,
                baseline_column=baseline_column,
            )
        elif analysis == "cace":
            rows.append(_cace(model, data, threshold))
        elif analysis == "mi" and imputation is not None:
            continue  # the primary analysis is itself the MI analysis
    return rows


def _tipping(
    model: PrimaryModel,
    imputation: Imputation,
    primary: dict[str, Any],
    *,
    step: float,
    prepare_one: Callable[[pd.DataFrame], pd.DataFrame],
    outcome_column: str,
    baseline_column: str | None,
) -> list[dict[str, Any]]:
    significant = primary["p"] < ALPHA
    sign = np.sign(primary["estimate"]) or 1.0
    direction = -sign if significant else sign
    few = subset(imputation, TIPPING_IMPUTATIONS)
    rows, tipped = [], False
    for k in range(1, TIPPING_STEPS + 1):
        delta = float(direction * step * k)
        found = pooled_fit(
            model, few, prepare_one, shift=(outcome_column, delta), columns=(outcome_column, baseline_column)
        )["effect"]
        tip = not tipped and (found["p"] < ALPHA) != significant
        tipped = tipped or tip
        note = " — the conclusion changes here" if tip else ""
        description = (
            f"imputed values in arm {model.arms.treated} shifted by {delta:+g} points "
            f"(first {few.m} imputations){note}"
        )
        rows.append(
            _row(
                "tipping_point", found | {"nobs": len(imputation.data)}, description, delta=delta, tipping=tip
            )
        )
    return rows


def _cace(model: PrimaryModel, data: pd.DataFrame, threshold: float) -> dict[str, Any]:
    covariates = [Y0] if model.plan.adjust_for_baseline else []
    frame = data.copy()
    for column in model.plan.covariates:
        dummies = pd.get_dummies(frame[column], prefix=column, drop_first=True, dtype=float)
        frame = pd.concat([frame, dummies], axis=1)
        covariates += list(dummies.columns)
    frame = frame.sort_values(ID, kind="mergesort")
    found = sens.cace(
        frame,
        outcome=Y,
        arm=ARM,
        treatment=model.arms.treated,
        attendance="attendance",
        threshold=threshold,
        covariates=covariates,
    )
    return _row(
        "cace",
        found,
        f"complier average causal effect: attendance ≥ {threshold:.0%} of offered "
        f"sessions; 2SLS with allocation as instrument, complete cases "
        f"(compliance {found['compliance']:.0%})",
        compliance=float(found["compliance"]),  # type: ignore[arg-type]
    )
