"""Model B's sections: (f)-(j) loss curves, compute-optimal frontier, width, finite P, ensembles."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from scaling_theory.numerics._flow import bap_theory, bap_train_loss_infinite_width
from scaling_theory.numerics._models import BAPModel

from ._common import (NEAR_PEAK, SimJob, SectionResult, _errorbar, _savefig, _slope, _logspace, _positive,
                      _compare_bap, _legend_below)


def _bap_derived():
    """Model B's derivation and ``value(expr, cfg)``: a result at the report's exponents."""
    from scaling_theory.theory import derive_bap
    from scaling_theory.theory._flow import BAP_SYMBOLS

    d = derive_bap()
    S = BAP_SYMBOLS

    def point(cfg):
        return {S["alpha"]: cfg.bap_alpha, S["beta"]: cfg.bap_beta}

    def value(expr, cfg):
        return float(expr.subs(point(cfg)))

    return d, value, point, S


def _bap_loss_plan(cfg):
    return [SimJob(f"bap/loss/N={N}", cfg.bap(N=N), times=tuple(cfg.bap_times)) for N in cfg.bap_N]


def _bap_loss_build(cfg, sims, out):
    import sympy as sp

    d, value, point, S = _bap_derived()
    base = cfg.bap()
    tt = _logspace(*cfg.bap_t_range, cfg.dense)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    curves, rows, finals = {}, [], {}
    for i, N in enumerate(cfg.bap_N):
        m = base.replace(N=N)
        r = bap_theory(m, tt)
        curves[f"N={N}"] = {"t": tt, "test_loss": r.test_loss, "final_loss": float(r.final_loss)}
        finals[str(N)] = float(r.final_loss)
        ax.loglog(tt, r.test_loss, color=f"C{i}", label=f"theory, $N = {N}$")
        sim = sims[f"bap/loss/N={N}"]
        rows += _compare_bap("bap_loss", sim, bap_theory(m, sim.times).test_loss, label=f"N={N}")
        _errorbar(ax, sim.times, sim.test_loss, sim.test_loss_sem, color=f"C{i}", fmt="o",
                  label=f"simulation ({cfg.seeds} seeds)" if i == 0 else None)
    rinf = bap_theory(base.replace(N=math.inf), tt)
    curves["N=inf"] = {"t": tt, "test_loss": rinf.test_loss}
    ax.loglog(tt, rinf.test_loss, "k-", lw=1.5, label="theory, $N = P = \\infty$")
    # the derived asymptote, evaluated from the derivation (lambdify, numpy namespace)
    asym_expr = d["loss_N_P_inf"].subs(point(cfg))
    asym = sp.lambdify(S["t"], asym_expr, modules="numpy")
    expo = value(d["exponent_t"], cfg)
    ax.loglog(tt, asym(tt), "k--", lw=1, label=rf"derived $\Gamma(\beta)(2t)^{{-\beta}}/\alpha$, slope {expo:g}")
    # fitted slope on the N = P = inf theory where the finite-M cut-off is far (M = 1e6)
    big = base.replace(M=10**6, N=math.inf)
    tf = _logspace(1e2, 1e4, 9)
    slope = _slope(tf, bap_theory(big, tf).test_loss)
    ax.set_xlabel("training time $t$")
    ax.set_ylabel("test loss $\\langle L(t)\\rangle$")
    ax.set_title(f"Model B: $L(t)$ at $P = \\infty$ ($M = {base.M}$, $\\alpha = {cfg.bap_alpha:g}$, $\\beta = {cfg.bap_beta:g}$)")
    ax.set_ylim(0.3 * np.nanmin(_positive(rinf.test_loss)), 2 * float(rinf.test_loss[0]))
    ax.text(0.03, 0.04, f"derived exponent of $t$: {expo:g}\nfitted slope ($N = P = \\infty$, $M = 10^6$): {slope:.4f}",
            transform=ax.transAxes, fontsize=9, va="bottom", bbox=dict(boxstyle="round", fc="white", alpha=0.8))
    ax.legend(fontsize=8, loc="upper right")
    fig_path = _savefig(fig, out / "bap_loss_t.png")
    head = {"derived_exponent_t": expo, "fitted_slope_t": slope, "final_loss": finals}
    md = (f"Gradient flow at P = inf (population gradient), M = {base.M}, model-B alpha = {cfg.bap_alpha:g} "
          f"(lambda_k = k^-alpha), beta = {cfg.bap_beta:g}: the theory curves at N in {list(cfg.bap_N)} follow "
          f"the N = P = inf curve and then saturate at L(t = inf) = "
          + ", ".join(f"{v:.3g} (N = {k})" for k, v in finals.items())
          + f". Derived `exponent_t` = {expo:g}; slope fitted on the N = P = inf theory for t in [1e2, 1e4] "
          f"at M = 1e6: **{slope:.4f}** (difference {slope - expo:+.1e}); the dashed line is the derived "
          f"asymptote `loss_N_P_inf` = {sp.sstr(d['loss_N_P_inf'])}.")
    return SectionResult(fig_path, {"theory": curves, "derived_exponent_t": expo, "fitted_slope_t": slope,
                                    "asymptote": sp.sstr(d["loss_N_P_inf"])}, md, head, rows)


def _frontier_point(alpha, beta, C):
    """One budget of the frontier (a task of the report: picklable, plain data back)."""
    from scaling_theory.numerics._compute_optimal import bap_compute_optimal

    r = bap_compute_optimal(BAPModel(M=math.inf, alpha=alpha, beta=beta, N=1, P=math.inf), [C], progress=False)
    return {"C": float(C), "N": float(r.N_star[0]), "L": float(r.L_star[0]),
            "local": {k: float(v[0]) for k, v in r.local.items()}, "derived": r.derived,
            "derived_width": r.derived_width}


def _bap_frontier_tasks(cfg):
    """One task per (exponents, budget) of the compute-optimal frontier (about a second each)."""
    out = []
    for a, b in ((cfg.bap_alpha, cfg.bap_beta), tuple(cfg.frontier_beta_above_one)):
        for C in _logspace(*cfg.frontier_C):
            out.append((f"frontier|alpha={a!r}|beta={b!r}|C={float(C)!r}", _frontier_point, (a, b, float(C))))
    return out


def _bap_frontier_build(cfg, sims, out):
    """The compute-optimal frontier of the full theory at M = inf (bap_compute_optimal) at the
    report's exponents and at a beta > 1 point, against both derived forms."""
    from types import SimpleNamespace

    from scaling_theory.numerics._parallel import resolve

    Cs = _logspace(*cfg.frontier_C)
    tasks = _bap_frontier_tasks(cfg)
    with resolve(None) as ex:                 # from the report's store when they ran as tasks
        got = [r for _, r in ex.map(_frontier_point, [a for _, _, a in tasks], keys=[k for k, _, _ in tasks])]
    runs = {}
    for (_, _, (a, b, _c)), r in zip(tasks, got):
        runs.setdefault((a, b), []).append(r)
    for ab, rows in runs.items():
        runs[ab] = SimpleNamespace(
            compute=np.array([r["C"] for r in rows]), N_star=np.array([r["N"] for r in rows]),
            L_star=np.array([r["L"] for r in rows]),
            local={k: np.array([r["local"][k] for r in rows]) for k in ("N", "t", "L")},
            derived=rows[0]["derived"], derived_width=rows[0]["derived_width"])
    main = runs[(cfg.bap_alpha, cfg.bap_beta)]
    lo_real, hi_real = cfg.frontier_realistic
    fig, (ax, bx, cx) = plt.subplots(1, 3, figsize=(15, 4.6))
    colors = ("C0", "C3")
    for (ab, r), color in zip(runs.items(), colors):
        lab = f"$\\alpha = {ab[0]:g}$, $\\beta = {ab[1]:g}$"
        fit_L = _slope(r.compute, r.L_star)
        ax.loglog(r.compute, r.L_star, "o", color=color, ms=4,
                  label=f"$\\min_N L$, {lab}: fitted slope {fit_L:.4f}")
        cm = r.compute[len(r.compute) // 2]
        lm = r.L_star[len(r.compute) // 2]
        ax.loglog(r.compute, lm * (r.compute / cm) ** r.derived_width["L"], "-", color=color, lw=1,
                  label=f"derived $C^{{{r.derived_width['L']:.4g}}}$ (with the $1/N$ term)")
        for k, mk in (("N", "o-"), ("L", "s-")):
            bx.semilogx(r.compute, r.local[k], mk, color=color, ms=3,
                        label=f"{lab}" if k == "N" else None, alpha=1 if k == "N" else 0.6)
            bx.axhline(r.derived[k], color=color, ls="--", lw=0.8)
            bx.axhline(r.derived_width[k], color=color, ls=":", lw=1.2)
        dev = np.maximum(np.abs(r.local["N"] - r.derived_width["N"]), 1e-7)
        cx.loglog(r.compute, dev, "o-", color=color, ms=3, label=lab)
    bx.plot([], [], "k--", lw=0.8, label="derived: $at^{-\\beta} + bN^{-c}$")
    bx.plot([], [], "k:", lw=1.2, label="derived with the $1/N$ term")
    for axis in (bx, cx):
        axis.axvspan(lo_real, hi_real, color="0.5", alpha=0.1, label=f"$C$ = {lo_real:.0e}..{hi_real:.0e}")
    ax.set_xlabel("compute $C = Nt$")
    ax.set_ylabel("$L^*(C)$")
    ax.set_title("compute-optimal loss (full theory)")
    _legend_below(ax, ncol=1)
    bx.set_xlabel("compute $C = Nt$")
    bx.set_ylabel("local exponent")
    bx.set_title("local exponents: $d\\log N^*/d\\log C$ (o), $d\\log L^*/d\\log C$ (s)")
    _legend_below(bx, ncol=2)
    cx.set_xlabel("compute $C = Nt$")
    cx.set_ylabel("$|d\\log N^*/d\\log C$ - derived$|$")
    cx.set_title("pre-asymptotic correction of $N^*$ (floor: round-off)")
    _legend_below(cx, ncol=1)
    fig.suptitle("Model B: compute-optimal frontier, $C = Nt$, $M = P = \\infty$", fontsize=11)
    fig_path = _savefig(fig, out / "bap_compute_optimal.png")
    real = (main.compute >= lo_real) & (main.compute <= hi_real)
    pre = {f"{ab[0]:g},{ab[1]:g}": {k: float(np.max(np.abs(r.local[k][real] - r.derived_width[k]))) if np.any(real)
                                    else None for k in ("N", "L")} for ab, r in runs.items()}
    best = int(np.argmin(np.abs(np.log10(main.compute) - 16)))     # the largest C clear of round-off
    fitted = {k: float(main.local[k][best]) for k in ("N", "t", "L")}
    other = runs[tuple(cfg.frontier_beta_above_one)]
    ob = int(np.argmin(np.abs(np.log10(other.compute) - 16)))
    head = {"derived": main.derived, "derived_width": main.derived_width, "fitted": fitted,
            "fitted_at_C": float(main.compute[best]),
            "beta_above_one": {"alpha": cfg.frontier_beta_above_one[0], "beta": cfg.frontier_beta_above_one[1],
                               "derived": other.derived, "derived_width": other.derived_width,
                               "local": {k: float(other.local[k][ob]) for k in ("N", "t", "L")},
                               "at_C": float(other.compute[ob])},
            "pre_asymptotic_max_deviation": pre, "realistic_C": [lo_real, hi_real]}
    a2, b2 = cfg.frontier_beta_above_one
    md = (f"For each compute C = N t the full theory's loss L(t = C/N, N) at M = inf, P = inf is minimised over a "
          f"continuous width N (`bap_compute_optimal`), for C from {Cs[0]:.0e} to {Cs[-1]:.0e}; local exponents are "
          f"centred differences over C 10^(+-0.05). At alpha = {cfg.bap_alpha:g}, beta = {cfg.bap_beta:g} (beta < 1) "
          f"they approach the derived ones (`compute_optimal_*`, from a t^-beta + b N^-c): at C = {main.compute[best]:.0e} "
          + ", ".join(f"{k}*: **{fitted[k]:.4f}** vs {main.derived[k]:.4g}" for k in ("N", "t", "L"))
          + f". At alpha = {a2:g}, beta = {b2:g} (beta > 1) they do not: the full theory's frontier follows the "
          f"finite-width transient d t^(1/alpha - min(beta,1))/N, which the additive form leaves out; with it the "
          f"derived exponents are " + ", ".join(f"{k}*: {other.derived_width[k]:.4f}" for k in ("N", "t", "L"))
          + f" (measured at C = {other.compute[ob]:.0e}: "
          + ", ".join(f"{other.local[k][ob]:.4f}" for k in ("N", "t", "L"))
          + "; the additive form says " + ", ".join(f"{other.derived[k]:.4f}" for k in ("N", "t", "L"))
          + f"). Largest deviation of the local exponents from the derived ones (with the 1/N term) at C = "
          f"{lo_real:g}..{hi_real:g}: "
          + "; ".join(f"alpha, beta = {k}: N* {v['N']:.1e}, L* {v['L']:.1e}" for k, v in pre.items() if v["N"] is not None)
          + ". Past C ~ 1e20 the double-precision inversion's round-off (relative 1e-7 of L* at 1e14, 1e-4 at "
          "1e30) sets the floor of the local exponents.")
    data = {"C": Cs, **{f"{k}_{ab[0]:g}_{ab[1]:g}": getattr(r, k) for ab, r in runs.items()
                        for k in ("N_star", "L_star")}, **head}
    return SectionResult(fig_path, data, md, head, [])


def _bap_width_build(cfg, sims, out):
    _, value, _, _ = _bap_derived()
    from scaling_theory.theory import derive_bap

    c_late = value(derive_bap()["exponent_N"], cfg)
    m = BAPModel(M=cfg.width_M, alpha=cfg.bap_alpha, beta=cfg.bap_beta, N=1, P=math.inf)
    Ns = np.unique(np.round(_logspace(*cfg.width_N))).astype(int)
    te = cfg.width_t_early
    ref = bap_theory(m.replace(N=math.inf), [te])
    early, late = [], []
    for N in Ns:
        r = bap_theory(m.replace(N=int(N)), [te])
        early.append(abs(float(r.test_loss[0]) - float(ref.test_loss[0])))
        late.append(abs(float(r.final_loss) - float(ref.final_loss)))
    early, late = np.array(early), np.array(late)
    s_early, s_late = _slope(Ns, early), _slope(Ns, late)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    ax.loglog(Ns, early, "o-", color="C0", label=f"early, $t = {te:g}$: fitted slope {s_early:.3f}")
    ax.loglog(Ns, late, "s-", color="C3", label=f"late, $t = \\infty$: fitted slope {s_late:.3f}")
    ax.loglog(Ns, early[-1] * (Ns / Ns[-1]) ** -1.0, "--", color="C0", lw=1, label="$1/N$ (first order in $1/N$)")
    ax.loglog(Ns, late[-1] * (Ns / Ns[-1]) ** c_late, "--", color="C3", lw=1,
              label=rf"derived $N^{{-\alpha\min(\beta,1)}} = N^{{{c_late:g}}}$")
    ax.set_xlabel("width $N$")
    ax.set_ylabel("$|L(t, N) - L(t, N = \\infty)|$")
    ax.set_title(f"Model B: finite-width convergence ($P = \\infty$, $M = {m.M}$, $\\alpha = {cfg.bap_alpha:g}$, $\\beta = {cfg.bap_beta:g}$)")
    ax.legend(fontsize=8)
    fig_path = _savefig(fig, out / "bap_width.png")
    head = {"t_early": te, "fitted_slope_early": s_early, "expected_slope_early": -1.0,
            "fitted_slope_late": s_late, "derived_slope_late": c_late}
    md = (f"Distance of the finite-width theory from N = inf at P = inf (M = {m.M}, N in [{Ns[0]}, {Ns[-1]}]). "
          f"Early (t = {te:g}, few modes learned): fitted slope **{s_early:.3f}**, the first-order 1/N "
          f"correction (-1). Late (t = inf, L(inf, N) - 0): fitted slope **{s_late:.3f}** against the derived "
          f"`exponent_N` = {c_late:g} = -alpha min(beta, 1): at late times the width limits the loss "
          f"through the unlearnable modes, not through a 1/N fluctuation.")
    return SectionResult(fig_path, {"M": m.M, "N": Ns, "early": early, "late": late, **head}, md, head, [])


def _finite_P_model(cfg, N):
    return BAPModel(M=cfg.finite_P_M, alpha=cfg.bap_alpha, beta=cfg.bap_beta, N=N, P=cfg.finite_P)


def _bap_finite_P_plan(cfg):
    return [SimJob(f"bap/finite_P/N={N},P={cfg.finite_P}", _finite_P_model(cfg, N),
                   times=tuple(cfg.finite_P_times)) for N in cfg.finite_P_N]


def _bap_finite_P_build(cfg, sims, out):
    P = cfg.finite_P
    ts = cfg.finite_P_times
    tt = _logspace(min(ts) / 3, max(ts) * 3, cfg.dense // 2)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    curves, rows, status = {}, [], {}
    for i, N in enumerate(cfg.finite_P_N):
        m = _finite_P_model(cfg, N)
        sim = sims[f"bap/finite_P/N={N},P={P}"]
        try:  # decided at run time: does the theory cover finite P here?
            r, rs = bap_theory(m, tt), bap_theory(m, sim.times)
        except ValueError as exc:
            status[str(N)] = f"no theory: {' '.join(str(exc).split())}"
        else:
            status[str(N)] = r.method
            curves[f"N={N}"] = {"t": tt, "test_loss": r.test_loss, "train_loss": r.train_loss}
            ax.loglog(tt, _positive(r.test_loss), "-", color=f"C{i}", label=f"theory test, $N = {N}$")
            ax.loglog(tt, _positive(r.train_loss), "--", color=f"C{i}", label=f"theory train, $N = {N}$")
            rows += _compare_bap("bap_finite_P", sim, rs.test_loss, which="test", label=f"N={N}")
            rows += _compare_bap("bap_finite_P", sim, rs.train_loss, which="train", label=f"N={N}")
        _errorbar(ax, sim.times, sim.test_loss, sim.test_loss_sem, color=f"C{i}", fmt="o",
                  label=f"simulation test, $N = {N}$")
        _errorbar(ax, sim.times, sim.train_loss, sim.train_loss_sem, color=f"C{i}", fmt="s", mfc="none",
                  label=f"simulation train, $N = {N}$")
    minf = _finite_P_model(cfg, math.inf)
    try:
        r = bap_theory(minf, tt)
        status["inf"] = r.method
        curves["N=inf"] = {"t": tt, "test_loss": r.test_loss, "train_loss": r.train_loss}
        ax.loglog(tt, _positive(r.test_loss), "k-", lw=1.2, label="theory test, $N = \\infty$")
    except ValueError as exc:
        status["inf"] = f"train loss only (bap_train_loss_infinite_width): {' '.join(str(exc).split())}"
        r = bap_train_loss_infinite_width(minf, tt)
        curves["N=inf"] = {"t": tt, "train_loss": r.train_loss}
    ax.loglog(tt, _positive(r.train_loss), "k--", lw=1.2, label="theory train, $N = \\infty$")
    full = all(not v.startswith("no theory") for k, v in status.items() if k != "inf")
    ax.set_xlabel("training time $t$")
    ax.set_ylabel("loss $\\langle L(t)\\rangle$")
    L0 = float(minf.eigenvalues() @ minf.target() ** 2)
    ax.set_ylim(1e-4 * L0, 2 * L0)
    ax.set_title(f"Model B: train vs test at finite $P = {P}$ ($M = {cfg.finite_P_M}$, $\\alpha = {cfg.bap_alpha:g}$, $\\beta = {cfg.bap_beta:g}$)\n"
                 "solid, circles: test loss; dashed, squares: train loss")
    _legend_below(ax, ncol=3)
    fig_path = _savefig(fig, out / "bap_finite_P.png")
    last = {}
    for N in cfg.finite_P_N:
        sim = sims[f"bap/finite_P/N={N},P={P}"]
        last[str(N)] = {"t": float(sim.times[-1]), "test": float(sim.test_loss[-1]),
                        "train": float(sim.train_loss[-1])}
    gaps = "; ".join(f"N = {k}: test {v['test']:.3g}, train {v['train']:.3g}" for k, v in last.items())
    md = (f"Finite data, P = {P} samples reused (M = {cfg.finite_P_M}, beta = {cfg.bap_beta:g}): the train "
          f"loss (dashed, squares) falls below the test loss (solid, circles) once the model starts to fit "
          f"its {P} samples; at t = {max(ts):g} the simulations give {gaps}. "
          + ("Theory: finite-P curves from `bap_theory` (" + ", ".join(sorted(set(status.values())))
             + "), compared point by point below." if full else
             "The theory does not cover finite P here (`bap_theory` raised: "
             + "; ".join(f"N = {k}: {v}" for k, v in status.items()) + "), so the figure shows the "
             "simulations with the N = inf train-loss theory.")
          + " Interpolation threshold: N = P (not drawn).")
    head = {"theory_finite_P": full, "theory_status": status, "late": last}
    return SectionResult(fig_path, {"P": P, "M": cfg.finite_P_M, "theory": curves, **head}, md, head, rows)


def _ens_models(cfg):
    base = dict(M=cfg.ens_M, alpha=cfg.bap_alpha, beta=cfg.bap_beta, P=cfg.ens_P)
    return {"single": BAPModel(N=cfg.ens_N, **base),
            "ensemble": BAPModel(N=cfg.ens_N, ensemble=cfg.ens_E, **base),
            "wide": BAPModel(N=cfg.ens_E * cfg.ens_N, **base)}


def _bap_ensemble_plan(cfg):
    # one seed key for the three jobs: the same training sets (and the first student of
    # the ensemble is the single model), so the comparisons are paired
    seed_key = f"bap/ensemble/P={cfg.ens_P}"
    return [SimJob(f"bap/ensemble/{name}", m, times=tuple(cfg.ens_times), seed_key=seed_key,
                   seeds=cfg.ens_seeds_factor * cfg.seeds)
            for name, m in _ens_models(cfg).items()]


def _bap_ensemble_build(cfg, sims, out):
    E, N, P = cfg.ens_E, cfg.ens_N, cfg.ens_P
    s1, sE, sW = (sims[f"bap/ensemble/{k}"] for k in ("single", "ensemble", "wide"))
    # over the projections at fixed data: L_E = B + V / E  =>  V = E (L_1 - L_E) / (E - 1)
    V_seed = E * (s1.per_seed_test - sE.per_seed_test) / (E - 1)
    B_seed = s1.per_seed_test - V_seed
    root = math.sqrt(s1.seeds)
    V, B = V_seed.mean(axis=0), B_seed.mean(axis=0)
    V_sem, B_sem = V_seed.std(axis=0, ddof=1) / root, B_seed.std(axis=0, ddof=1) / root
    diff = sE.per_seed_test - sW.per_seed_test      # paired: same data sets
    d_mean, d_sem = diff.mean(axis=0), diff.std(axis=0, ddof=1) / root
    fig, ax = plt.subplots(figsize=(6.6, 5.0))
    # theory curves (gradient flow, ensembles: derive_bap()["ensemble_loss"]); E -> inf is the
    # cross term alone, the bias of a width-N student
    t_dense = np.logspace(math.log10(min(s1.times[s1.times > 0])), math.log10(max(s1.times)), 60)
    theory_curves, at_sims, rows = {}, {}, []
    models = _ens_models(cfg)
    models["E -> inf"] = models["single"].replace(ensemble=10**9)
    sim_of = {"single": s1, "ensemble": sE, "wide": sW}
    for name, color in (("single", "C0"), ("ensemble", "C2"), ("wide", "C3"), ("E -> inf", "0.3")):
        try:
            curve = bap_theory(models[name], t_dense).test_loss
            at_sims[name] = bap_theory(models[name], s1.times).test_loss
        except (ValueError, FloatingPointError):
            continue
        theory_curves[name] = [float(v) for v in curve]
        if name in sim_of:
            rows += _compare_bap("bap_ensemble", sim_of[name], at_sims[name], label=name)
        ax.loglog(t_dense, curve, "-" if name != "E -> inf" else "--", color=color, lw=1.3,
                  label=f"theory, {name}" if name != "E -> inf" else "theory, $E \\to \\infty$: the bias $B$ of width $N$")
    for sim, color, fmt, lab in ((s1, "C0", "o", f"one model, $N = {N}$"),
                                 (sE, "C2", "s", f"ensemble of $E = {E}$, $N = {N}$ each"),
                                 (sW, "C3", "D", f"one model, $N = {E * N}$ $(= EN)$")):
        _errorbar(ax, sim.times, sim.test_loss, sim.test_loss_sem, color=color, fmt=fmt, label=lab)
    _errorbar(ax, s1.times, _positive(B), B_sem, color="0.3", fmt="x",
              label="bias $B$ estimated from the paired simulations")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training time $t$")
    ax.set_ylabel("test loss $\\langle L(t)\\rangle$ (lines: theory; points: simulation)")
    ax.set_title(f"Model B: $E = {E}$ x width ${N}$ vs one of width ${E * N}$\n($P = {P}$, $M = {cfg.ens_M}$, "
                 f"$\\alpha = {cfg.bap_alpha:g}$, $\\beta = {cfg.bap_beta:g}$, {s1.seeds} paired seeds)")
    _legend_below(ax, ncol=2)
    fig_path = _savefig(fig, out / "bap_ensemble.png")
    k = -1
    tl = float(s1.times[k])
    winner = "ensemble" if d_mean[k] < 0 else "wide"
    z = abs(d_mean[k]) / d_sem[k] if d_sem[k] > 0 else float("inf")
    B_th = float(at_sims["E -> inf"][k]) if "E -> inf" in at_sims else float("nan")
    W_th = float(at_sims["wide"][k]) if "wide" in at_sims else float("nan")
    head = {"t_late": tl, "seeds": s1.seeds, "ensemble_late": float(sE.test_loss[k]),
            "wide_late": float(sW.test_loss[k]), "single_late": float(s1.test_loss[k]),
            "difference_late": float(d_mean[k]), "difference_late_sem": float(d_sem[k]), "winner_late": winner,
            "bias_late": float(B[k]), "bias_late_sem": float(B_sem[k]), "variance_late": float(V[k]),
            "bias_theory_late": B_th, "wide_theory_late": W_th,
            "bias_deviation_sem": float((B[k] - B_th) / B_sem[k]) if B_sem[k] > 0 else float("nan")}
    at_peak = abs(E * N / P - 1) < NEAR_PEAK
    LW, LW_sem = float(sW.test_loss[k]), float(sW.test_loss_sem[k])
    rel_th = "below" if W_th < B_th else "above"
    rel_sim = ("below" if LW < B[k] - 2 * math.hypot(LW_sem, B_sem[k]) else
               "above" if LW > B[k] + 2 * math.hypot(LW_sem, B_sem[k]) else "within two standard errors of")
    limit = (f"The infinite-ensemble limit is the bias B of a width-{N} model: theory {B_th:.3g}, estimated from the "
             f"simulations {B[k]:.3g} ± {B_sem[k]:.2g} ({head['bias_deviation_sem']:+.1f} sem). The wide model's "
             f"loss (theory {W_th:.3g}, simulation {LW:.3g} ± {LW_sem:.2g}) is {rel_th} that limit in the theory "
             f"and {rel_sim} it in the simulations: {'no' if rel_th == 'below' else 'even an infinite'} "
             f"ensemble of width-{N} models {'can match' if rel_th == 'below' else 'would beat'} one model of "
             f"width {E * N}.")
    if winner == "ensemble":
        why = (f"Averaging E members keeps the bias B of a width-{N} model and divides its variance V (over the "
               f"random projections, at fixed data) by E. At t = {tl:g} the estimated split of the width-{N} loss "
               f"is B = {B[k]:.3g}, V = {V[k]:.3g}: the ensemble removes {(1 - 1 / E) * 100:.0f} % of V. The "
               f"wide model has a smaller bias (more features) but all of its own variance"
               + (f", and with N = {E * N} close to P = {P} it sits at the interpolation threshold, where "
                  "late-time training fits the finite sample and the variance peaks" if at_peak else "")
               + ": its variance outweighs its bias advantage. " + limit)
    else:
        why = (f"Averaging E members keeps the bias B of a width-{N} model and divides its variance V (over the "
               f"random projections, at fixed data) by E: at t = {tl:g} the estimated split of the width-{N} "
               f"loss is B = {B[k]:.3g}, V = {V[k]:.3g}, so the ensemble keeps B + V/{E}. One model of width "
               f"{E * N} lowers bias and variance together (more features span more of the target). " + limit
               + " At equal parameter count, width beats ensembling here.")
    md = (f"Equal parameter count E N = {E * N}, same {P} training samples ({s1.seeds} paired seeds; M = {cfg.ens_M}). "
          f"At the latest time t = {tl:g}: ensemble {sE.test_loss[k]:.4g} ± {sE.test_loss_sem[k]:.2g}, "
          f"wide model {sW.test_loss[k]:.4g} ± {sW.test_loss_sem[k]:.2g}, single width-{N} model "
          f"{s1.test_loss[k]:.4g} ± {s1.test_loss_sem[k]:.2g}; the **{'ensemble' if winner == 'ensemble' else 'wide model'} "
          f"wins** (paired difference {d_mean[k]:+.3g} ± {d_sem[k]:.2g}, {z:.1f} sem). {why}")
    data = {"E": E, "N": N, "P": P, "M": cfg.ens_M, "times": s1.times, "bias": B, "bias_sem": B_sem,
            "variance": V, "variance_sem": V_sem, "ensemble_minus_wide": d_mean,
            "ensemble_minus_wide_sem": d_sem, "theory_t": [float(x) for x in t_dense],
            "theory": theory_curves, **head}
    return SectionResult(fig_path, data, md, head, rows)
