"""The analysis frames: the snapshot's long tables turned into one row per participant (or per visit).

The intention-to-treat set is everyone allocated to an arm, minus those who withdrew consent to any
use of their data (CONSORT's "analysed" box). Arms come as the data carry them: the protocol's codes,
or letters in a blinded snapshot (then the intervention arm is the one whose participants have IMR
groups or dose rows; a blinded snapshot has neither, so its plan cannot be run — see :func:`arms_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from trialdesk.errors import UserError

if TYPE_CHECKING:
    from trialdesk.protocol import Protocol

ALL_DATA_SCOPES = {"all", "all_data"}
ARM, GROUP, ID = "arm", "group", "trial_id"


@dataclass(frozen=True)
class Arms:
    treated: str  # arm code receiving the intervention (delivered in groups)
    control: str

    @property
    def contrast(self) -> list[str]:
        return [self.treated, self.control]


def _present(frame: pd.DataFrame | None, column: str) -> pd.Series:
    if frame is None or column not in frame:
        return pd.Series([], dtype=object)
    values = frame[column]
    return values[values.notna() & (values.astype(str) != "")]


def itt(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Participants in the ITT set, sorted by trial id: trial_id, arm, site, diagnosis, group."""
    p = tables["participants"]
    allocated = p[p["arm"].notna() & (p["arm"].astype(str) != "")]
    scope = allocated["withdrawal_scope"].astype(object).where(allocated["withdrawal_scope"].notna(), "")
    kept = allocated[~scope.astype(str).isin(ALL_DATA_SCOPES)]
    out = pd.DataFrame(
        {
            ID: kept["trial_id"].astype(str).to_numpy(),
            ARM: kept["arm"].astype(str).to_numpy(),
            "site": kept["site"].astype(str).to_numpy(),
            "diagnosis": kept["diagnosis"].astype(str).to_numpy(),
            GROUP: [None if pd.isna(g) or str(g) == "" else str(g) for g in kept["group_id"]],
        }
    )
    return out.sort_values(ID, kind="mergesort").reset_index(drop=True)


def arms_of(frame: pd.DataFrame, protocol: Protocol, tables: dict[str, pd.DataFrame]) -> Arms:
    """Which arm of the data is the intervention arm, and which the control."""
    present = sorted(frame[ARM].unique())
    codes = [a.code for a in protocol.arms]
    treated = protocol.intervention.arm
    if len(present) < 2 and len(codes) == 2 and set(present) <= set(codes):
        # One arm has nobody yet: the comparisons are not estimable (each result says so), the rest is.
        return Arms(treated=treated, control=next(c for c in codes if c != treated))
    if len(present) != 2:
        raise UserError(f"the analysis plan compares two arms; the data have {len(present)}: {present}")
    if treated not in present:
        grouped = set(frame.loc[frame[GROUP].notna(), ARM])
        dosed = set(frame.loc[frame[ID].isin(set(_present(tables.get("dose"), "trial_id").astype(str))), ARM])
        candidates = sorted(grouped | dosed)
        if len(candidates) != 1:
            raise UserError(
                f"the data's arms {present} are blinded codes and carry no IMR groups or dose: the primary "
                "model needs group membership, so analyse an unblinded snapshot (taken at the data lock)"
            )
        treated = candidates[0]
    return Arms(treated=treated, control=next(a for a in present if a != treated))


def scores_wide(
    tables: dict[str, pd.DataFrame], instrument: str, score: str, visits: list[str]
) -> pd.DataFrame:
    """trial_id x visit values of one instrument score (NaN where missing), columns in ``visits`` order."""
    s = tables.get("scores")
    if s is None or s.empty:
        return pd.DataFrame(columns=[ID, *visits])
    rows = s[(s["instrument"] == instrument) & (s["score"] == score) & s["visit"].isin(visits)]
    wide = rows.pivot_table(index="trial_id", columns="visit", values="value", aggfunc="first", dropna=False)
    wide = wide.reindex(columns=visits)
    wide.index = wide.index.astype(str)
    return wide.reset_index().rename(columns={"index": ID})


def with_scores(
    frame: pd.DataFrame, tables: dict[str, pd.DataFrame], instrument: str, score: str, visits: list[str]
) -> pd.DataFrame:
    """``frame`` with one float column per visit of the instrument score."""
    wide = scores_wide(tables, instrument, score, visits)
    out = frame.merge(wide, on=ID, how="left")
    for v in visits:
        out[v] = pd.to_numeric(out[v], errors="coerce").astype(float)
    return out


def with_dose(frame: pd.DataFrame, tables: dict[str, pd.DataFrame], arms: Arms) -> pd.DataFrame:
    """``frame`` with ``attendance`` (share of offered sessions, 0 when never placed) and ``completer``."""
    dose = tables.get("dose")
    out = frame.copy()
    if dose is None or dose.empty:
        out["attendance"], out["completer"] = np.nan, pd.NA
        return out
    d = dose.assign(trial_id=dose["trial_id"].astype(str)).set_index("trial_id")
    treated = out[ARM] == arms.treated
    attendance = pd.to_numeric(out[ID].map(d["attendance"]), errors="coerce").astype(float)
    out["attendance"] = np.where(treated, attendance.fillna(0.0), np.nan)
    flag = out[ID].map(d["completer"]).astype(object)
    out["completer"] = [
        bool(f) if t and not pd.isna(f) else (False if t else None)
        for f, t in zip(flag, treated, strict=True)
    ]
    return out


def long_visits(frame: pd.DataFrame, visits: list[str], value: str = "y") -> pd.DataFrame:
    """One row per participant and visit with an observed value (for the MMRM)."""
    keep = [c for c in frame.columns if c not in visits]
    long = frame.melt(id_vars=keep, value_vars=visits, var_name="visit", value_name=value)
    return long.dropna(subset=[value]).sort_values([ID, "visit"], kind="mergesort").reset_index(drop=True)
