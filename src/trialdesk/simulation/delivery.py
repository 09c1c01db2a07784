"""IMR delivery: groups formed at each site, weekly sessions, modules, attendance and fidelity ratings.

Groups. Participants randomised to the intervention wait at their site; when ``group_start_minimum``
are waiting a group starts 1-4 weeks later (assumed) with up to ``participants_per_group`` of them.
Later participants join a running group within its first ``intake_weeks`` while it has room, otherwise
they wait for the next. At the end of recruitment a last group starts if at least
``final_group_minimum`` are waiting; fewer are never offered a group (their ``group_id`` stays empty).

Sessions. A group holds between ``sessions_min`` and ``sessions_max`` sessions at the protocol's
frequency; a planned slot is cancelled with probability ``cancelled`` and the programme runs a slot
longer. Held sessions cover the curriculum's modules in order, equal time per module (a session at a
boundary covers two).

Attendance. Per member: never attends (``never_attend``), or attends each session with a
Beta(``attendance_mean``) propensity; ``stop_share`` stop after a geometric number of sessions, and
``withdraw_intervention`` of those withdraw from the intervention formally (scope ``intervention``),
ending their membership. Attendance rows exist only for held sessions while a member.

Fidelity. Each group is rated at 2-3 sessions on the protocol's fidelity instrument, items around a group
level N(fidelity_mean, fidelity_group_sd); ``double_rated`` of ratings get a second rater's rating.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trialdesk.instruments import get_library, score
from trialdesk.simulation.calibration import Settings

if TYPE_CHECKING:
    from trialdesk.protocol import Protocol

INTERVAL_DAYS = {"weekly": 7, "fortnightly": 14, "monthly": 28}
#: Fidelity item offsets from the group level (assumed: involving significant others is hardest).
FIDELITY_OFFSETS = {"1": 0.3, "2": 0.4, "5": -0.9, "13": -0.3}


@dataclass(frozen=True)
class Delivery:
    """Frames of the intervention's delivery (columns: :class:`trialdesk.simulation.trial.SimulatedTrial`)."""

    groups: pd.DataFrame
    memberships: pd.DataFrame
    sessions: pd.DataFrame
    attendance: pd.DataFrame
    fidelity: pd.DataFrame
    withdrawals: pd.DataFrame

    def session_dates(self) -> dict[tuple[str, int], dt.date]:
        """(group_id, session_number) -> date of every held session."""
        held = self.sessions[self.sessions["held"].astype(bool)]  # an empty column is object dtype
        return {(g, int(n)): on for g, n, on in zip(held["group_id"], held["session_number"],
                                                    held["scheduled_on"], strict=True)}

    @property
    def placements(self) -> dict[str, str]:
        """trial_id -> group_id of every participant placed in a group."""
        return dict(zip(self.memberships["trial_id"], self.memberships["group_id"], strict=True))

    def end_memberships(self, ends: dict[str, dt.date], reason: str = "left the trial") -> Delivery:
        """Memberships end the day before ``ends[trial_id]`` (death, withdrawal): later rows dropped."""
        if not ends:
            return self
        session_day = self.session_dates()
        days = [session_day[(g, n)] for g, n in zip(self.attendance["group_id"],
                                                    self.attendance["session_number"], strict=True)]
        limit = [ends.get(t) for t in self.attendance["trial_id"]]
        keep = [end is None or on < end for on, end in zip(days, limit, strict=True)]
        memberships = self.memberships.copy()
        for index, row in memberships.iterrows():
            end = ends.get(row["trial_id"])
            if end is not None and (pd.isna(row["left_on"]) or end <= row["left_on"]):
                memberships.loc[index, ["left_on", "left_reason"]] = [max(end, row["joined_on"]), reason]
        # a boolean array, not a list: an empty list would select no columns instead of no rows
        attended = self.attendance[np.array(keep, dtype=bool)].reset_index(drop=True)
        return Delivery(self.groups, memberships, self.sessions, attended,
                        self.fidelity, self.withdrawals)


