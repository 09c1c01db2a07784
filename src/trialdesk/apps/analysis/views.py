"""Analysis runs (start, progress), the open and closed report, and the monitoring dashboards."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.ledger.services import Context
from trialdesk.errors import UserError
from trialdesk.web.partials import render_page

from . import dashboards, services
from .models import AnalysisRun
from .reports import report_html


def _need(request, *actions: str) -> None:
    if not any(allowed(request.user, a) for a in actions):
        raise PermissionDenied("not allowed")


@login_required
@require_http_methods(["GET", "POST"])
def runs(request):
    _need(request, "run-analysis")
    error = ""
    if request.method == "POST":
        context = Context(actor=request.user.get_username(), channel="web")
        try:
            run = services.enqueue(services.create_run(context, request.POST.get("snapshot") or None))
        except UserError as problem:
            error = str(problem)
        else:
            return redirect("analysis:run", pk=run.pk)
    from trialdesk.apps.snapshots.models import Snapshot

    return render(
        request,
        "analysis/runs.html",
        {
            "runs": AnalysisRun.objects.select_related("snapshot")[:50],
            "error": error,
            # Only what the plan accepts: a blinded snapshot (the lock's own) would be refused.
            "snapshots": Snapshot.objects.filter(blinded=False)[:20],
        },
    )


@login_required
def run(request, pk: int):
    _need(request, "run-analysis")
    found = get_object_or_404(AnalysisRun.objects.select_related("snapshot"), pk=pk)
    return render_page(
        request,
        "analysis/run.html",
        "analysis/_run_progress.html",
        {
            "run": found,
            "percent": round(100 * found.progress),
            "refresh": found.status in (AnalysisRun.QUEUED, AnalysisRun.RUNNING),
            "closed": allowed(request.user, "view-closed-report"),
        },
    )


@login_required
def report(request, pk: int, version: str):
    closed = version == "closed"
    if closed:
        _need(request, "view-closed-report")
    else:
        _need(request, "run-analysis", "view-dashboards")
    found = get_object_or_404(AnalysisRun, pk=pk, status=AnalysisRun.DONE)
    try:
        html = report_html(found, closed=closed, user=request.user)
    except UserError as problem:
        raise PermissionDenied(str(problem)) from None
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    # The report is one self-contained page of our own escaped markup with inline styles and SVG.
    response._csp_exempt = True  # type: ignore[attr-defined]
    return response


@login_required
def dashboard(request):
    _need(request, "view-dashboards")
    return render(
        request,
        "analysis/dashboard.html",
        {
            "d": dashboards.dashboard(by_arm=False),
            "by_arm": False,
            "closed": allowed(request.user, "view-closed-report"),
        },
    )


@login_required
def dashboard_by_arm(request):
    _need(request, "view-closed-report")
    return render(
        request,
        "analysis/dashboard.html",
        {"d": dashboards.dashboard(by_arm=True), "by_arm": True, "closed": True},
    )
