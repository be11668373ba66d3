"""Model B's renormalised variable kappa: the count equation, the map s(kappa),
its spectral edges, and kappa(s) on Talbot contours.

Every route of model B's theory inverts the derived one-point equation
(``derive_bap()["kappa_equation"]``, ``CONVENTIONS.md``)

    s = kappa (1 - n1(kappa)/N) (1 - n1(kappa)/P),    n1 = sum_k lambda_k / (lambda_k + kappa),

with ``n2 = sum_k lambda_k^2 / (lambda_k + kappa)^2`` in its derivative
(``derive_bap()["ds_dkappa"]``).  :func:`s_and_ds` is the one numeric form of the
two (``tests/test_bridge.py`` proves it equal to the derived expressions at real
and complex ``kappa``); everything else here is root finding on it:

* :func:`kappa0`: the pole ``n1(kappa_0) = n`` (``s = 0``), the ``t -> inf`` loss;
* :func:`spectral_edge` / :func:`lower_edge`: ``lambda_max(K)`` and ``lambda_min(K)``
  of the deterministic equivalent (the gradient-descent step bound, the late-time cut);
* :func:`kappa_on_contours`: ``kappa(s)`` on the physical branch along contours
  (predictor-corrector continuation in double precision), and :func:`polish_kappa`
  (Newton steps in mpmath).

The spectral sums come from :class:`~scaling_theory.numerics._flow_sums.BAPSpectrum`
(double, or mpmath by its ``ctx``).
"""
from __future__ import annotations

import math

import numpy as np

from ._solver import ConvergenceError, MpmathBackend, NumpyBackend, newton, solve_count, solve_increasing

__all__ = ["s_and_ds", "s_and_ds_one_sided", "kappa0", "spectral_edge", "lower_edge", "kappa_on_contours", "polish_kappa"]


def s_and_ds(kap, n1, n2, iN, iP):
    """``s(kappa) = kappa (1 - n1/N)(1 - n1/P)`` and ``s'(kappa)``, given the sums.

    ``iN = 1/N`` and ``iP = 1/P`` (``0`` at infinity); numpy arrays or mpmath numbers.
    The derivative uses ``dn1/dkappa = (n2 - n1)/kappa``.

    >>> s, ds = s_and_ds(2.0, 0.5, 0.25, 0.1, 0.0)
    >>> s, ds                      # 2 (1 - 0.05), 0.95 - (0.25 - 0.5) 0.1
    (1.9, 0.975)
    """
    fN, fP = 1 - n1 * iN, 1 - n1 * iP
    return kap * fN * fP, fN * fP - (n2 - n1) * (fP * iN + fN * iP)


def s_and_ds_one_sided(kap, n1, n2, n):
    """``s = kappa (1 - n1/n)`` and ``s' = 1 - n2/n``: :func:`s_and_ds` with one of ``N``, ``P``
    infinite and the other ``n`` (``derive_bap()["s_of_kappa"]``, ``["kappa_equation_N_inf"]``).

    >>> s_and_ds_one_sided(2.0, 0.5, 0.25, 10)
    (1.9, 0.975)
    """
    return kap * (1 - n1 / n), 1 - n2 / n


def _newton_step(spec, kap, N, P, target):
    s, ds = _s_and_ds(spec, kap, N, P)
    return (s - target) / ds


def _inverse(n):
    return 0.0 if math.isinf(n) else 1.0 / n


def _s_and_ds(spec, kap, N, P):
    """s(kappa) and s'(kappa) (double, any 1-D complex ``kap``)."""
    n1, n2 = spec.n12(kap)
    return s_and_ds(kap, n1, n2, _inverse(N), _inverse(P))


def _real(x):
    return x.real if isinstance(x, (complex, np.complexfloating)) else x


