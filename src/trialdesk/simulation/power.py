"""Power of the analysis plan by simulation: many simulated trials, the primary analysis applied to each.

Random streams are derived from one integer seed with numpy's ``SeedSequence``: scenario ``i`` of a run
gets the stream ``SeedSequence(seed, spawn_key=(i,))`` (what ``SeedSequence(seed).spawn`` gives as
child i) and its chunk ``j`` of :data:`CHUNK` trials ``spawn_key=(i, j)``. Chunks are fixed in size,
so a run gives the same numbers whether it runs here in one process or on a Dask cluster.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trialdesk.errors import UserError
from trialdesk.simulation.analysis import ANALYSES, BatchEstimates, analyse, t_quantile
from trialdesk.simulation.scenario import Scenario
from trialdesk.simulation.trials import simulate_trials

#: Simulated trials per chunk (fixed: part of what makes a seed reproduce the same numbers).
CHUNK = 1000
#: Stored with every result so a number can be traced to the code that made it.
ALGORITHM = "trialdesk.simulation/1 (numpy PCG64, SeedSequence(seed, spawn_key=(scenario, chunk)))"


@dataclass(frozen=True)
class PowerResult:
    """Operating characteristics of one analysis in one scenario.

    ``power`` is the share of trials rejecting H0 at ``alpha`` (the type I error when the effect is 0),
    ``mc_se`` its Monte Carlo standard error ``sqrt(power (1 - power) / n_sims)``; ``bias`` is the mean
    estimate minus the true effect, with Monte Carlo SE ``bias_mc_se``; ``coverage`` the share of
    confidence intervals containing the true effect.
    """

    scenario: Scenario
    analysis: str
    n_sims: int
    seed: int
    scenario_index: int
    power: float
    mc_se: float
    mean_estimate: float
    bias: float
    bias_mc_se: float
    empirical_sd: float
    mean_se: float
    coverage: float
    n_failed: int
    seconds: float
    algorithm: str = ALGORITHM
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "power": self.power,
            "mc_se": self.mc_se,
            "n_sims": self.n_sims,
            "analysis": self.analysis,
            "seed": self.seed,
            "scenario_index": self.scenario_index,
            "effect": self.scenario.effect,
            "mean_estimate": self.mean_estimate,
            "bias": self.bias,
            "bias_mc_se": self.bias_mc_se,
            "empirical_sd": self.empirical_sd,
            "mean_se": self.mean_se,
            "coverage": self.coverage,
            "n_failed": self.n_failed,
            "seconds": self.seconds,
            "algorithm": self.algorithm,
            "scenario": self.scenario.to_dict(),
        }


def check_n_sims(n_sims: int) -> None:
    if n_sims < 1:
        raise UserError(f"n-sims must be at least 1 (got {n_sims})")


def chunk_sizes(n_sims: int) -> list[int]:
    full, rest = divmod(n_sims, CHUNK)
    return [CHUNK] * full + ([rest] if rest else [])


def simulate_estimates(
    scenario: Scenario, n_sims: int, seed: int, analysis: str, *, scenario_index: int = 0,
    on_chunk: Callable[[int], None] | None = None,
) -> BatchEstimates:
    """The analysis's estimates over ``n_sims`` simulated trials, chunk by chunk."""
    check_n_sims(n_sims)
    if analysis not in ANALYSES:
        raise UserError(f"analysis must be one of {', '.join(ANALYSES)} (got {analysis!r})")
    parts = []
    for chunk, size in enumerate(chunk_sizes(n_sims)):
        stream = np.random.SeedSequence(seed, spawn_key=(scenario_index, chunk))
        rng = np.random.Generator(np.random.PCG64(stream))
        parts.append(analyse(simulate_trials(scenario, size, rng), analysis))
        if on_chunk is not None:
            on_chunk(size)
    gamma = [p.gamma for p in parts if p.gamma is not None]
    return BatchEstimates(
        estimate=np.concatenate([p.estimate for p in parts]),
        se=np.concatenate([p.se for p in parts]),
        df=np.concatenate([p.df for p in parts]),
        p=np.concatenate([p.p for p in parts]),
        gamma=np.concatenate(gamma) if gamma else None,
    )


def summarise(scenario: Scenario, estimates: BatchEstimates, *, analysis: str, seed: int,
              scenario_index: int, seconds: float) -> PowerResult:
    ok = estimates.ok
    n_ok = int(ok.sum())
    n_sims = int(ok.size)
    # a failed fit counts as "no rejection" in power, and is reported
    reject = np.where(ok, estimates.p < scenario.alpha, False)
    power = float(reject.mean())
    estimate = estimates.estimate[ok]
    se = estimates.se[ok]
    critical = t_quantile(1 - scenario.alpha / 2, estimates.df[ok])
    sd = float(estimate.std(ddof=1)) if n_ok > 1 else math.nan
    extra: dict[str, Any] = {}
    if estimates.gamma is not None:
        extra["gamma_median"] = float(np.median(estimates.gamma[ok]))
        extra["gamma_zero_share"] = float((estimates.gamma[ok] == 0).mean())
    return PowerResult(
        scenario=scenario,
        analysis=analysis,
        n_sims=n_sims,
        seed=seed,
        scenario_index=scenario_index,
        power=power,
        mc_se=math.sqrt(power * (1 - power) / n_sims),
        mean_estimate=float(estimate.mean()),
        bias=float(estimate.mean() - scenario.effect),
        bias_mc_se=sd / math.sqrt(n_ok) if n_ok > 1 else math.nan,
        empirical_sd=sd,
        mean_se=float(se.mean()),
        coverage=float((np.abs(estimate - scenario.effect) <= critical * se).mean()),
        n_failed=n_sims - n_ok,
        seconds=seconds,
        extra=extra,
    )


def simulate_power(
    scenario: Scenario, n_sims: int = 1000, seed: int = 1, analysis: str = "lmm", *, scenario_index: int = 0,
    on_chunk: Callable[[int], None] | None = None,
) -> PowerResult:
    """Power (or type I error when ``scenario.effect`` is 0) of ``analysis`` in ``scenario``."""
    start = time.perf_counter()
    estimates = simulate_estimates(scenario, n_sims, seed, analysis, scenario_index=scenario_index,
                                   on_chunk=on_chunk)
    return summarise(scenario, estimates, analysis=analysis, seed=seed, scenario_index=scenario_index,
                     seconds=time.perf_counter() - start)
