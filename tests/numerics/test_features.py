"""Tests of the feature-spectrum module (numerics/_feature_spectra.py) and of the
derivation of the extension (theory/_feature_maps.py).

Expected values come from independent sources: scipy quadrature for the
Hermite coefficients; the closed-form kernels of ``numerics._simulate_ridge``
against their Mehler series; the ``M x M`` Gram matrix
``Lambda^{1/2} U^T U Lambda^{1/2}`` for linear features; the Marchenko-Pastur
law (by quadrature of its density) for the deterministic equivalent; Monte
Carlo with its standard errors; brute-force enumeration of index tuples;
synthetic power laws with known exponents; and the symbolic layer.
"""
import itertools
import json
import math

import numpy as np
import pytest
import sympy as sp
from numpy.polynomial.hermite_e import hermeval
from scipy import integrate
from scipy.special import erf

import scaling_theory.numerics._feature_spectra as F
from scaling_theory.numerics._feature_spectra import (FeatureExponents, FeatureSpectrum, PowerLawFit,
                                PredictedFeatureSpectrum, compare_spectra, feature_spectrum,
                                feature_spectrum_exponents, fit_power_law, hermite_coefficients,
                                predicted_feature_spectrum, product_spectrum_exponent)
from scaling_theory.numerics._models import MRSModel
from scaling_theory.numerics._simulate_ridge import _draw_instance, _feature_moments
from scaling_theory.theory._feature_maps import (FEATURE_SYMBOLS, derive_feature_extension, erf_coefficient,
                              relu_coefficient)

ACTS = {"linear": lambda h: h, "relu": lambda h: np.maximum(h, 0.0), "erf": erf, "tanh": np.tanh}
M0, N0 = 100, 400          # the default test size: N = 4 M


def _model(act="linear", M=M0, N=N0, alpha=1.0, **kw):
    return MRSModel(M=M, alpha=alpha, N=N, T=1, activation=act, **kw)


@pytest.fixture(scope="module")
def derivation():
    return derive_feature_extension()


def test_public_surface():
    assert sorted(F.__all__) == sorted([
        "feature_spectrum", "FeatureSpectrum", "feature_spectrum_exponents", "FeatureExponents",
        "fit_power_law", "PowerLawFit", "hermite_coefficients", "predicted_feature_spectrum",
        "PredictedFeatureSpectrum", "product_spectrum_exponent", "compare_spectra"])
    for name in F.__all__:
        assert getattr(F, name) is not None


# ---------------------------------------------------------------------------
# Hermite coefficients and Mehler series
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("act", ["linear", "relu", "erf", "tanh"])
def test_hermite_coefficients_against_quadrature(act):
    q, order = 0.7, 7
    c = hermite_coefficients(act, q, order)
    for n in range(order + 1):
        coef = np.zeros(n + 1)
        coef[n] = 1.0
        f = lambda z: ACTS[act](math.sqrt(q) * z) * hermeval(z, coef) * math.exp(-z * z / 2)  # noqa: E731
        # the integrand is below 1e-30 beyond |z| = 14; split at ReLU's kink
        val = sum(integrate.quad(f, a, b, epsabs=1e-12, epsrel=1e-11, limit=200)[0]
                  for a, b in ((-14.0, 0.0), (0.0, 14.0))) / math.sqrt(2 * math.pi)
        assert abs(c[n] - val) < 1e-9, (act, n, c[n], val)


