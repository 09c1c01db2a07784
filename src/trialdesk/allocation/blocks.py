"""Stratified permuted blocks with randomly varying block sizes, reproducible from one seed.

Each stratum gets its own stream: a :class:`numpy.random.SeedSequence` made from the seed and a
spawn key derived from the stratum's label (what ``SeedSequence.spawn`` does with a child's index, but
keyed by name). A stratum's list therefore depends only on the seed, its label and the scheme's arms,
ratios and block sizes: adding a site, reordering levels or lengthening another stratum leaves it
unchanged, and the streams are statistically independent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

from trialdesk.allocation.scheme import AllocationScheme
from trialdesk.allocation.sequence import AllocationList, ListInfo, Slot
from trialdesk.errors import UserError

ALGORITHM = "stratified_permuted_blocks"
#: Bump whenever the draws change (their order, the block-size rule, the per-stratum seeding).
ALGORITHM_VERSION = "1"


def stratum_seed(seed: int, stratum: str) -> np.random.SeedSequence:
    """The seed sequence of one stratum: entropy = the list's seed, spawn key = hash of the label."""
    digest = hashlib.sha256(stratum.encode("utf-8")).digest()
    key = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))
    return np.random.SeedSequence(entropy=seed, spawn_key=key)


def permuted_blocks(
    scheme: AllocationScheme, n: int, rng: np.random.Generator
) -> list[tuple[int, tuple[str, ...]]]:
    """Whole blocks until at least ``n`` slots: each ``(block_size, arms in order)``.

    The block size is drawn with equal probability from the scheme's sizes, then the block's arms
    (``size * ratio / ratio sum`` of each) are put in random order. Blocks are never cut short, so
    every stratum ends balanced and a list may hold up to ``max(block_sizes) - 1`` extra slots.
    """
    if not scheme.block_sizes:
        raise UserError("the scheme has no block sizes to draw from")
    sizes = np.asarray(scheme.block_sizes)
    blocks: list[tuple[int, tuple[str, ...]]] = []
    total = 0
    while total < n:
        size = int(sizes[rng.integers(len(sizes))])
        content = np.repeat(np.asarray(scheme.arms), [size * r // scheme.ratio_sum for r in scheme.ratios])
        order = rng.permutation(size)
        blocks.append((size, tuple(str(a) for a in content[order])))
        total += size
    return blocks


def generate_list(
    scheme: AllocationScheme, seed: int, per_stratum: int | Mapping[str, int]
) -> AllocationList:
    """A stratified permuted-block list with at least ``per_stratum`` slots in every stratum.

    ``per_stratum`` is one number for all strata or a number per stratum label (every stratum of the
    scheme must be given). The same seed and scheme give the same list, byte for byte.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise UserError(f"seed must be a whole number >= 0, got {seed!r}")
    strata = scheme.strata()
    if isinstance(per_stratum, Mapping):
        unknown = sorted(set(per_stratum) - set(strata))
        missing = [s for s in strata if s not in per_stratum]
        if unknown or missing:
            raise UserError(f"per-stratum sizes: unknown strata {unknown}, missing strata {missing}")
        sizes = {s: per_stratum[s] for s in strata}
    else:
        sizes = dict.fromkeys(strata, per_stratum)
    for stratum, n in sizes.items():
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n <= 0:
            raise UserError(f"per-stratum size of {stratum} must be a positive whole number, got {n!r}")
    slots: list[Slot] = []
    for stratum in strata:
        rng = np.random.Generator(np.random.PCG64(stratum_seed(int(seed), stratum)))
        sequence = 0
        for number, (size, arms) in enumerate(permuted_blocks(scheme, int(sizes[stratum]), rng), start=1):
            for arm in arms:
                sequence += 1
                slots.append(Slot(stratum, sequence, number, size, arm))
    info = ListInfo(
        algorithm=ALGORITHM,
        algorithm_version=ALGORITHM_VERSION,
        seed=int(seed),
        arms=" ".join(f"{a}:{r}" for a, r in zip(scheme.arms, scheme.ratios, strict=True)),
        block_sizes=" ".join(str(b) for b in scheme.block_sizes),
        per_stratum=None if isinstance(per_stratum, Mapping) else int(per_stratum),
        bit_generator="PCG64",
        numpy_version=np.__version__,
        protocol_hash=scheme.protocol_hash,
    )
    return AllocationList(tuple(slots), info)
