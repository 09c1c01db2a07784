"""Allocation sequences: generation, list files, minimisation and QA by simulation (pure, no Django).

Sequence generation is separate from allocation (CONSORT): this package makes and checks lists and
decides minimisation allocations from plain inputs; the web service hands out slots.

>>> from trialdesk.allocation import AllocationScheme, Factor, generate_list
>>> scheme = AllocationScheme(("IMR", "TAU"), (1, 1), (Factor("site", ("BAL", "FRB")),), (2, 4))
>>> allocation_list = generate_list(scheme, seed=2011, per_stratum=4)
>>> allocation_list.strata()
('site=BAL', 'site=FRB')
"""

from trialdesk.allocation.adapter import scheme_from_protocol
from trialdesk.allocation.blocks import (
    ALGORITHM,
    ALGORITHM_VERSION,
    generate_list,
    permuted_blocks,
    stratum_seed,
)
from trialdesk.allocation.listfile import parse_list, read_list, write_list
from trialdesk.allocation.minimisation import Decision, MarginalCounts, minimise
from trialdesk.allocation.predictability import (
    convergence_correct,
    fixed_block_predictability,
    guess_chances,
    predictability,
)
from trialdesk.allocation.qa import Distribution, MethodQA, QAReport, StratumQA, qa_list, reproduces
from trialdesk.allocation.scheme import (
    UNSTRATIFIED,
    AllocationScheme,
    Factor,
    MinimisationSettings,
    imbalance,
    stratum_label,
)
from trialdesk.allocation.sequence import COLUMNS, AllocationList, ListInfo, Slot

__all__ = [
    "ALGORITHM",
    "ALGORITHM_VERSION",
    "COLUMNS",
    "UNSTRATIFIED",
    "AllocationList",
    "AllocationScheme",
    "Decision",
    "Distribution",
    "Factor",
    "ListInfo",
    "MarginalCounts",
    "MethodQA",
    "MinimisationSettings",
    "QAReport",
    "Slot",
    "StratumQA",
    "convergence_correct",
    "fixed_block_predictability",
    "generate_list",
    "guess_chances",
    "imbalance",
    "minimise",
    "parse_list",
    "permuted_blocks",
    "predictability",
    "qa_list",
    "read_list",
    "reproduces",
    "scheme_from_protocol",
    "stratum_label",
    "stratum_seed",
    "write_list",
]
