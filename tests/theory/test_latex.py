"""Every LaTeX string the toolkit emits: clean (lint, default tier) and accepted by a
real TeX renderer (KaTeX from the npm registry, slow tier).

The strings: every math segment of the generated derivation documents
(``derivations/*.md``: results, step equations, the inline math of the prose and
the symbol tables), each derivation's Jupyter view, the ``--latex`` output of
``mrs equations``, ``bap equations`` and ``exponents`` (symbolic and at numbers),
and the ``latex()`` of theory and simulation results.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess

import pytest

from scaling_theory import theory as th
from scaling_theory.cli import main
from scaling_theory.numerics import (BAPModel, MRSModel, bap_theory, mrs_nonlinear_theory, mrs_theory,
                                     mrs_theory_grid, simulate_mrs)
from scaling_theory.theory._latex import clean_symbol, latex

DERIVATIONS = (th.marchenko_pastur, th.wishart_renormalisation, th.derive_mrs, th.derive_bap, th.derive_bap_sgd,
               th.derive_feature_extension, th.derive_gaussian_equivalent, th.derive_mellin,
               th.derive_asymptotics_mrs, th.derive_asymptotics_bap)


def _math_segments(md: str) -> list[str]:
    out = [m.strip() for m in re.findall(r"\$\$(.+?)\$\$", md, flags=re.S)]
    rest = re.sub(r"\$\$(.+?)\$\$", " ", md, flags=re.S)
    rest = re.sub(r"`[^`]*`", " ", rest)            # code spans are not math
    out += [m.strip() for m in re.findall(r"\$([^$\n]+)\$", rest)]
    return [s for s in out if s]


def _cli(args) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(args)) == 0
    return out.getvalue()


def _displays(text: str) -> list[str]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert all(ln.startswith("% ") or (ln.startswith(r"\[ ") and ln.endswith(r" \]")) for ln in lines), \
        "--latex must print only LaTeX: % comments and \\[ ... \\] displays"
    return [ln[3:-3] for ln in lines if ln.startswith(r"\[")]


@pytest.fixture(scope="module")
def emitted() -> dict:
    """name -> LaTeX string, for everything the toolkit emits."""
    out = {}
    for rel, text in th.derivation_documents().items():
        if rel.endswith(".md"):
            for i, s in enumerate(_math_segments(text)):
                out[f"{rel}#{i}"] = s
    for build in DERIVATIONS:
        d = build()
        for key in d.results:
            out[f"{build.__name__}.latex({key})"] = d.latex(key)
        for i, s in enumerate(_math_segments(d.results_markdown())):
            out[f"{build.__name__}.results_markdown#{i}"] = s
    for args in (["mrs", "equations", "--latex"], ["bap", "equations", "--latex"], ["exponents", "bap", "--latex"],
                 ["exponents", "bap", "--alpha", "1.5", "--beta", "0.5", "--latex"],
                 ["exponents", "mrs", "--alpha", "0.5", "--latex"]):
        for i, s in enumerate(_displays(_cli(args))):
            out[f"{' '.join(args)}#{i}"] = s
    out["MRSTheory.latex"] = mrs_theory(MRSModel(M=1000, alpha=1.0, N=100, T=400, gamma=1e-7)).latex()
    out["MRSTheory.latex dps"] = mrs_theory(MRSModel(M=1000, alpha=1.0, N=100, T=400), dps=30).latex()
    out["MRSTheoryGrid.latex"] = mrs_theory_grid(MRSModel(M=100, alpha=1.0, N=10, T=20)).latex()
    out["BAPTheory.latex"] = bap_theory(BAPModel(M=100, alpha=1.5, beta=1.0, N=20, P="inf"), [1.0]).latex()
    out["MRSSimulation.latex"] = simulate_mrs(MRSModel(M=50, alpha=1.0, N=10, T=20), seeds=2).latex()
    out["MRSNonlinearTheory.latex"] = mrs_nonlinear_theory.__module__ and \
        th.derive_gaussian_equivalent().latex("test_loss")
    return out


#: Greek letters written as words outside a command (``\kappa kappa'``, ``sigma_u``).
_RAW_GREEK = re.compile(r"(?<![\\A-Za-z])(alpha|beta|gamma|kappa|lambda|sigma|epsilon|eta|rho|omega|tau|theta|"
                        r"delta|mu|xi|phi|psi|chi|zeta)(?![A-Za-z])")


def _lint(s: str) -> list[str]:
    bad = []
    body = re.sub(r"\\(mathrm|text|operatorname)\{[^{}]*\}", "", s)     # upright words may be anything
    if _RAW_GREEK.search(body):
        bad.append("Greek letter as a word")
    if re.search(r"\d(\.\d+)?e[-+]?\d", body):
        bad.append("number in e-notation")
    if re.search(r"(?<![\\A-Za-z])(inf|nan)(?![A-Za-z])", body):
        bad.append("inf/nan as text")
    if re.search(r"\\operatorname\{a(cos|sin|tan)\}", s):
        bad.append("operatorname acos")
    if re.search(r"[_^]\{[A-Za-z]{3,}\}", body):
        bad.append("italic multi-letter sub/superscript")
    if re.search(r"[A-Za-z]\{1'\}|_\{1'\}", s):
        bad.append("prime inside a subscript")
    return bad


def test_clean_symbol_examples():
    assert latex(th.BAP_SYMBOLS["kappa"]) == r"\kappa"
    assert clean_symbol("kappa'") == r"\kappa'" and clean_symbol("n_1'") == "n_1'"
    assert clean_symbol("G_test") == r"G_{\mathrm{test}}" and clean_symbol("s'(kappa)") == r"s'(\kappa)"
    assert clean_symbol("L[loss_vs_N, beta < 1]") == r"L_{\mathrm{vs}\,N,\,\beta < 1}"


def test_lint_catches_the_old_faults():
    for s in (r"\kappa kappa'", r"n_{1'}", r"G_{test}", r"1e-07 x", r"\operatorname{acos}{\left(x \right)}",
              r"L[loss_{vs N, beta < 1]}"):
        assert _lint(s), s


def test_every_emitted_string_is_clean(emitted):
    assert len(emitted) > 500
    bad = {k: (v, _lint(v)) for k, v in emitted.items() if _lint(v)}
    assert not bad, "\n".join(f"{k}: {v[1]}: {v[0][:160]}" for k, v in list(bad.items())[:15])


def test_every_result_has_a_left_hand_side():
    for build in DERIVATIONS:
        d = build()
        for key in d.results:
            s = d.latex(key)
            assert re.search(r"=|<|>|\\leq|\\geq", s), (build.__name__, key, s)


@pytest.mark.slow
def test_katex_renders_every_string(emitted, tmp_path_factory):
    """KaTeX (from the npm registry) renders every string with throwOnError."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        pytest.skip("node and npm are needed for the KaTeX check")
    d = tmp_path_factory.mktemp("katex")
    r = subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(d), "katex@0.16"],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        pytest.skip(f"npm could not install KaTeX: {r.stderr.strip()[:200]}")
    (d / "strings.json").write_text(json.dumps(emitted))
    script = d / "render.js"
    script.write_text(
        "const katex = require(process.argv[2] + '/node_modules/katex');\n"
        "const strings = require(process.argv[2] + '/strings.json');\n"
        "const bad = {};\n"
        "for (const [k, s] of Object.entries(strings)) {\n"
        "  try { katex.renderToString(s, {throwOnError: true, displayMode: true, strict: 'ignore'}); }\n"
        "  catch (e) { bad[k] = String(e.message).slice(0, 200) + ' :: ' + s.slice(0, 200); }\n"
        "}\n"
        "console.log(JSON.stringify({n: Object.keys(strings).length, bad}));\n")
    r = subprocess.run([node, str(script), str(d)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["n"] == len(emitted)
    assert not res["bad"], "\n".join(f"{k}: {v}" for k, v in list(res["bad"].items())[:20])
