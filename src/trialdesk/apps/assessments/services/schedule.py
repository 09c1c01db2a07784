"""The visit schedule of a participant: creating it from the protocol, anchoring it on the baseline date,
booking, marking missed, and keeping each visit's finished date and deviations in step with its forms."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.consent.services import require_consent
from trialdesk.apps.datamanagement.hooks import ensure_unlocked
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.participants import services as participants
from trialdesk.apps.participants.models import Participant, StatusEvent
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.participants.status import State
from trialdesk.apps.trial.services import active_protocol
from trialdesk.errors import UserError
from trialdesk.visits import VisitState, visit_window

from ..models import Assessment, ProtocolDeviation, Visit
from ..progress import COMPLETE, Progress, progress

#: States in which a participant has an active schedule (consented and not yet finished or withdrawn).
ACTIVE_STATES = frozenset(
    {State.CONSENTED, State.BASELINE_COMPLETE, State.RANDOMISED, State.IN_FOLLOW_UP, State.LOST_TO_FOLLOW_UP}
)


def ledger(context: Context, visit: Visit, **values) -> None:
    participant = visit.participant
    append(context, site=participant.site.code, participant=participant.trial_id, **values)


def visit_ref(visit: Visit) -> str:
    return f"{visit.participant.trial_id}/{visit.code}"


def planned_visits(participant: Participant, *, none_saved: bool = False) -> list[Visit]:
    """The protocol's visits for ``participant`` as unsaved rows (targets set once the baseline is dated).

    ``none_saved``: the caller knows no visit of theirs is saved, so there is no baseline date to look up.
    """
    protocol = active_protocol()
    now = clock.now()
    anchor = None if none_saved else existing_anchor_date(participant)
    rows = []
    for sequence, declared in enumerate(protocol.visits, start=1):
        row = Visit(
            participant=participant,
            code=declared.code,
            label=declared.label,
            sequence=sequence,
            month=declared.month,
            before_randomisation=declared.before_randomisation,
            instruments=list(declared.instruments),
            protocol_hash=protocol.content_hash,
            created_at=now,
        )
        if anchor is not None:
            _set_window(row, anchor)
        rows.append(row)
    return rows


def existing_anchor_date(participant: Participant) -> dt.date | None:
    return Visit.objects.filter(participant=participant, month=0).values_list("target", flat=True).first()


def _set_window(visit: Visit, baseline: dt.date) -> None:
    protocol = active_protocol()
    declared = protocol.visit(visit.code)
    win = visit_window(baseline, declared)
    visit.target, visit.opens, visit.closes = win.target, win.opens, win.closes


def ensure_visits(participant: Participant, context: Context) -> dict[str, Visit]:
    """The participant's saved visits by code, creating the schedule from the protocol on first use."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ensure_visits must run inside the caller's transaction")
    saved = {visit.code: visit for visit in Visit.objects.filter(participant=participant)}
    if saved:
        return saved
    if participant.state not in ACTIVE_STATES:
        raise UserError(
            _("%(trial_id)s is %(state)s: visits are scheduled only for consented participants") % {
                "trial_id": participant.trial_id, "state": _(participant.state.label)}
        )
    for visit in planned_visits(participant):
        visit.save()
        saved[visit.code] = visit
    append(
        context,
        action="create",
        entity="visit-schedule",
        entity_id=participant.trial_id,
        new=[visit.code for visit in saved.values()],
        site=participant.site.code,
        participant=participant.trial_id,
    )
    return saved


def anchor_schedule(participant: Participant, baseline: dt.date, context: Context, reason: str = "") -> None:
    """Set the baseline date: the anchor visit's target and every visit's window follow from it."""
    for visit in Visit.objects.filter(participant=participant).select_related("participant__site"):
        old = visit.target
        _set_window(visit, baseline)
        if old != visit.target:
            visit.save(update_fields=["target", "opens", "closes"])
            ledger(
                context,
                visit,
                action="schedule",
                entity="visit",
                entity_id=visit_ref(visit),
                field="target",
                old=old,
                new={"target": visit.target, "opens": visit.opens, "closes": visit.closes},
                reason=reason,
            )


