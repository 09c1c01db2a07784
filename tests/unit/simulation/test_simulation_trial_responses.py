"""Building blocks of the simulated trial: totals split into valid items, and the calibration maths.

Monte Carlo checks use large vectorised samples (no trial is simulated) with tolerances of 4 Monte Carlo
standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from trialdesk.instruments import get_library, score
from trialdesk.simulation.calibration import Target
from trialdesk.simulation.outcomes import (
    beta_quantile,
    calibrated_scores,
    contact_intercept,
    selection_moments,
)
from trialdesk.simulation.responses import feasible_totals, item_spec, responses, split_totals

SCALES = ["gaf_f", "gaf_s", "psp", "panss", "hamd17", "ymrs", "audit", "dudit", "mhrm", "ashs", "csq8",
          "imrs_client", "imrs_clinician"]


@pytest.mark.parametrize("code", SCALES)
def test_every_total_in_range_splits_into_items_that_score_back_to_it(code):
    instrument = get_library().get(code)
    spec = item_spec(instrument)
    low, high = spec.total_range
    totals = np.repeat(np.arange(low, high + 1), 2)
    values = split_totals(spec, totals, np.random.default_rng(1))
    for row, total in zip(values, totals, strict=True):
        responses_ = dict(zip(spec.codes, row.tolist(), strict=True))
        assert score(instrument, responses_).values["total"] == total


def test_items_vary_between_participants_with_the_same_total():
    spec = item_spec(get_library().get("panss"))
    values = split_totals(spec, np.full(200, 70.0), np.random.default_rng(2))
    assert (values.sum(axis=1) == 70).all()
    assert len({tuple(row) for row in values}) > 150
    positive = values[:, spec.subscale == 0].sum(axis=1)
    assert positive.std() > 1.5  # subscales differ between people, not only items


def test_audit_answers_9_and_10_are_only_0_2_or_4():
    instrument = get_library().get("audit")
    codes, values = responses(instrument, np.arange(0, 41, dtype=float), np.random.default_rng(3))
    for code in ("9", "10"):
        assert set(values[:, codes.index(code)]) <= {0.0, 2.0, 4.0}
    assert feasible_totals(item_spec(instrument), np.array([-3.0, 40.6, 12.4])).tolist() == [0, 40, 12]


def test_psp_domain_ratings_follow_the_global_rating_and_blanks_are_prorated():
    instrument = get_library().get("psp")
    codes, values = responses(instrument, np.r_[np.full(100, 25.0), np.full(100, 85.0)],
                              np.random.default_rng(4))
    severity = values[:, [codes.index(c) for c in "abcd"]].mean(axis=1)
    assert severity[:100].mean() > severity[100:].mean() + 2  # a low rating goes with severe domains
    mhrm = get_library().get("mhrm")
    codes, values = responses(mhrm, np.full(400, 70.0), np.random.default_rng(5), blank_share=0.5)
    blank_rows = np.isnan(values).any(axis=1)
    assert 150 < blank_rows.sum() < 250 and np.isnan(values).sum(axis=1).max() == 1
    prorated = score(mhrm, dict(zip(codes, values[np.flatnonzero(blank_rows)[0]].tolist(), strict=True)))
    assert prorated.prorated and prorated.values["total"] is not None


@pytest.mark.parametrize(("p", "slope", "sd_u"), [(0.5, 0.3, 1.5), (0.63, 0.3, 1.5), (0.8, 1.0, 0.5)])
def test_contact_probability_and_selection_moments_match_monte_carlo(p, slope, sd_u):
    rng = np.random.default_rng(6)
    n = 400_000
    z, u = rng.standard_normal(n), rng.normal(0.0, sd_u, n)
    a = contact_intercept(p, slope, sd_u)
    contacted = rng.random(n) < special.expit(a + slope * z + u)
    assert abs(contacted.mean() - p) < 4 * math.sqrt(p * (1 - p) / n)
    mean, var = selection_moments(a, slope, sd_u)
    m = int(contacted.sum())
    assert abs(z[contacted].mean() - mean) < 4 / math.sqrt(m)
    assert abs(z[contacted].var() - var) < 4 * math.sqrt(2 / m)
    assert mean > 0  # better baseline, more contact: missing at random


def test_beta_margin_has_the_target_mean_and_sd():
    grid = (np.arange(200_000) + 0.5) / 200_000  # midpoint rule over the quantile function
    for target, low, high in ((Target(6.77, 5.92), 0, 60), (Target(45.4, 12.1), 1, 100),
                              (Target(24.6, 5.1), 8, 32)):
        values = beta_quantile(grid, target, low, high)
        assert values.min() >= low and values.max() <= high
        assert values.mean() == pytest.approx(target.mean, abs=0.01)
        assert values.std() == pytest.approx(target.sd, rel=0.005)


def test_complete_cases_hit_the_target_despite_selection():
    """The heart of the calibration: contacted participants' scores have the published mean and SD."""
    rng = np.random.default_rng(7)
    n, r, slope, sd_u = 400_000, 0.5, 0.3, 1.5
    anchor = rng.standard_normal(n)
    latent = r * anchor + math.sqrt(1 - r**2) * rng.standard_normal(n)
    a = contact_intercept(0.6, slope, sd_u)
    contacted = rng.random(n) < special.expit(a + slope * anchor + rng.normal(0.0, sd_u, n))
    instrument = get_library().get("gaf_f")
    target = Target(45.4, 12.1)
    scores = calibrated_scores(latent, target, instrument, r, selection_moments(a, slope, sd_u))
    observed = scores[contacted]
    se = target.sd / math.sqrt(observed.size)
    assert abs(observed.mean() - target.mean) < 4 * se
    assert abs(observed.std() - target.sd) < 4 * target.sd / math.sqrt(2 * observed.size)
    assert scores.mean() < observed.mean() - 10 * se  # everyone's mean is lower: the selection is real
