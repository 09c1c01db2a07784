"""The only writer of consent records, declines and withdrawals; and the checks later services use."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from trialdesk import clock
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.participants import services as participants
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.participants.status import State
from trialdesk.apps.trial.services import active_protocol
from trialdesk.errors import UserError

from .models import ConsentRecord, Decline, Withdrawal
from .scopes import ENDS_PARTICIPATION, KINDS, STOPS

_NO_CONSENT_STATES = {State.SCREENED, State.ELIGIBLE, State.INELIGIBLE, State.DECLINED}


def _ledger(context: Context, participant: Participant, *, action: str, entity: str, entity_id, new) -> None:
    append(
        context,
        action=action,
        entity=entity,
        entity_id=entity_id,
        new=new,
        site=participant.site.code,
        participant=participant.trial_id,
    )


def record_consent(
    participant: Participant,
    *,
    version: str,
    oral_on: dt.date | None,
    written_on: dt.date | None,
    taken_by: str,
    context: Context,
) -> ConsentRecord:
    """Record consent to a document version; the first consent moves an eligible person to consented."""
    protocol = active_protocol()
    documents = {document.version: document for document in protocol.consent.documents}
    state = participant.state
    if state is not State.ELIGIBLE and state in _NO_CONSENT_STATES | {State.WITHDRAWN, State.DIED}:
        raise UserError(
            f"{participant.trial_id} is {state.label}: consent can be recorded only for an "
            "eligible or already consented participant"
        )
    problems = {}
    document = documents.get(version)
    if document is None:
        problems["version"] = f"unknown consent document version {version!r} (known: {', '.join(documents)})"
    dates = {"oral": oral_on, "written": written_on}
    for form in protocol.consent.forms:
        if dates[form] is None:
            problems[f"{form}_on"] = f"the date of {form} consent is required"
    today = clock.today()
    screened = participant.screenings.order_by("-screened_on").values_list("screened_on", flat=True).first()
    for form, day in dates.items():
        if day is None:
            continue
        if day > today:
            problems[f"{form}_on"] = f"{form} consent date {day} is in the future"
        elif screened and day < screened:
            problems[f"{form}_on"] = f"{form} consent date {day} is before the screening ({screened})"
        elif document is not None and day < document.date:
            problems[f"{form}_on"] = (
                f"{form} consent date {day} is before version {version} was approved ({document.date})"
            )
    if not taken_by.strip():
        problems["taken_by"] = "who took consent is required"
    if ConsentRecord.objects.filter(participant=participant, document_version=version).exists():
        problems["version"] = f"consent to version {version} is already recorded"
    if problems:
        raise InputError(problems)
    with transaction.atomic():
        record = ConsentRecord.objects.create(
            participant=participant,
            document_version=version,
            oral_on=oral_on,
            written_on=written_on,
            taken_by=taken_by.strip(),
            recorded_by=context.actor,
            recorded_at=clock.now(),
            protocol_hash=context.protocol_hash,
        )
        _ledger(
            context,
            participant,
            action="create",
            entity="consent",
            entity_id=record.pk,
            new={
                "version": version,
                "oral_on": oral_on,
                "written_on": written_on,
                "taken_by": record.taken_by,
            },
        )
        if state is State.ELIGIBLE:
            participants.transition(participant, State.CONSENTED, context)
    return record


def record_decline(
    participant: Participant, *, category: str, declined_on: dt.date, context: Context, note: str = ""
) -> Decline:
    """An eligible person declined to take part, for one of the protocol's reason categories."""
    reasons = {choice.code: choice.label for choice in active_protocol().consent.decline_reasons}
    if participant.state is not State.ELIGIBLE:
        raise UserError(
            f"{participant.trial_id} is {participant.state.label}: only an eligible person can "
            "decline consent"
        )
    problems = {}
    if category not in reasons:
        problems["category"] = f"unknown reason category {category!r} (known: {', '.join(reasons)})"
    if declined_on > clock.today():
        problems["declined_on"] = f"date {declined_on} is in the future"
    if problems:
        raise InputError(problems)
    with transaction.atomic():
        decline = Decline.objects.create(
            participant=participant,
            declined_on=declined_on,
            category=category,
            note=note.strip(),
            recorded_by=context.actor,
            recorded_at=clock.now(),
        )
        _ledger(
            context,
            participant,
            action="create",
            entity="decline",
            entity_id=decline.pk,
            new={"declined_on": declined_on, "category": category, "note": decline.note},
        )
        participants.transition(participant, State.DECLINED, context, reason=f"declined: {reasons[category]}")
    return decline


