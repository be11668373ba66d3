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
import subprocess
import sys
from pathlib import Path

from _bench import emit, median_time
from scaling_theory.numerics._exponent_checks import measure, power_law_sum
from scaling_theory.theory._asymptotics import asymptotic_exponents


def fresh(code, repeat):
    return median_time(lambda: subprocess.run([sys.executable, "-c", code], check=True), repeat)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    R = args.repeat
    cli = str(Path(sys.executable).with_name("scaling-theory"))
    out = {
        "engine_model_A_fresh_process_s": fresh(
            "from scaling_theory.theory._asymptotics import regime_records; regime_records('mrs', 'engine')", 1),
        "engine_model_B_fresh_process_s": fresh(
            "from scaling_theory.theory._asymptotics import regime_records; regime_records('bap', 'engine')", 1),
        "tabulated_exponents_query_s": median_time(lambda: asymptotic_exponents("bap"), R),
        "cli_exponents_bap_json_fresh_process_s": median_time(lambda: subprocess.run(
            [cli, "exponents", "bap", "--alpha", "2", "--beta", "1.5", "--json"], check=True,
            capture_output=True), R),
        "power_law_sum_kappa=1e-18_30_digits_s": median_time(
            lambda: power_law_sum("resolvent", 1.75, 1.5, "1e-18", dps=30), R),
        "power_law_sum_t=1e30_30_digits_s": median_time(
            lambda: power_law_sum("laplace", 3.25, 1.5, "1e30", rate=2, dps=30), R),
        "measure_model_A_alpha=1_20_digits_s": median_time(lambda: measure("mrs", 1, dps=20), 1),
        "measure_model_B_2_1.5_20_digits_s": median_time(lambda: measure("bap", 2, 1.5, dps=20), 1),
        "measure_model_B_2_1.5_30_digits_s": median_time(lambda: measure("bap", 2, 1.5, dps=30), 1),
    }
    return emit(out, args.json)


if __name__ == "__main__":
    main()
