"""ICC against Shrout & Fleiss (1979) and psych::ICC; weighted kappa against psych::cohen.kappa and
Fleiss, Cohen & Everitt (1969)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialdesk.stats.agreement import icc, weighted_kappa

HERE = Path(__file__).parent
FLEISS = np.array([[106, 10, 4], [22, 28, 10], [2, 12, 6]])


def test_icc_shrout_fleiss_table_2() -> None:
    result = icc(pd.read_csv(HERE / "icc_shrout_fleiss.csv", index_col=0)).set_index("type")
    # Shrout & Fleiss (1979), Table 2 prints ICC(2,1) = .29 and ICC(3,1) = .71
    assert round(result.loc["ICC(2,1)", "estimate"], 2) == 0.29
    assert round(result.loc["ICC(3,1)", "estimate"], 2) == 0.71
    # psych::ICC (icc_shrout_fleiss.Rout), 10 digits
    icc2, icc3 = result.loc["ICC(2,1)"], result.loc["ICC(3,1)"]
    assert icc2["estimate"] == pytest.approx(0.2897637795, abs=1e-10)
    assert icc2["ci_low"] == pytest.approx(0.01878651337, abs=1e-9)
    assert icc2["ci_high"] == pytest.approx(0.7610843696, abs=1e-9)
    assert icc3["estimate"] == pytest.approx(0.7148407148, abs=1e-10)
    assert icc3["ci_low"] == pytest.approx(0.34246476503, abs=1e-9)
    assert icc3["ci_high"] == pytest.approx(0.9458582600, abs=1e-9)
    assert icc3["F"] == pytest.approx(11.027247956, abs=1e-8)
    assert icc3["p"] == pytest.approx(0.0001345665165, rel=1e-8)


def test_weighted_kappa_estimates_match_psych() -> None:
    # kappa_fleiss.Rout: unweighted 0.4285714286 (CI 0.3232997935, 0.5338430637),
    # linear 0.4923076923, quadratic 0.5666666667.
    unweighted = weighted_kappa(FLEISS, "none").iloc[0]
    assert unweighted["estimate"] == pytest.approx(0.4285714286, abs=1e-10)
    assert unweighted["ci_low"] == pytest.approx(0.3232997935, abs=1e-9)
    assert unweighted["ci_high"] == pytest.approx(0.5338430637, abs=1e-9)
    assert weighted_kappa(FLEISS, "linear").iloc[0]["estimate"] == pytest.approx(0.4923076923, abs=1e-10)
    assert weighted_kappa(FLEISS, "quadratic").iloc[0]["estimate"] == pytest.approx(0.5666666667, abs=1e-10)


def test_weighted_kappa_variance_is_fleiss_cohen_everitt() -> None:
    # Fleiss, Cohen & Everitt (1969), eq. for var(kappa_w) under the alternative, evaluated by hand
    # here (independently of statsmodels, which agreement.py calls). psych 2.2.9 uses a different row
    # term (see kappa_fleiss.R), so its weighted variance is not used as the reference.
    p = FLEISS / FLEISS.sum()
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    i, j = np.indices((3, 3))
    for name, w in (("linear", 1 - np.abs(i - j) / 2), ("quadratic", 1 - (i - j) ** 2 / 4)):
        po, pe = (w * p).sum(), (w * np.outer(rows, cols)).sum()
        kw = (po - pe) / (1 - pe)
        wbar_i, wbar_j = w @ cols, rows @ w
        var = (np.sum(p * (w - (wbar_i[:, None] + wbar_j[None, :]) * (1 - kw)) ** 2)
               - (kw - pe * (1 - kw)) ** 2) / (FLEISS.sum() * (1 - pe) ** 2)
        assert weighted_kappa(FLEISS, name).iloc[0]["se"] == pytest.approx(np.sqrt(var), rel=1e-10)