def consent_date(participant: Participant) -> dt.date | None:
    """When valid consent began: the later of the required forms' dates on the first consent."""
    forms = active_protocol().consent.forms
    # Sorted here rather than by the database, so that lists of participants can prefetch ``consents``.
    for record in sorted(participant.consents.all(), key=lambda r: (r.recorded_at, r.id)):
        days = [getattr(record, f"{form}_on") for form in forms]
        if all(days):
            return max(days)
    return None


def record_withdrawal(
    participant: Participant, *, withdrawn_on: dt.date, scope: str, context: Context, reason: str = ""
) -> Withdrawal:
    """Record a withdrawal; scopes that end participation also move the participant to withdrawn."""
    scopes = {choice.code: choice.label for choice in active_protocol().consent.withdrawal_scopes}
    problems = {}
    if scope not in scopes:
        problems["scope"] = f"unknown withdrawal scope {scope!r} (known: {', '.join(scopes)})"
    elif scope not in STOPS:
        problems["scope"] = f"withdrawal scope {scope!r} has no defined effect in this version of trialdesk"
    began = consent_date(participant)
    if began is None:
        raise UserError(f"{participant.trial_id} has no recorded consent to withdraw from")
    if withdrawn_on > clock.today():
        problems["withdrawn_on"] = f"date {withdrawn_on} is in the future"
    elif withdrawn_on < began:
        problems["withdrawn_on"] = f"date {withdrawn_on} is before consent was given ({began})"
    if problems:
        raise InputError(problems)
    with transaction.atomic():
        withdrawal = Withdrawal.objects.create(
            participant=participant,
            withdrawn_on=withdrawn_on,
            scope=scope,
            reason=reason.strip(),
            recorded_by=context.actor,
            recorded_at=clock.now(),
        )
        _ledger(
            context,
            participant,
            action="create",
            entity="withdrawal",
            entity_id=withdrawal.pk,
            new={"withdrawn_on": withdrawn_on, "scope": scope, "reason": withdrawal.reason},
        )
        if scope in ENDS_PARTICIPATION and participant.state is not State.WITHDRAWN:
            participants.transition(
                participant,
                State.WITHDRAWN,
                context,
                reason=f"withdrew from {scopes[scope].lower()}"
                + (f": {withdrawal.reason}" if withdrawal.reason else ""),
            )
    return withdrawal


def _refusal(participant: Participant, kind: str, on: dt.date) -> str | None:
    """Why data of ``kind`` dated ``on`` may not be handled for ``participant``, or None if it may."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    began = consent_date(participant)
    if began is None:
        return f"{participant.trial_id} has no valid consent yet: data entry is refused before consent"
    if kind != "analysis" and on < began:
        return f"{participant.trial_id} consented on {began}, after {on}"
    for withdrawal in participant.withdrawals.all():
        applies = withdrawal.scope == "all_data" if kind == "analysis" else withdrawal.withdrawn_on <= on
        if applies and kind in STOPS.get(withdrawal.scope, frozenset(KINDS)):
            return (
                f"{participant.trial_id} withdrew ({withdrawal.scope.replace('_', ' ')}) on "
                f"{withdrawal.withdrawn_on}: {kind} data may not be handled"
            )
    return None


def may_collect(participant: Participant, kind: str, on: dt.date | None = None) -> bool:
    """May data of ``kind`` (see :mod:`consent.scopes`) dated ``on`` (default today) be handled?"""
    return _refusal(participant, kind, on or clock.today()) is None


def require_consent(participant: Participant, kind: str = "assessment", on: dt.date | None = None) -> None:
    """Raise UserError unless ``may_collect``: every data-entry service calls this before writing."""
    if refusal := _refusal(participant, kind, on or clock.today()):
        raise UserError(refusal)
