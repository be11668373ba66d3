"""Model B's scaling claims, derived symbolically and measured on the numerics.

Each exponent is read off `theory.derive_bap()` and compared with a log-log
slope fitted on the theory's numeric solution over two decades (within 0.03).
"""
import math

import numpy as np
import pytest

from scaling_theory.numerics import BAPModel, MRSModel, bap_theory, mrs_theory
from scaling_theory.theory import BAP_SYMBOLS, derive_bap

A_, B_ = BAP_SYMBOLS["alpha"], BAP_SYMBOLS["beta"]


def _derived(name, alpha, beta):
    return float(derive_bap().results[name].subs({A_: alpha, B_: beta}))


def test_compute_optimal_frontier_exponents():
    """C = N t at P = inf: N* ~ C^(beta/(beta+c)), t* ~ C^(c/(beta+c)), L* ~ C^(-beta c/(beta+c))."""
    alpha, beta, M = 2.0, 0.75, 20000
    Ns = np.unique(np.round(np.logspace(0.5, math.log10(0.75 * M), 48)))
    Cs = np.logspace(2, 6, 17)
    L = np.empty((Ns.size, Cs.size))
    for i, N in enumerate(Ns):
        L[i] = bap_theory(BAPModel(M=M, alpha=alpha, beta=beta, N=int(N), P="inf"), Cs / N).test_loss
    logN, logL = np.log(Ns), np.log(L)
    Nstar, Lstar = [], []
    for j in range(Cs.size):
        i = int(np.argmin(logL[:, j]))
        assert 0 < i < Ns.size - 1, "optimum at the edge of the width grid"
        # parabola through the three grid points around the minimum (in log N)
        x, y = logN[i - 1:i + 2], logL[i - 1:i + 2, j]
        a, b, c = np.polyfit(x, y, 2)
        xs = -b / (2 * a)
        Nstar.append(math.exp(xs))
        Lstar.append(math.exp(np.polyval([a, b, c], xs)))
    sN = np.polyfit(np.log(Cs), np.log(Nstar), 1)[0]
    sL = np.polyfit(np.log(Cs), np.log(Lstar), 1)[0]
    assert abs(sN - _derived("compute_optimal_N", alpha, beta)) < 0.03
    assert abs((1 - sN) - _derived("compute_optimal_t", alpha, beta)) < 0.03
    assert abs(sL - _derived("compute_optimal_loss", alpha, beta)) < 0.03
    # the asymmetry: with alpha > 1 (beta <= 1) training time grows faster than model size
    assert 1 - sN > sN


def test_finite_width_convergence_is_1_over_N_early():
    """|L(t, N) - L(t, inf)| ~ 1/N at early times (slope -1 within 0.03 over two decades)."""
    alpha, beta, M = 1.5, 1.0, 20000
    Ns = np.round(np.logspace(2, 4, 7))
    t = 1.0
    inf = bap_theory(BAPModel(M=M, alpha=alpha, beta=beta, N="inf", P="inf"), [t]).test_loss[0]
    gaps = [bap_theory(BAPModel(M=M, alpha=alpha, beta=beta, N=int(N), P="inf"), [t]).test_loss[0] - inf
            for N in Ns]
    assert np.all(np.array(gaps) > 0)
    assert abs(np.polyfit(np.log(Ns), np.log(gaps), 1)[0] + 1) < 0.03


def test_train_test_gap_grows_with_data_reuse():
    m = BAPModel(M=2000, alpha=1.5, beta=1.0, N=60000, P=300)
    t = np.logspace(0, 5, 11)
    r = bap_theory(m, t)
    rel_gap = (r.test_loss - r.train_loss) / r.test_loss
    assert rel_gap[0] < 0.05                        # little reuse yet: train ~ test
    assert np.all(np.diff(rel_gap) > 0)             # reuse opens the gap ...
    assert rel_gap[-1] > 0.99                       # ... until P < M samples are interpolated


@pytest.mark.parametrize("alpha_A", [0.5, 1.0])
@pytest.mark.parametrize("N,P", [(80, 400), (300, 120)])
def test_model_A_is_model_B_at_late_times(alpha_A, N, P):
    """The map: alpha_B = 1 + alpha_A, beta_B = alpha_A / (1 + alpha_A) makes w*_k = 1, i.e. model A's
    flat teacher with sigma_w2 = M; T = P; model B's loss has no 1/2: L_B(t = inf) = 2 L_A(gamma = 0)."""
    M = 800
    b = BAPModel(M=M, alpha=1 + alpha_A, beta=alpha_A / (1 + alpha_A), N=N, P=P)
    assert np.allclose(b.target(), 1.0)
    a = mrs_theory(MRSModel(M=M, alpha=alpha_A, N=N, T=P, sigma_w2=M))
    late = bap_theory(b, [1e10])
    assert abs(late.test_loss[0] / (2 * a.test_loss) - 1) < 1e-6
    assert abs(late.train_loss[0] - 2 * a.train_loss) < 1e-6 * late.test_loss[0] + 1e-12


