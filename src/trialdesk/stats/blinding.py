"""Blinding indices from the assessors' guesses of allocation (IMR / TAU / don't know).

The counts form a 3 × 2 table: rows are the guess (treatment, control, don't know), columns the arm
actually allocated (treatment, control).

* Bang's index per arm (Bang, Ni & Davis, Control Clin Trials 2004;25:143–156):
  BI = (2 · correct/(correct + incorrect) − 1) · (correct + incorrect)/n = (correct − incorrect)/n,
  SE² = [p_c(1 − p_c) + p_i(1 − p_i) + 2 p_c p_i] / n with p_c, p_i the proportions of the arm's n.
  −1 ≤ BI ≤ 1; 0 is random guessing; |BI| ≤ 0.2 is usually read as successful blinding.
* James' index over both arms (James, Bloch, Lee, Kraemer & Fuller, Stat Med 1996;15:1421–1434):
  with weights 0 (correct), ½ (incorrect), P_dk the proportion of don't-know answers and κ_d a
  weighted disagreement kappa among those who guessed, BI = (1 + P_dk + (1 − P_dk) κ_d)/2, with the
  large-sample variance of James et al.'s appendix. 0 ≤ BI ≤ 1; 1 is complete blinding, 0.5 random
  guessing; unblinding is claimed when the upper confidence limit is below 0.5.

Both use normal-theory intervals (two-sided by default; Bang et al. prefer one-sided ones).
No maintained Python package computes these, hence this module.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from trialdesk.errors import UserError

GUESS_LEVELS = ("treatment", "control", "don't know")


def guess_table(data: pd.DataFrame, arm: str, guess: str, treatment: str, *, control: str,
                dont_know: str = "don't know") -> np.ndarray:
    """3 × 2 counts (guess × actual arm) from one row per assessment."""
    for column in (arm, guess):
        if column not in data.columns:
            raise UserError(f"column {column!r} is not in the data")
    arms = set(data[arm].dropna().unique())
    if not arms <= {treatment, control}:
        raise UserError(f"column {arm!r} has values {sorted(map(str, arms - {treatment, control}))} "
                        f"besides {treatment!r} and {control!r}")
    answers = set(data[guess].dropna().unique())
    allowed = {treatment, control, dont_know}
    if not answers <= allowed:
        raise UserError(f"column {guess!r} has answers {sorted(map(str, answers - allowed))}; "
                        f"allowed are {treatment!r}, {control!r}, {dont_know!r}")
    rows = data.dropna(subset=[arm, guess])
    table = np.zeros((3, 2), dtype=int)
    for i, g in enumerate((treatment, control, dont_know)):
        for j, a in enumerate((treatment, control)):
            table[i, j] = int(((rows[guess] == g) & (rows[arm] == a)).sum())
    return table


def _check(counts: np.ndarray | list[list[int]]) -> np.ndarray:
    x = np.asarray(counts, dtype=float)
    if x.shape == (2, 2):
        x = np.vstack([x, np.zeros((1, 2))])
    if x.shape != (3, 2) or np.any(x < 0):
        raise UserError("blinding counts must be a 3 x 2 table of non-negative counts "
                        "(rows: guessed treatment, guessed control, don't know; columns: treatment, control)")
    return x


def bang_index(counts: np.ndarray | list[list[int]], level: float = 0.95,
               arms: tuple[str, str] = ("treatment", "control")) -> pd.DataFrame:
    """Bang's blinding index per arm with SE and normal-theory CI."""
    x = _check(counts)
    z = float(sps.norm.ppf(0.5 + level / 2))
    rows = []
    for j, name in enumerate(arms):
        n = x[:, j].sum()
        if n == 0:
            raise UserError(f"no guesses recorded in arm {name!r}")
        p_correct, p_incorrect = x[j, j] / n, x[1 - j, j] / n
        bi = p_correct - p_incorrect
        se = float(np.sqrt((p_correct * (1 - p_correct) + p_incorrect * (1 - p_incorrect)
                            + 2 * p_correct * p_incorrect) / n))
        rows.append({"index": "Bang", "arm": name, "estimate": bi, "se": se, "ci_low": bi - z * se,
                     "ci_high": bi + z * se, "n": int(n), "correct": int(x[j, j]),
                     "incorrect": int(x[1 - j, j]), "dont_know": int(x[2, j])})
    return pd.DataFrame(rows)


def james_index(counts: np.ndarray | list[list[int]], level: float = 0.95) -> pd.DataFrame:
    """James' blinding index (both arms together) with the SE of James et al. (1996)."""
    x = _check(counts)
    n = x.sum()
    if n == 0:
        raise UserError("no guesses recorded")
    z = float(sps.norm.ppf(0.5 + level / 2))
    if np.all(x[:2] == 0):  # only don't-know answers: complete blinding by definition (James 1996, p. 1425)
        return pd.DataFrame([{"index": "James", "arm": "overall", "estimate": 1.0, "se": 0.0, "ci_low": 1.0,
                              "ci_high": 1.0, "n": int(n), "dont_know": int(x[2].sum())}])
    p = x / n
    w = np.array([[0.0, 0.5], [0.5, 0.0]])  # disagreement weights among those who guessed
    p_dk = p[2].sum()
    guessed = p[:2]
    row = guessed.sum(axis=1)  # P(guess i)
    col = guessed.sum(axis=0)  # P(arm j and a guess made)
    observed = float((w * guessed).sum()) / (1 - p_dk)
    expected_raw = float((w * np.outer(row, col)).sum())
    expected = expected_raw / (1 - p_dk) ** 2
    if expected == 0:
        raise UserError("James' index is undefined for this table (no possible disagreement among guesses)")
    kappa = (observed - expected) / expected
    bi = (1 + p_dk + (1 - p_dk) * kappa) / 2
    # James et al. (1996), appendix: large-sample variance of the index.
    extra = (w * row[:, None]).sum(axis=0)[None, :] + (w * col[None, :]).sum(axis=1)[:, None]
    numerator = float(np.sum(guessed * (1 - p_dk) ** 2 * ((1 - p_dk) * w - (1 + kappa) * extra) ** 2))
    v1 = numerator / (4 * expected_raw**2)
    v2 = p_dk * (1 - p_dk) - (1 - p_dk) * (1 + kappa) * (p_dk + (1 - p_dk) * (1 + kappa) / 4)
    se = float(np.sqrt((v1 + v2) / n))
    return pd.DataFrame([{"index": "James", "arm": "overall", "estimate": float(bi), "se": se,
                          "ci_low": bi - z * se, "ci_high": bi + z * se, "n": int(n),
                          "dont_know": int(x[2].sum())}])


def blinding_indices(counts: np.ndarray | list[list[int]], level: float = 0.95,
                     arms: tuple[str, str] = ("treatment", "control")) -> pd.DataFrame:
    """Bang's index per arm and James' index, one tidy frame."""
    return pd.concat([bang_index(counts, level, arms), james_index(counts, level)], ignore_index=True)
