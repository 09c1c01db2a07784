"""Item responses that add up to a given total, valid for the instrument's declared items.

A simulated outcome is first a total score per participant; :func:`split_totals` turns each total into
item responses whose sum (``trialdesk.instruments.score``) gives that total back: items stay within
their allowed values (AUDIT items 9-10 take only 0, 2 or 4), and each participant's items vary around a
personal profile (per-item gamma noise times a per-subscale factor), so item patterns and subscales
differ between participants as in real data. No library does this constrained split, hence by hand.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from trialdesk.errors import UserError
from trialdesk.instruments import Instrument


@dataclass(frozen=True)
class ItemSpec:
    """The scored items of an instrument as arrays: minimum, maximum and the step generated in."""

    instrument: str
    codes: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    step: np.ndarray  # 1 for items taking every whole number in range, else the progression's step
    subscale: np.ndarray  # index of the item's first subscale, -1 when in none

    @property
    def total_range(self) -> tuple[float, float]:
        return float(self.low.sum()), float(self.high.sum())


@functools.lru_cache(maxsize=64)
def item_spec(instrument: Instrument) -> ItemSpec:
    """The instrument's scored items as arrays (cached: instruments are frozen)."""
    codes = instrument.scored_items
    if not codes:
        raise UserError(f"{instrument.code} has no scored items to simulate")
    lows, highs, steps, groups = [], [], [], []
    for code in codes:
        item = instrument.item_map[code]
        allowed = [Fraction(str(v)) for v in item.allowed]
        low, high = allowed[0], allowed[-1]
        whole = {Fraction(v) for v in range(math.ceil(low), math.floor(high) + 1)}
        if low.denominator == 1 and high.denominator == 1 and whole <= set(allowed):
            step = 1
        else:
            step = int(allowed[1] - allowed[0]) if len(allowed) > 1 else 1
            progression = {low + k * step for k in range(len(allowed))}
            if step < 1 or progression != set(allowed):
                raise UserError(f"{instrument.code} item {code}: cannot simulate allowed values "
                                f"{item.allowed_text}")
        lows.append(float(low))
        highs.append(float(high))
        steps.append(step)
        groups.append(next((i for i, s in enumerate(instrument.subscales) if code in s.items), -1))
    return ItemSpec(instrument.code, codes, np.array(lows), np.array(highs), np.array(steps),
                    np.array(groups))


def feasible_totals(spec: ItemSpec, totals: np.ndarray) -> np.ndarray:
    """Totals rounded to whole numbers the items can add up to, clipped to the score's range."""
    grid = math.gcd(*(int(s) for s in spec.step))
    low, high = spec.total_range
    excess = np.clip(np.rint(totals) - low, 0, high - low)
    return low + np.floor(excess / grid) * grid


