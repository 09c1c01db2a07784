"""The screened population: eligibility answers, re-screening, consent, baseline characteristics.

People arrive at the protocol's sites (in the sites' recruitment shares) at a steady rate over the
recruitment period, each answering every eligibility criterion of the protocol. A person fails criterion
``c`` with probability :data:`FAILURE` (assumed; unknown codes 2 %); people excluded only by re-screenable
criteria may be screened again later. Eligible people consent or decline (a reason category from the
protocol), consenters complete baseline and are randomised a few weeks after screening. Screening stops
as soon as ``n_participants`` have been randomised, so the trial has exactly that many.

Everyone screened gets a trial id ``PREFIX-0001`` in screening order per site, as the app's registration
does; the frames use the column names of :mod:`trialdesk.datasets` plus the extra columns documented in
:class:`trialdesk.simulation.trial.SimulatedTrial`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trialdesk.errors import UserError
from trialdesk.simulation.calibration import Settings

if TYPE_CHECKING:
    from trialdesk.protocol import Protocol
    from trialdesk.protocol.schema import Criterion

#: Share of screened people failing each criterion (assumed; see calibration.ASSUMED["eligibility"]).
FAILURE: dict[str, float] = {"I1": 0.005, "I2": 0.015, "I3": 0.04, "I4": 0.015, "I5": 0.01,
                             "E1": 0.03, "E2": 0.01, "E3": 0.09, "E4": 0.08, "E5": 0.04, "E6": 0.0}
DEFAULT_FAILURE = 0.02
#: ICD-10 subcodes and their shares among included people (assumed: outpatients, mostly paranoid
#: schizophrenia, bipolar disorder mostly in remission).
SUBCODES: dict[str, dict[str, float]] = {
    "F20": {"F20.0": 0.70, "F20.1": 0.03, "F20.2": 0.01, "F20.3": 0.04, "F20.5": 0.05, "F20.6": 0.02,
            "F20.8": 0.05, "F20.9": 0.10},
    "F31": {"F31.0": 0.02, "F31.1": 0.03, "F31.2": 0.02, "F31.3": 0.12, "F31.4": 0.05, "F31.5": 0.03,
            "F31.6": 0.03, "F31.7": 0.50, "F31.8": 0.05, "F31.9": 0.15},
}
#: Diagnoses of people screened but outside an ICD-10 inclusion criterion.
OTHER_CODES = ("F25.0", "F25.1", "F22.0", "F32.2", "F33.1", "F60.3", "F42.2", "F43.1")
EDUCATION = {"primary": 0.30, "upper_secondary": 0.12, "vocational": 0.25, "short_higher": 0.06,
             "medium_higher": 0.15, "long_higher": 0.07, "other": 0.05}
EMPLOYMENT = {"employed": 0.12, "student": 0.08, "unemployed": 0.10, "sick_leave": 0.08,
              "disability_pension": 0.55, "retired": 0.02, "other": 0.05}
#: Never supported housing: people living there are excluded (E4), and the form has no such choice.
LIVING = {"alone": 0.60, "partner": 0.17, "children": 0.04, "parents": 0.10, "others": 0.05, "other": 0.04}
#: Probability of each medication class by diagnosis level (assumed).
MEDICATION = {
    "schizophrenia": {"antipsychotic": 0.92, "mood_stabiliser": 0.08, "antidepressant": 0.30,
                      "other_psychotropic": 0.25},
    "bipolar": {"antipsychotic": 0.50, "mood_stabiliser": 0.75, "antidepressant": 0.30,
                "other_psychotropic": 0.25},
}
DECLINE_WEIGHTS = {"not_interested": 0.45, "burden": 0.25, "randomisation": 0.20, "other": 0.10}
REFERRALS = ("own clinician", "CMHC team conference", "self-referral after information meeting")
YEAR = 365.25


@dataclass(frozen=True)
class Population:
    """Who was screened and who was randomised (no arm yet), with pre-randomisation status events."""

    screening: pd.DataFrame
    participants: pd.DataFrame
    status_events: pd.DataFrame


@dataclass
class _Draws:
    """Everything drawn for the candidate people, one array entry per person in arrival order."""

    criteria: list[Criterion]
    levels: list[tuple[str, tuple[str, ...]]]
    start: dt.date
    kept: np.ndarray
    site: np.ndarray
    arrival: np.ndarray
    fails: np.ndarray
    second: np.ndarray
    second_at: np.ndarray
    fails_again: np.ndarray
    declines: np.ndarray
    leaves: np.ndarray
    birth: list[dt.date]
    sex: np.ndarray
    level: np.ndarray
    bipolar: np.ndarray
    codes: np.ndarray
    consent_gap: np.ndarray
    baseline_gap: np.ndarray
    randomise_gap: np.ndarray
    decline_reason: np.ndarray
    referral: np.ndarray


def years(born: dt.date, on: dt.date) -> int:
    """Age in whole years on a date, as the CPR birth date gives it."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _pick(rng: np.random.Generator, shares: dict[str, float], size: int) -> np.ndarray:
    keys = list(shares)
    weights = np.array([shares[k] for k in keys])
    return np.asarray(keys, dtype=object)[rng.choice(len(keys), size=size, p=weights / weights.sum())]


