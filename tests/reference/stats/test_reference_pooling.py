"""Rubin's rules against mice::pool on mice::nhanes.

R's and numpy's random numbers differ, so mice's own 5 completed data sets (mice(nhanes, m = 5,
seed = 123), exported to mi_nhanes_completed.csv by mi_nhanes.R) are analysed here and pooled; the
numbers are mice 3.15.0's printed ``pool()`` output in mi_nhanes.Rout.
"""

from pathlib import Path

import pandas as pd
import pytest

from trialdesk.stats.glm import fit_glm
from trialdesk.stats.pooling import pool

HERE = Path(__file__).parent
COLUMNS = ["estimate", "ubar", "b", "t", "dfcom", "df", "riv", "lambda", "fmi"]


def _fits(formula: str, family: str) -> list:
    long = pd.read_csv(HERE / "mi_nhanes_completed.csv")
    return [fit_glm(frame, formula, family=family) for _, frame in long.groupby(".imp")]


def _check(table: pd.DataFrame, expected: dict[str, list[float]]) -> None:
    for term, values in expected.items():
        row = table.set_index("term").loc[term]
        for column, value in zip(COLUMNS, values, strict=True):
            assert row[column] == pytest.approx(value, rel=1e-8), (term, column)


def test_pool_lm_matches_mice() -> None:
    pooled = pool(_fits("chl ~ age + bmi", "gaussian"))
    _check(pooled.tables["pooling"], {
        "Intercept": [11.430196307, 3122.896811951, 1785.115006808, 5265.034820120, 22, 8.020422386,
                      0.6859458180, 0.4068611284, 0.5145047106],
        "age": [27.505289375, 77.254021681, 32.551812819, 116.316197064, 22, 9.748108711, 0.5056329047,
                0.3358274803, 0.4400268616],
        "bmi": [4.979978598, 3.152841484, 1.866457333, 5.392590283, 22, 7.835030651, 0.7103905511,
                0.4153382107, 0.5232588633],
    })
    # summary(pool, conf.int = TRUE): std.error, statistic, p.value, 2.5 %, 97.5 %
    age = pooled.coef("age")
    assert age["se"] == pytest.approx(10.784998705, rel=1e-8)
    assert age["statistic"] == pytest.approx(2.5503284819, rel=1e-8)
    assert age["p"] == pytest.approx(0.02938517078, rel=1e-7)
    assert age["ci_low"] == pytest.approx(3.3903796561, rel=1e-7)
    assert age["ci_high"] == pytest.approx(51.62019909, rel=1e-8)


def test_pool_logistic_matches_mice() -> None:
    pooled = pool(_fits("I(hyp - 1) ~ age + chl", "binomial"))
    # mice's dfcom is df.residual of the glm, n - p = 22; glm IRLS tolerances limit agreement to ~1e-6
    table = pooled.tables["pooling"].set_index("term")
    expected = {"Intercept": (-8.26566230694, 2.418971814e01, 2.878045218, 16.56632888, 0.2143819666),
                "age": (1.60920338880, 6.998157706e-01, 1.135676390e-01, 15.22751850, 0.2548363560),
                "chl": (0.01795311258, 4.950614262e-04, 6.973386103e-05, 15.87678446, 0.2352213944)}
    for term, (estimate, ubar, b, df, fmi) in expected.items():
        row = table.loc[term]
        assert row["estimate"] == pytest.approx(estimate, rel=1e-6)
        assert row["ubar"] == pytest.approx(ubar, rel=1e-5)
        assert row["b"] == pytest.approx(b, rel=1e-5)
        assert row["df"] == pytest.approx(df, rel=1e-5)
        assert row["fmi"] == pytest.approx(fmi, rel=1e-5)


def test_pool_large_sample_df_matches_mice() -> None:
    pooled = pool(_fits("chl ~ age + bmi", "gaussian"), dfcom=float("inf"))
    table = pooled.tables["pooling"].set_index("term")
    # pool(fit, dfcom = Inf): df 24.16393132, 35.46725107, 23.18762222;
    # fmi 0.4505321910, 0.3703593224, 0.4599899767
    assert list(table["df"]) == pytest.approx([24.16393132, 35.46725107, 23.18762222], rel=1e-8)
    assert list(table["fmi"]) == pytest.approx([0.4505321910, 0.3703593224, 0.4599899767], rel=1e-8)
