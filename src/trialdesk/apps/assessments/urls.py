"""Staff pages of outcome assessment (under /assessments/)."""

from django.urls import path

from .views import blinding, forms, inline, links, schedule

app_name = "assessments"

urlpatterns = [
    path("", schedule.worklist, name="worklist"),
    path("p/<str:trial_id>/", schedule.participant, name="participant"),
    path("p/<str:trial_id>/baseline-date/", schedule.baseline_date, name="baseline_date"),
    path("p/<str:trial_id>/incident/", blinding.incident, name="incident"),
    path("p/<str:trial_id>/<str:visit>/book/", schedule.book, name="book"),
    path("p/<str:trial_id>/<str:visit>/missed/", schedule.missed, name="missed"),
    path("p/<str:trial_id>/<str:visit>/guess/", blinding.guess, name="guess"),
    path("p/<str:trial_id>/<str:visit>/self-report-link/", links.issue_link, name="issue_link"),
    path("p/<str:trial_id>/<str:visit>/<str:instrument>/", forms.instrument_form, name="form"),
    path("p/<str:trial_id>/<str:visit>/<str:instrument>/check/<str:item>/", inline.check_item,
         name="check_item"),
]
