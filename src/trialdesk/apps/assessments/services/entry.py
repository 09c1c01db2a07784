"""Entering an instrument at a visit: save as draft, complete (scored), record as not done, or correct.

Every value is checked by the instrument library's own item check, so a refused value's message names
the item and its allowed values. All problems of a submission are collected and reported at once
(:class:`InputError`, one message per field); nothing is stored unless everything is valid. A change to a
completed (or not-done) form needs a reason and is written to the ledger field by field, old -> new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.consent.services import require_consent
from trialdesk.apps.datamanagement.hooks import ensure_unlocked, raise_automatic_queries
from trialdesk.apps.ledger.services import Context, deferred
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.problems import InputError
from trialdesk.errors import UserError
from trialdesk.instruments import Instrument, get_library, score

# The library's per-item check: the one place that decides whether a value is allowed (and says so).
from trialdesk.instruments.scoring import _check_value as check_item_value
from trialdesk.instruments.scoring import _is_missing as is_missing

from ..models import Assessment, ItemResponse, Score, SelfReportLink, Visit
from ..progress import COMPLETE, DRAFT, NOT_DONE
from .schedule import anchor_schedule, ledger, randomised_on, refresh, visit_of

Value = int | float | str


def _ref(visit: Visit, instrument: str) -> str:
    return f"{visit.participant.trial_id}/{visit.code}/{instrument}"


def check_open(visit: Visit, instruments: list[str], trial_id: str) -> None:
    """Refuse forms of ``instruments`` at ``visit`` unless it collects them all and is not marked missed."""
    unknown = [code for code in instruments if code not in visit.instruments]
    if unknown:
        raise UserError(_("%(unknown)s not collected at visit %(visit)s; its instruments are %(known)s") % {
            "unknown": ", ".join(unknown), "visit": visit.label, "known": ", ".join(visit.instruments)})
    if visit.missed:
        raise UserError(
            _("visit %(visit)s of %(trial_id)s was marked missed (%(reason)s): no form can be entered for it")
            % {"visit": visit.label, "trial_id": trial_id, "reason": visit.missed_reason}
        )


def _visit_for(participant: Participant, visit_code: str, instrument: str, context: Context) -> Visit:
    visit = visit_of(participant, visit_code, context)
    check_open(visit, [instrument], participant.trial_id)
    return visit


def not_done_reason_required(instrument: Instrument) -> str:
    return _("a reason is required to record %(instrument)s as not done") % {
        "instrument": instrument.short_name}


def check_values(
    instrument: Instrument, raw: Mapping[str, object], *, complete: bool
) -> tuple[dict[str, Value], dict[str, str]]:
    """The answered items' normalised values, and a problem per refused item (field name ``item_<code>``)."""
    unknown = sorted(str(code) for code in raw if str(code) not in instrument.item_map)
    problems: dict[str, str] = {}
    if unknown:
        problems["instrument"] = _("%(instrument)s: unknown item %(unknown)s; its items are %(known)s") % {
            "instrument": instrument.code, "unknown": ", ".join(unknown),
            "known": ", ".join(instrument.item_map)}
    values: dict[str, Value] = {}
    for item in instrument.items:
        given = raw.get(item.code)
        if is_missing(given):
            if complete and item.required:
                problems[f"item_{item.code}"] = _(
                    "%(instrument)s item %(item)s is required; allowed values are %(allowed)s"
                ) % {"instrument": instrument.code, "item": item.code, "allowed": item.allowed_text}
            continue
        try:
            checked = check_item_value(instrument, item, given)
        except UserError as refusal:
            problems[f"item_{item.code}"] = str(refusal)
            continue
        if checked is not None:
            values[item.code] = checked
    if complete and not values and not problems:
        problems["instrument"] = _(
            "%(instrument)s: no item is answered; record the form as not done (with a reason) instead of "
            "completing it empty"
        ) % {"instrument": instrument.code}
    return values, problems


