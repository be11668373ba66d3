"""Custom spectra and targets as first-class models (both models).

A model with a custom spectrum has no power-law parameters: they are refused, not
ignored; its repr, describe() and to_dict() say what it is.  The theory on a custom
(non-power-law) spectrum matches finite simulations of the same model within
CONVENTIONS.md's tolerance (the larger of 3 standard errors and 3% of the mean).
"""
import math

import numpy as np
import pytest

from scaling_theory.numerics import BAPModel, MRSModel, bap_theory, mrs_theory, simulate_bap, simulate_mrs


def _within(theory, mean, sem, what):
    tol = max(3 * sem, 0.03 * abs(mean))
    assert abs(theory - mean) <= tol, (f"{what}: theory {theory:.5e} vs simulation {mean:.5e} +- {sem:.1e} "
                                       f"({(theory - mean) / sem:+.1f} sem)")


# -- the model objects ----------------------------------------------------------------
def test_custom_mrs_model_has_no_power_law_parameters():
    m = MRSModel(spectrum=[1.0, 0.5, 0.2], N=2, T=5)
    assert m.M == 3 and m.alpha is None and m.lambda_plus is None and not m.is_power_law
    assert m.sigma_w2 == 1.0                      # the teacher is still the flat one
    assert "alpha" not in repr(m) and "lambda_plus" not in repr(m)
    assert "spectrum=<3 custom eigenvalues in [0.2, 1]>" in repr(m)
    d = m.to_dict()
    assert "alpha" not in d and "lambda_plus" not in d and d["spectrum"] == [1.0, 0.5, 0.2]
    assert m.describe() == "custom spectrum"
    t = MRSModel(M=3, alpha=1, N=2, T=5, teacher_variances=[0.5, 0.0, 0.5])
    assert t.sigma_w2 is None and "sigma_w2" not in t.to_dict()
    assert t.describe() == "alpha = 1, custom teacher"


def test_custom_bap_model_has_no_power_law_parameters():
    m = BAPModel(spectrum=[1.0, 0.3, 0.1], target_weights=[1.0, -1.0, 0.5], N=2, P="inf")
    assert m.M == 3 and m.alpha is None and m.beta is None
    assert "alpha" not in repr(m) and "beta" not in repr(m) and "custom target weights" in repr(m)
    assert {"alpha", "beta"}.isdisjoint(m.to_dict()) and m.describe() == "custom spectrum and target"
    t = BAPModel(M=3, alpha=1.5, N=2, P=4, target_weights=[1.0, 0.0, 2.0])
    assert t.beta is None and t.describe() == "alpha = 1.5, custom target"
    assert np.allclose(t.eigenvalues(), [1, 2**-1.5, 3**-1.5])   # the power-law spectrum stays