def diagnosis_levels(protocol: Protocol) -> list[tuple[str, tuple[str, ...]]]:
    """(level code, ICD-10 prefixes) of the stratification factor read from an ICD-10 criterion."""
    for factor in protocol.stratification:
        if factor.source == "criterion" and factor.levels:
            return [(level.code, tuple(getattr(level, "icd10", ()) or ())) for level in factor.levels]
    return []


def _recruitment_days(protocol: Protocol) -> float:
    last = max(protocol.visits, key=lambda v: v.month)
    follow_up = (last.month + last.window_after_months) * YEAR / 12
    span = (protocol.trial.completion_date - protocol.trial.start_date).days - follow_up - 60
    if span < 30:
        raise UserError("the protocol's dates leave no time to recruit before the last visit")
    return span


def _answer(criterion: Criterion, fails: bool, age: int, code: str) -> Any:
    if criterion.answer_type == "age":
        return age
    if criterion.answer_type == "icd10":
        if criterion.kind == "inclusion":
            return code
        return criterion.icd10[0] if fails else ""
    qualifying = bool(criterion.qualifying_answer)
    return (not qualifying) if fails else qualifying


def _yield(protocol: Protocol, settings: Settings) -> float:
    eligible = float(np.prod([1 - FAILURE.get(c.code, DEFAULT_FAILURE) for c in protocol.eligibility]))
    return eligible * (1 - settings.decline_share) * (1 - settings.lost_before_randomisation)


