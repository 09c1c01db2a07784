"""Read side: a participant's schedule, the assessor worklist, and the baseline characteristics table.

Nothing here reads allocation, groups, sessions, attendance or fidelity: the pages built from it are shown
to blinded assessors.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from trialdesk.apps.accounts.permissions import allowed, scope
from trialdesk.apps.consent.services import may_collect
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.status import AFTER_RANDOMISATION
from trialdesk.instruments import get_library
from trialdesk.visits import VisitState

from .access import can_enter, can_view
from .formspec import short_name
from .models import Assessment, Visit
from .progress import Progress
from .services.schedule import ACTIVE_STATES, planned_visits, visit_progress

WORKLIST_STATES = frozenset({VisitState.OPEN, VisitState.OVERDUE})


@dataclass
class FormRow:
    code: str
    short_name: str
    rater: str
    status: str  # missing, draft, complete, not_done
    assessment: Assessment | None
    can_enter: bool
    can_view: bool

    @property
    def status_label(self) -> str:
        return self.status.replace("_", " ")


@dataclass
class VisitRow:
    visit: Visit
    progress: Progress
    forms: list[FormRow] = field(default_factory=list)
    guess_due: bool = False
    guess_recorded: bool = False
    guessed_by_me: bool = False

    @property
    def missing_labels(self) -> list[str]:
        labels = [short_name(code) for code in self.progress.missing]
        if self.guess_due and not self.guess_recorded:
            labels.append(_("allocation guess"))
        return labels

    @property
    def self_report_open(self) -> bool:
        return any(row.rater == "self" and row.status in ("missing", "draft") for row in self.forms)


def _saved_visits(participants: Any) -> dict[int, list[Visit]]:
    """Saved visits by participant id, with their forms and guesses, in three queries for any number."""
    rows = Visit.objects.filter(participant__in=participants).prefetch_related(
        Prefetch("assessments", queryset=Assessment.objects.order_by("id")), "guesses"
    )
    by_participant: dict[int, list[Visit]] = {}
    for visit in rows.order_by("participant", "sequence"):
        by_participant.setdefault(visit.participant_id, []).append(visit)
    return by_participant


def _visits(participant: Participant, saved: dict[int, list[Visit]] | None = None) -> list[Visit]:
    found = (saved if saved is not None else _saved_visits([participant])).get(participant.pk)
    return found or planned_visits(participant, none_saved=True)


def randomised(participant: Participant) -> bool:
    return participant.state in AFTER_RANDOMISATION


def visit_row(
    visit: Visit, user: Any, today: dt.date, rights: dict[str, tuple[bool, bool]] | None = None
) -> VisitRow:
    """One visit with its forms; ``rights`` caches (may enter, may view) per form for this participant and
    user, or is None where nobody asks (the worklist)."""
    participant = visit.participant
    state = visit_progress(visit, today)
    library = get_library()
    by_code = {a.instrument: a for a in (visit.assessments.all() if visit.pk else [])}
    row = VisitRow(visit=visit, progress=state)
    for code in visit.instruments:
        instrument = library.get(code)
        assessment = by_code.get(code)
        row.forms.append(
            FormRow(
                code=code,
                short_name=short_name(code),
                rater=instrument.rater,
                status=assessment.status if assessment else "missing",
                assessment=assessment,
                can_enter=_rights(rights, user, code, participant)[0],
                can_view=_rights(rights, user, code, participant)[1],
            )
        )
    guesses = list(visit.guesses.all()) if visit.pk else []
    row.guess_due = (
        not visit.before_randomisation
        and randomised(participant)
        and state.state is not VisitState.UPCOMING
        and not visit.missed
    )
    row.guess_recorded = bool(guesses)
    row.guessed_by_me = any(g.assessor_id == user.pk for g in guesses)
    return row


def _rights(
    cache: dict[str, tuple[bool, bool]] | None, user: Any, code: str, participant: Participant
) -> tuple[bool, bool]:
    if cache is None:
        return False, False
    if code not in cache:
        cache[code] = (can_enter(user, code, participant), can_view(user, code, participant))
    return cache[code]


def schedule_for(participant: Participant, user: Any, today: dt.date) -> list[VisitRow]:
    rights: dict[str, tuple[bool, bool]] = {}
    return [visit_row(visit, user, today, rights) for visit in _visits(participant)]


def active_participants(user: Any):
    """Participants with an active schedule at the sites where ``user`` may see participants."""
    active = Participant.objects.filter(status__in=[s.value for s in ACTIVE_STATES])
    return scope(active, user, "view-participants").select_related("site").order_by("trial_id")


def worklist(user: Any, today: dt.date) -> list[tuple[Participant, VisitRow]]:
    """Open and overdue visits at the user's sites, the soonest-closing first, with what is missing."""
    if not (allowed(user, "enter-assessment") or allowed(user, "enter-self-report")):
        return []
    candidates = active_participants(user).prefetch_related("consents", "withdrawals")
    people = [p for p in candidates if may_collect(p, "assessment", today)]
    saved = _saved_visits(people)
    rows: list[tuple[Participant, VisitRow]] = []
    for participant in people:
        for visit in _visits(participant, saved):
            visit.participant = participant
            row = visit_row(visit, user, today)
            if row.progress.state in WORKLIST_STATES:
                rows.append((participant, row))

    def closing(item: tuple[Participant, VisitRow]) -> tuple[dt.date, str, int]:
        participant, row = item
        # An undated baseline is due now.
        return (row.visit.closes or today, participant.trial_id, row.visit.sequence)

    return sorted(rows, key=closing)


@dataclass(frozen=True)
class BaselineRow:
    trial_id: str
    site: str
    assessed_on: dt.date | None
    values: dict[str, int | float | str | None]


def baseline_characteristics(participants: Any = None) -> list[BaselineRow]:
    """One row per participant with a complete ``baseline`` form: every declared field, typed.

    The ``baseline`` instrument's items are the fields (age, sex, ICD-10 diagnosis, years since first
    contact, education, employment, living situation, current medication); missing answers are None.
    """
    instrument = get_library().get("baseline")
    rows = (
        Assessment.objects.filter(instrument="baseline", status="complete")
        .select_related("participant__site")
        .prefetch_related("responses")
        .order_by("participant__trial_id")
    )
    if participants is not None:
        rows = rows.filter(participant__in=participants)
    out = []
    for assessment in rows:
        stored = assessment.values()
        out.append(
            BaselineRow(
                trial_id=assessment.participant.trial_id,
                site=assessment.participant.site.code,
                assessed_on=assessment.assessed_on,
                values={item.code: stored.get(item.code) for item in instrument.items},
            )
        )
    return out
