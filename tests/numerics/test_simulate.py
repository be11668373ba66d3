"""Tests of the finite simulation of model A (numerics/_simulate_ridge.py).

Expected values come from independent computations: normal equations /
``numpy.linalg.lstsq`` for the estimator, ``scipy.integrate`` for the
Gaussian feature moments, Monte Carlo test samples, and closed forms.
"""
import doctest
import json
import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import erf

import scaling_theory.numerics._simulate_ridge as sim
from scaling_theory.numerics._models import MRSModel
from scaling_theory.numerics._simulate_ridge import MRSSimulation, simulate_mrs, simulate_mrs_instance

ACTS = {
    "linear": lambda h: h,
    "relu": lambda h: np.maximum(h, 0.0),
    "erf": erf,
    "tanh": np.tanh,
}
DACTS = {  # derivatives, for E[act'(h)]
    "linear": lambda h: np.ones_like(h),
    "relu": lambda h: (h > 0).astype(float),
    "erf": lambda h: 2 / np.sqrt(np.pi) * np.exp(-h * h),
    "tanh": lambda h: 1 - np.tanh(h) ** 2,
}


# ---------------------------------------------------------------------------
# independent reference implementations
# ---------------------------------------------------------------------------
def _ref_theta(Phi, y, gamma):
    """Normal equations (gamma > 0) or lstsq (gamma = 0), cutoff 1e-13."""
    if gamma == 0:
        return np.linalg.lstsq(Phi, y, rcond=1e-13)[0]
    n = Phi.shape[1]
    return np.linalg.solve(Phi.T @ Phi + gamma * np.eye(n), Phi.T @ y)


def _ref_gauss2(f, s11, s12, s22, act=None):
    """E[f(a, b)] for (a, b) ~ N(0, [[s11, s12], [s12, s22]]) by scipy quadrature.

    Smooth integrands use ``dblquad``. For ReLU (``act="relu"``, where ``f`` is
    ignored and ``E[relu(a) relu(b)]`` is returned) the inner expectation is
    the closed form ``E[relu(b) | a] = m Phi(m/s) + s phi(m/s)`` and the outer
    one a 1-D ``quad`` over ``a > 0``, so that the kink does not spoil accuracy.
    """
    if act == "relu":
        from scipy.stats import norm

        s = math.sqrt(max(s22 - s12 * s12 / s11, 0.0))

        def outer(a):
            m = s12 / s11 * a
            inner = m * norm.cdf(m / s) + s * norm.pdf(m / s) if s > 0 else max(m, 0.0)
            return a * inner * math.exp(-a * a / (2 * s11)) / math.sqrt(2 * math.pi * s11)

        return integrate.quad(outer, 0, 12 * math.sqrt(s11), epsabs=1e-13, epsrel=1e-12)[0]
    l11 = math.sqrt(s11)
    l21 = s12 / l11
    l22 = math.sqrt(max(s22 - l21 * l21, 0.0))

    def integrand(z2, z1):
        a = l11 * z1
        b = l21 * z1 + l22 * z2
        return f(a, b) * math.exp(-(z1 * z1 + z2 * z2) / 2) / (2 * math.pi)

    val, _ = integrate.dblquad(integrand, -9, 9, -9, 9, epsabs=1e-12, epsrel=1e-11)
    return val


def _ref_relu_kernel(Sigma):
    """Arc-cosine kernel of degree 1 in the form
    ``(sqrt(S_ii S_jj - S_ij^2) + S_ij (pi - arccos rho)) / (2 pi)``."""
    d = np.sqrt(np.diag(Sigma))
    rho = np.clip(Sigma / np.outer(d, d), -1, 1)
    det = np.clip(np.outer(d * d, d * d) - Sigma * Sigma, 0, None)
    return (np.sqrt(det) + Sigma * (np.pi - np.arccos(rho))) / (2 * np.pi)


