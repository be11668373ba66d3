"""Benchmarks of the sweep engine (issue 13).

Run: ``python benchmarks/bench_sweep.py [--json out.json] [--workers K] [--reproduce]``

* a model A simulation sweep (M = 2000, N = 200..800, T = 1600, 16 seeds: 64 tasks of
  20-200 ms) serially and on K local workers: wall times and the speed-up;
* the per-task overhead: 200 tasks that do nothing, serially and on K workers (the
  cluster's start-up reported apart);
* the time to write one finished task to the store;
* with ``--reproduce``: ``scaling-theory reproduce`` (the default report) with
  ``--workers 0`` and with ``--workers K``.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench import emit
from scaling_theory.numerics._parallel import Executor, default_workers
from scaling_theory.sweeps import Store, SweepSpec, sweep

SPEC = {"model": "mrs", "kind": "simulate", "params": {"M": 2000, "alpha": 1.0, "noise_var": 0.01},
        "grid": {"N": [200, 400, 600, 800], "T": [1600]}, "gamma": [0.0, 1e-3], "seeds": 16}


def _nothing():
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json")
    ap.add_argument("--workers", type=int, default=default_workers())
    ap.add_argument("--reproduce", action="store_true", help="also time the default report")
    args = ap.parse_args(argv)
    K = args.workers
    out = {"workers": K}
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        sweep(SPEC, Path(d) / "serial", workers=0, progress=False)
        out["simulation_sweep_64_tasks_serial_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        run = sweep(SPEC, Path(d) / "parallel", workers=K, progress=False)
        out[f"simulation_sweep_64_tasks_{K}_workers_s"] = time.perf_counter() - t0
        assert run.ran == 64
        out["speed_up"] = out["simulation_sweep_64_tasks_serial_s"] / out[f"simulation_sweep_64_tasks_{K}_workers_s"]

        n = 200
        with Executor(0) as ex:
            t0 = time.perf_counter()
            for _ in ex.map(_nothing, [()] * n):
                pass
            out["overhead_per_task_serial_ms"] = 1e3 * (time.perf_counter() - t0) / n
        with Executor(K) as ex:
            t0 = time.perf_counter()
            ex.client.wait_for_workers(K)
            out["local_cluster_start_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            for _ in ex.map(_nothing, [()] * n):
                pass
            out[f"overhead_per_task_{K}_workers_ms"] = 1e3 * (time.perf_counter() - t0) / n

        spec = SweepSpec.from_dict(SPEC)
        with Store(Path(d) / "write", spec) as st:
            res = {"test": [0.1, 0.2], "train": [0.1, 0.2], "method": "exact", "extra": {}}
            t0 = time.perf_counter()
            for i, (tid, p, inst) in enumerate(spec.tasks()):
                st.write(spec, tid, p, inst, res, 0.0)
            out["store_write_per_task_ms"] = 1e3 * (time.perf_counter() - t0) / len(spec.tasks())

        if args.reproduce:
            for w in (0, K):
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "scaling_theory", "reproduce", "--out", str(Path(d) / f"r{w}"),
                                "--workers", str(w), "--no-progress"], check=True, stdout=subprocess.DEVNULL)
                out[f"reproduce_workers_{w}_s"] = time.perf_counter() - t0
    return emit(out, args.json)


if __name__ == "__main__":
    main()
