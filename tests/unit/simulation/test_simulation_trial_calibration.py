"""The simulated IMR trial against the published complete-case results (Jensen SB et al., BMC Psychiatry
2019;19:65, Table 3), checked on two fixed seeds so that a match is not a fluke of one seed.

Tolerances come from the sampling error of the published numbers at their n:

- mean: within 3 SE = 3 * SD / sqrt(n), times sqrt(1.25) in the IMR arm for the clustering in therapy
  groups (design effect 1 + (m - 1) * ICC with ~6 observed per group and ICC 0.05). 3 rather than 2.5 SE
  because 36 cells are checked per seed: at 2.5 SE about one in 80 cells would miss by chance alone.
- SD: within 3 SE of the SD, SE(SD) = SD * sqrt((kurtosis - 1) / (4 n)) with the simulated sample's
  (non-excess) kurtosis -- SD / sqrt(2 n) for normal data, wider for skewed scales such as PANSS and YMRS
  (about 10-13 % at n ~ 55, so roughly the 25-35 % band).
- n: within 12 of the published count (binomial SD of a count near 60 of 99 is ~5).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from trialdesk.simulation.calibration import PUBLISHED
from trialdesk.simulation.trial import simulate_trial

SEEDS = (2011, 2019)
OUTCOMES = ("gaf_f", "gaf_s", "psp", "panss", "hamd17", "ymrs", "mhrm", "ashs", "csq8")


@pytest.fixture(scope="module", params=SEEDS)
def trial(request):
    return simulate_trial(n_participants=198, seed=request.param)


@pytest.fixture(scope="module")
def summaries(trial):
    scores = trial.scores
    totals = scores[(scores["score"] == "total") & scores["value"].notna()]
    totals = totals.merge(trial.participants[["trial_id", "arm"]], on="trial_id")
    grouped = totals.groupby(["instrument", "visit", "arm"])["value"]
    summary = grouped.agg(["mean", "std", "count"])
    summary["kurtosis"] = grouped.apply(lambda v: stats.kurtosis(v, fisher=False))
    return summary


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_complete_case_summaries_match_table_3(summaries, outcome):
    misses = []
    for visit in ("m9", "m21"):
        for arm, role, deff in (("IMR", "intervention", 1.25), ("TAU", "control", 1.0)):
            target = PUBLISHED[(outcome, visit, role)]
            mean, sd, n, kurtosis = summaries.loc[(outcome, visit, arm)]
            limit = 3 * target.sd / math.sqrt(target.n) * math.sqrt(deff)
            if abs(mean - target.mean) > limit:
                misses.append(f"{visit} {arm} mean {mean:.2f} vs {target.mean} (limit {limit:.2f})")
            if abs(sd - target.sd) > 3 * target.sd * math.sqrt((kurtosis - 1) / (4 * target.n)):
                misses.append(f"{visit} {arm} SD {sd:.2f} vs {target.sd}")
            if abs(n - target.n) > 12:
                misses.append(f"{visit} {arm} n {n} vs {target.n}")
    assert not misses, misses


def test_every_participant_has_a_complete_baseline(trial, summaries):
    arms = trial.participants["arm"].value_counts()
    assert abs(arms["IMR"] - arms["TAU"]) <= 6  # stratified blocks: each of 4 strata within 3
    for outcome in OUTCOMES:
        if outcome == "csq8":
            assert (outcome, "baseline", "IMR") not in summaries.index  # CSQ-8 only at follow-ups
            continue
        assert summaries.loc[(outcome, "baseline", "IMR"), "count"] == arms["IMR"]
        assert summaries.loc[(outcome, "baseline", "TAU"), "count"] == arms["TAU"]


def test_scores_correlate_within_participants_over_time(trial):
    scores = trial.scores
    gaf = scores[(scores["instrument"] == "gaf_f") & (scores["score"] == "total")]
    wide = gaf.pivot(index="trial_id", columns="visit", values="value").dropna()
    r_followup = np.corrcoef(wide["baseline"], wide["m9"])[0, 1]
    r_between = np.corrcoef(wide["m9"], wide["m21"])[0, 1]
    # latent 0.5 and 0.6 (assumed); with ~50 complete pairs the SE of r is ~0.1
    assert 0.25 <= r_followup <= 0.75
    assert 0.35 <= r_between <= 0.85
    # and across instruments: functioning and symptoms go together, PANSS the other way
    both = scores[(scores["score"] == "total") & (scores["visit"] == "baseline")]
    wide = both.pivot(index="trial_id", columns="instrument", values="value")
    assert np.corrcoef(wide["gaf_f"], wide["psp"])[0, 1] > 0.4
    assert np.corrcoef(wide["gaf_f"], wide["panss"])[0, 1] < -0.2


def test_screening_flow_is_realistic(trial):
    screening, participants = trial.screening, trial.participants
    assert len(participants) == 198  # screening stops when the target is randomised
    first = screening[screening["rescreen_of"].isna()]
    lost = first["trial_id"].nunique() - len(participants)
    share = lost / first["trial_id"].nunique()
    assert 0.28 <= share <= 0.45  # ~30-40 % ineligible, declining or leaving before randomisation
    reasons = screening["reasons"].dropna().str.split(";").explode().value_counts()
    assert set(reasons.index[:2]) <= {"E3", "E4", "E1"}  # substance abuse and supported housing lead
    assert screening["decline_reason"].notna().sum() >= 10
    assert screening["rescreen_of"].notna().sum() >= 2


def test_missingness_depends_on_baseline_functioning(trial):
    """Missing at random: those never seen again had worse baseline GAF-F, on average, in both seeds."""
    scores = trial.scores
    gaf = scores[(scores["instrument"] == "gaf_f") & (scores["score"] == "total")]
    wide = gaf.pivot(index="trial_id", columns="visit", values="value")
    seen = wide["m9"].notna() | wide["m21"].notna()
    assert wide.loc[~seen, "baseline"].mean() < wide.loc[seen, "baseline"].mean()
