"""``--spectrum FILE`` / ``--target FILE`` on both models' commands: text (one number per
line) and ``.npy`` read alike; a custom file equal to the power law reproduces the power
law's numbers (a different route: explicit sums instead of the O(1) power-law sums); bad
files and meaningless flags answer with one line naming the flag (exit 2)."""
from __future__ import annotations

import json
import shlex

import numpy as np
import pytest

from scaling_theory.cli import main


def _run(capsys, line):
    code = main(shlex.split(line))
    out = capsys.readouterr()
    return code, out


def _json(capsys, line):
    code, out = _run(capsys, line + " --json")
    assert code == 0, out.err
    return json.loads(out.out)


@pytest.fixture
def files(tmp_path):
    k = np.arange(1, 301, dtype=float)
    lam_a = k ** -2.0                                   # model A, alpha_A = 1
    lam_b = k ** -1.5                                   # model B, alpha = 1.5
    w_b = k ** (-(1.5 * 1.0 + 1 - 1.5) / 2)             # beta = 1
    paths = {}
    for name, arr in (("lam_a", lam_a), ("lam_b", lam_b), ("w_b", w_b), ("tv", np.full(300, 1 / 300))):
        txt = tmp_path / f"{name}.txt"
        txt.write_text("# a comment line\n" + "\n".join(repr(float(v)) for v in arr) + "\n\n")
        np.save(tmp_path / f"{name}.npy", arr)
        paths[name] = txt
        paths[name + "_npy"] = tmp_path / f"{name}.npy"
    bad = tmp_path / "bad.txt"
    bad.write_text("1.0\n0.5 0.2\n")
    paths["bad"] = bad
    neg = tmp_path / "neg.txt"
    neg.write_text("1.0\n-0.5\n")
    paths["neg"] = neg
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    paths["empty"] = empty
    two = tmp_path / "two.npy"
    np.save(two, np.ones((3, 4)))
    paths["2d"] = two
    return paths


def test_mrs_loss_custom_spectrum_equals_the_power_law(capsys, files):
    pl = _json(capsys, "mrs loss --M 300 --alpha 1 --N 50 --T 120 --gamma 0.001")
    for key in ("lam_a", "lam_a_npy"):
        cu = _json(capsys, f"mrs loss --spectrum {files[key]} --N 50 --T 120 --gamma 0.001")
        assert cu["M"] == 300 and "alpha" not in cu and len(cu["spectrum"]) == 300
        assert cu["test_loss"] == pytest.approx(pl["test_loss"], rel=1e-11)
    tv = _json(capsys, f"mrs loss --spectrum {files['lam_a']} --target {files['tv']} --N 50 --T 120 --gamma 0.001")
    assert tv["test_loss"] == pytest.approx(pl["test_loss"], rel=1e-11) and "sigma_w2" not in tv


def test_bap_loss_custom_spectrum_and_target_equal_the_power_law(capsys, files):
    pl = _json(capsys, "bap loss --M 300 --alpha 1.5 --beta 1 --N 40 --P 100 --t 1,100,10000")
    cu = _json(capsys, f"bap loss --spectrum {files['lam_b_npy']} --target {files['w_b']} --N 40 --P 100 "
                       "--t 1,100,10000")
    assert {"alpha", "beta"}.isdisjoint(cu) and cu["M"] == 300
    assert np.allclose(cu["test_loss"], pl["test_loss"], rtol=1e-8)
    tg = _json(capsys, f"bap loss --M 300 --alpha 1.5 --target {files['w_b']} --N 40 --P 100 --t 1,100,10000")
    assert "beta" not in tg and np.allclose(tg["test_loss"], pl["test_loss"], rtol=1e-8)


def test_simulations_and_spectrum_take_the_files(capsys, files):
    sim = _json(capsys, f"mrs simulate --spectrum {files['lam_a']} --N 20 --T 40 --seeds 2 --no-progress")
    assert sim["M"] == 300 and sim["test_loss"] > 0 and len(sim["spectrum"]) == 300
    bs = _json(capsys, f"bap simulate --spectrum {files['lam_b']} --target {files['w_b']} --N 20 --P 40 --t 1,10 "
                       "--seeds 2 --no-progress")
    assert bs["M"] == 300 and len(bs["test_loss"]) == 2
    sp = _json(capsys, f"mrs spectrum --spectrum {files['lam_a']} --N 100")
    assert sp["M"] == 300 and "alpha" not in sp
    code, out = _run(capsys, f"mrs loss --spectrum {files['lam_a']} --N 50 --T 120")
    assert code == 0 and "custom spectrum" in out.out and "alpha" not in out.out.split("\n")[1]


BAD = [
    ("mrs loss --spectrum {bad} --N 5 --T 5", "--spectrum", "line 2"),
    ("mrs loss --spectrum {neg} --N 5 --T 5", "--spectrum", "> 0"),
    ("mrs loss --spectrum {empty} --N 5 --T 5", "--spectrum", "no numbers"),
    ("mrs loss --spectrum {2d} --N 5 --T 5", "--spectrum", "1-D"),
    ("mrs loss --spectrum {missing} --N 5 --T 5", "--spectrum", "cannot read"),
    ("mrs loss --spectrum {lam_a} --alpha 1 --N 5 --T 5", "--alpha", "not used with a custom spectrum"),
    ("mrs loss --spectrum {lam_a} --lambda-plus 2 --N 5 --T 5", "--lambda-plus", "not used"),
    ("mrs loss --M 300 --alpha 1 --target {tv} --sigma-w2 2 --N 5 --T 5", "--sigma-w2", "not used"),
    ("mrs loss --M 200 --spectrum {lam_a} --N 5 --T 5", "--spectrum", "M = 200"),
    ("mrs loss --N 5 --T 5", "--M", "required"),
    ("mrs loss --M 300 --N 5 --T 5", "--alpha", "required"),
    ("mrs simulate --spectrum {bad} --N 5 --T 5 --no-progress", "--spectrum", "line 2"),
    ("bap loss --spectrum {lam_b} --N 5 --P 5 --t 1", "--target", "required with a custom spectrum"),
    ("bap loss --spectrum {lam_b} --target {w_b} --alpha 2 --N 5 --P 5 --t 1", "--alpha", "not used"),
    ("bap loss --M 300 --alpha 2 --beta 1 --target {w_b} --N 5 --P 5 --t 1", "--beta", "not used"),
    ("bap loss --M inf --alpha 2 --target {w_b} --N 5 --P 5 --t 1", "--target", "finite M"),
    ("bap simulate --spectrum {lam_b} --target {neg} --N 5 --P 5 --t 1 --no-progress", "--target", "M = 300"),
]


@pytest.mark.parametrize("line, flag, words", BAD, ids=[b[0][:60] for b in BAD])
def test_bad_files_and_meaningless_flags_exit_2_with_one_line(line, flag, words, capsys, files, tmp_path):
    code, out = _run(capsys, line.format(missing=tmp_path / "nope.txt", **files))
    assert code == 2
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scaling-theory: error: "), out.err
    assert flag in lines[0] and words in lines[0], lines[0]
    assert out.out == ""
