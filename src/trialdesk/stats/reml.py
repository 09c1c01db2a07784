"""Gaussian likelihood for block-diagonal covariance: REML/ML fits, Satterthwaite and Kenward–Roger.

Written by hand because nothing maintained in Python does it: statsmodels' MixedLM has no unstructured
residual covariance (MMRM), no arm-specific variances (partially nested models), and no small-sample
degrees of freedom. The mixed, repeated-measures and partially nested models of this package are all
the same computation here: observations fall into independent blocks (a participant, a therapy
group), each block's covariance ``V_b`` is a function of a few variance parameters ``psi``, and

* the fixed effects are profiled out by generalised least squares;
* the variance parameters are optimised on an unconstrained scale ``theta`` (log-Cholesky, logs of
  variances) with analytic gradients, then polished by Newton steps on ``psi`` with the analytic
  observed Hessian, so the optimum is found to many more digits than R prints;
* Satterthwaite degrees of freedom use the observed Hessian (as lmerTest does) and Kenward–Roger the
  expected information and the adjusted covariance of Kenward & Roger (1997) (as pbkrtest and SAS do).

Blocks of equal size are stacked into ``(nblocks, m, m)`` arrays so every step is a batched numpy
operation: nothing of size ``n x n`` is ever built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy import optimize

LOG2PI = float(np.log(2 * np.pi))


@dataclass
class BlockClass:
    """All blocks of one size ``m``: ``rows[b, i]`` is the data row of observation ``i`` of block ``b``."""

    rows: np.ndarray
    X: np.ndarray
    y: np.ndarray
    payload: dict[str, np.ndarray]


def make_blocks(codes: np.ndarray, y: np.ndarray, X: np.ndarray,
                payload: dict[str, np.ndarray] | None = None) -> list[BlockClass]:
    """Split rows into blocks by integer ``codes`` (order within a block kept), grouped by block size."""
    payload = payload or {}
    order = np.argsort(codes, kind="stable")
    _, starts, sizes = np.unique(codes[order], return_index=True, return_counts=True)
    classes = []
    for m in np.unique(sizes):
        rows = order[starts[sizes == m][:, None] + np.arange(m)[None, :]]
        classes.append(BlockClass(rows=rows, X=X[rows], y=y[rows],
                                  payload={k: v[rows] for k, v in payload.items()}))
    return classes


class Covariance(Protocol):
    """A block covariance structure: ``psi`` natural parameters, ``theta`` the optimiser's scale."""

    names: list[str]
    linear: bool

    def start(self, moments: np.ndarray) -> np.ndarray: ...
    def valid(self, psi: np.ndarray) -> bool: ...
    def psi(self, theta: np.ndarray) -> np.ndarray: ...
    def jacobian(self, theta: np.ndarray) -> np.ndarray: ...
    def block(self, psi: np.ndarray, cls: BlockClass) -> np.ndarray: ...
    def d_block(self, psi: np.ndarray, cls: BlockClass) -> list[np.ndarray]: ...
    def d2_block(self, psi: np.ndarray, cls: BlockClass) -> dict[tuple[int, int], np.ndarray]: ...


@dataclass
class Evaluation:
    """Everything at one value of ``psi`` that the deviance, gradient and small-sample df need."""

    psi: np.ndarray
    deviance: float
    beta: np.ndarray
    xtvx: np.ndarray
    ok: bool
    parts: list[tuple[BlockClass, np.ndarray, np.ndarray]] = field(default_factory=list)
    cache: dict[str, object] = field(default_factory=dict)


def _flat(a: np.ndarray, lead: int) -> np.ndarray:
    """Collapse all axes after the first ``lead`` ones but the last into one (for matmul sums over blocks)."""
    return a.reshape(*a.shape[:lead], -1, a.shape[-1])


