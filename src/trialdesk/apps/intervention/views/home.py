"""The facilitator's home: my groups, next session, attendance trend, flags and module progress."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from ..models import Group
from ..progress import group_progress
from .common import require_groups, visible_sites


@login_required
def home(request):
    require_groups(request)
    mine = Group.objects.filter(facilitators=request.user)
    if not mine.exists():
        # Coordinators facilitate nothing: show the groups at their sites.
        mine = Group.objects.filter(site__in=visible_sites(request.user))
    groups = mine.exclude(status__in=[Group.FINISHED, Group.STOPPED]).select_related("site").distinct()
    return render(request, "intervention/home.html", {"progress": [group_progress(g) for g in groups]})
