"""Residual covariance structures over visits for repeated-measures models (MMRM).

Each structure maps unconstrained optimiser parameters ``theta`` to natural parameters ``psi`` (the
ones SAS PROC MIXED reports and Kenward–Roger is computed in) and gives every block's covariance and
its derivatives in ``psi``. A block is one subject; ``payload['visit']`` holds the index of each of its
observations among the sorted visits, so a subject with missing visits gets the matching sub-matrix
of the full covariance (per-pattern blocks of the unstructured matrix).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from trialdesk.stats.reml import BlockClass


def _select(full: np.ndarray, visits: np.ndarray) -> np.ndarray:
    return full[visits[:, :, None], visits[:, None, :]]


class Unstructured:
    """Sigma free (T(T+1)/2 parameters); theta is its log-Cholesky factor, psi its lower triangle."""

    linear = True

    def __init__(self, labels: list[str]) -> None:
        self.T = len(labels)
        self.pairs = [(i, j) for i in range(self.T) for j in range(i + 1)]
        self.names = [f"var({labels[i]})" if i == j else f"cov({labels[j]},{labels[i]})"
                      for i, j in self.pairs]

    def sigma(self, psi: np.ndarray) -> np.ndarray:
        S = np.zeros((self.T, self.T))
        for (i, j), value in zip(self.pairs, psi, strict=True):
            S[i, j] = S[j, i] = value
        return S

    def _chol(self, theta: np.ndarray) -> np.ndarray:
        L = np.zeros((self.T, self.T))
        for (i, j), value in zip(self.pairs, theta, strict=True):
            L[i, j] = np.exp(value) if i == j else value
        return L

    def start(self, moments: np.ndarray) -> np.ndarray:
        """theta of the residuals' pairwise covariance if positive definite, else of its diagonal."""
        try:
            L = np.linalg.cholesky(moments)
        except np.linalg.LinAlgError:
            L = np.diag(np.sqrt(np.diag(moments)))
        return np.array([np.log(L[i, i]) if i == j else L[i, j] for i, j in self.pairs])

    def psi(self, theta: np.ndarray) -> np.ndarray:
        S = self._chol(theta) @ self._chol(theta).T
        return np.array([S[i, j] for i, j in self.pairs])

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        L = self._chol(theta)
        J = np.zeros((len(self.pairs), len(theta)))
        for col, (a, b) in enumerate(self.pairs):
            dL = np.zeros_like(L)
            dL[a, b] = L[a, b] if a == b else 1.0
            dS = dL @ L.T + L @ dL.T
            J[:, col] = [dS[i, j] for i, j in self.pairs]
        return J

    def valid(self, psi: np.ndarray) -> bool:
        return bool(np.all(np.linalg.eigvalsh(self.sigma(psi)) > 0))

    def block(self, psi: np.ndarray, cls: BlockClass) -> np.ndarray:
        return _select(self.sigma(psi), cls.payload["visit"])

    def d_block(self, psi: np.ndarray, cls: BlockClass) -> list[np.ndarray]:
        out = []
        for i, j in self.pairs:
            E = np.zeros((self.T, self.T))
            E[i, j] = E[j, i] = 1.0
            out.append(_select(E, cls.payload["visit"]))
        return out

    def d2_block(self, psi: np.ndarray, cls: BlockClass) -> dict[tuple[int, int], np.ndarray]:
        return {}


