"""Theory = simulation for model A (linear features).

Tolerance from CONVENTIONS.md: the prediction lies within the larger
of 3 standard errors and 3% of the simulated mean (M >= 1000, N, T >= 100,
away from the ridgeless peak N = T).  The simulated means come from
independent finite instances (seeded), never from the theory.
"""
import numpy as np
import pytest

from scaling_theory.numerics import MRSModel, mrs_theory, simulate_mrs


def assert_matches(theory_value, mean, sem, what):
    tol = max(3 * sem, 0.03 * abs(mean))
    assert abs(theory_value - mean) <= tol, (
        f"{what}: theory {theory_value:.5e} vs simulation {mean:.5e} +- {sem:.1e} "
        f"({(theory_value / mean - 1) * 100:+.2f}%, {(theory_value - mean) / sem:+.1f} sem)")


# (model parameters, seeds): N < T, N > T, gamma = 0 and > 0 (including N = T),
# label noise, alpha from 0.3 to 2, M >= 1000
POINTS = [
    (dict(M=1000, alpha=1.0, N=100, T=400), 24),
    (dict(M=1000, alpha=1.0, N=400, T=150), 24),
    (dict(M=1000, alpha=1.0, N=300, T=300, gamma=0.01), 24),
    (dict(M=1000, alpha=1.0, N=150, T=300, gamma=1e-3, noise_var=0.01), 24),
    (dict(M=1000, alpha=0.3, N=300, T=200, gamma=0.05), 24),
    (dict(M=1000, alpha=2.0, N=200, T=500), 24),
    (dict(M=1200, alpha=0.5, N=250, T=250, gamma=1e-3, noise_var=1e-3), 24),
    (dict(M=1000, alpha=1.5, N=500, T=120, noise_var=1e-4), 24),
]


@pytest.mark.parametrize("kw,seeds", POINTS, ids=[str(p[0]) for p in POINTS])
def test_theory_matches_simulation(kw, seeds):
    m = MRSModel(**kw)
    th = mrs_theory(m)
    sim = simulate_mrs(m, seeds=seeds, seed=20261123)
    assert_matches(th.test_loss, sim.test_loss[0], sim.test_loss_sem[0], "test loss")
    if th.train_loss == 0:  # ridgeless with T <= N: interpolation
        assert sim.train_loss[0] < 1e-20 * th.test_loss
    else:
        assert_matches(th.train_loss, sim.train_loss[0], sim.train_loss_sem[0], "train loss")


def test_ridge_sweep_on_shared_instances():
    """One SVD per instance serves every gamma; each gamma matches the theory."""
    m = MRSModel(M=1000, alpha=1.0, N=200, T=300, noise_var=1e-3)
    gammas = np.array([0.0, 1e-4, 1e-3, 1e-2, 1e-1])
    sim = simulate_mrs(m, seeds=24, seed=7, gammas=gammas)
    for i, g in enumerate(gammas):
        th = mrs_theory(m.replace(gamma=float(g)))
        assert_matches(th.test_loss, sim.test_loss[i], sim.test_loss_sem[i], f"test loss gamma={g}")
        assert_matches(th.train_loss, sim.train_loss[i], sim.train_loss_sem[i], f"train loss gamma={g}")


def test_duality_in_simulation():
    """Swapping N and T at gamma = 0 leaves the simulated loss unchanged within errors."""
    a = simulate_mrs(MRSModel(M=1000, alpha=1.0, N=120, T=360), seeds=24, seed=3)
    b = simulate_mrs(MRSModel(M=1000, alpha=1.0, N=360, T=120), seeds=24, seed=4)
    diff = a.test_loss[0] - b.test_loss[0]
    assert abs(diff) < 3 * np.hypot(a.test_loss_sem[0], b.test_loss_sem[0]) + 0.03 * a.test_loss[0]


SLOW_POINTS = [
    (dict(M=4000, alpha=1.0, N=400, T=1600), 16),
    (dict(M=4000, alpha=1.0, N=1600, T=500), 16),
    (dict(M=2000, alpha=0.3, N=1000, T=1000, gamma=0.01, noise_var=1e-3), 16),
    (dict(M=2000, alpha=2.0, N=300, T=1500, gamma=1e-5), 16),
    (dict(M=3000, alpha=0.7, N=2500, T=3500, noise_var=1e-2), 12),
    (dict(M=1000, alpha=1.0, N=1500, T=3000, noise_var=1e-2), 16),  # N > M: plateau regime
]


@pytest.mark.slow
@pytest.mark.parametrize("kw,seeds", SLOW_POINTS, ids=[str(p[0]) for p in SLOW_POINTS])
def test_theory_matches_simulation_large(kw, seeds):
    m = MRSModel(**kw)
    th = mrs_theory(m)
    sim = simulate_mrs(m, seeds=seeds, seed=11)
    assert_matches(th.test_loss, sim.test_loss[0], sim.test_loss_sem[0], "test loss")
    if th.train_loss > 0:
        assert_matches(th.train_loss, sim.train_loss[0], sim.train_loss_sem[0], "train loss")
