"""An allocation list in memory: slots per stratum, how it was made, and its SHA-256 hash."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

#: Columns of the list, in the order written.
COLUMNS: tuple[str, ...] = ("stratum", "sequence", "block", "block_size", "arm")
#: First metadata line of a list file; bump the number when the layout changes.
FORMAT = "trialdesk-allocation-list/1"


@dataclass(frozen=True)
class Slot:
    """One allocation: the ``sequence``-th slot of ``stratum``, inside block ``block`` of ``block_size``."""

    stratum: str
    sequence: int
    block: int
    block_size: int
    arm: str


@dataclass(frozen=True)
class ListInfo:
    """How a list was made. Written as ``# key: value`` lines above the CSV header."""

    algorithm: str
    algorithm_version: str
    seed: int | None = None
    arms: str = ""  # "IMR:1 TAU:1"
    block_sizes: str = ""  # "2 4 6"
    per_stratum: int | None = None
    bit_generator: str = ""
    numpy_version: str = ""
    protocol_hash: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def lines(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str | None]] = [
            ("format", FORMAT),
            ("algorithm", self.algorithm),
            ("algorithm_version", self.algorithm_version),
            ("seed", None if self.seed is None else str(self.seed)),
            ("arms", self.arms or None),
            ("block_sizes", self.block_sizes or None),
            ("per_stratum", None if self.per_stratum is None else str(self.per_stratum)),
            ("bit_generator", self.bit_generator or None),
            ("numpy_version", self.numpy_version or None),
            ("protocol_hash", self.protocol_hash),
            *self.extra.items(),
        ]
        return [(k, v) for k, v in pairs if v is not None]


@dataclass(frozen=True)
class AllocationList:
    """Slots in file order (stratum by stratum, sequence ascending) and how they were made."""

    slots: tuple[Slot, ...]
    info: ListInfo
    #: For a list read from a file: the verified SHA-256 of the file's CSV part as uploaded (it equals
    #: :attr:`sha256` for files this module wrote; a re-ordered or re-spaced upload hashes differently).
    source_sha256: str | None = None

    @cached_property
    def body(self) -> str:
        """The CSV header and rows, ``\\n``-terminated: exactly what :attr:`sha256` hashes."""
        lines = [",".join(COLUMNS)]
        lines += [f"{s.stratum},{s.sequence},{s.block},{s.block_size},{s.arm}" for s in self.slots]
        return "".join(line + "\n" for line in lines)

    @cached_property
    def sha256(self) -> str:
        """SHA-256 of :attr:`body`; ``grep -v '^#' list.csv | sha256sum`` gives the same digest."""
        return body_hash(self.body)

    def text(self) -> str:
        """The whole file: metadata comment lines (ending with the hash), then the CSV."""
        meta = [*self.info.lines(), ("sha256", self.sha256)]
        return "".join(f"# {k}: {v}\n" for k, v in meta) + self.body

    def strata(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.stratum for s in self.slots))

    def arms_by_stratum(self) -> dict[str, list[str]]:
        """Arms of each stratum in sequence order."""
        result: dict[str, list[str]] = {}
        for slot in sorted(self.slots, key=lambda s: s.sequence):
            result.setdefault(slot.stratum, []).append(slot.arm)
        return result

    def frame(self) -> pd.DataFrame:
        """One row per slot with the columns of :data:`COLUMNS`."""
        return pd.DataFrame([s.__dict__ for s in self.slots], columns=list(COLUMNS))


def body_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
