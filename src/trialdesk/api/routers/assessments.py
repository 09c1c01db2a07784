"""One instrument at one visit: read it, save a draft, complete it, correct it (with a reason), or record
it as not done. Who may enter or read a form depends on its rater (``assessments.access``)."""

import datetime as dt

from django.utils.translation import gettext as _
from ninja import Field, Header, Path, Schema

from trialdesk.apps.assessments import services
from trialdesk.apps.assessments.access import can_enter, can_view
from trialdesk.apps.assessments.models import Assessment
from trialdesk.apps.trial.services import active_protocol
from trialdesk.instruments import get_library

from ..errors import forbidden, not_found
from ..idempotency import HEADER, replay_or_run
from ..registry import Routes, Rule, participant_for
from .common import CODE, TRIAL_ID, context_for, respond
from .visits import known_visit

routes = Routes("/participants/{trial_id}/visits/{visit}/assessments", "assessments")
TrialId = Path(..., pattern=TRIAL_ID)
Code = Path(..., pattern=CODE)
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2100, 12, 31)
RATER_NOTE = ("The instrument's rater decides: assessor-rated scales need enter-assessment, self-reports "
              "enter-self-report, clinician and staff forms either; reading also allows view-assessments.")
READ = Rule("participant", ("view-participants",), any_of=("enter-assessment", "enter-self-report",
            "view-assessments"), note=RATER_NOTE)  # fmt: skip
ENTER = Rule("participant", ("view-participants",), any_of=("enter-assessment", "enter-self-report"),
             note=RATER_NOTE)  # fmt: skip
Value = int | float | str | None


class ScoreOut(Schema):
    name: str
    value: float | None
    prorated: bool
    category: str


class AssessmentOut(Schema):
    trial_id: str
    visit: str
    instrument: str
    status: str = Field(..., description="missing, draft, complete or not_done")
    assessed_on: dt.date | None
    not_done_reason: str
    values: dict[str, int | float | str]
    scores: list[ScoreOut]


class AssessmentIn(Schema):
    assessed_on: dt.date = Field(..., ge=EARLIEST, le=LATEST)
    values: dict[str, Value] = Field(
        ..., description="item code -> value; leave out (or null) what is missing"
    )
    complete: bool = Field(..., description="false saves a draft; true completes and scores the form")
    reason: str = Field("", max_length=2000, description="required when changing a complete or not-done form")


class NotDoneIn(Schema):
    reason: str = Field(..., max_length=2000)


def _instrument(participant, visit: str, instrument: str) -> str:
    known_visit(visit)
    if instrument not in get_library():
        raise not_found(_("no instrument %(instrument)s") % {"instrument": repr(instrument)})
    declared = next(v for v in active_protocol().visits if v.code == visit)
    if instrument not in declared.instruments:
        raise not_found(_("%(instrument)s is not collected at visit %(visit)s") % {
            "instrument": instrument, "visit": visit})
    return instrument


def assessment_out(participant, visit: str, instrument: str) -> AssessmentOut:
    found = (
        Assessment.objects.filter(participant=participant, visit__code=visit, instrument=instrument)
        .prefetch_related("responses", "scores")
        .first()
    )
    if found is None:
        return AssessmentOut(trial_id=participant.trial_id, visit=visit, instrument=instrument,
                             status="missing", assessed_on=None, not_done_reason="", values={},
                             scores=[])  # fmt: skip
    return AssessmentOut(
        trial_id=participant.trial_id, visit=visit, instrument=instrument, status=found.status,
        assessed_on=found.assessed_on, not_done_reason=found.not_done_reason, values=found.values(),
        scores=[ScoreOut(name=s.name, value=s.value, prorated=s.prorated, category=s.category)
                for s in found.scores.all()],
    )  # fmt: skip


@routes.get("/{instrument}", rule=READ, response=AssessmentOut)
def read(request, trial_id: str = TrialId, visit: str = Code, instrument: str = Code):
    """The stored form: status, date, item values and scores (status `missing` when nothing is entered)."""
    participant = participant_for(request, trial_id)
    _instrument(participant, visit, instrument)
    if not can_view(request.user, instrument, participant):
        raise forbidden(_("your role may not read %(instrument)s") % {"instrument": instrument})
    return assessment_out(participant, visit, instrument)


@routes.put("/{instrument}", rule=ENTER, response=AssessmentOut)
def save(request, payload: AssessmentIn, *, trial_id: str = TrialId, visit: str = Code,
         instrument: str = Code, idempotency_key: str | None = Header(None, alias=HEADER)):  # fmt: skip
    """Save a draft (`complete: false`) or complete the form (scored, edit checks run). Changing a complete
    or not-done form is a correction: `reason` is required (422, field `reason`) and every changed field is
    recorded in the ledger. Refused input is reported per field (`item_<code>`) and nothing is stored."""
    participant = participant_for(request, trial_id)
    _instrument(participant, visit, instrument)
    if not can_enter(request.user, instrument, participant):
        raise forbidden(_("your role may not enter %(instrument)s") % {"instrument": instrument})

    def work():
        services.save(participant, visit, instrument, payload.values, assessed_on=payload.assessed_on,
                      context=context_for(request), complete=payload.complete,
                      reason=payload.reason)  # fmt: skip
        return 200, assessment_out(participant, visit, instrument).model_dump(mode="json")

    return respond(*replay_or_run(request, idempotency_key, work))


@routes.post("/{instrument}/not-done", rule=ENTER, response=AssessmentOut, statuses=(200,))
def not_done(request, payload: NotDoneIn, *, trial_id: str = TrialId, visit: str = Code,
             instrument: str = Code, idempotency_key: str | None = Header(None, alias=HEADER)):  # fmt: skip
    """Record that the instrument was not done at this visit, with the reason."""
    participant = participant_for(request, trial_id)
    _instrument(participant, visit, instrument)
    if not can_enter(request.user, instrument, participant):
        raise forbidden(_("your role may not enter %(instrument)s") % {"instrument": instrument})

    def work():
        services.mark_not_done(participant, visit, instrument, payload.reason, context_for(request))
        return 200, assessment_out(participant, visit, instrument).model_dump(mode="json")

    return respond(*replay_or_run(request, idempotency_key, work))
