"""One generic root-finding driver for every model.

:func:`solve_increasing` finds the root of an increasing function ``F(u)`` on
a bracket ``[lo, hi]`` (``F(lo) <= 0 <= F(hi)``) by Newton steps safeguarded
by bisection.  It runs on numpy arrays (all grid points at once, double
precision) or on mpmath scalars (any precision) through a tiny backend
object; a model supplies ``F`` and its slope, not a solver.  A root that does
not reach the tolerance raises :class:`ConvergenceError` with the residual.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ConvergenceError", "RootResult", "solve_increasing", "solve_count", "newton", "secant", "NumpyBackend",
           "MpmathBackend"]


class ConvergenceError(RuntimeError):
    """A solver did not reach its tolerance; carries the residual."""

    def __init__(self, message, residual=None, tolerance=None):
        super().__init__(message)
        self.residual = residual
        self.tolerance = tolerance


@dataclass(frozen=True)
class RootResult:
    """Root ``u`` with its residual ``F(u)``, iterations and convergence flag."""

    u: object
    residual: object
    iterations: int
    converged: bool


class NumpyBackend:
    """Vectorised double precision."""

    eps = np.finfo(float).eps

    @staticmethod
    def asarray(x):
        return np.asarray(x, dtype=float)

    where = staticmethod(np.where)
    abs = staticmethod(np.abs)
    isfinite = staticmethod(np.isfinite)

    @staticmethod
    def all(x):
        return bool(np.all(x))

    @staticmethod
    def max_abs(x):
        x = np.abs(np.asarray(x, dtype=float))
        return float(np.max(x)) if x.size else 0.0


class MpmathBackend:
    """Scalar mpmath numbers in a given context (no global state)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.eps = ctx.eps

    def asarray(self, x):
        return self.ctx.mpf(x)

    @staticmethod
    def where(cond, a, b):
        return a if cond else b

    def abs(self, x):
        return abs(x)

    def isfinite(self, x):
        return self.ctx.isfinite(x)

    @staticmethod
    def all(x):
        return bool(x)

    def max_abs(self, x):
        return abs(x)


def solve_increasing(func, lo, hi, *, backend, tol, maxiter=200, start=None, what="root"):
    """Root of an increasing function by bracketed Newton iteration.

    Parameters
    ----------
    func : callable
        ``func(u) -> (F, dF/du)``; ``F`` may be ``-inf`` at ``lo``.
    lo, hi : array or scalar
        Bracket with ``F(lo) <= 0 <= F(hi)`` (finite ``u`` values).
    backend : NumpyBackend or MpmathBackend
    tol : float or mpf
        Stop when ``|F| <= tol`` and the last step is below ``tol`` too.
    start : optional initial guess (defaults to ``hi``).
    what : str
        Name used in error messages.

    Returns
    -------
    RootResult

    Examples
    --------
    Solve ``u**3 + u - 10 = 0`` (root ``u = 2``) on a grid of shifts:

    >>> import numpy as np
    >>> shift = np.array([0.0, 1.0])
    >>> r = solve_increasing(lambda u: (u**3 + u - 10 + shift, 3*u**2 + 1),
    ...                      np.zeros(2), np.full(2, 5.0), backend=NumpyBackend(), tol=1e-14)
    >>> bool(abs(r.u[0] - 2) < 1e-14), r.converged
    (True, True)
    """
    xp = backend
    lo = xp.asarray(lo)
    hi = xp.asarray(hi)
    u = xp.asarray(hi if start is None else start)
    F = None
    for it in range(1, maxiter + 1):
        F, dF = func(u)
        # converged where the Newton correction |F/dF| is below tol (with dF >= 1
        # for a well-scaled F this also bounds |F|; it stays meaningful when F is
        # dominated by cancellation noise near a branch point)
        scale = xp.where(xp.abs(dF) > 1, xp.abs(dF), 1)
        done = xp.abs(F) <= tol * scale
        if xp.all(done):
            return RootResult(u=u, residual=F, iterations=it, converged=True)
        lo = xp.where(F <= 0, u, lo)
        hi = xp.where(F >= 0, u, hi)
        with np.errstate(all="ignore"):
            newton = u - F / dF
        ok = xp.isfinite(newton) & (newton > lo) & (newton < hi)
        new_u = xp.where(ok, newton, (lo + hi) / 2)
        if xp.all(done | (xp.abs(hi - lo) <= tol * (1 + xp.abs(u)))):
            return RootResult(u=u, residual=F, iterations=it, converged=True)
        u = xp.where(done, u, new_u)
    res = xp.max_abs(F) if F is not None else float("nan")
    raise ConvergenceError(
        f"{what}: no convergence after {maxiter} iterations, residual {float(res):.3e} "
        f"> tolerance {float(tol):.1e}",
        residual=res, tolerance=tol,
    )


