"""Recovery goals, their steps and the follow-up at each session: facilitators' records."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk.apps.consent.services import require_consent
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants.models import Participant
from trialdesk.errors import UserError

from ..models import GoalFollowUp, GoalStep, GroupMembership, RecoveryGoal, Session
from .common import local_date, record, require_intervention_arm


def _membership(participant: Participant) -> GroupMembership:
    membership = (
        participant.imr_memberships.select_related("group__site").order_by("-placed_on", "-id").first()
    )
    if membership is None:
        raise UserError(_("%(trial_id)s has not been placed in a group: goals are set in the group") % {
            "trial_id": participant.trial_id})
    return membership


def add_goal(participant: Participant, text: str, set_on: dt.date, context: Context) -> RecoveryGoal:
    if not text.strip():
        raise UserError(_("a recovery goal needs a text"))
    require_intervention_arm(participant)
    require_consent(participant, "intervention", set_on)
    with transaction.atomic():
        membership = _membership(participant)
        goal = RecoveryGoal.objects.create(
            participant=participant, text=text.strip(), set_on=set_on, created_by=context.actor
        )
        record(
            context,
            membership.group,
            action="create",
            entity="imr-goal",
            entity_id=goal.pk,
            participant=participant.trial_id,
            new={"text": goal.text, "set_on": set_on},
        )
    return goal


def add_step(goal: RecoveryGoal, text: str, context: Context) -> GoalStep:
    if not text.strip():
        raise UserError(_("a step needs a text"))
    with transaction.atomic():
        order = goal.steps.count() + 1
        step = GoalStep.objects.create(goal=goal, order=order, text=text.strip())
        record(
            context,
            _membership(goal.participant).group,
            action="create",
            entity="imr-goal-step",
            entity_id=step.pk,
            participant=goal.participant.trial_id,
            new={"goal": goal.pk, "order": order, "text": step.text},
        )
    return step


def complete_step(step: GoalStep, done_on: dt.date | None, context: Context, reason: str = "") -> GoalStep:
    """Mark a step done on ``done_on`` (None: not done); changing an earlier date needs a reason."""
    if done_on is not None and done_on < step.goal.set_on:
        raise UserError(
            _("step %(order)s cannot be done (%(done_on)s) before its goal was set (%(set_on)s)") % {
                "order": step.order, "done_on": done_on, "set_on": step.goal.set_on}
        )
    with transaction.atomic():
        old = step.done_on
        record(
            context,
            _membership(step.goal.participant).group,
            action="update",
            entity="imr-goal-step",
            entity_id=step.pk,
            participant=step.goal.participant.trial_id,
            field="done_on",
            old=old,
            new=done_on,
            reason=reason,
            require_reason=old is not None,
        )
        step.done_on = done_on
        step.save(update_fields=["done_on"])
    return step


def set_goal_status(goal: RecoveryGoal, status: str, reason: str, context: Context) -> RecoveryGoal:
    known = [code for code, _ in RecoveryGoal.STATUSES]
    if status not in known:
        raise UserError(_("goal status %(status)s is not one of %(known)s") % {
            "status": repr(status), "known": ', '.join(known)})
    with transaction.atomic():
        record(
            context,
            _membership(goal.participant).group,
            action="update",
            entity="imr-goal",
            entity_id=goal.pk,
            participant=goal.participant.trial_id,
            field="status",
            old=goal.status,
            new=status,
            reason=reason,
            require_reason=True,
        )
        goal.status = status
        goal.save(update_fields=["status"])
    return goal


def record_follow_up(
    goal: RecoveryGoal,
    session: Session,
    *,
    progress: str,
    home_assignment_done: bool | None,
    context: Context,
    note: str = "",
    reason: str = "",
) -> GoalFollowUp:
    """Follow-up of ``goal`` at a held session of the participant's group; a change needs a reason."""
    known = [code for code, _ in GoalFollowUp.PROGRESS]
    if progress not in known:
        raise UserError(_("progress %(progress)s is not one of %(known)s") % {
            "progress": repr(progress), "known": ', '.join(known)})
    session = Session.objects.select_related("group__site").get(
        pk=session.pk
    )  # the caller's copy may be stale
    if session.status != Session.HELD:
        raise UserError(
            _(
                "follow-up rule: session %(number)s is %(session_status)s; goals are followed up at held "
                "sessions"
            ) % {"number": session.number, "session_status": session.status}
        )
    day = local_date(session.starts_at)
    if not any(m.active_on(day) for m in goal.participant.imr_memberships.filter(group=session.group_id)):
        raise UserError(_("follow-up rule: %(trial_id)s was not in that group on %(day)s") % {
            "trial_id": goal.participant.trial_id, "day": day})
    if day < goal.set_on:
        raise UserError(
            _("follow-up rule: session %(number)s (%(day)s) is before the goal was set (%(set_on)s)") % {
                "number": session.number, "day": day, "set_on": goal.set_on}
        )
    with transaction.atomic():
        existing = GoalFollowUp.objects.filter(goal=goal, session=session).first()
        new = {"progress": progress, "home_assignment_done": home_assignment_done, "note": note.strip()}
        old = (
            {
                "progress": existing.progress,
                "home_assignment_done": existing.home_assignment_done,
                "note": existing.note,
            }
            if existing
            else None
        )
        if old == new:
            return existing  # type: ignore[return-value]
        record(
            context,
            session.group,
            action="update" if existing else "create",
            entity="imr-goal-follow-up",
            entity_id=f"{goal.pk}/{session.pk}",
            participant=goal.participant.trial_id,
            old=old,
            new=new,
            reason=reason,
            require_reason=existing is not None,
        )
        if existing is None:
            return GoalFollowUp.objects.create(goal=goal, session=session, recorded_by=context.actor, **new)
        for name, value in new.items():
            setattr(existing, name, value)
        existing.recorded_by = context.actor
        existing.save()
    return existing
