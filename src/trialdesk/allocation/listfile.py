"""Allocation lists on disk: write them, and read an uploaded list back checking it against a scheme.

Format (see docs/allocation.md): ``# key: value`` metadata lines, then a CSV with the columns
``stratum, sequence, block, block_size, arm``. The last metadata line is ``# sha256: <hex>``, the
SHA-256 of everything after the metadata (header and rows, ``\\n`` line ends). Row numbers in error
messages are the file's line numbers, which match a spreadsheet's row numbers.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from trialdesk.allocation.scheme import AllocationScheme
from trialdesk.allocation.sequence import COLUMNS, FORMAT, AllocationList, ListInfo, Slot, body_hash
from trialdesk.errors import UserError

_KNOWN_INFO = {
    "algorithm", "algorithm_version", "seed", "arms", "block_sizes", "per_stratum", "bit_generator",
    "numpy_version", "protocol_hash",
}  # fmt: skip


def write_list(allocation_list: AllocationList, path: str | Path) -> Path:
    """Write the list with its metadata; returns the path."""
    target = Path(path)
    try:
        target.write_text(allocation_list.text(), encoding="utf-8", newline="\n")
    except OSError as problem:
        raise UserError(f"cannot write allocation list {target}: {problem.strerror or problem}") from None
    return target


def read_list(path: str | Path, scheme: AllocationScheme, *, require_hash: bool = True) -> AllocationList:
    """Read and check a list file; every problem is a UserError naming the row and the rule broken."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as problem:
        reason = getattr(problem, "strerror", None) or str(problem)
        raise UserError(f"cannot read allocation list {source}: {reason}") from None
    return parse_list(text, scheme, require_hash=require_hash, name=str(source))


@dataclass
class _Row:
    line: int
    slot: Slot


