"""Plumbing shared by the report's sections: configuration, jobs, comparisons, figures."""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from scaling_theory.numerics._exponent_checks import DEFAULT_POINTS as ASYM_DEFAULT_POINTS
from scaling_theory.numerics._models import BAPModel, MRSModel
from scaling_theory.numerics._ridge import mrs_theory_grid


#: Base seed of the report's simulations.
BASE_SEED = 20221031


#: Instances per simulated point by default (``quick``: 2).
DEFAULT_SEEDS = 10


#: BLAS threads during the simulations.  The instances are many small/medium
#: dense factorisations; with more BLAS threads than free cores, OpenBLAS's
#: spinning threads slowed the whole report ~10x on a busy 2-core machine
#: (8 min instead of 45 s), while one thread loses little when the cores are free.
SIM_THREADS = 1


#: A ridgeless point with ``|N/T - 1|`` below this is "near the interpolation
#: peak": shown, but left out of the headline theory-vs-simulation deviation
#: (the tolerance of CONVENTIONS.md applies away from the peak).
NEAR_PEAK = 0.3


@dataclass(frozen=True)
class ReportConfig:
    """Sizes of the report.  :meth:`default` and :meth:`quick` are the two presets."""

    seeds: int
    seed: int
    quick: bool
    alpha: float = 1.0
    M: int = 1000                      # latent dimension of the scaling sections
    scan_sizes: tuple = (300, 1000)     # the fixed T (resp. N) of the scaling curves
    scan_points: tuple = (20, 50, 100, 200, 500)  # simulated N (resp. T); only < 0.7 x fixed size
    peak_T: int = 400
    peak_N: tuple = (100, 200, 300, 350, 380, 420, 450, 500, 600, 800)
    peak_gammas: tuple = (1e-4, 1e-3, 1e-2)
    plateau_M: tuple = (100, 300, 1000)
    #: simulated (M, N/M ratios) of the plateau section (T = plateau_T_over_M * M)
    plateau_sim: tuple = ((100, (0.1, 0.3, 0.6, 1.5, 2.5)), (300, (0.1, 0.3, 0.6, 1.5, 2.5)),
                          (1000, (0.1, 0.3, 0.6)))
    plateau_T_over_M: int = 3
    plateau_noise: float = 1e-5
    dense: int = 80                    # points per theory curve
    # ---- model B (its own alpha: lambda_k = k^-alpha; 2 here = model A's alpha 1)
    bap_alpha: float = 2.0
    bap_beta: float = 0.75
    #: (f) loss curves at P = inf: M, simulated widths, simulated times, theory time range
    bap_M: int = 2000
    bap_N: tuple = (25, 100, 400)
    bap_times: tuple = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0)
    bap_t_range: tuple = (0.1, 1e4)
    #: (g) compute-optimal frontier of the full theory at M = inf: compute grid (lo, hi, count), a
    #: beta > 1 point (alpha, beta), the "realistic" budgets whose pre-asymptotic correction is quoted
    frontier_C: tuple = (1e4, 1e24, 6)
    frontier_beta_above_one: tuple = (1.5, 1.7)
    frontier_realistic: tuple = (1e18, 1e24)
    #: (h) finite-width convergence: M, widths (lo, hi, count), early time (late: t -> inf)
    width_M: int = 20000
    width_N: tuple = (10, 1000, 12)
    width_t_early: float = 1.0
    #: (i) finite P: M, P, widths (simulated and theory), times
    finite_P_M: int = 1000
    finite_P: int = 200
    finite_P_N: tuple = (100, 400)
    finite_P_times: tuple = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0)
    #: (j) ensembles: M, P, member width, ensemble size (vs one model of width E * N)
    ens_M: int = 1000
    ens_P: int = 400
    ens_N: int = 100
    ens_E: int = 4
    ens_times: tuple = (1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0)
    #: instances of the ensemble section, a multiple of ``seeds``: its bias estimate is a difference
    #: of paired losses (10 instances left it 1.6 standard errors, 17 %, from the theory's E -> inf)
    ens_seeds_factor: int = 8
    # ---- model A with nonlinear features
    #: (k) feature spectra: M, N (> M), draws of U behind the exponents' standard errors
    spectrum_M: int = 500
    spectrum_N: int = 2000
    spectrum_draws: int = 3
    #: (l) loss vs N past M: M, T (>> N), label noise (the linear floor), theory N range and
    #: points (multiples of M), simulated N (multiples of M; linear / nonlinear), fit window
    past_M: int = 200
    past_T: int = 8000
    past_noise: float = 1e-8
    past_N: tuple = (0.25, 4.0, 14)
    past_sim: tuple = (1.5, 2.0, 3.0)
    past_sim_linear: tuple = (2.0,)
    past_fit: tuple = (1.5, 4.0)
    past_u_draws: int = 8
    # ---- asymptotics (no simulations)
    #: (m) points (model, alpha, beta) of the derived-vs-measured exponent table; each model's alpha is
    #: its own ("mrs": lambda_I ~ I^-(1+alpha), "bap": lambda_k = k^-alpha); strings are parsed exactly
    asym_points: tuple = ASYM_DEFAULT_POINTS
    #: working precision (decimal digits) of the measurement, and the sizes X of the measured local
    #: log-log slopes (None: 10^4 .. 10^12, every decade)
    asym_dps: int = 30
    asym_sizes: tuple | None = None
    asym_resolution: int = 200          # grid of the model-B phase map (per axis)

    @classmethod
    def default(cls, seeds=None, seed=BASE_SEED):
        return cls(seeds=DEFAULT_SEEDS if seeds is None else seeds, seed=seed, quick=False)

    @classmethod
    def quick_preset(cls, seeds=None, seed=BASE_SEED):
        return cls(seeds=2 if seeds is None else seeds, seed=seed, quick=True, M=200,
                   scan_sizes=(60,), scan_points=(10, 30), peak_T=60, peak_N=(30, 90),
                   peak_gammas=(1e-3,), plateau_M=(50, 100), plateau_sim=((50, (0.4, 2.0)),),
                   dense=30, bap_M=200, bap_N=(10, 40), bap_times=(1.0, 10.0, 100.0),
                   frontier_C=(1e6, 1e12, 2), width_M=2000, width_N=(10, 100, 5),
                   finite_P_M=150, finite_P=40, finite_P_N=(20, 100),
                   finite_P_times=(1.0, 10.0, 100.0, 1000.0), ens_M=150, ens_P=60, ens_N=15, ens_E=4,
                   ens_times=(1.0, 100.0, 10000.0), ens_seeds_factor=1, spectrum_M=40, spectrum_N=120, spectrum_draws=2,
                   past_M=30, past_T=1200, past_N=(0.5, 4.0, 8), past_sim=(2.0,), past_sim_linear=(2.0,),
                   past_u_draws=4,
                   # (m): the report's own exponents (model A alpha 1; model B alpha 2, beta 0.75)
                   asym_points=(("mrs", "1", None), ("bap", "2", "0.75")), asym_dps=20,
                   asym_sizes=(10**4, 10**6, 10**8, 10**10), asym_resolution=120)

    def model(self, **kw) -> MRSModel:
        base = dict(M=self.M, alpha=self.alpha, N=1, T=1)
        base.update(kw)
        return MRSModel(**base)

    def bap(self, **kw) -> BAPModel:
        """A model-B model with the report's exponents (``P = inf`` unless given)."""
        base = dict(M=self.bap_M, alpha=self.bap_alpha, beta=self.bap_beta, N=1, P=math.inf)
        base.update(kw)
        return BAPModel(**base)


