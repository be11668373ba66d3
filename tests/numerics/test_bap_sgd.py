"""Model B with online SGD (P = inf, batch B): derivation, numerics, simulation.

Independent references: the exact second-moment recursion iterated mode by mode
(N = inf: J = Lambda exactly; finite N: the eigenvalues of sampled J, averaged over
the projection), full-batch gradient descent (B -> inf), and the SGD simulation.
"""
import math

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from scaling_theory.numerics import BAPModel, bap_theory, simulate_bap
from scaling_theory.numerics._flow_sgd import sgd_stability_bound
from scaling_theory.numerics._flow_sums import BAPSpectrum
from scaling_theory.cli import main
from scaling_theory.theory import derive_bap_sgd


def recursion(j, u2, eta, B, noise, nmax):
    """L(0..nmax) from d_a' = rho(j_a) d_a + q(j_a) (L + sigma^2), iterated directly."""
    rho = (1 - eta * j) ** 2 + eta**2 * j**2 / B
    q = eta**2 * j**2 / B
    d = np.array(u2, dtype=float)
    out = [d.sum()]
    for _ in range(nmax):
        d = rho * d + q * (out[-1] + noise)
        out.append(d.sum())
    return np.array(out)


def test_derivation_verifies():
    report = derive_bap_sgd().verify()
    assert len(report) == 8       # the eighth: stability of the second moment
    for title, residuals in report.items():
        assert all(r == 0 for r in residuals), (title, residuals)


@pytest.mark.parametrize("B, noise", [(1, 0.0), (4, 0.0), (4, 1e-2), (64, 1e-3)])
def test_infinite_width_equals_the_exact_recursion(B, noise):
    """N = inf: J = Lambda, the recursion is exact; the Talbot inversion of its generating
    function reproduces it from the first step to 2 10^4 steps."""
    m = BAPModel(M=500, alpha=1.5, beta=1.0, N="inf", P="inf", eta=0.4, batch=B, noise_var=noise)
    lam, u2 = BAPSpectrum(m).lam_u()
    n = np.array([0, 1, 2, 3, 5, 10, 30, 100, 1000, 10000, 20000])
    want = recursion(lam, u2, 0.4, B, noise, int(n.max()))[n]
    got = bap_theory(m, 0.4 * n).test_loss
    assert np.max(np.abs(got / want - 1)) < 1e-7


def test_large_batch_is_full_batch_gradient_descent():
    m = BAPModel(M=400, alpha=1.5, beta=1.0, N=100, P="inf", eta=0.4)
    t = 0.4 * np.array([1, 3, 10, 30, 100, 1000])
    gd = bap_theory(m, t).test_loss
    sgd = bap_theory(m.replace(batch=10**9), t).test_loss
    assert np.max(np.abs(sgd / gd - 1)) < 1e-7


def test_finite_width_against_the_recursion_on_sampled_projections():
    """Finite N: the deterministic equivalent against the exact (given A) recursion on the
    eigenvalues of sampled J = Lambda^1/2 (A^T A/N) Lambda^1/2, averaged over 24 draws of A:
    within 3 standard errors or 3%."""
    M, N, eta, B, noise = 400, 100, 0.4, 4, 1e-3
    m = BAPModel(M=M, alpha=1.5, beta=1.0, N=N, P="inf", eta=eta, batch=B, noise_var=noise)
    lam, u2 = BAPSpectrum(m).lam_u()
    n = np.array([1, 3, 10, 30, 100, 300, 1000, 3000])
    rng = np.random.default_rng(7)
    curves = []
    with threadpool_limits(limits=1, user_api="blas"):   # small matrices: no spinning threads
        for _ in range(24):
            A = rng.standard_normal((N, M))
            J = np.sqrt(lam)[:, None] * (A.T @ A / N) * np.sqrt(lam)[None, :]
            j, V = np.linalg.eigh(J)
            curves.append(recursion(np.clip(j, 0, None), (V.T @ np.sqrt(u2)) ** 2, eta, B, noise,
                                    int(n.max()))[n])
    curves = np.array(curves)
    mean, sem = curves.mean(0), curves.std(0, ddof=1) / math.sqrt(len(curves))
    got = bap_theory(m, eta * n).test_loss
    assert np.all(np.abs(got - mean) <= np.maximum(3 * sem, 0.03 * mean))


