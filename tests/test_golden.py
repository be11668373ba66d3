"""Behaviour guard: a fixed set of recorded outputs is reproduced.

The outputs (385 numbers: both models' theory in double precision and at 30
digits, exponents and prefactors, simulations with fixed seeds) were recorded
by ``tests/golden/record.py`` before the package was reorganised (issue 12).
Theory must agree to 1e-12 relative (mpmath values to 1e-25), symbolic results
exactly, simulations bitwise.  A deliberate change of behaviour re-records them
and says why in the commit.
"""
import importlib.util
import json
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"


def _recorder():
    spec = importlib.util.spec_from_file_location("golden_record", GOLDEN / "record.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_recorded_outputs_are_reproduced():
    rec = _recorder()
    recorded = json.loads((GOLDEN / "outputs.json").read_text())
    assert rec.count(recorded) >= 200
    bad = rec.compare(recorded, rec.compute())
    assert not bad, "\n".join(bad[:20])


def test_comparison_detects_a_change():
    rec = _recorder()
    a = {"mrs x": {"test_loss": {"hex": (0.5).hex()}}, "sim y": {"v": [{"hex": (1.0).hex()}]}}
    b = {"mrs x": {"test_loss": {"hex": (0.5 * (1 + 1e-10)).hex()}}, "sim y": {"v": [{"hex": (1.0).hex()}]}}
    c = {"mrs x": {"test_loss": {"hex": (0.5).hex()}},
         "sim y": {"v": [{"hex": (1.0 + 2.0 ** -52).hex()}]}}
    assert rec.compare(a, a) == []
    assert len(rec.compare(a, b)) == 1          # theory beyond 1e-12
    assert len(rec.compare(a, c)) == 1          # simulations bitwise
