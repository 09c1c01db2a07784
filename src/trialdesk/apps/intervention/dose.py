"""Dose per participant in the intervention arm: the analysis table ``dose`` (see trialdesk.datasets).

Definitions (one row per participant allocated to the intervention arm, placed or not):

* sessions_offered: held sessions of the participant's groups on days they were a member;
* sessions_attended: those of them marked present;
* attendance: attended / offered (empty when nothing was offered);
* modules_covered: distinct curriculum modules of the attended sessions;
* weeks_in_group: days from placement to leaving (or the group's end, or today while it runs) / 7, summed
  over memberships;
* completer: attended at least the protocol's completer threshold of the sessions the participant would
  have been offered by staying: sessions held in the groups while a member, plus those the last group held
  after they left. Leaving early does not shrink the denominator, so a drop-out is not a completer.
"""

from __future__ import annotations

import pandas as pd

from trialdesk import datasets
from trialdesk.apps.randomisation.models import Allocation

from .models import Attendance, GroupMembership, Session
from .services.common import intervention, local_date, local_today


def dose_frame() -> pd.DataFrame:
    plan = intervention()
    participants = list(
        Allocation.objects.filter(arm=plan.arm)
        .select_related("participant")
        .order_by("participant__trial_id")
        .values_list("participant_id", "participant__trial_id")
    )
    memberships: dict[int, list[GroupMembership]] = {}
    for m in GroupMembership.objects.filter(participant_id__in=[p for p, _ in participants]).select_related(
        "group"
    ):
        memberships.setdefault(m.participant_id, []).append(m)
    group_ids = {m.group_id for ms in memberships.values() for m in ms}
    held: dict[int, list[Session]] = {}
    for s in Session.objects.filter(group_id__in=group_ids, status=Session.HELD).order_by("starts_at"):
        held.setdefault(s.group_id, []).append(s)
    present = set(
        Attendance.objects.filter(status=Attendance.PRESENT, session__group_id__in=group_ids).values_list(
            "participant_id", "session_id"
        )
    )
    today = local_today()
    rows = []
    for pid, trial_id in participants:
        mine = sorted(memberships.get(pid, []), key=lambda m: (m.placed_on, m.pk))
        offered = attended = would_have = 0
        modules: set[int] = set()
        weeks = 0.0
        for m in mine:
            for s in held.get(m.group_id, []):
                day = local_date(s.starts_at)
                if m.active_on(day):
                    offered += 1
                    if (pid, s.pk) in present:
                        attended += 1
                        modules.update(s.modules)
                elif m is mine[-1] and day >= m.placed_on:
                    would_have += 1  # held after the participant left the group
            end = m.left_on or m.group.ended_on or today
            weeks += max((end - m.placed_on).days, 0) / 7
        denominator = offered + would_have
        rows.append(
            {
                "trial_id": trial_id,
                "group_id": str(mine[-1].group_id) if mine else None,
                "sessions_offered": offered,
                "sessions_attended": attended,
                "attendance": attended / offered if offered else None,
                "modules_covered": len(modules),
                "weeks_in_group": round(weeks, 2) if mine else None,
                "completer": bool(denominator) and attended >= plan.completer_threshold * denominator,
            }
        )
    frame = pd.DataFrame(rows, columns=datasets.TABLES["dose"].column_names)
    frame = frame.astype(
        {
            "sessions_offered": "int64",
            "sessions_attended": "int64",
            "completer": "bool",
            "attendance": "float64",
            "weeks_in_group": "float64",
        }
    )
    return datasets.check("dose", frame)
