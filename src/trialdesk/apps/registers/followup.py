"""Each participant's register follow-up, read from the database, and the ``register`` table built on it.

* Start: the baseline date, the target of the participant's baseline (month 0) visit in the assessments
  app; for a participant whose baseline visit has no date yet, the local date of the
  ``baseline_complete`` status event. Only randomised participants are followed (intention to treat).
* End (exclusive): the end of the last counting period, or earlier at the first of: withdrawal from
  register data collection (from the withdrawal date: ``consent.may_collect`` refuses data dated on or
  after it), death or loss to follow-up (after the day the status event was recorded; that is the date
  trialdesk knows, which may be later than the event itself).
* A participant who withdrew consent to any use of their data (scope ``all_data``) is left out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from django.utils import timezone

from trialdesk.apps.consent.scopes import STOPS
from trialdesk.apps.participants.models import Participant, StatusEvent
from trialdesk.apps.participants.status import State
from trialdesk.apps.trial.services import active_protocol
from trialdesk.visits import add_months

from .models import RegisterEvent
from .periods import ONE_DAY, Event, Observation, counts, periods

#: States whose status event ends register follow-up (the day after it was recorded).
ENDING_STATES = (State.DIED, State.LOST_TO_FOLLOW_UP)


@dataclass(frozen=True)
class FollowUp:
    """Where a participant's register follow-up starts and ends; ``baseline`` None: not followed."""

    trial_id: str
    baseline: dt.date | None
    ends: dt.date | None
    collect_from: dt.date | None  # register data dated before consent are refused by the consent rules
    collect_until: dt.date | None  # exclusive: a withdrawal from register data collection
    excluded: bool  # withdrew consent to any use of their data

    def observation(self) -> Observation | None:
        if self.baseline is None or self.excluded:
            return None
        return Observation(self.trial_id, self.baseline, self.ends)

    def window(self, last_month: int) -> tuple[dt.date, dt.date] | None:
        """[first day, day after the last day] of follow-up over all periods, or None if not followed."""
        if self.baseline is None:
            return None
        end = add_months(self.baseline, last_month)
        return self.baseline, min(end, self.ends) if self.ends is not None else end


def _local(moment: dt.datetime) -> dt.date:
    return timezone.localdate(moment)


def follow_up(participant_ids: list[int] | None = None) -> dict[int, FollowUp]:
    """FollowUp per participant id (all participants, or those given), in a fixed number of queries."""
    from trialdesk.apps.assessments.models import Visit
    from trialdesk.apps.consent.models import ConsentRecord, Withdrawal

    forms = active_protocol().consent.forms
    people = Participant.objects.all()
    if participant_ids is not None:
        people = people.filter(pk__in=participant_ids)
    wanted = {p.pk: p for p in people.only("pk", "trial_id", "status")}
    events = StatusEvent.objects.filter(participant_id__in=wanted).order_by("at", "id")
    baseline: dict[int, dt.date] = {}
    randomised: set[int] = set()
    ended: dict[int, dt.date] = {}
    for event in events.only("participant_id", "to_state", "at"):
        if event.to_state == State.BASELINE_COMPLETE:
            baseline.setdefault(event.participant_id, _local(event.at))
        elif event.to_state == State.RANDOMISED:
            randomised.add(event.participant_id)
        elif event.to_state in ENDING_STATES:
            # The latest such event: someone found again and later lost ends at the later loss.
            ended[event.participant_id] = _local(event.at) + ONE_DAY
    anchors = Visit.objects.filter(participant_id__in=wanted, month=0, target__isnull=False)
    baseline.update(anchors.values_list("participant_id", "target"))
    consented: dict[int, dt.date] = {}
    for record in ConsentRecord.objects.filter(participant_id__in=wanted).order_by("recorded_at", "id"):
        days = [getattr(record, f"{form}_on") for form in forms]
        if all(days) and record.participant_id not in consented:
            consented[record.participant_id] = max(days)
    stops: dict[int, dt.date] = {}
    excluded: set[int] = set()
    for withdrawal in Withdrawal.objects.filter(participant_id__in=wanted):
        if "register" in STOPS.get(withdrawal.scope, frozenset({"register"})):
            pid = withdrawal.participant_id
            stops[pid] = min(stops.get(pid, withdrawal.withdrawn_on), withdrawal.withdrawn_on)
        if withdrawal.scope == "all_data":
            excluded.add(withdrawal.participant_id)
    out = {}
    for pid, participant in wanted.items():
        # Someone lost and found again is followed on: only a current ending state ends follow-up.
        end_by_status = ended.get(pid) if participant.state in ENDING_STATES else None
        ends = min((day for day in (end_by_status, stops.get(pid)) if day is not None), default=None)
        out[pid] = FollowUp(
            trial_id=participant.trial_id,
            baseline=baseline.get(pid) if pid in randomised else None,
            ends=ends,
            collect_from=consented.get(pid),
            collect_until=stops.get(pid),
            excluded=pid in excluded,
        )
    return out


def register_table(through: dt.date | None = None) -> pd.DataFrame:
    """The ``register`` analysis table from the stored events (see :mod:`.periods` for the rules)."""
    spec = periods(active_protocol())
    by_id = follow_up()
    observations = [o for f in by_id.values() if (o := f.observation()) is not None]
    trial_ids = {pid: f.trial_id for pid, f in by_id.items()}
    events = [
        Event(trial_ids[row.participant_id], row.kind, row.starts_on, row.ends_on)
        for row in RegisterEvent.objects.only("participant_id", "kind", "starts_on", "ends_on")
    ]
    return counts(observations, events, spec, through=through)
