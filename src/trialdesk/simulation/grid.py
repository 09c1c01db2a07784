"""Scenario grids (effect x n x ICC x dropout), run here with a Rich progress bar or on a Dask cluster.

Scenario ``i`` of the grid always uses the random stream ``spawn_key=(i,)`` of the run's seed (see
:mod:`trialdesk.simulation.power`), so the table is identical whichever scheduler computes it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from trialdesk.errors import UserError
from trialdesk.simulation.power import PowerResult, check_n_sims, chunk_sizes, simulate_power
from trialdesk.simulation.scenario import Scenario

#: Columns of :func:`run_grid`'s frame.
GRID_COLUMNS: dict[str, str] = {
    "scenario": "index of the scenario in the grid (its random stream)",
    "effect": "true difference at the primary visit",
    "n_control": "participants in the control arm",
    "n_intervention": "participants in the intervention arm",
    "icc": "intra-class correlation within therapy groups (intervention arm)",
    "dropout": "share missing at the primary visit",
    "analysis": "ancova or lmm",
    "n_sims": "simulated trials",
    "power": "share rejecting H0 (type I error when effect is 0)",
    "mc_se": "Monte Carlo SE of power",
    "bias": "mean estimate minus effect",
    "bias_mc_se": "Monte Carlo SE of the bias",
    "coverage": "share of 95% confidence intervals containing the effect",
    "mean_se": "mean model-based SE",
    "empirical_sd": "SD of the estimates across simulated trials",
    "n_failed": "simulated trials whose fit failed (counted as not rejecting)",
}


def scenario_grid(
    base: Scenario,
    effects: Sequence[float] = (),
    n_per_arm: Sequence[int] = (),
    iccs: Sequence[float] = (),
    dropouts: Sequence[float] = (),
) -> list[Scenario]:
    """Every combination; an empty axis keeps the base scenario's value. ``n_per_arm`` keeps the ratio."""
    ratio = base.n_intervention / base.n_control
    grid = []
    for effect, n, icc, dropout in itertools.product(
        effects or [base.effect], n_per_arm or [base.n_control], iccs or [base.icc],
        dropouts or [base.dropout],
    ):
        grid.append(base.with_(effect=effect, n_control=int(n), n_intervention=round(n * ratio), icc=icc,
                               dropout=dropout))
    return grid


def _row(result: PowerResult) -> dict[str, Any]:
    s = result.scenario
    return {
        "scenario": result.scenario_index, "effect": s.effect, "n_control": s.n_control,
        "n_intervention": s.n_intervention, "icc": s.icc, "dropout": s.dropout, "analysis": result.analysis,
        "n_sims": result.n_sims, "power": result.power, "mc_se": result.mc_se, "bias": result.bias,
        "bias_mc_se": result.bias_mc_se, "coverage": result.coverage, "mean_se": result.mean_se,
        "empirical_sd": result.empirical_sd, "n_failed": result.n_failed,
    }


def run_grid(
    scenarios: Sequence[Scenario],
    n_sims: int,
    seed: int,
    analysis: str = "lmm",
    *,
    scheduler: str | None = None,
    dask: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """Power for every scenario; with ``dask`` (or a ``scheduler`` address) on a Dask cluster.

    Without an address, ``dask=True`` starts a local cluster for the run. The frame has
    :data:`GRID_COLUMNS`, one row per scenario in grid order.
    """
    check_n_sims(n_sims)
    if not scenarios:
        raise UserError("the scenario grid is empty")
    total = len(scenarios) * n_sims
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task(f"{len(scenarios)} scenarios x {n_sims} trials", total=total)
        if dask or scheduler:
            results = _run_dask(scenarios, n_sims=n_sims, seed=seed, analysis=analysis, address=scheduler,
                                bar=bar, task=task)
        else:
            results = [
                simulate_power(scenario, n_sims, seed, analysis, scenario_index=index,
                               on_chunk=lambda size: bar.advance(task, size))
                for index, scenario in enumerate(scenarios)
            ]
    return pd.DataFrame([_row(r) for r in sorted(results, key=lambda r: r.scenario_index)],
                        columns=list(GRID_COLUMNS))


def _run_dask(scenarios: Sequence[Scenario], *, n_sims: int, seed: int, analysis: str, address: str | None,
              bar: Progress, task: Any) -> list[PowerResult]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if address:
        try:
            client = Client(address, timeout="10s")
        except OSError as problem:
            raise UserError(f"cannot reach the Dask scheduler at {address}: {problem}") from problem
    else:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
        client = Client(cluster)
    try:
        futures = [client.submit(simulate_power, scenario, n_sims, seed, analysis, scenario_index=index,
                                 pure=False)
                   for index, scenario in enumerate(scenarios)]
        results = []
        for future in as_completed(futures):
            result: PowerResult = future.result()
            results.append(result)
            bar.advance(task, sum(chunk_sizes(n_sims)))
        return results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
