"""Input checks of the small modules: blinding, agreement, effect sizes, multiplicity."""

import numpy as np
import pandas as pd
import pytest

from trialdesk.errors import UserError
from trialdesk.stats.agreement import icc, kappa_table, weighted_kappa
from trialdesk.stats.blinding import bang_index, guess_table
from trialdesk.stats.effect_sizes import hedges_g, mean_difference, odds_ratio
from trialdesk.stats.multiplicity import adjust


def test_guess_table_from_assessments() -> None:
    data = pd.DataFrame({"arm": ["IMR", "IMR", "TAU", "TAU", "TAU"],
                         "guess": ["IMR", "don't know", "IMR", "TAU", "TAU"]})
    table = guess_table(data, "arm", "guess", "IMR", control="TAU")
    assert table.tolist() == [[1, 1], [0, 2], [1, 0]]
    assert list(bang_index(table)["estimate"]) == pytest.approx([0.5, 1 / 3])
    with pytest.raises(UserError, match="answers"):
        guess_table(data.assign(guess="maybe"), "arm", "guess", "IMR", control="TAU")


def test_agreement_bad_input() -> None:
    with pytest.raises(UserError, match="complete"):
        icc(np.array([[1, 2], [3, np.nan], [2, 2]]))
    with pytest.raises(UserError, match="square"):
        weighted_kappa(np.ones((2, 3)))
    table = kappa_table(pd.Series([1, 2, 3, 3]), pd.Series([1, 2, 2, 3]), [1, 2, 3])
    assert table.trace() == 3
    with pytest.raises(UserError, match="not among"):
        kappa_table(pd.Series([1, 9]), pd.Series([1, 2]), [1, 2, 3])


def test_effect_sizes_bad_input_and_welch() -> None:
    with pytest.raises(UserError, match="at least 2"):
        mean_difference([1.0], [1.0, 2.0])
    with pytest.raises(UserError, match="zero"):
        hedges_g([1.0, 1.0], [1.0, 1.0])
    with pytest.raises(UserError, match="cells"):
        odds_ratio(0, 1, 2, 3)
    welch = mean_difference([1.0, 2.0, 3.0, 4.0], [2.0, 2.5, 9.0], welch=True).iloc[0]
    assert welch["df"] < 5


def test_multiplicity_bad_input() -> None:
    with pytest.raises(UserError, match=r"\[0, 1\]"):
        adjust([0.2, 1.5])
    with pytest.raises(UserError, match="not one of"):
        adjust([0.2], method="hochberg-ish")
