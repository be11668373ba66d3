r"""One engine for the power-law sums of both models.

Every number the theories of model A and model B produce for a power-law
spectrum is built from three kinds of sums (``k = 1..M``, ``M`` finite or
``math.inf``)::

    resolvent   S_q(b, a; kappa) = sum_k k^-b (k^-a + kappa)^-q       (q = 1, 2, ...)
    Laplace     E(b, a; tau)     = sum_k k^-b exp(-tau k^-a)
    Hurwitz     Z(s; A, M)       = sum_{k=A}^{M} k^-s

Model A's ``n_p(kappa) = sum_I (lam_I/(lam_I + kappa))^p`` with ``lam_I =
lambda_+ I^-(1+alpha)`` is ``S_p(p a, a; kappa/lambda_+)`` with ``a = 1 + alpha``;
model B's resolvent sums ``sum_k x_k (lambda_k + kappa)^-q`` with
``lambda_k = k^-alpha`` and ``x_k = k^-p`` are ``S_q(p, alpha; kappa)`` at complex
``kappa``; its loss at ``N = P = inf`` is ``E(alpha beta + 1, alpha; 2 t)``; the
asymptotics checks evaluate all of them at ``M = inf`` to 30 and more digits.
This module is the only place where they are computed, in double precision
(``ctx=None``) and at any precision (``ctx`` a private ``mpmath.MPContext``,
see :func:`~scaling_theory.numerics._precision.context`), at a cost that does
not grow with ``M``.  The routes, chosen by cost:

1. **Direct** summation when it is cheaper (double precision: ``M`` times the number of
   ``kappa`` below about ``1.5 x 10^5``, :func:`direct_is_cheaper`; mpmath: ``M <= 4 K``).
2. **Euler--Maclaurin with the exact integral** (real ``kappa > 0``; the Laplace
   sum at ``M = inf`` and late times).  A head of ``K`` terms (``K`` grows with the
   precision, not with ``M`` or ``kappa``), the tail integral in closed form (an
   incomplete beta function for the resolvent, an incomplete gamma function for
   the Laplace sum) and the Bernoulli corrections from exact Taylor
   coefficients of the summand at the end points (Taylor-mode automatic
   differentiation: J. C. P. Miller's recurrence for powers and exponentials
   of a series).  The summand is analytic at distance ``~K`` from ``[K, M]``,
   so the remainder is ``~exp(-2 pi K)``.  Double precision is vectorised over
   ``kappa``; the incomplete beta pieces are summed from binomial series with
   ``expm1`` end-point differences, so no digits are lost for small exponents.
3. **Head plus Hurwitz series** (complex ``kappa`` of large modulus, moderate ``tau``).  The head
   ``k < A`` is summed directly; the tail ``k >= A`` is expanded in
   ``lambda_k/kappa`` (``|lambda_A/kappa| <= 1/4``) resp. in ``tau lambda_k``::

       sum_{k>=A} k^-p (k^-a + kappa)^-q
           = kappa^-q A^-p sum_j binom(q+j-1, j) (-A^-a/kappa)^j Z_A(p + j a),

   with ``Z_A(s) = A^s Z(s; A, M)`` (:func:`tail_zetas`).  ``A ~
   (4/|kappa|)^(1/a)`` depends on the smallest ``|kappa|`` asked for, never on
   ``M``; heads longer than :data:`MAX_HEAD` are refused (:class:`SumTooLarge`).
4. **Euler--Maclaurin on the ray** (complex ``kappa`` of any modulus,
   :func:`complex_resolvent_tail`, :func:`resolvent_tails`): from a fixed head ``K``
   the summand ``I^e (1 + kappa I^a)^-q`` is smooth on ``[K, M]`` except near its
   poles ``I^a = -1/kappa``, which come close to the real axis only for ``kappa``
   near the negative real axis; the terms within :data:`EM_WINDOW` of such a pole
   are summed directly and Euler--Maclaurin runs on the segments left and right.
   The integral runs along the ray ``y = kappa I^a``: binomial series for
   ``|y| <= 1/2`` and ``|y| >= 2``, Gauss--Legendre in ``log|y|`` on panels
   graded towards the pole ``y = -1`` between them, ``1 + y`` formed as
   ``-expm1(u - i psi)`` with ``psi = atan2(|Im kappa|, -Re kappa)`` exact.
   Double precision vectorised over ``kappa``; mpmath with windows and Bernoulli
   terms sized by the precision.  The cost grows with neither ``M`` nor
   ``1/|kappa|``.

Hurwitz sums come from ``scipy.special.zeta`` in double precision (mpmath where
that would lose digits) and from Euler--Maclaurin at any precision
(``mpmath.zeta(s, A)`` at integer ``A`` subtracts a partial sum and loses
``s log10 A`` digits).

Public functions: :func:`resolvent_sum`, :func:`laplace_sum`,
:func:`hurwitz_sum`; the pieces the models assemble themselves (shared heads
for several weights, two-point kernels): :func:`em_resolvent`,
:func:`power_head`, :func:`head_start`, :func:`tail_zetas`,
:func:`tail_series`.

Examples
--------
>>> import math, numpy as np
>>> k = np.arange(1, 10**5 + 1.0)
>>> want = np.sum(k ** -1.5 / (k ** -1.5 + 1e-4))
>>> got = resolvent_sum(1.5, 1.5, 1e-4, M=10**5)
>>> bool(abs(got - want) < 1e-13 * want)
True
>>> z = 1e-3 + 2e-3j                                   # complex kappa, the other route
>>> bool(abs(resolvent_sum(1.5, 1.5, z, M=10**5) - np.sum(k ** -1.5 / (k ** -1.5 + z))) < 1e-12)
True
>>> bool(abs(hurwitz_sum(2) - math.pi ** 2 / 6) < 1e-15)
True
"""
from __future__ import annotations

import math
import numbers
from functools import lru_cache

import numpy as np
from scipy import special

from ._limits import format_bytes
from ._precision import context

__all__ = [
    "resolvent_sum",
    "laplace_sum",
    "hurwitz_sum",
    "em_resolvent",
    "em_head_size",
    "power_head",
    "head_start",
    "tail_zetas",
    "tail_series",
    "resolvent_tails",
    "hurwitz_converges",
    "complex_resolvent_tail",
    "complex_head_size",
    "SumTooLarge",
    "MAX_HEAD",
]

#: Most terms of a spectrum summed directly (5 arrays of 2^24 doubles: 640 MiB).
MAX_HEAD = 2**24
#: Direct summation in the Euler--Maclaurin route whenever ``M <= _DIRECT_FACTOR * K``.
_DIRECT_FACTOR = 4
#: Relative target of an Euler--Maclaurin correction in double precision.
_TOL_DOUBLE = 2.0 ** -55
#: Extra bits of the private mpmath working contexts.
GUARD_BITS = 24
#: Largest number of float64 elements per temporary in the double path.
_CHUNK_ELEMS = 1 << 22
#: |kappa| / lambda_A of the Hurwitz-series route (double, mpmath).
RHO = 4.0
RHO_MP = 16.0
#: Tail terms of the Hurwitz series in double precision: (J + 1) 4^-J < 1e-19.
J_DOUBLE = 34
_MIN_HEAD = 8


class SumTooLarge(ValueError):
    """A spectral sum would need more than :data:`MAX_HEAD` direct terms."""


# ==========================================================================
# validation
# ==========================================================================
def _check_M(M):
    if isinstance(M, bool) or not isinstance(M, numbers.Real):
        raise ValueError(f"M must be an integer >= 1 or math.inf, got {M!r}")
    if M == math.inf:
        return math.inf
    if not (float(M).is_integer() and M >= 1):
        raise ValueError(f"M must be an integer >= 1 or math.inf, got {M!r}")
    return int(M)


def _check_exponents(b, a, M):
    fa = float(a)
    if not (math.isfinite(fa) and fa > 0):
        raise ValueError(f"a must be > 0 and finite, got {a!r}")
    fb = float(b)
    if not math.isfinite(fb):
        raise ValueError(f"b must be finite, got {b!r}")
    if M == math.inf and not fb > 1:
        raise ValueError(f"b must be > 1 for a convergent sum at M = inf, got b={b!r}")


# ==========================================================================
# Taylor coefficients (Miller's recurrences) and the Euler--Maclaurin driver
# ==========================================================================
def _binomials(e, n):
    """``binom(e, j)`` for ``j = 0..n`` (``e`` float or mpf)."""
    out = [e * 0 + 1]
    for j in range(1, n + 1):
        out.append(out[-1] * (e - j + 1) / j)
    return out


def _dot(xs, ys):
    """``sum x y`` for numpy arrays (a loop) or mpmath numbers (``fdot``: exact products,
    one rounding, several times faster than the loop)."""
    x0 = xs[0]
    if hasattr(x0, "context") and hasattr(x0.context, "fdot"):
        return x0.context.fdot(xs, ys)
    if len(xs) > 3 and isinstance(x0, np.ndarray) and isinstance(ys[0], np.ndarray):
        X, Y = np.asarray(xs), np.asarray(ys)
        if X.shape == Y.shape:
            return np.einsum("i...,i...->...", X, Y)
    acc = 0
    for x, y in zip(xs, ys):
        acc = acc + x * y
    return acc


