"""Two-factor authentication (TOTP, django-otp): who needs it, and the middleware that enforces it.

Required for anyone who sees allocations (coordinators, facilitators, anyone named unblinded), for
administrators, for holders of the personal-data key, and for superusers. Until such a user has entered
a code from their authenticator app in this session, they can reach only the two-factor pages and
logout. ``TRIALDESK_REQUIRE_2FA = False`` (the demo server) switches the requirement off.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from trialdesk.apps.ledger.services import Context, append

from .permissions import _memberships
from .roles import UNBLINDED_BY_ROLE, Role

#: Paths a user who still owes a code may reach (besides the two-factor pages themselves).
OPEN_PATHS = ("/logout/", "/login/", "/health/", "/static/")


def requires_two_factor(user: Any) -> bool:
    """Does ``user``'s access (allocations, identifying data, administration) call for a second factor?"""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return any(
        Role(m.role) in UNBLINDED_BY_ROLE or m.role == Role.ADMIN or m.unblinded or m.personal_data
        for m in _memberships(user)
    )


def confirmed_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def owes_second_factor(user: Any) -> bool:
    """Signed in with a password, needs a second factor, and has not given it in this session."""
    return (
        settings.TRIALDESK_REQUIRE_2FA
        and requires_two_factor(user)
        and not (hasattr(user, "is_verified") and user.is_verified())
    )


def reset_two_factor(user: Any, context: Context, reason: str) -> int:
    """Remove ``user``'s authenticator (a lost phone); they enrol again at their next login. Audited."""
    with transaction.atomic():
        append(context, action="2fa-reset", entity="user", entity_id=user.get_username(), reason=reason,
               require_reason=True)
        deleted, _ = TOTPDevice.objects.filter(user=user).delete()
    return deleted


class RequireTwoFactorMiddleware:
    """After django-otp's OTPMiddleware: send users who owe a code to verification (or enrolment)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not owes_second_factor(user):
            return self.get_response(request)
        two_factor_prefix = reverse("two-factor-verify").rsplit("verify/", 1)[0]
        if request.path.startswith((two_factor_prefix, *OPEN_PATHS)):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": "two-factor verification required"}, status=403)
        target = "two-factor-verify" if confirmed_device(user) else "two-factor-enrol"
        query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
        return redirect(reverse(target) + (f"?{query}" if query else ""))
