"""Benchmark: random-intercept LMM against statsmodels' MixedLM, and scaling to 100,000 participants.

Run: ``.venv/bin/python bench/bench_lmm.py``. Prints, in one run on the same data:

1. 200 participants x 3 visits (REML): median wall time of ``trialdesk.stats.fit_lmm`` (formula to
   result, Satterthwaite df included) and of ``statsmodels`` ``mixedlm(...).fit(reml=True)``, their
   ratio (target >= 10), and the largest relative difference of the estimates (target <= 1e-6).
2. 25k / 50k / 100k participants x 3 visits: wall time (target < 10 s at 100k) and the peak memory
   traced by tracemalloc during the fit (target: growing linearly).

BLAS is pinned to one thread for both libraries: the machine is shared and threads only add noise.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import statistics
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from trialdesk.stats.lmm import fit_lmm

FORMULA = "gaf ~ gaf0 + arm * C(visit)"


def trial(participants: int, seed: int = 2011) -> pd.DataFrame:
    """A simulated IMR-like trial: GAF-F at three visits, baseline covariate, participant effect."""
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(participants), 3)
    visit = np.tile([0, 9, 21], participants)
    arm = np.where(rng.random(participants) < 0.5, "IMR", "TAU")[ids]
    gaf0 = np.repeat(rng.normal(43, 11, participants), 3)
    gaf = (20 + 0.5 * gaf0 + 0.2 * visit + 1.5 * (arm == "IMR") * (visit > 0)
           + rng.normal(0, 7, participants)[ids] + rng.normal(0, 9, ids.size))
    return pd.DataFrame({"id": ids, "visit": visit, "arm": arm, "gaf0": gaf0, "gaf": gaf})


def timed(function, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def compare_small() -> None:
    data = trial(200)
    ours_time, ours = timed(lambda: fit_lmm(data, FORMULA, "id"), 21)

    def statsmodels_fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return smf.mixedlm(FORMULA, data, groups="id").fit(reml=True)

    theirs_time, theirs = timed(statsmodels_fit, 7)
    fe = np.asarray(theirs.fe_params)
    est = ours.coefficients["estimate"].to_numpy()
    ours_var = np.array([ours.variance_components["id (Intercept)"], ours.variance_components["Residual"]])
    theirs_var = np.array([float(theirs.cov_re.iloc[0, 0]), float(theirs.scale)])
    rel_fe = np.max(np.abs(est - fe) / np.maximum(np.abs(fe), 1.0))
    rel_var = np.max(np.abs(ours_var - theirs_var) / theirs_var)
    print("random-intercept LMM, 200 participants x 3 visits (REML)")
    print(f"  trialdesk   {ours_time * 1000:8.2f} ms (median of 21, with Satterthwaite df)")
    print(f"  statsmodels {theirs_time * 1000:8.2f} ms (median of 7)")
    print(f"  ratio statsmodels / trialdesk: {theirs_time / ours_time:.1f}x")
    print(f"  max relative difference: fixed effects {rel_fe:.2e}, variance components {rel_var:.2e}")
    print(f"  log-likelihood: trialdesk {ours.loglik:.10f}, statsmodels {theirs.llf:.10f}")


def scale() -> None:
    print("random-intercept LMM, N participants x 3 visits (REML, Satterthwaite df)")
    for participants in (25_000, 50_000, 100_000):
        data = trial(participants)
        start = time.perf_counter()
        result = fit_lmm(data, FORMULA, "id")
        elapsed = time.perf_counter() - start
        tracemalloc.start()  # a second, traced fit: tracing slows numpy's allocations down
        fit_lmm(data, FORMULA, "id")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  {participants:>7,d}: {elapsed:6.2f} s, peak traced memory {peak / 2**20:7.1f} MiB "
              f"({peak / data.shape[0]:.0f} bytes per row), converged={result.converged}")


if __name__ == "__main__":
    compare_small()
    scale()
