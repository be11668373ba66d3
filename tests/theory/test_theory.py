"""Symbolic layer: every derivation step checks, the building blocks agree with
random matrices, and the generated code is the derived code."""
import math
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

from scaling_theory import theory
from scaling_theory.theory import (MRS_SYMBOLS, derivation_documents, derive_mrs, marchenko_pastur,
                    wishart_renormalisation, write_derivations)
from scaling_theory.numerics import _generated_ridge as gen

ROOT = Path(__file__).resolve().parents[2]


def test_public_surface():
    assert sorted(theory.__all__) == sorted([
        "Derivation", "Step", "marchenko_pastur", "wishart_renormalisation", "derive_mrs",
        "MRS_SYMBOLS", "derive_bap", "BAP_SYMBOLS", "derive_feature_extension", "FEATURE_SYMBOLS",
        "derive_bap_sgd", "SGD_SYMBOLS", "derive_gaussian_equivalent", "GE_SYMBOLS",
        "derive_mellin", "derive_asymptotics_mrs", "derive_asymptotics_bap", "asymptotic_exponents",
        "asymptotic_prefactors", "phase_diagram", "classify_phase", "regime_records", "EXPONENT_KEYS",
        "write_derivations", "derivation_documents", "generated_mrs_source"])
    for name in theory.__all__:
        assert getattr(theory, name) is not None


@pytest.mark.parametrize("build", [marchenko_pastur, wishart_renormalisation, derive_mrs,
                                   theory.derive_gaussian_equivalent])
def test_every_step_verifies(build):
    d = build()
    report = d.verify()
    assert len(report) == len(d.steps)
    assert all(r == 0 for rs in report.values() for r in rs)
    # the chains carry real checks, not only prose
    assert sum(len(s.residuals) for s in d.steps) >= 3


def test_a_wrong_step_is_caught():
    from scaling_theory.theory import Derivation, Step
    x = sp.Symbol("x")
    bad = Derivation("t", "s", (), (), (Step("wrong", "", (), (x**2 - x * x + 1,)),), {})
    with pytest.raises(AssertionError, match="wrong"):
        bad.verify()


def test_marchenko_pastur_moments_against_random_matrices():
    rng = np.random.default_rng(0)
    d, n = 300, 600
    q = d / n
    m1 = m2 = 0.0
    for _ in range(5):
        Z = rng.standard_normal((n, d))
        W = Z.T @ Z / n
        m1 += np.trace(W) / d / 5
        m2 += np.trace(W @ W) / d / 5
    assert abs(m1 - 1) < 0.01
    assert abs(m2 - (1 + q)) < 0.02
    S = marchenko_pastur()["S_W"].rhs
    assert sp.simplify(S - 1 / (1 + sp.Symbol("q") * sp.Symbol("t"))) == 0


def test_renormalisation_lemma_against_a_sample_covariance():
    """tr[S_hat (S_hat + k)^-1] = Df(k_t) with k = k_t (1 - Df(k_t)/n)."""
    rng = np.random.default_rng(1)
    d, n = 400, 300
    lam = np.arange(1, d + 1, dtype=float) ** -1.5
    Z = rng.standard_normal((n, d)) * np.sqrt(lam)
    ev = np.linalg.eigvalsh(Z.T @ Z / n)
    ev = np.clip(ev, 0, None)
    for k_t in (1e-3, 1e-2, 1e-1):
        Df = np.sum(lam / (lam + k_t))
        k = k_t * (1 - Df / n)
        sample = np.sum(ev / (ev + k))
        assert abs(sample / Df - 1) < 0.03


def test_misspecification_identity_exact():
    """kappa^2 th*^T C (C+kappa)^-2 th* + sigma_xi^2 = kappa^2 v^T (K+kappa)^-2 v (step 3)."""
    rng = np.random.default_rng(2)
    M, N = 30, 12
    lam = rng.uniform(0.1, 2, M)
    U = rng.standard_normal((N, M))
    w = rng.standard_normal(M)
    k = 0.37
    C = U @ np.diag(lam) @ U.T
    th = np.linalg.solve(C, U @ (lam * w))
    xi2 = w @ (lam * w) - th @ C @ th
    R = np.linalg.inv(C + k * np.eye(N))
    lhs = k**2 * th @ C @ R @ R @ th + xi2
    A = np.sqrt(lam)[:, None] * U.T
    RK = np.linalg.inv(A @ A.T + k * np.eye(M))
    v = np.sqrt(lam) * w
    rhs = k**2 * v @ RK @ RK @ v
    assert abs(lhs / rhs - 1) < 1e-10


