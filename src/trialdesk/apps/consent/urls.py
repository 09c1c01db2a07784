from django.urls import path

from . import views

app_name = "consent"
urlpatterns = [
    path("<str:trial_id>/", views.record_consent, name="record"),
    path("<str:trial_id>/decline/", views.record_decline, name="decline"),
    path("<str:trial_id>/withdraw/", views.record_withdrawal, name="withdraw"),
]
