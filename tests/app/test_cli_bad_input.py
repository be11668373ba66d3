"""Every subcommand answers bad input with exit status 2 and one line on stderr that names the
flag as the user typed it: never a traceback, a hang, or a silent write elsewhere."""
from __future__ import annotations

import shlex
import subprocess
import sys

import pytest

from scaling_theory.cli import main

MRS = "mrs loss --M 1000 --alpha 1 --N 100 --T 400"
MSIM = "mrs simulate --M 200 --alpha 1 --N 20 --T 40 --seeds 2 --no-progress"
BAP = "bap loss --M 1000 --alpha 1.5 --beta 1 --N 100 --P inf --t 1"
BSIM = "bap simulate --M 200 --alpha 1.5 --beta 1 --N 20 --P 40 --t 1 --seeds 2 --no-progress"

#: (command line, the flag the one-line error must name)
CO = "bap compute-optimal --alpha 1.5 --beta 1.7 --full-theory --no-progress"

BAD = [
    # model B compute-optimal frontier of the full theory
    (CO + " --compute 50", "--compute"),
    (CO + " --compute 1e6,abc", "--compute"),
    (CO + " --noise-var x", "--noise-var"),
    (CO + " --budget NP", "--noise-var"),
    (CO + " --P abc", "--P"),
    # model A theory
    (MRS.replace("--M 1000", "--M 0"), "--M"),
    (MRS.replace("--M 1000", "--M 1.5"), "--M"),
    (MRS.replace("--alpha 1", "--alpha -1"), "--alpha"),
    (MRS.replace("--alpha 1", "--alpha nan"), "--alpha"),
    (MRS.replace("--alpha 1", "--alpha 1e999"), "--alpha"),
    (MRS.replace("--alpha 1", "--alpha __import__('os')"), "--alpha"),
    (MRS.replace("--N 100", "--N 100,,200"), "--N"),
    (MRS.replace("--N 100", "--N -3"), "--N"),
    (MRS.replace("--T 400", "--T 1e400"), "--T"),
    (MRS + " --gamma -0.1", "--gamma"),
    (MRS + " --noise-var -1", "--noise-var"),
    (MRS + " --lambda-plus 0", "--lambda-plus"),
    (MRS + " --sigma-w2 0", "--sigma-w2"),
    (MRS + " --sigma-u2 -2", "--sigma-u2"),
    (MRS + " --precision 0", "--precision"),
    (MRS + " --precision 3", "--precision"),
    (MRS + " --precision 100001", "--precision"),
    (MRS + " --precision 2.5", "--precision"),
    (MRS + " --activation sigmoid", "--activation"),
    (MRS + " --activation relu --precision 20", "--precision"),
    (MRS + " --activation relu --u-draws 1", "--u-draws"),
    (MRS + " --activation relu --u-draws 1e9", "--u-draws"),
    (MRS + " --activation relu --seed -1", "--seed"),
    (MRS.replace("--N 100", "--N " + ",".join(str(i) for i in range(1, 1001))).replace(
        "--T 400", "--T " + ",".join(str(i) for i in range(1, 1001))), "--N"),
    # model A simulation and spectrum
    (MSIM.replace("--seeds 2", "--seeds 1"), "--seeds"),
    (MSIM.replace("--seeds 2", "--seeds 1e12"), "--seeds"),
    (MSIM + " --seed -4", "--seed"),
    (MSIM.replace("--N 20", "--N 1e9"), "--N"),
    (MSIM.replace("--T 40", "--T 1e9"), "--T"),
    (MSIM + " --activation swish", "--activation"),
    ("mrs spectrum --M 1e9 --N 100", "--M"),
    ("mrs spectrum --M 50 --N 1e7", "--N"),
    ("mrs spectrum --M 50 --N 100 --seeds 0", "--seeds"),
    ("mrs spectrum --M 50 --N 100 --seeds 1e12", "--seeds"),
    ("mrs spectrum --M 50 --N 100 --alpha 0", "--alpha"),
    ("mrs spectrum --M 50 --N 100 --activation x", "--activation"),
    ("mrs spectrum --M 50 --N 100 --sigma-u2 0", "--sigma-u2"),
    ("mrs equations --latex --bogus", "--bogus"),
    # model B theory
    (BAP.replace("--M 1000", "--M -1"), "--M"),
    (BAP.replace("--M 1000", "--M inf").replace("--alpha 1.5", "--alpha 0.8"), "--alpha"),
    (BAP.replace("--beta 1", "--beta 0"), "--beta"),
    (BAP.replace("--N 100", "--N 0"), "--N"),
    (BAP.replace("--P inf", "--P -inf"), "--P"),
    (BAP.replace("--t 1", "--t -1"), "--t"),
    (BAP.replace("--t 1", "--t 1,inf"), "--t"),
    (BAP.replace("--t 1", "--t 1,nan"), "--t"),
    (BAP + " --noise-var -0.1", "--noise-var"),
    (BAP + " --eta 0", "--eta"),
    (BAP + " --eta 5", "--eta"),
    (BAP + " --eta 0.3", "--t"),
    (BAP + " --eta 0.5 --batch 0", "--batch"),
    (BAP + " --batch 4", "--batch"),
    (BAP.replace("--P inf", "--P 100") + " --eta 0.5 --batch 4", "--batch"),
    (BAP + " --eta 0.5 --batch 4 --ensemble 2", "--ensemble"),
    (BAP + " --eta 0.5 --batch 4 --precision 20", "--precision"),
    (BAP + " --ensemble 0", "--ensemble"),
    (BAP + " --precision 4", "--precision"),
    (BAP + " --precision 201", "--precision"),
    (BAP + " --precision x", "--precision"),
    ("bap loss --M 9989 --alpha 3.8922 --beta 0.5531 --N 55 --P inf --eta 0.7 --batch 1 --t 0,7,35", "--eta"),
    (BAP.replace("--t 1", "--t " + ",".join(["1"] * 200001)), "--t"),
    # model B simulation
    (BSIM.replace("--N 20", "--N inf"), "--N"),
    (BSIM.replace("--M 200", "--M inf"), "--M"),
    (BSIM.replace("--N 20", "--N 1e9"), "--N"),
    (BSIM.replace("--P 40", "--P 1e10"), "--P"),
    (BSIM.replace("--seeds 2", "--seeds 1e12"), "--seeds"),
    (BSIM.replace("--P 40", "--P inf") + " --eta 0.1 --batch 1 --t 1e12", "--t"),
    # model B: other subcommands
    ("bap compute-optimal --alpha 0.5 --beta 1", "--alpha"),
    ("bap compute-optimal --alpha 1.5 --beta -1", "--beta"),
    ("bap compute-optimal --alpha 1e300 --beta 1", "--alpha"),
    ("bap equations --bogus", "--bogus"),
    # exponents
    ("exponents mrs --alpha 0", "--alpha"),
    ("exponents mrs --alpha 1e300", "--alpha"),
    ("exponents mrs --alpha 1 --beta 1", "--beta"),
    ("exponents bap --alpha 1 --beta 1", "--alpha"),
    ("exponents bap --alpha 1e300 --beta 1", "--alpha"),
    ("exponents bap --alpha 2 --beta 1e300", "--beta"),
    ("exponents bap --alpha 2 --beta 1/0", "--beta"),
    # derive, reproduce
    ("derive --bogus", "--bogus"),
    ("reproduce --quick --seeds 1", "--seeds"),
    ("reproduce --quick --out ''", "--out"),
    ("reproduce --quick --out /proc/x", "--out"),
    ("reproduce --quick --out /dev/null/x", "--out"),
    ("reproduce --quick --out {file}", "--out"),
]


