from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from trialdesk.apps.trial.models import Site

from .permissions import roles_of, sites_for
from .roles import ACTIONS, ROLE_ACTIONS


@login_required
def home(request):
    """What this user can do, role by role, at which sites."""
    roles = roles_of(request.user)
    sites = sites_for(request.user, "view-participants")
    visible_sites = Site.objects.all() if sites is None else Site.objects.filter(id__in=sites)
    cards = [
        {"role": role, "actions": [ACTIONS[a] for a in sorted(ROLE_ACTIONS[role])]}
        for role in roles
    ]
    return render(request, "accounts/home.html", {"cards": cards, "sites": visible_sites})
