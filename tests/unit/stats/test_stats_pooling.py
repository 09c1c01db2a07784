"""Rubin's rules: hand-computed small case and input checks (mice agreement is in tests/reference)."""

import numpy as np
import pytest

from trialdesk.errors import UserError
from trialdesk.stats.pooling import barnard_rubin_df, pool_estimates


def test_hand_computed_three_imputations() -> None:
    table = pool_estimates(np.array([[1.0], [2.0], [3.0]]), np.full((3, 1), 0.5), ["arm"], dfcom=10)
    row = table.iloc[0]
    # qbar 2, ubar 0.5, b 1, t = 0.5 + 4/3, lambda = (4/3)/t
    assert row["estimate"] == 2.0
    assert row["b"] == 1.0
    assert row["t"] == pytest.approx(0.5 + 4 / 3)
    lam = (4 / 3) / (0.5 + 4 / 3)
    dfold, dfobs = 2 / lam**2, 11 / 13 * 10 * (1 - lam)
    assert row["df"] == pytest.approx(dfold * dfobs / (dfold + dfobs))
    assert row["riv"] == pytest.approx((4 / 3) / 0.5)


def test_no_between_variance_floors_lambda() -> None:
    df = barnard_rubin_df(5, np.array([0.0]), np.array([1.0]), np.inf)
    assert df[0] == pytest.approx(4 / 1e-8)


def test_bad_input() -> None:
    with pytest.raises(UserError, match="at least 2"):
        pool_estimates(np.array([[1.0]]), np.array([[1.0]]), ["a"])
    with pytest.raises(UserError, match="same shape"):
        pool_estimates(np.ones((3, 2)), np.ones((3, 1)), ["a", "b"])
    with pytest.raises(UserError, match="infinite"):
        pool_estimates(np.array([[1.0], [np.nan]]), np.ones((2, 1)), ["a"])