def _choose(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One column per row, with probability proportional to the row's (non-negative) weights."""
    cumulative = weights.cumsum(axis=1)
    draw = rng.random(weights.shape[0]) * cumulative[:, -1]
    return np.minimum((cumulative < draw[:, None]).sum(axis=1), weights.shape[1] - 1)


def split_totals(spec: ItemSpec, totals: np.ndarray, rng: np.random.Generator,
                 profile_sd: float = 0.35, noise_shape: float = 2.0) -> np.ndarray:
    """An (n, items) array of responses whose rows sum exactly to ``feasible_totals(spec, totals)``."""
    totals = feasible_totals(spec, np.asarray(totals, dtype=float))
    n, n_items = totals.size, spec.codes.__len__()
    capacity = spec.high - spec.low
    weights = capacity * rng.gamma(noise_shape, 1 / noise_shape, (n, n_items)) + 1e-9
    n_sub = int(spec.subscale.max()) + 1
    if n_sub > 0:
        factor = np.exp(rng.normal(0.0, profile_sd, (n, n_sub)))
        weights *= np.where(spec.subscale >= 0, factor[:, np.maximum(spec.subscale, 0)], 1.0)
    excess = totals - spec.low.sum()
    # continuous shares, capacity-capped, overflow handed to the items with room left
    share = excess[:, None] * weights / weights.sum(axis=1, keepdims=True)
    for _ in range(n_items):
        over = np.clip(share - capacity, 0, None).sum(axis=1)
        share = np.minimum(share, capacity)
        if not (over > 1e-9).any():
            break
        room = weights * (share < capacity)
        share += over[:, None] * room / np.maximum(room.sum(axis=1, keepdims=True), 1e-12)
    values = np.floor(share / spec.step + 1e-9) * spec.step
    values = np.minimum(values, capacity)
    left = excess - values.sum(axis=1)
    # hand out what flooring left over, one step at a time (a handful of vectorised rounds)
    for _ in range(4 * n_items + 4):
        active = left > 0.5
        if not active.any():
            break
        rows = np.flatnonzero(active)
        room = capacity[None, :] - values[rows]
        fits = (room >= spec.step) & (spec.step <= left[rows, None] + 1e-9)
        options = weights[rows] * fits
        stuck = options.sum(axis=1) <= 0
        if stuck.any():
            # e.g. AUDIT 33 above minimum with items 1-8 full: take 1 from a 1-step item, give 2 to a
            # 2-step item (the only way an odd remainder can be placed there)
            for row in rows[stuck]:
                ones = np.flatnonzero((spec.step == 1) & (values[row] > 0))
                twos = np.flatnonzero((spec.step == 2) & (capacity - values[row] >= 2))
                if not len(ones) or not len(twos):
                    raise UserError(f"{spec.instrument}: total {totals[row]} cannot be split into items")
                values[row, ones[0]] -= 1
                values[row, twos[0]] += 2
                left[row] -= 1
            continue
        chosen = _choose(options, rng)
        values[rows, chosen] += spec.step[chosen]
        left[rows] -= spec.step[chosen]
    if (np.abs(left) > 1e-9).any():
        raise UserError(f"{spec.instrument}: could not split every total into items")
    return spec.low + values


def check_allowed(instrument: Instrument, codes: tuple[str, ...], values: np.ndarray) -> None:
    """Every non-missing value is one of the item's allowed values (the library's declaration)."""
    for j, code in enumerate(codes):
        column = values[:, j]
        present = ~np.isnan(column)
        allowed = np.asarray(instrument.item_map[code].allowed, dtype=float)
        bad = present & ~np.isin(column, allowed)
        if bad.any():
            raise UserError(f"simulated {instrument.code} item {code} value {column[bad][0]} is not "
                            f"allowed ({instrument.item_map[code].allowed_text})")


def _blankable(instrument: Instrument, code: str) -> bool:
    """May this item be left blank with the scores still computed (prorated)?"""
    if instrument.item_map[code].required:
        return False
    names = ["total", *(s.name for s in instrument.subscales if code in s.items)]
    return all(instrument.missing_rule(name).allowed_missing(len(instrument.score_items(name))) >= 1
               for name in names)


def responses(instrument: Instrument, totals: np.ndarray, rng: np.random.Generator, *,
              blank_share: float = 0.0, not_applicable: dict[str, np.ndarray] | None = None,
              ) -> tuple[tuple[str, ...], np.ndarray]:
    """Every numeric item's responses for the given totals: (item codes, (n, items) array, NaN = blank).

    Unscored numeric items (PSP's domain ratings a-d) follow the total's position in its range (worse
    domains with a lower global rating); ``blank_share`` of rows leave one blankable item empty, and
    ``not_applicable`` maps an item code to the rows where it does not apply (left empty).
    """
    spec = item_spec(instrument)
    scored = split_totals(spec, totals, rng)
    codes = tuple(item.code for item in instrument.items if item.numeric)
    n = scored.shape[0]
    values = np.full((n, len(codes)), np.nan)
    low, high = spec.total_range
    position = (scored.sum(axis=1) - low) / max(high - low, 1e-9)
    for j, code in enumerate(codes):
        item = instrument.item_map[code]
        if code in spec.codes:
            values[:, j] = scored[:, spec.codes.index(code)]
            continue
        allowed = np.asarray(item.allowed, dtype=float)
        if not allowed.size:
            continue
        # a higher total is better on PSP; a domain rating counts severity, so it runs the other way
        level = (1 - position) * (allowed.size - 1) + rng.normal(0.0, 0.7, n)
        values[:, j] = allowed[np.clip(np.rint(level), 0, allowed.size - 1).astype(int)]
    blankable = [j for j, code in enumerate(codes) if code in spec.codes and _blankable(instrument, code)]
    if blank_share > 0 and blankable:
        rows = np.flatnonzero(rng.random(n) < blank_share)
        values[rows, np.asarray(blankable)[rng.integers(len(blankable), size=rows.size)]] = np.nan
    for code, rows in (not_applicable or {}).items():
        if code in codes and _blankable(instrument, code):
            values[np.asarray(rows, dtype=bool), codes.index(code)] = np.nan
    check_allowed(instrument, codes, values)
    return codes, values
