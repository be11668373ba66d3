r"""Model B's resolvent sums at complex ``kappa``, at a cost that grows with neither ``M`` nor
``N``, ``P`` (nor ``1/|kappa|``).

Every quantity of model B's theory is built from the sums

    F_x^{(q)}(kappa) = sum_{k=1}^{M} x_k (lambda_k + kappa)^{-q},    q = 1, 2,

with the weights ``x`` one of ``l`` (``lambda_k``), ``l2`` (``lambda_k^2``),
``u`` (``u_k = lambda_k (w*_k)^2``) and ``ul`` (``u_k lambda_k``), at complex
``kappa`` off the negative real axis (Talbot contours), at real ``kappa > 0``
(the ``t -> inf`` pole) and at real ``kappa < -lambda_1`` (the spectral edge
that bounds the gradient-descent step).  The two-frequency kernels need
cross sums ``C[a, b] = sum x_k R_k(a) R_k(b)`` with ``R_k(a) = 1/(lambda_k + kappa_a)``
(:meth:`BAPSpectrum.cross`).

Power laws (``lambda_k = k^-alpha``, ``x_k = k^-p``) use the one power-law sum
engine, :mod:`scaling_theory.numerics._power_sums`, by the cheapest exact route
for the nodes at hand:

* all ``M`` terms directly where that is cheap;
* a head ``k < A`` with ``lambda_A <= |kappa|_min / 4`` and the Hurwitz-zeta series of the
  tail (:func:`~scaling_theory.numerics._power_sums.tail_series`) while that head is short
  (``A ~ (4/|kappa|)^(1/alpha)`` grows like ``N`` at late times);
* else a fixed head of ``K = 128`` terms and, node by node, the Hurwitz series (large
  ``|kappa|``) or Euler--Maclaurin along the ray ``kappa k^alpha`` with the poles of the
  summand cut out (:func:`~scaling_theory.numerics._power_sums.resolvent_tails`): a cost
  independent of ``M``, ``N``, ``P`` and the time (``N = P = 10^15`` costs about what
  ``N = 10^3`` does; ``M = inf`` is allowed for ``alpha > 1``).

The cross sums never cancel: the head by direct products, the tail by partial
fractions of the tail sums with the constant part removed, close pairs by
quadrature of ``F^{(2)}`` along their segment, clusters (late times) by the
Cauchy integral of ``F^{(2)}`` on a circle round them, and pairs of Hurwitz
nodes by the exact divided differences of the series.  The ``N = P = inf``
decay is the engine's Laplace sum.  Arrays of ``lambda`` and ``w*`` are always
summed directly.

Every function has a double-precision path (``kappa`` a 1-D complex array) and
an mpmath path (``ctx`` an ``mpmath.MPContext``, ``kappa`` a list of ``mpc``).
"""
from __future__ import annotations

import math

import numpy as np

from ._power_sums import (GUARD_BITS, J_DOUBLE, MAX_HEAD, MP_HEAD_BUDGET, RHO, RHO_MP, SumTooLarge, complex_head_size,
                          complex_resolvent_tail_mp, direct_is_cheaper, em_head_size, head_start,
                          hurwitz_converges, hurwitz_sum, laplace_sum, power_head, resolvent_tails,
                          tail_series, tail_zetas)
from ._precision import context

__all__ = ["BAPSpectrum", "WEIGHTS", "MAX_HEAD", "SumTooLarge"]

