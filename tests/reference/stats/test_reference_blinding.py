"""Bang's and James' blinding indices against published numbers.

Houweling et al., Clinical Trials 2014;11:547-552, Table 2 (investigators: guessed treatment 48 / 22,
guessed placebo 4 / 30, don't know 330 / 319 in the treatment / placebo arms) as computed by the R package
BI (Schwartz & Mercaldo) and printed in the README of BlindingIndex.jl: James 0.896 (SE 0.011,
95 % CI 0.875 to 0.918); Bang treatment 0.115 (0.018; 0.08 to 0.15), placebo 0.022 (0.019; -0.016 to 0.06).
"""

import pytest

from trialdesk.stats.blinding import bang_index, blinding_indices, james_index

INVESTIGATORS = [[48, 22], [4, 30], [330, 319]]


def test_houweling_investigators() -> None:
    result = blinding_indices(INVESTIGATORS, arms=("treatment", "placebo")).set_index("arm")
    james = result.loc["overall"]
    assert (round(james["estimate"], 3), round(james["se"], 3)) == (0.896, 0.011)
    assert (round(james["ci_low"], 3), round(james["ci_high"], 3)) == (0.875, 0.918)
    treatment, placebo = result.loc["treatment"], result.loc["placebo"]
    assert (round(treatment["estimate"], 3), round(treatment["se"], 3)) == (0.115, 0.018)
    assert (round(treatment["ci_low"], 2), round(treatment["ci_high"], 2)) == (0.08, 0.15)
    assert (round(placebo["estimate"], 3), round(placebo["se"], 3)) == (0.022, 0.019)
    assert (round(placebo["ci_low"], 3), round(placebo["ci_high"], 2)) == (-0.016, 0.06)


def test_bang_index_is_correct_minus_incorrect_over_n() -> None:
    # Bang et al. (2004) definition, by hand: (48 - 4) / 382 and (30 - 22) / 371
    bang = bang_index(INVESTIGATORS)
    assert list(bang["estimate"]) == pytest.approx([44 / 382, 8 / 371], abs=1e-12)


def test_james_index_limits() -> None:
    # James et al. (1996): all don't know -> 1; all correct -> 0; half right, half wrong -> 0.5
    assert james_index([[0, 0], [0, 0], [10, 12]]).iloc[0]["estimate"] == 1.0
    assert james_index([[20, 0], [0, 20], [0, 0]]).iloc[0]["estimate"] == pytest.approx(0.0, abs=1e-12)
    assert james_index([[10, 10], [10, 10], [0, 0]]).iloc[0]["estimate"] == pytest.approx(0.5, abs=1e-12)