@dataclass(frozen=True)
class SimJob:
    """One simulated point: a model and the ridges evaluated on its instances
    (model A), or the times of its loss curve (model B)."""

    key: str
    model: MRSModel | BAPModel
    gammas: tuple = (0.0,)
    times: tuple = ()
    #: seeds derive from this key (default ``key``): jobs sharing it share their data
    seed_key: str | None = None
    #: instances of this job (default: the report's ``seeds``)
    seeds: int | None = None


@dataclass
class SectionResult:
    """What a section produced: figure, data, markdown, headline numbers and
    the theory-vs-simulation rows of its simulated points."""

    figure: Path | None
    data: dict
    markdown: str
    headline: dict = field(default_factory=dict)
    comparisons: list = field(default_factory=list)


@dataclass(frozen=True)
class Section:
    """A part of the report: ``plan(cfg)`` lists its simulations, ``build(cfg,
    sims, out_dir)`` makes its :class:`SectionResult` (``sims`` maps every
    job key of the whole report to its :class:`~scaling_theory.numerics._simulate_ridge.MRSSimulation`);
    ``tasks(cfg)`` (optional) lists other long computations ``(key, fn, args)`` that run as tasks
    beside the simulations, kept in the report's store under ``key``; ``build`` gets their
    results from the store through the executor set by ``_parallel.using``."""

    name: str
    title: str
    plan: Callable
    build: Callable
    tasks: Callable | None = None


