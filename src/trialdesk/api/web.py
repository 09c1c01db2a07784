"""The web page where signed-in users make and revoke their own API tokens.

It sits behind the same middleware as every page, so a user whose roles call for two-factor
authentication reaches it only after entering a code in this session: a token is never made on a
password alone.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.trial.services import active_hash
from trialdesk.errors import UserError

from . import tokens as service
from .models import ApiToken


def _context(request) -> Context:
    return Context(actor=request.user.get_username(), channel="web", protocol_hash=active_hash())


@login_required
def token_page(request):
    """The user's tokens; POST makes a new one, shown once on the page that answers."""
    errors: dict[str, str] = {}
    made = ""
    if request.method == "POST":
        try:
            days = int(request.POST.get("days") or service.DEFAULT_DAYS)
        except ValueError:
            errors["days"] = _("a whole number of days")
        else:
            try:
                made, _record = service.create_token(
                    request.user, _context(request), name=request.POST.get("name", ""), days=days
                )
            except InputError as refused:
                errors = refused.fields
    return render(request, "api/tokens.html", {
        "rows": ApiToken.objects.filter(user=request.user), "made": made, "errors": errors,
        "values": request.POST if errors else {}, "default_days": service.DEFAULT_DAYS,
        "max_days": service.MAX_DAYS,
    }, status=400 if errors else 200)  # fmt: skip


@login_required
@require_POST
def revoke(request, pk: int):
    record = ApiToken.objects.filter(pk=pk, user=request.user).first()
    if record is None:
        raise Http404("no such token of yours")
    try:
        service.revoke_token(record, _context(request))
    except UserError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Token %(prefix)s… revoked.") % {"prefix": record.prefix})
    return redirect("api-tokens:list")