def kappa0(spec, n):
    """Root of n1(kappa) = n on kappa > 0 (exists iff n < M); ``spec`` a :class:`BAPSpectrum`
    (double or mpmath, by its ``ctx``)."""
    if not n < spec.M:
        return None
    ctx = spec.ctx
    # n1 > n at kappa = lambda_{n+1}/(2(n+1)) (n + 1 modes above 2/3); n1 < n at sum(lambda)/n
    if spec.power_law:
        lam_n1 = (int(n) + 1) ** -float(spec.alpha) if ctx is None else ctx.power(int(n) + 1, -spec.alpha)
    else:
        lam_n1 = sorted(spec.lam, reverse=True)[int(n)]
    total = spec.total("l")
    if ctx is None:
        lo = math.log(float(lam_n1) / (2 * (int(n) + 1)))
        hi = math.log(float(total) / n)

        def counts(u):
            n1, n2 = spec.n12(np.exp(u).astype(complex))
            return n1.real, n2.real

        res = solve_count(counts, n, np.array([lo]), np.array([hi]), backend=NumpyBackend(), tol=1e-14,
                          log=np.log, what="n1(kappa0) = N")
        return float(np.exp(res.u[0]))
    lo = ctx.log(lam_n1 / (2 * (int(n) + 1)))
    hi = ctx.log(total / n)

    def counts_mp(u):
        n1, n2 = spec.n12([ctx.exp(u)])
        return _real(n1[0]), _real(n2[0])

    res = solve_count(counts_mp, n, lo, hi, backend=MpmathBackend(ctx), tol=ctx.eps * 2 ** 10, log=ctx.log,
                      what="n1(kappa0) = N")
    return ctx.exp(res.u)


def lower_edge(spec, N, P):
    """Lower edge ``lambda_min`` of the non-zero spectrum of ``K`` (deterministic equivalent),
    or ``None`` where it reaches 0 (``min(N, P) = M``, or ``N = P < M``).

    Mirror of :func:`spectral_edge`: ``s(kappa)`` is negative on ``(kappa_a, kappa_b)``, with
    ``kappa_b = kappa_0`` if ``min(N, P) < M`` (else 0) and ``kappa_a`` the next zero of ``s``
    below it (``n_1 = max(N, P)`` or ``kappa = 0``; for ``min(N, P) > M`` the root of
    ``n_1 = min(N, P)`` above the pole at ``-lambda_M``); its minimum there is ``-lambda_min``.
    Found on a grid (the grid's minimum of ``s`` lies above the true one, so ``lambda_min``
    comes out low and the late time late: on the safe side)."""
    from scipy.optimize import brentq

    m, big = min(N, P), max(N, P)
    if m == spec.M or (N == P and m < spec.M):
        return None
    n1 = lambda k: float(spec.n12(np.array([k], dtype=complex))[0][0].real)  # noqa: E731
    if m < spec.M:
        kb = float(kappa0(spec, m))
        ka = 0.0
        if big < spec.M:      # n_1 = max(N, P) on (0, kappa_0): s changes sign there
            lo = kb
            for _ in range(40):    # n_1 grows as kappa falls; step down to a bracket
                lo /= 10
                if n1(lo) > big:
                    break
            ka = brentq(lambda k: n1(k) - big, lo, kb, xtol=1e-15 * kb)
        if math.isinf(spec.M):
            # s -> 0- as kappa -> 0+ (the minimum sits where n_1 ~ N alpha/(alpha - 1)): stay where the
            # M = inf sums are cheap; a grid cut short only lowers lambda_min (later cut, safe)
            ka = max(ka, 1e-2 * kb)
    else:
        lam_lo = float(spec.M) ** -float(spec.alpha) if spec.power_law else float(min(spec.lam))
        kb = 0.0
        y = brentq(lambda y: n1(-lam_lo * (1 - 10.0 ** -y)) - m, 1e-12, 13.0, xtol=1e-12)
        ka = -lam_lo * (1 - 10.0 ** -y)
    span = kb - ka
    if not span > 0:
        return None
    x = np.concatenate([np.logspace(-9, -1, 40), np.linspace(0.1, 0.9, 41), 1 - np.logspace(-1, -9, 40)])
    kap = ka + span * x
    with np.errstate(all="ignore"):
        sv = _s_and_ds(spec, kap.astype(complex), N, P)[0].real
    sv = sv[np.isfinite(sv)]
    if not sv.size or not np.min(sv) < 0:
        return None
    return -float(np.min(sv))


