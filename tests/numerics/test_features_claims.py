"""Issue 4, measured: nonlinear features keep the test loss falling past N = M.

Model A (``CONVENTIONS.md``), ridgeless, at large ``T`` (``T >= 20 N``,
or the theory's ``T -> inf`` limit ``population_test_loss``), with a small
label noise so that the linear floor is a number rather than zero.

What the theory predicts
------------------------
1. **Linear features plateau.**  For ``N >= M`` the features ``X U^T`` span
   the latent space, so least squares on ``T > M`` samples is ordinary least
   squares in the ``M`` latent coordinates, whatever ``N``:
   ``<L> = noise_var M / (2 (T - M - 1))`` exactly (inverse-Wishart mean;
   the theory's leading order is ``noise_var M / (2 (T - M))``), and 0
   without label noise.  Extra features add nothing.
2. **Nonlinear features keep falling.**  In the Hermite (Wick) basis a random
   feature ``act(u.x)`` is a random vector with the kernel's spectrum ``nu``:
   order 1 are the latent modes ``W_1 lambda_I``, orders ``n >= 2`` the
   products ``W_n lambda_I1 .. lambda_In`` (the extended spectrum,
   :func:`scaling_theory.numerics._feature_spectra.predicted_feature_spectrum`).  The target
   ``y = w.x`` lies in the order-1 modes.  At ``T -> inf`` the read-out is the
   best approximation of ``y`` from ``N`` random features; treating them as
   Gaussian vectors of covariance ``diag(nu)`` (Gaussian equivalence in
   feature space), ``L = 1/2 sum_I t_I kappa / (W_1 lambda_I + kappa)``,
   ``t_I = E[w_I^2] lambda_I``, with ``sum_k nu_k / (nu_k + kappa) = N``.
   Past ``M`` the order-1 modes are used up and the extended modes absorb the
   other ``N - M`` degrees of freedom, so ``kappa`` is the extended spectrum
   at rank ``N - M``, ``kappa ~ (N - M)^-a_ext``; once ``kappa << W_1
   lambda_M`` the loss is linear in it.  Prediction:
   ``L ~ (N - M)^-a_ext``, the exponent of the extended spectrum itself (not
   ``a_ext - 1``: the target has no power in the extended modes, they only
   set the self-induced ridge ``kappa``).  In ``N`` the local slope is
   ``a_ext N / (N - M)``, steeper just past ``M``.
   * erf (odd: orders 3, 5, ...) at the model's small pre-activation
     variance ``qbar = sigma_u2 sum(lambda) / M``: the order-3 products
     dominate, ``a_ext`` is their derived local exponent
     (:func:`scaling_theory.numerics._feature_spectra.product_spectrum_exponent`, ``1 + alpha``
     with logarithmic corrections).
   * relu: the mean-field series diverges (see
     :func:`~scaling_theory.numerics._feature_spectra.predicted_feature_spectrum`), and the
     prediction built on its order-2 products fails (below).

Measured (``mrs_nonlinear_theory``, ``T -> inf``, N in [4M, 16M], M = 50):
erf's exponent in ``N - M`` is 1.08 / 1.45 / 2.24 for alpha = 0.5 / 1 / 2
against the derived order-3 values 1.04 / 1.39 / 2.08 (agreement within
0.06-0.15, the measured value always slightly above).  relu's is 1.35 / 1.35 /
1.33, independent of alpha, so it disagrees with the order-2 product exponent
1.21 / 1.61 / 2.41 (in both directions) and exceeds the white-nuisance value 1:
its exponent is not predicted by the tensor-power picture.  Just past ``M``
(N in [1.5M, 4M], M = 100, alpha = 1) the slopes in ``N`` are 2.94 (erf) and
1.16 (relu); in ``N - M`` 1.63 and 0.63.  Simulation agrees with the theory
past ``M`` within its standard errors.

Expected numbers come from closed forms, the symbolic layer's product
exponent and simulation; only properties (ratios, orderings, bounds) are
asserted on the theory's own curves.
"""
import math

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from scaling_theory.numerics._feature_spectra import product_spectrum_exponent
from scaling_theory.numerics._models import MRSModel
from scaling_theory.numerics._ridge import mrs_theory_grid
from scaling_theory.numerics._ridge_nonlinear import mrs_nonlinear_theory
from scaling_theory.numerics._simulate_ridge import simulate_mrs

M, ALPHA = 100, 1.0
NOISE = 1e-8                       # small: the linear floor is a number, not 0
GRID = M * np.array([1.0, 1.5, 2.0, 3.0, 4.0])
NS = GRID.astype(int)
T_BIG = int(50 * NS.max())         # T >> N
U_DRAWS = 8


