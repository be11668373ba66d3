r"""Tests of ``scaling-theory exponents mrs|bap`` (scaling_theory/cli.py).

Expected values come from closed forms derived here, not from the code:

* model A (``lambda_I = I^-(1+alpha)``, flat teacher ``omega = sigma_w^2/M``):
  ``L -> omega kappa N / 2`` for ``N << T << M`` with ``n_1(kappa) = N``, and
  ``n_1(kappa) ~ int_0^inf dI / (1 + kappa I^a) = kappa^(-1/a) (pi/a) / sin(pi/a)``
  (``a = 1 + alpha``), so ``L ~ A N^-alpha`` with ``A = ((pi/a)/sin(pi/a))^a / (2 M)``;
  the same with ``T`` for ``T << N << M``;
* model B (``lambda_k = k^-alpha``, ``lambda_k w*_k^2 = k^-(alpha beta + 1)``):
  ``L(t) = sum_k k^-(alpha beta + 1) e^(-2 k^-alpha t) ~ Gamma(beta) (2 t)^-beta / alpha``;
  ``L(N) ~ N^-alpha min(1, beta)`` (saturates at ``beta = 1``),
  ``L(P) ~ P^-alpha min(2, beta)`` (saturates at ``beta = 2``); minimising
  ``a t^-beta + b N^-c`` at ``C = N t`` (``c = alpha min(1, beta)``) gives
  ``N* ~ C^(beta/(beta+c))``, ``t* ~ C^(c/(beta+c))``, ``L* ~ C^(-beta c/(beta+c))``.
"""
import contextlib
import io
import json
import shutil
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import mpmath
import pytest
import sympy as sp

from scaling_theory.cli import main

BAP_POINTS = [("1.5", "0.5"), ("2", "1.5"), ("3", "2.5"), ("2", "1")]
MRS_POINTS = ["0.5", "2"]