def _job_seed(base: int, key: str) -> int:
    ss = np.random.SeedSequence([int(base), zlib.crc32(key.encode())])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def _finite(x):
    """Non-finite floats as strings (valid JSON), numpy scalars as Python."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, np.ndarray):
        return _finite(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(x, Path):
        return str(x)
    return x


def _compare(section, sim, theory_test, *, label="") -> list:
    """Rows comparing a simulation (all its ridges) with the theory."""
    rows = []
    m = sim.model
    for j, g in enumerate(sim.gammas):
        th = float(theory_test[j])
        mean, sem = float(sim.test_loss[j]), float(sim.test_loss_sem[j])
        near = (g == 0) and abs(m.N / m.T - 1) < NEAR_PEAK and min(m.N, m.T) < m.M
        rows.append({
            "section": section, "label": label, "M": m.M, "N": m.N, "T": m.T, "gamma": float(g),
            "noise_var": float(m.noise_var), "theory": th, "simulation": mean, "sem": sem,
            "deviation_sem": (mean - th) / sem if sem > 0 else float("nan"),
            "deviation_rel": (mean - th) / th if th > 0 and math.isfinite(th) else float("nan"),
            "seeds": sim.seeds, "seed": sim.seed, "near_peak": bool(near),
        })
    return rows


def _theory_at(sim) -> np.ndarray:
    g = mrs_theory_grid(sim.model, gamma=np.asarray(sim.gammas, dtype=float))
    return np.atleast_1d(g.test_loss)


def _errorbar(ax, x, y, sem, **kw):
    y = np.asarray(y, float)
    sem = np.asarray(sem, float)
    lower = np.minimum(sem, 0.9 * y)  # log axes: keep the lower bar positive
    ax.errorbar(x, y, yerr=[lower, sem], fmt=kw.pop("fmt", "o"), ms=4, capsize=2, **kw)


#: Okabe & Ito's colour-blind-safe palette (black last): the report's colour cycle, so that
#: ``"C0"``, ``"C1"``, ... in the sections are these colours.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


#: The report's matplotlib style (applied by :func:`figure_style` around the sections).
STYLE = {
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "axes.grid": True, "grid.alpha": 0.25, "grid.linewidth": 0.6,
    "axes.titlesize": 10, "axes.labelsize": 10, "legend.fontsize": 8, "legend.framealpha": 0.85,
    "xtick.labelsize": 9, "ytick.labelsize": 9, "lines.linewidth": 1.4, "lines.markersize": 4,
    "figure.dpi": 100,
    "mathtext.fontset": "dejavusans",
}


#: Raster resolution and the vector format written beside every PNG (``None``: PNG only);
#: set for one report by :func:`figure_style`.
FIGURES = {"dpi": 150, "vector": "pdf"}


#: Vector formats a report can add beside its PNGs.
VECTOR_FORMATS = ("pdf", "svg")


class figure_style:
    """Context: the report's style, and ``dpi`` / ``vector`` for every :func:`_savefig` inside."""

    def __init__(self, dpi=150, vector="pdf"):
        if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not 30 <= dpi <= 1200:
            raise ValueError(f"dpi must be a number in [30, 1200], got {dpi!r}")
        if vector is not None and vector not in VECTOR_FORMATS:
            raise ValueError(f"vector must be one of {', '.join(VECTOR_FORMATS)} or None, got {vector!r}")
        self.options = {"dpi": dpi, "vector": vector}

    def __enter__(self):
        self._saved = dict(FIGURES)
        FIGURES.update(self.options)
        self._rc = matplotlib.rc_context(STYLE)
        self._rc.__enter__()
        return self

    def __exit__(self, *exc):
        self._rc.__exit__(*exc)
        FIGURES.clear()
        FIGURES.update(self._saved)
        return False


