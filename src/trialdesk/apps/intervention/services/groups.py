"""Forming groups and placing participants: capacity, site, arm and one group at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.consent.services import require_consent
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.status import State
from trialdesk.apps.randomisation.models import Allocation
from trialdesk.apps.trial.models import Site
from trialdesk.errors import UserError

from .. import schedule
from ..models import Group, GroupMembership, Session
from .common import intervention, intervention_arm, record, require_intervention_arm, zone

#: States in which a participant can still join a group.
_PLACEABLE = frozenset({State.RANDOMISED, State.IN_FOLLOW_UP})


def _check_facilitators(group: Group, facilitators: Sequence) -> None:
    settings = intervention()
    unique = {user.pk: user for user in facilitators}
    if not settings.facilitators_min <= len(unique) <= settings.facilitators_max:
        wanted = (
            str(settings.facilitators_min)
            if settings.facilitators_min == settings.facilitators_max
            else f"{settings.facilitators_min} to {settings.facilitators_max}"
        )
        raise UserError(
            _("facilitator rule: a group needs %(wanted)s facilitators (protocol), got %(count)s") % {
                "wanted": wanted, "count": len(unique)}
        )
    for user in unique.values():
        if not allowed(user, "run-sessions", group):
            raise UserError(
                _("facilitator rule: %(username)s may not run sessions at site %(site)s") % {
                    "username": user.username, "site": group.site.code}
            )


def create_group(
    site: Site,
    name: str,
    *,
    facilitators: Sequence,
    planned_start: dt.date,
    weekday: int,
    start_time: dt.time,
    context: Context,
) -> Group:
    """A new group in the forming state; its capacity is the protocol's participants per group."""
    name = name.strip()
    if not name:
        raise UserError(_("a group needs a name"))
    schedule.first_on_weekday(planned_start, weekday)  # validates the weekday
    schedule.local_datetime(schedule.first_on_weekday(planned_start, weekday), start_time, zone())
    group = Group(
        site=site,
        name=name,
        capacity=intervention().participants_per_group,
        planned_start=planned_start,
        weekday=weekday,
        start_time=start_time,
        created_at=clock.now(),
        protocol_hash=context.protocol_hash,
    )
    _check_facilitators(group, facilitators)
    with transaction.atomic():
        if Group.objects.filter(site=site, name=name).exists():
            raise UserError(_("site %(site)s already has a group called %(name)s") % {
                "site": site.code, "name": repr(name)})
        group.save()
        group.facilitators.set(facilitators)
        record(
            context,
            group,
            action="create",
            entity="imr-group",
            entity_id=group.pk,
            new={
                "name": name,
                "capacity": group.capacity,
                "planned_start": planned_start,
                "weekday": weekday,
                "start_time": start_time,
                "facilitators": sorted(u.username for u in facilitators),
            },
        )
    return group


def set_facilitators(group: Group, facilitators: Sequence, context: Context, reason: str) -> None:
    _check_facilitators(group, facilitators)
    with transaction.atomic():
        old = sorted(group.facilitators.values_list("username", flat=True))
        new = sorted(u.username for u in facilitators)
        record(
            context,
            group,
            action="update",
            entity="imr-group",
            entity_id=group.pk,
            field="facilitators",
            old=old,
            new=new,
            reason=reason,
            require_reason=True,
        )
        group.facilitators.set(facilitators)


def members_on(group: Group, day: dt.date) -> list[GroupMembership]:
    """Memberships active on ``day`` (placed on or before it, not yet left)."""
    return [
        m
        for m in group.memberships.select_related("participant").order_by("participant__trial_id")
        if m.active_on(day)
    ]


def current_membership(participant: Participant) -> GroupMembership | None:
    return (
        GroupMembership.objects.filter(participant=participant, left_on__isnull=True)
        .select_related("group")
        .first()
    )


