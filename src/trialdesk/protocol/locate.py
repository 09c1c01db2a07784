"""Where a value sits in the TOML text, so that problems can say "(line N)".

``tomllib`` returns plain dicts and lists without source positions, and no maintained TOML library in
our dependency set both parses TOML 1.0 and reports positions for every nested value, so this small
scanner walks the (already successfully parsed) text once and records the line where each table,
key and array item starts. It only has to understand the structure (headers, keys, strings, arrays,
inline tables), not the values, because ``tomllib`` has already validated the syntax.
"""

from __future__ import annotations

import re

Loc = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[([^\]]+)\]")


def format_path(loc: Loc) -> str:
    """``("visits", 2, "window_after_months")`` -> ``visits[2].window_after_months``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(document)"


def parse_path(text: str) -> list[tuple[str, bool]]:
    """Split a dotted path into (token, is_selector) pairs; ``visits[m9].month`` -> visits, [m9], month."""
    tokens: list[tuple[str, bool]] = []
    for match in _PATH_TOKEN.finditer(text):
        name, selector = match.groups()
        tokens.append((selector, True) if selector is not None else (name, False))
    return tokens


def resolve_path(data: object, text: str) -> Loc | None:
    """The concrete location of a dotted path in parsed TOML data, or None if nothing is there.

    List items can be selected by index (``visits[1]``) or by their ``code``/``number`` (``visits[m9]``).
    """
    loc: list[str | int] = []
    node = data
    tokens = parse_path(text)
    if not tokens:
        return None
    for token, selector in tokens:
        if isinstance(node, list) and selector:
            index = _select(node, token)
            if index is None:
                return None
            loc.append(index)
            node = node[index]
        elif isinstance(node, dict) and not selector and token in node:
            loc.append(token)
            node = node[token]
        else:
            return None
    return tuple(loc)


def _select(items: list[object], token: str) -> int | None:
    if token.isdigit():
        return int(token) if int(token) < len(items) else None
    for index, item in enumerate(items):
        if isinstance(item, dict) and token in (str(item.get("code")), str(item.get("number"))):
            return index
    return None


class TomlLocator:
    """Maps locations (``("visits", 1, "month")``) to 1-based line numbers in a TOML document."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        self._line = 1
        self._lines: dict[Loc, int] = {}
        self._table_arrays: dict[Loc, int] = {}
        self._scan()

    def line(self, loc: Loc) -> int | None:
        """Line of the value at ``loc``, or of its nearest enclosing table/key that is in the file."""
        parts = tuple(loc)
        while parts:
            if parts in self._lines:
                return self._lines[parts]
            parts = parts[:-1]
        return None

    # -- scanning --------------------------------------------------------------------------------

    def _peek(self, size: int = 1) -> str:
        return self._text[self._pos : self._pos + size]

    def _advance(self, size: int = 1) -> None:
        chunk = self._text[self._pos : self._pos + size]
        self._line += chunk.count("\n")
        self._pos += len(chunk)

    def _at_end(self) -> bool:
        return self._pos >= len(self._text)

    def _record(self, loc: Loc) -> None:
        self._lines.setdefault(loc, self._line)

    def _skip_space(self, newlines: bool) -> None:
        while not self._at_end():
            char = self._peek()
            if char in " \t" or (newlines and char in "\r\n"):
                self._advance()
            elif char == "#":
                while not self._at_end() and self._peek() != "\n":
                    self._advance()
            else:
                return

    def _scan(self) -> None:
        current: Loc = ()
        while True:
            self._skip_space(newlines=True)
            if self._at_end():
                return
            if self._peek() == "[":
                current = self._header()
            else:
                self._key_value(current)

    def _header(self) -> Loc:
        line = self._line
        array = self._peek(2) == "[["
        self._advance(2 if array else 1)
        self._skip_space(newlines=False)
        parts = self._key()
        self._skip_space(newlines=False)
        self._advance(2 if array else 1)
        path: list[str | int] = []
        for number, part in enumerate(parts):
            path.append(part)
            key = tuple(path)
            if array and number == len(parts) - 1:
                self._lines.setdefault(key, line)
                index = self._table_arrays.get(key, 0)
                self._table_arrays[key] = index + 1
                path.append(index)
            elif key in self._table_arrays:
                path.append(self._table_arrays[key] - 1)
        self._lines.setdefault(tuple(path), line)
        return tuple(path)

    def _key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while not self._at_end():
            self._skip_space(newlines=False)
            char = self._peek()
            if char in "\"'":
                start = self._pos
                self._string()
                parts.append(self._text[start + 1 : self._pos - 1])
            else:
                match = _BARE_KEY.match(self._text, self._pos)
                if not match:
                    break
                parts.append(match.group())
                self._advance(len(match.group()))
            self._skip_space(newlines=False)
            if self._peek() != ".":
                break
            self._advance()
        return tuple(parts)

    def _key_value(self, table: Loc) -> None:
        line = self._line
        parts = self._key()
        if not parts:  # not a key: skip the character so scanning always moves on
            self._advance()
            return
        loc = table + parts
        self._lines.setdefault(loc, line)
        self._skip_space(newlines=False)
        if self._peek() == "=":
            self._advance()
        self._skip_space(newlines=False)
        self._value(loc)

    def _value(self, loc: Loc) -> None:
        char = self._peek()
        if char == "[":
            self._array(loc)
        elif char == "{":
            self._inline_table(loc)
        elif char in "\"'":
            self._string()
        else:
            while not self._at_end() and self._peek() not in ",]}\n#":
                self._advance()

    def _array(self, loc: Loc) -> None:
        self._advance()
        index = 0
        while not self._at_end():
            self._skip_space(newlines=True)
            if self._peek() == "]":
                self._advance()
                return
            self._record((*loc, index))
            self._value((*loc, index))
            self._skip_space(newlines=True)
            if self._peek() == ",":
                self._advance()
                index += 1
            elif self._peek() != "]":
                self._advance()

    def _inline_table(self, loc: Loc) -> None:
        self._advance()
        while not self._at_end():
            self._skip_space(newlines=False)
            if self._peek() == "}":
                self._advance()
                return
            if self._peek() == ",":
                self._advance()
                continue
            self._key_value(loc)

    def _string(self) -> None:
        quote = self._peek()
        triple = self._peek(3) == quote * 3
        delimiter = quote * 3 if triple else quote
        self._advance(len(delimiter))
        while not self._at_end():
            if quote == '"' and self._peek() == "\\":
                self._advance(2)
            elif self._peek(len(delimiter)) == delimiter:
                self._advance(len(delimiter))
                # a multi-line string may end with up to two extra quotes before the delimiter
                while triple and self._peek() == quote:
                    self._advance()
                return
            else:
                self._advance()
