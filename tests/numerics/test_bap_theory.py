"""Model B theory (one-point results): derivation checks, the Talbot inversion
against closed forms, two precisions, the cross-check with model A, and the
exponents measured on the numerics."""
import math

import mpmath
import numpy as np
import pytest

from scaling_theory.numerics import BAPModel, MRSModel, mrs_theory
from scaling_theory.numerics._flow import bap_theory, bap_train_loss_infinite_width
from scaling_theory.theory._flow import BAP_SYMBOLS, derive_bap


def test_derivation_verifies():
    d = derive_bap()
    report = d.verify()
    assert all(r == 0 for rs in report.values() for r in rs)
    assert sum(len(s.residuals) for s in d.steps) >= 10


def closed_form(m, t):
    lam, w = m.eigenvalues(), m.target()
    return np.array([math.fsum(lam * w**2 * np.exp(-2 * lam * x)) for x in t])


@pytest.mark.parametrize("alpha,beta", [(1.5, 1.0), (2.0, 0.5), (1.2, 2.0)])
def test_infinite_width_limit_of_the_contour_inversion(alpha, beta):
    """N -> inf through the Talbot-in-kappa route reproduces sum lambda w^2 e^{-2 lambda t}."""
    m = BAPModel(M=400, alpha=alpha, beta=beta, N=10**13, P="inf")
    t = np.logspace(-1, 5, 19)
    got = bap_theory(m, t).test_loss
    want = closed_form(m, t)
    keep = want > 1e-8 * want[0]
    assert np.all(np.abs(got[keep] / want[keep] - 1) < 1e-7)
    # and the direct N = inf path is the closed form itself
    assert np.allclose(bap_theory(m.replace(N="inf"), t).test_loss, want, rtol=1e-12)


def test_t_zero_and_initial_slope():
    m = BAPModel(M=300, alpha=1.5, beta=1.0, N=60, P="inf")
    lam, w = m.eigenvalues(), m.target()
    L = bap_theory(m, [0.0, 1e-6]).test_loss
    assert abs(L[0] / np.sum(lam * w**2) - 1) < 1e-14
    # dL/dt(0) = -2 u^T E[J] u = -2 sum lambda^2 w^2 (E[A^T A / N] = I)
    slope = (L[1] - L[0]) / 1e-6
    assert abs(slope / (-2 * np.sum(lam**2 * w**2)) - 1) < 1e-4


@pytest.mark.parametrize("N", [40, 85])
def test_two_precisions_and_double(N):
    m = BAPModel(M=120, alpha=1.5, beta=0.8, N=N, P="inf")
    t = [0.5, 20.0, 3000.0]
    a = bap_theory(m, t, dps=20)
    b = bap_theory(m, t, dps=30)
    d = bap_theory(m, t)
    L0 = float(np.sum(m.eigenvalues() * m.target() ** 2))
    for x, y, z in zip(a.test_loss, b.test_loss, d.test_loss):
        assert abs(mpmath.mpf(x) / mpmath.mpf(y) - 1) < mpmath.mpf(10) ** -19
        assert abs(z - float(y)) < 1e-10 * L0     # double: absolute accuracy on the scale L(0)
    before = mpmath.mp.prec
    bap_theory(m, [1.0], dps=25)
    assert mpmath.mp.prec == before


def test_late_time_limit_is_the_final_loss_and_model_A_agrees():
    """t -> inf: kappa0 g1(kappa0); and model B's data is model A's: L_B(inf) = 2 L_A(T -> inf)."""
    m = BAPModel(M=800, alpha=1.5, beta=1.0, N=100, P="inf")
    r = bap_theory(m, [1e7])
    assert abs(r.test_loss[0] / r.final_loss - 1) < 1e-9
    lam, w = m.eigenvalues(), m.target()
    a = mrs_theory(MRSModel(M=800, N=100, T=10**13, spectrum=lam, teacher_variances=w**2))
    # model A carries a 1/2 in its loss; its T -> inf ridgeless branch has a factor T/(T - N) -> 1
    assert abs(2 * a.test_loss / r.final_loss - 1) < 1e-9