def _check_date(participant: Participant, visit: Visit, assessed_on: dt.date | None) -> str | None:
    """Why ``assessed_on`` is refused for this visit, or None."""
    if assessed_on is None:
        return _("the assessment date is required")
    if assessed_on > clock.today():
        return _("assessment date %(day)s is in the future") % {"day": assessed_on}
    baseline = Visit.objects.filter(participant=participant, month=0).values_list("target", flat=True).first()
    if baseline is None and not visit.anchor:
        return _("the baseline date is not set yet: enter a baseline form before visit %(visit)s") % {
            "visit": visit.label}
    if baseline is not None and assessed_on < baseline:
        return _(
            "assessment date %(day)s is before the baseline date %(baseline)s; forms of every visit are "
            "dated on or after the baseline"
        ) % {"day": assessed_on, "baseline": baseline}
    if visit.before_randomisation and (randomised := randomised_on(participant)) and assessed_on > randomised:
        return _(
            "visit %(visit)s comes before randomisation: assessment date %(day)s is after randomisation on "
            "%(randomised)s"
        ) % {"visit": visit.label, "day": assessed_on, "randomised": randomised}
    try:
        require_consent(participant, "assessment", assessed_on)
    except UserError as refusal:
        return str(refusal)
    return None


def _stored(assessment: Assessment | None) -> dict[str, Value]:
    return assessment.values() if assessment is not None else {}


def _write_responses(assessment: Assessment, values: Mapping[str, Value]) -> None:
    assessment.responses.all().delete()
    ItemResponse.objects.bulk_create(
        [
            ItemResponse(
                assessment=assessment,
                item=code,
                number=float(value) if not isinstance(value, str) else None,
                text=value if isinstance(value, str) else "",
            )
            for code, value in values.items()
        ]
    )


def _write_scores(assessment: Assessment, instrument: Instrument, values: Mapping[str, Value]) -> dict:
    assessment.scores.all().delete()
    if not instrument.score_names:
        return {}
    scores = score(instrument, values)
    Score.objects.bulk_create(
        [
            Score(
                assessment=assessment,
                name=name,
                value=value,
                prorated=name in scores.prorated_scores,
                category=scores.categories.get(name) or "",
            )
            for name, value in scores.values.items()
        ]
    )
    return dict(scores.values)


def save(
    participant: Participant,
    visit_code: str,
    instrument_code: str,
    raw: Mapping[str, object],
    *,
    assessed_on: dt.date | None,
    context: Context,
    complete: bool,
    reason: str = "",
    link: SelfReportLink | None = None,
) -> Assessment:
    """Save a form as a draft or complete it (scores computed, missing-item rule applied).

    Correcting a complete or not-done form needs ``reason``; each changed field goes to the ledger.
    """
    instrument = get_library().get(instrument_code)
    with transaction.atomic(), deferred():
        visit = _visit_for(participant, visit_code, instrument.code, context)
        locked = visit.participant
        existing = (
            Assessment.objects.select_for_update().filter(visit=visit, instrument=instrument.code).first()
        )
        ensure_unlocked(locked, visit, existing)
        values, problems = check_values(instrument, raw, complete=complete)
        if (date_problem := _check_date(locked, visit, assessed_on)) is not None:
            problems["assessed_on"] = date_problem
        correcting = existing is not None and existing.status in (COMPLETE, NOT_DONE)
        if correcting and not complete:
            problems["status"] = "a completed or not-done form cannot go back to draft; correct it instead"
        if correcting and not reason.strip():
            problems["reason"] = "a reason is required to change a completed or not-done form"
        if problems:
            raise InputError(problems)
        if (
            correcting
            and existing.status == COMPLETE
            and existing.values() == values
            and existing.assessed_on == assessed_on
        ):
            return existing  # nothing changed: nothing to record
        if visit.anchor and visit.target is None and assessed_on is not None:
            anchor_schedule(locked, assessed_on, context, reason="baseline dated by its first form")
            visit.refresh_from_db(fields=["target", "opens", "closes"])
        now = clock.now()
        old_values, old_status = _stored(existing), existing.status if existing else ""
        old_date = existing.assessed_on if existing else None
        assessment = existing or Assessment(
            participant=locked, visit=visit, instrument=instrument.code, created_at=now
        )
        assessment.status = COMPLETE if complete else DRAFT
        assessment.not_done_reason = ""
        assessment.assessed_on = assessed_on
        assessment.entered_by = context.actor
        assessment.source = "link" if link is not None else "staff"
        assessment.link = link or assessment.link
        assessment.protocol_hash = context.protocol_hash
        assessment.updated_at = now
        if complete and assessment.completed_at is None:
            assessment.completed_at = now
        assessment.save()
        _write_responses(assessment, values)
        scores = _write_scores(assessment, instrument, values) if complete else {}
        ref = _ref(visit, instrument.code)
        if correcting:
            _ledger_changes(
                context,
                visit,
                ref,
                reason=reason.strip(),
                status=(old_status, assessment.status),
                dates=(old_date, assessed_on),
                old=old_values,
                new=values,
            )
        else:
            ledger(
                context,
                visit,
                action="complete" if complete else "save-draft",
                entity="assessment",
                entity_id=ref,
                new={"assessed_on": assessed_on, "items": values, "scores": scores},
            )
        if correcting and complete:
            ledger(
                context,
                visit,
                action="rescore",
                entity="assessment",
                entity_id=ref,
                field="scores",
                new=scores,
                reason=reason.strip(),
            )
        refresh(visit, context)
        raise_automatic_queries(assessment, context)
    return assessment


