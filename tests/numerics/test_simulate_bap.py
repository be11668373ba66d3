"""Tests of the finite simulation of model B (numerics/_simulate_flow.py).

Expected values come from independent computations: ``scipy.linalg.expm`` of
the (affine) gradient-flow ODE, explicit loops of gradient steps in the
``theta`` parameterisation of the spec, the exact second-moment recursion of
online SGD, and the ``N = P -> inf`` closed form.  The reference code redraws
each instance from the random-stream layout documented in the module
docstring, so a change of that layout fails here too.
"""
import doctest
import json
import math

import numpy as np
import pytest
import scipy.linalg

import scaling_theory.numerics._simulate_flow as sb
from scaling_theory.numerics._models import BAPModel
from scaling_theory.numerics._simulate_flow import BAPSimulation, simulate_bap, simulate_bap_instance


# ---------------------------------------------------------------------------
# independent reference implementations (theta parameterisation of the spec)
# ---------------------------------------------------------------------------
def _redraw(model, seed):
    """The instance of ``default_rng(seed)``, drawn from the documented layout."""
    rng = np.random.default_rng(seed)
    lam, w = model.eigenvalues(), model.target()
    g_psi, g_eps, g_students, g_batches = rng.spawn(4)
    Psi = eps = None
    if not math.isinf(model.P):
        Psi = g_psi.standard_normal((model.P, model.M)) * np.sqrt(lam)
        eps = g_eps.standard_normal(model.P) * math.sqrt(model.noise_var)
    As = [g.standard_normal((model.N, model.M)) for g in g_students.spawn(model.ensemble)]
    return lam, w, Psi, eps, As, g_batches


def _hessian(lam, w, Psi, eps, A):
    """``G`` and ``b`` of ``d theta/dt = -(G theta - b)`` (population at P = inf)."""
    N = A.shape[0]
    if Psi is None:
        return (A * lam) @ A.T / N, A @ (lam * w) / math.sqrt(N)
    P = Psi.shape[0]
    Phi = Psi @ A.T / math.sqrt(N)
    return Phi.T @ Phi / P, Phi.T @ (Psi @ w + eps) / P


def _losses(lam, w, Psi, eps, As, thetas):
    """Test and train loss of the mean predictor of students ``thetas``."""
    N = As[0].shape[0]
    v = w - np.mean([A.T @ th for A, th in zip(As, thetas)], axis=0) / math.sqrt(N)
    test = float(v @ (lam * v))
    if Psi is None:
        return test, test
    f = np.mean([Psi @ A.T @ th for A, th in zip(As, thetas)], axis=0) / math.sqrt(N)
    r = f - (Psi @ w + eps)
    return test, float(r @ r) / Psi.shape[0]


def _theta_expm(G, b, t):
    """theta(t) from expm of the augmented (affine) ODE, theta(0) = 0."""
    n = G.shape[0]
    Maug = np.zeros((n + 1, n + 1))
    Maug[:n, :n] = -G
    Maug[:n, n] = b
    return scipy.linalg.expm(Maug * t)[:n, n]


def _ref_flow(model, seed, times):
    lam, w, Psi, eps, As, _ = _redraw(model, seed)
    Gbs = [_hessian(lam, w, Psi, eps, A) for A in As]
    out = [_losses(lam, w, Psi, eps, As, [_theta_expm(G, b, t) for G, b in Gbs]) for t in times]
    return np.array(out).T


def _ref_gd(model, seed, steps):
    lam, w, Psi, eps, As, _ = _redraw(model, seed)
    Gbs = [_hessian(lam, w, Psi, eps, A) for A in As]
    thetas = [np.zeros(model.N) for _ in As]
    out = {}
    for s in range(max(steps) + 1):
        if s in steps:
            out[s] = _losses(lam, w, Psi, eps, As, thetas)
        thetas = [th - model.eta * (G @ th - b) for th, (G, b) in zip(thetas, Gbs)]
    return np.array([out[s] for s in steps]).T


