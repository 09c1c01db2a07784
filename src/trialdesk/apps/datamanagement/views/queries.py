"""Query pages: the list with counts and ages per site, raising a query, a query's thread and its actions."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.assessments.models import Visit
from trialdesk.errors import UserError
from trialdesk.instruments import get_library
from trialdesk.web.partials import render_page, wants_partial

from .. import queries
from ..models import Query
from .common import errors_of, participant_for, web_context


def _may_see_queries(request) -> None:
    if not (allowed(request.user, "manage-queries") or allowed(request.user, "answer-queries")):
        raise PermissionDenied("your role does not allow working with queries")


@login_required
def query_list(request):
    _may_see_queries(request)
    visible = queries.visible_queries(request.user)
    status = request.GET.get("status", "unresolved")
    shown = (
        visible.exclude(status="closed")
        if status == "unresolved"
        else (visible.filter(status=status) if status in ("open", "answered", "closed") else visible)
    )
    site = request.GET.get("site", "")
    if site:
        shown = shown.filter(site__code=site)
    page = Paginator(shown, 50).get_page(request.GET.get("page"))
    query_string = urlencode({"status": status, **({"site": site} if site else {})})
    return render_page(request, "datamanagement/queries.html", "datamanagement/_query_results.html", {
        "page": page, "status": status, "site": site, "query_string": query_string,
        "summaries": queries.site_summaries(visible) if not wants_partial(request) else [],
        "may_raise": allowed(request.user, "manage-queries"),
    })  # fmt: skip


@login_required
def raise_query(request, trial_id: str):
    participant = participant_for(request, trial_id, "manage-queries")
    visits = list(Visit.objects.filter(participant=participant).order_by("sequence"))
    errors: dict[str, str] = {}
    problem = ""
    if request.method == "POST":
        code = request.POST.get("visit", "")
        visit = next((v for v in visits if v.code == code), None)
        if code and visit is None:
            errors["visit"] = _("unknown visit %(code)s") % {"code": repr(code)}
        else:
            try:
                query = queries.raise_query(
                    participant, web_context(request), user=request.user, text=request.POST.get("text", ""),
                    visit=visit, instrument=request.POST.get("instrument", "").strip(),
                    field=request.POST.get("field", ""),
                )  # fmt: skip
            except UserError as refused:
                errors, problem = errors_of(refused)
            else:
                messages.success(request, _("Query #%(number)s raised.") % {"number": query.pk})
                return redirect("datamanagement:query", pk=query.pk)
    return render(request, "datamanagement/raise_query.html", {
        "participant": participant, "visits": visits, "instruments": get_library().codes(),
        "errors": errors, "problem": problem, "values": request.POST,
    }, status=400 if errors or problem else 200)  # fmt: skip


ACTIONS = {"answer": queries.answer, "close": queries.close, "reopen": queries.reopen}


@login_required
def query_detail(request, pk: int):
    _may_see_queries(request)
    query = queries.visible_queries(request.user).filter(pk=pk).first()
    if query is None:
        raise Http404("no such query among yours")
    errors: dict[str, str] = {}
    problem = done = ""
    if request.method == "POST":
        action = ACTIONS.get(request.POST.get("action", ""))
        if action is None:
            problem = _("unknown action")
        else:
            try:
                action(query, web_context(request), user=request.user, text=request.POST.get("text", ""))
            except UserError as refused:
                errors, problem = errors_of(refused)
            else:
                done = _("Query #%(number)s updated.") % {"number": query.pk}
                if not wants_partial(request):
                    messages.success(request, done)
                    return redirect("datamanagement:query", pk=query.pk)
                # htmx: the updated thread and actions replace the old ones in place.
                query.refresh_from_db()
    return render_page(request, "datamanagement/query.html", "datamanagement/_query_work.html", {
        "query": query, "thread": query.messages.all(), "errors": errors, "problem": problem, "done": done,
        "may_answer": allowed(request.user, "answer-queries", query) and query.status == "open",
        "may_manage": allowed(request.user, "manage-queries", query),
        "text": "" if done else request.POST.get("text", ""),
    }, status=400 if errors or problem else 200)  # fmt: skip


def open_queries_of(participant) -> list[Query]:
    return list(
        Query.objects.filter(participant=participant).exclude(status="closed").select_related("visit")
    )
