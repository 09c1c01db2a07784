"""What the data-management pages share: the acting context, permission checks, refusals at the field."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.trial.services import active_hash
from trialdesk.errors import UserError


def web_context(request) -> Context:
    return Context(actor=request.user.get_username(), channel="web", protocol_hash=active_hash())


def require(request, action: str, obj: Any = None) -> None:
    if not allowed(request.user, action, obj):
        raise PermissionDenied(f"your role does not allow this ({action})")


def participant_for(request, trial_id: str, action: str) -> Participant:
    """The participant if ``action`` is allowed on them (unknown and out of scope answer the same)."""
    participant = Participant.objects.select_related("site").filter(trial_id=trial_id).first()
    if participant is None or not allowed(request.user, action, participant):
        raise Http404("no such participant among yours")
    return participant


def errors_of(problem: UserError) -> tuple[dict[str, str], str]:
    """(field -> message, message for the page). Messages starting ``field: `` go to that field."""
    if isinstance(problem, InputError):
        return problem.fields, ""
    text = str(problem)
    field, sep, rest = text.partition(": ")
    if sep and field in ("password", "reason", "text", "note"):
        return {field: rest}, ""
    return {}, text
