"""Screening: a person's answers to the protocol's criteria, registered under a new trial id, a verdict."""

import datetime as dt
from types import SimpleNamespace

from django.utils.translation import gettext as _
from ninja import Field, Header, Path, Query, Schema

from trialdesk.apps.accounts.permissions import allowed, scope
from trialdesk.apps.participants.services import PersonalDetails
from trialdesk.apps.screening import services
from trialdesk.apps.screening.models import Screening
from trialdesk.apps.trial.models import Site

from ..errors import invalid
from ..idempotency import HEADER, replay_or_run
from ..registry import Routes, Rule, check_object, participant_for
from .common import MAX_LIMIT, TRIAL_ID, context_for, respond

routes = Routes("/screenings", "screening")
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2100, 12, 31)
Answer = bool | int | str | list[str] | None


class ScreeningIn(Schema):
    site: str = Field(..., max_length=20, description="site code, e.g. BAL")
    screened_on: dt.date = Field(..., ge=EARLIEST, le=LATEST)
    referral_source: str = Field(..., max_length=200)
    cpr: str = Field(..., max_length=20, description="CPR number, DDMMYY-SSSS (identifying; never answered)")
    name: str = Field(..., max_length=200)
    contact: str = Field("", max_length=300)
    answers: dict[str, Answer] = Field(
        ..., description="criterion code -> answer: yes/no as true/false, ICD-10 codes as text or a list; "
        "age criteria are answered from the CPR number"
    )


class RescreeningIn(Schema):
    screened_on: dt.date = Field(..., ge=EARLIEST, le=LATEST)
    referral_source: str = Field(..., max_length=200)
    answers: dict[str, Answer]


class Reason(Schema):
    code: str
    text: str
    rescreen_allowed: bool


class ScreeningOut(Schema):
    id: int
    trial_id: str
    site: str
    screened_on: dt.date
    verdict: str
    reasons: list[Reason]
    rescreen_of: int | None


class ScreeningList(Schema):
    total: int
    items: list[ScreeningOut]


def screening_out(screening: Screening) -> ScreeningOut:
    return ScreeningOut(id=screening.pk, trial_id=screening.participant.trial_id, site=screening.site.code,
                        screened_on=screening.screened_on, verdict=screening.verdict,
                        reasons=screening.reasons, rescreen_of=screening.rescreen_of_id)  # fmt: skip



@routes.get("", rule=Rule("trial", ("screen",)), response=ScreeningList)
def list_screenings(
    request,
    verdict: str | None = Query(None, pattern="^(eligible|ineligible)$"),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=10**9),
):
    """The screening log at the caller's sites, newest first."""
    rows = scope(Screening.objects.select_related("participant", "site"), request.user, "screen")
    if verdict:
        rows = rows.filter(verdict=verdict)
    return ScreeningList(total=rows.count(), items=[screening_out(s) for s in rows[offset:offset + limit]])


@routes.post("", rule=Rule("site", ("screen",)), response=ScreeningOut)
def screen(request, payload: ScreeningIn, idempotency_key: str | None = Header(None, alias=HEADER)):
    """Screen a person not yet in the trial: registers them under a new trial id and records the verdict.
    Every problem with the input comes back at once (422, `fields`), and nothing is stored."""
    site = Site.objects.filter(code=payload.site).first()
    if site is None:
        raise invalid("site", _("unknown site %(site)s") % {"site": repr(payload.site)})
    where = SimpleNamespace(site_id=site.pk)
    check_object(request, where, allowed(request.user, "view-participants", where),
                 _("site %(site)s") % {"site": site.code})

    def work():
        person = PersonalDetails(cpr=payload.cpr, name=payload.name, contact=payload.contact)
        done = services.screen(site, screened_on=payload.screened_on, referral_source=payload.referral_source,
                               answers=payload.answers, person=person, context=context_for(request))
        return 201, screening_out(done).model_dump(mode="json")

    return respond(*replay_or_run(request, idempotency_key, work))


@routes.post("/rescreen/{trial_id}", rule=Rule("participant", ("screen",)), response=ScreeningOut)
def rescreen(request, payload: RescreeningIn, trial_id: str = Path(..., pattern=TRIAL_ID),
             idempotency_key: str | None = Header(None, alias=HEADER)):  # fmt: skip
    """Screen an ineligible participant again (only when every failed criterion allows re-screening)."""
    participant = participant_for(request, trial_id)

    def work():
        done = services.rescreen(participant, screened_on=payload.screened_on,
                                 referral_source=payload.referral_source, answers=payload.answers,
                                 context=context_for(request))  # fmt: skip
        return 201, screening_out(done).model_dump(mode="json")

    return respond(*replay_or_run(request, idempotency_key, work))