def _ref_moments(act, Sigma, cov):
    """K and k: ReLU by the second closed form above, erf and tanh by a
    high-order product Gauss-Hermite rule written here (200 nodes per
    dimension, on the eigen-decomposition rather than the Cholesky factor)."""
    if act == "relu":
        return _ref_relu_kernel(Sigma), cov / 2
    x, wt = np.polynomial.hermite.hermgauss(200)
    z, p = np.sqrt(2) * x, wt / np.sqrt(np.pi)
    f = ACTS[act]
    n = Sigma.shape[0]
    K = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            C = Sigma[np.ix_([i, j], [i, j])]
            ev, V = np.linalg.eigh(C)
            L = V * np.sqrt(np.clip(ev, 0, None))
            a = L[0, 0] * z[:, None] + L[0, 1] * z[None, :]
            b = L[1, 0] * z[:, None] + L[1, 1] * z[None, :]
            K[i, j] = K[j, i] = np.sum(np.outer(p, p) * f(a) * f(b))
    sd = np.sqrt(np.diag(Sigma))
    k = cov * (DACTS[act](sd[:, None] * z[None, :]) @ p)
    return K, k


def _ref_losses(model, rng, gammas):
    """Losses of one instance from the draws, with independent algebra."""
    lam, w, U, X, eps = sim._draw_instance(model, rng)
    y = X @ w + eps
    Phi = ACTS[model.activation](X @ U.T)
    tests, trains = [], []
    for g in gammas:
        th = _ref_theta(Phi, y, g)
        r = Phi @ th - y
        trains.append(0.5 * np.mean(r * r))
        if model.activation == "linear":
            d = U.T @ th - w
            tests.append(0.5 * np.sum(lam * d * d))
        else:
            Sigma = (U * lam) @ U.T
            K, k = _ref_moments(model.activation, Sigma, (U * lam) @ w)
            tests.append(0.5 * (th @ K @ th - 2 * k @ th + np.sum(lam * w * w)))
    return np.array(tests), np.array(trains), (lam, w, U, X, eps, Phi, y)


# ---------------------------------------------------------------------------
# Gaussian feature moments
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("act", ["relu", "erf", "tanh"])
@pytest.mark.parametrize("cov2", [(1.3, 0.5, 0.8), (0.4, -0.35, 0.5), (0.9, 0.0, 0.2)])
def test_feature_kernel_matches_dblquad(act, cov2):
    s11, s12, s22 = cov2
    Sigma = np.array([[s11, s12], [s12, s22]])
    cy = np.array([0.3, -0.2])
    K, k, _ = sim._feature_moments(act, Sigma, cy)
    f = ACTS[act]
    ref = _ref_gauss2(lambda a, b: f(a) * f(b), s11, s12, s22, act=act)
    assert K[0, 1] == pytest.approx(ref, abs=1e-10)
    assert K[0, 1] == K[1, 0]
    for i, sii in enumerate((s11, s22)):
        ref = _ref_gauss2(lambda a, b: f(a) * f(b), sii, sii, sii, act=act)
        assert K[i, i] == pytest.approx(ref, abs=1e-10)
        # k_i = E[act(h_i) y] for y jointly Gaussian with E[h_i y] = cy_i, E[y^2] = 1
        if act == "relu":  # E[relu(h) y] = (cy/sii) E[relu(h) h] = (cy/sii) sii/2, by quad
            half = integrate.quad(lambda a: a * a * math.exp(-a * a / (2 * sii)), 0, np.inf)[0]
            ref = cy[i] / sii * half / math.sqrt(2 * math.pi * sii)
        else:
            ref = _ref_gauss2(lambda a, yy: f(a) * yy, sii, cy[i], 1.0)
        assert k[i] == pytest.approx(ref, abs=1e-10)


def test_relu_kernel_degenerate_pairs():
    """Perfectly (anti)correlated pairs: cos theta = +-1 after clipping."""
    v = np.array([1.0, 2.0, -1.5])
    Sigma = np.outer(v, v) * (1 + 1e-15)
    K, _, _ = sim._feature_moments("relu", Sigma, np.zeros(3))
    # relu(a v_i) relu(a v_j): E = v_i v_j / 2 if same sign, 0 otherwise
    expected = np.where(np.outer(v, v) > 0, np.outer(v, v) / 2, 0.0)
    np.testing.assert_allclose(K, expected, atol=1e-7)


