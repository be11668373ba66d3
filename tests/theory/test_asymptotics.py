"""The asymptotics engine (theory/_asymptotics.py): Mellin expansions, the
generic regime machinery, both models' scaling laws, phases and tables.

Expected values come from closed forms (Beta/Gamma integrals, the Euler
reflection formula, zeta values) and from exact numerical sums
(:func:`scaling_theory.numerics._exponent_checks.power_law_sum`, an Euler--Maclaurin summation
that does not use any asymptotic expansion), never from the engine itself.
"""
import mpmath
import pytest
import sympy as sp

from scaling_theory.numerics._exponent_checks import power_law_sum
from scaling_theory.theory._asymptotics import (EXPONENT_KEYS, PowerLawSum, Regime, asymptotic_exponents,
                                 asymptotic_prefactors, bap_asymptotic_model, classify_phase,
                                 derive_asymptotics_bap, derive_asymptotics_mrs, derive_mellin,
                                 derive_regime, mellin_expansion, phase_diagram, regime_records)
from scaling_theory.theory._flow import BAP_SYMBOLS
from scaling_theory.theory._ridge import MRS_SYMBOLS

AL, BE = BAP_SYMBOLS["alpha"], BAP_SYMBOLS["beta"]
ALA = MRS_SYMBOLS["alpha"]
KAP = sp.Symbol("kappa", positive=True)
W = mpmath.MPContext()
W.dps = 40


# ---------------------------------------------------------------------------
# derivations verify
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("build", [derive_mellin, derive_asymptotics_mrs,
                                   pytest.param(derive_asymptotics_bap, marks=pytest.mark.slow)])
def test_every_step_verifies(build):
    d = build()
    report = d.verify()
    assert len(report) == len(d.steps) >= 3
    assert all(r == 0 for rs in report.values() for r in rs)
    assert sum(len(s.residuals) for s in d.steps) >= 8
    assert "\\" in d.latex(next(iter(d.results)))


# ---------------------------------------------------------------------------
# Mellin expansions against exact sums
# ---------------------------------------------------------------------------
def _numeric_terms(S, point):
    terms, err = mellin_expansion(S)
    out = [(W.mpf(str(sp.N(t.coefficient.subs(point), 45))), W.mpf(str(sp.N(t.power.subs(point), 45))))
           for t in terms]
    return out, (None if err is None else float(err.subs(point)))


# (symbol, kind, b, a, q, point): model B's n1, n2, g1, g2 and model A's n1 (scale lambda_+)
SUMS = [
    ("n1", "resolvent", AL, AL, 1, {AL: sp.Rational(3, 2)}),
    ("n2", "resolvent", 2 * AL, AL, 2, {AL: sp.Rational(5, 2)}),
    ("g1", "resolvent", AL * BE + 1, AL, 1, {AL: sp.Rational(3, 2), BE: sp.Rational(1, 2)}),
    ("g1", "resolvent", AL * BE + 1, AL, 1, {AL: 2, BE: sp.Rational(13, 10)}),
    ("g2", "resolvent", AL * BE + 1, AL, 2, {AL: 2, BE: sp.Rational(3, 4)}),
]


@pytest.mark.parametrize("name, kind, b, a, q, point", SUMS)
def test_mellin_expansion_of_resolvent_sums(name, kind, b, a, q, point):
    """S(kappa) minus the expansion is O(kappa^err): the remainder ratio between
    kappa = 1e-6 and 1e-9 matches the error order (the terms themselves are
    exact: a wrong coefficient would leave a remainder of a lower order)."""
    S = PowerLawSum(sp.Symbol(name), kind, b, a, KAP, q=q)
    terms, err = _numeric_terms(S, point)
    assert err is not None and err > 0
    bn, an = (W.mpf(sp.Rational(v.subs(point)).p) / sp.Rational(v.subs(point)).q for v in (b, a))
    rem = {}
    for k in (W.mpf("1e-6"), W.mpf("1e-9")):
        exact = W.mpf(power_law_sum(kind, bn, an, k, q=q, dps=35))
        approx = W.fsum(c * k ** p for c, p in terms)
        rem[k] = abs(exact - approx)
        lead = max(abs(c * k ** p) for c, p in terms)
        assert rem[k] < 1e-3 * lead
    ratio = W.log10(rem[W.mpf("1e-6")] / rem[W.mpf("1e-9")]) / 3
    assert abs(ratio - err) < 0.05 * err + 0.02


