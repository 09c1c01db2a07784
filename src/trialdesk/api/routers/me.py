"""The caller's own account: who the token acts as, and what they may do where."""

from ninja import Schema

from trialdesk.apps.accounts.permissions import _memberships, membership_actions

from ..registry import Routes, Rule

routes = Routes("/me", "me")


class Membership(Schema):
    role: str
    site: str | None
    actions: list[str]


class Me(Schema):
    username: str
    memberships: list[Membership]


@routes.get("", rule=Rule("self"), response=Me)
def me(request):
    """Who the token acts as, with each role, its site (null: all sites) and the actions it allows."""
    return Me(
        username=request.user.get_username(),
        memberships=[
            Membership(role=m.role, site=m.site.code if m.site_id else None,
                       actions=sorted(membership_actions(m)))
            for m in _memberships(request.user)
        ],
    )  # fmt: skip
