"""Tests of the ``scaling-theory`` command line (scaling_theory/cli.py)."""
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import mpmath
import pytest

from scaling_theory.numerics import MRSModel, mrs_theory
from scaling_theory.cli import main

BASE = ["--M", "1000", "--alpha", "1"]


def run_json(capsys, *args):
    assert main(list(args) + ["--json"]) == 0
    out = capsys.readouterr().out
    return json.loads(out)


def test_loss_one_point_json(capsys):
    d = run_json(capsys, "mrs", "loss", *BASE, "--N", "100", "--T", "400")
    for key in ("test_loss", "train_loss", "kappa", "N", "T", "gamma", "M", "alpha"):
        assert key in d
    assert (d["N"], d["T"], d["gamma"]) == (100, 400, 0.0)
    ref = mrs_theory(MRSModel(M=1000, alpha=1, N=100, T=400))
    assert d["test_loss"] == pytest.approx(ref.test_loss, rel=1e-14)
    assert 0 < d["train_loss"] < d["test_loss"]


def test_loss_grid_json_is_the_outer_grid(capsys):
    d = run_json(capsys, "mrs", "loss", *BASE, "--N", "100,200,400", "--T", "400,800", "--gamma", "0,0.01")
    pts = d["points"]
    assert len(pts) == 3 * 2 * 2
    combos = {(p["N"], p["T"], p["gamma"]) for p in pts}
    assert combos == {(n, t, g) for n in (100, 200, 400) for t in (400, 800) for g in (0.0, 0.01)}
    for p in pts:
        assert {"test_loss", "train_loss", "kappa"} <= set(p)
    # the peak N = T at gamma = 0 is the JSON string "inf" (valid JSON)
    peak = [p for p in pts if p["N"] == p["T"] == 400 and p["gamma"] == 0.0]
    assert peak and peak[0]["test_loss"] == "inf"


def test_duality_through_the_cli(capsys):
    a = run_json(capsys, "mrs", "loss", *BASE, "--N", "100", "--T", "400")
    b = run_json(capsys, "mrs", "loss", *BASE, "--N", "400", "--T", "100")
    assert abs(a["test_loss"] / b["test_loss"] - 1) < 1e-12


def test_precision_gives_d_significant_digits(capsys):
    args = ["mrs", "loss", *BASE, "--N", "100", "--T", "400", "--gamma", "0.1"]
    d30 = run_json(capsys, *args, "--precision", "30")
    d50 = run_json(capsys, *args, "--precision", "50")
    for key in ("test_loss", "train_loss", "kappa"):
        s30, s50 = d30[key], d50[key]
        assert isinstance(s30, str) and isinstance(s50, str)
        mant = s30.lower().split("e")[0].replace("-", "").replace(".", "").lstrip("0")
        assert len(mant) <= 30 and len(mant) >= 25  # trailing zeros may be dropped
        ctx = mpmath.MPContext()
        ctx.dps = 60
        x30, x50 = ctx.mpf(s30), ctx.mpf(s50)
        assert abs(x30 / x50 - 1) < ctx.mpf(10) ** -29
    # gamma = 0.1 was taken exactly (1/10), not as the double nearest 0.1
    m = MRSModel(M=1000, alpha="1", N=100, T=400, gamma="0.1")
    assert d50["test_loss"] == mrs_theory(m, dps=50).to_dict(digits=50)["test_loss"]


def test_precision_grid(capsys):
    d = run_json(capsys, "mrs", "loss", *BASE, "--N", "100,400", "--T", "400", "--precision", "20")
    assert len(d["points"]) == 2
    assert all(isinstance(p["test_loss"], str) for p in d["points"])
    assert d["points"][1]["test_loss"] == "inf"


def test_loss_text_output(capsys):
    assert main(["mrs", "loss", *BASE, "--N", "400", "--T", "400"]) == 0
    out = capsys.readouterr().out
    assert "test_loss" in out and "inf" in out
    assert main(["mrs", "loss", *BASE, "--N", "100,200", "--T", "400"]) == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 4  # header line, column line, two rows


def test_simulate_json(capsys):
    args = ["mrs", "simulate", "--M", "200", "--alpha", "1", "--N", "20", "--T", "40",
            "--seeds", "3", "--seed", "5", "--no-progress"]
    d = run_json(capsys, *args)
    for key in ("test_loss", "test_loss_sem", "train_loss", "train_loss_sem", "seeds", "seed", "N", "T", "gamma"):
        assert key in d
    assert d["seeds"] == 3 and d["seed"] == 5
    assert d["test_loss_sem"] > 0 and d["train_loss_sem"] > 0
    g = run_json(capsys, *args, "--gamma", "0,0.01,0.1")
    assert [p["gamma"] for p in g["points"]] == [0.0, 0.01, 0.1]
    assert g["points"][0]["test_loss"] == pytest.approx(d["test_loss"], rel=1e-10)  # same instances
    assert all(p["test_loss_sem"] > 0 for p in g["points"])