#: The four weights of the resolvent sums.
WEIGHTS = ("l", "l2", "u", "ul")
_CHUNK = 1 << 21
#: Largest head (times nodes, or node pairs) summed directly before the tails switch to the
#: routes whose cost does not grow with 1/|kappa| (measured crossover, about 3 ms).
_HEAD_BUDGET = 300_000
#: ... and ten times that for the cross sums (their new route costs more: tails and close pairs).
_PAIR_FACTOR = 10
#: Cross sums: all ``M`` terms directly while ``M n^2`` is below this (a few ms of products).
_PAIR_DIRECT = 3_000_000
#: Close pairs: ``|kappa_a - kappa_b| <= _CLOSE dist`` (partial fractions lose at most
#: ``log10(1/_CLOSE)`` digits elsewhere); Gauss--Legendre nodes on their segment, error
#: ``(1/0.15 + (1 + 1/0.15^2)^1/2)^-16 < 1e-18``.
_CLOSE = 0.3
_SEGMENT_NODES = 8
_SEG_X, _SEG_W = np.polynomial.legendre.leggauss(_SEGMENT_NODES)
#: mpmath: all ``M`` terms directly while ``M <= _DIRECT_FACTOR_MP K`` (heads of up to
#: ``MP_HEAD_BUDGET`` terms before Euler--Maclaurin on the ray).
_DIRECT_FACTOR_MP = 4
#: Most trapezoidal nodes of the Cauchy integral for clustered cross sums ((1/2)^(n/2) <= 1e-18).
_CAUCHY_MAX = 120


