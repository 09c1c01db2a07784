"""trialdesk.design against R's power.t.test and power.prop.test (R 4.2.2, outputs stored here).

Cases are the examples of R's help pages ?power.t.test and ?power.prop.test plus the IMR trial's
sample size; see README.md beside this file. CI has no R: the test reads power_reference.Rout.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trialdesk.design import power_counts, power_prop_test, power_t_test

ROUT = Path(__file__).with_name("power_reference.Rout")
LINE = re.compile(r"^(\S+) n=([0-9.]+) power=([0-9.]+)$")


def r_outputs() -> dict[str, tuple[float, float]]:
    found = {}
    for line in ROUT.read_text().splitlines():
        match = LINE.match(line)
        if match:
            found[match.group(1)] = (float(match.group(2)), float(match.group(3)))
    return found


R = r_outputs()


def test_reference_file_has_every_case():
    assert len(R) == 20


# (label in .Rout, keyword arguments) for power computed at a given n
T_POWER = [
    ("t_n20_delta1", {"delta": 1, "n": 20}),
    ("t_imr_n100", {"delta": 6, "sd": 15, "n": 100}),
    ("t_n5_delta1_strict", {"delta": 1, "n": 5, "strict": True}),
    ("t_n5_delta1", {"delta": 1, "n": 5}),
    ("t_n12.5_delta0.8_sd1.3_alpha01_onesided",
     {"delta": 0.8, "sd": 1.3, "n": 12.5, "alpha": 0.01, "sides": 1}),
]


@pytest.mark.parametrize(("label", "kwargs"), T_POWER)
def test_t_power_matches_r(label, kwargs):
    assert power_t_test(**kwargs).power == pytest.approx(R[label][1], abs=1e-9)


T_N = [
    ("t_power90_delta1_tight", {"delta": 1, "power": 0.9}),
    ("t_power90_delta1_onesided_tight", {"delta": 1, "power": 0.9, "sides": 1}),
    ("t_imr_tight", {"delta": 6, "sd": 15, "power": 0.8}),
    ("t_imr_sd13_power90_tight", {"delta": 6, "sd": 13, "power": 0.9}),
    ("t_power80_delta0.5_strict_tight", {"delta": 0.5, "power": 0.8, "strict": True}),
]


@pytest.mark.parametrize(("label", "kwargs"), T_N)
def test_t_sample_size_matches_r(label, kwargs):
    result = power_t_test(**kwargs)
    assert result.n_per_arm == pytest.approx(R[label][0], abs=1e-8)
    assert result.power == pytest.approx(kwargs["power"], abs=1e-9)


@pytest.mark.parametrize("label", ["t_power90_delta1", "t_power90_delta1_onesided", "t_imr"])
def test_t_sample_size_within_r_default_uniroot_tolerance(label):
    # R's default tol is .Machine$double.eps^0.25 = 1.22e-4 on n
    tight = R[label + "_tight"][0]
    assert R[label][0] == pytest.approx(tight, abs=1.3e-4)
    sides = 1 if "onesided" in label else 2
    delta, sd, power = (6, 15, 0.8) if label == "t_imr" else (1, 1, 0.9)
    ours = power_t_test(delta, sd, power=power, sides=sides).n_per_arm
    assert ours == pytest.approx(R[label][0], abs=1.3e-4)


def test_imr_protocol_sample_size_is_100_per_arm():
    result = power_t_test(6, 15, power=0.8)
    assert result.n_per_arm == pytest.approx(99.080565009224, abs=1e-8)  # R, tol = 1e-12
    assert result.n_per_arm_rounded == 100
    assert result.n_total == pytest.approx(198.16113, abs=1e-4)


PROP_POWER = [
    ("prop_n50", {"n": 50}),
    ("prop_n50_onesided", {"n": 50, "sides": 1}),
    ("prop_n50_strict", {"n": 50, "strict": True}),
]


@pytest.mark.parametrize(("label", "kwargs"), PROP_POWER)
def test_prop_power_matches_r(label, kwargs):
    assert power_prop_test(0.5, 0.75, **kwargs).power == pytest.approx(R[label][1], abs=1e-9)


PROP_N = [
    ("prop_power90_tight", {"p1": 0.5, "p2": 0.75, "power": 0.9}),
    ("prop_power80_p0.2_0.35_tight", {"p1": 0.2, "p2": 0.35, "power": 0.8}),
    ("prop_power80_p0.2_0.35_strict_tight", {"p1": 0.2, "p2": 0.35, "power": 0.8, "strict": True}),
]


@pytest.mark.parametrize(("label", "kwargs"), PROP_N)
def test_prop_sample_size_matches_r(label, kwargs):
    result = power_prop_test(**kwargs)
    assert result.n_per_arm == pytest.approx(R[label][0], abs=1e-8)
    assert result.power == pytest.approx(kwargs["power"], abs=1e-9)


@pytest.mark.parametrize(
    ("n0", "ratio", "dispersion", "expected"),
    [
        # MKmisc/PASSED power_NegativeBinomial(n1, n2, mu1 = 0.5, mu2 = 0.3, theta, duration = 2,
        # approach = 3)
        (100, 0.5, 0.5, 0.6207448),  # n1 = 100, n2 = 50, theta = 2
        (50, 2.0, 0.5, 0.5825763),  # n1 = 50, n2 = 100, theta = 2
        (50, 2.0, 1 / 200000, 0.7248956),  # theta = 200000: Poisson limit
    ],
)
def test_counts_match_mkmisc(n0, ratio, dispersion, expected):
    result = power_counts(0.5, 0.3, dispersion=dispersion, duration=2, ratio=ratio, n=n0, approach=3)
    assert result.power == pytest.approx(expected, abs=5e-8)
