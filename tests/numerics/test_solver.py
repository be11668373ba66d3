"""The scalar secant solver of numerics/_solver.py (used where an evaluation is a costly sum
with no derivative at hand: the compute-optimal stationary point of the exponent checks)."""
import math

import mpmath
import pytest

from scaling_theory.numerics._solver import ConvergenceError, secant


def test_secant_reaches_the_root_in_mpmath_to_the_tolerance():
    ctx = mpmath.MPContext()
    ctx.dps = 50
    r = secant(lambda x: ctx.cos(x) - x, ctx.mpf(0), ctx.mpf(1), tol=ctx.mpf(10) ** -40)
    ref = ctx.findroot(lambda x: ctx.cos(x) - x, 0.7390851332151607)   # Newton, independent
    assert r.converged and abs(r.u - ref) < ctx.mpf(10) ** -45
    assert r.iterations <= 12


def test_bracket_keeps_the_root_where_the_plain_secant_runs_away():
    f = lambda x: math.atan(x - 1)        # noqa: E731
    with pytest.raises(ConvergenceError):   # the plain secant from (-3, 12) runs off to infinity
        secant(f, -3.0, 12.0, tol=1e-13)
    r = secant(f, -3.0, 12.0, tol=1e-13, bracket=True)
    assert abs(r.u - 1) < 1e-12


def test_bad_bracket_and_a_flat_function_are_refused():
    with pytest.raises(ValueError, match="does not change sign"):
        secant(lambda x: x * x + 1, -1.0, 1.0, tol=1e-12, bracket=True)
    with pytest.raises(ConvergenceError, match="did not converge"):
        secant(lambda x: 1.0, 0.0, 1.0, tol=1e-12)
