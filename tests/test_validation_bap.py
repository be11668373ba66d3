"""Theory = simulation for model B at P = inf (population gradient, finite N).

Spec tolerance: within the larger of 3 standard errors and 3% of the simulated
mean, at times from 1 to 1e5, comparing values above 1e-8 L(0).
"""
import numpy as np
import pytest

from numerics import BAPModel, bap_theory, simulate_bap

TIMES = np.array([1.0, 10.0, 100.0, 1e3, 1e4, 1e5])

POINTS = [
    dict(M=1000, alpha=1.5, beta=1.0, N=100),
    dict(M=1000, alpha=1.5, beta=0.5, N=300),
    dict(M=2000, alpha=2.0, beta=1.5, N=400),
    dict(M=1000, alpha=1.2, beta=1.0, N=400),
    dict(M=1000, alpha=1.5, beta=2.5, N=400),
]


@pytest.mark.parametrize("kw", POINTS, ids=[str(p) for p in POINTS])
def test_loss_curve_matches_simulation(kw):
    m = BAPModel(P="inf", **kw)
    th = bap_theory(m, TIMES)
    sim = simulate_bap(m, TIMES, seeds=64, seed=2026)
    L0 = float(np.sum(m.eigenvalues() * m.target() ** 2))
    for i, t in enumerate(TIMES):
        mean, sem = sim.test_loss[i], sim.test_loss_sem[i]
        if mean < 1e-8 * L0:
            continue
        tol = max(3 * sem, 0.03 * mean)
        assert abs(th.test_loss[i] - mean) <= tol, (
            f"t={t}: theory {th.test_loss[i]:.5e} vs simulation {mean:.5e} +- {sem:.1e}")
    # P = inf: the train loss is the test loss, in theory and simulation alike
    assert np.array_equal(sim.train_loss, sim.test_loss)
    assert np.array_equal(th.train_loss, th.test_loss)
