"""Emergency unblinding: request with a reason -> approval by an authorised person who re-enters their
password -> the allocation is shown to the requester. Every step is in the ledger; the trial manager is
told by e-mail (without the arm)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.problems import InputError
from trialdesk.errors import UserError

from . import notify
from .models import Allocation, UnblindingRequest


def _record(context: Context, request: UnblindingRequest, action: str, new=None, reason: str = "") -> None:
    participant = request.participant
    append(
        context,
        action=action,
        entity="unblinding-request",
        entity_id=request.pk,
        new=new,
        reason=reason,
        site=participant.site.code,
        participant=participant.trial_id,
    )


def request_unblinding(participant: Participant, user, reason: str, context: Context) -> UnblindingRequest:
    if not allowed(user, "request-unblinding", participant):
        raise UserError(_("you may not request unblinding for this participant"))
    if not reason.strip():
        raise InputError({"reason": _("a reason for the emergency unblinding is required")})
    if not Allocation.objects.filter(participant=participant).exists():
        raise UserError(_("%(trial_id)s has not been randomised: there is nothing to unblind") % {
            "trial_id": participant.trial_id})
    if UnblindingRequest.objects.filter(participant=participant, requested_by=user, state="pending").exists():
        raise UserError(_("you already have a pending unblinding request for %(trial_id)s") % {
            "trial_id": participant.trial_id})
    with transaction.atomic():
        request = UnblindingRequest.objects.create(
            participant=participant, requested_by=user, reason=reason.strip(), requested_at=clock.now()
        )
        _record(context, request, "unblinding-requested", reason=request.reason)
    notify.send(
        f"emergency unblinding requested for {participant.trial_id}",
        f"{user.get_username()} asks to unblind {participant.trial_id} (request #{request.pk}).\n"
        f"Reason: {request.reason}\nApprove or refuse it in trialdesk.",
        notify.trial_managers(),
    )
    return request


def decide(
    request: UnblindingRequest, user, password: str, *, approve: bool, note: str, context: Context
) -> UnblindingRequest:
    """Approve or refuse a pending request; the decider re-enters their password."""
    if not allowed(user, "approve-unblinding", request.participant):
        raise UserError(_("you may not decide unblinding requests for this participant"))
    if user.pk == request.requested_by_id:
        raise UserError(_("a request must be decided by someone other than the requester"))
    if not user.check_password(password):
        with transaction.atomic():
            _record(context, request, "unblinding-password-failed")
        raise InputError({"password": _("password is not correct")})
    if not approve and not note.strip():
        raise InputError({"note": _("say why the request is refused")})
    with transaction.atomic():
        locked = UnblindingRequest.objects.select_for_update().get(pk=request.pk)
        if locked.state != "pending":
            raise UserError(_("unblinding request #%(number)s was already %(state)s") % {
                "number": locked.pk, "state": _(locked.state)})
        locked.state = "approved" if approve else "refused"
        locked.decided_by = user
        locked.decided_at = clock.now()
        locked.decision_note = note.strip()
        locked.save()
        _record(
            context,
            locked,
            f"unblinding-{locked.state}",
            new={"state": locked.state},
            reason=locked.decision_note,
        )
    notify.send(
        f"emergency unblinding {locked.state} for {locked.participant.trial_id}",
        f"{user.get_username()} {locked.state} request #{locked.pk} by "
        f"{locked.requested_by.get_username()} for {locked.participant.trial_id}.",
        notify.trial_managers(),
    )
    return locked


def reveal(request: UnblindingRequest, user, context: Context) -> Allocation:
    """The allocation, to the requester of an approved request only; each showing is recorded."""
    if request.state != "approved" or user.pk != request.requested_by_id:
        raise UserError(_("the allocation is shown only to the requester, after approval"))
    with transaction.atomic():
        _record(context, request, "unblinding-revealed")
    return Allocation.objects.get(participant=request.participant)
