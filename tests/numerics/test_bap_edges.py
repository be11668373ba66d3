"""Model B at the edges of its theory: the stability edges of online SGD and of gradient
descent, the train loss at t = 0 with label noise, very late times, and the accuracy
estimate (no negative loss).

Expected values come from independent sources: the exact transfer matrix of the SGD
second-moment recursion, closed forms (t = 0, t = inf, N = P = inf), finite simulations.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from scaling_theory.numerics import BAPModel, bap_theory, bap_train_loss_infinite_width, simulate_bap
from scaling_theory.numerics._flow import _two_point_curves
from scaling_theory.numerics._flow_contours import spectral_edge
from scaling_theory.numerics._flow_sgd import sgd_max_step, sgd_noise_feedback, sgd_stability_bound
from scaling_theory.numerics._flow_sums import BAPSpectrum
from scaling_theory.cli import main


def _tol(theory, mean, sem, k=3.0, rel=0.03):
    """The spec's tolerance: the larger of k standard errors and rel of the simulated mean."""
    return np.abs(theory - mean) <= np.maximum(k * sem, rel * np.abs(mean))


# --------------------------------------------------------------------------
# online SGD: the exact edge of stability of the second moment
# --------------------------------------------------------------------------
def _transfer_radius(lam, eta, B):
    """Spectral radius of d -> diag(rho) d + q (1^T d) (the exact SGD recursion at N = inf)."""
    rho = (1 - eta * lam) ** 2 + eta**2 * lam**2 / B
    q = eta**2 * lam**2 / B
    return max(abs(np.linalg.eigvals(np.diag(rho) + np.outer(q, np.ones(lam.size)))))


@pytest.mark.parametrize("M, alpha, B", [(200, 1.5, 1), (200, 1.2, 4), (50, 2.5, 2), (120, 3.0, 16)])
def test_sgd_edge_is_where_the_exact_recursion_turns_unstable(M, alpha, B):
    m = BAPModel(M=M, alpha=alpha, beta=1.0, N="inf", P="inf", eta=0.1, batch=B)
    bound, _ = sgd_max_step(BAPSpectrum(m), math.inf, B)
    lam = m.eigenvalues()
    assert bound <= sgd_stability_bound(1.0, B) * (1 + 1e-12)      # never beyond the mean bound
    assert _transfer_radius(lam, 0.998 * bound, B) < 1 < _transfer_radius(lam, 1.002 * bound, B)


def test_sgd_feedback_equals_the_derived_sum():
    """Bridge: the numeric Q_1 (from n_1 at kappa(s_1)) equals the derived sum over modes."""
    from scaling_theory.theory import derive_bap_sgd

    res = derive_bap_sgd().results["sgd_noise_feedback"]
    summand = res.rhs.function
    j = summand.atoms(sp.Indexed).pop()
    f = sp.lambdify((j, sp.Symbol("eta", positive=True), sp.Symbol("B", positive=True)), summand, "numpy")
    m = BAPModel(M=300, alpha=1.7, beta=1.0, N="inf", P="inf", eta=0.1, batch=3)
    spec = BAPSpectrum(m)
    for eta in (0.05, 0.3, 0.6, 0.9):
        derived = float(np.sum(f(m.eigenvalues(), eta, 3)))
        assert sgd_noise_feedback(spec, math.inf, eta, 3) == pytest.approx(derived, rel=1e-12)
    assert derive_bap_sgd().verify()["Stability of the second moment"] == [0, 0, 0]