def change_baseline_date(
    participant: Participant, new_date: dt.date, context: Context, *, reason: str
) -> None:
    """Move the baseline date (and so every window). Refused once any later visit has a form."""
    with transaction.atomic():
        locked = Participant.objects.select_for_update().select_related("site").get(pk=participant.pk)
        ensure_unlocked(locked)
        visits = ensure_visits(locked, context)
        problems: dict[str, str] = {}
        if not reason.strip():
            problems["reason"] = _("a reason is required to change the baseline date")
        if new_date > clock.today():
            problems["baseline_date"] = _("baseline date %(new_date)s is in the future") % {
                "new_date": new_date}
        later = Assessment.objects.filter(participant=locked, visit__month__gt=0)
        if later.exists():
            problems["baseline_date"] = (
                _("the baseline date cannot change once a later visit has forms: %(visits)s") % {
                    "visits": ', '.join(sorted({a.visit.code for a in later}))}
            )
        earliest = (
            Assessment.objects.filter(participant=locked, visit__month=0, assessed_on__isnull=False)
            .order_by("assessed_on")
            .values_list("assessed_on", flat=True)
            .first()
        )
        if earliest is not None and new_date > earliest:
            problems["baseline_date"] = (
                _(
                    "baseline date %(new_date)s is after a baseline form dated %(earliest)s; baseline "
                    "forms cannot be dated before the baseline date"
                ) % {"new_date": new_date, "earliest": earliest}
            )
        if problems:
            raise InputError(problems)
        try:
            require_consent(locked, "assessment", new_date)
        except UserError as refusal:
            raise InputError({"baseline_date": str(refusal)}) from None
        if not any(visit.anchor for visit in visits.values()):
            raise UserError(_("the protocol has no visit at month 0 to anchor the schedule on"))
        anchor_schedule(locked, new_date, context, reason=reason.strip())


def visit_of(participant: Participant, code: str, context: Context) -> Visit:
    """The participant's saved visit ``code`` (locking the participant; the schedule is made on first use)."""
    locked = Participant.objects.select_for_update().select_related("site").get(pk=participant.pk)
    visits = ensure_visits(locked, context)
    if code not in visits:
        raise UserError(_("unknown visit %(code)s (known: %(visits)s)") % {
            "code": repr(code), "visits": ', '.join(visits)})
    visit = visits[code]
    visit.participant = locked
    return visit


def book_visit(participant: Participant, code: str, booked_on: dt.date | None, context: Context) -> Visit:
    """Book (or rebook, or unbook with None) a visit; the booking is logistics, so no reason is asked."""
    with transaction.atomic():
        visit = visit_of(participant, code, context)
        ensure_unlocked(visit.participant, visit)
        if visit.done_on is not None or visit.missed:
            raise UserError(
                _("visit %(visit)s of %(trial_id)s is finished: it cannot be booked") % {
                    "visit": visit.label, "trial_id": visit.participant.trial_id}
            )
        if booked_on is not None:
            baseline = existing_anchor_date(visit.participant)
            if baseline is not None and booked_on < baseline:
                raise InputError(
                    {"booked_on": _("booked date %(booked_on)s is before the baseline date %(baseline)s") % {
                        "booked_on": booked_on, "baseline": baseline}}
                )
            if not visit.anchor and baseline is None:
                raise InputError(
                    {"booked_on": _("the baseline date is not set yet: book the baseline visit first")}
                )
        if visit.booked_on != booked_on:
            ledger(
                context,
                visit,
                action="book",
                entity="visit",
                entity_id=visit_ref(visit),
                field="booked_on",
                old=visit.booked_on,
                new=booked_on,
            )
            visit.booked_on = booked_on
            visit.save(update_fields=["booked_on"])
    return visit


