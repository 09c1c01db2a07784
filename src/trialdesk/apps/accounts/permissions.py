"""``allowed(user, action, obj)``: the one permission check every view, API call, export and command uses."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import Membership
from .roles import ACTIONS, PERSONAL_DATA_ACTIONS, ROLE_ACTIONS, UNBLINDED_ACTIONS, Role


def _memberships(user: Any) -> list[Membership]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_trialdesk_memberships", None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user).select_related("site"))
        user._trialdesk_memberships = cached
    return cached


def membership_actions(membership: Membership) -> frozenset[str]:
    actions = set(ROLE_ACTIONS[Role(membership.role)])
    if membership.unblinded:
        actions |= UNBLINDED_ACTIONS
    if membership.personal_data:
        actions |= PERSONAL_DATA_ACTIONS
    return frozenset(actions)


def site_of(obj: Any) -> int | None:
    """The site id an object belongs to, or None for trial-wide objects."""
    if obj is None:
        return None
    for attribute in ("site_id", "participant__site_id"):
        if hasattr(obj, attribute):
            return getattr(obj, attribute)
    participant = getattr(obj, "participant", None)
    return getattr(participant, "site_id", None)


def allowed(user: Any, action: str, obj: Any = None) -> bool:
    """May ``user`` do ``action`` (to ``obj``, when it belongs to a site)?"""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    site_id = site_of(obj)
    return any(
        action in membership_actions(m) and (m.site_id is None or site_id is None or m.site_id == site_id)
        for m in _memberships(user)
    )


def sites_for(user: Any, action: str) -> set[int] | None:
    """Site ids where ``user`` may do ``action``: None means every site, an empty set none."""
    sites: set[int] = set()
    for m in _memberships(user):
        if action in membership_actions(m):
            if m.site_id is None:
                return None
            sites.add(m.site_id)
    return sites


def scope(queryset: QuerySet, user: Any, action: str, site_field: str = "site") -> QuerySet:
    """Restrict ``queryset`` to the sites where ``user`` may do ``action``."""
    sites = sites_for(user, action)
    if sites is None:
        return queryset
    return queryset.filter(**{f"{site_field}__in": sites})


def roles_of(user: Any) -> list[Role]:
    return sorted({Role(m.role) for m in _memberships(user)}, key=list(Role).index)


def is_blinded(user: Any) -> bool:
    return not allowed(user, "view-allocation")
