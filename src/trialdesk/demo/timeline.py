"""Simulated time: every service call of the demo runs with the clock frozen on the day it happens.

Services date their records and ledger entries by :func:`trialdesk.clock.now` and refuse dates after
:func:`trialdesk.clock.today`, so freezing the clock at midday (UTC, the same calendar day in
Copenhagen) on the event's date makes the records those of the simulated trial.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from trialdesk import clock

#: Midday UTC is 13:00 or 14:00 in Copenhagen: the same calendar date in both zones.
MIDDAY = dt.time(12, 0)


@contextmanager
def on(day: dt.date, at: dt.time = MIDDAY) -> Iterator[None]:
    """Run the block as if it were ``day`` (``at`` UTC)."""
    with clock.frozen(dt.datetime.combine(day, at, tzinfo=dt.UTC)):
        yield


def as_date(value: object) -> dt.date:
    """A date from a frame cell (datetime.date, pandas Timestamp or ISO text)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "date"):
        return value.date()  # pandas Timestamp
    return dt.date.fromisoformat(str(value))