def mark_missed(participant: Participant, code: str, reason: str, context: Context) -> Visit:
    """Record that a visit will not take place, with the reason; refused once any form is complete."""
    with transaction.atomic():
        visit = visit_of(participant, code, context)
        ensure_unlocked(visit.participant, visit)
        if not reason.strip():
            raise InputError({"missed_reason": _("a reason is required to mark a visit missed")})
        if visit.missed:
            raise UserError(_("visit %(visit)s is already marked missed") % {"visit": visit.label})
        if visit.assessments.filter(status=COMPLETE).exists():
            raise UserError(
                _(
                    "visit %(visit)s has complete forms: record the remaining ones as not done instead of "
                    "marking the visit missed"
                ) % {"visit": visit.label}
            )
        visit.missed_reason = reason.strip()
        visit.save(update_fields=["missed_reason"])
        ledger(
            context,
            visit,
            action="missed",
            entity="visit",
            entity_id=visit_ref(visit),
            field="missed_reason",
            new=visit.missed_reason,
            reason=visit.missed_reason,
        )
    return visit


def visit_progress(visit: Visit, today: dt.date | None = None) -> Progress:
    """Where ``visit`` stands, from its forms (use a prefetched ``assessments`` where there is one)."""
    assessments = list(visit.assessments.all()) if visit.pk else []
    statuses = {a.instrument: a.status for a in assessments}
    completed_on = {
        a.instrument: a.assessed_on for a in assessments if a.status == COMPLETE and a.assessed_on
    }
    return progress(
        visit.instruments,
        statuses,
        completed_on,
        visit.window,
        today or clock.today(),
        anchor=visit.anchor,
        missed=visit.missed,
    )


def randomised_on(participant: Participant) -> dt.date | None:
    at = (
        StatusEvent.objects.filter(participant=participant, to_state=State.RANDOMISED.value)
        .order_by("at")
        .values_list("at", flat=True)
        .first()
    )
    return at.date() if at else None


def refresh(visit: Visit, context: Context) -> Progress:
    """After a form changed: keep the visit's date, its deviation and the participant's status in step."""
    now = clock.now()
    state = visit_progress(visit, now.date())
    done_on = state.visit_date if state.finished else None
    if done_on != visit.done_on:
        ledger(
            context,
            visit,
            action="update",
            entity="visit",
            entity_id=visit_ref(visit),
            field="done_on",
            old=visit.done_on,
            new=done_on,
        )
        visit.done_on = done_on
        visit.save(update_fields=["done_on"])
    if state.state is VisitState.DONE_OUT_OF_WINDOW and not visit.deviations.exists():
        detail = (
            f"visit {visit.label} took place on {done_on}, outside its window {visit.opens} to {visit.closes}"
        )
        deviation = ProtocolDeviation.objects.create(
            participant=visit.participant,
            visit=visit,
            kind="visit_out_of_window",
            occurred_on=done_on,
            detail=detail,
            recorded_by=context.actor,
            recorded_at=now,
            protocol_hash=context.protocol_hash,
        )
        ledger(
            context,
            visit,
            action="create",
            entity="protocol-deviation",
            entity_id=deviation.pk,
            new={"kind": deviation.kind, "detail": detail},
        )
    if visit.before_randomisation:
        _maybe_baseline_complete(visit.participant, context)
    return state


def _maybe_baseline_complete(participant: Participant, context: Context) -> None:
    """Every visit before randomisation done: the participant's baseline is complete (status pipeline)."""
    participant.refresh_from_db(fields=["status"])
    if participant.state is not State.CONSENTED:
        return
    before = Visit.objects.filter(participant=participant, before_randomisation=True).prefetch_related(
        "assessments"
    )
    if all(visit_progress(v).state in (VisitState.DONE, VisitState.DONE_OUT_OF_WINDOW) for v in before):
        participants.transition(participant, State.BASELINE_COMPLETE, context)