def _form_groups(members: pd.DataFrame, protocol: Protocol, rng: np.random.Generator, *,
                 settings: Settings, site: str) -> list[dict[str, Any]]:
    spec = protocol.intervention
    groups: list[dict[str, Any]] = []
    waiting: list[tuple[str, dt.date]] = []

    def start(after: dt.date) -> None:
        lead = int(rng.integers(settings.group_lead_days[0], settings.group_lead_days[1] + 1))
        begins = after + dt.timedelta(days=lead)
        taken = waiting[: spec.participants_per_group]
        del waiting[: len(taken)]
        groups.append({"group_id": f"{site}-G{len(groups) + 1}", "site": site,
                       "starts_on": begins, "members": [(tid, begins) for tid, _on in taken]})

    for trial_id, on in zip(members["trial_id"], members["randomised_on"], strict=True):
        current = groups[-1] if groups else None
        if (current and len(current["members"]) < spec.participants_per_group
                and on <= current["starts_on"] + dt.timedelta(weeks=settings.intake_weeks)):
            current["members"].append((trial_id, max(on, current["starts_on"])))
            continue
        waiting.append((trial_id, on))
        if len(waiting) >= spec.group_start_minimum:
            start(on)
    if len(waiting) >= settings.final_group_minimum:
        start(waiting[-1][1])
    return groups


def _sessions(group: dict[str, Any], protocol: Protocol, rng: np.random.Generator, settings: Settings
              ) -> list[dict[str, Any]]:
    spec = protocol.intervention
    held_total = int(rng.integers(spec.sessions_min, spec.sessions_max + 1))
    modules = [m.code for m in sorted(spec.modules, key=lambda m: m.number)]
    per_session = len(modules) / held_total
    rows: list[dict[str, Any]] = []
    held = 0
    slot = 0
    while held < held_total:
        on = group["starts_on"] + dt.timedelta(days=INTERVAL_DAYS[spec.session_frequency] * slot)
        slot += 1
        row = {"group_id": group["group_id"], "site": group["site"], "slot": slot, "scheduled_on": on,
               "held": True, "session_number": None, "modules": None, "cancel_reason": None}
        if held and rng.random() < settings.cancelled:
            row.update(held=False, cancel_reason=str(rng.choice(
                ["facilitator ill", "public holiday", "too few participants could come"])))
        else:
            first = math.floor(held * per_session + 1e-9)
            last = min(math.ceil((held + 1) * per_session - 1e-9) - 1, len(modules) - 1)
            row.update(session_number=held + 1, modules=";".join(modules[first:last + 1]))
            held += 1
        rows.append(row)
    return rows


