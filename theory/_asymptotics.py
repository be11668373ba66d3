r"""Asymptotics engine: Mellin expansions of power-law spectral sums and the
leading scaling laws of both models, derived symbolically.

One engine serves every model.  A model supplies data, not asymptotics code:

* its spectral sums as :class:`PowerLawSum` objects (``M = inf`` power laws),
  either resolvent sums ``S(kappa) = sum_k k^-b (k^-a + kappa/s)^-q`` (small
  ``kappa``) or Laplace sums ``S(t) = sum_k k^-b exp(-r t k^-a)`` (large ``t``);
* its regimes as :class:`Regime` objects: the large variable ``X`` (``N``,
  ``T``, ``t``, ``P``), the loss expression (taken from the model's own
  derivation), the equation ``S(kappa) = X`` that fixes the renormalised
  ridge, and a representative parameter point inside the regime.

The engine then

1. expands every sum through its Mellin transform
   ``int_0^inf x^(z-1) S(x) dx = H(z) zeta(c + e z)``: the pole of the zeta
   function gives the Gamma/Beta-function term ``H(z*) x^-z* / |e|``, the poles
   of ``H`` the zeta-value corrections (``S(0) = zeta(b - a q)`` and the next
   powers of ``kappa``) -- :func:`mellin_expansion`;
2. inverts ``S(kappa) = X`` as a generalised power series in ``X``;
3. substitutes everything into the loss and reads off the exponent, the exact
   prefactor and the first power-law correction, together with the
   inequalities between exponents that the ordering of the terms assumed (the
   regime's validity conditions: the phase boundaries come out of the engine)
   -- :func:`derive_regime`.

The generalised power series carry an explicit error order, so every term the
engine reports is exact (no term larger than a kept one is ever dropped, given
the recorded ordering conditions).  Where a sum's expansion has no further
pole (Laplace sums), the remainder is smaller than any power of ``X``.

On top: :func:`derive_asymptotics_mrs` and :func:`derive_asymptotics_bap`
(:class:`~scaling_theory.theory.Derivation` objects with ``verify()``), crossover scales,
the phase diagrams, the compute-optimal allocation of model B and the
optimally tuned ridge of model A, and :func:`asymptotics_markdown`.

Model A's ``alpha`` (``lambda_I = lambda_+ I^-(1+alpha)``) is not model B's
(``lambda_k = k^-alpha``): ``alpha_B = 1 + alpha_A``.  Both derivations use the
symbols of their model's module (:data:`scaling_theory.theory.MRS_SYMBOLS`,
:data:`scaling_theory.theory.BAP_SYMBOLS`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from ._derivation import Derivation, Step
from ._latex import latex

__all__ = [
    "PowerLawSum",
    "Regime",
    "AsymptoticModel",
    "RegimeAsymptotics",
    "mellin_expansion",
    "derive_regime",
    "mrs_asymptotic_model",
    "bap_asymptotic_model",
    "regime_results",
    "regime_records",
    "RegimeRecord",
    "tabulated_source",
    "asymptotic_exponents",
    "asymptotic_prefactors",
    "phase_diagram",
    "classify_phase",
    "derive_mellin",
    "derive_asymptotics_mrs",
    "derive_asymptotics_bap",
    "asymptotics_markdown",
    "EXPONENT_KEYS",
]

#: Mellin variable.
z = sp.Symbol("z")

#: Keys of the exponent dictionaries (and of ``scaling-theory exponents --json``).
EXPONENT_KEYS = {
    "mrs": ("loss_vs_N", "loss_vs_T"),
    "bap": ("loss_vs_t", "loss_vs_N", "loss_vs_P", "compute_optimal"),
}

_NKEEP = 2          # terms kept by the generalised power series (leading + first correction)
_NPOLES = 2         # poles of H kept in each Mellin expansion


# ==========================================================================
# spectral sums and their Mellin expansions
# ==========================================================================
@dataclass(frozen=True)
class PowerLawSum:
    r"""A power-law spectral sum at ``M = inf``.

    ``kind="resolvent"``: ``S(kappa) = sum_{k>=1} k^-b (k^-a + kappa/scale)^-q``
    (expanded for ``kappa -> 0``).  ``kind="laplace"``:
    ``S(t) = sum_{k>=1} k^-b exp(-rate t k^-a)`` (expanded for ``t -> inf``).

    ``symbol`` is the sympy symbol that stands for the sum in the model's
    equations; ``argument`` the symbol it is a function of (``kappa`` or
    ``t``); ``meaning`` a short LaTeX description for documents.
    """

    symbol: sp.Symbol
    kind: str
    b: object
    a: object
    argument: sp.Symbol
    q: int = 1
    rate: object = 1
    scale: object = 1
    meaning: str = ""

    def __post_init__(self):
        if self.kind not in ("resolvent", "laplace"):
            raise ValueError(f"kind must be 'resolvent' or 'laplace', got {self.kind!r}")
        for name in ("b", "a", "rate", "scale"):
            object.__setattr__(self, name, sp.sympify(getattr(self, name)))

    def mellin(self):
        """``(H, c, e)``: the Mellin transform of ``S`` in its argument is
        ``H(z) zeta(c + e z)`` (``H`` includes the scale or rate factor)."""
        if self.kind == "resolvent":
            q = sp.Integer(self.q)
            H = self.scale ** z * sp.gamma(z) * sp.gamma(q - z) / sp.gamma(q)
            return H, self.b - self.a * q, self.a
        return self.rate ** (-z) * sp.gamma(z), self.b, -self.a

    def term(self, k):
        """The summand at index ``k`` (a sympy expression)."""
        if self.kind == "resolvent":
            return k ** (-self.b) * (k ** (-self.a) + self.argument / self.scale) ** (-self.q)
        return k ** (-self.b) * sp.exp(-self.rate * self.argument * k ** (-self.a))

    def latex(self) -> str:
        k = sp.Symbol("k", positive=True)
        return r"\sum_{k\ge1}" + latex(self.term(k))


@dataclass(frozen=True)
class MellinTerm:
    """One term ``coefficient * x^power`` of a Mellin expansion, with its origin."""

    coefficient: object
    power: object
    origin: str


def _gamma_poles(H, side, count):
    """Poles of the Gamma factors of ``H`` on one side: ``[(z_m, residue of H), ...]``.

    ``side="left"`` (expansion at small argument) or ``"right"`` (large argument).
    Only simple poles of ``Gamma(u z + v)`` in the numerator are supported.
    """
    out = []
    for f in sp.Mul.make_args(H):
        base, expo = f.as_base_exp()
        if not isinstance(base, sp.gamma) or not base.args[0].has(z):
            continue
        if expo != 1:
            raise ValueError(f"only simple Gamma factors are supported in H, got {f}")
        arg = sp.expand(base.args[0])
        u = arg.coeff(z)
        v = sp.simplify(arg - u * z)
        if u.has(z) or not u.is_number:
            raise ValueError(f"Gamma argument must be linear in z with a numeric slope, got {arg}")
        if (u > 0) != (side == "left"):
            continue
        rest = sp.simplify(H / f)
        for m in range(count):
            zm = (-m - v) / u
            res = (-1) ** m / (sp.factorial(m) * u) * rest.subs(z, zm)
            out.append((sp.simplify(zm), res, m))
    return out


def mellin_expansion(S: PowerLawSum, n_poles: int = _NPOLES):
    r"""Asymptotic expansion of a power-law sum from the poles of its Mellin transform.

    Returns ``(terms, error_power)``: ``S(x) ~ sum_terms coefficient x^power``
    (``x = kappa -> 0`` for a resolvent sum, ``x = t -> inf`` for a Laplace
    sum), with the remainder ``O(x^error_power)``; ``error_power`` is ``None``
    when no further pole exists (the remainder is smaller than any power).

    The zeta pole at ``c + e z* = 1`` gives ``H(z*) x^-z* / |e|``; each pole
    ``z_m`` of a Gamma factor of ``H`` on the expansion side gives
    ``+- Res H(z_m) zeta(c + e z_m) x^-z_m``.  Coincident poles (logarithms)
    are excluded by the regimes' conditions.

    Examples
    --------
    Model B's ``g_1 = sum_k k^-(alpha beta + 1)/(k^-alpha + kappa)``:

    >>> a, b, kap = sp.symbols("alpha beta kappa", positive=True)
    >>> S = PowerLawSum(sp.Symbol("g_1"), "resolvent", a * b + 1, a, kap)
    >>> terms, err = mellin_expansion(S, n_poles=2)
    >>> [sp.simplify(t.power) for t in terms], err
    ([beta - 1, 0, 1], 2)
    >>> sp.simplify(terms[0].coefficient - sp.pi / (a * sp.sin(sp.pi * b)))
    0
    """
    return _mellin_expansion_cached(S, n_poles)


@lru_cache(maxsize=None)
def _mellin_expansion_cached(S, n_poles):
    H, c, e = S.mellin()
    side = "left" if S.kind == "resolvent" else "right"
    zstar = sp.simplify((1 - c) / e)
    Hstar = H.subs(z, zstar)
    if S.kind == "resolvent":
        # Gamma(z*) Gamma(q - z*) = pi / sin(pi z*) * prod_{j<q} (j - z*)   (reflection formula)
        q = int(S.q)
        Hstar = (S.scale ** zstar * sp.pi / sp.sin(sp.pi * sp.expand(zstar))
                 * sp.Mul(*[(j - zstar) for j in range(1, q)]) / sp.factorial(q - 1))
    terms = [MellinTerm(sp.simplify(Hstar / sp.Abs(e)), -zstar, "zeta pole")]
    poles = _gamma_poles(H, side, n_poles + 1)
    sign = 1 if side == "left" else -1
    err = None
    for zm, res, m in poles:
        if m == n_poles:
            err = -zm if err is None else err
            continue
        coef = sign * res * sp.zeta(c + e * zm)
        terms.append(MellinTerm(sp.simplify(coef), -zm, f"Gamma pole z = {zm}"))
    return terms, err


# ==========================================================================
# generalised power series in a large variable X
# ==========================================================================
_CANCEL: dict = {}


def _cancel(p):
    """``sympy.cancel`` with a memo (exponents are rational functions of the parameters)."""
    p = sp.sympify(p)
    out = _CANCEL.get(p)
    if out is None:
        out = _CANCEL[p] = sp.cancel(p)
    return out


class _Ordering:
    """Orders exponents at a representative parameter point and records the
    inequalities (``expr > 0``) that the ordering assumed."""

    def __init__(self, point, extra=None):
        self.point = {k: sp.nsimplify(v) for k, v in point.items()}
        self.extra = dict(extra or {})
        self.conditions = []
        self._values = {}
        self._zeros = {}
        self._vecs = {}
        self._fpoint = {k: sp.Float(v, 40) for k, v in self.point.items()}
        items = sorted(self.point.items(), key=lambda kv: str(kv[0]))
        self._fperturbed = [{k: sp.Float(v * (1 + sp.Rational((-1) ** (i + j) * (3 + 2 * i + 5 * j), 191)), 40)
                             for i, (k, v) in enumerate(items)} for j in range(3)]
        self._canon = {}
        self._cond_keys = set()

    def _eval(self, p, subs):
        v = p.xreplace(subs)
        if not v.is_number:
            v = v.subs(self.extra)
        v = sp.N(v, 30) if not isinstance(v, (sp.Float, sp.Integer, sp.Rational)) else v
        if not v.is_number or not v.is_real:
            raise ValueError(f"exponent {p} is not a real number at {self.point}")
        return float(v)

    def value(self, p):
        p = sp.sympify(p)
        v = self._values.get(p)
        if v is None:
            v = self._values[p] = self._eval(p, self._fpoint)
        return v

    def vec(self, p):
        """Values at the point and at three generic perturbations of it (each
        parameter perturbed independently): exponents are rational functions
        of the parameters, so two that differ by a constant have equal shapes
        ``vec - vec[0]``."""
        p = sp.sympify(p)
        v = self._vecs.get(p)
        if v is None:
            v = self._vecs[p] = (self.value(p),) + tuple(self._eval(p, q) for q in self._fperturbed)
        return v

    def shape(self, p):
        v = self.vec(p)
        return tuple(round(x - v[0], 9) for x in v[1:])

    def same(self, p1, p2):
        if abs(self.value(p1) - self.value(p2)) > 1e-12:
            return False
        if self.canon(p1) == self.canon(p2) or _cancel(p1 - p2) == 0:
            return True
        raise ValueError(f"the representative point {self.point} lies on a boundary: {p1} = {p2} there "
                         "but not identically (logarithmic case); choose a point inside the regime")

    def canon(self, p):
        """One canonical (cancelled) expression per distinct function of the
        parameters (identified by its values at four generic points)."""
        p = sp.sympify(p)
        if not p.free_symbols:
            return p
        key = tuple(round(x, 10) for x in self.vec(p))
        out = self._canon.get(key)
        if out is None:
            out = self._canon[key] = p
        return out

    def record(self, d):
        d = sp.sympify(d)
        if not d.free_symbols:
            return
        key = tuple(round(x, 10) for x in self.vec(d))
        if key not in self._cond_keys:
            self._cond_keys.add(key)
            self.conditions.append(d)

    def greater(self, p1, p2, record=True):
        """``p1 > p2`` at the point (recorded as a condition); equal powers raise."""
        if self.same(p1, p2):
            raise ValueError(f"equal powers {p1}, {p2} cannot be ordered")
        gt = self.value(p1) > self.value(p2)
        if record:
            self.record(p1 - p2 if gt else p2 - p1)
        return gt

    def is_zero(self, c):
        """Numerically zero at the point and two perturbations of it (other
        symbols at fixed generic values), or symbolically zero."""
        c = sp.sympify(c)
        if c == 0:
            return True
        hit = self._zeros.get(c)
        if hit is not None:
            return hit
        others = {s: sp.Rational(7, 5) + sp.Rational(i, 7) for i, s in
                  enumerate(sorted(c.free_symbols - set(self.point) - set(self.extra), key=str))}
        out = True
        for pert in (None, sp.Rational(1, 97), sp.Rational(-1, 61)):
            subs = dict(self.point)
            if pert is not None:
                subs = {k: v * (1 + pert) for k, v in subs.items()}
            v = sp.N(c.subs(subs).subs(self.extra).subs(others), 50)
            if not v.is_number or abs(complex(v)) > 1e-35:
                out = False
                break
        self._zeros[c] = out
        return out


def _ratio_residual(x, y):
    """``x/y - 1`` simplified, with power identities valid for the positive
    bases that occur here (``sin(pi/a) > 0``, ``alpha > 0``)."""
    return sp.simplify(_clean(sp.simplify(_clean(x / y))) - 1)


def _clean(c):
    c = sp.sympify(c)
    try:
        return sp.powsimp(sp.powdenest(sp.expand_power_base(c, force=True), force=True), force=True)
    except Exception:  # noqa: BLE001 - simplification is cosmetic
        return c


class _Series:
    """``sum_i c_i X^{p_i} + O(X^e1, X^e2, ...)`` for ``X -> inf``: terms in
    decreasing order at the representative point and a set of candidate
    error orders (empty: exact, or a remainder beyond all orders).

    Every kept term is exact.  The constructor records, as conditions, that
    the kept terms are ordered and that the last kept term dominates every
    error candidate and every dropped term."""

    def __init__(self, terms, err, order: _Ordering, nkeep=_NKEEP):
        self.order = order
        self.nkeep = nkeep
        err = self._prune(list(err))
        groups = []
        for c, p in terms:
            p = order.canon(p)
            for g in groups:
                if order.same(g[1], p):
                    g[0] = g[0] + c
                    break
            else:
                groups.append([c, p])
        self.cancelled = tuple(c for c, p in groups if order.is_zero(c) and c != 0)
        groups = [(c, p) for c, p in groups if not order.is_zero(c)]
        groups.sort(key=lambda cp: -order.value(cp[1]))
        emax = max((order.value(e) for e in err), default=None)
        kept, dropped = [], []
        for c, p in groups:
            if emax is not None and order.value(p) <= emax + 1e-12:
                dropped.append(p)         # at or below the error order
            else:
                kept.append((c, p))
        if len(kept) > nkeep:
            dropped = [p for _, p in kept[nkeep:]] + dropped
            err = self._prune(err + [kept[nkeep][1]])
            kept = kept[:nkeep]
        for (_, p1), (_, p2) in zip(kept, kept[1:]):
            order.greater(p1, p2)
        if kept:
            last = kept[-1][1]
            for p in list(err) + dropped:
                if not order.same(last, p):
                    order.greater(last, p)
        self.terms = kept
        self.err = tuple(err)

    def _prune(self, err):
        """Drop duplicate error candidates and those identically below another."""
        best = {}
        for e in err:
            e = self.order.canon(e)
            key = self.order.shape(e)      # candidates differing by constants share a shape
            old = best.get(key)
            if old is None or self.order.value(e) > self.order.value(old):
                best[key] = e
        return sorted(best.values(), key=lambda e: -self.order.value(e))

    # -- helpers ---------------------------------------------------------------
    @property
    def leads(self):
        """Powers bounding the series: the leading power, or the error candidates."""
        if self.terms:
            return (self.terms[0][1],)
        if not self.err:
            raise ValueError("the zero series has no leading power")
        return self.err

    def is_zero(self):
        return not self.terms and not self.err

    def new(self, terms, err):
        return _Series(terms, err, self.order, self.nkeep)

    def with_error(self, extra):
        return self.new(self.terms, list(self.err) + list(extra))

    @classmethod
    def constant(cls, c, order, nkeep=_NKEEP):
        return cls([(c, 0)], (), order, nkeep)

    # -- arithmetic --------------------------------------------------------------
    def __add__(self, other):
        other = self._coerce(other)
        return self.new(self.terms + other.terms, list(self.err) + list(other.err))

    __radd__ = __add__

    def __neg__(self):
        return self.new([(-c, p) for c, p in self.terms], self.err)

    def __sub__(self, other):
        return self + (-self._coerce(other))

    def __rsub__(self, other):
        return self._coerce(other) - self

    def __mul__(self, other):
        other = self._coerce(other)
        if self.is_zero() or other.is_zero():
            return self.new([], ())
        terms = [(c1 * c2, p1 + p2) for c1, p1 in self.terms for c2, p2 in other.terms]
        err = [e + l for e in self.err for l in other.leads]
        err += [e + l for e in other.err for l in self.leads]
        return self.new(terms, err)

    __rmul__ = __mul__

    def _coerce(self, other):
        if isinstance(other, _Series):
            return other
        return _Series.constant(sp.sympify(other), self.order, self.nkeep)

    def __pow__(self, r):
        r = sp.sympify(r)
        if not self.terms:
            raise ValueError("power of a series with no known leading term")
        c0, p0 = self.terms[0]
        u = self.new([(c / c0, p - p0) for c, p in self.terms[1:]], [e - p0 for e in self.err])
        one = _Series.constant(1, self.order, self.nkeep)
        result, upow = one, one
        if not u.is_zero():
            coef = sp.Integer(1)
            for n in range(1, self.nkeep + 1):
                coef = coef * (r - (n - 1)) / n
                upow = upow * u
                result = result + coef * upow
            if not (r.is_integer and r.is_nonnegative and int(r) <= self.nkeep):
                result = result.with_error([(self.nkeep + 1) * lp for lp in u.leads])
        scale = c0 ** r
        return self.new([(scale * c, p + p0 * r) for c, p in result.terms],
                        [e + p0 * r for e in result.err])

    def __truediv__(self, other):
        return self * self._coerce(other) ** -1

    def __rtruediv__(self, other):
        return self._coerce(other) * self ** -1


def _expand_expr(expr, env, order, nkeep):
    """Evaluate a sympy expression on generalised power series (``env`` maps
    symbols to series; every other symbol is a constant)."""
    expr = sp.sympify(expr)
    if expr in env:
        return env[expr]
    if not (expr.free_symbols & set(env)):
        return _Series.constant(expr, order, nkeep)
    if isinstance(expr, sp.Add):
        out = None
        for a in expr.args:
            s = _expand_expr(a, env, order, nkeep)
            out = s if out is None else out + s
        return out
    if isinstance(expr, sp.Mul):
        out = None
        for a in expr.args:
            s = _expand_expr(a, env, order, nkeep)
            out = s if out is None else out * s
        return out
    if isinstance(expr, sp.Pow):
        base, ex = expr.args
        if ex.free_symbols & set(env):
            raise ValueError(f"exponent depends on an expanded quantity: {expr}")
        return _expand_expr(base, env, order, nkeep) ** ex
    raise ValueError(f"cannot expand {expr} (only sums, products and powers are supported)")


# ==========================================================================
# regimes and the engine
# ==========================================================================
@dataclass(frozen=True, eq=False)
class Regime:
    """One asymptotic regime of a model (data for :func:`derive_regime`).

    Attributes
    ----------
    key : str
        The quantity (``"loss_vs_N"`` ...); several regimes (phases) may share it.
    phase : str
        Short name of the phase (``"beta < 1"``), ``""`` if there is one.
    variable : Symbol
        The large variable ``X``.
    loss : sympy expression
        The loss in terms of the sums' symbols, ``kappa`` and ``X`` (and constants).
    sums : tuple of PowerLawSum
    equation : Symbol or None
        The symbol of the sum ``S`` with ``S(kappa) = X``; ``None`` when the sums
        are functions of ``X`` itself (Laplace sums).
    kappa : Symbol or None
    point : dict
        A representative parameter point strictly inside the regime.
    limits : str
        The limits taken (prose).
    domain : tuple
        The model's parameters ``((Symbol, text, (lo, hi)), ...)``: ordering
        conditions that hold on the whole domain are not reported.
    """

    key: str
    phase: str
    variable: sp.Symbol
    loss: object
    sums: tuple
    equation: object
    kappa: object
    point: dict
    limits: str = ""
    domain: tuple = ()

    @property
    def name(self):
        return self.key + (f" ({self.phase})" if self.phase else "")


@dataclass(frozen=True)
class AsymptoticModel:
    """A model as the engine sees it: parameters, regimes and texts."""

    name: str
    title: str
    parameters: tuple          # ((Symbol, domain text, (lo, hi) numeric range), ...)
    regimes: tuple
    notes: tuple = ()


@dataclass(frozen=True)
class RegimeAsymptotics:
    """The engine's result for one regime.

    ``loss ~ prefactor * X^exponent * (1 + sum_i c_i X^-w_i + O(X^-w_err))``
    with ``corrections = ((c_1, w_1), ...)`` (``w`` positive, in the order of
    the representative point) and ``error = w_err`` (``None``: the remainder
    is smaller than any power of ``X``).
    """

    regime: Regime
    prefactor: object
    exponent: object
    corrections: tuple
    error: object
    conditions: tuple             # leading order: each expr > 0
    correction_conditions: tuple  # ordering of the corrections: each expr > 0
    kappa_leading: tuple          # (coefficient, power of X) of kappa, or ()
    inversion_residual: tuple     # coefficients of S(kappa(X)) - X (all zero)

    def leading(self):
        return self.prefactor * self.regime.variable ** self.exponent

    def condition_text(self, which="leading") -> str:
        conds = self.conditions if which == "leading" else self.correction_conditions
        return ", ".join(latex(c > 0) for c in conds)


def _reduce_condition(d, domain):
    """Normalise ``d > 0``: drop positive factors (e.g. ``alpha``), make the
    leading coefficient simple; ``None`` when implied by the parameter domain."""
    d = sp.factor(sp.simplify(d))
    sign = 1
    keep = []
    for f in sp.Mul.make_args(d):
        if f.is_positive:
            continue
        if f.is_negative:
            sign = -sign
            continue
        keep.append(f)
    d = sp.simplify(sign * sp.Mul(*keep)) if keep else sp.Integer(sign)
    if d.is_number:
        if d > 0:
            return None
        raise ValueError("an ordering condition is never satisfied")
    # implied by the domain? test on a grid of the parameters' ranges
    syms = sorted(d.free_symbols, key=str)
    ranges = {s: r for s, _, r in domain}
    if all(s in ranges for s in syms):
        import itertools

        grids = []
        for s in syms:
            lo, hi = ranges[s]
            grids.append([lo + (hi - lo) * (i + 0.5) / 24 for i in range(24)])
        f = sp.lambdify(syms, d, "mpmath")
        if all(f(*pt) > 0 for pt in itertools.product(*grids)):
            return None
    return d


def _sum_series(S, kappa_series, order, nkeep, n_poles=_NPOLES):
    """The series of ``S`` in ``X``: through ``kappa(X)`` for a resolvent sum,
    directly for a Laplace sum (whose argument is ``X``)."""
    terms, err = mellin_expansion(S, n_poles)
    if S.kind == "laplace":
        return _Series([(t.coefficient, t.power) for t in terms], [] if err is None else [err], order, nkeep)
    out = None
    for t in terms:
        s = t.coefficient * kappa_series ** t.power
        out = s if out is None else out + s
    if err is not None:
        out = out.with_error((kappa_series ** err).leads)
    return out


def _invert(S, X, order, nkeep, n_poles=_NPOLES):
    """``kappa(X)`` with ``S(kappa) = X``, ``kappa -> 0``: a series in ``X``."""
    terms, err = mellin_expansion(S, n_poles)
    # as a series in Y = 1/kappa: powers -e
    Yser = _Series([(t.coefficient, -t.power) for t in terms], [] if err is None else [-err], order,
                   max(nkeep, len(terms)))
    (A, p0), rest = Yser.terms[0], Yser.terms[1:]
    order.record(p0)                                   # S diverges as kappa -> 0
    Xs = _Series([(1, 1)], (), order, nkeep)
    base = (Xs * (1 / A)) ** (-1 / p0)                  # kappa_0 = (X/A)^(-1/p0)
    u_terms = [(c / A, p0 - p) for c, p in rest]        # u = sum (c/A) kappa^(p0 - p)
    u_errs = [p0 - e for e in Yser.err]
    ds = [d for _, d in u_terms] + u_errs
    if not ds:
        return base
    # first relative correction of kappa, in powers of X: kappa^d ~ X^(-d/p0)
    kap = base.with_error([base.leads[0] - d / p0 for d in ds])
    for _ in range(nkeep + 1):
        u = _Series([], (), order, nkeep)
        for c, d in u_terms:
            u = u + c * kap ** d
        for e in u_errs:
            u = u.with_error((kap ** e).leads)
        kap = base * (1 + u) ** (1 / p0)
    return kap


def _minimal(conds, domain, given=()):
    """Reduce conditions (``expr > 0``): drop those implied by the parameter
    domain, merge equivalent ones and drop those implied by the others
    together with ``given`` -- decided on a grid of the domain -- then strip
    positive factors (``alpha (1 - beta) > 0`` becomes ``1 - beta > 0``)."""
    import itertools

    syms = [s_ for s_, _, _ in domain]
    ranges = [r for _, _, r in domain]
    grids = [[lo + (hi - lo) * (i + 0.5) / 40 for i in range(40)] for lo, hi in ranges]
    pts = list(itertools.product(*grids))

    def pattern(c):
        if not c.free_symbols <= set(syms):
            return None
        f = sp.lambdify(syms, c, "math")
        out = []
        for pt in pts:
            try:
                out.append(f(*pt) > 0)
            except (ValueError, ZeroDivisionError, OverflowError):
                out.append(False)
        return tuple(out)

    given = [sp.sympify(g) for g in given]
    gpat = [pattern(g) for g in given]
    cand = {}
    for d in conds:
        d = _cancel(d)
        if not d.free_symbols:
            continue
        pat = pattern(d)
        if pat is None:
            cand.setdefault(("sym", d), d)
            continue
        if all(pat):
            continue                      # holds on the whole domain
        if any(gp == pat for gp in gpat if gp is not None):
            continue                      # equivalent to a given condition
        old = cand.get(pat)
        if old is None or sp.count_ops(d) < sp.count_ops(old):
            cand[pat] = d
    pats = {k: k for k in cand if k[0] != "sym"}
    out = list(cand.items())
    for key, c in sorted(cand.items(), key=lambda kv: -sp.count_ops(kv[1])):
        if key not in pats:
            continue
        others = [k for k, _ in out if k is not key and k in pats] + [g for g in gpat if g is not None]
        if all(key[i] or not all(o[i] for o in others) for i in range(len(pts))):
            out = [(k, v) for k, v in out if k is not key]
    red = []
    for _, c in out:
        r = _reduce_condition(c, ())
        if r is not None and r not in red:
            red.append(r)
    return red


def derive_regime(regime: Regime, nkeep: int = _NKEEP) -> RegimeAsymptotics:
    """Run the engine on one regime (see the module docstring)."""
    return _derive_regime_cached(regime, nkeep)


@lru_cache(maxsize=None)
def _derive_regime_cached(regime, nkeep):
    domain = regime.domain
    results = {}
    for n in (1, nkeep):
        order = _Ordering(regime.point)
        X = regime.variable
        env = {X: _Series([(1, 1)], (), order, n)}
        kap = None
        resid = ()
        sums = {S.symbol: S for S in regime.sums}
        if regime.equation is not None:
            kap = _invert(sums[regime.equation], X, order, n)
            env[regime.kappa] = kap
            check = _sum_series(sums[regime.equation], kap, order, n) - env[X]
            # (positive bases: power identities with force=True are valid here)
            resid = tuple(_clean(c) for c, _ in check.terms) + tuple(_clean(c) for c in check.cancelled)
        for sym, S in sums.items():
            if sym not in env:
                env[sym] = _sum_series(S, kap if S.kind == "resolvent" else None, order, n)
        L = _expand_expr(regime.loss, env, order, n)
        if not L.terms:
            raise ValueError(f"{regime.name}: the leading terms cancel; raise nkeep")
        results[n] = (L, kap, list(order.conditions), resid)
    L1, kap1, conds1, _ = results[1]
    L, kap, conds, resid = results[nkeep]
    c0, p0 = L.terms[0]
    c0_lead, p0_lead = L1.terms[0]
    if not (sp.simplify(p0 - p0_lead) == 0):
        raise AssertionError("leading power differs between the leading-only and the full run")
    corr = tuple((_nice(c / c0), sp.simplify(p0 - p)) for c, p in L.terms[1:])
    errs = [sp.simplify(p0 - e) for e in L.err]
    err = None if not errs else (errs[0] if len(errs) == 1 else sp.Min(*errs))
    lead_conds = _minimal(conds1, domain)
    corr_conds = _minimal(conds, domain, given=tuple(lead_conds))
    kl = ()
    if kap1 is not None:
        kl = (_nice(kap1.terms[0][0]), sp.simplify(kap1.terms[0][1]))
    return RegimeAsymptotics(regime=regime, prefactor=_nice(c0_lead), exponent=sp.simplify(p0_lead),
                             corrections=corr, error=err, conditions=tuple(lead_conds),
                             correction_conditions=tuple(corr_conds), kappa_leading=kl,
                             inversion_residual=tuple(resid))


def _nice(c):
    c = _clean(sp.sympify(c))
    try:
        d = sp.simplify(c)
        return d if sp.count_ops(d) <= sp.count_ops(c) else c
    except Exception:  # noqa: BLE001 - cosmetic
        return c


# ==========================================================================
# the two models, as data
# ==========================================================================
@lru_cache(maxsize=None)
def mrs_asymptotic_model() -> AsymptoticModel:
    """Model A (Maloney, Roberts & Sully) as data for the engine.

    Sums ``n_1, n_2`` of ``lambda_I = lambda_+ I^-(1+alpha)``; flat teacher
    ``omega = sigma_w^2/M`` (``c_1 = omega n_1``, ``c_2 = omega n_2``); the loss
    is ``derive_mrs()``'s test loss without label noise; ridgeless, so the
    self-consistent equation is ``n_1(kappa) = min(N, T)``.
    """
    from ._ridge import MRS_SYMBOLS as S
    from ._ridge import derive_mrs

    d = derive_mrs()
    al, lp, kap = S["alpha"], S["lambda_plus"], S["kappa"]
    N, T, M = S["N"], S["T"], S["M"]
    n1, n2, c1, c2, om = S["n1"], S["n2"], S["c1"], S["c2"], S["omega"]
    a = 1 + al
    sums = (
        PowerLawSum(n1, "resolvent", a, a, kap, q=1, scale=lp,
                    meaning=r"n_1=\sum_I\lambda_I/(\lambda_I+\kappa)"),
        PowerLawSum(n2, "resolvent", 2 * a, a, kap, q=2, scale=lp,
                    meaning=r"n_2=\sum_I\lambda_I^2/(\lambda_I+\kappa)^2"),
    )
    test = d["test_loss"].rhs.subs(S["noise_var"], 0).subs({c1: om * n1, c2: om * n2})
    test = test.subs(om, S["sigma_w2"] / M)
    loss_N = sp.simplify(sp.limit(test, T, sp.oo).subs(n1, N))
    loss_T = sp.simplify(sp.limit(test, N, sp.oo).subs(n1, T))
    point = {al: sp.Rational(1, 2)}
    params = ((al, r"$\alpha>0$ (model A: $\lambda_I=\lambda_+I^{-(1+\alpha)}$)", (0.05, 4.0)),)
    regimes = (
        Regime("loss_vs_N", "", N, loss_N, sums, n1, kap, point,
               limits=r"ridgeless, $N\ll T\ll M$: $T\to\infty$, $M=\infty$, $n_1(\kappa)=N$", domain=params),
        Regime("loss_vs_T", "", T, loss_T, sums, n1, kap, point,
               limits=r"ridgeless, $T\ll N\ll M$: $N\to\infty$, $M=\infty$, $n_1(\kappa)=T$", domain=params),
    )
    return AsymptoticModel("mrs", "Model A (Maloney, Roberts & Sully)", params, regimes)


@lru_cache(maxsize=None)
def bap_asymptotic_model() -> AsymptoticModel:
    """Model B (Bordelon, Atanasov & Pehlevan) as data for the engine.

    Sums of ``lambda_k = k^-alpha``, ``lambda_k w_k^2 = k^-(alpha beta + 1)``
    at ``M = inf`` (so ``alpha > 1``); losses from ``derive_bap()``: the
    ``N = P = inf`` curve, the ``t = inf`` loss ``kappa g_1`` at ``P = inf``
    (``n_1(kappa) = N``) and the ``t = inf`` pole of the test kernel at
    ``N = inf`` (``n_1(kappa) = P``).
    """
    from ._flow import BAP_SYMBOLS as S
    from ._flow import derive_bap

    d = derive_bap()
    al, be, kap, t = S["alpha"], S["beta"], S["kappa"], S["t"]
    N, P = S["N"], S["P"]
    n1, n2, g1 = S["n1"], S["n2"], S["g1"]
    g2 = sp.Symbol("g_2")
    Lt = sp.Symbol(r"L_{\infty}(t)")
    s_n1 = PowerLawSum(n1, "resolvent", al, al, kap, q=1, meaning=r"n_1=\sum_k\lambda_k/(\lambda_k+\kappa)")
    s_n2 = PowerLawSum(n2, "resolvent", 2 * al, al, kap, q=2,
                       meaning=r"n_2=\sum_k\lambda_k^2/(\lambda_k+\kappa)^2")
    s_g1 = PowerLawSum(g1, "resolvent", al * be + 1, al, kap, q=1,
                       meaning=r"g_1=\sum_k\lambda_kw_k^{*2}/(\lambda_k+\kappa)")
    s_g2 = PowerLawSum(g2, "resolvent", al * be + 1, al, kap, q=2,
                       meaning=r"g_2=\sum_k\lambda_kw_k^{*2}/(\lambda_k+\kappa)^2")
    s_Lt = PowerLawSum(Lt, "laplace", al * be + 1, al, t, rate=2,
                       meaning=r"L(t)=\sum_k\lambda_kw_k^{*2}e^{-2\lambda_kt}")
    loss_N = d["final_loss_P_inf"].rhs
    # the t = inf pole of the test kernel at N = inf, equal arguments, no noise
    G = d["test_kernel"]
    byname = {str(x): x for x in G.free_symbols}
    G = sp.limit(G.subs(byname[r"sigma_epsilon^2"], 0), N, sp.oo)
    G = G.subs({byname["kappa'"]: kap, byname["n_1'"]: n1, byname["S_u"]: g2,
                byname["S_0"]: (byname["M"] - 2 * n1 + n2) / kap ** 2})
    loss_P = sp.simplify(G)
    R = sp.Rational
    params = ((al, r"$\alpha>1$ (model B: $\lambda_k=k^{-\alpha}$; $M=\infty$)", (1.0, 4.0)),
              (be, r"$\beta>0$", (0.0, 4.0)))
    regimes = (
        Regime("loss_vs_t", "", t, Lt, (s_Lt,), None, None, {al: R(3, 2), be: R(1, 2)},
               limits=r"$N=P=\infty$, $M=\infty$", domain=params),
        Regime("loss_vs_N", "beta < 1", N, loss_N, (s_n1, s_g1), n1, kap, {al: R(3, 2), be: R(1, 2)},
               limits=r"$P=\infty$, $t=\infty$, $M=\infty$: $n_1(\kappa)=N$", domain=params),
        Regime("loss_vs_N", "beta > 1", N, loss_N, (s_n1, s_g1), n1, kap, {al: R(3, 2), be: R(3, 2)},
               limits=r"$P=\infty$, $t=\infty$, $M=\infty$: $n_1(\kappa)=N$", domain=params),
        Regime("loss_vs_P", "beta < 2", P, loss_P, (s_n1, s_n2, s_g2), n1, kap, {al: R(3, 2), be: R(1, 2)},
               limits=r"$N=\infty$, $t=\infty$, $M=\infty$: $n_1(\kappa)=P$", domain=params),
        Regime("loss_vs_P", "beta > 2", P, loss_P, (s_n1, s_n2, s_g2), n1, kap, {al: R(3, 2), be: R(5, 2)},
               limits=r"$N=\infty$, $t=\infty$, $M=\infty$: $n_1(\kappa)=P$", domain=params),
    )
    return AsymptoticModel("bap", "Model B (Bordelon, Atanasov & Pehlevan)", params, regimes)


def _check_model(name):
    if name not in ("mrs", "bap"):
        raise ValueError(f"model must be 'mrs' or 'bap', got {name!r}")


def _model(name):
    if name == "mrs":
        return mrs_asymptotic_model()
    if name == "bap":
        return bap_asymptotic_model()
    raise ValueError(f"model must be 'mrs' or 'bap', got {name!r}")


def regime_results(model: str) -> tuple:
    """The engine's :class:`RegimeAsymptotics` for every regime of ``model``."""
    return tuple(derive_regime(r) for r in _model(model).regimes)