def parse_list(
    text: str, scheme: AllocationScheme, *, require_hash: bool = True, name: str = "allocation list"
) -> AllocationList:
    """Parse list text (see :func:`read_list`)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    meta: dict[str, str] = {}
    start = 0
    while start < len(lines) and lines[start].startswith("#"):
        key, sep, value = lines[start][1:].partition(":")
        if sep:
            meta[key.strip()] = value.strip()
        start += 1
    body_lines = lines[start:]
    while body_lines and not body_lines[-1].strip():
        body_lines.pop()
    if not body_lines:
        raise UserError(f"{name}: no CSV header (expected columns {', '.join(COLUMNS)})")
    body = "".join(line + "\n" for line in body_lines)
    source_hash = _check_hash(meta, body, require_hash, name)
    rows = _rows(body_lines, start + 1, scheme, name)
    _check_strata(rows, scheme, name)
    info = _info(meta, name)
    return AllocationList(tuple(r.slot for r in rows), info, source_sha256=source_hash)


def _check_hash(meta: dict[str, str], body: str, require_hash: bool, name: str) -> str | None:
    if "format" in meta and meta["format"] != FORMAT:
        raise UserError(f"{name}: format {meta['format']!r} is not {FORMAT!r}")
    recorded = meta.get("sha256")
    if recorded is None:
        if require_hash:
            raise UserError(
                f"{name}: no '# sha256: <hex>' line; a list must carry the SHA-256 of its CSV part "
                "(grep -v '^#' FILE | sha256sum)"
            )
        return None
    actual = body_hash(body)
    if recorded.lower() != actual:
        raise UserError(
            f"{name}: hash mismatch: the file records sha256 {recorded} but its rows hash to {actual}"
        )
    return actual


def _rows(body_lines: list[str], first_line: int, scheme: AllocationScheme, name: str) -> list[_Row]:
    reader = csv.reader(body_lines)
    header = [h.strip() for h in next(reader)]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        raise UserError(
            f"{name} row {first_line}: wrong columns {header}: missing {missing}, unknown {unknown}; "
            f"expected {', '.join(COLUMNS)}"
        )
    where = {c: header.index(c) for c in COLUMNS}
    rows: list[_Row] = []
    known_strata = set(scheme.strata())
    for offset, record in enumerate(reader, start=1):
        line = first_line + offset
        if len(record) != len(header):
            raise UserError(f"{name} row {line}: {len(record)} fields, the header has {len(header)}")
        values = {c: record[i].strip() for c, i in where.items()}
        if values["stratum"] not in known_strata:
            try:
                scheme.parse_stratum(values["stratum"])
            except UserError as problem:
                raise UserError(f"{name} row {line}: {problem}") from None
        if values["arm"] not in scheme.arms:
            raise UserError(
                f"{name} row {line}: unknown arm {values['arm']!r} (known: {', '.join(scheme.arms)})"
            )
        numbers = {}
        for column in ("sequence", "block", "block_size"):
            try:
                numbers[column] = int(values[column])
            except ValueError:
                numbers[column] = 0
            if numbers[column] <= 0:
                raise UserError(
                    f"{name} row {line}: {column} {values[column]!r} is not a positive whole number"
                )
        slot = Slot(
            values["stratum"], numbers["sequence"], numbers["block"], numbers["block_size"], values["arm"]
        )
        rows.append(_Row(line, slot))
    if not rows:
        raise UserError(f"{name}: the list has a header but no rows")
    return rows


def _check_strata(rows: list[_Row], scheme: AllocationScheme, name: str) -> None:
    by_stratum: dict[str, list[_Row]] = {}
    for row in rows:
        by_stratum.setdefault(row.slot.stratum, []).append(row)
    for stratum in scheme.strata():
        if stratum not in by_stratum:
            raise UserError(f"{name}: stratum {stratum} has no slots")
    for stratum, members in by_stratum.items():
        _check_stratum(stratum, members, scheme, name)


def _check_stratum(stratum: str, rows: list[_Row], scheme: AllocationScheme, name: str) -> None:
    block: list[_Row] = []
    for expected, row in enumerate(rows, start=1):
        slot = row.slot
        if slot.sequence != expected:
            raise UserError(
                f"{name} row {row.line}: sequence {slot.sequence} in stratum {stratum}, expected {expected} "
                "(sequence numbers run 1, 2, 3, ... within each stratum, in file order)"
            )
        if slot.block_size not in scheme.block_sizes:
            sizes = ", ".join(str(b) for b in scheme.block_sizes)
            raise UserError(f"{name} row {row.line}: block_size {slot.block_size} is not one of {sizes}")
        if block and slot.block != block[0].slot.block:
            _check_block(stratum, block, scheme, name)
            block = []
        if not block:
            previous = rows[expected - 2].slot.block if expected > 1 else 0
            if slot.block != previous + 1:
                raise UserError(
                    f"{name} row {row.line}: block {slot.block} in stratum {stratum}, expected {previous + 1}"
                )
        elif slot.block_size != block[0].slot.block_size:
            raise UserError(
                f"{name} row {row.line}: block {slot.block} of stratum {stratum} changes block_size from "
                f"{block[0].slot.block_size} to {slot.block_size}"
            )
        block.append(row)
    _check_block(stratum, block, scheme, name)


def _check_block(stratum: str, block: list[_Row], scheme: AllocationScheme, name: str) -> None:
    first, last = block[0], block[-1]
    size = first.slot.block_size
    where = f"{name} rows {first.line}-{last.line}: block {first.slot.block} of stratum {stratum}"
    if len(block) != size:
        raise UserError(f"{where} is incomplete: {len(block)} slots, block_size {size}")
    counts = Counter(r.slot.arm for r in block)
    needed = {
        arm: size * ratio // scheme.ratio_sum for arm, ratio in zip(scheme.arms, scheme.ratios, strict=True)
    }
    if any(counts.get(arm, 0) != n for arm, n in needed.items()):
        have = ", ".join(f"{a}={counts.get(a, 0)}" for a in scheme.arms)
        need = ", ".join(f"{a}={n}" for a, n in needed.items())
        raise UserError(f"{where} is unbalanced: {have}; ratio {scheme.ratio_text} needs {need}")


def _info(meta: dict[str, str], name: str) -> ListInfo:
    def whole(key: str) -> int | None:
        if key not in meta:
            return None
        try:
            return int(meta[key])
        except ValueError:
            raise UserError(f"{name}: metadata {key} {meta[key]!r} is not a whole number") from None

    extra = {k: v for k, v in meta.items() if k not in _KNOWN_INFO | {"format", "sha256"}}
    return ListInfo(
        algorithm=meta.get("algorithm", "unknown"),
        algorithm_version=meta.get("algorithm_version", "unknown"),
        seed=whole("seed"),
        arms=meta.get("arms", ""),
        block_sizes=meta.get("block_sizes", ""),
        per_stratum=whole("per_stratum"),
        bit_generator=meta.get("bit_generator", ""),
        numpy_version=meta.get("numpy_version", ""),
        protocol_hash=meta.get("protocol_hash"),
        extra=extra,
    )
