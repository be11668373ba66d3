"""Model B theory, evaluated: loss curves of gradient flow from the derived
one-point equations (:func:`theory.derive_bap`).

The inverse Laplace transform is a fixed-Talbot quadrature (Abate & Valko)
taken in the renormalised variable ``kappa`` rather than in ``s``: since
``s(kappa) = kappa (1 - n1(kappa)/n)`` is explicit,

    L(tau/2) = 1/(2 pi i) int exp(s(kappa) tau) h(kappa) dkappa,

with ``h = g1 (1 - n2/n) / (1 - n1/n)`` (test loss, ``n = N``, ``P = inf``) or
``h = g1 (1 - n2/n)`` (train loss at ``N = inf``, ``n = P``), on the Talbot
contour ``kappa(theta) = r theta (cot theta + i)``.  No root finding at complex
arguments is needed.  The pole at ``n1(kappa_0) = N`` (``s = 0``) carries the
``t -> inf`` loss ``kappa_0 g1(kappa_0)``: when the optimal Talbot radius would
come close to it, the contour is moved to the fixed radius ``kappa_0/2`` (where ``Re s < 0`` on the
whole contour) and the residue added exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import mpmath
import numpy as np
from threadpoolctl import threadpool_limits

from ._models import BAPModel
from ._solver import MpmathBackend, NumpyBackend, solve_increasing

__all__ = ["BAPTheory", "bap_theory", "bap_train_loss_infinite_width", "TALBOT_NODES"]

#: Talbot nodes in double precision (truncation ~10^-(0.6 n), round-off ~eps e^{2n/5}).
TALBOT_NODES = 24
_CHUNK = 1 << 21


@lru_cache(maxsize=32)
def _context(dps):
    ctx = mpmath.MPContext()
    ctx.dps = dps
    return ctx


def _times(times):
    t = np.atleast_1d(np.asarray(times, dtype=float))
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"times must be a non-empty list of finite values >= 0, got {times!r}")
    return t


def _sums_double(lam, u2, kappa):
    """n1, n2, g1 at complex kappa (any shape), direct sums over the finite spectrum."""
    kap = np.asarray(kappa, dtype=complex)
    flat = kap.ravel()
    n1 = np.empty_like(flat)
    n2 = np.empty_like(flat)
    g1 = np.empty_like(flat)
    step = max(1, _CHUNK // lam.size)
    for i in range(0, flat.size, step):
        k = flat[i:i + step, None]
        r = lam / (lam + k)
        n1[i:i + step] = r.sum(axis=1)
        n2[i:i + step] = (r * r).sum(axis=1)
        g1[i:i + step] = (u2 / (lam + k)).sum(axis=1)
    return n1.reshape(kap.shape), n2.reshape(kap.shape), g1.reshape(kap.shape)


def _sums_mp(ctx, lam, u2, kappa):
    n1 = ctx.fsum(l / (l + kappa) for l in lam)
    n2 = ctx.fsum((l / (l + kappa)) ** 2 for l in lam)
    g1 = ctx.fsum(u / (l + kappa) for l, u in zip(lam, u2))
    return n1, n2, g1


def _kappa0(lam, n, ctx=None):
    """Root of n1(kappa) = n on kappa > 0 (exists iff n < M)."""
    M = len(lam)
    if not n < M:
        return None
    if ctx is None:
        lam_a = np.asarray(lam, dtype=float)
        lo = math.log(np.sort(lam_a)[::-1][int(n)] / (2 * (int(n) + 1)))
        hi = math.log(lam_a.sum() / n)

        def G(u):
            k = np.exp(u)
            r = lam_a / (lam_a + k)
            n1, n2 = r.sum(), (r * r).sum()
            return np.array([math.log(n) - math.log(n1)]), np.array([(n1 - n2) / n1])

        res = solve_increasing(lambda u: G(float(u[0])), np.array([lo]), np.array([hi]),
                               backend=NumpyBackend(), tol=1e-14, what="n1(kappa0) = N")
        return float(np.exp(res.u[0]))
    srt = sorted(lam, reverse=True)
    lo = ctx.log(srt[int(n)] / (2 * (int(n) + 1)))
    hi = ctx.log(ctx.fsum(lam) / n)

    def Gm(u):
        k = ctx.exp(u)
        n1 = ctx.fsum(l / (l + k) for l in lam)
        n2 = ctx.fsum((l / (l + k)) ** 2 for l in lam)
        return ctx.log(n) - ctx.log(n1), (n1 - n2) / n1

    res = solve_increasing(Gm, lo, hi, backend=MpmathBackend(ctx), tol=ctx.eps * 2 ** 10, what="n1(kappa0) = N")
    return ctx.exp(res.u)


def _talbot_double(h_and_s, tau, r, nodes):
    """Fixed Talbot: (r/n)[1/2 e^{s(r) tau} h(r) + sum_k Re(e^{s tau} h (1 + i sigma))]."""
    theta = np.pi * np.arange(1, nodes) / nodes
    cot = 1 / np.tan(theta)
    kap = r[:, None] * theta[None, :] * (cot[None, :] + 1j)
    sigma = theta + (theta * cot - 1) * cot
    h, s = h_and_s(kap)
    h0, s0 = h_and_s(r.astype(complex))
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        e = np.exp(s * tau[:, None])
        # nodes where the exponential underflows contribute nothing (h may be huge there)
        terms = np.where(e == 0, 0.0, np.real(e * h * (1 + 1j * sigma[None, :])))
        first = 0.5 * np.real(np.exp(s0 * tau) * h0)
    if not (np.all(np.isfinite(terms)) and np.all(np.isfinite(first))):
        raise FloatingPointError("Talbot quadrature produced a non-finite term")
    return r / nodes * (first + terms.sum(axis=1))


@dataclass(frozen=True)
class BAPTheory:
    """Model-B loss curves from theory.

    Attributes
    ----------
    model : BAPModel
    times : array of t
    test_loss, train_loss : arrays (float, or mpmath numbers when ``dps`` is set)
    final_loss : the ``t -> inf`` test loss (``kappa_0 g1(kappa_0)`` at ``P = inf``)
    method, dps, nodes : how it was computed
    """

    model: BAPModel
    times: np.ndarray
    test_loss: object
    train_loss: object
    final_loss: object
    method: str
    dps: int | None
    nodes: int
    _ctx: object = field(default=None, repr=False, compare=False)

    def to_dict(self, digits=None) -> dict:
        def fmt(x):
            if digits is None and self.dps is None:
                x = float(x)
                return "inf" if math.isinf(x) else x
            ctx = self._ctx or _context(max(digits or 17, 17))
            return ctx.nstr(ctx.mpf(x), digits or self.dps)
        return {**self.model.to_dict(), "t": [float(x) for x in self.times],
                "test_loss": [fmt(x) for x in self.test_loss],
                "train_loss": [fmt(x) for x in self.train_loss],
                "final_loss": fmt(self.final_loss) if self.final_loss is not None else None,
                "method": self.method, "dps": self.dps, "nodes": self.nodes}

    def __str__(self):
        return (f"BAP theory ({self.method}; N={self.model.N}, P={self.model.P}, M={self.model.M}): "
                f"L(t) at {len(self.times)} times, L(0)={float(self.test_loss[0]):.6g}")


def _check_supported(model):
    if not isinstance(model, BAPModel):
        raise TypeError(f"model must be a BAPModel, got {type(model).__name__}")
    if math.isinf(model.M):
        raise ValueError("M must be finite for the theory evaluation (power-law tails at complex "
                         "kappa are not implemented yet), got M = inf")
    if model.batch is not None:
        raise ValueError("batch: the theory covers gradient flow and full-batch gradient descent "
                         "(online SGD is not derived yet)")


def _near_threshold(model, name):
    """True where the one-point kappa-contour route is unreliable: 3M/4 < n < 20M."""
    v = getattr(model, name)
    return not math.isinf(v) and 0.75 * model.M < v < 20 * model.M


def bap_theory(model: BAPModel, times, *, dps: int | None = None) -> BAPTheory:
    """Average test (and train) loss of model B at the given times.

    Gradient flow or gradient descent, one model or an ensemble, finite
    ``M``, any ``N`` and ``P`` (finite or infinite).  ``P = inf``: one-point result (single Talbot inversion; any
    precision); the train loss equals the test loss (spec).  Finite ``P``: the
    two-frequency kernels (double Talbot inversion, double precision), test and
    train loss with label noise.
    For the train loss at ``N = inf`` and finite ``P`` see
    :func:`bap_train_loss_infinite_width`.

    Examples
    --------
    At ``N = inf`` the curve is the closed form ``sum_k lambda_k w_k^2 e^{-2 lambda_k t}``:

    >>> import numpy as np
    >>> from numerics import BAPModel
    >>> m = BAPModel(M=200, alpha=1.5, beta=1.0, N="inf", P="inf")
    >>> r = bap_theory(m.replace(N=10**9), [0.0, 1.0, 10.0])
    >>> lam, w = m.eigenvalues(), m.target()
    >>> exact = [np.sum(lam * w**2 * np.exp(-2 * lam * t)) for t in (0.0, 1.0, 10.0)]
    >>> bool(np.allclose(r.test_loss, exact, rtol=1e-6))
    True
    """
    _check_supported(model)
    t = _times(times)
    lam = model.eigenvalues()
    u2 = lam * model.target() ** 2
    eta = None if model.eta is None else float(model.eta)
    if eta is not None:
        steps = t / eta
        if np.any(np.abs(steps - np.round(steps)) > 1e-9 * np.maximum(steps, 1)):
            raise ValueError(f"times must be multiples of eta = {eta:g} for gradient descent")
        if math.isinf(model.N) and math.isinf(model.P):
            lmax = float(lam.max())
        else:
            lmax = spectral_edge(lam, model.N, model.P)
        if not eta * lmax < 1:
            raise ValueError(f"eta must be < 1/lambda_max(K) = {1 / lmax:.4g} for the gradient-descent "
                             f"theory (the spectral edge of the deterministic equivalent), got {eta:g}")
        if math.isinf(model.N) and math.isinf(model.P):
            n = np.round(t / eta)
            vals = (u2[None, :] * (1 - eta * lam[None, :]) ** (2 * n[:, None])).sum(axis=1)
            return BAPTheory(model, t, vals, vals.copy(), 0.0, "closed form (N = P = inf, gradient descent)",
                             None, 0)
    two_point = (not math.isinf(model.P)
                 or (not math.isinf(model.N) and (model.ensemble > 1 or eta is not None
                                                  or _near_threshold(model, "N"))))
    if two_point:
        if dps is not None:
            raise ValueError("dps: finite P, ensembles, gradient descent and 3M/4 < N < 20M are "
                             "evaluated in double precision only (dps=None)")
        test, train = _two_point_curves(lam, u2, model.N, model.P, float(model.noise_var), t,
                                        ensemble=model.ensemble, eta=eta)
        if math.isinf(model.P):
            train = test.copy()
        m = min(model.N, model.P)
        final = math.inf if (model.N == model.P and m < lam.size) else None
        method = ("double Talbot in (kappa, kappa')" + (f", ensemble of {model.ensemble}" if model.ensemble > 1 else "")
                  + (f", gradient descent eta={eta:g}" if eta is not None else ""))
        return BAPTheory(model, t, test, train, final, method, None, TALBOT_NODES)
    if math.isinf(model.N):
        if dps is None:
            vals = (u2[None, :] * np.exp(-2 * lam[None, :] * t[:, None])).sum(axis=1)
            return BAPTheory(model, t, vals, vals.copy(), 0.0, "closed form (N = P = inf)", None, 0)
        ctx = _context(dps + 10)
        out = _context(dps)
        vals = [out.mpf(ctx.fsum(ctx.mpf(u) * ctx.exp(-2 * ctx.mpf(l) * ctx.mpf(x)) for l, u in zip(lam, u2)))
                for x in t]
        return BAPTheory(model, t, vals, list(vals), out.zero, "closed form (N = P = inf)", dps, 0, out)
    return _talbot_curve(lam, u2, model.N, t, model, dps, kind="test")


def bap_train_loss_infinite_width(model: BAPModel, times, *, dps: int | None = None) -> BAPTheory:
    """Train loss of model B at ``N = inf`` and finite ``P`` (one-point result).

    The test loss in this setting needs the two-point equivalent, which is
    not derived yet; the result's ``test_loss`` field carries the train loss
    only so that the object keeps one shape; read ``train_loss``.
    """
    if not isinstance(model, BAPModel):
        raise TypeError("model must be a BAPModel")
    if not math.isinf(model.N) or math.isinf(model.P):
        raise ValueError("N must be inf and P finite for bap_train_loss_infinite_width")
    if math.isinf(model.M):
        raise ValueError("M must be finite for the theory evaluation, got M = inf")
    t = _times(times)
    lam = model.eigenvalues()
    u2 = lam * model.target() ** 2
    if _near_threshold(model, "P"):
        if dps is not None:
            raise ValueError("dps: 3M/4 < P < 20M is evaluated in double precision only (dps=None)")
        _, train = _two_point_curves(lam, u2, math.inf, model.P, float(model.noise_var), t)
        return BAPTheory(model, t, train, train, 0.0, "double Talbot in (kappa, kappa') (train loss)",
                         None, TALBOT_NODES)
    return _talbot_curve(lam, u2, model.P, t, model, dps, kind="train")


def _talbot_curve(lam, u2, n, t, model, dps, kind):
    tau = 2 * t
    if dps is None:
        nodes = TALBOT_NODES
        k0 = _kappa0(lam, n)
        final = 0.0 if (k0 is None or kind != "test") else float(k0 * np.sum(u2 / (lam + k0)))

        def hs(kap):
            n1, n2, g1 = _sums_double(lam, u2, kap)
            sk = kap * (1 - n1 / n)
            h = g1 * (1 - n2 / n)
            if kind == "test":
                h = h / (1 - n1 / n)
            return h, sk

        vals = np.empty_like(tau)
        zero = tau == 0
        vals[zero] = np.sum(u2)
        tz = tau[~zero]
        r = 2 * nodes / (5 * tz)
        add = np.zeros_like(tz)
        if k0 is not None:
            # near or below the pole: a fixed radius k0/2 (s < 0 on the whole contour) + residue
            inside = r < 2 * k0
            r = np.where(inside, k0 / 2, r)
            add = np.where(inside, final, 0.0)    # the train kernel has no pole at kappa0
        vals[~zero] = _talbot_double(hs, tz, r, nodes) + add
        return BAPTheory(model, t, vals, vals.copy() if kind == "test" else vals, final if kind == "test" else 0.0,
                         f"fixed Talbot in kappa ({kind} loss)", None, nodes)
    nodes = int(math.ceil(dps / 0.6)) + 8
    ctx = _context(dps + nodes + 10)
    out = _context(dps)
    lamm = [ctx.mpf(x) for x in lam]
    u2m = [ctx.mpf(x) for x in u2]
    k0 = _kappa0(lamm, n, ctx)
    final = ctx.zero if (k0 is None or kind != "test") else k0 * ctx.fsum(u / (l + k0) for l, u in zip(lamm, u2m))

    def hs(kap):
        n1, n2, g1 = _sums_mp(ctx, lamm, u2m, kap)
        sk = kap * (1 - n1 / n)
        h = g1 * (1 - n2 / n)
        if kind == "test":
            h = h / (1 - n1 / n)
        return h, sk

    vals = []
    for x in tau:
        x = ctx.mpf(x)
        if x == 0:
            vals.append(out.mpf(ctx.fsum(u2m)))
            continue
        r = 2 * ctx.mpf(nodes) / (5 * x)
        add = ctx.zero
        if k0 is not None and r < 2 * k0:
            r = k0 / 2
            add = final
        h0, s0 = hs(r)
        acc = ctx.exp(s0 * x) * h0 / 2
        for kk in range(1, nodes):
            th = ctx.pi * kk / nodes
            cot = ctx.cot(th)
            kap = r * th * ctx.mpc(cot, 1)
            sig = th + (th * cot - 1) * cot
            h, sk = hs(kap)
            acc += ctx.re(ctx.exp(sk * x) * h * ctx.mpc(1, sig))
        vals.append(out.mpf(r / nodes * acc + add))
    return BAPTheory(model, t, vals, list(vals), out.mpf(final), f"fixed Talbot in kappa ({kind} loss)",
                     dps, nodes, out)


# --------------------------------------------------------------------------
# finite N and P: the two-frequency kernels, double Talbot in (kappa, kappa')
# --------------------------------------------------------------------------
def _ds_dkappa(n1, n2, N, P):
    """s'(kappa) for s = kappa (1 - n1/N)(1 - n1/P) (hand form of derive_bap()["ds_dkappa"])."""
    iN = 0.0 if math.isinf(N) else 1.0 / N
    iP = 0.0 if math.isinf(P) else 1.0 / P
    fN, fP = 1 - n1 * iN, 1 - n1 * iP
    return fN * fP - (n2 - n1) * (fP * iN + fN * iP)


