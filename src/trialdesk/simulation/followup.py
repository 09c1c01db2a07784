"""Assessments at every protocol visit: scores as item responses, missed visits, dates, guesses, status.

:func:`baseline_outcomes` rates every randomised participant at the baseline visit (before randomisation,
so it needs no arm). :func:`outcomes_for` takes the allocated arm and IMR group per participant and
generates the follow-up visits as :mod:`trialdesk.simulation.outcomes` describes, then the status events
that the visit pattern implies: a visit with no contact makes the participant lost to follow-up (found
again when a later visit happens); some of those with no contact to the end withdraw from data
collection instead, and a few die, always after their last contact and last IMR session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special

from trialdesk.instruments import Instrument, get_library
from trialdesk.simulation.calibration import Settings
from trialdesk.simulation.outcomes import (
    ANCHOR,
    Latent,
    baseline_target,
    calibrated_scores,
    contact_intercept,
    draw_latent,
    follow_up_target,
    latent_model,
    scored_instruments,
    selection_moments,
)
from trialdesk.simulation.responses import responses
from trialdesk.visits import visit_window

if TYPE_CHECKING:
    from trialdesk.protocol import Protocol
    from trialdesk.simulation.delivery import Delivery

ITEM_COLUMNS = ["trial_id", "visit", "instrument", "item", "value"]
ASSESSMENT_COLUMNS = ["trial_id", "visit", "instrument", "assessed_on", "status", "not_done_reason",
                      "in_window"]
VISIT_COLUMNS = ["trial_id", "visit", "target_on", "opens", "closes", "done_on", "in_window", "assessor",
                 "missed_reason"]
#: Items that apply only to participants on medication (IMRS item 13), left blank otherwise.
MEDICATION_ITEMS = {"imrs_client": "13", "imrs_clinician": "13"}
MISSED_REASONS = {"did not attend": 0.4, "could not be contacted": 0.35, "declined the assessment": 0.25}


@dataclass(frozen=True)
class FollowUp:
    visits: pd.DataFrame
    assessments: pd.DataFrame
    items: pd.DataFrame
    guesses: pd.DataFrame
    status_events: pd.DataFrame
    withdrawals: pd.DataFrame
    final_status: dict[str, str]
    ends: dict[str, dt.date]  # death or withdrawal from data collection


def draw_population_latent(participants: pd.DataFrame, protocol: Protocol, rng: np.random.Generator
                           ) -> Latent:
    from trialdesk.simulation.scenario import scenario_from_protocol

    scenario = scenario_from_protocol(protocol)
    visits = [(v.code, v.month, tuple(v.instruments)) for v in protocol.visits]
    model = latent_model(scored_instruments(visits), [(c, m) for c, m, _i in visits], scenario.rho,
                         scenario.rho_followups)
    bipolar = participants["bipolar"].to_numpy(dtype=bool)
    values = draw_latent(model, len(participants), bipolar, scenario.diagnosis_share, rng)
    return Latent(model, tuple(participants["trial_id"]), values)


def _item_rows(trial_ids: np.ndarray, visit: str, instrument: str, codes: tuple[str, ...],
               values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "trial_id": np.repeat(trial_ids, len(codes)), "visit": visit, "instrument": instrument,
        "item": np.tile(np.asarray(codes, dtype=object), len(trial_ids)), "value": values.ravel(),
    })


def _not_applicable(instrument: str, participants: pd.DataFrame) -> dict[str, np.ndarray]:
    item = MEDICATION_ITEMS.get(instrument)
    if item is None or "antipsychotic" not in participants:
        return {}
    off = (participants["antipsychotic"] != "yes") & (participants["mood_stabiliser"] != "yes")
    return {item: off.to_numpy()}


def _responses(instrument: Instrument, scores: np.ndarray, rows: pd.DataFrame, rng: np.random.Generator,
               settings: Settings) -> tuple[tuple[str, ...], np.ndarray]:
    blank = settings.item_missing if instrument.rater == "self" else 0.0
    return responses(instrument, scores, rng, blank_share=blank,
                     not_applicable=_not_applicable(instrument.code, rows))


def baseline_outcomes(participants: pd.DataFrame, latent: Latent, protocol: Protocol,
                      rng: np.random.Generator, settings: Settings | None = None
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(items, assessments) of the baseline visit: every instrument complete for everyone."""
    settings = settings or Settings()
    library = get_library()
    visit = next(v for v in protocol.visits if v.month == 0)
    ids = participants["trial_id"].to_numpy()
    frames, assessed = [], []
    for code in visit.instruments:
        instrument = library.get(code)
        assessed.append(pd.DataFrame({"trial_id": ids, "visit": visit.code, "instrument": code,
                                      "assessed_on": participants["baseline_on"].to_numpy(),
                                      "status": "complete", "not_done_reason": None, "in_window": True}))
        if not instrument.score_names:
            continue  # a form of typed fields (population.baseline_form)
        scores = calibrated_scores(latent.of(ids, code, visit.code), baseline_target(instrument),
                                   instrument, 0.0, None)
        codes, values = _responses(instrument, scores, participants, rng, settings)
        frames.append(_item_rows(ids, visit.code, code, codes, values))
    return pd.concat(frames, ignore_index=True), pd.concat(assessed, ignore_index=True)[ASSESSMENT_COLUMNS]


