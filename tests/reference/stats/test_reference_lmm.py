"""Linear mixed models against lme4 1.1-31 / lmerTest 3.1-3 (R 4.2.2): r/lmm_sleepstudy.R, r/btheb.R.

Sources: lme4's ``sleepstudy`` (Bates et al. 2015, J Stat Softw 67(1), section 1 and 3.1) with a random
intercept and with correlated random intercept and slope, REML and ML; and the Beat the Blues trial
(HSAUR3, Everitt & Hothorn ch. 13, models BtheB_lmer1 and BtheB_lmer2): unbalanced longitudinal trial
data with dropout. Standard errors are lme4's vcov() (conditional on the variance estimates) and df are
lmerTest's Satterthwaite df. R's optimiser was run with tight tolerances (see the scripts) so that its
numbers are accurate to the digits compared.
"""

from __future__ import annotations

import pytest

from trialdesk.stats.lmm import fit_lmm

REL = 1e-6

SLEEP = [
    ("ri_reml", "Reaction ~ Days + (1 | Subject)", "REML"),
    ("ri_ml", "Reaction ~ Days + (1 | Subject)", "ML"),
    ("rs_reml", "Reaction ~ Days + (Days | Subject)", "REML"),
    ("rs_ml", "Reaction ~ Days + (Days | Subject)", "ML"),
]


def _name(term: str) -> str:
    return {"Intercept": "(Intercept)", "C(treatment, Treatment('TAU'))[T.BtheB]": "treatmentBtheB",
            "drug[T.Yes]": "drugYes", "length[T.>6m]": "length>6m"}.get(term, term)


def _check_coefficients(result, ref, tag: str, *, df_rel: float = 1e-6) -> None:
    for row in result.coefficients.itertuples():
        name = _name(row.term)
        assert row.estimate == pytest.approx(ref[(tag, "est", name)], rel=REL, abs=1e-9), name
        assert row.se == pytest.approx(ref[(tag, "se", name)], rel=REL), name
        assert row.df == pytest.approx(ref[(tag, "df", name)], rel=df_rel), name


@pytest.mark.parametrize(("tag", "formula", "method"), SLEEP)
def test_sleepstudy_matches_lme4(tag, formula, method, r_output, reference_data):
    ref = r_output("lmm_sleepstudy")
    result = fit_lmm(reference_data("sleepstudy"), formula, method=method)
    assert result.converged
    assert result.nobs == 180
    assert result.ngroups == 18
    _check_coefficients(result, ref, tag)
    vc = result.variance_components
    assert vc["Subject (Intercept)"] == pytest.approx(ref[(tag, "vc", "Subject:(Intercept):")], rel=REL)
    assert vc["Residual"] == pytest.approx(ref[(tag, "vc", "Residual:NA:")], rel=REL)
    if tag.startswith("rs"):
        assert vc["Subject Days"] == pytest.approx(ref[(tag, "vc", "Subject:Days:")], rel=REL)
        cov = vc["Subject cov((Intercept), Days)"]
        assert cov == pytest.approx(ref[(tag, "vc", "Subject:(Intercept):Days")], rel=1e-5)
    assert result.loglik == pytest.approx(ref[(tag, "loglik", "")], rel=1e-10)
    assert result.aic == pytest.approx(ref[(tag, "aic", "")], rel=1e-10)
    assert result.bic == pytest.approx(ref[(tag, "bic", "")], rel=1e-10)


BTHEB = "bdi ~ bdi_pre + time + C(treatment, Treatment('TAU')) + drug + length"


@pytest.mark.parametrize(("tag", "random", "method"), [
    ("lmm_ri_ml", "(1 | subject)", "ML"),
    ("lmm_rs_ml", "(time | subject)", "ML"),
    ("lmm_ri_reml", "(1 | subject)", "REML"),
])
def test_beat_the_blues_with_dropout_matches_lme4(tag, random, method, r_output, reference_data):
    ref = r_output("btheb")
    result = fit_lmm(reference_data("btheb_long"), f"{BTHEB} + {random}", method=method)
    assert result.converged
    assert result.nobs == 280
    assert result.ngroups == 97
    _check_coefficients(result, ref, tag, df_rel=1e-5)
    residual = ref[(tag, "vc", "Residual:NA:NA")]
    assert result.variance_components["Residual"] == pytest.approx(residual, rel=REL)
    assert result.variance_components["subject (Intercept)"] == pytest.approx(
        ref[(tag, "vc", "subject:(Intercept):NA")], rel=REL)
    assert result.loglik == pytest.approx(ref[(tag, "loglik", "")], rel=1e-10)
    assert result.aic == pytest.approx(ref[(tag, "aic", "")], rel=1e-10)
