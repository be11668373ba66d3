"""Tests of the model-B commands of ``scaling-theory`` (``bap loss|simulate|equations|compute-optimal``)."""
import json
import math

import mpmath
import numpy as np
import pytest

from scaling_theory.numerics import BAPModel, bap_theory
from scaling_theory.cli import main
from scaling_theory.numerics._exponent_reports import compute_optimal_exponents

BASE = ["--M", "300", "--alpha", "1.5", "--beta", "1"]


def run_json(capsys, *args):
    assert main(list(args) + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_loss_json_P_inf(capsys):
    d = run_json(capsys, "bap", "loss", *BASE, "--N", "60", "--P", "inf", "--t", "0,1,10,100")
    for key in ("t", "test_loss", "train_loss", "final_loss", "method", "M", "N", "P", "alpha", "beta"):
        assert key in d
    assert d["t"] == [0.0, 1.0, 10.0, 100.0] and d["P"] == "inf" and d["N"] == 60
    assert len(d["test_loss"]) == len(d["train_loss"]) == 4
    ref = bap_theory(BAPModel(M=300, alpha=1.5, beta=1, N=60, P="inf"), [0, 1, 10, 100])
    assert d["test_loss"] == pytest.approx(list(ref.test_loss), rel=1e-14)
    assert d["train_loss"] == d["test_loss"]          # spec: train = test at P = inf
    assert all(a > b for a, b in zip(d["test_loss"], d["test_loss"][1:]))  # gradient flow lowers the loss
    assert d["test_loss"][-1] > d["final_loss"] > 0


def test_loss_inf_width_and_grid(capsys):
    d = run_json(capsys, "bap", "loss", *BASE, "--N", "inf", "--P", "inf", "--t", "0,2")
    m = BAPModel(M=300, alpha=1.5, beta=1, N="inf", P="inf")
    lam, w = m.eigenvalues(), m.target()
    assert d["N"] == "inf"
    assert d["test_loss"][1] == pytest.approx(float(np.sum(lam * w**2 * np.exp(-4 * lam))), rel=1e-12)
    g = run_json(capsys, "bap", "loss", *BASE, "--N", "30,60,inf", "--P", "inf", "--t", "1,10")
    assert [p["N"] for p in g["points"]] == [30, 60, "inf"] and g["t"] == [1.0, 10.0]
    losses = [p["test_loss"][1] for p in g["points"]]
    assert losses[0] > losses[1] > losses[2]          # wider is better at P = inf


def test_precision_strings(capsys):
    args = ["bap", "loss", "--M", "60", "--alpha", "1.5", "--beta", "1", "--N", "12", "--P", "inf", "--t", "1,10"]
    d20 = run_json(capsys, *args, "--precision", "20")
    d30 = run_json(capsys, *args, "--precision", "30")
    ctx = mpmath.MPContext()
    ctx.dps = 40
    for key in ("test_loss", "train_loss"):
        for s20, s30 in zip(d20[key], d30[key]):
            assert isinstance(s20, str) and isinstance(s30, str)
            mant = s30.lower().split("e")[0].replace("-", "").replace(".", "").lstrip("0")
            assert 25 <= len(mant) <= 30
            assert abs(ctx.mpf(s20) / ctx.mpf(s30) - 1) < ctx.mpf(10) ** -19
    assert isinstance(d30["final_loss"], str)
    dbl = run_json(capsys, *args)
    assert float(d30["test_loss"][1]) == pytest.approx(dbl["test_loss"][1], rel=1e-9)


def test_loss_text_output(capsys):
    assert main(["bap", "loss", *BASE, "--N", "60", "--P", "inf", "--t", "1,10"]) == 0
    out = capsys.readouterr().out
    assert "model B theory" in out and "test_loss" in out and "t = inf" in out
    assert len(out.strip().splitlines()) == 5  # header, columns, two times, t = inf


def test_simulate_json(capsys):
    args = ["bap", "simulate", "--M", "100", "--alpha", "1.5", "--beta", "1", "--N", "20", "--P", "50",
            "--t", "0,1,10", "--seeds", "3", "--seed", "5", "--no-progress"]
    d = run_json(capsys, *args)
    for key in ("t", "test_loss", "test_loss_sem", "train_loss", "train_loss_sem", "seeds", "seed", "method",
                "N", "P", "M"):
        assert key in d
    assert d["seeds"] == 3 and d["seed"] == 5 and d["t"] == [0.0, 1.0, 10.0]
    assert d["test_loss_sem"][0] == 0 and all(s > 0 for s in d["test_loss_sem"][1:])  # theta(0) = 0
    assert d["train_loss"][-1] < d["train_loss"][0]
    again = run_json(capsys, *args)
    assert again["test_loss"] == d["test_loss"]       # reproducible from the seed
    g = run_json(capsys, *args[:-1], "--N", "20,40", "--no-progress")  # a later --N wins
    assert [p["N"] for p in g["points"]] == [20, 40]


def test_simulate_gd_sgd_ensemble(capsys):
    base = ["bap", "simulate", "--M", "80", "--alpha", "1.5", "--beta", "1", "--N", "20", "--seeds", "2",
            "--no-progress"]
    gd = run_json(capsys, *base, "--P", "40", "--t", "1,2", "--eta", "0.5")
    assert "descent" in gd["method"] and gd["eta"] == 0.5
    sgd = run_json(capsys, *base, "--P", "inf", "--t", "1,2", "--eta", "0.5", "--batch", "4")
    assert sgd["method"] == "online SGD" and sgd["batch"] == 4
    ens = run_json(capsys, *base, "--P", "40", "--t", "1", "--ensemble", "3")
    assert ens["ensemble"] == 3 and math.isfinite(ens["test_loss"][0])


def test_equations(capsys):
    from scaling_theory.theory import derive_bap

    assert main(["bap", "equations", "--latex"]) == 0
    out = capsys.readouterr().out
    d = derive_bap()
    for name in d.results:
        assert f"[{name}]" in out and d.latex(name) in out
    assert "Exponent of L in t" in out
    assert main(["bap", "equations"]) == 0
    assert "kappa_equation_P_inf" in capsys.readouterr().out


# independent closed form: L ~ a t^-b + c0 N^-c, c = alpha min(beta, 1), C = N t:
# N* ~ C^(beta/(beta+c)), t* ~ C^(c/(beta+c)), L* ~ C^(-beta c/(beta+c))
@pytest.mark.parametrize("alpha, beta, N, t, L", [
    ("1.5", "0.5", 0.4, 0.6, -0.3),     # c = 0.75
    ("2", "2", 0.5, 0.5, -1.0),         # c = 2 (beta > 1: c = alpha)
    ("1.2", "1", 1 / 2.2, 1.2 / 2.2, -1.2 / 2.2),
])
def test_compute_optimal_exponents(capsys, alpha, beta, N, t, L):
    d = run_json(capsys, "bap", "compute-optimal", "--alpha", alpha, "--beta", beta)
    assert d["exponents"] == pytest.approx({"N": N, "t": t, "loss": L}, rel=1e-14)   # the keys of `exponents bap`
    assert d["model"] == "bap"
    assert d["exponents"]["N"] + d["exponents"]["t"] == pytest.approx(1.0)  # N* t* = C
    assert set(d["expressions"]) == {"N", "t", "loss"} and "alpha" in d["expressions"]["loss"]
    assert d["c"] == pytest.approx(float(alpha) * min(float(beta), 1.0))
    assert main(["bap", "compute-optimal", "--alpha", alpha, "--beta", beta]) == 0
    assert "C^" in capsys.readouterr().out


def test_compute_optimal_fallback_derivation_agrees():
    """The sympy fallback (stationarity solved here) equals the derivation's results."""
    import sympy as sp

    from scaling_theory.theory import derive_bap
    from scaling_theory.theory._flow import alpha, beta

    d = derive_bap()
    stripped = type(d)(**{**d.__dict__, "results": {k: v for k, v in d.results.items()
                                                   if not k.startswith("compute_optimal")}})
    ours, theirs = compute_optimal_exponents(stripped), compute_optimal_exponents(d)
    for a, b in ((1.5, 0.5), (2, 2), (3, 0.3)):
        for k in ("N", "t", "L"):
            pt = {alpha: sp.nsimplify(a), beta: sp.nsimplify(b)}
            assert sp.simplify(ours[k].subs(pt) - theirs[k].subs(pt)) == 0


@pytest.mark.parametrize("args, name", [
    (["--M", "300", "--alpha", "-1", "--beta", "1", "--N", "60", "--P", "inf", "--t", "1"], "alpha"),
    (["--M", "300", "--alpha", "1.5", "--beta", "0", "--N", "60", "--P", "inf", "--t", "1"], "beta"),
    (["--M", "300", "--alpha", "1.5", "--beta", "1", "--N", "0", "--P", "inf", "--t", "1"], "N"),
    (["--M", "300", "--alpha", "1.5", "--beta", "1", "--N", "6.5", "--P", "inf", "--t", "1"], "N"),
    (["--M", "300", "--alpha", "1.5", "--beta", "1", "--N", "60", "--P", "abc", "--t", "1"], "P"),
    (["--M", "-3", "--alpha", "1.5", "--beta", "1", "--N", "60", "--P", "inf", "--t", "1"], "M"),
    (["--M", "300", "--alpha", "1.5", "--beta", "1", "--N", "60", "--P", "inf", "--t", "1,-2"], "t"),
    (["--M", "300", "--alpha", "1.5", "--beta", "1", "--N", "60", "--P", "inf", "--t", "1,,2"], "t"),
    (["--M", "300", "--alpha", "1.5", "--beta", "1", "--N", "60", "--P", "inf", "--t", "1",
      "--noise-var", "-1"], "--noise-var"),
    (["--M", "300", "--alpha", "1.5", "--beta", "1", "--N", "60", "--P", "inf", "--t", "1",
      "--eta", "0"], "eta"),
    (["--M", "300", "--alpha", "1.5", "--beta", "1", "--N", "60", "--P", "inf", "--t", "1",
      "--ensemble", "0"], "ensemble"),
    (["--M", "300", "--alpha", "1.5", "--beta", "1", "--N", "60", "--P", "inf", "--t", "1",
      "--precision", "0"], "precision"),
    (["--M", "300", "--alpha", "__import__('os')", "--beta", "1", "--N", "60", "--P", "inf", "--t", "1"],
     "alpha"),
    (["--M", "inf", "--alpha", "0.5", "--beta", "1", "--N", "60", "--P", "inf", "--t", "1"], "alpha"),
])
def test_bad_input_one_line_exit_2(capsys, args, name):
    assert main(["bap", "loss", *args]) == 2
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1, cap.err
    assert lines[0].startswith("scaling-theory: error: ") and name in lines[0]
    assert "Traceback" not in cap.err and cap.out == ""


@pytest.mark.parametrize("cmd, extra", [
    ("loss", ["--eta", "1.9"]),                  # beyond the GD theory's stability bound
    ("simulate", ["--P", "50", "--batch", "4", "--eta", "0.1"]),   # SGD needs P = inf
    ("simulate", ["--P", "inf", "--batch", "4"]),                 # SGD needs eta
    ("simulate", ["--P", "50", "--seeds", "1"]),
    ("simulate", ["--P", "50", "--eta", "0.3", "--t", "1"]),      # t not a multiple of eta
])
def test_unsupported_settings_exit_2(capsys, cmd, extra):
    args = ["bap", cmd, "--M", "60", "--alpha", "1.5", "--beta", "1", "--N", "10", "--t", "1"]
    if "--P" not in extra:
        args += ["--P", "inf"]
    assert main(args + extra + (["--no-progress"] if cmd == "simulate" else [])) == 2
    cap = capsys.readouterr()
    assert len(cap.err.strip().splitlines()) == 1 and cap.err.startswith("scaling-theory: error: ")
    assert "Traceback" not in cap.err


def test_compute_optimal_bad_input(capsys):
    assert main(["bap", "compute-optimal", "--alpha", "0", "--beta", "1"]) == 2
    assert "alpha" in capsys.readouterr().err
    assert main(["bap", "compute-optimal", "--alpha", "1", "--beta", "x"]) == 2
    assert "beta" in capsys.readouterr().err


def test_loss_with_ensemble(capsys):
    """The ensemble theory: E students beat one student of the same width."""
    base = ["bap", "loss", "--M", "300", "--alpha", "1.5", "--beta", "1", "--N", "40", "--P", "120",
            "--t", "10,1000", "--json"]
    assert main(base) == 0
    one = json.loads(capsys.readouterr().out)
    assert main(base + ["--ensemble", "4"]) == 0
    ens = json.loads(capsys.readouterr().out)
    assert ens["ensemble"] == 4
    assert all(e < o for e, o in zip(ens["test_loss"], one["test_loss"]))


def test_loss_infinite_M_any_precision(capsys):
    """`--M inf` with finite N and P, in double and with --precision (the mpmath two-point
    route): the two agree to the double route's accuracy, and M = 10^8 is within the
    latent tail ~ M^(1 - alpha) = 10^-4 of M = inf."""
    args = ["bap", "loss", "--alpha", "2", "--beta", "1", "--N", "40", "--P", "80", "--t", "3",
            "--noise-var", "0.01", "--json"]
    hi = run_json(capsys, *args, "--M", "inf", "--precision", "18")
    lo = run_json(capsys, *args, "--M", "inf")
    fin = run_json(capsys, *args, "--M", "100000000")
    assert hi["M"] == "inf" and hi["dps"] == 18
    for key in ("test_loss", "train_loss"):
        assert isinstance(hi[key][0], str)
        assert float(hi[key][0]) == pytest.approx(lo[key][0], rel=1e-9)
        assert fin[key][0] == pytest.approx(lo[key][0], rel=1e-4)
        assert fin[key][0] != pytest.approx(lo[key][0], rel=1e-12)   # finite M is not M = inf
