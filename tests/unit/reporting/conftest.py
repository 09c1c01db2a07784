"""A small synthetic IMR-like trial in the shape of ``trialdesk.datasets.TABLES``, for report tests.

Not a calibrated simulation (that is ``trialdesk.simulation``'s job): just every table filled with
plausible, internally consistent rows, so each report section has something to draw.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from trialdesk import datasets

ARMS = ("IMR", "TAU")
SITES = ("BAL", "FRB")
INSTRUMENTS = {  # code: (mean, sd, lo, hi, effect of IMR, has baseline)
    "gaf_f": (41.0, 12.0, 1, 100, 2.0, True),
    "gaf_s": (44.0, 13.0, 1, 100, 1.0, True),
    "panss": (62.0, 17.0, 30, 210, -2.0, True),
    "ashs": (31.0, 9.0, 6, 48, 0.5, True),
    "csq8": (24.5, 4.5, 8, 32, 0.0, False),
}
VISITS = (("baseline", 0), ("m9", 9), ("m21", 21))
START = dt.date(2011, 3, 1)


def make_tables(n: int = 40, seed: int = 7) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    screening, participants, events, scores, dose, register, guesses = [], [], [], [], [], [], []
    counter = dict.fromkeys(SITES, 0)
    sid = 0
    randomised = 0
    while randomised < n:
        sid += 1
        site = SITES[sid % 2]
        on = START + dt.timedelta(days=int(sid * 540 / (1.6 * n)))
        screening_id = f"S{sid:04d}"
        roll = rng.random()
        row = {
            "screening_id": screening_id,
            "site": site,
            "screened_on": on,
            "eligible": True,
            "reasons": None,
            "rescreen_of": None,
            "consented": True,
            "decline_reason": None,
            "trial_id": None,
        }
        events.append(
            {
                "trial_id": None,
                "screening_id": screening_id,
                "from_state": None,
                "to_state": "screened",
                "on": on,
                "reason": None,
            }
        )
        if roll < 0.18:
            row.update(
                eligible=False, reasons=str(rng.choice(["E3", "E4", "I3", "E4;E5", "E1"])), consented=None
            )
            screening.append(row)
            if row["reasons"] == "E3" and rng.random() < 0.5:  # re-screened once the abuse is under control
                sid += 1
                screening.append(
                    {
                        **row,
                        "screening_id": f"S{sid:04d}",
                        "rescreen_of": screening_id,
                        "screened_on": on + dt.timedelta(days=60),
                        "eligible": False,
                        "reasons": "E3",
                    }
                )
            continue
        if roll < 0.28:
            row.update(
                consented=False, decline_reason=str(rng.choice(["not_interested", "burden", "randomisation"]))
            )
            screening.append(row)
            continue
        counter[site] += 1
        trial_id = f"{site}-{counter[site]:04d}"
        row["trial_id"] = trial_id
        screening.append(row)
        events.extend(
            {
                "trial_id": trial_id,
                "screening_id": screening_id,
                "from_state": None,
                "to_state": state,
                "on": on,
                "reason": None,
            }
            for state in ("eligible", "consented", "baseline_complete")
        )
        if roll < 0.31:  # consented, never randomised
            events.append(
                {
                    "trial_id": trial_id,
                    "screening_id": screening_id,
                    "from_state": "baseline_complete",
                    "to_state": "withdrawn",
                    "on": on + dt.timedelta(days=5),
                    "reason": "changed mind",
                }
            )
            participants.append(_participant(rng, trial_id, site, None, on=on, status="withdrawn"))
            continue
        randomised += 1
        arm = ARMS[int(rng.random() < 0.5)]
        r_on = on + dt.timedelta(days=14)
        events.append(
            {
                "trial_id": trial_id,
                "screening_id": screening_id,
                "from_state": "baseline_complete",
                "to_state": "randomised",
                "on": r_on,
                "reason": None,
            }
        )
        end_roll = rng.random()
        status, scope, last_visit = "completed", None, 21
        if end_roll < 0.12:
            status, last_visit = "lost", 0
            reason = str(rng.choice(["could not be contacted", "moved away"]))
        elif end_roll < 0.17:
            status, scope, last_visit, reason = "withdrawn", "data_collection", 9, "data_collection"
        elif end_roll < 0.19:
            status, scope, last_visit, reason = "withdrawn", "all_data", 0, "all_data"
        elif end_roll < 0.24 and arm == "IMR":
            status, scope, last_visit, reason = "completed", "intervention", 21, None
        elif end_roll < 0.26:
            status, last_visit, reason = "died", 9, "died"
        else:
            reason = None
        events.append(
            {
                "trial_id": trial_id,
                "screening_id": screening_id,
                "from_state": "randomised",
                "to_state": status,
                "on": r_on + dt.timedelta(days=30 * (last_visit + 3)),
                "reason": reason,
            }
        )
        p = _participant(rng, trial_id, site, arm, on=on, status=status)
        p["withdrawal_scope"] = scope
        if arm == "IMR":
            p["group_id"] = f"{site}-G{1 + counter[site] // 8}"
        participants.append(p)
        person = rng.normal(0, 1)
        for instrument, (mean, sd, lo, hi, effect, baseline) in INSTRUMENTS.items():
            for visit, month in VISITS:
                if (
                    (visit == "baseline" and not baseline)
                    or month > last_visit
                    or (status == "withdrawn" and scope == "all_data")
                ):
                    continue
                observed = visit == "baseline" or rng.random() > 0.15
                shift = effect * (month > 0) * (arm == "IMR") + 0.2 * month
                value = float(
                    np.clip(round(mean + shift + sd * (0.6 * person + 0.8 * rng.normal()), 0), lo, hi)
                )
                scores.append(
                    {
                        "trial_id": trial_id,
                        "visit": visit,
                        "instrument": instrument,
                        "score": "total",
                        "value": value if observed else None,
                        "assessed_on": on + dt.timedelta(days=30 * month) if observed else None,
                        "in_window": observed,
                        "not_done_reason": None if observed else "refused",
                    }
                )
        if arm == "IMR":
            offered = int(rng.integers(36, 41))
            attended = 0 if rng.random() < 0.1 else int(rng.binomial(offered, 0.6))
            dose.append(
                {
                    "trial_id": trial_id,
                    "group_id": p["group_id"],
                    "sessions_offered": offered,
                    "sessions_attended": attended,
                    "attendance": attended / offered,
                    "modules_covered": min(11, attended // 3),
                    "weeks_in_group": 39.0,
                    "completer": attended / offered >= 0.5,
                }
            )
        for period, days in (("baseline-m9", 270.0), ("m9-m21", 365.0)):
            register.append(
                {
                    "trial_id": trial_id,
                    "period": period,
                    "admissions": int(rng.poisson(0.4)),
                    "bed_days": int(rng.poisson(6)),
                    "er_visits": int(rng.poisson(0.5)),
                    "outpatient_contacts": int(rng.poisson(12)),
                    "followup_days": days,
                }
            )
        if last_visit >= 9:
            guess = str(rng.choice([arm, "dont_know", ARMS[1 - ARMS.index(arm)]], p=[0.35, 0.45, 0.2]))
            guesses.append(
                {
                    "trial_id": trial_id,
                    "visit": "m9",
                    "assessor": f"R{1 + randomised % 3}",
                    "guess": guess,
                    "confidence": int(rng.integers(1, 6)),
                }
            )
    fidelity = []
    groups = sorted({p["group_id"] for p in participants if p.get("group_id")})
    rid = 0
    for g in groups:
        for k in range(3):
            rid += 1
            items = np.clip(np.round(rng.normal(3.4 + 0.3 * k, 0.7, 13)), 1, 5).astype(int)
            rating = {
                "rating_id": f"F{rid:03d}",
                "group_id": g,
                "site": g[:3],
                "rater": "FR1",
                "rated_on": START + dt.timedelta(days=200 + 120 * k + rid),
                "double_of": None,
                "score": float(items.mean()),
                "items": ";".join(map(str, items)),
            }
            fidelity.append(rating)
            if k == 1:
                rid += 1
                items2 = np.clip(items + rng.integers(-1, 2, 13), 1, 5)
                fidelity.append(
                    {
                        **rating,
                        "rating_id": f"F{rid:03d}",
                        "rater": "FR2",
                        "double_of": rating["rating_id"],
                        "score": float(items2.mean()),
                        "items": ";".join(map(str, items2)),
                    }
                )
    items_rows = [
        {
            "trial_id": s["trial_id"],
            "visit": s["visit"],
            "instrument": s["instrument"],
            "item": "1",
            "value": s["value"],
        }
        for s in scores[:5]
    ]
    frames = {
        "screening": pd.DataFrame(screening),
        "participants": pd.DataFrame(participants),
        "status_events": pd.DataFrame(events),
        "scores": pd.DataFrame(scores),
        "items": pd.DataFrame(items_rows),
        "dose": pd.DataFrame(dose),
        "register": pd.DataFrame(register),
        "guesses": pd.DataFrame(guesses),
        "fidelity": pd.DataFrame(fidelity),
    }
    out = {}
    for name, frame in frames.items():
        for column in datasets.TABLES[name].column_names:
            if column not in frame.columns:
                frame[column] = None
        out[name] = datasets.check(name, frame)
    return out


def _participant(
    rng: np.random.Generator, trial_id: str, site: str, arm: str | None, *, on: dt.date, status: str
) -> dict:
    diagnosis = str(rng.choice(["schizophrenia", "bipolar"], p=[0.7, 0.3]))
    return {
        "trial_id": trial_id,
        "site": site,
        "diagnosis": diagnosis,
        "arm": arm,
        "randomised_on": on + dt.timedelta(days=14) if arm else None,
        "baseline_on": on + dt.timedelta(days=7),
        "status": status,
        "age": float(round(rng.normal(37, 11), 1)),
        "sex": str(rng.choice(["female", "male"])),
        "icd10": "F20" if diagnosis == "schizophrenia" else "F31",
        "years_since_first_contact": float(round(rng.gamma(2.0, 4.0), 1)),
        "education": str(rng.choice(["primary", "secondary", "higher"])),
        "employment": str(rng.choice(["employed", "unemployed", "pension"], p=[0.15, 0.35, 0.5])),
        "living": str(rng.choice(["alone", "with others"])),
        "group_id": None,
        "withdrawn_on": None,
        "withdrawal_scope": None,
    }


def make_results(arms: tuple[str, str] = ARMS) -> dict:
    """Analysis results in the shape of ``reporting.results_schema.AnalysisResults`` (made-up numbers)."""
    a, b = arms

    def estimate(outcome: str, visit: str, numbers: tuple[float, float, float, float, float]) -> dict:
        est, half, p, ma, mb = numbers
        return {
            "outcome": outcome,
            "visit": visit,
            "estimate": est,
            "ci_low": est - half,
            "ci_high": est + half,
            "p": p,
            "contrast": [a, b],
            "model": "mmrm",
            "means": {a: {"mean": ma, "se": 1.4}, b: {"mean": mb, "se": 1.4}},
        }

    return {
        "primary": {**estimate("gaf_f_m9", "m9", (1.9, 3.9, 0.34, 45.4, 43.5)), "model": "pnm"},
        "secondary": [
            estimate("gaf_f_m21", "m21", (0.8, 3.9, 0.67, 50.6, 49.8)),
            estimate("panss", "m9", (-2.9, 6.0, 0.34, 57.5, 60.4)),
            estimate("panss", "m21", (3.7, 5.1, 0.15, 56.5, 52.8)),
            {
                "outcome": "admissions",
                "visit": "m9",
                "estimate": 0.82,
                "ci_low": 0.55,
                "ci_high": 1.22,
                "p": 0.33,
                "scale": "ratio",
                "contrast": [a, b],
                "model": "nb",
            },
        ],
        "sensitivity": [
            {**estimate("gaf_f_m9", "m9", (2.2, 4.1, 0.29, 45.6, 43.4)), "analysis": "complete_case"},
            {**estimate("gaf_f_m9", "m9", (0.4, 4.4, 0.86, 44.9, 44.5)), "analysis": "best_worst"},
        ],
        "blinding_index": {
            "bang": {
                a: {"estimate": 0.12, "ci_low": -0.05, "ci_high": 0.29},
                b: {"estimate": -0.04, "ci_low": -0.2, "ci_high": 0.12},
            },
            "james": {"estimate": 0.71, "ci_low": 0.62, "ci_high": 0.8},
        },
        "provenance": {
            "snapshot_hash": "ab12" * 16,
            "protocol_hash": "cd34" * 16,
            "trialdesk_version": "0.1.0",
            "packages": {"numpy": "2.4.6", "pandas": "3.1.1"},
            "seeds": {"mi": 20110228},
        },
    }


@pytest.fixture(scope="session")
def trial_tables() -> dict[str, pd.DataFrame]:
    return make_tables()


@pytest.fixture(scope="session")
def trial_results() -> dict:
    return make_results()


@pytest.fixture(scope="session")
def trial():
    from trialdesk.protocol import load_protocol
    from trialdesk.reporting.trialinfo import from_protocol

    return from_protocol(load_protocol())


@pytest.fixture(scope="session")
def open_html(trial_tables, trial_results, trial) -> str:
    from trialdesk.reporting import render_html

    return render_html(trial_tables, trial_results, closed=False, trial=trial)


@pytest.fixture(scope="session")
def closed_html(trial_tables, trial_results, trial) -> str:
    from trialdesk.reporting import render_html

    return render_html(trial_tables, trial_results, closed=True, trial=trial)
