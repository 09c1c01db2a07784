"""Design matrices from R/patsy-style formulas, with the checks a trial statistician expects.

patsy does the parsing and coding: nesting (``a/(b + c*d)``), interactions, ``C(x, Treatment('TAU'))``,
and term names such as ``treatment[T.IMR]``. The reference level of a categorical variable is the first
in sorted order unless the formula names another. What patsy does not do, and this module adds, is
turning every way a formula can fail on real data into a :class:`~trialdesk.errors.UserError` that
names the column or term: a missing column, a non-numeric outcome, a formula that does not parse, a
factor with only one level (one arm only), a constant outcome, a singular design.

Mixed-model formulas may carry one extra term that patsy does not know, in lme4 or mmrm syntax:
``(1 | id)``, ``(1 + days | id)``, ``us(visit | id)``, ``cs(visit | id)``, ``ar1(visit | id)``.
:func:`split_formula` takes it off before patsy sees the rest.
"""

from __future__ import annotations

import ast
import functools
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import patsy

from trialdesk.errors import UserError

# Names patsy provides inside formulas, or that are functions rather than data columns.
_FORMULA_BUILTINS = {
    "C", "I", "Q", "Treatment", "Sum", "Poly", "Diff", "Helmert", "center", "standardize", "scale",
    "np", "numpy", "bs", "cr", "cc", "te", "log", "exp", "sqrt", "True", "False", "None",
}

_RANDOM = re.compile(r"\+?\s*\(\s*([^()|]*?)\s*\|\s*([A-Za-z_][\w.]*)\s*\)")
_COVARIANCE = re.compile(r"\+?\s*\b(us|cs|ar1)\(\s*([A-Za-z_][\w.]*)\s*\|\s*([A-Za-z_][\w.]*)\s*\)")


@dataclass(frozen=True)
class RandomTerm:
    """An lme4-style ``(slope | group)`` term: ``slope`` is None for a random intercept only."""

    group: str
    slope: str | None = None
    intercept: bool = True


@dataclass(frozen=True)
class CovarianceTerm:
    """An mmrm-style ``us(visit | subject)`` term."""

    structure: str
    visit: str
    subject: str


@dataclass(frozen=True)
class FormulaParts:
    fixed: str
    random: RandomTerm | None = None
    covariance: CovarianceTerm | None = None


def split_formula(formula: str) -> FormulaParts:
    """Take an lme4 ``( | )`` or mmrm ``us( | )`` term off a formula; at most one of each."""
    random: RandomTerm | None = None
    covariance: CovarianceTerm | None = None
    found = _COVARIANCE.findall(formula)
    if len(found) > 1:
        raise UserError(f"formula {formula!r} has more than one covariance term; give one, "
                        "e.g. us(visit | id)")
    if found:
        structure, visit, subject = found[0]
        covariance = CovarianceTerm(structure, visit, subject)
        formula = _COVARIANCE.sub("", formula, count=1)
    terms = _RANDOM.findall(formula)
    if len(terms) > 1:
        raise UserError(f"formula {formula!r} has more than one random-effects term; "
                        "only one grouping is supported")
    if terms:
        inside, group = terms[0]
        parts = [p.strip() for p in inside.split("+") if p.strip()]
        intercept = "0" not in parts and "-1" not in parts
        slopes = [p for p in parts if p not in {"1", "0", "-1"}]
        if len(slopes) > 1:
            raise UserError(f"random-effects term ({inside} | {group}) has more than one slope; "
                            "one is supported")
        random = RandomTerm(group=group, slope=slopes[0] if slopes else None, intercept=intercept)
        if not intercept and random.slope is None:
            raise UserError(f"random-effects term ({inside} | {group}) has no random effect in it")
        formula = _RANDOM.sub("", formula, count=1)
    formula = re.sub(r"~\s*\+", "~ ", formula).strip()
    if formula.endswith("~"):
        formula += " 1"
    return FormulaParts(formula, random, covariance)


