"""``trialdesk power`` through trialdesk.cli.main: JSON contract and one-line errors with exit 2."""

from __future__ import annotations

import json

import pytest

from trialdesk.cli import main


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_ttest_json_has_unrounded_n_and_power(capsys):
    status, out, _ = run(capsys, "power", "ttest", "--delta", "6", "--sd", "15", "--power", "0.8", "--json")
    assert status == 0
    document = json.loads(out)
    # R: power.t.test(delta = 6, sd = 15, power = .8, tol = 1e-12)$n = 99.080565009224
    assert document["n_per_arm"] == pytest.approx(99.080565009224, abs=1e-8)
    assert document["n_per_arm_rounded"] == 100
    assert document["power"] == pytest.approx(0.8, abs=1e-9)


def test_ttest_power_at_n_one_sided(capsys):
    status, out, _ = run(capsys, "power", "ttest", "--delta", "1", "--n", "20", "--json")
    assert status == 0
    # R: power.t.test(n = 20, delta = 1)$power
    assert json.loads(out)["power"] == pytest.approx(0.868952801692498, abs=1e-9)
    status, out, _ = run(capsys, "power", "ttest", "--delta", "1", "--power", "0.9", "--one-sided", "--json")
    assert json.loads(out)["n_per_arm"] == pytest.approx(17.847120626537, abs=1e-8)


def test_prop_text_output(capsys):
    status, out, _ = run(capsys, "power", "prop", "--p1", "0.5", "--p2", "0.75", "--n", "50")
    assert status == 0
    assert "power = 0.740166" in out  # R: 0.740165901331388


@pytest.mark.parametrize(
    "argv",
    [
        ["power", "ancova", "--delta", "6", "--sd", "15", "--rho", "0.5", "--power", "0.8"],
        ["power", "repeated", "--delta", "6", "--sd", "15", "--rho", "0.5", "--power", "0.8"],
        ["power", "pnm", "--delta", "6", "--sd", "15", "--icc", "0.05", "--power", "0.8", "--optimal"],
        ["power", "counts", "--rate0", "2", "--rate1", "1.5", "--dispersion", "0.5", "--power", "0.8"],
    ],
)
def test_other_designs_reach_the_requested_power(capsys, argv):
    status, out, _ = run(capsys, *argv, "--dropout", "0.1", "--json")
    assert status == 0
    document = json.loads(out)
    assert document["power"] == pytest.approx(0.8, abs=1e-9)
    assert document["n_recruit_per_arm"] == pytest.approx(document["n_per_arm"] / 0.9)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["power", "ttest", "--delta", "6", "--sd", "-15", "--power", "0.8"], "sd must be a positive number"),
        (["power", "ttest", "--delta", "6", "--sd", "15", "--power", "1.5"],
         "power must be strictly between"),
        (["power", "ttest", "--delta", "6", "--sd", "15"], "give exactly one of n"),
        (["power", "ttest", "--delta", "6", "--n", "30", "--power", "0.8"], "give exactly one of n"),
        (["power", "ttest", "--delta", "0", "--power", "0.8"], "delta must be > 0 to solve for n"),
        (["power", "prop", "--p1", "0.4", "--p2", "0.4", "--power", "0.8"], "p1 and p2 are equal"),
        (["power", "pnm", "--delta", "6", "--sd", "15", "--icc", "-0.1", "--power", "0.8"], "icc must be in"),
        (["power", "counts", "--rate0", "0", "--rate1", "1", "--power", "0.8"],
         "mu0 must be a positive number"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert message in err
