"""Fidelity analysis on plain frames (no Django): double-rating draws, inter-rater reliability, drift.

The estimators are :mod:`trialdesk.stats.agreement`'s (checked there against psych::ICC and the published
Shrout & Fleiss and Fleiss-Cohen-Everitt examples); this module only arranges the ratings for them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from trialdesk.errors import UserError
from trialdesk.errors import gettext as _
from trialdesk.stats.agreement import icc, kappa_table, weighted_kappa

DRAW_ALGORITHM = "numpy-default_rng([seed, rating_id]).random()<share/v1"
CATEGORIES = [1, 2, 3, 4, 5]


def selected_for_double(seed: int, rating_id: int, share: float) -> bool:
    """Whether the occasion first rated as ``rating_id`` is to be double-rated.

    One independent draw per occasion from a generator seeded with (seed, rating id): anyone holding the
    stored seed can check every selection, and selections do not depend on the order ratings arrive in.
    """
    if not 0 <= share <= 1:
        raise UserError(_("the double-rated share must be between 0 and 1, got %(share)s") % {
            "share": share})
    return bool(np.random.default_rng([seed, rating_id]).random() < share)


def pairs(ratings: pd.DataFrame) -> pd.DataFrame:
    """First and second ratings of each double-rated occasion, side by side (suffixes _1 and _2).

    ``ratings`` has columns rating_id, double_of, score and one column per item (``item_<code>``).
    """
    is_double = ratings["double_of"].notna() & (ratings["double_of"] != "")
    value_columns = ["score", *[c for c in ratings.columns if c.startswith("item_")]]
    firsts = ratings.loc[~is_double, ["rating_id", *value_columns]]
    seconds = ratings.loc[is_double, ["double_of", *value_columns]].rename(columns={"double_of": "rating_id"})
    return firsts.merge(seconds, on="rating_id", suffixes=("_1", "_2"), how="inner")


def _kappa(first: pd.Series, second: pd.Series) -> tuple[float, float, float, str]:
    table = kappa_table(first, second, list(CATEGORIES))
    used = table.sum(axis=0) + table.sum(axis=1)
    # With every rating in one category chance agreement is 1 and kappa is 0/0: say so instead.
    if np.count_nonzero(used) < 2:
        return np.nan, np.nan, np.nan, "undefined: both raters used a single category"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        row = weighted_kappa(table, weights="linear").iloc[0]
    return float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"]), ""


def reliability(ratings: pd.DataFrame, items: list[str]) -> dict[str, object]:
    """ICC(2,1) with its 95 % CI for the total score, and linearly weighted kappa per item, over the
    double-rated occasions. Fewer than two pairs: the counts and a note, no estimates."""
    paired = pairs(ratings)
    result: dict[str, object] = {"pairs": len(paired), "icc": None, "kappa": pd.DataFrame(), "note": ""}
    if len(paired) < 2:
        result["note"] = "inter-rater reliability needs at least 2 double-rated occasions"
        return result
    try:
        table = icc(paired[["score_1", "score_2"]].to_numpy())
        result["icc"] = table[table["type"] == "ICC(2,1)"].iloc[0].to_dict()
    except UserError as problem:
        result["note"] = str(problem)
    rows = []
    for code in items:
        both = paired[[f"item_{code}_1", f"item_{code}_2"]].dropna()
        estimate, low, high, note = _kappa(both.iloc[:, 0], both.iloc[:, 1])
        agree = float((both.iloc[:, 0] == both.iloc[:, 1]).mean()) if len(both) else np.nan
        rows.append(
            {
                "item": code,
                "n": len(both),
                "agreement": agree,
                "kappa": estimate,
                "ci_low": low,
                "ci_high": high,
                "note": note,
            }
        )
    result["kappa"] = pd.DataFrame(rows)
    return result


def drift(ratings: pd.DataFrame, by: str, freq: str = "Q") -> pd.DataFrame:
    """Mean fidelity score per ``by`` (site or facilitator) and calendar period, with the change from that
    entity's first period and its linear trend (score points per year over all its ratings).

    ``ratings`` has columns rated_on (dates), score and ``by``; a rating of a group with two facilitators
    counts once for each. Double ratings should be left out (they rate the same occasion again).
    """
    if by not in ratings.columns:
        raise UserError(_("drift by %(by)s: no such column") % {"by": repr(by)})
    columns = [by, "period", "n", "mean_score", "change", "trend_per_year"]
    if ratings.empty:
        return pd.DataFrame(columns=columns)
    frame = ratings.assign(rated_on=pd.to_datetime(ratings["rated_on"]))
    frame["period"] = frame["rated_on"].dt.to_period(freq).astype(str)
    out = frame.groupby([by, "period"], sort=True)["score"].agg(n="size", mean_score="mean").reset_index()
    out["change"] = out["mean_score"] - out.groupby(by)["mean_score"].transform("first")
    trends = {}
    for key, part in frame.groupby(by):
        years = (part["rated_on"] - part["rated_on"].min()).dt.days / 365.25
        trends[key] = float(np.polyfit(years, part["score"], 1)[0]) if years.nunique() > 1 else np.nan
    out["trend_per_year"] = out[by].map(trends)
    return out[columns]