def _role(protocol: Protocol, arms: pd.Series) -> np.ndarray:
    return np.where(arms.to_numpy() == protocol.intervention.arm, "intervention", "control")


def _visit_date(target: dt.date, opens: dt.date, closes: dt.date, rng: np.random.Generator,
                settings: Settings) -> dt.date:
    if rng.random() < settings.out_of_window:
        if rng.random() < 0.5:
            return opens - dt.timedelta(days=int(rng.integers(3, 30)))
        return closes + dt.timedelta(days=int(rng.integers(3, 45)))
    offset = int(np.clip(rng.normal(0, 10), (opens - target).days, (closes - target).days))
    return target + dt.timedelta(days=offset)


def outcomes_for(participants: pd.DataFrame, protocol: Protocol, rng: np.random.Generator, *,
                 latent: Latent, delivery: Delivery | None = None, settings: Settings | None = None
                 ) -> FollowUp:
    """Follow-up visits of randomised ``participants`` (trial_id, site, arm, group_id, baseline_on,
    randomised_on; medication columns optional), given their allocated arm and IMR group."""
    from trialdesk.simulation.scenario import scenario_from_protocol

    settings = settings or Settings()
    scenario = scenario_from_protocol(protocol)
    library = get_library()
    ids = participants["trial_id"].to_numpy()
    n = ids.size
    role = _role(protocol, participants["arm"])
    arm_size = {r: int((role == r).sum()) for r in ("intervention", "control")}
    follow_ups = [v for v in protocol.visits if v.month > 0]
    anchor = latent.of(ids, ANCHOR, latent.model.visits[0]) if ANCHOR in latent.model.instruments \
        else np.zeros(n)
    propensity = rng.normal(0.0, settings.visit_propensity_sd, n)
    # therapy-group effects (partially nested: only placed intervention participants have one)
    groups = participants["group_id"].where(participants["group_id"].notna() & (role == "intervention"))
    codes = sorted(set(groups.dropna()))
    effect = dict(zip(codes, rng.normal(0.0, np.sqrt(scenario.icc), len(codes)), strict=True))
    group_effect = np.array([effect.get(g, 0.0) if isinstance(g, str) else 0.0 for g in groups])
    grouped = np.array([isinstance(g, str) for g in groups])
    shrink = np.where(grouped, np.sqrt(1 - scenario.icc), 1.0)
    contact: dict[str, dict[str, np.ndarray]] = {}
    done: dict[tuple[str, str], np.ndarray] = {}
    scores: dict[tuple[str, str], np.ndarray] = {}
    for visit in follow_ups:
        instruments = [library.get(c) for c in visit.instruments]
        modes = {"self": [i for i in instruments if i.rater == "self" and i.score_names],
                 "interview": [i for i in instruments if i.rater != "self" and i.score_names]}
        contact[visit.code] = {}
        for mode, members in modes.items():
            attended = np.zeros(n, dtype=bool)
            for r in ("intervention", "control"):
                rows = role == r
                if not rows.any() or not members:
                    continue
                share = {i.code: (follow_up_target(i, visit.code, r, arm_size[r]).n or 0) / arm_size[r]
                         for i in members}
                p_mode = min(max(*share.values(), 0.02), 0.97)
                a = contact_intercept(p_mode, settings.mar_slope, settings.visit_propensity_sd)
                moments = selection_moments(a, settings.mar_slope, settings.visit_propensity_sd)
                chance = special.expit(a + settings.mar_slope * anchor[rows] + propensity[rows])
                attended[rows] = rng.random(int(rows.sum())) < chance
                for instrument in members:
                    key = (visit.code, instrument.code)
                    done.setdefault(key, np.zeros(n, dtype=bool))
                    scores.setdefault(key, np.full(n, np.nan))
                    q = min(share[instrument.code] / p_mode, 1.0)
                    done[key][rows] = attended[rows] & (rng.random(int(rows.sum())) < q)
                    z = latent.of(ids[rows], instrument.code, visit.code)
                    sign = 1.0 if latent.model.loading[latent.model.index(instrument.code)] >= 0 else -1.0
                    z = shrink[rows] * z + sign * group_effect[rows]
                    r_anchor = latent.model.anchor_correlation(instrument.code, visit.code) * shrink[rows]
                    target = follow_up_target(instrument, visit.code, r, arm_size[r])
                    scores[key][rows] = calibrated_scores(z, target, instrument, r_anchor, moments)
            contact[visit.code][mode] = attended
    return _assemble(participants, protocol, rng, settings=settings, follow_ups=follow_ups,
                     contact=contact, done=done, scores=scores, delivery=delivery)


