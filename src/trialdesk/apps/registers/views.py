"""Register import pages, for personal-data key holders only (``allowed(user, "import-registers")``).

An upload is checked while the user waits (type, size, header row) and then imported in the background
(``jobs``); its job's page shows the progress to the key holder who started it.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render

from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.trial.services import active_hash
from trialdesk.errors import UserError
from trialdesk.web.partials import render_page

from . import jobs, reader
from .forms import UploadForm
from .models import RegisterImport, RegisterImportJob


def _require_key_holder(request) -> None:
    if not allowed(request.user, "import-registers"):
        raise PermissionDenied("importing register extracts needs the personal-data key holder permission")


@login_required
def upload(request):
    """Upload an extract: field errors for what can be checked at once; otherwise its job's page."""
    _require_key_holder(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        context = Context(actor=request.user.get_username(), channel="web", protocol_hash=active_hash())
        try:
            data = form.cleaned_data
            job = jobs.start(form.extract_bytes, data["extract"].name, context, user=request.user,
                             accept_unmatched=data["accept_unmatched"])  # fmt: skip
        except UserError as refused:
            form.add_error(None, str(refused))
        else:
            return redirect("registers:job", pk=job.pk)
    return render(
        request,
        "registers/upload.html",
        {"form": form, "jobs": RegisterImportJob.objects.filter(user=request.user)[:20],
         "imports": RegisterImport.objects.all()[:50], "columns": reader.COLUMNS, "events": reader.EVENTS},
        status=400 if form.errors else 200,
    )


@login_required
def job(request, pk: int):
    """One import job, to the key holder who started it (anyone else: no such job). htmx polls the progress
    region while the job waits or runs; without JavaScript the page reloads itself."""
    _require_key_holder(request)
    mine = RegisterImportJob.objects.filter(user=request.user).select_related("register_import")
    found = get_object_or_404(mine, pk=pk)
    return render_page(request, "registers/job.html", "registers/_job_progress.html", {
        "job": found, "percent": round(100 * found.progress), "refresh": found.active,
        "problems": found.error.splitlines(),
    })  # fmt: skip


@login_required
def detail(request, pk: int):
    """The stored reconciliation report of one import."""
    _require_key_holder(request)
    register_import = get_object_or_404(RegisterImport, pk=pk)
    context = {"imp": register_import, "report": register_import.report}
    return render(request, "registers/detail.html", context)