def _run(args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    assert rc == 0, err.getvalue()
    return out.getvalue()


@pytest.fixture(scope="module")
def bap_json():
    """``exponents bap --json`` at each point (the engine runs once per process)."""
    return {pt: json.loads(_run(["exponents", "bap", "--alpha", pt[0], "--beta", pt[1], "--json"]))
            for pt in BAP_POINTS}


@pytest.fixture(scope="module")
def mrs_json():
    return {a: json.loads(_run(["exponents", "mrs", "--alpha", a, "--json"])) for a in MRS_POINTS}


def bap_closed_form(alpha, beta):
    a, b = F(alpha), F(beta)
    c = a * min(1, b)
    return {"loss_vs_t": -b, "loss_vs_N": -c, "loss_vs_P": -a * min(2, b),
            "compute_optimal": {"N": b / (b + c), "t": c / (b + c), "loss": -b * c / (b + c)}}


# -- numeric ---------------------------------------------------------------------------
def test_bap_numeric_values_match_closed_forms(bap_json):
    for (alpha, beta), d in bap_json.items():
        want = bap_closed_form(alpha, beta)
        assert d["model"] == "bap" and d["numeric"] is True
        assert d["alpha"] == float(alpha) and d["beta"] == float(beta)
        for key in ("loss_vs_t", "loss_vs_N", "loss_vs_P"):
            assert isinstance(d[key], float)
            assert d[key] == pytest.approx(float(want[key]), abs=1e-15), (alpha, beta, key)
            assert d["exact"][key] == str(want[key])
        assert set(d["compute_optimal"]) == {"N", "t", "loss"}
        for k, v in want["compute_optimal"].items():
            assert d["compute_optimal"][k] == pytest.approx(float(v), abs=1e-15), (alpha, beta, k)
            assert d["exact"]["compute_optimal"][k] == str(v)
        co = d["compute_optimal"]
        assert co["N"] + co["t"] == pytest.approx(1.0)            # C = N t


def test_bap_spot_values(bap_json):
    """The numbers of the issue, written out."""
    d = bap_json[("1.5", "0.5")]
    assert (d["loss_vs_t"], d["loss_vs_N"], d["loss_vs_P"]) == (-0.5, -0.75, -0.75)
    assert d["compute_optimal"] == pytest.approx({"N": 0.4, "t": 0.6, "loss": -0.3})
    d = bap_json[("2", "1.5")]
    assert (d["loss_vs_N"], d["loss_vs_P"]) == (-2.0, -3.0)                     # N term saturated
    assert d["compute_optimal"]["N"] == pytest.approx(1.5 / 3.5)
    assert d["exact"]["compute_optimal"] == {"N": "3/7", "t": "4/7", "loss": "-6/7"}
    d = bap_json[("3", "2.5")]
    assert (d["loss_vs_N"], d["loss_vs_P"]) == (-3.0, -6.0)                     # both saturated


def test_bap_phases_and_prefactors(bap_json):
    ctx = mpmath.MPContext()
    ctx.dps = 30
    assert bap_json[("1.5", "0.5")]["phase"] == {"loss_vs_t": "any", "loss_vs_N": "beta < 1", "loss_vs_P": "beta < 2"}
    assert bap_json[("3", "2.5")]["phase"] == {"loss_vs_t": "any", "loss_vs_N": "beta > 1", "loss_vs_P": "beta > 2"}
    assert bap_json[("2", "1")]["phase"]["loss_vs_N"] is None                   # beta = 1: boundary
    assert bap_json[("2", "1")]["prefactors"]["loss_vs_N"] is None
    for (alpha, beta), d in bap_json.items():
        assert set(d["prefactors"]) == {"loss_vs_t", "loss_vs_N", "loss_vs_P"}
        assert "M = inf" in d["prefactor_normalisation"]
        s = d["prefactors"]["loss_vs_t"]
        assert isinstance(s, str)
        a, b = ctx.mpf(F(alpha).numerator) / F(alpha).denominator, ctx.mpf(F(beta).numerator) / F(beta).denominator
        want = ctx.gamma(b) * ctx.power(2, -b) / a                              # Gamma(beta) 2^-beta / alpha
        assert abs(ctx.mpf(s) / want - 1) < ctx.mpf(10) ** -18, (alpha, beta, s)
        mant = s.lower().split("e")[0].replace("-", "").replace(".", "").lstrip("0")
        assert 18 <= len(mant) <= 21                                            # ~20 significant digits
        for key, v in d["prefactors"].items():
            assert v is None or float(v) > 0


def test_mrs_numeric_and_prefactor(mrs_json):
    ctx = mpmath.MPContext()
    ctx.dps = 30
    for alpha, d in mrs_json.items():
        assert d["model"] == "mrs" and d["numeric"] is True and "beta" not in d
        assert d["alpha"] == float(alpha)
        assert d["loss_vs_N"] == d["loss_vs_T"] == -float(alpha)
        assert d["exact"] == {"loss_vs_N": str(-F(alpha)), "loss_vs_T": str(-F(alpha))}
        assert d["phase"] == {"loss_vs_N": "any", "loss_vs_T": "any"}            # one phase: "any", not ""
        a = 1 + ctx.mpf(alpha)
        want = ctx.power(ctx.pi / a / ctx.sin(ctx.pi / a), a) / 2                   # at M = 1
        for key in ("loss_vs_N", "loss_vs_T"):
            assert abs(ctx.mpf(d["prefactors"][key]) / want - 1) < ctx.mpf(10) ** -18
        norm = d["prefactor_normalisation"]
        assert "M = 1" in norm and "lambda_+ = sigma_w^2 = 1" in norm
        assert "alpha_B = 1 + alpha_A" in d["alpha_convention"]
    assert mrs_json["0.5"]["exact"]["loss_vs_N"] == "-1/2"


def test_json_layout(bap_json, mrs_json):
    d = bap_json[("1.5", "0.5")]
    for key in ("model", "title", "alpha_convention", "alpha", "beta", "numeric", "loss_vs_t", "loss_vs_N",
                "loss_vs_P", "compute_optimal", "exact", "expressions", "regimes", "phase", "prefactors",
                "prefactor_normalisation"):
        assert key in d, key
    assert "latex" not in d
    assert d["expressions"]["loss_vs_N"] == "-alpha*Min(1, beta)"
    assert set(d["regimes"]["compute_optimal"]) == {"N", "t", "loss"}
    assert "N = P = inf" in d["regimes"]["loss_vs_t"]
    m = mrs_json["0.5"]
    assert "N << T << M" in m["regimes"]["loss_vs_N"] and "T << N << M" in m["regimes"]["loss_vs_T"]
    assert m["expressions"] == {"loss_vs_N": "-alpha", "loss_vs_T": "-alpha"}


def test_exact_fraction_input(bap_json):
    """``--alpha 3/2`` is read exactly (Fraction), the same point as ``1.5``."""
    d = json.loads(_run(["exponents", "bap", "--alpha", "3/2", "--beta", "1/2", "--json"]))
    ref = bap_json[("1.5", "0.5")]
    assert {k: d[k] for k in ("loss_vs_t", "loss_vs_N", "loss_vs_P", "compute_optimal", "exact")} == \
           {k: ref[k] for k in ("loss_vs_t", "loss_vs_N", "loss_vs_P", "compute_optimal", "exact")}


# -- symbolic --------------------------------------------------------------------------
al, be = sp.symbols("alpha beta")


def _parse(s):
    assert isinstance(s, str)
    return sp.sympify(s, locals={"alpha": al, "beta": be})     # our own output only


def _same(s, expected):
    e = _parse(s)
    assert sp.simplify(e - expected) == 0, (s, expected)
    for a_, b_ in ((F(3, 2), F(1, 3)), (F(5, 2), F(3, 2)), (F(7, 3), F(9, 4))):   # every phase
        pt = {al: sp.Rational(a_.numerator, a_.denominator), be: sp.Rational(b_.numerator, b_.denominator)}
        assert e.subs(pt) == sp.sympify(expected).subs(pt)


def test_bap_symbolic(bap_json):
    d = json.loads(_run(["exponents", "bap", "--json"]))
    assert d["numeric"] is False and d["alpha"] is None and d["beta"] is None
    assert d["exact"] is None and d["prefactors"] is None and d["phase"] is None
    c = al * sp.Min(1, be)
    _same(d["loss_vs_t"], -be)
    _same(d["loss_vs_N"], -c)
    _same(d["loss_vs_P"], -al * sp.Min(2, be))
    _same(d["compute_optimal"]["N"], be / (be + c))
    _same(d["compute_optimal"]["t"], c / (be + c))
    _same(d["compute_optimal"]["loss"], -be * c / (be + c))
    assert d["expressions"]["loss_vs_P"] == d["loss_vs_P"]
    assert d["regimes"] == bap_json[("1.5", "0.5")]["regimes"]


def test_bap_partial_numbers_substituted():
    d = json.loads(_run(["exponents", "bap", "--beta", "0.5", "--json"]))
    assert d["numeric"] is False and d["beta"] == 0.5 and d["alpha"] is None
    _same(d["loss_vs_t"], sp.Rational(-1, 2))
    _same(d["loss_vs_N"], -al / 2)
    _same(d["loss_vs_P"], -al / 2)
    _same(d["compute_optimal"]["N"], 1 / (1 + al))              # beta/(beta + alpha beta), beta = 1/2
    assert "beta" not in d["loss_vs_N"]
    d = json.loads(_run(["exponents", "bap", "--alpha", "2", "--json"]))
    assert d["alpha"] == 2.0 and d["beta"] is None
    _same(d["loss_vs_N"], -2 * sp.Min(1, be))
    _same(d["loss_vs_P"], -2 * sp.Min(2, be))
    _same(d["compute_optimal"]["loss"], -2 * be * sp.Min(1, be) / (be + 2 * sp.Min(1, be)))
    assert "alpha" not in d["loss_vs_P"]


def test_mrs_symbolic():
    d = json.loads(_run(["exponents", "mrs", "--json"]))
    assert d["numeric"] is False and d["alpha"] is None and "beta" not in d
    _same(d["loss_vs_N"], -al)
    _same(d["loss_vs_T"], -al)


# -- LaTeX and plain text -------------------------------------------------------------------
def test_latex_lines():
    """--latex prints a LaTeX fragment: % comments and one \\[ lhs = exponent \\] per quantity."""
    lines = _run(["exponents", "bap", "--latex"]).strip().splitlines()
    assert all(ln.startswith("% ") or (ln.startswith("\\[ ") and ln.endswith(" \\]")) for ln in lines)
    labels = [ln[2:] for ln in lines[1:] if ln.startswith("% ")]
    assert labels == ["loss_vs_t", "loss_vs_N", "loss_vs_P", "compute_optimal.N", "compute_optimal.t",
                      "compute_optimal.loss"]
    eqs = [ln for ln in lines if ln.startswith("\\[")]
    assert eqs[1] == r"\[ \frac{\partial \log L}{\partial \log N} = - \alpha \min\left(1, \beta\right) \]"
    assert r"\min\left(2, \beta\right)" in eqs[2]
    mrs = _run(["exponents", "mrs", "--alpha", "0.5", "--latex"]).strip().splitlines()
    assert mrs[1:] == ["% loss_vs_N",
                       r"\[ \frac{\partial \log \langle L\rangle}{\partial \log N} = - \alpha = - \frac{1}{2} \]",
                       "% loss_vs_T",
                       r"\[ \frac{\partial \log \langle L\rangle}{\partial \log T} = - \alpha = - \frac{1}{2} \]"]


def test_json_with_latex(bap_json):
    d = json.loads(_run(["exponents", "bap", "--alpha", "1.5", "--beta", "0.5", "--json", "--latex"]))
    assert d["loss_vs_N"] == -0.75
    assert r"\min" in d["latex"]["loss_vs_N"] and d["latex"]["loss_vs_N"].endswith(r"= - \frac{3}{4}")
    assert d["latex"]["compute_optimal"]["N"].endswith(r"= \frac{2}{5}")
    assert {k: v for k, v in d.items() if k != "latex"} == bap_json[("1.5", "0.5")]


def test_plain_table(bap_json):
    out = _run(["exponents", "bap", "--alpha", "2", "--beta", "1.5"])
    assert "alpha_B = 1 + " in out and "lambda_k = k^-alpha" in out
    row = next(ln for ln in out.splitlines() if ln.startswith("loss_vs_P"))
    assert "-3" in row and "N = inf, t = inf" in row and "beta < 2" in row
    row = next(ln for ln in out.splitlines() if ln.startswith("compute_optimal.N"))
    assert "3/7" in row and "0.4285714286" in row
    out = _run(["exponents", "mrs"])
    row = next(ln for ln in out.splitlines() if ln.startswith("loss_vs_T"))
    assert "T << N << M" in row and row.rstrip().endswith("-alpha")
    assert "I^-(1+alpha)" in out


@pytest.mark.parametrize("model, needles", [("mrs", ("I^-(1+alpha)", "> 0", "alpha_B = 1 + alpha_A")),
                                            ("bap", ("k^-alpha", "> 1", "alpha_B = 1 + alpha_A", "--beta"))])
def test_help_states_the_alpha_convention(capsys, model, needles):
    assert main(["exponents", model, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for s in needles:
        assert s in text, s


# -- bad input --------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, name", [
    (["mrs", "--alpha", "0"], "alpha"),
    (["mrs", "--alpha", "-1"], "alpha"),
    (["mrs", "--alpha", "abc"], "alpha"),
    (["mrs", "--alpha", "0.5", "--beta", "1"], "beta"),
    (["bap", "--alpha", "1", "--beta", "1"], "alpha"),        # model A's convention: alpha_B must be > 1
    (["bap", "--alpha", "0.5"], "alpha"),
    (["bap", "--alpha", "2", "--beta", "0"], "beta"),
    (["bap", "--alpha", "2", "--beta", "-0.5"], "beta"),
    (["bap", "--beta", "x"], "beta"),
    (["bap", "--alpha", "inf"], "alpha"),
    (["bap", "--alpha", "1e999"], "alpha"),
    (["bap", "--alpha", "1/0"], "alpha"),
    (["bap", "--alpha", "__import__('os')"], "alpha"),
    (["gpt"], "MODEL"),
])
def test_bad_input_one_line_exit_2(capsys, args, name):
    assert main(["exponents", *args]) == 2
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1, cap.err
    assert lines[0].startswith("scaling-theory") and ": error: " in lines[0] and name in lines[0]
    assert "Traceback" not in cap.err and cap.out == ""
    if name in ("alpha", "beta"):                          # our messages: program name, parameter, range
        assert lines[0].startswith(f"scaling-theory: error: --{name} ")   # the flag as typed
        assert ">" in lines[0] or "not a parameter" in lines[0]


def test_installed_script_bad_input():
    exe = Path(sys.executable).with_name("scaling-theory")
    cmd = [str(exe)] if exe.exists() else [shutil.which("scaling-theory") or "scaling-theory"]
    r = subprocess.run(cmd + ["exponents", "bap", "--alpha", "0.5", "--beta", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scaling-theory: error: --alpha must be > 1"), r.stderr
    assert r.stdout == ""