def _power_next(G, v, jv, r):
    """Append the next coefficient of ``v^r`` (``v[0] = 1``, ``jv[j] = j v[j]``) to ``G``:
    Miller's recurrence ``G_m = (1/m) sum_j ((r + 1) j - m) v_j G_{m-j}`` as two dot products."""
    m = len(G)
    rev = G[m - 1::-1]
    G.append(((r + 1) * _dot(jv[1:m + 1], rev) - m * _dot(v[1:m + 1], rev)) / m)


def _exp_next(E, jh):
    """Append the next coefficient of ``exp(h)`` (``h[0] = 0``, ``jh[j] = j h[j]``) to ``E``."""
    m = len(E)
    E.append(_dot(jh[1:m + 1], E[m - 1::-1]) / m)


def _flog(x):
    """``log|x|`` as float(s) for numpy arrays, mpmath numbers (no underflow) and floats."""
    if isinstance(x, np.ndarray):
        with np.errstate(divide="ignore"):
            return np.log(np.abs(x))
    if hasattr(x, "context"):
        ax = abs(x)
        v = float(ax)
        if 0 < v < math.inf:
            return math.log(v)
        return -math.inf if ax == 0 else float(x.context.ln(ax))
    ax = abs(x)
    return -math.inf if ax == 0 else math.log(ax)


def _product_coef(x, y, n):
    return _dot(x[:n + 1], y[n::-1])


class _End:
    """Taylor coefficients ``c_n`` of ``f(I0 (1 + e)) = scale * sum_n c_n e^n`` at one end point
    of the Euler--Maclaurin tail, for several summands (channels), extended on demand.

    The channel's summand is ``I^e g(I)`` where ``g`` is ``(1 + c I^a)^-q`` (resolvent,
    ``inner = x0 binom(a, j)``, ``x0 = c I0^a / (1 + c I0^a)``) or ``exp(-Y ((1 + e)^-a - 1))``
    (Laplace, ``inner = -Y binom(-a, j)``); the factor ``(1 + e)^e`` multiplies the series.
    """

    def __init__(self, sign, I0, inner_scale, a, kind, chans, scales, one):
        self.sign, self.I0, self.kind = sign, I0, kind
        self.inner_scale, self.a, self.one = inner_scale, a, one
        self.chans, self.scales = chans, scales
        self.binom_a = [1]
        self.inner = [one * 0]
        self.j_inner = [one * 0]
        self.G = {}                       # per q (resolvent) or one exp series
        self.binom_e = {}
        self.H = [[] for _ in chans]

    def _inner(self, n):
        while len(self.inner) <= n:
            j = len(self.inner)
            while len(self.binom_a) <= j:
                i = len(self.binom_a)
                self.binom_a.append(self.binom_a[-1] * (self.a - i + 1) / i)
            self.inner.append(self.inner_scale * self.binom_a[j])
            self.j_inner.append(j * self.inner[j])
        return self.inner

    def negligible(self, ch, n, target):
        """Whether a Cauchy bound on this end's ``n``-th correction is below ``target``.

        On the disc ``|I - I0| <= I0/2`` (``|arg I| <= pi/6``; for ``a <= 3`` then
        ``Re(c I^a) >= 0`` and ``|1 + c I^a| >= |c I^a|``) the resolvent summand is at most
        ``|scale| 2^(a q + |e|) / x0^q``, so ``|f^(n)(I0)| <= n! sup (2/I0)^n`` and the
        correction ``|B_(n+1)|/(n+1)! |f^(n)|`` is below ``4 sup n! / (2 pi)^(n+1) (2/I0)^n``.
        """
        if self.kind != "resolvent" or float(self.a) > 3:
            return False
        # in logarithms, as floats (a bound needs no precision; mpmath numbers are slow here)
        logs = self.__dict__.setdefault("_log_sup", {})
        if ch not in logs:
            e, q = self.chans[ch]
            logs[ch] = (_flog(self.scales[ch]) + (float(self.a) * q + abs(float(e))) * math.log(2.0)
                        - q * _flog(self.inner_scale))
            logs["I0"] = math.log(2.0) - _flog(self.I0)
        with np.errstate(under="ignore", over="ignore", divide="ignore", invalid="ignore"):
            bound = (math.log(4.0) + logs[ch] + math.lgamma(n + 1) - (n + 1) * math.log(2 * math.pi)
                     + n * logs["I0"])
            return bool(np.all(bound < _flog(target)))

    def coef(self, ch, n):
        """``scale * c_n`` of channel ``ch``."""
        e, q = self.chans[ch]
        key = q if self.kind == "resolvent" else 0
        G = self.G.setdefault(key, [self.one])
        inner = self._inner(n)
        while len(G) <= n:
            if self.kind == "resolvent":
                # v = 1 + sum_j x0 binom(a, j) e^j, G = v^-q (v_0 = 1 never enters the recurrence)
                _power_next(G, inner, self.j_inner, -q)
            else:
                _exp_next(G, self.j_inner)
        H = self.H[ch]
        if e == 0:
            return self.scales[ch] * G[n]
        be = self.binom_e.get(e)
        if be is None or len(be) <= n:
            be = self.binom_e[e] = _binomials(e, max(n, 2 * len(be or [])))
        while len(H) <= n:
            H.append(_product_coef(be, G, len(H)))
        return self.scales[ch] * H[n]


def _euler_maclaurin(ends, totals, kmax, bk, tol, what, skip_far=False):
    """Add ``sum_k B_2k/(2k)! sum_ends sign f^(2k-1)(I0)`` to every channel's total until two
    consecutive corrections are below ``tol`` relative to it; ``bk(k) = B_2k/(2k)``.

    With ``skip_far``, an end whose Cauchy bound on the correction is already below the target
    (:meth:`_End.negligible`: the far end ``M`` of a large finite sum) is not expanded."""
    n_ch = len(totals)
    small_run = 0
    for k in range(1, kmax + 1):
        nn = 2 * k - 1
        b = bk(k)
        small = True
        for ch in range(n_ch):
            acc = 0
            for end in ends:
                if skip_far and end.negligible(ch, nn, tol * abs(totals[ch])):
                    continue
                with np.errstate(under="ignore"):
                    acc = acc + end.sign * end.coef(ch, nn) * end.I0 ** -nn
            term = b * acc
            totals[ch] = totals[ch] + term
            if np.any(abs(term) > tol * abs(totals[ch])):
                small = False
        small_run = small_run + 1 if small else 0
        if small_run >= 2:
            return totals
    raise ArithmeticError(f"Euler-Maclaurin corrections of the {what} did not converge in {kmax} terms")


def _sigma(a):
    """Relative distance to ``[K, inf)`` of the singularities of ``(1 + c I^a)^-q`` (``c > 0``):
    the rays at angle ``pi/a >= pi/2`` are no closer than the origin."""
    return 1.0 if a <= 2.0 else math.sin(math.pi / a)


def em_head_size(a, ctx=None):
    """Terms ``K`` summed directly before the Euler--Maclaurin tail of the resolvent at real
    ``kappa > 0``: the remainder is ``~exp(-2 pi K sigma)``, below ``1e-21`` in double
    precision and ``10^(-2.7 dps)`` at ``dps`` working digits."""
    sig = _sigma(float(a))
    if ctx is None:
        return max(50, math.ceil(8.0 / sig))
    dps = int((ctx.prec + GUARD_BITS) * math.log10(2)) + 1
    return max(64, math.ceil(dps / sig))


