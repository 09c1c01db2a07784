"""Visit schedules, booking, missed visits and the worklist of open and overdue visits."""

import datetime as dt

from django.utils.translation import gettext as _
from ninja import Field, Path, Schema

from trialdesk import clock
from trialdesk.apps.assessments import queries, services
from trialdesk.apps.assessments.access import VISIT_ACTIONS
from trialdesk.apps.trial.services import active_protocol
from trialdesk.visits import VisitState

from ..errors import not_found
from ..registry import Routes, Rule, participant_for
from .common import CODE, TRIAL_ID, context_for

routes = Routes("", "visits")
TrialId = Path(..., pattern=TRIAL_ID)
VisitCode = Path(..., pattern=CODE)
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2100, 12, 31)
SEE_VISITS = Rule("participant", ("view-participants",), any_of=VISIT_ACTIONS)
BOOK = Rule("participant", ("book-visits",))


class FormOut(Schema):
    instrument: str
    status: str = Field(..., description="missing, draft, complete or not_done")


class VisitOut(Schema):
    code: str
    label: str
    month: float
    before_randomisation: bool
    state: VisitState
    target: dt.date | None
    opens: dt.date | None
    closes: dt.date | None
    booked_on: dt.date | None
    done_on: dt.date | None
    missed_reason: str
    missing: list[str]
    forms: list[FormOut]


class Schedule(Schema):
    trial_id: str
    visits: list[VisitOut]


class WorklistRow(Schema):
    trial_id: str
    site: str
    visit: VisitOut


class BookingIn(Schema):
    booked_on: dt.date | None = Field(..., ge=EARLIEST, le=LATEST, description="null removes the booking")


class MissedIn(Schema):
    reason: str = Field(..., max_length=2000)


def visit_out(row: queries.VisitRow) -> VisitOut:
    visit = row.visit
    return VisitOut(
        code=visit.code, label=visit.label, month=visit.month,
        before_randomisation=visit.before_randomisation, state=row.progress.state, target=visit.target,
        opens=visit.opens, closes=visit.closes, booked_on=visit.booked_on, done_on=visit.done_on,
        missed_reason=visit.missed_reason, missing=list(row.progress.missing),
        forms=[FormOut(instrument=f.code, status=f.status) for f in row.forms],
    )  # fmt: skip


def known_visit(code: str) -> str:
    """404 for a visit code the protocol does not declare."""
    if code not in {visit.code for visit in active_protocol().visits}:
        raise not_found(_("no visit %(visit)s in the protocol") % {"visit": repr(code)})
    return code


def _schedule(request, participant) -> Schedule:
    rows = queries.schedule_for(participant, request.user, clock.today())
    return Schedule(trial_id=participant.trial_id, visits=[visit_out(row) for row in rows])


@routes.get("/participants/{trial_id}/visits", rule=SEE_VISITS, response=Schedule)
def schedule(request, trial_id: str = TrialId):
    """A participant's visits with their windows, bookings and the state of each form."""
    return _schedule(request, participant_for(request, trial_id))


@routes.post("/participants/{trial_id}/visits/{visit}/booking", rule=BOOK, response=Schedule,
             statuses=(200,))  # fmt: skip
def book(request, payload: BookingIn, trial_id: str = TrialId, visit: str = VisitCode):
    """Book, rebook or (with null) unbook a visit; answers the updated schedule."""
    participant = participant_for(request, trial_id)
    services.book_visit(participant, known_visit(visit), payload.booked_on, context_for(request))
    return _schedule(request, participant)


@routes.post("/participants/{trial_id}/visits/{visit}/missed", rule=BOOK, response=Schedule, statuses=(200,))
def missed(request, payload: MissedIn, trial_id: str = TrialId, visit: str = VisitCode):
    """Record that a visit will not take place, with the reason."""
    participant = participant_for(request, trial_id)
    services.mark_missed(participant, known_visit(visit), payload.reason, context_for(request))
    return _schedule(request, participant)


@routes.get("/worklist", rule=Rule("trial", ("view-participants",), any_of=VISIT_ACTIONS),
            response=list[WorklistRow])  # fmt: skip
def worklist(request):
    """Open and overdue visits at the caller's sites, the soonest-closing first."""
    rows = queries.worklist(request.user, clock.today())
    return [WorklistRow(trial_id=p.trial_id, site=p.site.code, visit=visit_out(row)) for p, row in rows]
