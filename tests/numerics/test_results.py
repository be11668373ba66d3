"""The one result base: every theory and simulation result shows itself the same way."""
import math

import numpy as np
import pytest

from scaling_theory import (BAPModel, MRSModel, bap_theory, derive_bap, mrs_theory, mrs_theory_grid, simulate_bap,
                            simulate_mrs)
from scaling_theory.numerics._results import Result, latex_number


@pytest.fixture(scope="module")
def results():
    m = MRSModel(M=200, alpha=1.0, N=20, T=40, gamma=1e-3)
    b = BAPModel(M=200, alpha=1.5, beta=1.0, N=20, P=40)
    return {
        "mrs": mrs_theory(m), "mrs30": mrs_theory(m, dps=30),
        "grid": mrs_theory_grid(m, N=[10, 20, 40], T=[[40], [80]]),
        "bap": bap_theory(b, [0.0, 1.0, 10.0]),
        "sim_mrs": simulate_mrs(m, seeds=2, gammas=[0.0, 1e-3]),
        "sim_bap": simulate_bap(b, [0.0, 5.0], seeds=2),
    }


def test_every_result_derives_from_the_base(results):
    for r in results.values():
        assert isinstance(r, Result)


def test_markdown_names_the_class_the_method_and_the_precision(results):
    for key, r in results.items():
        md = r._repr_markdown_()
        assert md.startswith(f"**{type(r).__name__}**"), key
        assert ("30 digits" if key == "mrs30" else "double precision") in md.splitlines()[0], key
        assert "|" in md


def test_curves_and_grids_become_dataframes(results):
    pytest.importorskip("pandas")
    df = results["bap"].to_dataframe()
    assert list(df["t"]) == [0.0, 1.0, 10.0]
    assert np.allclose(df["test_loss"], results["bap"].test_loss)
    assert df.attrs["model"]["N"] == 20
    g = results["grid"].to_dataframe()
    assert len(g) == 6 and set(g["N"]) == {10, 20, 40} and set(g["T"]) == {40, 80}
    s = results["sim_mrs"].to_dataframe()
    assert list(s["gamma"]) == [0.0, 1e-3]
    one = results["mrs"].to_dataframe()
    assert len(one) == 1 and one["test_loss"][0] == pytest.approx(float(results["mrs"].test_loss))


def test_latex_numbers():
    assert latex_number(1.5e-5) == r"1.5 \times 10^{-5}"
    assert latex_number(math.inf) == r"\infty" and latex_number(-math.inf) == r"-\infty"
    assert latex_number(1e300) == r"1 \times 10^{300}"
    assert latex_number(12) == "12" and latex_number(0.5) == "0.5"


def test_result_latex_has_no_raw_numbers(results):
    for r in results.values():
        s = r.latex()
        assert "e-" not in s.replace(r"\mathrm", "") and "inf" not in s.replace(r"\infty", "")


def test_derivation_shows_its_results_labelled():
    md = derive_bap()._repr_markdown_()
    assert md.startswith("**Model B")
    assert "- `ds_dkappa`: $s'(\\kappa) = " in md
    assert len(md) < 6000           # a view, not the 12 kB document


def test_info_has_the_same_keys_for_every_result(results):
    keys = {"model", "method", "precision", "converged", "residual", "accuracy", "seeds"}
    for key, r in results.items():
        i = r.info()
        assert set(i) == keys, key
        assert isinstance(i["model"], dict) and i["method"]
    assert results["mrs"].info()["converged"] is True and results["mrs30"].info()["precision"] == 30
    assert len(results["bap"].info()["accuracy"]) == 3
    assert results["sim_bap"].info()["accuracy"] == "sem" and results["sim_bap"].info()["seeds"] == 2