def _ledger_changes(
    context: Context,
    visit: Visit,
    ref: str,
    *,
    reason: str,
    status: tuple[str, str],
    dates: tuple[dt.date | None, dt.date | None],
    old: Mapping[str, Value],
    new: Mapping[str, Value],
) -> None:
    old_status, new_status = status
    old_date, new_date = dates
    changes: list[tuple[str, object, object]] = []
    if old_status != new_status:
        changes.append(("status", old_status, new_status))
    if old_date != new_date:
        changes.append(("assessed_on", old_date, new_date))
    changes.extend(
        (f"item {code}", old.get(code), new.get(code))
        for code in dict.fromkeys([*old, *new])
        if old.get(code) != new.get(code)
    )
    for field, before, after in changes:
        ledger(
            context,
            visit,
            action="update",
            entity="assessment",
            entity_id=ref,
            field=field,
            old=before,
            new=after,
            reason=reason,
            require_reason=True,
        )


def mark_not_done(
    participant: Participant, visit_code: str, instrument_code: str, reason: str, context: Context
) -> Assessment:
    """Record that an instrument was not done at a visit, with the reason (which also explains a change)."""
    instrument = get_library().get(instrument_code)
    with transaction.atomic(), deferred():
        visit = _visit_for(participant, visit_code, instrument.code, context)
        locked = visit.participant
        if not reason.strip():
            raise InputError({"not_done_reason": not_done_reason_required(instrument)})
        existing = (
            Assessment.objects.select_for_update().filter(visit=visit, instrument=instrument.code).first()
        )
        ensure_unlocked(locked, visit, existing)
        now = clock.now()
        if existing is not None and existing.status == NOT_DONE:
            raise UserError(_("%(instrument)s at %(visit)s is already recorded as not done") % {
                "instrument": instrument.short_name, "visit": visit.label})
        ref = _ref(visit, instrument.code)
        if existing is not None and existing.status == COMPLETE:
            _ledger_changes(
                context,
                visit,
                ref,
                reason=reason.strip(),
                status=(COMPLETE, NOT_DONE),
                dates=(existing.assessed_on, None),
                old=existing.values(),
                new={},
            )
        assessment = existing or Assessment(
            participant=locked, visit=visit, instrument=instrument.code, created_at=now
        )
        assessment.status = NOT_DONE
        assessment.not_done_reason = reason.strip()
        assessment.assessed_on = None
        assessment.entered_by = context.actor
        assessment.protocol_hash = context.protocol_hash
        assessment.updated_at = now
        assessment.save()
        _write_responses(assessment, {})
        assessment.scores.all().delete()
        ledger(
            context,
            visit,
            action="not-done",
            entity="assessment",
            entity_id=ref,
            field="not_done_reason",
            new=assessment.not_done_reason,
            reason=assessment.not_done_reason,
        )
        refresh(visit, context)
        raise_automatic_queries(assessment, context)
    return assessment
