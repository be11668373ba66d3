"""Model A theory numerics: precision, closed forms, limits, exponents, errors.

Expected values come from closed forms (isotropic spectra, harmonic sums,
the derived exponents) or from a second, independent code path; never from
the code's own earlier output.
"""
import math

import mpmath
import numpy as np
import pytest

import scaling_theory.numerics as numerics
from scaling_theory.numerics import ConvergenceError, MRSModel, mrs_theory, mrs_theory_grid
from scaling_theory.numerics._solver import NumpyBackend, solve_increasing


def test_public_surface():
    expected = {"ACTIVATIONS", "MRSModel", "BAPModel", "MRSTheory", "MRSTheoryGrid", "mrs_theory",
                "mrs_theory_grid", "ConvergenceError", "MRSSimulation", "simulate_mrs",
                "PowerLawSpectrum", "ArraySpectrum", "spectral_sums", "spectral_trace",
                "BAPTheory", "bap_theory", "bap_train_loss_infinite_width",
                "BAPSimulation", "simulate_bap", "MRSNonlinearTheory", "mrs_nonlinear_theory",
                "bap_compute_optimal", "ComputeOptimal",
                "feature_spectrum", "FeatureSpectrum", "feature_spectrum_exponents", "FeatureExponents",
                "predicted_feature_spectrum", "PredictedFeatureSpectrum", "hermite_coefficients",
                "product_spectrum_exponent", "compare_spectra", "fit_power_law", "PowerLawFit"}
    assert set(numerics.__all__) == expected
    for name in expected:
        assert hasattr(numerics, name)


# -- precision ----------------------------------------------------------------
POINTS = [
    dict(M=1000, alpha=1, N=100, T=400),
    dict(M=1000, alpha=1, N=400, T=100),
    dict(M=1000, alpha="0.3", N=250, T=600, gamma="0.05"),
    dict(M=2000, alpha=2, N=300, T=300, gamma="0.001", noise_var="0.01"),
    dict(M=10**9, alpha="1.5", N=10**4, T=10**6, gamma="1e-6"),
    dict(M=5000, alpha="0.7", N=6000, T=7000),          # ridgeless, min(N,T) >= M
    dict(M=5000, alpha="0.7", N=6000, T=3000, noise_var="0.1"),
    dict(M=1000, alpha=1, N=50, T=5000, lambda_plus="2.5", sigma_w2=3, sigma_u2="0.5", gamma="0.02"),
]


@pytest.mark.parametrize("kw", POINTS)
def test_two_precisions_agree_to_all_requested_digits(kw):
    m = MRSModel(**kw)
    lo = mrs_theory(m, dps=30)
    hi = mrs_theory(m, dps=50)
    for key in ("test_loss", "train_loss", "kappa"):
        a, b = mpmath.mpf(getattr(lo, key)), mpmath.mpf(getattr(hi, key))
        if b == 0:
            assert a == 0
            continue
        assert abs(a / b - 1) < mpmath.mpf(10) ** -29, key
    # double precision agrees with the high-precision result
    d = mrs_theory(MRSModel(**{k: (float(v) if isinstance(v, str) else v) for k, v in kw.items()}))
    if float(hi.test_loss) > 0:
        assert abs(d.test_loss / float(hi.test_loss) - 1) < 1e-11


def test_high_precision_does_not_touch_global_state():
    before = mpmath.mp.prec
    mrs_theory(MRSModel(M=1000, alpha=1, N=100, T=400, gamma=0.01), dps=60)
    assert mpmath.mp.prec == before


def test_string_parameters_are_exact_decimals():
    a = mrs_theory(MRSModel(M=1000, alpha=1, N=100, T=400, gamma="0.1"), dps=40)
    b = mrs_theory(MRSModel(M=1000, alpha=1, N=100, T=400, gamma=0.1), dps=40)
    # 0.1 as a double differs from 1/10 at the 1e-17 level, which shows at 40 digits
    assert a.test_loss != b.test_loss
    assert abs(a.test_loss / b.test_loss - 1) < 1e-15


