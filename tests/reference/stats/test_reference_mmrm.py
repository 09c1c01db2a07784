"""MMRM against nlme 3.1-162, emmeans 1.8.4-1, lme4 1.1-31, lmerTest 3.1-3 and pbkrtest 0.5.2 (r/btheb.R).

Data: the Beat the Blues trial (HSAUR3::BtheB; Proudfoot et al. 2003), BDI at 2, 3, 5 and 8 months with
dropout (97 subjects, 280 observations), model ``bdi ~ bdi_pre + drug + length + treatment * visit``.

* Unstructured, compound-symmetry and AR(1) residual covariance: ``nlme::gls`` with ``corSymm`` +
  ``varIdent``, ``corCompSymm`` and ``corAR1`` by visit, REML; model-based SEs; least-squares means
  per arm and visit and BtheB - TAU differences from ``emmeans`` (equal weights over drug and length,
  baseline at its mean).
* Kenward–Roger: the compound-symmetry MMRM equals the random-intercept model, fitted by ``lmer`` with
  KR-adjusted SEs and KR df from lmerTest/pbkrtest, and KR LS means from ``emmeans(lmer.df =
  "kenward-roger")``.
"""

from __future__ import annotations

import pytest

from trialdesk.stats.mmrm import fit_mmrm

REL = 1e-6
ARM = "C(treatment, Treatment('TAU'))"
FIXED = f"bdi ~ bdi_pre + drug + length + {ARM} * C(time)"


def _r_name(term: str) -> str:
    name = term.replace(f"{ARM}[T.BtheB]", "treatmentBtheB").replace("C(time)[T.", "ftime")
    name = name.replace("drug[T.Yes]", "drugYes").replace("length[T.>6m]", "length>6m")
    name = name.replace("Intercept", "(Intercept)")
    return name.replace("]", "")


def _fit(data, structure, df):
    return fit_mmrm(data, f"{FIXED} + {structure}(time | subject)", arm="treatment", df=df)


@pytest.mark.parametrize("structure", ["us", "cs", "ar1"])
def test_mmrm_matches_gls_and_emmeans(structure, r_output, reference_data):
    ref = r_output("btheb")
    tag = f"mmrm_{structure}"
    result = _fit(reference_data("btheb_long"), structure, "satterthwaite")
    assert result.converged
    assert (result.nobs, result.ngroups) == (280, 97)
    for row in result.coefficients.itertuples():
        expected = ref[(tag, "est", _r_name(row.term))]
        assert row.estimate == pytest.approx(expected, rel=REL, abs=1e-6), row.term
        assert row.se == pytest.approx(ref[(tag, "se", _r_name(row.term))], rel=REL), row.term
    assert result.loglik == pytest.approx(ref[(tag, "loglik", "")], rel=1e-10)
    assert result.aic == pytest.approx(ref[(tag, "aic", "")], rel=1e-10)
    assert result.bic == pytest.approx(ref[(tag, "bic", "")], rel=1e-10)
    for row in result.tables["lsmeans"].itertuples():
        key = f"{row.treatment}:{row.time}"
        assert row.estimate == pytest.approx(ref[(tag, "lsmean", key)], rel=REL), key
        assert row.se == pytest.approx(ref[(tag, "lsse", key)], rel=REL), key
    effects = result.tables["arm_effects"]
    assert set(effects["contrast"]) == {"BtheB - TAU"}
    for row in effects.itertuples():
        assert row.estimate == pytest.approx(ref[(tag, "diff", str(row.time))], rel=REL, abs=1e-6)
        assert row.se == pytest.approx(ref[(tag, "diffse", str(row.time))], rel=REL)


def test_unstructured_covariance_matches_gls(r_output, reference_data):
    ref = r_output("btheb")
    result = _fit(reference_data("btheb_long"), "us", "none")
    vc = result.variance_components
    visits = ["2", "3", "5", "8"]
    for i in range(4):
        for j in range(i + 1):
            name = f"var({visits[i]})" if i == j else f"cov({visits[j]},{visits[i]})"
            assert vc[name] == pytest.approx(ref[("mmrm_us", "sigma", f"{i + 1},{j + 1}")], rel=1e-5), name


def test_kenward_roger_matches_pbkrtest(r_output, reference_data):
    ref = r_output("btheb")
    tag = "mmrm_kr"
    result = _fit(reference_data("btheb_long"), "cs", "kenward-roger")
    for row in result.coefficients.itertuples():
        name = _r_name(row.term)
        assert row.estimate == pytest.approx(ref[(tag, "est", name)], rel=REL), name
        assert row.se == pytest.approx(ref[(tag, "se", name)], rel=REL), name
        assert row.df == pytest.approx(ref[(tag, "df", name)], rel=REL), name
    for row in result.tables["lsmeans"].itertuples():
        key = f"{row.treatment}:{row.time}"
        assert row.estimate == pytest.approx(ref[(tag, "lsmean", key)], rel=REL), key
        assert row.se == pytest.approx(ref[(tag, "lsse", key)], rel=REL), key
        assert row.df == pytest.approx(ref[(tag, "lsdf", key)], rel=REL), key
    for row in result.tables["arm_effects"].itertuples():
        assert row.estimate == pytest.approx(ref[(tag, "diff", str(row.time))], rel=REL, abs=1e-6)
        assert row.se == pytest.approx(ref[(tag, "diffse", str(row.time))], rel=REL)
        assert row.df == pytest.approx(ref[(tag, "diffdf", str(row.time))], rel=REL)
    cs = result.variance_components
    assert cs["subject covariance"] == pytest.approx(ref[(tag, "vc", "subject:(Intercept):NA")], rel=REL)
    assert cs["residual"] == pytest.approx(ref[(tag, "vc", "Residual:NA:NA")], rel=REL)
