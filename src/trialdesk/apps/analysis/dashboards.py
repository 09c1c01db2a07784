"""Monitoring dashboards, live from the database: pooled over arms, or split by arm for closed roles.

Every figure is a query over the operational tables (no cached numbers). The pooled version never
reads the allocation table; the arm-split version (``by_arm=True``) does, and only views that checked
``view-closed-report`` ask for it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db.models import Avg, Count, Q

from trialdesk import clock


@dataclass
class SiteRow:
    code: str
    name: str
    target: int | None = None
    screened: int = 0
    eligible: int = 0
    randomised: int = 0
    due: int = 0
    done: int = 0
    in_window: int = 0
    overdue: int = 0
    missed: int = 0
    open_queries: int = 0
    by_arm: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def percent_of_target(self) -> float | None:
        return 100 * self.randomised / self.target if self.target else None

    @property
    def completion(self) -> float | None:
        return 100 * self.done / self.due if self.due else None

    @property
    def in_window_share(self) -> float | None:
        return 100 * self.in_window / self.done if self.done else None


def _arms() -> dict[int, str]:
    from trialdesk.apps.randomisation.models import Allocation

    return dict(Allocation.objects.values_list("participant_id", "arm"))


def site_rows(*, by_arm: bool = False, today: dt.date | None = None) -> list[SiteRow]:
    from trialdesk.apps.assessments.models import Visit
    from trialdesk.apps.screening.models import Screening
    from trialdesk.apps.trial.models import Site

    today = today or clock.today()
    rows = {s.pk: SiteRow(s.code, s.name, s.recruitment_target) for s in Site.objects.order_by("code")}
    for site_id, verdict, n in Screening.objects.values_list("site_id", "verdict").annotate(n=Count("pk")):
        rows[site_id].screened += n
        if verdict == "eligible":
            rows[site_id].eligible += n
    arms = _arms()
    from trialdesk.apps.participants.models import Participant

    site_of = dict(Participant.objects.filter(pk__in=arms).values_list("pk", "site_id"))
    for pid, site_id in site_of.items():
        rows[site_id].randomised += 1
        if by_arm:
            rows[site_id].by_arm.setdefault(arms[pid], Counter())["randomised"] += 1
    visits = Visit.objects.filter(
        before_randomisation=False, month__gt=0, participant_id__in=arms, target__lte=today
    )
    for pid, site_id, opens, closes, done_on, missed in visits.values_list(
        "participant_id", "participant__site_id", "opens", "closes", "done_on", "missed_reason"
    ):
        row = rows[site_id]
        counts = row.by_arm.setdefault(arms[pid], Counter()) if by_arm else Counter()
        for target in (row, counts):
            _count_visit(target, opens=opens, closes=closes, done_on=done_on, missed=missed, today=today)
    if apps.is_installed("trialdesk.apps.datamanagement"):
        from trialdesk.apps.datamanagement.models import Query

        for site_id, n in Query.objects.filter(status="open").values_list("site_id").annotate(n=Count("pk")):
            if site_id in rows:
                rows[site_id].open_queries += n
    return list(rows.values())


def _count_visit(
    target: Any,
    *,
    opens: dt.date | None,
    closes: dt.date | None,
    done_on: dt.date | None,
    missed: str,
    today: dt.date,
) -> None:
    def bump(name: str) -> None:
        if isinstance(target, Counter):
            target[name] += 1
        else:
            setattr(target, name, getattr(target, name) + 1)

    bump("due")
    if done_on is not None:
        bump("done")
        if opens is not None and closes is not None and opens <= done_on <= closes:
            bump("in_window")
    elif missed:
        bump("missed")
    elif closes is not None and closes < today:
        bump("overdue")


def overdue_visits(today: dt.date | None = None) -> list[dict[str, Any]]:
    """Visits past their window, neither done nor marked missed (trial id, visit, site, days over)."""
    from trialdesk.apps.assessments.models import Visit

    today = today or clock.today()
    rows = Visit.objects.filter(
        done_on__isnull=True, missed_reason="", closes__lt=today, before_randomisation=False
    ).order_by("closes", "participant__trial_id")
    return [
        {"trial_id": tid, "visit": label, "site": site, "closed": closes, "days": (today - closes).days}
        for tid, label, site, closes in rows.values_list(
            "participant__trial_id", "label", "participant__site__code", "closes"
        )[:200]
    ]


def group_rows() -> list[dict[str, Any]]:
    """IMR groups: members against capacity, sessions held, attendance share, mean fidelity."""
    from trialdesk.apps.intervention.models import Attendance, FidelityRating, Group

    attendance: dict[int, Counter[str]] = defaultdict(Counter)
    for group_id, status, n in Attendance.objects.values_list("session__group_id", "status").annotate(
        n=Count("pk")
    ):
        attendance[group_id][status] += n
    fidelity = dict(FidelityRating.objects.values_list("group_id").annotate(mean=Avg("score")))
    out = []
    for g in (
        Group.objects.select_related("site")
        .annotate(
            members=Count("memberships", filter=Q(memberships__left_on__isnull=True), distinct=True),
            held=Count("sessions", filter=Q(sessions__status="held"), distinct=True),
        )
        .order_by("site__code", "name")
    ):
        counts = attendance[g.pk]
        total = sum(counts.values())
        out.append(
            {
                "name": g.name,
                "site": g.site.code,
                "status": g.status,
                "members": g.members,
                "capacity": g.capacity,
                "held": g.held,
                "attendance": 100 * counts["present"] / total if total else None,
                "fidelity": fidelity.get(g.pk),
            }
        )
    return out


def dashboard(*, by_arm: bool = False) -> dict[str, Any]:
    sites = site_rows(by_arm=by_arm)
    arms = sorted({a for s in sites for a in s.by_arm}) if by_arm else []
    return {
        "sites": sites,
        "arms": arms,
        "overdue": overdue_visits(),
        "groups": group_rows(),
        "totals": {
            "screened": sum(s.screened for s in sites),
            "randomised": sum(s.randomised for s in sites),
            "target": sum(s.target or 0 for s in sites),
            "open_queries": sum(s.open_queries for s in sites),
        },
    }