# -- closed forms ---------------------------------------------------------------
@pytest.mark.parametrize("N,T", [(100, 400), (300, 500)])
def test_isotropic_ridgeless_closed_form(N, T):
    """Flat spectrum: n1 = M/(1+kappa) = N gives L = sigma_w2/2 (1 - N/M) T/(T - N)."""
    M = 1000
    m = MRSModel(M=M, N=N, T=T, spectrum=np.ones(M), sigma_w2=2.0)
    want = 2.0 / 2 * (1 - N / M) * T / (T - N)
    assert abs(mrs_theory(m).test_loss / want - 1) < 1e-12
    # train loss, N < T: (1 - N/T) * (misspecification) = sigma_w2/2 (1 - N/M)(T - N)/T * T/(T-N)...
    want_train = 2.0 / 2 * (1 - N / M) * (1 - N / T) ** 2 * T / (T - N)
    assert abs(mrs_theory(m).train_loss / want_train - 1) < 1e-12


def test_full_rank_noise_only_closed_form():
    """N, T >= M at gamma = 0: ordinary least squares, L = noise M / (2 (T - M))."""
    m = MRSModel(M=200, alpha=1, N=300, T=1000, noise_var=0.5)
    r = mrs_theory(m)
    assert r.regime == "ridgeless full rank"
    assert abs(r.test_loss - 0.5 * 200 / (2 * 800)) < 1e-15
    assert abs(r.train_loss - 0.5 * (1 - 200 / 1000) / 2) < 1e-15


def test_huge_ridge_gives_the_null_model():
    """gamma -> inf: L -> sigma_w2/(2M) sum_I lambda_I, a generalised harmonic number."""
    M, alpha = 1000, 1.0
    harmonic = float(mpmath.zeta(2) - mpmath.zeta(2, M + 1))
    want = harmonic / (2 * M)
    r = mrs_theory(MRSModel(M=M, alpha=alpha, N=100, T=400, gamma=1e12))
    assert abs(r.test_loss / want - 1) < 1e-6


def test_array_spectrum_path_equals_power_law_path():
    kw = dict(M=3000, alpha=0.8, N=200, T=700, gamma=0.003, noise_var=0.01)
    a = mrs_theory(MRSModel(**kw))
    lam = MRSModel(**kw).eigenvalues()
    b = mrs_theory(MRSModel(**{k: v for k, v in kw.items() if k != "alpha"}, spectrum=lam,
                            teacher_variances=np.full(3000, 1 / 3000)))
    assert abs(a.test_loss / b.test_loss - 1) < 1e-11
    assert abs(a.train_loss / b.train_loss - 1) < 1e-11


def test_teacher_variances_enter_linearly_without_noise():
    kw = dict(M=500, alpha=1, N=100, T=300, gamma=0.01)
    om = np.random.default_rng(0).uniform(0, 1, 500)
    a = mrs_theory(MRSModel(**kw, teacher_variances=om))
    b = mrs_theory(MRSModel(**kw, teacher_variances=3 * om))
    assert abs(b.test_loss / a.test_loss - 3) < 1e-12


# -- limits and phenomena ---------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.3, 1.0, 2.0])
def test_duality_at_zero_ridge(alpha):
    N = np.array([50, 120, 300, 700])
    T = np.array([400, 900, 80, 200])
    m = MRSModel(M=1000, alpha=alpha, N=1, T=1)
    a = mrs_theory_grid(m, N=N, T=T).test_loss
    b = mrs_theory_grid(m, N=T, T=N).test_loss
    assert np.allclose(a, b, rtol=1e-12, atol=0)
    # label noise breaks it
    mn = m.replace(noise_var=0.01)
    assert not np.allclose(mrs_theory_grid(mn, N=N, T=T).test_loss,
                           mrs_theory_grid(mn, N=T, T=N).test_loss, rtol=1e-3)


def test_peak_at_N_equals_T_and_its_removal_by_optimal_ridge():
    m = MRSModel(M=2000, alpha=1, N=1, T=500)
    N = np.arange(300, 701, 20)
    ridgeless = mrs_theory_grid(m, N=N).test_loss
    assert np.isinf(ridgeless[N == 500]).all()
    finite = ridgeless[N != 500]
    assert np.argmax(finite) in (np.flatnonzero(N == 480)[0], np.flatnonzero(N == 520)[0] - 1)
    # small ridges: a finite peak that grows like 1/sqrt(gamma) as gamma -> 0
    peaks = [mrs_theory_grid(m, N=500, gamma=g).test_loss.item() for g in (1e-4, 1e-6, 1e-8)]
    assert peaks[0] < peaks[1] < peaks[2]
    # optimal ridge: the loss decreases monotonically through N = T
    gammas = np.logspace(-6, 1, 200)
    opt = mrs_theory_grid(m, N=N[:, None], gamma=gammas[None, :]).test_loss.min(axis=1)
    assert np.all(np.diff(opt) < 0)
    assert opt[N == 500][0] < finite.min()


