"""The session page (hold, cancel, reschedule) and the one-screen attendance register."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trialdesk.errors import UserError
from trialdesk.web.partials import render_page, wants_partial

from .. import services
from ..forms import CancelForm, HoldForm, RescheduleForm, facilitator_choices
from ..models import Attendance, Session
from ..services.common import intervention, local_date
from .common import context_for, session_for

#: Single-key shortcuts of the attendance form: p(resent), n(otice given), a(bsent without notice).
KEYS = {Attendance.PRESENT: "p", Attendance.WITH_NOTICE: "n", Attendance.WITHOUT_NOTICE: "a"}


def _hold_form(session, data=None):
    group = session.group
    people = get_user_model().objects.filter(pk__in=facilitator_choices(group.site)).order_by("username")
    if session.status == Session.HELD:
        initial = {
            "minutes": session.held_minutes,
            "modules": session.modules,
            "facilitators_present": list(session.facilitators_present.all()),
        }
    else:
        initial = {
            "minutes": intervention().session_minutes,
            "facilitators_present": list(group.facilitators.all()),
        }
    return HoldForm(data, modules=intervention().modules, people=people, initial=initial)


@login_required
def session_page(request, pk: int):
    session = session_for(request, pk)
    return render(request, "intervention/session.html", _context(session))


def _context(session, **forms):
    day = local_date(session.starts_at)
    members = services.members_on(session.group, day)
    marks = {a.participant_id: a.get_status_display() for a in session.attendance.all()}
    return {
        "session": session,
        "group": session.group,
        "day": day,
        "members": [(m.participant, marks.get(m.participant_id, "")) for m in members],
        "hold_form": forms.get("hold_form") or _hold_form(session),
        "cancel_form": forms.get("cancel_form") or CancelForm(),
        "reschedule_form": forms.get("reschedule_form")
        or RescheduleForm(initial={"day": day, "at": session.group.start_time}),
        "titles": {m.number: m.title for m in intervention().modules},
    }


@login_required
@require_POST
def session_change(request, pk: int, what: str):
    session = session_for(request, pk)
    context = context_for(request)
    form = {
        "hold": lambda: _hold_form(session, request.POST),
        "cancel": lambda: CancelForm(request.POST),
        "reschedule": lambda: RescheduleForm(request.POST),
    }[what]()
    if form.is_valid():
        data = form.cleaned_data
        try:
            if what == "hold":
                services.hold_session(
                    session,
                    minutes=data["minutes"],
                    modules=data["modules"],
                    facilitators_present=list(data["facilitators_present"]),
                    context=context,
                    reason=data["reason"],
                )
            elif what == "cancel":
                services.cancel_session(session, data["reason"], context)
            else:
                services.reschedule_session(session, data["day"], data["at"], data["reason"], context)
        except UserError as problem:
            form.add_error(None, str(problem))
        else:
            change = {"hold": _("hold"), "cancel": _("cancel"), "reschedule": _("reschedule")}[what]
            messages.success(request, _("Session %(number)s: %(what)s recorded.")
                             % {"number": session.number, "what": change})
            return redirect("intervention:session", pk=pk)
    session.refresh_from_db()
    return render(
        request, "intervention/session.html", _context(session, **{f"{what}_form": form}), status=400
    )


@login_required
def attendance(request, pk: int):
    """Every member in one form: p / n / a per row (or arrow keys), Enter saves."""
    session = session_for(request, pk)
    members = services.members_on(session.group, local_date(session.starts_at))
    stored = {a.participant_id: a.status for a in session.attendance.all()}
    problem = done = ""
    if request.method == "POST":
        marks = {m.participant.trial_id: request.POST.get(m.participant.trial_id, "") for m in members}
        unmarked = [t for t, s in marks.items() if not s]
        try:
            if unmarked:
                raise UserError(_("attendance rule: every member must be marked; missing %(trial_ids)s")
                                % {"trial_ids": ", ".join(unmarked)})
            services.record_attendance(session, marks, context_for(request), request.POST.get("reason", ""))
        except UserError as refused:
            problem = str(refused)
        else:
            present = sum(1 for s in marks.values() if s == Attendance.PRESENT)
            done = _("Attendance saved: %(present)s of %(total)s present.") % {
                "present": present, "total": len(marks)}
            if not wants_partial(request):
                messages.success(request, done)
                return redirect("intervention:session", pk=pk)
        # Show the marks as sent: refused ones to correct, saved ones (htmx: the register stays open).
        stored = {m.participant_id: marks[m.participant.trial_id] for m in members}
    rows = [(m.participant, stored.get(m.participant_id, "")) for m in members]
    return render_page(
        request,
        "intervention/attendance.html",
        "intervention/_attendance_form.html",
        {
            "session": session,
            "group": session.group,
            "rows": rows,
            "problem": problem,
            "done": done,
            "choices": [(code, label, KEYS[code]) for code, label in Attendance.CHOICES],
            "editing": bool(session.attendance.exists()),
        },
        status=400 if problem else 200,
    )
