"""Allocation schemes: validation of arms, ratios, block sizes and strata labels."""

import numpy as np
import pytest

from trialdesk.allocation import AllocationScheme, Factor, MinimisationSettings, imbalance
from trialdesk.errors import UserError

SITE = Factor("site", ("BAL", "FRB"))
DIAGNOSIS = Factor("diagnosis", ("schizophrenia", "bipolar"))


def imr_scheme(**changes):
    settings = {
        "arms": ("IMR", "TAU"),
        "ratios": (1, 1),
        "factors": (SITE, DIAGNOSIS),
        "block_sizes": (2, 4, 6),
    }
    settings.update(changes)
    return AllocationScheme(**settings)


def test_strata_are_the_cartesian_product_in_protocol_order():
    assert imr_scheme().strata() == (
        "site=BAL|diagnosis=schizophrenia",
        "site=BAL|diagnosis=bipolar",
        "site=FRB|diagnosis=schizophrenia",
        "site=FRB|diagnosis=bipolar",
    )


def test_unstratified_scheme_has_one_stratum():
    assert imr_scheme(factors=()).strata() == ("all",)


def test_block_size_must_be_a_multiple_of_the_ratio_sum():
    with pytest.raises(
        UserError, match=r"block size 4 is not a multiple of the ratio sum 3 \(IMR:TAU = 2:1\)"
    ):
        imr_scheme(ratios=(2, 1), block_sizes=(3, 4))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"arms": ("IMR",), "ratios": (1,)}, "at least two arms"),
        ({"arms": ("IMR", "IMR")}, "unique"),
        ({"ratios": (1, 0)}, "ratio of arm 'TAU' must be a positive whole number"),
        ({"ratios": (1, 1.5)}, "ratio of arm 'TAU'"),
        ({"ratios": (1,)}, "2 arms but 1 ratios"),
        ({"block_sizes": (0,)}, "positive whole number"),
        ({"block_sizes": (2, 2)}, "distinct"),
        ({"arms": ("I|MR", "TAU")}, "arm code 'I|MR'"),
    ],
)
def test_bad_schemes_are_refused(changes, message):
    with pytest.raises(UserError, match=message):
        imr_scheme(**changes)


def test_factor_needs_distinct_levels_without_separators():
    with pytest.raises(UserError, match="no levels"):
        Factor("site", ())
    with pytest.raises(UserError, match="twice"):
        Factor("site", ("BAL", "BAL"))
    with pytest.raises(UserError, match="level of factor 'site'"):
        Factor("site", ("BAL=1",))


def test_parse_stratum_names_the_unknown_level_and_the_known_ones():
    scheme = imr_scheme()
    assert scheme.parse_stratum("site=FRB|diagnosis=bipolar") == {"site": "FRB", "diagnosis": "bipolar"}
    with pytest.raises(UserError, match=r"unknown level 'XYZ' of factor 'site' \(known: BAL, FRB\)"):
        scheme.parse_stratum("site=XYZ|diagnosis=bipolar")
    with pytest.raises(UserError, match="factors must be site, diagnosis in that order"):
        scheme.parse_stratum("diagnosis=bipolar|site=FRB")
    with pytest.raises(UserError, match="not written factor=level"):
        scheme.parse_stratum("FRB|bipolar")


def test_stratum_of_a_participant():
    assert imr_scheme().stratum_of({"diagnosis": "bipolar", "site": "BAL"}) == "site=BAL|diagnosis=bipolar"


def test_smallest_block_reduces_by_the_common_divisor():
    assert imr_scheme(ratios=(2, 2), block_sizes=(4,)).smallest_block == 2
    assert imr_scheme(ratios=(2, 1), block_sizes=(3,)).smallest_block == 3


def test_imbalance_is_abs_difference_at_one_to_one_and_distance_from_target_otherwise():
    assert imbalance([7, 3], [0.5, 0.5]) == pytest.approx(4)
    # 2:1 with 4 and 2 is on target; 3 and 3 is 1 above and 1 below the targets 4 and 2.
    assert imbalance([4, 2], [2 / 3, 1 / 3]) == pytest.approx(0)
    assert imbalance([3, 3], [2 / 3, 1 / 3]) == pytest.approx(2)
    np.testing.assert_allclose(imbalance([[1, 0], [2, 2]], [0.5, 0.5]), [1, 0])


def test_minimisation_settings_are_checked():
    with pytest.raises(UserError, match=r"probability must be in \(0, 1\]"):
        MinimisationSettings(probability=1.2)
    with pytest.raises(UserError, match="'range' or 'variance'"):
        MinimisationSettings(measure="sd")
    with pytest.raises(UserError, match="weight of factor 'site' must be positive"):
        MinimisationSettings(weights={"site": 0})
    assert MinimisationSettings(weights={"site": 2}).weight("diagnosis") == 1.0
