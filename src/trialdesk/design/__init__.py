"""Sample size and power, in closed form (this package) and by simulation (:mod:`trialdesk.simulation`).

Every function takes either ``n`` (to compute power) or ``power`` (to compute the unrounded n per arm)
and returns a :class:`DesignResult`. Pure: no Django.
"""

from trialdesk.design.ancova import frison_pocock_factor, power_ancova, power_repeated_measures
from trialdesk.design.counts import power_counts
from trialdesk.design.partially_nested import design_effect, optimal_ratio, power_partially_nested
from trialdesk.design.proportions import power_prop_test
from trialdesk.design.result import DesignResult, inflate_for_dropout
from trialdesk.design.ttest import power_t_test

__all__ = [
    "DesignResult",
    "design_effect",
    "frison_pocock_factor",
    "inflate_for_dropout",
    "optimal_ratio",
    "power_ancova",
    "power_counts",
    "power_partially_nested",
    "power_prop_test",
    "power_repeated_measures",
    "power_t_test",
]
