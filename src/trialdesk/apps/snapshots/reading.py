"""A consistent read of the whole database: every query of an export, snapshot or backup sees one state."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def consistent_read() -> Iterator[None]:
    """One transaction that sees a single state of the database for its whole length.

    PostgreSQL: REPEATABLE READ (a snapshot taken at the first query). SQLite: the transaction itself
    (BEGIN IMMEDIATE, see settings) holds the write lock, so no writer commits while it reads.
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        # Inside a caller's transaction the isolation level is already fixed; it must be set first.
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield
