"""Appending to the ledger. Callers are services that write data in the same transaction."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.errors import UserError

from .chain import GENESIS, HASHED_FIELDS, entry_hash, verify
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


@dataclass(frozen=True)
class Change:
    """One fact to record; ``append`` and ``append_many`` take these fields."""

    action: str
    entity: str
    entity_id: object = ""
    field: str = ""
    old: Any = None
    new: Any = None
    reason: str = ""
    site: str = ""
    participant: str = ""
    require_reason: bool = False


#: Checks every append runs first (data management registers its lock check); a guard raises to refuse.
GUARDS: list[Callable[[Context, list[Change]], None]] = []


def register_guard(guard: Callable[[Context, list[Change]], None]) -> None:
    if guard not in GUARDS:
        GUARDS.append(guard)


def append(context: Context, **change: Any) -> int | None:
    """Append one entry and return its ``seq`` (None inside :func:`deferred`, which numbers it later).
    Must run inside the caller's ``transaction.atomic`` with the data it records."""
    appended = append_many(context, [Change(**change)])
    return appended[0] if appended else None


#: Every write of the trial ends here, so it is written as two plain statements (the chain's head, then
#: the rows) rather than through the ORM, whose query building cost more than the database work.
_TABLE = LedgerEntry._meta.db_table
_COLUMNS = (*HASHED_FIELDS, "hash")
# Only the model's own table and column names are interpolated; every value is a parameter.
_INSERT = (f"INSERT INTO {_TABLE} ({', '.join(_COLUMNS)}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(_COLUMNS))})")  # fmt: skip
_HEAD = f"SELECT seq, hash FROM {_TABLE} ORDER BY seq DESC LIMIT 1"  # noqa: S608

#: What a :func:`deferred` block has recorded so far (None outside one): context, change and time.
_held: ContextVar[list[tuple[Context, Change, dt.datetime]] | None] = ContextVar("ledger_held", default=None)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold the entries appended inside the block and write them together as it ends.

    The ordering lock is then held from that one write to the commit, not from the block's first entry:
    a form save's schedule update and edit checks no longer run while every other writer waits. Use it
    as a service's whole unit of work inside its transaction; an exception must leave the block (one
    caught inside would leave its entries held while its data were rolled back). Nested blocks join the
    outer one.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("ledger.deferred must run inside the transaction that writes the data")
    if _held.get() is not None:
        yield
        return
    held: list[tuple[Context, Change, dt.datetime]] = []
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
    _write(held)


def append_many(context: Context, changes: Iterable[Change]) -> range:
    """Append entries in order with one lock and one batched insert (imports record thousands at once).

    Returns their ``seq`` numbers (none inside :func:`deferred`, where they are written as it ends).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("ledger.append must run inside the transaction that writes the data")
    changes = list(changes)
    for change in changes:
        if change.require_reason and not change.reason.strip():
            what = f"{change.entity} {change.entity_id} {change.field}".rstrip()
            raise UserError(_("a reason is required to change %(what)s") % {"what": what})
    at = clock.now()
    entries = [(context, change, at) for change in changes]
    held = _held.get()
    if held is not None:
        held.extend(entries)
        return range(0)
    return _write(entries)


def _write(entries: list[tuple[Context, Change, dt.datetime]]) -> range:
    if not entries:
        return range(0)
    _serialise_appends()
    # After the ordering lock: a guard then sees whatever a writer holding it (e.g. a lock) committed.
    for guard in GUARDS:
        for context, group in groupby(entries, key=lambda entry: entry[0]):
            guard(context, [change for _, change, _ in group])
    with connection.cursor() as cursor:
        cursor.execute(_HEAD)
        last = cursor.fetchone()
        seq, prev_hash = (last[0], last[1]) if last else (0, GENESIS)
        first = seq + 1
        rows = []
        for context, change, at in entries:
            seq += 1
            values = {
                "seq": seq,
                "at": at,
                "actor": context.actor,
                "channel": context.channel,
                "action": change.action,
                "entity": change.entity,
                "entity_id": str(change.entity_id),
                "field": change.field,
                "old_value": as_json(change.old),
                "new_value": as_json(change.new),
                "reason": change.reason,
                "site": change.site,
                "participant": change.participant,
                "protocol_hash": context.protocol_hash,
                "prev_hash": prev_hash,
            }
            values["hash"] = prev_hash = entry_hash(values)
            values["at"] = connection.ops.adapt_datetimefield_value(at)
            rows.append([values[column] for column in _COLUMNS])
        cursor.executemany(_INSERT, rows)
    return range(first, seq + 1)


def verify_ledger(chunk_size: int = 5000):
    """Verify the whole chain, streaming rows in order."""
    with transaction.atomic():
        rows = LedgerEntry.objects.order_by("seq").values().iterator(chunk_size=chunk_size)
        return verify(rows)
