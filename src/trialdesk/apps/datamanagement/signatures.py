"""Electronic signature of a participant's casebook (21 CFR 11.50/11.200: manifest and password re-entry).

A signature stores the casebook's content hash; it is valid while the casebook still hashes the same and
shown as invalidated once anything in it changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.ledger.services import Context, append
from trialdesk.errors import UserError

from .content import casebook_hash
from .models import MEANING, CasebookSignature


def printed_name(user: Any) -> str:
    return user.get_full_name().strip() or user.get_username()


def sign(participant, context: Context, *, user: Any, password: str) -> CasebookSignature:
    """Sign after re-entering the password; a wrong password stores nothing but the failed attempt."""
    if not allowed(user, "sign-casebook", participant):
        raise UserError(_("your role does not allow signing casebooks (sign-casebook)"))
    if not user.check_password(password):
        with transaction.atomic():
            append(
                context,
                action="sign-password-failed",
                entity="casebook-signature",
                entity_id=participant.trial_id,
                site=participant.site.code,
                participant=participant.trial_id,
            )
        raise UserError("password: " + _("the password is not correct; the casebook was not signed"))
    with transaction.atomic():
        digest = casebook_hash(participant)
        signature = CasebookSignature.objects.create(
            participant=participant, signed_by=user, printed_name=printed_name(user), signed_at=clock.now(),
            meaning=MEANING, content_hash=digest,
        )  # fmt: skip
        append(
            context,
            action="sign",
            entity="casebook-signature",
            entity_id=signature.pk,
            new={
                "printed_name": signature.printed_name,
                "meaning": MEANING,
                "content_hash": digest,
                "signed_at": signature.signed_at,
            },
            site=participant.site.code,
            participant=participant.trial_id,
        )
    return signature


@dataclass(frozen=True)
class SignatureState:
    signature: CasebookSignature
    valid: bool

    @property
    def label(self) -> str:
        return "valid" if self.valid else "invalidated: the casebook changed after signing"


def signature_states(participant) -> list[SignatureState]:
    """Every signature of the casebook, newest first, each checked against the casebook as it is now."""
    signatures = list(CasebookSignature.objects.filter(participant=participant))
    if not signatures:
        return []
    now = casebook_hash(participant)
    return [SignatureState(s, s.content_hash == now) for s in signatures]
