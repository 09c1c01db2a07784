"""Participants at the caller's sites: trial ids and status only; identifying data to key holders."""

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _
from ninja import Path, Query, Schema

from trialdesk.apps.accounts.permissions import allowed, scope
from trialdesk.apps.ledger.services import append
from trialdesk.apps.participants import services
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.participants.status import State
from trialdesk.errors import UserError

from ..errors import not_found
from ..registry import Routes, Rule, participant_for
from .common import MAX_LIMIT, TRIAL_ID, context_for

routes = Routes("/participants", "participants")
TrialId = Path(..., pattern=TRIAL_ID)


class ParticipantOut(Schema):
    trial_id: str
    site: str
    status: State
    created_at: dt.datetime


class ParticipantList(Schema):
    total: int
    limit: int
    offset: int
    items: list[ParticipantOut]


class StatusEventOut(Schema):
    from_state: str
    to_state: State
    at: dt.datetime


class ParticipantDetail(ParticipantOut):
    events: list[StatusEventOut]


class PersonalDataOut(Schema):
    trial_id: str
    cpr: str
    name: str
    contact: str


class Lookup(Schema):
    cpr: str


def participant_out(participant: Participant) -> ParticipantOut:
    return ParticipantOut(trial_id=participant.trial_id, site=participant.site.code,
                          status=participant.status, created_at=participant.created_at)  # fmt: skip


@routes.get("", rule=Rule("trial", ("view-participants",)), response=ParticipantList)
def list_participants(
    request,
    site: str | None = Query(None, max_length=20),
    status: State | None = None,
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=10**9),
):
    """Participants at the sites where the caller may see participants, by trial id."""
    rows = scope(Participant.objects.select_related("site"), request.user, "view-participants")
    if site:
        rows = rows.filter(site__code=site)
    if status:
        rows = rows.filter(status=status.value)
    rows = rows.order_by("site__code", "number")
    return ParticipantList(total=rows.count(), limit=limit, offset=offset,
                           items=[participant_out(p) for p in rows[offset:offset + limit]])  # fmt: skip


@routes.post("/lookup", rule=Rule("trial", ("view-personal-data",)), response=ParticipantOut,
              statuses=(200,))
def lookup(request, payload: Lookup):
    """Find a participant by CPR number (in the body, never in a URL). 404 unless registered at a site
    where the caller holds the personal-data permission. A hit is recorded in the ledger."""
    try:
        found = services.find_by_cpr(payload.cpr)
    except InputError:
        raise
    except UserError as problem:
        raise InputError({"cpr": str(problem)}) from None
    if found is None or not allowed(request.user, "view-personal-data", found):
        raise not_found(_("no participant with this CPR number among yours"))
    with transaction.atomic():
        append(context_for(request), action="lookup", entity="personal-data", entity_id=found.trial_id,
               site=found.site.code, participant=found.trial_id)  # fmt: skip
    return participant_out(found)


@routes.get("/{trial_id}", rule=Rule("participant", ("view-participants",)), response=ParticipantDetail)
def participant_detail(request, trial_id: str = TrialId):
    """A participant's site, status and status history (no identifying data, no allocation)."""
    participant = participant_for(request, trial_id)
    events = [StatusEventOut(from_state=e.from_state, to_state=e.to_state, at=e.at)
              for e in participant.status_events.all()]  # fmt: skip
    return ParticipantDetail(**participant_out(participant).model_dump(), events=events)


@routes.get("/{trial_id}/personal-data", rule=Rule("participant", ("view-personal-data",)),
            response=PersonalDataOut)  # fmt: skip
def personal_data(request, trial_id: str = TrialId):
    """Identifying data from the key table, to holders of the personal-data permission; each reading is
    recorded in the ledger (that it happened, not what was read)."""
    participant = participant_for(request, trial_id)
    details = services.read_personal_data(participant, context_for(request))
    return PersonalDataOut(trial_id=participant.trial_id, cpr=details.cpr, name=details.name,
                           contact=details.contact)  # fmt: skip
