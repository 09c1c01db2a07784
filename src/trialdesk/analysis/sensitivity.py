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

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from trialdesk.analysis.estimability import ESTIMATED, Once, estimate, refused
from trialdesk.analysis.frames import ARM, ID
from trialdesk.analysis.primary import Y0, PrimaryModel, Y, pooled_fit
from trialdesk.stats import sensitivity as sens
from trialdesk.stats.imputation import Imputation

TIPPING_IMPUTATIONS = 10
TIPPING_STEPS = 4
ALPHA = 0.05


def _fields(found: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "estimate": float(found["estimate"]),
        "ci_low": float(found["ci_low"]),
        "ci_high": float(found["ci_high"]),
        "p": float(found["p"]),
        "se": float(found["se"]),
        "n": int(found["nobs"]),
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
    imputation: Callable[[], Imputation] | None,
    primary: dict[str, Any],
    step: float,
    threshold: float,
    prepare_one: Callable[[pd.DataFrame], pd.DataFrame],
    outcome_column: str,
    baseline_column: str | None = None,
    base: Mapping[str, Any],
    notes: list[str],
) -> list[dict[str, Any]]:
    """The plan's sensitivity analyses of the primary outcome, in the plan's order, each estimated on its
    own (``base`` names the outcome; a failure is a not-estimable row with its reason, see
    :mod:`trialdesk.analysis.estimability`)."""
    arms = model.arms
    rows: list[dict[str, Any]] = []
    fit = model.fit
    what = f"{base['outcome']} at {base['visit']}"

    def add(analysis: str, description: str, found: Callable[[], dict[str, Any]]) -> None:
        row = {**base, "analysis": analysis, "description": description}
        rows.append(estimate(row, found, f"sensitivity analysis {analysis} of {what}", notes))

    extremes = Once(
        lambda: sens.best_worst(
            data,
            fit,
            outcome=Y,
            term=model.term,
            arm=ARM,
            treatment=arms.treated,
            higher_is_better=higher_is_better,
            bounds=bounds,
        )
    )
    for analysis in which:
        if analysis == "complete_case":
            add(
                analysis,
                "participants with the outcome observed, no imputation",
                lambda: _fields(sens.complete_case(data, fit, outcome=Y, term=model.term)),
            )
        elif analysis in ("best_worst", "worst_best"):
            favoured = arms.treated if analysis == "best_worst" else arms.control
            which_one = 0 if analysis == "best_worst" else 1
            add(
                analysis,
                f"missing outcomes set to the arm's observed mean ± 2 SD, favouring arm {favoured}",
                lambda which_one=which_one: _fields(extremes()[which_one]),  # type: ignore[misc]
            )
        elif analysis == "per_protocol":
            add(
                analysis,
                f"arm {arms.control} and the completers of arm {arms.treated} "
                "(dose table's completer flag), outcome observed",
                lambda: _fields(
                    sens.per_protocol(
                        data, fit, outcome=Y, term=model.term, arm=ARM, treatment=arms.treated,
                        completer="completer",
                    )
                ),
            )  # fmt: skip
        elif analysis == "tipping_point" and imputation is not None:
            rows += _tipping(
                model,
                imputation,
                primary,
                step=step,
                prepare_one=prepare_one,
                outcome_column=outcome_column,
                baseline_column=baseline_column,
                base=base,
                notes=notes,
            )
        elif analysis == "cace":
            add(
                analysis,
                f"complier average causal effect: attendance ≥ {threshold:.0%} of offered sessions; "
                "2SLS with allocation as instrument, complete cases",
                lambda: _cace(model, data, threshold),
            )
        elif analysis == "mi" and imputation is not None:
            continue  # the primary analysis is itself the MI analysis
    return rows


def _tipping(
    model: PrimaryModel,
    imputation: Callable[[], Imputation],
    primary: dict[str, Any],
    *,
    step: float,
    prepare_one: Callable[[pd.DataFrame], pd.DataFrame],
    outcome_column: str,
    baseline_column: str | None,
    base: Mapping[str, Any],
    notes: list[str],
) -> list[dict[str, Any]]:
    what = f"sensitivity analysis tipping_point of {base['outcome']} at {base['visit']}"
    row = {
        **base,
        "analysis": "tipping_point",
        "description": "imputed values shifted until the conclusion changes",
    }
    if primary.get("status") != ESTIMATED:
        why = "it shifts the primary analysis's imputations, and the primary analysis was not estimable"
        return [estimate(row, refused(why), what, notes)]
    significant = primary["p"] < ALPHA
    sign = np.sign(primary["estimate"]) or 1.0
    direction = -sign if significant else sign
    rows: list[dict[str, Any]] = []
    tipped = False
    for k in range(1, TIPPING_STEPS + 1):
        delta = float(direction * step * k)

        def shifted(delta: float = delta) -> dict[str, Any]:
            nonlocal tipped
            few = subset(imputation(), TIPPING_IMPUTATIONS)
            found = pooled_fit(
                model,
                few,
                prepare_one,
                shift=(outcome_column, delta),
                columns=(outcome_column, baseline_column),
            )["effect"]
            tip = not tipped and (found["p"] < ALPHA) != significant
            tipped = tipped or tip
            note = " — the conclusion changes here" if tip else ""
            description = (
                f"imputed values in arm {model.arms.treated} shifted by {delta:+g} points "
                f"(first {few.m} imputations){note}"
            )
            return _fields(found | {"nobs": len(few.data)}, description=description, tipping=tip)

        rows.append(estimate({**row, "delta": delta}, shifted, f"{what} (shift {delta:+g})", notes))
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
    return _fields(
        found,
        description=f"complier average causal effect: attendance ≥ {threshold:.0%} of offered "
        f"sessions; 2SLS with allocation as instrument, complete cases "
        f"(compliance {found['compliance']:.0%})",
        compliance=float(found["compliance"]),  # type: ignore[arg-type]
    )
