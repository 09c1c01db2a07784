from django.urls import path

from . import language, twofactor_views

urlpatterns = [
    path("2fa/enrol/", twofactor_views.enrol, name="two-factor-enrol"),
    path("language/", language.set_language, name="language"),
    path("2fa/verify/", twofactor_views.verify, name="two-factor-verify"),
]
