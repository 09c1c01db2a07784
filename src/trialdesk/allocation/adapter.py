"""Build an :class:`AllocationScheme` from a loaded protocol (the only place that knows its shape)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trialdesk.allocation.scheme import AllocationScheme, Factor, MinimisationSettings

if TYPE_CHECKING:
    from trialdesk.protocol import Protocol


def scheme_from_protocol(protocol: Protocol) -> AllocationScheme:
    """Arms and ratios, strata (site levels are the sites), block sizes and minimisation settings.

    The protocol has no imbalance-measure field yet, so minimisation uses the range (Pocock & Simon's
    own choice); factor weights missing from the protocol weigh 1.
    """
    randomisation = protocol.randomisation
    settings = None
    if randomisation.minimisation is not None:
        settings = MinimisationSettings(
            probability=randomisation.minimisation.probability,
            weights=dict(randomisation.minimisation.factor_weights),
        )
    return AllocationScheme(
        arms=tuple(arm.code for arm in protocol.arms),
        ratios=tuple(arm.ratio for arm in protocol.arms),
        factors=tuple(Factor(f.code, protocol.factor_levels(f)) for f in protocol.stratification),
        block_sizes=tuple(randomisation.block_sizes),
        minimisation=settings,
        protocol_hash=protocol.content_hash,
    )
