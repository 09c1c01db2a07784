"""The only writer of consent records, declines and withdrawals; and the checks later services use."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

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


def _form_word(form: str) -> str:
    """A protocol's consent form as a word in a sentence ("oral consent date ..."), translated."""
    words = {"oral": pgettext("consent form", "oral"), "written": pgettext("consent form", "written")}
    return words.get(form, form)


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
            _("%(trial_id)s is %(state)s: consent can be recorded only for an eligible or already consented "
              "participant") % {"trial_id": participant.trial_id, "state": _(state.label)}
        )
    problems = {}
    document = documents.get(version)
    if document is None:
        problems["version"] = _("unknown consent document version %(version)s (known: %(known)s)") % {
            "version": repr(version), "known": ", ".join(documents)}
    dates = {"oral": oral_on, "written": written_on}
    for form in protocol.consent.forms:
        if dates[form] is None:
            problems[f"{form}_on"] = _("the date of %(form)s consent is required") % {
                "form": _form_word(form)}
    today = clock.today()
    screened = participant.screenings.order_by("-screened_on").values_list("screened_on", flat=True).first()
    for form, day in dates.items():
        if day is None:
            continue
        if day > today:
            problems[f"{form}_on"] = _("%(form)s consent date %(day)s is in the future") % {
                "form": _form_word(form), "day": day}
        elif screened and day < screened:
            problems[f"{form}_on"] = _(
                "%(form)s consent date %(day)s is before the screening (%(screened)s)"
            ) % {"form": _form_word(form), "day": day, "screened": screened}
        elif document is not None and day < document.date:
            problems[f"{form}_on"] = _(
                "%(form)s consent date %(day)s is before version %(version)s was approved (%(approved)s)"
            ) % {"form": _form_word(form), "day": day, "version": version, "approved": document.date}
    if not taken_by.strip():
        problems["taken_by"] = _("who took consent is required")
    if ConsentRecord.objects.filter(participant=participant, document_version=version).exists():
        problems["version"] = _("consent to version %(version)s is already recorded") % {"version": version}
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
            _("%(trial_id)s is %(state)s: only an eligible person can decline consent") % {
                "trial_id": participant.trial_id, "state": _(participant.state.label)}
        )
    problems = {}
    if category not in reasons:
        problems["category"] = _("unknown reason category %(category)s (known: %(known)s)") % {
            "category": repr(category), "known": ", ".join(reasons)}
    if declined_on > clock.today():
        problems["declined_on"] = _("date %(day)s is in the future") % {"day": declined_on}
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
        problems["scope"] = _("unknown withdrawal scope %(scope)s (known: %(known)s)") % {
            "scope": repr(scope), "known": ", ".join(scopes)}
    elif scope not in STOPS:
        problems["scope"] = _(
            "withdrawal scope %(scope)s has no defined effect in this version of trialdesk"
        ) % {"scope": repr(scope)}
    began = consent_date(participant)
    if began is None:
        raise UserError(_("%(trial_id)s has no recorded consent to withdraw from") % {
            "trial_id": participant.trial_id})
    if withdrawn_on > clock.today():
        problems["withdrawn_on"] = _("date %(day)s is in the future") % {"day": withdrawn_on}
    elif withdrawn_on < began:
        problems["withdrawn_on"] = _("date %(day)s is before consent was given (%(began)s)") % {
            "day": withdrawn_on, "began": began}
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
        return _("%(trial_id)s has no valid consent yet: data entry is refused before consent") % {
            "trial_id": participant.trial_id}
    if kind != "analysis" and on < began:
        return _("%(trial_id)s consented on %(began)s, after %(on)s") % {
            "trial_id": participant.trial_id, "began": began, "on": on}
    for withdrawal in participant.withdrawals.all():
        applies = withdrawal.scope == "all_data" if kind == "analysis" else withdrawal.withdrawn_on <= on
        if applies and kind in STOPS.get(withdrawal.scope, frozenset(KINDS)):
            return _("%(trial_id)s withdrew (%(scope)s) on %(day)s: %(kind)s data may not be handled") % {
                "trial_id": participant.trial_id, "scope": withdrawal.scope.replace("_", " "),
                "day": withdrawal.withdrawn_on, "kind": kind}
    return None


def may_collect(participant: Participant, kind: str, on: dt.date | None = None) -> bool:
    """May data of ``kind`` (see :mod:`consent.scopes`) dated ``on`` (default today) be handled?"""
    return _refusal(participant, kind, on or clock.today()) is None


def require_consent(participant: Participant, kind: str = "assessment", on: dt.date | None = None) -> None:
    """Raise UserError unless ``may_collect``: every data-entry service calls this before writing."""
    if refusal := _refusal(participant, kind, on or clock.today()):
        raise UserError(refusal)