def _ref_sgd(model, seed, steps):
    """Explicit theta-space SGD, one batch drawn per step."""
    lam, w, _, _, As, g_batches = _redraw(model, seed)
    g_bpsi, g_beps = g_batches.spawn(2)
    N, B = model.N, model.batch
    thetas = [np.zeros(N) for _ in As]
    out = {}
    for s in range(max(steps) + 1):
        if s in steps:
            out[s] = _losses(lam, w, None, None, As, thetas)[0]
        Psi = g_bpsi.standard_normal((1, B, model.M))[0] * np.sqrt(lam)
        y = Psi @ w + g_beps.standard_normal((1, B))[0] * math.sqrt(model.noise_var)
        new = []
        for A, th in zip(As, thetas):
            Phi = Psi @ A.T / math.sqrt(N)
            new.append(th - model.eta / B * Phi.T @ (Phi @ th - y))
        thetas = new
    return np.array([out[s] for s in steps])


def _rel(a, b, floor=0.0):
    """Largest relative difference, relative to ``max(|b|, floor)``.

    The spec compares only values above ``1e-8 L(0)``: below that both sides
    lose relative digits to the cancellation in ``w* - A^T theta / sqrt(N)``.
    """
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), floor)))


# ---------------------------------------------------------------------------
# gradient flow: exact against expm, every eigen-route
# ---------------------------------------------------------------------------
FLOW_CASES = [  # (M, N, P) -> route
    (12, 5, 9),      # features: N smallest
    (12, 9, 5),      # samples: P smallest (N > P)
    (6, 9, 14),      # latent: M smallest
    (7, 9, 7),       # latent at a tie M = P
    (12, 5, "inf"),  # features at P = inf
    (6, 9, "inf"),   # latent at P = inf
]
TIMES = np.array([0.0, 0.3, 2.0, 17.0, 400.0])


@pytest.mark.parametrize("noise_var", [0.0, 0.3])
@pytest.mark.parametrize("M,N,P", FLOW_CASES)
def test_gradient_flow_matches_expm(M, N, P, noise_var):
    model = BAPModel(M=M, alpha=1.5, beta=1.0, N=N, P=P, noise_var=noise_var)
    test, train = simulate_bap_instance(model, np.random.default_rng(11), TIMES)
    ref_test, ref_train = _ref_flow(model, 11, TIMES)
    L0 = model.eigenvalues() @ model.target() ** 2
    assert _rel(test, ref_test, floor=1e-8 * L0) < 1e-10     # L(400) ~ 1e-12 L0 at P = inf
    assert _rel(train, ref_train, floor=1e-8 * L0) < 1e-10
    assert test[0] == pytest.approx(L0, rel=1e-14)


def test_routes_cover_all_three():
    """The cases above really exercise the three eigenproblems."""
    routes = set()
    for M, N, P in FLOW_CASES:
        model = BAPModel(M=M, alpha=1.5, beta=1.0, N=N, P=P)
        times, steps = sb._check_times([1.0], model)
        routes.add(sb._flow_instance(model, np.random.default_rng(0), times, steps)[2])
    assert routes == {"latent", "features", "samples"}


def test_noiseless_flow_matches_spec_formula_for_v():
    """Spec item 5: v(t) = expm(-(A^T A / N) Sigma_hat t) w* without noise."""
    model = BAPModel(M=10, alpha=1.3, beta=0.7, N=7, P=13)
    lam, w, Psi, _, (A,), _ = _redraw(model, 5)
    K = A.T @ A / model.N
    Sig = Psi.T @ Psi / model.P
    ref = []
    for t in TIMES:
        v = scipy.linalg.expm(-K @ Sig * t) @ w
        ref.append(v @ (lam * v))
    test, _ = simulate_bap_instance(model, np.random.default_rng(5), TIMES)
    assert _rel(test, ref) < 1e-10


def test_custom_spectrum_and_target():
    lam = np.array([2.0, 1.0, 0.5, 0.5, 0.1, 1e-3])
    w = np.array([1.0, -2.0, 0.0, 0.3, 4.0, 1.0])
    model = BAPModel(M=6, N=4, P=8, noise_var=0.2,
                     spectrum=lam, target_weights=w)
    test, train = simulate_bap_instance(model, np.random.default_rng(2), TIMES)
    ref_test, ref_train = _ref_flow(model, 2, TIMES)
    assert _rel(test, ref_test) < 1e-10 and _rel(train, ref_train) < 1e-10
    assert test[0] == pytest.approx(lam @ w**2, rel=1e-14)


