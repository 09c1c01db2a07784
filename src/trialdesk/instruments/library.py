"""Loading instrument definitions from a directory of TOML files, with every problem reported at once."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

from pydantic import ValidationError

from trialdesk.errors import ProblemsError, UserError
from trialdesk.instruments.schema import Instrument

DEFINITIONS = Path(__file__).parent / "definitions"


class LibraryError(ProblemsError):
    """An instrument definition is broken: one line per problem, each naming its file."""


class Library:
    """The instruments by code, in file-name order."""

    def __init__(self, instruments: Mapping[str, Instrument]) -> None:
        self._instruments = dict(instruments)

    def codes(self) -> list[str]:
        return list(self._instruments)

    def get(self, code: str) -> Instrument:
        try:
            return self._instruments[code]
        except KeyError:
            raise UserError(f"unknown instrument {code!r}; known instruments are "
                            f"{', '.join(self._instruments)}") from None

    def __contains__(self, code: object) -> bool:
        return code in self._instruments

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._instruments.values())

    def __len__(self) -> int:
        return len(self._instruments)


def _location(loc: tuple[str | int, ...], data: object) -> str:
    """``items[3] (P4)``-style location, naming the item code where there is one."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{key}]"]
            node = node[key] if isinstance(node, list) and key < len(node) else None
            code = node.get("code") or node.get("name") if isinstance(node, dict) else None
            if code:
                parts[-1] += f" ({code})"
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts)


def _validation_lines(name: str, error: ValidationError, data: object) -> list[str]:
    lines: list[str] = []
    for problem in error.errors():
        message = str(problem["msg"]).removeprefix("Value error, ")
        where = _location(tuple(problem["loc"]), data)
        prefix = f"{name}: {where}: " if where else f"{name}: "
        lines.extend(prefix + line for line in message.splitlines())
    return lines


def load_library(path: str | Path) -> Library:
    """Load every ``*.toml`` in a directory; raises :class:`LibraryError` listing every problem."""
    directory = Path(path)
    if not directory.is_dir():
        raise UserError(f"instrument definitions: {directory} is not a directory")
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise LibraryError([f"{directory}: no instrument definitions (*.toml)"])
    problems: list[str] = []
    instruments: dict[str, Instrument] = {}
    for file in files:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            problems.append(f"{file.name}: not valid TOML: {error}")
            continue
        try:
            instrument = Instrument.model_validate(data)
        except ValidationError as error:
            problems.extend(_validation_lines(file.name, error, data))
            continue
        if instrument.code != file.stem:
            problems.append(f"{file.name}: code {instrument.code!r} does not match the file name")
        if instrument.code in instruments:
            problems.append(f"{file.name}: duplicate instrument code {instrument.code!r}")
        instruments[instrument.code] = instrument
    if problems:
        raise LibraryError(problems)
    return Library(instruments)


@cache
def get_library() -> Library:
    """The built-in library, parsed once per process."""
    return load_library(DEFINITIONS)
