"""Model A theory, evaluated: the derived self-consistent equation solved and
the derived losses evaluated, in vectorised double precision or in mpmath at
any precision.

The equations come from :func:`scaling_theory.theory.derive_mrs` through the generated module
:mod:`scaling_theory.numerics._generated_ridge`; the spectral sums from
:mod:`scaling_theory.numerics._spectral_sums` (O(1) in ``M`` for power laws).
"""
from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass, field

import mpmath
import numpy as np

from . import _generated_ridge as gen
from ._models import MRSModel
from ._precision import context as _context
from ._solver import ConvergenceError, MpmathBackend, NumpyBackend, solve_count, solve_increasing
from ._spectral_sums import ArraySpectrum, PowerLawSpectrum, spectral_sums, spectral_trace
from ._results import Result, latex_number

__all__ = ["MRSTheory", "MRSTheoryGrid", "mrs_theory", "mrs_theory_grid", "mrs_spectrum"]

#: Guard digits added to the requested precision in the mpmath path.
GUARD_DIGITS = 15
#: Relative tolerance (on log kappa) of the double-precision solve.
TOL_DOUBLE = 1e-13


#: Digits model A's theory accepts (one point at 10000 digits takes about a minute).
DPS_RANGE = (5, 10000)


def _check_dps(dps):
    lo, hi = DPS_RANGE
    if isinstance(dps, bool) or not isinstance(dps, int) or not lo <= dps <= hi:
        raise ValueError(f"dps must be an integer in [{lo}, {hi}] for model A, got {dps!r}")
    return dps


def mrs_spectrum(model: MRSModel, ctx=None):
    """The spectral-sum object of a model (power law: O(1) in M)."""
    if model.is_power_law and model.has_flat_teacher:
        conv = (lambda v: ctx.mpf(v)) if ctx is not None else float
        omega = conv(model.sigma_w2) / model.M
        return PowerLawSpectrum(alpha=conv(model.alpha), M=model.M,
                                lambda_plus=conv(model.lambda_plus), omega=omega)
    return ArraySpectrum(model.eigenvalues(), model.teacher_variance_array())


def _kth_eigenvalue(spectrum, k, xp_float):
    """The k-th largest eigenvalue (k >= 1, array of k in double)."""
    if isinstance(spectrum, PowerLawSpectrum):
        a = 1 + spectrum.alpha
        return spectrum.lambda_plus * k ** (-a)
    lam = np.sort(spectrum.lambdas)[::-1]
    idx = np.clip(np.asarray(k, dtype=np.int64) - 1, 0, lam.size - 1)
    return lam[idx] if xp_float else lam[int(idx)]


# --------------------------------------------------------------------------
# the solve, generic over the backend
# --------------------------------------------------------------------------
#: Half-width in ``log kappa`` of the bracket around a double-precision start that the mpmath
#: solve polishes (the double root is good to ~1e-13; a root outside the window raises, and the
#: caller solves from the full bracket).
_POLISH_WINDOW = 1e-7


def _inside(r, window):
    """A polished root pinned at its window's edge: the start was not the root."""
    if window is not None and not (window[0] < r.u < window[1]):
        raise ConvergenceError("the double-precision start is not the root", residual=r.residual)


