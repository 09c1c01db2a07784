"""``trialdesk allocation generate|qa``: make a stratified allocation list and judge it before go-live."""

from __future__ import annotations

import json
import math
import sys
from typing import TYPE_CHECKING

import click

from trialdesk.errors import UserError

if TYPE_CHECKING:
    from trialdesk.allocation import AllocationScheme, Distribution, QAReport
    from trialdesk.protocol import Protocol

_PROTOCOL = click.option(
    "--protocol", "protocol_path", metavar="PATH", help="Protocol file (default: the embedded IMR protocol)."
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")


@click.group()
def allocation() -> None:
    """Generate a stratified permuted-block allocation list, or check one by simulation."""


def _scheme(protocol_path: str | None) -> tuple[Protocol, AllocationScheme]:
    from trialdesk.allocation import scheme_from_protocol
    from trialdesk.protocol import load_protocol

    protocol = load_protocol(protocol_path)
    return protocol, scheme_from_protocol(protocol)


def _whole(value: str, option: str, minimum: int) -> int:
    # Parsed by hand so a bad value is one line and exit 2, not click's usage block.
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        what = "a positive whole number" if minimum == 1 else f"a whole number >= {minimum}"
        raise UserError(f"{option} must be {what}, got {value!r}")
    return number


@allocation.command()
@click.option("--seed", required=True, metavar="S", help="Seed (whole number >= 0); record it with the list.")
@click.option("--per-stratum", required=True, metavar="N", help="Slots per stratum, at least (whole blocks).")
@_PROTOCOL
@click.option("--out", metavar="CSV", help="Write the list here (default: print it on stdout).")
@_JSON
def generate(seed: str, per_stratum: str, protocol_path: str | None, out: str | None, as_json: bool) -> None:
    """Generate the allocation list: permuted blocks of random size within every stratum.

    Every stratum gets whole blocks until it has at least N slots; block sizes and the ratio come
    from the protocol. The file starts with '# key: value' lines (seed, algorithm version, sha256).
    """
    from trialdesk.allocation import generate_list, write_list

    seed_value = _whole(seed, "--seed", 0)
    n = _whole(per_stratum, "--per-stratum", 1)
    protocol, scheme = _scheme(protocol_path)
    if protocol.randomisation.method != "permuted_blocks":
        raise UserError(
            f"the protocol's randomisation method is {protocol.randomisation.method}: it allocates at "
            "randomisation time and has no list to generate"
        )
    if not scheme.block_sizes:
        raise UserError("the protocol lists no randomisation.block_sizes")
    allocation_list = generate_list(scheme, seed_value, n)
    if out:
        write_list(allocation_list, out)
    by_stratum = allocation_list.arms_by_stratum()
    blocks = {s.stratum: s.block for s in allocation_list.slots}
    if as_json:
        document: dict[str, object] = {
            "algorithm": allocation_list.info.algorithm,
            "algorithm_version": allocation_list.info.algorithm_version,
            "seed": seed_value,
            "per_stratum": n,
            "protocol_hash": scheme.protocol_hash,
            "sha256": allocation_list.sha256,
            "out": out,
            "strata": [{"stratum": s, "slots": len(a), "blocks": blocks[s]} for s, a in by_stratum.items()],
        }
        if not out:
            document["slots"] = [slot.__dict__ for slot in allocation_list.slots]
        click.echo(json.dumps(document, indent=2))
    elif out:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"Allocation list {out}")
        for column in ("stratum", "slots", "blocks"):
            table.add_column(column, justify="left" if column == "stratum" else "right")
        for stratum, arms in by_stratum.items():
            table.add_row(stratum, str(len(arms)), str(blocks[stratum]))
        console = Console(file=sys.stdout)
        console.print(table)
        console.print(
            f"seed {seed_value}, {allocation_list.info.algorithm} v{allocation_list.info.algorithm_version}"
        )
        console.print(f"sha256 {allocation_list.sha256}")
    else:
        click.echo(allocation_list.text(), nl=False)


def _weights(values: tuple[str, ...]) -> dict[str, float]:
    result: dict[str, float] = {}
    for value in values:
        stratum, sep, weight = value.rpartition("=")
        try:
            number = float(weight)
        except ValueError:
            number = math.nan
        if not sep or not stratum or not number >= 0:
            raise UserError(
                f"--weight must be STRATUM=W with W >= 0 (e.g. 'site=BAL|diagnosis=bipolar=2'), got {value!r}"
            )
        result[stratum] = number
    return result


