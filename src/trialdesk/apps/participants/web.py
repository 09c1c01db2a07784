"""What every enrolment view shares: the acting context, permission-checked look-ups, service errors."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.trial.services import active_hash
from trialdesk.errors import UserError

from .models import Participant
from .problems import InputError


def context_for(request) -> Context:
    return Context(actor=request.user.get_username(), channel="web", protocol_hash=active_hash())


def require(request, action: str, obj=None) -> None:
    if not allowed(request.user, action, obj):
        raise PermissionDenied(f"your role does not allow: {action}")


def participant_for(request, trial_id: str, action: str) -> Participant:
    """The participant, if the user may do ``action`` to them; 404 for another site's (no probing)."""
    participant = Participant.objects.select_related("site").filter(trial_id=trial_id).first()
    if participant is None or not allowed(request.user, action, participant):
        if participant is not None and allowed(request.user, "view-participants", participant):
            raise PermissionDenied(f"your role does not allow: {action}")
        raise Http404("no such participant")
    return participant


def show_problem(form, problem: UserError) -> None:
    """Put a service's refusal on the form: at its field when it names one, else above the form."""
    if isinstance(problem, InputError):
        for name, message in problem.fields.items():
            form.add_error(name if name in form.fields else None, message)
    else:
        form.add_error(None, str(problem))
