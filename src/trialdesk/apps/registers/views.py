"""Register import pages, for personal-data key holders only (``allowed(user, "import-registers")``)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render

from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.trial.services import active_hash
from trialdesk.errors import UserError

from . import reader
from .models import RegisterImport
from .services import import_register


class UploadForm(forms.Form):
    extract = forms.FileField(label="Register extract (CSV or Excel .xlsx)")
    accept_unmatched = forms.BooleanField(
        required=False,
        label="Store the matched rows even if some CPR numbers are not in the key table",
    )


def _require_key_holder(request) -> None:
    if not allowed(request.user, "import-registers"):
        raise PermissionDenied("importing register extracts needs the personal-data key holder permission")


@login_required
def upload(request):
    """Upload an extract; on success show its reconciliation report, on refusal every problem found."""
    _require_key_holder(request)
    problems: list[str] = []
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["extract"]
        context = Context(actor=request.user.username, channel="import", protocol_hash=active_hash())
        try:
            result = import_register(
                upload.read(), upload.name, context, user=request.user,
                accept_unmatched=form.cleaned_data["accept_unmatched"],
            )  # fmt: skip
        except UserError as refused:
            problems = str(refused).splitlines()
        else:
            return redirect("registers:detail", pk=result.register_import.pk)
    return render(
        request,
        "registers/upload.html",
        {"form": form, "problems": problems, "imports": RegisterImport.objects.all()[:50],
         "columns": reader.COLUMNS, "events": reader.EVENTS},
        status=400 if problems or form.errors else 200,
    )


@login_required
def detail(request, pk: int):
    """The stored reconciliation report of one import."""
    _require_key_holder(request)
    register_import = get_object_or_404(RegisterImport, pk=pk)
    context = {"imp": register_import, "report": register_import.report}
    return render(request, "registers/detail.html", context)
