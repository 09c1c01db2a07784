"""Sessions and attendance: the schedule, holding, cancelling and moving sessions, and the register."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.ledger.services import Change, Context, append_many
from trialdesk.errors import UserError

from .. import schedule
from ..models import Attendance, Group, Session
from .common import intervention, local_date, local_today, module_numbers, record, zone
from .groups import members_on

ABSENT = frozenset({Attendance.WITH_NOTICE, Attendance.WITHOUT_NOTICE})
STATUSES = tuple(code for code, _ in Attendance.CHOICES)


def holiday_country() -> str:
    """Whose bank holidays mark sessions: setting TRIALDESK_HOLIDAY_COUNTRY (the IMR trial: Denmark)."""
    return getattr(settings, "TRIALDESK_HOLIDAY_COUNTRY", "DK")


def to_slots(sessions: Sequence[Session]) -> list[schedule.Slot]:
    return [
        schedule.Slot(
            number=s.number,
            starts_at=s.starts_at,
            status=s.status,
            bank_holiday=s.bank_holiday,
            reason=s.reason,
            moved_from=s.moved_from,
        )
        for s in sessions
    ]


def write_slots(
    group: Group, sessions: Sequence[Session], slots: Sequence[schedule.Slot], context: Context
) -> list[Session]:
    """Save the sessions whose slot changed, one ledger entry each; returns the changed sessions."""
    changed = []
    for session, slot in zip(sessions, slots, strict=True):
        new = {
            "status": slot.status,
            "starts_at": slot.starts_at,
            "reason": slot.reason,
            "moved_from": slot.moved_from,
        }
        old = {name: getattr(session, name) for name in new}
        if old == new:
            continue
        for name, value in new.items():
            setattr(session, name, value)
        session.save(update_fields=list(new))
        record(
            context,
            group,
            action=slot.status if slot.status != "rescheduled" else "reschedule",
            entity="imr-session",
            entity_id=session.pk,
            old={k: v for k, v in old.items() if new[k] != v},
            new={k: v for k, v in new.items() if old[k] != v},
            reason=slot.reason,
            require_reason=True,
        )
        changed.append(session)
    return changed


def generate_schedule(group: Group, context: Context, *, on_holiday: str = "mark") -> list[Session]:
    """Create the group's sessions from its planned start, weekday and time for the protocol's duration."""
    plan = intervention()
    with transaction.atomic():
        group = Group.objects.select_for_update().select_related("site").get(pk=group.pk)
        if group.status in (Group.FINISHED, Group.STOPPED):
            raise UserError(_("group %(group_name)s is %(group_status)s: no schedule can be made") % {
                "group_name": group.name, "group_status": group.status})
        if group.sessions.exists():
            raise UserError(
                _(
                    "group %(group_name)s already has its schedule: cancel or reschedule sessions one by "
                    "one"
                ) % {"group_name": group.name}
            )
        first = schedule.first_on_weekday(group.planned_start, group.weekday)
        years = range(first.year, schedule.programme_end(first, plan.duration_months).year + 1)
        slots = schedule.plan(
            group.planned_start,
            group.weekday,
            group.start_time,
            frequency=plan.session_frequency,
            months=plan.duration_months,
            zone=zone(),
            holidays=schedule.bank_holidays(holiday_country(), years),
            on_holiday=on_holiday,
        )  # type: ignore[arg-type]
        sessions = Session.objects.bulk_create(
            Session(group=group, number=s.number, starts_at=s.starts_at, bank_holiday=s.bank_holiday)
            for s in slots
        )
        record(
            context,
            group,
            action="schedule",
            entity="imr-group",
            entity_id=group.pk,
            field="sessions",
            new={
                "sessions": len(slots),
                "first": slots[0].starts_at,
                "last": slots[-1].starts_at,
                "bank_holidays": [s.number for s in slots if s.bank_holiday],
                "on_holiday": on_holiday,
            },
        )
    return sessions


def _lock(session: Session) -> tuple[Session, list[Session]]:
    group = Group.objects.select_for_update().select_related("site").get(pk=session.group_id)
    sessions = list(group.sessions.order_by("number"))
    return next(s for s in sessions if s.pk == session.pk), sessions


def cancel_session(session: Session, reason: str, context: Context) -> Session:
    with transaction.atomic():
        session, sessions = _lock(session)
        slots = schedule.cancel(to_slots(sessions), session.number, reason)
        write_slots(session.group, sessions, slots, context)
    return session


def reschedule_session(session: Session, day: dt.date, at: dt.time, reason: str, context: Context) -> Session:
    """Move a planned session to local wall time ``at`` on ``day``; never before the group's start."""
    with transaction.atomic():
        session, sessions = _lock(session)
        group = session.group
        if group.status in (Group.FINISHED, Group.STOPPED):
            raise UserError(_("group %(group_name)s is %(group_status)s: its sessions cannot be moved") % {
                "group_name": group.name, "group_status": group.status})
        to = schedule.local_datetime(day, at, zone())
        start = group.started_on or group.planned_start
        slots = schedule.reschedule(
            to_slots(sessions), session.number, to, reason, group_start=start, zone=zone()
        )
        write_slots(group, sessions, slots, context)
    return session


