"""The data dictionary written with every export: tables and columns, then instruments and items.

Generated from :data:`trialdesk.datasets.TABLES` and the instrument library, so it cannot drift from
the files it describes.
"""

from __future__ import annotations

import csv
import io

from trialdesk import datasets
from trialdesk.instruments import get_library

CSV_HEADER = ("section", "table_or_instrument", "name", "type", "nullable_or_kind", "allowed", "description")


def _instruments() -> list:
    return [instrument for instrument in get_library() if instrument.score_names]


def rows(tables: list[str]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name in tables:
        table = datasets.TABLES[name]
        key = ", ".join(table.key)
        out.extend(
            (
                "table",
                name,
                c.name,
                c.dtype,
                "nullable" if c.nullable else "required",
                f"key: {key}" if c.name in table.key else "",
                c.description,
            )
            for c in table.columns
        )
    for instrument in _instruments():
        out.extend(
            (
                "item",
                instrument.code,
                item.code,
                "float" if item.numeric else "string",
                item.kind,
                item.allowed_text,
                item.label,
            )
            for item in instrument.items
            if item.numeric
        )
        out.extend(
            (
                "score",
                instrument.code,
                score,
                "float",
                instrument.scoring.method,
                "{:g} to {:g}".format(*instrument.score_range(score)),
                f"{instrument.short_name} {score}",
            )
            for score in instrument.score_names
        )
    return out


def as_csv(tables: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(rows(tables))
    return buffer.getvalue()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def as_markdown(tables: list[str], *, blinded: bool) -> str:
    lines = ["# Data dictionary", ""]
    if blinded:
        lines += [
            "Blinded export: arms are shown as letters (A, B), and per-participant intervention data "
            "(dose, IMR group) are left out.",
            "",
        ]
    lines += ["Participants appear only by pseudonymised trial id. Empty cells are missing values.", ""]
    for name in tables:
        table = datasets.TABLES[name]
        lines += [
            f"## {name}",
            "",
            f"{table.description}. Key: {', '.join(table.key)}.",
            "",
            "| column | type | required | description |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {c.name} | {c.dtype} | {'no' if c.nullable else 'yes'} | {_cell(c.description)} |"
            for c in table.columns
        ]
        lines.append("")
    lines += [
        "## Instruments",
        "",
        "Item codes of the `items` table and score names of the `scores` table.",
        "",
    ]
    for instrument in _instruments():
        lines += [
            f"### {instrument.code}: {_cell(instrument.name)}",
            "",
            f"Rated by: {instrument.rater}.",
            "",
            "| item | label | allowed values |",
            "|---|---|---|",
        ]
        lines += [
            f"| {item.code} | {_cell(item.label)} | {_cell(item.allowed_text)} |"
            for item in instrument.items
            if item.numeric
        ]
        lines += ["", "| score | method | range |", "|---|---|---|"]
        lines += [
            f"| {score} | {instrument.scoring.method} | {{:g}} to {{:g}} |".format(
                *instrument.score_range(score)
            )
            for score in instrument.score_names
        ]
        lines.append("")
    return "\n".join(lines)