def kappa_on_contours(spec, N, P, shape, nodes, k0, substeps=2, maxiter=60):
    """Physical-branch kappa(s) on contours s = shape(theta) (complex array over contours),
    theta = k pi/n for k = -(n-1)..(n-1); shape(0) is real, and either positive for every
    contour or beyond the spectral edge (< -lambda_max(K)) for every contour; Im shape >= 0
    for theta in (0, pi).

    The real node is the root of s(kappa) = shape(0) above kappa0 (where s increases); the
    others follow by vectorised predictor-corrector continuation in theta (steps of at most
    5% in s), which stays on the physical branch; the conjugate half by symmetry.
    """
    r0 = np.real(shape(0.0))
    theta = np.pi * np.arange(0, nodes) / nodes
    out = np.empty((r0.size, 2 * nodes - 1), dtype=complex)
    centre = nodes - 1
    if math.isinf(N) and math.isinf(P):          # s = kappa
        for k in range(nodes):
            z = np.asarray(shape(theta[k]), dtype=complex) * np.ones(r0.size)
            out[:, centre + k] = z
            out[:, centre - k] = np.conj(z)
        return out
    if np.all(r0 < 0):
        # beyond the spectral edge (s0 < -lambda_max(K)): the real root on kappa < kappa_e,
        # where s increases from -inf to -lambda_max(K); kappa = kappa_e - e^u
        edge, ke = edge_point(spec, N, P)
        if np.any(r0 >= -edge):
            raise ValueError("contour starts inside the spectrum of K (s0 >= -lambda_max)")

        def F(u):
            kk = ke - np.exp(u)
            s_, ds_ = _s_and_ds(spec, kk.astype(complex), N, P)
            s_, ds_ = s_.real, ds_.real
            return np.log(-s_) - np.log(-r0), -ds_ * np.exp(u) / s_

        hi = np.log(4 * np.abs(r0) + 4 * abs(ke) + 1.0)
        start = np.full(r0.size, math.log(abs(ke) + 1e-300) - 40.0)
        root = solve_increasing(F, start, hi, backend=NumpyBackend(), tol=1e-13, what="s(kappa) = s0")
        kappa = (ke - np.exp(root.u)).astype(complex)
    else:
        lo = k0 if k0 is not None else 0.0

        def F(u):
            kk = lo + np.exp(u)
            s_, ds_ = _s_and_ds(spec, kk.astype(complex), N, P)
            s_, ds_ = s_.real, ds_.real
            return np.log(s_) - np.log(r0), ds_ * np.exp(u) / s_

        hi = np.log(4 * r0 + 2 * float(spec.total("l")) + 1.0)
        start = np.full(r0.size, math.log(max(lo, 1e-300)) - 30.0)
        root = solve_increasing(F, start, hi, backend=NumpyBackend(), tol=1e-13, what="s(kappa) = s0")
        kappa = (lo + np.exp(root.u)).astype(complex)
    out[:, centre] = kappa
    last = {}

    def step(k, target):
        s, ds = _s_and_ds(spec, k, N, P)
        last["ds"] = ds
        return (s - target) / ds

    for k in range(1, nodes):
        th0, th1 = theta[k - 1], theta[k]
        z0, z1 = shape(th0), shape(th1)
        steps = max(substeps, int(np.ceil(np.max(np.abs(z1 - z0) / (0.05 * np.abs(z0))))))
        prev = z0
        for j in range(1, steps + 1):
            target = shape(th0 + (th1 - th0) * j / steps)
            # predictor: s'(kappa) from the corrector's last iterate (within its tolerance of kappa)
            dv = last["ds"] if "ds" in last else _s_and_ds(spec, kappa, N, P)[1]
            kappa = kappa + (target - prev) / dv
            kappa = newton(lambda k: step(k, target), kappa, rtol=1e-12, maxiter=maxiter,
                           strict=False)                                    # corrector
            prev = target
        # physical branch: kappa(s) maps the upper half plane into itself
        if np.any(np.imag(kappa) < 0):
            raise FloatingPointError("kappa(s) continuation left the physical branch")
        out[:, centre + k] = kappa
        out[:, centre - k] = np.conj(kappa)
    return out