def mark_bank_holiday(session: Session, name: str, context: Context) -> Session:
    """Flag (or, with an empty name, unflag) a session's date as a bank holiday."""
    with transaction.atomic():
        session, _group = _lock(session)
        old = session.bank_holiday
        session.bank_holiday = name.strip()
        session.save(update_fields=["bank_holiday"])
        record(
            context,
            session.group,
            action="update",
            entity="imr-session",
            entity_id=session.pk,
            field="bank_holiday",
            old=old,
            new=session.bank_holiday,
        )
    return session


def hold_session(
    session: Session,
    *,
    minutes: int,
    modules: Sequence[int],
    facilitators_present: Sequence,
    context: Context,
    reason: str = "",
) -> Session:
    """Record a session as held: its length, curriculum modules and facilitators. Changing a held session's
    record needs a reason."""
    known = module_numbers()
    unknown = sorted(set(modules) - set(known))
    if unknown:
        raise UserError(
            _("module rule: %(modules)s not in the curriculum (modules %(first)s-%(last)s)") % {
                "modules": ', '.join(map(str, unknown)), "first": known[0], "last": known[-1]}
        )
    if not 0 < minutes <= 600:
        raise UserError(_("a session's length must be 1 to 600 minutes, got %(minutes)s") % {
            "minutes": minutes})
    if not facilitators_present:
        raise UserError(_("a held session needs at least one facilitator present"))
    with transaction.atomic():
        session, _group = _lock(session)
        group = session.group
        if group.status != Group.RUNNING:
            raise UserError(
                _("group %(group_name)s is %(group_status)s: sessions are held only in a running group") % {
                    "group_name": group.name, "group_status": group.status}
            )
        if session.status == Session.CANCELLED:
            raise UserError(_("session %(number)s is cancelled (%(reason)s): it cannot be held") % {
                "number": session.number, "reason": session.reason})
        day = local_date(session.starts_at)
        if day > local_today():
            raise UserError(
                _("session %(number)s is on %(day)s, in the future: record it on or after that day") % {
                    "number": session.number, "day": day}
            )
        if group.started_on and day < group.started_on:
            raise UserError(
                _(
                    "a session cannot be before the group's start (%(started_on)s): session %(number)s is "
                    "on %(day)s"
                ) % {"started_on": group.started_on, "number": session.number, "day": day}
            )
        allowed_people = set(group.facilitators.values_list("pk", flat=True))
        for user in facilitators_present:
            if user.pk not in allowed_people and not allowed(user, "run-sessions", group):
                raise UserError(
                    _("facilitator rule: %(username)s may not run sessions at %(site)s") % {
                        "username": user.username, "site": group.site.code}
                )
        old = (
            {
                "minutes": session.held_minutes,
                "modules": session.modules,
                "facilitators": sorted(session.facilitators_present.values_list("username", flat=True)),
            }
            if session.status == Session.HELD
            else None
        )
        new = {
            "minutes": minutes,
            "modules": sorted(set(modules)),
            "facilitators": sorted(u.username for u in facilitators_present),
        }
        if old == new:
            return session
        session.status, session.held_minutes, session.modules = Session.HELD, minutes, new["modules"]
        session.save(update_fields=["status", "held_minutes", "modules"])
        session.facilitators_present.set(facilitators_present)
        record(
            context,
            group,
            action="hold",
            entity="imr-session",
            entity_id=session.pk,
            old=old,
            new=new,
            reason=reason,
            require_reason=old is not None,
        )
    return session


