r"""Model B trained by online SGD (``P = inf``, batch ``B``, step ``eta``): the theory.

The equations are derived in :func:`scaling_theory.theory.derive_bap_sgd` (``derivations/model_b.md``).
Given the projection, the error ``v = w* - A^T theta / sqrt(N)`` has a second moment
whose diagonal in the eigenbasis of ``J = Lambda^{1/2} (A^T A / N) Lambda^{1/2}`` obeys
the exact recursion

    d_a(n+1) = rho(j_a) d_a(n) + q(j_a) (L(n) + sigma^2),   L(n) = sum_a d_a(n),
    rho(j) = (1 - eta j)^2 + eta^2 j^2 / B,   q(j) = eta^2 j^2 / B,

(``sigma^2`` the label-noise variance of the fresh batches).  Its generating function
``Lhat(x) = sum_n L(n) x^n`` is

    Lhat(x) = [F_1(x) + x Q(x) sigma^2 / (1 - x)] / (1 - x Q(x)),
    F_1 = sum_a u_a^2 / (1 - x rho_a),   Q = sum_a q_a / (1 - x rho_a),

and ``1 / (1 - x rho(j)) = [R(s_2) - R(s_1)] / (x c (s_2 - s_1))`` with
``R(s) = 1/(j + s)``, ``c = eta^2 (1 + 1/B)`` and ``-s_{1,2}`` the roots of
``rho(j) = 1/x``, so both sums are one-point resolvents of ``J``:
``u^T (J + s)^{-1} u = (kappa/s) g_1(kappa)`` and
``sum_a j_a^2 / (j_a + s) = tr Lambda - s n_1(kappa)`` at the renormalised
``kappa(s)`` (``s = kappa (1 - n_1/N)``; ``kappa = s`` at ``N = inf``).  ``L(n)`` is the
inverse generating function, a fixed-Talbot integral in ``w`` (``x = e^{-w}``).
At ``N = inf`` the recursion is exact; at finite ``N`` it is the leading-order
deterministic equivalent, as for gradient flow.
"""
from __future__ import annotations

import math

import numpy as np
from threadpoolctl import threadpool_limits

from . import _talbot as talbot
from ._flow_contours import edge_point, kappa0, kappa_on_contours

__all__ = ["sgd_curve", "sgd_laplace", "sgd_final_loss", "sgd_stability_bound", "sgd_noise_feedback", "sgd_max_step",
           "SGD_NODES"]

#: Talbot nodes of the inversion in w (capped radius for the first steps needs more).
SGD_NODES = 32


def sgd_stability_bound(edge, batch):
    """Largest stable step: ``rho(j) < 1`` on the spectrum ``[0, edge]`` iff
    ``eta < 2 / (edge (1 + 1/B))``."""
    return 2.0 / (edge * (1.0 + 1.0 / batch))


def sgd_noise_feedback(spec, N, eta, batch):
    """``Q_1 = sum_a q_a / (1 - rho_a) = -n_1(kappa(s_1)) / (B + 1)`` at ``s_1 = -2/(eta (1 + 1/B))``:
    the gain of the noise feedback of the second-moment recursion (derived in
    :func:`scaling_theory.theory.derive_bap_sgd`, step "Stability of the second moment").  The
    recursion is stable iff ``eta < sgd_stability_bound`` and ``Q_1 < 1``."""
    s1 = -2.0 / (eta * (1.0 + 1.0 / batch))
    kap1 = kappa_on_contours(spec, N, math.inf, lambda th: np.array([s1], dtype=complex), 1, None)[:, 0]
    return -spec.n12(kap1)[0][0].real / (batch + 1)


def sgd_max_step(spec, N, batch):
    """The exact edge of stability of online SGD: ``(eta_max, reason)``.

    The mean of every mode decays iff ``eta < 2/(lambda_max (1 + 1/B))``; the second
    moment also needs the noise feedback ``Q_1(eta) < 1`` (derived in
    :func:`scaling_theory.theory.derive_bap_sgd`).  ``Q_1 = -n_1(kappa)/(B + 1)`` with ``eta = -2/((1 + 1/B)
    s(kappa))``, so the feedback edge is the root ``kappa*`` of ``n_1(kappa) = -(B + 1)`` on
    ``kappa < -lambda_1`` (``n_1`` falls from 0 to -inf there), when it lies on the physical
    branch (below the spectral-edge point ``kappa_e``); otherwise the mean bound is the edge.
    """
    from scipy.optimize import brentq

    b = 1.0 + 1.0 / batch
    l1 = float(spec.lambda_max)
    if math.isinf(N):
        edge, ke = l1, -l1
    else:
        edge, ke = edge_point(spec, N, math.inf)
    mean_bound = sgd_stability_bound(edge, batch)

    def f(u):   # increasing in u: kappa = -lambda_1 - e^u
        n1 = spec.n12(np.array([-l1 - math.exp(u)], dtype=complex))[0][0].real
        return math.log(batch + 1) - math.log(-n1)

    lo, hi = math.log(l1) - 30.0, math.log(4 * float(spec.total("l")) + 4 * l1)
    if f(lo) > 0:    # feedback edge closer to -lambda_1 than resolved: the mean bound rules
        return mean_bound, "the mean of the top mode diverges beyond 2/(lambda_max (1 + 1/B))"
    u = brentq(f, lo, hi, xtol=1e-14, rtol=1e-14)
    kap = -l1 - math.exp(u)
    if kap >= ke:
        return mean_bound, "the mean of the top mode diverges beyond 2/(lambda_max (1 + 1/B))"
    s_ = kap if math.isinf(N) else kap * (1 - spec.n12(np.array([kap], dtype=complex))[0][0].real / N)
    return min(-2.0 / (b * s_), mean_bound), ("the noise feedback of the second moment reaches 1: "
                                              "Q_1 = -n_1(kappa(s_1))/(B + 1) = 1")


def _roots(w, eta, batch):
    """``s_1, s_2`` with ``1 - x rho(j) = -x c (j + s_1)(j + s_2)``, ``x = e^{-w}``; at real
    ``w > 0``, ``s_1 < -2/(eta (1 + 1/B))`` and ``s_2 > 0``; for ``Im w > 0``,
    ``Im s_2 > 0 > Im s_1`` (written without cancellation for small ``w``)."""
    b = 1.0 + 1.0 / batch
    e = np.expm1(w)                       # 1/x - 1
    root = np.sqrt(1.0 + b * e)
    return -(1.0 + root) / (eta * b), e / (eta * (root + 1.0))


def sgd_curve(spec, N, eta, batch, noise, t, nodes=SGD_NODES, *, with_abs=False):
    """Test loss of online SGD at times ``t`` (multiples of ``eta``), double precision.

    ``spec`` a :class:`~scaling_theory.numerics._flow_sums.BAPSpectrum`; ``N`` finite or ``inf``.
    ``with_abs``: also return the sum of the absolute values of the quadrature terms.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        vals, absum = _sgd_curve(spec, N, float(eta), int(batch), float(noise), np.asarray(t, dtype=float), nodes)
    return (vals, absum) if with_abs else vals


def sgd_final_loss(spec, N, eta, batch, noise):
    """``L(t -> inf) = lim_{x -> 1} (1 - x) Lhat(x) = (L_0 + Q_1 sigma^2) / (1 - Q_1)``.

    ``L_0 = kappa_0 g_1(kappa_0)`` is the weight of the null space of ``J`` (``N < M``;
    0 otherwise), and ``Q_1 = Q(1) = (eta/B) sum_a j_a / (2 - eta (1 + 1/B) j_a)
    = -n_1(kappa(s_1)) / (B + 1)`` at ``s_1 = -2 / (eta (1 + 1/B))``: the stationary
    noise floor of SGD."""
    q1 = sgd_noise_feedback(spec, N, eta, batch)
    if N < spec.M:
        k0 = kappa0(spec, N)
        L0 = k0 * spec.F(np.array([k0], dtype=complex), weights=("u",), qs=(1,))["u", 1][0].real
    else:
        L0 = 0.0
    return (L0 + q1 * noise) / (1.0 - q1)


def sgd_laplace(spec, N, kap1, kap2, w, eta, batch, noise):
    """The generating function ``Lhat(x) = sum_n L(n) x^n`` at ``x = e^{-w}``
    (``derive_bap_sgd()["sgd_generating_function"]``, ``[F_1 + x Q sigma^2/(1 - x)]/(1 - x Q)``),
    with ``F_1`` and ``Q`` in partial fractions over the roots ``s_1, s_2`` of
    ``1 - x rho(j)``; ``kap1``, ``kap2`` are ``kappa(s_1)``, ``kappa(s_2)``."""
    c = eta * eta * (1.0 + 1.0 / batch)
    x = np.exp(-w)
    s1, s2 = _roots(w, eta, batch)
    U1, T1 = _resolvents(spec, N, kap1, s1)
    U2, T2 = _resolvents(spec, N, kap2, s2)
    den = x * c * (s2 - s1)
    F1 = (U2 - U1) / den
    Q = eta * eta / batch * (T2 - T1) / den
    return (F1 - x * Q * noise / np.expm1(-w)) / (1.0 - x * Q)


def _resolvents(spec, N, kap, s):
    """``u^T (J+s)^{-1} u`` and ``sum_a j_a^2/(j_a+s)`` from kappa(s)."""
    f = spec.F(kap, weights=("l", "u"), qs=(1,))
    n1, g1 = f["l", 1], f["u", 1]
    U = kap / s * g1
    T2 = float(spec.total("l")) - s * n1
    return U, T2


def _sgd_curve(spec, N, eta, batch, noise, t, nodes):
    out = np.empty_like(t)
    absum = np.zeros_like(t)
    zero = t == 0
    out[zero] = float(spec.total("u"))
    idx = np.flatnonzero(~zero)
    if not idx.size:
        return out, absum
    n = np.round(t[idx] / eta)
    # half-octave groups of the Talbot radius 2 nodes / (5 n), capped at 0.9 (|Im w| < pi)
    keys = np.minimum(np.round(np.log2(2 * nodes / (5 * n)) * 2) / 2, math.log2(0.9))
    ukeys = np.unique(keys)
    radii = 2.0 ** ukeys

    def w_of(th):
        return radii * talbot.shape(th)

    # kappa on both root contours: s_2(theta) (Im >= 0) and conj(s_1(theta)) (Im >= 0)
    k0 = kappa0(spec, N) if N < spec.M else None
    kap2 = kappa_on_contours(spec, N, math.inf, lambda th: _roots(w_of(th), eta, batch)[1], nodes, k0)
    kap1 = np.conj(kappa_on_contours(spec, N, math.inf,
                                      lambda th: np.conj(_roots(w_of(th), eta, batch)[0]), nodes, k0))
    for b, key in enumerate(ukeys):
        sel = idx[keys == key]
        w, cw = talbot.nodes(2.0 ** key, nodes)
        Lhat = sgd_laplace(spec, N, kap1[b], kap2[b], w, eta, batch, noise)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            terms = cw[None, :] * Lhat[None, :] * np.exp(w[None, :] * n[keys == key][:, None])
        out[sel] = terms.sum(axis=1).real
        absum[sel] = np.abs(terms).sum(axis=1)
    if not np.all(np.isfinite(out)):
        raise FloatingPointError("online SGD theory: non-finite loss from the Talbot inversion")
    return out, absum