# ==========================================================================
# exponents across phases, compute-optimal, phase diagrams
# ==========================================================================
def _combine_exponents(results):
    """The exponent across the phases of one quantity.  Phases arise from
    competing additive terms, so the slowest decay wins: ``Max`` of the
    phases' exponents, written as ``-g Min(...)`` when they share a factor."""
    exps = []
    for r in results:
        if not any(sp.simplify(r.exponent - e) == 0 for e in exps):
            exps.append(r.exponent)
    if len(exps) == 1:
        return exps[0]
    g = exps[0]
    for e in exps[1:]:
        g = sp.gcd(g, e)
    g = sp.Abs(g) if g.is_number else g
    if g != 1 and g.is_positive:
        return -g * sp.Min(*[sp.simplify(-e / g) for e in exps])
    return sp.Max(*exps)


def _compute_optimal_generic():
    """Optimise ``L = a t^-beta + b N^-c`` at fixed ``C = N t``: the optimum,
    its exponents and prefactors (symbols ``a, b, c, beta, C``)."""
    a, b, c, C, Nv = sp.symbols("a b c C N", positive=True)
    from ._flow import BAP_SYMBOLS

    be = BAP_SYMBOLS["beta"]
    L = a * (C / Nv) ** (-be) + b * Nv ** (-c)
    roots = sp.solve(sp.diff(L, Nv), Nv)
    if len(roots) != 1:
        raise ValueError(f"compute-optimal stationarity: expected one root, got {roots}")
    Nstar = sp.powsimp(sp.powdenest(roots[0], force=True), force=True)
    tstar = sp.powsimp(C / Nstar, force=True)
    Lstar = sp.simplify(L.subs(Nv, Nstar))

    def elasticity(f):
        return sp.simplify(sp.expand_log(C * sp.diff(sp.log(f), C), force=True))

    exps = {"N": elasticity(Nstar), "t": elasticity(tstar), "loss": elasticity(Lstar)}
    pref = {k: sp.simplify(v / C ** exps[k]) for k, v in (("N", Nstar), ("t", tstar), ("loss", Lstar))}
    return {"symbols": (a, b, c, C, Nv), "L": L, "N*": Nstar, "t*": tstar, "L*": Lstar,
            "exponents": exps, "prefactors": pref,
            "stationarity": sp.simplify(sp.diff(L, Nv).subs(Nv, Nstar))}


