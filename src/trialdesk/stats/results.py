"""Result objects shared by every model in :mod:`trialdesk.stats`.

A fit returns a :class:`ModelResult`: the numbers a statistician reads (``summary()``), a tidy frame
(``to_frame()``), and a JSON-ready dict (``to_dict()``) whose shape is the ``trialdesk stats --json``
contract of ``design.md``.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

#: Columns of :meth:`ModelResult.to_frame`, in order, with their meaning (documented for users).
COEFFICIENT_COLUMNS: dict[str, str] = {
    "term": "model term, named as the formula library writes it (e.g. treatment[T.IMR])",
    "estimate": "point estimate on the model's link scale",
    "se": "standard error",
    "df": "degrees of freedom of the reference t distribution; infinite for a z (Wald) test",
    "statistic": "estimate / se",
    "p": "two-sided p-value",
    "ci_low": "lower limit of the confidence interval",
    "ci_high": "upper limit of the confidence interval",
}


def coefficient_table(
    terms: list[str],
    estimate: np.ndarray,
    se: np.ndarray,
    df: np.ndarray | float | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Tidy coefficient table; ``df=None`` (or inf) means Wald z tests."""
    estimate = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    dfs = (np.full(estimate.shape, np.inf) if df is None
           else np.broadcast_to(np.asarray(df, float), estimate.shape))
    statistic = estimate / se
    quantile = np.where(np.isfinite(dfs), sps.t.ppf(0.5 + level / 2, np.where(np.isfinite(dfs), dfs, 1.0)),
                        sps.norm.ppf(0.5 + level / 2))
    p = np.where(np.isfinite(dfs), 2 * sps.t.sf(np.abs(statistic), np.where(np.isfinite(dfs), dfs, 1.0)),
                 2 * sps.norm.sf(np.abs(statistic)))
    return pd.DataFrame({
        "term": list(terms),
        "estimate": estimate,
        "se": se,
        "df": dfs.astype(float),
        "statistic": statistic,
        "p": p,
        "ci_low": estimate - quantile * se,
        "ci_high": estimate + quantile * se,
    })


def json_safe(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class ModelResult:
    """A fitted model. ``coefficients`` has the columns of :data:`COEFFICIENT_COLUMNS`."""

    model: str
    method: str
    formula: str
    nobs: int
    coefficients: pd.DataFrame
    loglik: float | None = None
    aic: float | None = None
    bic: float | None = None
    ngroups: int | None = None
    variance_components: dict[str, float] = field(default_factory=dict)
    theta: float | None = None
    converged: bool = True
    messages: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def coef(self, term: str) -> pd.Series:
        """The row of one term; raises KeyError naming the terms there are."""
        rows = self.coefficients[self.coefficients["term"] == term]
        if rows.empty:
            raise KeyError(f"no term {term!r}; terms are {list(self.coefficients['term'])}")
        return rows.iloc[0]

    def to_frame(self) -> pd.DataFrame:
        return self.coefficients.copy()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "method": self.method,
            "formula": self.formula,
            "nobs": self.nobs,
            "ngroups": self.ngroups,
            "loglik": self.loglik,
            "aic": self.aic,
            "bic": self.bic,
            "converged": self.converged,
            "messages": list(self.messages),
            "coefficients": self.coefficients.to_dict(orient="records"),
            "variance_components": dict(self.variance_components),
        }
        if self.theta is not None:
            out["theta"] = self.theta
        for name, table in self.tables.items():
            out[name] = table.to_dict(orient="records")
        out.update(self.extra)
        return json_safe(out)

    def _header(self) -> list[tuple[str, str]]:
        rows = [("model", self.model), ("method", self.method), ("formula", self.formula),
                ("observations", str(self.nobs))]
        if self.ngroups is not None:
            rows.append(("groups", str(self.ngroups)))
        for label, value in (("log-likelihood", self.loglik), ("AIC", self.aic), ("BIC", self.bic),
                             ("theta", self.theta)):
            if value is not None:
                rows.append((label, f"{value:.4f}"))
        rows.append(("converged", "yes" if self.converged else "NO"))
        return rows

    def summary(self) -> str:
        lines = [f"{label:<16} {value}" for label, value in self._header()]
        lines += ["", self.coefficients.to_string(index=False, float_format=lambda v: f"{v:.6g}")]
        if self.variance_components:
            lines += ["", "variance components:"]
            lines += [f"  {name:<28} {value:.6g}" for name, value in self.variance_components.items()]
        for name, table in self.tables.items():
            lines += ["", f"{name}:", table.to_string(index=False, float_format=lambda v: f"{v:.6g}")]
        lines += [f"note: {message}" for message in self.messages]
        return "\n".join(lines)

    def summary_html(self) -> str:
        head = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                       for k, v in self._header())
        parts = [f'<table class="model-header">{head}</table>',
                 self.coefficients.to_html(index=False, float_format=lambda v: f"{v:.6g}",
                                           classes="coefficients")]
        if self.variance_components:
            vc = "".join(f"<tr><th>{html.escape(k)}</th><td>{v:.6g}</td></tr>"
                         for k, v in self.variance_components.items())
            parts.append(f'<table class="variance-components">{vc}</table>')
        for name, table in self.tables.items():
            rendered = table.to_html(index=False, float_format=lambda v: f"{v:.6g}")
            parts.append(f"<h4>{html.escape(name)}</h4>" + rendered)
        parts += [f'<p class="note">{html.escape(m)}</p>' for m in self.messages]
        return "\n".join(parts)
