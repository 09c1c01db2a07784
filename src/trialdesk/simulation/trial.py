"""A realistic whole trial, simulated as plain frames: :func:`simulate_trial` -> :class:`SimulatedTrial`.

The steps are separate functions so the demo can push each through the real services and hand the
real allocation back: :func:`~trialdesk.simulation.population.simulate_population` (screening, consent,
baseline characteristics), :func:`~trialdesk.simulation.followup.baseline_outcomes`, then the arm from
the allocation service (or :func:`allocate` here), :func:`~trialdesk.simulation.delivery.deliver` (IMR
groups), :func:`~trialdesk.simulation.followup.outcomes_for` (follow-up visits and status) and
:func:`~trialdesk.simulation.registers.register_events`. Each step draws from its own random stream
(``SeedSequence(seed).spawn``), so changing one step's input leaves the other steps' draws unchanged.
Calibration and every assumed value: docs/simulation.md and :mod:`trialdesk.simulation.calibration`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trialdesk.allocation import AllocationList, generate_list, scheme_from_protocol
from trialdesk.instruments import get_library, score
from trialdesk.simulation.calibration import ASSUMED, Settings
from trialdesk.simulation.delivery import deliver
from trialdesk.simulation.followup import baseline_outcomes, draw_population_latent, outcomes_for
from trialdesk.simulation.outcomes import ANCHOR
from trialdesk.simulation.population import baseline_form, simulate_population
from trialdesk.simulation.registers import register_counts, register_events

if TYPE_CHECKING:
    from trialdesk.protocol import Protocol

ALGORITHM = "trialdesk.simulation.trial"
#: Bump whenever the same seed would give different frames.
ALGORITHM_VERSION = "1"
SCORE_COLUMNS = ["trial_id", "visit", "instrument", "score", "value", "assessed_on", "in_window",
                 "not_done_reason"]


@dataclass(frozen=True)
class SimulatedTrial:
    """One simulated trial. Frames use the column names of :mod:`trialdesk.datasets` where a table exists.

    - ``screening``: datasets ``screening`` + person_id-like ``trial_id`` (everyone screened gets one, as
      the app registers them), ``birth_date``, ``sex``, ``referral_source``, ``answers`` (criterion code ->
      answer, as the screening form takes them).
    - ``participants``: datasets ``participants`` (randomised people) + ``screening_id``, ``birth_date``,
      ``bipolar``, ``stratum`` and the medication fields of the ``baseline`` form.
    - ``status_events``: datasets ``status_events``, from first screening to completed / lost / withdrawn /
      died.
    - ``visits``: trial_id, visit, target_on, opens, closes, done_on, in_window, assessor, missed_reason.
    - ``assessments``: trial_id, visit, instrument, assessed_on, status (complete / not_done),
      not_done_reason, in_window -- every instrument of every visit for every participant.
    - ``items``: datasets ``items`` (long; NaN = item left blank); ``baseline_form``: trial_id, item, value
      of the ``baseline`` form; :attr:`scores`: datasets ``scores`` (computed on first use).
    - ``groups`` (group_id, site, starts_on, ends_on, members, sessions_held, facilitators),
      ``memberships`` (trial_id, group_id, joined_on, left_on, left_reason), ``sessions`` (group_id,
      site, slot, scheduled_on, held, session_number, modules, cancel_reason), ``attendance`` (group_id,
      session_number, trial_id, attended), ``dose`` (datasets ``dose``), ``fidelity`` (datasets
      ``fidelity`` + session_number).
    - ``withdrawals``: trial_id, withdrawn_on, scope, reason; ``guesses``: datasets ``guesses``.
    - ``register_events``: trial_id, event, start_date, end_date; ``register``: datasets ``register``.
    - ``allocation``: the allocation list used (None when arms came from outside).
    """

    screening: pd.DataFrame
    participants: pd.DataFrame
    status_events: pd.DataFrame
    visits: pd.DataFrame
    assessments: pd.DataFrame
    items: pd.DataFrame
    baseline_form: pd.DataFrame
    groups: pd.DataFrame
    memberships: pd.DataFrame
    sessions: pd.DataFrame
    attendance: pd.DataFrame
    dose: pd.DataFrame
    fidelity: pd.DataFrame
    withdrawals: pd.DataFrame
    guesses: pd.DataFrame
    register_events: pd.DataFrame
    register: pd.DataFrame
    allocation: AllocationList | None
    seed: int | None
    protocol_hash: str
    algorithm: str = f"{ALGORITHM}/{ALGORITHM_VERSION}"
    settings: Settings = field(default_factory=Settings)
    assumed: dict[str, str] = field(default_factory=lambda: dict(ASSUMED))

    @cached_property
    def scores(self) -> pd.DataFrame:
        """The datasets ``scores`` table, scored by ``trialdesk.instruments.score`` on first use."""
        return score_items(self.items, self.assessments)


def stratum_levels(participants: pd.DataFrame, protocol: Protocol) -> list[dict[str, str]]:
    """Each participant's level of every stratification factor (site, or the diagnosis level)."""
    return [{f.code: str(site if f.source == "site" else diagnosis) for f in protocol.stratification}
            for site, diagnosis in zip(participants["site"], participants["diagnosis"], strict=True)]


