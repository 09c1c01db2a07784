"""The simulated trial is internally consistent: valid responses, a legal status pipeline, groups within
capacity, attendance only while a member, register events inside follow-up, reproducible seeds.

A small trial (80 participants) keeps these fast; calibration is tested in test_simulation_trial_calibration.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from trialdesk import datasets
from trialdesk.apps.participants.status import TRANSITIONS, State
from trialdesk.instruments import check_responses, get_library, score
from trialdesk.protocol import load_protocol
from trialdesk.simulation.delivery import deliver
from trialdesk.simulation.followup import baseline_outcomes, draw_population_latent, outcomes_for
from trialdesk.simulation.population import simulate_population
from trialdesk.simulation.registers import follow_up_end
from trialdesk.simulation.trial import allocate, simulate_trial
from trialdesk.visits import visit_window


@pytest.fixture(scope="module")
def protocol():
    return load_protocol()


@pytest.fixture(scope="module")
def trial(protocol):
    return simulate_trial(protocol, n_participants=80, seed=5)


def test_every_response_is_scored_by_the_instrument_library(trial):
    items, assessments = trial.items, trial.assessments
    library = get_library()
    responses: dict[tuple[str, str, str], dict[str, float]] = {}
    for trial_id, visit, instrument, item, value in zip(*(items[c].tolist() for c in datasets.TABLES[
            "items"].column_names), strict=True):
        responses.setdefault((trial_id, visit, instrument), {})[item] = value
    complete = assessments[assessments["status"] == "complete"]
    scored = 0
    for key in zip(complete["trial_id"], complete["visit"], complete["instrument"], strict=True):
        instrument = library.get(key[2])
        if not instrument.score_names:
            continue
        values = responses[key]
        total = score(instrument, values).values["total"]
        assert total is not None
        given = [values[c] for c in instrument.scored_items]
        if not np.isnan(given).any() and instrument.scoring.method == "sum":
            assert total == sum(given)
        scored += 1
    assert scored == len(responses)  # items exist only for complete assessments, and for every one
    not_done = assessments[assessments["status"] == "not_done"]
    assert not_done["not_done_reason"].notna().all() and not_done["assessed_on"].isna().all()
    audit = items[(items["instrument"] == "audit") & items["item"].isin(["9", "10"])]
    assert set(audit["value"].dropna()) <= {0, 2, 4}


def test_baseline_form_is_valid_and_plausible(trial):
    form = trial.baseline_form
    for trial_id, frame in form.groupby("trial_id"):
        values = check_responses("baseline", dict(zip(frame["item"], frame["value"], strict=True)))
        assert values["age"] >= 18, trial_id
        assert values["years_since_first_contact"] <= values["age"]
        assert values["diagnosis"][:3] in {"F20", "F31"}
    participants = trial.participants
    assert set(participants["living"]) <= {"alone", "partner", "children", "parents", "others", "other"}
    for row in participants.itertuples(index=False):
        assert row.icd10.startswith("F20" if row.diagnosis == "schizophrenia" else "F31")
        assert row.stratum == f"site={row.site}|diagnosis={row.diagnosis}"


def test_screening_answers_give_the_recorded_verdict(trial, protocol):
    criteria = {c.code: c for c in protocol.eligibility}
    for row in trial.screening.itertuples(index=False):
        failed = []
        for code, answer in row.answers.items():
            criterion = criteria[code]
            if criterion.answer_type == "age":
                passes = answer >= criterion.minimum
                born = row.birth_date
                on = row.screened_on
                assert answer == on.year - born.year - ((on.month, on.day) < (born.month, born.day))
            elif criterion.answer_type == "icd10":
                hit = bool(answer) and answer[:3] in criterion.icd10
                passes = hit if criterion.kind == "inclusion" else not hit
            else:
                passes = answer is criterion.qualifying_answer
            if not passes:
                failed.append(code)
        assert ";".join(failed) == (row.reasons if isinstance(row.reasons, str) else "")
        assert row.eligible == (not failed)
    rescreens = trial.screening[trial.screening["rescreen_of"].notna()]
    earlier = trial.screening.set_index("screening_id")
    for row in rescreens.itertuples(index=False):
        first = earlier.loc[row.rescreen_of]
        assert first["trial_id"] == row.trial_id and first["screened_on"] < row.screened_on
        assert set(first["reasons"].split(";")) <= {c for c, k in criteria.items() if k.rescreen_allowed}


def test_status_events_follow_the_participant_pipeline(trial):
    events = trial.status_events
    for trial_id, frame in events.groupby("trial_id", sort=False):
        state = None
        for row in frame.itertuples(index=False):
            assert (row.from_state if isinstance(row.from_state, str) else None) == state, (trial_id, row)
            if state is not None:
                assert State(row.to_state) in TRANSITIONS[State(state)], (trial_id, state, row.to_state)
            state = row.to_state
        if trial_id in set(trial.participants["trial_id"]):
            final = trial.participants.set_index("trial_id").loc[trial_id, "status"]
            assert state == final
    dates = events.groupby("trial_id")["on"].apply(lambda s: (s.diff().dropna() >= pd.Timedelta(0)).all()
                                                   if pd.api.types.is_datetime64_any_dtype(s) else
                                                   all(a <= b for a, b in zip(s, s.iloc[1:], strict=False)))
    assert dates.all()


def test_groups_fill_within_capacity_and_hold_only_the_intervention_arm(trial, protocol):
    spec = protocol.intervention
    memberships = trial.memberships.merge(trial.participants[["trial_id", "arm", "site"]], on="trial_id")
    assert set(memberships["arm"]) == {spec.arm}
    sizes = memberships.groupby("group_id").size()
    assert sizes.max() <= spec.participants_per_group
    assert (memberships["site"] == memberships["group_id"].str.split("-").str[0]).all()
    held = trial.sessions[trial.sessions["held"]].groupby("group_id").size()
    assert held.between(spec.sessions_min, spec.sessions_max).all()
    placed = trial.participants.dropna(subset=["group_id"])
    assert (placed["arm"] == spec.arm).all()


def test_attendance_only_for_held_sessions_while_a_member(trial):
    sessions = trial.sessions[trial.sessions["held"]]
    merged = trial.attendance.merge(sessions, on=["group_id", "session_number"], how="left",
                                    validate="many_to_one")
    assert merged["scheduled_on"].notna().all()  # every attendance row is a held session
    merged = merged.merge(trial.memberships, on=["trial_id", "group_id"], how="left")
    assert merged["joined_on"].notna().all()  # of the participant's own group
    assert (merged["scheduled_on"] >= merged["joined_on"]).all()
    left = merged["left_on"].notna()
    assert (merged.loc[left, "scheduled_on"] <= merged.loc[left, "left_on"]).all()
    assert not merged.duplicated(["trial_id", "group_id", "session_number"]).any()


def test_modules_are_covered_in_curriculum_order(trial, protocol):
    order = {m.code: m.number for m in protocol.intervention.modules}
    for _group, frame in trial.sessions[trial.sessions["held"]].groupby("group_id"):
        numbers = [[order[c] for c in modules.split(";")] for modules in frame.sort_values("slot")["modules"]]
        flat = [n for session in numbers for n in session]
        assert flat == sorted(flat)
        assert set(flat) == set(order.values())


def test_fidelity_ratings_are_valid_and_some_double_rated(trial):
    fidelity = trial.fidelity
    for row in fidelity.itertuples(index=False):
        items = {str(i + 1): int(v) for i, v in enumerate(row.items.split(";"))}
        assert score("imr_fidelity", items).values["total"] == pytest.approx(row.score)
    doubles = fidelity[fidelity["double_of"].notna()]
    assert len(doubles) >= 1
    first = fidelity.set_index("rating_id")
    for row in doubles.itertuples(index=False):
        original = first.loc[row.double_of]
        assert original["group_id"] == row.group_id and original["rated_on"] == row.rated_on
        assert original["rater"] != row.rater
    per_group = fidelity[fidelity["double_of"].isna()].groupby("group_id").size()
    assert per_group.between(2, 3).all()
    assert 3.0 <= fidelity["score"].mean() <= 4.2


def test_register_events_lie_inside_follow_up(trial, protocol):
    events = trial.register_events.merge(trial.participants[["trial_id", "baseline_on"]], on="trial_id")
    ends = dict(zip(trial.withdrawals.loc[trial.withdrawals["scope"] != "intervention", "trial_id"],
                    trial.withdrawals.loc[trial.withdrawals["scope"] != "intervention", "withdrawn_on"],
                    strict=True))
    died = trial.status_events[trial.status_events["to_state"] == "died"]
    ends.update(zip(died["trial_id"], died["on"], strict=True))
    for row in events.itertuples(index=False):
        last = follow_up_end(row.baseline_on, protocol, ends.get(row.trial_id))
        assert row.baseline_on <= row.start_date <= row.end_date <= last
        if row.event != "admission":
            assert row.start_date == row.end_date
    stays = events[events["event"] == "admission"].sort_values(["trial_id", "start_date"])
    for _tid, frame in stays.groupby("trial_id"):
        assert (frame["start_date"].iloc[1:].to_numpy() > frame["end_date"].iloc[:-1].to_numpy()).all()
    assert set(events["event"]) == {"admission", "er_visit", "outpatient_contact"}
    counts = trial.register
    first_period = counts.groupby("trial_id").head(1)
    assert (first_period["followup_days"] > 0).all() and (counts["followup_days"] >= 0).all()
    per_year = counts["outpatient_contacts"].sum() / counts["followup_days"].sum() * 365.25
    assert 10 <= per_year <= 35  # 20 a year assumed


def test_visits_dates_windows_and_guesses(trial, protocol):
    visits = trial.visits.merge(trial.participants[["trial_id", "baseline_on"]], on="trial_id")
    follow = visits[visits["visit"] != "baseline"]
    done = follow[follow["done_on"].notna()]
    for row in done.itertuples(index=False):
        window = visit_window(row.baseline_on, protocol.visit(row.visit))
        assert row.in_window == window.contains(row.done_on)
    assert follow.loc[follow["done_on"].isna(), "missed_reason"].notna().all()
    guesses = trial.guesses
    assert set(guesses["guess"]) <= {"IMR", "TAU", "dont_know"}
    assert guesses["confidence"].between(1, 5).all()
    interviews = follow[follow["assessor"].notna()]
    assert len(guesses) == len(interviews)
    share = (guesses["guess"] == "dont_know").mean()
    assert 0.45 <= share <= 0.85  # 65 % assumed; binomial SD at n ~ 90 is 0.05


def test_frames_fit_the_analysis_table_contract(trial):
    for name, frame in (("screening", trial.screening), ("participants", trial.participants),
                        ("status_events", trial.status_events), ("items", trial.items),
                        ("scores", trial.scores), ("dose", trial.dose), ("fidelity", trial.fidelity),
                        ("guesses", trial.guesses), ("register", trial.register)):
        checked = datasets.check(name, frame)
        assert len(checked) == len(frame)


def test_same_seed_same_trial_other_seed_another(protocol):
    first = simulate_trial(protocol, n_participants=30, seed=11)
    again = simulate_trial(protocol, n_participants=30, seed=11)
    other = simulate_trial(protocol, n_participants=30, seed=12)
    for name in ("screening", "participants", "items", "assessments", "attendance", "register_events",
                 "guesses", "status_events"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(again, name))
    assert not first.items["value"].equals(other.items["value"])
    assert first.seed == 11 and first.algorithm == "trialdesk.simulation.trial/1"
    from_rng = simulate_trial(protocol, n_participants=30, rng=np.random.default_rng(3))
    assert from_rng.seed is None and len(from_rng.participants) == 30


def test_steps_accept_arms_from_outside(protocol):
    """The demo path: arms come from the allocation service, not from the generator."""
    rng = np.random.default_rng(21)
    population = simulate_population(protocol, 40, rng)
    participants = population.participants.copy()
    latent = draw_population_latent(participants, protocol, rng)
    items, assessments = baseline_outcomes(participants, latent, protocol, rng)
    assert set(assessments["status"]) == {"complete"}
    assert set(items["visit"]) == {"baseline"} and set(items["trial_id"]) == set(participants["trial_id"])
    participants["arm"] = np.where(np.arange(40) < 20, "IMR", "TAU")  # any allocation
    delivery = deliver(participants, protocol, rng)
    participants["group_id"] = participants["trial_id"].map(delivery.placements)
    assert set(participants.loc[participants["group_id"].notna(), "arm"]) == {"IMR"}
    follow = outcomes_for(participants, protocol, rng, latent=latent, delivery=delivery)
    assert set(follow.final_status) == set(participants["trial_id"])
    assert len(follow.assessments) == 40 * sum(len(v.instruments) for v in protocol.visits if v.month > 0)
    arms, allocation = allocate(participants, protocol, seed=1)
    balance = pd.crosstab(participants["site"] + participants["diagnosis"], arms)
    assert (balance["IMR"] - balance["TAU"]).abs().max() <= max(protocol.randomisation.block_sizes) // 2
    assert allocation.info.seed == 1


def test_deaths_and_withdrawals_come_after_last_contact(trial):
    ends = trial.status_events[trial.status_events["to_state"].isin(["died", "withdrawn"])]
    ends = ends[ends["trial_id"].isin(trial.participants["trial_id"])]
    for row in ends.itertuples(index=False):
        done = trial.visits[(trial.visits["trial_id"] == row.trial_id) & trial.visits["done_on"].notna()]
        assert (done["done_on"] < row.on).all()
        sessions = trial.attendance[trial.attendance["trial_id"] == row.trial_id].merge(
            trial.sessions, on=["group_id", "session_number"])
        assert (sessions["scheduled_on"] < row.on).all()
        assert isinstance(row.on, dt.date)
