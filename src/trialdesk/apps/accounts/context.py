from .permissions import allowed, roles_of


class _Can:
    """Template access: ``{% if can.view_allocation %}`` asks ``allowed(user, "view-allocation")``."""

    def __init__(self, user) -> None:
        self._user = user

    def __getattr__(self, name: str) -> bool:
        return allowed(self._user, name.replace("_", "-"))


def roles(request) -> dict:
    from trialdesk.web.access import lazy_nav

    user = getattr(request, "user", None)
    return {"user_roles": roles_of(user), "can": _Can(user), "main_nav": lazy_nav(request)}
