"""Data queries: list, read the thread, raise (data management), answer (site), close and re-open."""

import datetime as dt

from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Schema

from trialdesk.apps.assessments.models import Visit
from trialdesk.apps.datamanagement import queries as services
from trialdesk.apps.datamanagement.models import Query as DataQuery

from ..errors import invalid
from ..registry import Routes, Rule, check_object, participant_for, unseen
from .common import CODE, MAX_LIMIT, TRIAL_ID, context_for, respond

routes = Routes("", "queries")
QueryId = Path(..., ge=1, le=2**31 - 1)
WORK_ON_QUERIES = ("manage-queries", "answer-queries")


class MessageOut(Schema):
    kind: str
    author: str
    at: dt.datetime
    text: str


class QueryOut(Schema):
    id: int
    trial_id: str
    site: str
    visit: str | None
    instrument: str
    field: str
    origin: str
    status: str
    raised_by: str
    raised_at: dt.datetime
    updated_at: dt.datetime


class QueryDetail(QueryOut):
    thread: list[MessageOut]


class QueryList(Schema):
    total: int
    items: list[QueryOut]


class RaiseIn(Schema):
    text: str = Field(..., max_length=4000)
    visit: str | None = Field(None, pattern=CODE)
    instrument: str = Field("", max_length=40)
    field: str = Field("", max_length=60)


class TextIn(Schema):
    text: str = Field("", max_length=4000)


def query_out(query: DataQuery) -> QueryOut:
    return QueryOut(
        id=query.pk, trial_id=query.participant.trial_id, site=query.site.code,
        visit=query.visit.code if query.visit_id else None, instrument=query.instrument, field=query.field,
        origin=query.origin, status=query.status, raised_by=query.raised_by, raised_at=query.raised_at,
        updated_at=query.updated_at,
    )  # fmt: skip


def detail(query: DataQuery) -> QueryDetail:
    thread = [MessageOut(kind=m.kind, author=m.author, at=m.at, text=m.text) for m in query.messages.all()]
    return QueryDetail(**query_out(query).model_dump(), thread=thread)


def _query(request, pk: int) -> DataQuery:
    """The query if the operation's rule allows it on its site; 404 when the caller cannot see it."""
    query = DataQuery.objects.select_related("participant", "site", "visit").filter(pk=pk).first()
    if query is None or not services.visible_queries(request.user).filter(pk=pk).exists():
        raise unseen(request, _("query #%(number)s") % {"number": pk})
    check_object(request, query, True, _("query #%(number)s") % {"number": pk})
    return query


@routes.get("/queries", rule=Rule("trial", any_of=WORK_ON_QUERIES), response=QueryList)
def list_queries(
    request,
    status: str = Query("unresolved", pattern="^(unresolved|open|answered|closed|all)$"),
    site: str | None = Query(None, max_length=20),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=10**9),
):
    """Queries at the caller's sites (every site for data managers), newest first."""
    rows = services.visible_queries(request.user)
    if status == "unresolved":
        rows = rows.exclude(status="closed")
    elif status != "all":
        rows = rows.filter(status=status)
    if site:
        rows = rows.filter(site__code=site)
    return QueryList(total=rows.count(), items=[query_out(q) for q in rows[offset:offset + limit]])


@routes.get("/queries/{pk}", rule=Rule("query", any_of=WORK_ON_QUERIES), response=QueryDetail)
def read_query(request, pk: int = QueryId):
    """A query with its whole thread."""
    return detail(_query(request, pk))


@routes.post("/participants/{trial_id}/queries", rule=Rule("participant", ("manage-queries",)),
             response=QueryDetail)  # fmt: skip
def raise_query(request, payload: RaiseIn, trial_id: str = Path(..., pattern=TRIAL_ID)):
    """Raise a query on a participant's data (optionally a visit, instrument and field)."""
    participant = participant_for(request, trial_id)
    visit = None
    if payload.visit:
        visit = Visit.objects.filter(participant=participant, code=payload.visit).first()
        if visit is None:
            raise invalid("visit", _("%(trial_id)s has no visit %(visit)s scheduled") % {
                "trial_id": participant.trial_id, "visit": repr(payload.visit)})
    query = services.raise_query(participant, context_for(request), user=request.user, text=payload.text,
                                 visit=visit, instrument=payload.instrument.strip(), field=payload.field)
    return respond(201, detail(query).model_dump(mode="json"))


def _act(request, pk: int, action, text: str):
    query = _query(request, pk)
    return detail(action(query, context_for(request), user=request.user, text=text))


@routes.post("/queries/{pk}/answer", rule=Rule("query", ("answer-queries",)), response=QueryDetail,
             statuses=(200,))  # fmt: skip
def answer(request, payload: TextIn, pk: int = QueryId):
    """The site's answer to an open query."""
    return _act(request, pk, services.answer, payload.text)


@routes.post("/queries/{pk}/close", rule=Rule("query", ("manage-queries",)), response=QueryDetail,
             statuses=(200,))  # fmt: skip
def close(request, payload: TextIn, pk: int = QueryId):
    """Close a query (an unanswered one needs a text saying why)."""
    return _act(request, pk, services.close, payload.text)


@routes.post("/queries/{pk}/reopen", rule=Rule("query", ("manage-queries",)), response=QueryDetail,
             statuses=(200,))  # fmt: skip
def reopen(request, payload: TextIn, pk: int = QueryId):
    """Re-open a closed or answered query, saying why."""
    return _act(request, pk, services.reopen, payload.text)
