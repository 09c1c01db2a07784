"""Queries (discrepancy management): raised by hand or by edit checks, answered by the site, closed or
re-opened by data management, with the whole thread kept. The only writer of Query and QueryMessage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.accounts.permissions import allowed, sites_for
from trialdesk.apps.assessments.models import Assessment, Visit
from trialdesk.apps.assessments.services.schedule import randomised_on
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.problems import InputError
from trialdesk.errors import UserError
from trialdesk.instruments import get_library, run_checks

from .crosschecks import DatedForm, cross_visit_findings
from .models import ANSWERED, CLOSED, OPEN, Query, QueryMessage

SYSTEM = "edit check"


def _record(context: Context, query: Query, action: str, text: str) -> None:
    append(
        context,
        action=action,
        entity="query",
        entity_id=query.pk,
        field=query.field,
        new={"status": query.status, "target": query.target, "text": text},
        site=query.site.code,
        participant=query.participant.trial_id,
    )


def _message(query: Query, kind: str, author: str, text: str, now: dt.datetime) -> None:
    QueryMessage.objects.create(query=query, kind=kind, author=author, at=now, text=text)


def visible_queries(user: Any) -> QuerySet:
    """Queries ``user`` may see: every site's for data managers, their own site's for site staff."""
    queryset = Query.objects.select_related("participant", "site", "visit")
    sites: set[int] = set()
    for action in ("manage-queries", "answer-queries"):
        found = sites_for(user, action)
        if found is None:
            return queryset
        sites |= found
    return queryset.filter(site_id__in=sites)


def raise_query(
    participant: Participant,
    context: Context,
    *,
    user: Any,
    text: str,
    visit: Visit | None = None,
    instrument: str = "",
    field: str = "",
) -> Query:
    """Raise a query by hand on a participant's field (a data manager's question to the site)."""
    if not allowed(user, "manage-queries", participant):
        raise UserError(_("your role does not allow raising queries (manage-queries)"))
    problems = {}
    if not text.strip():
        problems["text"] = _("say what the site should check")
    if instrument and instrument not in get_library().codes():
        problems["instrument"] = _("unknown instrument %(instrument)s") % {"instrument": repr(instrument)}
    if visit is not None and visit.participant_id != participant.pk:
        problems["visit"] = _("visit %(visit_code)s is not %(trial_id)s's") % {
            "visit_code": visit.code, "trial_id": participant.trial_id}
    if problems:
        raise InputError(problems)
    with transaction.atomic():
        now = clock.now()
        query = Query.objects.create(
            participant=participant, site=participant.site, visit=visit, instrument=instrument,
            field=field.strip(), origin="manual", raised_by=context.actor, raised_at=now, updated_at=now,
        )  # fmt: skip
        _message(query, "raise", context.actor, text.strip(), now)
        _record(context, query, "raise", text.strip())
    return query


def _move(query: Query, context: Context, *, kind: str, status: str, text: str) -> Query:
    with transaction.atomic():
        locked = Query.objects.select_for_update().select_related("participant", "site").get(pk=query.pk)
        if kind == "answer" and locked.status != OPEN:
            raise UserError(_(
                "query #%(number)s is %(status)s: only an open query can be answered"
            ) % {"number": locked.pk, "status": locked.status})
        if kind == "reopen" and locked.status == OPEN:
            raise UserError(_("query #%(number)s is already open") % {"number": locked.pk})
        if kind == "close" and locked.status == CLOSED:
            raise UserError(_("query #%(number)s is already closed") % {"number": locked.pk})
        now = clock.now()
        locked.status, locked.updated_at = status, now
        locked.closed_at = now if status == CLOSED else None
        locked.save(update_fields=["status", "updated_at", "closed_at"])
        _message(locked, kind, context.actor, text, now)
        _record(context, locked, kind, text)
    return locked


def answer(query: Query, context: Context, *, user: Any, text: str) -> Query:
    if not allowed(user, "answer-queries", query):
        raise UserError(_("your role does not allow answering this site's queries (answer-queries)"))
    if not text.strip():
        raise InputError({"text": _("an answer is required")})
    return _move(query, context, kind="answer", status=ANSWERED, text=text.strip())


def close(query: Query, context: Context, *, user: Any, text: str = "") -> Query:
    if not allowed(user, "manage-queries", query):
        raise UserError(_("your role does not allow closing queries (manage-queries)"))
    if query.status == OPEN and not text.strip():
        raise InputError({"text": _("say why an unanswered query is closed")})
    return _move(query, context, kind="close", status=CLOSED, text=text.strip() or "closed")


def reopen(query: Query, context: Context, *, user: Any, text: str) -> Query:
    if not allowed(user, "manage-queries", query):
        raise UserError(_("your role does not allow re-opening queries (manage-queries)"))
    if not text.strip():
        raise InputError({"text": _("say why the query is re-opened")})
    return _move(query, context, kind="reopen", status=OPEN, text=text.strip())


def _dated_forms(participant: Participant) -> tuple[list[DatedForm], dict[str, Visit]]:
    """The participant's complete, dated forms for the cross-visit checks, and their visits by code (the
    checks' findings name only visits that have such forms)."""
    forms = Assessment.objects.filter(participant=participant, status="complete", assessed_on__isnull=False)
    dated, visits = [], {}
    for a in forms.select_related("visit"):
        visits[a.visit.code] = a.visit
        dated.append(DatedForm(a.visit.code, a.visit.sequence, a.visit.month, a.visit.before_randomisation,
                               a.instrument, a.assessed_on))  # fmt: skip
    return dated, visits


