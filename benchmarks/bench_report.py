"""Benchmarks of ``scaling-theory reproduce`` and its longest parts, against an older revision
side by side (issue 14, item 6).

Run: ``python benchmarks/bench_report.py [--baseline REV] [--repeat R] [--json out.json] [--only NAME]``

Every figure runs in a fresh Python process (imports and derivations included, as a user meets
them), once per repeat for this working tree and, with ``--baseline``, for the revision ``REV``
checked out into a temporary folder (``git worktree``; its ``scaling_theory``, ``theory/`` and
``numerics/`` are put first on ``PYTHONPATH``), alternating the two so that both see the same
machine load.  Reported: the median wall time of each, in seconds.

* ``reproduce``: the default report (``scaling-theory reproduce --no-progress``, a local
  cluster of one worker per core);
* ``frontier_tasks``: the 12 compute-optimal budgets of section (g), serially;
* ``exponent_table``: the 5 points of section (m)'s table at 30 digits, serially;
* ``optimal_ridge``: section (c)'s optimally tuned ridge on its 160 widths;
* ``mrs_50_digits_big_M``: model A at 50 digits (42 working) at M = T = 10^112, N = 10^8, ridgeless
  (the exponent table's model A points), 10 widths.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _bench import emit

ROOT = Path(__file__).resolve().parents[1]

#: The start of the snippets that time parts of the report (serially, one BLAS thread).
_REPORT = """
import time
from threadpoolctl import threadpool_limits
threadpool_limits(1)
from scaling_theory.report._common import ReportConfig
"""

#: name -> Python code run in a fresh process; it prints the seconds of its timed part.
SNIPPETS = {
    "reproduce": None,  # the command line, timed from outside
    "frontier_tasks": _REPORT + """
from scaling_theory.report.flow import _bap_frontier_tasks
t0 = time.perf_counter()
for _, fn, args in _bap_frontier_tasks(ReportConfig.default(None)):
    fn(*args)
print(time.perf_counter() - t0)
""",
    "exponent_table": _REPORT + """
from scaling_theory.report.asymptotics import _asymptotics_tasks
t0 = time.perf_counter()
for _, fn, args in _asymptotics_tasks(ReportConfig.default(None)):
    fn(*args)
print(time.perf_counter() - t0)
""",
    "optimal_ridge": _REPORT + """
from scaling_theory.report.ridge import _dense, _optimal_gamma
cfg = ReportConfig.default(None)
T = cfg.peak_T
Ns = _dense(max(5, T // 8), 4 * T, cfg.dense * 2)
t0 = time.perf_counter()
_optimal_gamma(cfg.model(T=T), Ns)
print(time.perf_counter() - t0)
""",
    "mrs_50_digits_big_M": """
import time
from scaling_theory.numerics import MRSModel, mrs_theory
big = 10 ** 112
mrs_theory(MRSModel(M=big, alpha="0.5", N=10 ** 8, T=big), dps=42)
t0 = time.perf_counter()
for i in range(10):
    mrs_theory(MRSModel(M=big, alpha="0.5", N=10 ** 8 + i, T=big), dps=42)
print(time.perf_counter() - t0)
""",
}


def _tree_env(pkg_root):
    env = dict(os.environ)
    if pkg_root is not None:
        env["PYTHONPATH"] = str(pkg_root) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _run(name, pkg_root, scratch):
    import time

    env = _tree_env(pkg_root)
    if SNIPPETS[name] is None:
        out = Path(tempfile.mkdtemp(dir=scratch))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "scaling_theory", "reproduce", "--out", str(out), "--no-progress"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=scratch)
        return time.perf_counter() - t0
    done = subprocess.run([sys.executable, "-c", SNIPPETS[name]], check=True, capture_output=True, text=True,
                          env=env, cwd=scratch)
    return float(done.stdout.split()[-1])


def _baseline_tree(rev, scratch):
    """``rev`` checked out under ``scratch``, laid out as the installed package (``scaling_theory``
    with ``theory`` and ``numerics`` inside); returns the folder to put on ``PYTHONPATH``."""
    wt = Path(scratch) / "worktree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force", str(wt), rev], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pkg = Path(scratch) / "baseline"
    shutil.copytree(wt / "scaling_theory", pkg / "scaling_theory")
    for sub in ("theory", "numerics"):
        (pkg / "scaling_theory" / sub).symlink_to(wt / sub, target_is_directory=True)
    return pkg, wt


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", help="a git revision to time side by side (e.g. 617eb67)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--only", action="append", choices=sorted(SNIPPETS))
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    names = args.only or list(SNIPPETS)
    out = {}
    with tempfile.TemporaryDirectory() as scratch:
        base = wt = None
        try:
            if args.baseline:
                base, wt = _baseline_tree(args.baseline, scratch)
            for name in names:
                now, before = [], []
                for _ in range(args.repeat):
                    if base is not None:
                        try:
                            before.append(_run(name, base, scratch))
                        except subprocess.CalledProcessError:     # not in that revision
                            pass
                    now.append(_run(name, None, scratch))
                out[f"{name}_s"] = statistics.median(now)
                if before:
                    out[f"{name}_baseline_s"] = statistics.median(before)
        finally:
            if wt is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(wt)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if args.baseline:
        out = {"baseline": args.baseline, **out}
        print(f"baseline: {args.baseline}")
        out_num = {k: v for k, v in out.items() if k != "baseline"}
        emit(out_num)
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
        return out
    return emit(out, args.json)


if __name__ == "__main__":
    main()