def test_trivial_zeros_make_an_expansion_exact():
    """sum_k 1/(k^2 (1 + kappa k^2)) = zeta(2) - pi sqrt(kappa)/2 + kappa/2 exactly
    (up to exp(-2 pi/sqrt(kappa))): the next Gamma pole meets zeta(-2) = 0."""
    S = PowerLawSum(sp.Symbol("g1"), "resolvent", AL * BE + 1, AL, KAP)
    terms, _ = _numeric_terms(S, {AL: 2, BE: sp.Rational(3, 2)})
    want = {W.mpf(0.5): -W.pi / 2, W.mpf(0): W.zeta(2), W.mpf(1): W.mpf(0.5)}
    assert {p: c for c, p in terms}.keys() == want.keys()
    for c, p in terms:
        assert abs(c - want[p]) < W.mpf(10) ** -35
    k = W.mpf("1e-4")
    exact = W.mpf(power_law_sum("resolvent", 4, 2, k, dps=38))
    assert abs(exact - W.fsum(c * k ** p for c, p in terms)) < W.mpf(10) ** -33


def test_mellin_expansion_of_the_gradient_flow_sum():
    """Laplace sum: only the zeta-pole term; the remainder is beyond all orders
    (relative 1e-30 at t = 1e6 already)."""
    S = PowerLawSum(sp.Symbol("L"), "laplace", AL * BE + 1, AL, sp.Symbol("t"), rate=2)
    point = {AL: sp.Rational(3, 2), BE: sp.Rational(3, 4)}
    (c, p), = _numeric_terms(S, point)[0]
    assert _numeric_terms(S, point)[1] is None
    # closed form of the leading term: Gamma(beta) (2 t)^-beta / alpha
    assert abs(c - W.gamma(0.75) * 2 ** W.mpf(-0.75) / 1.5) < W.mpf(10) ** -35 and p == W.mpf(-0.75)
    for t, tol in ((W.mpf(10) ** 2, 1e-5), (W.mpf(10) ** 6, 1e-30)):
        exact = W.mpf(power_law_sum("laplace", 2.125, 1.5, t, rate=2, dps=38))
        assert abs(exact / (c * t ** p) - 1) < tol


def test_model_b_g1_leading_term_is_the_reflection_formula():
    """g1 ~ pi/(alpha sin(pi beta)) kappa^(beta - 1) (Beta integral + reflection)."""
    S = PowerLawSum(sp.Symbol("g1"), "resolvent", AL * BE + 1, AL, KAP)
    terms, _ = mellin_expansion(S)
    lead = next(t for t in terms if t.origin == "zeta pole")
    assert sp.simplify(lead.power - (BE - 1)) == 0
    assert sp.simplify(lead.coefficient - sp.pi / (AL * sp.sin(sp.pi * BE))) == 0
    const = next(t for t in terms if sp.simplify(t.power) == 0)        # g1(0) = zeta(alpha(beta - 1) + 1)
    assert sp.simplify(const.coefficient - sp.zeta(AL * BE - AL + 1)) == 0


def test_invalid_power_law_sum():
    with pytest.raises(ValueError, match="kind"):
        PowerLawSum(sp.Symbol("S"), "fourier", 2, 1, KAP)


