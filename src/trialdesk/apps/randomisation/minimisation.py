"""Minimisation (Pocock-Simon with a random element), when the protocol selects it.

The decision is the pure :func:`trialdesk.allocation.minimise`; this module replays the allocations
made so far, restores the seeded generator from its stored state, and stores the state it leaves.
"""

from __future__ import annotations

import numpy as np
from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import allocation, clock
from trialdesk.allocation import minimisation as pure
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.participants.models import Participant
from trialdesk.errors import UserError
from trialdesk.protocol import Protocol

from .models import Allocation, MinimisationState

VERSION = f"{pure.ALGORITHM}/{pure.ALGORITHM_VERSION}"


def _encode(state: dict) -> dict:
    # PCG64's 128-bit integers do not survive every JSON column; keep them as decimal strings.
    return {
        k: _encode(v) if isinstance(v, dict) else str(v) if isinstance(v, int) else v
        for k, v in state.items()
    }


def _decode(state: dict) -> dict:
    return {
        k: _decode(v) if isinstance(v, dict) else int(v) if str(v).isdigit() else v for k, v in state.items()
    }


def start(seed: int, context: Context) -> MinimisationState:
    """The statistician sets the seed once, before the first minimised allocation."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserError(_("seed must be a whole number >= 0, got %(seed)s") % {"seed": repr(seed)})
    with transaction.atomic():
        if MinimisationState.objects.exists():
            raise UserError(_("minimisation has already been started; its seed cannot change"))
        state = MinimisationState.objects.create(
            seed=seed, algorithm_version=VERSION,
            generator_state=_encode(np.random.Generator(np.random.PCG64(seed)).bit_generator.state),
            protocol_hash=context.protocol_hash, updated_at=clock.now(),
        )  # fmt: skip
        append(context, action="create", entity="minimisation", entity_id=state.pk,
               new={"seed": seed, "algorithm_version": VERSION})  # fmt: skip
    return state


def allocate(
    participant: Participant, stratum: str, protocol: Protocol, context: Context
) -> tuple[Allocation, dict]:
    """Inside ``randomise``'s transaction: the locked state row serialises minimised allocations."""
    state = MinimisationState.objects.select_for_update().first()
    if state is None:
        raise UserError(
            _("minimisation has not been started: the trial statistician must set its seed first")
        )
    scheme = allocation.scheme_from_protocol(protocol)
    rng = np.random.Generator(np.random.PCG64(state.seed))
    rng.bit_generator.state = _decode(state.generator_state)
    before = state.generator_state
    previous = [
        (scheme.parse_stratum(s), arm)
        for s, arm in Allocation.objects.order_by("pk").values_list("stratum", "arm")
    ]
    decision = allocation.minimise(previous, scheme.parse_stratum(stratum), scheme, rng)
    state.generator_state = _encode(rng.bit_generator.state)
    state.updated_at = clock.now()
    state.save(update_fields=["generator_state", "updated_at"])
    made = Allocation.objects.create(
        participant=participant, arm=decision.arm, stratum=stratum, method="minimisation",
        generator_state_before=before, allocated_at=clock.now(), allocated_by=context.actor,
        protocol_hash=context.protocol_hash,
    )  # fmt: skip
    # The scores and chances would reveal the arm to blinded ledger readers: only the draw's position.
    return made, {"algorithm_version": VERSION, "draw": len(previous) + 1}