def spectral_edge(spec, N, P):
    """lambda_max(K) from the deterministic equivalent: -max of s(kappa) over kappa < -lambda_1
    (``lambda_1`` itself at ``N = P = inf``, where ``s = kappa``)."""
    if math.isinf(N) and math.isinf(P):
        return float(spec.lambda_max)
    return edge_point(spec, N, P)[0]


def edge_point(spec, N, P):
    """``(lambda_max(K), kappa_e)``: the spectral edge and the kappa < -lambda_1 where
    s(kappa) reaches its maximum ``-lambda_max`` (s increases on kappa < kappa_e); cached on
    ``spec`` (one evaluation per theory call)."""
    cache = spec.__dict__.setdefault("_edge_points", {})
    if (N, P) not in cache:
        cache[(N, P)] = _edge_point_impl(spec, N, P)
    return cache[(N, P)]


def _edge_point_impl(spec, N, P):
    l1 = float(spec.lambda_max)
    span = 10 * l1 + 4 * float(spec.total("l"))
    d = l1 * np.logspace(-12, math.log10(span / l1), 4000)
    kap = -l1 - d
    s_ = _s_and_ds(spec, kap.astype(complex), N, P)[0].real
    i = int(np.argmax(s_))
    lo_i, hi_i = max(i - 1, 0), min(i + 1, kap.size - 1)
    from scipy.optimize import minimize_scalar
    res = minimize_scalar(lambda k: -float(_s_and_ds(spec, np.array([k], dtype=complex), N, P)[0][0].real),
                          bounds=(kap[hi_i], kap[lo_i]), method="bounded", options={"xatol": 1e-14 * l1})
    return float(res.fun), float(res.x)


def polish_kappa(spec, kap, s_nodes, iN, iP, maxiter=30, spec_lo=None):
    """Newton steps on s(kappa) = s_node in mpmath from double-precision starts.

    Newton converges quadratically here (simple roots, starts within ~1e-15 relative), so once
    a step is below ``(rtol / 64)^(1/2)`` relative, the iterate after it is within ``rtol``:
    the confirming evaluation is skipped (each costs every spectral sum at every node).
    ``spec_lo``: the same spectrum in a context of about 40 digits, for the first step (from
    ~1e-16 to ~1e-32 it needs no more; it costs about half a full-precision step)."""
    ctx = spec.ctx
    targets = np.array(s_nodes, dtype=object)
    rtol = ctx.eps * 2 ** 8

    def step_of(k, sp=spec):
        n1, n2 = sp.n12(list(k))
        s, ds = s_and_ds(k, np.array(n1, dtype=object), np.array(n2, dtype=object), iN, iP)
        return (s - targets) / ds

    x = np.array(kap, dtype=object)
    for it in range(maxiter):
        step = step_of(x, spec_lo if (it == 0 and spec_lo is not None) else spec)
        x = x - step
        worst = max(abs(a) / abs(b) for a, b in zip(step, x))
        if worst * worst * 64 <= rtol:
            return list(x)
    raise ConvergenceError(f"kappa(s) Newton polish: no convergence after {maxiter} steps",
                           residual=float(worst))