# ---------------------------------------------------------------------------
# the engine is generic: a model it has never seen
# ---------------------------------------------------------------------------
def test_engine_on_a_new_model():
    """A toy model supplies only data: loss = kappa with sum_k k^-3/(k^-3 + kappa) = X.
    Closed form: n1 = C kappa^(-1/3) - 1/2 + O(kappa), C = pi/(3 sin(pi/3)), so
    kappa = C^3 X^-3 (1 - 3/(2X) + O(X^-2))."""
    X = sp.Symbol("X", positive=True)
    n = sp.Symbol("n")
    S = PowerLawSum(n, "resolvent", 3, 3, KAP)
    reg = Regime("loss_vs_X", "", X, KAP, (S,), n, KAP, {}, limits="toy")
    r = derive_regime(reg)
    C = sp.pi / (3 * sp.sin(sp.pi / 3))
    assert r.exponent == -3
    assert sp.simplify(r.prefactor - C ** 3) == 0
    assert len(r.corrections) == 1
    (c, w), = r.corrections
    assert sp.simplify(c + sp.Rational(3, 2)) == 0 and w == 1
    assert all(sp.simplify(x) == 0 for x in r.inversion_residual)


# ---------------------------------------------------------------------------
# the models' results
# ---------------------------------------------------------------------------
def test_exponents_across_phases():
    b = asymptotic_exponents("bap")
    assert set(b) == set(EXPONENT_KEYS["bap"])
    assert sp.simplify(b["loss_vs_t"] + BE) == 0
    assert b["loss_vs_N"] == -AL * sp.Min(1, BE)
    assert b["loss_vs_P"] == -AL * sp.Min(2, BE)
    co = b["compute_optimal"]
    c = AL * sp.Min(1, BE)
    assert sp.simplify(co["N"] - BE / (BE + c)) == 0 and sp.simplify(co["t"] - c / (BE + c)) == 0
    assert sp.simplify(co["loss"] + BE * c / (BE + c)) == 0
    a = asymptotic_exponents("mrs")
    assert a == {"loss_vs_N": -ALA, "loss_vs_T": -ALA}


def test_saturation_lines_come_out_of_the_engine():
    """The width term saturates at beta = 1, the data term at beta = 2: the
    phases' leading conditions are exactly these inequalities."""
    by = {(r.key, r.phase): r for r in regime_records("bap")}
    assert set(by) == {("loss_vs_t", ""), ("loss_vs_N", "beta < 1"), ("loss_vs_N", "beta > 1"),
                       ("loss_vs_P", "beta < 2"), ("loss_vs_P", "beta > 2")}
    conds = {k: [sp.simplify(c) for c in r.conditions] for k, r in by.items()}
    assert conds[("loss_vs_t", "")] == []
    assert conds[("loss_vs_N", "beta < 1")] == [1 - BE]
    assert conds[("loss_vs_N", "beta > 1")] == [BE - 1]
    assert conds[("loss_vs_P", "beta < 2")] == [2 - BE]
    assert conds[("loss_vs_P", "beta > 2")] == [BE - 2]
    assert sp.simplify(by["loss_vs_N", "beta > 1"].exponent + AL) == 0
    assert sp.simplify(by["loss_vs_P", "beta > 2"].exponent + 2 * AL) == 0
    ph = dict(classify_phase("bap", {AL: 2, BE: sp.Rational(3, 2)}))
    assert ph == {"loss_vs_t": "", "loss_vs_N": "beta > 1", "loss_vs_P": "beta < 2"}
    assert dict(classify_phase("bap", {AL: 2, BE: 1}))["loss_vs_N"] is None       # on the line


