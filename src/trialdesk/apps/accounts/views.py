from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from trialdesk.apps.trial.models import Site
from trialdesk.web.today import panels_for

from .permissions import roles_of, sites_for


@login_required
def home(request):
    """What this user must do today, one set of panels per role (see trialdesk.web.today)."""
    roles = roles_of(request.user)
    sites = sites_for(request.user, "view-participants")
    visible_sites = Site.objects.all() if sites is None else Site.objects.filter(id__in=sites)
    return render(request, "accounts/home.html", {"sections": panels_for(request.user, roles),
                                                  "sites": visible_sites})
