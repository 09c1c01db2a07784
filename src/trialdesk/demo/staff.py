"""The simulated trial's staff as real accounts: every record names the person who made it.

The generator names its assessors, facilitators and fidelity raters (``BAL-assessor-1``, ...); each
becomes a user with that role at that site, through the accounts services, beside the demo logins of
:data:`trialdesk.apps.trial.demo.DEMO_STAFF`. They have no password: only the demo logins sign in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model

from trialdesk.apps.accounts.roles import Role
from trialdesk.apps.accounts.services import create_user, grant_role
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.trial.models import Site


@dataclass
class Staff:
    """Users by generator name; the demo logins by role (and site code, or None for all sites)."""

    users: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        return self.users[name]

    def first(self, role: Role, site: str | None = None) -> Any:
        """The demo login of ``role`` at ``site`` (or at all sites)."""
        from trialdesk.apps.accounts.models import Membership

        found = (
            Membership.objects.filter(role=role.value, site__code=site).select_related("user").first()
            if site
            else Membership.objects.filter(role=role.value).select_related("user").first()
        )
        if found is None:
            raise LookupError(f"no {role.value} at {site or 'any site'}")
        return found.user


def username_of(name: str) -> str:
    return name.lower()


def ensure(names: Iterable[tuple[str, Role, str | None]], context: Context, staff: Staff) -> Staff:
    """Create (once) each ``(generator name, role, site code)`` as a user with that role."""
    User = get_user_model()
    sites = {s.code: s for s in Site.objects.all()}
    for name, role, site in names:
        username = username_of(name)
        user = User.objects.filter(username=username).first()
        if user is None:
            # No password (unusable, and no Argon2 hashing): these accounts sign the generated records;
            # people sign in with the demo logins.
            user = create_user(username, None, context, full_name=name, check_password=False)  # type: ignore[arg-type]
            grant_role(user, role, context, site=sites[site] if site else None)
        staff.users[name] = user
    return staff
