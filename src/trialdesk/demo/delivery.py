"""Stage 2, IMR delivery: groups, placements, schedules, sessions held or cancelled, attendance, fidelity.

The generator's groups are created through ``intervention.services`` with the schedule the app makes
(weekly from the group's start for the protocol's duration). Generated slot ``k`` is the app's session
``k``: a cancelled slot is cancelled with its reason, a held one held with its modules; slots past the
app's schedule (a programme lengthened by cancellations beyond it) are left out, and sessions after the
last generated slot are cancelled as not needed. Events run in date order across groups.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from trialdesk.apps.consent import services as consent
from trialdesk.apps.intervention import services as imr
from trialdesk.apps.intervention.models import Attendance, Group, Session
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.trial.models import Site
from trialdesk.apps.trial.services import active_protocol
from trialdesk.instruments import get_library

from .timeline import as_date, on

START_TIME = dt.time(14, 0)
#: Share of absences recorded as "with notice" (assumed; the generator records only present/absent).
WITH_NOTICE = 0.4
#: Order of the kinds of event that fall on the same day.
ORDER = (
    "create",
    "place",
    "start",
    "withdraw",
    "remove",
    "cancel",
    "hold",
    "attend",
    "rate",
    "close",
    "finish",
)


@dataclass
class Delivered:
    groups: dict[str, Group] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n


def absent_status(group_id: str, number: int, trial_id: str) -> str:
    """A fixed, seed-free split of absences into with and without notice."""
    draw = zlib.crc32(f"{group_id}/{number}/{trial_id}".encode()) % 1000 / 1000
    return Attendance.WITH_NOTICE if draw < WITH_NOTICE else Attendance.WITHOUT_NOTICE


class _Plan:
    """The generated delivery as dated service calls."""

    def __init__(self) -> None:
        self.events: list[tuple[dt.date, int, int, Callable[[], None]]] = []

    def add(self, day: Any, kind: str, call: Callable[[], None]) -> None:
        self.events.append((as_date(day), ORDER.index(kind), len(self.events), call))

    def sorted(self) -> list[tuple[dt.date, int, int, Callable[[], None]]]:
        return sorted(self.events, key=lambda e: e[:3])


def deliver_imr(
    delivery: Any,
    *,
    protocol: Any,
    participants: dict[str, Participant],
    users: Any,
    context: Callable[[str], Context],
    advance: Callable[[int], None],
) -> Delivered:
    """Push ``delivery`` (``simulation.delivery.Delivery``, memberships ended) through the services."""
    done = Delivered()
    plan = _Plan()
    sites = {s.code: s for s in Site.objects.all()}
    numbers = {m.code: m.number for m in protocol.intervention.modules}
    minutes = protocol.intervention.session_minutes
    sessions_by_group = dict(iter(delivery.sessions.groupby("group_id")))
    members_by_group = dict(iter(delivery.memberships.groupby("group_id")))
    attendance = {
        (g, int(n)): frame for (g, n), frame in delivery.attendance.groupby(["group_id", "session_number"])
    }
    withdrawals = {row.trial_id: row for row in delivery.withdrawals.itertuples(index=False)}
    fidelity = dict(iter(delivery.fidelity.groupby("group_id")))
    app_sessions: dict[str, dict[int, Session]] = {}
    ratings: dict[str, Any] = {}

    for g in delivery.groups.itertuples(index=False):
        names = str(g.facilitators).split(";")
        facilitators = [users.get(name) for name in names]
        ctx = context(facilitators[0].username)
        starts = as_date(g.starts_on)
        slots = sessions_by_group[g.group_id].sort_values("slot")
        members = members_by_group.get(g.group_id, pd.DataFrame(columns=delivery.memberships.columns))

        def create(g=g, facilitators=facilitators, ctx=ctx, starts=starts) -> None:
            group = imr.create_group(
                sites[g.site],
                g.group_id,
                facilitators=facilitators,
                planned_start=starts,
                weekday=starts.weekday(),
                start_time=START_TIME,
                context=ctx,
            )
            app_sessions[g.group_id] = {s.number: s for s in imr.generate_schedule(group, ctx)}
            done.groups[g.group_id] = group
            done.count("groups")

        plan.add(
            min(starts - dt.timedelta(days=21), *[as_date(d) for d in members["joined_on"]]), "create", create
        )
        for m in members.itertuples(index=False):
            plan.add(m.joined_on, "place", lambda m=m, ctx=ctx: _place(done, participants, m, ctx))
            if not pd.isna(m.left_on) and m.left_on is not None:
                left = as_date(m.left_on)
                if m.trial_id in withdrawals:
                    plan.add(
                        left,
                        "withdraw",
                        lambda m=m, left=left, ctx=ctx: _withdraw_imr(
                            done, participants[m.trial_id], left, withdrawals[m.trial_id], ctx
                        ),
                    )
                if left > as_date(g.ends_on):
                    continue  # ended after the group finished: finishing the group ended it
                plan.add(
                    left,
                    "remove",
                    lambda m=m, left=left, ctx=ctx: _remove(
                        done, participants[m.trial_id], left, str(m.left_reason), ctx
                    ),
                )
        plan.add(
            starts,
            "start",
            lambda g=g, ctx=ctx, starts=starts: imr.start(done.groups[g.group_id], starts, ctx),
        )
        last_slot = int(slots["slot"].max())
        for s in slots.itertuples(index=False):
            slot = int(s.slot)
            if not s.held:
                plan.add(
                    s.scheduled_on,
                    "cancel",
                    lambda g=g, slot=slot, s=s, ctx=ctx: _cancel(
                        done, app_sessions[g.group_id], slot, str(s.cancel_reason), ctx
                    ),
                )
                continue
            number = int(s.session_number)
            modules = sorted(numbers[c] for c in str(s.modules).split(";"))
            marks = attendance.get((g.group_id, number))
            plan.add(
                s.scheduled_on,
                "hold",
                lambda g=g, slot=slot, modules=modules, f=facilitators, ctx=ctx: _hold(
                    done, app_sessions[g.group_id], slot, modules, minutes, f, ctx
                ),
            )
            plan.add(
                s.scheduled_on,
                "attend",
                lambda g=g, slot=slot, number=number, marks=marks, ctx=ctx: _attend(
                    done, app_sessions[g.group_id], slot, g.group_id, number, marks, ctx
                ),
            )
        ends = as_date(g.ends_on)
        plan.add(
            ends,
            "close",
            lambda g=g, last=last_slot, ends=ends, ctx=ctx: _close(
                done, app_sessions[g.group_id], last, ends, ctx
            ),
        )
        plan.add(
            ends, "finish", lambda g=g, ends=ends, ctx=ctx: imr.finish(done.groups[g.group_id], ends, ctx)
        )
        by_number = {int(s.session_number): int(s.slot) for s in slots.itertuples(index=False) if s.held}
        for r in fidelity.get(g.group_id, pd.DataFrame()).itertuples(index=False):
            plan.add(
                r.rated_on,
                "rate",
                lambda g=g, r=r, slot=by_number[int(r.session_number)]: _rate(
                    done, ratings, app_sessions[g.group_id], slot, r, users, context
                ),
            )

    for day, _kind, _index, call in plan.sorted():
        with on(day):
            call()
        advance(1)
    return done


def _place(done: Delivered, participants: dict[str, Participant], m: Any, ctx: Context) -> None:
    imr.place(participants[m.trial_id], done.groups[m.group_id], as_date(m.joined_on), ctx)
    done.count("placements")


def _withdraw_imr(done: Delivered, participant: Participant, day: dt.date, row: Any, ctx: Context) -> None:
    consent.record_withdrawal(
        participant, withdrawn_on=day, scope=str(row.scope), context=ctx, reason=str(row.reason)
    )
    done.count("withdrawn from IMR")


def _remove(done: Delivered, participant: Participant, day: dt.date, reason: str, ctx: Context) -> None:
    imr.remove(participant, day, reason, ctx)
    done.count("left a group")


def _cancel(done: Delivered, sessions: dict[int, Session], slot: int, reason: str, ctx: Context) -> None:
    if slot not in sessions:
        done.count("cancelled slots past the schedule")
        return
    imr.cancel_session(sessions[slot], reason, ctx)
    done.count("sessions cancelled")


def _hold(  # noqa: PLR0917 - a step of the dated event plan
    done: Delivered,
    sessions: dict[int, Session],
    slot: int,
    modules: list[int],
    minutes: int,
    facilitators: list[Any],
    ctx: Context,
) -> None:
    if slot not in sessions:
        done.count("held slots past the schedule")
        return
    imr.hold_session(
        sessions[slot], minutes=minutes, modules=modules, facilitators_present=facilitators, context=ctx
    )
    done.count("sessions held")


def _attend(  # noqa: PLR0917 - a step of the dated event plan
    done: Delivered,
    sessions: dict[int, Session],
    slot: int,
    group_id: str,
    number: int,
    marks: pd.DataFrame | None,
    ctx: Context,
) -> None:
    if marks is None or marks.empty:
        return
    if slot not in sessions:
        done.count("attendance marks past the schedule", len(marks))
        return
    statuses = {
        t: Attendance.PRESENT if a else absent_status(group_id, number, t)
        for t, a in zip(marks["trial_id"], marks["attended"], strict=True)
    }
    imr.record_attendance(sessions[slot], statuses, ctx)
    done.count("attendance marks", len(statuses))


def _close(done: Delivered, sessions: dict[int, Session], last_slot: int, day: dt.date, ctx: Context) -> None:
    for number, session in sorted(sessions.items()):
        if number > last_slot:
            imr.cancel_session(session, "not needed: the curriculum was completed", ctx)
            done.count("sessions not needed")


def _rate(  # noqa: PLR0917 - a step of the dated event plan
    done: Delivered,
    ratings: dict[str, Any],
    sessions: dict[int, Session],
    slot: int,
    r: Any,
    users: Any,
    context: Callable[[str], Context],
) -> None:
    rater = users.get(str(r.rater))
    codes = _fidelity_codes()
    items = {code: int(v) for code, v in zip(codes, str(r.items).split(";"), strict=True)}
    first = ratings.get(str(r.double_of)) if isinstance(r.double_of, str) else None
    session = sessions.get(slot)
    rating = imr.rate(
        done.groups[str(r.group_id)],
        rater=rater,
        rated_on=as_date(r.rated_on),
        source="observation",
        items=items,
        context=context(rater.username),
        session=None if first is not None else session,
        double_of=first,
    )
    ratings[str(r.rating_id)] = rating
    done.count("fidelity ratings")


def _fidelity_codes() -> tuple[str, ...]:
    return get_library().get(active_protocol().intervention.fidelity.instrument).scored_items