def compute_optimal_with_width_term():
    r"""Compute-optimal exponents of model B at ``C = N t`` with the first-order finite-width term.

    The additive form ``a t^-beta + b N^-c`` (:func:`_compute_optimal_generic`, ``c = alpha
    min(beta, 1)``) leaves out the transient of order ``1/N``: while ``t^(1/alpha) << N`` the
    finite-width correction is ``d t^(1/alpha - min(beta, 1)) / N`` (the ``t^(1/alpha)`` learned
    modes over the width, times the loss rate ``t^-min(beta,1)``; measured on the full theory:
    ``tests/numerics/test_compute_optimal.py``).  At fixed ``C`` the loss is
    ``a (C/N)^-beta + b N^-c + d (C/N)^(1/alpha - min(beta,1)) / N``; each pair of terms
    balanced at its stationary point gives exponents of ``C``, and the optimum follows the pair
    whose loss decays slowest (the other term is then of higher order).  Returns ``{"N", "t",
    "loss"}`` as ``Piecewise`` expressions in ``alpha``, ``beta`` (the ``1/N`` pair binds iff its
    loss exponent is the larger: for ``beta > 1``; at ``beta <= 1`` both pairs give the same
    exponents), and the two pairwise results under ``"pairs"``.

    >>> from scaling_theory.theory._flow import BAP_SYMBOLS as S
    >>> e = compute_optimal_with_width_term()
    >>> [e[k].subs({S["alpha"]: sp.Rational(3, 2), S["beta"]: sp.Rational(17, 10)}) for k in ("N", "t", "loss")]
    [41/71, 30/71, -51/71]
    >>> [e[k].subs({S["alpha"]: 2, S["beta"]: sp.Rational(1, 2)}) for k in ("N", "t", "loss")]
    [1/3, 2/3, -1/3]
    """
    out = _compute_optimal_with_width_term()
    return {**out, "pairs": {k: dict(v) for k, v in out["pairs"].items()}}


