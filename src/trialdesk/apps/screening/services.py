"""The only writer of screenings: registers the person, records the answers, applies the verdict."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.participants import cpr as cpr_rules
from trialdesk.apps.participants import services as participants
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.participants.services import PersonalDetails
from trialdesk.apps.participants.status import State
from trialdesk.apps.trial.models import Site
from trialdesk.apps.trial.services import active_protocol
from trialdesk.errors import UserError

from .eligibility import Verdict, clean_answers, evaluate
from .models import Screening


def _check_common(screened_on: dt.date, referral_source: str) -> dict[str, str]:
    problems = {}
    if screened_on > clock.today():
        problems["screened_on"] = _("screening date %(screened_on)s is in the future") % {
            "screened_on": screened_on}
    if not referral_source.strip():
        problems["referral_source"] = _("referral source is required")
    return problems


def _answers_with_age(protocol, raw: Mapping[str, object], born: dt.date | None, screened_on: dt.date):
    """Age criteria are answered from the CPR birth date, so age and CPR can never disagree."""
    answers = dict(raw)
    for criterion in protocol.eligibility:
        if criterion.answer_type == "age" and born is not None:
            age = (
                screened_on.year - born.year - ((screened_on.month, screened_on.day) < (born.month, born.day))
            )
            given = answers.get(criterion.code)
            if given not in (None, "") and str(given).strip() != str(age):
                raise InputError(
                    {
                        criterion.code: _(
                            "age %(given)s does not match the CPR number's birth date on the screening date"
                        ) % {"given": given}
                    }
                )
            answers[criterion.code] = age
    return answers


def _record(
    participant: Participant,
    site: Site,
    *,
    screened_on: dt.date,
    referral_source: str,
    answers: dict,
    verdict: Verdict,
    context: Context,
    rescreen_of: Screening | None,
) -> Screening:
    screening = Screening.objects.create(
        participant=participant,
        site=site,
        screened_on=screened_on,
        referral_source=referral_source.strip(),
        answers=answers,
        verdict="eligible" if verdict.eligible else "ineligible",
        reasons=list(verdict.reasons),
        rescreen_of=rescreen_of,
        screened_by=context.actor,
        recorded_at=clock.now(),
        protocol_hash=context.protocol_hash,
    )
    append(
        context,
        action="create",
        entity="screening",
        entity_id=screening.pk,
        new={
            "screened_on": screened_on.isoformat(),
            "referral_source": screening.referral_source,
            "answers": answers,
            "verdict": screening.verdict,
            "reasons": screening.reason_codes,
            "rescreen_of": rescreen_of.pk if rescreen_of else None,
        },
        site=site.code,
        participant=participant.trial_id,
    )
    reason = "; ".join(f"{r['code']}: {r['text']}" for r in verdict.reasons)
    participants.transition(
        participant, State.ELIGIBLE if verdict.eligible else State.INELIGIBLE, context, reason=reason
    )
    return screening


def screen(
    site: Site,
    *,
    screened_on: dt.date,
    referral_source: str,
    answers: Mapping[str, object],
    person: PersonalDetails,
    context: Context,
) -> Screening:
    """Screen a person not yet registered: register them under a new trial id and record the verdict.

    Every problem with the input is reported at once (InputError), and nothing is stored.
    """
    protocol = active_protocol()
    problems = _check_common(screened_on, referral_source)
    try:
        person = person.cleaned()
    except InputError as bad:
        problems.update(bad.fields)
    born = cpr_rules.birth_date(person.cpr) if "cpr" not in problems else None
    try:
        cleaned = clean_answers(protocol.eligibility, _answers_with_age(protocol, answers, born, screened_on))
    except InputError as bad:
        # Without a valid CPR number the age is unknown: the CPR problem already says why.
        ages = {c.code for c in protocol.eligibility if c.answer_type == "age"} if born is None else set()
        problems.update({name: text for name, text in bad.fields.items() if name not in ages})
    if "cpr" not in problems:
        try:
            participants.check_not_registered(person)
        except InputError as bad:
            problems.update(bad.fields)
    if problems:
        raise InputError(problems)
    verdict = evaluate(protocol.eligibility, cleaned)
    with transaction.atomic():
        participant = participants.register(site, person, context)
        return _record(
            participant,
            site,
            screened_on=screened_on,
            referral_source=referral_source,
            answers=cleaned,
            verdict=verdict,
            context=context,
            rescreen_of=None,
        )


def latest_screening(participant: Participant) -> Screening | None:
    return participant.screenings.order_by("-screened_on", "-id").first()


def rescreen(
    participant: Participant,
    *,
    screened_on: dt.date,
    referral_source: str,
    answers: Mapping[str, object],
    context: Context,
) -> Screening:
    """Screen an ineligible person again, linked to their last screening.

    Allowed only when every criterion that excluded them is marked re-screenable in the protocol.
    """
    protocol = active_protocol()
    previous = latest_screening(participant)
    if participant.state is not State.INELIGIBLE or previous is None:
        raise UserError(
            _("%(trial_id)s is %(state)s: only an ineligible person can be re-screened") % {
                "trial_id": participant.trial_id, "state": _(participant.state.label)}
        )
    fixed = [r["code"] for r in previous.reasons if not r["rescreen_allowed"]]
    if fixed:
        raise UserError(
            _(
                "%(trial_id)s was excluded by %(fixed)s, which the protocol does not allow to be "
                "re-screened"
            ) % {"trial_id": participant.trial_id, "fixed": ', '.join(fixed)}
        )
    problems = _check_common(screened_on, referral_source)
    if screened_on <= previous.screened_on:
        problems["screened_on"] = (
            _("a re-screening must come after the last screening (%(screened_on)s)") % {
                "screened_on": previous.screened_on}
        )
    try:
        with_age = _answers_with_age(protocol, answers, participants.birth_date(participant), screened_on)
        cleaned = clean_answers(protocol.eligibility, with_age)
    except InputError as bad:
        problems.update(bad.fields)
    if problems:
        raise InputError(problems)
    verdict = evaluate(protocol.eligibility, cleaned)
    with transaction.atomic():
        participants.transition(
            participant,
            State.SCREENED,
            context,
            reason=f"re-screening after {', '.join(previous.reason_codes)}",
        )
        return _record(
            participant,
            participant.site,
            screened_on=screened_on,
            referral_source=referral_source,
            answers=cleaned,
            verdict=verdict,
            context=context,
            rescreen_of=previous,
        )
