"""Reviewing the audit ledger: one filter for the page, the CSV download and ``trialdesk audit export``.

Blinded reviewers never see entries that reveal allocation (the rule is ``ledger.visibility``); reviewers
bound to a site see that site's entries only.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from trialdesk.apps.accounts.permissions import allowed, sites_for
from trialdesk.apps.ledger.models import CHANNELS, LedgerEntry
from trialdesk.apps.ledger.visibility import visible_entries
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.trial.models import Site

COLUMNS = (
    "seq",
    "at",
    "actor",
    "channel",
    "action",
    "entity",
    "entity_id",
    "field",
    "old_value",
    "new_value",
    "reason",
    "site",
    "participant",
    "protocol_hash",
    "hash",
)


def _date(text: str, name: str) -> dt.date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(
            {name: _("%(text)s is not a date; write it as YYYY-MM-DD") % {"text": repr(text)}}
        ) from None


@dataclass(frozen=True)
class AuditFilter:
    """Every dimension is optional; dates are UTC calendar days, both ends included."""

    participant: str = ""
    user: str = ""
    entity: str = ""
    field: str = ""
    channel: str = ""
    since: dt.date | None = None
    until: dt.date | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> AuditFilter:
        """From a query string (or options); refused values name their field."""
        text = {f.name: str(params.get(f.name) or "").strip() for f in fields(cls)}
        problems = {}
        if text["channel"] and text["channel"] not in {code for code, _ in CHANNELS}:
            problems["channel"] = _("unknown channel %(text)s") % {"text": repr(text['channel'])}
        dates = {}
        for name in ("since", "until"):
            try:
                dates[name] = _date(text[name], name)
            except InputError as refused:
                problems.update(refused.fields)
        if not problems and dates["since"] and dates["until"] and dates["since"] > dates["until"]:
            problems["until"] = _("the end date is before the start date")
        if problems:
            raise InputError(problems)
        return cls(
            text["participant"],
            text["user"],
            text["entity"],
            text["field"],
            text["channel"],
            dates["since"],
            dates["until"],
        )

    def apply(self, entries: QuerySet) -> QuerySet:
        exact = {
            "participant": self.participant,
            "actor": self.user,
            "entity": self.entity,
            "field": self.field,
            "channel": self.channel,
        }
        entries = entries.filter(**{name: value for name, value in exact.items() if value})
        if self.since:
            entries = entries.filter(at__gte=dt.datetime.combine(self.since, dt.time(), tzinfo=dt.UTC))
        if self.until:
            end = dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
            entries = entries.filter(at__lt=end)
        return entries

    def query_string(self) -> str:
        from urllib.parse import urlencode

        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return urlencode({k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items() if v})


def reviewable(user: Any | None) -> QuerySet:
    """The entries ``user`` may review (``None``: the command line's operator, who sees everything)."""
    entries = LedgerEntry.objects.all()
    if user is None:
        return entries
    if not allowed(user, "view-audit"):
        return entries.none()
    entries = visible_entries(entries, user)
    sites = sites_for(user, "view-audit")
    if sites is not None:
        entries = entries.filter(site__in=Site.objects.filter(pk__in=sites).values("code"))
    return entries


def entries_for(user: Any | None, audit_filter: AuditFilter) -> QuerySet:
    return audit_filter.apply(reviewable(user)).order_by("seq")


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(entries: QuerySet, chunk_size: int = 2000) -> Iterator[str]:
    """The entries as CSV lines, header first, read from the database in chunks (memory stays flat)."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow(COLUMNS)
    for row in entries.values_list(*COLUMNS).iterator(chunk_size=chunk_size):
        yield writer.writerow(
            [value.isoformat() if isinstance(value, dt.datetime) else value for value in row]
        )
