from django.contrib.auth import views as auth_views
from django.urls import include, path

from trialdesk.api import main as api
from trialdesk.apps.accounts import views as account_views
from trialdesk.web.health import health

handler500 = "trialdesk.web.errors.server_error"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("health/", health, name="health"),
    path("account/", include("trialdesk.apps.accounts.urls")),
    path("staff/", include("trialdesk.apps.accounts.staff_urls")),
    path("participants/", include("trialdesk.apps.participants.urls")),
    path("screening/", include("trialdesk.apps.screening.urls")),
    path("consent/", include("trialdesk.apps.consent.urls")),
    path("randomisation/", include("trialdesk.apps.randomisation.urls")),
    path("registers/", include("trialdesk.apps.registers.urls")),
    path("assessments/", include("trialdesk.apps.assessments.urls")),
    path("r/", include("trialdesk.apps.assessments.public_urls")),
    path("exports/", include("trialdesk.apps.snapshots.urls")),
    path("imr/", include("trialdesk.apps.intervention.urls")),
    path("data/", include("trialdesk.apps.datamanagement.urls")),
    path("analysis/", include("trialdesk.apps.analysis.urls")),
    path("api/", api.urls()),
    path("account/api-tokens/", include("trialdesk.api.urls")),
]
