"""Outcome scores of the simulated trial: latent trajectories, calibrated margins, missingness, items.

Latent model. For participant i, instrument k and visit t (all standard normal)::

    z_ikt = lambda_k f_it + gamma_k d_i + sqrt(1 - lambda_k^2 - gamma_k^2) e_ikt

``f`` is a common "doing well" factor and ``e`` the instrument's own part, both correlated over visits
(baseline-follow-up ``rho``, follow-up-follow-up ``rho_followups``); ``d`` is a latent diagnosis score
(bipolar when above the schizophrenia share's quantile), so instruments correlate with each other and
with diagnosis. In the intervention arm a therapy-group effect ``g ~ N(0, icc)`` replaces an ``icc``
share of the variance at follow-ups (``sqrt(1 - icc) z + g``): a partially nested design.

Margins. A score is ``F^-1(Phi(z))`` rounded to a feasible total, with ``F`` a beta distribution on the
score's range having the target mean and SD (skewed scales such as YMRS stay skewed and in range).

Missingness (missing at random). Interviews and self-report questionnaires are separate contacts: at each
follow-up a contact happens with log-odds ``a + b z_gafF,0 + u_i`` (``u_i ~ N(0, s_u^2)`` shared over
visits), and an instrument is then done with a fixed probability, so counts match Table 3. Attenders
have better baselines, so their follow-up scores are higher than everyone's; the latent is shifted and
scaled by the selection's exact moments (Gauss-Hermite quadrature) so that the *complete-case* means and
SDs, not the full-data ones, equal the published values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from trialdesk.errors import UserError
from trialdesk.instruments import Instrument, get_library
from trialdesk.simulation.calibration import (
    ASSUMED_BASELINE,
    ASSUMED_FOLLOW_UP,
    LOADINGS,
    PUBLISHED,
    PUBLISHED_ARM_SIZE,
    Target,
)

#: the instrument whose baseline value drives missingness (missing at random)
ANCHOR = "gaf_f"
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(60)
_WEIGHTS = _WEIGHTS / math.sqrt(2 * math.pi)


@dataclass(frozen=True)
class LatentModel:
    instruments: tuple[str, ...]
    visits: tuple[str, ...]  # every protocol visit, in time order
    loading: np.ndarray  # (K,)
    diagnosis_loading: np.ndarray  # (K,)
    correlation: np.ndarray  # (V, V) over visits

    def index(self, instrument: str) -> int:
        return self.instruments.index(instrument)

    def anchor_correlation(self, instrument: str, visit: str) -> float:
        """corr(z_k at ``visit``, z of the anchor at baseline)."""
        if ANCHOR not in self.instruments:
            return 0.0
        k, g = self.index(instrument), self.index(ANCHOR)
        r = self.correlation[self.visits.index(visit), 0]
        lam, gam = self.loading, self.diagnosis_loading
        own = (1 - lam[g] ** 2 - gam[g] ** 2) * r if k == g else 0.0
        return float(lam[k] * lam[g] * r + gam[k] * gam[g] + own)


def scored_instruments(protocol_visits: list[tuple[str, int, tuple[str, ...]]]) -> list[str]:
    """Instruments with scores named in any visit, in first-appearance order (forms excluded)."""
    library = get_library()
    seen: dict[str, None] = {}
    for _code, _month, instruments in protocol_visits:
        for code in instruments:
            if library.get(code).score_names:
                seen.setdefault(code)
    return list(seen)


def latent_model(instruments: list[str], visits: list[tuple[str, int]], rho: float,
                 rho_followups: float) -> LatentModel:
    months = [m for _v, m in visits]
    correlation = np.array([[1.0 if i == j else (rho_followups if min(a, b) > 0 else rho)
                             for j, b in enumerate(months)] for i, a in enumerate(months)])
    loading = np.array([LOADINGS.get(code, (0.0, 0.0))[0] for code in instruments])
    diagnosis = np.array([LOADINGS.get(code, (0.0, 0.0))[1] for code in instruments])
    return LatentModel(tuple(instruments), tuple(v for v, _m in visits), loading, diagnosis, correlation)


def draw_latent(model: LatentModel, n: int, bipolar: np.ndarray | None, schizophrenia_share: float,
                rng: np.random.Generator) -> np.ndarray:
    """(n, K, V) latent scores; ``bipolar`` fixes each participant's side of the diagnosis threshold."""
    n_k, n_v = len(model.instruments), len(model.visits)
    u = rng.random(n)
    if bipolar is None:
        d = special.ndtri(u)
    else:  # truncated normal by inversion: below the share's quantile for schizophrenia, above for bipolar
        d = special.ndtri(np.where(bipolar, schizophrenia_share + u * (1 - schizophrenia_share),
                                   u * schizophrenia_share))
    chol = np.linalg.cholesky(model.correlation)
    common = rng.standard_normal((n, n_v)) @ chol.T
    own = rng.standard_normal((n, n_k, n_v)) @ chol.T
    unique = np.sqrt(1 - model.loading**2 - model.diagnosis_loading**2)
    return (model.loading[None, :, None] * common[:, None, :]
            + model.diagnosis_loading[None, :, None] * d[:, None, None] + unique[None, :, None] * own)


