"""How arms are shown: named (closed report, for the data monitoring committee) or coded A/B (open report).

The open report must not let a reader tell which letter is which arm. Three rules keep it so:
every arm code and label is replaced by its letter; effects are turned round to read "A vs B"
whatever the analysis's contrast; and counts that only the intervention arm can have (received the
intervention, discontinued it) are left out (see :mod:`trialdesk.reporting.consort`).

The letter key: a blinded snapshot already carries A/B and is used as it is. Otherwise the caller
passes the statistician's key; without one, letters follow the order in which the arms first
appear in the randomisation sequence (randomisation date, then trial id) — not the alphabetical
or protocol order, which anyone could guess.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from trialdesk.reporting.results_schema import Estimate
from trialdesk.reporting.trialinfo import TrialInfo


@dataclass(frozen=True)
class ArmView:
    codes: tuple[str, ...]  # arm codes as the data carry them, in display order
    names: Mapping[str, str]  # code -> what the report shows ("Arm A" or "IMR + treatment as usual")
    short: Mapping[str, str]  # code -> short form for narrow columns ("A" or "IMR")
    closed: bool
    intervention: frozenset[str]  # codes of arms that receive the intervention (empty when unknown)

    def name(self, code: str) -> str:
        return self.names.get(code, code if self.closed else "unknown arm")

    def short_name(self, code: str) -> str:
        return self.short.get(code, code if self.closed else "?")


def _first_appearance(participants: pd.DataFrame) -> list[str]:
    randomised = participants[participants["arm"].notna() & (participants["arm"].astype(str) != "")]
    order = randomised.assign(_on=pd.to_datetime(randomised["randomised_on"], errors="coerce"))
    order = order.sort_values(["_on", "trial_id"], na_position="last", kind="mergesort")
    return list(dict.fromkeys(str(a) for a in order["arm"]))


def arm_view(
    participants: pd.DataFrame | None, trial: TrialInfo, closed: bool, key: Mapping[str, str] | None = None
) -> ArmView:
    """The arms of the report, named or lettered; ``key`` maps arm code -> letter for the open report."""
    data_codes: list[str] = []
    if participants is not None and {"arm", "randomised_on", "trial_id"} <= set(participants.columns):
        data_codes = _first_appearance(participants)
    protocol_codes = [a.code for a in trial.arms]
    intervention = frozenset(a.code for a in trial.arms if a.receives_intervention)
    blinded = (
        bool(data_codes)
        and all(c in string.ascii_uppercase and len(c) == 1 for c in data_codes)
        and not set(data_codes) & set(protocol_codes)
    )
    if closed and not blinded:
        codes = [c for c in protocol_codes if c in data_codes or not data_codes]
        codes += [c for c in data_codes if c not in codes]
        names = {c: trial.arm_label(c) for c in codes}
        return ArmView(tuple(codes), names, {c: c for c in codes}, True, intervention)
    if blinded:
        letters = {c: c for c in data_codes}
        intervention = frozenset()
    elif key is not None:
        letters = {c: key[c] for c in data_codes + protocol_codes if c in key}
    else:
        codes = data_codes + [c for c in protocol_codes if c not in data_codes]
        letters = {c: string.ascii_uppercase[i] for i, c in enumerate(codes)}
    codes = sorted(letters, key=lambda c: letters[c])
    return ArmView(tuple(codes), {c: f"Arm {letters[c]}" for c in codes}, dict(letters), closed, intervention)


def oriented(estimate: Estimate, view: ArmView) -> Estimate:
    """The estimate turned round, when needed, so that it compares the arms in display order."""
    contrast = estimate.get("contrast") or list(view.codes[:2])
    if (
        len(view.codes) < 2
        or list(contrast) == list(view.codes[:2])
        or list(contrast) != list(view.codes[1::-1])
    ):
        out = dict(estimate)
        out["contrast"] = list(contrast)
        return Estimate(**out)  # type: ignore[typeddict-item]
    out = dict(estimate)
    out["contrast"] = list(view.codes[:2])
    ratio = estimate.get("scale", "difference") == "ratio"

    def turn(value: float | None) -> float | None:
        if value is None:
            return None
        return (1.0 / value if value else float("inf")) if ratio else -value

    out["estimate"] = turn(estimate.get("estimate"))
    low, high = turn(estimate.get("ci_high")), turn(estimate.get("ci_low"))
    out["ci_low"], out["ci_high"] = low, high
    for key in ("estimate", "ci_low", "ci_high"):
        if out.get(key) is None:
            out.pop(key, None)
    return Estimate(**out)  # type: ignore[typeddict-item]
