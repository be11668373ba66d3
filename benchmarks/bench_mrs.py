"""Benchmarks for model A (issue 2, item 8).

Run: ``python benchmarks/bench_mrs.py [--json out.json] [--repeat R]``

Measures (median wall time over repeats):
1. one double-precision theory point at M = 10^3 and at M = 10^9;
2. a 10^4-point (N, T) grid, vectorised double precision;
3. three 50-digit mpmath points (and, side by side, the full-bracket solve they replaced);
4. one simulation instance at N = T = 2000, M = 4000 (linear, alpha = 1),
   next to the bare LAPACK/BLAS calls it needs: the GEMM building Phi
   (T x M times M x N) and the thin SVD of the T x N matrix Phi;
5. the nonlinear theory (relu) at the README point M = 1000, N = 2000, T = 4000: the default
   (draws of U until the standard error is below 0.2%) and the former fixed 16 draws, serially.
"""
from __future__ import annotations

import argparse

import numpy as np
import scipy.linalg

from _bench import emit, median_time
from scaling_theory.numerics import MRSModel, mrs_theory, mrs_theory_grid
from scaling_theory.numerics._simulate_ridge import simulate_mrs_instance


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the figures to this JSON file")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-simulation", action="store_true")
    args = ap.parse_args(argv)
    R = args.repeat
    out = {}

    # warm-up (imports, generated code, caches)
    mrs_theory(MRSModel(M=1000, alpha=1, N=100, T=400, gamma=1e-3))
    mrs_theory(MRSModel(M=1000, alpha=1, N=100, T=400, gamma=1e-3), dps=50)

    for M in (10**3, 10**9):
        m = MRSModel(M=M, alpha=1, N=100, T=400, gamma=1e-3)
        out[f"point_double_M=1e{int(np.log10(M))}_s"] = median_time(lambda: mrs_theory(m), R)

    m = MRSModel(M=10**6, alpha=1, N=1, T=1, gamma=1e-3, noise_var=1e-3)
    N = np.round(np.logspace(1, 5, 100))
    T = np.round(np.logspace(1, 5, 100))
    out["grid_1e4_points_s"] = median_time(lambda: mrs_theory_grid(m, N=N[:, None], T=T[None, :]), R)

    m50 = MRSModel(M=1000, alpha="1", N=100, T=400, gamma="0.001", noise_var="0.001")
    m50b = MRSModel(M=10**9, alpha="1", N=100, T=400, gamma="0.001")
    m50c = MRSModel(M=1000, alpha=1, N=100, T=400, gamma=0.01)
    import scaling_theory.numerics._ridge as ridge

    polish = ridge._double_log_kappa
    for tag, start in (("", polish), ("_full_bracket", lambda model: None)):
        # the default (Newton from the double root) and, side by side, the bracketed solve from
        # scratch that it replaced
        ridge._double_log_kappa = start
        try:
            out[f"point_mpmath_50_digits{tag}_s"] = median_time(lambda: mrs_theory(m50, dps=50), R)
            out[f"point_mpmath_50_digits_M=1e9{tag}_s"] = median_time(lambda: mrs_theory(m50b, dps=50), R)
            out[f"point_mpmath_50_digits_gamma=0.01{tag}_s"] = median_time(lambda: mrs_theory(m50c, dps=50), R)
        finally:
            ridge._double_log_kappa = polish

    from scaling_theory.numerics import mrs_nonlinear_theory

    mn = MRSModel(M=1000, alpha=1, N=2000, T=4000, gamma=1e-4, activation="relu")
    res = {}
    out["nonlinear_point_N=2000_default_s"] = median_time(lambda: res.setdefault("a", mrs_nonlinear_theory(mn, workers=0)), 1)
    out["nonlinear_point_N=2000_draws_used"] = float(res["a"].u_draws)
    if not args.skip_simulation:
        out["nonlinear_point_N=2000_16_draws_s"] = median_time(lambda: mrs_nonlinear_theory(mn, u_draws=16, workers=0), 1)

    if not args.skip_simulation:
        Ns = Ts = 2000
        M = 4000
        model = MRSModel(M=M, alpha=1, N=Ns, T=Ts)
        rs = max(1, R // 2)
        inst = median_time(lambda: simulate_mrs_instance(model, np.random.default_rng(0), gammas=[0.0, 1e-3, 1e-2]), rs)
        rng = np.random.default_rng(1)
        lam = model.eigenvalues()
        X = rng.standard_normal((Ts, M)) * np.sqrt(lam)
        U = rng.standard_normal((Ns, M)) / np.sqrt(M)
        gemm = median_time(lambda: X @ U.T, rs)
        Phi = X @ U.T
        svd = median_time(lambda: scipy.linalg.svd(Phi, full_matrices=False, lapack_driver="gesdd"), rs)
        draw = median_time(lambda: (rng.standard_normal((Ts, M)), rng.standard_normal((Ns, M))), rs)
        flops = 2.0 * Ts * M * Ns
        out.update({
            "simulation_instance_N=T=2000_M=4000_s": inst,
            "gemm_Phi_s": gemm,
            "gemm_GFLOPS": flops / gemm / 1e9,
            "svd_Phi_gesdd_s": svd,
            "draw_gaussians_s": draw,
            "instance_over_gemm_plus_svd": inst / (gemm + svd),
            "instance_over_gemm_svd_draw": inst / (gemm + svd + draw),
        })

    return emit(out, args.json)


if __name__ == "__main__":
    main()
