"""The participant status pipeline as data: states and the transitions allowed between them.

CONSORT counts are queries over the StatusEvent rows these transitions write, never hand-kept numbers.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    SCREENED = "screened"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    DECLINED = "declined"
    CONSENTED = "consented"
    BASELINE_COMPLETE = "baseline_complete"
    RANDOMISED = "randomised"
    IN_FOLLOW_UP = "in_follow_up"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up"
    DIED = "died"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


S = State
#: state -> the states it may move to. Anything else is refused by ``services.transition``.
TRANSITIONS: dict[State, frozenset[State]] = {
    S.SCREENED: frozenset({S.ELIGIBLE, S.INELIGIBLE}),
    # A re-screening puts an ineligible person back to screened (only if every failed criterion allows it).
    S.INELIGIBLE: frozenset({S.SCREENED}),
    # Declining consent is its own state because CONSORT reports "declined to participate" separately.
    S.ELIGIBLE: frozenset({S.CONSENTED, S.DECLINED, S.DIED}),
    S.DECLINED: frozenset(),
    S.CONSENTED: frozenset({S.BASELINE_COMPLETE, S.WITHDRAWN, S.DIED}),
    S.BASELINE_COMPLETE: frozenset({S.RANDOMISED, S.WITHDRAWN, S.DIED}),
    S.RANDOMISED: frozenset({S.IN_FOLLOW_UP, S.WITHDRAWN, S.LOST_TO_FOLLOW_UP, S.DIED}),
    S.IN_FOLLOW_UP: frozenset({S.COMPLETED, S.WITHDRAWN, S.LOST_TO_FOLLOW_UP, S.DIED}),
    # Someone lost may be found again; a withdrawal, completion or death is final.
    S.LOST_TO_FOLLOW_UP: frozenset({S.IN_FOLLOW_UP, S.WITHDRAWN, S.DIED}),
    S.COMPLETED: frozenset(),
    S.WITHDRAWN: frozenset(),
    S.DIED: frozenset(),
}

#: Transitions that need a reason (they end or reverse a participant's course).
NEEDS_REASON = frozenset({S.WITHDRAWN, S.LOST_TO_FOLLOW_UP, S.DIED, S.DECLINED})

#: States in which the participant has been randomised and is still followed or has finished. Withdrawn and
#: died are left out: they can also happen before randomisation (look for an allocation instead).
AFTER_RANDOMISATION = frozenset({S.RANDOMISED, S.IN_FOLLOW_UP, S.COMPLETED, S.LOST_TO_FOLLOW_UP})

CHOICES = tuple((state.value, state.label) for state in State)

assert set(TRANSITIONS) == set(State)
