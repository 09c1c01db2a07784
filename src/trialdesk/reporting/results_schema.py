"""The shape of the analysis results a report reads: the JSON of ``trialdesk analyse --json`` (issue 9).

Every key is optional: a report renders whatever is present and says "not available" for the rest.
:func:`clean_results` checks a parsed document part by part and drops (with a note saying why) any
part that does not have this shape, so a malformed part costs one section, never the whole report.

Every estimate, and the blinding index and agreement parts, carry a ``status``: ``"estimated"``, or
``"not_estimable"`` with a ``reason`` in words and no numbers (the data could not carry that model; see
:mod:`trialdesk.analysis.estimability`). A part without ``status`` is read as estimated.

Arms are keyed by the arm code the data carry (``IMR``/``TAU``, or ``A``/``B`` in a blinded snapshot).
An estimate compares ``contrast[0]`` with ``contrast[1]``: a difference (``scale="difference"``,
first minus second) or a ratio (``scale="ratio"``, first over second).
"""

from __future__ import annotations

import math
from typing import Any, Literal, TypedDict


class ArmMean(TypedDict, total=False):
    """Model-estimated (least-squares) mean of one arm with its standard error."""

    mean: float
    se: float
    n: int


class Estimate(TypedDict, total=False):
    """One outcome at one visit: the between-arm effect and the model-estimated means per arm."""

    outcome: str  # outcome code from the protocol, e.g. gaf_f_m9 or panss
    visit: str  # visit code, e.g. m9
    label: str  # readable label; the protocol's outcome label when absent
    estimate: float
    ci_low: float
    ci_high: float
    p: float
    scale: Literal["difference", "ratio"]  # default "difference"
    contrast: list[str]  # [arm, reference arm]; default: the protocol's arm order
    means: dict[str, ArmMean]  # arm code -> model-estimated mean (SE)
    model: str  # e.g. pnm, mmrm, nb
    n: int  # participants in the analysis
    status: Literal["estimated", "not_estimable"]  # default "estimated"
    reason: str  # why it is not estimable
    warnings: list[str]  # warnings raised while estimating it


class Sensitivity(Estimate, total=False):
    """An estimate under one sensitivity analysis (complete_case, best_worst, mi, ...)."""

    analysis: str
    description: str


class FlowArm(TypedDict, total=False):
    """Count with reasons: ``{"n": 3, "reasons": {"moved away": 2, "died": 1}}``."""

    n: int
    reasons: dict[str, int]


class Consort(TypedDict, total=False):
    """CONSORT counts as the analysis run computed them; the report reconciles them with its own."""

    screened: int
    eligible: int
    randomised: int
    allocated: dict[str, int]
    received: dict[str, int]
    lost: dict[str, FlowArm]
    discontinued: dict[str, FlowArm]
    analysed: dict[str, int]


class Interval(TypedDict, total=False):
    estimate: float
    ci_low: float
    ci_high: float


class BlindingIndex(TypedDict, total=False):
    """Bang's index per arm (arm code -> interval) and James' index for the whole trial."""

    bang: dict[str, Interval]
    james: Interval
    status: Literal["estimated", "not_estimable"]
    reason: str


class Agreement(TypedDict, total=False):
    """Inter-rater reliability of the double-rated fidelity ratings."""

    icc: Interval
    kind: str  # e.g. "ICC(2,1)"
    pairs: int
    kappa: Interval
    status: Literal["estimated", "not_estimable"]
    reason: str


class Provenance(TypedDict, total=False):
    snapshot_hash: str
    protocol_hash: str
    trialdesk_version: str
    packages: dict[str, str]
    seeds: dict[str, int]
    created: str  # ISO 8601 time of the analysis run (never of the rendering: reports must be reproducible)


class AnalysisResults(TypedDict, total=False):
    consort: Consort
    primary: Estimate
    secondary: list[Estimate]
    sensitivity: list[Sensitivity]
    blinding_index: BlindingIndex
    agreement: Agreement
    provenance: Provenance


STATUSES = ("estimated", "not_estimable")


def estimated(part: Any) -> bool:
    """Whether a part of the results holds numbers (a part without ``status`` is read as estimated)."""
    return isinstance(part, dict) and part.get("status", "estimated") == "estimated"


