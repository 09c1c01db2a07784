"""The only writers of IMR delivery data. Each validates, writes and appends to the ledger in one
transaction; bad input raises ``UserError`` naming the rule and changes nothing.

Ledger entries of this app use entities starting ``imr-``: they reveal who is in the intervention arm, so
an audit view must show them only to users allowed ``view-allocation``.
"""

from .fidelity import awaiting_double, current_plan, rate, set_double_rating_plan
from .goals import add_goal, add_step, complete_step, record_follow_up, set_goal_status
from .groups import (
    create_group,
    current_membership,
    finish,
    members_on,
    move,
    place,
    remove,
    set_facilitators,
    start,
    stop,
    waiting,
)
from .sessions import (
    cancel_session,
    flagged,
    generate_schedule,
    hold_session,
    mark_bank_holiday,
    record_attendance,
    reschedule_session,
)

LEDGER_ENTITY_PREFIX = "imr-"

__all__ = [
    "LEDGER_ENTITY_PREFIX",
    "add_goal",
    "add_step",
    "awaiting_double",
    "cancel_session",
    "complete_step",
    "create_group",
    "current_membership",
    "current_plan",
    "finish",
    "flagged",
    "generate_schedule",
    "hold_session",
    "mark_bank_holiday",
    "members_on",
    "move",
    "place",
    "rate",
    "record_attendance",
    "record_follow_up",
    "remove",
    "reschedule_session",
    "set_double_rating_plan",
    "set_facilitators",
    "set_goal_status",
    "start",
    "stop",
    "waiting",
]
