"""The one clock every service reads, so tests can freeze time (design principle 8)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)  # noqa: E731


def now() -> dt.datetime:
    """Current time, timezone-aware UTC."""
    return _now()


def today() -> dt.date:
    return now().date()


@contextmanager
def frozen(at: dt.datetime) -> Iterator[None]:
    """Freeze :func:`now` at ``at`` (made UTC-aware if naive) inside the block."""
    global _now  # noqa: PLW0603 - the clock is deliberately process-wide
    previous = _now
    fixed = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    _now = lambda: fixed  # noqa: E731
    try:
        yield
    finally:
        _now = previous