@allocation.command()
@click.argument("csv_path", metavar="CSV")
@_PROTOCOL
@click.option("--n-sims", default="1000", metavar="N", show_default=True, help="Simulated recruitments.")
@click.option("--seed", default="0", metavar="S", show_default=True, help="Seed of the simulation.")
@click.option(
    "--participants",
    metavar="N",
    help="Participants recruited per simulation (default: the protocol's target).",
)
@click.option(
    "--weight",
    "weights",
    multiple=True,
    metavar="STRATUM=W",
    help="Relative recruitment rate of a stratum (repeatable; unnamed strata get 0 when any is given).",
)
@click.option(
    "--method",
    "methods",
    multiple=True,
    type=click.Choice(["list", "blocks", "minimisation"]),
    help="Methods to compare (repeatable; default all three).",
)
@_JSON
def qa(
    *,
    csv_path: str,
    protocol_path: str | None,
    n_sims: str,
    seed: str,
    participants: str | None,
    weights: tuple[str, ...],
    methods: tuple[str, ...],
    as_json: bool,
) -> None:
    """Check a list: balance and predictability under simulated, uneven recruitment.

    The list is first validated against the protocol (columns, arms, strata, sequence numbers,
    complete balanced blocks, sha256). Then recruitment into strata is simulated and, for this list,
    fresh lists of the same scheme and minimisation, the imbalance and the proportion of correct
    guesses by the convergence strategy are summarised.
    """
    from trialdesk.allocation import qa_list, read_list

    sims = _whole(n_sims, "--n-sims", 1)
    seed_value = _whole(seed, "--seed", 0)
    protocol, scheme = _scheme(protocol_path)
    n = (
        _whole(participants, "--participants", 1)
        if participants is not None
        else protocol.trial.target_participants
    )
    allocation_list = read_list(csv_path, scheme)
    report = qa_list(
        allocation_list,
        scheme,
        n_participants=n,
        n_sims=sims,
        seed=seed_value,
        probabilities=_weights(weights) or None,
        methods=methods or ("list", "blocks", "minimisation"),
    )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    _print_report(report, scheme)


def _print_report(report: QAReport, scheme: AllocationScheme) -> None:
    from rich.console import Console
    from rich.table import Table

    from trialdesk.allocation import fixed_block_predictability

    def spread(d: Distribution) -> str:
        if math.isnan(d.mean):
            return "-"
        return f"{d.mean:.1f} / {d.p95:.0f} / {d.max:.0f}"

    console = Console(file=sys.stdout)
    if not console.is_terminal:
        console.width = max(console.width, 112)
    reproducible = {True: "yes", False: "NO", None: "cannot tell"}[report.reproducible]
    console.print(f"list sha256 {report.list_sha256}; regenerates from its seed: {reproducible}")
    if report.protocol_matches is False:
        console.print(
            "warning: the list was made under another version of the protocol (protocol_hash differs)"
        )
    console.print(
        f"{report.n_sims} simulated recruitments of {report.n_participants} participants "
        f"(seed {report.seed}). Imbalance = sum over arms of |count - n x share| (|A - B| at 1:1), "
        "shown as mean / 95th percentile / max; guess = expected share of correct guesses by the "
        "convergence strategy."
    )
    methods = Table(title="Balance and predictability")
    for column in (
        "method",
        "guess",
        "overall final",
        "overall running max",
        "worst stratum",
        "worst margin",
    ):
        methods.add_column(column, justify="left" if column == "method" else "right", no_wrap=True)
    for m in report.methods:
        methods.add_row(
            m.method,
            f"{m.predictability.mean:.3f}",
            *(
                spread(d)
                for d in (
                    m.overall_final_imbalance,
                    m.overall_max_running_imbalance,
                    m.worst_stratum_imbalance,
                    m.worst_margin_imbalance,
                )
            ),
        )
    console.print(methods)
    console.print("; ".join(f"{m.method} = {m.description}" for m in report.methods))
    if report.strata:
        strata = Table(title="Strata of this list")
        for column in ("stratum", "slots", "share", "guess", "running max", "final", "ran out"):
            strata.add_column(column, justify="left" if column == "stratum" else "right", no_wrap=True)
        for s in report.strata:
            strata.add_row(
                s.stratum,
                str(s.slots),
                f"{s.probability:.2f}",
                f"{s.predictability:.3f}",
                f"{s.max_running_imbalance:.0f}",
                spread(s.final_imbalance),
                f"{s.exhausted:.1%}",
            )
        console.print(strata)
        short = [s.stratum for s in report.strata if s.exhausted > 0]
        if short:
            console.print(
                f"warning: strata ran out of slots in some simulations: {', '.join(short)}; "
                "generate a longer list (--per-stratum) before go-live"
            )
    even = [b for b in scheme.block_sizes if b % 2 == 0]
    if len(scheme.arms) == 2 and scheme.ratios[0] == scheme.ratios[1] and even:
        reference = ", ".join(f"{b}: {fixed_block_predictability(b):.3f}" for b in even)
        console.print(
            f"reference, 1:1 blocks of one known size (Blackwell & Hodges 1957): {reference}; "
            "pure chance: 0.500"
        )