def test_prefactors_are_closed_forms():
    """Independent closed forms at a numeric point."""
    pre = {(k, ph): A for k, rows in asymptotic_prefactors("bap").items() for ph, A, _, _ in rows}
    a, b = sp.Rational(3, 2), sp.Rational(1, 2)
    pt = {AL: a, BE: b}
    Ca = W.pi / (W.mpf(1.5) * W.sin(W.pi / W.mpf(1.5)))       # n1 ~ Ca kappa^(-1/alpha)
    want = {("loss_vs_t", ""): W.gamma(0.5) * W.mpf(2) ** -0.5 / 1.5,
            # kappa g1, kappa = (Ca/N)^alpha, g1 ~ pi/(alpha sin(pi beta)) kappa^(beta-1)
            ("loss_vs_N", "beta < 1"): Ca ** (1.5 * 0.5) * W.pi / (1.5 * W.sin(W.pi * 0.5))}
    for key, val in want.items():
        got = W.mpf(str(sp.N(pre[key].subs(pt), 45)))
        assert abs(got / val - 1) < W.mpf(10) ** -30
    # model A: (pi/a / sin(pi/a))^a lambda_+ sigma_w^2 / (2 M), a = 1 + alpha
    A = next(iter(asymptotic_prefactors("mrs")["loss_vs_N"]))[1]
    sub = {ALA: 1, MRS_SYMBOLS["lambda_plus"]: 3, MRS_SYMBOLS["sigma_w2"]: 5, MRS_SYMBOLS["M"]: 7}
    got = W.mpf(str(sp.N(A.subs(sub), 45)))
    assert abs(got - (W.pi / 2) ** 2 * 15 / 14) < W.mpf(10) ** -35


@pytest.mark.slow          # re-derives every regime of both models (about 13 s)
def test_table_equals_the_engine():
    """The tabulated results (theory/_generated_asymptotics.py) are the engine's."""
    for model in ("mrs", "bap"):
        assert regime_records(model) == regime_records(model, "engine")
        assert asymptotic_exponents(model) == asymptotic_exponents(model, "engine")
        assert phase_diagram(model) == phase_diagram(model, "engine")


def test_phase_diagram_of_model_b():
    rows = phase_diagram("bap")
    assert len(rows) == 5
    regions = {r["region"] for r in rows}
    assert "1 - beta > 0" in regions
    for r in rows:
        pt = {AL: sp.Rational(r["point"]["alpha"]), BE: sp.Rational(r["point"]["beta"])}
        assert all(c.subs(pt) > 0 for c in r["conditions"])
        co = {k: v.subs(pt) for k, v in r["compute_optimal"].items()}
        assert co["N"] + co["t"] == 1                                  # C = N t
        assert (co["t"] > co["N"]) == (r["faster"] == "t*")
        saturated_N = float(pt[BE]) > 1
        assert sp.simplify(r["loss_vs_N"] - (-AL if saturated_N else -AL * BE)) == 0
        saturated_P = float(pt[BE]) > 2
        assert sp.simplify(r["loss_vs_P"] - (-2 * AL if saturated_P else -AL * BE)) == 0


def test_model_a_results():
    d = derive_asymptotics_mrs()
    N, T = MRS_SYMBOLS["N"], MRS_SYMBOLS["T"]
    assert sp.simplify(d["crossover_N_T"] - T / (T - N)) == 0
    # equiparameterisation at alpha = 1: the tuned ridge puts n1 at half of N = T
    assert d["optimal_y_equal"].subs(ALA, 1) == sp.Rational(1, 2)
    # first correction of the N law: -(1 + alpha)/(2N) (zeta(0) = -1/2 in n1)
    (c, w), = d["correction_N"]
    assert sp.simplify(c + (1 + ALA) / 2) == 0 and w == 1


def test_bad_model_and_source():
    with pytest.raises(ValueError, match="model"):
        asymptotic_exponents("gpt")
    with pytest.raises(ValueError, match="source"):
        regime_records("bap", source="cache")


def test_model_b_regime_losses_are_the_derived_ones():
    """The engine's inputs: model B's t = inf losses come from derive_bap()."""
    m = bap_asymptotic_model()
    by = {(r.key, r.phase): r for r in m.regimes}
    kap, g1 = BAP_SYMBOLS["kappa"], BAP_SYMBOLS["g1"]
    assert sp.simplify(by["loss_vs_N", "beta < 1"].loss - kap * g1) == 0