def _log1p(x):
    """``log(1 + x)`` for complex ``x`` to full relative accuracy (numpy's complex ``log1p``
    loses ``log10(1/|x|)`` digits): Kahan's ``log(u) x/(u - 1)`` with ``u = 1 + x``."""
    u = 1 + x
    d = u - 1
    zero = d == 0
    return np.where(zero, x, np.log(u) * (x / np.where(zero, 1, d)))


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
        self.alpha = None if model.alpha is None else mpf(model.alpha)   # None: a custom spectrum
        if self.power_law:
            beta, one = mpf(model.beta), mpf(1)
            pu = self.alpha * beta + one
            self.p = {"l": self.alpha, "l2": 2 * self.alpha, "u": pu, "ul": pu + self.alpha}
            self._heads = {}
            # the fixed head before the tails: longer than model A's, so that Euler--Maclaurin
            # converges in a few terms (the remainder falls like (2 pi K)^-2m)
            if ctx is None:
                self.K = complex_head_size(self.alpha)
            else:
                # mpmath: a longer head (4 per working digit) halves the Bernoulli terms of the
                # complex tails (the remainder falls like (2 pi K)^-2m), and their Taylor
                # recurrences cost the square of that
                self.K = max(em_head_size(float(self.alpha), ctx), 4 * ctx.dps)
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
        K = self._tail_start(kap)
        if K is None:
            lam, x = (self._head(int(self.M) + 1) if self.power_law else (self.lam, self.x))
        else:
            lam, x = self._head(K)
        step = max(1, _CHUNK // max(lam.size, 1))
        for i in range(0, kap.size, step):
            R = 1.0 / (lam[None, :] + kap[i:i + step, None])
            R2 = R * R if 2 in qs else None
            for w, q in keys:
                out[w, q][i:i + step] = (R if q == 1 else R2) @ x[w]
        if K is not None:
            tail = self._tail_F(kap, K, keys)
            for key in keys:
                out[key] += tail[key]
        return out

    def _tail_start(self, kap, pairs=False):
        """First index of the tail for the nodes ``kap`` (``None``: sum all ``M`` terms directly).

        The cheapest exact route: all ``M`` terms where that is cheap; else a head up to ``A``
        with ``lambda_A <= |kappa|_min / RHO`` and the Hurwitz series for every node where the
        head is short (``n A``, or ``n^2 A`` for the cross sums, at most :data:`_HEAD_BUDGET`);
        else the fixed head ``K`` and, node by node, the Hurwitz series or Euler--Maclaurin
        (:meth:`_tail_sums`), whose cost depends on neither ``M`` nor ``kappa``."""
        if not self.power_law:
            return None
        n = kap.size * (kap.size if pairs else 1)
        if not math.isinf(self.M) and (direct_is_cheaper(self.M, n, self.K)
                                       or (pairs and self.M * n <= _PAIR_DIRECT)):
            return None
        A = head_start(float(self.alpha), float(np.min(np.abs(kap))), RHO)
        if n * A <= _HEAD_BUDGET * (_PAIR_FACTOR if pairs else 1) and (math.isinf(self.M) or A - 1 < self.M / 2):
            return max(A, self.K)
        return self.K

    def _hurwitz_ok(self, kap, K):
        """Where the Hurwitz series from ``K`` converges fast (``|kappa| >= RHO K^-alpha``)."""
        return hurwitz_converges(kap, K, self.alpha)

    def _tail_F(self, kap, K, keys):
        """``{(w, q): sum_{k>=K} x_k (lambda_k + kappa)^-q}`` (:meth:`_tail_sums`)."""
        got = self._tail_sums(kap, K, [(self.p[w], q) for w, q in keys])
        return dict(zip(keys, got))

    def _tail_sums(self, kap, K, pqs):
        """``[sum_{k>=K} k^-p (k^-alpha + kappa)^-q for (p, q) in pqs]``
        (:func:`~scaling_theory.numerics._power_sums.resolvent_tails`)."""
        return resolvent_tails(self.alpha, pqs, kap, K, self.M)

    def _F_mp(self, kap, weights, qs):
        ctx = self.ctx
        keys = [(w, q) for w in weights for q in qs]
        out = {key: [] for key in keys}
        if not kap:
            return out
        if not self.power_law:
            for k in kap:
                R = [1 / (l + k) for l in self.lam]
                for w, q in keys:
                    out[w, q].append(ctx.fdot(self.x[w], R if q == 1 else [r * r for r in R]))
            return out
        start = self._mp_tail_start(min(abs(k) for k in kap))
        lam, x = self._head(int(self.M) + 1 if start is None else start)
        for k in kap:
            R = [1 / (l + k) for l in lam]
            R2 = [r * r for r in R] if 2 in qs else None
            tails = None if start is None else self._tail_mp(k, start, keys)
            for i, (w, q) in enumerate(keys):
                v = ctx.fdot(x[w], R if q == 1 else R2)
                out[w, q].append(v if tails is None else v + tails[i])
        return out

    def _mp_tail_start(self, kabs):
        """:meth:`_tail_start` for one ``kappa`` in mpmath (``None``: all ``M`` terms directly)."""
        K = self.K
        finite = not math.isinf(self.M)
        if finite and self.M <= _DIRECT_FACTOR_MP * K:
            return None
        A = head_start(float(self.alpha), float(kabs), RHO_MP)
        if A <= MP_HEAD_BUDGET and (not finite or A - 1 < self.M / 2):
            return max(A, K)
        if finite and self.M <= MP_HEAD_BUDGET:
            return None
        return K

    def _tail_mp(self, k, start, keys):
        """The tails ``k >= start`` for each ``(w, q)`` at one ``kappa`` (mpmath): the Hurwitz
        series where ``|kappa| >= RHO_MP start^-alpha``, else Euler--Maclaurin on the ray with
        :data:`~scaling_theory.numerics._power_sums.GUARD_BITS` more bits."""
        ctx = self.ctx
        if abs(k) >= RHO_MP * ctx.power(start, -self.alpha):
            return [tail_series(self.p[w], self.alpha, start, self.M, k, q, ctx) for w, q in keys]
        wk = context(prec=ctx.prec + GUARD_BITS)
        a = wk.mpf(self.alpha)
        chans = []
        for w, q in keys:
            p = wk.mpf(self.p[w])
            e = a * q - p
            be = (e + 1) / a
            chans.append((q - be, be, e, q))
        got = complex_resolvent_tail_mp(wk, a, chans, wk.mpc(k), start, self.M)
        if isinstance(k, ctx.mpf):                    # real kappa: real sums
            return [ctx.mpf(g.real) for g in got]
        return [ctx.mpc(g) for g in got]

    # -- cross sums (double) ----------------------------------------------------------
    def cross(self, kap, weights=WEIGHTS):
        """``{w: C}`` with ``C[a, b] = sum_k x_k R_k(a) R_k(b)``, ``R_k(a) = 1/(lambda_k + kap[a])``.

        Double precision, ``kap`` 1-D complex.  Where the nodes cluster around a real ``c > 0``
        (``|kappa - c| <= (c + lambda_min)/2``, late times) partial fractions
        ``(F(a) - F(b))/(kappa_b - kappa_a)`` would lose ``log10(c/|kappa_a - kappa_b|)`` digits;
        there the Cauchy integral of
        ``F2 = sum x R^2`` on a circle around ``c`` gives ``C`` (:meth:`_cross_cauchy`).  Elsewhere the head ``k < K`` is the
        direct product ``(R x) R^T``; the tail ``k >= K`` is, between two nodes with
        ``|kappa| >= RHO K^-alpha``, the exact divided difference of its Hurwitz series
        (``u v h_j(u, v)`` with ``u = 1/kappa_a``, ``v = 1/kappa_b``, ``h_j`` the complete
        homogeneous polynomial), and partial fractions of the tail sums otherwise.
        """
        kap = np.asarray(kap, dtype=complex)
        K = self._tail_start(kap, pairs=True)
        if self.power_law:
            lam_min = 0.0 if math.isinf(self.M) else float(self.M) ** -float(self.alpha)
        else:
            lam_min = float(np.min(self.lam))
        c = float(kap[np.argmin(np.abs(kap.imag))].real)
        r = float(np.max(np.abs(kap - c)))
        if c > 0 and r <= 0.5 * (c + lam_min):
            return self._cross_cauchy(kap, c, r, c + lam_min, weights)
        if K is None:
            lam, x = (self._head(int(self.M) + 1) if self.power_law else (self.lam, self.x))
        else:
            lam, x = self._head(K)
        R = 1.0 / (lam[None, :] + kap[:, None])
        out = {w: (R * x[w][None, :]) @ R.T for w in weights}
        if K is not None:
            self._cross_tail(kap, K, weights, out)
        return out

    def _cross_cauchy(self, kap, c, r, dist, weights):
        """The cross sums of nodes within ``r`` of ``c``, ``C[a, b] = int_0^1 F2(a + s (b - a)) ds``
        (``F2 = sum x R^2 = -F1'``), as the Cauchy integral of ``F2`` against
        ``log((z - a)/(z - b))/(b - a)`` (``1/(z - a)`` on the diagonal) by the trapezoidal rule on
        the circle ``|z - c| = sqrt(r dist)`` (``dist``: distance of ``c`` from the spectrum).
        The integrand is analytic on ``r < |z - c| < dist``, so the error is ``(r/dist)^(n/2)``;
        ``F2`` has the size of the cross sums (``F1`` can be much larger: a constant part that
        divided differences cancel), so nothing is lost to cancellation."""
        r = max(r, 1e-300 * dist)
        n = int(min(_CAUCHY_MAX, max(16, math.ceil(math.log(1e-18) / math.log(math.sqrt(r / dist))))))
        z = c + math.sqrt(r * dist) * np.exp(2j * np.pi * np.arange(n) / n)
        F2 = self.F(z, weights, (2,))
        za = z[None, None, :] - kap[:, None, None]                 # (a, 1, j)
        zb = z[None, None, :] - kap[None, :, None]                 # (1, b, j)
        dba = (kap[None, :] - kap[:, None])[:, :, None]
        same = dba == 0
        dsafe = np.where(same, 1.0, dba)
        L = np.where(same, 1.0 / za, _log1p(dsafe / zb) / dsafe)  # log((z - a)/(z - b))/(b - a)
        wz = (z - c) / n
        return {w: L @ (F2[w, 2] * wz) for w in weights}

    def _cross_tail(self, kap, K, weights, out):
        """Add the tail ``k >= K`` of the cross sums to ``out``: partial fractions
        ``(T(a) - T(b))/(kappa_b - kappa_a)`` of the tail sums ``T = sum x R``, with
        ``T(kappa) = T(0) - kappa S(kappa)``, ``S = sum (x/lambda) R``, where ``sum x/lambda``
        converges: ``T(a) - T(b) = b S(b) - a S(a)`` then drops the constant ``T(0)`` before it can
        cancel (it can be ``1/|kappa|`` times the cross sums); the exact Hurwitz divided
        differences between nodes with large ``|kappa|``."""
        n = kap.size
        alpha = float(self.alpha)
        reduce = {w: float(self.p[w]) - alpha > 1 for w in weights}
        pqs = []
        for w in weights:
            pqs += [(float(self.p[w]) - alpha, 1) if reduce[w] else (self.p[w], 1), (self.p[w], 2)]
        got = self._tail_sums(kap, K, pqs)
        d = kap[None, :] - kap[:, None]
        i = np.arange(n)
        d[i, i] = 1
        tail = {}
        for k, w in enumerate(weights):
            T1, T2 = got[2 * k], got[2 * k + 1]
            if reduce[w]:
                bS = kap * T1                                      # kappa S(kappa)
                C = (bS[None, :] - bS[:, None]) / d
            else:
                C = (T1[:, None] - T1[None, :]) / d
            C[i, i] = T2
            tail[w] = C
        hz_mask = self._hurwitz_ok(kap, K)
        self._close_pairs(kap, K, weights, tail, hz_mask)
        hz = np.flatnonzero(hz_mask)
        if hz.size >= 2:
            exact = self._hurwitz_cross(kap[hz], K, weights)
            blk = np.ix_(hz, hz)
            for w in weights:
                tail[w][blk] = exact[w]
        for w in weights:
            out[w] = out[w] + tail[w]

    def _close_pairs(self, kap, K, weights, tail, exact):
        """Replace the partial fractions between nodes closer than ``_CLOSE`` times their midpoint's
        distance from the tail spectrum ``[-lambda_K, -lambda_M]`` (they would lose ``log10(|kappa| /
        |kappa_a - kappa_b|)`` digits) by ``int_0^1 T2(a + s (b - a)) ds``, ``T2 = sum_{k>=K} x R^2``
        (Gauss--Legendre); pairs in ``exact`` (both Hurwitz nodes) are left alone."""
        alpha = float(self.alpha)
        top = -float(K) ** -alpha
        bottom = 0.0 if math.isinf(self.M) else -float(self.M) ** -alpha
        i, j = np.triu_indices(kap.size, 1)
        a, b = kap[i], kap[j]
        m = (a + b) / 2
        dist = np.abs(m - np.clip(m.real, top, bottom))
        close = (np.abs(b - a) <= _CLOSE * dist) & ~(exact[i] & exact[j])   # exact: Hurwitz pairs
        if not np.any(close):
            return
        i, j, a, b = i[close], j[close], a[close], b[close]
        nodes = (a[:, None] + (b - a)[:, None] * (_SEG_X[None, :] + 1) / 2).ravel()
        got = self._tail_sums(nodes, K, [(self.p[w], 2) for w in weights])
        for w, T2 in zip(weights, got):
            val = T2.reshape(a.size, _SEGMENT_NODES) @ (_SEG_W / 2)
            tail[w][i, j] = val
            tail[w][j, i] = val

    def _hurwitz_cross(self, kh, K, weights):
        """The tail cross sums from the Hurwitz series at nodes with ``|kappa| >= RHO K^-alpha``."""
        alpha = float(self.alpha)
        U = (-float(K) ** -alpha / kh)[:, None]
        V = (-float(K) ** -alpha / kh)[None, :]
        Zs = {w: tail_zetas(self.p[w], alpha, K, self.M, J_DOUBLE) for w in weights}
        H = np.ones((kh.size, kh.size), dtype=complex)
        Vp = np.ones((1, kh.size), dtype=complex)
        acc = {w: Zs[w][0] * H for w in weights}
        for j in range(1, J_DOUBLE):
            Vp = Vp * V
            H = U * H + Vp
            for w in weights:
                acc[w] = acc[w] + Zs[w][j] * H
        uv = (1.0 / kh)[:, None] * (1.0 / kh)[None, :]
        return {w: float(K) ** -float(self.p[w]) * uv * acc[w] for w in weights}

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
