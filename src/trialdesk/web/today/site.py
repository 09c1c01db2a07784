"""Panels of the site staff: coordinator, assessor, facilitator and fidelity rater."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Max, Q
from django.utils.translation import gettext, gettext_noop, ngettext

from trialdesk.apps.accounts.permissions import allowed, scope

from .panel import LIMIT, Cell, Panel, days_since, may, url

# -- site coordinator ------------------------------------------------------------------------------------

#: state -> (what is waiting, the page that does it)
_PIPELINE = (
    ("screened", gettext_noop("Screening to finish"), "participants:detail"),
    ("eligible", gettext_noop("Awaiting consent"), "consent:record"),
    ("consented", gettext_noop("Awaiting baseline"), "assessments:participant"),
    ("baseline_complete", gettext_noop("Awaiting randomisation"), "randomisation:randomise"),
)


def coordinator_panels(user: Any, today: dt.date) -> list[Panel]:
    from trialdesk.apps.participants.models import Participant

    people = scope(Participant.objects.select_related("site"), user, "view-participants")
    waiting = (
        people.filter(status__in=[state for state, _, _ in _PIPELINE])
        .annotate(since=Max("status_events__at"))
        .order_by("since", "trial_id")
    )
    labels = {state: (label, page) for state, label, page in _PIPELINE}
    rows = []
    for p in waiting[: LIMIT * 2]:
        label, page = labels[p.status]
        target = page if may(user, page, p) else "participants:detail"
        rows.append(
            [
                Cell(p.trial_id, url(target, p.trial_id)),
                Cell(gettext(label)),
                Cell(p.site.code),
                Cell(
                    days_since(p.since, today),
                    tag="warn" if p.since and (today - p.since.date()).days > 14 else "",
                ),
            ]
        )
    steps = people.filter(status__in=list(labels)).values_list("status").annotate(n=Count("id"))
    counts = dict(steps.order_by().values_list("status", "n"))
    summary = ", ".join(
        f"{gettext(labels[s][0]).lower()}: {counts[s]}" for s, _, _ in _PIPELINE if counts.get(s)
    )
    panels = [
        Panel(
            gettext("Participants waiting for a step"),
            [gettext("Participant"), gettext("Next step"), gettext("Site"), gettext("Waiting")],
            rows,
            total=sum(counts.values()),
            empty=gettext("Nobody is waiting for screening, consent, baseline or randomisation."),
            more=(gettext("Screening log"), url("screening:log")) if may(user, "screening:log") else None,
            note=summary,
        )
    ]
    if may(user, "intervention:groups"):
        panels.append(_forming_groups(user))
    return panels


def _forming_groups(user: Any) -> Panel:
    from trialdesk.apps.intervention.models import Group
    from trialdesk.apps.intervention.services import waiting
    from trialdesk.apps.intervention.views.common import visible_sites
    from trialdesk.apps.trial.services import active_protocol

    minimum = active_protocol().intervention.group_start_minimum
    sites = visible_sites(user)
    groups = (
        Group.objects.filter(site__in=sites, status=Group.FORMING)
        .select_related("site")
        .annotate(members=Count("memberships", filter=Q(memberships__left_on__isnull=True)))
        .order_by("planned_start")
    )
    site_ids = set(sites.values_list("id", flat=True))
    unplaced = sum(1 for p in waiting() if p.site_id in site_ids)
    rows = [
        [
            Cell(g.name, url("intervention:group", g.pk)),
            Cell(g.site.code),
            Cell(
                gettext("%(members)s of %(capacity)s") % {"members": g.members, "capacity": g.capacity},
                tag="good" if g.members >= minimum else "warn",
            ),
            Cell(f"{g.planned_start:%Y-%m-%d}"),
        ]
        for g in groups[:LIMIT]
    ]
    more = (
        (gettext("Waiting list"), url("intervention:waiting")) if may(user, "intervention:waiting") else None
    )
    return Panel(
        gettext("IMR groups forming"),
        [gettext("Group"), gettext("Site"), gettext("Members"), gettext("Planned start")],
        rows,
        total=groups.count(),
        empty=gettext("No group is forming."),
        more=more,
        note=ngettext(
            "%(count)s IMR participant waiting for a group; a group starts with at least %(minimum)s.",
            "%(count)s IMR participants waiting for a group; a group starts with at least %(minimum)s.",
            unplaced,
        )
        % {"count": unplaced, "minimum": minimum},
    )


# -- outcome assessor --------------------------------------------------------------------------------------


def assessor_panels(user: Any, today: dt.date) -> list[Panel]:
    from trialdesk.apps.assessments import queries

    rows = queries.worklist(user, today)
    overdue = [(p, r) for p, r in rows if r.progress.state == "overdue"]
    closing = [(p, r) for p, r in rows if r.progress.state != "overdue"]

    def table(items):
        return [
            [
                Cell(p.trial_id, url("assessments:participant", p.trial_id)),
                Cell(r.visit.label),
                Cell(
                    f"{r.visit.closes:%Y-%m-%d}" if r.visit.closes else gettext("due now"),
                    tag="bad"
                    if r.progress.state == "overdue"
                    else ("warn" if r.visit.closes and (r.visit.closes - today).days <= 14 else ""),
                ),
                Cell(", ".join(r.missing_labels) or "—"),
            ]
            for p, r in items[:LIMIT]
        ]

    columns = [gettext("Participant"), gettext("Visit"), gettext("Window closes"), gettext("Still missing")]
    worklist = (gettext("Full visit worklist"), url("assessments:worklist"))
    return [
        Panel(
            gettext("Overdue visits"),
            columns,
            table(overdue),
            total=len(overdue),
            attention=bool(overdue),
            empty=gettext("No visit is overdue."),
            more=worklist,
        ),
        Panel(
            gettext("Open visits, soonest-closing first"),
            columns,
            table(closing),
            total=len(closing),
            empty=gettext("No visit window is open at your sites today."),
            more=worklist,
        ),
    ]


# -- IMR facilitator ---------------------------------------------------------------------------------------


def facilitator_panels(user: Any, today: dt.date) -> list[Panel]:
    from trialdesk.apps.intervention.models import Group
    from trialdesk.apps.intervention.progress import group_progress

    mine = Group.objects.filter(facilitators=user).exclude(status__in=[Group.FINISHED, Group.STOPPED])
    progress = [group_progress(g) for g in mine.select_related("site").distinct().order_by("name")]
    sessions = [
        [
            Cell(p.group.name, url("intervention:group", p.group.pk)),
            Cell(
                gettext("Session %(number)s") % {"number": p.next_session.number},
                url("intervention:session", p.next_session.pk),
            ),
            Cell(f"{p.next_session.starts_at:%a %d %b %H:%M}"),
        ]
        for p in progress
        if p.next_session
    ]
    unrecorded = [
        [
            Cell(p.group.name, url("intervention:group", p.group.pk)),
            Cell(gettext("Session %(number)s") % {"number": s.number}, url("intervention:attendance", s.pk)),
            Cell(f"{s.starts_at:%Y-%m-%d}", tag="warn"),
        ]
        for p in progress
        for s in p.unrecorded
    ]
    flags = [
        [
            Cell(f.trial_id, url("intervention:goals", f.trial_id)),
            Cell(p.group.name),
            Cell(gettext("%(count)s in a row") % {"count": f.missed_in_a_row}, tag="bad"),
            Cell(f"{f.last_present:%Y-%m-%d}" if f.last_present else gettext("never")),
        ]
        for p in progress
        for f in p.flags
    ]
    groups = (gettext("My IMR groups"), url("intervention:home"))
    return [
        Panel(
            gettext("Next sessions"),
            [gettext("Group"), gettext("Session"), gettext("When")],
            sessions[:LIMIT],
            total=len(sessions),
            empty=gettext("You have no planned session."),
            more=groups,
        ),
        Panel(
            gettext("Sessions to record"),
            [gettext("Group"), gettext("Session"), gettext("Was on")],
            unrecorded[:LIMIT],
            total=len(unrecorded),
            attention=bool(unrecorded),
            empty=gettext("Every past session is recorded."),
        ),
        Panel(
            gettext("Participants missing sessions"),
            [gettext("Participant"), gettext("Group"), gettext("Missed"), gettext("Last present")],
            flags[:LIMIT],
            total=len(flags),
            attention=bool(flags),
            empty=gettext("Nobody has missed 3 or more sessions in a row."),
        ),
    ]


# -- fidelity rater -----------------------------------------------------------------------------------------


def fidelity_panels(user: Any, today: dt.date) -> list[Panel]:
    from trialdesk.apps.intervention import services
    from trialdesk.apps.intervention.models import FidelityRating, Group

    groups = scope(Group.objects.filter(status__in=[Group.RUNNING, Group.FINISHED]), user, "rate-fidelity")
    rated = FidelityRating.objects.values("group_id")
    unrated = groups.exclude(pk__in=rated).select_related("site").order_by("started_on", "name")
    rows = [
        [
            Cell(g.name),
            Cell(g.site.code),
            Cell(g.status),
            Cell(f"{g.started_on:%Y-%m-%d}" if g.started_on else ""),
        ]
        for g in unrated[:LIMIT]
    ]
    awaiting = [r for r in services.awaiting_double() if allowed(user, "rate-fidelity", r.group)]
    second = [[Cell(r.group.name), Cell(f"{r.rated_on:%Y-%m-%d}"), Cell(r.source)] for r in awaiting[:LIMIT]]
    rate = (gettext("Rate a session"), url("intervention:rate")) if may(user, "intervention:rate") else None
    return [
        Panel(
            gettext("Groups not yet rated"),
            [gettext("Group"), gettext("Site"), gettext("Status"), gettext("Started")],
            rows,
            total=unrated.count(),
            empty=gettext("Every running or finished group has a fidelity rating."),
            more=rate,
        ),
        Panel(
            gettext("Ratings waiting for a second rater"),
            [gettext("Group"), gettext("First rated"), gettext("Source")],
            second,
            total=len(awaiting),
            empty=gettext("No rating is waiting for a second rater."),
            more=(gettext("Fidelity"), url("intervention:fidelity")),
        ),
    ]
