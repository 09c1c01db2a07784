"""Generate docs/reference/protocol.md from the schema and the problem-code table.

Run ``python -m trialdesk.protocol.docs > docs/reference/protocol.md``; a test fails when the committed
page differs from this output or when a schema field has no description.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterator
from typing import Any

import annotated_types
from pydantic import BaseModel, StringConstraints
from pydantic.fields import FieldInfo

from trialdesk.protocol.base import Code, Text
from trialdesk.protocol.problems import CODES
from trialdesk.protocol.schema import Protocol

_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean", dt.date: "date"}
_BOUNDS = (
    (annotated_types.Gt, ">"),
    (annotated_types.Ge, "≥"),
    (annotated_types.Lt, "<"),
    (annotated_types.Le, "≤"),
)

_INTRO = """\
# Protocol file reference

A trial is declared in one TOML file; `src/trialdesk/protocols/imr.toml` is the embedded IMR trial and
the worked example of every key. Keys are the attribute names of the frozen models in
`trialdesk.protocol`; unknown keys are errors (P002), so a misspelling never passes silently.

```sh
trialdesk protocol check [PATH]        # "ok <hash>", or one line per problem and exit status 2
trialdesk protocol show [PATH] [--json]
trialdesk protocol hash [PATH]         # SHA-256 of the canonical JSON form
```

Problems are printed as `P012 visits[1].window_after_months: <message> (line 178)`: a stable code, the
dotted path of the offending value (list items by index) and its line in the file.

**Content hash.** The SHA-256 of the validated protocol serialised as JSON with sorted keys and no
insignificant whitespace (dates as ISO 8601). Comments, layout, key order and `6` versus `6.0` in a
number field do not change it; any value does, including the order of a list.

**Assumed values.** Every value not taken from a published source is listed in an `[[assumed]]` table
(`field` = dotted path, `note` = why) and marked `# assumed` on its line. Paths select list items by
index or by `code` (modules also by `number`): `visits[m9].window_before_months`. A path that points at
nothing is a problem (P023).

**Types.** *code*: a letter followed by letters, digits or `_` (at most 40), used to cross-reference
parts of the protocol. *text*: a non-empty string. *list of X*: a TOML array (of inline tables or an
array of tables `[[...]]`). *(optional)*: the key may be left out.

Generated from the schema by `trialdesk.protocol.docs`; do not edit by hand.
"""


def render() -> str:
    """The whole reference page as Markdown."""
    parts = [_INTRO, "## Sections\n"]
    for model, where in _models():
        parts.append(_model_section(model, where))
    parts.append(_codes_section())
    return "\n".join(parts).rstrip() + "\n"


def _models() -> Iterator[tuple[type[BaseModel], str]]:
    """Every model reachable from Protocol, depth first in field order, with where it sits in the file."""
    seen: set[type[BaseModel]] = set()

    def walk(model: type[BaseModel], where: str) -> Iterator[tuple[type[BaseModel], str]]:
        if model in seen:
            return
        seen.add(model)
        yield model, where
        for name, info in model.model_fields.items():
            for child, is_list in _nested_models(info.annotation):
                path = f"{where}.{name}" if where else name
                yield from walk(child, f"{path}[]" if is_list else path)

    yield from walk(Protocol, "")


def _nested_models(annotation: Any) -> Iterator[tuple[type[BaseModel], bool]]:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, False
    elif origin is tuple:
        for child, _ in _nested_models(args[0]):
            yield child, True
    elif origin in (typing.Union, types.UnionType):
        for arg in args:
            yield from _nested_models(arg)


def _model_section(model: type[BaseModel], where: str) -> str:
    title = f"### `{where}`" if where else "### Top level"
    doc = " ".join((model.__doc__ or "").split()) if model is Protocol else ""
    lines = [f"{title} — `{model.__name__}`", ""]
    if doc:
        lines += [doc, ""]
    lines += ["| key | type | default | description |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        cells = [f"`{name}`", _type(info.annotation, info), _default(info), info.description or ""]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _type(annotation: Any, info: FieldInfo | None = None) -> str:
    bounds = ""
    if info is not None:
        bounds = "".join(
            f" {symbol} {getattr(item, kind.__name__.lower())}"
            for item in info.metadata
            for kind, symbol in _BOUNDS
            if isinstance(item, kind)
        )
    name = _type_name(annotation)
    if info is not None and annotation is str:  # pydantic moves Annotated constraints into metadata
        constraints = [item for item in info.metadata if isinstance(item, StringConstraints)]
        if any(item.pattern for item in constraints):
            name = "code"
        elif any(item.min_length for item in constraints):
            name = "text"
    if name.endswith(" (optional)"):
        return name.removesuffix(" (optional)") + bounds + " (optional)"
    return name + bounds


def _type_name(annotation: Any) -> str:
    if annotation is Code:
        return "code"
    if annotation is Text:
        return "text"
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"`{annotation.__name__}` table"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " or ".join(f'"{arg}"' if isinstance(arg, str) else str(arg) for arg in args)
    if origin is tuple:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"table of {_type_name(args[1])}"
    if origin in (typing.Union, types.UnionType):
        present = [arg for arg in args if arg is not type(None)]
        optional = " (optional)" if len(present) < len(args) else ""
        return " or ".join(_type_name(arg) for arg in present) + optional
    return str(annotation)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return "`[]`" if not value else f"`{list(value)}`"
    if isinstance(value, dict):
        return "`{}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def _codes_section() -> str:
    lines = ["## Problem codes", "", "Codes are stable: they are never renumbered or reused.", ""]
    lines += ["| code | problem |", "|---|---|"]
    lines += [f"| {code} | {text} |" for code, text in sorted(CODES.items())]
    return "\n".join(lines) + "\n"


def undocumented_fields() -> list[str]:
    """``Model.field`` for every schema field without a description (should be empty)."""
    return [
        f"{model.__name__}.{name}"
        for model, _ in _models()
        for name, info in model.model_fields.items()
        if not (info.description or "").strip()
    ]


if __name__ == "__main__":
    print(render(), end="")
