"""Checks that relate one part of a protocol to another, each reporting under a stable code.

Each check names the top-level sections it reads; it runs only when those sections passed schema
validation, so one typo does not hide every other problem and no check sees half-valid data.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trialdesk.protocol.catalogue import instrument_scores
from trialdesk.protocol.locate import Loc, resolve_path
from trialdesk.protocol.schema import Protocol, Visit

Report = Callable[[str, Loc, str], None]
_ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9]{1,2})?$")


@dataclass
class Context:
    protocol: Protocol  # only the sections a check declared are guaranteed to be present
    raw: Mapping[str, Any]
    report: Report
    scores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


CHECKS: list[tuple[tuple[str, ...], Callable[[Context], None]]] = []


def check(*sections: str) -> Callable[[Callable[[Context], None]], Callable[[Context], None]]:
    def register(function: Callable[[Context], None]) -> Callable[[Context], None]:
        CHECKS.append((sections, function))
        return function

    return register


def run_checks(protocol: Protocol, raw: Mapping[str, Any], valid: set[str], report: Report) -> None:
    context = Context(protocol, raw, report, instrument_scores())
    for sections, function in CHECKS:
        if set(sections) <= valid:
            function(context)


def _suggest(value: str, known: Iterable[str]) -> str:
    known = list(known)
    close = difflib.get_close_matches(value, known, n=1)
    return f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known) or 'none'}"


def _duplicates(report: Report, items: Iterable[object], attribute: str, where: Loc) -> None:
    seen: dict[object, int] = {}
    for index, item in enumerate(items):
        value = getattr(item, attribute) if attribute else item
        if value in seen:
            loc = (*where, index, attribute) if attribute else (*where, index)
            report("P010", loc, f"duplicate {attribute or 'entry'} {value!r} (first at index {seen[value]})")
        else:
            seen[value] = index


@check("sites", "arms", "stratification", "eligibility", "visits", "outcomes", "intervention", "analysis")
def duplicate_codes(ctx: Context) -> None:
    p, report = ctx.protocol, ctx.report
    _duplicates(report, p.sites, "code", ("sites",))
    _duplicates(report, p.sites, "prefix", ("sites",))
    _duplicates(report, p.arms, "code", ("arms",))
    _duplicates(report, p.stratification, "code", ("stratification",))
    for f, factor in enumerate(p.stratification):
        _duplicates(report, factor.levels, "code", ("stratification", f, "levels"))
    _duplicates(report, p.eligibility, "code", ("eligibility",))
    _duplicates(report, p.visits, "code", ("visits",))
    for v, visit in enumerate(p.visits):
        _duplicates(report, visit.instruments, "", ("visits", v, "instruments"))
    _duplicates(report, p.outcomes, "code", ("outcomes",))
    _duplicates(report, p.intervention.modules, "code", ("intervention", "modules"))
    _duplicates(report, p.analysis.analysis_sets, "code", ("analysis", "analysis_sets"))
    _duplicates(report, p.analysis.plans, "code", ("analysis", "plans"))


@check("visits", "outcomes", "intervention")
def unknown_instruments(ctx: Context) -> None:
    p, known = ctx.protocol, ctx.scores

    def verify(code: str | None, loc: Loc) -> None:
        if code is not None and code not in known:
            ctx.report("P011", loc, f"unknown instrument {code!r} ({_suggest(code, known)})")

    for v, visit in enumerate(p.visits):
        for i, code in enumerate(visit.instruments):
            verify(code, ("visits", v, "instruments", i))
    for o, outcome in enumerate(p.outcomes):
        verify(outcome.instrument, ("outcomes", o, "instrument"))
    verify(p.intervention.fidelity.instrument, ("intervention", "fidelity", "instrument"))


@check("visits")
def visit_windows(ctx: Context) -> None:
    visits = ctx.protocol.visits
    for v in range(1, len(visits)):
        before, visit = visits[v - 1], visits[v]
        if visit.month <= before.month:
            ctx.report(
                "P012",
                ("visits", v, "month"),
                f"month {visit.month} is not after visit {before.code}'s month {before.month}; "
                "list visits in time order",
            )
            continue
        ends = before.month + before.window_after_months
        starts = visit.month - visit.window_before_months
        if starts < ends:  # windows may touch but not share an interval
            ctx.report(
                "P012",
                ("visits", v - 1, "window_after_months"),
                f"window ends at month {ends:g}, after visit {visit.code}'s window starts at month "
                f"{starts:g} (overlaps visit {visit.code})",
            )


@check("arms")
def positive_ratios(ctx: Context) -> None:
    for a, arm in enumerate(ctx.protocol.arms):
        if arm.ratio <= 0:
            ctx.report(
                "P014", ("arms", a, "ratio"), f"ratio of arm {arm.code} must be positive, got {arm.ratio}"
            )


@check("stratification", "sites", "eligibility")
def stratification(ctx: Context) -> None:
    p = ctx.protocol
    criteria = {criterion.code: criterion for criterion in p.eligibility}
    sites = [site.code for site in p.sites]
    for f, factor in enumerate(p.stratification):
        loc: Loc = ("stratification", f)
        if factor.source == "site":
            levels = [level.code for level in factor.levels]
            if levels and sorted(levels) != sorted(sites):
                ctx.report(
                    "P015",
                    (*loc, "levels"),
                    f"levels of a site factor must be the sites "
                    f"({', '.join(sites)}); leave them out to use the sites",
                )
            continue
        if not factor.levels:
            ctx.report("P015", (*loc, "levels"), f"stratification factor {factor.code} has no levels")
        if factor.criterion is None:
            ctx.report("P015", (*loc, "criterion"), "a factor with source=criterion needs a criterion code")
            continue
        criterion = criteria.get(factor.criterion)
        if criterion is None:
            ctx.report(
                "P016",
                (*loc, "criterion"),
                f"unknown criterion {factor.criterion!r} ({_suggest(factor.criterion, criteria)})",
            )
            continue
        for lv, level in enumerate(factor.levels):
            for c, code in enumerate(level.icd10):
                if not any(code.startswith(allowed) for allowed in criterion.icd10):
                    ctx.report(
                        "P015",
                        (*loc, "levels", lv, "icd10", c),
                        f"ICD-10 {code} is not in criterion {criterion.code}'s code set",
                    )


@check("visits", "outcomes")
def outcome_references(ctx: Context) -> None:
    p = ctx.protocol
    visits: dict[str, Visit] = {visit.code: visit for visit in p.visits}
    for o, outcome in enumerate(p.outcomes):
        loc: Loc = ("outcomes", o)
        if outcome.source == "instrument":
            if outcome.instrument is None:
                ctx.report("P025", (*loc, "instrument"), "an instrument outcome needs an instrument")
            if outcome.score is None:
                ctx.report("P025", (*loc, "score"), "an instrument outcome needs a score (e.g. total)")
            if outcome.measure is not None:
                ctx.report("P025", (*loc, "measure"), "measure is only for register outcomes")
        else:
            if outcome.measure is None:
                ctx.report("P025", (*loc, "measure"), "a register outcome needs a measure")
            for name in ("instrument", "score"):
                if getattr(outcome, name) is not None:
                    ctx.report("P025", (*loc, name), f"{name} is only for instrument outcomes")
        if not outcome.visits:
            ctx.report("P017", (*loc, "visits"), "an outcome needs at least one visit")
        for v, code in enumerate(outcome.visits):
            visit = visits.get(code)
            if visit is None:
                ctx.report("P017", (*loc, "visits", v), f"unknown visit {code!r} ({_suggest(code, visits)})")
            elif (
                outcome.source == "instrument"
                and outcome.instrument in ctx.scores  # an unknown instrument is P011 already
                and outcome.instrument not in visit.instruments
            ):
                ctx.report(
                    "P019",
                    (*loc, "visits", v),
                    f"instrument {outcome.instrument} is not collected at visit {code}",
                )
        scores = ctx.scores.get(outcome.instrument or "")
        if scores is not None and outcome.score is not None and outcome.score not in scores:
            ctx.report(
                "P018",
                (*loc, "score"),
                f"instrument {outcome.instrument} has no score {outcome.score!r} "
                f"(scores: {', '.join(scores)})",
            )


@check("outcomes")
def one_primary(ctx: Context) -> None:
    primaries = [o for o, outcome in enumerate(ctx.protocol.outcomes) if outcome.role == "primary"]
    if not primaries:
        ctx.report(
            "P020", ("outcomes",), 'no primary outcome; exactly one outcome must have role = "primary"'
        )
    for o in primaries[1:]:
        first = ctx.protocol.outcomes[primaries[0]].code
        ctx.report(
            "P020",
            ("outcomes", o, "role"),
            f"second primary outcome (first is {first}); exactly one outcome must be primary",
        )


@check("arms", "intervention")
def intervention(ctx: Context) -> None:
    p = ctx.protocol
    arms = {arm.code: arm for arm in p.arms}
    arm = arms.get(p.intervention.arm)
    if arm is None:
        ctx.report(
            "P021",
            ("intervention", "arm"),
            f"unknown arm {p.intervention.arm!r} ({_suggest(p.intervention.arm, arms)})",
        )
    elif not arm.receives_intervention:
        ctx.report("P021", ("intervention", "arm"), f"arm {arm.code} has receives_intervention = false")
    for m, module in enumerate(p.intervention.modules):
        if module.number != m + 1:
            ctx.report(
                "P022",
                ("intervention", "modules", m, "number"),
                f"module {module.code} is number {module.number} at position {m + 1}; "
                f"number modules 1..{len(p.intervention.modules)} in order",
            )
    intervention = p.intervention
    pairs = [("facilitators_min", "facilitators_max"), ("sessions_min", "sessions_max")]
    for low, high in pairs:
        if getattr(intervention, low) > getattr(intervention, high):
            ctx.report("P030", ("intervention", low), f"{low} is above {high}")
    if intervention.fidelity.moderate > intervention.fidelity.high:
        ctx.report("P030", ("intervention", "fidelity", "moderate"), "moderate threshold is above high")


@check("assumed")
def assumed_paths(ctx: Context) -> None:
    fields = [assumption.field for assumption in ctx.protocol.assumed]
    _duplicates(ctx.report, fields, "", ("assumed",))
    for a, path in enumerate(fields):
        if resolve_path(ctx.raw, path) is None:
            ctx.report("P023", ("assumed", a, "field"), f"{path!r} does not point at a value in the file")


@check("randomisation", "arms", "stratification")
def randomisation(ctx: Context) -> None:
    settings = ctx.protocol.randomisation
    total = sum(arm.ratio for arm in ctx.protocol.arms)
    if settings.method == "permuted_blocks" and not settings.block_sizes:
        ctx.report("P024", ("randomisation", "block_sizes"), "permuted blocks need at least one block size")
    _duplicates(ctx.report, settings.block_sizes, "", ("randomisation", "block_sizes"))
    for b, size in enumerate(settings.block_sizes):
        if size <= 0 or (total > 0 and size % total):
            ctx.report(
                "P024",
                ("randomisation", "block_sizes", b),
                f"block size {size} is not a positive multiple of the ratio total {total}",
            )
    if settings.method == "minimisation" and settings.minimisation is None:
        ctx.report(
            "P024", ("randomisation", "method"), "method minimisation needs [randomisation.minimisation]"
        )
    factors = [factor.code for factor in ctx.protocol.stratification]
    for name in settings.minimisation.factor_weights if settings.minimisation else ():
        if name not in factors:
            ctx.report(
                "P016",
                ("randomisation", "minimisation", "factor_weights", name),
                f"unknown stratification factor {name!r} ({_suggest(name, factors)})",
            )


@check("eligibility")
def eligibility(ctx: Context) -> None:
    for c, criterion in enumerate(ctx.protocol.eligibility):
        loc: Loc = ("eligibility", c)
        kind = criterion.answer_type
        if kind == "boolean" and criterion.qualifying_answer is None:
            ctx.report("P027", (*loc, "answer_type"), "a boolean criterion needs qualifying_answer")
        if kind == "icd10" and not criterion.icd10:
            ctx.report("P027", (*loc, "answer_type"), "an icd10 criterion needs its icd10 code set")
        if kind == "age" and criterion.minimum is None and criterion.maximum is None:
            ctx.report("P027", (*loc, "answer_type"), "an age criterion needs a minimum or maximum")
        if kind != "icd10" and criterion.icd10:
            ctx.report("P027", (*loc, "icd10"), f"icd10 codes are only for icd10 criteria, not {kind}")
        if kind != "boolean" and criterion.qualifying_answer is not None:
            ctx.report("P027", (*loc, "qualifying_answer"), "qualifying_answer is only for boolean criteria")
        for i, code in enumerate(criterion.icd10):
            if not _ICD10.match(code):
                ctx.report("P027", (*loc, "icd10", i), f"{code!r} is not an ICD-10 code such as F20 or F20.0")
        if (
            criterion.minimum is not None
            and criterion.maximum is not None
            and criterion.minimum > criterion.maximum
        ):
            ctx.report("P030", (*loc, "minimum"), "minimum is above maximum")


@check("trial")
def trial_dates(ctx: Context) -> None:
    trial = ctx.protocol.trial
    if trial.completion_date < trial.start_date:
        ctx.report("P030", ("trial", "completion_date"), "completion_date is before start_date")
