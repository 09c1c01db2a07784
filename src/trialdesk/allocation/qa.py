"""Quality assurance of an allocation list by simulation: balance and predictability.

Recruitment is simulated as ``n`` participants arriving one by one, each in a stratum drawn with the
given probabilities (equal by default), so strata fill unevenly as they do in a real trial. The same
arrivals are fed to every method compared:

- ``list``: the uploaded list, each stratum's slots used in order (a stratum can run out);
- ``blocks``: fresh lists of the same scheme (new seeds each simulation), what the scheme promises;
- ``minimisation``: Pocock-Simon with the scheme's (or default) settings.

For each we record the final imbalance overall, the largest final imbalance over strata and over
factor levels (margins), the largest running imbalance overall, and the proportion of correct guesses
of a recruiter using the convergence strategy with knowledge of past allocations (in the stratum for
lists; the preferred arm for minimisation). Imbalance is :func:`~trialdesk.allocation.scheme.imbalance`
(``|n_A - n_B|`` for two arms at 1:1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from trialdesk.allocation.blocks import ALGORITHM, ALGORITHM_VERSION, generate_list, permuted_blocks
from trialdesk.allocation.minimisation import MarginalCounts, arm_probabilities, choose
from trialdesk.allocation.predictability import convergence_correct
from trialdesk.allocation.scheme import AllocationScheme, MinimisationSettings, imbalance
from trialdesk.allocation.sequence import AllocationList
from trialdesk.errors import UserError

METHODS = ("list", "blocks", "minimisation")


@dataclass(frozen=True)
class Distribution:
    """Summary of one quantity over the simulations."""

    mean: float
    median: float
    p95: float
    max: float

    @classmethod
    def of(cls, values: npt.ArrayLike) -> Distribution:
        v = np.asarray(values, dtype=float)
        if not v.size:
            return cls(math.nan, math.nan, math.nan, math.nan)
        return cls(float(v.mean()), float(np.median(v)), float(np.quantile(v, 0.95)), float(v.max()))


@dataclass(frozen=True)
class StratumQA:
    """One stratum of the list: its own properties, and how it fared under simulated recruitment."""

    stratum: str
    slots: int
    probability: float
    predictability: float  # convergence strategy over the whole stratum list
    max_running_imbalance: float  # along the whole stratum list
    final_imbalance: Distribution  # after the simulated recruitment into this stratum
    exhausted: float  # share of simulations that wanted more slots than the stratum has


@dataclass(frozen=True)
class MethodQA:
    method: str
    description: str
    predictability: Distribution
    overall_final_imbalance: Distribution
    overall_max_running_imbalance: Distribution
    worst_stratum_imbalance: Distribution
    worst_margin_imbalance: Distribution


@dataclass(frozen=True)
class QAReport:
    n_participants: int
    n_sims: int
    seed: int
    list_sha256: str
    reproducible: bool | None  # regenerating from the recorded seed gives this list (None: cannot tell)
    protocol_matches: bool | None  # the list records the scheme's protocol hash (None: one is missing)
    strata: tuple[StratumQA, ...]
    methods: tuple[MethodQA, ...]

    def method(self, name: str) -> MethodQA:
        return next(m for m in self.methods if m.method == name)

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON (NaN becomes None)."""

        def clean(value: object) -> object:
            if isinstance(value, float) and math.isnan(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [clean(v) for v in value]
            return value

        result = clean(asdict(self))
        assert isinstance(result, dict)
        return result


def reproduces(allocation_list: AllocationList, scheme: AllocationScheme) -> bool | None:
    """Whether the recorded seed regenerates exactly this list (None if it was not made by us)."""
    info = allocation_list.info
    if info.algorithm != ALGORITHM or info.algorithm_version != ALGORITHM_VERSION or info.seed is None:
        return None
    lengths = {s: len(a) for s, a in allocation_list.arms_by_stratum().items()}
    if set(lengths) != set(scheme.strata()):
        return False
    return generate_list(scheme, info.seed, lengths).slots == allocation_list.slots


def qa_list(
    allocation_list: AllocationList,
    scheme: AllocationScheme,
    *,
    n_participants: int,
    n_sims: int = 1000,
    seed: int = 0,
    probabilities: Mapping[str, float] | None = None,
    methods: Sequence[str] = METHODS,
    minimisation: MinimisationSettings | None = None,
) -> QAReport:
    """Simulate recruitment of ``n_participants`` ``n_sims`` times; see the module docstring."""
    if n_participants <= 0 or n_sims <= 0:
        raise UserError(f"participants and simulations must be positive, got {n_participants} and {n_sims}")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise UserError(f"unknown QA methods {unknown} (known: {', '.join(METHODS)})")
    strata = scheme.strata()
    p = _probabilities(strata, probabilities)
    sequences = {
        s: np.asarray([scheme.arm_index(a) for a in arms], dtype=int)
        for s, arms in allocation_list.arms_by_stratum().items()
    }
    missing = [s for s in strata if s not in sequences]
    if missing:
        raise UserError(f"the list has no slots for strata {missing}")
    # Independent child streams: arrivals, fresh block lists, minimisation draws.
    arrivals_ss, blocks_ss, minimisation_ss = np.random.SeedSequence(seed).spawn(3)
    arrivals = np.random.default_rng(arrivals_ss).choice(len(strata), size=(n_sims, n_participants), p=p)
    sim = _Simulation(scheme, strata, arrivals)
    found: list[MethodQA] = []
    strata_qa: tuple[StratumQA, ...] = ()
    if "list" in methods:
        method, strata_qa = sim.run_list(sequences, p)
        found.append(method)
    if "blocks" in methods:
        found.append(sim.run_fresh_blocks(np.random.default_rng(blocks_ss)))
    if "minimisation" in methods:
        settings = minimisation or scheme.minimisation or MinimisationSettings()
        found.append(sim.run_minimisation(settings, np.random.default_rng(minimisation_ss)))
    return QAReport(
        n_participants=n_participants,
        n_sims=n_sims,
        seed=seed,
        list_sha256=allocation_list.source_sha256 or allocation_list.sha256,
        reproducible=reproduces(allocation_list, scheme),
        protocol_matches=(
            None
            if allocation_list.info.protocol_hash is None or scheme.protocol_hash is None
            else allocation_list.info.protocol_hash == scheme.protocol_hash
        ),
        strata=strata_qa,
        methods=tuple(found),
    )


def _probabilities(strata: Sequence[str], given: Mapping[str, float] | None) -> npt.NDArray[np.float64]:
    if not given:
        return np.full(len(strata), 1 / len(strata))
    unknown = sorted(set(given) - set(strata))
    if unknown:
        raise UserError(f"recruitment probabilities name unknown strata {unknown}")
    weights = np.asarray([float(given.get(s, 0.0)) for s in strata])
    if (weights < 0).any() or not weights.sum() > 0:
        raise UserError("recruitment probabilities must be >= 0 and not all zero")
    result: npt.NDArray[np.float64] = weights / weights.sum()
    return result


class _Simulation:
    """Shared arrivals and bookkeeping for the methods compared."""

    def __init__(
        self, scheme: AllocationScheme, strata: Sequence[str], arrivals: npt.NDArray[np.int_]
    ) -> None:
        self.scheme = scheme
        self.strata = strata
        self.arrivals = arrivals
        self.weights = scheme.weights
        self.levels = [scheme.parse_stratum(s) for s in strata]
        # stratum index -> indices of the factor levels ("margins") it belongs to
        margins = [(f.code, level) for f in scheme.factors for level in f.levels]
        self.margin_of = [[margins.index((c, lv)) for c, lv in levels.items()] for levels in self.levels]
        self.n_margins = len(margins)

    def _summaries(
        self, row: npt.NDArray[np.int_], assigned: npt.NDArray[np.int_]
    ) -> tuple[float, float, float, float]:
        """Overall final, overall max running, worst stratum, worst margin imbalance of one simulation.

        ``row[i]`` is the stratum of arrival ``i``; ``assigned[i]`` its arm, or -1 if none was left.
        """
        k = len(self.scheme.arms)
        ok = assigned >= 0
        onehot = np.zeros((int(ok.sum()), k))
        onehot[np.arange(onehot.shape[0]), assigned[ok]] = 1
        running = imbalance(np.cumsum(onehot, axis=0), self.weights) if onehot.size else np.zeros(1)
        stratum_counts = np.zeros((len(self.strata), k))
        np.add.at(stratum_counts, (row[ok], assigned[ok]), 1)
        margin_counts = np.zeros((max(self.n_margins, 1), k))
        for s, margins in enumerate(self.margin_of):
            margin_counts[margins] += stratum_counts[s]
        return (
            float(running[-1]),
            float(running.max()),
            float(imbalance(stratum_counts, self.weights).max()),
            float(imbalance(margin_counts, self.weights).max()) if self.n_margins else math.nan,
        )

    def _method(
        self, name: str, description: str, correct: list[float], rows: Sequence[tuple[float, ...]]
    ) -> MethodQA:
        table = np.asarray(rows)
        return MethodQA(
            name,
            description,
            Distribution.of(correct),
            Distribution.of(table[:, 0]),
            Distribution.of(table[:, 1]),
            Distribution.of(table[:, 2]),
            Distribution.of(table[:, 3]),
        )

    def run_list(
        self, sequences: Mapping[str, npt.NDArray[np.int_]], p: npt.NDArray[np.float64]
    ) -> tuple[MethodQA, tuple[StratumQA, ...]]:
        ratios = self.scheme.ratios
        chances = {s: convergence_correct(list(seq), ratios) for s, seq in sequences.items()}
        rows, correct = [], []
        final: list[list[float]] = [[] for _ in self.strata]
        exhausted = np.zeros(len(self.strata))
        for row in self.arrivals:
            assigned = np.full(row.shape, -1)
            right = 0.0
            for s, stratum in enumerate(self.strata):
                where = np.flatnonzero(row == s)
                seq = sequences[stratum]
                used = min(len(where), len(seq))
                exhausted[s] += len(where) > len(seq)
                assigned[where[:used]] = seq[:used]
                right += float(chances[stratum][:used].sum())
                final[s].append(
                    float(imbalance(np.bincount(seq[:used], minlength=len(ratios)), self.weights))
                )
            correct.append(right / max(int((assigned >= 0).sum()), 1))
            rows.append(self._summaries(row, assigned))
        strata_qa = []
        for s, stratum in enumerate(self.strata):
            seq = sequences[stratum]
            onehot = np.eye(len(ratios))[seq]
            strata_qa.append(
                StratumQA(
                    stratum=stratum,
                    slots=len(seq),
                    probability=float(p[s]),
                    predictability=float(chances[stratum].mean()),
                    max_running_imbalance=float(imbalance(np.cumsum(onehot, axis=0), self.weights).max()),
                    final_imbalance=Distribution.of(final[s]),
                    exhausted=float(exhausted[s] / len(self.arrivals)),
                )
            )
        return self._method("list", "this list", correct, rows), tuple(strata_qa)

    def run_fresh_blocks(self, rng: np.random.Generator) -> MethodQA:
        scheme = self.scheme
        rows, correct = [], []
        for row in self.arrivals:
            assigned = np.full(row.shape, -1)
            right = 0.0
            for s in range(len(self.strata)):
                where = np.flatnonzero(row == s)
                if not len(where):
                    continue
                seq = [
                    scheme.arms.index(a) for _, arms in permuted_blocks(scheme, len(where), rng) for a in arms
                ]
                assigned[where] = seq[: len(where)]
                right += float(convergence_correct(seq[: len(where)], scheme.ratios).sum())
            correct.append(right / len(row))
            rows.append(self._summaries(row, assigned))
        sizes = ", ".join(str(b) for b in scheme.block_sizes)
        return self._method("blocks", f"permuted blocks of {sizes}, fresh seeds", correct, rows)

    def run_minimisation(self, settings: MinimisationSettings, rng: np.random.Generator) -> MethodQA:
        scheme = self.scheme
        total = scheme.ratio_sum
        rows, correct = [], []
        for row in self.arrivals:
            counts = MarginalCounts(scheme)
            assigned = np.empty(row.shape, dtype=int)
            right = 0.0
            for i, s in enumerate(row):
                levels = self.levels[s]
                scores = counts.scores(levels, settings)
                chances = arm_probabilities(scores, scheme.ratios, settings.probability)
                arm = choose(chances, rng)
                # The recruiter guesses a preferred arm (at random among ties, by ratio if all tie).
                best = min(scores)
                preferred = [abs(x - best) <= 1e-9 for x in scores]
                if all(preferred):
                    right += scheme.ratios[arm] / total
                elif preferred[arm]:
                    right += 1 / sum(preferred)
                counts.add(levels, arm)
                assigned[i] = arm
            correct.append(right / len(row))
            rows.append(self._summaries(row, assigned))
        description = f"minimisation, p={settings.probability:g}, {settings.measure}"
        return self._method("minimisation", description, correct, rows)
