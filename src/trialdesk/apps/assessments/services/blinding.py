"""Blinding integrity: the assessor's guess of allocation at visits after randomisation, and unblinding
incidents. Both are kept for the blinding index; neither reads or reveals any allocation."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.trial.services import active_protocol
from trialdesk.errors import UserError

from ..models import AllocationGuess, UnblindingIncident, Visit
from .schedule import existing_anchor_date, ledger, randomised_on, visit_of, visit_ref

CONFIDENCE = range(1, 6)


def guess_choices() -> list[tuple[str, str]]:
    """The arms of the protocol, then don't know: what an assessor may guess."""
    arms = [(arm.code, f"{arm.label} ({arm.code})") for arm in active_protocol().arms]
    return [*arms, (AllocationGuess.DONT_KNOW, _("Don't know"))]


def _check_day(participant: Participant, day: dt.date | None, field: str, what: str) -> dict[str, str]:
    """``what`` names the dated event, translated (the guess, the incident)."""
    if day is None:
        return {field: _("the date of %(what)s is required") % {"what": what}}
    if day > clock.today():
        return {field: _("the date of %(what)s, %(day)s, is in the future") % {"what": what, "day": day}}
    baseline = existing_anchor_date(participant)
    if baseline is not None and day < baseline:
        return {field: _("the date of %(what)s, %(day)s, is before the baseline date %(baseline)s") % {
            "what": what, "day": day, "baseline": baseline}}
    return {}


def record_guess(
    participant: Participant,
    visit_code: str,
    assessor,
    *,
    guess: str,
    confidence: int | str | None,
    guessed_on: dt.date | None,
    context: Context,
) -> AllocationGuess:
    """Record ``assessor``'s guess at the visit (one per assessor and visit)."""
    with transaction.atomic():
        visit = visit_of(participant, visit_code, context)
        return _record_guess(
            visit, assessor, guess=guess, confidence=confidence, guessed_on=guessed_on, context=context
        )


def _record_guess(
    visit: Visit,
    assessor,
    *,
    guess: str,
    confidence: int | str | None,
    guessed_on: dt.date | None,
    context: Context,
) -> AllocationGuess:
    participant = visit.participant
    if visit.before_randomisation:
        raise UserError(
            _(
                "visit %(visit)s comes before randomisation: a guess of allocation is recorded at the "
                "visits after it"
            ) % {"visit": visit.label}
        )
    if randomised_on(participant) is None:
        raise UserError(_("%(trial_id)s has not been randomised: there is no allocation to guess") % {
            "trial_id": participant.trial_id})
    choices = dict(guess_choices())
    problems = _check_day(participant, guessed_on, "guessed_on", _("the guess"))
    if guess not in choices:
        problems["guess"] = _("guess %(guess)s is not allowed; allowed values are %(choices)s") % {
            "guess": repr(guess), "choices": ', '.join(choices)}
    level: int | None = None
    if confidence in (None, ""):
        if guess != AllocationGuess.DONT_KNOW:
            problems["confidence"] = _(
                "confidence is required with a guess; allowed values are 1, 2, 3, 4, 5"
            )
    elif guess == AllocationGuess.DONT_KNOW:
        problems["confidence"] = _("confidence is not recorded with don't know; leave it empty")
    else:
        try:
            level = int(str(confidence))
        except ValueError:
            level = None
        if level not in CONFIDENCE:
            problems["confidence"] = (
                _("confidence %(confidence)s is not allowed; allowed values are 1, 2, 3, 4, 5") % {
                    "confidence": repr(confidence)}
            )
    if AllocationGuess.objects.filter(visit=visit, assessor=assessor).exists():
        problems["guess"] = _("you have already recorded a guess for %(trial_id)s at %(visit)s") % {
            "trial_id": participant.trial_id, "visit": visit.label}
    if problems:
        raise InputError(problems)
    row = AllocationGuess.objects.create(
        participant=participant,
        visit=visit,
        assessor=assessor,
        guess=guess,
        confidence=level,
        guessed_on=guessed_on,
        recorded_at=clock.now(),
        protocol_hash=context.protocol_hash,
    )
    ledger(
        context,
        visit,
        action="create",
        entity="allocation-guess",
        entity_id=visit_ref(visit),
        new={
            "assessor": assessor.get_username(),
            "guess": guess,
            "confidence": level,
            "guessed_on": guessed_on,
        },
    )
    return row


def record_incident(
    participant: Participant,
    visit_code: str | None,
    assessor,
    *,
    occurred_on: dt.date | None,
    how: str,
    description: str,
    assessor_replaced: bool | None,
    context: Context,
) -> UnblindingIncident:
    """Record that ``assessor`` learned (or may have learned) the participant's allocation.

    The description may name the arm, so it is never shown to blinded staff; the ledger keeps its SHA-256
    (so a later change is detectable) rather than the text, because ledger reviewers are blinded.
    """
    visit = Visit.objects.filter(participant=participant, code=visit_code).first() if visit_code else None
    kinds = dict(UnblindingIncident.HOW)
    problems = _check_day(participant, occurred_on, "occurred_on", _("the incident"))
    if how not in kinds:
        problems["how"] = _("%(how)s is not allowed; allowed values are %(kinds)s") % {
            "how": repr(how), "kinds": ', '.join(kinds)}
    if how == "other" and not description.strip():
        problems["description"] = _("describe how it happened when the answer is 'other'")
    if assessor_replaced is None:
        problems["assessor_replaced"] = _("say whether the assessor was replaced (yes or no)")
    if visit_code and visit is None:
        problems["visit"] = _("%(trial_id)s has no visit %(visit_code)s scheduled") % {
            "trial_id": participant.trial_id, "visit_code": repr(visit_code)}
    if problems:
        raise InputError(problems)
    text = description.strip()
    with transaction.atomic():
        row = UnblindingIncident.objects.create(
            participant=participant,
            visit=visit,
            assessor=assessor,
            occurred_on=occurred_on,
            how=how,
            description=text,
            assessor_replaced=bool(assessor_replaced),
            reported_by=context.actor,
            recorded_at=clock.now(),
            protocol_hash=context.protocol_hash,
        )
        append(
            context,
            action="create",
            entity="unblinding-incident",
            entity_id=row.pk,
            new={
                "assessor": assessor.get_username(),
                "how": how,
                "occurred_on": occurred_on,
                "assessor_replaced": row.assessor_replaced,
                "visit": visit.code if visit else None,
                "description_sha256": hashlib.sha256(text.encode()).hexdigest(),
            },
            site=participant.site.code,
            participant=participant.trial_id,
        )
    return row