@dataclass(frozen=True)
class _Wanted:
    visit: Visit
    instrument: str
    field: str
    check: str
    message: str


def raise_automatic_queries(assessment: Assessment, context: Context) -> list[Query]:
    """Run the edit checks after ``assessment`` was completed or changed; called by the assessments service
    inside its transaction. Raises a query per new finding, leaves existing ones alone, and closes (with a
    message) automatic queries whose check no longer fires. Returns the queries raised."""
    return raise_automatic_queries_many([assessment], context)


def raise_automatic_queries_many(assessments: list[Assessment], context: Context) -> list[Query]:
    """:func:`raise_automatic_queries` for several forms of one participant entered together: each form's
    own checks, and the cross-visit checks once."""
    if not assessments:
        return []
    participant = assessments[0].participant
    wanted: list[_Wanted] = []
    for assessment in assessments:
        if assessment.status == "complete":
            wanted += [
                _Wanted(assessment.visit, f.instrument, f.target, f"{f.instrument}.{f.check}", f.message)
                for f in run_checks(assessment.instrument, assessment.values())
            ]
    dated, visits = _dated_forms(participant)
    wanted += [
        _Wanted(visits[f.visit], f.instrument, f.field, f.check, f.message)
        for f in cross_visit_findings(dated, randomised_on(participant))
    ]
    current = list(
        Query.objects.filter(participant=participant, origin="automatic").exclude(status=CLOSED)
        .select_related("participant", "site")
    )  # fmt: skip
    # In reach of this change: the cross-visit queries, and the form checks of the forms entered.
    entered = {(assessment.visit.pk, assessment.instrument) for assessment in assessments}
    in_reach = [q for q in current
                if q.check_code.startswith("visit.") or (q.visit_id, q.instrument) in entered]  # fmt: skip
    keys = {(w.visit.pk, w.instrument, w.field, w.check) for w in wanted}
    now = clock.now()
    for stale in in_reach:
        if (stale.visit_id, stale.instrument, stale.field, stale.check_code) not in keys:
            text = f"the edit check no longer fires after a change by {context.actor}"
            stale.status, stale.updated_at, stale.closed_at = CLOSED, now, now
            stale.save(update_fields=["status", "updated_at", "closed_at"])
            _message(stale, "auto-close", SYSTEM, text, now)
            _record(context, stale, "auto-close", text)
    existing = {(q.visit_id, q.instrument, q.field, q.check_code) for q in current}
    raised = []
    for want in wanted:
        if (want.visit.pk, want.instrument, want.field, want.check) in existing:
            continue
        query = Query.objects.create(
            participant=participant, site_id=participant.site_id, visit=want.visit,
            instrument=want.instrument, field=want.field, origin="automatic", check_code=want.check,
            raised_by=SYSTEM, raised_at=now, updated_at=now,
        )  # fmt: skip
        _message(query, "raise", SYSTEM, want.message, now)
        _record(context, query, "raise", want.message)
        existing.add((want.visit.pk, want.instrument, want.field, want.check))
        raised.append(query)
    return raised


@dataclass(frozen=True)
class SiteSummary:
    site: str
    open: int
    answered: int
    closed: int
    oldest_open_days: int | None
    median_open_days: float | None


def site_summaries(queries: QuerySet, today: dt.date | None = None) -> list[SiteSummary]:
    """Counts by status and the ages (days since raised) of unresolved queries, per site."""
    today = today or clock.today()
    by_site: dict[str, dict[str, Any]] = {}
    for code, status, raised_at in queries.values_list("site__code", "status", "raised_at"):
        row = by_site.setdefault(code, {OPEN: 0, ANSWERED: 0, CLOSED: 0, "ages": []})
        row[status] += 1
        if status != CLOSED:
            row["ages"].append((today - raised_at.date()).days)
    summaries = []
    for code in sorted(by_site):
        row = by_site[code]
        ages = sorted(row["ages"])
        median = None
        if ages:
            middle = len(ages) // 2
            median = float(ages[middle]) if len(ages) % 2 else (ages[middle - 1] + ages[middle]) / 2
        summaries.append(
            SiteSummary(code, row[OPEN], row[ANSWERED], row[CLOSED], max(ages) if ages else None, median)
        )
    return summaries