class CompoundSymmetry:
    """V = sigma^2 I + tau J (SAS TYPE=CS); theta = (log total variance, scaled logit of correlation)."""

    linear = True
    names: ClassVar[list[str]] = ["residual", "subject covariance"]

    def __init__(self, labels: list[str]) -> None:
        self.low = -1.0 / max(len(labels) - 1, 1)

    def _parts(self, theta: np.ndarray) -> tuple[float, float, float]:
        total = float(np.exp(theta[0]))
        s = 1.0 / (1.0 + np.exp(-theta[1]))
        rho = self.low + (1 - self.low) * s
        return total, rho, (1 - self.low) * s * (1 - s)

    def start(self, moments: np.ndarray) -> np.ndarray:
        total = float(np.mean(np.diag(moments)))
        T = moments.shape[0]
        rho = float((moments.sum() - np.trace(moments)) / max(T * (T - 1), 1) / total) if T > 1 else 0.0
        s = (min(max(rho, self.low + 0.05), 0.95) - self.low) / (1 - self.low)
        return np.array([np.log(total), np.log(s / (1 - s))])

    def psi(self, theta: np.ndarray) -> np.ndarray:
        total, rho, _ = self._parts(theta)
        return np.array([total * (1 - rho), total * rho])

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        total, rho, drho = self._parts(theta)
        return np.array([[total * (1 - rho), -total * drho], [total * rho, total * drho]])

    def valid(self, psi: np.ndarray) -> bool:
        return bool(psi[0] > 0 and psi[0] + psi[1] > 0 and psi[1] / (psi[0] + psi[1]) > self.low)

    def block(self, psi: np.ndarray, cls: BlockClass) -> np.ndarray:
        nb, m = cls.y.shape
        return psi[0] * np.eye(m) + psi[1] * np.ones((nb, m, m))

    def d_block(self, psi: np.ndarray, cls: BlockClass) -> list[np.ndarray]:
        nb, m = cls.y.shape
        return [np.broadcast_to(np.eye(m), (nb, m, m)), np.ones((nb, m, m))]

    def d2_block(self, psi: np.ndarray, cls: BlockClass) -> dict[tuple[int, int], np.ndarray]:
        return {}


class AR1:
    """V_ij = sigma^2 rho^|i - j| over visit positions (SAS TYPE=AR(1)); theta = (log sigma^2, atanh rho)."""

    linear = False
    names: ClassVar[list[str]] = ["variance", "rho"]

    def __init__(self, labels: list[str]) -> None:
        self.T = len(labels)

    def start(self, moments: np.ndarray) -> np.ndarray:
        var = float(np.mean(np.diag(moments)))
        lag1 = float(np.mean(np.diag(moments, 1))) / var if moments.shape[0] > 1 else 0.0
        return np.array([np.log(var), np.arctanh(min(max(lag1, -0.9), 0.9))])

    def psi(self, theta: np.ndarray) -> np.ndarray:
        return np.array([np.exp(theta[0]), np.tanh(theta[1])])

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        return np.diag([np.exp(theta[0]), 1 - np.tanh(theta[1]) ** 2])

    def valid(self, psi: np.ndarray) -> bool:
        return bool(psi[0] > 0 and abs(psi[1]) < 1)

    def _lags(self, cls: BlockClass) -> np.ndarray:
        v = cls.payload["visit"]
        return np.abs(v[:, :, None] - v[:, None, :]).astype(float)

    def block(self, psi: np.ndarray, cls: BlockClass) -> np.ndarray:
        return psi[0] * psi[1] ** self._lags(cls)

    def d_block(self, psi: np.ndarray, cls: BlockClass) -> list[np.ndarray]:
        d = self._lags(cls)
        return [psi[1] ** d, psi[0] * d * np.where(d > 0, psi[1] ** np.maximum(d - 1, 0), 0.0)]

    def d2_block(self, psi: np.ndarray, cls: BlockClass) -> dict[tuple[int, int], np.ndarray]:
        d = self._lags(cls)
        rho = psi[1]
        first = d * np.where(d > 0, rho ** np.maximum(d - 1, 0), 0.0)
        second = psi[0] * d * (d - 1) * np.where(d > 1, rho ** np.maximum(d - 2, 0), 0.0)
        return {(0, 0): np.zeros_like(d), (0, 1): first, (1, 1): second}


STRUCTURES: dict[str, type[Unstructured | CompoundSymmetry | AR1]] = {
    "us": Unstructured, "cs": CompoundSymmetry, "ar1": AR1}
