"""Tests of the reproduction report (numerics/_report.py) at quick sizes."""
import csv
import json
import math
import re

import pytest

from numerics._report import SECTIONS, reproduce


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return reproduce(out, quick=True, progress=False)


def test_files_written(report):
    out = report["out_dir"]
    for name in ("summary.md", "report.json", "comparisons.csv"):
        assert (out / name).stat().st_size > 0
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert len(pngs) == len(SECTIONS) == len(report["figures"])
    for p in report["figures"]:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_is_valid_and_complete(report):
    d = json.loads(report["json"].read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert set(d["sections"]) == {s.name for s in SECTIONS}
    assert d["simulations"] and d["comparisons"]
    for row in d["comparisons"]:
        assert row["sem"] > 0 and row["simulation"] > 0
    with report["csv"].open() as f:
        assert len(list(csv.DictReader(f))) == len(d["comparisons"])


def test_summary_numbers_are_finite(report):
    text = report["summary"].read_text()
    for fig in report["figures"]:
        assert f"({fig.name})" in text
    assert not re.search(r"\b(nan|NaN)\b", text)
    nums = [float(x) for x in re.findall(r"[-+]?\d+\.\d+(?:e[-+]?\d+)?", text)]
    assert nums and all(math.isfinite(x) for x in nums)


def test_headline(report):
    h = report["headline"]
    for ax in ("N", "T"):
        sec = h[f"scaling_{ax}"]
        assert sec["derived_exponent"] == -1.0
        assert abs(sec["fitted_slope_asymptotic"] - sec["derived_exponent"]) < 0.01
    assert h["duality"]["theory_max_rel_diff"] < 1e-10
    assert h["peak"]["optimal_curve_monotone"] is True
    tv = h["theory_vs_simulation"]
    assert tv["points"] > 0 and math.isfinite(tv["max_abs_deviation_sem"])


def test_reproducible(report, tmp_path):
    again = reproduce(tmp_path, quick=True, progress=False)
    a = json.loads(report["json"].read_text())["comparisons"]
    b = json.loads(again["json"].read_text())["comparisons"]
    assert [r["simulation"] for r in a] == [r["simulation"] for r in b]


def test_cli_reproduce(tmp_path, capsys):
    from numerics.cli import main

    assert main(["reproduce", "--out", str(tmp_path), "--quick", "--no-progress", "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "summary.md" in out and (tmp_path / "summary.md").exists()
