"""CONSORT 2025 flow counts from the screening log and the participant status events, reconciled.

Enrolment comes from the ``screening`` table: a person is a chain of screenings linked by
``rescreen_of``, judged by the last screening in the chain. Allocation, follow-up and analysis come
from ``status_events`` (the participant pipeline of issue 3: randomised, withdrawn, lost, died,
completed...), ``participants`` (arm, withdrawal scope) and ``dose`` (sessions attended).

Rules (each a CONSORT box):

* assessed for eligibility = persons screened; excluded = not meeting criteria (counted again by each
  failed criterion: one person can fail several) + declined (eligible, no consent; by reason) + other
  (eligible and consented but never randomised; by their last status);
* randomised = participants with a ``randomised`` event; allocated per arm from ``participants.arm``;
* received the allocated intervention: in an arm that receives the intervention, attended at least
  one session (``dose``); in a comparison arm (treatment as usual), everyone allocated;
* lost to follow-up: last follow-up state lost / died, or withdrawn (from data collection or all use
  of data); discontinued intervention: withdrawal scope ``intervention`` (the participant stays in
  follow-up, so there is no status event for it) or a ``discontinued`` event;
* analysed (intention to treat) = allocated minus those who withdrew consent to all use of their
  data; the number with the primary outcome observed is given beside it.

:func:`reconcile` checks that the boxes add up and that the sources agree, and lists every mismatch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from trialdesk.reporting.results_schema import Consort

RANDOMISED = "randomised"
LOST_STATES = {"lost", "lost_to_follow_up"}
DIED = "died"
WITHDRAWN = "withdrawn"
DISCONTINUED = "discontinued"
IN_FOLLOW_UP = "in_follow_up"
# The last of these events is a participant's follow-up status: someone lost and found again is back
# in follow-up (issue 3's pipeline allows lost -> in_follow_up).
ENDPOINT_STATES = LOST_STATES | {DIED, WITHDRAWN, "completed", IN_FOLLOW_UP}
SCOPE_INTERVENTION = "intervention"
SCOPE_DATA = "data_collection"
SCOPES_ALL = {"all", "all_data"}


@dataclass
class ArmFlow:
    allocated: int = 0
    received: int = 0
    not_received: Counter[str] = field(default_factory=Counter)
    lost: Counter[str] = field(default_factory=Counter)
    discontinued: Counter[str] = field(default_factory=Counter)
    analysed: int = 0
    excluded_from_analysis: Counter[str] = field(default_factory=Counter)
    primary_observed: int | None = None
    receives_intervention: bool = False


@dataclass
class ConsortCounts:
    assessed: int = 0
    screenings: int = 0  # screening records, re-screenings included
    not_meeting: int = 0
    not_meeting_by_criterion: Counter[str] = field(default_factory=Counter)
    declined: Counter[str] = field(default_factory=Counter)
    other: Counter[str] = field(default_factory=Counter)
    randomised: int = 0
    randomised_in_screening: int = 0  # screened persons with a trial id that was randomised
    arms: dict[str, ArmFlow] = field(default_factory=dict)

    @property
    def excluded(self) -> int:
        return self.not_meeting + sum(self.declined.values()) + sum(self.other.values())

    def to_dict(self) -> Consort:
        """The counts in the ``consort`` shape of the analysis JSON."""
        return Consort(
            screened=self.assessed,
            eligible=self.assessed - self.not_meeting,
            randomised=self.randomised,
            allocated={a: f.allocated for a, f in self.arms.items()},
            received={a: f.received for a, f in self.arms.items()},
            lost={
                a: {"n": sum(f.lost.values()), "reasons": dict(sorted(f.lost.items()))}
                for a, f in self.arms.items()
            },
            discontinued={
                a: {"n": sum(f.discontinued.values()), "reasons": dict(sorted(f.discontinued.items()))}
                for a, f in self.arms.items()
            },
            analysed={a: f.analysed for a, f in self.arms.items()},
        )


def _text(value: object) -> str:
    """A cell as text; empty for None, NaN and pandas' missing values."""
    if value is None:
        return ""
    try:
        if pd.isna(value):  # type: ignore[call-overload]
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def _truthy(value: object) -> bool:
    return _text(value).strip().lower() in {"true", "1", "yes", "1.0"}


def _final_screenings(screening: pd.DataFrame) -> pd.DataFrame:
    """One row per person: the last screening of each re-screening chain."""
    parent = {_text(r.screening_id): _text(r.rescreen_of) for r in screening.itertuples()}

    def root(sid: str) -> str:
        seen = {sid}
        while parent.get(sid):
            sid = parent[sid]
            if sid in seen or sid not in parent:  # a cycle or a dangling link: stop where we are
                break
            seen.add(sid)
        return sid

    frame = screening.assign(
        _root=[root(_text(s)) for s in screening["screening_id"]],
        _on=pd.to_datetime(screening["screened_on"], errors="coerce"),
    )
    frame = frame.sort_values(["_root", "_on", "screening_id"], kind="mergesort")
    return frame.groupby("_root", sort=True).tail(1)


