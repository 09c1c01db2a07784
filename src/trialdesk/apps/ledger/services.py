"""Appending to the ledger. Callers are services that write data in the same transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from trialdesk import clock
from trialdesk.errors import UserError

from .chain import GENESIS, entry_hash, verify
from .models import CHANNELS, LedgerEntry

_CHANNELS = {code for code, _ in CHANNELS}
# Any constant identifies the ledger's advisory lock on PostgreSQL.
_PG_LOCK_KEY = 7_220_011


@dataclass(frozen=True)
class Context:
    """Who is acting, through which channel, under which protocol: passed into every service."""

    actor: str
    channel: str
    protocol_hash: str = ""

    def __post_init__(self) -> None:
        if self.channel not in _CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")


def as_json(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def _serialise_appends() -> None:
    # The chain needs a total order: on PostgreSQL concurrent writers take this transaction-scoped
    # lock; SQLite already runs one write transaction at a time (BEGIN IMMEDIATE, see settings).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])


def append(
    context: Context,
    *,
    action: str,
    entity: str,
    entity_id: object = "",
    field: str = "",
    old: Any = None,
    new: Any = None,
    reason: str = "",
    site: str = "",
    participant: str = "",
    require_reason: bool = False,
) -> LedgerEntry:
    """Append one entry. Must run inside the caller's ``transaction.atomic`` with the data it records."""
    if not connection.in_atomic_block:
        raise RuntimeError("ledger.append must run inside the transaction that writes the data")
    if require_reason and not reason.strip():
        raise UserError(f"a reason is required to change {entity} {entity_id} {field}".rstrip())
    _serialise_appends()
    last = LedgerEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
    values = {
        "seq": seq,
        "at": clock.now(),
        "actor": context.actor,
        "channel": context.channel,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "field": field,
        "old_value": as_json(old),
        "new_value": as_json(new),
        "reason": reason,
        "site": site,
        "participant": participant,
        "protocol_hash": context.protocol_hash,
        "prev_hash": prev_hash,
    }
    values["hash"] = entry_hash(values)
    return LedgerEntry.objects.create(**values)


def verify_ledger(chunk_size: int = 5000):
    """Verify the whole chain, streaming rows in order."""
    with transaction.atomic():
        rows = LedgerEntry.objects.order_by("seq").values().iterator(chunk_size=chunk_size)
        return verify(rows)