class GaussianBlocks:
    """The likelihood of ``y ~ N(X beta, blockdiag(V_b(psi)))``."""

    def __init__(self, classes: list[BlockClass], cov: Covariance, reml: bool) -> None:
        self.classes = classes
        self.cov = cov
        self.reml = reml
        self.n = sum(c.y.size for c in classes)
        self.p = classes[0].X.shape[2]
        self._dv: dict[int, np.ndarray] = {}

    def d_blocks(self, psi: np.ndarray, index: int) -> np.ndarray:
        """Stacked dV/dpsi_k of one block class; constant (so computed once) for linear structures."""
        if self.cov.linear and index in self._dv:
            return self._dv[index]
        dV = np.stack(self.cov.d_block(psi, self.classes[index]))
        if self.cov.linear:
            self._dv[index] = dV
        return dV

    def evaluate(self, psi: np.ndarray) -> Evaluation:
        p = self.p
        xtvx = np.zeros((p, p))
        xtvy = np.zeros(p)
        logdet = 0.0
        parts = []
        for cls in self.classes:
            V = self.cov.block(psi, cls)
            try:
                L = np.linalg.cholesky(V)
            except np.linalg.LinAlgError:
                return Evaluation(psi, np.inf, np.zeros(p), xtvx, ok=False)
            logdet += 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum()
            Linv = np.linalg.inv(L)
            Vi = np.swapaxes(Linv, 1, 2) @ Linv
            W = Vi @ cls.X
            xtvx += _flat(cls.X, 0).T @ _flat(W, 0)
            xtvy += _flat(W, 0).T @ cls.y.reshape(-1)
            parts.append((cls, Vi, W))
        try:
            chol = np.linalg.cholesky(xtvx)
        except np.linalg.LinAlgError:
            return Evaluation(psi, np.inf, np.zeros(p), xtvx, ok=False)
        beta = np.linalg.solve(xtvx, xtvy)
        quad = 0.0
        for cls, Vi, _W in parts:
            r = cls.y - cls.X @ beta
            quad += float(np.sum(r * (Vi @ r[:, :, None])[:, :, 0]))
        dev = logdet + quad
        if self.reml:
            dev += 2.0 * np.log(np.diag(chol)).sum() + (self.n - p) * LOG2PI
        else:
            dev += self.n * LOG2PI
        return Evaluation(psi, float(dev), beta, xtvx, ok=True, parts=parts)

    def gradient(self, ev: Evaluation) -> np.ndarray:
        """d deviance / d psi_k = <V^-1 - [REML] W C W' - u u', dV_k> summed over blocks, u = V^-1 r."""
        C = np.linalg.inv(ev.xtvx)
        grad = np.zeros(len(ev.psi))
        for index, (cls, Vi, W) in enumerate(ev.parts):
            u = (Vi @ (cls.y - cls.X @ ev.beta)[:, :, None])[:, :, 0]
            G = Vi - u[:, :, None] * u[:, None, :]
            if self.reml:
                G = G - W @ C @ np.swapaxes(W, 1, 2)
            dV = self.d_blocks(ev.psi, index)
            grad += dV.reshape(len(dV), -1) @ G.reshape(-1)
        return grad

    def second_order(self, ev: Evaluation) -> dict[str, np.ndarray]:
        """Observed Hessian, expected information and the KR matrices P_k, Q_kl, R_kl (sums over blocks)."""
        if "second" in ev.cache:
            return ev.cache["second"]  # type: ignore[return-value]
        C = np.linalg.inv(ev.xtvx)
        K, p = len(ev.psi), self.p
        S, uu, quad2, trd2 = (np.zeros((K, K)) for _ in range(4))
        Pk = np.zeros((K, p, p))
        Qkl = np.zeros((K, K, p, p))
        Rkl = np.zeros((K, K, p, p))
        ud = np.zeros((K, p))
        for index, (cls, Vi, W) in enumerate(ev.parts):
            u = (Vi @ (cls.y - cls.X @ ev.beta)[:, :, None])[:, :, 0]
            dV = self.d_blocks(ev.psi, index)  # (K, nb, m, m)
            Q = Vi[None] @ dV
            S += Q.reshape(K, -1) @ np.swapaxes(Q, 2, 3).reshape(K, -1).T
            dW = dV @ W[None]  # (K, nb, m, p)
            Pk += np.swapaxes(_flat(dW, 1), 1, 2) @ _flat(W, 0)
            ViDW = _flat(Vi[None] @ dW, 1)
            Qkl += np.tensordot(_flat(dW, 1), ViDW, axes=([1], [1])).transpose(0, 2, 1, 3)
            uk = (dV @ u[None, :, :, None])[..., 0]  # (K, nb, m)
            ud += uk.reshape(K, -1) @ _flat(W, 0)
            uu += uk.reshape(K, -1) @ (Vi[None] @ uk[..., None])[..., 0].reshape(K, -1).T
            if not self.cov.linear:
                for (k, j), D in self.cov.d2_block(ev.psi, cls).items():
                    R = _flat(W, 0).T @ _flat(D @ W, 0)
                    Rkl[k, j] += R
                    trd2[k, j] += float(np.sum(Vi * np.swapaxes(D, 1, 2)))
                    quad2[k, j] += float(np.sum(u * (D @ u[:, :, None])[:, :, 0]))
                    if k != j:
                        Rkl[j, k] += R.T
                        trd2[j, k], quad2[j, k] = trd2[k, j], quad2[k, j]
        return self._finish(ev, C, {"S": S, "P": Pk, "Q": Qkl, "R": Rkl, "ud": ud, "uu": uu, "trd2": trd2,
                                    "quad2": quad2})

    def _finish(self, ev: Evaluation, C: np.ndarray, sums: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Observed Hessian and expected information from the sums over blocks; cached on ``ev``."""
        S, Pk, Qkl, Rkl = sums["S"], sums["P"], sums["Q"], sums["R"]
        ud, uu, trd2, quad2 = sums["ud"], sums["uu"], sums["trd2"], sums["quad2"]
        # tr(P A P B) = tr(ViAViB) - 2 tr(C W'A Vi B W) + tr(C W'AW C W'BW)
        trCQ = np.einsum("pq,klqp->kl", C, Qkl)
        CP = C[None] @ Pk
        trCPCP = np.einsum("kpq,lqp->kl", CP, CP)
        trPP = S - trCQ - trCQ.T + trCPCP
        trPR = trd2 - np.einsum("pq,klqp->kl", C, Rkl)
        uPu = uu - ud @ C @ ud.T
        # REML: d2/dk dl of log|V| + log|X'V^-1X| + y'Py; ML: of log|V| + y'Py (beta profiled out).
        hessian = (-trPP + trPR if self.reml else -S + trd2) + 2 * uPu - quad2
        out = {"C": C, "hessian": 0.5 * (hessian + hessian.T), "expected": 0.5 * trPP, "P": Pk,
               "Q": Qkl, "R": Rkl}
        ev.cache["second"] = out
        return out


def make_patterns(codes: np.ndarray, y: np.ndarray, X: np.ndarray, visits: np.ndarray, T: int
                  ) -> list[BlockClass]:
    """Split rows into blocks by ``codes`` and group the blocks by which of the ``T`` visits they have.

    Within a block the rows are put in visit order, so every block of a class has the same visit
    pattern and therefore, in a repeated-measures model, the same covariance matrix.
    """
    order = np.lexsort((visits, codes))
    _, starts, sizes = np.unique(codes[order], return_index=True, return_counts=True)
    present = np.zeros((len(starts), T), dtype=bool)
    present[np.repeat(np.arange(len(starts)), sizes), visits[order]] = True
    patterns, which = np.unique(present, axis=0, return_inverse=True)
    classes = []
    for index, pattern in enumerate(patterns):
        m = int(pattern.sum())
        rows = order[starts[which.reshape(-1) == index][:, None] + np.arange(m)[None, :]]
        classes.append(BlockClass(rows=rows, X=X[rows], y=y[rows], payload={"visit": visits[rows]}))
    return classes


class PatternBlocks(GaussianBlocks):
    """The same likelihood when all blocks of a class share one covariance matrix (an MMRM's blocks
    with the same visits).

    Everything a Newton step needs is then a function of the class's m x m inverse covariance and
    the cross-products ``XX[i, j] = sum_b X_b[i]' X_b[j]`` (fixed), ``RR = sum_b r_b r_b'`` and
    ``RX[i, j] = sum_b r_b[i] X_b[j]`` (per beta): one small inverse per visit pattern and no
    per-subject matrices, so a step costs the same for 200 or 200,000 subjects.
    """

    def __init__(self, classes: list[BlockClass], cov: Covariance, reml: bool) -> None:
        super().__init__(classes, cov, reml)
        # One block stands for its class when building the covariance and its derivatives.
        self.representatives = [
            BlockClass(rows=c.rows[:1], X=c.X[:1], y=c.y[:1],
                       payload={k: v[:1] for k, v in c.payload.items()}) for c in classes]
        self.counts = [len(c.y) for c in classes]
        # flattened to (m*m, p*p) and (m*m, p): every contraction with an m x m matrix is one matmul
        self.XX = [np.einsum("bip,bjq->ijpq", c.X, c.X).reshape(c.X.shape[1] ** 2, -1) for c in classes]
        self.XY = [np.einsum("bip,bj->ijp", c.X, c.y).reshape(c.X.shape[1] ** 2, -1) for c in classes]

    def d_blocks(self, psi: np.ndarray, index: int) -> np.ndarray:
        """dV/dpsi_k of one class's shared covariance, shape (K, m, m)."""
        if self.cov.linear and index in self._dv:
            return self._dv[index]
        dV = np.stack(self.cov.d_block(psi, self.representatives[index]))[:, 0]
        if self.cov.linear:
            self._dv[index] = dV
        return dV

    def evaluate(self, psi: np.ndarray) -> Evaluation:
        p = self.p
        xtvx = np.zeros((p, p))
        xtvy = np.zeros(p)
        logdet = 0.0
        inverses = []
        for rep, nb, XX, XY in zip(self.representatives, self.counts, self.XX, self.XY, strict=True):
            V = self.cov.block(psi, rep)[0]
            try:
                L = np.linalg.cholesky(V)
            except np.linalg.LinAlgError:
                return Evaluation(psi, np.inf, np.zeros(p), xtvx, ok=False)
            logdet += 2.0 * nb * float(np.log(np.diagonal(L)).sum())
            Linv = np.linalg.inv(L)
            Vi = Linv.T @ Linv
            xtvx += (Vi.reshape(-1) @ XX).reshape(p, p)
            xtvy += Vi.reshape(-1) @ XY
            inverses.append(Vi)
        try:
            chol = np.linalg.cholesky(xtvx)
        except np.linalg.LinAlgError:
            return Evaluation(psi, np.inf, np.zeros(p), xtvx, ok=False)
        beta = np.linalg.solve(xtvx, xtvy)
        quad = 0.0
        residual_products = []
        for cls, Vi in zip(self.classes, inverses, strict=True):
            r = cls.y - cls.X @ beta
            RR = r.T @ r
            quad += float(np.sum(Vi * RR))
            residual_products.append((r, RR))
        dev = logdet + quad
        if self.reml:
            dev += 2.0 * np.log(np.diag(chol)).sum() + (self.n - p) * LOG2PI
        else:
            dev += self.n * LOG2PI
        ev = Evaluation(psi, float(dev), beta, xtvx, ok=True)
        ev.cache["patterns"] = [(Vi, r, RR) for Vi, (r, RR) in zip(inverses, residual_products, strict=True)]
        return ev

    def _patterns(self, ev: Evaluation) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return ev.cache["patterns"]  # type: ignore[return-value]

    def gradient(self, ev: Evaluation) -> np.ndarray:
        """As :meth:`GaussianBlocks.gradient`, per class: <nb Vi - Vi RR Vi - [REML] Vi XCX' Vi, dV_k>."""
        C = np.linalg.inv(ev.xtvx)
        grad = np.zeros(len(ev.psi))
        for index, (Vi, _r, RR) in enumerate(self._patterns(ev)):
            inner = RR
            if self.reml:
                inner = RR + (self.XX[index] @ C.reshape(-1)).reshape(RR.shape)
            G = self.counts[index] * Vi - Vi @ inner @ Vi
            dV = self.d_blocks(ev.psi, index)
            grad += dV.reshape(len(dV), -1) @ G.reshape(-1)
        return grad

    def second_order(self, ev: Evaluation) -> dict[str, np.ndarray]:
        """As :meth:`GaussianBlocks.second_order`, from the per-class cross-products."""
        if "second" in ev.cache:
            return ev.cache["second"]  # type: ignore[return-value]
        C = np.linalg.inv(ev.xtvx)
        K, p = len(ev.psi), self.p
        S, uu, quad2, trd2 = (np.zeros((K, K)) for _ in range(4))
        Pk = np.zeros((K, p, p))
        Qkl = np.zeros((K, K, p, p))
        Rkl = np.zeros((K, K, p, p))
        ud = np.zeros((K, p))
        for index, (Vi, r, RR) in enumerate(self._patterns(ev)):
            cls, nb, XX = self.classes[index], self.counts[index], self.XX[index]
            dV = self.d_blocks(ev.psi, index)  # (K, m, m)
            Q = Vi[None] @ dV  # Vi dV_k
            S += nb * (Q.reshape(K, -1) @ np.swapaxes(Q, 1, 2).reshape(K, -1).T)
            A = Q @ Vi[None]  # Vi dV_k Vi
            B = Q[:, None] @ A[None]  # Vi dV_k Vi dV_l Vi
            Pk += (A.reshape(K, -1) @ XX).reshape(K, p, p)
            Qkl += (B.reshape(K * K, -1) @ XX).reshape(K, K, p, p)
            RX = (r.T @ cls.X.reshape(nb, -1)).reshape(-1, p)  # [(i, j), :] = sum_b r_b[i] X_b[j]
            ud += A.reshape(K, -1) @ RX
            uu += (B.reshape(K * K, -1) @ RR.reshape(-1)).reshape(K, K)
            if not self.cov.linear:
                for (k, j), D in self.cov.d2_block(ev.psi, self.representatives[index]).items():
                    ViDVi = Vi @ D[0] @ Vi
                    R = (ViDVi.reshape(-1) @ XX).reshape(p, p)
                    Rkl[k, j] += R
                    trd2[k, j] += nb * float(np.sum(Vi * D[0].T))
                    quad2[k, j] += float(np.sum(ViDVi * RR))
                    if k != j:
                        Rkl[j, k] += R.T
                        trd2[j, k], quad2[j, k] = trd2[k, j], quad2[k, j]
        return self._finish(ev, C, {"S": S, "P": Pk, "Q": Qkl, "R": Rkl, "ud": ud, "uu": uu, "trd2": trd2,
                                    "quad2": quad2})


@dataclass
class GaussianFit:
    psi: np.ndarray
    beta: np.ndarray
    vcov: np.ndarray
    deviance: float
    converged: bool
    iterations: int
    messages: list[str]
    model: GaussianBlocks
    evaluation: Evaluation

    def loglik(self) -> float:
        return -0.5 * self.deviance


def _newton(model: GaussianBlocks, psi: np.ndarray, max_iter: int = 60) -> tuple[Evaluation, bool, int]:
    """Newton–Raphson in psi with step halving; Fisher scoring where the observed Hessian is not PD."""
    ev = model.evaluate(psi)
    if not ev.ok:
        return ev, False, 0
    for iteration in range(1, max_iter + 1):
        grad = model.gradient(ev)
        second = model.second_order(ev)
        H = second["hessian"]
        try:
            np.linalg.cholesky(H)
        except np.linalg.LinAlgError:
            H = 2.0 * second["expected"]
        try:
            step = np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            return ev, False, iteration
        decrement = float(grad @ step)
        if abs(decrement) < 1e-11 or np.max(np.abs(step) / np.maximum(np.abs(ev.psi), 1e-8)) < 1e-10:
            # Converged in deviance; one last full step sharpens the parameters in flat directions.
            candidate = ev.psi - step
            if model.cov.valid(candidate):
                trial = model.evaluate(candidate)
                if trial.ok and trial.deviance <= ev.deviance + 1e-9:
                    ev = trial
            return ev, True, iteration
        factor = 1.0
        for _ in range(40):
            candidate = ev.psi - factor * step
            if model.cov.valid(candidate):
                trial = model.evaluate(candidate)
                if trial.ok and trial.deviance <= ev.deviance + 1e-10:
                    break
            factor /= 2
        else:
            return ev, False, iteration
        ev = trial
    return ev, False, max_iter


def fit_blocks(model: GaussianBlocks, theta0: np.ndarray | None = None, *, psi0: np.ndarray | None = None
               ) -> GaussianFit:
    """Minimise the (REML or ML) deviance.

    Newton–Raphson on ``psi`` (the way SAS PROC MIXED does) from ``psi0`` or ``psi(theta0)``; should
    it fail, quasi-Newton on the unconstrained ``theta`` with analytic gradients, then Newton again.
    """
    cov = model.cov
    start = np.asarray(psi0, float) if psi0 is not None else cov.psi(np.asarray(theta0, float))
    ev, converged, iterations = _newton(model, start)
    messages: list[str] = []
    if not converged and theta0 is not None:
        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            trial = model.evaluate(cov.psi(theta))
            if not trial.ok or not np.isfinite(trial.deviance):
                return 1e300, np.zeros_like(theta)
            return trial.deviance, cov.jacobian(theta).T @ model.gradient(trial)

        result = optimize.minimize(objective, theta0, jac=True, method="L-BFGS-B",
                                   options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-10})
        iterations += int(result.nit)
        ev, converged, more = _newton(model, cov.psi(result.x))
        iterations += more
        if not converged:
            ev = ev if ev.ok else model.evaluate(cov.psi(result.x))
            converged = bool(result.success) and ev.ok
    if ev.ok:
        grad = model.gradient(ev)
        gnorm = float(np.max(np.abs(grad * np.maximum(np.abs(ev.psi), 1e-6))))
        if gnorm > 1e-3:
            converged = False
    else:
        gnorm = np.inf
    if not converged:
        messages.append(f"did not converge: the variance parameters' scaled gradient is {gnorm:.3g}")
    vcov = np.linalg.inv(ev.xtvx) if ev.ok else np.full((model.p, model.p), np.nan)
    return GaussianFit(psi=ev.psi, beta=ev.beta, vcov=vcov, deviance=ev.deviance, converged=converged,
                       iterations=iterations, messages=messages, model=model, evaluation=ev)


