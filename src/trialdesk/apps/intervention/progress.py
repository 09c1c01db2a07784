"""What a facilitator sees of a group: next session, attendance trend, flags and module progress."""

from __future__ import annotations

from dataclasses import dataclass, field

from trialdesk import clock

from .models import Attendance, Group, Session
from .services.common import intervention
from .services.sessions import Flag, flagged


@dataclass
class ModuleProgress:
    number: int
    title: str
    sessions: int  # held sessions that covered it


@dataclass
class GroupProgress:
    group: Group
    next_session: Session | None
    held: int
    planned_total: int
    unrecorded: list[Session] = field(default_factory=list)  # past, neither held nor cancelled
    trend: list[tuple[int, float | None]] = field(default_factory=list)  # (session number, share present)
    flags: list[Flag] = field(default_factory=list)
    modules: list[ModuleProgress] = field(default_factory=list)

    @property
    def modules_covered(self) -> int:
        return sum(1 for m in self.modules if m.sessions)

    @property
    def expected_modules(self) -> int:
        """Modules the curriculum would have reached by now at an even pace over the planned sessions."""
        if not self.planned_total:
            return 0
        return min(len(self.modules), round(len(self.modules) * self.held / self.planned_total))


def group_progress(group: Group, last: int = 8) -> GroupProgress:
    sessions = list(group.sessions.order_by("number").prefetch_related("attendance"))
    held = [s for s in sessions if s.status == Session.HELD]
    now = clock.now()
    open_ = [s for s in sessions if s.status in (Session.PLANNED, Session.RESCHEDULED)]
    upcoming = [s for s in open_ if s.starts_at >= now]
    trend = []
    for s in sorted(held, key=lambda s: s.starts_at)[-last:]:
        marks = [a.status for a in s.attendance.all()]
        trend.append((s.number, marks.count(Attendance.PRESENT) / len(marks) if marks else None))
    counts: dict[int, int] = {}
    for s in held:
        for number in s.modules:
            counts[number] = counts.get(number, 0) + 1
    modules = [ModuleProgress(m.number, m.title, counts.get(m.number, 0)) for m in intervention().modules]
    return GroupProgress(
        group=group,
        next_session=min(upcoming, key=lambda s: s.starts_at) if upcoming else None,
        held=len(held),
        planned_total=sum(1 for s in sessions if s.status != Session.CANCELLED),
        unrecorded=sorted((s for s in open_ if s.starts_at < now), key=lambda s: s.starts_at),
        trend=trend,
        flags=flagged(group),
        modules=modules,
    )
