"""The assessor worklist and a participant's visit page, with booking, missed visits and the baseline date."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from trialdesk import clock
from trialdesk.apps.accounts.permissions import allowed
from trialdesk.errors import UserError

from .. import queries, services
from ..access import can_open_visits
from ..models import UnblindingIncident
from ..services.schedule import existing_anchor_date
from .common import errors_of, parse_date, participant_for, require, web_context


@login_required
def worklist(request):
    if not can_open_visits(request.user):
        raise PermissionDenied("your role has no assessment worklist")
    today = clock.today()
    rows = queries.worklist(request.user, today)
    listed = {participant.pk for participant, _ in rows}
    others = [p for p in queries.active_participants(request.user) if p.pk not in listed]
    return render(request, "assessments/worklist.html", {"rows": rows, "others": others, "today": today})


def _participant_page(request, participant, *, errors=None, problem="", status=200):
    today = clock.today()
    return render(
        request,
        "assessments/participant.html",
        {
            "participant": participant,
            "rows": queries.schedule_for(participant, request.user, today),
            "baseline_date": existing_anchor_date(participant),
            "incidents": UnblindingIncident.objects.filter(participant=participant).count(),
            "can_book": allowed(request.user, "book-visits", participant),
            "can_guess": allowed(request.user, "record-guess", participant),
            "can_link": allowed(request.user, "enter-self-report", participant),
            "errors": errors or {},
            "problem": problem,
            "today": today,
        },
        status=status,
    )


@login_required
def participant(request, trial_id: str):
    return _participant_page(request, participant_for(request, trial_id))


def _act(request, trial_id: str, action, done: str):
    """Run a schedule action from a POST; on refusal show the page again with the message at its field."""
    person = participant_for(request, trial_id)
    require(request, "book-visits", person)
    try:
        action(person)
    except UserError as refusal:
        errors, problem = errors_of(refusal)
        return _participant_page(request, person, errors=errors, problem=problem, status=400)
    messages.success(request, _(done))
    return redirect("assessments:participant", trial_id=person.trial_id)


@login_required
@require_POST
def book(request, trial_id: str, visit: str):
    def action(person):
        day = parse_date(request.POST.get("booked_on"), "booked_on", "booked date")
        services.book_visit(person, visit, day, web_context(request))

    return _act(request, trial_id, action, gettext_noop("Booking saved."))


@login_required
@require_POST
def missed(request, trial_id: str, visit: str):
    def action(person):
        services.mark_missed(person, visit, request.POST.get("missed_reason", ""), web_context(request))

    return _act(request, trial_id, action, gettext_noop("Visit recorded as missed."))


@login_required
@require_POST
def baseline_date(request, trial_id: str):
    def action(person):
        day = parse_date(request.POST.get("baseline_date"), "baseline_date", "baseline date")
        if day is None:
            raise UserError(_("the new baseline date is required"))
        services.change_baseline_date(
            person, day, web_context(request), reason=request.POST.get("reason", "")
        )

    return _act(request, trial_id, action, gettext_noop("Baseline date changed; every window moved with it."))