@functools.lru_cache(maxsize=256)
def _parsed(formula: str) -> tuple[Any, tuple[str, ...], tuple[str, ...], frozenset[str]]:
    """patsy's parse of a formula, the data columns on each side, and the columns used only as C(col).

    Cached: a formula is parsed once per process however many data sets it is fitted to (multiple
    imputation, simulations, the benchmarks), and parsing costs as much as building a small design.
    """
    try:
        desc = patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as problem:
        raise UserError(f"formula {formula!r} does not parse: {problem.message}") from None

    def names(terms: list[Any]) -> tuple[str, ...]:
        found: list[str] = []
        for term in terms:
            for factor in term.factors:
                try:
                    tree = ast.parse(factor.code, mode="eval")
                except SyntaxError:
                    raise UserError(f"formula {formula!r} does not parse near {factor.code!r}") from None
                called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
                for node in ast.walk(tree):
                    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Q"
                            and node.args and isinstance(node.args[0], ast.Constant)
                            and str(node.args[0].value) not in found):
                        found.append(str(node.args[0].value))  # Q('bdi.8m') quotes a column name
                    if (isinstance(node, ast.Name) and id(node) not in called
                            and node.id not in _FORMULA_BUILTINS and node.id not in found):
                        found.append(node.id)
        return tuple(found)

    lhs, rhs = names(desc.lhs_termlist), names(desc.rhs_termlist)
    return desc, lhs, rhs, frozenset(_factor_only(desc, rhs))


def formula_variables(formula: str) -> tuple[list[str], list[str]]:
    """Data columns named on the left and on the right of a patsy formula (parse errors are UserErrors)."""
    _, lhs, rhs, _ = _parsed(formula)
    return list(lhs), list(rhs)


def _factor_only(desc: Any, names: tuple[str, ...]) -> set[str]:
    """Columns used only as ``C(column, ...)``: coding them as pandas categoricals up front spares patsy
    a slow value-by-value scan of large numeric columns, with the same levels and term names."""
    inside: set[str] = set()
    outside: set[str] = set()
    for term in desc.rhs_termlist:
        for factor in term.factors:
            tree = ast.parse(factor.code, mode="eval")
            wrapped = set()
            for node in ast.walk(tree):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "C"
                        and node.args and isinstance(node.args[0], ast.Name)):
                    inside.add(node.args[0].id)
                    wrapped.add(id(node.args[0]))
            outside |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in wrapped}
    return (inside - outside) & set(names)


def _sorted_categorical(column: pd.Series) -> pd.Categorical:
    """The column as a categorical whose levels are its values in sorted order (patsy's reference level
    is the first). Factorising first sorts only the distinct values, not every row."""
    codes, uniques = pd.factorize(column)
    values = uniques.tolist()
    order = sorted(range(len(values)), key=values.__getitem__)
    rank = np.empty(len(order), dtype=codes.dtype)
    rank[order] = np.arange(len(order), dtype=codes.dtype)
    return pd.Categorical.from_codes(rank[codes], categories=pd.Index([values[i] for i in order]))


@dataclass
class Design:
    """Outcome, fixed-effects design, and the rows of the data they came from."""

    formula: str
    outcome: str
    y: np.ndarray
    X: np.ndarray
    terms: list[str]
    frame: pd.DataFrame
    design_info: Any
    variables: list[str] = field(default_factory=list)

    @property
    def nobs(self) -> int:
        return int(self.y.shape[0])