def _solve_kappa(spectrum, N, T, rho, *, backend, ctx, tol, sums=None, start=None):
    """kappa for arrays (double) or scalars (mpmath); 0 where min(N,T) >= M at rho = 0.
    ``sums(kappa)`` replaces :func:`spectral_sums` (a cached one, say).  ``start`` (mpmath):
    ``log kappa`` of the double-precision solve, polished by Newton in a bracket of
    ``+-_POLISH_WINDOW`` (2-3 evaluations of the sums instead of 10-35; the kmin solve is
    skipped with a ridge); raises :class:`ConvergenceError` when the root is not in it."""
    is_mp = ctx is not None
    polish = is_mp and start is not None
    window = (start - _POLISH_WINDOW, start + _POLISH_WINDOW) if polish else None
    if is_mp:
        log, exp = ctx.log, ctx.exp
    else:
        log, exp = np.log, np.exp
    M = spectrum.M if isinstance(spectrum, PowerLawSpectrum) else spectrum.lambdas.size
    trace = spectral_trace(spectrum, ctx)[0]
    m = np.minimum(N, T) if not is_mp else min(N, T)
    below = m < M  # the physical branch has kappa_min > 0
    # dummy m where the branch is absent (result discarded)
    m_eff = np.where(below, m, max(M / 2, 0.5)) if not is_mp else (m if below else None)

    if sums is None:
        def sums(kappa):
            return spectral_sums(spectrum, kappa, ctx)

    kmin = None
    if (not is_mp) or (below and not (polish and rho > 0)):
        # n1(kappa) = m: increasing function log n1... use G(u) = log m - log n1(e^u)
        if polish:
            lo, hi = window
        else:
            k_int = np.floor(m_eff) + 1 if not is_mp else int(m_eff) + 1
            lam_k = _kth_eigenvalue(spectrum, k_int, not is_mp)
            if not is_mp:   # a steep spectrum underflows (alpha ~ 1e300): bracket from the smallest double
                lam_k = np.maximum(lam_k, np.finfo(float).tiny)
            lo = log(lam_k / (2 * k_int))
            hi = log(trace / m_eff)

        def counts(u):
            s = sums(exp(u))
            return s.n1, s.n2

        r = solve_count(counts, m_eff, lo, hi, backend=backend, tol=tol, log=log, start=start,
                        maxiter=12 if polish else 200,
                        slope=lambda n1, n2: -gen.newton_slope_ridgeless(n1, n2), what="n1(kappa) = min(N, T)")
        _inside(r, window)
        kmin = exp(r.u)
        iters = r.iterations
    else:
        iters = 0
    if is_mp:
        kmin = kmin if (below and kmin is not None) else ctx.zero
    else:
        kmin = np.where(below, kmin, 0.0)

    # ridge: log(kappa (N-n1)(T-n1)) = log rho, increasing on (kmin, inf)
    ridge = rho > 0
    if is_mp and not ridge:
        return kmin, ctx.zero, iters
    if not is_mp and not np.any(ridge):      # all ridgeless: no dummy ridge solve
        return kmin, np.zeros_like(kmin), iters
    rho_eff = np.where(ridge, rho, 1.0) if not is_mp else rho
    NT = N * T
    # F(lo) <= 0: kappa (N-n1)(T-n1) <= kappa N T;  F(hi) >= 0: n1(hi) <= trace/hi <= m/2
    if is_mp:
        lo_k = max(kmin, rho_eff / NT)
        hi_k = max(4 * rho_eff / NT, 2 * trace / m)
    else:
        lo_k = np.maximum(kmin, rho_eff / NT)
        hi_k = np.maximum(4 * rho_eff / NT, 2 * trace / m)
    lo, hi = window if polish else (log(lo_k), log(hi_k))

    def F(u):
        kap = exp(u)
        s = sums(kap)
        a, b = N - s.n1, T - s.n1
        if is_mp:
            if a <= 0 or b <= 0:
                return ctx.ninf, ctx.one
            val = log(kap) + log(a) + log(b) - log(rho_eff)
        else:
            with np.errstate(all="ignore"):
                val = np.where((a > 0) & (b > 0), np.log(kap) + np.log(np.abs(a)) + np.log(np.abs(b)) - np.log(rho_eff), -np.inf)
        return val, gen.newton_slope(s.n1, s.n2, N, T)

    r = solve_increasing(F, lo, hi, backend=backend, tol=tol, start=start, maxiter=12 if polish else 200,
                         what="self-consistent equation")
    _inside(r, window)
    kappa = exp(r.u)
    resid = r.residual
    if not is_mp:
        kappa = np.where(ridge, kappa, kmin)
        resid = np.where(ridge, resid, 0.0)
    return kappa, resid, iters + r.iterations