@lru_cache(maxsize=1)
def _compute_optimal_with_width_term():
    """The derivation of :func:`compute_optimal_with_width_term`, once per process."""
    from ._flow import BAP_SYMBOLS

    al, be = BAP_SYMBOLS["alpha"], BAP_SYMBOLS["beta"]
    a, b, d, C, Nv = sp.symbols("a b d C N", positive=True)
    m = sp.Min(be, 1)
    t = C / Nv

    def optimum(L):
        # stationarity in N of two power laws: solved in log variables (exponents symbolic)
        x = sp.Symbol("x", real=True)                  # N = C^x at the optimum
        terms = sp.Add.make_args(sp.expand(L))
        exps = [sp.simplify(sp.expand_log(sp.log(sp.powsimp(tt / tt.subs(Nv, 1), force=True)), force=True)
                            / sp.log(Nv)) for tt in terms]                # exponent of N in each term
        cexp = [sp.simplify(sp.expand_log(sp.log(sp.powsimp(tt.subs(Nv, 1) / tt.subs({Nv: 1, C: 1}), force=True)),
                                          force=True) / sp.log(C)) for tt in terms]   # exponent of C
        # both terms scale alike at the optimum: cexp_1 + x e_1 = cexp_2 + x e_2
        xs = sp.solve(sp.Eq(cexp[0] + x * exps[0], cexp[1] + x * exps[1]), x)
        if len(xs) != 1:
            raise ValueError(f"compute-optimal balance: expected one root, got {xs}")
        xN = sp.simplify(xs[0])
        return {"N": xN, "t": sp.simplify(1 - xN), "loss": sp.simplify(cexp[0] + xN * exps[0])}

    c_ = al * m
    two = optimum(a * t ** (-be) + b * Nv ** (-c_))
    width = optimum(a * t ** (-be) + d * t ** (1 / al - m) / Nv)
    binds = sp.simplify(width["loss"] - two["loss"]) > 0
    out = {k: sp.Piecewise((width[k], binds), (two[k], True)) for k in ("N", "t", "loss")}
    out["pairs"] = {"time_and_width": two, "time_and_1/N": width}
    return out


@dataclass(frozen=True)
class RegimeRecord:
    """The engine's result for one regime as plain data (sympy expressions,
    no sums or loss): what the tabulated results store.  See
    :class:`RegimeAsymptotics` for the meaning of the fields."""

    model: str
    key: str
    phase: str
    variable: object
    exponent: object
    prefactor: object
    corrections: tuple
    error: object
    conditions: tuple
    correction_conditions: tuple
    kappa_leading: tuple
    limits: str = ""

    @property
    def name(self):
        return self.key + (f" ({self.phase})" if self.phase else "")

    def leading(self):
        return self.prefactor * self.variable ** self.exponent

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _record(model, r: RegimeAsymptotics) -> RegimeRecord:
    g = r.regime
    return RegimeRecord(model, g.key, g.phase, g.variable, r.exponent, r.prefactor, tuple(r.corrections),
                        r.error, tuple(r.conditions), tuple(r.correction_conditions), tuple(r.kappa_leading),
                        g.limits)


def _check_source(source):
    if source not in ("table", "engine"):
        raise ValueError(f"source must be 'table' or 'engine', got {source!r}")