def _check_place(participant: Participant, group: Group, on: dt.date) -> None:
    if group.status in (Group.FINISHED, Group.STOPPED):
        raise UserError(_("group %(group_name)s is %(group_status)s: nobody can be placed in it") % {
            "group_name": group.name, "group_status": group.status})
    if participant.site_id != group.site_id:
        raise UserError(
            _(
                "site rule: %(trial_id)s belongs to site %(site)s, group %(group_name)s to site %(site2)s"
            ) % {
                "trial_id": participant.trial_id,
                "site": participant.site.code,
                "group_name": group.name,
                "site2": group.site.code,
            }
        )
    allocation = require_intervention_arm(participant)
    if participant.state not in _PLACEABLE:
        raise UserError(
            _("%(trial_id)s is %(state)s: only participants in the trial can be placed in a group") % {
                "trial_id": participant.trial_id, "state": _(participant.state.label)}
        )
    if on < allocation.allocated_at.date():
        raise UserError(
            _("%(trial_id)s was randomised on %(allocated_at)s: cannot be placed before that (%(on)s)") % {
                "trial_id": participant.trial_id, "allocated_at": allocation.allocated_at.date(), "on": on}
        )
    require_consent(participant, "intervention", on)
    active = GroupMembership.objects.filter(group=group, left_on__isnull=True).count()
    if active >= group.capacity:
        raise UserError(
            _(
                "capacity rule: group %(group_name)s is full (%(active)s of %(capacity)s places, the "
                "protocol's participants per group)"
            ) % {"group_name": group.name, "active": active, "capacity": group.capacity}
        )


def place(participant: Participant, group: Group, on: dt.date, context: Context) -> GroupMembership:
    """Put a waiting participant into ``group`` from ``on``."""
    with transaction.atomic():
        group = Group.objects.select_for_update().select_related("site").get(pk=group.pk)
        participant = Participant.objects.select_related("site").get(pk=participant.pk)
        existing = current_membership(participant)
        if existing is not None:
            raise UserError(
                _(
                    "one-group rule: %(trial_id)s is already in group %(group_name)s; move them instead (a "
                    "move needs a reason)"
                ) % {"trial_id": participant.trial_id, "group_name": existing.group.name}
            )
        _check_place(participant, group, on)
        membership = GroupMembership.objects.create(
            group=group, participant=participant, placed_on=on, placed_by=context.actor
        )
        record(
            context,
            group,
            action="place",
            entity="imr-membership",
            entity_id=membership.pk,
            participant=participant.trial_id,
            new={"group": group.pk, "placed_on": on},
        )
    return membership


def _end(membership: GroupMembership, on: dt.date, reason: str, context: Context, action: str) -> None:
    if on < membership.placed_on:
        raise UserError(
            _("%(trial_id)s was placed on %(placed_on)s: cannot leave before that (%(on)s)") % {
                "trial_id": membership.participant.trial_id, "placed_on": membership.placed_on, "on": on}
        )
    membership.left_on, membership.reason = on, reason.strip()
    membership.save(update_fields=["left_on", "reason"])
    record(
        context,
        membership.group,
        action=action,
        entity="imr-membership",
        entity_id=membership.pk,
        participant=membership.participant.trial_id,
        field="left_on",
        new=on,
        reason=reason,
        require_reason=True,
    )


def move(participant: Participant, to: Group, on: dt.date, reason: str, context: Context) -> GroupMembership:
    """End the current membership on ``on`` and place the participant in ``to`` from the same day."""
    if not reason.strip():
        raise UserError(_("moving %(trial_id)s to another group needs a reason") % {
            "trial_id": participant.trial_id})
    with transaction.atomic():
        to = Group.objects.select_for_update().select_related("site").get(pk=to.pk)
        participant = Participant.objects.select_related("site").get(pk=participant.pk)
        existing = current_membership(participant)
        if existing is None:
            raise UserError(_("%(trial_id)s is in no group: place them instead") % {
                "trial_id": participant.trial_id})
        if existing.group_id == to.pk:
            raise UserError(_("%(trial_id)s is already in group %(name)s") % {
                "trial_id": participant.trial_id, "name": to.name})
        _end(existing, on, reason, context, "move")
        _check_place(participant, to, on)
        membership = GroupMembership.objects.create(
            group=to, participant=participant, placed_on=on, placed_by=context.actor, reason=""
        )
        record(
            context,
            to,
            action="place",
            entity="imr-membership",
            entity_id=membership.pk,
            participant=participant.trial_id,
            new={"group": to.pk, "placed_on": on, "moved_from": existing.pk},
            reason=reason,
        )
    return membership


def remove(participant: Participant, on: dt.date, reason: str, context: Context) -> GroupMembership:
    """End the participant's membership (left the group, withdrew from IMR...); needs a reason."""
    if not reason.strip():
        raise UserError(_("taking %(trial_id)s out of a group needs a reason") % {
            "trial_id": participant.trial_id})
    with transaction.atomic():
        existing = current_membership(participant)
        if existing is None:
            raise UserError(_("%(trial_id)s is in no group") % {"trial_id": participant.trial_id})
        _end(existing, on, reason, context, "remove")
    return existing