def _kernels(lam, u2, kap, N, P, noise, ensemble=1):
    """n1, n2, s, s', and the kernels G_test, G_train on all pairs of kap (1-D complex)."""
    iN = 0.0 if math.isinf(N) else 1.0 / N
    iP = 0.0 if math.isinf(P) else 1.0 / P
    R = 1.0 / (lam[None, :] + kap[:, None])            # (K, M)
    LR = lam[None, :] * R
    n1 = LR.sum(axis=1)
    n2 = (LR * LR).sum(axis=1)
    s = kap * (1 - n1 * iN) * (1 - n1 * iP)
    ds = _ds_dkappa(n1, n2, N, P)

    def cross(x):
        return (R * x[None, :]) @ R.T

    Su, Sul = cross(u2), cross(u2 * lam)
    S0, S1, S2 = cross(np.ones_like(lam)), cross(lam), cross(lam * lam)
    kk = kap[:, None] * kap[None, :]
    frac = S1 * iN / (1 - S2 * iN)
    B = kk * (Su + Sul * frac)
    D = n1[:, None] + n1[None, :] - lam.size + kk * (S0 + S1 * frac)
    den = 1 - D * iP
    G_test = (B + noise * D * iP) / den
    rr = (1 - n1 * iP)[:, None] * (1 - n1 * iP)[None, :]
    G_train = rr * (B + noise) / den
    if ensemble > 1:
        # cross term of two students (independent projections, same data): the N = inf kernel
        # at the finite-N kappa; L_E = L_1/E + (1 - 1/E) L_c (derive_bap()["ensemble_loss"])
        w1, w2 = 1.0 / ensemble, 1.0 - 1.0 / ensemble
        denc = 1 - S2 * iP
        G_test = w1 * G_test + w2 * (kk * Su + noise * S2 * iP) / denc
        G_train = w1 * G_train + w2 * rr * (kk * Su + noise) / denc
    return n1, s, ds, G_test, G_train