def _losses(spectrum, kappa, N, T, rho, noise, ctx, sums=None):
    """Test and train loss from the generated formulas (scalar or arrays)."""
    is_mp = ctx is not None
    M = spectrum.M if isinstance(spectrum, PowerLawSpectrum) else spectrum.lambdas.size
    s = spectral_sums(spectrum, kappa, ctx) if sums is None else sums(kappa)
    if is_mp:
        inf = ctx.inf
        if rho > 0:
            return (gen.test_loss(kappa, s.n1, s.n2, s.c1, s.c2, N, T, noise),
                    gen.train_loss(kappa, s.n1, s.n2, s.c1, s.c2, N, T, noise),
                    gen.df2(s.n1, s.n2, N))
        if min(N, T) >= M:  # kappa = 0: full-rank regression in x-space
            if T == M:
                return (inf if noise > 0 else ctx.zero), ctx.zero, ctx.mpf(M)
            return (gen.plateau_test_loss(ctx.mpf(M), T, noise), gen.plateau_train_loss(ctx.mpf(M), T, noise),
                    ctx.mpf(M))
        if N < T:
            return (gen.ridgeless_test_N_lt_T(kappa, s.c1, N, T, noise),
                    gen.train_loss(kappa, ctx.mpf(N), s.n2, s.c1, s.c2, N, T, noise), ctx.mpf(N))
        if T < N:
            return (gen.ridgeless_test_T_lt_N(kappa, s.n2, s.c1, s.c2, N, T, noise), ctx.zero,
                    gen.df2(ctx.mpf(T), s.n2, N))
        return inf, ctx.zero, ctx.mpf(N)
    # double, vectorised with masks
    with np.errstate(all="ignore"):
        test = gen.test_loss(kappa, s.n1, s.n2, s.c1, s.c2, N, T, noise)
        train = gen.train_loss(kappa, s.n1, s.n2, s.c1, s.c2, N, T, noise)
        df2 = gen.df2(s.n1, s.n2, N)
        rl = rho == 0
        full = rl & (np.minimum(N, T) >= M)
        nt = rl & ~full & (N < T)
        tn = rl & ~full & (T < N)
        peak = rl & ~full & (N == T)
        test = np.where(nt, gen.ridgeless_test_N_lt_T(kappa, s.c1, N, T, noise), test)
        train = np.where(nt, gen.train_loss(kappa, N, s.n2, s.c1, s.c2, N, T, noise), train)
        df2 = np.where(nt, N, df2)
        test = np.where(tn, gen.ridgeless_test_T_lt_N(kappa, s.n2, s.c1, s.c2, N, T, noise), test)
        train = np.where(tn | peak, 0.0, train)
        df2 = np.where(tn, gen.df2(T, s.n2, N), df2)
        test = np.where(peak, np.inf, test)
        df2 = np.where(peak, N, df2)
        full_test = np.where(T > M, gen.plateau_test_loss(M, T, noise), np.where(noise > 0, np.inf, 0.0))
        full_train = np.where(T > M, gen.plateau_train_loss(M, T, noise), 0.0)
        test = np.where(full, full_test, test)
        train = np.where(full, full_train, train)
        df2 = np.where(full, float(M), df2)
    return test, train, df2


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------
def _fmt(x, digits=None, ctx=None):
    """A float, or a decimal string with ``digits`` digits; infinity as "inf" (valid JSON)."""
    if digits is None:
        x = float(x)
        return "inf" if math.isinf(x) else x
    if ctx is None:
        ctx = _context(max(digits, 17))
    v = ctx.mpf(x)
    if ctx.isinf(v):
        return "inf"
    return ctx.nstr(v, digits)