def _attendance(group: dict[str, Any], sessions: list[dict[str, Any]], rng: np.random.Generator,
                settings: Settings, memberships: list[dict[str, Any]]
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    held = [s for s in sessions if s["held"]]
    rows: list[dict[str, Any]] = []
    withdrawals: list[dict[str, Any]] = []
    mean, size = settings.attendance_mean, settings.attendance_concentration
    for trial_id, joined in group["members"]:
        offered = [s for s in held if s["scheduled_on"] >= joined]
        propensity = 0.0 if rng.random() < settings.never_attend else rng.beta(mean * size, (1 - mean) * size)
        stop_after = len(offered)
        if rng.random() < settings.stop_share:
            stop_after = int(rng.geometric(1 / settings.stop_after_mean))
        attended = [i < stop_after and rng.random() < propensity for i in range(len(offered))]
        leaves_on = None
        if stop_after < len(offered) and rng.random() < settings.withdraw_intervention:
            last = max((i for i, a in enumerate(attended) if a), default=-1)
            cut = min(max(stop_after, last + 1), len(offered) - 1)
            leaves_on = max(offered[cut]["scheduled_on"] - dt.timedelta(days=1), joined)
            offered = offered[:cut]
            withdrawals.append({"trial_id": trial_id, "withdrawn_on": leaves_on, "scope": "intervention",
                                "reason": "stopped attending IMR sessions"})
        memberships.append({"trial_id": trial_id, "group_id": group["group_id"], "joined_on": joined,
                            "left_on": leaves_on, "left_reason": leaves_on and "withdrew from IMR"})
        rows.extend({"group_id": group["group_id"], "session_number": s["session_number"],
                     "trial_id": trial_id, "attended": bool(a)}
                    for s, a in zip(offered, attended, strict=False))
    return rows, withdrawals


def _fidelity(group: dict[str, Any], sessions: list[dict[str, Any]], protocol: Protocol,
              rng: np.random.Generator, *, settings: Settings, raters: list[str], start: int
              ) -> list[dict[str, Any]]:
    instrument = get_library().get(protocol.intervention.fidelity.instrument)
    codes = instrument.scored_items
    held = [s for s in sessions if s["held"]]
    occasions = int(rng.integers(2, 4))
    level = rng.normal(settings.fidelity_mean, settings.fidelity_group_sd)
    offsets = np.array([FIDELITY_OFFSETS.get(c, 0.0) for c in codes])
    low, high = instrument.score_range("total")
    rows: list[dict[str, Any]] = []
    for number in range(occasions):
        session = held[min(int(len(held) * (number + 0.6) / (occasions + 0.2)), len(held) - 1)]
        items = np.clip(np.rint(level + 0.1 * number + offsets + rng.normal(0, 0.6, len(codes))), low, high)
        first_rater = raters[int(rng.integers(len(raters)))]
        pairs: list[tuple[np.ndarray, str, str | None]] = [(items, first_rater, None)]
        if rng.random() < settings.double_rated:
            second = np.clip(items + rng.choice([-1, 0, 1], len(codes), p=[0.15, 0.7, 0.15]), low, high)
            other = [r for r in raters if r != first_rater]
            pairs.append((second, other[int(rng.integers(len(other)))], f"FID-{start + len(rows) + 1:04d}"))
        for values, rater, double_of in pairs:
            responses = {c: int(v) for c, v in zip(codes, values, strict=True)}
            rows.append({"rating_id": f"FID-{start + len(rows) + 1:04d}", "group_id": group["group_id"],
                         "site": group["site"], "rater": rater, "rated_on": session["scheduled_on"],
                         "session_number": session["session_number"], "double_of": double_of,
                         "score": score(instrument, responses).values["total"],
                         "items": ";".join(str(int(v)) for v in values)})
    return rows


def deliver(participants: pd.DataFrame, protocol: Protocol, rng: np.random.Generator,
            settings: Settings | None = None) -> Delivery:
    """Groups, sessions, attendance and fidelity for the intervention arm of ``participants``.

    ``participants`` needs trial_id, site, arm and randomised_on; only the protocol's intervention arm
    is placed in groups.
    """
    settings = settings or Settings()
    treated = participants[participants["arm"] == protocol.intervention.arm]
    groups: list[dict[str, Any]] = []
    sessions: list[dict[str, Any]] = []
    attendance: list[dict[str, Any]] = []
    fidelity: list[dict[str, Any]] = []
    withdrawals: list[dict[str, Any]] = []
    memberships: list[dict[str, Any]] = []
    raters = [f"fidelity-{k}" for k in range(1, 4)]
    for site in protocol.sites:
        members = treated[treated["site"] == site.code].sort_values(["randomised_on", "trial_id"])
        for group in _form_groups(members, protocol, rng, settings=settings, site=site.code):
            group_sessions = _sessions(group, protocol, rng, settings)
            rows, left = _attendance(group, group_sessions, rng, settings, memberships)
            fidelity += _fidelity(group, group_sessions, protocol, rng, settings=settings, raters=raters,
                                  start=len(fidelity))
            held = [s for s in group_sessions if s["held"]]
            facilitators = [f"{site.code}-facilitator-{k}" for k in
                            rng.choice(range(1, 5), protocol.intervention.facilitators_max, replace=False)]
            groups.append({"group_id": group["group_id"], "site": site.code, "starts_on": group["starts_on"],
                           "ends_on": held[-1]["scheduled_on"], "members": len(group["members"]),
                           "sessions_held": len(held), "facilitators": ";".join(facilitators)})
            sessions += group_sessions
            attendance += rows
            withdrawals += left
    return Delivery(
        groups=pd.DataFrame(groups, columns=["group_id", "site", "starts_on", "ends_on", "members",
                                             "sessions_held", "facilitators"]),
        memberships=pd.DataFrame(memberships, columns=["trial_id", "group_id", "joined_on", "left_on",
                                                       "left_reason"]),
        sessions=pd.DataFrame(sessions, columns=["group_id", "site", "slot", "scheduled_on", "held",
                                                 "session_number", "modules", "cancel_reason"]),
        attendance=pd.DataFrame(attendance, columns=["group_id", "session_number", "trial_id", "attended"]),
        fidelity=pd.DataFrame(fidelity, columns=["rating_id", "group_id", "site", "rater", "rated_on",
                                                 "session_number", "double_of", "score", "items"]),
        withdrawals=pd.DataFrame(withdrawals, columns=["trial_id", "withdrawn_on", "scope", "reason"]),
    )
