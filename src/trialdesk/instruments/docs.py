"""Generates docs/reference/instruments.md from the instrument definitions, so the page cannot drift.

    python -m trialdesk.instruments.docs            # rewrite docs/reference/instruments.md
    python -m trialdesk.instruments.docs --check    # exit 1 when the page is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trialdesk.instruments.library import Library, get_library
from trialdesk.instruments.schema import Anchor, Instrument, Item, MissingRule, _number

DEFAULT_OUT = Path("docs/reference/instruments.md")

GENERAL = """\
## How scoring works

- **One function.** `trialdesk.instruments.score(code_or_instrument, responses)` takes item code → value
  (missing: absent, `None`, NaN or an empty string; numbers written as text are accepted) and returns
  `Scores`: `values` (score name → value, or `None` when the missing-item rule says missing),
  `missing_items` (scored items without a value), `prorated_scores`/`prorated`, and `categories` (e.g.
  fidelity high/moderate/low). `check_responses()` only validates; `run_checks()` evaluates the edit checks.
- **Errors.** A value that is not allowed raises a `UserError` naming the instrument, the item and the
  allowed values (`audit item 9: 3 is not allowed; allowed values are 0, 2, 4`); so do an unknown item code
  and a missing required item. `score()` refuses a form without scores (`baseline`).
- **Missing items.** Unless a definition says otherwise, a score is computed when at most 20 % of its items
  are missing (rounded down: 6 of 30, 1 of 6, 0 of 3), else it is missing. Subscales apply the rule to their
  own items, so a subscale can be missing while the total is not. Single ratings (GAF-F, GAF-S, PSP) allow
  no missing item.
- **Proration.** A sum with items missing is `sum(observed) × n_items / n_observed`, computed exactly and
  rounded half up to whole numbers (YMRS: one decimal, because of half points): the same grid as complete
  totals, and the same number a person scoring by hand, SAS `ROUND` or a spreadsheet gets (Python's own
  `round` would round 62.5 to 62). A mean score is the mean of the observed items, not rounded. Complete
  scores are never rounded.
- **Reversed items** are scored as `minimum + maximum − value` before summing; only items whose allowed
  values are symmetric can be reversed. No shipped instrument reverses an item: in each published scale
  the answers already carry their scoring direction (see the notes per instrument).
- **Score ranges** below are derived from the items' allowed values, never typed by hand.
- **Edit checks** (`range`, `sum`, `not_greater`) give findings a data manager can raise queries from;
  they never refuse data.
- **Languages.** A form shows its names, period, item labels and notes, choices, anchors and subscale
  labels in the user's language: `make messages` collects them from these files into the Danish catalogue
  (message context `instrument`), where a test keeps every one translated. Codes and values never depend on
  the language, so a form entered in Danish stores exactly what the English one stores. A site with a
  licensed translation of a scale's wording puts it in the catalogue.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _range(instrument: Instrument, name: str) -> str:
    low, high = instrument.score_range(name)
    return f"{_number(low)}–{_number(high)}"


def _missing(rule: MissingRule, n_items: int) -> str:
    allowed = rule.allowed_missing(n_items)
    if allowed == 0:
        return "no item may be missing"
    if rule.max_missing_items is not None:
        return f"at most {allowed} of {n_items} missing"
    return f"at most {_number(rule.max_missing_fraction * 100)} % ({allowed} of {n_items}) missing"


def _allowed(item: Item) -> str:
    return _cell(item.allowed_text)


def _item_notes(instrument: Instrument, item: Item) -> str:
    notes = []
    if item.code in instrument.scoring.reversed:
        notes.append("reversed")
    if item.required:
        notes.append("required")
    if item.kind == "rating" and not item.scored:
        notes.append("recorded, not scored")
    if item.note:
        notes.append(item.note)
    return _cell("; ".join(notes))


def _anchor_text(anchors: tuple[Anchor, ...]) -> str:
    def one(anchor: Anchor) -> str:
        span = _number(anchor.low) + (f"–{_number(anchor.high)}" if anchor.high != anchor.low else "")
        return f"{span} {anchor.label}"

    return "; ".join(one(anchor) for anchor in anchors)


