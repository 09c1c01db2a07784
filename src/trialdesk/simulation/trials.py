"""Many simulated trials at once, as arrays: the data the primary analysis sees.

Layout (the same in every simulated trial, so the analysis can batch over trials): participants are
rows; the intervention arm comes first, site by site, in therapy groups of ``group_size`` formed
within site; then the control arm, site by site. Arms are balanced within site (as stratified permuted
blocks make them); within each site the schizophrenia / bipolar split is drawn per trial and shared
between the arms as evenly as possible (stratified by diagnosis), at random positions.

Outcome model for participant i in site s with diagnosis d, at baseline (0) and follow-ups t::

    y_it = mu_t + a_s + b d_i + effect_t * imr_i + u_g(i) * imr_i + e_it

``(e_i0, e_i1, ...)`` is multivariate normal with SD ``sd`` and correlations ``rho`` (baseline with
each follow-up) and ``rho_followups`` (between follow-ups); ``u_g ~ N(0, sd_group**2)`` is the therapy
group's effect, shared by its members at every follow-up (partially nested: control participants have
none); ``a_s ~ N(0, site_effect_sd**2)``. The effect is ``effect`` at the primary visit and also at the
other follow-ups. A follow-up value is missing with log-odds ``logit(dropout) + mar_slope * z_i0``,
with ``z_i0`` the standardised baseline: missing at random given the (always observed) baseline;
missingness is monotone (missing at one follow-up means missing at the later ones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trialdesk.simulation.scenario import Scenario


@dataclass(frozen=True)
class Layout:
    """Fixed row structure: arm, site and therapy group of every row."""

    intervention: np.ndarray  # (N,) bool
    site: np.ndarray  # (N,) int, index into scenario.site_codes
    group: np.ndarray  # (N,) int, therapy group index, -1 for the control arm
    n_groups: int

    @property
    def membership(self) -> np.ndarray:
        """(N, K) 0/1 matrix of group membership (control rows are all zero)."""
        matrix = np.zeros((self.group.size, self.n_groups))
        rows = np.flatnonzero(self.group >= 0)
        matrix[rows, self.group[rows]] = 1.0
        return matrix


@dataclass(frozen=True)
class SimulatedTrials:
    """``n_sims`` trials of one scenario. Arrays have the simulation on axis 0."""

    scenario: Scenario
    layout: Layout
    diagnosis: np.ndarray  # (B, N) 1 = bipolar, 0 = schizophrenia
    baseline: np.ndarray  # (B, N)
    followup: np.ndarray  # (T, B, N) follow-up values, visit first (also where unobserved)
    observed: np.ndarray  # (T, B, N) bool

    @property
    def n_sims(self) -> int:
        return int(self.baseline.shape[0])


def _split(total: int, shares: tuple[float, ...]) -> list[int]:
    """Integer counts summing to ``total`` in the given shares (largest remainder)."""
    raw = [total * share for share in shares]
    counts = [math.floor(value) for value in raw]
    for index in sorted(range(len(raw)), key=lambda i: counts[i] - raw[i])[: total - sum(counts)]:
        counts[index] += 1
    return counts


def build_layout(scenario: Scenario) -> Layout:
    treated = _split(scenario.n_intervention, scenario.site_shares)
    control = _split(scenario.n_control, scenario.site_shares)
    site: list[int] = []
    group: list[int] = []
    next_group = 0
    for index, count in enumerate(treated):
        n_groups = max(1, math.ceil(count / scenario.group_size))
        # groups as equal as possible: sizes differ by at most one
        sizes = _split(count, tuple([1 / n_groups] * n_groups)) if count else []
        for size in sizes:
            site += [index] * size
            group += [next_group] * size
            next_group += 1
    for index, count in enumerate(control):
        site += [index] * count
        group += [-1] * count
    intervention = np.array(group) >= 0
    return Layout(intervention=intervention, site=np.array(site), group=np.array(group), n_groups=next_group)


def _diagnoses(scenario: Scenario, layout: Layout, n_sims: int, rng: np.random.Generator) -> np.ndarray:
    """Bipolar indicator per row: split per site, shared evenly between arms, at random positions."""
    bipolar = np.zeros((n_sims, layout.site.size))
    for index in range(len(scenario.site_codes)):
        in_site = layout.site == index
        n_site = int(in_site.sum())
        if n_site == 0:
            continue
        count = rng.binomial(n_site, 1 - scenario.diagnosis_share, size=n_sims)
        treated_rows = np.flatnonzero(in_site & layout.intervention)
        control_rows = np.flatnonzero(in_site & ~layout.intervention)
        # the intervention arm gets half, the odd one at random
        treated_count = count * treated_rows.size // n_site
        extra = rng.random(n_sims) < (count * treated_rows.size / n_site - treated_count)
        treated_count = np.minimum(treated_count + extra, treated_rows.size)
        control_count = np.minimum(count - treated_count, control_rows.size)
        for rows, wanted in ((treated_rows, treated_count), (control_rows, control_count)):
            # a uniformly random subset of `wanted` rows: sequential sampling without replacement
            # (select row j with probability remaining / rows left), vectorised over trials
            uniforms = rng.random((n_sims, rows.size))
            remaining = wanted.astype(float)
            for j, row in enumerate(rows):
                chosen = uniforms[:, j] * (rows.size - j) < remaining
                bipolar[:, row] = chosen
                remaining -= chosen
    return bipolar


def simulate_trials(scenario: Scenario, n_sims: int, rng: np.random.Generator) -> SimulatedTrials:
    """Draw ``n_sims`` trials of ``scenario`` (vectorised: no loop over trials or participants)."""
    layout = build_layout(scenario)
    n_rows = layout.site.size
    n_follow = len(scenario.visit_months)
    diagnosis = _diagnoses(scenario, layout, n_sims, rng)
    correlation = np.full((n_follow + 1, n_follow + 1), scenario.rho_followups)
    correlation[0, :] = correlation[:, 0] = scenario.rho
    np.fill_diagonal(correlation, 1.0)
    loading = np.linalg.cholesky(correlation) * scenario.sd
    # visit-first (T+1, B, N) arrays: each visit is one contiguous block, combined column by column
    # (a (B*N, 3) @ (3, 3) product or a stack of tiny matmuls is several times slower)
    normals = rng.standard_normal((n_follow + 1, n_sims, n_rows))
    site_effect = rng.normal(0.0, scenario.site_effect_sd, (n_sims, len(scenario.site_codes)))
    shift = site_effect[:, layout.site] + scenario.diagnosis_effect * diagnosis + scenario.baseline_mean
    baseline = shift + loading[0, 0] * normals[0]
    group_effect = rng.normal(0.0, scenario.sd_group, (n_sims, max(layout.n_groups, 1)))
    clustered = np.where(layout.intervention, group_effect[:, np.maximum(layout.group, 0)], 0.0)
    common = shift + clustered + scenario.effect * layout.intervention
    followup = np.empty((n_follow, n_sims, n_rows))
    for visit in range(n_follow):  # a loop over the (2) visits, not over trials
        row = loading[visit + 1]
        followup[visit] = common
        for j in range(visit + 2):
            followup[visit] += row[j] * normals[j]
    observed = np.ones((n_follow, n_sims, n_rows), dtype=bool)
    if scenario.dropout > 0:
        logit = math.log(scenario.dropout / (1 - scenario.dropout)) + scenario.mar_slope * normals[0]
        hazard = 1 / (1 + np.exp(-logit))
        # monotone: lost at a visit means lost at the later ones; each visit loses the same share again
        for visit in range(n_follow):
            lost = rng.random((n_sims, n_rows)) < hazard
            observed[visit] = ~lost if visit == 0 else observed[visit - 1] & ~lost
    return SimulatedTrials(scenario, layout, diagnosis, baseline, followup, observed)
