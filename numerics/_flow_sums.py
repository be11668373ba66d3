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

Power laws (``lambda_k = k^-alpha``, ``x_k = k^-p``).  The head
``k < A`` is summed directly; the tail ``k >= A`` is expanded in
``lambda_k / kappa`` (``|lambda_A/kappa| <= 1/4`` by the choice of ``A``)::

    sum_{k>=A} k^-p (lambda_k + kappa)^-q
        = kappa^-q A^-p sum_{j>=0} binom(q+j-1, j) (-lambda_A/kappa)^j Z_A(p + j alpha),
    Z_A(s) = sum_{k=A}^{M} (k/A)^-s = A^s (zeta(s, A) - zeta(s, M + 1)),

with the Hurwitz zeta function (``scipy.special.zeta``; ``mpmath.zeta`` where the
double-precision form would under/overflow or ``s`` is close to 1; the digamma
function at ``s = 1``).  The terms fall at least like ``(j + 1) 4^-j``, so 34
of them give double precision and ``prec/2 + 10`` give ``prec`` bits.  The
head size is ``A ~ (4/|kappa|)^(1/alpha)``: it depends on the smallest
``|kappa|`` asked for, never on ``M`` (``M = inf`` is allowed for ``alpha > 1``);
where ``A`` would exceed ``M/2`` the finite sum is taken directly.  Arrays of
``lambda`` and ``w*`` are always summed directly.

Every function has a double-precision path (``kappa`` a 1-D complex array) and
an mpmath path (``ctx`` an ``mpmath.MPContext``, ``kappa`` a list of ``mpc``).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special

from ._limits import format_bytes
from ._precision import context

__all__ = ["BAPSpectrum", "WEIGHTS"]

#: The four weights of the resolvent sums.
WEIGHTS = ("l", "l2", "u", "ul")
_J_DOUBLE = 34          # tail terms in double precision: (J + 1) 4^-J < 1e-19
#: Most terms of a spectrum summed directly (5 arrays of 2^24 doubles: 640 MiB).
MAX_HEAD = 2**24


class SumTooLarge(ValueError):
    """A spectral sum would need more than :data:`MAX_HEAD` direct terms."""


_RHO = 4.0              # |kappa| / lambda_A >= _RHO (double)
_RHO_MP = 16.0          # the same in mpmath: prec/4 + 12 tail terms
_CHUNK = 1 << 21
_MIN_HEAD = 8


def _head_start(alpha, kappa_min, rho=_RHO):
    """First tail index ``A`` with ``lambda_A <= kappa_min / rho``, on a quarter-octave grid."""
    need = (rho / kappa_min) ** (1.0 / alpha) if kappa_min > 0 else math.inf
    need = max(need, float(_MIN_HEAD + 1))
    if not math.isfinite(need) or need > 2.0 ** 60:
        return math.inf
    return int(math.ceil(2.0 ** (math.ceil(4 * math.log2(need)) / 4)))


@lru_cache(maxsize=4096)
def _tail_zetas_double(p, alpha, A, M, J):
    """``Z_A(p + j alpha)`` for ``j = 0..J-1`` (double)."""
    s = p + alpha * np.arange(J)
    out = np.empty(J)
    lnA = math.log(A)
    ctx = None
    for j, sj in enumerate(s):
        if sj > 1.05 and sj * lnA < 650:
            v = special.zeta(sj, A) * math.exp(sj * lnA)
            if math.isfinite(M):
                zM = special.zeta(sj, M + 1.0)
                v -= zM * math.exp(sj * lnA) if zM > 0 else 0.0
            out[j] = v
        else:
            if ctx is None:
                ctx = context(30)
            out[j] = float(_zeta_scaled_mp(ctx, ctx.mpf(sj), A, M))
    return out


@lru_cache(maxsize=16)
def _em_coefficients(prec):
    """``B_{2m}/(2m)!`` for ``m = 1..prec`` as mpf at ``prec`` bits."""
    ctx = context(prec=prec)
    return ctx, [ctx.bernoulli(2 * m) / ctx.factorial(2 * m) for m in range(1, prec + 1)]


