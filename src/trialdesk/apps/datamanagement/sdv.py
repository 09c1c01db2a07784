"""Source-data verification: a monitor marks a form as matching its source documents.

The mark stores the form's content hash; it holds while the form still hashes the same, so any later
change, through any channel, clears it without a hook (see :mod:`.content` for why).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.assessments.models import Assessment
from trialdesk.apps.ledger.services import Context, append
from trialdesk.errors import UserError

from .content import form_hash
from .models import SourceVerification


def verify_form(assessment: Assessment, context: Context, *, user: Any, note: str = "") -> SourceVerification:
    if not allowed(user, "verify-source", assessment.participant):
        raise UserError(_("your role does not allow source-data verification (verify-source)"))
    if assessment.status == "draft":
        raise UserError(
            _(
                "%(instrument)s at %(visit_code)s is a draft: verify it once it is complete or recorded as "
                "not done"
            ) % {"instrument": assessment.instrument, "visit_code": assessment.visit.code}
        )
    with transaction.atomic():
        digest = form_hash(assessment)
        mark = SourceVerification.objects.create(
            assessment=assessment,
            verified_by=context.actor,
            verified_at=clock.now(),
            content_hash=digest,
            note=note.strip(),
        )
        participant = assessment.participant
        append(
            context,
            action="verify",
            entity="source-verification",
            entity_id=mark.pk,
            new={
                "form": f"{participant.trial_id}/{assessment.visit.code}/{assessment.instrument}",
                "content_hash": digest,
            },
            site=participant.site.code,
            participant=participant.trial_id,
        )
    return mark


@dataclass(frozen=True)
class VerificationState:
    """``verified`` only while the latest mark's hash matches the form now; ``changed`` once it does not."""

    mark: SourceVerification | None
    verified: bool

    @property
    def changed(self) -> bool:
        return self.mark is not None and not self.verified

    @property
    def label(self) -> str:
        if self.mark is None:
            return "not verified"
        return "verified" if self.verified else "changed since verification"


def verification_state(assessment: Assessment) -> VerificationState:
    mark = SourceVerification.objects.filter(assessment=assessment).first()
    return VerificationState(mark, mark is not None and mark.content_hash == form_hash(assessment))
