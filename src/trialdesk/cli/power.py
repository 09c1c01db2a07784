"""``trialdesk power``: closed-form sample size and power (a thin layer over :mod:`trialdesk.design`).

Give ``--n`` to get the power, or ``--power`` to get the unrounded n per arm. ``--json`` prints the
result's ``to_dict()``: ``n_per_arm`` (unrounded), ``n_per_arm_rounded``, ``power`` and the inputs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from trialdesk.design import (
    DesignResult,
    power_ancova,
    power_counts,
    power_partially_nested,
    power_prop_test,
    power_repeated_measures,
    power_t_test,
)


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options every design shares, applied in a fixed order so --help reads the same everywhere."""
    options = [
        click.option("--n", "n", type=float, default=None,
                     help="Participants per arm (the control arm where arms differ): compute power."),
        click.option("--power", "power", type=float, default=None, help="Target power: compute n."),
        click.option("--alpha", type=float, default=0.05, show_default=True, help="Significance level."),
        click.option("--one-sided", is_flag=True, help="One-sided test (default two-sided)."),
        click.option("--dropout", type=float, default=0.0, show_default=True,
                     help="Expected fraction lost to follow-up: recruit n / (1 - dropout)."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON document."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _emit(result: DesignResult, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(result.summary())


def _sides(one_sided: bool) -> int:
    return 1 if one_sided else 2


@click.group()
def power() -> None:
    """Sample size and power in closed form (t test as R's power.t.test, proportions, ANCOVA, ...)."""


@power.command()
@click.option("--delta", type=float, required=True, help="True difference in means.")
@click.option("--sd", type=float, default=1.0, show_default=True, help="Standard deviation.")
@click.option("--strict", is_flag=True, help="Count both tails of a two-sided test (R's strict = TRUE).")
@_common
def ttest(*, delta: float, sd: float, strict: bool, n: float | None, power: float | None, alpha: float,
          one_sided: bool, dropout: float, as_json: bool) -> None:
    """Two-sample t test, exactly as R's power.t.test (non-central t)."""
    _emit(power_t_test(delta, sd, n=n, power=power, alpha=alpha, sides=_sides(one_sided), strict=strict,
                       dropout=dropout), as_json)


@power.command()
@click.option("--p1", type=float, required=True, help="Proportion in arm 1.")
@click.option("--p2", type=float, required=True, help="Proportion in arm 2.")
@click.option("--strict", is_flag=True, help="Count both tails of a two-sided test (R's strict = TRUE).")
@_common
def prop(*, p1: float, p2: float, strict: bool, n: float | None, power: float | None, alpha: float,
         one_sided: bool, dropout: float, as_json: bool) -> None:
    """Two proportions, as R's power.prop.test."""
    _emit(power_prop_test(p1, p2, n=n, power=power, alpha=alpha, sides=_sides(one_sided), strict=strict,
                          dropout=dropout), as_json)


@power.command()
@click.option("--delta", type=float, required=True, help="True difference in follow-up means.")
@click.option("--sd", type=float, required=True, help="Outcome standard deviation.")
@click.option("--rho", type=float, required=True, help="Baseline-outcome correlation.")
@_common
def ancova(*, delta: float, sd: float, rho: float, n: float | None, power: float | None, alpha: float,
           one_sided: bool, dropout: float, as_json: bool) -> None:
    """ANCOVA adjusted for baseline: variance factor 1 - rho^2 (Borm et al. 2007)."""
    _emit(power_ancova(delta, sd, rho, n=n, power=power, alpha=alpha, sides=_sides(one_sided),
                       dropout=dropout), as_json)


@power.command()
@click.option("--delta", type=float, required=True, help="True difference in mean follow-up.")
@click.option("--sd", type=float, required=True, help="SD of one measurement.")
@click.option("--rho", type=float, required=True, help="Correlation between any two measurements.")
@click.option("--baselines", type=int, default=1, show_default=True,
              help="Measurements before randomisation.")
@click.option("--followups", type=int, default=2, show_default=True, help="Measurements after randomisation.")
@click.option("--summary", "method", type=click.Choice(["ancova", "change", "post"]), default="ancova",
              show_default=True, help="Analysis of the mean summaries (Frison & Pocock 1992).")
@_common
def repeated(*, delta: float, sd: float, rho: float, baselines: int, followups: int, method: str,
             n: float | None, power: float | None, alpha: float, one_sided: bool, dropout: float,
             as_json: bool) -> None:
    """Repeated measures analysed by mean summaries (Frison & Pocock 1992)."""
    _emit(power_repeated_measures(delta, sd, rho, n_baseline=baselines, n_followup=followups,
                                  method=method,  # type: ignore[arg-type]
                                  n=n, power=power, alpha=alpha, sides=_sides(one_sided), dropout=dropout),
          as_json)


@power.command()
@click.option("--delta", type=float, required=True, help="True difference in means.")
@click.option("--sd", type=float, required=True, help="Total SD in the intervention arm.")
@click.option("--sd-control", type=float, default=None, help="Total SD in the control arm (default: --sd).")
@click.option("--icc", type=float, required=True, help="Intra-class correlation within therapy groups.")
@click.option("--group-size", type=float, default=10.0, show_default=True, help="Participants per group.")
@click.option("--ratio", type=float, default=1.0, show_default=True, help="n_intervention / n_control.")
@click.option("--optimal", is_flag=True, help="Use the variance-minimising ratio (s1/s0) sqrt(DE).")
@_common
def pnm(*, delta: float, sd: float, sd_control: float | None, icc: float, group_size: float, ratio: float,
        optimal: bool, n: float | None, power: float | None, alpha: float, one_sided: bool, dropout: float,
        as_json: bool) -> None:
    """Partially nested design: groups in the intervention arm only, DE = 1 + (m - 1) ICC there."""
    _emit(power_partially_nested(delta, sd, icc, group_size, ratio=None if optimal else ratio,
                                 sd_control=sd_control, n=n, power=power, alpha=alpha,
                                 sides=_sides(one_sided), dropout=dropout), as_json)


@power.command()
@click.option("--rate0", type=float, required=True, help="Event rate in control per unit of --duration.")
@click.option("--rate1", type=float, required=True, help="Event rate in the intervention arm.")
@click.option("--dispersion", type=float, default=0.0, show_default=True,
              help="Negative binomial k, Var = mu + k mu^2 (0 = Poisson).")
@click.option("--duration", type=float, default=1.0, show_default=True, help="Exposure per participant.")
@click.option("--ratio", type=float, default=1.0, show_default=True, help="n_intervention / n_control.")
@click.option("--approach", type=click.IntRange(1, 3), default=3, show_default=True,
              help="Variance under H0 (Zhu & Lakkis 2014 approaches 1-3).")
@_common
def counts(*, rate0: float, rate1: float, dispersion: float, duration: float, ratio: float, approach: int,
           n: float | None, power: float | None, alpha: float, one_sided: bool, dropout: float,
           as_json: bool) -> None:
    """Count outcomes: rate ratio under Poisson or negative binomial (Zhu & Lakkis 2014)."""
    _emit(power_counts(rate0, rate1, dispersion=dispersion, duration=duration, ratio=ratio, approach=approach,
                       n=n, power=power, alpha=alpha, sides=_sides(one_sided), dropout=dropout), as_json)