def test_final_loss_is_the_late_curve_and_the_noise_floor():
    """t -> inf: (L_0 + Q_1 sigma^2)/(1 - Q_1).  At N = inf, L_0 = 0 and
    Q_1 = (eta/B) sum_k lambda_k / (2 - eta (1 + 1/B) lambda_k) (direct sum)."""
    eta, B, noise = 0.4, 4, 1e-2
    m = BAPModel(M=300, alpha=1.5, beta=1.0, N="inf", P="inf", eta=eta, batch=B, noise_var=noise)
    r = bap_theory(m, [4e6])
    lam, _ = BAPSpectrum(m).lam_u()
    q1 = eta / B * np.sum(lam / (2 - eta * (1 + 1 / B) * lam))
    assert r.final_loss == pytest.approx(q1 * noise / (1 - q1), rel=1e-10)
    assert r.test_loss[0] == pytest.approx(r.final_loss, rel=1e-6)
    fin = bap_theory(m.replace(N=100), [4e6])
    assert fin.test_loss[0] == pytest.approx(fin.final_loss, rel=1e-6)
    assert fin.final_loss > r.final_loss


def test_infinite_M():
    """M = inf is allowed (the sums are O(1) in M) and is the limit of large M."""
    kw = dict(alpha=2.0, beta=1.0, N=100, P="inf", eta=0.5, batch=8, noise_var=1e-3)
    t = [0.5, 50.0, 5000.0]
    a = bap_theory(BAPModel(M="inf", **kw), t).test_loss
    b = bap_theory(BAPModel(M=10**6, **kw), t).test_loss
    assert np.allclose(a, b, rtol=1e-4)


def test_theory_matches_simulation():
    """Against the SGD simulation (spec tolerance: the larger of 3 sem and 3%)."""
    m = BAPModel(M=1000, alpha=1.5, beta=1.0, N=100, P="inf", eta=0.5, batch=4)
    t = 0.5 * np.array([1, 10, 100, 1000])
    sim = simulate_bap(m, t, seeds=16, seed=1, progress=False)
    th = bap_theory(m, t).test_loss
    assert np.all(np.abs(th - sim.test_loss) <= np.maximum(3 * sim.test_loss_sem, 0.03 * sim.test_loss))


@pytest.mark.slow
@pytest.mark.parametrize("kw", [dict(N=100, batch=4, eta=0.5, noise_var=0.0),
                                dict(N=400, batch=8, eta=0.8, noise_var=1e-3),
                                dict(N=200, batch=1, eta=0.3, noise_var=1e-2)])
def test_theory_matches_simulation_slow(kw):
    m = BAPModel(M=1000, alpha=1.5, beta=1.0, P="inf", **kw)
    t = kw["eta"] * np.array([1, 10, 100, 1000, 3000])
    sim = simulate_bap(m, t, seeds=64, seed=1, progress=False)
    th = bap_theory(m, t).test_loss
    assert np.all(np.abs(th - sim.test_loss) <= np.maximum(3 * sim.test_loss_sem, 0.03 * sim.test_loss))


def test_sgd_noise_costs_loss():
    """At equal eta, a smaller batch is worse (the noise term q (L + sigma^2) >= 0)."""
    base = BAPModel(M=500, alpha=1.5, beta=1.0, N=200, P="inf", eta=0.5)
    t = [5.0, 50.0, 500.0]
    gd = bap_theory(base, t).test_loss
    b8 = bap_theory(base.replace(batch=8), t).test_loss
    b1 = bap_theory(base.replace(batch=1), t).test_loss
    assert np.all(b1 > b8) and np.all(b8 > gd)


def test_bad_input():
    m = BAPModel(M=300, alpha=1.5, beta=1.0, N=100, P="inf", eta=0.5, batch=4)
    with pytest.raises(ValueError, match="dps"):
        bap_theory(m, [1.0], dps=20)
    with pytest.raises(ValueError, match="ensemble"):
        bap_theory(m.replace(ensemble=2), [1.0])
    bound = sgd_stability_bound(1.0, 4)
    with pytest.raises(ValueError, match="eta must be < "):
        bap_theory(BAPModel(M=300, alpha=1.5, beta=1.0, N="inf", P="inf", eta=1.01 * bound, batch=4),
                   [1.01 * bound])
    with pytest.raises(ValueError, match="multiples of eta"):
        bap_theory(m, [0.7])


def test_cli_loss_with_batch(capsys):
    import json

    args = ["bap", "loss", "--M", "300", "--alpha", "1.5", "--beta", "1", "--N", "100", "--P", "inf",
            "--t", "0.5,5,50", "--eta", "0.5", "--batch", "4", "--json"]
    assert main(args) == 0
    d = json.loads(capsys.readouterr().out)
    ref = bap_theory(BAPModel(M=300, alpha=1.5, beta=1.0, N=100, P="inf", eta=0.5, batch=4), [0.5, 5, 50])
    assert d["batch"] == 4 and np.allclose(d["test_loss"], ref.test_loss, rtol=1e-14)
    assert d["train_loss"] == d["test_loss"]
    assert main(args[:-1] + ["--precision", "20"]) == 2
    assert "--precision" in capsys.readouterr().err
