"""What the IMR pages share: the acting context, permission checks and permission-checked look-ups."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from trialdesk.apps.accounts.permissions import allowed, sites_for
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.trial.models import Site
from trialdesk.apps.trial.services import active_hash

from ..models import Group, Session

#: Seeing groups shows who is in the intervention arm: both an IMR action and view-allocation are needed.
GROUP_ACTIONS = ("manage-groups", "run-sessions")


def context_for(request) -> Context:
    return Context(actor=request.user.get_username(), channel="web", protocol_hash=active_hash())


def can_see_groups(user, obj=None) -> bool:
    return allowed(user, "view-allocation", obj) and any(allowed(user, a, obj) for a in GROUP_ACTIONS)


def require(request, action: str, obj=None) -> None:
    if not allowed(request.user, action, obj) or not allowed(request.user, "view-allocation", obj):
        raise PermissionDenied(f"your role does not allow: {action}")


def require_groups(request, obj=None) -> None:
    if not can_see_groups(request.user, obj):
        raise PermissionDenied("your role does not allow seeing IMR groups")


def visible_sites(user, actions=GROUP_ACTIONS):
    """Sites where ``user`` may do any of ``actions`` (and see allocations)."""
    if not allowed(user, "view-allocation"):
        return Site.objects.none()
    ids: set[int] = set()
    for action in actions:
        sites = sites_for(user, action)
        if sites is None:
            return Site.objects.all()
        ids |= sites
    return Site.objects.filter(id__in=ids)


def group_for(request, pk: int, action: str | None = None) -> Group:
    group = Group.objects.select_related("site").filter(pk=pk).first()
    if group is None:
        raise Http404("no such group")
    require(request, action, group) if action else require_groups(request, group)
    return group


def session_for(request, pk: int, action: str = "run-sessions") -> Session:
    session = Session.objects.select_related("group__site").filter(pk=pk).first()
    if session is None:
        raise Http404("no such session")
    require(request, action, session.group)
    return session


def participant_for(request, trial_id: str, action: str) -> Participant:
    participant = Participant.objects.select_related("site").filter(trial_id=trial_id).first()
    if participant is None:
        raise Http404("no such participant")
    require(request, action, participant)
    return participant