def regime_records(model: str, source: str = "table") -> tuple:
    """The results of every regime of ``model`` as :class:`RegimeRecord`.

    ``source="table"`` reads the engine's output tabulated in
    ``theory/_generated_asymptotics.py`` (written by ``scaling-theory derive``,
    checked for staleness by the tests: instant); ``source="engine"`` runs the
    engine (:func:`regime_results`, ~10-30 s of sympy on first call).
    """
    _check_model(model)
    _check_source(source)
    if source == "engine":
        return tuple(_record(model, r) for r in regime_results(model))
    from ._generated_asymptotics import TABLE

    return tuple(RegimeRecord(model=model, **row) for row in TABLE[model]["regimes"])


def _by_key(model, source):
    out = {}
    for r in regime_records(model, source):
        out.setdefault(r.key, []).append(r)
    return out


def _phase_of(result, point):
    """Whether ``point`` (dict symbol -> number) satisfies a regime's leading conditions."""
    for d in result.conditions:
        v = d.subs(point)
        if not (v.is_number and float(v) > 0):
            return False
    return True


@lru_cache(maxsize=None)
def _engine_exponents(model):
    groups = _by_key(model, "engine")
    out = {k: _combine_exponents(groups[k]) for k in EXPONENT_KEYS[model] if k in groups}
    if model == "bap":
        co = _compute_optimal_generic()
        _, _, c, _, _ = co["symbols"]
        cval = -out["loss_vs_N"]
        out["compute_optimal"] = {k: sp.simplify(v.subs(c, cval)) for k, v in co["exponents"].items()}
    return out


def asymptotic_exponents(model: str, source: str = "table") -> dict:
    """Symbolic exponents with the keys of :data:`EXPONENT_KEYS`.

    ``mrs``: ``loss_vs_N``, ``loss_vs_T`` (model A's ``alpha``).  ``bap``:
    ``loss_vs_t``, ``loss_vs_N``, ``loss_vs_P`` and ``compute_optimal``
    (a dict with ``N``, ``t``, ``loss``: exponents of ``C = N t``).
    ``source``: as in :func:`regime_records`.

    >>> e = asymptotic_exponents("bap")
    >>> e["loss_vs_N"], e["loss_vs_P"]
    (-alpha*Min(1, beta), -alpha*Min(2, beta))
    >>> asymptotic_exponents("mrs")
    {'loss_vs_N': -alpha, 'loss_vs_T': -alpha}
    """
    _check_model(model)
    _check_source(source)
    if source == "engine":
        exps = _engine_exponents(model)
    else:
        from ._generated_asymptotics import TABLE

        exps = TABLE[model]["exponents"]
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in exps.items()}


def asymptotic_prefactors(model: str, source: str = "table") -> dict:
    """``{key: [(phase, prefactor, exponent, conditions), ...]}`` (sympy)."""
    out = {}
    for r in regime_records(model, source):
        out.setdefault(r.key, []).append((r.phase, r.prefactor, r.exponent, r.conditions))
    return out


def classify_phase(model: str, point: dict, source: str = "table") -> tuple:
    """For each quantity, the phase (regime) whose leading conditions hold at
    ``point`` (``None`` on a boundary)."""
    out = []
    for key, rs in _by_key(model, source).items():
        hits = [r.phase for r in rs if _phase_of(r, point)]
        out.append((key, hits[0] if len(hits) == 1 else None))
    return tuple(out)


def phase_diagram(model: str, source: str = "table") -> list:
    """Rows of the phase diagram: regions of parameter space (as conditions)
    with the exponent of every quantity there.

    Model B: regions of ``(alpha, beta)`` cut by the saturation lines
    ``beta = 1`` (width term) and ``beta = 2`` (data term), and by
    ``beta = alpha`` (for ``beta > 1``: whether ``t*`` or ``N*`` grows faster).
    Model A: one region (every ``alpha > 0``).
    """
    _check_model(model)
    _check_source(source)
    if source == "engine":
        return [dict(r) for r in _engine_phase_diagram(model)]
    from ._generated_asymptotics import TABLE

    return [dict(r) for r in TABLE[model]["phase_diagram"]]


@lru_cache(maxsize=None)
def _engine_phase_diagram(model):
    groups = _by_key(model, "engine")
    rows = []
    if model == "mrs":
        rows.append({"region": "alpha > 0", "conditions": (),
                     **{k: groups[k][0].exponent for k in EXPONENT_KEYS["mrs"]},
                     "dominant": "N < T: the N term, T < N: the T term (min(N, T) sets kappa)"})
        return tuple(rows)
    # model B: overlay the phases of all quantities on a grid, keep the distinct cells
    from ._flow import BAP_SYMBOLS

    al, be = BAP_SYMBOLS["alpha"], BAP_SYMBOLS["beta"]
    exps = _engine_exponents("bap")
    seen = {}
    for ia in range(1, 40):
        for ib in range(1, 80):
            pt = {al: 1 + sp.Rational(ia, 13), be: sp.Rational(ib, 19)}
            cls = classify_phase("bap", pt, "engine")
            if any(ph is None for _, ph in cls):
                continue
            co_faster = "t*" if float((exps["compute_optimal"]["t"] - exps["compute_optimal"]["N"])
                                      .subs(pt)) > 0 else "N*"
            key = (cls, co_faster)
            seen.setdefault(key, pt)
    for (cls, faster), pt in sorted(seen.items(), key=lambda kv: (float(kv[1][be]), float(kv[1][al]))):
        conds = []
        res = {}
        for key, phase in cls:
            r = next(x for x in groups[key] if x.phase == phase)
            res[key] = r.exponent
            for c in r.conditions:
                if c not in conds:
                    conds.append(c)
        co = {k: sp.simplify(v.subs(sp.Min(1, be), be if float(pt[be]) < 1 else 1))
              for k, v in exps["compute_optimal"].items()}
        if float(pt[be]) > 1:                # t* vs N*: c = alpha against beta
            conds.append(be - al if faster == "N*" else al - be)
        conds = _minimal(conds, bap_asymptotic_model().parameters)
        rows.append({"region": " and ".join(f"{sp.sstr(c)} > 0" for c in conds) or "all",
                     "conditions": tuple(conds), **res, "compute_optimal": co, "faster": faster,
                     "point": {str(k): v for k, v in pt.items()}})
    return tuple(rows)