def _status(value: dict[str, Any], where: str) -> None:
    status = value.get("status", "estimated")
    if status not in STATUSES:
        raise ValueError(f"{where}.status is {status!r}; use estimated or not_estimable")
    if status == "not_estimable" and not isinstance(value.get("reason"), str):
        raise ValueError(f"{where} is not estimable and gives no reason")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _optional_numbers(part: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    for key in keys:
        if key in part and part[key] is not None and not _number(part[key]):
            raise ValueError(f"{where}.{key} is {part[key]!r}, not a finite number")


def _interval(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not an object")
    _optional_numbers(value, ("estimate", "ci_low", "ci_high"), where)


def _estimate(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not an object")
    for key in ("outcome", "visit"):
        if not isinstance(value.get(key), str):
            raise ValueError(f"{where}.{key} is missing or not text")
    _status(value, where)
    _optional_numbers(value, ("estimate", "ci_low", "ci_high", "p", "n"), where)
    if value.get("scale", "difference") not in ("difference", "ratio"):
        raise ValueError(f"{where}.scale is {value.get('scale')!r}; use difference or ratio")
    contrast = value.get("contrast")
    if contrast is not None and not (
        isinstance(contrast, list | tuple)
        and len(contrast) == 2
        and all(isinstance(c, str) for c in contrast)
    ):
        raise ValueError(f"{where}.contrast must be two arm codes")
    means = value.get("means", {})
    if not isinstance(means, dict):
        raise ValueError(f"{where}.means is not an object keyed by arm")
    for arm, mean in means.items():
        if not isinstance(mean, dict):
            raise ValueError(f"{where}.means.{arm} is not an object")
        _optional_numbers(mean, ("mean", "se", "n"), f"{where}.means.{arm}")


def _consort(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not an object")
    _optional_numbers(value, ("screened", "eligible", "randomised"), where)
    for key in ("allocated", "received", "analysed", "lost", "discontinued"):
        per_arm = value.get(key, {})
        if not isinstance(per_arm, dict):
            raise ValueError(f"{where}.{key} is not an object keyed by arm")
        for arm, count in per_arm.items():
            n = count.get("n") if isinstance(count, dict) else count
            if not _number(n):
                raise ValueError(f"{where}.{key}.{arm} has no count")


def _blinding(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not an object")
    _status(value, where)
    for arm, interval in value.get("bang", {}).items():
        _interval(interval, f"{where}.bang.{arm}")
    if "james" in value:
        _interval(value["james"], f"{where}.james")


def _agreement(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not an object")
    _status(value, where)
    for key in ("icc", "kappa"):
        if key in value:
            _interval(value[key], f"{where}.{key}")


def _provenance(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not an object")
    for key in ("packages", "seeds"):
        if key in value and not isinstance(value[key], dict):
            raise ValueError(f"{where}.{key} is not an object")


_CHECKS = {
    "consort": _consort,
    "primary": _estimate,
    "blinding_index": _blinding,
    "agreement": _agreement,
    "provenance": _provenance,
}


def clean_results(results: Any) -> tuple[AnalysisResults, list[str]]:
    """The usable parts of ``results`` and a note for every part dropped (unknown keys are ignored)."""
    if results is None:
        return AnalysisResults(), []
    if not isinstance(results, dict):
        return AnalysisResults(), [f"analysis results are a {type(results).__name__}, not an object: ignored"]
    kept: dict[str, Any] = {}
    notes: list[str] = []
    for key, check in _CHECKS.items():
        if key in results and results[key] is not None:
            try:
                check(results[key], key)
            except ValueError as problem:
                notes.append(f"{problem}: that part is not shown")
            else:
                kept[key] = results[key]
    for key in ("secondary", "sensitivity"):
        items = results.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            notes.append(f"{key} is not a list: that part is not shown")
            continue
        good = []
        for i, item in enumerate(items):
            try:
                _estimate(item, f"{key}[{i}]")
            except ValueError as problem:
                notes.append(f"{problem}: that row is not shown")
            else:
                good.append(item)
        kept[key] = good
    return AnalysisResults(**kept), notes  # type: ignore[typeddict-item]