def test_train_equals_test_at_population():
    model = BAPModel(M=30, alpha=1.5, beta=1.0, N=20, P="inf", noise_var=0.5)
    sim = simulate_bap(model, TIMES, seeds=3)
    assert np.array_equal(sim.per_seed_train, sim.per_seed_test)
    # and label noise plays no role at P = inf
    quiet = simulate_bap(model.replace(noise_var=0.0), TIMES, seeds=3)
    assert np.array_equal(sim.per_seed_test, quiet.per_seed_test)


def test_interpolation_when_N_exceeds_P():
    """N > P, no noise: train loss -> 0 at late times, test loss stays > 0."""
    model = BAPModel(M=200, alpha=1.5, beta=1.0, N=80, P=40)
    times = [0.0, 1e2, 1e5, 1e8]
    test, train = simulate_bap_instance(model, np.random.default_rng(3), times)
    assert train[-1] < 1e-12 * train[0]
    assert np.all(np.diff(train) < 0)
    assert test[-1] > 1e-3 * test[0]
    # N < P cannot interpolate: the late train loss stays finite
    test2, train2 = simulate_bap_instance(model.replace(N=20), np.random.default_rng(3), times)
    assert train2[-1] > 1e-3 * train2[0]


def test_large_N_P_limit():
    """N = P >> M: L(t) -> sum_k lambda_k w*_k^2 exp(-2 lambda_k t).

    The finite-size corrections are O(M_eff / N); at N = P = 1e4 they are
    below 2% up to t = 10 (checked), so allow 5% plus 3 standard errors.
    """
    model = BAPModel(M=200, alpha=1.5, beta=1.0, N=10_000, P=10_000)
    times = np.array([0.5, 2.0, 10.0])
    sim = simulate_bap(model, times, seeds=4, seed=0)
    lam, w = model.eigenvalues(), model.target()
    ref = (lam * w * w) @ np.exp(-2.0 * np.outer(lam, times))
    assert np.all(np.abs(sim.test_loss - ref) <= 0.05 * ref + 3 * sim.test_loss_sem)


# ---------------------------------------------------------------------------
# gradient descent
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("M,N,P", [(12, 5, 9), (12, 9, 5), (6, 9, 14), (12, 5, "inf"), (6, 9, "inf")])
def test_gradient_descent_matches_loop(M, N, P):
    model = BAPModel(M=M, alpha=1.5, beta=1.0, N=N, P=P, noise_var=0.2)
    lam, w, Psi, eps, (A,), _ = _redraw(model, 4)
    gmax = np.linalg.eigvalsh(_hessian(lam, w, Psi, eps, A)[0]).max()
    eta = 1.6 / gmax                     # oscillating top mode: 1 < eta g < 2
    model = model.replace(eta=eta)
    steps = [0, 1, 2, 7, 40, 300]
    test, train = simulate_bap_instance(model, np.random.default_rng(4), [s * eta for s in steps])
    ref_test, ref_train = _ref_gd(model, 4, steps)
    assert _rel(test, ref_test) < 1e-10
    assert _rel(train, ref_train) < 1e-10
    small = model.replace(eta=0.05 * eta)          # the log1p branch
    test, train = simulate_bap_instance(small, np.random.default_rng(4), [s * small.eta for s in steps])
    ref_test, ref_train = _ref_gd(small, 4, steps)
    assert _rel(test, ref_test) < 1e-10 and _rel(train, ref_train) < 1e-10


def test_gradient_descent_ensemble_matches_loop():
    model = BAPModel(M=10, alpha=1.5, beta=1.0, N=6, P=8, noise_var=0.1, eta=0.5, ensemble=3)
    steps = [0, 3, 50]
    test, train = simulate_bap_instance(model, np.random.default_rng(8), [s * 0.5 for s in steps])
    ref_test, ref_train = _ref_gd(model, 8, steps)
    assert _rel(test, ref_test) < 1e-10 and _rel(train, ref_train) < 1e-10


def test_gradient_descent_approaches_flow():
    """Small eta: GD at t = eta n is close to the flow at t (error O(eta))."""
    model = BAPModel(M=30, alpha=1.5, beta=1.0, N=20, P=25)
    times = [0.0, 1.0, 5.0]
    flow = simulate_bap_instance(model, np.random.default_rng(1), times)
    gd = simulate_bap_instance(model.replace(eta=1e-4), np.random.default_rng(1), times)
    assert np.allclose(gd, flow, rtol=1e-3)


