from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from trialdesk.apps.accounts.permissions import allowed, scope
from trialdesk.apps.participants.web import context_for, participant_for, require, show_problem
from trialdesk.apps.trial.services import active_protocol
from trialdesk.errors import UserError

from . import lists, unblinding
from .forms import (
    ActivateListForm,
    ConfirmRandomisation,
    DecisionForm,
    GenerateListForm,
    UnblindingRequestForm,
    UploadListForm,
)
from .models import AllocationList, UnblindingRequest
from .services import randomise


def _arm_label(code: str) -> str:
    return next((arm.label for arm in active_protocol().arms if arm.code == code), code)


@login_required
def randomise_participant(request, trial_id: str):
    """A confirmation step, then the allocation. The result is shown only to users who may see arms."""
    participant = participant_for(request, trial_id, "randomise")
    form = ConfirmRandomisation(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            allocation = randomise(participant, context_for(request))
        except UserError as problem:
            show_problem(form, problem)
        else:
            if allowed(request.user, "view-allocation", participant):
                messages.success(request, _("%(trial_id)s is randomised to %(arm)s.")
                                 % {"trial_id": trial_id, "arm": _arm_label(allocation.arm)})
            else:
                messages.success(request, _("%(trial_id)s is randomised.") % {"trial_id": trial_id})
            return redirect("participants:detail", trial_id=trial_id)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "randomisation/confirm.html", {"participant": participant, "form": form}, status=status
    )


@login_required
def allocation_lists(request):
    """The statistician's page: lists with used/total slots per stratum (never an arm); upload or generate."""
    require(request, "manage-allocation-list")
    upload_form = UploadListForm(prefix="upload")
    generate_form = GenerateListForm(prefix="generate")
    if request.method == "POST":
        context = context_for(request)
        try:
            if "upload-file" in request.FILES or "upload" in request.POST:
                upload_form = UploadListForm(request.POST, request.FILES, prefix="upload")
                if upload_form.is_valid():
                    raw = upload_form.cleaned_data["file"].read()
                    try:
                        text = raw.decode("utf-8-sig")
                    except UnicodeDecodeError:
                        raise UserError(_("the list file is not UTF-8 text")) from None
                    lists.upload(text, context=context, label=upload_form.cleaned_data["label"])
                    return redirect("randomisation:lists")
            else:
                generate_form = GenerateListForm(request.POST, prefix="generate")
                if generate_form.is_valid():
                    data = generate_form.cleaned_data
                    lists.generate(seed=data["seed"], per_stratum=data["per_stratum"], context=context,
                                   label=data["label"])  # fmt: skip
                    return redirect("randomisation:lists")
        except UserError as problem:
            show_problem(upload_form if "upload" in request.POST else generate_form, problem)
    rows = [(item, lists.usage(item)) for item in AllocationList.objects.all()]
    return render(request, "randomisation/lists.html", {
        "rows": rows, "upload_form": upload_form, "generate_form": generate_form,
        "activate_form": ActivateListForm(), "method": active_protocol().randomisation.method,
    }, status=400 if request.method == "POST" else 200)  # fmt: skip


@login_required
def activate_list(request, pk: int):
    require(request, "manage-allocation-list")
    allocation_list = get_object_or_404(AllocationList, pk=pk)
    form = ActivateListForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        lists.activate(allocation_list, context_for(request), reason=form.cleaned_data["reason"])
        messages.success(request, _("%(label)s is now the active list.") % {"label": allocation_list.label})
    return redirect("randomisation:lists")


def _visible_requests(user):
    """Approvers see requests at their sites; everyone else only their own."""
    own = UnblindingRequest.objects.filter(requested_by=user)
    if allowed(user, "approve-unblinding"):
        everyone = UnblindingRequest.objects.all()
        at_sites = scope(everyone, user, "approve-unblinding", site_field="participant__site")
        return (at_sites | own).distinct()
    return own


@login_required
def unblinding_list(request):
    if not (allowed(request.user, "request-unblinding") or allowed(request.user, "approve-unblinding")):
        require(request, "request-unblinding")
    requests = _visible_requests(request.user).select_related("participant", "requested_by", "decided_by")
    return render(request, "randomisation/unblinding_list.html", {"requests": requests})


@login_required
def request_unblinding(request, trial_id: str):
    participant = participant_for(request, trial_id, "request-unblinding")
    form = UnblindingRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = unblinding.request_unblinding(participant, request.user, form.cleaned_data["reason"],
                                                 context_for(request))  # fmt: skip
            return redirect("randomisation:unblinding_detail", pk=made.pk)
        except UserError as problem:
            show_problem(form, problem)
    status = 400 if request.method == "POST" else 200
    page = {"participant": participant, "form": form}
    return render(request, "randomisation/unblinding_request.html", page, status=status)


@login_required
def unblinding_detail(request, pk: int):
    """Approvers decide here (re-entering their password); the requester sees the arm once approved."""
    item = get_object_or_404(_visible_requests(request.user).filter(Q(pk=pk)))
    may_decide = (allowed(request.user, "approve-unblinding", item.participant) and item.state == "pending"
                  and item.requested_by_id != request.user.pk)  # fmt: skip
    form = DecisionForm(request.POST or None) if may_decide else None
    if form is not None and request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            unblinding.decide(item, request.user, data["password"], approve=data["decision"] == "approve",
                              note=data["note"], context=context_for(request))  # fmt: skip
            return redirect("randomisation:unblinding_detail", pk=pk)
        except UserError as problem:
            show_problem(form, problem)
    revealed = None
    if item.state == "approved" and item.requested_by_id == request.user.pk:
        allocation = unblinding.reveal(item, request.user, context_for(request))
        revealed = {"code": allocation.arm, "label": _arm_label(allocation.arm)}
    status = 400 if request.method == "POST" else 200
    return render(request, "randomisation/unblinding_detail.html",
                  {"item": item, "form": form, "revealed": revealed}, status=status)  # fmt: skip