def test_breakdown_and_plateau_when_N_reaches_M():
    """Linear features have rank <= M: the power law in N ends at N ~ M.

    Ridgeless, T >> M: below M the loss follows N^-alpha; approaching M it falls
    below the power law (breakdown); past M the fit is exact up to label noise,
    so the loss plateaus at the least-squares noise floor noise M / (2 (T - M)).
    """
    M, T, noise = 1000, 10**6, 1e-4
    m = MRSModel(M=M, alpha=1, N=1, T=T, noise_var=noise)
    N = np.array([10, 20, 900, 5000, 50000])
    L = mrs_theory_grid(m, N=N).test_loss
    assert abs(math.log(L[1] / L[0]) / math.log(2) + 1) < 0.1
    power_law_at_900 = L[0] * (900 / 10) ** -1.0
    assert L[2] < 0.5 * power_law_at_900
    floor = noise * M / (2 * (T - M))
    assert np.allclose(L[3:], floor, rtol=1e-12)
    # at fixed T < M the loss in N plateaus at the T-limited level
    mT = MRSModel(M=M, alpha=1, N=1, T=200)
    LT = mrs_theory_grid(mT, N=np.array([10**5, 10**7])).test_loss
    assert abs(LT[1] / LT[0] - 1) < 0.01


@pytest.mark.parametrize("alpha", [0.3, 1.0, 2.0])
def test_exponents_measured_on_the_numerics(alpha):
    """Fitted log-log slopes over two decades within 0.02 of the derived -alpha."""
    from scaling_theory.theory import MRS_SYMBOLS, derive_mrs
    d = derive_mrs()
    a = MRS_SYMBOLS["alpha"]
    eN = float(d["exponent_N"].subs(a, alpha))
    eT = float(d["exponent_T"].subs(a, alpha))
    m = MRSModel(M=10**12, alpha=alpha, N=1, T=1)
    x = np.logspace(3, 5, 11)
    LN = mrs_theory_grid(m, N=np.round(x), T=10**10).test_loss
    LT = mrs_theory_grid(m, N=10**10, T=np.round(x)).test_loss
    sN = np.polyfit(np.log(np.round(x)), np.log(LN), 1)[0]
    sT = np.polyfit(np.log(np.round(x)), np.log(LT), 1)[0]
    assert abs(sN - eN) < 0.02
    assert abs(sT - eT) < 0.02
    # and the prefactor: L N^alpha -> A as N grows (first correction O(1/N))
    A = float(d["prefactor"].subs({a: alpha, MRS_SYMBOLS["lambda_plus"]: 1, MRS_SYMBOLS["sigma_w2"]: 1,
                                   MRS_SYMBOLS["M"]: 10**12}))
    assert abs(LN[-1] * np.round(x[-1]) ** alpha / A - 1) < 0.01


def test_cost_does_not_grow_with_M():
    from scaling_theory.numerics._spectral_sums import direct_term_count
    from scaling_theory.numerics._ridge import mrs_spectrum
    small = direct_term_count(mrs_spectrum(MRSModel(M=10**6, alpha=1, N=10, T=10)))
    huge = direct_term_count(mrs_spectrum(MRSModel(M=10**12, alpha=1, N=10, T=10)))
    assert small == huge < 200


def test_grid_broadcasts_and_matches_pointwise():
    m = MRSModel(M=1000, alpha=1, N=1, T=1, noise_var=0.01)
    N = np.array([50, 200, 800])[:, None, None]
    T = np.array([100, 600])[None, :, None]
    g = np.array([0.0, 1e-3])[None, None, :]
    grid = mrs_theory_grid(m, N=N, T=T, gamma=g)
    assert grid.shape == (3, 2, 2)
    for i, j, k in np.ndindex(grid.shape):
        p = mrs_theory(m.replace(N=int(N[i, 0, 0]), T=int(T[0, j, 0]), gamma=float(g[0, 0, k])))
        assert abs(p.test_loss / grid.test_loss[i, j, k] - 1) < 1e-13
    assert len(grid.to_dict()["points"]) == 12


def test_result_object():
    r = mrs_theory(MRSModel(M=1000, alpha=1, N=100, T=400, gamma=0.01), dps=25)
    d = r.to_dict()
    assert isinstance(d["test_loss"], str) and len(d["test_loss"].replace(".", "").lstrip("0")) <= 26
    assert d["converged"] is True and d["dps"] == 25
    assert "test_loss" in str(r) and r"\kappa" in r.latex()
    with pytest.raises(Exception):
        r.test_loss = 0  # frozen


