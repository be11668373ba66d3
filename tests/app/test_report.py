"""Tests of the reproduction report (scaling_theory/report/) at quick sizes."""
import csv
import json
import math
import re

import pytest

from scaling_theory.report import SECTIONS, ReportConfig, reproduce


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
    # every figure has its vector twin (PDF by default)
    assert [p.with_suffix(".png") for p in report["vector_figures"]] == report["figures"]
    for p in report["vector_figures"]:
        assert p.read_bytes()[:5] == b"%PDF-"


def test_only_some_sections_svg_and_dpi(tmp_path):
    from PIL import Image

    r = reproduce(tmp_path, quick=True, progress=False, only="e,bap_width", vector="svg", dpi=60)
    assert sorted(json.loads(r["json"].read_text())["sections"]) == ["bap_width", "duality"]
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["bap_width.png", "mrs_duality.png"]
    for p in r["vector_figures"]:
        assert p.suffix == ".svg" and b"<svg" in p.read_bytes()[:400]
    with Image.open(r["figures"][0]) as im:      # 60 dpi: a fraction of the 150-dpi default
        assert max(im.size) < 600


@pytest.mark.parametrize("kwargs, name", [({"only": "zz"}, "only"), ({"only": ""}, "only"),
                                          ({"dpi": 5}, "dpi"), ({"dpi": True}, "dpi"),
                                          ({"vector": "eps"}, "vector")])
def test_bad_report_options(tmp_path, kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        reproduce(tmp_path / "r", quick=True, progress=False, **kwargs)
    assert not (tmp_path / "r").exists()          # refused before any work


def test_cli_list_and_only(tmp_path, capsys):
    from scaling_theory.cli import main

    assert main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in out] == [s.name for s in SECTIONS]
    assert main(["reproduce", "--out", str(tmp_path), "--only", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("scaling-theory: error: --only: unknown section 'nope'")
    assert main(["reproduce", "--out", str(tmp_path), "--dpi", "2000"]) == 2
    assert "--dpi" in capsys.readouterr().err


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


def test_nonlinear_feature_sections(report):
    """(k) spectra and (l) loss past M: present, figures written, numbers sane."""
    out = report["out_dir"]
    d = json.loads(report["json"].read_text())
    for name, fig in (("feature_spectra", "features_spectra.png"), ("loss_past_M", "features_loss_past_M.png")):
        assert d["sections"][name]["figure"] == fig
        assert (out / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    h = report["headline"]
    spec = h["feature_spectra"]
    assert spec["linear"]["extent"] == ReportConfig.quick_preset().spectrum_M        # rank M
    for act in ("linear", "erf"):
        assert abs(spec[act]["latent_exponent"] - 2.0) < 0.15                     # 1 + alpha
    for act in ("relu", "erf"):
        assert spec[act]["extent"] > spec["linear"]["extent"]                     # continues past M
        assert spec[act]["extended_exponent"] > 0 and spec[act]["extended_exponent_sem"] >= 0
    past = h["loss_past_M"]
    lin = past["linear"]
    assert abs(lin["ratio_2M_over_M"] - 1) < 0.01 and abs(lin["ratio_end_over_M"] - 1) < 0.01
    assert lin["theory_at_M"] == pytest.approx(lin["floor_closed_form"], rel=1e-9)
    for act in ("relu", "erf"):
        assert past[act]["exponent_N"] > 0.5 and past[act]["exponent_N_minus_M"] > 0.3
        assert past[act]["ratio_end_over_M"] < 0.5
        assert past[act]["theory_at_end"] > 10 * lin["floor_closed_form"]
    assert past["erf"]["exponent_N"] > past["relu"]["exponent_N"]
    rows = [r for r in d["comparisons"] if r["section"] == "loss_past_M"]
    assert {r["label"] for r in rows} == {"linear", "relu", "erf"}
    assert all(r["N"] > r["M"] for r in rows)                                    # simulated past M
    text = report["summary"].read_text()
    assert "(k) Nonlinear features" in text and "(l) Nonlinear features" in text
    assert "Linear features plateau at N = M" in text


def test_asymptotics_section(report):
    """(m) phase diagram and derived vs measured exponents: figure, table of both models,
    agreeing digits, JSON-safe phase table, headline and summary."""
    out = report["out_dir"]
    d = json.loads(report["json"].read_text())
    sec = d["sections"]["asymptotics"]
    assert sec["figure"] == "asymptotics_phase_diagram.png"
    assert (out / sec["figure"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = sec["data"]["table"]
    assert {r["model"] for r in table} == {"mrs", "bap"}
    quick = ReportConfig.quick_preset()
    assert {(r["model"], r["alpha"], r["beta"]) for r in table} == set(quick.asym_points)
    assert {r["quantity"] for r in table if r["model"] == "bap"} >= {
        "loss_vs_t", "loss_vs_N", "loss_vs_P", "compute_optimal.N", "compute_optimal.t", "compute_optimal.loss"}
    # quick sizes (10^4 .. 10^10, dps 20) measured: exponents >= 8.1 digits, prefactors >= 8.1
    for r in table:
        assert r["exponent_digits"] >= 6, r
        assert abs(r["measured_exponent"] - r["derived_exponent"]) < 1e-6 * max(1, abs(r["derived_exponent"]))
        if r["prefactor_digits"] is not None:
            assert r["prefactor_digits"] >= 4, r
            assert r["measured_prefactor"] == pytest.approx(r["derived_prefactor"], rel=1e-4)
        # each model's alpha is labelled in both conventions: alpha_B = 1 + alpha_A
        assert float(r["alpha_model_B"]) == pytest.approx(float(r["alpha_model_A"]) + 1)
    assert any(r["prefactor_digits"] is not None for r in table if r["model"] == "mrs")
    phases = sec["data"]["phase_diagram"]["model_B"]
    assert len(phases) >= 3 and all(isinstance(ph["loss_vs_N"], str) for ph in phases)
    assert {ph["loss_vs_P"] for ph in phases} >= {"-alpha*beta", "-2*alpha"}
    assert sec["data"]["derived_exponents"]["model_B"]["loss_vs_N"] == "-alpha*Min(1, beta)"
    h = report["headline"]["asymptotics"]
    assert h["rows"] == len(table) and h["points"] == len(quick.asym_points)
    assert h["min_exponent_digits"] == min(r["exponent_digits"] for r in table) >= 6
    assert h["min_prefactor_digits"] == min(r["prefactor_digits"] for r in table
                                            if r["prefactor_digits"] is not None) >= 4
    assert set(h["min_exponent_digits_by_model"]) == {"A", "B"}
    assert not [r for r in d["comparisons"] if r["section"] == "asymptotics"]
    text = report["summary"].read_text()
    assert "(m) Asymptotics" in text and "asymptotic exponents: min agreeing digits" in text
    assert "asymptotic prefactors: min agreeing digits" in text
    assert "alpha_B = 1 + alpha_A" in text


@pytest.mark.slow          # a second quick report (20 s); resume and worker-count reproducibility: test_report_atomic
def test_reproducible(report, tmp_path):
    again = reproduce(tmp_path, quick=True, progress=False)
    a = json.loads(report["json"].read_text())["comparisons"]
    b = json.loads(again["json"].read_text())["comparisons"]
    assert [r["simulation"] for r in a] == [r["simulation"] for r in b]


@pytest.mark.slow          # a third quick report through the command line (20 s)
def test_cli_reproduce(tmp_path, capsys):
    from scaling_theory.cli import main

    assert main(["reproduce", "--out", str(tmp_path), "--quick", "--no-progress", "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "summary.md" in out and (tmp_path / "summary.md").exists()