def _check_columns(data: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        have = ", ".join(map(str, data.columns))
        raise UserError(f"column(s) {', '.join(missing)} not in the data (columns are: {have})")


def aliased_columns(X: np.ndarray, terms: list[str], tol: float = 1e-10) -> list[str]:
    """Names of columns that are linear combinations of earlier columns (pivoted QR, like R's lm)."""
    if X.shape[1] == 0:
        return []
    scale = np.sqrt((X**2).sum(axis=0))
    scale[scale == 0] = 1.0
    Xs = X / scale
    # Columns of unit length: if no diagonal element of R is anywhere near the tolerance, the
    # column-by-column check below (same R, up to rounding) cannot find an aliased column.
    diagonal = np.abs(np.diag(np.linalg.qr(Xs, mode="r")))
    if len(diagonal) == X.shape[1] and diagonal.min() > 1e-6:
        return []
    keep: list[int] = []
    aliased: list[str] = []
    for j in range(X.shape[1]):
        candidate = [*keep, j]
        r = np.asarray(np.linalg.qr(Xs[:, candidate], mode="r"))
        if abs(r[-1, -1]) <= tol * max(1.0, np.abs(np.diag(r)).max()):
            aliased.append(terms[j])
        else:
            keep.append(j)
    return aliased


def _complete_rows(data: pd.DataFrame, used: list[str]) -> pd.DataFrame:
    """``data.loc[:, used].dropna()``, column by column: several times faster on small frames, and
    without a copy (pandas copies on write)."""
    if not data.columns.is_unique:
        return data.loc[:, used].dropna()
    columns = {name: data[name] for name in used}
    missing: np.ndarray | None = None
    for column in columns.values():
        na = column.isna().to_numpy()
        if na.any():
            missing = na if missing is None else missing | na
    frame = pd.DataFrame(columns, copy=False)
    return frame if missing is None else frame[~missing]


# Rows with missing values are dropped before patsy sees them: no NA types, so it does not scan for them.
_NO_NA = patsy.NAAction(NA_types=[])
# Names a formula can call besides patsy's own (np.log(x), ...): this module's globals, as patsy's
# default (the calling frame) gave them, without holding on to a caller's data.
_EVAL_ENV = patsy.EvalEnvironment([globals()])
_INFOS: dict[tuple[Any, ...], tuple[Any, Any]] = {}


def _design_infos(formula: str, desc: Any, arrays: dict[str, Any]) -> tuple[Any, Any]:
    """patsy's design infos (the coding of each term) for the outcome and the fixed effects.

    Working out the coding is most of patsy's cost on a small data set, and when every categorical
    term comes straight from a categorical column it depends only on the formula and those columns'
    levels, so it is reused for the next data set with the same levels (imputed data sets, the
    benchmarks). Stateful transforms (``center(x)``) and levels found in computed values
    (``C(x > 9)``, a raw boolean column) depend on the data: those designs are never reused.
    """
    key = (formula, tuple((name, tuple(v.categories) if isinstance(v, pd.Categorical) else v.dtype.str)
                          for name, v in arrays.items()))
    cached = _INFOS.get(key)
    if cached is not None:
        return cached
    infos = patsy.design_matrix_builders([desc.lhs_termlist, desc.rhs_termlist], lambda: iter([arrays]),
                                         eval_env=_EVAL_ENV, NA_action=_NO_NA)
    if _reusable(infos, arrays):
        if len(_INFOS) >= 256:
            _INFOS.clear()
        _INFOS[key] = (infos[0], infos[1])
    return infos[0], infos[1]


def _reusable(infos: list[Any], arrays: dict[str, Any]) -> bool:
    for info in infos:
        for factor, factor_info in info.factor_infos.items():
            state = getattr(factor_info, "state", None)
            if not isinstance(state, dict) or state.get("transforms") or not hasattr(factor, "code"):
                return False
            if factor_info.type == "categorical":
                node = ast.parse(factor.code, mode="eval").body
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "C"
                        and node.args):
                    node = node.args[0]
                if not (isinstance(node, ast.Name) and isinstance(arrays.get(node.id), pd.Categorical)):
                    return False
    return True


def build_design(formula: str, data: pd.DataFrame, *, extra: list[str] | None = None,
                 check_rank: bool = True) -> Design:
    """Outcome vector and fixed-effects matrix; rows missing any used column (or ``extra``) dropped.

    Raises :class:`UserError` for every kind of bad input named in the module docstring.
    """
    if not isinstance(data, pd.DataFrame):
        raise UserError("data must be a table (a pandas DataFrame)")
    if "~" not in formula:
        raise UserError(f"formula {formula!r} has no '~': write it as outcome ~ terms")
    desc, lhs_names, rhs_names, as_factor = _parsed(formula)
    lhs, rhs = list(lhs_names), list(rhs_names)
    if not lhs:
        raise UserError(f"formula {formula!r} has no outcome on the left of '~'")
    extra = [c for c in (extra or []) if c not in lhs + rhs]
    _check_columns(data, lhs + rhs + extra)
    for name in lhs:
        if not (pd.api.types.is_numeric_dtype(data[name]) and not pd.api.types.is_bool_dtype(data[name])):
            raise UserError(f"outcome column {name!r} is not numeric (dtype {data[name].dtype})")
    used = list(dict.fromkeys(lhs + rhs + extra))
    frame = _complete_rows(data, used)
    if frame.empty:
        raise UserError(f"no complete rows: every row is missing one of {', '.join(used)}")
    # patsy evaluates the formula on plain arrays: on a DataFrame it spends most of its time in pandas
    # indexing. Categorical columns spare it a per-value scan for levels (numeric columns used only as
    # C(column), and text columns); sorted levels keep its reference level.
    arrays: dict[str, Any] = {}
    for name in dict.fromkeys(lhs + rhs):
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            arrays[name] = column.array
        elif name in rhs and (name in as_factor or not pd.api.types.is_numeric_dtype(column)):
            arrays[name] = _sorted_categorical(column)
            frame[name] = arrays[name]
        else:
            arrays[name] = column.to_numpy()
    try:
        y_info, x_info = _design_infos(formula, desc, arrays)
        y_mat, x_mat = patsy.build_design_matrices([y_info, x_info], arrays, NA_action=_NO_NA)
    except patsy.PatsyError as problem:
        raise UserError(f"formula {formula!r} cannot be evaluated on the data: {problem.message}") from None
    except (NameError, TypeError, ValueError) as problem:
        raise UserError(f"formula {formula!r} cannot be evaluated on the data: {problem}") from None
    if y_mat.shape[1] != 1:
        raise UserError(f"the outcome of {formula!r} must be one numeric column")
    info = x_info
    for factor, factor_info in info.factor_infos.items():
        if factor_info.type == "categorical" and len(factor_info.categories) < 2:
            levels = ", ".join(map(str, factor_info.categories))
            raise UserError(f"{factor.name()} has only one level ({levels}) in the complete rows: "
                            "its effect cannot be estimated (one arm only?)")
    y = np.asarray(y_mat, dtype=float)[:, 0]
    # Column-major, as the DataFrame route gave it: BLAS sums in a layout-dependent order and the
    # optimisers' last digits (and the reference tests' convergence flags) depend on it.
    X = np.asfortranarray(x_mat, dtype=float)
    terms = list(x_info.column_names)
    outcome = str(y_info.column_names[0])
    if np.ptp(y) == 0:
        raise UserError(f"outcome {outcome!r} is constant ({y[0]:g}) in all {len(y)} complete rows")
    if check_rank:
        aliased = aliased_columns(X, terms)
        if aliased:
            raise UserError(f"singular design: {', '.join(aliased)} is a linear combination of other terms "
                            f"in {formula!r} (or has no variation)")
        if X.shape[1] >= len(y):
            raise UserError(f"{X.shape[1]} coefficients but only {len(y)} complete rows")
    return Design(formula=formula, outcome=outcome, y=y, X=X, terms=terms, frame=frame,
                  design_info=info, variables=[c for c in used if c in lhs + rhs])


