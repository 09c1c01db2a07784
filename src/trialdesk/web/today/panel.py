"""A home-page panel: a titled small table with a count, an empty state and a link to the full page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext, ngettext

from ..access import ACCESS

#: Rows shown per panel; the panel links to its full page for the rest.
LIMIT = 8
#: Above this many ledger entries the home page does not re-check the hash chain on every visit.
LIVE_VERIFY_LIMIT = 20_000


@dataclass(frozen=True)
class Cell:
    text: str
    url: str = ""
    tag: str = ""  # "bad", "good", "warn": shown as a coloured tag


@dataclass
class Panel:
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    total: int | None = None  # when more rows exist than are shown
    empty: str = field(default_factory=lambda: gettext("Nothing to do."))  # in the language of the request
    more: tuple[str, str] | None = None  # (label, url)
    attention: bool = False  # the count needs action now (overdue, failed, ...)
    note: str = ""
    counted: bool = True  # False: a status panel, whose row count means nothing

    @property
    def count(self) -> int:
        return self.total if self.total is not None else len(self.rows)


def url(name: str, *args: Any) -> str:
    return reverse(name, args=args)


def may(user: Any, url_name: str, obj: Any = None) -> bool:
    return ACCESS[url_name].allows(user, obj)


def days_since(since: dt.datetime | dt.date | None, today: dt.date) -> str:
    if since is None:
        return ""
    day = since.date() if isinstance(since, dt.datetime) else since
    n = (today - day).days
    return gettext("today") if n <= 0 else ngettext("%(count)s day", "%(count)s days", n) % {"count": n}