def simulate_population(protocol: Protocol, n_participants: int, rng: np.random.Generator,
                        settings: Settings | None = None) -> Population:
    """Screen people until exactly ``n_participants`` are randomised (see the module docstring)."""
    from trialdesk.simulation.scenario import scenario_from_protocol

    if n_participants < 2:
        raise UserError(f"a simulated trial needs at least 2 participants (got {n_participants})")
    settings = settings or Settings()
    scenario = scenario_from_protocol(protocol)
    levels = diagnosis_levels(protocol)
    expected_yield = _yield(protocol, settings)
    span = _recruitment_days(protocol)
    m = int(n_participants / expected_yield * 1.4) + 40
    gap = 0.9 * span * expected_yield / n_participants
    arrival = np.cumsum(rng.exponential(gap, m))
    site = rng.choice(len(scenario.site_codes), size=m, p=np.array(scenario.site_shares))
    criteria = list(protocol.eligibility)
    p_fail = np.array([FAILURE.get(c.code, DEFAULT_FAILURE) for c in criteria])
    fails = rng.random((m, len(criteria))) < p_fail
    rescreenable = np.array([c.rescreen_allowed for c in criteria])
    eligible = ~fails.any(axis=1)
    # a second screening for those excluded only by re-screenable criteria
    second = ~eligible & ~(fails & ~rescreenable).any(axis=1) & (rng.random(m) < settings.rescreen_share)
    second_at = arrival + rng.uniform(60, 180, m)
    fails_again = fails & (rng.random((m, len(criteria))) > settings.rescreen_passes)
    eligible_again = second & ~fails_again.any(axis=1)
    final_at = np.where(eligible, arrival, np.where(eligible_again, second_at, np.inf))
    declines = rng.random(m) < settings.decline_share
    leaves = rng.random(m) < settings.lost_before_randomisation
    randomised = np.isfinite(final_at) & ~declines & ~leaves
    order = np.argsort(np.where(randomised, final_at, np.inf), kind="stable")
    if randomised.sum() < n_participants:
        raise UserError("the screening population is too small for the requested participants")
    cutoff = final_at[order[n_participants - 1]]
    randomised &= final_at <= cutoff
    kept = arrival <= cutoff
    second &= second_at <= cutoff
    # people: sex, birth date, diagnosis
    sex = np.where(rng.random(m) < 0.55, "male", "female")
    age = np.clip(rng.normal(37, 11, m), 18, 75).astype(int)
    too_young = fails[:, [c.answer_type == "age" for c in criteria]].any(axis=1) if criteria else np.zeros(m)
    age = np.where(too_young, 17, age)
    start = protocol.trial.start_date
    screened_on = [start + dt.timedelta(days=float(t)) for t in arrival]
    birth = [d - dt.timedelta(days=int(a * YEAR + 5 + u * 350)) for d, a, u in
             zip(screened_on, age, rng.random(m), strict=True)]
    schizophrenia_share = scenario.diagnosis_share
    bipolar = rng.random(m) >= schizophrenia_share
    level = np.where(bipolar, 1, 0) if len(levels) >= 2 else np.zeros(m, dtype=int)
    codes = np.empty(m, dtype=object)
    for index, (_code, prefixes) in enumerate(levels or [("all", ())]):
        rows = np.flatnonzero(level == index)
        prefix = prefixes[0] if prefixes else ""
        table = SUBCODES.get(prefix, {f"{prefix}.9": 1.0} if prefix else {"F20.0": 1.0})
        codes[rows] = _pick(rng, table, rows.size)
    icd_fail = np.array([c.answer_type == "icd10" and c.kind == "inclusion" for c in criteria])
    other_dx = fails[:, icd_fail].any(axis=1) if icd_fail.any() else np.zeros(m, dtype=bool)
    others = np.asarray(OTHER_CODES, dtype=object)
    codes[other_dx] = others[rng.integers(len(others), size=int(other_dx.sum()))]
    consent_gap = rng.uniform(0, 14, m)
    baseline_gap = rng.uniform(3, 21, m)
    randomise_gap = rng.uniform(1, 7, m)
    decline_reason = _pick(rng, {r.code: DECLINE_WEIGHTS.get(r.code, 1.0)
                                 for r in protocol.consent.decline_reasons}, m)
    referral = np.asarray(REFERRALS, dtype=object)[rng.integers(len(REFERRALS), size=m)]
    draws = _Draws(criteria, levels, start, kept, site, arrival, fails, second, second_at, fails_again,
                   declines, leaves, birth, sex, level, bipolar, codes, consent_gap, baseline_gap,
                   randomise_gap, decline_reason, referral)
    return _frames(protocol, draws, rng)


