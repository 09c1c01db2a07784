"""``trialdesk protocol check|show|hash [PATH]``: validate, print and hash a trial protocol."""

from __future__ import annotations

import json

import click

from trialdesk.errors import UserError
from trialdesk.protocol import Protocol, ProtocolProblems, load_protocol
from trialdesk.protocol.schema import Outcome

_PATH = click.argument("path", required=False, metavar="[PATH]")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")


@click.group()
def protocol() -> None:
    """Validate, print or hash a protocol file (default: the embedded IMR protocol)."""


@protocol.command()
@_PATH
@_JSON
def check(path: str | None, as_json: bool) -> None:
    """Validate PATH: prints "ok <hash>", or one line per problem on stderr and exits 2."""
    try:
        loaded = load_protocol(path)
    except ProtocolProblems as problems:
        if not as_json:
            raise
        items = [
            {"code": p.code, "path": p.path, "message": p.message, "line": p.line} for p in problems.items
        ]
        click.echo(json.dumps({"ok": False, "hash": None, "problems": items}, indent=2))
        raise UserError(f"protocol has {len(items)} problem(s)") from None
    if as_json:
        click.echo(json.dumps({"ok": True, "hash": loaded.content_hash, "problems": []}, indent=2))
    else:
        click.echo(f"ok {loaded.content_hash}")


@protocol.command()
@_PATH
@_JSON
def show(path: str | None, as_json: bool) -> None:
    """Print a readable summary of PATH, or with --json the whole protocol."""
    loaded = load_protocol(path)
    if as_json:
        click.echo(json.dumps(loaded.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(summary(loaded)))


@protocol.command(name="hash")
@_PATH
@_JSON
def hash_(path: str | None, as_json: bool) -> None:
    """Print the SHA-256 of PATH's canonical form (comments and formatting do not count)."""
    loaded = load_protocol(path)
    click.echo(json.dumps({"hash": loaded.content_hash}) if as_json else loaded.content_hash)


def summary(p: Protocol) -> list[str]:
    """The protocol as readable lines, one section after another."""
    t, n = p.trial, p.sample_size
    return [
        f"{t.code}: {t.title}",
        f"  registry: {', '.join(f'{r.id} ({r.kind})' for r in t.registry_ids)}",
        f"  sponsor: {t.sponsor}; {t.start_date} to {t.completion_date}; target {t.target_participants}",
        f"  design: {t.design}; blind: {', '.join(t.masked_roles)}",
        "sites: " + ", ".join(f"{s.code} {s.name}" for s in p.sites),
        "arms: " + " : ".join(f"{a.code} ({a.label}) {a.ratio}" for a in p.arms),
        "stratification: "
        + " x ".join(f"{f.code} [{', '.join(p.factor_levels(f))}]" for f in p.stratification),
        f"randomisation: {p.randomisation.method}, blocks {list(p.randomisation.block_sizes)}",
        "eligibility:",
        *(
            f"  {c.code} {c.kind}: {c.text}" + (" (re-screen allowed)" if c.rescreen_allowed else "")
            for c in p.eligibility
        ),
        "visits:",
        *(
            f"  {v.code} month {v.month} (-{v.window_before_months:g}/+{v.window_after_months:g}): "
            + ", ".join(v.instruments)
            for v in p.visits
        ),
        "outcomes:",
        *(
            f"  {o.role:9} {o.code}: {_measured(o)} at {', '.join(o.visits)}"
            f" ({o.direction.replace('_', ' ')}; plan {p.plan_for(o.code).code})"
            for o in p.outcomes
        ),
        f"intervention: {p.intervention.name} (arm {p.intervention.arm})",
        *(f"  {m.number:2}. {m.title}" for m in p.intervention.modules),
        f"sample size: delta {n.delta:g}, sd {n.sd:g}, alpha {n.alpha:g}, power {n.power:g} "
        f"-> {n.n_per_arm} per arm",
        f"analysis: alpha {p.analysis.alpha:g}; multiplicity: primary {p.analysis.multiplicity.primary}, "
        f"secondary {p.analysis.multiplicity.secondary}",
        *(
            f"  {plan.code}: {plan.model} on {plan.analysis_set}, missing {plan.missing_data.method}, "
            f"sensitivity {', '.join(plan.sensitivity) or 'none'}"
            for plan in p.analysis.plans
        ),
        "consent documents: " + ", ".join(f"{d.version} ({d.date})" for d in p.consent.documents),
        f"assumed values: {len(p.assumed)} (see the [[assumed]] tables)",
        f"hash: {p.content_hash}",
    ]


def _measured(outcome: Outcome) -> str:
    if outcome.source == "register":
        return f"register {outcome.measure}"
    return f"{outcome.instrument} {outcome.score}"
