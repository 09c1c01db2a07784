"""Which stratum a participant falls in, from their site and their screening answers.

Stratum labels are the allocation package's (``site=BAL|diagnosis=schizophrenia``), so slots of a list
made with ``trialdesk allocation generate`` match participants directly.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from trialdesk.allocation import scheme_from_protocol
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.screening import icd10
from trialdesk.errors import UserError
from trialdesk.protocol import Protocol


def levels_of(participant: Participant, protocol: Protocol) -> dict[str, str]:
    """Factor code -> level; a diagnosis factor takes the first recorded code that fits one of its levels."""
    screening = participant.screenings.filter(verdict="eligible").order_by("-screened_on", "-id").first()
    levels = {}
    for factor in protocol.stratification:
        if factor.source == "site":
            levels[factor.code] = participant.site.code
            continue
        if screening is None:
            raise UserError(_("%(trial_id)s has no eligible screening to stratify by %(factor)s") % {
                "trial_id": participant.trial_id, "factor": factor.label})
        answer = screening.answers.get(factor.criterion or "")
        codes = answer if isinstance(answer, list) else []
        found = next(
            (level.code for code in codes for level in factor.levels if icd10.matches(code, level.icd10)),
            None,
        )
        if found is None:
            raise UserError(
                _("%(trial_id)s: the answer to %(criterion)s fits no level of %(factor)s (%(levels)s)") % {
                    "trial_id": participant.trial_id, "criterion": factor.criterion, "factor": factor.label,
                    "levels": ", ".join(lv.code for lv in factor.levels)}
            )
        levels[factor.code] = found
    return levels


def stratum_of(participant: Participant, protocol: Protocol) -> str:
    return scheme_from_protocol(protocol).stratum_of(levels_of(participant, protocol))