def reference_grid(design: Design, by: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """emmeans-style estimable means: one row of L per combination of the ``by`` variables.

    The grid crosses every categorical variable of the model at its observed levels, holds numeric
    covariates at their mean over the fitted rows, and averages the grid with equal weights over the
    variables not in ``by`` (emmeans' default "equal" weighting).
    """
    frame = design.frame
    _, rhs = formula_variables(design.formula)
    categorical: set[str] = set(by)
    for factor, factor_info in design.design_info.factor_infos.items():
        if factor_info.type == "categorical":
            categorical |= _names(factor.code) & set(rhs)
    axes: dict[str, list[Any]] = {}
    for name in rhs + [b for b in by if b not in rhs]:
        column = frame[name]
        if name in categorical and isinstance(column.dtype, pd.CategoricalDtype):
            observed = np.unique(column.cat.codes.to_numpy())
            axes[name] = sorted(column.cat.categories[observed].tolist())
        elif name in categorical:
            axes[name] = sorted(pd.unique(column.to_numpy()).tolist())
        else:
            axes[name] = [float(column.mean())]
    combos = list(itertools.product(*axes.values()))
    # The grid goes to patsy as plain arrays (it is several times slower on a DataFrame or pandas
    # categoricals); categorical values are looked up in the fit's levels, so the coding is the fit's.
    grid: dict[str, Any] = {}
    for position, name in enumerate(axes):
        values = [combo[position] for combo in combos]
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            grid[name] = np.empty(len(values), dtype=object)
            grid[name][:] = values
        else:
            grid[name] = np.asarray(values)
    (rows,) = patsy.build_design_matrices([design.design_info], grid, return_type="matrix",
                                          NA_action=_NO_NA)
    rows = np.asarray(rows, dtype=float)
    if not by:
        return pd.DataFrame(index=[0]), rows.mean(axis=0, keepdims=True)
    positions = [list(axes).index(b) for b in by]
    keys = [tuple(combo[i] for i in positions) for combo in combos]
    unique_keys = sorted(set(keys))
    index = {key: i for i, key in enumerate(unique_keys)}
    member = np.array([index[key] for key in keys])
    L = np.array([rows[member == i].mean(axis=0) for i in range(len(unique_keys))])
    return pd.DataFrame({b: [key[i] for key in unique_keys] for i, b in enumerate(by)}), L


@functools.lru_cache(maxsize=1024)
def _names(code: str) -> frozenset[str]:
    """The names in a factor's Python code (``C(arm, Treatment('TAU'))`` -> C, arm, Treatment)."""
    return frozenset(n.id for n in ast.walk(ast.parse(code, mode="eval")) if isinstance(n, ast.Name))