def _kernels_diag(lam, kap, N, P):
    """n1, n2, s, s' at real kappa (array), no kernels."""
    iN = 0.0 if math.isinf(N) else 1.0 / N
    iP = 0.0 if math.isinf(P) else 1.0 / P
    R = lam[None, :] / (lam[None, :] + np.asarray(kap, dtype=float)[:, None])
    n1, n2 = R.sum(axis=1), (R * R).sum(axis=1)
    s = kap * (1 - n1 * iN) * (1 - n1 * iP)
    return n1, n2, s, _ds_dkappa(n1, n2, N, P), iN, iP


def _kernels_diag_c(lam, kap, N, P):
    """n1, n2, s, s' at complex kappa (1-D)."""
    iN = 0.0 if math.isinf(N) else 1.0 / N
    iP = 0.0 if math.isinf(P) else 1.0 / P
    R = lam[None, :] / (lam[None, :] + kap[:, None])
    n1, n2 = R.sum(axis=1), (R * R).sum(axis=1)
    s = kap * (1 - n1 * iN) * (1 - n1 * iP)
    return n1, n2, s, _ds_dkappa(n1, n2, N, P), iN, iP


def _kappa_on_contours(lam, N, P, shape, nodes, k0, substeps=2, maxiter=60):
    """Physical-branch kappa(s) on contours s = shape(theta) (complex array over contours),
    theta = k pi/n for k = -(n-1)..(n-1); shape(0) is real and positive.

    The real node is the root of s(kappa) = shape(0) above kappa0 (where s increases); the
    others follow by vectorised predictor-corrector continuation in theta (steps of at most
    5% in s), which stays on the physical branch; the conjugate half by symmetry.
    """
    r0 = np.real(shape(0.0))
    lo = k0 if k0 is not None else 0.0

    def F(u):
        kk = lo + np.exp(u)
        _, _, s_, ds_, _, _ = _kernels_diag(lam, kk, N, P)
        return np.log(s_) - np.log(r0), ds_ * np.exp(u) / s_

    hi = np.log(4 * r0 + 2 * float(np.sum(lam)) + 1.0)
    start = np.full(r0.size, math.log(max(lo, 1e-300)) - 80.0)
    root = solve_increasing(F, start, hi, backend=NumpyBackend(), tol=1e-13, what="s(kappa) = s0")
    kappa = (lo + np.exp(root.u)).astype(complex)
    out = np.empty((r0.size, 2 * nodes - 1), dtype=complex)
    centre = nodes - 1
    out[:, centre] = kappa
    theta = np.pi * np.arange(0, nodes) / nodes
    for k in range(1, nodes):
        th0, th1 = theta[k - 1], theta[k]
        z0, z1 = shape(th0), shape(th1)
        steps = max(substeps, int(np.ceil(np.max(np.abs(z1 - z0) / (0.05 * np.abs(z0))))))
        prev = z0
        for j in range(1, steps + 1):
            target = shape(th0 + (th1 - th0) * j / steps)
            _, _, sv, dv, _, _ = _kernels_diag_c(lam, kappa, N, P)
            kappa = kappa + (target - prev) / dv                     # predictor
            for _ in range(maxiter):
                _, _, sv, dv, _, _ = _kernels_diag_c(lam, kappa, N, P)
                step = (sv - target) / dv
                kappa = kappa - step
                if np.all(np.abs(step) <= 1e-12 * np.abs(kappa)):
                    break
            prev = target
        # physical branch: kappa(s) maps the upper half plane into itself
        if np.any(np.imag(kappa) < 0):
            raise FloatingPointError("kappa(s) continuation left the physical branch")
        out[:, centre + k] = kappa
        out[:, centre - k] = np.conj(kappa)
    return out


