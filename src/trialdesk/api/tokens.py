"""The only writer of API tokens: make one (shown once), revoke it, and find the user a request acts as.

Who may make a token: any signed-in user for themselves (the web page, behind the same two-factor step
as every other page, so a user who needs a second factor has given it), or an operator with shell access
on the server (``trialdesk token create --user U``). A token-authenticated request is not asked for a
second factor: the token is the credential, made after that step.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.participants.problems import InputError
from trialdesk.errors import UserError

from .models import ApiToken

#: Tokens start with this, so a leaked one is recognisable (secret scanners, logs).
PREFIX = "td_"
DEFAULT_DAYS = 90
MAX_DAYS = 365
#: ``last_used_at`` is written at most this often, so busy clients do not write on every request.
TOUCH_EVERY = dt.timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(user: Any, context: Context, *, name: str, days: int = DEFAULT_DAYS) -> tuple[str, ApiToken]:
    """A new token for ``user``: returns the token text (shown once, never stored) and its record."""
    problems = {}
    if not name.strip():
        problems["name"] = _("say what the token is for")
    elif len(name.strip()) > 100:
        problems["name"] = _("at most 100 characters")
    if not 1 <= days <= MAX_DAYS:
        problems["days"] = _("a token lasts 1 to %(most)s days, not %(days)s") % {
            "most": MAX_DAYS, "days": days}
    if problems:
        raise InputError(problems)
    if not user.is_active:
        raise UserError(_("%(username)s is not an active user") % {"username": user.get_username()})
    token = PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    with transaction.atomic():
        record = ApiToken.objects.create(
            user=user,
            name=name.strip(),
            prefix=token[:10],
            token_hash=digest(token),
            created_at=now,
            expires_at=now + dt.timedelta(days=days),
        )
        append(
            context,
            action="create",
            entity="api-token",
            entity_id=record.pk,
            new={"user": user.get_username(), "name": record.name, "prefix": record.prefix,
                 "expires_at": record.expires_at},
        )  # fmt: skip
    return token, record


def revoke_token(record: ApiToken, context: Context) -> ApiToken:
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=record.pk)
        if locked.revoked_at is not None:
            raise UserError(_("token %(prefix)s… is already revoked") % {"prefix": locked.prefix})
        locked.revoked_at = clock.now()
        locked.revoked_by = context.actor
        locked.save(update_fields=["revoked_at", "revoked_by"])
        append(context, action="revoke", entity="api-token", entity_id=locked.pk,
               old={"user": locked.user.get_username(), "prefix": locked.prefix})  # fmt: skip
    return locked


def user_for(token: str) -> Any | None:
    """The active user a valid, unexpired, unrevoked token acts as; None otherwise."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    record = ApiToken.objects.select_related("user").filter(token_hash=digest(token)).first()
    now = clock.now()
    if record is None or not record.usable(now):
        return None
    if record.last_used_at is None or now - record.last_used_at >= TOUCH_EVERY:
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
    return record.user