def allocate(participants: pd.DataFrame, protocol: Protocol, seed: int) -> tuple[pd.Series, AllocationList]:
    """Arms by the protocol's stratified permuted blocks (trialdesk.allocation), in randomisation order.

    For standalone use (tests, power checks); the demo gets arms from the allocation service instead.
    """
    scheme = scheme_from_protocol(protocol)
    strata = pd.Series([scheme.stratum_of(levels) for levels in stratum_levels(participants, protocol)],
                       index=participants.index)
    counts = strata.value_counts()
    allocation = generate_list(scheme, seed, {s: int(counts.get(s, 0)) or 1 for s in scheme.strata()})
    sequences = allocation.arms_by_stratum()
    order = participants.sort_values(["randomised_on", "trial_id"]).index
    arms = pd.Series(index=participants.index, dtype=object)
    used = dict.fromkeys(sequences, 0)
    for index in order:
        stratum = strata[index]
        arms[index] = sequences[stratum][used[stratum]]
        used[stratum] += 1
    return arms, allocation


def score_items(items: pd.DataFrame, assessments: pd.DataFrame) -> pd.DataFrame:
    """The datasets ``scores`` table: each assessment scored by ``instruments.score`` (None: not done)."""
    library = get_library()
    ordered = items.sort_values(["trial_id", "visit", "instrument"], kind="stable")
    keys = list(zip(ordered["trial_id"], ordered["visit"], ordered["instrument"], strict=True))
    computed: dict[tuple[str, str, str], dict[str, float | None]] = {}
    codes, values = ordered["item"].tolist(), ordered["value"].tolist()
    start = 0
    for end in range(1, len(keys) + 1):
        if end == len(keys) or keys[end] != keys[start]:
            computed[keys[start]] = score(keys[start][2], dict(zip(codes[start:end], values[start:end],
                                                                  strict=True))).values
            start = end
    rows: list[dict[str, Any]] = []
    for record in assessments.to_dict("records"):
        key = (str(record["trial_id"]), str(record["visit"]), str(record["instrument"]))
        found = computed.get(key, {})
        rows.extend({**{c: record[c] for c in ("trial_id", "visit", "instrument", "assessed_on",
                                                "in_window", "not_done_reason")},
                     "score": name, "value": found.get(name)}
                    for name in library.get(key[2]).score_names)
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def dose(participants: pd.DataFrame, delivery: Any, protocol: Protocol) -> pd.DataFrame:
    """The datasets ``dose`` table for the intervention arm."""
    treated = participants[participants["arm"] == protocol.intervention.arm]
    held = delivery.sessions[delivery.sessions["held"]]
    modules = {(g, int(n)): str(m).split(";") for g, n, m in
               zip(held["group_id"], held["session_number"], held["modules"], strict=True)}
    ends = dict(zip(delivery.groups["group_id"], delivery.groups["ends_on"], strict=True))
    member = delivery.memberships.set_index("trial_id")
    by_participant = dict(iter(delivery.attendance.groupby("trial_id")))
    rows = []
    for trial_id, group_id in zip(treated["trial_id"], treated["group_id"], strict=True):
        frame = by_participant.get(trial_id)
        offered = 0 if frame is None else len(frame)
        attended = 0 if frame is None else int(frame["attended"].sum())
        covered: set[str] = set()
        weeks = None
        if frame is not None:
            present = frame[frame["attended"]]
            for g, number in zip(present["group_id"], present["session_number"], strict=True):
                covered.update(modules[(g, int(number))])
        if trial_id in member.index:
            row = member.loc[trial_id]
            left = row["left_on"] if not pd.isna(row["left_on"]) else ends[row["group_id"]]
            weeks = max((left - row["joined_on"]).days, 0) / 7
        share = attended / offered if offered else None
        threshold = protocol.intervention.completer_threshold
        rows.append({"trial_id": trial_id, "group_id": group_id if isinstance(group_id, str) else None,
                     "sessions_offered": offered, "sessions_attended": attended, "attendance": share,
                     "modules_covered": len(covered), "weeks_in_group": weeks,
                     "completer": bool(share is not None and share >= threshold)})
    return pd.DataFrame(rows, columns=["trial_id", "group_id", "sessions_offered", "sessions_attended",
                                       "attendance", "modules_covered", "weeks_in_group", "completer"])