def _frames(protocol: Protocol, v: _Draws, rng: np.random.Generator) -> Population:
    """Screening rows, participants and status events from the drawn arrays (kept people only)."""
    from trialdesk.simulation.scenario import scenario_from_protocol

    site_codes = scenario_from_protocol(protocol).site_codes
    prefixes = {s.code: s.prefix for s in protocol.sites}
    criteria = v.criteria
    start = v.start
    counters = dict.fromkeys(site_codes, 0)
    records: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []

    def day(t: float) -> dt.date:
        return start + dt.timedelta(days=float(t))

    def event(trial_id: str, screening_id: str | None, old: str | None, new: str, *, on: dt.date,
              reason: str = "") -> None:
        events.append({"trial_id": trial_id, "screening_id": screening_id, "from_state": old,
                       "to_state": new, "on": on, "reason": reason or None})

    for i in np.flatnonzero(v.kept):
        site = site_codes[v.site[i]]
        counters[site] += 1
        trial_id = f"{prefixes[site]}-{counters[site]:04d}"
        first = {"fails": v.fails[i], "at": v.arrival[i], "of": None}
        visits = [first]
        if v.second[i]:
            visits.append({"fails": v.fails_again[i], "at": v.second_at[i], "of": None})
        for number, screen in enumerate(visits):
            screening_id = f"SCR-{len(records) + 1:05d}"
            if number:
                screen["of"] = records[-1]["screening_id"]
                event(trial_id, screening_id, "ineligible", "screened", on=day(screen["at"]),
                      reason=f"re-screening after {records[-1]['reasons']}")
            else:
                event(trial_id, screening_id, None, "screened", on=day(screen["at"]))
            failed = [c.code for c, f in zip(criteria, screen["fails"], strict=True) if f]
            eligible = not failed
            age_then = years(v.birth[i], day(screen["at"]))
            answers = {c.code: _answer(c, bool(f), age_then, str(v.codes[i]))
                       for c, f in zip(criteria, screen["fails"], strict=True)}
            row = {"screening_id": screening_id, "site": site, "screened_on": day(screen["at"]),
                   "eligible": eligible, "reasons": ";".join(failed) or None,
                   "rescreen_of": screen["of"], "consented": None, "decline_reason": None,
                   "trial_id": trial_id, "birth_date": v.birth[i], "sex": v.sex[i],
                   "referral_source": v.referral[i], "answers": answers}
            records.append(row)
            event(trial_id, screening_id, "screened", "eligible" if eligible else "ineligible",
                  on=day(screen["at"]), reason="; ".join(failed))
            if not eligible:
                continue
            consent_on = day(screen["at"] + v.consent_gap[i])
            if v.declines[i]:
                row["consented"] = False
                row["decline_reason"] = v.decline_reason[i]
                event(trial_id, screening_id, "eligible", "declined", on=consent_on,
                      reason=str(v.decline_reason[i]))
                continue
            row["consented"] = True
            event(trial_id, screening_id, "eligible", "consented", on=consent_on)
            if v.leaves[i]:
                event(trial_id, screening_id, "consented", "withdrawn",
                      on=consent_on + dt.timedelta(days=int(v.baseline_gap[i])),
                      reason="withdrew consent before randomisation")
                continue
            baseline_on = consent_on + dt.timedelta(days=int(v.baseline_gap[i]))
            randomised_on = baseline_on + dt.timedelta(days=int(v.randomise_gap[i]))
            event(trial_id, screening_id, "consented", "baseline_complete", on=baseline_on)
            event(trial_id, screening_id, "baseline_complete", "randomised", on=randomised_on)
            people.append({"trial_id": trial_id, "site": site, "screening_id": screening_id,
                           "baseline_on": baseline_on, "randomised_on": randomised_on,
                           **_characteristics(int(i), baseline_on, v, rng)})
    participants = pd.DataFrame(people)
    return Population(pd.DataFrame(records), participants, pd.DataFrame(events))


def _characteristics(i: int, baseline_on: dt.date, v: _Draws, rng: np.random.Generator) -> dict[str, Any]:
    """Baseline characteristics of person ``i`` (columns of the participants table)."""
    age = years(v.birth[i], baseline_on)
    diagnosis = v.levels[int(v.level[i])][0] if v.levels else "all"
    onset = float(np.clip(rng.normal(24, 6), 12, age))
    medication = MEDICATION.get(diagnosis, MEDICATION["schizophrenia"])
    return {
        "diagnosis": diagnosis, "arm": None, "status": "randomised", "age": float(age), "sex": v.sex[i],
        "icd10": v.codes[i], "years_since_first_contact": float(int(age - onset)),
        "education": _pick(rng, EDUCATION, 1)[0], "employment": _pick(rng, EMPLOYMENT, 1)[0],
        "living": _pick(rng, LIVING, 1)[0], "group_id": None, "withdrawn_on": None,
        "withdrawal_scope": None, "birth_date": v.birth[i], "bipolar": bool(v.bipolar[i]),
        **{name: "yes" if rng.random() < share else "no" for name, share in medication.items()},
    }


def baseline_form(participants: pd.DataFrame) -> pd.DataFrame:
    """The ``baseline`` instrument's fields per participant, long: trial_id, item, value (text/number)."""
    fields = {"age": "age", "sex": "sex", "diagnosis": "icd10",
              "years_since_first_contact": "years_since_first_contact", "education": "education",
              "employment": "employment", "living_situation": "living", "antipsychotic": "antipsychotic",
              "mood_stabiliser": "mood_stabiliser", "antidepressant": "antidepressant",
              "other_psychotropic": "other_psychotropic"}
    rows = [{"trial_id": p["trial_id"], "item": item, "value": int(p[column]) if item in
             ("age", "years_since_first_contact") else p[column]}
            for p in participants.to_dict("records") for item, column in fields.items()]
    return pd.DataFrame(rows, columns=["trial_id", "item", "value"])
