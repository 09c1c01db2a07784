from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_noop

from trialdesk.apps.participants.web import context_for, participant_for, show_problem
from trialdesk.apps.trial.services import active_protocol
from trialdesk.errors import UserError

from . import services
from .forms import ConsentForm, DeclineForm, WithdrawalForm


def _handle(request, trial_id: str, form_class, *, options: dict, title: str, write):
    """GET shows the form; a valid POST calls ``write`` and returns to the participant, else errors."""
    participant = participant_for(request, trial_id, "consent")
    form = form_class(request.POST or None, **options)
    if request.method == "POST" and form.is_valid():
        try:
            write(participant, form.cleaned_data, context_for(request))
            return redirect("participants:detail", trial_id=trial_id)
        except UserError as problem:
            show_problem(form, problem)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "title": f"{gettext(title)} · {trial_id}", "participant": participant}
    return render(request, "consent/form.html", context, status=status)


@login_required
def record_consent(request, trial_id: str):
    def write(participant, data, context):
        services.record_consent(participant, version=data["version"], oral_on=data["oral_on"],
                                written_on=data["written_on"], taken_by=data["taken_by"],
                                context=context)  # fmt: skip

    documents = active_protocol().consent.documents
    initial = {"taken_by": request.user.get_username()}
    options = {"documents": documents, "initial": initial}
    title = gettext_noop("Record consent")
    return _handle(request, trial_id, ConsentForm, options=options, title=title, write=write)


@login_required
def record_decline(request, trial_id: str):
    def write(participant, data, context):
        services.record_decline(participant, category=data["category"], declined_on=data["declined_on"],
                                note=data["note"], context=context)  # fmt: skip

    reasons = active_protocol().consent.decline_reasons
    title = gettext_noop("Consent declined")
    return _handle(request, trial_id, DeclineForm, options={"reasons": reasons}, title=title, write=write)


@login_required
def record_withdrawal(request, trial_id: str):
    def write(participant, data, context):
        services.record_withdrawal(participant, withdrawn_on=data["withdrawn_on"], scope=data["scope"],
                                   reason=data["reason"], context=context)  # fmt: skip

    scopes = active_protocol().consent.withdrawal_scopes
    title = gettext_noop("Record a withdrawal")
    return _handle(request, trial_id, WithdrawalForm, options={"scopes": scopes}, title=title, write=write)