def test_filters_limits_and_branches():
    """h_t(g) and the decay 1 - g h_t(g) against direct formulas, incl. g = 0."""
    g = np.array([-1e-18, 0.0, 1e-300, 1e-9, 0.3, 1.0, 3.0])
    t = np.array([0.0, 0.5, 7.0])
    H, D = sb._filters(g, t, None, None)
    gc = np.clip(g, 0, None)[:, None]
    assert np.array_equal(H[:2], np.tile(t, (2, 1)))            # g -> 0: h = t
    ok = gc[:, 0] > 1e-6
    assert np.allclose(H[ok], (1 - np.exp(-gc[ok] * t)) / gc[ok], rtol=1e-13)
    assert np.allclose(H[2:4], t - gc[2:4] * t**2 / 2, rtol=1e-13)
    assert np.allclose(D, np.exp(-gc * t), rtol=1e-14)
    eta, n = 0.5, np.array([0, 1, 2, 9])
    H, D = sb._filters(g, eta * n, n, eta)                      # eta g up to 1.5
    assert np.array_equal(H[:2], np.tile(eta * n, (2, 1)))
    q = 1 - eta * gc[ok]
    assert np.allclose(H[ok], (1 - q**n) / gc[ok], rtol=1e-12)
    assert np.allclose(D[ok], q**n, rtol=1e-13)
    assert np.allclose(H[2:4], eta * n - gc[2:4] * eta**2 * n * (n - 1) / 2, rtol=1e-12)


def test_divergent_eta_raises():
    model = BAPModel(M=10, alpha=1.5, beta=1.0, N=6, P=8)
    lam, w, Psi, eps, (A,), _ = _redraw(model, 0)
    gmax = np.linalg.eigvalsh(_hessian(lam, w, Psi, eps, A)[0]).max()
    bad = model.replace(eta=2.01 / gmax)
    with pytest.raises(ValueError, match=r"eta = .* 2 / g_max"):
        simulate_bap_instance(bad, np.random.default_rng(0), [bad.eta * 3])
    ok = model.replace(eta=1.99 / gmax)
    test, _ = simulate_bap_instance(ok, np.random.default_rng(0), [ok.eta * 3])
    assert np.isfinite(test).all()


# ---------------------------------------------------------------------------
# online SGD
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("M,N,E", [(8, 12, 1), (12, 8, 1), (8, 12, 2), (12, 8, 3)])
def test_sgd_matches_theta_space_loop(M, N, E):
    model = BAPModel(M=M, alpha=1.5, beta=1.0, N=N, P="inf", noise_var=0.3,
                     eta=0.3, batch=3, ensemble=E)
    steps = [0, 1, 5, 40]
    test, train = simulate_bap_instance(model, np.random.default_rng(6), [s * 0.3 for s in steps])
    ref = _ref_sgd(model, 6, steps)
    assert _rel(test, ref) < 1e-10
    assert np.array_equal(train, test)


def test_sgd_independent_of_chunk_size_and_order(monkeypatch):
    model = BAPModel(M=8, alpha=1.5, beta=1.0, N=5, P="inf", eta=0.2, batch=4, noise_var=0.1)
    times = [4.0, 0.0, 2.0, 4.0]                        # unsorted, repeated
    a = simulate_bap_instance(model, np.random.default_rng(9), times)
    monkeypatch.setattr(sb, "_SGD_CHUNK_ENTRIES", 50)   # one step per chunk
    b = simulate_bap_instance(model, np.random.default_rng(9), times)
    assert np.array_equal(a[0], b[0])
    assert a[0][0] == a[0][3] and a[0][0] < a[0][1]


def test_sgd_large_batch_approaches_population_gd():
    model = BAPModel(M=20, alpha=1.5, beta=1.0, N=15, P="inf", eta=0.5, batch=4096)
    times = [0.0, 2.0, 10.0, 40.0]
    sgd = simulate_bap(model, times, seeds=2, seed=0)
    gd = simulate_bap(model.replace(batch=None), times, seeds=2, seed=0)
    assert sgd.method == "online SGD" and gd.method == "gradient descent"
    # same seed -> same A: compare instance by instance
    assert np.allclose(sgd.per_seed_test, gd.per_seed_test, rtol=0.03)