def record_attendance(
    session: Session, marks: Mapping[str, str], context: Context, reason: str = ""
) -> list[Attendance]:
    """Mark every member of the group on the session's day, in one call: ``{trial_id: status}``.

    Changing a mark already recorded needs a reason; unchanged marks are left alone.
    """
    with transaction.atomic():
        session, _group = _lock(session)
        group = session.group
        if session.status == Session.CANCELLED:
            raise UserError(
                _(
                    "attendance rule: session %(number)s is cancelled (%(reason)s); attendance is recorded "
                    "only for held sessions"
                ) % {"number": session.number, "reason": session.reason}
            )
        if session.status != Session.HELD:
            raise UserError(
                _(
                    "attendance rule: session %(number)s is %(session_status)s; record it as held before "
                    "its attendance"
                ) % {"number": session.number, "session_status": session.status}
            )
        members = {
            m.participant.trial_id: m.participant for m in members_on(group, local_date(session.starts_at))
        }
        strangers = sorted(set(marks) - set(members))
        if strangers:
            raise UserError(
                _(
                    "attendance rule: %(strangers)s not a member of group %(group_name)s on the day of the "
                    "session"
                ) % {"strangers": ', '.join(strangers), "group_name": group.name}
            )
        missing = sorted(set(members) - set(marks))
        if missing:
            raise UserError(_("attendance rule: every member must be marked; missing %(missing)s") % {
                "missing": ', '.join(missing)})
        wrong = {t: s for t, s in marks.items() if s not in STATUSES}
        if wrong:
            raise UserError(
                _(
                    "attendance rule: %(items)s not one of %(statuses)s"
                ) % {
                    "items": ', '.join(f'{t} {s!r}' for t, s in sorted(wrong.items())),
                    "statuses": ', '.join(STATUSES),
                }
            )
        existing = {a.participant_id: a for a in session.attendance.all()}
        now, out, changes, created = clock.now(), [], [], []
        for trial_id in sorted(marks):
            participant, status = members[trial_id], marks[trial_id]
            before = existing.get(participant.pk)
            if before is not None and before.status == status:
                out.append(before)
                continue
            # One ledger batch for the register: its guard refuses a locked participant or database,
            # as ensure_unlocked would, in one query.
            changes.append(Change(
                action="update" if before else "create", entity="imr-attendance",
                entity_id=f"{session.pk}/{trial_id}", field="status", old=before.status if before else None,
                new=status, reason=reason, require_reason=before is not None, site=group.site.code,
                participant=trial_id,
            ))  # fmt: skip
            if before is None:
                row = Attendance(session=session, participant=participant, status=status, recorded_at=now,
                                 recorded_by=context.actor)  # fmt: skip
                created.append(row)
                out.append(row)
            else:
                before.status, before.recorded_at, before.recorded_by = status, now, context.actor
                before.save(update_fields=["status", "recorded_at", "recorded_by"])
                out.append(before)
        append_many(context, changes)
        Attendance.objects.bulk_create(created)
    return out


@dataclass(frozen=True)
class Flag:
    trial_id: str
    missed_in_a_row: int
    last_present: dt.date | None


def flagged(group: Group, run: int = 3) -> list[Flag]:
    """Current members whose latest ``run`` or more recorded sessions in a row were all missed."""
    sessions = list(
        group.sessions.filter(status=Session.HELD).order_by("starts_at").prefetch_related("attendance")
    )
    flags = []
    for membership in members_on(group, local_today()):
        streak, last_present = 0, None
        for session in sessions:
            mark = next(
                (a.status for a in session.attendance.all() if a.participant_id == membership.participant_id),
                None,
            )
            if mark is None or not membership.active_on(local_date(session.starts_at)):
                continue
            if mark in ABSENT:
                streak += 1
            else:
                streak, last_present = 0, local_date(session.starts_at)
        if streak >= run:
            flags.append(Flag(membership.participant.trial_id, streak, last_present))
    return flags
