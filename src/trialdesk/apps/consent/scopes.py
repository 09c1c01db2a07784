"""What each withdrawal scope stops. Scope codes come from the protocol; their effects are fixed here.

Kinds of data handling a later service may ask about through ``services.may_collect``:
  intervention  recording sessions, attendance and goals of the intervention
  assessment    new outcome ratings and questionnaires
  register      new register extracts
  analysis      any use of the participant's data, including data collected before withdrawal
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["intervention", "assessment", "register", "analysis"]
KINDS: tuple[Kind, ...] = ("intervention", "assessment", "register", "analysis")

#: scope code -> the kinds it stops
STOPS: dict[str, frozenset[str]] = {
    "intervention": frozenset({"intervention"}),
    "data_collection": frozenset({"intervention", "assessment", "register"}),
    "all_data": frozenset(KINDS),
}

#: Scopes that end the participant's course in the trial (status -> withdrawn).
ENDS_PARTICIPATION = frozenset({"data_collection", "all_data"})