@pytest.mark.parametrize("q", [0.01, 0.3, 2.5])
def test_hermite_coefficients_equal_the_derived_closed_forms(q):
    """Bridge: the numeric closed forms are the symbolic layer's."""
    qs = FEATURE_SYMBOLS["q"]
    relu = hermite_coefficients("relu", q, 12)
    erf_c = hermite_coefficients("erf", q, 13)
    for n in range(13):
        ref = float(relu_coefficient(n).subs(qs, q))
        assert relu[n] == pytest.approx(ref, rel=1e-13, abs=1e-15)
    for n in range(14):
        ref = float(erf_coefficient(n).subs(qs, q))
        assert erf_c[n] == pytest.approx(ref, rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("act, terms", [("relu", 80), ("erf", 61), ("tanh", 41), ("linear", 3)])
def test_mehler_series_reproduces_the_closed_form_kernels(act, terms):
    """K_ij = sum_n c_n(q_i) c_n(q_j) rho^n / n! against numerics._simulate_ridge's kernels,
    at pre-activation variances ~0.5 (strongly nonlinear), for |rho| <= 0.8."""
    m = _model(act, M=30, N=14, sigma_u2=18.0)
    lam, _w, U, _X, _e = _draw_instance(m, np.random.default_rng(5))
    Sigma = (U * lam) @ U.T
    K, _k, _how = _feature_moments(act, Sigma, np.zeros(m.N))
    qv = np.diag(Sigma)
    rho = Sigma / np.sqrt(np.outer(qv, qv))
    C = np.array([hermite_coefficients(act, qi, terms) for qi in qv])      # (N, terms+1)
    series = np.zeros_like(K)
    for n in range(terms + 1):
        series += np.outer(C[:, n], C[:, n]) * rho**n / math.factorial(n)
    mask = np.abs(rho) <= 0.8
    assert mask.sum() > 20
    # the tail is below sum_{n > terms} c_n^2/n! 0.8^n, far below 1e-8 here
    assert np.max(np.abs(series - K)[mask]) < 1e-8


# ---------------------------------------------------------------------------
# exact spectra: linear rank M, nonlinear extension
# ---------------------------------------------------------------------------
def test_linear_features_have_rank_M_and_the_gram_spectrum():
    m = _model("linear")
    fs = feature_spectrum(m, seed=3)
    lam, _w, U, _X, _e = _draw_instance(m.replace(T=1), np.random.default_rng(3))
    gram = np.sqrt(lam)[:, None] * (U.T @ U) * np.sqrt(lam)[None, :]     # M x M
    ref = np.linalg.eigvalsh(gram)[::-1]
    ev = fs.eigenvalues
    assert fs.extent == M0
    assert np.max(np.abs(ev[M0:])) < 1e-13 * ev[0]
    assert np.max(np.abs(ev[:M0] - ref)) < 1e-12 * ev[0]
    assert fs.extended_fit is None and fs.extension_ratio < 1e-13
    assert fs.method == "exact"


@pytest.mark.parametrize("act", ["relu", "erf", "tanh"])
def test_nonlinear_features_continue_past_M(act):
    fs = feature_spectrum(_model(act, M=60, N=240), seed=1)
    assert fs.extent == 240                      # full rank at the 1e-12 cutoff
    assert fs.extension_ratio > 1e-7             # eigenvalue M+1: far above round-off
    assert np.all(np.diff(fs.eigenvalues) <= 0)
    assert fs.extended_fit is not None and fs.extended_fit.offset == 60


def test_explicit_spectrum_matches_the_model():
    m = _model("erf", M=50, N=120)
    a = feature_spectrum(m, seed=4)
    b = feature_spectrum(m.eigenvalues(), N=120, activation="erf", seed=4)
    c = feature_spectrum(m.replace(spectrum=m.eigenvalues()), seed=4)
    assert np.array_equal(a.eigenvalues, b.eigenvalues)
    assert np.array_equal(a.eigenvalues, c.eigenvalues)
    d = feature_spectrum(2 * m.eigenvalues(), N=120, activation="linear", sigma_u2=0.5, seed=4)
    e = feature_spectrum(m, activation="linear", seed=4)
    assert np.allclose(d.eigenvalues, e.eigenvalues, rtol=1e-12, atol=1e-14)


def test_sampled_spectrum_agrees_within_its_standard_errors():
    m = _model("relu", M=30, N=40)
    ex = feature_spectrum(m, seed=2)
    mc = feature_spectrum(m, seed=2, method="sampled", samples=40000)
    assert mc.samples == 40000 and "40000" in mc.method
    z = (mc.eigenvalues[:10] - ex.eigenvalues[:10]) / mc.eigenvalue_sem[:10]
    # first-order standard errors; the bias of the top eigenvalues is O(1/samples)
    assert np.max(np.abs(z)) < 4.5
    assert np.mean(z * z) < 4.0
    again = feature_spectrum(m, seed=2, method="sampled", samples=40000)
    assert np.array_equal(mc.eigenvalues, again.eigenvalues)


# ---------------------------------------------------------------------------
# fits
# ---------------------------------------------------------------------------
def test_fit_power_law_recovers_exponents_and_calibrates_errors():
    k = np.arange(1, 301, dtype=float)
    exact = fit_power_law(2.5 * np.maximum(k - 20, 1.0) ** -0.7, 30, 300, offset=20)
    assert exact.exponent == pytest.approx(0.7, abs=1e-12) and exact.stderr < 1e-10
    assert exact.amplitude == pytest.approx(2.5, rel=1e-10)
    assert np.allclose(exact.predict([50, 100]), 2.5 * np.array([30.0, 80.0]) ** -0.7)
    rng = np.random.default_rng(0)
    reps, covered, est = 300, 0, []
    for _ in range(reps):
        y = k ** -1.3 * np.exp(0.2 * rng.standard_normal(k.size))
        f = fit_power_law(y, 5, 300)
        covered += abs(f.exponent - 1.3) < 2 * f.stderr
        est.append(f.exponent)
    # independent log-normal noise: the OLS error bar is exact (95.4% within 2 sigma)
    assert 0.90 < covered / reps < 0.99
    assert abs(np.mean(est) - 1.3) < 3 * np.std(est) / math.sqrt(reps)


def test_latent_exponent_over_draws_matches_the_deterministic_equivalent():
    for alpha in (0.5, 1.0):
        m = _model("linear", M=200, N=400, alpha=alpha)
        e = feature_spectrum_exponents(m, seeds=4, seed=0)
        mean, sem = e.latent_exponent
        pred = predicted_feature_spectrum(m)
        expected = fit_power_law(pred.finite_n_eigenvalues, *e.latent_window).exponent
        # statistics plus the deterministic equivalent's own O(1/N) error
        assert abs(mean - expected) < 3 * sem + 0.01, (alpha, mean, sem, expected)
        assert abs(fit_power_law(pred.eigenvalues, *e.latent_window).exponent - (1 + alpha)) < 1e-12
        assert math.isnan(e.extended_exponent[0])


def test_extended_part_is_flatter_for_relu_than_for_erf():
    """ReLU's slowly decaying Hermite weights (b_n ~ n^-3/2) flatten its extension;
    erf's extension follows the cubic products, near the latent exponent."""
    relu = feature_spectrum_exponents(_model("relu"), seeds=3, seed=1)
    erf_ = feature_spectrum_exponents(_model("erf"), seeds=3, seed=1)
    r, rs = relu.extended_exponent
    e, es = erf_.extended_exponent
    assert r + 3 * rs < 1.0 < 1.5 < e - 3 * es
    assert abs(erf_.latent_exponent[0] - 2.0) < 0.05


# ---------------------------------------------------------------------------
# the prediction
# ---------------------------------------------------------------------------
def _mp_quantiles(gamma, count):
    """Quantiles of the Marchenko-Pastur law of ratio gamma < 1 (unit variance),
    by quadrature of its density: largest first."""
    a, b = (1 - math.sqrt(gamma)) ** 2, (1 + math.sqrt(gamma)) ** 2
    dens = lambda x: math.sqrt(max((b - x) * (x - a), 0.0)) / (2 * math.pi * gamma * x)  # noqa: E731
    xs = np.linspace(a, b, 4001)
    cdf = np.array([0.0] + [integrate.quad(dens, xs[i], xs[i + 1])[0] for i in range(xs.size - 1)])
    cdf = np.cumsum(cdf)
    probs = (np.arange(count)[::-1] + 0.5) / count          # descending
    return np.interp(probs, cdf / cdf[-1], xs)


def test_deterministic_equivalent_is_marchenko_pastur_for_a_flat_spectrum():
    M, N = 100, 400
    p = predicted_feature_spectrum(np.ones(M), N=N, activation="linear", sigma_u2=2.0)
    # K = U U^T, U_jI ~ N(0, 2/M): nonzero eigenvalues (2 N / M) x MP(M / N)
    ref = (2.0 * N / M) * _mp_quantiles(M / N, M)
    got = p.finite_n_eigenvalues[:M]
    assert np.all(p.finite_n_eigenvalues[M:] == 0) and p.finite_n_extent == M
    # the top quantiles sit on the square-root edge, where the grid interpolation
    # is coarsest; the bulk is accurate to the grid spacing (~1%)
    assert np.max(np.abs(got[3:-3] / ref[3:-3] - 1)) < 0.02
    assert np.max(np.abs(got / ref - 1)) < 0.08


def test_deterministic_equivalent_matches_exact_linear_spectra():
    m = _model("linear")
    p = predicted_feature_spectrum(m)
    assert np.allclose(p.eigenvalues[:M0], N0 / M0 * m.eigenvalues(), rtol=1e-12)
    for seed in range(3):
        r = compare_spectra(feature_spectrum(m, seed=seed).eigenvalues, p.finite_n_eigenvalues, 10, 90)
        # per-eigenvalue fluctuations are O(N^-1/2) around the equivalent
        assert abs(r["median"] - 1) < 0.03 and r["max_abs_log"] < 0.25, r
        # the N -> inf population misses the Marchenko-Pastur edge near k = M
        edge = compare_spectra(feature_spectrum(m, seed=seed).eigenvalues, p.eigenvalues, 85, 90)
        assert edge["median"] < 0.85


def test_erf_prediction_on_the_latent_part_and_the_start_of_the_extension():
    m = _model("erf")
    p = predicted_feature_spectrum(m)
    assert p.orders == (1, 3, 5)
    for seed in range(3):
        ev = feature_spectrum(m, seed=seed).eigenvalues
        lat = compare_spectra(ev, p.finite_n_eigenvalues, 10, 90)
        assert abs(lat["median"] - 1) < 0.03 and lat["max_abs_log"] < 0.25
        ext = compare_spectra(ev, p.finite_n_eigenvalues, M0 + 1, M0 + (N0 - M0) // 4)
        # measured at most ~40% below the prediction there (finite-N compression,
        # see test_population_prediction_is_the_large_N_limit), never above it by much
        assert 0.55 < ext["median"] < 1.1, ext


def test_population_prediction_is_the_large_N_limit():
    """At a fixed index window past M, measured / population rises towards 1 with N."""
    window = (M0 + 1, M0 + 25)

    def ratio(N):
        m = _model("erf", N=N)
        p = predicted_feature_spectrum(m, finite_n=False)
        return np.mean([compare_spectra(feature_spectrum(m, seed=s).eigenvalues, p.eigenvalues,
                                        *window)["median"] for s in range(2)])

    small, large = ratio(200), ratio(800)
    assert small + 0.2 < large < 1.1


def test_erf_extent_follows_the_counted_cubic_products():
    m = _model("erf")
    for cut in (1e-6, 1e-7):
        p = predicted_feature_spectrum(m, cutoff=cut)
        assert M0 < p.finite_n_extent < N0
        for seed in range(2):
            ext = feature_spectrum(m, seed=seed, cutoff=cut).extent
            # the count past M scales as (amplitude)^(1/(1+alpha)); the measured
            # amplitude is 0.6..1 of the prediction at this N
            assert 0.6 < (ext - M0) / (p.finite_n_extent - M0) < 1.1, (cut, ext, p.finite_n_extent)


def test_relu_order_two_prediction_is_right_to_a_factor_of_two():
    m = _model("relu")
    p = predicted_feature_spectrum(m)
    assert p.orders == (0, 1, 2)
    for seed in range(2):
        ev = feature_spectrum(m, seed=seed).eigenvalues
        r = compare_spectra(ev, p.finite_n_eigenvalues, 10, M0)
        assert 0.5 < r["min"] and r["max"] < 2.0, r


def test_prediction_weights_equal_the_derived_weights(derivation):
    """Bridge: W_n of the numeric prediction against the symbolic results."""
    S = FEATURE_SYMBOLS
    n = S["n"]
    W = sp.Function("W")
    for act, key in (("relu", "weight_relu"), ("erf", "weight_erf"), ("linear", "weight_linear")):
        m = _model(act, M=80, N=100, sigma_u2=1.7)
        p = predicted_feature_spectrum(m, order=6, finite_n=False)
        point = {S["qbar"]: p.q_mean, S["sigma_u2"]: 1.7, S["M"]: 80}
        expr = derivation[key].rhs
        b = sp.Function("b")
        for order, w in p.weights.items():
            if act == "relu":
                val = expr.subs(n, order).subs(b(order), relu_coefficient(order, 1) ** 2
                                               / sp.factorial(order))
            elif act == "erf":
                val = expr.subs(n, order)
            else:
                val = expr
            assert w == pytest.approx(float(val.subs(point)), rel=1e-12), (act, order)
    relu = predicted_feature_spectrum(_model("relu", M=80, N=100, sigma_u2=1.7), finite_n=False)
    amp = derivation["relu_amplitude"].rhs.subs({S["qbar"]: relu.q_mean, S["sigma_u2"]: 1.7, S["M"]: 80})
    assert relu.weights[2] / relu.weights[1] == pytest.approx(float(amp), rel=1e-12)
    assert derivation["relu_amplitude"].lhs == W(2) / W(1)


# ---------------------------------------------------------------------------
# counting of products of power laws
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4])
def test_product_enumeration_against_brute_force(n):
    lam = np.arange(1, 13, dtype=float) ** -1.5
    brute = np.sort([math.prod(lam[list(c)]) for c in
                     itertools.combinations_with_replacement(range(12), n)])[::-1]
    for tau in (1.0, 0.3, 1e-2, 1e-4, 0.0):
        expect = brute[brute >= tau]
        got = np.sort(F._products(lam, n, tau))[::-1]
        assert F._count_products(lam, n, tau) == expect.size
        assert np.allclose(got, expect, rtol=1e-14, atol=0)
    h = F._complete_homogeneous(lam, 4)
    assert h[n] == pytest.approx(brute.sum(), rel=1e-12)