# -- loud on bad input ----------------------------------------------------------------
@pytest.mark.parametrize("kw,name", [
    (dict(alpha=-1), "alpha"), (dict(N=0), "N"), (dict(T=2.5), "T"), (dict(gamma=-1), "gamma"),
    (dict(noise_var=float("nan")), "noise_var"), (dict(M=0), "M"), (dict(activation="sigmoid"), "activation"),
    (dict(sigma_u2=0), "sigma_u2"), (dict(spectrum=[1.0, 2.0]), "spectrum"),
])
def test_invalid_parameters_name_themselves(kw, name):
    base = dict(M=100, alpha=1, N=10, T=20)
    base.update(kw)
    with pytest.raises(ValueError, match=name):
        MRSModel(**base)


def test_invalid_dps_and_activation():
    m = MRSModel(M=100, alpha=1, N=10, T=20)
    with pytest.raises(ValueError, match="dps"):
        mrs_theory(m, dps=0)
    with pytest.raises(ValueError, match="activation"):
        mrs_theory(m.replace(activation="relu"))
    with pytest.raises(ValueError, match="gamma"):
        mrs_theory_grid(m, gamma=[-1.0])


def test_non_convergence_raises_with_residual():
    with pytest.raises(ConvergenceError) as exc:
        # a function whose slope lies: Newton and bisection cannot reach 1e-30
        solve_increasing(lambda u: (np.sign(u - 1 / 3), np.ones_like(u)), np.array([-1.0]),
                         np.array([1.0]), backend=NumpyBackend(), tol=1e-30, maxiter=30)
    assert exc.value.residual is not None and "residual" in str(exc.value)


def test_kappa1_is_exactly_zero_when_ridgeless_with_N_at_most_T():
    # N - n1 = 0 exactly there (n1 = N): the printed value must be 0, not the round-off of N - n1
    for N, T in ((400, 400), (100, 400)):
        m = MRSModel(M=1000, alpha=1, N=N, T=T)
        assert mrs_theory(m).kappa1 == 0.0
        assert mrs_theory(m, dps=20).kappa1 == 0
    assert mrs_theory(MRSModel(M=1000, alpha=1, N=400, T=100)).kappa1 > 0     # T < N: it is not zero


def test_nonlinear_activation_points_to_the_nonlinear_theory():
    m = MRSModel(M=100, alpha=1, N=50, T=80, activation="relu")
    for call in (lambda: mrs_theory(m), lambda: mrs_theory_grid(m)):
        with pytest.raises(ValueError, match=r"^activation .*mrs_nonlinear_theory\(model\).*--activation relu"):
            call()


# -- the mpmath solve polishes the double-precision root ---------------------------------
_POLISH_POINTS = [
    dict(M=1000, alpha="1", N=100, T=400, gamma="0.001", noise_var="0.001"),
    dict(M=10**9, alpha="1", N=100, T=400, gamma="0.001"),
    dict(M=1000, alpha="0.5", N=3000, T=400, gamma="1e-6", noise_var="0.1"),
    dict(M=1000, alpha=1, N=400, T=100),                                # ridgeless, T < N
    dict(M=5000, alpha="2.5", N=4999, T=5001),                          # ridgeless, next to the peak
    dict(M=300, alpha="0.3", N=1000, T=2000, gamma="1e-9"),             # N, T > M: kappa ~ ridge
]


@pytest.mark.parametrize("kw", _POLISH_POINTS, ids=[str(p) for p in _POLISH_POINTS])
def test_polished_mpmath_root_equals_the_full_bracket_solve(kw, monkeypatch):
    """Newton from the double root (3-4 evaluations) and the bracketed solve from scratch
    (10-35) agree in every one of the 50 digits; a start that is not the root falls back."""
    import scaling_theory.numerics._ridge as R

    m = MRSModel(**kw)
    fast = mrs_theory(m, dps=50)
    monkeypatch.setattr(R, "_double_log_kappa", lambda model: None)
    full = mrs_theory(m, dps=50)
    monkeypatch.setattr(R, "_double_log_kappa", lambda model: 0.3)      # kappa = e^0.3: wrong
    wrong = mrs_theory(m, dps=50)
    for key in ("test_loss", "train_loss", "kappa", "df2"):
        a, b, c = (r.to_dict(digits=50)[key] for r in (fast, full, wrong))
        assert a == b == c, (key, a, b, c)
    assert fast.iterations <= 5 < full.iterations or full.iterations <= 5
