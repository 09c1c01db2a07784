"""The assessor's guess of allocation and the unblinding-incident form. Neither page shows any allocation:
the guess form lists the protocol's arms as the choices to guess from, and what was recorded is not shown
back beyond "recorded"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.errors import UserError

from .. import services
from ..models import AllocationGuess, UnblindingIncident
from .common import errors_of, parse_date, participant_for, require, saved_visit, web_context


@login_required
def guess(request, trial_id: str, visit: str):
    participant = participant_for(request, trial_id)
    require(request, "record-guess", participant)
    the_visit = saved_visit(participant, visit)
    if the_visit is None:
        raise Http404("no such visit scheduled")
    recorded = AllocationGuess.objects.filter(visit=the_visit, assessor=request.user).exists()
    errors: dict[str, str] = {}
    problem = ""
    if request.method == "POST" and not recorded:
        try:
            services.record_guess(
                participant,
                visit,
                request.user,
                guess=request.POST.get("guess", ""),
                confidence=request.POST.get("confidence", ""),
                guessed_on=parse_date(request.POST.get("guessed_on"), "guessed_on", "guess date"),
                context=web_context(request),
            )
        except UserError as refusal:
            errors, problem = errors_of(refusal)
        else:
            messages.success(request, _("Your guess is recorded."))
            return redirect("assessments:participant", trial_id=participant.trial_id)
    return render(
        request,
        "assessments/guess.html",
        {
            "participant": participant,
            "visit": the_visit,
            "recorded": recorded,
            "choices": services.guess_choices(),
            "confidence_levels": [1, 2, 3, 4, 5],
            "chosen": request.POST.get("guess", ""),
            "confidence": request.POST.get("confidence", ""),
            "guessed_on": request.POST.get("guessed_on") or clock.today().isoformat(),
            "errors": errors,
            "problem": problem,
        },
        status=400 if errors or problem else 200,
    )


@login_required
def incident(request, trial_id: str):
    participant = participant_for(request, trial_id)
    require(request, "record-guess", participant)
    errors: dict[str, str] = {}
    problem = ""
    if request.method == "POST":
        replaced = {"yes": True, "no": False}.get(request.POST.get("assessor_replaced", ""))
        try:
            services.record_incident(
                participant,
                request.POST.get("visit") or None,
                request.user,
                occurred_on=parse_date(request.POST.get("occurred_on"), "occurred_on", "incident date"),
                how=request.POST.get("how", ""),
                description=request.POST.get("description", ""),
                assessor_replaced=replaced,
                context=web_context(request),
            )
        except UserError as refusal:
            errors, problem = errors_of(refusal)
        else:
            messages.success(request, _("The unblinding incident is recorded."))
            return redirect("assessments:participant", trial_id=participant.trial_id)
    return render(
        request,
        "assessments/incident.html",
        {
            "participant": participant,
            "visits": participant.visits.all(),
            "kinds": UnblindingIncident.HOW,
            "post": request.POST,
            "occurred_on": request.POST.get("occurred_on") or clock.today().isoformat(),
            "errors": errors,
            "problem": problem,
        },
        status=400 if errors or problem else 200,
    )