@dataclass(frozen=True)
class MRSTheory(Result):
    """Theory of model A at one parameter point.

    Attributes
    ----------
    model : MRSModel
    test_loss, train_loss : float or mpmath.mpf
        Average test loss ``<L>`` and train loss (CONVENTIONS.md definitions, with 1/2).
    kappa : renormalised ridge (projection side) solving
        ``gamma M / sigma_u2 = kappa (N - n1(kappa)) (T - n1(kappa))``.
    kappa1 : renormalised ridge on the data side.
    df2 : effective degrees of freedom entering the variance.
    residual : residual of the solved equation (log form; 0 when ridgeless
        with a closed-form branch).
    converged, iterations : solver diagnostics.
    dps : digits of the result (``None`` for double precision).
    method : ``"double"`` or ``"mpmath"``.
    regime : which branch was used (``ridge``, ``ridgeless N<T``, ...).
    """

    model: MRSModel
    test_loss: object
    train_loss: object
    kappa: object
    kappa1: object
    df2: object
    residual: object
    converged: bool
    iterations: int
    dps: int | None
    method: str
    regime: str
    _ctx: object = field(default=None, repr=False, compare=False)

    def to_dict(self, digits=None) -> dict:
        """JSON-ready dict; with ``digits``, numbers as decimal strings."""
        d = self.model.to_dict()
        ctx = self._ctx
        if digits is None and self.dps is not None:
            digits = self.dps
        for key in ("test_loss", "train_loss", "kappa", "kappa1", "df2"):
            d[key] = _fmt(getattr(self, key), digits, ctx)
        d["residual"] = float(self.residual)
        d.update(converged=self.converged, iterations=self.iterations,
                 dps=self.dps, method=self.method, regime=self.regime)
        return d

    def __str__(self):
        d = self.to_dict(digits=self.dps or 10)
        m = self.model
        return (f"MRS theory (M={m.M}, {m.describe()}, N={m.N}, T={m.T}, gamma={m.gamma}, "
                f"noise_var={m.noise_var}; {self.regime}, {self.method}): "
                f"test_loss={d['test_loss']}, train_loss={d['train_loss']}, kappa={d['kappa']}")

    def latex(self) -> str:
        """The self-consistent equation with this point's numbers."""
        m = self.model
        n = latex_number
        return (rf"\frac{{{n(m.gamma)}\cdot {n(m.M)}}}{{{n(m.sigma_u2)}}} = \kappa\,({n(m.N)}-n_1(\kappa))"
                rf"({n(m.T)}-n_1(\kappa)),\quad \kappa = {n(self.kappa, 8)},\quad "
                rf"\langle L\rangle = {n(self.test_loss, 8)}")

    def _repr_latex_(self):
        return "$" + self.latex() + "$"


def _nonlinear_message(model):
    return (f"activation must be 'linear' for the linear-feature theory (mrs_theory, mrs_theory_grid), got "
            f"{model.activation!r}: nonlinear features have their own theory, mrs_nonlinear_theory(model) "
            f"(command line: scaling-theory mrs loss --activation {model.activation} ...)")


def _regime(N, T, gamma, M):
    if gamma > 0:
        return "ridge"
    if min(N, T) >= M:
        return "ridgeless full rank"
    if N == T:
        return "ridgeless interpolation peak"
    return "ridgeless N<T" if N < T else "ridgeless T<N"


def _last_sums(spectrum, ctx):
    """``spectral_sums`` at one kappa, remembering the last kappa: the solve's final
    evaluation serves the losses and kappa1."""
    last = {}

    def sums(kappa):
        if "k" not in last or not last["k"] == kappa:
            last["k"], last["s"] = kappa, spectral_sums(spectrum, kappa, ctx)
        return last["s"]

    return sums


def _double_log_kappa(model):
    """``log kappa`` of the double-precision solve: the start the mpmath solve polishes; ``None``
    where double precision cannot stand in (sizes or ridge beyond doubles, kappa = 0, a solve
    that fails)."""
    try:
        if max(model.N, model.T, model.M) >= 1e300:
            return None
        g = float(model.gamma)
        if (g == 0) != (mpmath.mpf(model.gamma) == 0) or (g > 0 and not 1e-280 < g < 1e280):
            return None
        with np.errstate(all="ignore"):
            k = float(mrs_theory_grid(model).kappa)
    except (ValueError, ArithmeticError, FloatingPointError):
        return None
    if not (math.isfinite(k) and k > 1e-290):
        return None
    return math.log(k)