def _sgd_expected_loss(model, seed, steps):
    """E over batches of the SGD test loss for the seed's A (E = 1):
    the exact second-moment recursion of v_{n+1} = v_n - eta K g_n."""
    lam, w, _, _, (A,), _ = _redraw(model, seed)
    K = A.T @ A / model.N
    Sig = np.diag(lam)
    a, B, s2 = model.eta, model.batch, model.noise_var
    S = np.outer(w, w)
    out = {}
    for n in range(max(steps) + 1):
        if n in steps:
            out[n] = np.trace(Sig @ S)
        SS = Sig @ S @ Sig
        gg = (1 + 1 / B) * SS + (np.trace(Sig @ S) + s2) * Sig / B
        S = S - a * (K @ Sig @ S + S @ Sig @ K) + a * a * K @ gg @ K
    return np.array([out[n] for n in steps])


def test_sgd_mean_matches_second_moment_recursion():
    """Mean SGD loss = the exact expectation over batches (per seed's A),
    within 4 standard errors; and it exceeds the GD loss (SGD noise)."""
    model = BAPModel(M=10, alpha=1.5, beta=1.0, N=15, P="inf", eta=0.4, batch=2, noise_var=0.05)
    steps = [5, 20, 60]
    seeds = 48
    sim = simulate_bap(model, [s * model.eta for s in steps], seeds=seeds, seed=2)
    gd = simulate_bap(model.replace(batch=None), [s * model.eta for s in steps], seeds=seeds, seed=2)
    children = np.random.SeedSequence(2).spawn(seeds)
    expected = np.array([_sgd_expected_loss(model, ss, steps) for ss in children])
    diff = sim.per_seed_test - expected
    se = diff.std(axis=0, ddof=1) / math.sqrt(seeds)
    assert np.all(np.abs(diff.mean(axis=0)) < 4 * se)
    assert np.all(expected > gd.per_seed_test)            # exact, per seed
    excess = sim.per_seed_test - gd.per_seed_test
    assert np.all(excess.mean(axis=0) > 0)


def test_sgd_divergence_raises():
    model = BAPModel(M=10, alpha=1.0, beta=1.0, N=10, P="inf", eta=50.0, batch=1)
    with pytest.raises(ValueError, match="eta = 50 makes online SGD diverge"):
        simulate_bap_instance(model, np.random.default_rng(0), [50.0 * 400])


# ---------------------------------------------------------------------------
# ensembles
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("P", [9, "inf"])
def test_ensemble_mean_predictor(P):
    E = 4
    model = BAPModel(M=12, alpha=1.5, beta=1.0, N=6, P=P, noise_var=0.2, ensemble=E)
    test, train = simulate_bap_instance(model, np.random.default_rng(7), TIMES)
    ref_test, ref_train = _ref_flow(model, 7, TIMES)
    assert _rel(test, ref_test) < 1e-10 and _rel(train, ref_train) < 1e-10
    # per-student losses from the reference: Jensen, exactly per instance
    lam, w, Psi, eps, As, _ = _redraw(model, 7)
    single = []
    for A in As:
        G, b = _hessian(lam, w, Psi, eps, A)
        single.append([_losses(lam, w, Psi, eps, [A], [_theta_expm(G, b, t)]) for t in TIMES])
    single = np.array(single)                                # (E, T, 2)
    assert np.all(test <= single[:, :, 0].mean(axis=0) * (1 + 1e-12))
    assert np.all(train <= single[:, :, 1].mean(axis=0) * (1 + 1e-12))
    assert test[-1] < 0.9 * single[:, -1, 0].mean()           # strictly better late
    # the first student is the single model of the same seed
    one = simulate_bap_instance(model.replace(ensemble=1), np.random.default_rng(7), TIMES)
    assert np.allclose(one[0], single[0, :, 0], rtol=1e-12, atol=0)
    assert np.allclose(one[1], single[0, :, 1], rtol=1e-12, atol=0)


def test_ensemble_of_one_is_bitwise_the_single_model():
    model = BAPModel(M=40, alpha=1.5, beta=1.0, N=30, P=50, noise_var=0.1)
    a = simulate_bap(model, TIMES, seeds=2, seed=3)
    b = simulate_bap(model.replace(ensemble=1), TIMES, seeds=2, seed=3)
    assert np.array_equal(a.per_seed_test, b.per_seed_test)


