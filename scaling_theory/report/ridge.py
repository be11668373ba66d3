"""Model A's sections: (a)-(e) scaling with N and T, the interpolation peak, the plateau, the duality."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from scaling_theory.numerics._models import MRSModel
from scaling_theory.numerics._ridge import mrs_theory_grid

from ._common import (NEAR_PEAK, SimJob, SectionResult, _compare, _theory_at, _errorbar, _savefig, _slope,
                      _dense)


def _derived():
    """The derived exponents and prefactor (sympy), as functions of the model."""
    from scaling_theory.theory._ridge import MRS_SYMBOLS, derive_mrs

    d = derive_mrs()
    S = MRS_SYMBOLS

    def subs(expr, m):
        return float(expr.subs({S["alpha"]: m.alpha, S["M"]: m.M, S["sigma_w2"]: m.sigma_w2,
                                S["lambda_plus"]: m.lambda_plus}))

    return d, subs


def _scan_points(cfg, fixed):
    return [p for p in cfg.scan_points if p < 0.7 * fixed]


def _scaling_plan(axis):
    def plan(cfg):
        jobs = []
        for fixed in cfg.scan_sizes:
            for p in _scan_points(cfg, fixed):
                N, T = (p, fixed) if axis == "N" else (fixed, p)
                jobs.append(SimJob(f"mrs/scaling/N={N},T={T}", cfg.model(N=N, T=T)))
        return jobs
    return plan


def _scaling_build(axis):
    other = "T" if axis == "N" else "N"

    def build(cfg, sims, out):
        d, subs = _derived()
        base = cfg.model()
        expo = subs(d[f"exponent_{axis}"], base)
        pref = subs(d["prefactor"], base)
        # fitted slope in the asymptotic regime (axis << other << M), theory only
        big = MRSModel(M=10**9, alpha=cfg.alpha, N=1, T=1)
        xs_big = np.round(np.logspace(2, 4, 9))
        L_big = mrs_theory_grid(big, **{axis: xs_big, other: 10**8}).test_loss
        slope_asym = _slope(xs_big, L_big)
        fig, ax = plt.subplots(figsize=(6.4, 4.6))
        curves, rows, local = {}, [], {}
        for i, fixed in enumerate(cfg.scan_sizes):
            color = f"C{i}"
            xs = _dense(10, 0.7 * fixed, cfg.dense)
            g = mrs_theory_grid(base, **{axis: xs, other: fixed})
            curves[f"{other}={fixed}"] = {axis: xs, "test_loss": g.test_loss, "train_loss": g.train_loss}
            ax.loglog(xs, g.test_loss, color=color,
                      label=f"theory, ${other} = {fixed}$ (to ${axis} = 0.7\\,{other}$; the peak is at ${axis} = {other}$)")
            sel = xs <= 0.1 * fixed
            if sel.sum() >= 3:
                local[f"{other}={fixed}"] = _slope(xs[sel], g.test_loss[sel])
            pts = []
            for p in _scan_points(cfg, fixed):
                N, T = (p, fixed) if axis == "N" else (fixed, p)
                sim = sims[f"mrs/scaling/N={N},T={T}"]
                pts.append((p, sim.test_loss[0], sim.test_loss_sem[0]))
                rows += _compare(f"scaling_{axis}", sim, _theory_at(sim))
            if pts:
                p, y, s = map(np.array, zip(*pts))
                _errorbar(ax, p, y, s, color=color, fmt="o",
                          label=f"simulation ({cfg.seeds} seeds)" if i == 0 else None)
        xs_all = _dense(10, 0.7 * max(cfg.scan_sizes), cfg.dense)
        ax.loglog(xs_all, pref * xs_all ** expo, "k--", lw=1,
                  label=rf"derived asymptote $A\,{axis}^{{{expo:g}}}$")
        # the curve whose slope is quoted: deep in the asymptotic regime, at its own sizes
        scale = big.M / base.M                 # L ~ A X^-alpha with A ~ 1/M: drawn at this M's scale
        ax.loglog(xs_big, L_big * scale, "o", ms=3, mfc="none", mec="0.35",
                  label=f"theory at $M = 10^9$, ${other} = 10^8$, x $10^9/M$ (slope fitted on these)")
        ax.set_xlabel(f"${axis}$" + (" (features)" if axis == "N" else " (samples)"))
        ax.set_ylabel("test loss $\\langle L\\rangle$")
        ax.set_title(f"Model A: test loss vs ${axis}$ ($M = {base.M}$, $\\alpha = {cfg.alpha:g}$, $\\gamma = 0$)")
        ax.text(0.03, 0.04, f"derived exponent: {expo:g}\nfitted slope (open circles, ${axis} \\ll {other} \\ll M$): "
                f"{slope_asym:.4f}", transform=ax.transAxes, fontsize=9, va="bottom",
                bbox=dict(boxstyle="round", fc="white", alpha=0.8))
        ax.legend(fontsize=8)
        fig_path = _savefig(fig, out / f"mrs_scaling_{axis}.png")
        headline = {"derived_exponent": expo, "fitted_slope_asymptotic": slope_asym,
                    "fitted_slope_plotted": local}
        loc = ", ".join(f"{k}: {v:.3f}" for k, v in local.items())
        md = (f"Test loss against {axis} at fixed {other} (M = {base.M}, alpha = {cfg.alpha:g}, ridgeless). "
              f"Derived exponent `exponent_{axis}` = {expo:g}; slope fitted on the theory for "
              f"{axis} in [1e2, 1e4], {other} = 1e8, M = 1e9: **{slope_asym:.4f}** "
              f"(difference {slope_asym - expo:+.1e}). Local slopes of the plotted finite-M curves "
              f"({axis} <= {other}/10), which include finite-size bending: {loc or 'n/a'}.")
        data = {"derived_exponent": expo, "prefactor": pref, "fitted_slope_asymptotic": slope_asym,
                "fitted_slope_plotted": local, "theory": curves}
        return SectionResult(fig_path, data, md, headline, rows)

    return build


def _duality_build(cfg, sims, out):
    base = cfg.model()
    xs = _dense(10, min(3 * max(cfg.scan_sizes), 0.95 * base.M), cfg.dense // 2)  # below M: L > 0
    Ng, Tg = np.meshgrid(xs, xs, indexing="ij")
    off = Ng != Tg
    a = mrs_theory_grid(base, N=Ng[off], T=Tg[off]).test_loss
    b = mrs_theory_grid(base, N=Tg[off], T=Ng[off]).test_loss
    theory_dev = float(np.max(np.abs(a / b - 1)))
    fig, ax = plt.subplots(figsize=(5.6, 5))
    pairs = []
    for fixed in cfg.scan_sizes:
        for p in _scan_points(cfg, fixed):
            s1, s2 = sims[f"mrs/scaling/N={p},T={fixed}"], sims[f"mrs/scaling/N={fixed},T={p}"]
            th = float(_theory_at(s1)[0])
            pairs.append({"N": p, "T": fixed, "theory": th,
                          "sim_NT": float(s1.test_loss[0]), "sem_NT": float(s1.test_loss_sem[0]),
                          "sim_TN": float(s2.test_loss[0]), "sem_TN": float(s2.test_loss_sem[0])})
    if pairs:
        th = np.array([q["theory"] for q in pairs])
        _errorbar(ax, th * 0.97, [q["sim_NT"] for q in pairs], [q["sem_NT"] for q in pairs],
                  fmt="o", color="C0", label="simulation $\\hat L(N, T)$, $N < T$ (drawn at 0.97 x theory)")
        _errorbar(ax, th * 1.03, [q["sim_TN"] for q in pairs], [q["sem_TN"] for q in pairs],
                  fmt="s", color="C3", label="simulation $\\hat L(T, N)$ (drawn at 1.03 x theory)")
        lim = np.array([th.min() / 2, th.max() * 2])
        ax.loglog(lim, lim, "k-", lw=1, label="theory: $L(N, T) = L(T, N)$")
    ax.set_xlabel("theory $\\langle L\\rangle(N, T)$")
    ax.set_ylabel("simulated test loss $\\hat L$")
    ax.set_title(f"Model A: $N \\leftrightarrow T$ duality ($M = {base.M}$, $\\alpha = {cfg.alpha:g}$, $\\gamma = 0$)")
    ax.text(0.03, 0.9, f"theory: max |L(N,T)/L(T,N) - 1| = {theory_dev:.1e}\n"
            f"on {int(off.sum())} grid points", transform=ax.transAxes, fontsize=9, va="top")
    ax.legend(fontsize=8, loc="lower right")
    fig_path = _savefig(fig, out / "mrs_duality.png")
    sim_z = [abs(q["sim_NT"] - q["sim_TN"]) / math.hypot(q["sem_NT"], q["sem_TN"]) for q in pairs]
    md = (f"Ridgeless duality L(N, T) = L(T, N): the theory satisfies it to "
          f"**{theory_dev:.1e}** (max relative difference over {int(off.sum())} points, N, T in "
          f"[10, {int(xs.max())}], M = {base.M}); the simulated pairs differ by at most "
          f"{max(sim_z, default=float('nan')):.2f} combined standard errors.")
    head = {"theory_max_rel_diff": theory_dev, "sim_max_diff_sem": max(sim_z, default=float("nan"))}
    return SectionResult(fig_path, {"theory_max_rel_diff": theory_dev, "pairs": pairs}, md, head, [])


def _gamma_grid():
    return np.concatenate([[0.0], np.logspace(-7, 1, 33)])


def _optimal_gamma(model, Ns):
    """The optimally tuned ridge at each ``N`` and its loss: the lowest of ``gamma = 0`` and a
    grid of ``log gamma`` (4 per decade), refined by the vertex of the parabola in
    ``(log gamma, log L)`` through the lowest grid point and its neighbours (kept where lower)."""
    gg = _gamma_grid()
    Ns = np.asarray(Ns, float)
    g = mrs_theory_grid(model, N=Ns[:, None], gamma=gg[None, :])
    loss = np.where(np.isfinite(g.test_loss), g.test_loss, np.inf)
    k = np.argmin(loss, axis=1)
    rows = np.arange(len(k))
    best_g, best_l = gg[k], loss[rows, k]
    inner = np.flatnonzero((k >= 2) & (k <= gg.size - 2))          # both neighbours positive
    if inner.size:
        kk = k[inner]
        x = np.log(np.stack([gg[kk - 1], gg[kk], gg[kk + 1]]))
        y = np.log(np.stack([loss[inner, kk - 1], loss[inner, kk], loss[inner, kk + 1]]))
        h = x[1] - x[0]                                             # equal steps in log gamma
        curv = y[0] - 2 * y[1] + y[2]
        ok = np.isfinite(curv) & (curv > 0)
        vertex = x[1] + np.where(ok, h * (y[0] - y[2]) / (2 * np.where(ok, curv, 1.0)), 0.0)
        gv = np.exp(np.clip(vertex, x[0], x[2]))
        lv = mrs_theory_grid(model, N=Ns[inner], gamma=gv).test_loss
        better = ok & np.isfinite(lv) & (lv < best_l[inner])
        best_g[inner[better]], best_l[inner[better]] = gv[better], lv[better]
    return best_g, best_l


def _peak_plan(cfg):
    m = cfg.model(T=cfg.peak_T)
    gopt, _ = _optimal_gamma(m, cfg.peak_N)
    return [SimJob(f"mrs/peak/N={N},T={cfg.peak_T}", m.replace(N=N),
                   (0.0, *cfg.peak_gammas, float(go)))
            for N, go in zip(cfg.peak_N, gopt)]


def _peak_build(cfg, sims, out):
    T = cfg.peak_T
    m = cfg.model(T=T)
    Ns = _dense(max(5, T // 8), 4 * T, cfg.dense * 2)
    Ns = np.unique(np.concatenate([Ns, [T - 1, T + 1]]))
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    curves = {}
    gammas = (0.0, *cfg.peak_gammas)
    for i, gam in enumerate(gammas):
        y = mrs_theory_grid(m, N=Ns, gamma=gam).test_loss
        curves[f"gamma={gam:g}"] = {"N": Ns, "test_loss": y}
        ax.loglog(Ns, np.where(np.isfinite(y), y, np.nan), color=f"C{i}", zorder=3,
                  label=f"theory, $\\gamma = {gam:g}$")
    gopt, lopt = _optimal_gamma(m, Ns)
    curves["optimal"] = {"N": Ns, "test_loss": lopt, "gamma": gopt}
    # under the fixed ridges (gamma = 1e-3 nearly coincides with it past the peak): wide and pale
    ax.loglog(Ns, lopt, color="0.55", lw=4.5, alpha=0.45, zorder=2, solid_capstyle="butt",
              label="theory, optimally tuned $\\gamma$")
    ax.axvline(T, color="grey", lw=0.8, ls=":", label=f"$N = T = {T}$")
    rows = []
    sim_pts = {g: [] for g in range(len(gammas) + 1)}
    for N in cfg.peak_N:
        sim = sims[f"mrs/peak/N={N},T={T}"]
        rows += _compare("peak", sim, _theory_at(sim))
        for j in range(len(gammas) + 1):
            sim_pts[j].append((N, sim.test_loss[j], sim.test_loss_sem[j]))
    for j, pts in sim_pts.items():
        if pts:
            x, y, s = map(np.array, zip(*pts))
            opt = j == len(gammas)
            _errorbar(ax, x, y, s, color="0.25" if opt else f"C{j}", fmt="D" if opt else "o", zorder=4,
                      mfc="white" if opt else None,
                      label=("simulation at the tuned $\\gamma$" if opt else
                             f"simulation ({cfg.seeds} seeds)" if j == 0 else None))
    ax.set_xlabel("$N$ (features)")
    ax.set_ylabel("test loss $\\langle L\\rangle$")
    ax.set_title(f"Model A: interpolation peak at $N = T = {T}$ ($M = {m.M}$, $\\alpha = {cfg.alpha:g}$)")
    finite = np.isfinite(curves["gamma=0"]["test_loss"])
    top = np.nanmax(np.where(finite, curves["gamma=0"]["test_loss"], np.nan))
    ax.set_ylim(0.5 * np.nanmin(lopt), min(top, 1e3 * np.nanmin(lopt)))
    ax.legend(fontsize=8)
    fig_path = _savefig(fig, out / "mrs_peak.png")
    at_peak = mrs_theory_grid(m, N=T, gamma=np.array([*cfg.peak_gammas])).test_loss
    gopt_T, lopt_T = _optimal_gamma(m, [T])
    sim0 = [(N, float(sims[f"mrs/peak/N={N},T={T}"].test_loss[0])) for N in cfg.peak_N]
    sim_peak_N = max(sim0, key=lambda q: q[1])[0] if sim0 else None
    mono = bool(np.all(np.diff(lopt) <= 1e-12 * lopt[:-1]))
    head = {"peak_N": T, "theory_gamma0_at_peak": "inf",
            "theory_at_peak": {f"{g:g}": float(v) for g, v in zip(cfg.peak_gammas, np.atleast_1d(at_peak))},
            "optimal_gamma_at_peak": float(gopt_T[0]), "optimal_loss_at_peak": float(lopt_T[0]),
            "optimal_curve_monotone": mono, "simulated_gamma0_max_at_N": sim_peak_N}
    md = (f"At gamma = 0 the theory diverges at **N = T = {T}** (the interpolation peak); the largest "
          f"simulated ridgeless loss is at N = {sim_peak_N}. At N = T the ridges "
          + ", ".join(f"gamma = {g:g} give {v:.3e}" for g, v in zip(cfg.peak_gammas, np.atleast_1d(at_peak)))
          + f"; the optimally tuned ridge (gamma = {gopt_T[0]:.2g}) gives {lopt_T[0]:.3e}. The optimally "
          f"tuned curve is {'monotonically decreasing in N: no peak' if mono else 'NOT monotone'}. "
          f"Simulated points near the peak (|N/T - 1| < {NEAR_PEAK}, gamma = 0) fluctuate strongly and "
          f"are left out of the headline deviation.")
    data = {"T": T, "M": m.M, "theory": curves, "at_peak": head}
    return SectionResult(fig_path, data, md, head, rows)


def _plateau_plan(cfg):
    jobs = []
    for M, ratios in cfg.plateau_sim:
        T = cfg.plateau_T_over_M * M
        for r in ratios:
            N = max(1, int(round(r * M)))
            if N == T:
                continue
            jobs.append(SimJob(f"mrs/plateau/M={M},N={N},T={T}",
                               MRSModel(M=M, alpha=cfg.alpha, N=N, T=T, noise_var=cfg.plateau_noise)))
    return jobs


def _plateau_build(cfg, sims, out):
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    curves, rows, levels = {}, [], {}
    k = cfg.plateau_T_over_M
    for i, M in enumerate(cfg.plateau_M):
        T = k * M
        m = MRSModel(M=M, alpha=cfg.alpha, N=1, T=T, noise_var=cfg.plateau_noise)
        Ns = _dense(5, 2 * T, cfg.dense)
        y = mrs_theory_grid(m, N=Ns).test_loss
        level = float(mrs_theory_grid(m, N=10 * T).test_loss)
        levels[M] = {"theory_N_10T": level, "closed_form": cfg.plateau_noise * M / (2 * (T - M))}
        curves[f"M={M}"] = {"N": Ns, "test_loss": y, "T": T, "plateau": level}
        ax.loglog(Ns, y, color=f"C{i}", label=f"theory, $M = {M}$, $T = {T}$")
        ax.axvline(M, color=f"C{i}", lw=0.8, ls=":", label=f"$N = M = {M}$")
        pts = []
        for key, sim in sims.items():
            if key.startswith(f"mrs/plateau/M={M},"):
                rows += _compare("plateau", sim, _theory_at(sim))
                pts.append((sim.model.N, sim.test_loss[0], sim.test_loss_sem[0]))
        if pts:
            x, yy, s = map(np.array, zip(*sorted(pts)))
            _errorbar(ax, x, yy, s, color=f"C{i}", fmt="o",
                      label=f"simulation ({cfg.seeds} seeds)" if i == 0 else None)
    lev = cfg.plateau_noise / (2 * (k - 1))
    ax.axhline(lev, color="k", lw=0.8, ls="--",
               label=rf"plateau $\sigma_\epsilon^2 M/(2(T-M))$ = {lev:.2g} (noise {cfg.plateau_noise:g})")
    ax.set_xlabel("$N$ (features)")
    ax.set_ylabel("test loss $\\langle L\\rangle$")
    ax.set_title(f"Model A: power law, then plateau as $N \\to M$ ($T = {k}M$, $\\alpha = {cfg.alpha:g}$, $\\gamma = 0$)")
    ax.legend(fontsize=7, ncol=2)
    fig_path = _savefig(fig, out / "mrs_plateau.png")
    md = (f"Loss against N for M in {list(cfg.plateau_M)} at T = {k}M, label noise {cfg.plateau_noise:g}: "
          f"the power law N^-alpha bends down as N approaches M (dotted lines) and, for N >= M, the loss "
          f"sits on the plateau noise_var M / (2(T - M)) = **{lev:.3g}**; theory at N = 10T: "
          + ", ".join(f"M = {M}: {v['theory_N_10T']:.3g}" for M, v in levels.items()) + ".")
    head = {"plateau_level": lev, "theory_levels": {str(M): v["theory_N_10T"] for M, v in levels.items()}}
    return SectionResult(fig_path, {"theory": curves, "levels": {str(M): v for M, v in levels.items()}},
                         md, head, rows)
