"""Shared helpers of the benchmark scripts (run as ``python benchmarks/bench_*.py``)."""
from __future__ import annotations

import json
import statistics
import time


def median_time(fn, repeat):
    """Median wall time of ``repeat`` calls of ``fn`` (seconds)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def emit(out, json_path=None):
    """Print the figures as an aligned table; write them to ``json_path`` if given."""
    width = max(len(k) for k in out)
    for k, v in out.items():
        print(f"{k:<{width}}  {v:.4g}")
    if json_path:
        with open(json_path, "w") as fh:
            json.dump(out, fh, indent=2)
    return out
