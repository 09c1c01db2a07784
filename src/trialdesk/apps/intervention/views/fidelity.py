"""Fidelity ratings: the rating form for fidelity raters, reliability and drift."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from trialdesk.apps.accounts.permissions import allowed, scope
from trialdesk.apps.assessments.formspec import localised
from trialdesk.errors import UserError
from trialdesk.instruments import get_library

from .. import services
from ..forms import DoublePlanForm, FidelityForm
from ..models import FidelityRating, Group
from ..services import fidelity as fidelity_services
from ..services.common import local_today
from .common import context_for

#: Fidelity pages show group names and scores, never members: raters need not see allocations.
FIDELITY_ACTIONS = ("rate-fidelity", "manage-groups")


def _require(request) -> None:
    if not any(allowed(request.user, action) for action in FIDELITY_ACTIONS):
        raise PermissionDenied("your role does not allow: rate-fidelity")


def _ratings(user):
    action = "rate-fidelity" if allowed(user, "rate-fidelity") else "manage-groups"
    return scope(FidelityRating.objects.all(), user, action, site_field="group__site")


@login_required
def fidelity(request):
    _require(request)
    ratings = _ratings(request.user)
    plan_form = None
    if allowed(request.user, "rate-fidelity"):
        plan_form = DoublePlanForm(request.POST or None)
        if request.method == "POST" and plan_form.is_valid():
            try:
                services.set_double_rating_plan(
                    plan_form.cleaned_data["share"], context_for(request), seed=plan_form.cleaned_data["seed"]
                )
            except UserError as problem:
                plan_form.add_error(None, str(problem))
            else:
                return redirect("intervention:fidelity")
    elif request.method == "POST":
        raise PermissionDenied("your role does not allow: rate-fidelity")
    reliability = fidelity_services.reliability(ratings)
    return render(
        request,
        "intervention/fidelity.html",
        {
            "ratings": ratings.select_related("group__site", "rater").order_by("-rated_on", "-id")[:200],
            "awaiting": [r for r in services.awaiting_double() if r in ratings],
            "reliability": reliability,
            "kappa": reliability["kappa"].to_dict("records"),
            "drift_site": fidelity_services.drift("site", ratings).to_dict("records"),
            "drift_facilitator": fidelity_services.drift("facilitator", ratings).to_dict("records"),
            "plan": services.current_plan(),
            "plan_form": plan_form,
        },
    )


@login_required
def rate(request):
    if not allowed(request.user, "rate-fidelity"):
        raise PermissionDenied("your role does not allow: rate-fidelity")
    groups = scope(Group.objects.select_related("site"), request.user, "rate-fidelity")
    firsts = (
        _ratings(request.user).filter(double_of__isnull=True, double__isnull=True).exclude(rater=request.user)
    )
    instrument = get_library().get(fidelity_services.instrument_code())
    initial = {"rated_on": local_today()}
    if "double_of" in request.GET:
        first = firsts.filter(pk=request.GET["double_of"]).first()
        if first is not None:
            initial.update(double_of=first, group=first.group, source=first.source)
    items = localised(instrument).item_map  # labelled in the rater's language
    form = FidelityForm(request.POST or None, groups=groups, firsts=firsts, items=items, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            rating = services.rate(
                data["group"],
                rater=request.user,
                rated_on=data["rated_on"],
                source=data["source"],
                items=form.items(),
                context=context_for(request),
                double_of=data["double_of"],
            )
        except UserError as problem:
            form.add_error(None, str(problem))
        else:
            note = " " + _("This occasion is drawn for double rating.") if rating.selected_for_double else ""
            saved = _("Rating saved: %(score).2f (%(category)s).") % {"score": rating.score,
                                                                      "category": rating.category}
            messages.success(request, saved + note)
            return redirect("intervention:fidelity")
    return render(
        request,
        "intervention/rate.html",
        {"form": form, "instrument": instrument},
        status=400 if form.errors else 200,
    )
