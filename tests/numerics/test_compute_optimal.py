"""Model B's compute-optimal frontier from the full theory (numerics/_compute_optimal.py).

The references are independent of the frontier code: the derived exponents (sympy: the
optimum of ``a t^-beta + b N^-c``, and with the finite-width transient ``t^(1/alpha - min(beta,1))/N``),
the time exponent of that transient measured on ``bap_theory`` at two widths, and a brute-force
grid minimisation of ``bap_theory`` at integer widths.
"""
import math

import numpy as np
import pytest

from scaling_theory.numerics import BAPModel, bap_compute_optimal, bap_theory
from scaling_theory.numerics._compute_optimal import derived_exponents


def model(alpha, beta, **kw):
    return BAPModel(M="inf", alpha=alpha, beta=beta, N=1, P=kw.pop("P", "inf"), **kw)


def test_beta_below_one_converges_to_the_derived_exponents():
    """beta < 1: both derived forms agree, and the local exponents of the full theory reach them
    to 1e-3 by C = 10^16 (measured: within 1e-5 at 10^18)."""
    r = bap_compute_optimal(model(1.5, 0.5), [1e16], progress=False)
    assert r.derived == pytest.approx(r.derived_width, abs=1e-12)
    for k in ("N", "t", "L"):
        assert abs(r.local[k][0] - r.derived[k]) < 1e-3, k


def test_beta_above_one_follows_the_width_term_not_the_additive_form():
    """beta > 1: the full theory's local exponents at C = 10^12 are the width-term ones
    (41/71, 30/71, -51/71 at alpha = 1.5, beta = 1.7) to 1e-3, and 0.04 away from the additive
    form's 17/32, 15/32, -51/64."""
    r = bap_compute_optimal(model(1.5, 1.7), [1e12], progress=False)
    assert r.derived_width == pytest.approx({"N": 41 / 71, "t": 30 / 71, "L": -51 / 71}, abs=1e-12)
    for k in ("N", "t", "L"):
        assert abs(r.local[k][0] - r.derived_width[k]) < 1e-3, k
        assert abs(r.local[k][0] - r.derived[k]) > 0.04, k


@pytest.mark.parametrize("alpha,beta", [(1.5, 1.7), (1.5, 0.5)])
def test_the_width_transient_has_the_derived_time_exponent(alpha, beta):
    """L(t, N) - L(t, 2N) ~ t^(1/alpha - min(beta, 1)) / N while t^(1/alpha) << N: the term
    that the derived width-term exponents use."""
    m = BAPModel(M="inf", alpha=alpha, beta=beta, N=10**12, P="inf")
    t = np.logspace(2, 5, 4)
    d = bap_theory(m, t).test_loss - bap_theory(m.replace(N=2 * 10**12), t).test_loss
    slope = np.polyfit(np.log(t), np.log(d), 1)[0]
    assert slope == pytest.approx(1 / alpha - min(beta, 1), abs=0.02)


def test_frontier_equals_a_brute_force_minimisation():
    """At C = 10^6 the minimiser over continuous N agrees with the best of a fine grid of integer
    widths through bap_theory (within the grid's spacing), and L* is not above the grid's best."""
    m = model(2.0, 1.0)
    C = 1e6
    r = bap_compute_optimal(m, [C], progress=False)
    Ns = np.unique(np.round(np.logspace(1.5, 5.5, 161))).astype(int)
    L = np.array([bap_theory(m.replace(N=int(N)), [C / N]).test_loss[0] for N in Ns])
    k = int(np.argmin(L))
    assert Ns[k - 1] <= r.N_star[0] <= Ns[k + 1]
    assert r.L_star[0] <= L[k] * (1 + 1e-9)


@pytest.mark.slow
def test_data_budget_with_label_noise():
    """C = N P, trained to convergence, label noise: N* and P* grow with C and L* falls."""
    r = bap_compute_optimal(model(1.5, 1.0, noise_var=0.01), [1e4, 1e6], budget="NP", progress=False)
    assert np.all(np.diff(r.N_star) > 0) and np.all(np.diff(r.other_star) > 0)
    assert np.all(np.diff(r.L_star) < 0) and r.derived is None
    assert set(r.to_dict()) >= {"N_star", "P_star", "L_star", "local_exponents"}


@pytest.mark.parametrize("kw,budget,compute,msg", [
    (dict(), "Nt", [10.0], "compute must be"),
    (dict(), "NT", [1e4], "budget must be"),
    (dict(), "NP", [1e4], "noise_var must be > 0"),
    (dict(eta=0.5), "Nt", [1e4], "gradient flow"),
])
def test_bad_input_is_refused(kw, budget, compute, msg):
    with pytest.raises(ValueError, match=msg):
        bap_compute_optimal(model(1.5, 1.0, **kw), compute, budget=budget, progress=False)
    with pytest.raises(ValueError, match="M must be inf"):
        bap_compute_optimal(BAPModel(M=1000, alpha=1.5, beta=1.0, N=1, P="inf"), [1e4], progress=False)


def test_derived_exponents_sum_to_one():
    for a, b in [(1.5, 0.5), (1.5, 1.7), (3.0, 2.5)]:
        for width in (False, True):
            e = derived_exponents(a, b, width_term=width)
            assert e["N"] + e["t"] == pytest.approx(1.0)
            assert e["L"] == pytest.approx(-b * e["t"])       # L* ~ t*^-beta on the frontier
            assert math.isfinite(e["L"])