def _color(i):
    """The ``i``-th colour of the report's palette."""
    return PALETTE[i % len(PALETTE)]


def _savefig(fig, path):
    """Write ``fig`` to ``path`` (PNG at the report's dpi) and, beside it, its vector twin
    (same name, ``.pdf`` or ``.svg``); returns ``path``."""
    fig.tight_layout()
    fig.savefig(path, dpi=FIGURES["dpi"])
    if FIGURES["vector"]:
        fig.savefig(Path(path).with_suffix("." + FIGURES["vector"]))
    plt.close(fig)
    return path


def _plain_log_ticks(axis):
    """Ticks of a log ``axis`` spanning less than about three decades at 1, 2, 5 x 10^k, labelled as
    plain numbers (``50``, ``200``), with no minor labels (no ``6 x 10^1``)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _legend_below(ax, ncol=2, fontsize=7):
    """The legend under the axes, so that it covers no data."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=ncol, fontsize=fontsize, frameon=False)


def _slope(x, y):
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def _dense(lo, hi, n):
    return np.unique(np.round(np.logspace(np.log10(lo), np.log10(hi), n)))


#: Model-B theory values below this fraction of L(0) are not compared (the
#: CONVENTIONS.md: exponentially small late-time losses are beyond double precision).
BAP_FLOOR = 1e-8


def _logspace(lo, hi, n):
    return np.logspace(np.log10(lo), np.log10(hi), int(n))


def _positive(y):
    """For log axes: non-positive (or non-finite) values as NaN."""
    y = np.asarray(y, dtype=float)
    return np.where(np.isfinite(y) & (y > 0), y, np.nan)


def _compare_bap(section, sim, theory, *, which="test", label="") -> list:
    """Rows comparing a model-B simulation with the theory at the simulated times."""
    m = sim.model
    L0 = float(m.eigenvalues() @ m.target() ** 2)
    near = (not math.isinf(m.P)) and abs(m.N / m.P - 1) < NEAR_PEAK
    mean_all, sem_all = getattr(sim, f"{which}_loss"), getattr(sim, f"{which}_loss_sem")
    rows = []
    for t, th, mean, sem in zip(sim.times, np.asarray(theory, dtype=float), mean_all, sem_all):
        th, mean, sem = float(th), float(mean), float(sem)
        if not (math.isfinite(th) and th > BAP_FLOOR * L0 and sem > 0 and mean > 0):
            continue
        rows.append({
            "section": section, "label": label, "M": m.M, "N": m.N, "P": m.P, "t": float(t),
            "ensemble": m.ensemble, "loss": which, "noise_var": float(m.noise_var),
            "theory": th, "simulation": mean, "sem": sem,
            "deviation_sem": (mean - th) / sem, "deviation_rel": (mean - th) / th,
            "seeds": sim.seeds, "seed": sim.seed, "near_peak": bool(near), "model": "B",
        })
    return rows


def _pm(mean, sem, spec=".2f"):
    return "n/a" if not math.isfinite(mean) else f"{mean:{spec}} ± {sem:{spec}}"


def _fmt(x, spec=".3g"):
    return format(x, spec) if isinstance(x, (int, float)) and math.isfinite(x) else str(x)
