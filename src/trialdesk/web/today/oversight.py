"""Panels of the trial-wide roles: data manager, monitor, investigator, statistician, administrator."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext, ngettext

from trialdesk import clock
from trialdesk.apps.accounts.permissions import allowed, scope
from trialdesk.apps.accounts.roles import Role

from .panel import LIMIT, LIVE_VERIFY_LIMIT, Cell, Panel, days_since, may, url

# -- data manager ------------------------------------------------------------------------------------------


def data_manager_panels(user: Any, today: dt.date) -> list[Panel]:
    panels = [_queries_panel(user, today)]
    if may(user, "datamanagement:locks"):
        panels.append(_locks_panel())
    if may(user, "datamanagement:audit"):
        panels.append(_audit_panel())
    return panels


def _queries_panel(user: Any, today: dt.date) -> Panel:
    from trialdesk.apps.datamanagement.queries import visible_queries

    unresolved = visible_queries(user).exclude(status="closed").order_by("raised_at")
    rows = [
        [
            Cell(f"#{q.pk}", url("datamanagement:query", q.pk)),
            Cell(q.participant.trial_id),
            Cell(q.status, tag="warn" if q.status == "open" else ""),
            Cell(days_since(q.raised_at, today), tag="bad" if (today - q.raised_at.date()).days > 30 else ""),
        ]
        for q in unresolved[:LIMIT]
    ]
    return Panel(
        gettext("Unresolved queries, oldest first"),
        [gettext("Query"), gettext("Participant"), gettext("Status"), gettext("Age")],
        rows,
        total=unresolved.count(),
        empty=gettext("No query is open or waiting for review."),
        more=(gettext("All queries"), url("datamanagement:queries")),
    )


def _locks_panel() -> Panel:
    from trialdesk.apps.datamanagement.locks import active_locks
    from trialdesk.apps.datamanagement.models import UnlockRequest

    locks = list(active_locks().order_by("-id")[:LIMIT])
    pending = UnlockRequest.objects.filter(state="pending").count()
    rows = [[Cell(lock.describe()), Cell(lock.get_scope_display())] for lock in locks]
    return Panel(
        gettext("Active locks"),
        [gettext("Locked"), gettext("Scope")],
        rows,
        total=active_locks().count(),
        empty=gettext("Nothing is locked."),
        more=(gettext("Locks"), url("datamanagement:locks")),
        attention=bool(pending),
        note=ngettext(
            "%(count)s unlock request waiting for a second person.",
            "%(count)s unlock requests waiting for a second person.",
            pending,
        )
        % {"count": pending}
        if pending
        else "",
    )


def _audit_panel() -> Panel:
    from trialdesk.apps.ledger.models import LedgerEntry
    from trialdesk.apps.ledger.services import verify_ledger

    n = LedgerEntry.objects.count()
    if n > LIVE_VERIFY_LIMIT:
        row = [
            Cell(gettext("%(count)s entries") % {"count": f"{n:,}"}),
            Cell(gettext("run `trialdesk audit verify`"), tag="warn"),
        ]
        return Panel(
            gettext("Audit trail"),
            [gettext("Entries"), gettext("Hash chain")],
            [row],
            more=(gettext("Audit trail"), url("datamanagement:audit")),
            counted=False,
        )
    verdict = verify_ledger()
    if verdict.ok:
        row = [
            Cell(gettext("%(count)s entries") % {"count": f"{verdict.checked:,}"}),
            Cell(gettext("intact"), tag="good"),
        ]
    else:
        row = [
            Cell(gettext("entry #%(number)s") % {"number": verdict.broken_seq}),
            Cell(gettext("broken: %(problem)s") % {"problem": verdict.problem}, tag="bad"),
        ]
    return Panel(
        gettext("Audit trail"),
        [gettext("Checked"), gettext("Hash chain")],
        [row],
        attention=not verdict.ok,
        counted=False,
        more=(gettext("Audit trail"), url("datamanagement:audit")),
        note=gettext("Verified now (%(time)s UTC).") % {"time": f"{clock.now():%H:%M}"},
    )


# -- monitor ------------------------------------------------------------------------------------------------


def monitor_panels(user: Any, today: dt.date) -> list[Panel]:
    from trialdesk.apps.assessments.models import Assessment
    from trialdesk.apps.datamanagement.models import SourceVerification

    verified = SourceVerification.objects.values("assessment_id")
    forms = (
        scope(Assessment.objects.filter(status="complete"), user, "verify-source", "participant__site")
        .exclude(pk__in=verified)
        .select_related("participant", "visit")
        .order_by("completed_at", "id")
    )
    rows = [
        [
            Cell(a.participant.trial_id, url("datamanagement:casebook", a.participant.trial_id)),
            Cell(a.visit.code),
            Cell(a.instrument),
            Cell(days_since(a.completed_at, today)),
        ]
        for a in forms[:LIMIT]
    ]
    return [
        Panel(
            gettext("Forms awaiting source-data verification"),
            [gettext("Participant"), gettext("Visit"), gettext("Form"), gettext("Complete for")],
            rows,
            total=forms.count(),
            empty=gettext("Every complete form is verified."),
            more=(gettext("Casebooks"), url("datamanagement:home")),
        )
    ]


# -- investigator -------------------------------------------------------------------------------------------


def investigator_panels(user: Any, today: dt.date) -> list[Panel]:
    from trialdesk.apps.datamanagement.models import CasebookSignature
    from trialdesk.apps.participants.models import Participant

    finished = scope(
        Participant.objects.filter(status__in=["completed", "withdrawn", "lost_to_follow_up", "died"]),
        user,
        "sign-casebook",
    ).select_related("site")
    signed = CasebookSignature.objects.values("participant_id")
    unsigned = finished.exclude(pk__in=signed).order_by("trial_id")
    rows = [
        [
            Cell(p.trial_id, url("datamanagement:casebook", p.trial_id)),
            Cell(p.site.code),
            Cell(gettext(p.state.label)),
        ]
        for p in unsigned[:LIMIT]
    ]
    panels = [
        Panel(
            gettext("Casebooks to sign"),
            [gettext("Participant"), gettext("Site"), gettext("Status")],
            rows,
            total=unsigned.count(),
            empty=gettext("No finished participant's casebook is waiting for your signature."),
            note=gettext(
                "Participants who have completed, withdrawn, died or are lost, with no signature yet."
            ),
        )
    ]
    if allowed(user, "approve-unblinding"):
        panels.append(_unblinding_panel(user, today))
    return panels


def _unblinding_panel(user: Any, today: dt.date) -> Panel:
    from trialdesk.apps.randomisation.models import UnblindingRequest

    pending = scope(
        UnblindingRequest.objects.filter(state="pending"), user, "approve-unblinding", "participant__site"
    ).select_related("participant", "requested_by")
    rows = [
        [
            Cell(r.participant.trial_id, url("randomisation:unblinding_detail", r.pk)),
            Cell(r.requested_by.get_username()),
            Cell(days_since(r.requested_at, today), tag="bad"),
        ]
        for r in pending[:LIMIT]
    ]
    return Panel(
        gettext("Emergency unblinding requests to decide"),
        [gettext("Participant"), gettext("Requested by"), gettext("Waiting")],
        rows,
        total=pending.count(),
        attention=pending.exists(),
        empty=gettext("No unblinding request is waiting."),
        more=(gettext("Unblinding"), url("randomisation:unblinding")),
    )


# -- statistician -------------------------------------------------------------------------------------------


def statistician_panels(user: Any, today: dt.date) -> list[Panel]:
    from trialdesk.apps.analysis.models import AnalysisRun
    from trialdesk.apps.randomisation.lists import usage
    from trialdesk.apps.randomisation.models import AllocationList
    from trialdesk.apps.snapshots.models import Snapshot

    panels = []
    if may(user, "randomisation:lists"):
        lists = list(AllocationList.objects.order_by("-active", "-created_at")[:LIMIT])
        rows = []
        for item in lists:
            slots = usage(item)
            used, total = sum(s["used"] for s in slots), sum(s["total"] for s in slots)
            fullest = max((s["used"] / s["total"] for s in slots if s["total"]), default=0.0)
            rows.append(
                [
                    Cell(item.label, url("randomisation:lists")),
                    Cell("active" if item.active else "inactive", tag="good" if item.active else ""),
                    Cell(gettext("%(used)s of %(total)s used") % {"used": used, "total": total}),
                    Cell(
                        f"{fullest:.0%}", tag="bad" if fullest >= 0.9 else ("warn" if fullest >= 0.75 else "")
                    ),
                ]
            )
        panels.append(
            Panel(
                gettext("Allocation lists"),
                [gettext("List"), gettext("Status"), gettext("Slots"), gettext("Fullest stratum")],
                rows,
                empty=gettext("No allocation list yet: generate one before the first randomisation."),
                attention=not any(item.active for item in lists),
                more=(gettext("Allocation lists"), url("randomisation:lists")),
            )
        )
    if may(user, "analysis:runs"):
        runs = AnalysisRun.objects.select_related("snapshot").order_by("-id")
        rows = [
            [
                Cell(f"Run {r.pk}", url("analysis:run", r.pk)),
                Cell(r.status, tag={"done": "good", "failed": "bad", "running": "warn"}.get(r.status, "")),
                Cell(f"{round(100 * r.progress)} %" if r.status == "running" else (r.message or "")),
                Cell(r.snapshot.label),
            ]
            for r in runs[:LIMIT]
        ]
        panels.append(
            Panel(
                gettext("Analysis runs"),
                [gettext("Run"), gettext("Status"), gettext("Progress"), gettext("Snapshot")],
                rows,
                total=runs.count(),
                empty=gettext("No analysis has been run."),
                attention=runs.filter(status="failed").exists(),
                more=(gettext("Analysis"), url("analysis:runs")),
            )
        )
    snapshots = Snapshot.objects.order_by("-taken_at")
    if not allowed(user, "view-allocation"):
        snapshots = snapshots.filter(blinded=True)
    rows = [
        [
            Cell(s.label),
            Cell(f"{s.taken_at:%Y-%m-%d %H:%M}"),
            Cell(gettext("blinded") if s.blinded else gettext("unblinded")),
        ]
        for s in snapshots[:LIMIT]
    ]
    more = (gettext("Exports"), url("snapshots:index")) if may(user, "snapshots:index") else None
    panels.append(
        Panel(
            gettext("Snapshots"),
            [gettext("Snapshot"), gettext("Taken"), gettext("Arms")],
            rows,
            total=snapshots.count(),
            empty=gettext("No snapshot taken yet."),
            more=more,
        )
    )
    return panels


# -- administrator ------------------------------------------------------------------------------------------


def admin_panels(user: Any, today: dt.date) -> list[Panel]:
    from trialdesk.apps.accounts.models import Membership

    counts = Membership.objects.values_list("role").annotate(n=Count("id")).order_by("role")
    rows = [[Cell(Role(role).label), Cell(str(n))] for role, n in counts]
    return [
        Panel(
            gettext("Staff by role"),
            [gettext("Role"), gettext("Memberships")],
            rows,
            empty=gettext("No staff account yet."),
            more=(gettext("Manage staff"), url("staff:list")) if may(user, "staff:list") else None,
        )
    ]
