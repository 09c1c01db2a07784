"""Minimisation (Pocock-Simon with a random element), when the protocol selects it.

The choice itself is the pure function in :mod:`trialdesk.allocation`; this module feeds it the arms
already allocated and a generator restored from the stored state, and stores the state it leaves.
"""

from __future__ import annotations

import numpy as np
from django.db import transaction

from trialdesk import clock
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.participants.models import Participant
from trialdesk.errors import UserError
from trialdesk.protocol import Protocol

from . import strata
from .models import Allocation, MinimisationState


def _encode(state: dict) -> dict:
    # PCG64's 128-bit integers do not survive every JSON column; keep them as decimal strings.
    return {
        key: _encode(value) if isinstance(value, dict) else str(value) if isinstance(value, int) else value
        for key, value in state.items()
    }


def _decode(state: dict) -> dict:
    return {
        key: _decode(value) if isinstance(value, dict) else int(value) if str(value).isdigit() else value
        for key, value in state.items()
    }


def generator(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def start(seed: int, context: Context) -> MinimisationState:
    """The statistician sets the seed once, before the first minimised allocation."""
    from trialdesk.allocation import MINIMISATION_ALGORITHM

    with transaction.atomic():
        if MinimisationState.objects.exists():
            raise UserError("minimisation has already been started; its seed cannot change")
        state = MinimisationState.objects.create(
            seed=seed,
            algorithm_version=MINIMISATION_ALGORITHM,
            generator_state=_encode(generator(seed).bit_generator.state),
            protocol_hash=context.protocol_hash,
            updated_at=clock.now(),
        )
        append(
            context,
            action="create",
            entity="minimisation",
            entity_id=state.pk,
            new={"seed": seed, "algorithm_version": state.algorithm_version},
        )
    return state


def allocate(
    participant: Participant, stratum: str, protocol: Protocol, context: Context
) -> tuple[Allocation, dict]:
    """Inside ``randomise``'s transaction: the locked state row serialises minimised allocations."""
    from trialdesk.allocation import minimise

    state = MinimisationState.objects.select_for_update().first()
    if state is None:
        raise UserError("minimisation has not been started: the trial statistician must set its seed first")
    rng = generator(state.seed)
    rng.bit_generator.state = _decode(state.generator_state)
    before = state.generator_state
    history = [tuple(s.split(strata.SEPARATOR)) for s in Allocation.objects.values_list("stratum", flat=True)]
    arms = list(Allocation.objects.values_list("arm", flat=True))
    arm = minimise(
        protocol,
        allocated=list(zip(history, arms, strict=True)),
        levels=tuple(stratum.split(strata.SEPARATOR)),
        rng=rng,
    )
    state.generator_state = _encode(rng.bit_generator.state)
    state.updated_at = clock.now()
    state.save(update_fields=["generator_state", "updated_at"])
    allocation = Allocation.objects.create(
        participant=participant,
        arm=arm,
        stratum=stratum,
        method="minimisation",
        generator_state_before=before,
        allocated_at=clock.now(),
        allocated_by=context.actor,
        protocol_hash=context.protocol_hash,
    )
    return allocation, {"algorithm_version": state.algorithm_version, "draw": Allocation.objects.count()}
