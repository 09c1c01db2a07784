"""Which stratum a participant falls in, from their site and their screening answers."""

from __future__ import annotations

from trialdesk.apps.participants.models import Participant
from trialdesk.apps.screening import icd10
from trialdesk.errors import UserError
from trialdesk.protocol import Protocol

SEPARATOR = "|"


def label(levels: tuple[str, ...]) -> str:
    """A stratum's name in lists and records: level codes in factor order, e.g. ``BAL|schizophrenia``."""
    return SEPARATOR.join(levels)


def levels_of(participant: Participant, protocol: Protocol) -> tuple[str, ...]:
    """One level per stratification factor; a diagnosis factor takes the first code that fits a level."""
    screening = participant.screenings.filter(verdict="eligible").order_by("-screened_on", "-id").first()
    levels = []
    for factor in protocol.stratification:
        if factor.source == "site":
            levels.append(participant.site.code)
            continue
        if screening is None:
            raise UserError(f"{participant.trial_id} has no eligible screening to stratify by {factor.label}")
        answer = screening.answers.get(factor.criterion or "")
        codes = answer if isinstance(answer, list) else []
        found = next(
            (level.code for code in codes for level in factor.levels if icd10.matches(code, level.icd10)),
            None,
        )
        if found is None:
            raise UserError(
                f"{participant.trial_id}: the answer to {factor.criterion} fits no level of "
                f"{factor.label} ({', '.join(lv.code for lv in factor.levels)})"
            )
        levels.append(found)
    return tuple(levels)
