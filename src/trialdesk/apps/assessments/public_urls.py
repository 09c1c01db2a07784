"""The participant's one-time self-report link (under /r/): no login."""

from django.urls import path

from .views import links

app_name = "self_report"

urlpatterns = [
    path("done/", links.done, name="done"),
    path("<str:token>/", links.start, name="start"),
    path("<str:token>/finish/", links.finish, name="finish"),
    path("<str:token>/<str:instrument>/", links.questionnaire, name="questionnaire"),
]
