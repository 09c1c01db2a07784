"""Bonferroni, Holm and fixed-sequence adjusted p-values against R's p.adjust (multiplicity_padjust.R)."""

import pytest

from trialdesk.stats.multiplicity import adjust


def test_multiplicity_matches_p_adjust() -> None:
    # multiplicity_padjust.Rout (R 4.2.2 p.adjust)
    p = [0.010, 0.040, 0.030, 0.005, 0.200, 0.0125]
    assert list(adjust(p, "bonferroni")["p_adjusted"]) == pytest.approx([0.06, 0.24, 0.18, 0.03, 1.0, 0.075])
    assert list(adjust(p, "holm")["p_adjusted"]) == pytest.approx([0.05, 0.09, 0.09, 0.03, 0.20, 0.05])
    fixed = adjust(p, "fixed-sequence")
    assert list(fixed["p_adjusted"]) == pytest.approx([0.01, 0.04, 0.04, 0.04, 0.20, 0.20])
    assert list(fixed["reject"]) == [True, True, True, True, False, False]
    assert list(fixed["tested"]) == [True, True, True, True, True, False]