def test_tanh_quadrature_order_is_adaptive_and_fails_loudly():
    assert sim._tanh_order(np.array([0.01, 0.1])) == 40
    assert sim._tanh_order(np.array([0.1, 1.0])) > 40
    with pytest.raises(ValueError, match="tanh"):
        sim._tanh_order(np.array([10.0]))
    # the order actually used is accurate at a variance that needs more than 40
    Sigma = np.array([[1.8, 0.9], [0.9, 1.2]])
    K, dmean, order = sim._tanh_moments(Sigma)
    assert order > 40
    ref = _ref_gauss2(lambda a, b: math.tanh(a) * math.tanh(b), 1.8, 0.9, 1.2)
    assert K[0, 1] == pytest.approx(ref, abs=1e-10)


# ---------------------------------------------------------------------------
# one instance against independent algebra
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("act", ["linear", "relu", "erf", "tanh"])
@pytest.mark.parametrize("N,T", [(8, 20), (20, 8)])  # (8, 20): the QR path (T >= 2N)
def test_instance_matches_normal_equations(act, N, T):
    # a large sigma_u2 puts erf / tanh pre-activations (variances up to ~1) off the
    # linear regime; tanh then needs Gauss-Hermite orders above 40
    su2 = 4.0 if act == "tanh" else 10.0
    model = MRSModel(M=30, alpha=1.0, N=N, T=T, noise_var=0.05, sigma_u2=su2, activation=act)
    gammas = [0.0, 1e-3, 0.1, 10.0]
    test, train = simulate_mrs_instance(model, np.random.default_rng(11), gammas)
    ref_test, ref_train, (*_, y) = _ref_losses(model, np.random.default_rng(11), gammas)
    np.testing.assert_allclose(test, ref_test, rtol=1e-10)
    if N > T:  # gamma = 0 interpolates: compare on the scale of the labels
        scale = np.mean(y * y)
        assert abs(train[0] - ref_train[0]) < 1e-12 * scale
        np.testing.assert_allclose(train[1:], ref_train[1:], rtol=1e-9)
    else:
        np.testing.assert_allclose(train, ref_train, rtol=1e-10)
    # the losses are not trivially equal across ridges
    assert np.ptp(test) > 1e-3 * np.max(test)


def test_tall_qr_path_equals_the_thin_svd(monkeypatch):
    # T >= 2N factors [Phi | y] by QR and never forms the left factor; the plain thin SVD
    # (TALL_RATIO out of reach) must give the same losses
    model = MRSModel(M=60, alpha=1.0, N=15, T=90, noise_var=0.01, activation="relu")
    gammas = [0.0, 1e-4, 0.1]
    qr = simulate_mrs_instance(model, np.random.default_rng(5), gammas)
    monkeypatch.setattr(sim, "TALL_RATIO", 10**9)
    svd = simulate_mrs_instance(model, np.random.default_rng(5), gammas)
    np.testing.assert_allclose(qr, svd, rtol=1e-11)


@pytest.mark.parametrize("act", ["relu", "erf", "tanh"])
def test_exact_nonlinear_test_loss_matches_monte_carlo(act):
    su2 = 4.0 if act == "tanh" else 10.0
    model = MRSModel(M=30, alpha=1.0, N=20, T=40, sigma_u2=su2, gamma=1e-2, activation=act)
    test, _ = simulate_mrs_instance(model, np.random.default_rng(5))
    lam, w, U, X, eps = sim._draw_instance(model, np.random.default_rng(5))
    y = X @ w + eps
    theta = _ref_theta(ACTS[act](X @ U.T), y, model.gamma)
    gen = np.random.default_rng(12345)
    samples = []
    for _ in range(4):  # 200k fresh noise-free test points
        x = gen.standard_normal((50_000, model.M)) * np.sqrt(lam)
        r = ACTS[act](x @ U.T) @ theta - x @ w
        samples.append(0.5 * r * r)
    samples = np.concatenate(samples)
    mc, sem = samples.mean(), samples.std(ddof=1) / math.sqrt(samples.size)
    assert abs(test[0] - mc) < 4 * sem
    # and the test is sharp: a relative error of 2% would be detected
    assert 4 * sem < 0.02 * mc


