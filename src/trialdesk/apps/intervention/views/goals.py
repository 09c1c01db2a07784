"""A participant's recovery goals, steps and session follow-ups: facilitators only (run-sessions)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from trialdesk.errors import UserError

from .. import services
from ..forms import FollowUpForm, GoalForm, GoalStatusForm, StepForm
from ..models import RecoveryGoal, Session
from ..services.common import local_today
from .common import context_for, participant_for


def _sessions(participant):
    groups = participant.imr_memberships.values("group_id")
    return (
        Session.objects.filter(group_id__in=groups, status=Session.HELD)
        .select_related("group")
        .order_by("-starts_at")
    )


@login_required
def goals(request, trial_id: str):
    participant = participant_for(request, trial_id, "run-sessions")
    context, problem = context_for(request), ""
    kind = request.POST.get("form", "")
    forms = {
        "goal": GoalForm(request.POST if kind == "goal" else None, initial={"set_on": local_today()}),
        "step": StepForm(request.POST if kind == "step" else None),
        "status": GoalStatusForm(request.POST if kind == "status" else None),
        "follow_up": FollowUpForm(
            request.POST if kind == "follow_up" else None, sessions=_sessions(participant)
        ),
    }
    if request.method == "POST":
        form = forms.get(kind)
        if form is None or not form.is_valid():
            problem = "; ".join(
                f"{k}: {' '.join(v)}" for k, v in (form.errors if form else {"form": ["?"]}).items()
            )
        else:
            data = form.cleaned_data
            goal = (
                get_object_or_404(RecoveryGoal, pk=data["goal"], participant=participant)
                if "goal" in data
                else None
            )
            try:
                if kind == "goal":
                    services.add_goal(participant, data["text"], data["set_on"], context)
                elif kind == "step":
                    services.add_step(goal, data["text"], context)
                elif kind == "status":
                    services.set_goal_status(goal, data["status"], data["reason"], context)
                else:
                    services.record_follow_up(
                        goal,
                        data["session"],
                        progress=data["progress"],
                        home_assignment_done=data["home_assignment_done"],
                        context=context,
                        note=data["note"],
                        reason=data["reason"],
                    )
            except UserError as refused:
                problem = str(refused)
            else:
                messages.success(request, _("Saved."))
                return redirect("intervention:goals", trial_id=trial_id)
    goals = participant.recovery_goals.prefetch_related("steps", "follow_ups__session")
    return render(
        request,
        "intervention/goals.html",
        {
            "participant": participant,
            "goals": goals,
            "forms": forms,
            "problem": problem,
            "membership": services.current_membership(participant),
        },
        status=400 if problem else 200,
    )


@login_required
def step_done(request, trial_id: str, pk: int):
    participant = participant_for(request, trial_id, "run-sessions")
    goal = get_object_or_404(RecoveryGoal, participant=participant, steps__pk=pk)
    step = goal.steps.get(pk=pk)
    if request.method == "POST":
        try:
            services.complete_step(step, local_today(), context_for(request), request.POST.get("reason", ""))
        except UserError as problem:
            messages.error(request, str(problem))
    return redirect("intervention:goals", trial_id=trial_id)