def test_sgd_beyond_the_edge_is_refused(capsys):
    m = BAPModel(M=9989, alpha=3.8922, beta=0.5531, N=55, P="inf", eta=0.7, batch=1)
    bound, why = sgd_max_step(BAPSpectrum(m), 55, 1)
    assert bound < 0.7 < sgd_stability_bound(spectral_edge(BAPSpectrum(m), 55, math.inf), 1)
    with pytest.raises(ValueError, match=r"eta must be < 0\.6\d+ .*noise feedback"):
        bap_theory(m, [7.0, 35.0])
    args = ["bap", "loss", "--M", "9989", "--alpha", "3.8922", "--beta", "0.5531", "--N", "55", "--P", "inf",
            "--eta", "0.7", "--batch", "1", "--t", "0,7,35,70,87.5,700"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--eta" in err[0] and f"{bound:.6g}" in err[0]
    # just below the edge: finite, non-negative, and settles on its t = inf limit
    r = bap_theory(m.replace(eta=round(0.95 * bound, 4)), [0.0, 5e4 * round(0.95 * bound, 4)])
    assert np.all(np.isfinite(r.test_loss)) and np.all(r.test_loss >= 0)


def _exact_recursion_mean(m, steps, draws, seed):
    """<L(n)> over draws of the projection A, the batch average exact (second-moment recursion)."""
    lam, w = m.eigenvalues(), m.target()
    u = np.sqrt(lam) * w
    eta, B, noise = float(m.eta), m.batch, float(m.noise_var)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(draws):
        A = rng.standard_normal((m.N, m.M))
        J = np.sqrt(lam)[:, None] * (A.T @ A / m.N) * np.sqrt(lam)[None, :]
        j, V = np.linalg.eigh(J)
        d = (V.T @ u) ** 2
        rho, q = (1 - eta * j) ** 2 + eta**2 * j**2 / B, eta**2 * j**2 / B
        L = []
        for k in range(max(steps) + 1):
            if k in steps:
                L.append(d.sum())
            d = rho * d + q * (d.sum() + noise)
        out.append(L)
    out = np.array(out)
    return out.mean(axis=0), out.std(axis=0, ddof=1) / math.sqrt(draws)


def test_sgd_theory_matches_the_exact_recursion_below_the_edge():
    m = BAPModel(M=500, alpha=2.0, beta=0.8, N=200, P="inf", eta=0.1, batch=4, noise_var=0.2)
    bound, _ = sgd_max_step(BAPSpectrum(m), 200, 4)
    m = m.replace(eta=round(0.6 * bound, 4))
    steps = [1, 4, 16, 64, 256]
    th = bap_theory(m, m.eta * np.array(steps)).test_loss
    mean, sem = _exact_recursion_mean(m, steps, draws=30, seed=0)
    assert np.all(_tol(th, mean, sem))


@pytest.mark.parametrize("N, B, noise, frac", [
    (200, 2, 0.1, 0.6),
    pytest.param(400, 1, 0.0, 0.6, marks=pytest.mark.slow),
    pytest.param(400, 1, 0.0, 0.75, marks=pytest.mark.slow),
    pytest.param(200, 2, 0.1, 0.75, marks=pytest.mark.slow),
])
def test_sgd_theory_matches_simulation_below_the_edge(N, B, noise, frac):
    m = BAPModel(M=1000, alpha=1.5, beta=1.0, N=N, P="inf", eta=0.1, batch=B, noise_var=noise)
    bound, _ = sgd_max_step(BAPSpectrum(m), N, B)
    m = m.replace(eta=round(frac * bound, 4))
    t = m.eta * np.array([1, 4, 16, 64, 256])
    th = bap_theory(m, t).test_loss
    sim = simulate_bap(m, t, seeds=64, seed=1)
    assert np.all(_tol(th, sim.test_loss, sim.test_loss_sem))


# --------------------------------------------------------------------------
# gradient descent up to its edge of stability 2 / lambda_max
# --------------------------------------------------------------------------
@pytest.mark.parametrize("eta", [0.5, 1.3, 1.6, 1.9])
def test_gd_oscillating_modes_against_the_closed_form(eta):
    """N = P = inf: the two-contour inversion equals sum_k u_k (1 - eta lambda_k)^{2n}."""
    m = BAPModel(M=300, alpha=1.5, beta=1.0, N="inf", P="inf")
    spec = BAPSpectrum(m)
    lam, u = spec.lam_u()
    n = np.array([1, 2, 3, 5, 10, 30, 100, 1000])
    two, _ = _two_point_curves(spec, math.inf, math.inf, 0.0, n * eta, eta=eta)
    exact = (u[None, :] * (1 - eta * lam[None, :]) ** (2 * n[:, None])).sum(axis=1)
    assert np.allclose(two, exact, rtol=1e-5, atol=0)
    assert np.allclose(bap_theory(m.replace(eta=eta), n * eta).test_loss, exact, rtol=1e-12)


@pytest.mark.parametrize("N, P, noise, f", [
    (200, 400, 0.0, 1.5),
    pytest.param(400, 200, 0.3, 1.8, marks=pytest.mark.slow),
    pytest.param(300, 300, 0.0, 1.2, marks=pytest.mark.slow),
])
def test_gd_past_one_over_lambda_max_matches_simulation(N, P, noise, f):
    m = BAPModel(M=1000, alpha=1.5, beta=1.0, N=N, P=P, noise_var=noise)
    edge = spectral_edge(BAPSpectrum(m), N, P)
    m = m.replace(eta=round(f / edge, 4))
    t = m.eta * np.array([1, 2, 5, 20, 100])
    th = bap_theory(m, t)
    sim = simulate_bap(m, t, seeds=32, seed=2)
    assert np.all(_tol(th.test_loss, sim.test_loss, sim.test_loss_sem))
    assert np.all(_tol(th.train_loss, sim.train_loss, sim.train_loss_sem))


def test_gd_edge_is_two_over_lambda_max(capsys):
    m = BAPModel(M=800, alpha=1.5, beta=1.0, N=100, P=300)
    edge = spectral_edge(BAPSpectrum(m), 100, 300)
    ok = bap_theory(m.replace(eta=round(1.99 / edge, 4)), [round(1.99 / edge, 4) * 10])
    assert np.isfinite(ok.test_loss[0]) and ok.test_loss[0] > 0
    for eta in (2.0 / edge * 1.0001, 3.0):
        with pytest.raises(ValueError, match="eta must be < 2/lambda_max"):
            bap_theory(m.replace(eta=eta), [eta])
    assert main(["bap", "loss", "--M", "800", "--alpha", "1.5", "--beta", "1", "--N", "100", "--P", "300",
                 "--eta", "3", "--t", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--eta" in err[0]


# --------------------------------------------------------------------------
# the train loss at t = 0 with label noise; very late times; accuracy
# --------------------------------------------------------------------------
def test_train_loss_at_zero_includes_the_label_noise():
    m = BAPModel(M=1000, alpha=1.5, beta=1.0, N=100, P=400, noise_var=0.5)
    L0 = float(np.sum(m.eigenvalues() * m.target() ** 2))
    r = bap_theory(m, [0.0, 1e-9, 1.0])
    assert r.test_loss[0] == pytest.approx(L0, rel=1e-13)
    assert r.train_loss[0] == pytest.approx(L0 + 0.5, rel=1e-13)
    assert abs(r.train_loss[1] - r.train_loss[0]) < 1e-6                   # continuous at t = 0
    hi = bap_theory(m, [0.0], dps=20)
    assert float(hi.train_loss[0]) == pytest.approx(L0 + 0.5, rel=1e-15)
    sim = simulate_bap(m, [0.0], seeds=16, seed=0)
    assert _tol(r.train_loss[:1], sim.train_loss, sim.train_loss_sem).all()
    inf_w = bap_train_loss_infinite_width(m.replace(N="inf"), [0.0, 1e-9])
    assert inf_w.train_loss[0] == pytest.approx(L0 + 0.5, rel=1e-13)
    assert abs(inf_w.train_loss[1] - inf_w.train_loss[0]) < 1e-6


def test_very_late_times_join_the_infinite_time_limit():
    # N = inf, P > M: the t = inf limit is the least-squares fit, test sigma^2 M/(P - M), train sigma^2 (1 - M/P)
    m = BAPModel(M=35, alpha=3.4998, beta=1.2799, N="inf", P=6966, noise_var=0.7095)
    t = [2e7, 1e8, 1e12, 1e300]
    r = bap_theory(m, t)
    assert np.allclose(r.test_loss, 0.7095 * 35 / (6966 - 35), rtol=1e-9)
    assert np.allclose(r.train_loss, 0.7095 * (1 - 35 / 6966), rtol=1e-9)
    # P = inf, N < M: the projection's null space, kappa_0 g_1(kappa_0) (the result's final_loss)
    m = BAPModel(M=400, alpha=1.5, beta=1.0, N=50, P="inf")
    r = bap_theory(m, [1e6, 1e30, 1e300])
    assert np.allclose(r.test_loss, r.final_loss, rtol=1e-10)
    # N > M, P = inf, no noise: everything is learnt
    r = bap_theory(BAPModel(M=100, alpha=1.5, beta=1.0, N=300, P="inf"), [1e8, 1e300])
    assert np.all(r.test_loss <= r.accuracy) and np.all(r.test_loss >= 0)
    # gradient descent, finite N and P
    m = BAPModel(M=200, alpha=1.5, beta=1.0, N=400, P=600, noise_var=0.1, eta=0.5)
    r = bap_theory(m, [0.5 * 10**6, 0.5 * 10**12, 0.5e300])
    assert np.all(np.isfinite(r.test_loss)) and np.allclose(r.test_loss, r.test_loss[0], rtol=1e-10)


def test_no_negative_loss_and_an_honest_accuracy():
    rng = np.random.default_rng(7)
    for _ in range(6):
        m = BAPModel(M=int(rng.integers(30, 3000)), alpha=float(rng.uniform(1.1, 4)),
                     beta=float(rng.uniform(0.3, 2.5)), N=int(rng.integers(20, 4000)),
                     P=int(rng.integers(20, 8000)), noise_var=float(rng.uniform(0, 1)))
        t = np.logspace(0, 9, 10)
        r = bap_theory(m, t)
        for x in (r.test_loss, r.train_loss, r.accuracy):
            assert np.all(np.isfinite(x)) and np.all(x >= 0)
    # the accuracy bounds the distance to a 20-digit evaluation
    m = BAPModel(M=300, alpha=2.0, beta=1.0, N=60, P=90)
    t = [1.0, 1e3, 1e5]
    lo, hi = bap_theory(m, t), bap_theory(m, t, dps=20)
    assert np.all(np.abs(lo.test_loss - np.array(hi.test_loss, dtype=float)) <= lo.accuracy)
    assert np.all(hi.accuracy < 1e-15 * np.array(hi.test_loss, dtype=float) + 1e-30)
    assert len(lo.to_dict()["accuracy"]) == 3


@pytest.mark.parametrize("kw", [dict(M=300, N=6000, P=100), dict(M=300, N=100, P=200), dict(M=300, N=80, P="inf"),
                                dict(M=100, N=300, P=500), dict(M=100, N=300, P="inf"), dict(M=60, N="inf", P=2000)])
def test_lower_spectral_edge_against_sampled_matrices(kw):
    """The late-time cut rests on lambda_min of the non-zero spectrum of K: the deterministic value
    lies at or a little below the smallest non-zero eigenvalue of sampled (A^T A / N) Sigma_hat."""
    from scaling_theory.numerics._flow_contours import lower_edge

    m = BAPModel(alpha=1.5, beta=1.0, **kw)
    low = lower_edge(BAPSpectrum(m), m.N, m.P)
    rng = np.random.default_rng(3)
    lam = m.eigenvalues()
    mins = []
    for _ in range(3):
        F = np.eye(m.M)
        if not math.isinf(m.N):
            A = rng.standard_normal((m.N, m.M))
            F = A.T @ A / m.N
        S = np.diag(lam)
        if not math.isinf(m.P):
            X = rng.standard_normal((m.P, m.M)) * np.sqrt(lam)
            S = X.T @ X / m.P
        ev = np.sort(np.linalg.eigvals(F @ S).real)
        mins.append(ev[ev > 1e-9 * ev[-1]][0])
    assert 0.75 * np.mean(mins) < low < 1.1 * np.mean(mins)
