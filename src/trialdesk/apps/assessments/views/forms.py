"""The entry form of one instrument at one visit, generated from the instrument's definition.

GET shows the form (or, for a reader without the right to enter it, the stored values read-only); POST
saves a draft, completes it (scores shown), corrects a completed form (reason required) or records the
instrument as not done (reason required). A refused submission is shown again with every message at its
field and nothing stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.errors import UserError
from trialdesk.instruments import get_library, run_checks

from .. import services
from ..access import can_enter, can_view
from ..formspec import FieldSpec, FormSpec, build, number_text
from ..models import Assessment, Visit
from ..services.schedule import planned_visits
from .common import errors_of, parse_date, participant_for, web_context


@dataclass(frozen=True)
class Bound:
    """A field with the value to show in it and its error, if any."""

    spec: FieldSpec
    value: str
    error: str


def shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value)
    return str(value)


def bind(spec: FormSpec, values: dict[str, object], errors: dict[str, str]) -> list[tuple[str, list[Bound]]]:
    return [
        (
            section.label,
            [Bound(f, shown(values.get(f.code)), errors.get(f.name, "")) for f in section.fields],
        )
        for section in spec.sections
    ]


def visit_for(participant, code: str) -> Visit:
    saved = Visit.objects.filter(participant=participant, code=code).first()
    if saved is not None:
        return saved
    planned = {visit.code: visit for visit in planned_visits(participant)}
    if code not in planned:
        raise Http404("no such visit")
    return planned[code]


def form_values(request, spec: FormSpec) -> dict[str, str]:
    return {f.code: request.POST.get(f.name, "") for f in spec.fields}


def render_form(
    request, participant, visit, instrument_code, *, values=None, errors=None, problem="", status=200
):
    instrument = get_library().get(instrument_code)
    spec = build(instrument)
    assessment = (
        Assessment.objects.filter(visit=visit, instrument=instrument.code).prefetch_related("scores").first()
        if visit.pk
        else None
    )
    stored = assessment.values() if assessment else {}
    findings = run_checks(instrument, stored) if assessment and assessment.status == "complete" else []
    writable = can_enter(request.user, instrument.code, participant) and not visit.missed
    assessed_on = request.POST.get("assessed_on") if values is not None else None
    if assessed_on is None:
        assessed_on = (
            assessment.assessed_on if assessment and assessment.assessed_on else clock.today()
        ).isoformat()
    return render(
        request,
        "assessments/instrument.html",
        {
            "participant": participant,
            "visit": visit,
            "spec": spec,
            "sections": bind(spec, values if values is not None else stored, errors or {}),
            "assessment": assessment,
            "scores": [(spec.score_label(s.name), s) for s in assessment.scores.all()] if assessment else [],
            "findings": findings,
            "writable": writable,
            "assessed_on": assessed_on,
            "errors": errors or {},
            "problem": problem,
            "reason": request.POST.get("reason", "") if values is not None else "",
            "not_done_reason": request.POST.get("not_done_reason", ""),
        },
        status=status,
    )


@login_required
def instrument_form(request, trial_id: str, visit: str, instrument: str):
    participant = participant_for(request, trial_id)
    if instrument not in get_library():
        raise Http404("no such instrument")
    the_visit = visit_for(participant, visit)
    if instrument not in the_visit.instruments:
        raise Http404("this instrument is not collected at this visit")
    if not can_view(request.user, instrument, participant):
        raise PermissionDenied("your role may not open this form")
    if request.method != "POST":
        return render_form(request, participant, the_visit, instrument)
    if not can_enter(request.user, instrument, participant):
        raise PermissionDenied("your role may not enter this form")
    action = request.POST.get("action", "draft")
    spec = build(get_library().get(instrument))
    values = form_values(request, spec)
    context = web_context(request)
    try:
        if action == "not_done":
            services.mark_not_done(
                participant, visit, instrument, request.POST.get("not_done_reason", ""), context
            )
            messages.success(request, _("%(form)s recorded as not done.") % {"form": spec.short_name})
        else:
            day = parse_date(request.POST.get("assessed_on"), "assessed_on", "assessment date")
            services.save(
                participant,
                visit,
                instrument,
                values,
                assessed_on=day,
                context=context,
                complete=action != "draft",
                reason=request.POST.get("reason", ""),
            )
            messages.success(
                request,
                (_("%(form)s saved as draft.") if action == "draft" else _("%(form)s saved as complete."))
                % {"form": spec.short_name},
            )
    except UserError as refusal:
        errors, problem = errors_of(refusal)
        saved = Visit.objects.filter(participant=participant, code=visit).first() or the_visit
        return render_form(
            request, participant, saved, instrument, values=values, errors=errors, problem=problem, status=400
        )
    return redirect("assessments:form", trial_id=participant.trial_id, visit=visit, instrument=instrument)
