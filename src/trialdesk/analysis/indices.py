"""Blinding indices from the assessors' guesses and inter-rater agreement of the fidelity ratings."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trialdesk.analysis.estimability import NotEstimable
from trialdesk.analysis.frames import ARM, ID, Arms
from trialdesk.stats import blinding_indices, guess_table, icc

DONT_KNOW = "dont_know"


def _interval(row: pd.Series) -> dict[str, Any]:
    return {
        "estimate": float(row["estimate"]),
        "ci_low": float(row["ci_low"]),
        "ci_high": float(row["ci_high"]),
        "se": float(row["se"]),
        "n": int(row["n"]),
    }


def blinding_index(guesses: pd.DataFrame | None, frame: pd.DataFrame, arms: Arms) -> dict[str, Any]:
    """Bang's index per arm and James' index over every recorded guess (all visits)."""
    if guesses is None or guesses.empty:
        raise NotEstimable("no assessor has recorded a guess of allocation")
    arm_of = dict(zip(frame[ID], frame[ARM], strict=True))
    data = pd.DataFrame(
        {ARM: guesses["trial_id"].astype(str).map(arm_of), "guess": guesses["guess"].astype(str)}
    ).dropna(subset=[ARM])
    if data.empty:
        raise NotEstimable("no recorded guess is about a participant in the analysis")
    counts = guess_table(data, ARM, "guess", arms.treated, control=arms.control, dont_know=DONT_KNOW)
    table = blinding_indices(counts, arms=(arms.treated, arms.control))
    bang = {str(r["arm"]): _interval(r) for _, r in table[table["index"] == "Bang"].iterrows()}
    james = _interval(table[table["index"] == "James"].iloc[0])
    return {
        "bang": bang,
        "james": james,
        "guesses": int(counts.sum()),
        "table": {
            "rows": [arms.treated, arms.control, DONT_KNOW],
            "columns": arms.contrast,
            "counts": counts.tolist(),
        },
    }


def fidelity_agreement(fidelity: pd.DataFrame | None) -> dict[str, Any]:
    """ICC(2,1) of the fidelity score over sessions rated twice (first rating vs its double)."""
    if fidelity is None or fidelity.empty:
        raise NotEstimable("no session has a fidelity rating")
    doubles = fidelity[fidelity["double_of"].notna() & (fidelity["double_of"].astype(str) != "")]
    first = fidelity.set_index(fidelity["rating_id"].astype(str))["score"]
    pairs = pd.DataFrame(
        {
            "first": doubles["double_of"].astype(str).map(first).to_numpy(float),
            "second": doubles["score"].to_numpy(float),
            "id": doubles["rating_id"].astype(str).to_numpy(),
        }
    ).dropna()
    if len(pairs) < 2:
        raise NotEstimable(f"{len(pairs)} session(s) rated twice; inter-rater agreement needs at least 2")
    pairs = pairs.sort_values("id", kind="mergesort")
    table = icc(pairs[["first", "second"]].to_numpy())
    row = table[table["type"] == "ICC(2,1)"].iloc[0]
    return {
        "icc": {
            "estimate": float(row["estimate"]),
            "ci_low": float(row["ci_low"]),
            "ci_high": float(row["ci_high"]),
        },
        "kind": "ICC(2,1)",
        "pairs": len(pairs),
        "score": "mean of the 13 IMR Fidelity Scale items",
    }
