"""E-mail alerts (Django's e-mail backend: the console in development). Never an arm in a message."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from trialdesk.apps.accounts.models import Membership
from trialdesk.apps.accounts.roles import ROLE_ACTIONS


def emails_of(action: str) -> list[str]:
    """Addresses of active users whose role grants ``action``."""
    roles = [role.value for role, actions in ROLE_ACTIONS.items() if action in actions]
    users = Membership.objects.filter(role__in=roles, user__is_active=True).values_list("user", flat=True)
    found = get_user_model().objects.filter(pk__in=users).exclude(email="").values_list("email", flat=True)
    return sorted(set(found))


def trial_managers() -> list[str]:
    """The trial manager: ``TRIALDESK_TRIAL_MANAGER_EMAILS`` if set, and everyone who approves unblinding."""
    configured = list(getattr(settings, "TRIALDESK_TRIAL_MANAGER_EMAILS", ()) or ())
    return sorted(set(configured) | set(emails_of("approve-unblinding")))


def send(subject: str, body: str, to: list[str]) -> int:
    if not to:
        return 0
    return send_mail(f"[trialdesk] {subject}", body, None, to, fail_silently=False)
