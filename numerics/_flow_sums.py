r"""Model B's resolvent sums at complex ``kappa``, at a cost that does not grow with ``M``.

Every quantity of model B's theory is built from the sums

    F_x^{(q)}(kappa) = sum_{k=1}^{M} x_k (lambda_k + kappa)^{-q},    q = 1, 2,

with the weights ``x`` one of ``l`` (``lambda_k``), ``l2`` (``lambda_k^2``),
``u`` (``u_k = lambda_k (w*_k)^2``) and ``ul`` (``u_k lambda_k``), at complex
``kappa`` off the negative real axis (Talbot contours), at real ``kappa > 0``
(the ``t -> inf`` pole) and at real ``kappa < -lambda_1`` (the spectral edge
that bounds the gradient-descent step).  The two-frequency kernels need
cross sums ``sum x_k R_k(a) R_k(b)`` with ``R_k(a) = 1/(lambda_k + kappa_a)``;
partial fractions turn them into these one-point sums,

    sum_k x_k R_k(a) R_k(b) = (F_x^{(1)}(a) - F_x^{(1)}(b)) / (kappa_b - kappa_a),

(``F_x^{(2)}`` on the diagonal), so a kernel on ``n`` contour nodes costs
``O(n)`` sums and ``O(n^2)`` arithmetic, not ``O(n^2 M)``.

Power laws (``lambda_k = k^-alpha``, ``x_k = k^-p``) use the one power-law sum
engine, :mod:`scaling_theory.numerics._power_sums`: a head ``k < A`` summed
directly (kept per instance, shared by the four weights and both ``q``) and the
tail ``k >= A`` as a Hurwitz-zeta series in ``lambda_k/kappa``
(:func:`~scaling_theory.numerics._power_sums.tail_series`), with
``A ~ (4/|kappa|)^(1/alpha)`` set by the smallest ``|kappa|`` asked for, never
by ``M`` (``M = inf`` is allowed for ``alpha > 1``); the cross sums use the
same tail zetas.  The ``N = P = inf`` decay is the engine's Laplace sum.
Arrays of ``lambda`` and ``w*`` are always summed directly.

Every function has a double-precision path (``kappa`` a 1-D complex array) and
an mpmath path (``ctx`` an ``mpmath.MPContext``, ``kappa`` a list of ``mpc``).
"""
from __future__ import annotations

import math

import numpy as np

from ._power_sums import (J_DOUBLE, MAX_HEAD, RHO, RHO_MP, SumTooLarge, head_start, hurwitz_sum,
                          laplace_sum, power_head, tail_series, tail_zetas)

__all__ = ["BAPSpectrum", "WEIGHTS", "MAX_HEAD", "SumTooLarge"]

#: The four weights of the resolvent sums.
WEIGHTS = ("l", "l2", "u", "ul")
_CHUNK = 1 << 21