def test_simulate_nonlinear_and_progress_on_stderr(capsys):
    assert main(["mrs", "simulate", "--M", "100", "--alpha", "1", "--N", "10", "--T", "20",
                 "--seeds", "2", "--activation", "relu", "--json"]) == 0
    cap = capsys.readouterr()
    d = json.loads(cap.out)  # stdout is clean JSON, the bar went to stderr
    assert d["activation"] == "relu" and math.isfinite(d["test_loss"])


def test_equations(capsys):
    from scaling_theory.theory._ridge import derive_mrs

    assert main(["mrs", "equations", "--latex"]) == 0
    out = capsys.readouterr().out
    assert "Self-consistent equation" in out
    assert derive_mrs().latex("self_consistent") in out
    assert "Test loss" in out and "Train loss" in out
    assert main(["mrs", "equations"]) == 0
    out = capsys.readouterr().out
    assert "Self-consistent equation" in out and ("κ" in out or "kappa" in out)


@pytest.mark.slow          # regenerates every derivation from sympy (about 30 s)
def test_derive_check(capsys):
    assert main(["derive", "--check"]) in (0, 1)
    out = capsys.readouterr().out
    assert "derivations" in out


def test_derive_finds_the_checkout_from_inside_it(monkeypatch, tmp_path):
    from pathlib import Path

    import scaling_theory.cli as cli
    from scaling_theory import theory

    repo = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(repo / "tests" / "app")              # a folder deep inside the repository
    assert cli._repo_root() == repo
    # outside any checkout, with the package not beside one: one clear sentence on what it needs
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(theory, "__file__", str(tmp_path / "site" / "theory" / "__init__.py"))
    with pytest.raises(cli._UsageError, match="source checkout.*theory/, derivations/ and pyproject.toml"):
        cli._repo_root()