def score_range(instrument: Instrument) -> tuple[float, float]:
    return instrument.score_range("total")


def baseline_target(instrument: Instrument) -> Target:
    if instrument.code in ASSUMED_BASELINE:
        return Target(*ASSUMED_BASELINE[instrument.code])
    low, high = score_range(instrument)
    return Target((low + high) / 2, (high - low) / 6)


def follow_up_target(instrument: Instrument, visit: str, role: str, arm_size: int) -> Target:
    """Complete-case target for one arm; published n scaled to this trial's arm size."""
    target = PUBLISHED.get((instrument.code, visit, role)) or ASSUMED_FOLLOW_UP.get((instrument.code, visit))
    if target is None:
        base = baseline_target(instrument)
        target = Target(base.mean, base.sd, round(0.6 * PUBLISHED_ARM_SIZE))
    n = round((target.n or 0) * arm_size / PUBLISHED_ARM_SIZE)
    return Target(target.mean, target.sd, n)


def beta_quantile(p: np.ndarray, target: Target, low: float, high: float) -> np.ndarray:
    """Quantiles of a beta distribution on [low, high] with the target's mean and SD."""
    width = high - low
    mu = min(max((target.mean - low) / width, 1e-3), 1 - 1e-3)
    var = min((target.sd / width) ** 2, 0.95 * mu * (1 - mu))
    size = mu * (1 - mu) / var - 1
    return low + width * stats.beta.ppf(p, mu * size, (1 - mu) * size)


def contact_intercept(p: float, slope: float, sd_u: float) -> float:
    """Intercept a with E[logistic(a + slope z + u)] = p for z ~ N(0,1), u ~ N(0, sd_u^2)."""
    if not 0 < p < 1:
        raise UserError(f"contact probability must be strictly between 0 and 1 (got {p})")
    s = math.hypot(slope, sd_u)

    def gap(a: float) -> float:
        return float(_WEIGHTS @ special.expit(a + s * _NODES)) - p

    return float(optimize.brentq(gap, -30, 30))


def selection_moments(a: float, slope: float, sd_u: float) -> tuple[float, float]:
    """Mean and variance of the anchor's baseline z among those who make contact."""
    s2 = slope**2 + sd_u**2
    w = math.sqrt(s2) * _NODES
    chance = _WEIGHTS * special.expit(a + w)
    total = chance.sum()
    mean_w = float(chance @ w / total)
    var_w = float(chance @ w**2 / total) - mean_w**2
    ratio = slope / s2
    return ratio * mean_w, ratio**2 * var_w + 1 - slope**2 / s2


def calibrated_scores(z: np.ndarray, target: Target, instrument: Instrument,
                      anchor_r: float | np.ndarray, selection: tuple[float, float] | None) -> np.ndarray:
    """Scores whose distribution among contacted participants has the target mean and SD.

    ``anchor_r`` is each latent's correlation with the anchor's baseline, ``selection`` the anchor's
    mean and variance among those contacted (None at baseline, when everyone is rated).
    """
    if selection is not None:
        mean, var = selection
        r = np.asarray(anchor_r, dtype=float)
        z = (z - r * mean) / np.sqrt(np.maximum(1 - r**2 * (1 - var), 1e-6))
    low, high = score_range(instrument)
    return beta_quantile(special.ndtr(z), target, low, high)


@dataclass(frozen=True)
class Latent:
    """Hidden latent scores of the randomised participants: simulation state, not trial data."""

    model: LatentModel
    trial_ids: tuple[str, ...]
    values: np.ndarray  # (n, K, V)

    def rows(self, trial_ids: list[str] | np.ndarray) -> np.ndarray:
        position = {tid: i for i, tid in enumerate(self.trial_ids)}
        try:
            return np.array([position[t] for t in trial_ids], dtype=int)
        except KeyError as missing:
            raise UserError(f"participant {missing.args[0]} has no simulated latent scores") from None

    def of(self, trial_ids: list[str] | np.ndarray, instrument: str, visit: str) -> np.ndarray:
        rows = self.rows(trial_ids)
        return self.values[rows, self.model.index(instrument), self.model.visits.index(visit)]