def test_losses_decrease_in_time_and_width():
    t = np.logspace(-1, 4, 11)
    curves = [bap_theory(BAPModel(M=500, alpha=1.5, beta=1.0, N=N, P="inf"), t).test_loss for N in (30, 100, 300)]
    for c in curves:
        assert np.all(np.diff(c) <= 1e-12 * c[0]) and np.all(np.diff(c[:6]) < 0)
    assert np.all(curves[0] > curves[1]) and np.all(curves[1] > curves[2])


def test_train_loss_at_infinite_width():
    """N = inf, finite P: P -> inf recovers the closed form; P < M interpolates (train -> 0)."""
    m = BAPModel(M=300, alpha=1.5, beta=1.0, N="inf", P=10**13)
    t = np.array([0.3, 3.0, 30.0])
    assert np.allclose(bap_train_loss_infinite_width(m, t).train_loss, closed_form(m, t), rtol=1e-8)
    mp_ = m.replace(P=100)
    L = bap_train_loss_infinite_width(mp_, [0.0, 1.0, 1e3, 1e6]).train_loss
    assert abs(L[0] / np.sum(m.eigenvalues() * m.target() ** 2) - 1) < 1e-12
    assert np.all(np.diff(L) < 0) and L[-1] < 1e-6 * L[0]


@pytest.mark.parametrize("beta", [0.5, 1.5])
def test_exponents_measured_on_the_numerics(beta):
    """L(t) ~ t^-beta at N = P = inf; L(inf) ~ N^-(alpha min(beta, 1)) at P = inf (slopes within 0.03),
    measured at M = inf."""
    alpha = 1.5
    d = derive_bap()
    a_, b_ = BAP_SYMBOLS["alpha"], BAP_SYMBOLS["beta"]
    e_t = float(d["exponent_t"].subs(b_, beta))
    e_N = float(d["exponent_N"].subs({a_: alpha, b_: beta}))
    big = BAPModel(M="inf", alpha=alpha, beta=beta, N="inf", P="inf")
    t = np.logspace(2, 4, 9)
    L = bap_theory(big, t).test_loss
    assert abs(np.polyfit(np.log(t), np.log(L), 1)[0] - e_t) < 0.03
    # prefactor Gamma(beta) (2t)^-beta / alpha
    lead = float(d["loss_N_P_inf"].subs({a_: alpha, b_: beta, BAP_SYMBOLS["t"]: t[-1]}))
    assert abs(L[-1] / lead - 1) < 0.05
    Ns = np.geomspace(1e3, 1e5, 7).round()         # M = inf: O(1) sums, no plateau
    finals = [bap_theory(big.replace(N=N), [1e12]).final_loss for N in Ns]
    assert abs(np.polyfit(np.log(Ns), np.log(finals), 1)[0] - e_N) < 0.03


def test_unsupported_settings_raise():
    m = BAPModel(M=100, alpha=1.5, beta=1, N=10, P=90)
    for bad in (3, 2.5, True, 1000):
        with pytest.raises(ValueError, match="dps"):
            bap_theory(m, [1.0], dps=bad)
    with pytest.raises(ValueError, match="times"):
        bap_theory(BAPModel(M=100, alpha=1.5, beta=1, N=10, P="inf"), [-1.0])
    with pytest.raises(ValueError, match="eta"):
        bap_theory(BAPModel(M=100, alpha=1.5, beta=1, N=10, P="inf", eta=1.9), [1.9])
    with pytest.raises(ValueError, match="ensemble"):   # SGD ensembles sharing batches: simulated only
        bap_theory(BAPModel(M=100, alpha=1.5, beta=1, N=10, P="inf", eta=0.1, batch=8, ensemble=2), [1.0])


