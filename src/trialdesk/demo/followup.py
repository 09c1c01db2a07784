"""Stage 3, follow-up: visits after randomisation, their forms, assessors' guesses, and status.

Per participant, on the simulated days and in date order across the trial: ``randomised -> in follow-up``
on the day of randomisation; at a visit with a contact every generated form through
``assessments.save_visit`` (complete, or not done with its reason), and the assessor's guess through
``record_guess``; a visit without contact is marked missed (``mark_missed``) when its window closes;
lost to follow-up, found again, completed and died through ``participants.transition``; withdrawal from
data collection through ``consent.record_withdrawal``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from trialdesk.apps.assessments import services as assessments
from trialdesk.apps.consent import services as consent
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.services import transition
from trialdesk.apps.participants.status import State

from .enrolment import form_values
from .timeline import as_date, on

#: Order of the kinds of event that fall on the same day.
ORDER = ("found", "status", "forms", "guess", "missed", "lost", "withdraw", "died", "completed")


@dataclass
class FollowedUp:
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n


def follow(
    follow_up: Any,
    *,
    participants: dict[str, Participant],
    site_of: dict[str, str],
    coordinators: dict[str, Context],
    assessor: Callable[[str | None, str], tuple[Any, Context]],
    advance: Callable[[int], None],
) -> FollowedUp:
    """Push ``follow_up`` (``simulation.followup.FollowUp``) through the services; see the module docstring.

    ``assessor(name, site)`` gives the user and context of the generator's assessor (None: the site's
    first).
    """
    done = FollowedUp()
    forms = form_values(follow_up.items)
    by_visit = dict(iter(follow_up.assessments.groupby(["trial_id", "visit"])))
    guesses = {(g.trial_id, g.visit): g for g in follow_up.guesses.itertuples(index=False)}
    plan: list[tuple[dt.date, int, int, Callable[[], None]]] = []

    def add(day: Any, kind: str, call: Callable[[], None]) -> None:
        plan.append((as_date(day), ORDER.index(kind), len(plan), call))

    for v in follow_up.visits.itertuples(index=False):
        trial_id, site = str(v.trial_id), site_of[str(v.trial_id)]
        if v.done_on is None or pd.isna(v.done_on):
            add(
                v.closes,
                "missed",
                lambda v=v, t=trial_id, s=site: _missed(done, participants[t], v, coordinators[s]),
            )
            continue
        _user, ctx = assessor(v.assessor if isinstance(v.assessor, str) else None, site)
        add(
            v.done_on,
            "forms",
            lambda v=v, t=trial_id, ctx=ctx: _forms(
                done, participants[t], v, by_visit[(t, v.visit)], forms, ctx
            ),
        )
        guess = guesses.get((trial_id, v.visit))
        if guess is not None:
            g_user, g_ctx = assessor(str(guess.assessor), site)
            add(
                v.done_on,
                "guess",
                lambda v=v, t=trial_id, g=guess, u=g_user, c=g_ctx: _guess(done, participants[t], v, g, u, c),
            )
    for e in follow_up.status_events.itertuples(index=False):
        trial_id = str(e.trial_id)
        ctx = coordinators[site_of[trial_id]]
        kind = {
            "in_follow_up": "found" if e.from_state == "lost_to_follow_up" else "status",
            "lost_to_follow_up": "lost",
            "withdrawn": "withdraw",
            "died": "died",
            "completed": "completed",
        }[str(e.to_state)]
        add(
            e.on,
            kind,
            lambda e=e, t=trial_id, ctx=ctx, kind=kind: _status(done, participants[t], e, kind, ctx),
        )
    for day, _kind, _index, call in sorted(plan, key=lambda p: p[:3]):
        with on(day):
            call()
        advance(1)
    return done


def _forms(  # noqa: PLR0917 - a step of the dated event plan
    done: FollowedUp,
    participant: Participant,
    v: Any,
    rows: pd.DataFrame,
    forms: dict[tuple[str, str, str], dict[str, object]],
    ctx: Context,
) -> None:
    complete = rows[rows["status"] == "complete"]
    missing = rows[rows["status"] != "complete"]
    entered = {str(code): forms.get((str(t), str(v.visit), str(code)), {})
               for t, code in zip(complete["trial_id"], complete["instrument"], strict=True)}  # fmt: skip
    reasons = {str(c): str(r) for c, r in zip(missing["instrument"], missing["not_done_reason"], strict=True)}
    day = as_date(complete["assessed_on"].iloc[0]) if len(complete) else as_date(v.done_on)
    assessments.save_visit(participant, str(v.visit), entered, assessed_on=day, context=ctx, not_done=reasons)
    done.count(f"forms complete at {v.visit}", len(entered))
    done.count(f"forms not done at {v.visit}", len(reasons))


def _guess(done: FollowedUp, participant: Participant, v: Any, g: Any, user: Any, ctx: Context) -> None:  # noqa: PLR0917 - a step of the dated event plan
    dont_know = g.guess == "dont_know"
    assessments.record_guess(
        participant,
        str(v.visit),
        user,
        guess=str(g.guess),
        confidence=None if dont_know else int(g.confidence),
        guessed_on=as_date(v.done_on),
        context=ctx,
    )
    done.count("guesses")


def _missed(done: FollowedUp, participant: Participant, v: Any, ctx: Context) -> None:
    assessments.mark_missed(participant, str(v.visit), str(v.missed_reason or "no contact"), ctx)
    done.count(f"visits missed at {v.visit}")


def _status(done: FollowedUp, participant: Participant, e: Any, kind: str, ctx: Context) -> None:
    reason = "" if e.reason is None or pd.isna(e.reason) else str(e.reason)
    if kind == "withdraw":
        consent.record_withdrawal(
            participant, withdrawn_on=as_date(e.on), scope="data_collection", context=ctx, reason=reason
        )
    else:
        transition(participant, State(str(e.to_state)), ctx, reason=reason)
    done.count(f"to {e.to_state}")
