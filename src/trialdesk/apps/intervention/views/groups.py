"""Group list and detail, the waiting list and placement, moves and group status changes."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trialdesk import clock
from trialdesk.apps.accounts.permissions import allowed
from trialdesk.errors import UserError

from .. import services
from ..forms import GroupActionForm, GroupForm, LeaveForm, PlaceForm
from ..models import Group, GroupMembership
from ..services.common import local_today
from .common import context_for, group_for, require_groups, visible_sites


def _groups(user):
    return (
        Group.objects.filter(site__in=visible_sites(user))
        .select_related("site")
        .prefetch_related("facilitators")
    )


def _open_groups(user, site=None):
    groups = _groups(user).filter(status__in=[Group.FORMING, Group.RUNNING])
    return groups.filter(site=site) if site is not None else groups


@login_required
def group_list(request):
    require_groups(request)
    manage_sites = visible_sites(request.user, ("manage-groups",))
    form = GroupForm(request.POST or None, sites=manage_sites) if manage_sites.exists() else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied("your role does not allow: manage-groups")
        if form.is_valid():
            data = form.cleaned_data
            try:
                group = services.create_group(
                    data["site"],
                    data["name"],
                    facilitators=list(data["facilitators"]),
                    planned_start=data["planned_start"],
                    weekday=data["weekday"],
                    start_time=data["start_time"],
                    context=context_for(request),
                )
            except UserError as problem:
                form.add_error(None, str(problem))
            else:
                messages.success(request, _("Group %(name)s created.") % {"name": group.name})
                return redirect("intervention:group", pk=group.pk)
    status = 400 if form is not None and form.errors else 200
    return render(
        request,
        "intervention/group_list.html",
        {"groups": _groups(request.user), "form": form},
        status=status,
    )


@login_required
def group_detail(request, pk: int):
    group = group_for(request, pk)
    today = local_today()
    members = services.members_on(group, today) if group.status != Group.FINISHED else []
    history = group.memberships.select_related("participant").order_by("placed_on", "id")
    manage = allowed(request.user, "manage-groups", group)
    return render(
        request,
        "intervention/group_detail.html",
        {
            "group": group,
            "members": members,
            "history": history,
            "manage": manage,
            "run": allowed(request.user, "run-sessions", group),
            "sessions": group.sessions.order_by("number"),
            "action_form": GroupActionForm(initial={"on": today}) if manage else None,
            "leave_form": LeaveForm(
                groups=_open_groups(request.user, group.site).exclude(pk=group.pk), initial={"on": today}
            )
            if manage
            else None,
            "flags": services.flagged(group),
        },
    )


@login_required
@require_POST
def group_action(request, pk: int):
    group = group_for(request, pk, "manage-groups")
    form = GroupActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an action."))
        return redirect("intervention:group", pk=pk)
    data, context = form.cleaned_data, context_for(request)
    on = data["on"] or local_today()
    try:
        if data["action"] == "schedule":
            made = services.generate_schedule(
                group, context, on_holiday="skip" if data["skip_holidays"] else "mark"
            )
            messages.success(request, _("%(count)s sessions scheduled.") % {"count": len(made)})
        elif data["action"] == "start":
            services.start(group, on, context)
        elif data["action"] == "finish":
            services.finish(group, on, context)
        else:
            services.stop(group, on, data["reason"], context)
    except UserError as problem:
        messages.error(request, str(problem))
    return redirect("intervention:group", pk=pk)


@login_required
def waiting_list(request):
    """Intervention-arm participants at my sites not yet placed, with a placement form per row."""
    sites = visible_sites(request.user, ("manage-groups",))
    if not sites.exists():
        raise PermissionDenied("your role does not allow: manage-groups")
    waiting = [p for p in services.waiting() if p.site_id in {s.pk for s in sites}]
    problem = ""
    if request.method == "POST":
        chosen = next((p for p in waiting if p.trial_id == request.POST.get("trial_id")), None)
        if chosen is None:
            raise Http404("no such waiting participant")
        form = PlaceForm(request.POST, groups=_open_groups(request.user, chosen.site))
        if form.is_valid():
            try:
                services.place(
                    chosen, form.cleaned_data["group"], form.cleaned_data["on"], context_for(request)
                )
            except UserError as refused:
                problem = str(refused)
            else:
                messages.success(request, _("%(trial_id)s placed in %(group)s.")
                                 % {"trial_id": chosen.trial_id, "group": form.cleaned_data["group"].name})
                return redirect("intervention:waiting")
        else:
            problem = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
    rows = [
        (p, PlaceForm(groups=_open_groups(request.user, p.site), initial={"on": local_today()}))
        for p in waiting
    ]
    return render(
        request,
        "intervention/waiting.html",
        {"rows": rows, "problem": problem, "today": clock.today()},
        status=400 if problem else 200,
    )


@login_required
@require_POST
def leave(request, pk: int):
    """Move a member to another group, or take them out of the group; both need a reason."""
    membership = GroupMembership.objects.select_related("group__site", "participant").filter(pk=pk).first()
    if membership is None:
        raise Http404("no such membership")
    group = group_for(request, membership.group_id, "manage-groups")
    form = LeaveForm(request.POST, groups=_open_groups(request.user, group.site))
    if not form.is_valid():
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect("intervention:group", pk=group.pk)
    data, context = form.cleaned_data, context_for(request)
    try:
        if data["to"] is not None:
            services.move(membership.participant, data["to"], data["on"], data["reason"], context)
        else:
            services.remove(membership.participant, data["on"], data["reason"], context)
    except UserError as problem:
        messages.error(request, str(problem))
    return redirect("intervention:group", pk=group.pk)