# -- finite P: the two-frequency kernels -------------------------------------------
def test_two_point_route_reproduces_the_one_point_results():
    """Independent checks of the two-point building block: at P = inf the double inversion
    equals the single (one-point) inversion; at N = inf its train loss equals the one-point
    train loss."""
    from scaling_theory.numerics._flow import _two_point_curves
    from scaling_theory.numerics._flow_sums import BAPSpectrum
    t = np.logspace(-1, 7, 17)
    m = BAPModel(M=600, alpha=1.5, beta=1.0, N=80, P="inf")
    one = bap_theory(m, t).test_loss
    two, _ = _two_point_curves(BAPSpectrum(m), 80, math.inf, 0.0, t)
    assert np.max(np.abs(two - one)) < 1e-7 * one[0]
    mi = BAPModel(M=600, alpha=1.5, beta=1.0, N="inf", P=200)
    one_tr = bap_train_loss_infinite_width(mi, t).train_loss
    _, two_tr = _two_point_curves(BAPSpectrum(mi), math.inf, 200, 0.0, t)
    assert np.max(np.abs(two_tr - one_tr)) < 1e-7 * one_tr[0]


@pytest.mark.parametrize("N,P,noise", [(100, 300, 0.0), (300, 100, 0.0), (100, 300, 0.01), (300, 120, 0.01)])
def test_late_time_finite_P_equals_model_A_ridgeless(N, P, noise):
    """t -> inf is ridgeless regression: twice model A's theory (independent code) with T = P."""
    m = BAPModel(M=800, alpha=1.5, beta=1.0, N=N, P=P, noise_var=noise)
    lam, w = m.eigenvalues(), m.target()
    r = bap_theory(m, [1e9])
    a = mrs_theory(MRSModel(M=800, N=N, T=P, noise_var=noise, spectrum=lam, teacher_variances=w**2))
    assert abs(r.test_loss[0] / (2 * a.test_loss) - 1) < 1e-6
    assert abs(r.train_loss[0] - 2 * a.train_loss) < 1e-6 * r.test_loss[0] + 1e-12


def test_finite_P_curves_are_sane():
    m = BAPModel(M=800, alpha=1.5, beta=1.0, N=100, P=300)
    t = np.logspace(-1, 6, 15)
    r = bap_theory(m, t)
    L0 = np.sum(m.eigenvalues() * m.target() ** 2)
    # gradient flow never increases the train loss; the test loss may rise late (misspecification
    # of N < P features acts like label noise: data reuse overfits it), as the simulations show
    assert np.all(np.diff(r.train_loss) <= 1e-9 * L0)
    assert r.test_loss[-1] > r.test_loss.min()
    assert np.all(r.train_loss <= r.test_loss + 1e-9 * L0)       # the train-test gap opens with reuse


# -- discrete-time gradient descent ------------------------------------------------
def test_gradient_descent_reduces_to_the_closed_form():
    """N, P -> inf through the w-Talbot route: sum_k u_k^2 (1 - eta lambda_k)^{2n}."""
    from scaling_theory.numerics._flow import _two_point_curves
    from scaling_theory.numerics._flow_sums import BAPSpectrum
    m = BAPModel(M=500, alpha=1.5, beta=1.0, N="inf", P="inf")
    lam, u2 = m.eigenvalues(), m.eigenvalues() * m.target() ** 2
    eta = 0.5
    n = np.array([1, 2, 5, 20, 100, 1000, 10000])
    exact = np.array([np.sum(u2 * (1 - eta * lam) ** (2 * k)) for k in n])
    two, _ = _two_point_curves(BAPSpectrum(m), math.inf, math.inf, 0.0, n * eta, eta=eta)
    assert np.max(np.abs(two - exact)) < 1e-8 * exact[0]
    direct = bap_theory(m.replace(eta=eta), n * eta).test_loss
    assert np.allclose(direct, exact, rtol=1e-12)


def test_gradient_descent_approaches_gradient_flow_and_checks_eta():
    m = BAPModel(M=800, alpha=1.5, beta=1.0, N=100, P=300)
    t = np.array([100.0, 1e4])
    gd = bap_theory(m.replace(eta=0.05), t).test_loss
    gf = bap_theory(m, t).test_loss
    assert np.allclose(gd, gf, rtol=2e-3)                 # small steps: GD -> GF
    with pytest.raises(ValueError, match="eta must be < 2/lambda_max"):
        bap_theory(m.replace(eta=3.0), [3.0])
    with pytest.raises(ValueError, match="multiples of eta"):
        bap_theory(m.replace(eta=0.3), [1.0])