@pytest.mark.parametrize("make, name", [
    (lambda: MRSModel(alpha=1, spectrum=[1.0, 0.5], N=1, T=1), "alpha is not used with a custom spectrum"),
    (lambda: MRSModel(lambda_plus=2, spectrum=[1.0, 0.5], N=1, T=1), "lambda_plus is not used"),
    (lambda: MRSModel(M=2, alpha=1, sigma_w2=2, teacher_variances=[1.0, 0.5], N=1, T=1), "sigma_w2 is not used"),
    (lambda: MRSModel(N=1, T=1), "M is required"),
    (lambda: MRSModel(M=5, N=1, T=1), "alpha is required"),
    (lambda: MRSModel(M=3, spectrum=[1.0, 0.5], N=1, T=1), "spectrum must have M = 3 entries"),
    (lambda: MRSModel(spectrum=[1.0, 0.5], teacher_variances=[1.0], N=1, T=1), "teacher_variances must have M = 2"),
    (lambda: MRSModel(spectrum=[[1.0, 0.5]], N=1, T=1), "spectrum must be a 1-D array"),
    (lambda: BAPModel(spectrum=[1.0, 0.5], N=1, P=1), "target_weights is required with a custom spectrum"),
    (lambda: BAPModel(alpha=2, spectrum=[1.0, 0.5], target_weights=[1, 1], N=1, P=1), "alpha is not used"),
    (lambda: BAPModel(M=2, alpha=2, beta=1, target_weights=[1, 1], N=1, P=1), "beta is not used"),
    (lambda: BAPModel(M=2, alpha=2, N=1, P=1), "beta is required"),
    (lambda: BAPModel(M="inf", alpha=2, target_weights=[1.0, 1.0], N=1, P=1), "target_weights requires a finite M"),
    (lambda: BAPModel(spectrum=[1.0, -0.5], target_weights=[1, 1], N=1, P=1), "spectrum must be > 0"),
])
def test_meaningless_or_missing_parameters_are_refused(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_replace_switches_between_power_law_and_custom():
    m = MRSModel(M=4, alpha=1.0, N=2, T=8)
    c = m.replace(spectrum=[1.0, 0.5, 0.2, 0.1])       # the power law's parameters are dropped
    assert c.alpha is None and c.lambda_plus is None and c.N == 2
    back = c.replace(spectrum=None, alpha=2.0)
    assert back.is_power_law and back.lambda_plus == 1.0 and back.eigenvalues()[1] == 2.0**-3
    b = BAPModel(M=3, alpha=1.5, beta=1.0, N=2, P=4).replace(target_weights=[1.0, 0.5, 0.1])
    assert b.beta is None and b.alpha == 1.5


def test_custom_arrays_equal_to_the_power_law_give_the_power_law_numbers():
    """Two independent routes: the O(1) power-law sums and the explicit array sums."""
    pl = MRSModel(M=3000, alpha=0.8, N=200, T=700, gamma=0.003)
    arr = MRSModel(spectrum=pl.eigenvalues(), N=200, T=700, gamma=0.003)
    assert abs(mrs_theory(arr).test_loss / mrs_theory(pl).test_loss - 1) < 1e-11
    plb = BAPModel(M=2000, alpha=1.5, beta=1.0, N=100, P=300)
    arrb = BAPModel(spectrum=plb.eigenvalues(), target_weights=plb.target(), N=100, P=300)
    t = [1.0, 100.0, 1e4]
    assert np.allclose(bap_theory(arrb, t).test_loss, bap_theory(plb, t).test_loss, rtol=1e-8)


# -- theory = simulation on spectra that are not power laws ----------------------------
def _two_scale(M):
    """A spectrum with a gap and an exponential tail: nothing like a power law."""
    k = np.arange(1, M + 1)
    return np.where(k <= 20, 1.0, 0.05 * np.exp(-(k - 20) / 150.0)) + 1e-5


def test_mrs_theory_matches_simulation_on_a_custom_spectrum_and_teacher():
    M = 1000
    rng = np.random.default_rng(11)
    tv = rng.uniform(0.0, 2.0, M) / M
    for N, T, gamma in ((150, 400, 1e-3), (400, 200, 0.0)):
        m = MRSModel(spectrum=_two_scale(M), teacher_variances=tv, N=N, T=T, gamma=gamma, noise_var=1e-3)
        th = mrs_theory(m)
        sim = simulate_mrs(m, seeds=24, seed=2027)
        _within(th.test_loss, sim.test_loss[0], sim.test_loss_sem[0], f"test loss N={N} T={T}")
        if th.train_loss > 0:
            _within(th.train_loss, sim.train_loss[0], sim.train_loss_sem[0], f"train loss N={N} T={T}")


@pytest.mark.parametrize("N, P", [(200, math.inf), (300, 800)])
def test_bap_theory_matches_simulation_on_a_custom_spectrum_and_target(N, P):
    M = 1000
    lam = _two_scale(M)
    w = np.random.default_rng(5).choice([-1.0, 1.0], M) * np.arange(1, M + 1) ** -0.6
    m = BAPModel(spectrum=lam, target_weights=w, N=N, P=P)
    times = np.array([1.0, 10.0, 100.0, 1e3, 1e4])
    th = bap_theory(m, times)
    sim = simulate_bap(m, times, seeds=128, seed=2027)   # 20 equal top modes: ~14% spread per instance at t = 1
    for i, t in enumerate(times):
        _within(th.test_loss[i], sim.test_loss[i], sim.test_loss_sem[i], f"test loss t={t}")
        _within(th.train_loss[i], sim.train_loss[i], sim.train_loss_sem[i], f"train loss t={t}")
