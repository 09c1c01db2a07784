from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from trialdesk.apps.accounts.permissions import allowed, scope
from trialdesk.apps.trial.models import Site
from trialdesk.errors import UserError
from trialdesk.web.partials import render_page

from . import services
from .forms import PersonalDataForm, StatusForm
from .models import Participant
from .status import State
from .web import context_for, participant_for, require, show_problem


@login_required
def participant_list(request):
    """Participants at the sites the user works at (coordinators: their own site only)."""
    require(request, "view-participants")
    participants = scope(Participant.objects.select_related("site"), request.user, "view-participants")
    sites = scope(Site.objects.all(), request.user, "view-participants", site_field="id")
    chosen = request.GET.get("site", "")
    if chosen:
        participants = participants.filter(site__code=chosen)
    status = request.GET.get("status", "")
    if status in {s.value for s in State}:
        participants = participants.filter(status=status)
    return render_page(request, "participants/list.html", "participants/_results.html", {
        "participants": participants, "sites": sites, "chosen": chosen, "status": status,
        "states": [(s.value, s.label) for s in State],
    })  # fmt: skip


@login_required
def participant_detail(request, trial_id: str):
    participant = participant_for(request, trial_id, "view-participants")
    user = request.user
    sees_consent = allowed(user, "consent", participant)
    allocation = None
    if allowed(user, "view-allocation", participant):
        from trialdesk.apps.randomisation.services import allocation_of

        allocation = allocation_of(participant)
    arm_labels = {}
    if allocation is not None:
        from trialdesk.apps.trial.services import active_protocol

        arm_labels = {arm.code: arm.label for arm in active_protocol().arms}
    return render(request, "participants/detail.html", {
        "participant": participant,
        "events": participant.status_events.all(),
        "screenings": participant.screenings.all() if allowed(user, "screen", participant) else None,
        "consents": participant.consents.all() if sees_consent else None,
        # A withdrawal from the intervention only would tell a blinded reader the arm.
        "withdrawals": participant.withdrawals.all() if sees_consent else None,
        "allocation": allocation,
        "arm_label": arm_labels.get(allocation.arm, "") if allocation else "",
        "status_form": StatusForm() if allowed(user, "consent", participant) else None,
        "may": {action.replace("-", "_"): allowed(user, action, participant)
                for action in ("view-personal-data", "randomise", "request-unblinding")},
    })  # fmt: skip


@login_required
def personal_data(request, trial_id: str):
    """Identifying data, to holders of the personal-data permission; each reading is in the ledger."""
    participant = participant_for(request, trial_id, "view-personal-data")
    details = services.read_personal_data(participant, context_for(request))
    return render(request, "participants/personal.html", {"participant": participant, "details": details})


@sensitive_post_parameters("cpr", "name", "contact")
@login_required
def correct_personal_data(request, trial_id: str):
    """Correct identifying data; the ledger records that it changed and why, never the values."""
    participant = participant_for(request, trial_id, "view-personal-data")
    if request.method == "POST":
        form = PersonalDataForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            details = services.PersonalDetails(cpr=data["cpr"], name=data["name"], contact=data["contact"])
            try:
                services.change_personal_data(
                    participant, details, context_for(request), reason=data["reason"]
                )
                return redirect("participants:personal", trial_id=trial_id)
            except UserError as problem:
                show_problem(form, problem)
        return render(
            request, "participants/correct.html", {"participant": participant, "form": form}, status=400
        )
    current = services.read_personal_data(participant, context_for(request))
    form = PersonalDataForm(initial={"cpr": current.cpr, "name": current.name, "contact": current.contact})
    return render(request, "participants/correct.html", {"participant": participant, "form": form})


@login_required
@require_http_methods(["POST"])
def record_status(request, trial_id: str):
    participant = participant_for(request, trial_id, "consent")
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            services.transition(participant, form.cleaned_data["to_state"], context_for(request),
                                reason=form.cleaned_data["reason"])  # fmt: skip
            return redirect("participants:detail", trial_id=trial_id)
        except UserError as problem:
            show_problem(form, problem)
    return render(request, "participants/status.html", {"participant": participant, "form": form}, status=400)