def waiting(site: Site | None = None):
    """Participants allocated to the intervention arm, still in the trial, never placed in a group."""
    ids = Allocation.objects.filter(arm=intervention_arm()).values("participant_id")
    queryset = (
        Participant.objects.filter(pk__in=ids, status__in=[s.value for s in _PLACEABLE])
        .exclude(imr_memberships__isnull=False)
        .select_related("site", "allocation")
    )
    if site is not None:
        queryset = queryset.filter(site=site)
    return queryset.order_by("allocation__allocated_at", "trial_id")


def start(group: Group, on: dt.date, context: Context) -> None:
    """forming -> running; needs a schedule and the protocol's minimum of members."""
    with transaction.atomic():
        group = Group.objects.select_for_update().select_related("site").get(pk=group.pk)
        if group.status != Group.FORMING:
            raise UserError(_("group %(group_name)s is %(group_status)s: only a forming group can start") % {
                "group_name": group.name, "group_status": group.status})
        if not group.sessions.exists():
            raise UserError(_("group %(group_name)s has no sessions: generate its schedule first") % {
                "group_name": group.name})
        members = len(members_on(group, on))
        minimum = intervention().group_start_minimum
        if members < minimum:
            raise UserError(
                _(
                    "start rule: group %(group_name)s has %(members)s members on %(on)s; the protocol "
                    "starts a group with at least %(minimum)s"
                ) % {"group_name": group.name, "members": members, "on": on, "minimum": minimum}
            )
        group.status, group.started_on = Group.RUNNING, on
        group.save(update_fields=["status", "started_on"])
        record(
            context,
            group,
            action="start",
            entity="imr-group",
            entity_id=group.pk,
            field="status",
            old=Group.FORMING,
            new=Group.RUNNING,
        )


def _close(group: Group, status: str, on: dt.date, reason: str, context: Context) -> None:
    from .sessions import to_slots, write_slots

    with transaction.atomic():
        group = Group.objects.select_for_update().select_related("site").get(pk=group.pk)
        if group.status in (Group.FINISHED, Group.STOPPED):
            raise UserError(_("group %(group_name)s is already %(group_status)s") % {
                "group_name": group.name, "group_status": group.status})
        if status == Group.FINISHED and group.status != Group.RUNNING:
            raise UserError(_("group %(group_name)s is %(group_status)s: only a running group can finish") % {
                "group_name": group.name, "group_status": group.status})
        old = group.status
        sessions = list(group.sessions.order_by("number"))
        if status == Group.FINISHED:
            still = [s.number for s in sessions if s.status in (Session.PLANNED, Session.RESCHEDULED)]
            if still:
                raise UserError(
                    _(
                        "group %(group_name)s still has %(count)s planned session(s) (from session "
                        "%(first)s): hold or cancel them, or stop the group with a reason"
                    ) % {"group_name": group.name, "count": len(still), "first": still[0]}
                )
        else:
            write_slots(group, sessions, schedule.stop(to_slots(sessions), on, reason, zone()), context)
        group.status, group.status_reason, group.ended_on = status, reason.strip(), on
        group.save(update_fields=["status", "status_reason", "ended_on"])
        record(
            context,
            group,
            action=status,
            entity="imr-group",
            entity_id=group.pk,
            field="status",
            old=old,
            new=status,
            reason=reason,
            require_reason=status == Group.STOPPED,
        )
        for membership in group.memberships.filter(left_on__isnull=True).select_related("participant"):
            _end(membership, max(on, membership.placed_on), f"group {status}", context, "remove")


def finish(group: Group, on: dt.date, context: Context) -> None:
    """running -> finished, when every session is held or cancelled; members leave on ``on``."""
    _close(group, Group.FINISHED, on, "", context)


def stop(group: Group, on: dt.date, reason: str, context: Context) -> None:
    """Stop a group early (needs a reason): sessions from ``on`` not held are cancelled, members leave."""
    if not reason.strip():
        raise UserError(_("stopping group %(group_name)s needs a reason") % {"group_name": group.name})
    _close(group, Group.STOPPED, on, reason, context)


def sessions_of(group: Group):
    return Session.objects.filter(group=group).order_by("number")
