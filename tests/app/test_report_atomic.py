"""The report is published atomically: a run that dies while writing never leaves a report
that looks complete, and a failed run leaves an older complete report as it was."""
from __future__ import annotations

import os

import pytest

from scaling_theory import report as _report
from scaling_theory.report import SECTIONS, report_is_complete, reproduce

ONE_SECTION = [s for s in SECTIONS if s.name == "bap_width"]     # theory only: seconds


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def _report_files(folder):
    """The published report: every file but the store of simulated instances, which a run
    updates as each instance finishes (that is what makes it resumable)."""
    return [n for n in _names(folder) if not n.startswith(_report.STORE_FILE)]


def test_a_run_killed_while_publishing_does_not_look_complete(tmp_path, monkeypatch):
    first = reproduce(tmp_path, quick=True, progress=False, sections=ONE_SECTION)
    assert report_is_complete(tmp_path) and first["summary"].parent == tmp_path
    old_summary = (tmp_path / "summary.md").read_text()
    calls = []
    real = os.replace

    def dies_after_two(src, dst):
        if len(calls) == 2:
            raise KeyboardInterrupt          # the run is killed half-way through the moves
        calls.append(dst)
        real(src, dst)

    monkeypatch.setattr(_report.os, "replace", dies_after_two)
    with pytest.raises(KeyboardInterrupt):
        reproduce(tmp_path, quick=True, progress=False, sections=ONE_SECTION)
    # some new files are in place, the old summary is gone: the report reads as incomplete
    assert len(calls) == 2 and old_summary
    assert not report_is_complete(tmp_path)
    assert not any(n.startswith(".partial-") for n in _names(tmp_path))     # staging removed
    monkeypatch.setattr(_report.os, "replace", real)
    again = reproduce(tmp_path, quick=True, progress=False, sections=ONE_SECTION)
    assert report_is_complete(tmp_path) and again["json"].is_file()


def test_a_run_that_fails_leaves_the_old_report_untouched(tmp_path, monkeypatch):
    reproduce(tmp_path, quick=True, progress=False, sections=ONE_SECTION)
    before = {n: (tmp_path / n).read_bytes() for n in _report_files(tmp_path)}

    def broken(*args, **kwargs):
        raise RuntimeError("a section failed")

    bad = [_report.Section("broken", "(x) broken", lambda cfg: [], broken)]
    with pytest.raises(RuntimeError):
        reproduce(tmp_path, quick=True, progress=False, sections=ONE_SECTION + bad)
    assert {n: (tmp_path / n).read_bytes() for n in _report_files(tmp_path)} == before
    assert report_is_complete(tmp_path)


@pytest.mark.parametrize("out", ["", "   "])
def test_empty_out_is_refused(out):
    with pytest.raises(ValueError, match="out must name a folder"):
        _report.prepare_out_dir(out)


def test_unwritable_out_is_refused(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    for bad in (f, f / "sub", "/proc/scaling-theory-report"):
        with pytest.raises(ValueError, match="out"):
            _report.prepare_out_dir(bad)


SIMULATING = [s for s in SECTIONS if s.name in ("scaling_N", "bap_finite_P")]
#: ... and one whose long computations are tasks kept in the store (read back inside the workers)
WITH_TASKS = SIMULATING + [s for s in SECTIONS if s.name == "bap_compute_optimal"]


def test_reproduce_resumes_from_its_store_and_does_not_depend_on_workers(tmp_path, monkeypatch):
    """Every simulated instance is in ``simulations.sqlite`` as soon as it finishes; ``resume``
    runs none of them again, and the numbers are the same serially and on two workers (where
    the sections' builds run in the workers too: the frontier's figure is drawn there)."""
    import json
    import sqlite3

    from scaling_theory.numerics import _seeds

    serial = reproduce(tmp_path / "a", quick=True, progress=False, sections=WITH_TASKS, workers=0)
    con = sqlite3.connect(tmp_path / "a" / _report.STORE_FILE)
    n_instances = con.execute("SELECT COUNT(*) FROM instances").fetchone()[0]
    con.close()
    sims = json.loads(serial["json"].read_text())["simulations"]
    assert n_instances == sum(v["seeds"] for v in sims.values()) > 0

    def not_again(*args):
        raise AssertionError("an instance in the store was simulated again")

    monkeypatch.setattr(_seeds, "_seeded", not_again)
    resumed = reproduce(tmp_path / "a", quick=True, progress=False, sections=WITH_TASKS, workers=0, resume=True)
    monkeypatch.undo()
    two = reproduce(tmp_path / "b", quick=True, progress=False, sections=WITH_TASKS, workers=2)
    assert (tmp_path / "b" / "bap_compute_optimal.png").is_file()      # drawn in a worker

    def numbers(r):
        d = json.loads(r["json"].read_text())
        return d["comparisons"], {k: {kk: vv for kk, vv in v.items() if kk != "seconds"}
                                  for k, v in d["simulations"].items()}, d["headline"]["bap_compute_optimal"]

    assert numbers(resumed) == numbers(serial) == numbers(two)