def test_derive_outside_a_checkout_exits_2(monkeypatch, tmp_path, capsys):
    from scaling_theory import theory

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(theory, "__file__", str(tmp_path / "site" / "theory" / "__init__.py"))
    assert main(["derive", "--check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "run it inside a clone" in err[0]


def test_loss_text_explains_its_quantities(capsys):
    assert main(["mrs", "loss", "--M", "1000", "--N", "400", "--T", "400", "--alpha", "1"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("kappa1"))
    assert line.split()[2] == "0" and "data-side renormalised ridge" in line
    assert "effective degrees of freedom" in out and "interpolation peak" in out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert "scaling-theory" in capsys.readouterr().out


@pytest.mark.parametrize("args, name", [
    (["--alpha", "-1", "--N", "100", "--T", "400"], "alpha"),
    (["--alpha", "1", "--N", "0", "--T", "400"], "N"),
    (["--alpha", "1", "--N", "abc", "--T", "400"], "N"),
    (["--alpha", "1", "--N", "100.5", "--T", "400"], "N"),
    (["--alpha", "1", "--N", "100", "--T", "400", "--precision", "0"], "precision"),
    (["--alpha", "1", "--N", "100", "--T", "400", "--gamma", "0,-1"], "gamma"),
    (["--alpha", "1", "--N", "100", "--T", "400", "--noise-var", "-1"], "--noise-var"),
    (["--alpha", "1", "--N", "100", "--T", "400", "--sigma-u2", "inf"], "--sigma-u2"),
    (["--alpha", "1/2", "--N", "100", "--T", "400"], "alpha"),
    (["--alpha", "__import__('os')", "--N", "100", "--T", "400"], "alpha"),
])
def test_bad_input_one_line_exit_2(capsys, args, name):
    assert main(["mrs", "loss", "--M", "1000", *args]) == 2
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1, cap.err
    assert lines[0].startswith("scaling-theory: error: ") and name in lines[0]
    assert "Traceback" not in cap.err and cap.out == ""


def test_bad_activation_and_seeds(capsys):
    base = ["mrs", "simulate", "--M", "100", "--alpha", "1", "--N", "10", "--T", "20", "--no-progress"]
    assert main(base + ["--activation", "softmax"]) == 2
    assert "activation" in capsys.readouterr().err
    assert main(base + ["--seeds", "1"]) == 2
    assert "seeds" in capsys.readouterr().err


def test_argparse_errors_are_one_line(capsys):
    assert main(["mrs", "loss", "--M", "1000", "--alpha", "1"]) == 2  # --N, --T missing
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--N" in err[0]


def test_installed_script_bad_input():
    exe = Path(sys.executable).with_name("scaling-theory")
    cmd = [str(exe)] if exe.exists() else [shutil.which("scaling-theory") or "scaling-theory"]
    r = subprocess.run(cmd + ["mrs", "loss", "--M", "1000", "--alpha", "-1", "--N", "100", "--T", "400"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip() == "scaling-theory: error: --alpha must be > 0, got -1"
    assert r.stdout == ""


# -- nonlinear features (issue 4) ----------------------------------------------------
def test_loss_with_activation_uses_the_nonlinear_theory(capsys):
    """`mrs loss --activation relu`: model A's JSON keys, the numbers of mrs_nonlinear_theory
    (an independent route: its linear case is model A), and sampling errors of the U average."""
    from scaling_theory.numerics import mrs_nonlinear_theory

    args = ["mrs", "loss", "--M", "200", "--alpha", "1", "--N", "300", "--T", "600", "--gamma", "0.001",
            "--activation", "relu", "--u-draws", "3", "--seed", "5"]
    d = run_json(capsys, *args)
    for key in ("test_loss", "train_loss", "kappa", "kappa1", "df2", "regime", "method", "N", "T", "gamma"):
        assert key in d
    assert d["activation"] == "relu" and d["u_draws"] == 3 and d["kappa1"] is None
    ref = mrs_nonlinear_theory(MRSModel(M=200, alpha=1, N=300, T=600, gamma=0.001, activation="relu"),
                               u_draws=3, seed=5)
    assert d["test_loss"] == pytest.approx(float(ref.test_loss[0]), rel=1e-12)
    assert 0 < d["test_loss_sem"] < 0.1 * d["test_loss"]
    # linear features through the same flag are model A's theory (not the sampled route)
    lin = run_json(capsys, "mrs", "loss", "--M", "200", "--alpha", "1", "--N", "300", "--T", "600",
                   "--gamma", "0.001", "--activation", "linear")
    assert lin["test_loss"] == pytest.approx(
        mrs_theory(MRSModel(M=200, alpha=1, N=300, T=600, gamma=0.001)).test_loss, rel=1e-14)
    # a grid: every (N, T, gamma) on the same draws
    g = run_json(capsys, "mrs", "loss", "--M", "100", "--alpha", "1", "--N", "50,150", "--T", "300",
                 "--gamma", "0,0.01", "--activation", "erf", "--u-draws", "2")
    assert [(p["N"], p["gamma"]) for p in g["points"]] == [(50, 0.0), (50, 0.01), (150, 0.0), (150, 0.01)]


@pytest.mark.parametrize("extra, name", [(["--precision", "30"], "precision"),
                                         (["--u-draws", "1"], "--u-draws"),
                                         (["--activation", "sigmoid"], "activation")])
def test_loss_nonlinear_bad_input(capsys, extra, name):
    args = ["mrs", "loss", "--M", "100", "--alpha", "1", "--N", "50", "--T", "100"]
    if "--activation" not in extra:
        args += ["--activation", "relu"]
    assert main(args + extra) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("scaling-theory: error: ") and name in err[0]


def test_spectrum_json(capsys):
    """`mrs spectrum`: relu continues past M (full rank N), linear stops at rank M; the latent
    exponent is the data's 1 + alpha to within the finite-N distortion of the fit."""
    d = run_json(capsys, "mrs", "spectrum", "--activation", "relu", "--M", "60", "--N", "240", "--seeds", "2")
    assert len(d["eigenvalues"]) == 240 and d["extent"] == 240
    assert d["extended_fit"]["exponent"] > 0 and d["over_draws"]["seeds"] == 2
    lin = run_json(capsys, "mrs", "spectrum", "--M", "60", "--N", "240", "--alpha", "1")
    assert lin["extent"] == 60 and lin["extended_fit"] is None
    assert abs(lin["latent_fit"]["exponent"] - 2.0) < 0.2
    assert main(["mrs", "spectrum", "--M", "60", "--N", "240"]) == 0
    assert "latent fit" in capsys.readouterr().out


def test_spectrum_bad_input(capsys):
    assert main(["mrs", "spectrum", "--M", "0", "--N", "10"]) == 2
    assert "M" in capsys.readouterr().err
    assert main(["mrs", "spectrum", "--M", "10", "--N", "10", "--alpha", "-1"]) == 2
    assert "alpha" in capsys.readouterr().err
