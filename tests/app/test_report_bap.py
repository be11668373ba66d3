"""Tests of the model-B sections of the reproduction report (quick sizes)."""
import csv
import json
import math

import pytest

from scaling_theory.report import SECTIONS, reproduce

BAP = [s for s in SECTIONS if s.name.startswith("bap_")]
FIGURES = {"bap_loss": "bap_loss_t.png", "bap_compute_optimal": "bap_compute_optimal.png",
           "bap_width": "bap_width.png", "bap_finite_P": "bap_finite_P.png",
           "bap_ensemble": "bap_ensemble.png"}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report_bap")
    return reproduce(out, quick=True, progress=False, sections=BAP)


def test_model_b_sections_registered():
    assert [s.name for s in BAP] == list(FIGURES)
    assert [s.title[:3] for s in BAP] == ["(f)", "(g)", "(h)", "(i)", "(j)"]


def test_figures_written(report):
    out = report["out_dir"]
    assert sorted(p.name for p in report["figures"]) == sorted(FIGURES.values())
    for name in FIGURES.values():
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = report["summary"].read_text()
    for s in BAP:
        assert f"## {s.title}" in text and f"({FIGURES[s.name]})" in text
    assert "Model B" in text and "nan" not in text.lower().split()


def test_json_and_csv(report):
    d = json.loads(report["json"].read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert set(d["sections"]) == set(FIGURES)
    rows = d["comparisons"]
    assert rows and all(r["model"] == "B" and r["sem"] > 0 and r["simulation"] > 0 for r in rows)
    assert {r["section"] for r in rows} >= {"bap_loss"}
    sims = d["simulations"]
    assert any(k.startswith("bap/ensemble/") for k in sims)
    assert all("test_loss_sem" in v for v in sims.values())
    with report["csv"].open() as f:
        got = list(csv.DictReader(f))
    assert len(got) == len(rows) and {"P", "t", "ensemble"} <= set(got[0])


def test_headline_exponents(report):
    h = report["headline"]
    loss = h["bap_loss"]
    assert loss["derived_exponent_t"] == -0.75                      # -beta at beta = 0.75
    assert abs(loss["fitted_slope_t"] - loss["derived_exponent_t"]) < 0.01
    co = h["bap_compute_optimal"]
    # alpha = 2, beta = 0.75: c = 1.5, N* ~ C^(1/3), t* ~ C^(2/3), L* ~ C^(-1/2)
    assert co["derived"] == pytest.approx({"N": 1 / 3, "t": 2 / 3, "L": -0.5})
    assert abs(co["fitted"]["L"] - co["derived"]["L"]) < 0.05
    w = h["bap_width"]
    assert abs(w["fitted_slope_early"] + 1) < 0.05
    assert w["derived_slope_late"] == -1.5 and w["fitted_slope_late"] < -1.2
    assert h["bap_ensemble"]["winner_late"] in ("ensemble", "wide")
    assert isinstance(h["bap_finite_P"]["theory_finite_P"], bool)
    tv = h["theory_vs_simulation_by_model"]["B"]
    assert tv["points"] > 0 and math.isfinite(tv["max_abs_deviation_sem"])


def test_ensemble_jobs_share_data(report):
    """The three ensemble jobs use the same training sets: the first student of the
    ensemble is the single model, so their losses at t = 0 coincide per seed."""
    d = json.loads(report["json"].read_text())["simulations"]
    single, ens = d["bap/ensemble/single"], d["bap/ensemble/ensemble"]
    assert single["seed"] == ens["seed"] == d["bap/ensemble/wide"]["seed"]
