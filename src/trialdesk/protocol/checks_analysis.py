"""Checks on the analysis plan: every outcome has one plan, and each plan refers to declared things."""

from __future__ import annotations

from trialdesk.protocol.checks import Context, _suggest, check
from trialdesk.protocol.locate import Loc

_COUNT_MODELS = ("nb", "poisson")


@check("analysis", "outcomes", "arms", "stratification", "visits")
def plan_references(ctx: Context) -> None:
    p = ctx.protocol
    outcomes = {outcome.code: outcome for outcome in p.outcomes}
    sets = [analysis_set.code for analysis_set in p.analysis.analysis_sets]
    factors = [factor.code for factor in p.stratification]
    arms = [arm.code for arm in p.arms]
    baseline = next((v for v in p.visits if v.before_randomisation), None) or next(
        (v for v in p.visits if v.month == 0), None
    )
    for n, plan in enumerate(p.analysis.plans):
        loc: Loc = ("analysis", "plans", n)
        if plan.analysis_set not in sets:
            ctx.report(
                "P016",
                (*loc, "analysis_set"),
                f"unknown analysis set {plan.analysis_set!r} ({_suggest(plan.analysis_set, sets)})",
            )
        if "per_protocol" in plan.sensitivity and "per_protocol" not in sets:
            ctx.report(
                "P016", (*loc, "sensitivity"), "sensitivity per_protocol needs an analysis set per_protocol"
            )
        for c, covariate in enumerate(plan.covariates):
            if covariate not in factors:
                ctx.report(
                    "P016",
                    (*loc, "covariates", c),
                    f"unknown stratification factor {covariate!r} ({_suggest(covariate, factors)})",
                )
        if plan.clustering is not None:
            for a, arm in enumerate(plan.clustering.arms):
                if arm not in arms:
                    ctx.report(
                        "P016",
                        (*loc, "clustering", "arms", a),
                        f"unknown arm {arm!r} ({_suggest(arm, arms)})",
                    )
        for o, code in enumerate(plan.outcomes):
            outcome = outcomes.get(code)
            if outcome is None:
                ctx.report(
                    "P016", (*loc, "outcomes", o), f"unknown outcome {code!r} ({_suggest(code, outcomes)})"
                )
            elif (
                plan.adjust_for_baseline
                and (outcome.source == "register" or outcome.instrument in ctx.scores)  # else P011
                and (baseline is None or outcome.instrument not in baseline.instruments)
            ):
                ctx.report(
                    "P028",
                    (*loc, "outcomes", o),
                    f"outcome {code} has no baseline value (not measured at the baseline visit)",
                )
        _plan_settings(ctx, loc, n)


def _plan_settings(ctx: Context, loc: Loc, n: int) -> None:
    plan = ctx.protocol.analysis.plans[n]
    if plan.model == "pnm" and plan.clustering is None:
        ctx.report("P031", (*loc, "clustering"), "a partially nested model (pnm) needs clustering")
    if plan.offset is not None and plan.model not in _COUNT_MODELS:
        ctx.report(
            "P031", (*loc, "offset"), f"an offset is only for count models ({', '.join(_COUNT_MODELS)})"
        )
    missing = plan.missing_data
    if missing.method == "mi" and (missing.imputations is None or missing.seed is None):
        ctx.report("P031", (*loc, "missing_data"), "multiple imputation needs imputations and seed")


@check("analysis", "outcomes")
def plan_coverage(ctx: Context) -> None:
    for o, outcome in enumerate(ctx.protocol.outcomes):
        plans = [plan.code for plan in ctx.protocol.analysis.plans if outcome.code in plan.outcomes]
        if not plans:
            ctx.report("P026", ("outcomes", o, "code"), f"no analysis plan covers outcome {outcome.code}")
        elif len(plans) > 1:
            ctx.report(
                "P026",
                ("outcomes", o, "code"),
                f"outcome {outcome.code} is in more than one plan ({', '.join(plans)})",
            )


@check("analysis", "outcomes")
def multiplicity(ctx: Context) -> None:
    settings = ctx.protocol.analysis.multiplicity
    roles = {outcome.code: outcome.role for outcome in ctx.protocol.outcomes}
    where: Loc = ("analysis", "multiplicity")
    if settings.secondary == "hierarchical" and not settings.order:
        ctx.report("P029", (*where, "order"), "hierarchical testing needs an order of secondary outcomes")
    for i, code in enumerate(settings.order):
        if code not in roles:
            ctx.report("P016", (*where, "order", i), f"unknown outcome {code!r} ({_suggest(code, roles)})")
        elif roles[code] != "secondary":
            ctx.report("P029", (*where, "order", i), f"outcome {code} is not secondary")
