"""The analysis-table contract rejects frames that do not fit, naming table, row and column."""

import pandas as pd
import pytest

from trialdesk.datasets import TABLES, check
from trialdesk.errors import UserError


def _register(**overrides):
    row = {"trial_id": "BAL-0001", "period": "baseline-m9", "admissions": 1, "bed_days": 12, "er_visits": 0,
           "outpatient_contacts": 14, "followup_days": 274.0}
    row.update(overrides)
    return row


def test_a_fitting_frame_comes_back_in_declared_column_order():
    frame = pd.DataFrame([_register()])[::-1]
    out = check("register", frame.iloc[:, ::-1])
    assert list(out.columns) == TABLES["register"].column_names


def test_missing_column_is_named():
    with pytest.raises(UserError, match="table register: missing column"):
        check("register", pd.DataFrame([_register()]).drop(columns=["bed_days"]))


def test_empty_required_value_names_row_and_column():
    frame = pd.DataFrame([_register(), _register(trial_id="BAL-0002", period=None)])
    with pytest.raises(UserError, match="row 2: column period must not be empty"):
        check("register", frame)


def test_duplicate_key_is_refused():
    with pytest.raises(UserError, match="row 2: duplicate key"):
        check("register", pd.DataFrame([_register(), _register()]))


def test_unknown_table():
    with pytest.raises(UserError, match="unknown table"):
        check("nonsense", pd.DataFrame())


def test_every_column_is_described():
    assert all(c.description for t in TABLES.values() for c in t.columns)
    assert all(set(t.key) <= set(t.column_names) for t in TABLES.values())
