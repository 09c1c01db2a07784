"""Sequence generation: stratified permuted blocks, seeding per stratum, the protocol adapter."""

from collections import Counter

import numpy as np
import pytest

from trialdesk.allocation import (
    ALGORITHM,
    ALGORITHM_VERSION,
    AllocationScheme,
    Factor,
    generate_list,
    permuted_blocks,
    scheme_from_protocol,
    stratum_seed,
)
from trialdesk.errors import UserError
from trialdesk.protocol import EMBEDDED_PROTOCOL, load_protocol

SCHEME = AllocationScheme(
    ("IMR", "TAU"),
    (1, 1),
    (Factor("site", ("BAL", "FRB")), Factor("diagnosis", ("schizophrenia", "bipolar"))),
)


def test_every_stratum_gets_whole_blocks_and_at_least_n_slots():
    allocation_list = generate_list(SCHEME, seed=20110228, per_stratum=25)
    by_stratum = allocation_list.arms_by_stratum()
    assert list(by_stratum) == list(SCHEME.strata())
    for stratum, arms in by_stratum.items():
        slots = [s for s in allocation_list.slots if s.stratum == stratum]
        assert [s.sequence for s in slots] == list(range(1, len(slots) + 1))
        assert 25 <= len(arms) <= 25 + 5  # a last block of up to 6 may overshoot by at most 5
        assert Counter(arms)["IMR"] == Counter(arms)["TAU"]  # whole 1:1 blocks end balanced
        assert {s.block_size for s in slots} <= {2, 4, 6}


def test_block_sizes_vary_and_all_occur():
    allocation_list = generate_list(SCHEME, seed=1, per_stratum=200)
    blocks = {(s.stratum, s.block): s.block_size for s in allocation_list.slots}
    counts = Counter(blocks.values())
    assert set(counts) == {2, 4, 6}
    # drawn with equal probability: ~1/3 each of ~4 x 50 blocks; 4 SDs is about 0.13
    shares = np.array([counts[b] for b in (2, 4, 6)]) / sum(counts.values())
    assert np.all(np.abs(shares - 1 / 3) < 0.13)


def test_unequal_ratio_blocks_follow_the_ratio():
    scheme = AllocationScheme(("A", "B"), (2, 1), (), (3, 6))
    blocks = permuted_blocks(scheme, 60, np.random.default_rng(5))
    for size, arms in blocks:
        assert Counter(arms) == {"A": 2 * size // 3, "B": size // 3}


def test_metadata_records_seed_algorithm_and_hash():
    allocation_list = generate_list(SCHEME, seed=42, per_stratum=4)
    info = allocation_list.info
    assert (info.algorithm, info.algorithm_version, info.seed) == (ALGORITHM, ALGORITHM_VERSION, 42)
    assert info.arms == "IMR:1 TAU:1"
    assert info.block_sizes == "2 4 6"
    assert len(allocation_list.sha256) == 64
    text = allocation_list.text()
    assert f"# sha256: {allocation_list.sha256}\n" in text
    assert text.endswith(allocation_list.body)


def test_stratum_seed_depends_on_label_not_position():
    a = stratum_seed(7, "site=BAL").generate_state(4)
    b = stratum_seed(7, "site=BAL").generate_state(4)
    c = stratum_seed(7, "site=FRB").generate_state(4)
    d = stratum_seed(8, "site=BAL").generate_state(4)
    assert (a == b).all()
    assert not (a == c).all()
    assert not (a == d).all()


def test_per_stratum_mapping_must_name_every_stratum():
    with pytest.raises(UserError, match="missing strata"):
        generate_list(SCHEME, seed=1, per_stratum={"site=BAL|diagnosis=bipolar": 4})


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_per_stratum_must_be_positive_whole(n):
    with pytest.raises(UserError, match="must be a positive whole number"):
        generate_list(SCHEME, seed=1, per_stratum=n)


@pytest.mark.parametrize("seed", [-1, "7", 1.0])
def test_seed_must_be_a_whole_number(seed):
    with pytest.raises(UserError, match="seed must be a whole number >= 0"):
        generate_list(SCHEME, seed=seed, per_stratum=4)


def test_scheme_from_the_embedded_imr_protocol():
    protocol = load_protocol()
    scheme = scheme_from_protocol(protocol)
    assert scheme.arms == ("IMR", "TAU")
    assert scheme.ratios == (1, 1)
    assert scheme.block_sizes == (2, 4, 6)
    assert scheme.strata() == SCHEME.strata()  # site levels come from the sites
    assert scheme.protocol_hash == protocol.content_hash
    assert generate_list(scheme, 3, 10).info.protocol_hash == protocol.content_hash


def test_scheme_from_a_minimisation_protocol(tmp_path):
    text = EMBEDDED_PROTOCOL.read_text().replace(
        'method = "permuted_blocks"',
        'method = "minimisation"\nminimisation = { probability = 0.75, factor_weights = { site = 2.0 } }',
    )
    path = tmp_path / "min.toml"
    path.write_text(text)
    scheme = scheme_from_protocol(load_protocol(path))
    assert scheme.minimisation is not None
    assert scheme.minimisation.probability == 0.75
    assert scheme.minimisation.weight("site") == 2.0
    assert scheme.minimisation.weight("diagnosis") == 1.0