def _model(act, N, T=T_BIG, M=M, alpha=ALPHA, noise=NOISE):
    return MRSModel(M=M, alpha=alpha, N=int(N), T=int(T), activation=act, noise_var=noise)


def _nonlinear(act, Ns, **kw):
    """Theory at every N: (test loss, its U-sampling sem, population limit)."""
    with threadpool_limits(limits=1):       # small eigenproblems: threads only spin
        rs = [mrs_nonlinear_theory(_model(act, N, **kw), u_draws=U_DRAWS, seed=0) for N in Ns]
    return (np.array([r.test_loss[0] for r in rs]), np.array([r.test_loss_sem[0] for r in rs]),
            np.array([r.population_test_loss for r in rs]))


def _slope(x, y):
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


@pytest.fixture(scope="module")
def near_M():
    """Loss vs N on [M, 4M] at T = 50 x 4M for linear, relu and erf."""
    out = {"linear": (mrs_theory_grid(_model("linear", 1), N=NS).test_loss, None, None)}
    for act in ("relu", "erf"):
        out[act] = _nonlinear(act, NS)
    return out


# ---------------------------------------------------------------------------
# (a) linear features plateau at N >= M
# ---------------------------------------------------------------------------
def test_linear_features_plateau_at_the_closed_form(near_M):
    L = near_M["linear"][0]
    floor = NOISE * M / (2 * (T_BIG - M))            # leading-order closed form
    assert np.allclose(L, floor, rtol=1e-9, atol=0)
    assert abs(L[2] / L[0] - 1) < 0.01 and abs(L[4] / L[0] - 1) < 0.01
    # the plateau is a cliff: below M the loss is many decades higher
    below = float(mrs_theory_grid(_model("linear", M // 2)).test_loss)
    assert below > 1e4 * floor
    # the Gaussian-equivalent theory (an independent code path) agrees
    g = mrs_nonlinear_theory(_model("linear", 2 * M), u_draws=4, seed=0)
    assert abs(g.test_loss[0] / floor - 1) < 1e-6


def test_linear_plateau_in_simulation():
    """Same seed: the simulated loss does not depend on N >= M at all (the
    fits are the same OLS in latent space), and it matches the exact mean."""
    T, seeds = 4000, 12
    with threadpool_limits(limits=1):
        a = simulate_mrs(_model("linear", 150, T=T), seeds=seeds, seed=7)
        b = simulate_mrs(_model("linear", 300, T=T), seeds=seeds, seed=7)
    assert np.allclose(a.test_loss, b.test_loss, rtol=1e-7, atol=0)
    exact = NOISE * M / (2 * (T - M - 1))
    assert abs(a.test_loss[0] - exact) < max(3 * a.test_loss_sem[0], 0.05 * exact)


# ---------------------------------------------------------------------------
# (b) relu and erf keep falling on [M, 4M]
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("act, max_ratio", [("relu", 0.3), ("erf", 0.01)])
def test_nonlinear_features_keep_falling_past_M(near_M, act, max_ratio):
    L, sem, _pop = near_M[act]
    assert np.all(np.diff(L) < 0)                              # falls at every step
    assert L[-1] / L[0] < max_ratio                            # measured: relu 0.21, erf 0.0025
    assert L[0] - L[-1] > 20 * math.hypot(sem[0], sem[-1])     # far beyond the U sampling
    assert np.all(L > 10 * near_M["linear"][0])                # the linear floor is far below


# ---------------------------------------------------------------------------
# (c) the exponent past M against the prediction L ~ (N - M)^-a_ext
# ---------------------------------------------------------------------------
ASYM_M = 50
ASYM_NS = np.unique(np.round(ASYM_M * np.geomspace(4, 16, 5))).astype(int)


def _asymptotic_slope(act, alpha):
    """Exponent of the T -> inf loss in N - M over N in [4M, 16M] (M = 50)."""
    _L, _s, pop = _nonlinear(act, ASYM_NS, M=ASYM_M, alpha=alpha, T=10**8)
    return -_slope(ASYM_NS - ASYM_M, pop)


def _product_exponent(alpha, order):
    """Derived local exponent of the order-n products at the window's mid rank N - M."""
    mid = math.sqrt((ASYM_NS[0] - ASYM_M) * (ASYM_NS[-1] - ASYM_M))
    return product_spectrum_exponent(alpha, order, mid)


@pytest.fixture(scope="module")
def asymptotic():
    return {act: _asymptotic_slope(act, ALPHA) for act in ("relu", "erf")}


def test_erf_exponent_is_the_extended_spectrum_exponent(asymptotic):
    """erf: L ~ (N - M)^-a_ext with a_ext the derived order-3 product exponent
    (measured 1.45 against 1.39)."""
    predicted = _product_exponent(ALPHA, 3)
    assert abs(asymptotic["erf"] - predicted) < 0.15
    assert asymptotic["erf"] < 1 + ALPHA              # log corrections: below 1 + alpha


def test_relu_exponent_is_not_the_order_2_product_exponent(asymptotic):
    """relu disagrees with the tensor-power prediction: measured 1.35 against the
    order-2 product exponent 1.61 (alpha = 1), and above the white-nuisance
    (Gaussian-equivalence) value 1.  Asserted as measured."""
    assert abs(asymptotic["relu"] - _product_exponent(ALPHA, 2)) > 0.15
    assert 1.15 < asymptotic["relu"] < 1.55


def test_slope_just_past_M_follows_the_shift_by_M(near_M):
    """Just past M the slope in N is a_ext N / (N - M): erf's slope in N on
    [1.5M, 4M] is much steeper than its slope in N - M, which stays near the
    asymptotic exponent."""
    _L, _s, pop = near_M["erf"]
    in_N = -_slope(NS[1:], pop[1:])
    in_shift = -_slope(NS[1:] - M, pop[1:])
    mean_shift = float(np.mean(NS[1:] / (NS[1:] - M)))
    assert in_N > 2.0 and in_shift < 2.0
    assert abs(in_N / in_shift - mean_shift) < 0.3 * mean_shift


# ---------------------------------------------------------------------------
# (d) how the exponent depends on the activation
# ---------------------------------------------------------------------------
def test_erf_falls_faster_than_relu_just_past_M(near_M):
    """N in [1.5M, 4M], alpha = 1: erf (nearly linear at small qbar, a small and
    steep nuisance) ~2.9 in N, relu (an O(1) nuisance spread over all orders) ~1.2."""
    s = {act: -_slope(NS[1:], near_M[act][2][1:]) for act in ("relu", "erf")}
    assert s["erf"] > s["relu"] + 1.0
    assert 0.9 < s["relu"] < 1.6


@pytest.mark.slow
def test_asymptotic_exponent_tracks_alpha_for_erf_not_for_relu():
    """N in [4M, 16M]: erf inherits the latent exponent through the order-3
    products (within 0.2 of the derived value for alpha = 0.5, 2; measured
    1.08, 2.24 against 1.04, 2.08); relu's exponent stays at ~1.34 (1.35,
    1.33), so it misses the order-2 prediction (1.21, 2.41) in both directions,
    and which activation falls faster depends on alpha."""
    erf = {a: _asymptotic_slope("erf", a) for a in (0.5, 2.0)}
    relu = {a: _asymptotic_slope("relu", a) for a in (0.5, 2.0)}
    for a in (0.5, 2.0):
        assert abs(erf[a] - _product_exponent(a, 3)) < 0.2
    assert erf[2.0] - erf[0.5] > 0.8
    assert abs(relu[2.0] - relu[0.5]) < 0.1
    assert relu[0.5] > _product_exponent(0.5, 2) + 0.1
    assert relu[2.0] < _product_exponent(2.0, 2) - 0.5
    assert erf[2.0] > relu[2.0] and erf[0.5] < relu[0.5]


# ---------------------------------------------------------------------------
# (e) theory against simulation past M
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("act", ["relu", "erf"])
def test_nonlinear_theory_matches_simulation_past_M(act):
    """N = 2M, T = 20 N (large T, the deterministic equivalent's 1/T corrections
    are small): within max(3 combined sem, 5 %).  Draw i of the theory uses the
    U of simulated instance i (same seed)."""
    m = _model(act, 2 * M, T=4000)
    seeds = 16
    with threadpool_limits(limits=1):
        sim = simulate_mrs(m, seeds=seeds, seed=11)
    th = mrs_nonlinear_theory(m, u_draws=seeds, seed=11)
    diff = abs(sim.test_loss[0] - th.test_loss[0])
    sem = math.hypot(sim.test_loss_sem[0], th.test_loss_sem[0])
    assert diff < max(3 * sem, 0.05 * th.test_loss[0])
    # past M and still far above the linear floor: the comparison is not trivial
    assert th.test_loss[0] > 100 * NOISE * M / (2 * (4000 - M))
