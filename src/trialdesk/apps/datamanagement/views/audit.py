"""Audit review: the ledger filtered by participant, user, form, field, channel and dates; CSV download."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, StreamingHttpResponse

from trialdesk import clock
from trialdesk.apps.ledger.models import CHANNELS
from trialdesk.errors import UserError
from trialdesk.web.partials import render_page

from ..audit import AuditFilter, csv_lines, entries_for, reviewable
from .common import errors_of, require

PAGE_SIZE = 50


@login_required
def review(request):
    require(request, "view-audit")
    errors: dict[str, str] = {}
    try:
        audit_filter = AuditFilter.from_params(request.GET)
    except UserError as refused:
        errors, _ = errors_of(refused)
        audit_filter = AuditFilter()
    entries = entries_for(request.user, audit_filter) if not errors else reviewable(request.user).none()
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    entities = reviewable(request.user).order_by("entity").values_list("entity", flat=True).distinct()
    return render_page(request, "datamanagement/audit.html", "datamanagement/_audit_review.html", {
        "page": page, "filter": audit_filter, "params": request.GET, "errors": errors,
        "channels": CHANNELS, "entities": list(entities), "query_string": audit_filter.query_string(),
    }, status=400 if errors else 200)  # fmt: skip


@login_required
def export_csv(request):
    """The same filter as the page, streamed as CSV (read in chunks: memory stays flat)."""
    require(request, "view-audit")
    try:
        audit_filter = AuditFilter.from_params(request.GET)
    except UserError as refused:
        return HttpResponseBadRequest(f"{refused}\n", content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(
        csv_lines(entries_for(request.user, audit_filter)), content_type="text/csv; charset=utf-8"
    )
    name = f"audit-{clock.now():%Y%m%dT%H%M%SZ}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
