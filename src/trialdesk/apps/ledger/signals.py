"""Logins, logouts and failed logins are audited too."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from .services import Context, append


def _record(actor: str, action: str, request=None) -> None:
    channel = "api" if request is not None and request.path.startswith("/api/") else "web"
    with transaction.atomic():
        append(Context(actor=actor or "anonymous", channel=channel), action=action, entity="session")


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs) -> None:
    _record(user.get_username(), "login", request)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs) -> None:
    _record(user.get_username() if user else "anonymous", "logout", request)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    # The attempted username only; never the password.
    _record(str(credentials.get("username", ""))[:150], "login-failed", request)
