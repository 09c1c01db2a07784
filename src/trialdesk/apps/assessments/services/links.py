"""One-time self-report links: a participant fills in their own questionnaires without an account.

The token (256 random bits, URL-safe) is shown once, when issued; the database keeps only its SHA-256, so
a copy of the database cannot be used to open links. A link serves the self-report forms of one visit that
are still open; it is used up when the last of them is submitted or the participant presses Finish, and
it refuses everything once used or expired.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Mapping

from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.consent.services import may_collect
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.problems import InputError
from trialdesk.errors import UserError
from trialdesk.instruments import get_library

from ..models import Assessment, SelfReportLink, Visit
from ..progress import RESOLVED
from . import entry
from .schedule import ledger, visit_of, visit_ref

DEFAULT_VALID_FOR = dt.timedelta(days=7)
LONGEST_VALID_FOR = dt.timedelta(days=30)


class LinkRefusedError(UserError):
    """The link cannot be used: ``kind`` is unknown, used or expired (each gets its own page)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def self_report_instruments(visit: Visit) -> list[str]:
    library = get_library()
    return [code for code in visit.instruments if library.get(code).rater == "self"]


def open_instruments(visit: Visit, among: Iterable[str]) -> list[str]:
    """Which of ``among`` are still open (neither complete nor not done) at ``visit``, in visit order."""
    resolved = set(
        Assessment.objects.filter(visit=visit, status__in=RESOLVED).values_list("instrument", flat=True)
    )
    wanted = set(among)
    return [code for code in visit.instruments if code in wanted and code not in resolved]


def issue(
    participant: Participant,
    visit_code: str,
    instruments: Iterable[str] | None,
    context: Context,
    *,
    valid_for: dt.timedelta = DEFAULT_VALID_FOR,
) -> tuple[SelfReportLink, str]:
    """Issue a link for ``instruments`` (default: every open self-report form of the visit); returns the link
    and its token, which is never stored and cannot be shown again."""
    with transaction.atomic():
        visit = visit_of(participant, visit_code, context)
        return _issue(visit, instruments, context, valid_for)


def _issue(
    visit: Visit, instruments: Iterable[str] | None, context: Context, valid_for: dt.timedelta
) -> tuple[SelfReportLink, str]:
    participant = visit.participant
    offered = self_report_instruments(visit)
    chosen = list(dict.fromkeys(instruments)) if instruments is not None else open_instruments(visit, offered)
    problems: dict[str, str] = {}
    wrong = [code for code in chosen if code not in offered]
    if wrong:
        problems["instruments"] = (
            _("%(wrong)s cannot be self-reported at %(visit)s; allowed values are %(offered)s") % {
                "wrong": ', '.join(wrong), "visit": visit.label, "offered": ', '.join(offered) or _("(none)")}
        )
    elif not open_instruments(visit, chosen):
        problems["instruments"] = _("no open self-report form at %(visit)s to send") % {
            "visit": visit.label}
    if not dt.timedelta(hours=1) <= valid_for <= LONGEST_VALID_FOR:
        problems["valid_days"] = _("a link is valid for at least an hour and at most 30 days")
    if visit.missed or visit.done_on is not None:
        problems["visit"] = _("visit %(visit)s is finished") % {"visit": visit.label}
    if not may_collect(participant, "assessment"):
        problems["visit"] = _("%(trial_id)s may not be asked for new data (consent or withdrawal)") % {
            "trial_id": participant.trial_id}
    if problems:
        raise InputError(problems)
    token = secrets.token_urlsafe(32)
    now = clock.now()
    link = SelfReportLink.objects.create(
        participant=participant,
        visit=visit,
        instruments=open_instruments(visit, chosen),
        token_hash=token_hash(token),
        issued_by=context.actor,
        issued_at=now,
        expires_at=now + valid_for,
        protocol_hash=context.protocol_hash,
    )
    ledger(
        context,
        visit,
        action="issue-link",
        entity="self-report-link",
        entity_id=link.pk,
        new={"visit": visit_ref(visit), "instruments": link.instruments, "expires_at": link.expires_at},
    )
    return link, token


def resolve(token: str, *, lock: bool = False) -> SelfReportLink:
    """The usable link for ``token``, or :class:`LinkRefusedError` saying why not."""
    rows = SelfReportLink.objects.select_related("participant__site", "visit")
    if lock:
        rows = rows.select_for_update()
    link = rows.filter(token_hash=token_hash(token)).first()
    if link is None:
        raise LinkRefusedError("unknown", _("this link is not valid: check that it was copied in full"))
    if link.used_at is not None:
        raise LinkRefusedError(
            "used", _("this link has already been used; ask your contact person for a new one")
        )
    if link.expired(clock.now()):
        raise LinkRefusedError("expired", _("this link has expired; ask your contact person for a new one"))
    return link


def link_context(link: SelfReportLink) -> Context:
    return Context(actor=f"self-report-link:{link.pk}", channel="web", protocol_hash=link.protocol_hash)


def forms_left(link: SelfReportLink) -> list[str]:
    return open_instruments(link.visit, link.instruments)


def _use_up(link: SelfReportLink, context: Context, why: str) -> None:
    link.used_at = clock.now()
    link.save(update_fields=["used_at"])
    ledger(context, link.visit, action="use-link", entity="self-report-link", entity_id=link.pk, new=why)


def submit(token: str, instrument: str, raw: Mapping[str, object]) -> Assessment:
    """The participant submits one form through the link; the last open form uses the link up."""
    with transaction.atomic():
        link = resolve(token, lock=True)
        if instrument not in forms_left(link):
            raise UserError(_("this questionnaire is not open on this link"))
        context = link_context(link)
        assessment = entry.save(
            link.participant,
            link.visit.code,
            instrument,
            raw,
            assessed_on=clock.today(),
            context=context,
            complete=True,
            link=link,
        )
        if not forms_left(link):
            _use_up(link, context, "every form submitted")
    return assessment


def finish(token: str) -> SelfReportLink:
    """The participant is done (whether or not every form is filled in): the link cannot be used again."""
    with transaction.atomic():
        link = resolve(token, lock=True)
        _use_up(link, link_context(link), "finished by the participant")
    return link
