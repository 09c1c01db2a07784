"""GLMs against R: MASS::glm.nb on quine, Poisson with offset on Insurance, logistic on birthwt.

Expected numbers are R 4.2.2's printed output, stored beside this file (*.Rout, from the *.R scripts).
"""

from pathlib import Path

import pandas as pd
import pytest

from trialdesk.stats.effect_sizes import odds_ratio
from trialdesk.stats.glm import fit_glm, fit_nb

HERE = Path(__file__).parent


def test_nb_quine_matches_glm_nb() -> None:
    # Venables & Ripley, MASS 4th ed. §7.4; nb_quine.Rout: theta 1.597990733, SE 0.2128654442,
    # 2 x log-likelihood -1063.025022, AIC 1093.025022.
    fit = fit_nb(pd.read_csv(HERE / "nb_quine.csv"), "Days ~ Sex/(Age + Eth*Lrn)")
    assert fit.converged
    assert fit.theta == pytest.approx(1.597990733, abs=1e-7)
    assert fit.extra["theta_se"] == pytest.approx(0.2128654442, abs=1e-4)  # R prints 0.213
    assert 2 * fit.loglik == pytest.approx(-1063.025022, abs=1e-5)
    assert fit.aic == pytest.approx(1093.025022, abs=1e-5)
    expected = {  # term: (estimate, SE) to R's 10 digits
        "Intercept": (3.019188190, 0.2970622148),
        "Sex[T.M]": (-0.4754050508, 0.3955041381),
        "Sex[F]:Age[T.F1]": (-0.7088736734, 0.3232074917),
        "Sex[M]:Age[T.F3]": (1.150842904, 0.3138529593),
        "Sex[M]:Eth[T.N]": (-0.6789868647, 0.2563132329),
        "Sex[F]:Eth[T.N]:Lrn[T.SL]": (-1.358490557, 0.3771933012),
        "Sex[M]:Eth[T.N]:Lrn[T.SL]": (0.7614155753, 0.4413365235),
    }
    for term, (estimate, se) in expected.items():
        row = fit.coef(term)
        assert row["estimate"] == pytest.approx(estimate, abs=1e-6), term
        assert row["se"] == pytest.approx(se, abs=1e-6), term
    assert fit.coef("Sex[F]:Eth[T.N]:Lrn[T.SL]")["p"] == pytest.approx(3.162932314e-04, rel=1e-5)


def test_poisson_offset_insurance_matches_glm() -> None:
    # glm(Claims ~ District + Group + Age + offset(log(Holders)), poisson): glm_insurance.Rout.
    fit = fit_glm(pd.read_csv(HERE / "glm_insurance.csv"), "Claims ~ C(District) + Group + Age",
                  family="poisson", offset="log(Holders)")
    assert fit.loglik == pytest.approx(-184.370777, abs=1e-6)
    assert fit.aic == pytest.approx(388.741554, abs=1e-6)
    expected = {"Intercept": (-1.85141, 0.05695), "C(District)[T.4]": (0.23421, 0.06167),
                "Group[T.>2l]": (0.40208, 0.06358), "Group[T.<1l]": (-0.16134, 0.05053),
                "Age[T.>35]": (-0.34566, 0.05449), "Age[T.<25]": (0.19101, 0.08286)}
    for term, (estimate, se) in expected.items():
        assert fit.coef(term)["estimate"] == pytest.approx(estimate, abs=5e-6), term
        assert fit.coef(term)["se"] == pytest.approx(se, abs=5e-6), term
    rr = fit.tables["rate_ratios"].set_index("term").loc["Age[T.>35]"]
    assert rr["rate_ratio"] == pytest.approx(0.7077528, abs=1e-6)


def test_logistic_birthwt_matches_glm() -> None:
    # glm(low ~ ., binomial, bwt) as in MASS §7.2: glm_birthwt.Rout.
    data = pd.read_csv(HERE / "glm_birthwt.csv")
    fit = fit_glm(data, "low ~ age + lwt + C(race, Treatment('white')) + smoke + ptd + ht + ui + ftv",
                  family="binomial")
    expected = {"Intercept": (0.823018957834, 1.244714327838), "age": (-0.037234292260, 0.038702384131),
                "lwt": (-0.015653008391, 0.007080410475),
                "C(race, Treatment('white'))[T.black]": (1.192413214217, 0.535964576292),
                "smoke[T.True]": (0.755528371023, 0.425016646611),
                "ht[T.True]": (1.913165857455, 0.720736861457),
                "ftv[T.2+]": (0.179008519922, 0.456377771598)}
    for term, (estimate, se) in expected.items():
        assert fit.coef(term)["estimate"] == pytest.approx(estimate, abs=5e-6), term
        # R's summary.glm takes the weights of its last IRLS pass (stopped at a 1e-8 relative change in
        # deviance), statsmodels those at the final estimates: SEs agree to 4-5 significant digits.
        assert fit.coef(term)["se"] == pytest.approx(se, rel=5e-5), term
    assert fit.coef("ptd[T.True]")["p"] == pytest.approx(0.005175675868, rel=5e-4)  # R prints 0.00518


def test_odds_ratio_from_table_matches_logistic_fit() -> None:
    # table(smoke, low) in glm_birthwt.Rout: smokers 44 normal / 30 low, non-smokers 86 / 29;
    # exp(coef, confint.default) of glm(low ~ smoke): 2.0219435737 (1.0806598678, 3.7831106131).
    result = odds_ratio(30, 44, 29, 86).iloc[0]
    assert result["estimate"] == pytest.approx(2.0219435737, abs=1e-9)
    assert result["ci_low"] == pytest.approx(1.0806598678, abs=1e-6)  # R stops IRLS at 1e-8
    assert result["ci_high"] == pytest.approx(3.7831106131, abs=1e-6)
