"""The hash chain: how an entry's hash is computed, and the walk that verifies it (no Django here)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64

#: The fields an entry's hash covers, in order. Changing this list breaks every existing chain.
HASHED_FIELDS = (
    "seq", "at", "actor", "channel", "action", "entity", "entity_id", "field",
    "old_value", "new_value", "reason", "site", "participant", "protocol_hash", "prev_hash",
)


def canonical_time(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def entry_hash(values: Mapping[str, Any]) -> str:
    """SHA-256 over a canonical JSON of the hashed fields."""
    payload = {name: values[name] for name in HASHED_FIELDS}
    payload["at"] = canonical_time(payload["at"])
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.checked} ledger entries, hash chain intact"
        return f"ledger entry #{self.broken_seq}: {self.problem} ({self.checked} entries checked before it)"


def verify(rows: Iterable[Mapping[str, Any]]) -> Verdict:
    """Walk entries in ``seq`` order and report the first one that does not chain to its predecessor."""
    previous = GENESIS
    checked = 0
    for row in rows:
        if row["prev_hash"] != previous:
            return Verdict(False, checked, row["seq"], "does not link to the entry before it "
                           "(an entry was removed, inserted or altered)")
        if entry_hash(row) != row["hash"]:
            return Verdict(False, checked, row["seq"], "its contents do not match its hash (altered)")
        previous = row["hash"]
        checked += 1
    return Verdict(True, checked)