def simulate_trial(protocol: Protocol | None = None, n_participants: int = 198, seed: int | None = 2011,
                   rng: np.random.Generator | None = None, settings: Settings | None = None
                   ) -> SimulatedTrial:
    """Simulate the whole trial; the same ``seed`` gives identical frames.

    With ``rng`` given, its draws seed the steps (and ``seed`` is stored as None).
    """
    if protocol is None:
        from trialdesk.protocol import load_protocol

        protocol = load_protocol()
    settings = settings or Settings()
    if rng is not None:
        seed = None
        root = np.random.SeedSequence(int(rng.integers(2**63)))
    else:
        root = np.random.SeedSequence(seed)
    streams = [np.random.default_rng(s) for s in root.spawn(6)]
    population = simulate_population(protocol, n_participants, streams[0], settings)
    participants = population.participants.copy()
    latent = draw_population_latent(participants, protocol, streams[1])
    baseline_items, baseline_assessments = baseline_outcomes(participants, latent, protocol, streams[1],
                                                             settings)
    arms, allocation = allocate(participants, protocol, int(streams[2].integers(2**31)))
    participants["arm"] = arms
    participants["stratum"] = [scheme_from_protocol(protocol).stratum_of(levels)
                               for levels in stratum_levels(participants, protocol)]
    delivery = deliver(participants, protocol, streams[3], settings)
    participants["group_id"] = participants["trial_id"].map(delivery.placements)
    follow = outcomes_for(participants, protocol, streams[4], latent=latent, delivery=delivery,
                          settings=settings)
    delivery = delivery.end_memberships(follow.ends)
    participants["status"] = participants["trial_id"].map(follow.final_status)
    withdrawals = pd.concat([w for w in (delivery.withdrawals, follow.withdrawals) if not w.empty]
                            or [follow.withdrawals], ignore_index=True)
    latest = withdrawals.sort_values("withdrawn_on").drop_duplicates("trial_id", keep="last")
    latest = latest.set_index("trial_id")
    participants["withdrawn_on"] = participants["trial_id"].map(latest["withdrawn_on"])
    participants["withdrawal_scope"] = participants["trial_id"].map(latest["scope"])
    severity = latent.of(participants["trial_id"].to_numpy(), ANCHOR, latent.model.visits[0])
    events = register_events(participants, protocol, streams[5], severity_z=severity, ends=follow.ends)
    items = pd.concat([baseline_items, follow.items], ignore_index=True)
    assessments = pd.concat([baseline_assessments, follow.assessments], ignore_index=True)
    baseline_visit = next(v.code for v in protocol.visits if v.month == 0)
    day = participants["baseline_on"]
    baseline_rows = pd.DataFrame({"trial_id": participants["trial_id"], "visit": baseline_visit,
                                  "target_on": day, "opens": day, "closes": day, "done_on": day,
                                  "in_window": True, "assessor": None, "missed_reason": None})
    return SimulatedTrial(
        screening=population.screening,
        participants=participants,
        status_events=pd.concat([population.status_events, follow.status_events], ignore_index=True),
        visits=pd.concat([baseline_rows, follow.visits], ignore_index=True),
        assessments=assessments,
        items=items,
        baseline_form=baseline_form(participants),
        groups=delivery.groups,
        memberships=delivery.memberships,
        sessions=delivery.sessions,
        attendance=delivery.attendance,
        dose=dose(participants, delivery, protocol),
        fidelity=delivery.fidelity,
        withdrawals=withdrawals,
        guesses=follow.guesses,
        register_events=events,
        register=register_counts(events, participants, protocol, follow.ends),
        allocation=allocation,
        seed=seed,
        protocol_hash=protocol.content_hash,
        settings=settings,
    )