def _talbot_shape(theta):
    """theta (cot theta + i), the fixed-Talbot contour of radius 1 (1 at theta = 0)."""
    return theta * (1 / np.tan(theta) + 1j) if theta > 0 else 1.0 + 0j


def spectral_edge(lam, N, P):
    """lambda_max(K) from the deterministic equivalent: -max of s(kappa) over kappa < -lambda_1."""
    lam = np.asarray(lam, dtype=float)
    l1 = float(lam.max())
    span = 10 * l1 + 4 * float(lam.sum())
    d = l1 * np.logspace(-12, math.log10(span / l1), 4000)
    kap = -l1 - d
    _, _, s_, _, _, _ = _kernels_diag(lam, kap, N, P)
    i = int(np.argmax(s_))
    lo_i, hi_i = max(i - 1, 0), min(i + 1, kap.size - 1)
    from scipy.optimize import minimize_scalar
    res = minimize_scalar(lambda k: -float(_kernels_diag(lam, np.array([k]), N, P)[2][0]),
                          bounds=(kap[hi_i], kap[lo_i]), method="bounded", options={"xatol": 1e-14 * l1})
    return float(res.fun)


def _talbot_nodes(r, nodes):
    k = np.arange(-(nodes - 1), nodes)
    theta = np.pi * k / nodes
    with np.errstate(divide="ignore", invalid="ignore"):
        cot = np.where(k == 0, 0.0, 1 / np.tan(theta))
        kap = np.where(k == 0, 1.0 + 0j, theta * (cot + 1j))
        sigma = np.where(k == 0, 0.0, theta + (theta * cot - 1) * cot)
    return r * kap, r / (2 * nodes) * (1 + 1j * sigma)


