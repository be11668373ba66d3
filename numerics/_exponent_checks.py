r"""Numeric checks of the asymptotics engine (``theory/_asymptotics.py``).

The engine derives exponents and prefactors symbolically.  Here the same
quantities are *measured* from the high-precision numerics of the actual
theory, deep in the asymptotic regime (sizes up to ``10^12``, ``M = inf``
power-law tails), and extrapolated:

* model A: :func:`scaling_theory.numerics.mrs_theory` (the solver, mpmath at ``dps``) at
  ``M`` and the other size so large (``10^(12 + (dps + 5)/alpha)``) that the
  finite-``M`` and ``N/T`` corrections lie below the working precision;
* model B: the derived one-point formulas (``derive_bap``) evaluated with
  power-law sums at ``M = inf`` from the toolkit's one power-law sum engine
  (:mod:`scaling_theory.numerics._power_sums`, through :func:`power_law_sum`):
  Euler--Maclaurin summation with a head of ``K ~ dps`` terms, the tail
  integral in closed form (an incomplete beta or gamma function) and Bernoulli
  corrections from exact Taylor coefficients.  The cost does not depend on
  ``kappa`` or ``t``, so ``N = 10^12`` costs what ``N = 10`` costs.  (Model B's
  solver, :class:`~scaling_theory.numerics._flow_sums.BAPSpectrum`, takes the
  engine's head-plus-Hurwitz-series route at complex ``kappa``, whose head grows
  like ``N``; it cross-checks these sums at moderate sizes.)

Local log-log slopes ``d log L / d log X`` (central differences at
``X = 10^4 .. 10^12``) converge to the exponent with power-law corrections
``X^-w``; iterated Aitken extrapolation (Richardson extrapolation with the
rate estimated from the data, so no correction exponent is assumed) removes
them.  Prefactors ``L X^-e`` are extrapolated the same way.

Public functions: :func:`derived_exponents`, :func:`derived_prefactors`,
:func:`measured_exponents`, :func:`measure`, :func:`exponent_table`,
:func:`phase_diagram_figure`, :func:`power_law_sum`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from ._power_sums import laplace_sum, resolvent_sum
from ._precision import context
from ._solver import secant

__all__ = [
    "power_law_sum",
    "derived_exponents",
    "derived_prefactors",
    "measured_exponents",
    "measure",
    "Measurement",
    "exponent_table",
    "phase_diagram_figure",
    "DEFAULT_POINTS",
    "validate_parameters",
]

#: Parameter points of :func:`exponent_table` (model, alpha, beta).
DEFAULT_POINTS = (("mrs", "0.5", None), ("mrs", "2", None),
                  ("bap", "1.5", "0.5"), ("bap", "2", "1.5"), ("bap", "3", "2.5"))

_GUARD = 12




# ==========================================================================
# parameters
# ==========================================================================
def _exact(name, value):
    """A finite real as a Fraction (strings parsed exactly; never evaluated)."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError
            return Fraction(repr(value))
        return Fraction(str(value).strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{name} must be a finite real number, got {value!r}") from None


#: Largest exponent (and inverse of the smallest) the engine evaluates in seconds (1e6: minutes).
EXPONENT_MAX = 10**4


def validate_parameters(model, alpha=None, beta=None):
    """Check ``model`` and the exponents; returns ``(alpha, beta)`` as Fractions or None.

    Model A: ``alpha > 0`` (``lambda_I = lambda_+ I^-(1+alpha)``), no ``beta``.
    Model B: ``alpha > 1`` (``lambda_k = k^-alpha`` at ``M = inf``), ``beta > 0``.
    """
    if model not in ("mrs", "bap"):
        raise ValueError(f"model must be 'mrs' or 'bap', got {model!r}")
    a = None if alpha is None else _exact("alpha", alpha)
    b = None if beta is None else _exact("beta", beta)
    for name, v in (("alpha", a), ("beta", b)):
        if v is not None and (v > EXPONENT_MAX or (v != 0 and abs(v) < 1 / EXPONENT_MAX)
                              or v.denominator > 10**12):
            raise ValueError(f"{name} must lie in [1e-4, {EXPONENT_MAX}] with at most 12 decimals "
                             f"(the exact prefactors are Gamma and zeta values at these exponents), got "
                             f"{alpha if name == 'alpha' else beta}")
    if model == "mrs":
        if b is not None:
            raise ValueError("beta is not a parameter of model A (mrs)")
        if a is not None and not a > 0:
            raise ValueError(f"alpha must be > 0 for model A (lambda_I = lambda_+ I^-(1+alpha)), got {alpha}")
    else:
        if a is not None and not a > 1:
            raise ValueError(f"alpha must be > 1 for model B at M = inf (lambda_k = k^-alpha), got {alpha}")
        if b is not None and not b > 0:
            raise ValueError(f"beta must be > 0, got {beta}")
    return a, b


def _symbols(model):
    if model == "mrs":
        from scaling_theory.theory._ridge import MRS_SYMBOLS as S

        return S["alpha"], None
    from scaling_theory.theory._flow import BAP_SYMBOLS as S

    return S["alpha"], S["beta"]


def _subs(model, a, b):
    import sympy as sp

    al, be = _symbols(model)
    out = {}
    if a is not None:
        out[al] = sp.Rational(a.numerator, a.denominator)
    if b is not None:
        out[be] = sp.Rational(b.numerator, b.denominator)
    return out


def derived_exponents(model, alpha=None, beta=None) -> dict:
    """The engine's exponents with the keys of ``scaling-theory exponents``.

    With numbers for every parameter: floats; otherwise sympy expressions
    (substituted where a number was given).  ``mrs``: ``loss_vs_N``,
    ``loss_vs_T``; ``bap``: ``loss_vs_t``, ``loss_vs_N``, ``loss_vs_P`` and
    ``compute_optimal`` (``N``, ``t``, ``loss``: exponents of ``C = N t``).

    >>> derived_exponents("bap", alpha=1.5, beta=0.5)["compute_optimal"]
    {'N': 0.4, 't': 0.6, 'loss': -0.3}
    >>> derived_exponents("mrs")["loss_vs_N"]
    -alpha
    """
    import sympy as sp

    from scaling_theory.theory._asymptotics import asymptotic_exponents

    a, b = validate_parameters(model, alpha, beta)
    exps = asymptotic_exponents(model)
    sub = _subs(model, a, b)
    numeric = a is not None and (model == "mrs" or b is not None)

    def conv(e):
        e = e.subs(sub)
        return float(e) if numeric else (sp.simplify(e) if sub else e)

    return {k: ({kk: conv(vv) for kk, vv in v.items()} if isinstance(v, dict) else conv(v))
            for k, v in exps.items()}


def _active(model, key, a, b):
    """The engine's regime result of ``key`` whose leading conditions hold at (a, b)."""
    from scaling_theory.theory._asymptotics import regime_records

    sub = _subs(model, a, b)
    hits = []
    for r in regime_records(model):
        if r.key != key:
            continue
        if all(float(c.subs(sub)) > 0 for c in r.conditions):
            hits.append(r)
    return hits[0] if len(hits) == 1 else None


def derived_prefactors(model, alpha, beta=None, *, dps=30, M=None) -> dict:
    """Prefactors ``A`` of ``L ~ A X^e`` at a numeric point (sympy Floats
    with ``dps`` digits; ``None`` on a phase boundary).  Model A at
    ``lambda_+ = sigma_w^2 = 1`` and latent dimension ``M`` (the prefactor
    carries ``1/M``; default ``M = 1``: then it is ``M <L> N^alpha``).

    >>> A = derived_prefactors("bap", 2, 1.5)["loss_vs_t"]      # Gamma(beta) 2^-beta / alpha
    >>> import mpmath
    >>> abs(A - mpmath.gamma(1.5) * 2 ** -1.5 / 2) < 1e-15
    True
    """
    import sympy as sp

    a, b = validate_parameters(model, alpha, beta)
    if a is None or (model == "bap" and b is None):
        raise ValueError("derived_prefactors needs numeric alpha (and beta for bap)")
    sub = _subs(model, a, b)
    if model == "mrs":
        from scaling_theory.theory._ridge import MRS_SYMBOLS as S

        sub.update({S["lambda_plus"]: 1, S["sigma_w2"]: 1, S["M"]: sp.Integer(1 if M is None else M)})
    out = {}
    from scaling_theory.theory._asymptotics import EXPONENT_KEYS

    for key in EXPONENT_KEYS[model]:
        if key == "compute_optimal":
            continue
        r = _active(model, key, a, b)
        out[key] = None if r is None else sp.N(_value_at(r.prefactor, sub), dps)
    return out


def _value_at(expr, sub):
    """``expr`` at the point ``sub``; a removable singularity (e.g. ``(1 - beta)/sin(pi beta)``
    at ``beta = 1``, inside the phase ``beta < 2``) is resolved by a limit, one symbol at a time."""
    import sympy as sp

    v = expr.subs(sub)
    if not v.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return v
    e = expr
    for sym, val in sorted(sub.items(), key=lambda kv: str(kv[0])):
        e1 = e.subs(sym, val)
        e = sp.limit(e, sym, val) if e1.has(sp.nan, sp.zoo, sp.oo, -sp.oo) else e1
    if e.has(sp.nan, sp.zoo, sp.oo, -sp.oo) or not e.is_number:
        raise ValueError(f"prefactor {expr} has no finite value at {sub}")
    return e


# ==========================================================================
# power-law sums at M = inf (the engine of _power_sums)
# ==========================================================================
def power_law_sum(kind, b, a, x, *, q=1, rate=1, dps=30):
    r"""``sum_{k>=1} k^-b (k^-a + x)^-q`` (``kind="resolvent"``, ``x = kappa > 0``)
    or ``sum_{k>=1} k^-b exp(-rate x k^-a)`` (``kind="laplace"``, ``x = t >= 0``),
    to ``dps`` digits (an mpmath number of a private context).

    The toolkit's one power-law sum engine at ``M = inf``
    (:func:`~scaling_theory.numerics._power_sums.resolvent_sum`,
    :func:`~scaling_theory.numerics._power_sums.laplace_sum`): Euler--Maclaurin with
    the tail integral in closed form (incomplete beta resp. gamma function) and
    exact Taylor coefficients, whose cost does not grow with ``1/kappa`` or ``t``.
    The result does not depend on an asymptotic expansion in ``x``.

    >>> s = power_law_sum("resolvent", 2, 2, "1e-3", dps=30)     # sum 1/(1 + 1e-3 k^2)
    >>> import mpmath
    >>> w = mpmath.MPContext(); w.dps = 40
    >>> t = w.mpf("1e-3") ** -0.5                                # closed form: (pi t coth(pi t) - 1)/2
    >>> abs(w.mpf(s) - (w.pi * t / w.tanh(w.pi * t) - 1) / 2) < w.mpf(10) ** -28
    True
    """
    if kind not in ("resolvent", "laplace"):
        raise ValueError(f"kind must be 'resolvent' or 'laplace', got {kind!r}")
    out = context(dps)
    w = context(dps + _GUARD)
    b, a, xx, rate = w.mpf(b), w.mpf(a), w.mpf(x), w.mpf(rate)
    if not (a > 0 and b > 1):
        raise ValueError(f"need a > 0 and b > 1 for a convergent sum at M = inf, got a={a}, b={b}")
    if kind == "resolvent":
        if not xx > 0:
            raise ValueError(f"kappa must be > 0, got {x}")
        return out.mpf(resolvent_sum(b, a, xx, q=int(q), ctx=w))
    if xx < 0:
        raise ValueError(f"t must be >= 0, got {x}")
    return out.mpf(laplace_sum(b, a, rate * xx, ctx=w))


# ==========================================================================
# model B's losses at M = inf from the derived formulas
# ==========================================================================
class _BAPSums:
    """Model B's sums at ``M = inf`` (``lambda_k = k^-alpha``, ``u_k = k^-(alpha beta + 1)``)."""

    def __init__(self, alpha, beta, dps):
        self.dps = dps
        self.w = context(dps + _GUARD)
        self.a = self.w.mpf(str(alpha))
        self.b = None if beta is None else self.w.mpf(str(beta))

    def S(self, b, q, kap):
        return power_law_sum("resolvent", b, self.a, kap, q=q, dps=self.w.dps)

    def n1(self, kap):
        return self.S(self.a, 1, kap)

    def n2(self, kap):
        return self.S(2 * self.a, 2, kap)

    def g(self, q, kap):
        return self.S(self.a * self.b + 1, q, kap)

    def decay(self, t, extra=0):
        """``sum_k u_k lambda_k^extra exp(-2 lambda_k t)``."""
        return power_law_sum("laplace", self.a * self.b + 1 + extra * self.a, self.a, t, rate=2, dps=self.w.dps)

    def kappa(self, X):
        """Root of ``n1(kappa) = X`` (Newton in ``log kappa``; ``kappa n1' = n2 - n1``),
        warm-started from the previous root scaled by ``(X/X_prev)^-alpha``."""
        w = self.w
        lX = w.ln(X)
        prev = getattr(self, "_prev", None)
        u = -self.a * lX if prev is None else prev[1] - self.a * (lX - prev[0])
        for _ in range(80):
            k = w.exp(u)
            n1, n2 = self.n1(k), self.n2(k)
            du = (w.ln(n1) - lX) / ((n2 - n1) / n1)
            du = max(min(du, 2), -2)
            u -= du
            if abs(du) < w.mpf(10) ** -(self.dps // 2 + 4):
                # quadratic convergence: one more step reaches the working precision
                k = w.exp(u)
                n1, n2 = self.n1(k), self.n2(k)
                u -= (w.ln(n1) - lX) / ((n2 - n1) / n1)
                self._prev = (lX, u)
                return w.exp(u)
        raise ArithmeticError(f"n1(kappa) = {X} did not converge")

    def loss_t(self, t):
        """``N = P = inf``: ``L(t)`` and ``d log L / d log t = -2 t sum u lambda e^(..) / L``."""
        L = self.decay(t)
        return L, -2 * t * self.decay(t, extra=1) / L

    def loss_N(self, N):
        """``t = inf``, ``P = inf``: ``L = kappa g1(kappa)`` at ``n1(kappa) = N``, and its
        log-log slope ``[(g1 - kappa g2)/g1] / [(n2 - n1)/n1]`` (chain rule in ``log kappa``)."""
        k = self.kappa(N)
        n1, n2, g1, g2 = self.n1(k), self.n2(k), self.g(1, k), self.g(2, k)
        return k * g1, ((g1 - k * g2) / g1) / ((n2 - n1) / n1)

    def loss_P(self, P):
        """``t = inf``, ``N = inf``: ``L = kappa^2 g2 / (1 - n2/P)`` at ``n1(kappa) = P``, and
        its log-log slope (``kappa g2' = -2 kappa g3``, ``kappa n2' = -2 (n2 - n3)``)."""
        k = self.kappa(P)
        n1, n2 = self.n1(k), self.n2(k)
        n3 = self.S(3 * self.a, 3, k)
        g2, g3 = self.g(2, k), self.g(3, k)
        r = n2 / n1
        dr = (-2 * (n2 - n3) * n1 - n2 * (n2 - n1)) / (n1 * n1)     # d(n2/n1)/d log kappa
        dlogL = 2 - 2 * k * g3 / g2 + dr / (1 - r)
        return k * k * g2 / (1 - r), dlogL / ((n2 - n1) / n1)


# ==========================================================================
# measurement: local slopes and extrapolation
# ==========================================================================
def _aitken(w, seq, noise):
    """Iterated Aitken extrapolation; returns (value, error estimate)."""
    cols = [list(seq)]
    while len(cols[-1]) >= 3:
        s = cols[-1]
        nxt = []
        for i in range(len(s) - 2):
            d1, d2 = s[i + 1] - s[i], s[i + 2] - 2 * s[i + 1] + s[i]
            if abs(d2) <= noise or abs(d1) <= noise:
                nxt.append(s[i + 2])
            else:
                nxt.append(s[i + 2] - (s[i + 2] - s[i + 1]) ** 2 / (s[i + 2] - 2 * s[i + 1] + s[i]))
        cols.append(nxt)
    best = None
    for c in cols:
        if len(c) >= 2:
            err = abs(c[-1] - c[-2])
            if best is None or err < best[1]:
                best = (c[-1], err)
    if best is None:
        best = (cols[-1][-1], abs(seq[-1] - seq[-2]) if len(seq) > 1 else w.inf)
    return best[0], max(best[1], noise)


@dataclass(frozen=True)
class Measurement:
    """One measured scaling law: raw local slopes and their extrapolation.

    ``exponent`` and ``prefactor`` are the extrapolated values (floats);
    ``*_error`` the extrapolation's own error estimate; ``derived_*`` the
    engine's values; ``digits_*`` the number of agreeing significant digits,
    ``-log10(|measured - derived| / |derived|)`` computed at the working
    precision and capped at ``dps`` (exponents: relative to ``max(1, |e|)``).
    Model A's prefactors are normalised as ``M <L> X^-e`` at
    ``lambda_+ = sigma_w^2 = 1`` (the loss carries ``1/M``).
    """

    model: str
    key: str
    alpha: str
    beta: str | None
    sizes: tuple
    slopes: tuple
    exponent: float
    exponent_error: float
    derived_exponent: float
    prefactor: float | None
    prefactor_error: float | None
    derived_prefactor: float | None
    dps: int
    source: str
    digits_exponent: float = field(default=0.0)
    digits_prefactor: float | None = field(default=None)

    def to_dict(self):
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _digits(w, m, d, rel, cap):
    """Agreeing significant digits of ``m`` and ``d`` (mpmath numbers), at most ``cap``."""
    den = abs(d) if rel else max(w.one, abs(d))
    diff = abs(w.mpf(m) - w.mpf(d)) / den
    return float(cap) if diff == 0 else float(min(cap, -w.log10(diff)))


def _mrs_curve(key, alpha, dps, sizes):
    """Model A through the solver at ``M`` and the other size so large that
    their corrections lie below the working precision: ``([L(X+h), L(X-h),
    L(X)], X, h, M)`` per size (mpmath numbers)."""
    from ._models import MRSModel
    from ._ridge import mrs_theory

    a = float(alpha)
    big = 10 ** (12 + int(math.ceil((dps + 8) / min(a, 1.0))))
    w = context(dps + _GUARD)
    out = []
    for X in sizes:
        X = int(X)
        h = max(1, X // 10 ** 4)
        vals = []
        for Xi in (X + h, X - h, X):
            if key == "loss_vs_N":
                m = MRSModel(M=big, alpha=str(alpha), N=Xi, T=big)
            else:
                m = MRSModel(M=big, alpha=str(alpha), N=big, T=Xi)
            vals.append(w.mpf(mrs_theory(m, dps=dps + _GUARD).test_loss))
        out.append((vals, X, h, big))
    return out


#: Compute budgets of the compute-optimal measurement: ``C = 10^6, 10^9, ..``.
CO_DECADES = tuple(range(6, 31, 3))


def measure(model, alpha, beta=None, *, dps=30, sizes=None, keys=None, co_decades=CO_DECADES) -> list:
    """Measure every exponent (and prefactor) of ``model`` at one point.

    Returns a list of :class:`Measurement` (one per quantity; for model B
    also ``compute_optimal.N``, ``.t``, ``.loss``).  ``sizes`` defaults to
    ``10^4 .. 10^12`` (every decade); ``co_decades`` are the ``log10 C`` of
    the compute-optimal measurement.

    >>> m = measure("bap", 2, 1.5, dps=20, sizes=[10**k for k in range(4, 13, 2)], keys=["loss_vs_t"])
    >>> m[0].derived_exponent, m[0].digits_exponent >= 15
    (-1.5, True)
    """
    from scaling_theory.theory._asymptotics import EXPONENT_KEYS

    a, b = validate_parameters(model, alpha, beta)
    if a is None or (model == "bap" and b is None):
        raise ValueError("measure needs numeric alpha (and beta for bap)")
    dps = int(dps)
    if dps < 15:
        raise ValueError(f"dps must be >= 15, got {dps}")
    sizes = tuple(10 ** k for k in range(4, 13)) if sizes is None else tuple(int(x) for x in sizes)
    if len(sizes) < 3 or any(x < 10 for x in sizes) or list(sizes) != sorted(set(sizes)):
        raise ValueError(f"sizes must be >= 3 increasing integers >= 10, got {sizes}")
    keys = EXPONENT_KEYS[model] if keys is None else tuple(keys)
    for key in keys:
        if key not in EXPONENT_KEYS[model]:
            raise ValueError(f"keys must be among {EXPONENT_KEYS[model]}, got {key!r}")
    w = context(dps + _GUARD)
    noise = w.mpf(10) ** (-(dps + 2))
    astr = str(alpha)
    bstr = None if beta is None else str(beta)
    out = []
    for key in keys:
        if key == "compute_optimal":
            out += _measure_compute_optimal(a, b, astr, bstr, dps, co_decades)
            continue
        e_exact = _exact_exponent(model, key, a, b)
        slopes, prefs = [], []
        if model == "mrs":
            curve = _mrs_curve(key, astr, dps, sizes)
            for (lp, lm, l0), X, h, big in curve:
                slopes.append((w.ln(lp) - w.ln(lm)) / (w.ln(w.mpf(X + h)) - w.ln(w.mpf(X - h))))
                prefs.append(big * l0 * w.power(X, -e_exact))
            pd = derived_prefactors("mrs", a, dps=dps + 5)[key]
            source = "mrs_theory (solver, mpmath) at M = 10^%d; prefactor of M <L>" % round(math.log10(curve[0][3]))
        else:
            S = _BAPSums(astr, bstr, dps)
            f = {"loss_vs_t": S.loss_t, "loss_vs_N": S.loss_N, "loss_vs_P": S.loss_P}[key]
            for X in sizes:
                X = w.mpf(X)
                L, sl = f(X)
                slopes.append(sl)
                prefs.append(L * w.power(X, -e_exact))
            pd = derived_prefactors("bap", a, b, dps=dps + 5)[key]
            source = ("N = P = inf closed form" if key == "loss_vs_t" else "t = inf pole") + \
                ", Euler-Maclaurin sums at M = inf"
        e_m, e_err = _aitken(w, slopes, noise * 10 ** 4)
        p_m, p_err = _aitken(w, prefs, noise * abs(prefs[-1]) * 10 ** 4)
        pdm = None if pd is None else w.mpf(str(pd))
        out.append(Measurement(model, key, astr, bstr, tuple(float(s) for s in sizes),
                               tuple(float(s) for s in slopes), float(e_m), float(e_err), float(e_exact),
                               float(p_m), float(p_err), None if pd is None else float(pdm), dps, source,
                               _digits(w, e_m, e_exact, False, dps),
                               None if pd is None else _digits(w, p_m, pdm, True, dps)))
    return out


def _exact_exponent(model, key, a, b):
    """The derived exponent at the point, exactly (a rational), as an mpmath
    number; ``key`` may be ``"compute_optimal.N"`` etc."""
    import sympy as sp

    from scaling_theory.theory._asymptotics import asymptotic_exponents

    e = asymptotic_exponents(model)
    for part in key.split("."):
        e = e[part]
    e = sp.Rational(sp.nsimplify(e.subs(_subs(model, a, b))))
    w = context(80)
    return w.mpf(e.p) / e.q


def _measure_compute_optimal(a, b, astr, bstr, dps, decades):
    """Compute-optimal exponents from the numerics of the additive loss
    ``L_t(C/N) + L_N(N)`` (both terms exact at M = inf), minimised over N at
    ``C = 10^d`` for ``d`` in ``decades``; secant slopes in ``log C`` extrapolated."""
    decades = tuple(int(d) for d in decades)
    if len(decades) < 3 or list(decades) != sorted(set(decades)) or decades[0] < 2:
        raise ValueError(f"co_decades must be >= 3 increasing integers >= 2, got {decades}")
    S = _BAPSums(astr, bstr, dps)
    w = S.w
    al = S.a

    def parts(u, C):
        k = w.exp(u)
        n1, n2, g1, g2 = S.n1(k), S.n2(k), S.g(1, k), S.g(2, k)
        N = n1
        LN = k * g1
        dLN = k * (g1 - k * g2) * n1 / (n2 - n1)            # dL_N/dlog N along n1(kappa) = N
        t = C / N
        Lt = S.decay(t)
        dLt = -2 * t * S.decay(t, extra=1)                  # dL_t/dlog t
        return N, t, LN + Lt, dLN - dLt                     # dL/dlog N at fixed C

    rows, us_opt = [], []
    tol = w.mpf(10) ** -(dps + 4)     # a last step this small leaves an error near its 1.6th power
    for j, d in enumerate(decades):
        C = w.mpf(10) ** d
        last = {}

        def f(uu, C=C, last=last):
            last[uu] = parts(uu, C)    # the solve's last evaluation is the optimum's row
            return last[uu][3]

        what = f"compute-optimal stationary point at C = 10^{d}"
        if not us_opt:
            # bracket the stationary point on a grid of log kappa (N from ~1 to C), left to right
            us = [-(al * w.ln(C)) * i / 10 for i in range(1, 10)]
            vals = [f(us[0])]
            for i in range(1, len(us)):
                vals.append(f(us[i]))
                if vals[-2] * vals[-1] < 0:
                    break
            else:
                raise ArithmeticError(f"no compute-optimal stationary point bracketed at C = {C}")
            u = secant(f, us[i - 1], us[i], f0=vals[-2], f1=vals[-1], bracket=True, tol=tol, what=what).u
        else:
            # continue the previous optima along their drift in log C: the secant starts from the
            # linear and the quadratic extrapolations (both close to the optimum, so the first
            # step is nearly a Newton step); after the first budget, the derived drift
            # (N* ~ C^e_N and n1(kappa) = N ~ kappa^(-1/alpha) give d log kappa = -alpha e_N d log C)
            x = [w.mpf(dd) for dd in decades[:j]]
            if len(us_opt) == 1:
                e_N = _exact_exponent("bap", "compute_optimal.N", a, b)
                u0 = us_opt[0] - al * w.mpf(e_N) * w.ln(10) * (d - x[0])
                u1 = u0 * (1 + w.mpf(10) ** -3)
            else:
                u0 = us_opt[-1] + (us_opt[-1] - us_opt[-2]) * (d - x[-1]) / (x[-1] - x[-2])
                u1 = u0 * (1 + w.mpf(10) ** -3) if len(us_opt) == 2 else _quadratic_extrapolation(
                    x[-3:], us_opt[-3:], d)
                if abs(u1 - u0) < w.mpf(10) ** -(dps // 2):
                    u1 = u0 + w.mpf(10) ** -(dps // 2)
            u = secant(f, u0, u1, tol=tol, what=what).u
        us_opt.append(u)
        N, t, L, _ = last[u] if u in last else parts(u, C)
        rows.append((C, N, t, L))
    noise = w.mpf(10) ** (-(dps - 2))
    out = []
    for idx, name in ((1, "N"), (2, "t"), (3, "loss")):
        sl = [(w.ln(r2[idx]) - w.ln(r1[idx])) / (w.ln(r2[0]) - w.ln(r1[0])) for r1, r2 in zip(rows, rows[1:])]
        e_m, e_err = _aitken(w, sl, noise)
        d = _exact_exponent("bap", f"compute_optimal.{name}", a, b)
        out.append(Measurement("bap", f"compute_optimal.{name}", astr, bstr,
                               tuple(float(r[0]) for r in rows), tuple(float(s) for s in sl),
                               float(e_m), float(e_err), float(d), None, None, None, dps,
                               "argmin_N [L_t(C/N) + L_N(N)] (additive asymptotic model, exact terms)",
                               _digits(w, e_m, d, False, dps), None))
    return out


def _quadratic_extrapolation(x, y, x_new):
    """The parabola through three points ``(x, y)``, at ``x_new`` (Lagrange form)."""
    (x0, x1, x2), (y0, y1, y2) = x, y
    return (y0 * (x_new - x1) * (x_new - x2) / ((x0 - x1) * (x0 - x2))
            + y1 * (x_new - x0) * (x_new - x2) / ((x1 - x0) * (x1 - x2))
            + y2 * (x_new - x0) * (x_new - x1) / ((x2 - x0) * (x2 - x1)))


def measured_exponents(model, alpha, beta=None, *, dps=30, sizes=None) -> dict:
    """Measured (extrapolated) exponents with the keys of :func:`derived_exponents`."""
    out = {}
    for m in measure(model, alpha, beta, dps=dps, sizes=sizes):
        if m.key.startswith("compute_optimal."):
            out.setdefault("compute_optimal", {})[m.key.split(".", 1)[1]] = m.exponent
        else:
            out[m.key] = m.exponent
    return out


def exponent_table(points=DEFAULT_POINTS, *, dps=30, sizes=None) -> list:
    """Rows ``derived vs measured`` (exponent and prefactor) for the report."""
    rows = []
    for model, a, b in points:
        for m in measure(model, a, b, dps=dps, sizes=sizes):
            rows.append({"model": model, "alpha": a, "beta": b, "quantity": m.key,
                         "derived_exponent": m.derived_exponent, "measured_exponent": m.exponent,
                         "exponent_digits": round(m.digits_exponent, 2),
                         "derived_prefactor": m.derived_prefactor, "measured_prefactor": m.prefactor,
                         "prefactor_digits": None if m.digits_prefactor is None else round(m.digits_prefactor, 2),
                         "source": m.source, "sizes": list(m.sizes)})
    return rows


# ==========================================================================
# figure
# ==========================================================================
def phase_diagram_figure(path, *, resolution=200, points=(), dpi=110, vector=None):
    """Phase diagrams (PNG at ``dpi``, and a ``vector`` twin ``"pdf"``/``"svg"`` beside it when
    given; matplotlib Agg): model B over ``(alpha, beta)``
    (phases of the engine's leading conditions, with the saturation lines
    ``beta = 1``, ``beta = 2`` and the compute-optimal line ``beta = alpha``),
    and model A's regimes in ``(log N, log T)``.  ``points``: ``(model,
    alpha, beta)`` triples (as in :data:`DEFAULT_POINTS`); model B's are
    marked on its map.  Returns the path."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import sympy as sp

    from scaling_theory.theory._asymptotics import asymptotic_exponents, classify_phase, regime_records
    from scaling_theory.theory._flow import BAP_SYMBOLS

    al, be = BAP_SYMBOLS["alpha"], BAP_SYMBOLS["beta"]
    A = np.linspace(1.0, 4.0, resolution)
    Bv = np.linspace(0.02, 4.0, resolution)
    AA, BB = np.meshgrid(A, Bv)
    res = regime_records("bap")
    code = np.zeros_like(AA)
    for r in res:
        if r.key not in ("loss_vs_N", "loss_vs_P"):
            continue
        ok = np.ones_like(AA, dtype=bool)
        for c in r.conditions:
            f = sp.lambdify((al, be), c, "numpy")
            ok &= np.asarray(f(AA, BB) > 0)
        weight = 1 if r.key == "loss_vs_N" else 2
        code += weight * ok * (1 if "<" in r.phase else 0)
    exps = asymptotic_exponents("bap")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    ax = axes[0]
    ax.contourf(AA, BB, code, levels=[-0.5, 0.5, 1.5, 2.5, 3.5], colors=["#f4d6a0", "#bcd9ea", "#d9c3e6", "#c8e6c0"])
    ax.axhline(1, color="k", lw=1)
    ax.axhline(2, color="k", lw=1)
    ax.plot([1, 4], [1, 4], "k--", lw=1)
    # each beta band labelled with the engine's exponents of the phase it lies in
    rec = {(r.key, r.phase): r for r in res}
    for x, y, band, bval in ((2.8, 0.45, r"\beta<1", sp.Rational(1, 2)), (3.0, 1.3, r"1<\beta<2", sp.Rational(3, 2)),
                             (2.3, 3.5, r"\beta>2", 3)):
        ph = dict(classify_phase("bap", {al: sp.Rational(5, 2), be: bval}))
        eN, eP = (sp.latex(rec[k, ph[k]].exponent) for k in ("loss_vs_N", "loss_vs_P"))
        ax.text(x, y, rf"${band}$: $L\sim N^{{{eN}}},\ P^{{{eP}}}$", ha="center")
    for model, a, b in points:
        if model == "bap":
            ax.plot(float(a), float(b), "o", ms=5, mfc="white", mec="k")
    ax.text(3.05, 3.15, r"$\beta=\alpha$: $t^*\!\sim\!N^*$", fontsize=8, rotation=45, rotation_mode="anchor",
            transform_rotates_text=True, ha="center", va="bottom")
    ax.set_xlabel(r"$\alpha$ (model B: $\lambda_k=k^{-\alpha}$)")
    ax.set_ylabel(r"$\beta$")
    ax.set_title("Model B: phases (engine); " + r"$L\sim t^{%s}$" % sp.latex(exps["loss_vs_t"]))
    ax.set_xlim(1, 4)
    ax.set_ylim(0, 4)
    ax = axes[1]
    x = np.linspace(0, 6, 300)
    ax.fill_between(x, x, 6, color="#bcd9ea")
    ax.fill_between(x, 0, x, color="#f4d6a0")
    ax.plot(x, x, "k-", lw=1)
    # past the latent dimension in both N and T the loss no longer falls as a power law
    ax.fill_between([5, 6], 5, 6, color="#d9d9d9", zorder=2)
    ax.text(5.5, 5.5, "plateau\n$N, T > M$", ha="center", va="center", fontsize=8, zorder=3)
    ax.axvline(5, color="gray", ls=":")
    ax.axhline(5, color="gray", ls=":")
    ax.text(1.2, 4.2, r"$N\ll T$: $L\simeq A N^{-\alpha}$")
    ax.text(3.2, 1.0, r"$T\ll N$: $L\simeq A T^{-\alpha}$")
    ax.text(2.6, 2.3, "peak $N=T$", rotation=45, fontsize=8)
    ax.text(5.05, 0.3, r"$N\sim M$", rotation=90, fontsize=8, color="gray")
    ax.text(0.3, 5.1, r"$T\sim M$", fontsize=8, color="gray")
    ax.set_xlabel(r"$\log_{10}N$")
    ax.set_ylabel(r"$\log_{10}T$")
    ax.set_title(r"Model A ($\alpha=\alpha_A=\alpha_B-1$): regimes ($M=10^5$ shown)")
    ax.set_xlim(0, 6)
    ax.set_ylim(0, 6)
    if any(m == "bap" for m, _, _ in points):
        axes[0].plot([], [], "o", ms=5, mfc="white", mec="k", label="measured points")
        axes[0].legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    if vector:
        fig.savefig(Path(path).with_suffix("." + vector))
    plt.close(fig)
    return Path(path)
