"""Nonlinear features: (k) spectra that extend past M, (l) the loss past M."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from scaling_theory.numerics._models import MRSModel
from scaling_theory.numerics._ridge import mrs_theory_grid

from ._common import (SIM_THREADS, SimJob, SectionResult, _compare, _theory_at, _errorbar, _savefig, _slope,
                      _dense, _pm, _fmt, _color, _job_seed, _plain_log_ticks, _legend_below)


#: Activations of the nonlinear-feature sections, in plotting order.
FEATURE_ACTIVATIONS = ("linear", "relu", "erf")


#: Leading nonlinear Hermite order of each activation: its products make the
#: extended spectrum (relu: order 2, erf: order 3; order 0 is relu's one mean mode).
_EXT_ORDER = {"relu": 2, "erf": 3}


def _spectrum_point(M, N, alpha, activation, seed, draws):
    """One activation of section (k): the spectrum of one draw of ``U``, its fits and the exponents
    over ``draws`` draws (a task of the report: picklable, JSON back)."""
    from scaling_theory.numerics._feature_spectra import feature_spectrum, feature_spectrum_exponents

    m = MRSModel(M=M, alpha=alpha, N=N, T=1, activation=activation)
    fs = feature_spectrum(m, seed=seed)          # one BLAS thread: the executor runs every task so
    ex = feature_spectrum_exponents(m, seeds=draws, seed=seed)
    ev = fs.eigenvalues
    keep = ev > fs.cutoff * ev[0]                  # linear: the zeros past M are round-off
    return {"eigenvalues": [float(v) for v in ev[keep]], "extent": int(fs.extent),
            "extension_ratio": float(fs.extension_ratio),
            "latent_fit": fs.latent_fit and fs.latent_fit.to_dict(),
            "extended_fit": fs.extended_fit and fs.extended_fit.to_dict(), "exponents": ex.to_dict()}


def _spectra_tasks(cfg):
    """One task per activation (four N x N eigenproblems each, about two seconds)."""
    return [(f"spectrum|{act}|M={cfg.spectrum_M}|N={cfg.spectrum_N}|alpha={cfg.alpha!r}|seed={cfg.seed}"
             f"|draws={cfg.spectrum_draws}", _spectrum_point,
             (cfg.spectrum_M, cfg.spectrum_N, cfg.alpha, act, cfg.seed, cfg.spectrum_draws))
            for act in FEATURE_ACTIVATIONS]


#: Fitted power laws are drawn this factor below the spectrum, over their window, so that both show.
_FIT_SHIFT = 1 / 3


def _fit_line(fit, k):
    return fit["amplitude"] * (np.asarray(k, float) - fit["offset"]) ** (-fit["exponent"])


def _spectra_build(cfg, sims, out):
    from scaling_theory.numerics._feature_spectra import product_spectrum_exponent
    from scaling_theory.numerics._parallel import resolve

    M, N = cfg.spectrum_M, cfg.spectrum_N
    tasks = _spectra_tasks(cfg)
    with resolve(None) as ex:                 # from the report's store when they ran as tasks
        got = dict(zip(FEATURE_ACTIVATIONS, (r for _, r in ex.map(
            _spectrum_point, [a for _, _, a in tasks], keys=[k for k, _, _ in tasks]))))
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10.5, 4.4))
    data, head = {}, {}
    for i, act in enumerate(FEATURE_ACTIVATIONS):
        r = got[act]
        e = r["exponents"]
        nan = lambda v: math.nan if v is None else v  # noqa: E731
        lm, ls, em, es = (nan(e[k]) for k in ("latent_exponent", "latent_exponent_sem",
                                                "extended_exponent", "extended_exponent_sem"))
        ev = np.array(r["eigenvalues"])
        k = np.arange(1, ev.size + 1)
        color = _color(i)
        ax.loglog(k, ev, color=color, lw=1.3, label=f"{act}: fitted $a_{{lat}}$ = {_pm(lm, ls, '.3f')}"
                  + ("" if math.isfinite(em) else f" (rank {r['extent']})"))
        if r["latent_fit"] is not None:
            f = r["latent_fit"]
            kk = np.arange(f["start"], f["stop"] + 1)
            ax.loglog(kk, _FIT_SHIFT * _fit_line(f, kk), color=color, ls="--", lw=1.2)
        derived = None
        if act in _EXT_ORDER and e["extended_window"] is not None:
            a, b = e["extended_window"]
            derived = product_spectrum_exponent(cfg.alpha, _EXT_ORDER[act], math.sqrt((a - M) * (b - M)))
        past = k > M
        if act != "linear" and past.any():
            ref = "" if derived is None else f" (order-{_EXT_ORDER[act]} reference {derived:.3f})"
            ax2.loglog(k[past] - M, ev[past], color=color, lw=1.3,
                       label=f"{act}: fitted $a_{{ext}}$ = {_pm(em, es, '.3f')}{ref}")
            if r["extended_fit"] is not None:
                f = r["extended_fit"]
                kk = np.arange(f["start"], f["stop"] + 1)
                ax2.loglog(kk - M, _FIT_SHIFT * _fit_line(f, kk), color=color, ls="--", lw=1.2)
        head[act] = {"latent_exponent": lm, "latent_exponent_sem": ls, "extended_exponent": em,
                     "extended_exponent_sem": es, "extent": r["extent"],
                     "extension_ratio": r["extension_ratio"], "derived_extended_exponent": derived}
        data[act] = {"eigenvalues": ev, "exponents": e, "plotted_draw": {
            "latent_fit": r["latent_fit"], "extended_fit": r["extended_fit"]}, **head[act]}
    ax.axvline(M, color="0.5", lw=0.8, ls="-.", label=f"$k = M = {M}$")
    ax.plot([], [], color="0.3", ls="--", label="fitted $k^{-a_{lat}}$ over its window (shifted x1/3)")
    ax.legend(fontsize=7, loc="lower left")
    ax.set_xlabel("eigenvalue index $k$")
    ax.set_ylabel("eigenvalue $\\lambda_k$ of $K = E[\\phi\\phi^T]$")
    ax.set_title("whole spectrum (against $k$)", fontsize=10)
    ax2.plot([], [], color="0.3", ls="--", label="fitted $(k - M)^{-a_{ext}}$ over its window (shifted x1/3)")
    ax2.legend(fontsize=7, loc="lower left")
    ax2.set_xlabel("index past the latent rank, $k - M$")
    ax2.set_ylabel("eigenvalue $\\lambda_k$, $k > M$")
    ax2.set_title("extended part (against $k - M$; linear features stop at $k = M$)", fontsize=10)
    fig.suptitle(f"Model A: feature spectra ($M = {M}$, $N = {N}$, $\\alpha = {cfg.alpha:g}$; one draw of $U$, "
                 f"exponents over {cfg.spectrum_draws} draws)", fontsize=10)
    fig_path = _savefig(fig, out / "features_spectra.png")
    lin, relu, erf = (head[a] for a in FEATURE_ACTIVATIONS)
    md = (f"Eigenvalues of the feature covariance for one draw of U (M = {M}, N = {N}, alpha = {cfg.alpha:g}); "
          f"exponents are the mean ± standard error over {cfg.spectrum_draws} draws. The latent power law "
          f"k^-(1+alpha) = k^-{1 + cfg.alpha:g} is fitted as {_pm(lin['latent_exponent'], lin['latent_exponent_sem'], '.3f')} "
          f"(linear) and {_pm(erf['latent_exponent'], erf['latent_exponent_sem'], '.3f')} (erf, nearly linear at the small "
          f"pre-activation variance); relu gives {_pm(relu['latent_exponent'], relu['latent_exponent_sem'], '.3f')}: its "
          f"mean mode and order-2 products are interleaved with the latent modes and flatten the top of the "
          f"spectrum. **Linear features stop at rank {lin['extent']} = M**; "
          f"nonlinear features continue past M (extent {relu['extent']} for relu, {erf['extent']} for erf; eigenvalue "
          f"M+1 / largest = {relu['extension_ratio']:.2e} for relu, {erf['extension_ratio']:.2e} for erf) with extended "
          f"exponents (in k - M) relu **{_pm(relu['extended_exponent'], relu['extended_exponent_sem'], '.3f')}**, erf "
          f"**{_pm(erf['extended_exponent'], erf['extended_exponent_sem'], '.3f')}**; the derived local exponent of the "
          f"leading products (order 2 for relu, 3 for erf, mean-field) at the window's rank is "
          f"{_fmt(relu['derived_extended_exponent'], '.3f')} and {_fmt(erf['derived_extended_exponent'], '.3f')}. The finite-N "
          f"spectrum is the population one distorted by the N x N Gram matrix (its last eigenvalues flatten), and "
          f"relu's higher Hermite orders are not captured by the mean-field products, so these are references, "
          f"not predictions of the fitted values.")
    return SectionResult(fig_path, data, md, head, [])


def _past_model(cfg, act, N):
    return MRSModel(M=cfg.past_M, alpha=cfg.alpha, N=int(N), T=cfg.past_T, activation=act,
                    noise_var=cfg.past_noise)


def _past_sim_N(cfg, act):
    factors = cfg.past_sim_linear if act == "linear" else cfg.past_sim
    return sorted({int(round(f * cfg.past_M)) for f in factors} - {cfg.past_T})


def _past_key(cfg, act, N):
    return f"mrs/past_M/{act},M={cfg.past_M},N={N},T={cfg.past_T}"


def _past_plan(cfg):
    return [SimJob(_past_key(cfg, act, N), _past_model(cfg, act, N))
            for act in FEATURE_ACTIVATIONS for N in _past_sim_N(cfg, act)]


def _nonlinear_theory(model, u_draws, seed):
    from threadpoolctl import threadpool_limits

    from scaling_theory.numerics._ridge_nonlinear import mrs_nonlinear_theory

    with threadpool_limits(limits=SIM_THREADS):   # N x N eigenproblems: threads only spin
        return mrs_nonlinear_theory(model, u_draws=u_draws, seed=seed)


def _past_theory_point(M, alpha, N, T, act, noise, u_draws, seed):
    """The nonlinear theory at one N of section (l) (a task of the report: JSON back)."""
    m = MRSModel(M=M, alpha=alpha, N=int(N), T=T, activation=act, noise_var=noise)
    r = _nonlinear_theory(m, u_draws, seed)
    return {"test": float(r.test_loss[0]), "sem": float(r.test_loss_sem[0]),
            "population": float(r.population_test_loss)}


def _past_grid(cfg):
    """The theory's N grid of section (l), the fit window's N, and which grid points are in it."""
    M, T = cfg.past_M, cfg.past_T
    lo, hi, n = cfg.past_N
    f0, f1 = cfg.past_fit
    fitN = np.unique(np.round(M * np.geomspace(f0, f1, 5))).astype(int)
    Ns = np.unique(np.concatenate([_dense(lo * M, hi * M, n), fitN, [M]])).astype(int)
    Ns = Ns[Ns != T]
    return Ns, fitN, np.isin(Ns, fitN)


def _past_tasks(cfg):
    """Section (l)'s nonlinear theory, one task per (activation, N): the curve (``past_u_draws``
    draws of U) and, at the simulated N, the draws of the simulated instances."""
    Ns, _, _ = _past_grid(cfg)
    base = (cfg.past_M, cfg.alpha)
    out = []
    for act in FEATURE_ACTIVATIONS[1:]:
        for N in Ns:
            args = (*base, int(N), cfg.past_T, act, cfg.past_noise, cfg.past_u_draws, cfg.seed)
            out.append((f"past_M|curve|{args!r}", _past_theory_point, args))
        for N in _past_sim_N(cfg, act):
            seed = _job_seed(cfg.seed, _past_key(cfg, act, N))   # draw i: the U of instance i
            args = (*base, int(N), cfg.past_T, act, cfg.past_noise, cfg.seeds, seed)
            out.append((f"past_M|at_sim|{args!r}", _past_theory_point, args))
    return out


def _past_theory(cfg):
    """``{(kind, act, N): result}`` of :func:`_past_tasks`, from the report's store when they
    ran as tasks."""
    from scaling_theory.numerics._parallel import resolve

    tasks = _past_tasks(cfg)
    with resolve(None) as ex:
        got = [r for _, r in ex.map(_past_theory_point, [a for _, _, a in tasks], keys=[k for k, _, _ in tasks])]
    return {(k.split("|")[1], a[4], a[2]): r for (k, _, a), r in zip(tasks, got)}


def _weighted_slope(x, y, sem):
    """Slope of log y on log x weighted by the relative errors, and its standard error."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    w = (np.asarray(y, float) / np.asarray(sem, float)) ** 2
    xm = np.sum(w * lx) / np.sum(w)
    sxx = float(np.sum(w * (lx - xm) ** 2))
    slope = float(np.sum(w * (lx - xm) * ly) / sxx)
    return slope, math.sqrt(1.0 / sxx)