# ---------------------------------------------------------------------------
# reproducibility, result object
# ---------------------------------------------------------------------------
def test_seeds_reproducible_and_order_independent():
    model = BAPModel(M=30, alpha=1.5, beta=1.0, N=20, P=25, noise_var=0.1)
    sim = simulate_bap(model, TIMES, seeds=3, seed=42)
    again = simulate_bap(model, TIMES, seeds=3, seed=42)
    assert np.array_equal(sim.per_seed_test, again.per_seed_test)
    children = np.random.SeedSequence(42).spawn(3)
    for i in (2, 0, 1):
        test, train = simulate_bap_instance(model, np.random.default_rng(children[i]), TIMES)
        assert np.array_equal(test, sim.per_seed_test[i])
        assert np.array_equal(train, sim.per_seed_train[i])
    # times in another order give the same numbers
    perm = [3, 0, 4, 1, 2]
    shuffled = simulate_bap(model, TIMES[perm], seeds=3, seed=42)
    assert np.allclose(shuffled.per_seed_test, sim.per_seed_test[:, perm], rtol=1e-13)
    other = simulate_bap(model, TIMES, seeds=3, seed=43)
    assert not np.array_equal(other.per_seed_test, sim.per_seed_test)


def test_result_statistics_and_serialisation():
    model = BAPModel(M=30, alpha=1.5, beta=1.0, N=20, P="inf", eta=0.5)
    times = [0.0, 1.0, 5.0]
    sim = simulate_bap(model, times, seeds=4, seed=1, progress=False)
    assert isinstance(sim, BAPSimulation)
    assert sim.per_seed_test.shape == (4, 3)
    assert np.allclose(sim.test_loss, sim.per_seed_test.mean(axis=0))
    assert np.allclose(sim.test_loss_sem, sim.per_seed_test.std(axis=0, ddof=1) / 2)
    d = json.loads(json.dumps(sim.to_dict()))
    assert d["model"] == "bap" and d["P"] == "inf" and d["method"] == "gradient descent"
    assert d["t"] == times and len(d["per_seed_test"]) == 4
    assert d["test_loss"] == pytest.approx(list(sim.test_loss), rel=0)
    text = str(sim)
    assert "Model B" in text and "gradient descent" in text and "P=inf" in text
    assert len(text.splitlines()) == 2 + len(times)
    with pytest.raises(AttributeError):
        sim.seeds = 3


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------
BASE = BAPModel(M=10, alpha=1.5, beta=1.0, N=5, P=8)


@pytest.mark.parametrize(
    "model,times,kwargs,match",
    [
        (BASE, [-1.0], {}, "times"),
        (BASE, [0.0, float("nan")], {}, "times"),
        (BASE, [[1.0]], {}, "times"),
        (BASE, [], {}, "times"),
        (BASE, ["a"], {}, "times"),
        (BASE, [1.0], {"seeds": 1}, "seeds"),
        (BASE, [1.0], {"seeds": 2.5}, "seeds"),
        (BASE, [1.0], {"seed": -1}, "seed"),
        (BAPModel(M="inf", alpha=1.5, beta=1.0, N=5, P=8), [1.0], {}, "M must be finite"),
        (BASE.replace(N="inf"), [1.0], {}, "N must be finite"),
        (BASE.replace(eta=0.3), [1.0], {}, "times must be integer multiples of eta"),
        ("model", [1.0], {}, "model"),
    ],
)
def test_invalid_input_raises(model, times, kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_bap(model, times, **kwargs)


def test_instance_validation():
    with pytest.raises(ValueError, match="rng"):
        simulate_bap_instance(BASE, 0, [1.0])
    with pytest.raises(ValueError, match="times"):
        simulate_bap_instance(BASE, np.random.default_rng(0), [-0.5])
    # multiples of eta within the relative tolerance are accepted
    m = BASE.replace(eta=0.1)
    test, _ = simulate_bap_instance(m, np.random.default_rng(0), [0.1 * 3, 0.7])
    ref, _ = _ref_gd(m, 0, [3, 7])
    assert _rel(test, ref) < 1e-10


def test_doctests():
    res = doctest.testmod(sb, optionflags=doctest.ELLIPSIS)
    assert res.attempted >= 6 and res.failed == 0
