"""Lock pages: lock data, ask for an unlock with a reason, approve or refuse as the second person."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.participants.models import Participant
from trialdesk.errors import UserError

from .. import locks
from ..models import Lock, UnlockRequest
from .common import errors_of, web_context


def _lock_user(request) -> None:
    if not (allowed(request.user, "lock-data") or allowed(request.user, "approve-unlock")):
        raise PermissionDenied("your role does not work with locks")


def _render(request, *, errors=None, problem="", status=200, form_for: str = ""):
    return render(request, "datamanagement/locks.html", {
        "active": locks.active_locks(), "history": Lock.objects.filter(unlocked_at__isnull=False)[:50],
        "pending": UnlockRequest.objects.filter(state="pending").select_related("lock", "requested_by"),
        "decided": UnlockRequest.objects.exclude(state="pending").select_related("lock", "requested_by",
                                                                                  "decided_by")[:50],
        "scopes": Lock.SCOPES, "may_lock": allowed(request.user, "lock-data"),
        "may_approve": allowed(request.user, "approve-unlock"), "errors": errors or {}, "problem": problem,
        "values": request.POST if request.method == "POST" else {}, "form_for": form_for,
    }, status=status)  # fmt: skip


@login_required
def lock_list(request):
    _lock_user(request)
    if request.method != "POST":
        return _render(request)
    trial_id = request.POST.get("participant", "").strip()
    participant = (
        Participant.objects.select_related("site").filter(trial_id=trial_id).first() if trial_id else None
    )
    if trial_id and participant is None:
        missing = _("no participant %(trial_id)s") % {"trial_id": repr(trial_id)}
        return _render(request, errors={"participant": missing}, status=400, form_for="lock")
    try:
        made = locks.lock(
            request.POST.get("scope", ""), web_context(request), user=request.user,
            reason=request.POST.get("reason", ""), participant=participant,
            visit_code=request.POST.get("visit", ""), instrument=request.POST.get("instrument", ""),
        )  # fmt: skip
    except UserError as refused:
        errors, problem = errors_of(refused)
        return _render(request, errors=errors, problem=problem, status=400, form_for="lock")
    note = " " + _("Snapshot %(number)s taken.") % {"number": made.snapshot_id} if made.snapshot_id else ""
    messages.success(request, _("Locked %(what)s.") % {"what": made.describe()} + note)
    return redirect("datamanagement:locks")


@login_required
def request_unlock(request, pk: int):
    _lock_user(request)
    target = get_object_or_404(Lock, pk=pk)
    if request.method != "POST":
        return redirect("datamanagement:locks")
    try:
        locks.request_unlock(
            target, web_context(request), user=request.user, reason=request.POST.get("reason", "")
        )
    except UserError as refused:
        errors, problem = errors_of(refused)
        return _render(request, errors=errors, problem=problem, status=400, form_for=f"unlock-{pk}")
    messages.success(request, _("Unlock of %(what)s requested: a second person must approve it.")
                     % {"what": target.describe()})
    return redirect("datamanagement:locks")


@login_required
def decide(request, pk: int):
    _lock_user(request)
    unlock = UnlockRequest.objects.filter(pk=pk).select_related("lock").first()
    if unlock is None:
        raise Http404("no such unlock request")
    if request.method != "POST":
        return redirect("datamanagement:locks")
    approve = request.POST.get("decision") == "approve"
    try:
        locks.decide_unlock(
            unlock,
            web_context(request),
            user=request.user,
            password=request.POST.get("password", ""),
            approve=approve,
            note=request.POST.get("note", ""),
        )
    except UserError as refused:
        errors, problem = errors_of(refused)
        return _render(request, errors=errors, problem=problem, status=400, form_for=f"decide-{pk}")
    messages.success(request, (_("Unlock request #%(number)s approved.") if approve
                               else _("Unlock request #%(number)s refused.")) % {"number": pk})
    return redirect("datamanagement:locks")