def _two_point_curves(lam, u2, N, P, noise, t, nodes=TALBOT_NODES, ensemble=1, eta=None):
    """Test and train loss at times t (double precision) for finite N and/or P.

    The matrix products are small (2n-1 nodes by M modes): one BLAS thread is
    faster than several, and immune to thread oversubscription.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _two_point_curves_impl(lam, u2, N, P, noise, t, nodes, ensemble, eta)


def _two_point_curves_impl(lam, u2, N, P, noise, t, nodes, ensemble, eta):
    t = np.asarray(t, dtype=float)
    test = np.empty_like(t)
    train = np.empty_like(t)
    L0 = float(np.sum(u2))
    zero = t == 0
    test[zero] = L0
    train[zero] = L0
    m = min(N, P)
    k0 = _kappa0(lam, m) if m < lam.size else None
    idx = np.flatnonzero(~zero)
    # Standard fixed-Talbot contours in s (every singularity of the two-frequency loss lies
    # on the negative real s axis), radius r = 2n/(5t) grouped in quarter octaves; kappa(s)
    # at the complex nodes by Newton continuation along the contour from the real root.
    # gradient flow: weight e^{s t}, Talbot in s.  Gradient descent (step eta): weight
    # (1 + eta s)^n = e^{n w}, Talbot in w with s = (e^w - 1)/eta.
    x = t[idx] if eta is None else np.round(t[idx] / eta)
    keys = np.round(np.log2(2 * nodes / (5 * x)) * 2) / 2   # half-octave groups share a contour
    if eta is not None:
        keys = np.minimum(keys, math.log2(0.9))   # keep |Im w| < pi: e^w must not wind around
    ukeys = np.unique(keys)
    if not ukeys.size:
        return test, train
    radii = 2.0 ** ukeys
    if eta is None:
        shape = lambda th: radii * _talbot_shape(th)  # noqa: E731
    else:
        shape = lambda th: np.expm1(radii * _talbot_shape(th)) / eta  # noqa: E731
    kaps = _kappa_on_contours(lam, N, P, shape, nodes, k0)
    for b, key in enumerate(ukeys):
        sel = idx[keys == key]
        r = 2.0 ** key
        z_nodes, c = _talbot_nodes(r, nodes)            # contour variable (s, or w for GD)
        n1, s, ds, Gt, Gr = _kernels(lam, u2, kaps[b], N, P, noise, ensemble)
        s_nodes = z_nodes if eta is None else np.expm1(z_nodes) / eta
        # residual of s(kappa) = s_node; s carries round-off ~ eps |kappa| from 1 - n1/N, 1 - n1/P
        if np.any(np.abs(s - s_nodes) > 1e-8 * np.abs(s_nodes) + 1e-12 * np.abs(kaps[b])):
            raise FloatingPointError(f"kappa(s) continuation failed at t ~ {t[sel].max():.3g}")
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            if eta is None:
                a = c[None, :] * np.exp(s_nodes[None, :] * t[sel][:, None]) / s_nodes[None, :]
            else:
                n = np.round(t[sel] / eta)
                a = (c * np.exp(z_nodes) / (eta * s_nodes))[None, :] * np.exp(z_nodes[None, :] * n[:, None])
        for G, out in ((Gt, test), (Gr, train)):
            out[sel] = np.real(np.einsum("tk,kl,tl->t", a, G, a))
    if not (np.all(np.isfinite(test)) and np.all(np.isfinite(train))):
        raise FloatingPointError("two-point Talbot quadrature produced a non-finite value")
    return test, train