def test_generated_code_is_the_derived_code():
    d = derive_mrs()
    from scaling_theory.theory._codegen import MRS_FUNCTIONS
    rng = np.random.default_rng(3)
    plain = {sym: sp.Symbol(name) for name, sym in MRS_SYMBOLS.items()}
    for fname, (key, args, _doc) in MRS_FUNCTIONS.items():
        res = d.results[key]
        expr = (res.rhs if isinstance(res, sp.Eq) else res).subs(plain, simultaneous=True)
        f = sp.lambdify([sp.Symbol(a) for a in args], expr, modules="mpmath")
        for _ in range(20):
            vals = [mpmath.mpf(float(x)) for x in rng.uniform(0.5, 3.0, len(args))]
            # keep N, T away from n1, n2 (physical branch: n2 < n1 < min(N, T))
            named = dict(zip(args, vals))
            for big in ("N", "T", "M"):
                if big in named:
                    named[big] += 10
            vals = [named[a] for a in args]
            want = f(*vals)
            got = getattr(gen, fname)(*vals)
            assert abs(got - want) <= 1e-12 * abs(want) + 1e-300


def test_generated_files_are_not_stale(tmp_path):
    for path, changed in write_derivations(ROOT, check=True):
        assert not changed, f"{path} is stale: run `scaling-theory derive`"
    # and a fresh regeneration into another folder gives the same bytes
    write_derivations(tmp_path)
    for rel in derivation_documents():
        assert (tmp_path / rel).read_text() == (ROOT / rel).read_text()


def test_results_have_latex():
    d = derive_mrs()
    for name in ("self_consistent", "test_loss", "train_loss", "asymptotic_N", "duality"):
        text = d.latex(name)
        assert isinstance(text, str) and len(text) > 3
    assert r"\kappa" in d.latex("self_consistent")
    assert "Derivation" not in d._repr_latex_()


def test_check_substitutes_a_numeric_solution():
    from scaling_theory.numerics import MRSModel, mrs_theory
    from scaling_theory.numerics._spectral_sums import spectral_sums
    from scaling_theory.numerics._ridge import mrs_spectrum
    m = MRSModel(M=1000, alpha=1, N=100, T=400, gamma=0.01)
    r = mrs_theory(m)
    n1 = float(spectral_sums(mrs_spectrum(m), r.kappa).n1)
    res = derive_mrs().check({"gamma": 0.01, "M": 1000, "sigma_u^2": 1, "kappa": r.kappa,
                              "n_1": n1, "N": 100, "T": 400}, names=["self_consistent"])
    lhs = 0.01 * 1000
    assert abs(float(res["self_consistent"])) < 1e-10 * lhs


def test_large_M_closed_forms_against_numerics():
    """The Gamma-function forms of the sums and the asymptotic loss prefactor."""
    from scaling_theory.numerics._spectral_sums import PowerLawSpectrum, spectral_sums
    d = derive_mrs()
    k_, a_, lp_ = MRS_SYMBOLS["kappa"], MRS_SYMBOLS["alpha"], MRS_SYMBOLS["lambda_plus"]
    for alpha in (0.5, 1.0, 2.0):
        spec = PowerLawSpectrum(alpha=alpha, M=math.inf)
        for kappa in (1e-8, 1e-10):
            s = spectral_sums(spec, kappa)
            n1_lead = float(d["n1_large_M"].rhs.subs({k_: kappa, a_: alpha, lp_: 1}))
            n2_lead = float(d["n2_large_M"].rhs.subs({k_: kappa, a_: alpha, lp_: 1}))
            # next Mellin term is zeta(0) = -1/2 for n1 (and 0 for n2 at this order)
            assert abs(float(s.n1) - (n1_lead - 0.5)) < 1e-2 * n1_lead ** 0.5
            assert abs(float(s.n2) / n2_lead - 1) < 0.02
    # prefactor at alpha = 1: [pi/2 / sin(pi/2)]^2 / 2 = pi^2/8
    pref = d["prefactor"].subs({a_: 1, lp_: 1, MRS_SYMBOLS["sigma_w2"]: 1, MRS_SYMBOLS["M"]: 1})
    assert sp.simplify(pref - sp.pi**2 / 8) == 0
