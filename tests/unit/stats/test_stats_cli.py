"""``trialdesk stats``: the JSON contract of design.md, and bad input as one line with exit status 2."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trialdesk.cli import main

CONTRACT = {"model", "method", "nobs", "ngroups", "loglik", "aic", "bic", "coefficients",
            "variance_components"}
COLUMNS = {"term", "estimate", "se", "df", "statistic", "p", "ci_low", "ci_high"}


@pytest.fixture
def csv(tmp_path):
    rng = np.random.default_rng(21)
    n = 40
    ids = np.repeat(np.arange(n), 3)
    arm = np.where(ids % 2 == 0, "IMR", "TAU")
    data = pd.DataFrame({
        "id": ids, "visit": np.tile([0, 9, 21], n), "arm": arm,
        "gaf0": np.repeat(rng.normal(43, 11, n), 3),
        "group": np.where(arm == "IMR", "G" + (ids % 4).astype(str), None),
        "label": "x", "events": rng.poisson(2, 3 * n),
    })
    data["gaf"] = 20 + 0.5 * data["gaf0"] + rng.normal(0, 5, n)[ids] + rng.normal(0, 8, 3 * n)
    path = tmp_path / "trial.csv"
    data.to_csv(path, index=False)
    return str(path)


def _run(capsys, *args):
    code = main(["stats", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("model", "extra"), [
    ("ols", ["--formula", "gaf ~ gaf0 + arm", "--se", "HC3"]),
    ("lmm", ["--formula", "gaf ~ gaf0 + arm * C(visit)", "--group", "id"]),
    ("lmm", ["--formula", "gaf ~ gaf0 + arm + (visit | id)", "--ml"]),
    ("mmrm", ["--formula", "gaf ~ gaf0 + arm * C(visit) + us(visit | id)", "--arm", "arm"]),
    ("pnm", ["--formula", "gaf ~ gaf0 + arm", "--group", "group", "--arm", "arm"]),
])
def test_json_follows_the_stats_contract(capsys, csv, model, extra):
    code, out, err = _run(capsys, model, "--data", csv, *extra, "--json")
    assert code == 0, err
    document = json.loads(out)
    assert set(document) >= CONTRACT
    assert document["model"] == model
    assert document["nobs"] > 0
    assert all(set(row) == COLUMNS for row in document["coefficients"])
    assert "arm[T.TAU]" in [row["term"] for row in document["coefficients"]]
    if model == "mmrm":
        assert {"arm", "visit", "estimate", "se", "df", "ci_low", "ci_high"} <= set(document["lsmeans"][0])
        assert len(document["lsmeans"]) == 6


def test_glm_is_dispatched_to_the_glm_module(capsys, csv):
    code, out, err = _run(capsys, "glm", "--data", csv, "--formula", "events ~ arm", "--family", "poisson",
                          "--json")
    assert code == 0, err
    assert json.loads(out)["model"] == "glm"


def test_text_output_is_a_summary(capsys, csv):
    code, out, _ = _run(capsys, "ols", "--data", csv, "--formula", "gaf ~ arm")
    assert code == 0
    assert "arm[T.TAU]" in out
    assert "observations" in out


@pytest.mark.parametrize(("args", "message"), [
    (["ols", "--data", "{csv}", "--formula", "gaf ~ nope"], "column(s) nope not in the data"),
    (["ols", "--data", "{csv}", "--formula", "arm ~ gaf0"], "outcome column 'arm' is not numeric"),
    (["ols", "--data", "{csv}", "--formula", "gaf ~ (arm"], "does not parse"),
    (["ols", "--data", "{csv}", "--formula", "gaf ~ gaf0 + I(2 * gaf0)"], "singular design"),
    (["ols", "--data", "{csv}", "--formula", "visit ~ arm + label"], "label has only one level"),
    (["lmm", "--data", "{csv}", "--formula", "gaf ~ arm"], "needs a grouping column"),
    (["pnm", "--data", "{csv}", "--formula", "gaf ~ arm", "--group", "group"], "needs --group"),
    (["ols", "--data", "missing.csv", "--formula", "gaf ~ arm"], "data file missing.csv not found"),
    (["ols", "--formula", "gaf ~ arm"], "--data CSV is required"),
    (["anova", "--data", "{csv}", "--formula", "gaf ~ arm"], "model anova is not available"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, csv, args, message):
    code, out, err = _run(capsys, *[a.replace("{csv}", csv) for a in args])
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert message in lines[0]
    assert "Traceback" not in err


def test_constant_outcome_and_one_arm_only(capsys, csv, tmp_path):
    data = pd.read_csv(csv)
    data["gaf"] = 50
    constant = tmp_path / "constant.csv"
    data.to_csv(constant, index=False)
    code, _, err = _run(capsys, "ols", "--data", str(constant), "--formula", "gaf ~ arm")
    assert code == 2
    assert "is constant" in err
    one_arm = tmp_path / "one_arm.csv"
    pd.read_csv(csv).query("arm == 'IMR'").to_csv(one_arm, index=False)
    code, _, err = _run(capsys, "mmrm", "--data", str(one_arm), "--formula",
                        "gaf ~ arm * C(visit) + us(visit | id)")
    assert code == 2
    assert "one arm only" in err