# ==========================================================================
# route 2, resolvent: Euler--Maclaurin with the incomplete beta integral
# ==========================================================================
def _chunks(n, width):
    step = max(1, _CHUNK_ELEMS // max(1, width))
    for i in range(0, n, step):
        yield slice(i, min(n, i + step))


def _y_double(c, I, a):
    """``y = c * I**a`` for ``c`` (n,) and scalar/array ``I``, overflow-safe."""
    I = np.asarray(I, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        Ia = I ** a
        if np.all(np.isfinite(Ia)):
            return np.multiply.outer(c, Ia)
        logy = np.add.outer(np.log(c), a * np.log(I))
        return np.exp(np.minimum(logy, 800.0))


def _t_x(y):
    """``t = 1/(1+y)`` and ``x = y/(1+y)``, both accurate, for ``y`` in [0, inf]."""
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        t = 1.0 / (1.0 + y)
        x = 1.0 / (1.0 + 1.0 / y)
    return t, x


def _qpow(t, q):
    return t if q == 1 else (t * t if q == 2 else t ** q)


def _direct_double(c, M, a, chans):
    out = [np.empty_like(c) for _ in chans]
    I = np.arange(1, M + 1, dtype=np.float64)
    pw = {e: I ** e for e, _ in chans if e != 0}
    for sl in _chunks(c.size, M):
        with np.errstate(over="ignore"):
            t = 1.0 / (1.0 + _y_double(c[sl], I, a))
        for i, (e, q) in enumerate(chans):
            tq = _qpow(t, q)
            out[i][sl] = tq.sum(axis=1) if e == 0 else tq @ pw[e]
    return out


_SERIES_TERMS = 64   # 2**-64 < eps/16: enough for arguments <= 1/2


def _beta_piece_double(al, be, lo, hi):
    """``int_lo^hi t**(al-1) (1-t)**(be-1) dt`` for ``0 <= lo <= hi <= 1/2`` (``lo > 0`` when
    ``al <= 0``).

    Term-by-term integration of the binomial series of ``(1-t)**(be-1)``;
    each term ``(hi**(al+n) - lo**(al+n))/(al+n)`` is formed as
    ``-hi**(al+n) expm1((al+n) log(lo/hi))/(al+n)`` (``log(hi/lo)`` at ``al + n = 0``),
    so there is no cancellation between the two end points even when ``al`` is tiny.
    """
    with np.errstate(divide="ignore", under="ignore", invalid="ignore", over="ignore"):
        pos = hi > 0
        ratio = np.divide(lo, hi, out=np.zeros_like(hi), where=pos)
        logr = np.log(ratio)                       # -inf where lo = 0
        # all the terms at once (one array operation per step instead of one per term: a scalar
        # costs 15 us instead of 250), formed with the operations of the term-by-term series in
        # the same order (cumulative products, a sum row after row)
        n = np.arange(_SERIES_TERMS, dtype=float)
        coefs = np.cumprod(np.r_[1.0, (n[:-1] + 1 - be) / (n[:-1] + 1)])
        hp = np.cumprod(np.concatenate([(np.where(pos, hi, 0.0) ** al)[None],
                                        np.broadcast_to(hi, (_SERIES_TERMS - 1, *np.shape(hi)))]), axis=0)
        e = (al + n).reshape((-1,) + (1,) * np.ndim(hi))
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = np.where(e == 0, -logr, -np.expm1(e * logr) / np.where(e == 0, 1.0, e))
        terms = coefs.reshape(e.shape) * hp * diff
        # row after row (a reduction over the first axis adds whole rows in order)
        total = np.add.reduce(terms.reshape(_SERIES_TERMS, -1), axis=0).reshape(np.shape(hi))
    return np.where(pos & (hi > lo), total, 0.0)


def _beta_integral_double(al, be, tA, xA, tB, xB):
    """``int_{t_B}^{t_A} t**(al-1) (1-t)**(be-1) dt``: the part with ``t <= 1/2`` in ``t``, the
    part with ``t > 1/2`` in ``x = 1 - t`` (``x`` computed directly, never as ``1 - t``)."""
    part_t = _beta_piece_double(al, be, np.minimum(tB, 0.5), np.minimum(tA, 0.5))
    part_x = _beta_piece_double(be, al, np.minimum(xA, 0.5), np.minimum(xB, 0.5))
    return part_t + part_x


#: Double precision: the direct sum costs about ``M n`` x 1e-8 s for ``n`` values of ``kappa``, the
#: Euler--Maclaurin route about 1.5 ms + ``n`` x 2 us (measured on a 2-core machine): the direct
#: sum is taken while ``M n <= _DIRECT_ELEMENTS + _DIRECT_FACTOR K n``.
_DIRECT_ELEMENTS = 150_000


def direct_is_cheaper(M, n, K):
    """Whether summing ``M`` terms at ``n`` values of ``kappa`` directly costs less than the
    Euler--Maclaurin route with a head of ``K`` terms (double precision)."""
    return M <= _DIRECT_FACTOR * K or M * n <= _DIRECT_ELEMENTS + _DIRECT_FACTOR * K * n


def _em_resolvent_double(a, chans, c, M):
    K = em_head_size(a)
    plain = [(e, q) for _, _, e, q in chans]
    if direct_is_cheaper(M, c.size, K):
        return _direct_double(c, int(M), a, plain)
    n = _direct_double(c, K, a, plain)
    A = K + 1
    finite_B = M != math.inf
    tA, xA = _t_x(_y_double(c, float(A), a))
    if finite_B:
        tB, xB = _t_x(_y_double(c, float(M), a))
    else:
        tB, xB = np.zeros_like(c), np.ones_like(c)
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        logc = np.log(c)
    ends = [(float(A), tA, xA, -1.0)]
    if finite_B:
        ends.append((float(M), tB, xB, 1.0))
    state = []
    for I0, t0, x0, sign in ends:
        scales = [(I0 ** e) * _qpow(t0, q) for _, _, e, q in chans]
        state.append(_End(sign, I0, x0, a, "resolvent", plain, scales, np.ones_like(c)))
    for i, (al, be, e, q) in enumerate(chans):
        with np.errstate(over="ignore", under="ignore"):
            pref = np.exp(-be * logc) / a               # kappa^(s - q) / a, s = al
        integral = pref * _beta_integral_double(al, be, tA, xA, tB, xB)
        n[i] = n[i] + integral + 0.5 * state[0].scales[i] + (0.5 * state[1].scales[i] if finite_B else 0.0)
    kmax = max(3, math.floor(math.pi * A * _sigma(a)))
    bern = special.bernoulli(2 * kmax)
    return _euler_maclaurin(state, n, kmax, lambda k: bern[2 * k] / (2 * k), _TOL_DOUBLE, "resolvent sum",
                            skip_far=True)


def _em_resolvent_mp(w, a, chans, c, M, K):
    """Channels ``(al, be, e, q)`` at one ``c > 0`` in the working context ``w``."""
    plain = [(e, q) for _, _, e, q in chans]
    if M <= _DIRECT_FACTOR * K:
        out = []
        ts = [1 / (1 + c * w.power(I, a)) for I in range(1, int(M) + 1)]
        for e, q in plain:
            out.append(w.fsum(t ** q * (w.power(I, e) if e != 0 else 1) for I, t in enumerate(ts, 1)))
        return out
    ts = [1 / (1 + c * w.power(I, a)) for I in range(1, K + 1)]
    parts = [[w.fsum(t ** q * (w.power(I, e) if e != 0 else 1) for I, t in enumerate(ts, 1))]
             for e, q in plain]
    A = K + 1
    finite_B = M != math.inf

    def tx(I0):
        y = c * w.power(I0, a)
        return 1 / (1 + y), y / (1 + y)

    tA, xA = tx(A)
    tB, xB = tx(M) if finite_B else (w.zero, w.one)
    half = w.mpf(0.5)
    ends = [(w.mpf(A), tA, xA, -1)]
    if finite_B:
        ends.append((w.mpf(M), tB, xB, 1))
    state = [_End(sg, I0, x0, a, "resolvent", plain,
                  [w.power(I0, e) * t0 ** q for _, _, e, q in chans], w.one)
             for I0, t0, x0, sg in ends]
    for i, (al, be, e, q) in enumerate(chans):
        def P(t):
            return w.betainc(al, be, 0, t) if t else w.zero

        def Q(x):
            return w.betainc(be, al, 0, x) if x else w.zero

        if tA <= half or be <= 0:       # (1 - t)^(be - 1) not integrable at t = 1: stay in t
            val = P(tA) - P(tB)
        elif finite_B and tB >= half:
            val = Q(xB) - Q(xA)
        else:
            val = (P(half) - P(tB)) + (Q(half) - Q(xA))
        parts[i].append(w.power(c, -be) / a * val)
        parts[i].append(state[0].scales[i] / 2)
        if finite_B:
            parts[i].append(state[1].scales[i] / 2)
    totals = [w.fsum(p) for p in parts]
    kmax = max(3, math.floor(math.pi * A * _sigma(float(a))))
    tol = w.ldexp(1, -(w.prec - GUARD_BITS + 8))
    return _euler_maclaurin(state, totals, kmax, lambda k: w.bernoulli(2 * k) / (2 * k), tol,
                            "resolvent sum", skip_far=True)


def em_resolvent(a, chans, c, M, ctx=None, K=None):
    """Resolvent sums ``sum_{I=1}^{M} I^e (1 + c I^a)^-q`` at real ``c > 0``, several channels.

    This is ``S_q(q a - e, a; c)`` (route 2).  ``chans`` lists ``(al, be, e, q)`` with
    ``al = (b - 1)/a`` and ``be = q - al`` the parameters of the incomplete beta
    integral (passed in so that callers can form them without cancellation, e.g.
    ``be = 1/(1 + alpha)`` for model A).

    Double precision: ``c`` a 1-D float array, a list of arrays returned.  mpmath: ``ctx`` the
    working context (callers add :data:`GUARD_BITS`), ``c`` one mpf, a list of mpf returned;
    ``K`` the head size (default :func:`em_head_size` at ``ctx``).
    """
    if ctx is None:
        return _em_resolvent_double(float(a), [tuple(float(v) for v in ch[:3]) + (int(ch[3]),)
                                              for ch in chans], c, M)
    return _em_resolvent_mp(ctx, ctx.mpf(a), [(ctx.mpf(al), ctx.mpf(be), ctx.mpf(e), int(q))
                                              for al, be, e, q in chans], c, M,
                            em_head_size(float(a), ctx) if K is None else K)


# ==========================================================================
# route 2 at complex kappa: Euler--Maclaurin along the ray, poles cut out
# ==========================================================================
#: A pole of the summand closer than this to an Euler--Maclaurin segment of the real axis is cut
#: out: the terms within this distance of its real part are summed directly (the remainder of
#: the two segments left and right is then ``~exp(-2 pi W)``, below 1e-21).
EM_WINDOW = 8
#: Gauss--Legendre nodes per panel of the ray integral near ``|y| = 1``: ``5.8^-24 < 1e-18`` on
#: panels a third as long as their distance from the pole.
_GL_NODES = 12
_GL_X, _GL_W = np.polynomial.legendre.leggauss(_GL_NODES)


@lru_cache(maxsize=64)
def _graded_nodes(J):
    """Nodes and weights on ``[0, 1]`` of panels ``[0, 2^-J], [2^-J, 2^-J+1], ..., [1/2, 1]``."""
    g = np.concatenate([[0.0], 2.0 ** -np.arange(J, -1, -1)])
    lo, hi = g[:-1], g[1:]
    x = ((hi - lo)[:, None] * (_GL_X[None, :] + 1) / 2 + lo[:, None]).ravel()
    w = ((hi - lo)[:, None] * _GL_W[None, :] / 2).ravel()
    return x, w
_LN2 = math.log(2.0)
_KMAX_COMPLEX = 40
#: The fixed head before the complex-kappa tails: Euler--Maclaurin from 128 converges in a few
#: terms (the remainder falls like (2 pi K)^-2m).
_EM_HEAD_COMPLEX = 128
_BERN_DOUBLE = special.bernoulli(2 * _KMAX_COMPLEX)


@lru_cache(maxsize=64)
def _binom_neg_cached(qs, n):
    q = np.asarray(qs, dtype=float)
    out = np.empty((q.size, n))
    c = np.ones(q.size)
    for j in range(n):
        out[:, j] = c
        c = c * -(q + j) / (j + 1)
    out.flags.writeable = False
    return out


def _binom_neg(qs, n):
    """``binom(-q, j) = (-1)^j binom(q + j - 1, j)`` for ``j = 0..n-1``, one row per ``q`` (cached)."""
    return _binom_neg_cached(tuple(float(q) for q in np.atleast_1d(qs)), n)


def _ray_series(g, coef, la, lb, th):
    """``sum_j coef_j e^(i g_j th) (rho_b^g_j - rho_a^g_j)/g_j`` for exponents ``g`` (channels by
    terms) and rows ``log rho_a = la <= log rho_b = lb`` (``lb`` may be ``inf`` where every
    ``g < 0``): ``rho_b^g (1 - e^(-g L))/g`` for ``g > 0``, ``rho_a^g (e^(g L) - 1)/g`` for
    ``g < 0``, ``L`` at ``g = 0`` (``L = lb - la``): no cancellation, no overflow."""
    L = (lb - la)[None, :, None]
    G = g[:, None, :]
    zero = G == 0
    gs = np.where(zero, 1.0, G)
    pos = gs > 0
    ends = np.where(pos, lb[None, :, None], la[None, :, None])
    diff = np.where(zero, L, np.exp(gs * ends) * np.where(pos, -1.0, 1.0) * np.expm1(np.where(pos, -gs, gs) * L) / gs)
    phase = np.exp(1j * th[None, :, None] * G)
    return np.einsum("cnj,cj->cn", phase * diff, coef)


def _ray_integral_double(bes, qs, l1, l2, th, psi):
    r"""``\int y^(be-1) (1+y)^-q dy`` for each channel ``(be, q)`` along ``y = rho e^{i th}`` from
    ``log rho = l1`` to ``l2`` (arrays; ``l2`` may be ``inf`` when ``be < q``), principal powers
    (``|th| < pi``); ``psi = pi - |th|`` to full relative accuracy (``atan2(|Im c|, -Re c)``:
    near the negative real axis ``1 + y = -expm1(u -+ i psi)`` is then exact to rounding).
    Returns an array (channels, rows).

    ``|y| <= 1/2``: the binomial series of ``(1+y)^-q`` integrated term by term; ``|y| >= 2``: the
    series in ``1/y``; between them Gauss--Legendre in ``u = log rho`` on panels halving towards
    the point nearest the pole ``y = -1`` (at ``u = 0``, ``pi - |th|`` off the real ``u`` axis),
    so every panel is at most a third as long as its distance from the pole.
    """
    bes = np.asarray(bes, dtype=float)
    qs = np.asarray(qs, dtype=float)
    n = th.size
    total = np.zeros((bes.size, n), dtype=complex)
    nser = 58 + 4 * int(np.max(qs))          # j^(q-1) 2^-j < 2^-56
    coef = _binom_neg(qs, nser)
    j = np.arange(nser)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        a_, b_ = l1, np.minimum(l2, -_LN2)                       # small |y|
        sel = b_ > a_
        if np.any(sel):
            total[:, sel] += _ray_series(bes[:, None] + j[None, :], coef, a_[sel], b_[sel], th[sel])
        a_, b_ = np.maximum(l1, _LN2), l2                         # large |y|
        sel = b_ > a_
        if np.any(sel):
            total[:, sel] += _ray_series((bes - qs)[:, None] - j[None, :], coef, a_[sel], b_[sel], th[sel])
        # middle, graded panels towards u = m (the point of [ua, ub] nearest 0)
        ua, ub = np.maximum(l1, -_LN2), np.minimum(l2, _LN2)
        sel = ub > ua
        if np.any(sel):
            ua, ub, t, ps = ua[sel], ub[sel], th[sel], psi[sel]
            m = np.clip(0.0, ua, ub)
            r = np.hypot(m, ps)                          # distance of the pole from m
            sg = np.where(t < 0, -1.0, 1.0)[:, None]
            lengths = np.maximum(m - ua, ub - m)
            if np.any(r <= 0):
                raise FloatingPointError("the ray integral passes through the pole y = -1")
            # panels: the first at most r/2 long, then doubling (each a third of its distance)
            Js = np.clip(np.ceil(np.log2(np.maximum(lengths, 1e-300) / r)) + 1, 0, 60).astype(int)
            acc = np.zeros((bes.size, ua.size), dtype=complex)
            for J in np.unique(Js):
                rows = np.flatnonzero(Js == J)
                x, wts = _graded_nodes(int(J))
                for side_len, sign in ((ub - m, 1.0), (m - ua, -1.0)):
                    L = side_len[rows]
                    u = m[rows, None] + sign * L[:, None] * x[None, :]
                    z = u + 1j * t[rows, None]
                    log1y = np.log(-np.expm1(u - 1j * sg[rows] * ps[rows, None]))     # log(1 + e^z)
                    f = np.exp(bes[:, None, None] * z[None] - qs[:, None, None] * log1y[None])
                    acc[:, rows] += L[None, :] * (f @ wts)
            total[:, sel] += acc
    return total


def _t_x_complex(c, I0, a, l, th):
    """``t = 1/(1+y)``, ``x = y/(1+y)`` for ``y = c I0^a = e^(l + i th)`` without overflow (``y``
    as the product ``c I0^a`` where that is finite: near ``y = -1`` every rounding of ``y`` is
    magnified by ``1/|1 + y|``, and the product rounds least)."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        prod = c * np.power(I0, a)
        ok = np.abs(l) < 600
        y = np.where(ok, prod, 0)
        big = np.abs(y) > 1
        z = np.where(big, 1 / np.where(big, y, 1), y)
        far = ~ok
        z = np.where(far, np.exp(-np.abs(l) + 1j * np.where(l > 0, -th, th)), z)
        big = big | (far & (l > 0))
        t = np.where(big, z / (1 + z), 1 / (1 + z))
        x = np.where(big, 1 / (1 + z), z / (1 + z))
    return t, x


def _log_modulus(c, I, a, lc):
    """``log |c I^a|``, from the product where it is finite: the sum ``log|c| + a log I`` carries
    an absolute error ``eps (|log|c|| + a log I)``, magnified by ``1/|1 + y|`` near the pole."""
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        y = np.abs(c * np.power(I, a))
        return np.where((y > 1e-300) & (y < 1e300), np.log(y), lc + a * np.log(I))


def _em_segment_double(a, chans, c, lo, hi):
    """``sum_{I=lo}^{hi} I^e (1 + c I^a)^-q`` for each channel ``(al, be, e, q)`` at complex
    ``c`` (arrays ``c``, ``lo``; ``hi`` an array or ``inf``) by Euler--Maclaurin: the
    integral along the ray ``y = c I^a`` (:func:`_ray_integral_double`), the end values and the
    Bernoulli corrections (Taylor coefficients by Miller's recurrence at each end).  The poles of
    the summand must be at least :data:`EM_WINDOW` away from ``[lo, hi]``."""
    th = np.angle(c)
    psi = np.arctan2(np.abs(c.imag), -c.real)
    lc = np.log(np.abs(c))
    finite = not np.all(np.isinf(hi))
    l1 = _log_modulus(c, lo, a, lc)
    l2 = _log_modulus(c, hi, a, lc) if finite else np.full_like(lc, np.inf)
    one = np.ones(c.size, dtype=complex)
    plain = [(e, q) for _, _, e, q in chans]
    ends = [(lo, l1, -1.0)] + ([(hi, l2, 1.0)] if finite else [])
    state = []
    for I0, l0, sign in ends:
        t0, x0 = _t_x_complex(c, I0, a, l0, th)
        scales = [I0 ** e * _qpow(t0, q) for _, _, e, q in chans]
        state.append(_End(sign, I0, x0, a, "resolvent", plain, scales, one))
    bes = np.array([be for _, be, _, _ in chans])
    ray = _ray_integral_double(bes, [q for *_, q in chans], l1, l2, th, psi)
    totals = []
    for i in range(len(chans)):
        with np.errstate(over="ignore", under="ignore"):
            pref = np.exp(-bes[i] * (lc + 1j * th)) / a
        v = pref * ray[i] + 0.5 * state[0].scales[i]
        if finite:
            v = v + 0.5 * state[1].scales[i]
        totals.append(v)
    bern = _BERN_DOUBLE
    return _euler_maclaurin(state, totals, _KMAX_COMPLEX, lambda k: bern[2 * k] / (2 * k), _TOL_DOUBLE,
                            "complex resolvent sum")


def complex_head_size(a):
    """The fixed head ``K`` before the complex-``kappa`` tails (double precision)."""
    return max(_EM_HEAD_COMPLEX, em_head_size(float(a)))


def _pole_windows(c, a, lo, hi, width=EM_WINDOW):
    """Per ``c``: the real parts of the summand's poles ``I^a = -1/c`` (principal sheet) that lie
    within :data:`EM_WINDOW` of ``[lo, hi]`` (``nan`` where none; at most one per ``c``: two
    poles at ``|arg I| < pi`` are ``2 pi/a`` apart in angle, far apart at these moduli)."""
    c = np.atleast_1d(c)
    phi0 = np.angle(-1 / c)
    mod = np.abs(c) ** (-1.0 / a)
    out = np.full(c.size, np.nan)
    best = np.full(c.size, np.inf)
    nmax = int(math.ceil(a / 2)) + 1
    for n in range(-nmax, nmax + 1):
        ang = (phi0 + 2 * math.pi * n) / a
        z = mod * np.exp(1j * ang)
        dist = np.abs(z - np.clip(z.real, lo, hi))
        take = (np.abs(ang) < math.pi) & (dist < width) & (dist < best)
        out = np.where(take, z.real, out)
        best = np.where(take, dist, best)
    return out


def complex_resolvent_tail(a, chans, c, K, M):
    """``sum_{I=K}^{M} I^e (1 + c I^a)^-q`` at complex ``c`` (1-D array, off the negative real
    axis, or real): route 2 on the ray, a cost that grows with neither ``M`` nor ``1/|c|``.

    The terms within :data:`EM_WINDOW` of a pole's real part are summed directly and
    Euler--Maclaurin runs on the segments left and right of them (vectorised over ``c``)."""
    c = np.asarray(c, dtype=complex)
    out = [np.zeros(c.size, dtype=complex) for _ in chans]
    if c.size == 0:
        return out
    hiM = float(M)
    wins = _pole_windows(c, a, K, hiM)
    plain = np.isnan(wins)
    if np.any(plain):
        idx = np.flatnonzero(plain)
        got = _em_segment_double(a, chans, c[idx], np.full(idx.size, float(K)),
                                 hiM if math.isinf(hiM) else np.full(idx.size, hiM))
        for o, g in zip(out, got):
            o[idx] = g
    cut = np.flatnonzero(~plain)
    if cut.size:
        lo_w = np.maximum(float(K), np.floor(wins[cut] - EM_WINDOW))
        hi_w = np.minimum(hiM, np.ceil(wins[cut] + EM_WINDOW))
        # left segment [K, lo_w - 1]
        left = lo_w - 1 >= K
        if np.any(left):
            j = cut[left]
            got = _em_segment_double(a, chans, c[j], np.full(j.size, float(K)), lo_w[left] - 1)
            for o, g in zip(out, got):
                o[j] += g
        # the window, directly
        for i, l, h in zip(cut, lo_w, hi_w):
            I = np.arange(l, h + 1.0)
            den = 1.0 + c[i] * I ** a
            if np.any(den == 0):
                raise FloatingPointError(f"kappa = {c[i]:.17g} is a pole of the sum (-kappa = k^-a)")
            t = 1.0 / den
            for o, (_, _, e, q) in zip(out, chans):
                o[i] += np.sum(I ** e * _qpow(t, q))
        # right segment [hi_w + 1, M]
        right = hi_w + 1 <= hiM
        if np.any(right):
            j = cut[right]
            got = _em_segment_double(a, chans, c[j], hi_w[right] + 1,
                                     hiM if math.isinf(hiM) else np.full(j.size, hiM))
            for o, g in zip(out, got):
                o[j] += g
    return out


# ==========================================================================
# Hurwitz sums
# ==========================================================================
@lru_cache(maxsize=16)
def _em_coefficients(prec):
    """``B_{2m}/(2m)!`` for ``m = 1..prec`` as mpf at ``prec`` bits."""
    ctx = context(prec=prec)
    return [ctx.bernoulli(2 * m) / ctx.factorial(2 * m) for m in range(1, prec + 1)]


def _zeta_scaled_mp(ctx, s, A, M):
    """``A^s sum_{k=A}^{M} k^-s`` in ``ctx`` (``M`` may be inf; ``s > 1`` then).

    Direct terms up to ``B = max(A, (s + prec)/pi)``, then Euler--Maclaurin from
    ``B``: the corrections fall like ``((s + 2m)/(2 pi B))^{2m}``, at least ``4^-m``.
    """
    inf_M = math.isinf(M)
    if inf_M and not s > 1:
        raise ValueError(f"sum of k^-s to infinity diverges for s = {s}")
    B = max(int(A), int((float(s) + ctx.prec) / math.pi) + 2)
    lnA = ctx.ln(A)
    # direct terms (1 + m/A)^-s < 2^-(prec + 10) beyond m ~ A (2^((prec + 10)/s) - 1)
    expo = (ctx.prec + 10) / float(s) if s > 0 else math.inf
    n_direct = A * (2.0 ** expo - 1) + 2 if expo < 60 else math.inf
    if n_direct < B - A or (not inf_M and B >= M):
        last = int(A + n_direct) if inf_M else int(min(M, A + n_direct))
        return ctx.fsum(ctx.exp(-s * (ctx.ln(k) - lnA)) for k in range(int(A), last + 1))
    head = ctx.fsum(ctx.exp(-s * (ctx.ln(k) - lnA)) for k in range(int(A), B))
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
    coef = _em_coefficients(ctx.prec + 20)
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
        raise ArithmeticError(f"Euler-Maclaurin for zeta({s}, {A}) did not converge")
    return head + body


@lru_cache(maxsize=4096)
def _tail_zetas_double(p, a, A, M, J):
    s = p + a * np.arange(J)
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


_MP_ZETA_CACHE: dict = {}


def tail_zetas(p, a, A, M, J, ctx=None):
    """``Z_A(p + j a) = A^(p + j a) sum_{k=A}^{M} k^-(p + j a)`` for ``j = 0..J-1`` (cached).

    Double: a float array (``scipy.special.zeta``, mpmath where that loses digits).
    mpmath: a list of ``ctx.mpf`` computed 40 bits above ``ctx``'s precision.
    """
    if ctx is None:
        return _tail_zetas_double(float(p), float(a), A, M, J)
    key = (ctx.prec, str(p), str(a), A, M, J)
    hit = _MP_ZETA_CACHE.get(key)
    if hit is None:
        work = context(prec=ctx.prec + 40)
        pw, aw = work.mpf(p), work.mpf(a)
        hit = [ctx.mpf(_zeta_scaled_mp(work, pw + j * aw, A, M)) for j in range(J)]
        if len(_MP_ZETA_CACHE) > 256:
            _MP_ZETA_CACHE.clear()
        _MP_ZETA_CACHE[key] = hit
    return hit


def hurwitz_sum(s, M=math.inf, ctx=None):
    """``sum_{k=1}^{M} k^-s`` (``s > 1`` when ``M = inf``): a float, or ``ctx.mpf``.

    >>> import mpmath
    >>> ctx = mpmath.MPContext(); ctx.dps = 40
    >>> abs(hurwitz_sum(3, 10**12, ctx) - (ctx.zeta(3) - ctx.zeta(3, 10**12 + 1))) < ctx.mpf(10) ** -38
    True
    """
    M = _check_M(M)
    if M == math.inf and not float(s) > 1:
        raise ValueError(f"s must be > 1 for a convergent sum at M = inf, got s={s!r}")
    if ctx is not None:
        work = context(prec=ctx.prec + 40)
        return ctx.mpf(_zeta_scaled_mp(work, work.mpf(s), 1, M))
    s = float(s)
    if M == math.inf:
        return float(special.zeta(s, 1.0))
    if M <= 10**5:
        return math.fsum(np.arange(M, 0, -1, dtype=np.float64) ** -s)
    K = 1000
    head = math.fsum(np.arange(K, 0, -1, dtype=np.float64) ** -s)
    return head + float(_tail_zetas_double(s, 0.0, K + 1, M, 1)[0]) * (K + 1.0) ** -s


# ==========================================================================
# route 3: heads and Hurwitz series
# ==========================================================================
def head_start(a, kappa_min, rho=RHO):
    """First tail index ``A`` with ``A^-a <= kappa_min / rho``, on a quarter-octave grid
    (``math.inf`` when that is beyond ``2^60``)."""
    need = (rho / kappa_min) ** (1.0 / a) if kappa_min > 0 else math.inf
    need = max(need, float(_MIN_HEAD + 1))
    if not math.isfinite(need) or need > 2.0 ** 60:
        return math.inf
    return int(math.ceil(2.0 ** (math.ceil(4 * math.log2(need)) / 4)))


_HEADS: dict = {}
_CACHED_HEAD = 2**16
#: Double precision: heads up to this length are slices of one growing array per spectrum
#: (``power_head`` of a new length then costs nothing; 4 arrays of 2^19 doubles = 16 MiB).
_PREFIX_HEAD = 2**19
_PREFIXES: dict = {}


def power_head(a, ps, A, ctx=None):
    """``lambda_k = k^-a`` and ``{name: k^-p}`` for ``k = 1..A-1`` (at most :data:`MAX_HEAD`
    terms, :class:`SumTooLarge` beyond).  ``ps`` maps names to exponents; heads of up to
    :data:`_CACHED_HEAD` terms are cached."""
    if A - 1 > MAX_HEAD:
        raise SumTooLarge(f"the spectral sums would need {A - 1:.3g} terms summed directly (about "
                          f"{format_bytes(8.0 * 5 * (A - 1))}), more than {MAX_HEAD}")
    if ctx is None and A - 1 <= _PREFIX_HEAD:
        return _prefix_head(a, ps, A)
    key = (None if ctx is None else ctx.prec, str(a), tuple((n, str(p)) for n, p in sorted(ps.items())), A)
    hit = _HEADS.get(key)
    if hit is None:
        if ctx is None:
            k = np.arange(1, A, dtype=float)
            lam = k ** -float(a)
            x = {n: k ** -float(p) for n, p in ps.items()}
        else:
            ks = [ctx.mpf(i) for i in range(1, A)]
            lam = [ctx.power(k, -a) for k in ks]
            x = {n: [ctx.power(k, -p) for k in ks] for n, p in ps.items()}
        hit = (lam, x)
        if A <= _CACHED_HEAD:
            if len(_HEADS) > 32:
                _HEADS.clear()
            _HEADS[key] = hit
    return hit


def _prefix_head(a, ps, A):
    """:func:`power_head` in double precision as views of the longest head built so far for
    ``(a, ps)`` (grown by doubling up to :data:`_PREFIX_HEAD`; a few spectra kept)."""
    key = (str(a), tuple((n, str(p)) for n, p in sorted(ps.items())))
    hit = _PREFIXES.get(key)
    if hit is None or hit[0].size < A - 1:
        size = min(_PREFIX_HEAD, max(A - 1, 1024, 2 * (0 if hit is None else hit[0].size)))
        k = np.arange(1, size + 1, dtype=float)
        hit = (k ** -float(a), {n: k ** -float(p) for n, p in ps.items()})
        for arr in (hit[0], *hit[1].values()):
            arr.flags.writeable = False
        if key not in _PREFIXES and len(_PREFIXES) >= 8:
            _PREFIXES.pop(next(iter(_PREFIXES)))
        _PREFIXES[key] = hit
    lam, x = hit
    return lam[:A - 1], {n: v[:A - 1] for n, v in x.items()}


def tail_series(p, a, A, M, kappa, q, ctx=None):
    """``sum_{k=A}^{M} k^-p (k^-a + kappa)^-q`` from the Hurwitz series (``|A^-a/kappa| <= 1/4``).

    Double: ``kappa`` a complex array; mpmath: one ``mpc`` or ``mpf``.
    """
    if ctx is None:
        Z = tail_zetas(p, a, A, M, J_DOUBLE)
        c = Z * (1.0 if q == 1 else _rising(q, J_DOUBLE))
        y = -(A ** -float(a)) / kappa
        return kappa ** -q * A ** -float(p) * np.polynomial.polynomial.polyval(y, c)
    J = ctx.prec // 4 + 12
    key = (ctx.prec, str(p), str(a), A, M, J, q)
    coef = _MP_SERIES_CACHE.get(key)
    if coef is None:
        Z = tail_zetas(p, a, A, M, J, ctx)
        coef = [z * math.comb(q + j - 1, j) for j, z in enumerate(Z)][::-1]
        if len(_MP_SERIES_CACHE) > 256:
            _MP_SERIES_CACHE.clear()
        _MP_SERIES_CACHE[key] = coef
    y = -ctx.power(A, -a) / kappa
    return ctx.power(A, -p) / kappa ** q * ctx.polyval(coef, y)


_MP_SERIES_CACHE: dict = {}


def _rising(q, J):
    """``binom(q + j - 1, j)`` for ``j = 0..J-1``."""
    return np.array([math.comb(q + j - 1, j) for j in range(J)], dtype=float)


# -- the same at any precision ---------------------------------------------------------
def em_window_mp(w):
    """Half-width of the directly summed window around a pole in the working context ``w``: the
    remainder ``exp(-2 pi W)`` below ``2^-prec``."""
    return max(EM_WINDOW, int(math.ceil(w.prec * math.log(2) / (2 * math.pi))) + 2)


_SERIES_MP: dict = {}
_GL_MP: dict = {}


def _series_coefficients_mp(w, g0, q, n, sign):
    """``binom(-q, j)/(g0 + sign j)`` for ``j = 0..n-1`` (``None`` where that is ``1/0``), cached."""
    key = (w.prec, str(g0), q, n, sign)
    hit = _SERIES_MP.get(key)
    if hit is None:
        out, c = [], w.one
        for j in range(n):
            g = g0 + sign * j
            out.append(None if g == 0 else c / g)
            c = c * -(q + j) / (j + 1)
        hit = _SERIES_MP[key] = out
        if len(_SERIES_MP) > 512:
            _SERIES_MP.clear()
            _SERIES_MP[key] = hit
    return hit


def _gl_mp(w):
    """Gauss--Legendre nodes and weights on ``[0, 1]`` with error ``5.8^-2n`` below ``2^-prec``
    on panels a third as long as their distance from the pole."""
    n = int(math.ceil(w.prec * math.log(2) / (2 * math.log(5.8)))) + 2
    key = (w.prec, n)
    hit = _GL_MP.get(key)
    if hit is None:
        xs, ws = np.polynomial.legendre.leggauss(n)
        nodes = []
        for x0 in xs:                                    # Newton polish of P_n(x) = 0 in w
            x = w.mpf(x0)
            for _ in range(8):
                p0, p1 = w.one, x
                for k in range(2, n + 1):
                    p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
                dp = n * (x * p1 - p0) / (x * x - 1)
                dx = p1 / dp
                x -= dx
                if abs(dx) < w.ldexp(1, -w.prec - 4):
                    break
            p0, p1 = w.one, x
            for k in range(2, n + 1):
                p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
            dp = n * (x * p1 - p0) / (x * x - 1)
            nodes.append(((x + 1) / 2, 1 / ((1 - x * x) * dp * dp)))
        hit = _GL_MP[key] = nodes
    return hit


def _ray_end_mp(w, g0, q, coef, l, th, sign):
    """``Y^g0 sum_j coef_j Y^(sign j)`` with ``Y = e^(l + i th)`` (a ``log Y`` term where
    ``g0 + sign j = 0``): the antiderivative of the integrand's series at one end."""
    lnY = w.mpc(l, th)
    Y = w.exp(lnY) if sign > 0 else w.exp(-lnY)
    acc = w.zero
    logterm = w.zero
    for c in reversed(coef):
        acc = acc * Y + (0 if c is None else c)
    for j, c in enumerate(coef):
        if c is None:
            # coefficient binom(-q, j) of the log term
            b = w.one
            for i in range(j):
                b = b * -(q + i) / (i + 1)
            logterm = b * lnY
    return w.exp(g0 * lnY) * acc + logterm


def _ray_integral_mp(w, chans, l1, l2, th, psi):
    """:func:`_ray_integral_double` in the working context ``w`` for one ray: a list over the
    channels ``(be, q)``; the series pieces by Horner's rule, the middle by Gauss--Legendre."""
    ln2 = w.ln2
    nser = w.prec + 16
    out = []
    inf2 = w.isinf(l2)
    pieces_small = l1 < -ln2
    pieces_large = inf2 or l2 > ln2
    ua, ub = max(l1, -ln2), (ln2 if inf2 else min(l2, ln2))
    middle = ub > ua
    nodes = []
    if middle:
        m = min(max(w.zero, ua), ub)
        r = w.sqrt(m * m + psi * psi)
        if r == 0:
            raise FloatingPointError("the ray integral passes through the pole y = -1")
        length = max(m - ua, ub - m)
        J = int(min(60, max(0, math.ceil(float(w.log(length / r, 2))) + 2))) if length > 0 else 0
        grid = [w.zero] + [w.ldexp(1, -k) for k in range(J, -1, -1)]
        sg = -1 if th < 0 else 1
        for side_len, sign in ((ub - m, 1), (m - ua, -1)):
            if side_len <= 0:
                continue
            for lo, hi in zip(grid[:-1], grid[1:]):
                for x, wt in _gl_mp(w):
                    u = m + sign * side_len * (lo + (hi - lo) * x)
                    z = w.mpc(u, th)
                    log1y = w.ln(-w.expm1(w.mpc(u, -sg * psi)))
                    nodes.append((z, log1y, side_len * (hi - lo) * wt))
    for be, q in chans:
        total = w.zero
        if pieces_small:
            coef = _series_coefficients_mp(w, be, q, nser, 1)
            b = min(l2, -ln2)
            total += _ray_end_mp(w, be, q, coef, b, th, 1) - _ray_end_mp(w, be, q, coef, l1, th, 1)
        if pieces_large:
            coef = _series_coefficients_mp(w, be - q, q, nser, -1)
            a_ = max(l1, ln2)
            top = w.zero if inf2 else _ray_end_mp(w, be - q, q, coef, l2, th, -1)
            total += top - _ray_end_mp(w, be - q, q, coef, a_, th, -1)
        if nodes:
            total += w.fsum(wt * w.exp(be * z - q * log1y) for z, log1y, wt in nodes)
        out.append(total)
    return out


def _em_segment_mp(w, a, chans, c, lo, hi):
    """:func:`_em_segment_double` for one ``c`` in the working context ``w`` (``hi`` may be inf)."""
    finite = not math.isinf(hi)
    lc = w.ln(abs(c))
    th = w.arg(c)
    psi = w.atan2(abs(c.imag), -c.real)
    plain = [(e, q) for _, _, e, q in chans]
    ends = [(w.mpf(lo), -1)] + ([(w.mpf(hi), 1)] if finite else [])
    state, ls = [], []
    for I0, sign in ends:
        y0 = c * w.power(I0, a)
        t0 = 1 / (1 + y0)
        state.append(_End(sign, I0, y0 * t0, a, "resolvent", plain,
                          [w.power(I0, e) * t0 ** q for _, _, e, q in chans], w.one))
        ls.append(w.ln(abs(y0)))
    l1 = ls[0]
    l2 = ls[1] if finite else w.inf
    ray = _ray_integral_mp(w, [(be, q) for _, be, _, q in chans], l1, l2, th, psi)
    totals = []
    for i, (_, be, _, _) in enumerate(chans):
        v = w.exp(-be * w.mpc(lc, th)) / a * ray[i] + state[0].scales[i] / 2
        if finite:
            v += state[1].scales[i] / 2
        totals.append(v)
    kmax = int(math.pi * em_window_mp(w)) + 8
    tol = w.ldexp(1, -(w.prec - GUARD_BITS + 8))
    return _euler_maclaurin(state, totals, kmax, lambda k: w.bernoulli(2 * k) / (2 * k), tol,
                            "complex resolvent sum")


def complex_resolvent_tail_mp(w, a, chans, c, K, M):
    """:func:`complex_resolvent_tail` for one ``c`` (``mpc``) in the working context ``w``."""
    W = em_window_mp(w)
    hiM = M
    win = _pole_windows(np.array([complex(c)]), float(a), K, float(M), W)[0]
    if math.isnan(win):
        return _em_segment_mp(w, a, chans, c, K, hiM)
    lo_w = max(K, math.floor(win - W))
    hi_w = min(hiM, math.ceil(win + W))
    out = [w.zero for _ in chans]
    if lo_w - 1 >= K:
        out = [o + g for o, g in zip(out, _em_segment_mp(w, a, chans, c, K, lo_w - 1))]
    for I in range(int(lo_w), int(hi_w) + 1):
        t = 1 / (1 + c * w.power(I, a))
        out = [o + w.power(I, e) * t ** q for o, (_, _, e, q) in zip(out, chans)]
    if hi_w + 1 <= hiM:
        out = [o + g for o, g in zip(out, _em_segment_mp(w, a, chans, c, hi_w + 1, hiM))]
    return out


def hurwitz_converges(kap, K, a):
    """Where the Hurwitz series of the tail from ``K`` converges fast: ``|kappa| >= RHO K^-a``."""
    return np.abs(kap) >= RHO * float(K) ** -float(a)


def resolvent_tails(a, pqs, kap, K, M):
    """``[sum_{k=K}^{M} k^-p (k^-a + kappa)^-q for (p, q) in pqs]`` at complex ``kappa`` (double,
    1-D array), at a cost that grows with neither ``M`` nor ``1/|kappa|``: the Hurwitz series
    (:func:`tail_series`) where ``|kappa| >= RHO K^-a``, Euler--Maclaurin on the ray
    (:func:`complex_resolvent_tail`) elsewhere."""
    a = float(a)
    kap = np.asarray(kap, dtype=complex)
    out = [np.zeros(kap.shape, dtype=complex) for _ in pqs]
    hz = hurwitz_converges(kap, K, a)
    if np.any(hz):
        for o, (p, q) in zip(out, pqs):
            o[hz] = tail_series(p, a, K, M, kap[hz], q)
    em = np.flatnonzero(~hz)
    if em.size:
        # sum_k k^-p (k^-a + kappa)^-q = sum_k k^(aq - p) (1 + kappa k^a)^-q
        chans = []
        for p, q in pqs:
            e = a * q - float(p)
            be = (e + 1) / a
            chans.append((q - be, be, e, q))
        for o, g in zip(out, complex_resolvent_tail(a, chans, kap[em], K, M)):
            o[em] = g
    return out


# ==========================================================================
# front doors
# ==========================================================================
def resolvent_sum(b, a, kappa, *, q=1, M=math.inf, ctx=None):
    r"""``S_q(b, a; kappa) = sum_{k=1}^{M} k^-b (k^-a + kappa)^-q``.

    Parameters
    ----------
    b, a : real
        Exponents (``a > 0``; ``b > 1`` when ``M = inf``).
    kappa : real or complex, scalar or 1-D array (double) / one number (mpmath)
        Real ``kappa > 0``: Euler--Maclaurin route; otherwise (complex, off the
        negative real axis) the head plus Hurwitz series route.
    q : int >= 1
    M : int >= 1 or math.inf
    ctx : mpmath.MPContext, optional
        Result as ``ctx.mpf``/``ctx.mpc`` at its precision (computed with guard bits).

    Examples
    --------
    >>> import mpmath
    >>> ctx = mpmath.MPContext(); ctx.dps = 30
    >>> s = resolvent_sum(2, 2, "1e-3", ctx=ctx)            # sum 1/(1 + 1e-3 k^2)
    >>> t = ctx.mpf("1e-3") ** -0.5                           # (pi t coth(pi t) - 1)/2
    >>> abs(s - (ctx.pi * t / ctx.tanh(ctx.pi * t) - 1) / 2) < ctx.mpf(10) ** -28
    True
    """
    M = _check_M(M)
    _check_exponents(b, a, M)
    if isinstance(q, bool) or not isinstance(q, numbers.Integral) or q < 1:
        raise ValueError(f"q must be an integer >= 1, got {q!r}")
    q = int(q)
    if ctx is not None:
        w = context(prec=ctx.prec + GUARD_BITS)
        k = w.mpmathify(kappa)
        if isinstance(k, w.mpc) and k.imag == 0:
            k = k.real
        if w.isnan(k) or w.isinf(k):
            raise ValueError(f"kappa must be finite, got {kappa!r}")
        if isinstance(k, w.mpf):
            if k < 0 or (k == 0 and M == math.inf):
                raise ValueError(f"kappa must be > 0 (>= 0 for finite M), got {kappa!r}")
            if k == 0:
                return ctx.mpf(hurwitz_sum(w.mpf(b) - q * w.mpf(a), M, w))
            al = (w.mpf(b) - 1) / w.mpf(a)
            chans = [(al, q - al, q * w.mpf(a) - w.mpf(b), q)]
            return ctx.mpf(em_resolvent(a, chans, k, M, w, K=em_head_size(float(a), ctx))[0])
        return ctx.mpc(_hurwitz_route_mp(w, w.mpf(b), w.mpf(a), k, q, M))
    kap = np.asarray(kappa)
    scalar = kap.ndim == 0
    kap = np.atleast_1d(kap)
    if not np.all(np.isfinite(kap)):
        raise ValueError("kappa must be finite")
    if np.iscomplexobj(kap) and np.any(kap.imag != 0):
        out = _hurwitz_route_double(float(b), float(a), kap.astype(complex), q, M)
    else:
        kr = kap.real.astype(float)
        if np.any(kr < 0) or (M == math.inf and np.any(kr == 0)):
            raise ValueError("kappa must be > 0 (>= 0 for finite M)")
        out = np.empty_like(kr)
        zero = kr == 0
        if np.any(zero):
            out[zero] = hurwitz_sum(float(b) - q * float(a), M)
        if np.any(~zero):
            al = (float(b) - 1) / float(a)
            out[~zero] = em_resolvent(a, [(al, q - al, q * float(a) - float(b), q)], kr[~zero], M)[0]
    return out[0] if scalar else out


def _hurwitz_route_double(b, a, kap, q, M):
    """Complex ``kappa``: a head ``k < A`` with the Hurwitz series from ``A`` where that head is
    short, else the fixed head ``K`` and :func:`resolvent_tails` (cost independent of ``M``, ``kappa``)."""
    K = complex_head_size(a)
    if M != math.inf and direct_is_cheaper(M, kap.size, K):
        lam, x = power_head(a, {"x": b}, int(M) + 1)
        return (1.0 / (lam[None, :] + kap[:, None]) ** q) @ x["x"]
    A = head_start(a, float(np.min(np.abs(kap))))
    if kap.size * A <= _DIRECT_ELEMENTS and (M == math.inf or A - 1 < M / 2):
        K = max(A, K)
    lam, x = power_head(a, {"x": b}, K)
    return (1.0 / (lam[None, :] + kap[:, None]) ** q) @ x["x"] + resolvent_tails(a, [(b, q)], kap, K, M)[0]


#: mpmath, complex kappa: the longest head before Euler--Maclaurin on the ray takes over.
MP_HEAD_BUDGET = 3000


def _hurwitz_route_mp(w, b, a, k, q, M):
    """Complex ``kappa`` in mpmath: a head ``k < A`` and the Hurwitz series while ``A`` is at most
    :data:`MP_HEAD_BUDGET`, else the head ``K`` and Euler--Maclaurin on the ray."""
    A = head_start(float(a), float(abs(k)), RHO_MP)
    finite = M != math.inf
    if finite and (M <= _DIRECT_FACTOR * em_head_size(float(a), w) or (A - 1 >= M / 2 and M <= MP_HEAD_BUDGET)):
        lam, x = power_head(a, {"x": b}, int(M) + 1, w)
        return w.fsum(xv / (l + k) ** q for l, xv in zip(lam, x["x"]))
    if A <= MP_HEAD_BUDGET and (not finite or A - 1 < M / 2):
        lam, x = power_head(a, {"x": b}, A, w)
        return w.fsum(xv / (l + k) ** q for l, xv in zip(lam, x["x"])) + tail_series(b, a, A, M, k, q, w)
    K = em_head_size(float(a), w)
    lam, x = power_head(a, {"x": b}, K, w)
    head = w.fsum(xv / (l + k) ** q for l, xv in zip(lam, x["x"]))
    if abs(k) >= RHO_MP * w.power(K, -a):
        return head + tail_series(b, a, K, M, k, q, w)
    e = a * q - b
    be = (e + 1) / a
    return head + complex_resolvent_tail_mp(w, a, [(q - be, be, e, q)], w.mpc(k), K, M)[0]


def laplace_sum(b, a, tau, *, M=math.inf, ctx=None):
    r"""``E(b, a; tau) = sum_{k=1}^{M} k^-b exp(-tau k^-a)`` at one ``tau >= 0``.

    Routes: ``tau = 0`` a Hurwitz sum; a head ``k < A`` with ``tau A^-a <= 1/4`` plus the
    exponential series of the tail (:func:`tail_zetas`); at ``M = inf`` and late times
    (``A`` beyond :data:`MAX_HEAD` in double precision, beyond ``4 K`` in mpmath)
    Euler--Maclaurin from ``K`` with the lower incomplete gamma integral, whose cost does
    not grow with ``tau``.  Double precision evaluates that route at 20 digits.

    >>> import mpmath
    >>> ctx = mpmath.MPContext(); ctx.dps = 30
    >>> v = laplace_sum(2.5, 1.5, 0, ctx=ctx)
    >>> abs(v - ctx.zeta(2.5)) < ctx.mpf(10) ** -28
    True
    >>> e1 = laplace_sum(2.5, 1.5, 1e3, M=10**6)
    >>> k = np.arange(1, 10**6 + 1.0)
    >>> bool(abs(e1 - np.sum(k ** -2.5 * np.exp(-1e3 * k ** -1.5))) < 1e-13 * e1)
    True
    """
    M = _check_M(M)
    _check_exponents(b, a, M)
    w = None if ctx is None else context(prec=ctx.prec + GUARD_BITS)
    tau_f = float(tau)
    if not (math.isfinite(tau_f) and tau_f >= 0):
        raise ValueError(f"tau must be >= 0 and finite, got {tau!r}")
    if tau_f == 0:
        return hurwitz_sum(b, M, ctx)
    A = head_start(float(a), 1.0 / tau_f)
    if M == math.inf:
        em_from = MAX_HEAD if ctx is None else 4 * _laplace_K(ctx.dps)
        if math.isinf(A) or A > em_from:
            dps = 20 if ctx is None else ctx.dps
            wk = context(dps + 12)
            v = _laplace_em(wk, wk.mpf(b), wk.mpf(a), wk.mpf(tau), _laplace_K(dps))
            return float(v) if ctx is None else ctx.mpf(v)
    tail = not (M != math.inf and (math.isinf(A) or A - 1 >= M / 2))
    if not tail:
        A = int(M) + 1
    if ctx is None:
        lam, x = power_head(a, {"x": b}, A) if A > 1 else (np.empty(0), {"x": np.empty(0)})
        total = float(np.sum(x["x"] * np.exp(-tau_f * lam)))
        if tail:
            J = 40
            Z = tail_zetas(b, a, A, M, J)
            z = -tau_f * A ** -float(a)
            total += A ** -float(b) * float(np.polynomial.polynomial.polyval(z, Z / special.factorial(np.arange(J))))
        return total
    ba, aa, ta = w.mpf(b), w.mpf(a), w.mpf(tau)
    lam, x = power_head(aa, {"x": ba}, A, w) if A > 1 else ([], {"x": []})
    total = w.fsum(xv * w.exp(-ta * l) for l, xv in zip(lam, x["x"]))
    if tail:
        J = _laplace_terms(w.prec)
        Z = tail_zetas(ba, aa, A, M, J, w)
        z = -ta * w.power(A, -aa)
        c = [Zj / w.factorial(j) for j, Zj in enumerate(Z)]
        total += w.power(A, -ba) * w.polyval(c[::-1], z)
    return ctx.mpf(total)


def _laplace_terms(prec):
    """Terms ``J`` of the exponential series ``sum_j Z_j z^j / j!`` of the Laplace tail at ``prec``
    bits: ``|z| = tau A^-a <= 1/RHO`` and ``Z_j -> 1``, so the first omitted term is below
    ``RHO^-J / J! < 2^-(prec + 10)``."""
    J = 1
    while J * math.log2(RHO) + math.lgamma(J + 1) / math.log(2) < prec + 10:
        J += 1
    return J + 1


def _laplace_K(dps):
    return max(24, int(0.6 * dps) + 16)


def _laplace_em(w, b, a, tau, K):
    """``sum_{k>=1} k^-b exp(-tau k^-a)`` by Euler--Maclaurin from ``K`` (``M = inf``)."""
    # the Taylor coefficients of exp(-tau k^-a) at K grow like (a tau K^-a)^m / m!: start where
    # a tau K^-a <= pi K / 2
    K = max(K, int(math.ceil(float((2 * a * tau / w.pi) ** (1 / (1 + a))))) + 1)
    s = (b - 1) / a
    cut = w.dps * math.log(10) + 40 + float(s) * max(0.0, float(w.ln(tau)))
    kmin = int(float((tau / cut) ** (1 / a))) if tau > cut else 1      # head terms below eps
    for _ in range(5):
        head = w.fsum(w.power(k, -b) * w.exp(-tau * w.power(k, -a)) for k in range(max(1, kmin), K))
        Y = tau * w.power(K, -a)
        integral = w.gammainc(s, 0, Y) * w.power(tau, -s) / a
        scale = w.power(K, -b) * w.exp(-Y)
        end = _End(-1, w.mpf(K), -Y, -a, "laplace", [(-b, 0)], [scale], w.one)
        totals = [head + integral + scale / 2]
        try:
            return _euler_maclaurin([end], totals, int(math.pi * K), lambda k: w.bernoulli(2 * k) / (2 * k),
                                    w.eps, "Laplace sum")[0]
        except ArithmeticError:
            K *= 2
    raise ArithmeticError(f"Euler-Maclaurin corrections of the Laplace sum (b={b}, a={a}, tau={tau}) "
                          f"did not converge up to K = {K // 2}")
