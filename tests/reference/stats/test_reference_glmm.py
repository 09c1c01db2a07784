"""Random-intercept GLMMs against lme4::glmer (and glmmTMB) on cbpp and epil.

Adaptive Gauss-Hermite fits agree with lme4's printed digits. For the Laplace approximation lme4's
default inner tolerance (tolPwrss = 1e-7) stops early enough to move the printed 4th digit; with
tolPwrss = 1e-12 lme4, glmmTMB and trialdesk agree (glmm_cbpp.Rout, glmm_epil.Rout). We test both: tightly
against the converged optimum, loosely against lme4's default printout.
"""

from pathlib import Path

import pandas as pd
import pytest

from trialdesk.stats.glmm import fit_glmm

HERE = Path(__file__).parent
CBPP = "cbind(incidence, size - incidence) ~ C(period)"
EPIL = "y ~ lbase * trt + lage + V4"


def test_cbpp_laplace() -> None:
    fit = fit_glmm(pd.read_csv(HERE / "glmm_cbpp.csv"), CBPP, "herd", family="binomial", nagq=1)
    assert fit.converged
    assert fit.ngroups == 15
    assert fit.nobs == 56
    # lme4 tolPwrss = 1e-12 / glmmTMB 1.1.5: logLik -92.02628187, sd 0.64227.
    assert fit.loglik == pytest.approx(-92.02628187, abs=1e-6)
    assert fit.extra["random_intercept_sd"] == pytest.approx(0.6422617, abs=2e-5)
    tight = {"Intercept": (-1.398532044, 0.2324733854), "C(period)[T.2]": (-0.9923158803, 0.3066414824),
             "C(period)[T.3]": (-1.128664147, 0.3266375665), "C(period)[T.4]": (-1.580315598, 0.4274378166)}
    for term, (estimate, se) in tight.items():
        assert fit.coef(term)["estimate"] == pytest.approx(estimate, abs=2e-5), term
        assert fit.coef(term)["se"] == pytest.approx(se, abs=2e-5), term
    # lme4 default printout (summary(gm1)):
    # -1.3983 (0.2312), -0.9919 (0.3032), -1.1282 (0.3228), -1.5797 (0.4220)
    printed = {"Intercept": (-1.3983, 0.2312), "C(period)[T.2]": (-0.9919, 0.3032),
               "C(period)[T.3]": (-1.1282, 0.3228), "C(period)[T.4]": (-1.5797, 0.4220)}
    for term, (estimate, se) in printed.items():
        assert fit.coef(term)["estimate"] == pytest.approx(estimate, abs=1e-3), term
        assert fit.coef(term)["se"] == pytest.approx(se, abs=6e-3), term
    assert round(fit.aic, 1) == 194.1
    assert round(fit.loglik, 1) == -92.0


def test_cbpp_agq25_matches_lme4_printout() -> None:
    fit = fit_glmm(pd.read_csv(HERE / "glmm_cbpp.csv"), CBPP, "herd", family="binomial", nagq=25)
    # summary(update(gm1, nAGQ = 25)) in glmm_cbpp.Rout, to its 10 digits (tolerance: optimiser)
    expected = {"Intercept": (-1.399223728, 0.2335113780), "C(period)[T.2]": (-0.9914088838, 0.3067682008),
                "C(period)[T.3]": (-1.127809594, 0.3267671626),
                "C(period)[T.4]": (-1.579480951, 0.4275957098)}
    for term, (estimate, se) in expected.items():
        assert fit.coef(term)["estimate"] == pytest.approx(estimate, abs=2e-5), term
        assert fit.coef(term)["se"] == pytest.approx(se, abs=2e-5), term
    assert fit.extra["random_intercept_sd"] == pytest.approx(0.6475199145, abs=2e-5)
    # lme4 prints, for nAGQ > 1, a log-likelihood relative to the saturated model less (q/2) log(2 pi)
    assert fit.extra["lme4_agq_loglik"] == pytest.approx(-50.00501527, abs=1e-4)


def test_epil_poisson_laplace_and_agq9() -> None:
    data = pd.read_csv(HERE / "glmm_epil.csv")
    fit = fit_glmm(data, EPIL, "subject", family="poisson", nagq=1)
    assert fit.loglik == pytest.approx(-665.4744261, abs=1e-6)  # lme4 tight and glmmTMB
    # lme4 tight vs glmmTMB differ by up to 3e-5 (flat likelihood); both within 5e-5 of ours
    tight = {"Intercept": (1.832831746, 0.1052863608), "lbase": (0.8834877025, 0.1308617916),
             "trt[T.progabide]": (-0.3342138180, 0.1476520965), "lage": (0.4809084728, 0.3463375504),
             "V4": (-0.1597671935, 0.05458365816), "lbase:trt[T.progabide]": (0.3388898972, 0.2027868448)}
    for term, (estimate, se) in tight.items():
        assert fit.coef(term)["estimate"] == pytest.approx(estimate, abs=5e-5), term
        assert fit.coef(term)["se"] == pytest.approx(se, abs=5e-5), term
    agq = fit_glmm(data, EPIL, "subject", family="poisson", nagq=9)
    expected = {"Intercept": (1.832768102, 0.1055016532), "lbase": (0.8833998022, 0.1311366561),
                "trt[T.progabide]": (-0.3342578908, 0.1479464278), "V4": (-0.1597735569, 0.05458376304),
                "lbase:trt[T.progabide]": (0.3388041448, 0.2031935668)}
    for term, (estimate, se) in expected.items():
        assert agq.coef(term)["estimate"] == pytest.approx(estimate, abs=5e-5), term
        assert agq.coef(term)["se"] == pytest.approx(se, abs=5e-5), term
    assert agq.extra["random_intercept_sd"] == pytest.approx(0.5023845623, abs=2e-5)
    assert agq.extra["lme4_agq_loglik"] == pytest.approx(-282.454244, abs=1e-4)
