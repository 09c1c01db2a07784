"""What a locked-out login sees (with the time to try again) and how lockouts reach the audit ledger.

django-axes counts failed logins per username and address and flags the request once the limit is
reached (settings: AXES_*); this module renders that as a page and records it.
"""

from __future__ import annotations

import math

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.db import transaction
from django.db.models import Max
from django.shortcuts import render
from django.utils import timezone

from trialdesk.apps.ledger.services import Context, append


def retry_at(username: str | None, ip_address: str | None):
    """When the lockout of this username+address pair ends: its last counted failure plus the cool-off."""
    cool_off = get_cool_off()
    last = AccessAttempt.objects.filter(username=username, ip_address=ip_address).aggregate(
        last=Max("attempt_time"))["last"]
    if cool_off is None or last is None:
        return None
    return last + cool_off


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: 429 with a page that says when to try again."""
    username = get_client_username(request, credentials) or ""
    until = retry_at(username, getattr(request, "axes_ip_address", None))
    minutes = math.ceil((until - timezone.now()).total_seconds() / 60) if until else None
    response = render(request, "accounts/lockout.html", {
        "username": username,
        "failure_limit": get_failure_limit(request, credentials),
        "retry_at": timezone.localtime(until) if until else None,
        "minutes": max(minutes, 1) if minutes is not None else None,
    }, status=429)
    if until is not None:
        response["Retry-After"] = str(max(int((until - timezone.now()).total_seconds()), 1))
    return response


def record_lockout(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    """Receiver of axes' ``user_locked_out``: one ledger entry per refused attempt while locked out.

    The address is left out: the ledger is permanent and the address is the user's personal data; axes
    keeps it in its own table, which is cleared when the lockout ends.
    """
    channel = "api" if request is not None and request.path.startswith("/api/") else "web"
    until = retry_at(username, ip_address)
    with transaction.atomic():
        append(Context(actor=str(username or "anonymous")[:150], channel=channel), action="lockout",
               entity="session", new={"retry_at": until.isoformat() if until else None})
