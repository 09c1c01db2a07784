"""The dose table (one row per intervention-arm participant at my sites) and its CSV download."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render

from trialdesk.apps.participants.models import Participant

from ..dose import dose_frame
from .common import visible_sites


def _frame(user):
    sites = visible_sites(user)
    if not sites.exists():
        raise PermissionDenied("your role does not allow seeing the IMR dose")
    ids = set(Participant.objects.filter(site__in=sites).values_list("trial_id", flat=True))
    frame = dose_frame()
    return frame[frame["trial_id"].isin(ids)].reset_index(drop=True)


@login_required
def dose(request):
    frame = _frame(request.user)
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return render(request, "intervention/dose.html", {"rows": rows, "columns": list(frame.columns)})


@login_required
def dose_csv(request):
    frame = _frame(request.user)
    response = HttpResponse(frame.to_csv(index=False), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="imr_dose.csv"'
    return response
