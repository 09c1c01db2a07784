"""What each user must do today: the home page's panels, one set per role (``site`` for site staff,
``oversight`` for the trial-wide roles). Each panel is built from the apps' own queries, scoped like the
page it links to, and a blinded user's panels read nothing about allocation, groups, sessions or
attendance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from trialdesk import clock
from trialdesk.apps.accounts.roles import Role

from .oversight import (
    admin_panels,
    data_manager_panels,
    investigator_panels,
    monitor_panels,
    statistician_panels,
)
from .panel import Cell, Panel
from .site import assessor_panels, coordinator_panels, facilitator_panels, fidelity_panels

PANELS: dict[Role, Callable[[Any, dt.date], list[Panel]]] = {
    Role.COORDINATOR: coordinator_panels,
    Role.ASSESSOR: assessor_panels,
    Role.FACILITATOR: facilitator_panels,
    Role.FIDELITY_RATER: fidelity_panels,
    Role.DATA_MANAGER: data_manager_panels,
    Role.STATISTICIAN: statistician_panels,
    Role.INVESTIGATOR: investigator_panels,
    Role.MONITOR: monitor_panels,
    Role.ADMIN: admin_panels,
}


def panels_for(user: Any, roles: list[Role], today: dt.date | None = None) -> list[tuple[Role, list[Panel]]]:
    today = today or clock.today()
    return [(role, PANELS[role](user, today)) for role in roles]


__all__ = ["PANELS", "Cell", "Panel", "panels_for"]