# ---------------------------------------------------------------------------
# limits with closed forms
# ---------------------------------------------------------------------------
def test_huge_ridge_gives_null_predictor_per_instance_and_on_average():
    tv = np.linspace(0.5, 2.0, 50) / 50  # non-flat teacher variances
    model = MRSModel(M=50, alpha=0.7, N=6, T=6, gamma=1e12, teacher_variances=tv)
    seeds = 2000
    res = simulate_mrs(model, seeds=seeds, seed=2)
    children = np.random.SeedSequence(2).spawn(seeds)
    lam = model.eigenvalues()
    for i in (0, 17, seeds - 1):
        _, w, *_ = sim._draw_instance(model, np.random.default_rng(children[i]))
        assert res.per_seed_test[i, 0] == pytest.approx(0.5 * np.sum(lam * w * w), rel=1e-9)
    closed = 0.5 * np.sum(tv * lam)  # = sigma_w2/(2M) sum lam for a flat teacher
    assert abs(res.test_loss[0] - closed) < 3 * res.test_loss_sem[0]
    # the standard error resolves a 10% error of the closed form
    assert 3 * res.test_loss_sem[0] < 0.1 * closed


def test_huge_ridge_flat_teacher_closed_form():
    model = MRSModel(M=40, alpha=1.0, N=5, T=5, gamma=1e12, sigma_w2=2.0)
    res = simulate_mrs(model, seeds=2000, seed=9)
    closed = model.sigma_w2 / (2 * model.M) * model.eigenvalues().sum()
    assert abs(res.test_loss[0] - closed) < 3 * res.test_loss_sem[0]
    assert 3 * res.test_loss_sem[0] < 0.1 * closed


@pytest.mark.parametrize("act", ["linear", "relu", "tanh"])
def test_ridgeless_overparameterised_interpolates(act):
    model = MRSModel(M=40, alpha=1.0, N=60, T=25, noise_var=0.1, activation=act)
    res = simulate_mrs(model, seeds=3, seed=1, gammas=[0.0, 1e-2])
    null = 0.5 * model.eigenvalues().sum() / model.M
    assert np.all(res.per_seed_train[:, 0] < 1e-20 * (null + model.noise_var))
    assert np.all(res.per_seed_train[:, 1] > 1e-6 * null)  # the ridge does not interpolate


def test_ridgeless_learns_linear_teacher_exactly():
    """N >= M and T >= M, no noise: U^T theta = w, so the test loss vanishes."""
    model = MRSModel(M=12, alpha=1.0, N=20, T=30)
    res = simulate_mrs(model, seeds=4, seed=4, gammas=[0.0, 1e-3])
    null = 0.5 * model.eigenvalues().sum() / model.M
    assert np.all(res.per_seed_test[:, 0] < 1e-20 * null)
    assert np.all(res.per_seed_train[:, 0] < 1e-20 * null)
    assert np.all(res.per_seed_test[:, 1] > 1e-12 * null)  # a ridge biases theta


def test_ridgeless_rank_deficient_features_use_the_cutoff():
    """N > M and T > M: Phi = X U^T has rank M, and its N - M numerically-zero
    singular directions carry noise; the 1e-13 cutoff must drop them (min-norm)."""
    model = MRSModel(M=12, alpha=1.0, N=20, T=30, noise_var=0.1)
    test, train = simulate_mrs_instance(model, np.random.default_rng(8), [0.0])
    ref_test, ref_train, _ = _ref_losses(model, np.random.default_rng(8), [0.0])
    np.testing.assert_allclose(test, ref_test, rtol=1e-8)
    np.testing.assert_allclose(train, ref_train, rtol=1e-8)


