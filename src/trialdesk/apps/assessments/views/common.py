"""Helpers shared by the assessment views: permission checks via ``allowed()``, contexts, dates, errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.trial.services import active_hash
from trialdesk.errors import UserError

from ..access import can_open_visits
from ..models import Visit


def web_context(request) -> Context:
    return Context(actor=request.user.get_username(), channel="web", protocol_hash=active_hash())


def participant_for(request, trial_id: str) -> Participant:
    """The participant, if this user may open their visits (same answer for unknown and out of scope)."""
    participant = Participant.objects.select_related("site").filter(trial_id=trial_id).first()
    if participant is None or not can_open_visits(request.user, participant):
        raise Http404("no such participant among yours")
    return participant


def require(request, action: str, obj: Any = None) -> None:
    if not allowed(request.user, action, obj):
        raise PermissionDenied(f"your role does not allow this ({action})")


def saved_visit(participant: Participant, code: str) -> Visit | None:
    return (
        Visit.objects.filter(participant=participant, code=code).select_related("participant__site").first()
    )


def parse_date(text: str | None, field: str, label: str) -> dt.date | None:
    """An ISO date from a form, None when empty; a refusal names the field."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError({field: _("%(label)s %(text)s is not a date; write it as YYYY-MM-DD") % {
            "label": label, "text": repr(text)}}) from None


def errors_of(problem: UserError) -> tuple[dict[str, str], str]:
    """(field -> message, message for the page) of a refusal."""
    if isinstance(problem, InputError):
        return problem.fields, ""
    return {}, str(problem)
