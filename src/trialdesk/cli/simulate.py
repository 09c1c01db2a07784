"""``trialdesk simulate``: power of the analysis plan by simulation (a thin layer over
:mod:`trialdesk.simulation`).

The scenario is the protocol's primary comparison (sizes, arms, sites, IMR group size, delta, SD and
alpha from the protocol; the assumed correlations, ICC and dropout as options).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from trialdesk.errors import UserError


def _floats(text: str | None, name: str) -> list[float]:
    if not text:
        return []
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"{name} must be comma-separated numbers (got {text!r})") from None


def _scenario(protocol: str | None, **overrides: Any) -> Any:
    from trialdesk.simulation.scenario import protocol_extract, scenario_from_extract

    return scenario_from_extract(protocol_extract(protocol), **overrides)


def _default_analysis(protocol_path: str | None) -> str:
    """The protocol's primary plan: a partially nested / mixed model means lmm, else ancova."""
    from trialdesk.simulation.scenario import protocol_extract

    return str(protocol_extract(protocol_path)["default_analysis"])


def _scenario_options(command: Any) -> Any:
    options = [
        click.option("--protocol", "protocol_path", type=click.Path(dir_okay=False), default=None,
                     help="Protocol TOML (default: the embedded IMR protocol)."),
        click.option("--n-sims", type=int, default=1000, show_default=True, help="Simulated trials."),
        click.option("--seed", type=int, default=1, show_default=True, help="Seed of the random streams."),
        click.option("--analysis", type=click.Choice(["ancova", "lmm"]), default=None,
                     help="ancova (OLS, ignores groups) or lmm (partially nested random intercept); "
                          "default: the protocol's primary analysis."),
        click.option("--rho", type=float, default=None, help="Baseline-follow-up correlation (assumed 0.5)."),
        click.option("--icc", type=float, default=None, help="ICC within IMR groups (assumed 0.05)."),
        click.option("--dropout", type=float, default=None,
                     help="Share missing at the primary visit (default: the protocol's)."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON document."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group()
def simulate() -> None:
    """Power and type I error of the analysis plan by simulation."""


@simulate.command()
@click.option("--effect", type=float, default=None,
              help="True effect (default: the protocol's delta); 0 gives the type I error.")
@click.option("--n", "n_per_arm", type=int, default=None, help="Control-arm size (default: the protocol's).")
@_scenario_options
def power(*, effect: float | None, n_per_arm: int | None, protocol_path: str | None, n_sims: int,
          seed: int, analysis: str | None, rho: float | None, icc: float | None, dropout: float | None,
          as_json: bool) -> None:
    """Simulate the trial N times and apply the primary analysis to each."""
    from trialdesk.simulation import check_n_sims, simulate_power

    check_n_sims(n_sims)
    scenario = _scenario(protocol_path, effect=effect, n_per_arm=n_per_arm, rho=rho, icc=icc,
                         dropout=dropout)
    chosen = analysis or _default_analysis(protocol_path)
    result = simulate_power(scenario, n_sims, seed, chosen)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    s = scenario
    click.echo(f"{chosen} analysis, {n_sims} simulated trials (seed {seed}), {s.n_intervention} "
               f"{s.arm_codes[1]} in groups of {s.group_size} vs {s.n_control} {s.arm_codes[0]}")
    click.echo(f"effect {s.effect}, SD {s.sd}, rho {s.rho}, ICC {s.icc}, dropout {s.dropout}, "
               f"alpha {s.alpha}")
    label = "type I error" if s.effect == 0 else "power"
    click.echo(f"{label}: {result.power:.4f} (MC SE {result.mc_se:.4f})")
    click.echo(f"mean estimate {result.mean_estimate:.3f} (bias {result.bias:+.3f}, "
               f"MC SE {result.bias_mc_se:.3f}); CI coverage {result.coverage:.3f}; {result.seconds:.2f} s")


@simulate.command()
@click.option("--effects", default="0,6", show_default=True, help="Comma-separated effects.")
@click.option("--n-per-arm", "n_values", default="",
              help="Comma-separated control-arm sizes (default: protocol).")
@click.option("--iccs", default="0,0.05,0.1", show_default=True, help="Comma-separated ICCs.")
@click.option("--dropouts", default="", help="Comma-separated dropout shares (default: protocol).")
@click.option("--dask", "use_dask", is_flag=True, help="Run on a local Dask cluster.")
@click.option("--scheduler", default=None, help="Address of a running Dask scheduler (implies --dask).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the table as CSV.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@_scenario_options
def grid(*, effects: str, n_values: str, iccs: str, dropouts: str, use_dask: bool, scheduler: str | None,
         out: str | None, no_progress: bool, protocol_path: str | None, n_sims: int, seed: int,
         analysis: str | None, rho: float | None, icc: float | None, dropout: float | None,
         as_json: bool) -> None:
    """Power over a grid of effect x n x ICC x dropout."""
    from trialdesk.simulation import check_n_sims, run_grid, scenario_grid

    check_n_sims(n_sims)
    base = _scenario(protocol_path, rho=rho, icc=icc, dropout=dropout)
    scenarios = scenario_grid(
        base, _floats(effects, "--effects"), [int(v) for v in _floats(n_values, "--n-per-arm")],
        _floats(iccs, "--iccs"), _floats(dropouts, "--dropouts"),
    )
    chosen = analysis or _default_analysis(protocol_path)
    table = run_grid(scenarios, n_sims, seed, chosen, scheduler=scheduler, dask=use_dask,
                     progress=not (no_progress or as_json))
    if out:
        table.to_csv(Path(out), index=False)
    if as_json:
        click.echo(json.dumps({"n_sims": n_sims, "seed": seed, "analysis": chosen,
                               "rows": table.to_dict(orient="records")}, indent=2))
    else:
        click.echo(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
