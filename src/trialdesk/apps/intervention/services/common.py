"""Shared helpers of the intervention services: protocol settings, arm checks, local dates, the ledger."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.datamanagement.hooks import ensure_unlocked
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.randomisation.models import Allocation
from trialdesk.apps.trial.services import active_protocol
from trialdesk.errors import UserError

from ..models import Group


def zone() -> str:
    """The trial's wall-clock zone: Django's TIME_ZONE (Europe/Copenhagen)."""
    return settings.TIME_ZONE


def local_date(instant: dt.datetime) -> dt.date:
    return instant.astimezone(ZoneInfo(zone())).date()


def local_today() -> dt.date:
    return local_date(clock.now())


def intervention():
    return active_protocol().intervention


def intervention_arm() -> str:
    return intervention().arm


def require_intervention_arm(participant: Participant) -> Allocation:
    """The participant's allocation, or a UserError unless it is to the intervention arm."""
    allocation = Allocation.objects.filter(participant=participant).first()
    arm = intervention_arm()
    if allocation is None:
        raise UserError(
            _(
                "arm rule: %(trial_id)s has not been randomised; only participants allocated to %(arm)s "
                "can take part in %(arm)s groups"
            ) % {"trial_id": participant.trial_id, "arm": arm}
        )
    if allocation.arm != arm:
        raise UserError(
            _(
                "arm rule: %(trial_id)s is not allocated to %(arm)s; only participants allocated to "
                "%(arm)s can be placed in %(arm)s groups"
            ) % {"trial_id": participant.trial_id, "arm": arm}
        )
    return allocation


def module_numbers() -> tuple[int, ...]:
    return tuple(module.number for module in intervention().modules)


def record(
    context: Context,
    group: Group,
    *,
    action: str,
    entity: str,
    entity_id: Any,
    participant: str = "",
    **fields: Any,
) -> None:
    """Append a ledger entry for a write to ``group`` or something in it."""
    ensure_unlocked(participant or None)
    append(
        context,
        action=action,
        entity=entity,
        entity_id=entity_id,
        site=group.site.code,
        participant=participant,
        **fields,
    )