def _instrument_section(instrument: Instrument) -> list[str]:
    lines = [f"## {instrument.code}: {instrument.name} ({instrument.short_name})", ""]
    if instrument.description:
        lines += [instrument.description, ""]
    facts = [f"- Rater: {instrument.rater}"]
    if instrument.period:
        facts.append(f"- Period rated: {instrument.period}")
    if instrument.reference:
        facts.append(f"- Reference: {instrument.reference}")
    if len(instrument.scored_items) == 1:
        facts.append("- Scoring: a single rating; the score is the rating, and missing if the rating is")
    elif instrument.score_names:
        method = "sum of items" if instrument.scoring.method == "sum" else "mean of items"
        reversed_items = ", ".join(instrument.scoring.reversed) or "none"
        facts.append(f"- Scoring: {method}; reversed items: {reversed_items}")
        if instrument.scoring.method == "sum":
            decimals = instrument.scoring.prorated_decimals
            grid = "whole numbers" if decimals == 0 else f"{decimals} decimal{'s' if decimals > 1 else ''}"
            facts.append(f"- Prorated sums are rounded half up to {grid}")
    else:
        facts.append("- No scores: a form of typed fields (`score_names` is empty; `score()` raises)")
    lines += [*facts, ""]
    if instrument.score_names:
        lines += ["| score | items | range | missing-item rule |", "|---|---|---|---|"]
        for name in instrument.score_names:
            items = instrument.score_items(name)
            label = "total" if name == "total" else next(
                f"{s.name} ({s.label})" for s in instrument.subscales if s.name == name)
            lines.append(f"| {_cell(label)} | {', '.join(items)} | {_range(instrument, name)} | "
                         f"{_missing(instrument.missing_rule(name), len(items))} |")
        lines.append("")
    lines += ["| item | label | kind | allowed values | notes |", "|---|---|---|---|---|"]
    lines += [f"| {item.code} | {_cell(item.label)} | {item.kind} | {_allowed(item)} | "
              f"{_item_notes(instrument, item)} |" for item in instrument.items]
    lines.append("")
    groups: dict[tuple[Anchor, ...], list[str]] = {}
    for item in instrument.items:
        if item.anchors:
            groups.setdefault(item.anchors, []).append(item.code)
    if groups:
        lines += ["Anchors shown on the form:", ""]
        lines += [f"- item{'s' if len(codes) > 1 else ''} {', '.join(codes)}: {_anchor_text(anchors)}"
                  for anchors, codes in groups.items()]
        lines.append("")
    choice_items = [item for item in instrument.items if item.kind == "choice"]
    if choice_items:
        lines += ["Choices:", ""]
        lines += [f"- {item.code}: " + "; ".join(f"`{c.code}` {c.label}" for c in item.choices)
                  for item in choice_items]
        lines.append("")
    if instrument.categories:
        lines += ["Categories:", ""]
        lines += [f"- {c.score} ≥ {_number(c.at_least)}: {c.label}"
                  for c in sorted(instrument.categories, key=lambda c: c.at_least, reverse=True)]
        lines.append("")
    if instrument.checks:
        lines += ["Edit checks:", ""]
        for check in instrument.checks:
            if check.kind == "range":
                low = _number(check.minimum) if check.minimum is not None else "−∞"
                high = _number(check.maximum) if check.maximum is not None else "∞"
                rule = f"{check.target} within {low}–{high}"
            elif check.kind == "sum":
                rule = f"{check.target} = {' + '.join(check.parts)}"
            else:
                rule = f"{check.target} ≤ {check.other}"
            lines.append(f"- `{check.code}` ({check.kind}): {rule}: {check.message}")
        lines.append("")
    if instrument.notes:
        lines += ["Notes:", ""]
        lines += [f"- {note}" for note in instrument.notes]
        lines.append("")
    return lines


def render(library: Library | None = None) -> str:
    """The whole reference page as Markdown."""
    library = library or get_library()
    lines = [
        "# Instrument reference",
        "",
        "<!-- Generated by `python -m trialdesk.instruments.docs` from "
        "src/trialdesk/instruments/definitions; do not edit by hand: "
        "a test fails when this page is stale. -->",
        "",
        "Item codes and short neutral labels only: no instrument's copyrighted wording is shipped; a site "
        "loads its licensed wording. One TOML file per instrument in "
        "`src/trialdesk/instruments/definitions/`.",
        "",
        "| code | instrument | rater | items | scores (range) |",
        "|---|---|---|---|---|",
    ]
    for instrument in library:
        scores = ", ".join(f"{name} {_range(instrument, name)}" for name in instrument.score_names) or "none"
        lines.append(f"| {instrument.code} | {_cell(instrument.short_name)} | {instrument.rater} | "
                     f"{len(instrument.items)} | {scores} |")
    lines += ["", GENERAL]
    for instrument in library:
        lines += _instrument_section(instrument)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write or check docs/reference/instruments.md.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is not up to date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale: run python -m trialdesk.instruments.docs", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
