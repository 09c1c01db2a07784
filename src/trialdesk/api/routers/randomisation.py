"""Randomisation: request it (idempotent), and read an allocation (unblinded callers only)."""

import datetime as dt

from django.utils.translation import gettext as _
from ninja import Header, Path, Schema

from trialdesk.apps.participants.status import State
from trialdesk.apps.randomisation.services import allocation_of, randomise
from trialdesk.apps.trial.services import active_protocol

from ..errors import not_found
from ..idempotency import HEADER, replay_or_run
from ..registry import Routes, Rule, participant_for
from .common import TRIAL_ID, context_for, may_see_arm, respond

routes = Routes("/participants/{trial_id}", "randomisation")
TrialId = Path(..., pattern=TRIAL_ID)


class RandomisationOut(Schema):
    trial_id: str
    status: str
    allocated_at: dt.datetime
    arm: str | None = None
    arm_label: str | None = None


class AllocationOut(Schema):
    trial_id: str
    arm: str
    arm_label: str
    stratum: str
    method: str
    allocated_at: dt.datetime


def _label(code: str) -> str:
    return next((arm.label for arm in active_protocol().arms if arm.code == code), code)


@routes.post("/randomisation", rule=Rule("participant", ("randomise",)), response=RandomisationOut,
              statuses=(201, 200))
def randomise_participant(request, trial_id: str = TrialId, idempotency_key: str = Header(..., alias=HEADER)):
    """Randomise a participant whose baseline is complete. The `Idempotency-Key` header is required: a
    retry with the same key gets the same answer; a participant is never allocated twice whatever the key
    (a second request answers 200 with the allocation already made). The arm is in the answer only for
    callers allowed to see allocations."""
    participant = participant_for(request, trial_id)

    def work():
        # Only an allocation moves a participant on from baseline complete (read before randomise).
        existed = participant.status != State.BASELINE_COMPLETE.value
        allocation = randomise(participant, context_for(request))
        shown = may_see_arm(request, participant)
        body = RandomisationOut(
            trial_id=participant.trial_id, status=participant.status, allocated_at=allocation.allocated_at,
            arm=allocation.arm if shown else None, arm_label=_label(allocation.arm) if shown else None,
        )  # fmt: skip
        return (200 if existed else 201), body.model_dump(mode="json")

    return respond(*replay_or_run(request, idempotency_key, work))


@routes.get("/allocation", rule=Rule("participant", ("view-allocation",)), response=AllocationOut)
def allocation(request, trial_id: str = TrialId):
    """A participant's arm, stratum and when it was allocated."""
    participant = participant_for(request, trial_id)
    found = allocation_of(participant)
    if found is None:
        raise not_found(_("%(trial_id)s is not randomised") % {"trial_id": participant.trial_id})
    return AllocationOut(trial_id=participant.trial_id, arm=found.arm, arm_label=_label(found.arm),
                         stratum=found.stratum, method=found.method,
                         allocated_at=found.allocated_at)  # fmt: skip
