"""Summaries for the intervention-delivery and blinding sections: dose, fidelity, assessors' guesses.

Inter-rater reliability and blinding indices are taken from the analysis results when present;
otherwise they are computed here from the tables with :mod:`trialdesk.stats.agreement` and
:mod:`trialdesk.stats.blinding` (and the report says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trialdesk.errors import UserError
from trialdesk.reporting.arms import ArmView
from trialdesk.reporting.results_schema import Agreement, BlindingIndex, Interval
from trialdesk.reporting.trialinfo import TrialInfo

DONT_KNOW = "dont_know"


@dataclass(frozen=True)
class Dose:
    participants: int
    sessions_offered_median: float
    attended_median: float
    attended_q1: float
    attended_q3: float
    attended_none: int
    completers: int
    modules_median: float | None
    modules: dict[int, int]  # modules covered -> participants


def dose_summary(dose: pd.DataFrame) -> Dose | None:
    if dose.empty:
        return None
    attended = pd.to_numeric(dose["sessions_attended"], errors="coerce").dropna()
    modules = pd.to_numeric(dose["modules_covered"], errors="coerce").dropna().astype(int)
    return Dose(
        participants=len(dose),
        sessions_offered_median=float(pd.to_numeric(dose["sessions_offered"], errors="coerce").median()),
        attended_median=float(attended.median()),
        attended_q1=float(attended.quantile(0.25)),
        attended_q3=float(attended.quantile(0.75)),
        attended_none=int((attended == 0).sum()),
        completers=int(dose["completer"].fillna(False).astype(bool).sum()),
        modules_median=float(modules.median()) if modules.size else None,
        modules=dict(zip(*_index_and_values(modules.value_counts().sort_index()), strict=True)),
    )


def _index_and_values(counts: pd.Series) -> tuple[list[int], list[int]]:
    return [int(k) for k in counts.index.tolist()], [int(v) for v in counts.tolist()]


@dataclass(frozen=True)
class Fidelity:
    ratings: int
    groups: int
    mean: float
    sd: float | None
    high: int
    moderate: int
    low: int
    pairs: int
    agreement: Agreement | None
    agreement_source: str  # "analysis results", "computed from the fidelity table" or a reason it is missing


def fidelity_summary(
    fidelity: pd.DataFrame, trial: TrialInfo, agreement: Agreement | None
) -> Fidelity | None:
    if fidelity.empty:
        return None
    first = fidelity[fidelity["double_of"].isna() | (fidelity["double_of"].astype(str) == "")]
    score = pd.to_numeric(first["score"], errors="coerce").dropna()
    doubles = fidelity[fidelity["double_of"].notna() & (fidelity["double_of"].astype(str) != "")]
    pairs = doubles.merge(
        fidelity[["rating_id", "score"]],
        left_on="double_of",
        right_on="rating_id",
        suffixes=("_second", "_first"),
    )
    source = "analysis results"
    if agreement is None:
        agreement, source = _icc(pairs)
    return Fidelity(
        ratings=len(first),
        groups=int(first["group_id"].nunique()),
        mean=float(score.mean()),
        sd=float(score.std(ddof=1)) if score.size > 1 else None,
        high=int((score >= trial.fidelity_high).sum()),
        moderate=int(((score >= trial.fidelity_moderate) & (score < trial.fidelity_high)).sum()),
        low=int((score < trial.fidelity_moderate).sum()),
        pairs=len(pairs),
        agreement=agreement,
        agreement_source=source,
    )


def _icc(pairs: pd.DataFrame) -> tuple[Agreement | None, str]:
    from trialdesk.stats.agreement import icc

    if len(pairs) < 2:
        return None, f"not available: {len(pairs)} double-rated pair(s), at least 2 are needed"
    try:
        table = icc(pairs[["score_first", "score_second"]].to_numpy(dtype=float))
    except UserError as problem:
        return None, f"not available: {problem}"
    row = table[table["type"] == "ICC(2,1)"].iloc[0]
    return (
        Agreement(
            icc=Interval(
                estimate=float(row["estimate"]), ci_low=float(row["ci_low"]), ci_high=float(row["ci_high"])
            ),
            kind="ICC(2,1)",
            pairs=len(pairs),
        ),
        "computed by the report from the fidelity table (ICC(2,1) of the double-rated scores)",
    )


@dataclass(frozen=True)
class Blinding:
    arms: list[str]  # arm codes in display order (columns)
    guesses: list[str]  # guess codes in display order (rows): the arms, then don't know
    counts: dict[tuple[str, str], int]  # (guess, actual arm) -> assessments
    total: int
    index: BlindingIndex | None
    index_source: str
    notes: list[str] = field(default_factory=list)


def blinding_summary(
    guesses: pd.DataFrame, participants: pd.DataFrame, view: ArmView, index: BlindingIndex | None
) -> Blinding | None:
    if guesses.empty:
        return None
    merged = guesses.merge(participants[["trial_id", "arm"]], on="trial_id", how="inner")
    merged = merged[merged["arm"].astype(str).isin(view.codes)]
    arms = list(view.codes)
    codes = [*arms, DONT_KNOW]
    notes = []
    unknown = sorted(set(merged["guess"].astype(str)) - set(codes))
    if unknown:
        notes.append(f"guesses {', '.join(unknown)} are neither an arm nor {DONT_KNOW}: left out")
    counts = {
        (g, a): int(((merged["guess"].astype(str) == g) & (merged["arm"].astype(str) == a)).sum())
        for g in codes
        for a in arms
    }
    source = "analysis results"
    if index is None:
        index, source = _indices(counts, arms, view)
    return Blinding(arms, codes, counts, sum(counts.values()), index, source, notes)


def _indices(
    counts: dict[tuple[str, str], int], arms: list[str], view: ArmView
) -> tuple[BlindingIndex | None, str]:
    from trialdesk.stats.blinding import bang_index, james_index

    if len(arms) != 2:
        return None, "not available: blinding indices need exactly two arms"
    table = np.array([[counts[(g, a)] for a in arms] for g in [*arms, DONT_KNOW]])
    try:
        bang = bang_index(table, arms=(arms[0], arms[1]))
        james = james_index(table)
    except UserError as problem:
        return None, f"not available: {problem}"
    result = BlindingIndex(
        bang={
            str(r["arm"]): Interval(
                estimate=float(r["estimate"]), ci_low=float(r["ci_low"]), ci_high=float(r["ci_high"])
            )
            for _, r in bang.iterrows()
        },
        james=Interval(
            estimate=float(james["estimate"].iloc[0]),
            ci_low=float(james["ci_low"].iloc[0]),
            ci_high=float(james["ci_high"].iloc[0]),
        ),
    )
    return result, "computed by the report from the guesses table"
