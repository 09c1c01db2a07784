"""Minimisation selected in the protocol: the seeded generator's state is stored and replays exactly."""

import numpy as np
import pytest

from enrolment_support import STRATA, enrol, install, stratum_parts
from trialdesk.allocation import minimise, scheme_from_protocol
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.randomisation import minimisation
from trialdesk.apps.randomisation.models import Allocation, MinimisationState
from trialdesk.apps.randomisation.services import randomise
from trialdesk.apps.trial.services import install_protocol
from trialdesk.errors import UserError
from trialdesk.protocol import EMBEDDED_PROTOCOL, parse_protocol

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def ctx():
    install()
    text = EMBEDDED_PROTOCOL.read_text()
    text = text.replace('method = "permuted_blocks"', 'method = "minimisation"', 1)
    text = text.replace(
        "[[eligibility]]", "[randomisation.minimisation]\nprobability = 0.8\n\n[[eligibility]]", 1
    )
    protocol = parse_protocol(text)
    assert protocol.randomisation.method == "minimisation"
    context = Context(actor="signe", channel="web", protocol_hash=protocol.content_hash)
    install_protocol(protocol, context)
    return context, protocol


def test_minimisation_needs_its_seed_first(ctx):
    context, _ = ctx
    participant = enrol(context)
    with pytest.raises(UserError, match="minimisation has not been started"):
        randomise(participant, context)
    assert Allocation.objects.count() == 0


def test_stored_generator_state_replays_the_same_allocations(ctx):
    context, protocol = ctx
    minimisation.start(77, context)
    with pytest.raises(UserError, match="already been started"):
        minimisation.start(78, context)
    people = [enrol(context, *stratum_parts(STRATA[i % 3])) for i in range(12)]
    arms = [randomise(p, context).arm for p in people]
    allocations = list(Allocation.objects.order_by("pk"))
    assert [a.method for a in allocations] == ["minimisation"] * 12
    assert all(a.generator_state_before for a in allocations)
    # One uninterrupted generator from the same seed, fed the same participants, gives the same arms.
    scheme = scheme_from_protocol(protocol)
    rng = np.random.Generator(np.random.PCG64(77))
    previous = []
    for allocation in allocations:
        levels = scheme.parse_stratum(allocation.stratum)
        previous.append((levels, minimise(previous, levels, scheme, rng).arm))
    assert [arm for _, arm in previous] == arms
    assert MinimisationState.objects.get().generator_state != allocations[0].generator_state_before
    # Margins stay close: at each site the arms differ by at most 2 after 12 minimised allocations.
    for site in ("BAL", "FRB"):
        at_site = [a.arm for a in allocations if a.stratum.startswith(f"site={site}|")]
        assert abs(at_site.count("IMR") - at_site.count("TAU")) <= 2