def test_ensemble_versus_wider_model():
    """E students of width N vs one of width E N (equal parameter count), same data.

    Ensembling averages out the projection variance (the S_1 term of the kernel) but keeps
    each student's bias at width N; widening shrinks both. The theory says which wins,
    and the paired simulation (same training sets) agrees.
    """
    from scaling_theory.numerics import simulate_bap
    t = np.array([10.0, 1e3, 1e5])
    kw = dict(M=1000, alpha=1.5, beta=1.0, P=400)
    ens = BAPModel(N=100, ensemble=4, **kw)
    wide = BAPModel(N=400, **kw)
    one = BAPModel(N=100, **kw)
    Le, Lw, L1 = (bap_theory(m, t).test_loss for m in (ens, wide, one))
    assert np.all(Le < L1)                      # ensembling always helps a width-N student
    assert Lw[-1] < Le[-1]                      # at late times the wider model wins
    se = simulate_bap(ens, t, seeds=24, seed=5)
    sw = simulate_bap(wide, t, seeds=24, seed=5)   # same seed: same training sets (paired)
    assert np.all(np.sign(sw.test_loss - se.test_loss) == np.sign(Lw - Le))


def test_infinite_ensemble_limit_is_the_simulated_bias():
    """E -> inf keeps only the cross term of two students (independent projections, same data):
    the bias B of a width-N model.  Independent check: B estimated from paired simulations of one
    student and of an E = 4 ensemble on the same training sets, B = L_1 - E (L_1 - L_E) / (E - 1)
    (exact in expectation), at 400 instances.  The single student's own loss is off by ~6 % here
    (a 1/N effect at N = 25); the bias is not."""
    from scaling_theory.numerics import simulate_bap
    E, t = 4, np.array([100.0, 1e3, 1e5])
    kw = dict(M=250, alpha=2.0, beta=0.75, P=100)
    one, ens = BAPModel(N=25, **kw), BAPModel(N=25, ensemble=E, **kw)
    s1 = simulate_bap(one, t, seeds=400, seed=7)
    sE = simulate_bap(ens, t, seeds=400, seed=7)          # same seed: same data, first student shared
    B = s1.per_seed_test - E * (s1.per_seed_test - sE.per_seed_test) / (E - 1)
    mean, sem = B.mean(axis=0), B.std(axis=0, ddof=1) / math.sqrt(B.shape[0])
    theory = bap_theory(one.replace(ensemble=10**9), t).test_loss
    assert np.all(np.abs(mean - theory) <= 3 * sem + 0.02 * theory), (mean, sem, theory)
    assert np.all(3 * sem < 0.1 * theory)                 # the check has teeth: sem ~ 1-2 %
    # and the limit sits strictly below the E = 4 ensemble, as L_E = B + V / E requires
    assert np.all(theory < bap_theory(ens, t).test_loss)


@pytest.mark.parametrize("beta", [0.5, 1.5, 3.0])
def test_exponent_in_P_at_infinite_width(beta):
    """t = inf, N = inf: L ~ P^-(alpha min(beta, 2)) (slope within 0.03 over two decades).

    The t = inf value is the pole of the two-frequency kernel at n1(kappa0) = P; the test
    also checks that the full double-Talbot curve reaches it.
    """
    from scaling_theory.numerics._flow_contours import kappa0
    from scaling_theory.numerics._flow_sums import BAPSpectrum
    alpha = 1.5
    e_P = _derived("exponent_P", alpha, beta)
    m = BAPModel(M="inf", alpha=alpha, beta=beta, N="inf", P="inf")
    spec = BAPSpectrum(m)
    Ps = np.geomspace(1e3, 1e5, 7).round()          # M = inf: O(1) sums, no plateau
    finals = []
    for P in Ps:
        k0 = kappa0(spec, P)
        f = spec.F(np.array([k0], dtype=complex))
        n2 = f["l2", 2][0].real
        finals.append(k0**2 * f["u", 2][0].real / (1 - n2 / P))
    assert abs(np.polyfit(np.log(Ps), np.log(finals), 1)[0] - e_P) < 0.03
    small = BAPModel(M=2000, alpha=alpha, beta=beta, N="inf", P=100)
    lam_s = small.eigenvalues()
    u2_s = lam_s * small.target() ** 2
    k0 = kappa0(BAPSpectrum(small), 100)
    final = k0**2 * np.sum(u2_s / (lam_s + k0) ** 2) / (1 - np.sum((lam_s / (lam_s + k0)) ** 2) / 100)
    late = bap_theory(small, [1e9]).test_loss[0]
    assert abs(late / final - 1) < 1e-6