def satterthwaite_df(fit: GaussianFit, L: np.ndarray) -> np.ndarray:
    """Satterthwaite df of each row of L, with the observed Hessian of the deviance (lmerTest's choice)."""
    second = fit.model.second_order(fit.evaluation)
    C = second["C"]
    A = 2.0 * np.linalg.pinv(second["hessian"])
    dC = C[None] @ second["P"] @ C[None]  # dC/dpsi_k = C X'V^-1 dV_k V^-1 X C
    L = np.atleast_2d(L)
    var = np.einsum("ip,pq,iq->i", L, C, L)
    g = np.einsum("ip,kpq,iq->ik", L, dC, L, optimize=True)
    denom = np.einsum("ik,kl,il->i", g, A, g)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, 2.0 * var**2 / denom, np.inf)


def kenward_roger(fit: GaussianFit) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Kenward–Roger (1997) adjusted covariance of beta, and the pieces its df need."""
    second = fit.model.second_order(fit.evaluation)
    Phi = second["C"]
    W = np.linalg.pinv(second["expected"])
    P, Q, R = second["P"], second["Q"], second["R"]
    PPhiP = np.einsum("kpq,qr,lrs->klps", P, Phi, P, optimize=True)
    inner = np.einsum("kl,klpq->pq", W, Q - PPhiP - 0.25 * R)
    adjusted = Phi + 2.0 * Phi @ inner @ Phi
    return adjusted, {"Phi": Phi, "W": W, "P": P}


def kenward_roger_df(L: np.ndarray, adjusted: np.ndarray, pieces: dict[str, np.ndarray]) -> np.ndarray:
    """KR df of each one-row contrast of L, as pbkrtest's ``Lb_ddf`` (0.5.2) computes it.

    pbkrtest builds Theta from the unadjusted covariance Phi; for a single contrast its formulas
    (A1 = A2, B = 3.5 A2, g = -1) collapse to df = 2 (L Phi L')^2 / (g' W g), g_k = L Phi P_k Phi L'.
    ``adjusted`` is kept in the signature for the SEs that go with these df.
    """
    L = np.atleast_2d(L)
    Phi, W, P = pieces["Phi"], pieces["W"], pieces["P"]
    s = np.einsum("ip,pq,iq->i", L, Phi, L)
    M = Phi[None] @ P @ Phi[None]
    g = np.einsum("ip,kpq,iq->ik", L, M, L, optimize=True)
    denom = np.einsum("ik,kl,il->i", g, W, g)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, 2.0 * s**2 / denom, np.inf)