def _last_states(events: pd.DataFrame) -> dict[str, pd.Series]:
    """Each participant's last endpoint event (lost, died, withdrawn, completed), by date then row order."""
    ends = events[events["to_state"].isin(ENDPOINT_STATES) & events["trial_id"].notna()]
    ends = ends.assign(_on=pd.to_datetime(ends["on"], errors="coerce"), _row=range(len(ends)))
    ends = ends.sort_values(["trial_id", "_on", "_row"], kind="mergesort")
    return {str(tid): rows.iloc[-1] for tid, rows in ends.groupby("trial_id", sort=True)}


def count_consort(
    tables: Mapping[str, pd.DataFrame],
    *,
    intervention_arms: set[str] | frozenset[str] = frozenset(),
    primary: tuple[str, str, str] | None = None,
) -> ConsortCounts:
    """Count every CONSORT box. ``primary`` = (instrument, score, visit) of the primary outcome."""
    counts = ConsortCounts()
    screening = tables.get("screening")
    events = tables.get("status_events")
    participants = tables.get("participants")
    dose = tables.get("dose")
    if events is None or participants is None:
        raise ValueError("CONSORT counts need the status_events and participants tables")

    randomised_ids = {str(t) for t in events.loc[events["to_state"] == RANDOMISED, "trial_id"].dropna()}
    counts.randomised = len(randomised_ids)

    if screening is not None and not screening.empty:
        counts.screenings = len(screening)
        final = _final_screenings(screening)
        counts.assessed = len(final)
        for row in final.itertuples():
            if not _truthy(row.eligible):
                counts.not_meeting += 1
                reasons = [r.strip() for r in _text(row.reasons).split(";") if r.strip()] or ["not recorded"]
                counts.not_meeting_by_criterion.update(reasons)
            elif not _truthy(row.consented):
                counts.declined[_text(row.decline_reason) or "not recorded"] += 1
            elif _text(row.trial_id) in randomised_ids:
                counts.randomised_in_screening += 1
            else:
                tid = _text(row.trial_id)
                states = events[(events["trial_id"] == tid)] if tid else events.iloc[0:0]
                last_state = _text(states.iloc[-1]["to_state"]) if not states.empty else ""
                reason = f"not randomised (last status: {last_state})" if last_state else "not randomised"
                counts.other[reason] += 1

    allocated = participants[
        participants["trial_id"].astype(str).isin(randomised_ids)
        & participants["arm"].notna()
        & (participants["arm"].astype(str) != "")
    ]
    last = _last_states(events)
    discontinued_ids = {str(t) for t in events.loc[events["to_state"] == DISCONTINUED, "trial_id"].dropna()}
    attended: dict[str, int] = {}
    if dose is not None:
        sessions = pd.to_numeric(dose["sessions_attended"], errors="coerce").fillna(0).astype(int)
        attended = dict(zip(dose["trial_id"].astype(str), sessions.tolist(), strict=True))
    observed: set[str] | None = None
    if primary is not None and tables.get("scores") is not None:
        scores = tables["scores"]
        instrument, score, visit = primary
        hit = scores[
            (scores["instrument"] == instrument)
            & (scores["score"] == score)
            & (scores["visit"] == visit)
            & scores["value"].notna()
        ]
        observed = {str(t) for t in hit["trial_id"]}

    arm_codes = set(allocated["arm"].astype(str))
    if not set(intervention_arms) & arm_codes and attended:
        # Not told (or told in other codes, as in a blinded snapshot): the arms whose members have dose rows.
        intervention_arms = set(
            allocated.loc[allocated["trial_id"].astype(str).isin(attended), "arm"].astype(str)
        )
    for arm, rows in allocated.groupby(allocated["arm"].astype(str), sort=True):
        flow = counts.arms.setdefault(str(arm), ArmFlow(receives_intervention=arm in intervention_arms))
        for row in rows.itertuples():
            tid = str(row.trial_id)
            flow.allocated += 1
            scope = _text(row.withdrawal_scope)
            if flow.receives_intervention:
                if attended.get(tid, 0) >= 1:
                    flow.received += 1
                elif tid in attended:
                    flow.not_received["placed in a group, attended no session"] += 1
                else:
                    flow.not_received["never placed in a group"] += 1
            else:
                flow.received += 1
            end = last.get(tid)
            state = _text(end["to_state"]) if end is not None else ""
            reason = _text(end["reason"]) if end is not None else ""
            if state == WITHDRAWN and reason in {SCOPE_INTERVENTION, SCOPE_DATA, *SCOPES_ALL}:
                scope = reason  # the event's own record of what was withdrawn wins over the current field
                reason = ""
            if state in LOST_STATES:
                flow.lost[reason or "reason not recorded"] += 1
            elif state == DIED:
                flow.lost["died"] += 1
            elif state == WITHDRAWN and scope != SCOPE_INTERVENTION:
                default = (
                    "withdrew consent to all use of data"
                    if scope in SCOPES_ALL
                    else "withdrew from data collection"
                )
                flow.lost[reason or default] += 1
            if tid in discontinued_ids:
                why = events.loc[(events["trial_id"] == tid) & (events["to_state"] == DISCONTINUED), "reason"]
                flow.discontinued[_text(why.iloc[-1]) or "reason not recorded"] += 1
            elif scope == SCOPE_INTERVENTION:  # stays in follow-up: no status event, only the scope
                flow.discontinued[
                    (reason if state == WITHDRAWN else "") or "withdrew from the intervention"
                ] += 1
            if scope in SCOPES_ALL:
                flow.excluded_from_analysis["withdrew consent to all use of data"] += 1
            else:
                flow.analysed += 1
        if observed is not None:
            flow.primary_observed = int(rows["trial_id"].astype(str).isin(observed).sum())
    return counts


