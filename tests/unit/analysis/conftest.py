"""A simulated 198-participant IMR trial and a protocol whose primary MI uses few imputations (speed)."""

from __future__ import annotations

import pytest

from trialdesk import datasets
from trialdesk.protocol import load_protocol
from trialdesk.simulation.trial import simulate_trial

M = 5


def _small_m(protocol):
    plans = []
    for plan in protocol.analysis.plans:
        few = plan.missing_data.model_copy(update={"imputations": M})
        mi = plan.missing_data.method == "mi"
        plans.append(plan.model_copy(update={"missing_data": few}) if mi else plan)
    analysis = protocol.analysis.model_copy(update={"plans": tuple(plans)})
    return protocol.model_copy(update={"analysis": analysis})


@pytest.fixture(scope="session")
def protocol():
    return _small_m(load_protocol())


@pytest.fixture(scope="session")
def trial():
    return simulate_trial(seed=5)


@pytest.fixture(scope="session")
def tables(trial):
    return {name: datasets.check(name, getattr(trial, name)) for name in datasets.TABLES}


@pytest.fixture(scope="session")
def results(protocol, tables):
    from trialdesk.analysis import run_plan

    return run_plan(protocol, tables, seed=11, snapshot_hash="abc123")