def secant(f, x0, x1, *, tol, f0=None, f1=None, bracket=False, maxiter=100, what="root"):
    """Root of a scalar ``f`` by the secant method, stopped by the size of its step.

    For functions whose derivative is not at hand (each evaluation a costly sum).  Stops when
    a step is below ``tol`` (``x`` is then good to about ``tol^1.6``: the method's order) or
    lands exactly on a root; with ``bracket`` (``f(x0) f(x1) < 0``) a step that leaves the
    current bracket is replaced by its midpoint, so the root is never lost.  ``f0``, ``f1``:
    values already known at ``x0``, ``x1``.  Works in any number type (float, mpf).
    ``ConvergenceError`` with the last residual after ``maxiter`` steps or on a flat secant.

    >>> r = secant(lambda x: x * x - 2, 1.0, 2.0, tol=1e-12, bracket=True)
    >>> bool(abs(r.u - 2 ** 0.5) < 1e-15), r.converged
    (True, True)
    """
    f0 = f(x0) if f0 is None else f0
    f1 = f(x1) if f1 is None else f1
    if bracket and not f0 * f1 < 0:
        raise ValueError(f"{what}: the bracket [{x0}, {x1}] does not change sign")
    lo, flo, hi = x0, f0, x1
    for it in range(1, maxiter + 1):
        if f1 == 0:
            return RootResult(u=x1, residual=f1, iterations=it, converged=True)
        if f1 == f0:
            break
        step = f1 * (x1 - x0) / (f1 - f0)
        x = x1 - step
        if bracket and not min(lo, hi) < x < max(lo, hi):
            x = (lo + hi) / 2
        fx = f(x)
        if bracket:                      # keep a sign change between lo and hi
            if fx * flo < 0:
                hi = x
            else:
                lo, flo = x, fx
        x0, f0, x1, f1 = x1, f1, x, fx
        if abs(x1 - x0) < tol:
            return RootResult(u=x1, residual=f1, iterations=it, converged=True)
    raise ConvergenceError(f"{what}: the secant method did not converge after {it} steps, residual "
                           f"{float(abs(f1)):.3e}", residual=f1, tolerance=tol)


def solve_count(counts, n, lo, hi, *, backend, tol, log, slope=None, start=None, maxiter=200,
                what="n1(kappa) = n"):
    """The count equation ``n1(kappa) = n``, which every model solves for its ridgeless (or
    ``t -> inf``) renormalised ridge: model A's ``n1(kappa) = min(N, T)``, model B's pole
    ``n1(kappa_0) = min(N, P)``, the nonlinear theory's ``df1(kappa_0) = T``.

    In ``u = log kappa`` the function ``F(u) = log n - log n1(e^u)`` increases, with slope
    ``(n1 - n2)/n1``, ``n2 = sum lambda^2/(lambda + kappa)^2`` (or ``slope(n1, n2)`` when given).
    ``counts(u)`` returns ``(n1, n2)`` at ``kappa = e^u``; ``log`` is ``numpy.log`` or the
    mpmath context's; ``start`` an initial guess in ``u`` (default ``hi``).  Returns the
    :class:`RootResult` in ``u``.

    >>> import numpy as np
    >>> lam = np.array([1.0, 0.5, 0.25])
    >>> def counts(u):
    ...     q = lam[None, :] / (lam[None, :] + np.exp(u)[:, None])
    ...     return q.sum(axis=1), (q * q).sum(axis=1)
    >>> r = solve_count(counts, 2.0, np.array([-10.0]), np.array([5.0]), backend=NumpyBackend(), tol=1e-14,
    ...                 log=np.log)
    >>> bool(abs(counts(r.u)[0][0] - 2.0) < 1e-12)
    True
    """
    def F(u):
        n1, n2 = counts(u)
        return log(n) - log(n1), ((n1 - n2) / n1 if slope is None else slope(n1, n2))

    return solve_increasing(F, lo, hi, backend=backend, tol=tol, start=start, maxiter=maxiter, what=what)


def newton(step_of, x, *, rtol, maxiter, what="root", strict=True):
    """Plain Newton iteration ``x <- x - F(x)/F'(x)`` on an array of roots at once, for
    equations already started close to their root (continuation, polishing in higher
    precision), where no bracket is needed.  ``step_of(x)`` returns ``F/F'``; ``x`` is a
    numpy array (complex, or ``object`` holding mpmath numbers).  Stops when every
    relative step is ``<= rtol``; after ``maxiter`` steps raises :class:`ConvergenceError`
    (``strict``) or returns the last iterate.

    >>> import numpy as np
    >>> r = newton(lambda x: (x * x - 2) / (2 * x), np.array([1.0, -1.0]), rtol=1e-15, maxiter=20)
    >>> bool(np.allclose(r, [2 ** 0.5, -2 ** 0.5], rtol=1e-15))
    True
    """
    worst = None
    for _ in range(maxiter):
        step = step_of(x)
        if x.dtype == object:       # mpmath: the step relative to the current iterate
            worst = max(abs(a) / abs(b) for a, b in zip(step, x))
            x = x - step
            if worst <= rtol:
                return x
        else:
            x = x - step
            if np.all(np.abs(step) <= rtol * np.abs(x)):
                return x
    if strict:
        if worst is None:
            worst = float(np.max(np.abs(step) / np.abs(x)))
        raise ConvergenceError(f"{what} did not converge (relative step {float(worst):.3g})",
                               residual=worst, tolerance=rtol)
    return x

