"""``trialdesk simulate`` through trialdesk.cli.main."""

from __future__ import annotations

import json

import pytest

from trialdesk.cli import main


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_simulate_power_json(capsys):
    status, out, _ = run(capsys, "simulate", "power", "--n-sims", "200", "--seed", "3", "--json")
    assert status == 0
    document = json.loads(out)
    assert document["n_sims"] == 200
    assert document["analysis"] == "lmm"  # the protocol's primary plan is a partially nested model
    assert 0 < document["power"] < 1
    assert document["mc_se"] == pytest.approx((document["power"] * (1 - document["power"]) / 200) ** 0.5)
    assert document["scenario"]["n_control"] == 100
    assert document["scenario"]["source"]["primary_outcome"] == "gaf_f_m9"
    assert document["seed"] == 3


def test_simulate_grid_json(capsys):
    status, out, _ = run(capsys, "simulate", "grid", "--n-sims", "50", "--effects", "0,6", "--iccs", "0.05",
                         "--analysis", "ancova", "--json")
    assert status == 0
    rows = json.loads(out)["rows"]
    assert [r["effect"] for r in rows] == [0.0, 6.0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "power", "--n-sims", "0"], "n-sims must be at least 1"),
        (["simulate", "power", "--n-sims", "10", "--icc", "1.5"], "scenario icc must be in"),
        (["simulate", "power", "--n-sims", "10", "--dropout", "-0.1"], "scenario dropout must be in"),
        (["simulate", "grid", "--n-sims", "10", "--effects", "a,b"], "--effects must be comma-separated"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert message in err
