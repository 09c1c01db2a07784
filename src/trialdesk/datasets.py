"""The analysis-ready tables: what a locked snapshot contains and what analysis and reporting read.

One declaration serves the snapshot writer (Django side), the analysis plan runner, the report and the
simulator, so a column cannot mean one thing in one place and another elsewhere. Tables are long and
tidy; participants appear only by trial id (pseudonymised); ``arm`` holds the arm code, or a blinded
code (A/B) in blinded snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from trialdesk.errors import UserError


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # "string", "int", "float", "date", "bool"
    description: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, dtype: str, description: str, nullable: bool = True) -> Column:
    return Column(name, dtype, description, nullable)


TABLES: dict[str, Table] = {t.name: t for t in (
    Table("screening", "every screened person, eligible or not", (
        _c("screening_id", "string", "screening record id", False),
        _c("site", "string", "site code", False),
        _c("screened_on", "date", "date of screening", False),
        _c("eligible", "bool", "verdict over all criteria", False),
        _c("reasons", "string", "codes of failed criteria, ';'-separated"),
        _c("rescreen_of", "string", "screening_id of the earlier screening this repeats"),
        _c("consented", "bool", "gave written consent"),
        _c("decline_reason", "string", "reason category when consent was declined"),
        _c("trial_id", "string", "trial id when the person became a participant"),
    ), ("screening_id",)),
    Table("participants", "one row per participant with baseline characteristics and allocation", (
        _c("trial_id", "string", "pseudonymised trial id, e.g. BAL-0007", False),
        _c("site", "string", "site code", False),
        _c("diagnosis", "string", "stratum level: schizophrenia or bipolar", False),
        _c("arm", "string", "arm code (or A/B in a blinded snapshot); empty if never randomised"),
        _c("randomised_on", "date", "date of randomisation"),
        _c("baseline_on", "date", "date of the baseline assessment"),
        _c("status", "string", "current status in the participant pipeline", False),
        _c("age", "float", "age in years at baseline"),
        _c("sex", "string", "female / male"),
        _c("icd10", "string", "ICD-10 diagnosis code"),
        _c("years_since_first_contact", "float", "years since first psychiatric contact"),
        _c("education", "string", "highest education category"),
        _c("employment", "string", "employment category"),
        _c("living", "string", "living situation category"),
        _c("group_id", "string", "IMR group the participant was placed in (intervention arm)"),
        _c("withdrawn_on", "date", "date of withdrawal"),
        _c("withdrawal_scope", "string", "intervention / data_collection / all"),
    ), ("trial_id",)),
    Table("status_events", "every status transition (CONSORT is counted from these)", (
        _c("trial_id", "string", "trial id (empty before a participant id exists)"),
        _c("screening_id", "string", "screening record id"),
        _c("from_state", "string", "state before"),
        _c("to_state", "string", "state after", False),
        _c("on", "date", "date of the transition", False),
        _c("reason", "string", "reason or reason category"),
    ), ("trial_id", "to_state", "on")),
    Table("scores", "one row per participant × visit × instrument score (long)", (
        _c("trial_id", "string", "trial id", False),
        _c("visit", "string", "visit code: baseline, m9, m21", False),
        _c("instrument", "string", "instrument code, e.g. gaf_f", False),
        _c("score", "string", "score name: total or a subscale", False),
        _c("value", "float", "the score; empty when missing by the missing-item rule"),
        _c("assessed_on", "date", "date of the assessment"),
        _c("in_window", "bool", "done within the visit window"),
        _c("not_done_reason", "string", "why the instrument was not done"),
    ), ("trial_id", "visit", "instrument", "score")),
    Table("items", "one row per item response", (
        _c("trial_id", "string", "trial id", False),
        _c("visit", "string", "visit code", False),
        _c("instrument", "string", "instrument code", False),
        _c("item", "string", "item code", False),
        _c("value", "float", "response; empty when missing"),
    ), ("trial_id", "visit", "instrument", "item")),
    Table("dose", "IMR dose per participant in the intervention arm", (
        _c("trial_id", "string", "trial id", False),
        _c("group_id", "string", "IMR group"),
        _c("sessions_offered", "int", "sessions held while the participant was a member", False),
        _c("sessions_attended", "int", "sessions attended", False),
        _c("attendance", "float", "attended / offered (0-1)"),
        _c("modules_covered", "int", "curriculum modules covered in attended sessions"),
        _c("weeks_in_group", "float", "weeks from placement to leaving or group end"),
        _c("completer", "bool", "meets the protocol's completer threshold"),
    ), ("trial_id",)),
    Table("register", "hospital-register counts per participant and period", (
        _c("trial_id", "string", "trial id", False),
        _c("period", "string", "baseline-m9 or m9-m21", False),
        _c("admissions", "int", "psychiatric admissions starting in the period", False),
        _c("bed_days", "int", "inpatient days within the period", False),
        _c("er_visits", "int", "emergency-room visits", False),
        _c("outpatient_contacts", "int", "outpatient contacts", False),
        _c("followup_days", "float", "days observed in the period (offset)", False),
    ), ("trial_id", "period")),
    Table("guesses", "blinded assessors' guesses of allocation", (
        _c("trial_id", "string", "trial id", False),
        _c("visit", "string", "visit code", False),
        _c("assessor", "string", "assessor pseudonym"),
        _c("guess", "string", "arm code guessed, or dont_know", False),
        _c("confidence", "int", "confidence 1-5"),
    ), ("trial_id", "visit")),
    Table("fidelity", "IMR Fidelity Scale ratings per group and occasion", (
        _c("rating_id", "string", "rating id", False),
        _c("group_id", "string", "IMR group", False),
        _c("site", "string", "site code", False),
        _c("rater", "string", "rater pseudonym", False),
        _c("rated_on", "date", "date rated", False),
        _c("double_of", "string", "rating_id this one double-rates"),
        _c("score", "float", "mean of the 13 items", False),
        _c("items", "string", "the 13 item ratings, ';'-separated in item order", False),
    ), ("rating_id",)),
)}


def check(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Raise a UserError naming the table and column when ``frame`` does not fit table ``name``."""
    table = TABLES.get(name)
    if table is None:
        raise UserError(f"unknown table {name!r}; tables are {', '.join(TABLES)}")
    missing = [c for c in table.column_names if c not in frame.columns]
    if missing:
        raise UserError(f"table {name}: missing column(s) {', '.join(missing)}")
    for column in table.columns:
        if not column.nullable and frame[column.name].isna().any():
            row = int(frame[column.name].isna().to_numpy().argmax())
            raise UserError(f"table {name}, row {row + 1}: column {column.name} must not be empty")
    if frame.duplicated(list(table.key)).any():
        row = int(frame.duplicated(list(table.key)).to_numpy().argmax())
        key = dict(frame.iloc[row][list(table.key)])
        raise UserError(f"table {name}, row {row + 1}: duplicate key {key}")
    return frame[table.column_names]
