"""Status events after randomisation, implied by the simulated visit pattern.

Walking each participant's follow-up visits in order: a visit with no contact moves them to
``lost_to_follow_up`` on the day its window closes; a later visit that happens moves them back to
``in_follow_up`` on its date; a contact at the last visit ends in ``completed`` on its date. Of those
with no contact from some visit to the end, a few die (``death_rate`` per person-year overall) and some
withdraw from data collection (``withdraw_data_collection``); both happen after their last contact and
their last attended IMR session, so no record ever follows a death or a withdrawal. Transitions follow
the participant pipeline of the app (randomised -> in_follow_up -> completed / lost / withdrawn / died).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trialdesk.simulation.calibration import Settings

if TYPE_CHECKING:
    from trialdesk.protocol import Protocol

COLUMNS = ["trial_id", "screening_id", "from_state", "to_state", "on", "reason"]


@dataclass(frozen=True)
class Statuses:
    events: pd.DataFrame
    final: dict[str, str]
    ends: dict[str, dt.date]  # date of death or withdrawal from data collection
    end_reasons: dict[str, str]
    withdrawn: dict[str, dt.date]


def _uniform_day(rng: np.random.Generator, first: dt.date, last: dt.date) -> dt.date | None:
    if last < first:
        return None
    return first + dt.timedelta(days=int(rng.integers(0, (last - first).days + 1)))


def status_events(participants: pd.DataFrame, protocol: Protocol, rng: np.random.Generator, *,
                  settings: Settings, visits: pd.DataFrame, last_session: dict[str, dt.date]) -> Statuses:
    """Events after randomisation for each participant, from their visit rows (see module docstring)."""
    by_participant: dict[str, list[dict[str, Any]]] = {}
    for record in visits.sort_values("target_on", kind="stable").to_dict("records"):
        row: dict[str, Any] = {str(k): v for k, v in record.items()}
        row["done_on"] = None if row["done_on"] is None or pd.isna(row["done_on"]) else row["done_on"]
        by_participant.setdefault(str(row["trial_id"]), []).append(row)
    follow_up_years = max(v.month for v in protocol.visits) / 12
    plans: list[dict[str, Any]] = []
    for p in participants.itertuples(index=False):
        rows = by_participant[str(p.trial_id)]
        contacts = [i for i, row in enumerate(rows) if row["done_on"] is not None]
        last = contacts[-1] if contacts else -1
        last_contact = max([p.randomised_on, *(rows[i]["done_on"] for i in contacts)])
        session = last_session.get(str(p.trial_id), p.randomised_on)
        earliest = max(last_contact, session) + dt.timedelta(days=1)
        plans.append({"p": p, "rows": rows, "last": last, "earliest": earliest,
                      "open_end": last < len(rows) - 1})
    open_ended = sum(plan["open_end"] for plan in plans)
    death_chance = min(1.0, settings.death_rate * follow_up_years * len(plans) / max(open_ended, 1))
    events: list[dict[str, Any]] = []
    final: dict[str, str] = {}
    ends: dict[str, dt.date] = {}
    end_reasons: dict[str, str] = {}
    withdrawn: dict[str, dt.date] = {}
    for plan in plans:
        p, rows = plan["p"], plan["rows"]
        screening_id = getattr(p, "screening_id", None)

        def emit(old: str, new: str, on: dt.date, reason: str = "", *, tid: str = p.trial_id,
                 sid: str | None = screening_id) -> None:
            events.append({"trial_id": tid, "screening_id": sid, "from_state": old, "to_state": new,
                           "on": on, "reason": reason or None})

        terminal: tuple[str, dt.date, str] | None = None
        if plan["open_end"]:
            first_missed = rows[plan["last"] + 1]
            if rng.random() < death_chance:
                day = _uniform_day(rng, plan["earliest"], rows[-1]["target_on"])
                if day is not None:
                    terminal = ("died", day, "died during follow-up")
            elif plan["last"] < 0 and rng.random() < settings.withdraw_data_collection:
                day = _uniform_day(rng, plan["earliest"], first_missed["closes"] - dt.timedelta(days=1))
                if day is not None:
                    terminal = ("withdrawn", day, "withdrew from further data collection")
        emit("randomised", "in_follow_up", p.randomised_on)
        state = "in_follow_up"
        for visit in rows:
            if terminal is not None and visit["closes"] >= terminal[1]:
                break
            if visit["done_on"] is not None:
                if state == "lost_to_follow_up":
                    emit(state, "in_follow_up", visit["done_on"], f"seen again at the {visit['visit']} visit")
                    state = "in_follow_up"
            elif state != "lost_to_follow_up":
                emit(state, "lost_to_follow_up", visit["closes"], f"no contact at the {visit['visit']} visit")
                state = "lost_to_follow_up"
        if terminal is not None:
            new, day, reason = terminal
            emit(state, new, day, reason)
            final[p.trial_id] = new
            ends[p.trial_id] = day
            end_reasons[p.trial_id] = "participant died" if new == "died" else "withdrew from data collection"
            if new == "withdrawn":
                withdrawn[p.trial_id] = day
        elif state == "in_follow_up":
            emit(state, "completed", rows[-1]["done_on"])
            final[p.trial_id] = "completed"
        else:
            final[p.trial_id] = state
    return Statuses(pd.DataFrame(events, columns=COLUMNS), final, ends, end_reasons, withdrawn)
