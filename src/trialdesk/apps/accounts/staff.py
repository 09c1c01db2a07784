"""Reading staff accounts for the administrator's pages and ``trialdesk staff list`` (writes: services)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import Membership
from .roles import Role

#: The status filter's values.
STATUSES = ("active", "inactive", "all")


@dataclass(frozen=True)
class StaffRow:
    user: Any
    memberships: list[Membership]
    two_factor: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "username": self.user.username,
            "full_name": self.user.get_full_name(),
            "email": self.user.email,
            "active": self.user.is_active,
            "two_factor": self.two_factor,
            "last_login": self.user.last_login.isoformat() if self.user.last_login else None,
            "roles": [{"role": m.role, "site": m.site.code if m.site_id else None, "unblinded": m.unblinded,
                       "personal_data": m.personal_data} for m in self.memberships],
        }


def staff(status: str = "all", role: str = "") -> QuerySet:
    """Accounts with their memberships (sites loaded) and whether a confirmed authenticator exists."""
    ordered = Membership.objects.select_related("site").order_by("role", "site__code")
    users = get_user_model().objects.order_by("username").prefetch_related(
        Prefetch("memberships", queryset=ordered)
    ).annotate(
        has_two_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
    )
    if status == "active":
        users = users.filter(is_active=True)
    elif status == "inactive":
        users = users.filter(is_active=False)
    if role:
        users = users.filter(memberships__role=Role(role).value).distinct()
    return users


def rows(status: str = "all", role: str = "") -> list[StaffRow]:
    return [StaffRow(u, list(u.memberships.all()), bool(u.has_two_factor)) for u in staff(status, role)]


def row_for(user: Any) -> StaffRow:
    return StaffRow(
        user,
        list(user.memberships.select_related("site").order_by("role", "site__code")),
        TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
    )
