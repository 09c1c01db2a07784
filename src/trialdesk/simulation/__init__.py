"""Synthetic trials: a vectorised simulator for power, and a realistic participant-level IMR trial.

* :func:`simulate_power` / :func:`run_grid`: power and type I error of the primary analysis over many
  simulated trials at once (:mod:`.trials`, :mod:`.analysis`, :mod:`.power`, :mod:`.grid`).
* :func:`simulate_trial`: one realistic whole trial (screening to registers) as frames named after the
  tables of :mod:`trialdesk.datasets` (:mod:`.trial`; calibration in docs/simulation.md).

Pure: no Django.
"""

from typing import Any

from trialdesk.simulation.analysis import ANALYSES, BatchEstimates, analyse, ancova, lmm
from trialdesk.simulation.power import ALGORITHM, PowerResult, check_n_sims, simulate_power
from trialdesk.simulation.scenario import ASSUMED, Scenario, scenario_from_protocol
from trialdesk.simulation.trials import SimulatedTrials, build_layout, simulate_trials

#: imported on first use: the grid runner needs pandas, rich and (optionally) dask; the trial generator
#: pandas, scipy and the instrument library
_LAZY = {"GRID_COLUMNS", "run_grid", "scenario_grid"}
_LAZY_TRIAL = {"SimulatedTrial", "simulate_trial"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from trialdesk.simulation import grid

        return getattr(grid, name)
    if name in _LAZY_TRIAL:
        from trialdesk.simulation import trial

        return getattr(trial, name)
    raise AttributeError(f"module 'trialdesk.simulation' has no attribute {name!r}")

__all__ = [
    "ALGORITHM",
    "ANALYSES",
    "ASSUMED",
    "GRID_COLUMNS",
    "BatchEstimates",
    "PowerResult",
    "Scenario",
    "SimulatedTrial",
    "SimulatedTrials",
    "analyse",
    "ancova",
    "build_layout",
    "check_n_sims",
    "lmm",
    "run_grid",
    "scenario_from_protocol",
    "scenario_grid",
    "simulate_power",
    "simulate_trial",
    "simulate_trials",
]
