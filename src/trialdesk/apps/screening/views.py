from types import SimpleNamespace

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_post_parameters

from trialdesk.apps.accounts.permissions import scope
from trialdesk.apps.participants.services import PersonalDetails
from trialdesk.apps.participants.web import context_for, participant_for, require, show_problem
from trialdesk.apps.trial.models import Site
from trialdesk.apps.trial.services import active_protocol
from trialdesk.errors import UserError

from . import services
from .forms import LogFilter, RescreeningForm, ScreeningForm
from .models import Screening


@login_required
def screening_log(request):
    """Every screening at the user's sites, filtered by site, date and verdict."""
    require(request, "screen")
    sites = scope(Site.objects.all(), request.user, "screen", site_field="id")
    screenings = scope(Screening.objects.select_related("participant", "site"), request.user, "screen")
    form = LogFilter(request.GET or None, sites=sites)
    if form.is_valid():
        wanted = form.cleaned_data
        if wanted["site"]:
            screenings = screenings.filter(site=wanted["site"])
        if wanted["date_from"]:
            screenings = screenings.filter(screened_on__gte=wanted["date_from"])
        if wanted["date_to"]:
            screenings = screenings.filter(screened_on__lte=wanted["date_to"])
        if wanted["verdict"]:
            screenings = screenings.filter(verdict=wanted["verdict"])
    return render(request, "screening/log.html", {"form": form, "screenings": screenings})


@sensitive_post_parameters("cpr", "name", "contact")
@login_required
def screen_person(request):
    require(request, "screen")
    sites = scope(Site.objects.all(), request.user, "screen", site_field="id")
    criteria = active_protocol().eligibility
    form = ScreeningForm(request.POST or None, sites=sites, criteria=criteria)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # The site list is already scoped; checking again keeps the rule in one place (allowed()).
        require(request, "screen", SimpleNamespace(site_id=data["site"].pk))
        person = PersonalDetails(cpr=data["cpr"], name=data["name"], contact=data["contact"])
        try:
            screening = services.screen(data["site"], screened_on=data["screened_on"],
                                        referral_source=data["referral_source"], answers=form.answers(),
                                        person=person, context=context_for(request))  # fmt: skip
            return redirect("participants:detail", trial_id=screening.participant.trial_id)
        except UserError as problem:
            show_problem(form, problem)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "title": gettext("Screen a person")}
    return render(request, "screening/form.html", context, status=status)


@login_required
def rescreen_person(request, trial_id: str):
    participant = participant_for(request, trial_id, "screen")
    form = RescreeningForm(request.POST or None, criteria=active_protocol().eligibility)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.rescreen(participant, screened_on=data["screened_on"],
                              referral_source=data["referral_source"], answers=form.answers(),
                              context=context_for(request))  # fmt: skip
            return redirect("participants:detail", trial_id=trial_id)
        except UserError as problem:
            show_problem(form, problem)
    status = 400 if request.method == "POST" else 200
    title = gettext("Re-screen %(trial_id)s") % {"trial_id": trial_id}
    return render(request, "screening/form.html", {"form": form, "title": title}, status=status)
