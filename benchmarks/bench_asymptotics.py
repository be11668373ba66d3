"""Benchmarks for the asymptotics engine (issue 5).

Run: ``python benchmarks/bench_asymptotics.py [--json out.json] [--repeat R]``

Median wall times of: the engine run for each model in a fresh process
(``regime_records(model, "engine")``: Mellin expansions, inversion, loss
expansion, ordering conditions), a query of the tabulated results
(``asymptotic_exponents``), the command ``scaling-theory exponents bap
--alpha 2 --beta 1.5 --json`` (a fresh process, imports included), one
30-digit ``M = inf`` power-law sum at ``kappa = 10^-18`` and at ``t = 10^30``
(cost independent of the size), and the full measurement (``measure``) of
model A at ``alpha = 1`` and of model B at ``(alpha, beta) = (2, 1.5)`` with
sizes ``10^4 .. 10^12`` at 20 and 30 digits.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from numerics._asymptotics import measure, power_law_sum
from theory._asymptotics import asymptotic_exponents


def timeit(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fresh(code, repeat):
    return timeit(lambda: subprocess.run([sys.executable, "-c", code], check=True), repeat)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    R = args.repeat
    cli = str(Path(sys.executable).with_name("scaling-theory"))
    out = {
        "engine_model_A_fresh_process_s": fresh(
            "from theory._asymptotics import regime_records; regime_records('mrs', 'engine')", 1),
        "engine_model_B_fresh_process_s": fresh(
            "from theory._asymptotics import regime_records; regime_records('bap', 'engine')", 1),
        "tabulated_exponents_query_s": timeit(lambda: asymptotic_exponents("bap"), R),
        "cli_exponents_bap_json_fresh_process_s": timeit(lambda: subprocess.run(
            [cli, "exponents", "bap", "--alpha", "2", "--beta", "1.5", "--json"], check=True,
            capture_output=True), R),
        "power_law_sum_kappa=1e-18_30_digits_s": timeit(
            lambda: power_law_sum("resolvent", 1.75, 1.5, "1e-18", dps=30), R),
        "power_law_sum_t=1e30_30_digits_s": timeit(
            lambda: power_law_sum("laplace", 3.25, 1.5, "1e30", rate=2, dps=30), R),
        "measure_model_A_alpha=1_20_digits_s": timeit(lambda: measure("mrs", 1, dps=20), 1),
        "measure_model_B_2_1.5_20_digits_s": timeit(lambda: measure("bap", 2, 1.5, dps=20), 1),
        "measure_model_B_2_1.5_30_digits_s": timeit(lambda: measure("bap", 2, 1.5, dps=30), 1),
    }
    width = max(len(k) for k in out)
    for k, v in out.items():
        print(f"{k:<{width}}  {v:.4g}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return out


if __name__ == "__main__":
    main()
