r"""Spectral sums of the solvable scaling-law model at a cost independent of ``M``.

The theory of the solvable model of neural scaling laws needs, for a ridge-like
parameter ``kappa >= 0``, the four sums (``I = 1..M``)::

    n1(kappa) = sum_I lam_I / (lam_I + kappa)
    n2(kappa) = sum_I lam_I**2 / (lam_I + kappa)**2
    c1(kappa) = sum_I om_I * lam_I / (lam_I + kappa)
    c2(kappa) = sum_I om_I * lam_I**2 / (lam_I + kappa)**2

and the traces ``sum lam_I`` and ``sum om_I lam_I``.  Two spectra are supported:
:class:`PowerLawSpectrum` (model A: ``lam_I = lambda_plus * I**-(1+alpha)``,
flat teacher variance ``omega``; ``M`` may be ``math.inf``) and
:class:`ArraySpectrum` (explicit arrays, summed directly).

Every function has two paths: double precision (``ctx=None``; ``kappa`` may be
an array of any shape, fully vectorised) and arbitrary precision (``ctx`` an
``mpmath.MPContext`` whose precision the caller has set; ``kappa`` a scalar).
The global ``mpmath.mp`` context is never read or changed: the mpmath path
works in a private context (cached per precision) carrying
``ctx.prec + guard`` bits and converts the results back with ``ctx.mpf``.

Method for the power law
------------------------
With ``a = 1 + alpha``, ``s = 1/a``, ``c = kappa/lambda_plus`` and
``f_p(I) = (1 + c I**a)**-p`` (``p = 1, 2``), ``n_p = sum_{I=1}^{M} f_p(I)``.

* ``M <= 4 K``: direct sum.
* otherwise the head ``I = 1..K`` is summed directly and the tail
  ``I = A..B`` (``A = K + 1``, ``B = M``) by Euler--Maclaurin::

      sum_{I=A}^{B} f = int_A^B f dI + (f(A) + f(B))/2
                        + sum_{k>=1} B_{2k}/(2k)! (f^{(2k-1)}(B) - f^{(2k-1)}(A)) + R_m

  (for ``M = inf`` every ``B`` term vanishes).

*Integral.*  Substituting ``t = lam/(lam + kappa)`` (``x = 1 - t =
kappa/(lam + kappa)``, computed directly, never as ``1 - t``)::

      int_A^B f_p dI = s (lambda_plus/kappa)**s  int_{t_B}^{t_A} t**(p-s-1) (1-t)**(s-1) dt,

an incomplete beta integral with parameters ``(p - s, s)``, both positive
(``p - s`` is formed as ``(alpha + (p-1)(1+alpha))/(1+alpha)``, without
cancellation for small ``alpha``).  The part of ``[t_B, t_A]`` with
``t <= 1/2`` is integrated in ``t``, the part with ``t > 1/2`` in the directly
computed ``x`` (integrand ``x**(s-1) (1-x)**(p-s-1)``), so no difference of
two numbers close to ``B(p-s, s)`` is ever formed.

* double: each piece ``int_lo^hi u**(al-1) (1-u)**(be-1) du`` with
  ``0 <= lo <= hi <= 1/2`` is summed term by term from the binomial series of
  ``(1-u)**(be-1)`` (64 terms, ratio ``<= 1/2``), each term's end-point
  difference written as ``-hi**(al+n) expm1((al+n) log(lo/hi))/(al+n)``;
  this keeps full relative accuracy even when ``al`` is tiny (the plain
  difference of two ``scipy.special.betainc`` values would lose
  ``~log10(1/alpha)`` digits for small ``alpha``).
* mpmath: ``betainc(al, be, 0, u)`` values in the private context; their
  differences lose at most ``~log2(1/(alpha log 4))`` bits, covered by the
  guard bits (``24 + log2(1/alpha)``).

*Derivatives.*  ``f^{(n)}`` at an end point ``I0`` comes from Taylor-mode
automatic differentiation, not numerical differentiation.  With ``h = I0 e``::

      1 + c (I0 + h)**a = (1 + y0) (1 + x0 sum_{j>=1} binom(a, j) e**j),
      y0 = c I0**a,  x0 = y0/(1 + y0),

so ``f_p(I0 + I0 e) = t0**p G(e)`` with ``G = v**-p``,
``v = 1 + sum_j x0 binom(a, j) e**j``.  J. C. P. Miller's recurrence for a
power of a series, ``G_0 = 1``,
``G_n = (1/n) sum_{j=1}^{n} (r j - (n - j)) v_j G_{n-j}``, ``r = -p``,
gives ``f^{(n)}(I0) = n! t0**p G_n / I0**n``.  All coefficients are bounded
(``|x0| <= 1``), the recurrence is vectorised over ``kappa`` and runs in
mpmath unchanged.

Error analysis
--------------
``f_p`` is analytic except where ``c I**a = -1`` (``I = c**-s e^{+-i pi (2m+1)/a}``)
and on the branch cut ``I <= 0`` of ``I**a``.  The distance of a real point
``I >= A`` to these singularities is at least ``r = A sigma`` with
``sigma = 1`` for ``a <= 2`` (the rays at angle ``pi/a >= pi/2`` are no closer
than the origin) and ``sigma = sin(pi/a)`` for ``a > 2``.  Cauchy's estimate
gives ``|f^{(n)}(I)| <= n! sup|f| / (I sigma)**n`` and, with
``|B_{2k}|/(2k)! ~ 2 (2 pi)**-2k``, the ``k``-th correction is of size
``~ (2k-1)!/(2 pi r)**(2k-1)`` relative to ``sup|f| <= 1``, while ``n_p >=
f_p(1)``.  The terms decrease until ``2k ~ 2 pi r`` where the remainder
reaches ``~ exp(-2 pi r)``.  The head size is chosen so that this floor is far
below the target:

* double: ``K = max(50, ceil(8/sigma))``, so ``r >= 8`` and
  ``exp(-2 pi r) < 1e-21``; in practice 5--10 corrections;
* mpmath: ``K = max(64, ceil(dps/sigma))`` with ``dps`` the working decimal
  precision, so ``exp(-2 pi r) < 10**(-2.7 dps)``.

Corrections are added until two consecutive ones are below the target
(``2**-55`` resp. ``2**-(ctx.prec + 8)`` relative to the running sum, for
every ``kappa`` and both ``p``), with a hard cap at the optimal truncation
``k <= pi r``; failing that a :class:`RuntimeError` is raised.  The cost is
``O(K + k_max**2)`` per ``kappa``, independent of ``M``.  Measured accuracy:
double ~1e-15 relative (``M`` up to 1e7 checked against direct sums), mpmath
a few ulps of ``ctx``.

Double-precision ranges: ``c I**a`` is formed in logs where the plain power
would overflow, and products like ``(lambda_plus/kappa)**s`` only overflow
or underflow when the true results do (``kappa`` outside ~``1e-300..1e300``).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import mpmath
import numpy as np
from scipy import special  # bernoulli, zeta

from ._precision import context

__all__ = [
    "PowerLawSpectrum",
    "ArraySpectrum",
    "SpectralSums",
    "spectral_sums",
    "spectral_trace",
    "direct_term_count",
]

#: Direct summation whenever ``M <= _DIRECT_FACTOR * K``.
_DIRECT_FACTOR = 4
#: Relative target of an Euler--Maclaurin correction in double precision.
_TOL_DOUBLE = 2.0 ** -55
#: Extra bits of the private mpmath working context.
_GUARD_BITS = 24
#: Largest number of float64 elements per temporary in the double path.
_CHUNK_ELEMS = 1 << 22


# --------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------
def _as_float(name, value):
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        value_f = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if math.isnan(value_f):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    return value_f


def _check_positive(name, value):
    value_f = _as_float(name, value)
    if not (math.isfinite(value_f) and value_f > 0):
        raise ValueError(f"{name} must be > 0 and finite, got {value!r}")


def _check_nonnegative(name, value):
    value_f = _as_float(name, value)
    if not (math.isfinite(value_f) and value_f >= 0):
        raise ValueError(f"{name} must be >= 0 and finite, got {value!r}")


@dataclass(frozen=True)
class PowerLawSpectrum:
    """Model A power-law spectrum ``lam_I = lambda_plus * I**-(1+alpha)``.

    Parameters
    ----------
    alpha : float, int, str or mpmath.mpf, > 0
        Model A's exponent.  A string keeps full precision in the mpmath path.
    M : int >= 1 or math.inf
        Number of modes (an integral float such as ``1e9`` is accepted).
    lambda_plus : real > 0, optional
        Largest eigenvalue (default 1).
    omega : real >= 0, optional
        Flat teacher variance per mode (default 1): ``c1 = omega*n1``,
        ``c2 = omega*n2``.
    """

    alpha: object
    M: int | float
    lambda_plus: object = 1.0
    omega: object = 1.0

    def __post_init__(self):
        _check_positive("alpha", self.alpha)
        _check_positive("lambda_plus", self.lambda_plus)
        _check_nonnegative("omega", self.omega)
        M = self.M
        if isinstance(M, bool) or not isinstance(M, numbers.Real):
            raise ValueError(f"M must be an integer >= 1 or math.inf, got {M!r}")
        if isinstance(M, numbers.Integral):
            M = int(M)
        else:
            Mf = float(M)
            if Mf == math.inf:
                M = math.inf
            elif math.isfinite(Mf) and Mf.is_integer():
                M = int(Mf)
            else:
                raise ValueError(f"M must be an integer >= 1 or math.inf, got {M!r}")
        if M < 1:
            raise ValueError(f"M must be an integer >= 1 or math.inf, got {self.M!r}")
        object.__setattr__(self, "M", M)


@dataclass(frozen=True, eq=False)
class ArraySpectrum:
    """Explicit spectrum: eigenvalues and per-mode teacher variances.

    Parameters
    ----------
    lambdas : array_like, shape (M,)
        Positive, finite eigenvalues.
    omegas : array_like, shape (M,)
        Non-negative, finite teacher variances.

    Both are stored as read-only float64 copies.
    """

    lambdas: np.ndarray
    omegas: np.ndarray

    def __post_init__(self):
        lam = np.array(self.lambdas, dtype=np.float64, copy=True)
        om = np.array(self.omegas, dtype=np.float64, copy=True)
        if lam.ndim != 1:
            raise ValueError(f"lambdas must be one-dimensional, got shape {lam.shape}")
        if om.shape != lam.shape:
            raise ValueError(
                f"omegas must have the same shape as lambdas {lam.shape}, got {om.shape}"
            )
        if not np.all(np.isfinite(lam) & (lam > 0)):
            raise ValueError("lambdas must be > 0 and finite")
        if not np.all(np.isfinite(om) & (om >= 0)):
            raise ValueError("omegas must be >= 0 and finite")
        lam.flags.writeable = False
        om.flags.writeable = False
        object.__setattr__(self, "lambdas", lam)
        object.__setattr__(self, "omegas", om)


@dataclass(frozen=True, eq=False)
class SpectralSums:
    """The four sums ``n1, n2, c1, c2`` at the requested ``kappa``.

    float64 arrays shaped like ``kappa`` (``numpy.float64`` for a scalar) in
    the double path, ``ctx.mpf`` in the mpmath path.
    """

    n1: object
    n2: object
    c1: object
    c2: object


# --------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------
def _sigma(a):
    """Relative distance of the singularities of ``f_p`` (see module doc)."""
    return 1.0 if a <= 2.0 else math.sin(math.pi / a)


def _head_size(a, ctx=None):
    """Number ``K`` of directly summed head terms."""
    sig = _sigma(a)
    if ctx is None:
        return max(50, math.ceil(8.0 / sig))
    dps = int((ctx.prec + _GUARD_BITS) * math.log10(2)) + 1
    return max(64, math.ceil(dps / sig))


def direct_term_count(spectrum, ctx=None):
    """Number of terms :func:`spectral_sums` sums one by one.

    ``len(lambdas)`` for an :class:`ArraySpectrum`; ``M`` for a small power
    law and the (``M``-independent) head size ``K`` otherwise.

    Examples
    --------
    >>> import math
    >>> direct_term_count(PowerLawSpectrum(1, 10**3)) == direct_term_count(
    ...     PowerLawSpectrum(1, 10**12)) == direct_term_count(PowerLawSpectrum(1, math.inf))
    True
    """
    if isinstance(spectrum, ArraySpectrum):
        return int(spectrum.lambdas.size)
    if not isinstance(spectrum, PowerLawSpectrum):
        raise TypeError(f"spectrum must be a PowerLawSpectrum or ArraySpectrum, got {spectrum!r}")
    K = _head_size(1.0 + float(spectrum.alpha), ctx)
    if spectrum.M <= _DIRECT_FACTOR * K:
        return int(spectrum.M)
    return K




def _work_ctx(ctx):
    """Private mpmath context with ``ctx.prec + _GUARD_BITS`` bits (cached)."""
    if not isinstance(ctx, mpmath.ctx_mp.MPContext):
        raise TypeError(f"ctx must be an mpmath.MPContext instance or None, got {ctx!r}")
    return context(prec=int(ctx.prec) + _GUARD_BITS)


def _check_kappa_double(kappa, M):
    k = np.asarray(kappa, dtype=np.float64)
    if np.any(np.isnan(k)) or np.any(k < 0) or np.any(np.isinf(k)):
        raise ValueError("kappa must be >= 0 and finite")
    if M == math.inf and np.any(k == 0):
        raise ValueError("kappa must be > 0 when M is infinite (the sums diverge at kappa = 0)")
    return k


def _check_kappa_mp(w, kappa, M):
    if isinstance(kappa, np.ndarray) and kappa.ndim > 0:
        raise ValueError("kappa must be a scalar in the mpmath path")
    try:
        k = w.mpf(kappa)
    except (TypeError, ValueError):
        raise ValueError(f"kappa must be a real number >= 0, got {kappa!r}") from None
    if w.isnan(k) or w.isinf(k) or k < 0:
        raise ValueError(f"kappa must be >= 0 and finite, got {kappa!r}")
    if M == math.inf and k == 0:
        raise ValueError("kappa must be > 0 when M is infinite (the sums diverge at kappa = 0)")
    return k


def _chunks(n, width):
    step = max(1, _CHUNK_ELEMS // max(1, width))
    for i in range(0, n, step):
        yield slice(i, min(n, i + step))


# --------------------------------------------------------------------------
# double path, power law
# --------------------------------------------------------------------------
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


def _direct_power_double(c, M, a):
    n1 = np.empty_like(c)
    n2 = np.empty_like(c)
    I = np.arange(1, M + 1, dtype=np.float64)
    for sl in _chunks(c.size, M):
        with np.errstate(over="ignore"):
            t = 1.0 / (1.0 + _y_double(c[sl], I, a))
        n1[sl] = t.sum(axis=1)
        n2[sl] = (t * t).sum(axis=1)
    return n1, n2


_SERIES_TERMS = 64   # 2**-64 < eps/16: enough for arguments <= 1/2


def _beta_piece_double(al, be, lo, hi):
    """``int_lo^hi t**(al-1) (1-t)**(be-1) dt`` for ``0 <= lo <= hi <= 1/2``.

    Term-by-term integration of the binomial series of ``(1-t)**(be-1)``;
    each term ``(hi**(al+n) - lo**(al+n))/(al+n)`` is formed as
    ``-hi**(al+n) expm1((al+n) log(lo/hi))/(al+n)``, so there is no
    cancellation between the two end points even when ``al`` is tiny.
    """
    with np.errstate(divide="ignore", under="ignore", invalid="ignore"):
        pos = hi > 0
        ratio = np.divide(lo, hi, out=np.zeros_like(hi), where=pos)
        logr = np.log(ratio)                       # -inf where lo = 0
        hp = np.where(pos, hi, 0.0) ** al
        coef = 1.0
        total = np.zeros_like(hi)
        for n in range(_SERIES_TERMS):
            e = al + n
            total += (coef / e) * hp * (-np.expm1(e * logr))
            coef *= (n + 1 - be) / (n + 1)
            hp = hp * hi
    return np.where(pos, total, 0.0)


def _beta_integral_double(p, alpha, tA, xA, tB, xB):
    """``int_{t_B}^{t_A} t**(p-s-1) (1-t)**(s-1) dt`` (see module doc).

    The part with ``t <= 1/2`` is integrated in ``t``, the part with
    ``t > 1/2`` in ``x = 1 - t`` (``x`` computed directly); for an interval
    on one side of ``1/2`` the other part is empty.
    """
    # p - s = (alpha + (p-1)(1+alpha))/(1+alpha), formed without cancellation
    be = 1.0 / (1.0 + alpha)
    al = (alpha + (p - 1) * (1.0 + alpha)) * be
    part_t = _beta_piece_double(al, be, np.minimum(tB, 0.5), np.minimum(tA, 0.5))
    part_x = _beta_piece_double(be, al, np.minimum(xA, 0.5), np.minimum(xB, 0.5))
    return part_t + part_x


def _taylor_step(G, v, n, r):
    """Next Miller coefficient ``G_n`` of ``v**r`` (``v_0 = 1``)."""
    acc = 0.0
    for j in range(1, n + 1):
        acc = acc + (r * j - (n - j)) * v[j] * G[n - j]
    return acc / n


def _powerlaw_double(spec, kappa):
    """n1, n2 for a 1-D array of kappa > 0."""
    a = 1.0 + float(spec.alpha)
    s = 1.0 / a
    lp = float(spec.lambda_plus)
    c = kappa / lp
    M = spec.M
    K = _head_size(a)
    if M <= _DIRECT_FACTOR * K:
        return _direct_power_double(c, int(M), a)

    n = [None, *_direct_power_double(c, K, a)]      # n[p], p = 1, 2
    A = K + 1
    finite_B = M != math.inf
    tA, xA = _t_x(_y_double(c, float(A), a))
    if finite_B:
        tB, xB = _t_x(_y_double(c, float(M), a))
    else:
        tB = np.zeros_like(c)
        xB = np.ones_like(c)
    with np.errstate(over="ignore", under="ignore"):
        pref = s * np.exp(-s * np.log(c))           # s (lambda_plus/kappa)**s
    ends = [(float(A), tA, xA, -1.0)]
    if finite_B:
        ends.append((float(M), tB, xB, 1.0))
    # integral and trapezoid end terms
    for p in (1, 2):
        integral = pref * _beta_integral_double(p, float(spec.alpha), tA, xA, tB, xB)
        n[p] = n[p] + integral + 0.5 * tA ** p + (0.5 * tB ** p if finite_B else 0.0)

    # Euler--Maclaurin corrections by Taylor-mode AD
    r_dist = A * _sigma(a)
    kmax = max(3, math.floor(math.pi * r_dist))
    bern = special.bernoulli(2 * kmax)
    # binom(a, j) and per-end-point coefficient lists
    binom = [1.0]
    state = []
    for I0, t0, x0, sign in ends:
        state.append({"I0": I0, "t0": t0, "sign": sign,
                      "v": [np.ones_like(c)],
                      "x0": x0, "G": {1: [np.ones_like(c)], 2: [np.ones_like(c)]}})
    small_run = 0
    for k in range(1, kmax + 1):
        nn = 2 * k - 1
        while len(binom) <= nn:
            j = len(binom)
            binom.append(binom[-1] * (a - j + 1) / j)
        terms = {1: 0.0, 2: 0.0}
        for st in state:
            v = st["v"]
            while len(v) <= nn:
                v.append(st["x0"] * binom[len(v)])
            with np.errstate(under="ignore"):
                scale = (1.0 / st["I0"]) ** nn
            for p in (1, 2):
                G = st["G"][p]
                while len(G) <= nn:
                    G.append(_taylor_step(G, v, len(G), -p))
                with np.errstate(under="ignore"):
                    terms[p] = terms[p] + st["sign"] * (st["t0"] ** p) * G[nn] * scale
        small = True
        for p in (1, 2):
            term = (bern[2 * k] / (2 * k)) * terms[p]
            n[p] = n[p] + term
            if np.any(np.abs(term) > _TOL_DOUBLE * np.abs(n[p])):
                small = False
        small_run = small_run + 1 if small else 0
        if small_run >= 2:
            return n[1], n[2]
    raise RuntimeError(
        f"Euler-Maclaurin tail did not converge in {kmax} terms (alpha={spec.alpha!r})"
    )


# --------------------------------------------------------------------------
# mpmath path, power law
# --------------------------------------------------------------------------
def _powerlaw_mp(w, spec, kappa, K):
    """n1, n2 (``w`` mpf) for one kappa > 0 at the working precision of ``w``."""
    alpha = w.mpf(spec.alpha)
    a = 1 + alpha
    s = 1 / a
    c = kappa / w.mpf(spec.lambda_plus)
    M = spec.M
    sig = _sigma(float(a))
    if M <= _DIRECT_FACTOR * K:
        ts = [1 / (1 + c * w.power(I, a)) for I in range(1, int(M) + 1)]
        return w.fsum(ts), w.fsum(t * t for t in ts)

    ts = [1 / (1 + c * w.power(I, a)) for I in range(1, K + 1)]
    n = {1: [w.fsum(ts)], 2: [w.fsum(t * t for t in ts)]}  # lists of addends
    A = K + 1
    finite_B = M != math.inf

    def tx(I0):
        y = c * w.power(I0, a)
        return 1 / (1 + y), y / (1 + y)

    tA, xA = tx(A)
    if finite_B:
        tB, xB = tx(M)
    else:
        tB, xB = w.zero, w.one
    half = w.mpf(0.5)
    pref = s * w.power(c, -s)
    for p in (1, 2):
        al, be = (alpha + (p - 1) * a) / a, s     # p - s without cancellation

        def P(t):
            return w.betainc(al, be, 0, t) if t else w.zero

        def Q(x):
            return w.betainc(be, al, 0, x) if x else w.zero

        if tA <= half:
            val = P(tA) - P(tB)
        elif finite_B and tB >= half:
            val = Q(xB) - Q(xA)
        else:
            val = (P(half) - P(tB)) + (Q(half) - Q(xA))
        n[p].append(pref * val)
        n[p].append(tA ** p / 2)
        if finite_B:
            n[p].append(tB ** p / 2)

    r_dist = A * sig
    kmax = max(3, math.floor(math.pi * r_dist))
    tol = w.ldexp(1, -(w.prec - _GUARD_BITS + 8))
    ends = [(w.mpf(A), tA, xA, -1)]
    if finite_B:
        ends.append((w.mpf(M), tB, xB, 1))
    binom = [w.one]
    state = [{"I0": I0, "t0": t0, "x0": x0, "sign": sg, "v": [w.one],
              "G": {1: [w.one], 2: [w.one]}} for I0, t0, x0, sg in ends]
    totals = {p: w.fsum(n[p]) for p in (1, 2)}
    small_run = 0
    for k in range(1, kmax + 1):
        nn = 2 * k - 1
        while len(binom) <= nn:
            j = len(binom)
            binom.append(binom[-1] * (a - j + 1) / j)
        bk = w.bernoulli(2 * k) / (2 * k)
        small = True
        for p in (1, 2):
            acc = w.zero
            for st in state:
                v = st["v"]
                while len(v) <= nn:
                    v.append(st["x0"] * binom[len(v)])
                G = st["G"][p]
                while len(G) <= nn:
                    m = len(G)
                    G.append(w.fsum((-p * j - (m - j)) * v[j] * G[m - j]
                                    for j in range(1, m + 1)) / m)
                acc += st["sign"] * st["t0"] ** p * G[nn] / st["I0"] ** nn
            term = bk * acc
            n[p].append(term)
            totals[p] += term
            if abs(term) > tol * abs(totals[p]):
                small = False
        small_run = small_run + 1 if small else 0
        if small_run >= 2:
            return w.fsum(n[1]), w.fsum(n[2])
    raise RuntimeError(
        f"Euler-Maclaurin tail did not converge in {kmax} terms (alpha={spec.alpha!r})"
    )


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def spectral_sums(spectrum, kappa, ctx=None):
    r"""The sums ``n1, n2, c1, c2`` of ``spectrum`` at ``kappa``.

    Parameters
    ----------
    spectrum : PowerLawSpectrum or ArraySpectrum
    kappa : float or array_like (double path) / real scalar (mpmath path)
        Ridge-like parameter, ``>= 0``; ``kappa = 0`` needs a finite ``M``
        (then ``n1 = n2 = M`` and ``c1 = c2 = sum om``).
    ctx : mpmath.MPContext, optional
        ``None`` for float64; otherwise every operation uses a context of
        ``ctx``'s precision (plus private guard bits) and the results are
        ``ctx.mpf``, correct to a few ulps of ``ctx``.

    Returns
    -------
    SpectralSums
        For a power law the cost does not depend on ``M`` (see module doc).

    Raises
    ------
    ValueError
        For ``kappa < 0``, non-finite ``kappa``, or ``kappa = 0`` with
        ``M = inf``.
    RuntimeError
        If the Euler--Maclaurin tail does not reach the target accuracy
        (not observed; it would indicate an unsupported parameter range).

    Examples
    --------
    >>> import math, numpy as np
    >>> s = spectral_sums(PowerLawSpectrum(alpha=0.5, M=10**4), 1e-3)
    >>> lam = np.arange(1, 10**4 + 1) ** -1.5
    >>> exact = math.fsum(lam / (lam + 1e-3))
    >>> bool(abs(s.n1 - exact) < 1e-12 * exact)
    True
    >>> spectral_sums(PowerLawSpectrum(1, 10**12), np.logspace(-6, 0, 7)).n1.shape
    (7,)
    >>> import mpmath
    >>> ctx = mpmath.MPContext(); ctx.dps = 40
    >>> v = spectral_sums(PowerLawSpectrum("0.5", math.inf), "0.001", ctx=ctx).n1
    >>> isinstance(v, ctx.mpf)
    True
    """
    if isinstance(spectrum, PowerLawSpectrum):
        return _sums_powerlaw(spectrum, kappa, ctx)
    if isinstance(spectrum, ArraySpectrum):
        return _sums_array(spectrum, kappa, ctx)
    raise TypeError(f"spectrum must be a PowerLawSpectrum or ArraySpectrum, got {spectrum!r}")


def _finish_double(values, shape):
    out = [np.asarray(v, dtype=np.float64).reshape(shape) for v in values]
    if shape == ():
        out = [v[()] for v in out]
    return SpectralSums(*out)


def _sums_powerlaw(spec, kappa, ctx):
    if ctx is None:
        k = _check_kappa_double(kappa, spec.M)
        flat = k.ravel()
        n1 = np.empty_like(flat)
        n2 = np.empty_like(flat)
        zero = flat == 0
        if np.any(zero):
            n1[zero] = n2[zero] = float(spec.M)
        pos = ~zero
        if np.any(pos):
            n1[pos], n2[pos] = _powerlaw_double(spec, flat[pos])
        om = float(spec.omega)
        return _finish_double((n1, n2, om * n1, om * n2), k.shape)
    w = _work_ctx(ctx)
    # extra bits: the incomplete-beta end values nearly cancel for tiny alpha
    extra = max(0, math.ceil(-math.log2(float(spec.alpha))))
    w = context(prec=w.prec + extra)
    k = _check_kappa_mp(w, kappa, spec.M)
    if k == 0:
        n1 = n2 = w.mpf(spec.M)
    else:
        n1, n2 = _powerlaw_mp(w, spec, k, _head_size(1.0 + float(spec.alpha), ctx))
    om = w.mpf(spec.omega)
    return SpectralSums(ctx.mpf(n1), ctx.mpf(n2), ctx.mpf(om * n1), ctx.mpf(om * n2))


def _sums_array(spec, kappa, ctx):
    lam, om = spec.lambdas, spec.omegas
    if ctx is None:
        k = _check_kappa_double(kappa, lam.size)
        flat = k.ravel()
        out = [np.empty_like(flat) for _ in range(4)]
        for sl in _chunks(flat.size, lam.size):
            t = lam / (lam + flat[sl, None])
            t2 = t * t
            out[0][sl] = t.sum(axis=1)
            out[1][sl] = t2.sum(axis=1)
            out[2][sl] = t @ om
            out[3][sl] = t2 @ om
        return _finish_double(out, k.shape)
    w = _work_ctx(ctx)
    k = _check_kappa_mp(w, kappa, lam.size)
    ts = [w.mpf(x) / (w.mpf(x) + k) for x in lam]
    oms = [w.mpf(x) for x in om]
    vals = (w.fsum(ts), w.fsum(t * t for t in ts),
            w.fsum(o * t for o, t in zip(oms, ts)),
            w.fsum(o * t * t for o, t in zip(oms, ts)))
    return SpectralSums(*(ctx.mpf(v) for v in vals))


def spectral_trace(spectrum, ctx=None):
    """``(sum lam_I, sum om_I lam_I)``.

    For a power law with ``M = inf`` this is ``lambda_plus * zeta(1+alpha)``
    (times ``omega``); large finite ``M`` uses a direct head plus the
    difference of two Hurwitz zeta values.

    Parameters
    ----------
    spectrum : PowerLawSpectrum or ArraySpectrum
    ctx : mpmath.MPContext, optional
        As in :func:`spectral_sums`.

    Returns
    -------
    tuple
        Two floats (double path) or two ``ctx.mpf``.

    Examples
    --------
    >>> import math
    >>> tr, wtr = spectral_trace(PowerLawSpectrum(1, math.inf, omega=2))
    >>> bool(abs(tr - math.pi ** 2 / 6) < 1e-15 and abs(wtr - math.pi ** 2 / 3) < 1e-15)
    True
    """
    if isinstance(spectrum, ArraySpectrum):
        lam, om = spectrum.lambdas, spectrum.omegas
        if ctx is None:
            return math.fsum(lam), math.fsum(lam * om)
        w = _work_ctx(ctx)
        return (ctx.mpf(w.fsum(w.mpf(x) for x in lam)),
                ctx.mpf(w.fsum(w.mpf(x) * w.mpf(o) for x, o in zip(lam, om))))
    if not isinstance(spectrum, PowerLawSpectrum):
        raise TypeError(f"spectrum must be a PowerLawSpectrum or ArraySpectrum, got {spectrum!r}")
    M = spectrum.M
    if ctx is None:
        a = 1.0 + float(spectrum.alpha)
        lp, om = float(spectrum.lambda_plus), float(spectrum.omega)
        if M == math.inf:
            tr = lp * float(special.zeta(a, 1.0))
        elif M <= 10**5:
            tr = lp * math.fsum(np.arange(M, 0, -1, dtype=np.float64) ** -a)
        else:
            K = 1000
            head = math.fsum(np.arange(K, 0, -1, dtype=np.float64) ** -a)
            tail = float(special.zeta(a, K + 1.0)) - float(special.zeta(a, M + 1.0))
            tr = lp * (head + tail)
        return tr, om * tr
    w = _work_ctx(ctx)
    # extra bits against the cancellation in zeta(a, K+1) - zeta(a, M+1)
    extra = max(0, math.ceil(math.log2(1.0 / float(spectrum.alpha)))) + 8
    w = context(prec=w.prec + extra)
    a = 1 + w.mpf(spectrum.alpha)
    lp, om = w.mpf(spectrum.lambda_plus), w.mpf(spectrum.omega)
    K = 256
    if M == math.inf:
        tr = lp * w.zeta(a)
    elif M <= 4 * K:
        tr = lp * w.fsum(w.power(I, -a) for I in range(1, int(M) + 1))
    else:
        head = w.fsum(w.power(I, -a) for I in range(1, K + 1))
        tr = lp * (head + (w.zeta(a, K + 1) - w.zeta(a, M + 1)))
    return ctx.mpf(tr), ctx.mpf(om * tr)


