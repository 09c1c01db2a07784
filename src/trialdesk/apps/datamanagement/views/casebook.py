"""A participant's casebook for monitoring: forms with their source-data verification, the signatures
(each checked against the data now), open queries and locks; verifying a form and signing the casebook."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from trialdesk.apps.accounts.permissions import allowed, scope
from trialdesk.apps.assessments.models import Assessment
from trialdesk.apps.participants.models import Participant
from trialdesk.errors import UserError

from ..models import MEANING, Lock
from ..sdv import verification_state, verify_form
from ..signatures import printed_name, sign, signature_states
from .common import errors_of, web_context
from .queries import open_queries_of

#: Any one of these lets a user open the data-management pages of a participant.
CASEBOOK_ACTIONS = ("verify-source", "sign-casebook", "manage-queries", "lock-data", "view-audit")


def _casebook_user(request, participant=None) -> None:
    if not any(allowed(request.user, action, participant) for action in CASEBOOK_ACTIONS):
        raise PermissionDenied("your role does not work with casebooks")


def _participant(request, trial_id: str) -> Participant:
    participant = Participant.objects.select_related("site").filter(trial_id=trial_id).first()
    if participant is None or not any(allowed(request.user, a, participant) for a in CASEBOOK_ACTIONS):
        raise Http404("no such participant among yours")
    return participant


@login_required
def home(request):
    _casebook_user(request)
    people = scope(Participant.objects.select_related("site"), request.user, "view-participants")
    wanted = request.GET.get("trial_id", "").strip()
    if wanted:
        people = people.filter(trial_id__icontains=wanted)
    return render(request, "datamanagement/home.html", {"participants": people[:200], "wanted": wanted})


def _render(request, participant, *, errors=None, problem="", status=200):
    forms = (
        Assessment.objects.filter(participant=participant)
        .select_related("visit", "participant")
        .prefetch_related("responses")
        .order_by("visit__sequence", "instrument")
    )
    locks = (
        Lock.objects.filter(
            unlocked_at__isnull=True, key__in=["database", f"participant:{participant.trial_id}"]
        )
        | Lock.objects.filter(unlocked_at__isnull=True, key__startswith=f"form:{participant.trial_id}/")
        | Lock.objects.filter(unlocked_at__isnull=True, scope="visit")
    )
    return render(request, "datamanagement/casebook.html", {
        "participant": participant, "rows": [(form, verification_state(form)) for form in forms],
        "signatures": signature_states(participant), "queries": open_queries_of(participant),
        "locks": locks, "meaning": MEANING, "printed_name": printed_name(request.user),
        "may_verify": allowed(request.user, "verify-source", participant),
        "may_sign": allowed(request.user, "sign-casebook", participant),
        "may_lock": allowed(request.user, "lock-data", participant),
        "may_raise": allowed(request.user, "manage-queries", participant),
        "errors": errors or {}, "problem": problem,
    }, status=status)  # fmt: skip


@login_required
def casebook(request, trial_id: str):
    return _render(request, _participant(request, trial_id))


@login_required
def verify(request, trial_id: str, pk: int):
    participant = _participant(request, trial_id)
    if request.method != "POST":
        return redirect("datamanagement:casebook", trial_id=trial_id)
    form = (
        Assessment.objects.filter(pk=pk, participant=participant)
        .select_related("visit", "participant")
        .first()
    )
    if form is None:
        raise Http404("no such form")
    try:
        verify_form(form, web_context(request), user=request.user, note=request.POST.get("note", ""))
    except UserError as refused:
        return _render(request, participant, problem=str(refused), status=400)
    messages.success(request, _("%(form)s at %(visit)s marked as source-data verified.")
                     % {"form": form.instrument, "visit": form.visit.code})
    return redirect("datamanagement:casebook", trial_id=trial_id)


@login_required
@transaction.non_atomic_requests
def sign_casebook(request, trial_id: str):
    participant = _participant(request, trial_id)
    if request.method != "POST":
        return redirect("datamanagement:casebook", trial_id=trial_id)
    try:
        sign(participant, web_context(request), user=request.user, password=request.POST.get("password", ""))
    except UserError as refused:
        errors, problem = errors_of(refused)
        return _render(request, participant, errors=errors, problem=problem, status=400)
    messages.success(request, _("%(trial_id)s's casebook is signed.") % {"trial_id": participant.trial_id})
    return redirect("datamanagement:casebook", trial_id=trial_id)