@pytest.mark.parametrize("line, flag", BAD, ids=[b[0][:70] for b in BAD])
def test_bad_input_exits_2_with_one_line_naming_the_flag(line, flag, capsys, tmp_path):
    f = tmp_path / "a_file"
    f.write_text("not a folder")
    argv = shlex.split(line.format(file=f))
    assert main(argv) == 2
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 1, out.err
    assert lines[0].startswith("scaling-theory") and "error" in lines[0]
    assert flag in lines[0], lines[0]
    assert "Traceback" not in out.err and out.out == ""


def test_bad_input_in_a_fresh_process_has_no_traceback():
    """The console entry point, as a user runs it: exit 2, one line, no warning leaked."""
    for line, flag in [(MRS.replace("--alpha 1", "--alpha -1"), "--alpha"),
                       (MSIM.replace("--N 20", "--N 1e9"), "--N"),
                       ("exponents bap --alpha 1e300 --beta 1", "--alpha")]:
        p = subprocess.run([sys.executable, "-m", "scaling_theory.cli", *shlex.split(line)], capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 2
        assert len(p.stderr.strip().splitlines()) == 1 and flag in p.stderr


def test_extreme_but_valid_inputs_print_finite_numbers(capsys):
    """Extreme valid values answer with numbers (no leaked warning: warnings are errors here)."""
    import json

    assert main((MRS.replace("--alpha 1", "--alpha 1e300") + " --json").split()) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["test_loss"] >= 0
    assert main((MRS.replace("--T 400", "--T 1e30") + " --json").split()) == 0
    one = json.loads(capsys.readouterr().out)
    assert main((MRS.replace("--T 400", "--T 1e30,1e31") + " --json").split()) == 0
    grid = json.loads(capsys.readouterr().out)
    assert grid["points"][0]["test_loss"] == pytest.approx(one["test_loss"], rel=1e-12)
    assert grid["points"][0]["T"] == 10**30