def mrs_theory(model: MRSModel, *, dps: int | None = None) -> MRSTheory:
    """Average test and train loss of model A from the derived equations.

    Parameters
    ----------
    model : MRSModel
        Linear features (nonlinear activations have their own theory).
    dps : int, optional
        Decimal digits.  ``None`` (default): double precision (vectorised
        code path).  An integer: mpmath at that precision, computed with
        guard digits in a private context; every returned digit is correct.

    Examples
    --------
    The ridgeless duality: exchanging N and T leaves the loss unchanged.

    >>> from scaling_theory.numerics import MRSModel, mrs_theory
    >>> a = mrs_theory(MRSModel(M=1000, alpha=1, N=100, T=400))
    >>> b = mrs_theory(MRSModel(M=1000, alpha=1, N=400, T=100))
    >>> bool(abs(a.test_loss / b.test_loss - 1) < 1e-12)
    True

    At 50 digits:

    >>> r = mrs_theory(MRSModel(M=1000, alpha=1, N=100, T=400, gamma=0.01), dps=50)
    >>> r.converged, r.dps
    (True, 50)
    """
    if not isinstance(model, MRSModel):
        raise TypeError(f"model must be an MRSModel, got {type(model).__name__}")
    if model.activation != "linear":
        raise ValueError(_nonlinear_message(model))
    regime = _regime(model.N, model.T, float(model.gamma), model.M)
    if dps is None:
        g = mrs_theory_grid(model)
        return MRSTheory(model=model, test_loss=float(g.test_loss), train_loss=float(g.train_loss),
                         kappa=float(g.kappa), kappa1=float(g.kappa1), df2=float(g.df2),
                         residual=float(g.residual), converged=True, iterations=g.iterations,
                         dps=None, method="double", regime=regime)
    dps = _check_dps(dps)
    ctx = _context(dps + GUARD_DIGITS)
    out = _context(dps)
    spectrum = mrs_spectrum(model, ctx)
    N, T = model.N, model.T
    rho = ctx.mpf(model.gamma) * model.M / ctx.mpf(model.sigma_u2)
    noise = ctx.mpf(model.noise_var)
    tol = ctx.mpf(10) ** (-(dps + GUARD_DIGITS // 2))
    sums = _last_sums(spectrum, ctx)
    u0 = _double_log_kappa(model)
    solve = functools.partial(_solve_kappa, spectrum, N, T, rho, backend=MpmathBackend(ctx), ctx=ctx, tol=tol,
                              sums=sums)
    try:
        if u0 is None:
            raise ConvergenceError("no double-precision start")
        kappa, resid, iters = solve(start=ctx.mpf(u0))
    except ConvergenceError:          # no usable start: the bracketed solve from scratch
        kappa, resid, iters = solve()
    test, train, df2 = _losses(spectrum, kappa, N, T, rho, noise, ctx, sums=sums)
    k1 = gen.kappa1(kappa, sums(kappa).n1 if kappa > 0 else ctx.mpf(min(N, T, model.M)),
                    N, model.M, ctx.mpf(model.sigma_u2))
    if rho == 0 and min(N, T) < model.M and N <= T:
        k1 = ctx.zero
    r = lambda x: out.mpf(x)  # noqa: E731  round to the requested precision
    return MRSTheory(model=model, test_loss=r(test), train_loss=r(train), kappa=r(kappa), kappa1=r(k1),
                     df2=r(df2), residual=r(resid), converged=True, iterations=iters, dps=dps,
                     method="mpmath", regime=regime, _ctx=out)


@dataclass(frozen=True)
class MRSTheoryGrid(Result):
    """Theory of model A on a broadcast grid of (N, T, gamma), double precision."""

    model: MRSModel
    N: np.ndarray
    T: np.ndarray
    gamma: np.ndarray
    test_loss: np.ndarray
    train_loss: np.ndarray
    kappa: np.ndarray
    kappa1: np.ndarray
    df2: np.ndarray
    residual: np.ndarray
    iterations: int
    converged: bool = True
    method: str = "double"

    @property
    def shape(self):
        return self.test_loss.shape

    def points(self, digits=None) -> list:
        """One dict per grid point (N, T, gamma, test_loss, train_loss, kappa)."""
        out = []
        for idx in np.ndindex(self.shape):
            out.append({
                "N": int(self.N[idx]), "T": int(self.T[idx]), "gamma": float(self.gamma[idx]),
                "test_loss": _fmt(self.test_loss[idx], digits), "train_loss": _fmt(self.train_loss[idx], digits),
                "kappa": _fmt(self.kappa[idx], digits), "kappa1": _fmt(self.kappa1[idx], digits),
                "df2": _fmt(self.df2[idx], digits),
            })
        return out

    def to_dict(self, digits=None) -> dict:
        base = {k: v for k, v in self.model.to_dict().items()
                if k not in ("N", "T", "gamma")}
        return {**base, "method": self.method, "iterations": self.iterations, "points": self.points(digits)}

    def __str__(self):
        return f"MRS theory grid {self.shape}: test_loss in [{np.nanmin(self.test_loss):.4g}, {np.nanmax(self.test_loss):.4g}]"


def _as_int_array(name, v, default):
    a = np.asarray(default if v is None else v)
    if a.dtype == object:   # Python integers beyond int64 (double precision takes them as floats)
        if not all(isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in a.ravel()):
            raise ValueError(f"{name} must be integers >= 1, got {default if v is None else v!r}")
        try:
            a = a.astype(float)
        except OverflowError:
            raise ValueError(f"{name} must be below 1e308 in double precision (larger sizes need dps, --precision on the command line)") from None
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise ValueError(f"{name} must be integers >= 1")
    if a.dtype.kind not in "iuf" or np.any(a < 1):
        raise ValueError(f"{name} must be integers >= 1, got {default if v is None else v!r}")
    return a.astype(float)


def mrs_theory_grid(model: MRSModel, *, N=None, T=None, gamma=None) -> MRSTheoryGrid:
    """Vectorised double-precision theory over a broadcast grid.

    ``N``, ``T``, ``gamma`` default to the model's values; arrays broadcast
    against each other (use ``np.meshgrid`` or ``[:, None]`` for outer grids).
    All points are solved simultaneously by one vectorised Newton iteration.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numerics import MRSModel, mrs_theory_grid
    >>> N = np.round(np.logspace(2, 4, 9))
    >>> g = mrs_theory_grid(MRSModel(M=10**9, alpha=1, N=1, T=10**8), N=N)
    >>> slope = np.polyfit(np.log(g.N), np.log(g.test_loss), 1)[0]
    >>> bool(abs(slope + 1) < 0.02)       # L ~ N^-alpha for N << T << M
    True
    """
    if model.activation != "linear":
        raise ValueError(_nonlinear_message(model))
    Na = _as_int_array("N", N, model.N)
    Ta = _as_int_array("T", T, model.T)
    ga = np.asarray(float(model.gamma) if gamma is None else gamma, dtype=float)
    if not np.all(np.isfinite(ga)) or np.any(ga < 0):
        raise ValueError(f"gamma must be finite and >= 0, got {gamma!r}")
    Na, Ta, ga = np.broadcast_arrays(Na, Ta, ga)
    shape = Na.shape
    Nf, Tf, gf = (np.ascontiguousarray(x).ravel() for x in (Na, Ta, ga))
    spectrum = mrs_spectrum(model)
    rho = gf * model.M / float(model.sigma_u2)
    noise = float(model.noise_var)
    kappa, resid, iters = _solve_kappa(spectrum, Nf, Tf, rho, backend=NumpyBackend(), ctx=None, tol=TOL_DOUBLE)
    test, train, df2 = _losses(spectrum, kappa, Nf, Tf, rho, noise, None)
    n1 = spectral_sums(spectrum, kappa).n1
    # ridgeless with N <= T: n1 = N exactly, so kappa1 = 0 (not the round-off of N - n1)
    k1 = np.where((rho == 0) & (Nf <= Tf), 0.0, gen.kappa1(kappa, n1, Nf, model.M, float(model.sigma_u2)))
    bad = ~np.isfinite(test) & ~((rho == 0) & ((Nf == Tf) | (np.minimum(Nf, Tf) >= model.M)))
    if np.any(bad):
        raise ConvergenceError(f"non-finite test loss at {int(bad.sum())} grid point(s)", residual=float("nan"))
    rs = lambda x: np.asarray(x, dtype=float).reshape(shape)  # noqa: E731
    return MRSTheoryGrid(model=model, N=rs(Nf), T=rs(Tf), gamma=rs(gf), test_loss=rs(test), train_loss=rs(train),
                         kappa=rs(kappa), kappa1=rs(k1), df2=rs(df2), residual=rs(resid), iterations=iters)