def test_product_exponent_against_lattice_products():
    """The continuum local exponent against exact products of I^-2 over integers
    (M = 6000: no truncation below rank ~12000).  Lattice corrections shift it by
    O(2 gamma / L^2) (Dirichlet's divisor problem), shrinking with the rank."""
    lam = np.arange(1, 6001, dtype=float) ** -2.0
    prods = np.sort(F._products(lam, 2, 1e-8))[::-1]
    gaps = []
    for rank in (1000, 8000):
        lo, hi = int(rank / 1.5), int(rank * 1.5)
        measured = fit_power_law(prods, lo, hi).exponent
        theory = product_spectrum_exponent(1.0, 2, rank)
        assert abs(measured - theory) < 0.06, (rank, measured, theory)
        assert theory < measured < 2.0
        gaps.append(measured - theory)
    assert gaps[1] < gaps[0]
    assert product_spectrum_exponent(1.0, 3, 1e4) < product_spectrum_exponent(1.0, 2, 1e4)


# ---------------------------------------------------------------------------
# the derivation
# ---------------------------------------------------------------------------
def test_every_derivation_step_verifies(derivation):
    report = derivation.verify()
    assert len(report) == len(derivation.steps) >= 10
    assert all(r == 0 for rs in report.values() for r in rs)
    assert all(step.residuals for step in derivation.steps)
    assert derivation["exponent"] == 1 + FEATURE_SYMBOLS["alpha"]
    md = derivation.markdown()
    assert "Nonlinear features extend" in md and "Mehler" in md
    assert "\\alpha" in derivation.latex("local_exponent_asymptotic")


