from django.urls import path

from . import twofactor_views

urlpatterns = [
    path("2fa/enrol/", twofactor_views.enrol, name="two-factor-enrol"),
    path("2fa/verify/", twofactor_views.verify, name="two-factor-verify"),
]
