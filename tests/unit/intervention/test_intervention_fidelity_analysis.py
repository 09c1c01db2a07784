"""Arranging fidelity ratings for the agreement estimators, the double-rating draw and drift (no Django).

The estimators themselves are checked against published examples in
tests/reference/stats/test_reference_agreement.py (Shrout & Fleiss 1979 for ICC(2,1)/ICC(3,1) with
psych::ICC's confidence limits; Fleiss, Cohen & Everitt 1969 for weighted kappa), so here the inputs and a
hand-computed case are checked."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from trialdesk.apps.intervention import fidelity_analysis as fa


def _frame(rows):
    return pd.DataFrame(rows, columns=["rating_id", "double_of", "score", "item_1", "item_2"])


def test_pairs_match_second_ratings_to_their_first():
    frame = _frame([["1", "", 4.0, 4, 4], ["2", "", 3.0, 3, 3], ["3", "1", 3.5, 3, 4], ["4", "", 5.0, 5, 5]])
    paired = fa.pairs(frame)
    assert paired[["rating_id", "score_1", "score_2", "item_2_1", "item_2_2"]].values.tolist() == [
        ["1", 4.0, 3.5, 4, 4]
    ]


def test_two_raters_in_perfect_agreement_on_one_category_get_no_kappa_but_a_reason():
    frame = _frame([["1", "", 4.0, 4, 3], ["2", "", 3.0, 4, 2], ["3", "1", 4.0, 4, 3], ["4", "2", 3.0, 4, 2]])
    result = fa.reliability(frame, ["1", "2"])
    kappa = result["kappa"].set_index("item")
    assert np.isnan(kappa.loc["1", "kappa"])
    assert kappa.loc["1", "note"] == "undefined: both raters used a single category"
    assert kappa.loc["1", "agreement"] == 1.0
    # Item 2: 3/3 and 2/2, perfect agreement over two categories: kappa 1.
    assert kappa.loc["2", "kappa"] == pytest.approx(1.0)
    # Identical totals leave no residual variance: the agreement module refuses and the note says why.
    assert result["icc"] is None
    assert result["note"] == "ICC is undefined: the ratings have no residual variation"


def test_reliability_needs_two_pairs():
    frame = _frame([["1", "", 4.0, 4, 3], ["2", "1", 4.0, 4, 3]])
    result = fa.reliability(frame, ["1", "2"])
    assert result["pairs"] == 1 and result["icc"] is None
    assert "at least 2" in result["note"]


def test_the_draw_is_numpys_seeded_generator_and_is_independent_of_order():
    seed = 12345
    chosen = [i for i in range(1, 201) if fa.selected_for_double(seed, i, 0.2)]
    assert chosen == [i for i in range(1, 201) if np.random.default_rng([seed, i]).random() < 0.2]
    assert 20 <= len(chosen) <= 60  # Binomial(200, 0.2): mean 40
    assert not any(fa.selected_for_double(seed, i, 0.0) for i in range(1, 50))
    assert all(fa.selected_for_double(seed, i, 1.0) for i in range(1, 50))


def test_drift_per_month_with_change_and_yearly_trend():
    frame = pd.DataFrame(
        {
            "site": ["BAL", "BAL", "BAL", "FRB"],
            "rated_on": [dt.date(2011, 1, 1), dt.date(2011, 1, 20), dt.date(2012, 1, 1), dt.date(2011, 5, 1)],
            "score": [4.0, 5.0, 3.5, 4.2],
        }
    )
    out = fa.drift(frame, "site", freq="M")
    assert out[["site", "period", "n", "mean_score", "change"]].values.tolist() == [
        ["BAL", "2011-01", 2, 4.5, 0.0],
        ["BAL", "2012-01", 1, 3.5, -1.0],
        ["FRB", "2011-05", 1, 4.2, 0.0],
    ]
    # Least-squares slope by hand: x = days/365.25 = 0, 19/365.25, 1; y = 4, 5, 3.5.
    x = np.array([0, 19 / 365.25, 365 / 365.25])
    y = np.array([4.0, 5.0, 3.5])
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    assert out.loc[0, "trend_per_year"] == pytest.approx(slope)
    assert np.isnan(out.loc[2, "trend_per_year"])  # one rating: no trend