def tabulated_source() -> str:
    """Source text of ``theory/_generated_asymptotics.py``: the engine's
    results for both models (regimes, exponents, phase diagrams) printed as
    sympy constructor calls (``srepr``), deterministic."""
    table = {m: {"regimes": tuple({k: v for k, v in r.as_dict().items() if k != "model"}
                                  for r in regime_records(m, "engine")),
                 "exponents": _engine_exponents(m),
                 "phase_diagram": _engine_phase_diagram(m)} for m in ("mrs", "bap")}
    def lit(x, indent):
        pad = " " * indent
        if isinstance(x, dict):
            if not x:
                return "{}"
            items = [f"{pad}    {k!r}: {lit(v, indent + 4)}," for k, v in x.items()]
            return "{\n" + "\n".join(items) + f"\n{pad}}}"
        if isinstance(x, (tuple, list)):
            if not x:
                return "()"
            items = [lit(v, indent + 4) for v in x]
            if all(isinstance(v, (str, int)) or not isinstance(v, (dict, tuple, list)) for v in x) \
                    and sum(len(i) for i in items) < 80:
                return "(" + ", ".join(items) + ",)"
            return "(\n" + "\n".join(f"{pad}    {i}," for i in items) + f"\n{pad})"
        if x is None or isinstance(x, (bool, str, int)):
            return repr(x)
        return sp.srepr(sp.sympify(x))

    body = lit(table, 0)
    import re as _re

    used = sorted({n for n in _re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\(", body) if hasattr(sp, n)}
                  | {n for n in ("pi", "oo", "E") if _re.search(rf"\b{n}\b", body)})
    head = [
        '"""Generated by `scaling-theory derive` from theory/_asymptotics.py (the engine); do not edit.',
        "",
        "The engine's results for both models (regimes: exponent, prefactor, corrections,",
        "conditions; the exponents across the phases; the phase diagrams), printed as sympy",
        "constructor calls so that `theory._asymptotics` answers without re-running the engine.",
        'A test regenerates this file and fails if it is stale."""',
        "from sympy import " + ", ".join(used),
        "",
        "TABLE = " + body,
    ]
    return "\n".join(head).rstrip() + "\n"


# ==========================================================================
# derivations
# ==========================================================================
@lru_cache(maxsize=None)
def derive_mellin() -> Derivation:
    """The engine's building blocks, checked: Mellin transforms of the
    kernels, of a power-law sum, and the residues that give the expansion."""
    y = sp.Symbol("y", positive=True)
    zp = sp.Symbol("z", positive=True)
    k, x, s_, a_ = sp.symbols("k x s a", positive=True)
    steps = []
    res = []
    eqs = []
    for q in (1, 2, 3):
        mt = sp.mellin_transform((1 + y) ** (-q), y, zp)[0]
        want = sp.gamma(zp) * sp.gamma(q - zp) / sp.gamma(q)
        res.append(sp.simplify(sp.gammasimp(mt - want)))
        eqs.append(sp.Eq(sp.Symbol(rf"\mathcal{{M}}[(1+y)^{{-{q}}}](z)"), want))
    mt = sp.mellin_transform(sp.exp(-y), y, zp)[0]
    res.append(sp.simplify(mt - sp.gamma(zp)))
    eqs.append(sp.Eq(sp.Symbol(r"\mathcal{M}[e^{-y}](z)"), sp.gamma(zp)))
    steps.append(Step(
        "Mellin transforms of the kernels",
        "$\\int_0^\\infty y^{z-1}(1+y)^{-q}dy=B(z,q-z)=\\Gamma(z)\\Gamma(q-z)/\\Gamma(q)$ on $0<\\Re z<q$ "
        "(resolvents) and $\\int_0^\\infty y^{z-1}e^{-y}dy=\\Gamma(z)$ on $\\Re z>0$ (gradient-flow "
        "decay); checked with sympy's `mellin_transform` for $q=1,2,3$.",
        tuple(eqs), tuple(res), kind="derived"))
    # Mellin transform of one term of a sum: x^(z-1) (1 + x k^a / s)^-q
    res2 = []
    for q in (1, 2):
        one = sp.integrate(x ** (zp - 1) * (1 + x * k ** a_ / s_) ** (-q), (x, 0, sp.oo), conds="none")
        want = (s_ * k ** (-a_)) ** zp * sp.gamma(zp) * sp.gamma(q - zp) / sp.gamma(q)
        res2.append(sp.simplify(sp.gammasimp(sp.expand_power_base(one / want, force=True)) - 1))
    one = sp.integrate(x ** (zp - 1) * sp.exp(-2 * x * k ** (-a_)), (x, 0, sp.oo), conds="none")
    res2.append(sp.simplify(one / ((2 * k ** (-a_)) ** (-zp) * sp.gamma(zp)) - 1))
    steps.append(Step(
        "Mellin transform of a power-law sum",
        "Term by term, $\\int_0^\\infty x^{z-1}(1+xk^{a}/s)^{-q}dx=(sk^{-a})^{z}B(z,q-z)$ and "
        "$\\int_0^\\infty x^{z-1}e^{-rxk^{-a}}dx=(rk^{-a})^{-z}\\Gamma(z)$, so "
        "$S(\\kappa)=\\sum_kk^{-b}(k^{-a}+\\kappa/s)^{-q}$ has the transform "
        "$s^zB(z,q-z)\\,\\zeta(b-aq+az)$ and $S(t)=\\sum_kk^{-b}e^{-rtk^{-a}}$ the transform "
        "$r^{-z}\\Gamma(z)\\,\\zeta(b-az)$: a kernel factor $H(z)$ times $\\zeta(c+ez)$.",
        (sp.Eq(sp.Symbol(r"\mathcal{M}[S](z)"), sp.Symbol("H(z)") * sp.zeta(sp.Symbol("c") + sp.Symbol("e") * z)),),
        tuple(res2)))
    # residues
    ss = sp.Symbol("s")
    eta_form = sp.zeta(ss).rewrite(sp.dirichlet_eta)
    zeta_res = sp.limit((ss - 1) * eta_form, ss, 1)
    g_res = [sp.residue(sp.gamma(z), z, -m) - sp.Integer(-1) ** m / sp.factorial(m) for m in range(3)]
    steps.append(Step(
        "Residues: the expansion",
        "Closing the inverse Mellin integral $S(x)=\\frac{1}{2\\pi i}\\int x^{-z}H(z)\\zeta(c+ez)dz$ on the "
        "side of the expansion ($\\kappa\\to0$: left; $t\\to\\infty$: right) collects the pole of $\\zeta$ at "
        "$z_*=(1-c)/e$ (residue $1/e$) and the poles of $H$. With $\\mathrm{Res}_{z=-m}\\Gamma(z)=(-1)^m/m!$: "
        "$$S(\\kappa)\\simeq\\frac{s^{z_*}}{a}B(z_*,q-z_*)\\kappa^{-z_*}"
        "+\\sum_{m\\ge0}\\frac{(-1)^m(q)_m}{m!}\\zeta(b-aq-am)\\Big(\\frac{\\kappa}{s}\\Big)^m,\\quad"
        " z_*=q-\\frac{b-1}{a},$$ "
        "whose $m=0$ term is $S(0)=\\zeta(b-aq)$, finite when $z_*<0$; for the decay "
        "$S(t)\\simeq\\Gamma(z_*)(rt)^{-z_*}/a$, $z_*=(b-1)/a$, with no further pole: the remainder "
        "is smaller than any power of $t$ (stretched exponential). Coincident poles "
        "($z_*=-m$) give logarithms and are the phase boundaries.",
        (sp.Eq(sp.Symbol(r"\mathrm{Res}_{s=1}\zeta(s)"), 1),),
        (zeta_res - 1, *g_res)))
    # the engine's own expansion (mellin_expansion) against these closed forms, symbolically
    bs, as_, ss_, rs_, kap_, t_ = sp.symbols("b a s r kappa t", positive=True)
    lead_res = []
    for q in (1, 2):
        zs = q - (bs - 1) / as_
        closed = ss_ ** zs * sp.gamma(zs) * sp.gamma(q - zs) / (sp.gamma(q) * as_)
        terms, _ = mellin_expansion(PowerLawSum(sp.Symbol(f"S_{q}"), "resolvent", bs, as_, kap_, q=q, scale=ss_))
        lead = next(tm for tm in terms if tm.origin == "zeta pole")
        lead_res.append(closed * kap_ ** (-zs))
        steps[-1] = Step(steps[-1].title, steps[-1].text, steps[-1].equations,
                         steps[-1].residuals + (sp.simplify(sp.gammasimp(lead.coefficient / closed) - 1),
                                                sp.simplify(lead.power + zs)))
    zl = (bs - 1) / as_
    closed_l = sp.gamma(zl) * rs_ ** (-zl) / as_
    terms, err = mellin_expansion(PowerLawSum(sp.Symbol("S_t"), "laplace", bs, as_, t_, rate=rs_))
    steps[-1] = Step(steps[-1].title, steps[-1].text, steps[-1].equations,
                     steps[-1].residuals + (sp.simplify(terms[0].coefficient / closed_l - 1),
                                            sp.simplify(terms[0].power + zl), sp.Integer(len(terms) - 1)))
    return Derivation(
        title="Asymptotics engine: Mellin expansions of power-law sums",
        summary=("Every spectral sum of both models is $\\sum_kk^{-b}K(x,k^{-a})$ with a resolvent or "
                 "exponential kernel; its Mellin transform factorises into a kernel factor and a zeta "
                 "function, and the poles give the asymptotic expansion with Gamma/Beta prefactors and "
                 "zeta-value corrections."),
        symbols=((z, "Mellin variable"),),
        assumptions=("$M=\\infty$ power laws; $b>1$ so that the sums converge.",),
        steps=tuple(steps),
        results={"leading_resolvent_q1": sp.Eq(sp.Symbol(r"S_1(\kappa)"), lead_res[0]),
                 "leading_resolvent_q2": sp.Eq(sp.Symbol(r"S_2(\kappa)"), lead_res[1]),
                 "leading_laplace": sp.Eq(sp.Symbol("S(t)"), closed_l * t_ ** (-zl)),
                 "zeta_residue": sp.Integer(1)},
    )


def _regime_steps(results, reference):
    """Steps of a model's derivation, one per regime, with checks."""
    steps = []
    for r in results:
        reg = r.regime
        sums_txt = "; ".join(f"${S.meaning}$" for S in reg.sums)
        eqs = []
        for S in reg.sums:
            terms, err = mellin_expansion(S)
            arg = S.argument
            expr = sum(t.coefficient * arg ** t.power for t in terms)
            eqs.append(sp.Eq(sp.Symbol(latex(S.symbol)), expr
                             + (sp.Function("O")(arg ** err) if err is not None else 0)))
        X = reg.variable
        if r.kappa_leading:
            eqs.append(sp.Eq(reg.kappa, r.kappa_leading[0] * X ** r.kappa_leading[1]))
        corr = 1 + sum(c * X ** (-w) for c, w in r.corrections)
        eqs.append(sp.Eq(sp.Symbol(r"\langle L\rangle"), r.prefactor * X ** r.exponent * sp.UnevaluatedExpr(corr)))
        checks = list(r.inversion_residual)
        checks += list(reference.get((reg.key, reg.phase), ()))
        cond = r.condition_text() or "none beyond the model's domain"
        ccond = r.condition_text("corrections") or "none"
        err = ("smaller than any power" if r.error is None else f"$O({latex(X)}^{{-{latex(r.error)}}})$")
        steps.append(Step(
            f"Regime {reg.name}",
            f"{reg.limits}. Loss: $\\langle L\\rangle={latex(reg.loss)}$. Sums: {sums_txt}. "
            f"The engine expands the sums (Mellin), inverts the equation for $\\kappa$ and expands the loss. "
            f"Leading-order conditions (the phase): {cond}. Ordering of the corrections: {ccond}. "
            f"Relative remainder: {err}. Checked: the inverted equation holds order by order"
            + (" and the result equals the independently derived form." if reference.get((reg.key, reg.phase))
               else "."),
            tuple(eqs), tuple(checks)))
    return steps


@lru_cache(maxsize=None)
def derive_asymptotics_mrs() -> Derivation:
    """Model A's scaling laws from the engine, the crossovers and the
    optimally tuned ridge (see :func:`asymptotics_markdown`)."""
    from ._ridge import MRS_SYMBOLS as S
    from ._ridge import derive_mrs

    d = derive_mrs()
    al, N, T, M, lp, sw = S["alpha"], S["N"], S["T"], S["M"], S["lambda_plus"], S["sigma_w2"]
    su, kap, gam = S["sigma_u2"], S["kappa"], S["gamma"]
    n1, n2, c1, c2, om = S["n1"], S["n2"], S["c1"], S["c2"], S["omega"]
    res = {r.regime.key: r for r in regime_results("mrs")}
    ref = {("loss_vs_N", ""): (_ratio_residual(res["loss_vs_N"].leading(), d["asymptotic_N"].rhs),),
           ("loss_vs_T", ""): (_ratio_residual(res["loss_vs_T"].leading(), d["asymptotic_T"].rhs),)}
    steps = _regime_steps(res.values(), ref)
    a = 1 + al
    Ca = sp.gamma(1 / a) * sp.gamma(1 - 1 / a) / a        # n_1 ~ Ca (lambda_+/kappa)^(1/a)
    A = res["loss_vs_N"].prefactor

    # crossover N vs T (ridgeless, flat teacher, both finite)
    rl = d["ridgeless_test_N_lt_T"].rhs.subs(S["noise_var"], 0).subs({c1: om * N})
    ratio = sp.simplify(rl / sp.limit(rl, T, sp.oo))
    steps.append(Step(
        "Crossover N vs T",
        "Ridgeless, both $N$ and $T$ finite: $\\kappa$ is set by $n_1(\\kappa)=\\min(N,T)$ alone, so the loss is "
        "the one-variable law times an exact leading-order crossover factor, $\\langle L\\rangle\\simeq "
        "A\\min(N,T)^{-\\alpha}\\,\\frac{\\max(N,T)}{|N-T|}$: the scaling in $N$ holds for $N\\ll T$ (correction "
        "$1+N/T$), diverges at the interpolation peak $N=T$, and $N\\leftrightarrow T$ exchange roles beyond it.",
        (sp.Eq(sp.Symbol(r"\langle L\rangle(N,T)/\langle L\rangle(N,\infty)"), ratio),),
        (sp.simplify(ratio - T / (T - N)),)))
    # finite M: first correction and crossover scale (C_a kept as a symbol: only its role matters)
    Cs = sp.Symbol("C_a", positive=True)
    I_ = sp.Symbol("I", positive=True)
    c = kap / lp
    tail = sp.integrate(lp * I_ ** (-a) / kap, (I_, M, sp.oo), conds="none")   # kappa >> lambda_M
    n1_inf = Cs * c ** (-1 / a)
    dlt = sp.Symbol("delta")
    kap0 = lp * (Cs / N) ** a
    # n1_inf(kappa0 (1 + delta)) = N (1 + delta)^(-1/a): linear coefficient -N/a
    slope_lin = sp.diff(sp.powsimp(sp.expand_power_base(n1_inf.subs(kap, kap0 * (1 + dlt)), force=True),
                                   force=True), dlt).subs(dlt, 0)
    dsol = -a * tail.subs(kap, kap0) / N                  # -N delta/a - tail = 0
    dM_closed = -(a / al) * (N / M) ** al / Cs ** a
    steps.append(Step(
        "Crossover to finite M",
        "At finite $M$, $n_1$ loses the tail $\\sum_{I>M}\\lambda_I/(\\lambda_I+\\kappa)\\simeq"
        "\\lambda_+M^{-\\alpha}/(\\alpha\\kappa)$ (for $\\kappa\\gg\\lambda_M$). Solving $n_1(\\kappa)=N$ to first "
        "order, $\\kappa\\to\\kappa(1+\\delta)$ and $\\langle L\\rangle\\propto\\kappa$ change by the relative amount "
        "$\\delta$ below: the power law holds for $N\\ll M$ and bends down (towards zero loss at $N=M$, "
        "noise-free) at the crossover scale $N_\\times\\sim M$; the same with $T$ in the regime $T\\ll N$.",
        (sp.Eq(sp.Symbol(r"\delta L/L"), dM_closed),),
        (sp.simplify(sp.powsimp(sp.expand_power_base(slope_lin, force=True), force=True) + N / a),
         sp.simplify(sp.powsimp(sp.expand_power_base(tail - lp * M ** (-al) / (al * kap), force=True), force=True)),
         sp.simplify(sp.powsimp(sp.expand_power_base(dsol / dM_closed, force=True), force=True) - 1))))

    # plateau past M: N > M, T > M, ridgeless -> kappa -> 0 with n1, n2 -> M (finite spectrum)
    sig = S["noise_var"]
    full = d["test_loss"].rhs.subs({c1: om * n1, c2: om * n2})
    plateau = sp.simplify(sp.limit(full.subs({n1: M, n2: M}), kap, 0))
    plateau_closed = sig * M / (2 * (T - M))
    steps.append(Step(
        "Plateau past M",
        "With $M$ latent modes, $n_1(\\kappa)\\le M$: for $N>M$ (and $T>M$) the ridgeless equation has no "
        "root at $\\kappa>0$, $\\kappa\\to0$ and $n_1,n_2\\to M$. The derived test loss then no longer "
        "depends on $N$: the power law in $N$ stops at $N=M$ and the loss sits on the plateau below "
        "(ordinary least squares in the $M$ latent coordinates; zero without label noise): extra features "
        "add nothing, only more samples lower it, as $M/(T-M)$.",
        (sp.Eq(sp.Symbol(r"\langle L\rangle_{N>M,\,T>M}"), plateau_closed),),
        (sp.simplify(plateau - plateau_closed), sp.diff(plateau, N))))
    # optimally tuned ridge (no label noise), leading order in N, T
    x = sp.Symbol("x", positive=True)                    # x = n_1(kappa), 0 < x <= min(N, T)
    r_ = 1 - 1 / a                                       # n_2/n_1 at leading order
    kx = lp * (Cs / x) ** a
    test = d["test_loss"].rhs.subs(S["noise_var"], 0).subs({c1: om * n1, c2: om * n2}).subs(om, sw / M)
    Lx = sp.simplify(test.subs(n2, r_ * n1).subs(n1, x).subs(kap, kx))
    Lx_closed = (sw * lp * Cs ** a / (2 * M)) * x ** (-al) * (1 - r_) * N * T / (
        N * T - r_ * x * (N + T) - (1 - 2 * r_) * x ** 2)
    stat = sp.numer(sp.together(sp.diff(sp.log(Lx_closed), x)))
    quad = (al + 2) * (1 - al) / (1 + al) * x ** 2 + al * (N + T) * x - al * N * T
    disc = al ** 2 * (N + T) ** 2 + 4 * al * (al + 2) * (1 - al) * N * T / (1 + al)
    xstar = 2 * al * N * T / (al * (N + T) + sp.sqrt(disc))
    sc = d["self_consistent"]
    gam_star = sp.solve(sc.subs(S["n1"], x), gam)[0].subs(kap, kx)
    gam_closed = su * lp * Cs ** a * x ** (-a) * (N - x) * (T - x) / M
    yv = sp.Symbol("y", positive=True)
    quad_eq = (al + 2) * (1 - al) / (1 + al) * yv ** 2 + 2 * al * yv - al
    y_star = 2 * al / (2 * al + sp.sqrt(4 * al ** 2 + 4 * al * (al + 2) * (1 - al) / (1 + al)))
    L_eq = sp.simplify(Lx_closed.subs(T, N).subs(x, yv * N))
    L_eq_closed = (sw * lp * Cs ** a / (2 * M)) * N ** (-al) * yv ** (-al) / ((1 + al) * (1 - yv) * (1 + (1 - al) / (1 + al) * yv))
    gam_eq = sp.simplify(gam_closed.subs(T, N).subs(x, yv * N))
    # T -> inf at fixed N: N - x* ~ 2 N^2/(alpha (1 + alpha) T), gamma* finite
    eps_ = sp.Symbol("epsilon", positive=True)
    xs_T = sp.series(xstar.subs(T, 1 / eps_), eps_, 0, 2).removeO()
    gam_Tinf = sp.limit(gam_closed.subs(x, xs_T).subs(T, 1 / eps_), eps_, 0)
    gam_Tinf_closed = 2 * su * lp * Cs ** a * N ** (1 - al) / (M * al * (1 + al))
    # budget split: L*(N, T) is symmetric; N = T is stationary for any symmetric budget
    v = sp.Symbol("v")
    sym = sp.simplify(Lx_closed.subs({N: T, T: N}, simultaneous=True) - Lx_closed)
    steps.append(Step(
        "Optimally tuned ridge (no label noise)",
        "With a ridge $\\gamma\\ge0$ the root of the self-consistent equation is any $x=n_1(\\kappa)\\in(0,\\min(N,T)]$ "
        "($\\gamma=0$ at the upper end), so tuning $\\gamma$ is minimising the loss over $x$. At leading order "
        "($n_1\\simeq C_a(\\lambda_+/\\kappa)^{1/a}$, $n_2\\simeq(1-1/a)n_1$, $a=1+\\alpha$; the engine's Mellin "
        "terms) the derived test loss becomes $L(x)$ below. Stationarity is a quadratic in $x$, whose positive root "
        "$x^*(N,T)$ is homogeneous of degree one; the optimal ridge follows from the self-consistent equation, "
        "$\\gamma^*M/\\sigma_u^2=\\kappa(x^*)(N-x^*)(T-x^*)$, so $\\gamma^*\\propto N^{1-\\alpha}G_\\alpha(T/N)$; at "
        "$T\\to\\infty$ it tends to a finite value ($N-x^*\\simeq 2N^2/(\\alpha(1+\\alpha)T)$). The optimum is interior "
        "for every finite $T/N$ ($d\\log L/dx=2/((T/N-1)N)>0$ at $x=N$ when $N<T$): a non-zero ridge always helps "
        "at finite $T/N$, and it removes the interpolation peak. At $N=T$: $x^*=y^*N$ with $y^*$ the positive root of "
        "the quadratic below ($y^*=1/2$ at $\\alpha=1$). The optimal loss is symmetric in $N\\leftrightarrow T$ and "
        "homogeneous of degree $-\\alpha$, so at a fixed symmetric budget ($N+T$ or $NT$) the split $N=T$ is "
        "stationary (equiparameterisation); that it is the minimum is checked numerically, not proved here.",
        (sp.Eq(sp.Symbol("L(x)"), Lx_closed), sp.Eq(sp.Symbol("x^*"), xstar),
         sp.Eq(sp.Symbol(r"\gamma^*"), gam_closed.subs(x, sp.Symbol("x^*"))),
         sp.Eq(sp.Symbol(r"\gamma^*_{T\to\infty}"), gam_Tinf_closed),
         sp.Eq(quad_eq, 0), sp.Eq(sp.Symbol(r"y^*"), y_star),
         sp.Eq(sp.Symbol(r"L^*_{N=T}"), L_eq_closed.subs(yv, sp.Symbol("y^*"))),
         sp.Eq(sp.Symbol(r"\gamma^*_{N=T}"), gam_eq.subs(yv, sp.Symbol("y^*")))),
        (sp.simplify(sp.powsimp(sp.expand_power_base(Lx / Lx_closed, force=True), force=True) - 1),
         sp.simplify(sp.diff(sp.cancel(stat / quad), x)),
         sp.simplify(sp.radsimp(quad.subs(x, xstar))),
         sp.simplify(gam_star - gam_closed),
         sp.simplify(sp.powsimp(sp.expand_power_base(gam_Tinf / gam_Tinf_closed, force=True), force=True) - 1),
         sp.simplify(sp.expand(quad.subs({T: N, x: yv * N}) / N ** 2 - quad_eq)),
         sp.simplify(sp.radsimp(quad_eq.subs(yv, y_star))),
         sp.simplify(sp.powsimp(sp.expand_power_base(L_eq / L_eq_closed, force=True), force=True) - 1),
         sym, sp.simplify(y_star.subs(al, 1) - sp.Rational(1, 2)))))
    del v
    results = {
        "loss_vs_N": sp.Eq(sp.Symbol(r"\langle L\rangle_{N\ll T\ll M}"), res["loss_vs_N"].leading()),
        "loss_vs_T": sp.Eq(sp.Symbol(r"\langle L\rangle_{T\ll N\ll M}"), res["loss_vs_T"].leading()),
        "exponent_N": res["loss_vs_N"].exponent,
        "exponent_T": res["loss_vs_T"].exponent,
        "prefactor": A,
        "C_a": sp.Eq(Cs, Ca),
        "correction_N": res["loss_vs_N"].corrections,
        "crossover_N_T": ratio,
        "finite_M_correction": dM_closed,
        "plateau_past_M": plateau_closed,
        "optimal_ridge_loss": Lx_closed,
        "optimal_x": xstar,
        "optimal_ridge": gam_closed,
        "optimal_ridge_T_inf": gam_Tinf_closed,
        "optimal_y_equal": y_star,
        "optimal_loss_equal": L_eq_closed,
        "optimal_ridge_equal": gam_eq,
    }
    return Derivation(
        title="Model A: asymptotic scaling laws (engine), crossovers, optimal ridge",
        summary=("Leading asymptotics of model A's ridgeless test loss in the regimes $N\\ll T\\ll M$ and "
                 "$T\\ll N\\ll M$ from the engine (exponent, Gamma-function prefactor, first correction), the "
                 "crossovers to $N\\sim T$ and to $N,T\\sim M$, and the optimally tuned ridge."),
        symbols=((al, "model-A exponent: $\\lambda_I=\\lambda_+I^{-(1+\\alpha)}$"), (N, "features"),
                 (T, "samples"), (M, "latent dimension"), (kap, "renormalised ridge"),
                 (x, "$n_1(\\kappa)$ at the tuned ridge"), (gam, "ridge")),
        assumptions=("Flat teacher, no label noise, linear features; $M=\\infty$ in the sums unless stated.",
                     "Leading order of the deterministic equivalent (derive_mrs)."),
        steps=tuple(steps),
        results=results,
    )


@lru_cache(maxsize=None)
def derive_asymptotics_bap() -> Derivation:
    """Model B's scaling laws from the engine, the phase diagram over
    ``(alpha, beta)``, crossovers and the compute-optimal allocation."""
    from ._flow import BAP_SYMBOLS as S
    from ._flow import derive_bap

    d = derive_bap()
    al, be, N, P, t = S["alpha"], S["beta"], S["N"], S["P"], S["t"]
    rs = regime_results("bap")
    byk = {(r.regime.key, r.regime.phase): r for r in rs}
    # independent references: derive_bap's exponents (per phase) and its prefactors
    Ca = sp.pi / (al * sp.sin(sp.pi / al))
    ref = {
        ("loss_vs_t", ""): (sp.simplify(byk["loss_vs_t", ""].leading() - d["loss_N_P_inf"]),
                            sp.simplify(byk["loss_vs_t", ""].exponent - d["exponent_t"])),
        ("loss_vs_N", "beta < 1"): (
            sp.simplify(byk["loss_vs_N", "beta < 1"].exponent - d["exponent_N"].subs(sp.Min(1, be), be)),
            _ratio_residual(byk["loss_vs_N", "beta < 1"].prefactor,
                            Ca ** (al * be) * sp.pi / (al * sp.sin(sp.pi * be)))),
        ("loss_vs_N", "beta > 1"): (
            sp.simplify(byk["loss_vs_N", "beta > 1"].exponent - d["exponent_N"].subs(sp.Min(1, be), 1)),
            _ratio_residual(byk["loss_vs_N", "beta > 1"].prefactor, Ca ** al * sp.zeta(al * (be - 1) + 1))),
        ("loss_vs_P", "beta < 2"): (
            sp.simplify(byk["loss_vs_P", "beta < 2"].exponent - d["exponent_P"].subs(sp.Min(2, be), be)),),
        ("loss_vs_P", "beta > 2"): (
            sp.simplify(byk["loss_vs_P", "beta > 2"].exponent - d["exponent_P"].subs(sp.Min(2, be), 2)),),
    }
    steps = _regime_steps(rs, ref)
    exps = _engine_exponents("bap")
    steps.append(Step(
        "Exponents across the phases",
        "Within each quantity the phases come from competing additive terms of the sums (a Gamma term "
        "$\\kappa^{z}$ against the zeta constant), so the slower decay wins and the exponent is the maximum "
        "over the phases: the width term saturates at $\\beta=1$, the data term at $\\beta=2$.",
        tuple(sp.Eq(sp.Symbol(k), v) for k, v in exps.items() if k != "compute_optimal"),
        (sp.simplify(exps["loss_vs_N"] - d["exponent_N"]), sp.simplify(exps["loss_vs_P"] - d["exponent_P"]),
         sp.simplify(exps["loss_vs_t"] - d["exponent_t"]))))
    # crossovers t vs N and t vs P
    a_t = byk["loss_vs_t", ""].prefactor
    cross = {}
    _A = sp.Symbol("A", positive=True)          # the floor's prefactor, substituted below
    for key in ("loss_vs_N", "loss_vs_P"):
        X = N if key == "loss_vs_N" else P
        for r in (x for x in rs if x.regime.key == key):
            cross[key, r.regime.phase] = (a_t / _A) ** (1 / be) * X ** sp.simplify(-r.exponent / be)
    steps.append(Step(
        "Crossovers t vs N^alpha and t vs P^alpha",
        "The loss is the time term $\\Gamma(\\beta)(2t)^{-\\beta}/\\alpha$ until the finite-width (finite-data) "
        "floor takes over; the two are equal at the crossover time below: $t_\\times\\propto N^{\\alpha}$ for "
        "$\\beta<1$ and $N^{\\alpha/\\beta}$ for $\\beta>1$; $t_\\times\\propto P^{\\alpha}$ for $\\beta<2$ and "
        "$P^{2\\alpha/\\beta}$ for $\\beta>2$.",
        tuple(sp.Eq(sp.Symbol(f"t_\\times[{k}, {ph}]"), v.subs(_A, byk[k, ph].prefactor)) for (k, ph), v in cross.items()),
        # check: a t_x^-beta equals A X^e, with A a positive symbol standing for the prefactor
        tuple(sp.simplify(sp.powsimp(sp.expand_power_base(
            (a_t * v ** (-be)) / (_A * byk[k, ph].regime.variable ** byk[k, ph].exponent), force=True),
            force=True)) - 1
              for (k, ph), v in cross.items())))
    # compute-optimal
    co = _compute_optimal_generic()
    a_, b_, c_, C_, Nv = co["symbols"]
    co_rows = {}
    for ph, cval_expr in (("beta < 1", al * be), ("beta > 1", al)):
        bN = byk["loss_vs_N", ph].prefactor
        sub = {a_: a_t, b_: bN, c_: cval_expr}
        co_rows[ph] = {k: (sp.simplify(co["exponents"][k].subs(sub)), co["prefactors"][k].subs(sub))
                       for k in ("N", "t", "loss")}
    steps.append(Step(
        "Compute-optimal allocation (P = inf)",
        "Optimising the additive asymptotic loss $L\\simeq a\\,t^{-\\beta}+b\\,N^{-c}$ (the engine's two leading "
        "laws: $a=\\Gamma(\\beta)2^{-\\beta}/\\alpha$, $b$, $c=\\alpha\\min(\\beta,1)$ from the $t=\\infty$ law) "
        "at fixed compute $C=Nt$: one stationary point, $N^*=(cb/(\\beta a))^{1/(\\beta+c)}C^{\\beta/(\\beta+c)}$, "
        "$t^*=C/N^*$, $L^*=(1+\\beta/c)\\,a\\,t^{*-\\beta}$. The additive form is an approximation: the exact "
        "$L(t,N)$ has a crossover function between the two laws, which moves the prefactors but not the "
        "exponents. $t^*$ grows faster than $N^*$ iff $c>\\beta$: always for $\\beta<1$ ($\\alpha>1$), iff "
        "$\\beta<\\alpha$ for $\\beta>1$.",
        (sp.Eq(sp.Symbol("N^*"), co["N*"]), sp.Eq(sp.Symbol("t^*"), co["t*"]), sp.Eq(sp.Symbol("L^*"), co["L*"]),
         *[sp.Eq(sp.Symbol(f"{k}^*[{ph}]"), v[1] * C_ ** v[0]) for ph, row in co_rows.items()
           for k, v in row.items()]),
        (co["stationarity"],
         sp.simplify(co["exponents"]["N"] - be / (be + c_)),
         sp.simplify(exps["compute_optimal"]["N"] - d["compute_optimal_N"]),
         sp.simplify(exps["compute_optimal"]["t"] - d["compute_optimal_t"]),
         sp.simplify(exps["compute_optimal"]["loss"] - d["compute_optimal_loss"]),
         sp.simplify(co["L*"] / ((1 + be / c_) * a_ * co["t*"] ** (-be)) - 1))))
    results = {
        "loss_vs_t": sp.Eq(sp.Symbol(r"L_{N=P=\infty}(t)"), byk["loss_vs_t", ""].leading()),
        **{f"loss_vs_{k[-1]}[{ph}]": sp.Eq(sp.Symbol(f"L[{k}, {ph}]"), byk[k, ph].leading())
           for k, ph in byk if k != "loss_vs_t"},
        "exponent_t": exps["loss_vs_t"],
        "exponent_N": exps["loss_vs_N"],
        "exponent_P": exps["loss_vs_P"],
        "compute_optimal_N": exps["compute_optimal"]["N"],
        "compute_optimal_t": exps["compute_optimal"]["t"],
        "compute_optimal_loss": exps["compute_optimal"]["loss"],
        **{f"crossover_t[{k}, {ph}]": v.subs(_A, byk[k, ph].prefactor) for (k, ph), v in cross.items()},
        **{f"compute_optimal_prefactor_{k}[{ph}]": v[1] for ph, row in co_rows.items() for k, v in row.items()},
    }
    return Derivation(
        title="Model B: asymptotic scaling laws (engine), phases, crossovers, compute-optimal",
        summary=("Leading asymptotics of model B's loss in $t$ ($N=P=\\infty$), $N$ ($P=t=\\infty$) and $P$ "
                 "($N=t=\\infty$) from the engine, with exact Gamma/zeta prefactors and first corrections; the "
                 "saturation lines $\\beta=1$ and $\\beta=2$ come out of the ordering conditions."),
        symbols=((al, "model-B exponent: $\\lambda_k=k^{-\\alpha}$ ($\\alpha>1$ at $M=\\infty$)"),
                 (be, "task exponent: $\\lambda_kw_k^{*2}=k^{-\\alpha\\beta-1}$"),
                 (N, "model size"), (P, "samples"), (t, "time")),
        assumptions=("$M=\\infty$, gradient flow from zero, no label noise; leading order of the deterministic "
                     "equivalent (derive_bap).",
                     "Boundaries $\\beta=1$, $\\beta=2$ (logarithmic corrections) are excluded."),
        steps=tuple(steps),
        results=results,
    )


# ==========================================================================
# markdown document
# ==========================================================================
def _tex(e):
    return latex(e)


def _demote(md, title="####"):
    """Headings of an embedded derivation moved down: its title becomes ``title`` and its
    sections ``####``."""
    return ("\n" + md).replace("\n### ", "\n#### ").replace("\n## ", f"\n{title} ").lstrip("\n")


def asymptotics_markdown() -> str:
    """The asymptotics document (exponent tables, prefactors, corrections,
    phase diagrams, crossovers, compute-optimal, optimal ridge); deterministic."""
    lines = ["# Asymptotic scaling laws: exponents, prefactors, phases", "",
             "Derived by the asymptotics engine (`theory/_asymptotics.py`): the spectral sums of each model at "
             "$M=\\infty$ are expanded through their Mellin transforms, the self-consistent equation is inverted "
             "as a generalised power series and the loss is expanded; every step is checked by "
             "`Derivation.verify()` and the exponents and prefactors are checked against high-precision "
             "numerics (`numerics/_exponent_checks.py`).", "",
             "**Exponent names.** Model A: $\\lambda_I=\\lambda_+I^{-(1+\\alpha)}$. Model B: "
             "$\\lambda_k=k^{-\\alpha}$. So $\\alpha_B=1+\\alpha_A$.", ""]
    for model in ("mrs", "bap"):
        m = _model(model)
        rs = regime_results(model)
        lines += [f"## {m.title}", "", "### Exponents, prefactors and first corrections", "",
                  "$\\langle L\\rangle\\simeq A\\,X^{e}\\,(1+\\sum_i c_iX^{-w_i}+\\dots)$.", "",
                  "| quantity | phase | regime | exponent $e$ | prefactor $A$ | corrections $c_iX^{-w_i}$ | "
                  "remainder |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in rs:
            X = r.regime.variable
            corr = ", ".join(f"${_tex(c * X ** (-w))}$" for c, w in r.corrections) or "none"
            rem = "beyond all orders" if r.error is None else f"$O({_tex(X ** (-r.error))})$"
            cond = f"${r.condition_text()}$" if r.conditions else "all"
            lines.append(f"| `{r.regime.key}` | {cond} | {r.regime.limits} | ${_tex(r.exponent)}$ | "
                         f"${_tex(r.prefactor)}$ | {corr} | {rem} |")
        lines += ["", "Ordering of the corrections (at the representative point of each phase; elsewhere "
                  "the listed terms are still present, in another order):", ""]
        for r in rs:
            cc = r.condition_text("corrections")
            lines.append(f"- `{r.regime.name}`: " + (f"${cc}$" if cc else "no condition"))
        exps = _engine_exponents(model)
        lines += ["", "### Exponents (all phases)", "", "| quantity | exponent |", "| --- | --- |"]
        for k, v in exps.items():
            if isinstance(v, dict):
                for kk, vv in v.items():
                    lines.append(f"| `{k}.{kk}` (of $C=Nt$) | ${_tex(vv)}$ |")
            else:
                lines.append(f"| `{k}` | ${_tex(v)}$ |")
        lines += ["", "### Phase diagram", ""]
        rows = _engine_phase_diagram(model)
        if model == "mrs":
            lines += ["One phase: for every $\\alpha>0$ the loss falls as $N^{-\\alpha}$ ($N\\ll T$) and "
                      "$T^{-\\alpha}$ ($T\\ll N$); $\\min(N,T)$ sets $\\kappa$. (The teacher is flat, so there is "
                      "no task exponent and no saturation.)", ""]
        else:
            lines += ["| region | `loss_vs_t` | `loss_vs_N` | `loss_vs_P` | $N^*$ | $t^*$ | $L^*$ | faster |",
                      "| --- | --- | --- | --- | --- | --- | --- | --- |"]
            for row in rows:
                reg = " and ".join(f"${_tex(c > 0)}$" for c in row["conditions"]) or "all"
                co = row["compute_optimal"]
                lines.append(f"| {reg} | ${_tex(row['loss_vs_t'])}$ | ${_tex(row['loss_vs_N'])}$ | "
                             f"${_tex(row['loss_vs_P'])}$ | $C^{{{_tex(co['N'])}}}$ | $C^{{{_tex(co['t'])}}}$ | "
                             f"$C^{{{_tex(co['loss'])}}}$ | ${row['faster']}$ |")
        d = derive_asymptotics_mrs() if model == "mrs" else derive_asymptotics_bap()
        lines += ["", "### Derivation", "", _demote(d.markdown()),
                  ""]
    lines += ["## Engine", "", _demote(derive_mellin().markdown(), title="###"), "",
              "## Not derived here", "",
              "- Model A with label noise: the optimal ridge then also balances the noise; only the noise-free "
              "optimum is derived.",
              "- That $N=T$ minimises (not only extremises) the tuned loss at a fixed budget: checked numerically.",
              "- Model B's loss at finite $N$ and finite $t$ together (the crossover function between $t^{-\\beta}$ "
              "and $N^{-c}$): the compute-optimal prefactors assume the additive form.",
              "- Boundaries $\\beta=1$, $\\beta=2$ of model B (logarithmic corrections).", ""]
    return "\n".join(lines)
