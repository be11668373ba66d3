"""Benchmarks for model B (issue 3).

Run: ``python benchmarks/bench_bap.py [--json out.json] [--repeat R]``

Median wall times of: a 100-time loss curve at finite N and P (target: under
1 s), the same at P = inf (one-point route), a gradient-descent curve, an online-SGD curve, an
ensemble curve, the finite-N-and-P curve at M = 10^7 and M = inf (cost
independent of M), one 20-digit and one 30-digit point at finite N and P (the latter also with the
old guard digits, side by side), a 20-digit P = inf curve, and one gradient-flow simulation
instance at N = 1000, P = 2000, M = 2000 with 100 times.

Cost against size (issue 14): a 40-time two-point curve at M = inf, P = 10 N, N = 10^3 .. 10^15
(times scaled with N^alpha), by the routes chosen by cost (``new``), with the old long heads
forced (``heads``, up to N = 10^5: beyond, minutes, then refused) and, at N = 10^3, with the
size-independent route (fixed head + Euler--Maclaurin on the ray) forced (``fixed_head_ray``).
"""
from __future__ import annotations

import argparse

import numpy as np

from _bench import emit, median_time
from scaling_theory.numerics import BAPModel, bap_theory
from scaling_theory.numerics._simulate_flow import simulate_bap_instance


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    R = args.repeat
    t = np.logspace(0, 5, 100)
    base = dict(M=2000, alpha=1.5, beta=1.0)
    bap_theory(BAPModel(N=200, P=500, **base), t[:3])      # warm-up
    out = {
        "curve_100_times_finite_N_P_M=2000_s": median_time(lambda: bap_theory(BAPModel(N=200, P=500, **base), t), R),
        "curve_100_times_finite_N_P_M=1000_s": median_time(
            lambda: bap_theory(BAPModel(M=1000, alpha=1.5, beta=1.0, N=200, P=500), t), R),
        "curve_100_times_P_inf_s": median_time(lambda: bap_theory(BAPModel(N=200, P="inf", **base), t), R),
        "curve_100_times_gradient_descent_s": median_time(
            lambda: bap_theory(BAPModel(N=200, P=500, eta=0.5, **base), np.round(t) * 0.5), R),
        "curve_100_times_online_sgd_B=8_s": median_time(
            lambda: bap_theory(BAPModel(N=200, P="inf", eta=0.5, batch=8, **base), np.round(t) * 0.5), R),
        "curve_100_times_ensemble_4_s": median_time(lambda: bap_theory(BAPModel(N=200, P=500, ensemble=4, **base), t), R),
        "curve_100_times_finite_N_P_M=inf_s": median_time(
            lambda: bap_theory(BAPModel(M="inf", alpha=1.5, beta=1.0, N=200, P=500), t), R),
        "curve_100_times_finite_N_P_M=10^7_s": median_time(
            lambda: bap_theory(BAPModel(M=10**7, alpha=1.5, beta=1.0, N=200, P=500), t), R),
        "point_finite_N_P_M=inf_20_digits_s": median_time(
            lambda: bap_theory(BAPModel(M="inf", alpha=1.5, beta=1.0, N=200, P=500), [100.0], dps=20),
            max(1, R // 2)),
        **thirty_digits(max(1, R // 2)),
        "curve_10_times_P_inf_20_digits_s": median_time(
            lambda: bap_theory(BAPModel(M=500, alpha=1.5, beta=1.0, N=100, P="inf"), t[::10], dps=20), max(1, R // 2)),
    }
    out.update(size_scan(max(1, R // 2)))
    m = BAPModel(M=2000, alpha=1.5, beta=1.0, N=1000, P=2000)
    out["simulation_instance_N=1000_P=2000_M=2000_100_times_s"] = median_time(
        lambda: simulate_bap_instance(m, np.random.default_rng(0), t), max(1, R // 2))
    return emit(out, args.json)


def thirty_digits(R):
    """One 30-digit point at finite N and P (issue 14: at most 2 s), with the quadrature's
    guard digits from its cancellation (~0.35 per node) and, side by side, one per node."""
    import scaling_theory.numerics._flow as flow

    m = BAPModel(M="inf", alpha=1.5, beta=1.0, N=200, P=500)
    out = {"point_finite_N_P_M=inf_30_digits_s": median_time(lambda: bap_theory(m, [100.0], dps=30), R)}
    keep = flow._talbot_guard
    flow._talbot_guard = lambda nodes, dims: nodes
    try:
        out["point_finite_N_P_M=inf_30_digits_guard_per_node_s"] = median_time(
            lambda: bap_theory(m, [100.0], dps=30), R)
    finally:
        flow._talbot_guard = keep
    return out


def size_scan(R):
    """Seconds of a 40-time two-point curve at N = 10^3 .. 10^15 (P = 10 N, M = inf)."""
    import scaling_theory.numerics._flow_sums as fs
    out = {}
    for e in (3, 5, 9, 12, 15):
        N = 10**e
        m = BAPModel(M="inf", alpha=1.5, beta=1.2, N=N, P=10 * N)
        t = np.logspace(-1, 9, 40) * N**1.5 / 1e3
        out[f"curve_40_times_N=1e{e}_P=10N_new_s"] = median_time(lambda: bap_theory(m, t), R)
        if e == 3:       # the size-independent route forced at the smallest size: its cost against N
            keep = fs._HEAD_BUDGET
            fs._HEAD_BUDGET = 0
            try:
                out[f"curve_40_times_N=1e{e}_P=10N_fixed_head_ray_s"] = median_time(lambda: bap_theory(m, t), R)
            finally:
                fs._HEAD_BUDGET = keep
        if e <= 5:
            keep = fs._HEAD_BUDGET
            fs._HEAD_BUDGET = 10**15
            try:
                out[f"curve_40_times_N=1e{e}_P=10N_heads_s"] = median_time(lambda: bap_theory(m, t), 1)
            finally:
                fs._HEAD_BUDGET = keep
    return out


if __name__ == "__main__":
    main()
