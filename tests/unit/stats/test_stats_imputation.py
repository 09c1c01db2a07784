"""Chained-equation imputation: reproducibility, by-arm imputation, and a Monte Carlo check that under
MCAR the pooled estimate is unbiased and its 95 % interval covers near 95 % of the time."""

import numpy as np
import pandas as pd
import pytest

from trialdesk.errors import UserError
from trialdesk.stats.imputation import ALGORITHM_VERSION, impute
from trialdesk.stats.pooling import pool
from trialdesk.stats.results import ModelResult, coefficient_table


def _ols(frame: pd.DataFrame) -> ModelResult:
    """A plain OLS of y on x (the analysis model is not under test here)."""
    X = np.column_stack([np.ones(len(frame)), frame["x"].to_numpy(float)])
    y = frame["y"].to_numpy(float)
    beta, rss, *_ = np.linalg.lstsq(X, y, rcond=None)
    sigma2 = float(rss[0]) / (len(y) - 2)
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(X.T @ X)))
    return ModelResult(model="ols", method="OLS", formula="y ~ x", nobs=len(y),
                       coefficients=coefficient_table(["Intercept", "x"], beta, se, df=len(y) - 2))


def _trial(rng: np.random.Generator, n: int = 80) -> pd.DataFrame:
    x = rng.normal(size=n)
    y = 1.0 + 0.5 * x + rng.normal(size=n)
    y[rng.random(n) < 0.3] = np.nan  # MCAR
    return pd.DataFrame({"x": x, "y": y, "arm": np.where(np.arange(n) % 2 == 0, "IMR", "TAU")})


def test_same_seed_same_imputations_and_provenance() -> None:
    data = _trial(np.random.default_rng(1))
    first = impute(data, ["x", "y"], m=3, seed=42, by="arm")
    second = impute(data, ["x", "y"], m=3, seed=42, by="arm")
    assert np.array_equal(first.imputed["y"], second.imputed["y"])
    other = impute(data, ["x", "y"], m=3, seed=43, by="arm")
    assert not np.array_equal(first.imputed["y"], other.imputed["y"])
    assert first.provenance()["imputation"]["seed"] == 42
    assert first.provenance()["imputation"]["algorithm_version"] == ALGORITHM_VERSION
    completed = first.complete(0)
    assert not completed["y"].isna().any()
    assert completed.loc[data["y"].notna(), "y"].equals(data.loc[data["y"].notna(), "y"])


def test_pmm_draws_donors_from_the_same_arm() -> None:
    rng = np.random.default_rng(5)
    data = pd.DataFrame({"arm": np.repeat(["IMR", "TAU"], 40), "x": rng.normal(size=80),
                         "y": np.r_[rng.integers(1, 10, 40), rng.integers(50, 60, 40)].astype(float)})
    data.loc[rng.random(80) < 0.25, "y"] = np.nan
    imputation = impute(data, ["y"], predictors=["x"], m=4, seed=1, by="arm")
    rows = imputation.missing["y"]
    arms = data["arm"].to_numpy()[rows]
    values = imputation.imputed["y"]
    assert np.all(values[:, arms == "IMR"] < 10)
    assert np.all(values[:, arms == "TAU"] >= 50)
    assert set(np.unique(values)) <= set(data["y"].dropna())


def test_bad_input() -> None:
    data = _trial(np.random.default_rng(2))
    with pytest.raises(UserError, match="not in the data"):
        impute(data, ["z"], seed=1)
    with pytest.raises(UserError, match="method"):
        impute(data, ["y"], predictors=["x"], method="cart", seed=1)
    with pytest.raises(UserError, match="not numeric"):
        impute(data.assign(y=data["y"].astype(str)), ["y"], seed=1)
    with pytest.raises(UserError, match="at least 2"):
        impute(data.assign(y=np.nan), ["y"], predictors=["x"], seed=1)
    with pytest.raises(UserError, match="predictor 'y' has missing"):
        impute(data, ["x"], predictors=["y"], seed=1)


@pytest.mark.parametrize(("method", "reps"), [("norm", 120), ("pmm", 80)])
def test_mcar_unbiased_with_nominal_coverage(method: str, reps: int) -> None:
    rng = np.random.default_rng(20240611)
    estimates, covered = [], []
    for _ in range(reps):
        data = _trial(rng)
        imputation = impute(data, ["x", "y"], m=5, maxit=5, method=method, by=None, rng=rng)
        slope = pool(imputation.fit(_ols)).coef("x")
        estimates.append(slope["estimate"])
        covered.append(slope["ci_low"] <= 0.5 <= slope["ci_high"])
    estimates_arr = np.asarray(estimates)
    mc_se = estimates_arr.std(ddof=1) / np.sqrt(reps)
    assert abs(estimates_arr.mean() - 0.5) < 3.5 * mc_se  # unbiased within Monte Carlo error
    coverage = float(np.mean(covered))
    # 95 % nominal; Monte Carlo SE sqrt(.95 x .05 / reps) is 0.020 (120) and 0.024 (80): allow 3.5 SE below
    assert coverage >= 0.95 - 3.5 * np.sqrt(0.95 * 0.05 / reps)


def test_values_is_the_completed_column() -> None:
    data = _trial(np.random.default_rng(4))
    imputation = impute(data, ["x", "y"], m=3, seed=8, by="arm")
    for i in range(3):
        assert np.array_equal(imputation.values(i, "y"), imputation.complete(i)["y"].to_numpy(float))
        assert np.array_equal(imputation.values(i, "x"), data["x"].to_numpy(float))  # x had nothing missing
    with pytest.raises(UserError, match=r"outside 0\.\.2"):
        imputation.values(3, "y")


@pytest.mark.parametrize("method", ["pmm", "norm"])
def test_the_chains_run_together_draw_as_chains_run_one_by_one(method) -> None:
    """Chain i takes the random numbers after those of chains 0..i-1, whatever m is: the first imputations
    of a larger m are those of a smaller m, and m = 1 is the first chain on its own."""
    data = _trial(np.random.default_rng(6), n=60)
    data["z"] = np.where(np.random.default_rng(7).random(60) < 0.2, np.nan, data["x"] * 2 + 1)
    few = impute(data, ["x", "y", "z"], m=2, seed=11, by="arm", method=method)
    more = impute(data, ["x", "y", "z"], m=4, seed=11, by="arm", method=method)
    one = impute(data, ["x", "y", "z"], m=1, seed=11, by="arm", method=method)
    # pmm copies observed values: exactly equal; norm's values may differ in the last bits, as stacked
    # matrix products of different stack sizes can round differently.
    same = np.array_equal if method == "pmm" else lambda a, b: np.allclose(a, b, rtol=1e-9, atol=0)
    for column in ("y", "z"):
        assert same(more.imputed[column][:2], few.imputed[column])
        assert same(one.imputed[column][0], few.imputed[column][0])
        assert not np.allclose(more.imputed[column][2], more.imputed[column][3])