def test_derived_local_exponent_tends_to_the_latent_exponent(derivation):
    S = FEATURE_SYMBOLS
    loc = derivation["local_exponent_asymptotic"].rhs
    for order in (2, 3):
        v = [float(loc.subs({S["n"]: order, S["alpha"]: 1.0, S["L"]: L})) for L in (5, 20, 1e6)]
        assert v[0] < v[1] < v[2] < 2.0 and abs(v[2] - 2.0) < 1e-5


# ---------------------------------------------------------------------------
# validation and output
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("call, match", [
    (lambda: feature_spectrum(_model(), N=0), "N must be an integer >= 1"),
    (lambda: feature_spectrum(_model(), activation="sigmoid"), "activation must be one of"),
    (lambda: feature_spectrum(_model(), method="quad"), "method must be 'exact' or 'sampled'"),
    (lambda: feature_spectrum(_model(), method="sampled"), "samples .* is required"),
    (lambda: feature_spectrum(_model(), samples=100), "samples is only used"),
    (lambda: feature_spectrum(_model(), method="sampled", samples=1), "samples must be an integer >= 2"),
    (lambda: feature_spectrum(_model(), cutoff=0.0), r"cutoff must be in \(0, 1\)"),
    (lambda: feature_spectrum(_model(), cutoff=1.0), r"cutoff must be in \(0, 1\)"),
    (lambda: feature_spectrum(_model(), seed=-1), "seed must be an integer >= 0"),
    (lambda: feature_spectrum(_model(), sigma_u2=2.0), "sigma_u2 is taken from the model"),
    (lambda: feature_spectrum([1.0, -1.0], N=4), "spectrum must be finite and > 0"),
    (lambda: feature_spectrum(np.ones((2, 2)), N=4), "spectrum must be a non-empty 1-D array"),
    (lambda: feature_spectrum([1.0, 0.5]), "N .* is required with an explicit spectrum"),
    (lambda: feature_spectrum([1.0, 0.5], N=3, sigma_u2=0.0), "sigma_u2 must be a finite real number > 0"),
    (lambda: feature_spectrum("abc", N=3), "model must be an MRSModel or a 1-D array"),
    (lambda: feature_spectrum(_model(), latent=(2, 3)), "latent must hold at least 3 indices"),
    (lambda: feature_spectrum(_model(), latent=(0, 10)), r"latent start must be an integer in \[1, 400\]"),
    (lambda: feature_spectrum(_model(N=50), extended=(60, 70)), "extended needs N > M"),
    (lambda: feature_spectrum(_model(), extended=(50, 70)),
     r"extended start must be an integer in \[101, 400\]"),
    (lambda: feature_spectrum_exponents(_model(), seeds=1), "seeds must be an integer >= 2"),
    (lambda: predicted_feature_spectrum(_model(), order=0), r"order must be an integer in \[1, 40\]"),
    (lambda: predicted_feature_spectrum(_model(), finite_n=1), "finite_n must be True or False"),
    (lambda: hermite_coefficients("relu", 0.0, 3), "q must be a finite real number > 0"),
    (lambda: hermite_coefficients("relu", 1.0, -1), r"order must be an integer in \[0, 170\]"),
    (lambda: fit_power_law([1.0, 0.5, 0.0, 0.1], 1, 4), "values must be finite and > 0"),
    (lambda: fit_power_law([1.0, 0.5, 0.2, 0.1], 2, 4, offset=2), "start must be an integer >= 3"),
    (lambda: fit_power_law([1.0, 0.5, 0.2, 0.1], 1, 5), r"stop must be an integer in \[1, 4\]"),
    (lambda: compare_spectra([1.0, 0.0], [1.0, 1.0], 1, 2), "both spectra must be > 0"),
    (lambda: product_spectrum_exponent(1.0, 2, 0.5), r"count must be in \[1, 1e250\]"),
    (lambda: product_spectrum_exponent(-1.0, 2, 10), "alpha must be a finite real number > 0"),
])
def test_invalid_parameters_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_results_serialise_and_print():
    m = _model("erf", M=40, N=100)
    fs = feature_spectrum(m, seed=0)
    d = json.loads(json.dumps(fs.to_dict()))
    assert d["extent"] == 100 and len(d["eigenvalues"]) == 100 and d["samples"] is None
    assert d["model"] == "mrs" and d["activation"] == "erf" and d["extended_fit"]["offset"] == 40
    text = str(fs)
    assert "erf features, M=40, N=100" in text and "extended fit" in text
    assert isinstance(fs, FeatureSpectrum) and isinstance(fs.latent_fit, PowerLawFit)
    ex = feature_spectrum_exponents(m, seeds=2, seed=0)
    assert isinstance(ex, FeatureExponents)
    d = json.loads(json.dumps(ex.to_dict()))
    assert len(d["per_seed_latent"]) == 2 and "latent" in str(ex)
    lin = feature_spectrum_exponents(_model(M=40, N=100), seeds=2, seed=0)
    assert json.loads(json.dumps(lin.to_dict()))["extended_exponent"] is None
    assert "extended: none" in str(lin)
    p = predicted_feature_spectrum(m)
    assert isinstance(p, PredictedFeatureSpectrum)
    d = json.loads(json.dumps(p.to_dict()))
    assert d["orders"] == [1, 3, 5] and len(d["finite_n_eigenvalues"]) == 100
    assert "Hermite orders [1, 3, 5]" in str(p)
    mc = feature_spectrum(m, seed=0, method="sampled", samples=500)
    assert len(json.loads(json.dumps(mc.to_dict()))["eigenvalue_sem"]) == 100


def test_exponents_progress_bar_changes_nothing(capsys):
    m = MRSModel(M=30, alpha=1.0, N=90, T=1, activation="erf")
    a = feature_spectrum_exponents(m, seeds=2, seed=3)
    b = feature_spectrum_exponents(m, seeds=2, seed=3, progress=True)
    np.testing.assert_array_equal(a.latent, b.latent)
    assert "draws of U" in capsys.readouterr().err
