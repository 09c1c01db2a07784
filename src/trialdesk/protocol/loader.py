"""Reading a protocol file: TOML -> schema validation -> cross-checks -> a frozen :class:`Protocol`."""

from __future__ import annotations

import functools
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

import trialdesk.protocol.checks_analysis  # noqa: F401  (registers the analysis-plan checks)
from trialdesk.errors import UserError
from trialdesk.protocol.checks import _suggest, run_checks
from trialdesk.protocol.locate import Loc, TomlLocator, format_path
from trialdesk.protocol.problems import Problem, ProtocolProblems
from trialdesk.protocol.schema import Protocol

EMBEDDED_PROTOCOL = Path(__file__).resolve().parent.parent / "protocols" / "imr.toml"
_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


def load_protocol(path: str | Path | None = None) -> Protocol:
    """Load and validate a protocol file (default: the embedded IMR protocol).

    Raises :class:`ProtocolProblems` listing every problem found, or :class:`UserError` when the file
    cannot be read at all.
    """
    if path is None:
        return _embedded()
    return parse_protocol(_read(Path(path)), source=str(path))


@functools.cache
def _embedded() -> Protocol:
    return parse_protocol(_read(EMBEDDED_PROTOCOL), source=str(EMBEDDED_PROTOCOL))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"protocol file not found: {path}") from None
    except IsADirectoryError:
        raise UserError(f"protocol path is a directory, not a file: {path}") from None
    except OSError as error:
        raise UserError(f"cannot read protocol file {path}: {error.strerror}") from None


def parse_protocol(content: bytes | str, source: str = "<text>") -> Protocol:
    """Validate protocol TOML given as bytes or text; see :func:`load_protocol`."""
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as error:
            line = content[: error.start].count(b"\n") + 1
            raise ProtocolProblems(
                [Problem("P001", "(document)", "file is not UTF-8 text", line)], source
            ) from None
    else:
        text = content
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = _TOML_POSITION.search(message)
        detail = _TOML_POSITION.sub("", message).strip()
        problem = Problem(
            "P001", "(document)", f"invalid TOML: {detail}", int(found.group(1)) if found else None
        )
        raise ProtocolProblems([problem], source) from None

    locator = TomlLocator(text)
    problems: list[Problem] = []

    def report(code: str, loc: Loc, message: str) -> None:
        problems.append(Problem(code, format_path(loc), message, locator.line(loc)))

    protocol, valid = _validate(raw, report)
    run_checks(protocol, raw, valid, report)
    if problems:
        raise ProtocolProblems(problems, source)
    return protocol


def _validate(
    raw: Mapping[str, Any], report: typing.Callable[[str, Loc, str], None]
) -> tuple[Protocol, set[str]]:
    """The validated protocol and the names of all sections; on schema errors, report each and return a
    partial protocol holding only the sections that validated (so cross-checks can still run on them)."""
    fields = Protocol.model_fields
    try:
        return Protocol.model_validate(raw), set(fields)
    except ValidationError as error:
        details = error.errors()
    for detail in details:
        _report_schema_error(detail, report)
    failed = {detail["loc"][0] for detail in details if detail["loc"]}
    sections: dict[str, Any] = {}
    for name, info in fields.items():
        if name in failed:
            continue
        if name in raw:
            adapter: TypeAdapter[Any] = TypeAdapter(typing.cast(Any, info.annotation))
            sections[name] = adapter.validate_python(raw[name])
        elif not info.is_required():
            sections[name] = info.get_default(call_default_factory=True)
    return Protocol.model_construct(**sections), set(sections)


def _report_schema_error(detail: ErrorDetails, report: typing.Callable[[str, Loc, str], None]) -> None:
    loc: Loc = tuple(detail["loc"])
    kind = detail["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        known = _model_at(loc[:-1])
        hint = f" ({_suggest(name, known.model_fields)})" if known is not None else ""
        report("P002", loc, f"unknown key {name!r}{hint}")
    elif kind == "missing":
        report("P003", loc, f"required field {loc[-1]!s} is missing")
    else:
        shown = repr(detail.get("input"))
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        report("P004", loc, f"{detail['msg']} (got {shown})")


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The schema model that the value at ``loc`` should be, for suggesting field names."""
    current: Any = Protocol
    for part in loc:
        if isinstance(part, int):
            args = [arg for arg in typing.get_args(current) if arg is not Ellipsis]
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel) and part in current.model_fields:
            current = current.model_fields[part].annotation
        else:
            return None
        current = _unwrap_optional(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation
