"""The bridge from the symbolic layer to the numeric layer, in one place.

The design: ``theory/`` derives, ``numerics/`` evaluates what was derived.  Each
expression the numerics evaluate is either generated from a derivation
(``numerics/_generated_ridge.py``) or written by hand for speed, and then a test
here proves the hand form equal to the derived expression at many points,
complex where the numerics use complex arguments.  :data:`BRIDGE` lists every
link: the derived result, the numeric code that evaluates it, and the test.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from scaling_theory.numerics import BAPModel, MRSModel, mrs_theory
from scaling_theory.numerics import _generated_ridge as gen
from scaling_theory.numerics._flow import _kernels, _two_point_curves
from scaling_theory.numerics._flow_contours import s_and_ds, s_and_ds_one_sided
from scaling_theory.numerics._flow_sgd import _roots, sgd_laplace, sgd_noise_feedback
from scaling_theory.numerics._flow_sums import BAPSpectrum
from scaling_theory.numerics._ridge_nonlinear import _losses
from scaling_theory.theory import (BAP_SYMBOLS, GE_SYMBOLS, MRS_SYMBOLS, SGD_SYMBOLS, derive_bap, derive_bap_sgd,
                                   derive_gaussian_equivalent, derive_mrs)
from scaling_theory.theory._codegen import MRS_FUNCTIONS

#: (derivation, result key) -> (numeric code, test here)
BRIDGE = {
    # model A: generated code
    **{("derive_mrs", key): (f"numerics/_generated_ridge.py: {fname}", "test_generated_ridge_code_is_the_derivation")
       for fname, (key, _, _) in MRS_FUNCTIONS.items()},
    ("derive_mrs", "self_consistent"): ("numerics/_ridge.py: _solve_kappa (log form)",
                                        "test_ridge_solver_solves_the_derived_equation"),
    ("derive_mrs", "test_loss"): ("numerics/_ridge.py: mrs_theory (spectral engine + generated code)",
                                  "test_ridge_theory_is_the_derived_loss"),
    ("derive_mrs", "plateau_test_loss"): ("numerics/_ridge.py: _losses (past M)", "test_ridge_plateau_past_M"),
    # model A, nonlinear features
    ("derive_gaussian_equivalent", "kappa_equation"): ("numerics/_ridge_nonlinear.py: _kappa_ridge, _kappa_ridgeless",
                                                       "test_nonlinear_losses_are_the_derived_ones"),
    ("derive_gaussian_equivalent", "test_loss"): ("numerics/_ridge_nonlinear.py: _losses",
                                                  "test_nonlinear_losses_are_the_derived_ones"),
    ("derive_gaussian_equivalent", "train_loss"): ("numerics/_ridge_nonlinear.py: _losses",
                                                   "test_nonlinear_losses_are_the_derived_ones"),
    ("derive_gaussian_equivalent", "test_loss_full_rank"): ("numerics/_ridge_nonlinear.py: _losses (r < T)",
                                                            "test_nonlinear_losses_are_the_derived_ones"),
    ("derive_gaussian_equivalent", "train_loss_full_rank"): ("numerics/_ridge_nonlinear.py: _losses (r < T)",
                                                             "test_nonlinear_losses_are_the_derived_ones"),
    # model B
    ("derive_bap", "kappa_equation"): ("numerics/_flow_contours.py: s_and_ds", "test_flow_s_and_ds_are_the_derived_ones"),
    ("derive_bap", "ds_dkappa"): ("numerics/_flow_contours.py: s_and_ds", "test_flow_s_and_ds_are_the_derived_ones"),
    ("derive_bap", "s_of_kappa"): ("numerics/_flow_contours.py: s_and_ds_one_sided",
                                   "test_flow_one_sided_s_is_the_derived_one"),
    ("derive_bap", "kappa_equation_N_inf"): ("numerics/_flow_contours.py: s_and_ds_one_sided",
                                             "test_flow_one_sided_s_is_the_derived_one"),
    ("derive_bap", "contour_integrand"): ("numerics/_flow.py: _talbot_curve (h = g1 s'(kappa) / (1 - n1/N))",
                                          "test_flow_one_sided_s_is_the_derived_one"),
    ("derive_bap", "test_kernel"): ("numerics/_flow.py: _kernels", "test_flow_kernels_are_the_derived_ones"),
    ("derive_bap", "train_kernel"): ("numerics/_flow.py: _kernels", "test_flow_kernels_are_the_derived_ones"),
    ("derive_bap", "ensemble_loss"): ("numerics/_flow.py: _kernels (ensemble)", "test_flow_kernels_are_the_derived_ones"),
    ("derive_bap", "ensemble_cross_test_kernel"): ("numerics/_flow.py: _kernels (ensemble)",
                                                   "test_flow_kernels_are_the_derived_ones"),
    ("derive_bap", "ensemble_cross_train_kernel"): ("numerics/_flow.py: _kernels (ensemble)",
                                                    "test_flow_kernels_are_the_derived_ones"),
    ("derive_bap", "gd_residue"): ("numerics/_flow.py: _two_point_curves (contour in w), closed form at N = P = inf",
                                   "test_gradient_descent_weights_are_the_derived_residue"),
    ("derive_bap_sgd", "sgd_roots"): ("numerics/_flow_sgd.py: _roots", "test_sgd_roots_are_the_derived_ones"),
    ("derive_bap_sgd", "sgd_generating_function"): ("numerics/_flow_sgd.py: sgd_laplace",
                                                    "test_sgd_generating_function_is_the_derived_one"),
    ("derive_bap_sgd", "sgd_noise_feedback"): ("numerics/_flow_sgd.py: sgd_noise_feedback",
                                               "test_sgd_noise_feedback_is_the_derived_sum"),
}

_DERIVATIONS = {"derive_mrs": derive_mrs, "derive_bap": derive_bap, "derive_bap_sgd": derive_bap_sgd,
                "derive_gaussian_equivalent": derive_gaussian_equivalent}


def _rhs(e):
    return e.rhs if isinstance(e, sp.Eq) else e


def test_every_link_names_a_derived_result_and_a_test():
    here = globals()
    for (build, key), (code, test) in BRIDGE.items():
        assert key in _DERIVATIONS[build]().results, (build, key)
        assert test in here and callable(here[test]), test
        path = code.split(":")[0]
        assert path.startswith("numerics/"), code


# ------------------------------------------------------------------ model A
def test_generated_ridge_code_is_the_derivation():
    """Every generated function (printed by theory._codegen) equals the derived result, evaluated
    by sympy's own lambdify, at 40 random points in double precision and 3 at 30 digits."""
    d = derive_mrs()
    rng = np.random.default_rng(0)
    for fname, (key, args, _) in MRS_FUNCTIONS.items():
        syms = [MRS_SYMBOLS[a] if a in MRS_SYMBOLS else MRS_SYMBOLS[{"noise_var": "noise_var"}.get(a, a)]
                for a in args]
        f = sp.lambdify(syms, _rhs(d.results[key]), "mpmath")
        g = getattr(gen, fname)
        for i in range(43):
            vals = {a: rng.uniform(0.1, 3.0) for a in args}
            if "N" in vals:
                vals["N"] = rng.uniform(50, 500)
            if "T" in vals:
                vals["T"] = rng.uniform(50, 500)
            if "M" in vals:
                vals["M"] = rng.uniform(10, 40)
            if i >= 40:
                with mpmath.workdps(30):
                    x = [mpmath.mpf(vals[a]) for a in args]
                    assert abs(g(*x) - f(*x)) <= mpmath.mpf(10) ** -27 * (1 + abs(f(*x))), fname
            else:
                x = [vals[a] for a in args]
                assert g(*x) == pytest.approx(float(f(*x)), rel=1e-12, abs=1e-300), fname


def _direct_sums(m: MRSModel, kappa):
    lam = m.eigenvalues().astype(float)
    om = m.teacher_variance_array()
    q = lam / (lam + kappa)
    return q.sum(), (q * q).sum(), (om * q).sum(), (om * q * q).sum()


@pytest.mark.parametrize("p", [dict(M=1000, alpha=1.0, N=100, T=400, gamma=1e-2),
                               dict(M=5000, alpha=0.5, N=300, T=200, gamma=1.0, sigma_u2=2.0),
                               dict(M=400, alpha=2.0, N=350, T=350, gamma=1e-4, noise_var=0.3)])
def test_ridge_solver_solves_the_derived_equation(p):
    """The solved kappa satisfies derive_mrs()["self_consistent"] with n1 summed directly."""
    m = MRSModel(**p)
    r = mrs_theory(m)
    n1, _, _, _ = _direct_sums(m, float(r.kappa))
    eq = derive_mrs()["self_consistent"]
    S = MRS_SYMBOLS
    sub = {S["M"]: m.M, S["gamma"]: m.gamma, S["sigma_u2"]: m.sigma_u2, S["kappa"]: float(r.kappa), S["n1"]: n1,
           S["N"]: m.N, S["T"]: m.T}
    assert float(eq.rhs.subs(sub)) == pytest.approx(float(eq.lhs.subs(sub)), rel=1e-9)


@pytest.mark.parametrize("p", [dict(M=1000, alpha=1.0, N=100, T=400, gamma=1e-2, noise_var=0.1),
                               dict(M=800, alpha=0.7, N=500, T=120, gamma=0.3)])
def test_ridge_theory_is_the_derived_loss(p):
    """mrs_theory's losses (spectral engine + generated code) equal the derived test and train loss
    evaluated with directly summed n1, n2, c1, c2 at its kappa."""
    m = MRSModel(**p)
    r = mrs_theory(m)
    n1, n2, c1, c2 = _direct_sums(m, float(r.kappa))
    S = MRS_SYMBOLS
    sub = {S["kappa"]: float(r.kappa), S["n1"]: n1, S["n2"]: n2, S["c1"]: c1, S["c2"]: c2, S["N"]: m.N, S["T"]: m.T,
           S["noise_var"]: m.noise_var}
    d = derive_mrs()
    assert float(r.test_loss) == pytest.approx(float(d["test_loss"].rhs.subs(sub)), rel=1e-9)
    assert float(r.train_loss) == pytest.approx(float(d["train_loss"].rhs.subs(sub)), rel=1e-9)


@pytest.mark.parametrize("N, T", [(2000, 4000), (1000, 3000), (5000, 1500)])
def test_ridge_plateau_past_M(N, T):
    m = MRSModel(M=1000, alpha=1.0, N=N, T=T, noise_var=0.4)
    d = derive_mrs()
    S = MRS_SYMBOLS
    sub = {S["M"]: m.M, S["T"]: m.T, S["noise_var"]: m.noise_var}
    r = mrs_theory(m)
    assert float(r.test_loss) == pytest.approx(float(d["plateau_test_loss"].rhs.subs(sub)), rel=1e-13)
    assert float(r.train_loss) == pytest.approx(float(d["plateau_train_loss"].rhs.subs(sub)), rel=1e-13)
    hi = mrs_theory(m, dps=30)           # the double 0.4, exactly
    exact = {**sub, S["noise_var"]: sp.Rational(*float(m.noise_var).as_integer_ratio())}
    assert abs(hi.test_loss - sp.N(d["plateau_test_loss"].rhs.subs(exact), 40)) < 1e-30


def test_nonlinear_losses_are_the_derived_ones():
    """The Gaussian-equivalent losses of numerics/_ridge_nonlinear.py (vectorised over draws and
    ridges) equal derive_gaussian_equivalent()'s results, with the sums taken directly at the
    numerics' kappa, which solves the derived kappa equation."""
    d = derive_gaussian_equivalent()
    G = GE_SYMBOLS
    rng = np.random.default_rng(3)
    T, noise = 40, 0.2
    gammas = np.array([0.0, 1e-3, 0.5, 4.0])
    for rank in (25, 60):                  # r < T (least squares at gamma = 0) and r > T (interpolation)
        dd = np.zeros((2, 80))
        dd[:, :rank] = np.sort(rng.uniform(0.01, 2.0, (2, rank)), axis=1)[:, ::-1]
        t = np.where(dd > 0, rng.uniform(0.0, 0.5, dd.shape), 0.0)
        ey2 = t.sum(axis=1) + np.array([0.3, 0.0])        # sigma_eff^2 = 0.3 and 0
        out = _losses(dd, t, ey2, np.array([rank, rank]), T, gammas, noise)
        for i in range(2):
            sig_eff = ey2[i] - t[i].sum()
            for j, g in enumerate(gammas):
                kap = out["kappa"][i, j]
                q = dd[i] / (dd[i] + kap) if kap > 0 else (dd[i] > 0).astype(float)
                df1, df2 = q.sum(), (q * q).sum()
                bias = (kap**2 * t[i] / (dd[i] + kap) ** 2).sum() if kap > 0 else 0.0
                if g > 0:
                    assert float(d["kappa_equation"].rhs.subs({G["kappa"]: kap, G["T"]: T, G["df1"]: df1})) \
                        == pytest.approx(g, rel=1e-10)
                    key_t, key_r = "test_loss", "train_loss"
                elif rank > T:
                    assert df1 == pytest.approx(T, rel=1e-10)        # the ridgeless root
                    key_t, key_r = "test_loss", None
                else:
                    key_t, key_r = "test_loss_full_rank", "train_loss_full_rank"
                sub = {G["kappa"]: kap, G["T"]: T, G["df1"]: df1, G["df2"]: df2, G["bias"]: bias,
                       G["sigma_eff2"]: sig_eff, G["noise_var"]: noise, G["gamma"]: g, G["rank"]: rank}
                assert out["test"][i, j] == pytest.approx(float(_rhs(d[key_t]).subs(sub)), rel=1e-10)
                if key_r is None:
                    assert out["train"][i, j] == 0.0
                else:
                    assert out["train"][i, j] == pytest.approx(float(_rhs(d[key_r]).subs(sub)), rel=1e-10)


# ------------------------------------------------------------------ model B
def _complex_points(rng, n):
    return rng.uniform(-2, 3, n) + 1j * rng.uniform(-2, 2, n)


def test_flow_s_and_ds_are_the_derived_ones():
    """s(kappa) and s'(kappa): 200 random complex (kappa, n1, n2) at finite and infinite N, P."""
    d = derive_bap()
    B = BAP_SYMBOLS
    kap, n1, n2 = sp.symbols("k a b")
    rng = np.random.default_rng(1)
    for N, P in ((50.0, 80.0), (math.inf, 70.0), (60.0, math.inf), (math.inf, math.inf)):
        sub = {}
        s_expr = d["kappa_equation"].rhs
        ds_expr = d["ds_dkappa"]
        for sym, v in ((B["N"], N), (B["P"], P)):
            if math.isinf(v):
                s_expr, ds_expr = sp.limit(s_expr, sym, sp.oo), sp.limit(ds_expr, sym, sp.oo)
            else:
                sub[sym] = v
        rep = {B["kappa"]: kap, B["n1"]: n1, B["n2"]: n2, **sub}
        fs = sp.lambdify((kap, n1, n2), s_expr.subs(rep, simultaneous=True), "numpy")
        fd = sp.lambdify((kap, n1, n2), ds_expr.subs(rep, simultaneous=True), "numpy")
        k, a, b = (_complex_points(rng, 50) for _ in range(3))
        s, ds = s_and_ds(k, a, b, 0.0 if math.isinf(N) else 1 / N, 0.0 if math.isinf(P) else 1 / P)
        assert np.allclose(s, fs(k, a, b) * np.ones_like(k), rtol=1e-13, atol=1e-14)
        assert np.allclose(ds, fd(k, a, b) * np.ones_like(k), rtol=1e-13, atol=1e-14)


def test_flow_s_prime_is_the_derivative_along_the_spectrum():
    """Independent of the derivation: s'(kappa) from s_and_ds is the complex derivative of
    s(kappa) with the actual sums n1(kappa) (central differences)."""
    spec = BAPSpectrum(BAPModel(M=300, alpha=1.5, beta=1.0, N=80, P=150))
    kap = np.array([0.05 + 0.02j, 0.3 - 0.4j, 2.0 + 1.0j, -1.5 + 0.3j])
    h = 1e-6 * np.abs(kap)

    def s_of(k):
        n1, n2 = spec.n12(k)
        return s_and_ds(k, n1, n2, 1 / 80, 1 / 150)

    fd = (s_of(kap + h)[0] - s_of(kap - h)[0]) / (2 * h)
    assert np.allclose(s_of(kap)[1], fd, rtol=1e-7)


def test_flow_one_sided_s_is_the_derived_one():
    """The P = inf (and N = inf) one-point form s = kappa (1 - n1/n), s' = 1 - n2/n, and the
    contour integrand h = g1 s'/(1 - n1/N) of derive_bap()["contour_integrand"]."""
    d = derive_bap()
    B = BAP_SYMBOLS
    rng = np.random.default_rng(2)
    k, a, b = (_complex_points(rng, 60) for _ in range(3))
    n = 37.0
    s, ds = s_and_ds_one_sided(k, a, b, n)
    f = sp.lambdify((B["kappa"], B["n1"]), d["s_of_kappa"].subs(B["N"], n), "numpy")
    assert np.allclose(s, f(k, a), rtol=1e-13)
    fN = sp.lambdify((B["kappa"], B["n1"], B["n2"]), sp.limit(d["ds_dkappa"], B["P"], sp.oo).subs(B["N"], n), "numpy")
    assert np.allclose(ds, fN(k, a, b), rtol=1e-13)
    fP = sp.lambdify((B["kappa"], B["n1"]), d["kappa_equation_N_inf"].rhs.subs(B["P"], n), "numpy")
    assert np.allclose(s, fP(k, a), rtol=1e-13)
    g1 = _complex_points(rng, 60)
    integrand = d["contour_integrand"].rhs
    fh = sp.lambdify([B["kappa"], B["n1"], B["n2"], B["g1"]], integrand.subs(B["N"], n), "numpy")
    assert np.allclose(g1 * ds / (1 - a / n), fh(k, a, b, g1), rtol=1e-12)


def _array_model(N, P, noise=0.0, ensemble=1):
    lam = np.array([1.0, 0.55, 0.3, 0.12, 0.05, 0.02, 0.007])
    w = np.array([0.9, -0.7, 0.5, 0.4, -0.3, 0.2, 0.1])
    return BAPModel(M=7, N=N, P=P, noise_var=noise, ensemble=ensemble,
                    spectrum=tuple(lam), target_weights=tuple(w)), lam, w


@pytest.mark.parametrize("N, P", [(5, 6), (math.inf, 4), (3, math.inf), (20, 30)])
def test_flow_kernels_are_the_derived_ones(N, P):
    """The two-frequency kernels G_test, G_train (and the ensemble mixture) on all pairs of 9
    complex nodes, against derive_bap()'s kernels with every cross sum (S_0 too) summed directly."""
    d = derive_bap()
    B = BAP_SYMBOLS
    noise, E = 0.15, 3
    m, lam, w = _array_model(N, P, noise, ensemble=E)
    spec = BAPSpectrum(m)
    rng = np.random.default_rng(4)
    kap = np.concatenate([[0.3 + 0j], _complex_points(rng, 8) + 0.5])
    n1_num, _, _, Gt, Gr = _kernels(spec, kap, m.N, m.P, noise, ensemble=1)
    _, _, _, GtE, GrE = _kernels(spec, kap, m.N, m.P, noise, ensemble=E)
    u = lam * w**2
    free = sorted(d["test_kernel"].free_symbols | d["train_kernel"].free_symbols, key=str)
    exprs = [d[k] for k in ("test_kernel", "train_kernel", "ensemble_cross_test_kernel", "ensemble_cross_train_kernel")]
    for sym, v in ((B["N"], N), (B["P"], P)):
        if math.isinf(v):
            exprs = [sp.limit(e, sym, sp.oo) for e in exprs]
    f = sp.lambdify(free, exprs, "numpy")
    LE = d["ensemble_loss"].rhs
    sym = {str(x): x for x in LE.free_symbols}
    mix = sp.lambdify((sym["L_1"], sym["L_c"]), LE.subs(sym["E"], E))
    for i in range(kap.size):
        for j in range(kap.size):
            a, b = kap[i], kap[j]
            Ra, Rb = 1 / (lam + a), 1 / (lam + b)
            vals = {"kappa": a, "kappa'": b, "n_1": (lam * Ra).sum(), "n_1'": (lam * Rb).sum(),
                    r"S_u": (u * Ra * Rb).sum(), r"S_{u\lambda}": (u * lam * Ra * Rb).sum(),
                    "S_0": (Ra * Rb).sum(), "S_1": (lam * Ra * Rb).sum(), "S_2": (lam**2 * Ra * Rb).sum(),
                    "M": 7.0, "N": N, "P": P, "sigma_epsilon^2": noise}
            gt, gr, ct, cr = f(*[vals[str(s)] for s in free])
            assert Gt[i, j] == pytest.approx(gt, rel=1e-11, abs=1e-13)
            assert Gr[i, j] == pytest.approx(gr, rel=1e-11, abs=1e-13)
            assert GtE[i, j] == pytest.approx(mix(gt, ct), rel=1e-11, abs=1e-13)
            assert GrE[i, j] == pytest.approx(mix(gr, cr), rel=1e-11, abs=1e-13)
    assert np.allclose(n1_num, [(lam / (lam + k)).sum() for k in kap], rtol=1e-13)


@pytest.mark.parametrize("eta", [0.5, 1.6])
def test_gradient_descent_weights_are_the_derived_residue(eta):
    """L_n = sum_k u_k r_k^2 with r_k the derived residue of (1 + eta s)^n/(s + lambda_k): the
    contour route in w (both branches past eta lambda_max = 1) and the N = P = inf closed form."""
    from scaling_theory.numerics import bap_theory

    d = derive_bap()
    res = d["gd_residue"]
    eta_s, n_s, lam_s = sorted(res.free_symbols, key=str)   # eta, lambda_x, n
    f = sp.lambdify((eta_s, n_s, lam_s), res, "numpy")
    m, lam, w = _array_model(math.inf, math.inf)
    m = m.replace(eta=eta)
    u = lam * w**2
    n = np.array([1.0, 2.0, 5.0, 20.0, 80.0])
    want = np.array([(u * f(eta, lam, k) ** 2).sum() for k in n])
    contour, _, absum, _ = _two_point_curves(BAPSpectrum(m), math.inf, math.inf, 0.0, eta * n, eta=eta,
                                             with_abs=True)
    # within the accuracy the theory states (BAPTheory.accuracy): round-off of the quadrature terms
    # plus the truncation of the (capped) contour in w after n steps
    claimed = 64 * np.finfo(float).eps * absum + np.maximum(1e-7, 10.0 ** (-0.15 * n**0.4 * 24)) * want
    assert np.all(np.abs(contour - want) <= claimed)
    assert np.all(np.abs(contour / want - 1) < 1e-4)
    closed = bap_theory(m, eta * n).test_loss
    assert np.allclose(closed, want, rtol=1e-13, atol=1e-300)


def test_sgd_roots_are_the_derived_ones():
    """The numerics' s_1, s_2 (written without cancellation) equal the derived expressions,
    and 1 - x rho(j) = -x c (j + s_1)(j + s_2) at complex w."""
    s1, s2 = derive_bap_sgd()["sgd_roots"]
    S = SGD_SYMBOLS
    f = sp.lambdify((S["w"], S["eta"], S["B"]), (s1, s2), "numpy")
    w = np.array([0.3, 1e-6, 0.05 + 0.4j, 0.8 + 2.5j, -3 + 0.7j])
    for eta, Bb in ((0.3, 1), (1.1, 16)):
        a1, a2 = _roots(w, eta, Bb)
        b1, b2 = f(w, eta, Bb)
        assert np.allclose(a1, b1, rtol=1e-12) and np.allclose(a2, b2, rtol=1e-6)
        j = 0.37
        x = np.exp(-w)
        rho = (1 - eta * j) ** 2 + eta**2 * j**2 / Bb
        assert np.allclose(1 - x * rho, -x * eta**2 * (1 + 1 / Bb) * (j + a1) * (j + a2), rtol=1e-12)


@pytest.mark.parametrize("batch, noise", [(1, 0.0), (4, 0.2)])
def test_sgd_generating_function_is_the_derived_one(batch, noise):
    """At N = inf (J = Lambda, kappa = s): the partial-fraction form of numerics/_flow_sgd.py equals
    derive_bap_sgd()'s [F_1 + x Q sigma^2/(1 - x)]/(1 - x Q) with F_1, Q summed over the modes."""
    d = derive_bap_sgd()
    S = SGD_SYMBOLS
    F1, Q = sp.symbols(r"F_1 Q")
    gen_f = sp.lambdify((F1, Q, S["x"], S["sigma2"]), d["sgd_generating_function"].rhs, "numpy")
    rho_f = sp.lambdify((S["j"], S["eta"], S["B"]), d["sgd_rho"].rhs, "numpy")
    m, lam, w_star = _array_model(math.inf, math.inf)
    eta = 0.6
    m = m.replace(eta=eta, batch=batch)
    spec = BAPSpectrum(m)
    u = lam * w_star**2
    w = np.array([0.4 + 0.1j, 0.05 + 1.2j, 1.5 - 0.7j, 0.9 + 0.0j])
    s1, s2 = _roots(w, eta, batch)
    got = sgd_laplace(spec, math.inf, s1, s2, w, eta, batch, noise)
    x = np.exp(-w)
    rho = rho_f(lam[None, :], eta, batch)
    F = (u[None, :] / (1 - x[:, None] * rho)).sum(axis=1)
    q = (eta**2 * lam**2 / batch)[None, :] / (1 - x[:, None] * rho)
    assert np.allclose(got, gen_f(F, q.sum(axis=1), x, noise), rtol=1e-11)


def test_sgd_noise_feedback_is_the_derived_sum():
    d = derive_bap_sgd()
    res = d["sgd_noise_feedback"]
    m, lam, _ = _array_model(math.inf, math.inf)
    eta, batch = 0.7, 3
    spec = BAPSpectrum(m.replace(eta=eta, batch=batch))
    # the derived Sum over the modes of J (= Lambda at N = inf), term by term
    S = SGD_SYMBOLS
    term = res.rhs.function
    idx = res.rhs.limits[0][0]
    base = [a for a in term.atoms(sp.Indexed)][0].base
    val = sum(float(term.subs({base[idx]: float(lk), S["eta"]: eta, S["B"]: batch})) for lk in lam)
    assert sgd_noise_feedback(spec, math.inf, eta, batch) == pytest.approx(val, rel=1e-12)