class BAPSpectrum:
    """Model B's spectrum and target as needed by the theory.

    Parameters
    ----------
    model : BAPModel
    ctx : mpmath.MPContext, optional
        Arbitrary precision (``None``: double).

    Examples
    --------
    At ``M = 10^6`` the sums (a head of a few hundred terms and a zeta series)
    agree with the direct sums to round-off:

    >>> import numpy as np
    >>> from scaling_theory.numerics import BAPModel
    >>> m = BAPModel(M=10**6, alpha=1.5, beta=1.0, N=100, P="inf")
    >>> kap = np.array([1e-3 + 2e-3j, 0.5 - 0.1j, -1.5])
    >>> got = BAPSpectrum(m).F(kap)["l", 1]
    >>> lam = np.arange(1, 10**6 + 1.0) ** -1.5
    >>> want = np.array([np.sum(lam / (lam + k)) for k in kap])
    >>> bool(np.all(np.abs(got - want) < 1e-14 * np.abs(want)))
    True
    >>> m = BAPModel(M="inf", alpha=1.5, beta=1.0, N=100, P="inf")
    >>> bool(abs(BAPSpectrum(m).total("l") - 2.6123753486854883) < 1e-14)   # zeta(3/2)
    True
    """

    def __init__(self, model, ctx=None):
        self.ctx = ctx
        self.M = model.M
        self.power_law = model.is_power_law
        mpf = ctx.mpf if ctx is not None else float
        self.alpha = mpf(model.alpha)
        beta = mpf(model.beta)
        if self.power_law:
            one = mpf(1)
            pu = self.alpha * beta + one
            self.p = {"l": self.alpha, "l2": 2 * self.alpha, "u": pu, "ul": pu + self.alpha}
            self._heads = {}
        else:
            lam = model.eigenvalues()
            u = lam * model.target() ** 2
            if ctx is None:
                self.lam = lam
                self.x = {"l": lam, "l2": lam * lam, "u": u, "ul": u * lam}
            else:
                lm = [ctx.mpf(v) for v in lam]
                um = [ctx.mpf(v) for v in u]
                self.lam = lm
                self.x = {"l": lm, "l2": [v * v for v in lm], "u": um, "ul": [a * b for a, b in zip(um, lm)]}

    # -- simple facts ---------------------------------------------------------------
    @property
    def lambda_max(self):
        if self.power_law:
            return 1.0 if self.ctx is None else self.ctx.one
        return max(self.lam)

    def total(self, weight):
        """``sum_k x_k`` (``total("u")`` is ``L(0)``)."""
        if self.power_law:
            return hurwitz_sum(self.p[weight], self.M, self.ctx)
        return float(np.sum(self.x[weight])) if self.ctx is None else self.ctx.fsum(self.x[weight])

    def lam_u(self):
        """``(lambda_k, u_k)`` for ``k = 1..M`` (finite ``M``): arrays, or lists in mpmath."""
        if math.isinf(self.M):
            raise ValueError("M must be finite to list the spectrum")
        if not self.power_law:
            return self.lam, self.x["u"]
        lam, x = self._head(int(self.M) + 1)
        return lam, x["u"]

    # -- head arrays ----------------------------------------------------------------
    def _head(self, A):
        """``lambda_k`` and the weights for ``k = 1..A-1`` (kept per instance; at most
        :data:`MAX_HEAD` terms, :class:`SumTooLarge` beyond: the sizes or times ask for sums
        that cannot be shortened)."""
        if A not in self._heads:
            if len(self._heads) > 8:
                self._heads.clear()
            self._heads[A] = power_head(self.alpha, self.p, A, self.ctx)
        return self._heads[A]

    def _split(self, kappa_min):
        """Head end ``A`` (tail ``k >= A``), or ``None`` for a direct full sum."""
        if not self.power_law:
            return None
        A = head_start(float(self.alpha), float(kappa_min), RHO if self.ctx is None else RHO_MP)
        if math.isinf(A):
            if math.isinf(self.M):
                raise FloatingPointError(f"|kappa| = {float(kappa_min):.3g} too small for the M = inf sums")
            return None
        if not math.isinf(self.M) and A - 1 >= self.M / 2:
            return None
        return A

    # -- the sums -------------------------------------------------------------------
    def F(self, kappa, weights=WEIGHTS, qs=(1, 2)):
        """``{(w, q): sum_k x_k (lambda_k + kappa)^-q}`` for every weight and ``q``.

        ``kappa``: 1-D complex array (double) or a list of mpmath numbers.
        """
        if self.ctx is None:
            return self._F_double(np.asarray(kappa, dtype=complex), weights, qs)
        return self._F_mp(list(kappa), weights, qs)

    def n12(self, kappa):
        """``n1 = sum lambda/(lambda+kappa)`` and ``n2 = sum lambda^2/(lambda+kappa)^2``."""
        f = self.F(kappa, weights=("l", "l2"), qs=(1, 2))
        return f["l", 1], f["l2", 2]

    def _F_double(self, kap, weights, qs):
        keys = [(w, q) for w in weights for q in qs]
        out = {key: np.zeros(kap.shape, dtype=complex) for key in keys}
        if kap.size == 0:
            return out
        if self.power_law:
            A = self._split(np.min(np.abs(kap)))
            if A is None:
                A_head = int(self.M) + 1
            else:
                A_head = A
            lam, x = self._head(A_head)
        else:
            A, lam, x = None, self.lam, self.x
        step = max(1, _CHUNK // max(lam.size, 1))
        for i in range(0, kap.size, step):
            R = 1.0 / (lam[None, :] + kap[i:i + step, None])
            R2 = R * R if 2 in qs else None
            for w, q in keys:
                out[w, q][i:i + step] = (R if q == 1 else R2) @ x[w]
        if A is not None:
            for w, q in keys:
                out[w, q] += tail_series(self.p[w], self.alpha, A, self.M, kap, q)
        return out

    def _F_mp(self, kap, weights, qs):
        ctx = self.ctx
        keys = [(w, q) for w in weights for q in qs]
        out = {key: [] for key in keys}
        if not kap:
            return out
        if self.power_law:
            A = self._split(min(abs(k) for k in kap))
            lam, x = self._head(int(self.M) + 1 if A is None else A)
        else:
            A, lam, x = None, self.lam, self.x
        xs = [x[w] for w in weights]
        for k in kap:
            R = [1 / (l + k) for l in lam]
            for w, xw in zip(weights, xs):
                for q in qs:
                    v = ctx.fdot(xw, R if q == 1 else [r * r for r in R])
                    if A is not None:
                        v += tail_series(self.p[w], self.alpha, A, self.M, k, q, ctx)
                    out[w, q].append(v)
        return out

    # -- cross sums (double) ----------------------------------------------------------
    def cross(self, kap, weights=WEIGHTS):
        """``{w: C}`` with ``C[a, b] = sum_k x_k R_k(a) R_k(b)``, ``R_k(a) = 1/(lambda_k + kap[a])``.

        Double precision, ``kap`` 1-D complex.  The tail ``k >= A`` uses the exact
        divided differences of ``kappa^-(j+1)``: ``u v h_j(u, v)`` with ``u = 1/kappa_a``,
        ``v = 1/kappa_b`` and ``h_j`` the complete homogeneous polynomial (no
        cancellation).  The head is the direct product ``(R x) R^T``, or, where the
        nodes cluster around a real ``c > 0`` (``|kappa - c| <= (c + lambda_min)/2``,
        late times), the Taylor series ``sum_n G_{n+2} h_n(c - kappa_a, c - kappa_b)``
        with ``G_q = sum_head x_k (lambda_k + c)^-q``: partial fractions
        ``(F(a) - F(b))/(kappa_b - kappa_a)`` would lose ``log10(c/|kappa_a - kappa_b|)``
        digits there.
        """
        kap = np.asarray(kap, dtype=complex)
        K = kap.size
        if self.power_law:
            A = self._split(np.min(np.abs(kap)))
            lam, x = self._head(int(self.M) + 1 if A is None else A)
            lam_min = 0.0 if math.isinf(self.M) else float(self.M) ** -float(self.alpha)
        else:
            A, lam, x = None, self.lam, self.x
            lam_min = float(np.min(lam))
        out = {}
        c = float(kap[np.argmin(np.abs(kap.imag))].real)
        D = kap - c
        if c > 0 and np.max(np.abs(D)) <= 0.5 * (c + lam_min):
            Q = 64                                   # (n + 1) 2^-n < 1e-17
            # scaled by sc = c + lambda_min (G_q sc^q <= sum x: no overflow when c + lambda is tiny);
            # h_n is homogeneous of degree n, so the series is sc^-2 sum_n (G_{n+2} sc^{n+2}) h_n(X/sc, Y/sc)
            sc = c + lam_min
            base = sc / (lam + c)
            powers = base[None, :] ** np.arange(2, Q + 2)[:, None]    # (Q, A): q = 2..Q+1
            G = {w: powers @ x[w] / sc**2 for w in weights}
            X, Y = -D[:, None] / sc, -D[None, :] / sc
            H = np.ones((K, K), dtype=complex)
            Yp = np.ones((1, K), dtype=complex)
            acc = {w: G[w][0] * H for w in weights}
            for n in range(1, Q):
                Yp = Yp * Y
                H = X * H + Yp
                for w in weights:
                    acc[w] = acc[w] + G[w][n] * H
            out = acc
        else:
            R = 1.0 / (lam[None, :] + kap[:, None])
            out = {w: (R * x[w][None, :]) @ R.T for w in weights}
        if A is not None:
            alpha = float(self.alpha)
            lamA = A ** -alpha
            U = (-lamA / kap)[:, None]
            V = (-lamA / kap)[None, :]
            Zs = {w: tail_zetas(self.p[w], alpha, A, self.M, J_DOUBLE) for w in weights}
            H = np.ones((K, K), dtype=complex)
            Vp = np.ones((1, K), dtype=complex)
            acc = {w: Zs[w][0] * H for w in weights}
            for j in range(1, J_DOUBLE):
                Vp = Vp * V
                H = U * H + Vp
                for w in weights:
                    acc[w] = acc[w] + Zs[w][j] * H
            uv = (1.0 / kap)[:, None] * (1.0 / kap)[None, :]
            for w in weights:
                out[w] = out[w] + A ** -float(self.p[w]) * uv * acc[w]
        return out

    # -- N = P = inf closed form ----------------------------------------------------
    def decay(self, t):
        """``sum_k u_k exp(-2 lambda_k t)`` at each time (the N = P = inf loss): the engine's
        Laplace sum for power laws."""
        ctx = self.ctx
        out = []
        for x in t:
            if self.power_law:
                out.append(laplace_sum(self.p["u"], self.alpha, 2 * x, M=self.M, ctx=ctx))
            elif ctx is None:
                out.append(float(np.sum(self.x["u"] * np.exp(-2 * self.lam * float(x)))))
            else:
                out.append(ctx.fsum(u * ctx.exp(-2 * l * x) for l, u in zip(self.lam, self.x["u"])))
        return np.array(out) if ctx is None else out