def _past_build(cfg, sims, out):
    M, T = cfg.past_M, cfg.past_T
    Ns, fitN, infit = _past_grid(cfg)
    theory = _past_theory(cfg)
    floor = cfg.past_noise * M / (2 * (T - M))          # OLS in the M latent coordinates
    fig, ax = plt.subplots(figsize=(6.8, 4.8))
    curves, head, rows = {}, {}, []
    lo, hi, _ = cfg.past_N
    N_lin = np.unique(np.concatenate([np.round(np.geomspace(lo * M, hi * M, 400)), [M]]))  # resolves the drop at M
    N_lin = N_lin[N_lin != T]
    lin = mrs_theory_grid(_past_model(cfg, "linear", 1), N=N_lin).test_loss
    ends = mrs_theory_grid(_past_model(cfg, "linear", 1), N=np.array([M, 2 * M, fitN[-1]])).test_loss
    head["linear"] = {"floor_closed_form": floor, "theory_at_M": float(ends[0]),
                      "ratio_2M_over_M": float(ends[1] / ends[0]),
                      "ratio_end_over_M": float(ends[2] / ends[0]), "N_end": int(fitN[-1])}
    curves["linear"] = {"N": N_lin, "test_loss": lin}
    ax.loglog(N_lin, lin, color="C0", label=f"linear theory: flat at {floor:.2g} for $N \\geq M$ "
              f"($L({fitN[-1]})/L(M) = {ends[2] / ends[0]:.4f}$)")
    for i, act in enumerate(FEATURE_ACTIVATIONS[1:], start=1):
        rs = [theory["curve", act, int(N)] for N in Ns]
        test = np.array([r["test"] for r in rs])
        sem = np.array([r["sem"] for r in rs])
        pop = np.array([r["population"] for r in rs])
        e_N = -_slope(Ns[infit], pop[infit])
        e_shift = -_slope(Ns[infit] - M, pop[infit])
        e_T = -_slope(Ns[infit], test[infit])
        curves[act] = {"N": Ns, "test_loss": test, "test_loss_sem": sem, "population_test_loss": pop}
        ax.loglog(Ns, test, color=f"C{i}", marker=".", ms=4,
                  label=f"{act} theory: L ~ N^-{e_N:.2f} on [{fitN[0]}, {fitN[-1]}] (T -> inf fit)")
        head[act] = {"exponent_N": e_N, "exponent_N_minus_M": e_shift, "exponent_N_finite_T": e_T,
                     "ratio_end_over_M": float(test[Ns == fitN[-1]][0] / test[Ns == M][0]),
                     "theory_at_M": float(test[Ns == M][0]), "theory_at_end": float(test[Ns == fitN[-1]][0])}
    for i, act in enumerate(FEATURE_ACTIVATIONS):
        pts, th_pts = [], []
        for N in _past_sim_N(cfg, act):
            sim = sims[_past_key(cfg, act, N)]
            if act == "linear":
                th = _theory_at(sim)
            else:                                  # draw i uses the U of simulated instance i
                if sim.seed != _job_seed(cfg.seed, _past_key(cfg, act, N)) or sim.seeds != cfg.seeds:
                    raise RuntimeError(f"loss_past_M: the theory's draws of U do not match simulation {sim.seed}")
                th = np.array([theory["at_sim", act, int(N)]["test"]])
            rows += _compare("loss_past_M", sim, th, label=act)
            pts.append((N, float(sim.test_loss[0]), float(sim.test_loss_sem[0])))
            th_pts.append(float(th[0]))
        if pts:
            x, y, s = map(np.array, zip(*pts))
            _errorbar(ax, x, y, s, color=f"C{i}", fmt="o",
                      label=f"simulation ({cfg.seeds} seeds)" if i == 0 else None)
            if act != "linear" and len(pts) >= 2 and np.all(s > 0):
                e, err = _weighted_slope(x, y, s)
                head[act].update(sim_exponent_N=-e, sim_exponent_N_sem=err,
                                 theory_exponent_N_at_sim_points=-_slope(x, th_pts))
    ax.axvline(M, color="grey", lw=0.8, ls="-.", label=f"$N = M = {M}$")
    ax.set_xlabel("$N$ (features)")
    ax.set_ylabel("test loss $\\langle L\\rangle$")
    ax.set_title(f"Model A: loss vs $N$ past $M$ ($M = {M}$, $T = {T}$, $\\alpha = {cfg.alpha:g}$, $\\gamma = 0$, "
                 f"noise ${cfg.past_noise:g}$)", fontsize=10)
    _plain_log_ticks(ax.xaxis)
    _legend_below(ax, ncol=1)
    fig_path = _savefig(fig, out / "features_loss_past_M.png")
    relu, erf, ln = head["relu"], head["erf"], head["linear"]

    def sim_e(h):
        return (f"; on the simulated N (finite T): simulation {_pm(h['sim_exponent_N'], h['sim_exponent_N_sem'])}, "
                f"theory {h['theory_exponent_N_at_sim_points']:.2f}" if "sim_exponent_N" in h else "")

    md = (f"Test loss against N at large T = {T} (ridgeless, label noise {cfg.past_noise:g}, M = {M}, "
          f"alpha = {cfg.alpha:g}); theory lines: `mrs_theory_grid` (linear), `mrs_nonlinear_theory` "
          f"({cfg.past_u_draws} draws of U; relu, erf). **Linear features plateau at N = M**: past M the fit is "
          f"ordinary least squares in the M latent coordinates, L = noise M / (2(T - M)) = {floor:.3g} for every "
          f"N >= M (theory L(2M)/L(M) = {ln['ratio_2M_over_M']:.6f}, L({ln['N_end']})/L(M) = "
          f"{ln['ratio_end_over_M']:.6f}; zero without label noise). **Nonlinear features keep falling**: from "
          f"N = M to {fitN[-1]} the loss drops by a factor {1 / relu['ratio_end_over_M']:.3g} (relu) and "
          f"{1 / erf['ratio_end_over_M']:.3g} (erf). Exponents fitted on the T -> inf theory over N in "
          f"[{fitN[0]}, {fitN[-1]}]: relu **{relu['exponent_N']:.3f}** in N ({relu['exponent_N_minus_M']:.3f} in "
          f"N - M){sim_e(relu)}; erf **{erf['exponent_N']:.3f}** in N ({erf['exponent_N_minus_M']:.3f} in "
          f"N - M){sim_e(erf)}. The prediction L ~ (N - M)^-a_ext (the extended modes set a self-induced ridge "
          f"kappa, and past M the loss is linear in kappa) holds for erf once N >> M, with a_ext the derived "
          f"order-3 product exponent; just past M the slope in N is steepened by N / (N - M). relu's exponent is "
          f"not predicted by its order-2 products. The asymptotic comparison (M = 50, N in [4M, 16M], alpha = 0.5, "
          f"1, 2) is measured in `tests/test_features_claims.py`: erf 1.08 / 1.45 / 2.24 against the derived "
          f"1.04 / 1.39 / 2.08; relu 1.35 / 1.35 / 1.33, independent of alpha.")
    data = {"M": M, "T": T, "noise_var": cfg.past_noise, "fit_N": fitN, "theory": curves, **head}
    return SectionResult(fig_path, data, md, head, rows)