def _zeta_scaled_mp(ctx, s, A, M):
    """``A^s sum_{k=A}^{M} k^-s`` in ``ctx`` (``M`` may be inf; ``s > 1`` then).

    Direct terms up to ``B = max(A, (s + prec)/pi)``, then Euler--Maclaurin from
    ``B``: the corrections fall like ``((s + 2m)/(2 pi B))^{2m}``, at least ``4^-m``.
    (``mpmath.zeta(s, A)`` is not used: at integer ``A`` it subtracts a partial
    sum from ``zeta(s)`` and loses ``s log10(A)`` digits.)
    """
    inf_M = math.isinf(M)
    if inf_M and not s > 1:
        raise ValueError(f"sum of k^-s to infinity diverges for s = {s}")
    B = max(int(A), int((float(s) + ctx.prec) / math.pi) + 2)
    lnA = ctx.ln(A)
    # direct terms (1 + m/A)^-s < 2^-(prec + 10) beyond m ~ A (2^((prec + 10)/s) - 1)
    expo = (ctx.prec + 10) / float(s)
    n_direct = A * (2.0 ** expo - 1) + 2 if expo < 60 else math.inf
    if n_direct < B - A or (not inf_M and B >= M):
        last = int(A + n_direct) if inf_M else int(min(M, A + n_direct))
        return ctx.fsum(ctx.exp(-s * (ctx.ln(k) - lnA)) for k in range(int(A), last + 1))
    head = ctx.fsum(ctx.exp(-s * (ctx.ln(k) - lnA)) for k in range(int(A), B))
    # everything below is scaled by A^s
    Bm = ctx.mpf(B)
    lnB = ctx.ln(Bm)
    fB = ctx.exp(-s * (lnB - lnA))                    # (B/A)^-s
    if inf_M:
        body = Bm * fB / (s - 1) + fB / 2
    else:
        Mm = ctx.mpf(M)
        fM = ctx.exp(-s * (ctx.ln(Mm) - lnA))
        L = ctx.ln(Mm / Bm)
        one_s = 1 - s
        body = Bm * fB * (ctx.expm1(one_s * L) / one_s if one_s != 0 else L) + (fB + fM) / 2
    # + sum_m B_{2m}/(2m)! (f^{(2m-1)}(M) - f^{(2m-1)}(B)),  f^{(n)}(x) = (-1)^n (s)_n x^{-s-n}
    _, coef = _em_coefficients(ctx.prec + 20)
    tol = ctx.eps * abs(body) / 4
    rf = s                                            # (s)_{2m-1}
    pB = fB / Bm                                      # (B/A)^-s B^-(2m-1)
    iB2 = 1 / (Bm * Bm)
    if not inf_M:
        pM = fM / Mm
        iM2 = 1 / (Mm * Mm)
    for m in range(1, len(coef) + 1):
        c = coef[m - 1] * rf
        term = c * pB if inf_M else c * (pB - pM)
        body += term
        if abs(term) < tol:
            break
        n = 2 * m - 1
        rf *= (s + n) * (s + n + 1)
        pB *= iB2
        if not inf_M:
            pM *= iM2
    else:
        raise FloatingPointError(f"Euler-Maclaurin for zeta({s}, {A}) did not converge")
    return head + body


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
            p = self.p[weight]
            if self.ctx is None:
                return float(_tail_zetas_double(float(p), float(self.alpha), 1, self.M, 1)[0])
            return _zeta_scaled_mp(self.ctx, p, 1, self.M)
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
        """``lambda_k`` and the weights for ``k = 1..A-1`` (cached); at most :data:`MAX_HEAD`
        terms (:class:`SumTooLarge` beyond: the sizes or times ask for sums this module cannot
        shorten)."""
        if A - 1 > MAX_HEAD:
            raise SumTooLarge(f"the spectral sums would need {A - 1:.3g} terms summed directly (about "
                              f"{format_bytes(8.0 * 5 * (A - 1))}), more than {MAX_HEAD}")
        if A not in self._heads:
            ctx = self.ctx
            if ctx is None:
                k = np.arange(1, A, dtype=float)
                lam = k ** -float(self.alpha)
                x = {w: k ** -float(p) for w, p in self.p.items()}
            else:
                ks = [ctx.mpf(i) for i in range(1, A)]
                lam = [ctx.power(k, -self.alpha) for k in ks]
                x = {w: [ctx.power(k, -p) for k in ks] for w, p in self.p.items()}
            if len(self._heads) > 8:
                self._heads.clear()
            self._heads[A] = (lam, x)
        return self._heads[A]

    def _split(self, kappa_min):
        """Head end ``A`` (tail ``k >= A``), or ``None`` for a direct full sum."""
        if not self.power_law:
            return None
        A = _head_start(float(self.alpha), float(kappa_min), _RHO if self.ctx is None else _RHO_MP)
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
            alpha = float(self.alpha)
            y = -(A ** -alpha) / kap
            for w, q in keys:
                p = float(self.p[w])
                Z = _tail_zetas_double(p, alpha, A, self.M, _J_DOUBLE)
                c = Z * (1.0 if q == 1 else np.arange(1, _J_DOUBLE + 1))
                series = np.polynomial.polynomial.polyval(y, c)
                out[w, q] += kap ** -q * A ** -p * series
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
        J = ctx.prec // 4 + 12
        zetas, zetas2 = {}, {}
        if A is not None:
            lamA = ctx.power(A, -self.alpha)
            for w in weights:
                zetas[w] = _tail_zetas_mp(ctx, self.p[w], self.alpha, A, self.M, J)[::-1]
                zetas2[w] = [z * (J - i) for i, z in enumerate(zetas[w])]
        xs = [x[w] for w in weights]
        for k in kap:
            R = [1 / (l + k) for l in lam]
            for w, xw in zip(weights, xs):
                s1 = ctx.fdot(xw, R) if 1 in qs else None
                s2 = ctx.fdot(xw, [r * r for r in R]) if 2 in qs else None
                if A is not None:
                    y = -lamA / k
                    p = self.p[w]
                    Ap = ctx.power(A, -p)
                    if s1 is not None:
                        s1 += Ap / k * ctx.polyval(zetas[w], y)
                    if s2 is not None:
                        s2 += Ap / (k * k) * ctx.polyval(zetas2[w], y)
                if s1 is not None:
                    out[w, 1].append(s1)
                if s2 is not None:
                    out[w, 2].append(s2)
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
            Zs = {w: _tail_zetas_double(float(self.p[w]), alpha, A, self.M, _J_DOUBLE) for w in weights}
            H = np.ones((K, K), dtype=complex)
            Vp = np.ones((1, K), dtype=complex)
            acc = {w: Zs[w][0] * H for w in weights}
            for j in range(1, _J_DOUBLE):
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
        """``sum_k u_k exp(-2 lambda_k t)`` at each time (the N = P = inf loss)."""
        ctx = self.ctx
        out = []
        for x in t:
            if not self.power_law:
                if ctx is None:
                    out.append(float(np.sum(self.x["u"] * np.exp(-2 * self.lam * float(x)))))
                else:
                    out.append(ctx.fsum(u * ctx.exp(-2 * l * x) for l, u in zip(self.lam, self.x["u"])))
                continue
            # head k < A, tail k >= A expanded in 2 lambda_k t <= 1/4 (exponential series)
            A = _head_start(float(self.alpha), 0.5 / float(x)) if x > 0 else 1
            if math.isinf(self.M) and A > MAX_HEAD:
                # late times at M = inf: Euler-Maclaurin with the exact incomplete-gamma tail, whose
                # cost does not grow with t (numerics._exponent_checks.power_law_sum)
                from ._exponent_checks import power_law_sum

                dps = 20 if ctx is None else ctx.dps + 5
                v = power_law_sum("laplace", self.p["u"], self.alpha, x, rate=2, dps=dps)
                out.append(float(v) if ctx is None else ctx.mpf(v))
                continue
            if not math.isinf(self.M) and (math.isinf(A) or A - 1 >= self.M / 2):
                A = int(self.M) + 1
                tail = False
            else:
                if math.isinf(A):
                    raise FloatingPointError(f"t = {float(x):.3g} too large for the M = inf sum")
                tail = True
            lam, xs = self._head(A) if A > 1 else ((np.empty(0), {"u": np.empty(0)}) if ctx is None
                                                    else ([], {"u": []}))
            if ctx is None:
                head = float(np.sum(xs["u"] * np.exp(-2 * lam * float(x))))
            else:
                head = ctx.fsum(u * ctx.exp(-2 * l * x) for l, u in zip(lam, xs["u"]))
            if tail:
                p = self.p["u"]
                if ctx is None:
                    J = 40
                    Z = _tail_zetas_double(float(p), float(self.alpha), A, self.M, J)
                    z = -2.0 * float(x) * A ** -float(self.alpha)
                    c = Z / special.factorial(np.arange(J))
                    head += A ** -float(p) * float(np.polynomial.polynomial.polyval(z, c))
                else:
                    J = ctx.prec // 2 + 12
                    Z = _tail_zetas_mp(ctx, p, self.alpha, A, self.M, J)
                    z = -2 * x * ctx.power(A, -self.alpha)
                    c = [Zj / ctx.factorial(j) for j, Zj in enumerate(Z)]
                    head += ctx.power(A, -p) * ctx.polyval(c[::-1], z)
            out.append(head)
        return np.array(out) if ctx is None else out


def _tail_zetas_mp(ctx, p, alpha, A, M, J):
    key = (ctx.prec, str(p), str(alpha), A, M, J)
    hit = _MP_ZETA_CACHE.get(key)
    if hit is None:
        work = context(prec=ctx.prec + 40)
        pw, aw = work.mpf(p), work.mpf(alpha)
        hit = [ctx.mpf(_zeta_scaled_mp(work, pw + j * aw, A, M)) for j in range(J)]
        if len(_MP_ZETA_CACHE) > 256:
            _MP_ZETA_CACHE.clear()
        _MP_ZETA_CACHE[key] = hit
    return hit


_MP_ZETA_CACHE: dict = {}