def test_spectral_filters_cutoff():
    s = np.array([2.0, 1.0, 1e-14, 0.0])
    F, R = sim._spectral_filters(s, np.array([0.0, 1.0]))
    np.testing.assert_array_equal(F[:, 0], [0.5, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(R[:, 0], [0.0, 0.0, -1.0, -1.0])
    np.testing.assert_allclose(F[:, 1], s / (s * s + 1.0), rtol=1e-15)
    np.testing.assert_allclose(R[:, 1], -1.0 / (s * s + 1.0), rtol=1e-15)


# ---------------------------------------------------------------------------
# reproducibility, structure, efficiency
# ---------------------------------------------------------------------------
def test_reproducible_and_seed_dependent():
    model = MRSModel(M=60, alpha=1.0, N=15, T=25, noise_var=0.01, activation="erf")
    a = simulate_mrs(model, seeds=3, seed=7, gammas=[0.0, 0.1])
    b = simulate_mrs(model, seeds=3, seed=7, gammas=[0.0, 0.1])
    c = simulate_mrs(model, seeds=3, seed=8, gammas=[0.0, 0.1])
    np.testing.assert_array_equal(a.per_seed_test, b.per_seed_test)
    np.testing.assert_array_equal(a.per_seed_train, b.per_seed_train)
    assert not np.any(a.per_seed_test == c.per_seed_test)
    # instance i is the instance of SeedSequence(seed).spawn(seeds)[i], whatever the order
    ss = np.random.SeedSequence(7).spawn(3)
    for i in (2, 0, 1):
        t, r = simulate_mrs_instance(model, np.random.default_rng(ss[i]), [0.0, 0.1])
        np.testing.assert_array_equal(t, a.per_seed_test[i])
        np.testing.assert_array_equal(r, a.per_seed_train[i])


def test_gammas_together_equal_gammas_one_by_one():
    model = MRSModel(M=50, alpha=1.0, N=12, T=18, noise_var=0.02, activation="relu")
    gammas = [0.0, 1e-4, 1e-2, 1.0]
    together = simulate_mrs(model, seeds=3, seed=3, gammas=gammas)
    for j, g in enumerate(gammas):
        alone = simulate_mrs(model, seeds=3, seed=3, gammas=g)
        np.testing.assert_allclose(alone.per_seed_test[:, 0], together.per_seed_test[:, j], rtol=1e-12)
        np.testing.assert_allclose(alone.per_seed_train[:, 0], together.per_seed_train[:, j], rtol=1e-12)
    default = simulate_mrs(model.replace(gamma=1e-2), seeds=3, seed=3)
    np.testing.assert_allclose(default.test_loss, together.test_loss[2:3], rtol=1e-12)


def test_instances_are_nested_in_N_and_T():
    model = MRSModel(M=20, alpha=1.0, N=5, T=7, noise_var=0.1)
    small = sim._draw_instance(model, np.random.default_rng(3))
    big = sim._draw_instance(model.replace(N=9, T=11), np.random.default_rng(3))
    lam, w, U, X, eps = small
    np.testing.assert_array_equal(w, big[1])
    np.testing.assert_array_equal(U, big[2][:5])
    np.testing.assert_array_equal(X, big[3][:7])
    np.testing.assert_array_equal(eps, big[4][:7])


def test_draw_statistics():
    tv = np.linspace(1.0, 3.0, 8)
    model = MRSModel(M=8, alpha=1.0, N=4000, T=4000, sigma_u2=2.0, noise_var=0.3,
                     teacher_variances=tv)
    lam, w, U, X, eps = sim._draw_instance(model, np.random.default_rng(0))
    assert U.shape == (4000, 8) and X.shape == (4000, 8)
    np.testing.assert_allclose(U.var(axis=0), 2.0 / 8, rtol=0.1)
    np.testing.assert_allclose(X.var(axis=0), lam, rtol=0.1)
    assert eps.var() == pytest.approx(0.3, rel=0.1)
    ws = np.array([sim._draw_instance(model.replace(N=1, T=1), np.random.default_rng(s))[1]
                   for s in range(2000)])
    np.testing.assert_allclose(ws.var(axis=0), tv, rtol=0.15)


def test_one_svd_per_instance(monkeypatch):
    calls = []
    real = sim._svd

    def counting(*args, **kwargs):
        calls.append(kwargs.get("lapack_driver"))
        return real(*args, **kwargs)

    monkeypatch.setattr(sim, "_svd", counting)
    model = MRSModel(M=40, alpha=1.0, N=10, T=15, activation="relu")
    simulate_mrs(model, seeds=3, seed=0, gammas=np.logspace(-4, 1, 7).tolist() + [0.0])
    assert calls == ["gesdd"] * 3


def test_svd_falls_back_to_gesvd(monkeypatch):
    real = sim._svd
    drivers = []

    def flaky(*args, **kwargs):
        drivers.append(kwargs["lapack_driver"])
        if kwargs["lapack_driver"] == "gesdd":
            raise np.linalg.LinAlgError("SVD did not converge")
        return real(*args, **kwargs)

    model = MRSModel(M=30, alpha=1.0, N=10, T=12)
    ref = simulate_mrs_instance(model, np.random.default_rng(0), [0.0, 0.1])
    monkeypatch.setattr(sim, "_svd", flaky)
    got = simulate_mrs_instance(model, np.random.default_rng(0), [0.0, 0.1])
    assert drivers == ["gesdd", "gesvd"]
    np.testing.assert_allclose(got, ref, rtol=1e-10)


def test_result_object():
    model = MRSModel(M=40, alpha=1.0, N=8, T=12, activation="tanh")
    res = simulate_mrs(model, seeds=3, seed=5, gammas=[0.0, 0.1])
    assert isinstance(res, MRSSimulation)
    assert res.per_seed_test.shape == (3, 2) and res.gammas.tolist() == [0.0, 0.1]
    np.testing.assert_allclose(res.test_loss, res.per_seed_test.mean(axis=0))
    np.testing.assert_allclose(res.train_loss_sem, res.per_seed_train.std(axis=0, ddof=1) / np.sqrt(3))
    assert "Gauss-Hermite" in res.test_loss_method and "40x40" in res.test_loss_method
    d = json.loads(json.dumps(res.to_dict()))
    assert d["gamma"] == [0.0, 0.1] and len(d["test_loss"]) == 2 and d["seeds"] == 3
    assert d["model"] == "mrs" and d["activation"] == "tanh" and d["seed"] == 5
    single = simulate_mrs(model, seeds=2, seed=None, progress=True).to_dict()
    json.dumps(single)
    assert single["gamma"] == 0.0 and isinstance(single["test_loss"], float)
    assert single["seed"] is None and single["gamma"] == 0.0
    text = str(res)
    assert "gamma" in text and "tanh" in text and f"{res.test_loss[1]:.6e}" in text
    with pytest.raises(Exception):
        res.seeds = 4  # frozen


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"seeds": 1}, "seeds"),
        ({"seeds": 2.5}, "seeds"),
        ({"seeds": True}, "seeds"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"gammas": [-1.0]}, "gammas"),
        ({"gammas": [0.1, float("nan")]}, "gammas"),
        ({"gammas": [float("inf")]}, "gammas"),
        ({"gammas": []}, "gammas"),
        ({"gammas": [[0.1]]}, "gammas"),
        ({"gammas": ["a"]}, "gammas"),
    ],
)
def test_invalid_arguments(kwargs, name):
    model = MRSModel(M=10, alpha=1.0, N=3, T=3)
    with pytest.raises(ValueError, match=name):
        simulate_mrs(model, **kwargs)


def test_invalid_instance_arguments():
    model = MRSModel(M=10, alpha=1.0, N=3, T=3)
    with pytest.raises(ValueError, match="rng"):
        simulate_mrs_instance(model, 0)
    with pytest.raises(ValueError, match="model"):
        simulate_mrs_instance({"M": 10}, np.random.default_rng(0))
    with pytest.raises(ValueError, match="gammas"):
        simulate_mrs_instance(model, np.random.default_rng(0), -0.5)


def test_public_surface_and_doctests():
    assert sorted(sim.__all__) == ["MRSSimulation", "simulate_mrs", "simulate_mrs_instance"]
    result = doctest.testmod(sim, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0
