"""Effect sizes against a textbook worked example and R.

Borenstein, Hedges, Higgins & Rothstein, Introduction to Meta-Analysis (Wiley 2009), chapter 4 worked
example: means 103 and 100, SDs 5.5 and 4.5, n 50 and 50 give S_within 5.0249, d 0.5970, V_d 0.0418,
J 0.9923, g 0.5924, V_g 0.0411, SE_g 0.2028.
"""

import pytest

from trialdesk.stats.effect_sizes import hedges_g_from_summary, mean_difference_from_summary, rate_ratio


def test_hedges_g_borenstein_chapter_4() -> None:
    g = hedges_g_from_summary(mean1=103, sd1=5.5, n1=50, mean0=100, sd0=4.5, n0=50).iloc[0]
    assert round(g["d"], 4) == 0.5970
    assert round(g["j"], 4) == 0.9923
    assert round(g["estimate"], 4) == 0.5924
    assert round(g["se"] ** 2, 4) == 0.0411
    assert round(g["se"], 4) == 0.2028


def test_mean_difference_pooled_t_interval() -> None:
    # pooled-variance t interval by hand: se = 5.0249 * sqrt(2/50) = 1.004988, t(0.975, 98) = 1.984467
    md = mean_difference_from_summary(mean1=103, sd1=5.5, n1=50, mean0=100, sd0=4.5, n0=50).iloc[0]
    assert md["estimate"] == 3
    assert md["se"] == pytest.approx(1.004987562, abs=1e-9)
    assert md["ci_low"] == pytest.approx(3 - 1.984467455 * 1.004987562, abs=1e-8)


def test_rate_ratio_wald_interval() -> None:
    # 20 events in 100 person-years vs 10 in 100: RR 2, SE(log RR) = sqrt(1/20 + 1/10)
    rr = rate_ratio(20, 100, 10, 100).iloc[0]
    assert rr["estimate"] == pytest.approx(2.0)
    assert rr["se"] == pytest.approx(0.3872983346, abs=1e-10)