def reconcile(counts: ConsortCounts, reported: Consort | None = None) -> list[str]:
    """Every way the boxes fail to add up, or the counts differ from ``reported``; empty when all agree."""
    problems: list[str] = []
    if counts.assessed and counts.assessed != counts.excluded + counts.randomised_in_screening:
        problems.append(
            f"assessed for eligibility ({counts.assessed}) != excluded ({counts.excluded}) "
            f"+ randomised from the screening log ({counts.randomised_in_screening})"
        )
    if counts.assessed and counts.randomised_in_screening != counts.randomised:
        problems.append(
            f"randomised from the screening log ({counts.randomised_in_screening}) != "
            f"randomised events ({counts.randomised})"
        )
    if counts.not_meeting and sum(counts.not_meeting_by_criterion.values()) < counts.not_meeting:
        problems.append(
            f"not meeting criteria ({counts.not_meeting}) exceeds the failed criteria counted "
            f"({sum(counts.not_meeting_by_criterion.values())})"
        )
    allocated = sum(f.allocated for f in counts.arms.values())
    if allocated != counts.randomised:
        problems.append(f"randomised ({counts.randomised}) != sum of allocated over arms ({allocated})")
    for arm, f in counts.arms.items():
        if f.received + sum(f.not_received.values()) != f.allocated:
            problems.append(
                f"arm {arm}: received ({f.received}) + did not receive "
                f"({sum(f.not_received.values())}) != allocated ({f.allocated})"
            )
        if f.analysed + sum(f.excluded_from_analysis.values()) != f.allocated:
            problems.append(
                f"arm {arm}: analysed ({f.analysed}) + excluded from analysis "
                f"({sum(f.excluded_from_analysis.values())}) != allocated ({f.allocated})"
            )
        if sum(f.lost.values()) > f.allocated:
            problems.append(
                f"arm {arm}: lost to follow-up ({sum(f.lost.values())}) exceeds allocated ({f.allocated})"
            )
        if sum(f.discontinued.values()) > f.allocated:
            problems.append(
                f"arm {arm}: discontinued ({sum(f.discontinued.values())}) exceeds allocated ({f.allocated})"
            )
        if f.primary_observed is not None and f.primary_observed > f.analysed:
            problems.append(
                f"arm {arm}: primary outcome observed ({f.primary_observed}) exceeds analysed ({f.analysed})"
            )
    if reported:
        problems += _compare(counts.to_dict(), reported)
    return problems


def _compare(ours_: Consort, theirs_: Consort) -> list[str]:
    ours: dict[str, Any] = dict(ours_)
    theirs: dict[str, Any] = dict(theirs_)
    problems = [
        f"analysis results give {key} = {theirs[key]}, the events give {ours.get(key)}"
        for key in ("screened", "eligible", "randomised")
        if key in theirs and theirs[key] != ours.get(key)
    ]
    for key in ("allocated", "received", "analysed", "lost", "discontinued"):
        for arm, value in (theirs.get(key) or {}).items():
            n = value.get("n") if isinstance(value, dict) else value
            mine = (ours.get(key) or {}).get(arm)
            mine_n = mine.get("n") if isinstance(mine, dict) else mine
            if n != mine_n:
                problems.append(f"analysis results give {key} = {n} in arm {arm}, the events give {mine_n}")
    return problems
