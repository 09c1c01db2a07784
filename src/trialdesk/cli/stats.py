"""``trialdesk stats MODEL``: fit a model to any CSV file (a thin layer over :mod:`trialdesk.stats`).

Models: ``ols`` (ANCOVA), ``lmm`` (random intercept or slope), ``mmrm`` (repeated measures),
``pnm`` (partially nested), ``glm``, ``nb`` and ``glmm``. ``--json`` prints the result's ``to_dict()``:
``model, method, nobs, ngroups, loglik, aic, bic, coefficients [{term, estimate, se, df, statistic, p,
ci_low, ci_high}], variance_components`` and ``theta`` for ``nb``, plus ``converged``, ``messages`` and
model tables such as ``lsmeans``. Bad input is one line on stderr and exit status 2.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, Literal

import click
import pandas as pd

from trialdesk.errors import UserError
from trialdesk.stats.results import ModelResult

MODELS = ("ols", "lmm", "mmrm", "pnm", "glm", "nb", "glmm")
# Models fitted by another module of trialdesk.stats: name -> (module, function).
_EXTERNAL = {"glm": ("trialdesk.stats.glm", "fit_glm"), "nb": ("trialdesk.stats.glm", "fit_nb"),
             "glmm": ("trialdesk.stats.glmm", "fit_glmm")}


def _read(path: str | None) -> pd.DataFrame:
    if not path:
        raise UserError("--data CSV is required")
    file = Path(path)
    if not file.is_file():
        raise UserError(f"data file {path} not found")
    try:
        data = pd.read_csv(file)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as problem:
        raise UserError(f"data file {path} is not a readable CSV: {str(problem).splitlines()[0]}") from None
    if data.empty:
        raise UserError(f"data file {path} has no rows")
    return data


def _external(model: str) -> Any:
    module_name, function = _EXTERNAL[model]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise UserError(f"model {model} is not available in this installation") from None
    fit = getattr(module, function, None)
    if fit is None:
        raise UserError(f"model {model} is not available in this installation")
    return fit


def fit_model(model: str, data: pd.DataFrame, formula: str, options: dict[str, Any]) -> ModelResult:
    """Dispatch one ``trialdesk stats`` call to the library."""
    method: Literal["REML", "ML"] = "ML" if options.get("ml") else "REML"
    group, arm = options.get("group"), options.get("arm")
    if model == "ols":
        from trialdesk.stats.ols import fit_ols

        return fit_ols(data, formula, se=options.get("se") or "classical")
    if model == "lmm":
        from trialdesk.stats.lmm import fit_lmm

        return fit_lmm(data, formula, group, method=method, df=options.get("df") or "satterthwaite")
    if model == "mmrm":
        from trialdesk.stats.mmrm import fit_mmrm

        df: Literal["kenward-roger", "satterthwaite", "none"] = options.get("df") or (
            "kenward-roger" if method == "REML" else "satterthwaite")
        return fit_mmrm(data, formula, visit=options.get("visit"), subject=group,
                        covariance=options.get("covariance"), arm=arm, method=method, df=df)
    if model == "pnm":
        from trialdesk.stats.pnm import fit_pnm

        if not group or not arm:
            raise UserError("the partially nested model needs --group (therapy group) and --arm")
        return fit_pnm(data, formula, group, arm, treated=options.get("treated"), method=method,
                       df=options.get("df") or "satterthwaite")
    fit = _external(model)
    offset = options.get("offset")
    if model == "glm":
        return fit(data, formula, options.get("family") or "poisson", offset)
    if model == "nb":
        return fit(data, formula, offset)
    if not group:
        raise UserError("a GLMM needs --group COL (the random-intercept grouping)")
    return fit(data, formula, group, options.get("family") or "poisson",
               offset=offset)


@click.command()
@click.argument("model", metavar="MODEL")
@click.option("--data", "data_path", metavar="CSV", help="Data file (CSV with a header row).")
@click.option("--formula", metavar="F",
              help="R/patsy formula, e.g. 'gaf ~ gaf0 + arm * C(visit) + us(visit | id)' "
                   "or 'y ~ x + (1 | id)'.")
@click.option("--group", metavar="COL",
              help="Grouping column: participant (lmm, mmrm, glmm) or therapy group (pnm).")
@click.option("--ml/--reml", "ml", default=False,
              help="Maximum likelihood or REML (default) for lmm, mmrm, pnm.")
@click.option("--family", metavar="F", help="glm/glmm family: poisson, binomial (logistic), gaussian.")
@click.option("--arm", metavar="COL", help="Arm column: LS means per arm (mmrm); the arms (pnm).")
@click.option("--treated", metavar="LEVEL", help="pnm: the arm delivered in groups (default: inferred).")
@click.option("--visit", metavar="COL", help="mmrm: visit column, if the formula has no us(visit | id) term.")
@click.option("--covariance", type=click.Choice(["us", "cs", "ar1"]), default=None,
              help="mmrm residual covariance (default us, or the formula's).")
@click.option("--df", "df", type=click.Choice(["kenward-roger", "satterthwaite", "none"]), default=None,
              help="Small-sample df (mmrm default kenward-roger; lmm and pnm satterthwaite).")
@click.option("--se", type=click.Choice(["classical", "HC3"]), default=None, help="ols standard errors.")
@click.option("--offset", metavar="COL", help="glm/nb/glmm offset column (already on the log scale).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def stats(model: str, data_path: str | None, formula: str | None, as_json: bool, **options: Any) -> None:
    """Fit MODEL (ols, lmm, mmrm, pnm, glm, nb, glmm) to a CSV file."""
    if model not in MODELS:
        raise UserError(f"model {model} is not available: choose one of {', '.join(MODELS)}")
    if not formula:
        raise UserError("--formula F is required, e.g. --formula 'y ~ arm + baseline'")
    data = _read(data_path)
    if options.get("df") == "kenward-roger" and model != "mmrm":
        raise UserError("--df kenward-roger is available for mmrm only")
    result = fit_model(model, data, formula, options)
    if not result.converged:
        click.echo(f"warning: the {model} fit did not converge: " + "; ".join(result.messages), err=True)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(result.summary())
