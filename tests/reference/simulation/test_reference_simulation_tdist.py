"""Student's t distribution of the power simulation against R 4.2.2's pt and qt.

The simulation computes its p-values and critical values itself (trialdesk.simulation.analysis,
instead of importing scipy for two functions); t_distribution.R prints R's values to 17 significant
digits (t_distribution.Rout), which are compared here over df from 1 to 1000 and |t| up to 30.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trialdesk.simulation.analysis import t_quantile, t_two_sided_p

ROUT = Path(__file__).with_name("t_distribution.Rout")


def _rows(kind: str) -> np.ndarray:
    rows = [line.split()[1:] for line in ROUT.read_text().splitlines() if line.startswith(kind + " ")]
    return np.array(rows, dtype=float)


def test_two_sided_p_matches_r_pt():
    df, t, expected = _rows("p").T
    assert len(expected) == 88
    got = t_two_sided_p(t, df)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(t_two_sided_p(-t, df), expected, rtol=1e-10, atol=1e-300)


def test_quantile_matches_r_qt():
    df, prob, expected = _rows("q").T
    assert len(expected) == 44
    for q in np.unique(prob):
        chosen = prob == q
        np.testing.assert_allclose(t_quantile(float(q), df[chosen]), expected[chosen], rtol=1e-10)


def test_edge_values():
    p = t_two_sided_p(np.array([np.nan, np.inf, 0.0, 1.0, 2.0]), np.array([10, 10, 10, 0, np.nan]))
    assert np.isnan(p[0]) and p[1] == 0.0 and p[2] == 1.0
    assert np.isnan(p[3]) and np.isnan(p[4])
    assert t_quantile(0.975, np.array([[5.0, 5.0], [10.0, 0.0]])).shape == (2, 2)
    assert np.isnan(t_quantile(0.975, np.array([0.0]))[0])
    # R 4.2.2: qt(0.975, 1e6) = 1.9599663568141066; the normal quantile is 1.959963984540054
    assert t_quantile(0.975, np.array([1e6]))[0] == pytest.approx(1.9599663568141066, rel=1e-9)
