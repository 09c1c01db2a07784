"""Content hashes of a form and of a participant's casebook.

Source-data verification and signatures store the hash of what was verified or signed and compare it with
the data as they are now. This was chosen over a "clear the mark" hook in the write path because a hash
cannot be bypassed: a change through any channel (web, import, a future API, even a repair made directly
in the database) shows, with no service having to remember to call anything; and the mark's meaning is
exact — these very values were checked — instead of "nothing called the hook since".
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from trialdesk.apps.assessments.models import Assessment, Visit


def _digest(document: Any) -> str:
    text = json.dumps(document, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def form_document(assessment: Assessment) -> dict[str, Any]:
    """What a form says: status, date, reason if not done, every stored item value."""
    return {
        "participant": assessment.participant.trial_id,
        "visit": assessment.visit.code,
        "instrument": assessment.instrument,
        "status": assessment.status,
        "assessed_on": assessment.assessed_on,
        "not_done_reason": assessment.not_done_reason,
        "items": {response.item: response.value for response in assessment.responses.all()},
    }


def form_hash(assessment: Assessment) -> str:
    return _digest(form_document(assessment))


def casebook_document(participant) -> dict[str, Any]:
    """The participant's casebook: every visit (dates, missed reason) and every form's content."""
    visits = Visit.objects.filter(participant=participant).order_by("sequence")
    forms = (
        Assessment.objects.filter(participant=participant)
        .select_related("visit", "participant")
        .prefetch_related("responses")
        .order_by("visit__sequence", "instrument")
    )
    return {
        "participant": participant.trial_id,
        "visits": [
            {"code": v.code, "target": v.target, "done_on": v.done_on, "missed_reason": v.missed_reason}
            for v in visits
        ],
        "forms": [form_document(form) for form in forms],
    }


def casebook_hash(participant) -> str:
    return _digest(casebook_document(participant))
