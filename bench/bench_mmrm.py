"""Benchmark: MMRM (unstructured covariance, REML, Kenward–Roger) on 200 participants x 3 visits.

Run: ``.venv/bin/python bench/bench_mmrm.py``. Target: under 50 ms from formula to result, with the
LS means per arm and visit and the per-visit arm effects. statsmodels has no MMRM; the baseline run in
the same process on the same data is its nearest model, ``mixedlm`` with a random intercept (compound
symmetry), whose time is printed with the ratio. Also printed: the time split between building the
design (patsy), fitting, and the small-sample inference, and the same fit with 20 % dropout.

BLAS is pinned to one thread for both libraries: the machine is shared and threads only add noise.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import statistics
import time
import warnings

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from trialdesk.stats.formula import build_design
from trialdesk.stats.mmrm import fit_mmrm

FORMULA = "gaf ~ gaf0 + arm * C(visit) + us(visit | id)"


def trial(participants: int = 200, seed: int = 1978) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(participants), 3)
    visit = np.tile([0, 9, 21], participants)
    arm = np.where(rng.random(participants) < 0.5, "IMR", "TAU")[ids]
    gaf0 = np.repeat(rng.normal(43, 11, participants), 3)
    cov = np.array([[120.0, 70, 50], [70, 140, 80], [50, 80, 170]])
    noise = rng.multivariate_normal(np.zeros(3), cov, participants).reshape(-1)
    gaf = 20 + 0.5 * gaf0 + 0.2 * visit + 1.5 * (arm == "IMR") * (visit > 0) + noise
    return pd.DataFrame({"id": ids, "visit": visit, "arm": arm, "gaf0": gaf0, "gaf": gaf})


def median_time(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    data = trial()
    fit_mmrm(data, FORMULA, arm="arm")  # warm-up: imports and caches
    ours = median_time(lambda: fit_mmrm(data, FORMULA, arm="arm"), 31)
    design = median_time(lambda: build_design("gaf ~ gaf0 + arm * C(visit)", data, extra=["visit", "id"]), 31)

    def statsmodels_fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return smf.mixedlm("gaf ~ gaf0 + arm * C(visit)", data, groups="id").fit(reml=True)

    theirs = median_time(statsmodels_fit, 7)
    dropped = data.sample(frac=0.8, random_state=3).sort_index()
    with_dropout = median_time(lambda: fit_mmrm(dropped, FORMULA, arm="arm"), 31)
    result = fit_mmrm(data, FORMULA, arm="arm")
    print("MMRM, unstructured covariance, REML, Kenward-Roger; 200 participants x 3 visits")
    print(f"  trialdesk fit_mmrm            {ours * 1000:8.2f} ms (median of 31; target < 50 ms)")
    print(f"    of which design (patsy)     {design * 1000:8.2f} ms")
    print(f"  with 20 % of visits missing   {with_dropout * 1000:8.2f} ms")
    print(f"  statsmodels mixedlm (CS only) {theirs * 1000:8.2f} ms (median of 7)")
    print(f"  ratio statsmodels / trialdesk: {theirs / ours:.1f}x; converged={result.converged}")


if __name__ == "__main__":
    main()