def _last_session(delivery: Delivery | None) -> dict[str, dt.date]:
    if delivery is None or delivery.attendance.empty:
        return {}
    days = delivery.session_dates()
    present = delivery.attendance[delivery.attendance["attended"]]
    last: dict[str, dt.date] = {}
    for trial_id, group, number in zip(present["trial_id"], present["group_id"], present["session_number"],
                                       strict=True):
        on = days[(group, int(number))]
        last[trial_id] = max(last.get(trial_id, on), on)
    return last


def _assemble(participants: pd.DataFrame, protocol: Protocol, rng: np.random.Generator, *,
              settings: Settings, follow_ups: list[Any], contact: dict[str, dict[str, np.ndarray]],
              done: dict[tuple[str, str], np.ndarray], scores: dict[tuple[str, str], np.ndarray],
              delivery: Delivery | None) -> FollowUp:
    from trialdesk.simulation.status import status_events

    library = get_library()
    ids = participants["trial_id"].to_numpy()
    role = _role(protocol, participants["arm"])
    n = ids.size
    assessors = {s.code: [f"{s.code}-assessor-{k}" for k in (1, 2)] for s in protocol.sites}
    visit_rows: list[dict[str, Any]] = []
    dates: dict[str, list[dt.date | None]] = {}
    for visit in follow_ups:
        any_contact = contact[visit.code].get("interview", np.zeros(n, bool)) | \
            contact[visit.code].get("self", np.zeros(n, bool))
        dates[visit.code] = []
        for i, (baseline_on, site) in enumerate(zip(participants["baseline_on"], participants["site"],
                                                    strict=True)):
            window = visit_window(baseline_on, visit)
            day = _visit_date(window.target, window.opens, window.closes, rng, settings) \
                if any_contact[i] else None
            dates[visit.code].append(day)
            visit_rows.append({"trial_id": ids[i], "visit": visit.code, "target_on": window.target,
                               "opens": window.opens, "closes": window.closes, "done_on": day,
                               "in_window": None if day is None else window.contains(day),
                               "assessor": rng.choice(assessors[str(site)])
                               if contact[visit.code].get("interview", np.zeros(n, bool))[i] else None,
                               "missed_reason": None})
    visits = pd.DataFrame(visit_rows, columns=VISIT_COLUMNS)
    status = status_events(participants, protocol, rng, settings=settings, visits=visits,
                           last_session=_last_session(delivery))
    missed = visits["done_on"].isna()
    reasons = np.asarray(list(MISSED_REASONS), dtype=object)[
        rng.choice(len(MISSED_REASONS), size=len(visits), p=list(MISSED_REASONS.values()))]
    ended = [status.ends.get(t) for t in visits["trial_id"]]
    after_end = np.array([e is not None and o >= e for e, o in zip(ended, visits["opens"], strict=True)])
    why = np.where(after_end, np.array([status.end_reasons.get(t) for t in visits["trial_id"]], dtype=object),
                   reasons)
    visits.loc[missed, "missed_reason"] = why[missed.to_numpy()]
    item_frames, assessed = [], []
    missed_reason = dict(zip(zip(visits["trial_id"], visits["visit"], strict=True), visits["missed_reason"],
                             strict=True))
    for visit in follow_ups:
        visit_dates = np.array(dates[visit.code], dtype=object)
        in_window = visits.loc[visits["visit"] == visit.code, "in_window"].to_numpy()
        for code in visit.instruments:
            instrument = library.get(code)
            ok = done.get((visit.code, code), np.zeros(n, dtype=bool))
            reason = np.array([missed_reason[(t, visit.code)] or (
                "questionnaire not returned" if instrument.rater == "self" else "interview not completed")
                for t in ids], dtype=object)
            nothing = np.full(n, None, dtype=object)
            assessed.append(pd.DataFrame({
                "trial_id": ids, "visit": visit.code, "instrument": code,
                "assessed_on": np.where(ok, visit_dates, nothing),
                "status": np.where(ok, "complete", "not_done"),
                "not_done_reason": np.where(ok, nothing, reason),
                "in_window": np.where(ok, in_window, nothing)}))
            if ok.any():
                rows = participants[ok]
                codes, values = _responses(instrument, scores[(visit.code, code)][ok], rows, rng, settings)
                item_frames.append(_item_rows(ids[ok], visit.code, code, codes, values))
    guesses = _guesses(visits, dict(zip(ids, role, strict=True)), protocol, rng, settings=settings)
    withdrawals = pd.DataFrame([{"trial_id": t, "withdrawn_on": on, "scope": "data_collection",
                                 "reason": "withdrew consent to further data collection"}
                                for t, on in status.withdrawn.items()],
                               columns=["trial_id", "withdrawn_on", "scope", "reason"])
    items = pd.concat(item_frames, ignore_index=True) if item_frames else pd.DataFrame(columns=ITEM_COLUMNS)
    return FollowUp(visits, pd.concat(assessed, ignore_index=True), items, guesses, status.events,
                    withdrawals, status.final, status.ends)


def _guesses(visits: pd.DataFrame, arm_of: dict[str, str], protocol: Protocol, rng: np.random.Generator, *,
             settings: Settings) -> pd.DataFrame:
    """Blinded assessors' guesses at every interview: mostly 'dont_know', guesses a bit above chance."""
    intervention = protocol.intervention.arm
    control = next(a.code for a in protocol.arms if a.code != intervention)
    rows = []
    for visit in visits[visits["assessor"].notna()].itertuples(index=False):
        truth = intervention if arm_of[str(visit.trial_id)] == "intervention" else control
        if rng.random() < settings.dont_know:
            guess, confidence = "dont_know", int(rng.choice([1, 2], p=[0.7, 0.3]))
        else:
            right = rng.random() < settings.correct_given_guess
            guess = truth if right else (control if truth == intervention else intervention)
            confidence = int(rng.choice([2, 3, 4, 5], p=[0.3, 0.4, 0.2, 0.1]))
        rows.append({"trial_id": visit.trial_id, "visit": visit.visit, "assessor": visit.assessor,
                     "guess": guess, "confidence": confidence})
    return pd.DataFrame(rows, columns=["trial_id", "visit", "assessor", "guess", "confidence"])
