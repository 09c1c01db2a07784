"""Self-report links: staff issue one (the token is shown once); the participant opens it without logging in.

The public pages show only the link's participant's open self-report forms, with large touch-friendly
answers, and nothing else: no trial id, no staff names, no navigation. A used, expired or unknown link
gets a clear page and stores nothing.
"""

from __future__ import annotations

import datetime as dt
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from trialdesk.errors import UserError
from trialdesk.instruments import get_library

from .. import services
from ..formspec import build, short_name
from ..services.links import DEFAULT_VALID_FOR, LinkRefusedError, forms_left, self_report_instruments
from .common import errors_of, participant_for, require, web_context
from .forms import bind, form_values, visit_for

REFUSED_STATUS = {"unknown": 404, "used": 410, "expired": 410}


@login_required
def issue_link(request, trial_id: str, visit: str):
    participant = participant_for(request, trial_id)
    require(request, "enter-self-report", participant)
    the_visit = visit_for(participant, visit)
    offered = [(code, short_name(code)) for code in self_report_instruments(the_visit)]
    errors: dict[str, str] = {}
    problem = ""
    if request.method == "POST":
        try:
            days = int(request.POST.get("valid_days") or DEFAULT_VALID_FOR.days)
        except ValueError:
            days = 0
        try:
            link, token = services.issue(
                participant,
                visit,
                request.POST.getlist("instruments"),
                web_context(request),
                valid_for=dt.timedelta(days=days),
            )
        except UserError as refusal:
            errors, problem = errors_of(refusal)
        else:
            url = request.build_absolute_uri(reverse("self_report:start", kwargs={"token": token}))
            response = render(
                request,
                "assessments/link_issued.html",
                {"participant": participant, "link": link, "url": url, "visit": the_visit},
            )
            response["Cache-Control"] = "no-store"
            return response
    return render(
        request,
        "assessments/link_issue.html",
        {
            "participant": participant,
            "visit": the_visit,
            "offered": offered,
            "errors": errors,
            "problem": problem,
            "valid_days": request.POST.get("valid_days") or DEFAULT_VALID_FOR.days,
        },
        status=400 if errors or problem else 200,
    )


def public(view):
    """No login; refusals get their own page; nothing is cached or indexed. (The site's same-origin referrer
    policy already keeps the token from other sites; no-referrer would make browsers send ``Origin: null``,
    which the CSRF check rightly refuses.)"""

    @wraps(view)
    def wrapped(request, token: str, *args, **kwargs):
        try:
            response = view(request, token, *args, **kwargs)
        except LinkRefusedError as refusal:
            response = render(
                request,
                "assessments/public/refused.html",
                {"refusal": refusal},
                status=REFUSED_STATUS[refusal.kind],
            )
        response["Cache-Control"] = "no-store"
        response["X-Robots-Tag"] = "noindex"
        return response

    return wrapped


@public
def start(request, token: str):
    link = services.resolve(token)
    left = [(code, short_name(code)) for code in forms_left(link)]
    return render(request, "assessments/public/start.html", {"token": token, "forms": left})


@public
def questionnaire(request, token: str, instrument: str):
    link = services.resolve(token)
    if instrument not in forms_left(link):
        raise Http404("this questionnaire is not open on this link")
    spec = build(get_library().get(instrument))
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    problem = ""
    if request.method == "POST":
        values = dict(form_values(request, spec))
        try:
            services.submit(token, instrument, values)
        except LinkRefusedError:
            raise
        except UserError as refusal:
            errors, problem = errors_of(refusal)
        else:
            link.refresh_from_db(fields=["used_at"])
            return (
                redirect("self_report:done") if link.used_at else redirect("self_report:start", token=token)
            )
    return render(
        request,
        "assessments/public/questionnaire.html",
        {
            "token": token,
            "spec": spec,
            "sections": bind(spec, values, errors),
            "errors": errors,
            "problem": problem,
        },
        status=400 if errors or problem else 200,
    )


@public
@require_POST
def finish(request, token: str):
    services.finish(token)
    return redirect("self_report:done")


def done(request):
    response = render(request, "assessments/public/done.html")
    response["Cache-Control"] = "no-store"
    return response
