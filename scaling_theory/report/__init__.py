"""The reproduction report: theory curves against finite simulations.

:func:`reproduce` writes a folder with figures (PNG), the data behind every
curve and every simulated point (``report.json``, ``comparisons.csv``) and a
``summary.md`` that states what was reproduced.

The package holds one module per group of sections: :mod:`.ridge` (model A,
sections (a)-(e)), :mod:`.flow` (model B, (f)-(j)), :mod:`.features`
(nonlinear features, (k)-(l)) and :mod:`.asymptotics` ((m)); :mod:`._common`
has the configuration, the jobs and the comparison and figure helpers; this
module runs the sections and writes the report atomically.

The report is a list of :class:`Section` objects (:data:`SECTIONS`).  A
section *plans* the simulations it needs (:class:`SimJob`) and then *builds*
its figure, data and text from the theory and the finished simulations.  All
simulations of all sections (and the sections' other long computations) run
first, under one progress bar, then the builds, each a task on the same
executor; later issues add figures by appending sections.  Sections (a)-(e) are model A
(ridge regression, :func:`~scaling_theory.numerics.mrs_theory_grid` against
:func:`~scaling_theory.numerics.simulate_mrs`); sections (f)-(j) are model B (gradient
flow, :func:`~scaling_theory.numerics.bap_theory` against :func:`~scaling_theory.numerics.simulate_bap`);
sections (k)-(l) are model A with nonlinear features (the spectra of
:func:`scaling_theory.numerics._feature_spectra.feature_spectrum`, and the loss past ``N = M`` from
:func:`scaling_theory.numerics._ridge_nonlinear.mrs_nonlinear_theory` against
:func:`~scaling_theory.numerics.simulate_mrs`).  Section (m) simulates nothing: it draws the
phase diagram of the asymptotics engine (:mod:`scaling_theory.theory._asymptotics`,
:func:`scaling_theory.numerics._exponent_checks.phase_diagram_figure`) and tabulates the derived
exponents and prefactors of both models against the ones measured from the
high-precision numerics deep in the asymptotic regime
(:func:`scaling_theory.numerics._exponent_checks.exponent_table`).
Model B's exponent ``alpha`` is its own (``lambda_k = k^-alpha``): the report
uses ``bap_alpha = 2``, which is model A's ``alpha = 1`` (``alpha_B = 1 + alpha_A``).

Every simulation seed is derived from the base seed and the job's key
(``SeedSequence([seed, crc32(key)])``), so the report is reproducible and a
job's numbers do not depend on which other jobs run.
"""
from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")

from scaling_theory.numerics._models import BAPModel

from ._common import (FIGURES, ReportConfig, SimJob, SectionResult, Section, _job_seed, _finite, _pm, figure_style,
                      _fmt)
from .ridge import (_scaling_plan, _scaling_build, _duality_build, _peak_plan, _peak_build, _plateau_plan,
                    _plateau_build)
from .flow import (_bap_loss_plan, _bap_loss_build, _bap_frontier_build, _bap_frontier_tasks, _bap_width_build, _bap_finite_P_plan,
                   _bap_finite_P_build, _bap_ensemble_plan, _bap_ensemble_build)
from .features import (FEATURE_ACTIVATIONS, _EXT_ORDER, _spectra_build, _spectra_tasks, _past_plan, _past_build,
                       _past_tasks)
from .asymptotics import (_digits_str, _asymptotics_build, _asymptotics_tasks)

__all__ = ["reproduce", "ReportConfig", "Section", "SimJob", "SectionResult", "SECTIONS", "section_names",
           "select_sections", "figure_style"]




#: The sections of the report, in order.  Append to add figures.
SECTIONS = [
    Section("scaling_N", "(a) Scaling with the number of features N", _scaling_plan("N"), _scaling_build("N")),
    Section("scaling_T", "(b) Scaling with the number of samples T", _scaling_plan("T"), _scaling_build("T")),
    Section("peak", "(c) Interpolation peak and optimal ridge", _peak_plan, _peak_build),
    Section("plateau", "(d) Breakdown and plateau as N approaches M", _plateau_plan, _plateau_build),
    Section("duality", "(e) Duality N <-> T",            # pairs the simulations of (a) and (b)
            lambda cfg: _scaling_plan("N")(cfg) + _scaling_plan("T")(cfg), _duality_build),
    Section("bap_loss", "(f) Model B: loss curves L(t) at P = inf", _bap_loss_plan, _bap_loss_build),
    Section("bap_compute_optimal", "(g) Model B: compute-optimal frontier", lambda cfg: [], _bap_frontier_build,
            _bap_frontier_tasks),
    Section("bap_width", "(h) Model B: finite-width convergence", lambda cfg: [], _bap_width_build),
    Section("bap_finite_P", "(i) Model B: train vs test loss at finite P", _bap_finite_P_plan,
            _bap_finite_P_build),
    Section("bap_ensemble", "(j) Model B: ensembles vs one wider model", _bap_ensemble_plan,
            _bap_ensemble_build),
    Section("feature_spectra", "(k) Nonlinear features: spectra extend past M", lambda cfg: [], _spectra_build,
            _spectra_tasks),
    Section("loss_past_M", "(l) Nonlinear features: loss vs N past M", _past_plan, _past_build, _past_tasks),
    Section("asymptotics", "(m) Asymptotics: phase diagram and derived vs measured exponents", lambda cfg: [],
            _asymptotics_build, _asymptotics_tasks),
]


#: The report's store of simulated instances (inside the report folder).
STORE_FILE = "simulations.sqlite"


def _apply(fn, args):
    return fn(*args)


def _prefetch(seen, extra, cfg, executor, progress):
    """Run every instance of every planned simulation, and the sections' other long tasks
    (``extra``: ``(key, fn, args)``, submitted first: they are the longest), as one flat list
    of tasks on ``executor``, whose cache (the report's store) keeps each as it finishes."""
    from scaling_theory.numerics._seeds import _seeded, instance_key
    from scaling_theory.numerics._simulate_flow import simulation_plan as plan_b
    from scaling_theory.numerics._simulate_ridge import simulation_plan as plan_a

    args = [(fn, a) for _, fn, a in extra]
    keys = [k for k, _, _ in extra]
    for key, job in seen.items():
        m = job.model
        _, _, instance, skey = (plan_b(m, list(job.times)) if isinstance(m, BAPModel)
                                else plan_a(m, list(job.gammas)))
        seed = _job_seed(cfg.seed, job.seed_key or key)
        for i, child in enumerate(np.random.SeedSequence(seed).spawn(job.seeds or cfg.seeds)):
            args.append((_seeded, (instance, child)))
            keys.append(instance_key(skey, seed, i))
    for _ in executor.map(_apply, args, keys=keys, progress=progress, desc="report simulations"):
        pass


def _run_jobs(jobs, cfg, progress, workers=0, store=None, extra=()):
    """The simulations of the planned jobs: first every instance (and the ``extra`` tasks) on
    ``workers``, prefetched into ``store``, then each simulation from the store, so the numbers
    are those of a serial run."""
    from scaling_theory.numerics import simulate_bap, simulate_mrs
    from scaling_theory.numerics._parallel import Executor

    sims, seen, job_times = {}, {}, {}
    for job in jobs:  # a key may be planned by several sections: simulate it once
        seen.setdefault(job.key, job)
    t0 = time.perf_counter()
    if store is not None and (seen or extra):
        if isinstance(workers, Executor):
            _prefetch(seen, list(extra), cfg, workers, progress)
        else:
            with Executor(workers, cache=store) as ex:
                _prefetch(seen, list(extra), cfg, ex, progress)
    cached = Executor(0, cache=store)
    for key, job in seen.items():
        m = job.model
        t1 = time.perf_counter()
        seed = _job_seed(cfg.seed, job.seed_key or key)
        seeds = job.seeds or cfg.seeds
        if isinstance(m, BAPModel):
            sims[key] = simulate_bap(m, list(job.times), seeds=seeds, seed=seed, workers=cached)
        else:
            sims[key] = simulate_mrs(m, seeds=seeds, seed=seed, gammas=list(job.gammas), workers=cached)
        job_times[key] = time.perf_counter() - t1
    return sims, time.perf_counter() - t0, job_times


def _stats(rows):
    far = [r for r in rows if not r["near_peak"]]
    z = [abs(r["deviation_sem"]) for r in far if math.isfinite(r["deviation_sem"])]
    rel = [abs(r["deviation_rel"]) for r in far if math.isfinite(r["deviation_rel"])]
    return {"points": len(rows), "points_away_from_peak": len(far),
            "max_abs_deviation_sem": max(z, default=float("nan")),
            "max_abs_deviation_percent": 100 * max(rel, default=float("nan")),
            "within_3sem_or_3pct": sum(1 for r in far if abs(r["deviation_sem"]) <= 3
                                       or abs(r["deviation_rel"]) <= 0.03)}


def section_names() -> list:
    """Names of the report's sections, in order (``reproduce(only=...)``, ``reproduce --only``)."""
    return [s.name for s in SECTIONS]


def select_sections(only) -> list:
    """The sections named in ``only`` (names of :data:`SECTIONS` or their letters ``a``..``m``),
    in report order; ``ValueError`` naming ``only`` and the allowed names otherwise."""
    if isinstance(only, str):
        only = [only]
    names = section_names()
    letters = {s.title[1]: s.name for s in SECTIONS if s.title.startswith("(")}
    wanted = []
    for item in only:
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            name = letters.get(part, part)
            if name not in names:
                raise ValueError(f"only: unknown section {part!r}; choose from {', '.join(names)} "
                                 f"(or their letters a..{max(letters)})")
            wanted.append(name)
    if not wanted:
        raise ValueError(f"only: name at least one section ({', '.join(names)})")
    return [s for s in SECTIONS if s.name in wanted]


def reproduce(out_dir, *, seeds=None, quick=False, progress=True, sections=None, workers=None,
              resume=False, only=None, dpi=150, vector="pdf") -> dict:
    """Run the report and write it to ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Folder to write (created; existing files of the same names replaced).
        The report is built in a staging folder inside it and moved into place
        at the end, ``summary.md`` last (an older ``summary.md`` is removed
        first): a report with a ``summary.md`` is complete, whatever happened
        to the run (see :func:`report_is_complete`).
    seeds : int, optional
        Instances per simulated point (default 10, ``quick``: 2).
    quick : bool
        Tiny sizes (a few seconds), for tests.
    progress : bool
        One ``tqdm`` bar (stderr) over the simulations.
    sections : list of Section, optional
        Default :data:`SECTIONS`.
    only : str or list of str, optional
        Run only these sections (names or letters, see :func:`section_names`); the summary and
        JSON then cover just them.  Exclusive with ``sections``.
    dpi : number in [30, 1200]
        Resolution of the PNG figures (default 150).
    vector : {"pdf", "svg", None}
        Vector twin written beside every PNG (default ``"pdf"``; ``None``: PNG only).
    workers : int >= 0, optional
        The simulations' instances, the sections' long computations and then the sections'
        builds run as tasks of the sweep engine: ``0`` serially, ``K`` on a local Dask cluster
        of ``K`` processes (default: one per core; serial with ``quick``, whose tiny tasks cost
        less than starting the cluster: 14 s against 26 s).  The numbers do not depend on it
        (one BLAS thread per task, seeds per instance).
    resume : bool
        Keep the instances already in ``out_dir/simulations.sqlite`` (written as each finishes,
        so a killed run loses nothing) and run only the missing ones; otherwise start afresh.

    Returns
    -------
    dict with ``out_dir``, ``summary``, ``json``, ``csv``, ``figures`` (paths),
    ``headline`` (per-section numbers and the overall theory-vs-simulation
    deviation) and ``timings`` (seconds).
    """
    t_start = time.perf_counter()
    if only is not None:
        if sections is not None:
            raise ValueError("only: give either only or sections, not both")
        sections = select_sections(only)
    style = figure_style(dpi, vector)              # checks dpi and vector before any work
    cfg = ReportConfig.quick_preset(seeds) if quick else ReportConfig.default(seeds)
    if workers is None and quick:
        workers = 0
    if isinstance(cfg.seeds, bool) or not isinstance(cfg.seeds, int) or cfg.seeds < 2:
        raise ValueError(f"seeds must be an integer >= 2, got {cfg.seeds!r}")
    final = prepare_out_dir(out_dir)
    from scaling_theory.sweeps import Store

    store_file = final / STORE_FILE
    if not resume:
        for suffix in ("", "-wal", "-shm"):
            Path(str(store_file) + suffix).unlink(missing_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".partial-", dir=final))
    try:
        with Store(store_file) as store:
            with style:
                r = _reproduce_into(stage, cfg, SECTIONS if sections is None else sections, progress,
                                    t_start, workers, store)
        _publish(stage, final)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    moved = lambda p: final / Path(p).name  # noqa: E731
    return {**r, "out_dir": final, "json": moved(r["json"]), "csv": moved(r["csv"]),
            "summary": moved(r["summary"]), "figures": [moved(f) for f in r["figures"]],
            "vector_figures": [moved(Path(f).with_suffix("." + vector)) for f in r["figures"]] if vector else []}


def prepare_out_dir(out_dir) -> Path:
    """The report folder, created if needed; ``ValueError`` naming ``out`` when it cannot be
    (empty name, an existing file, no permission, a read-only or pseudo file system)."""
    if out_dir is None or not str(out_dir).strip():
        raise ValueError("out must name a folder, got an empty name")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-", delete=True)
        probe.close()
    except OSError as exc:
        raise ValueError(f"out: cannot write the folder {out}: {exc.strerror or exc}") from None
    return out


def report_is_complete(out_dir) -> bool:
    """True when ``out_dir`` holds a complete report (its ``summary.md`` is written last)."""
    return (Path(out_dir) / "summary.md").is_file()


def _publish(stage: Path, final: Path) -> None:
    """Move the staged report into ``final``: the old summary goes first, the new one last,
    each file by an atomic rename (same file system)."""
    (final / "summary.md").unlink(missing_ok=True)
    files = sorted(p for p in stage.iterdir() if p.is_file() and p.name != "summary.md")
    for p in files:
        os.replace(p, final / p.name)
    os.replace(stage / "summary.md", final / "summary.md")


def _reproduce_into(out, cfg, sections, progress, t_start, workers=0, store=None) -> dict:
    t0 = time.perf_counter()
    jobs = [job for s in sections for job in s.plan(cfg)]
    extra = [t for s in sections if s.tasks is not None for t in s.tasks(cfg)]
    t_plan = time.perf_counter() - t0
    from scaling_theory.numerics._parallel import Executor

    # one executor for the whole report: the simulations and the sections' tasks first, then
    # the sections themselves, each a task (its theory curves, its figure), which read the
    # tasks' results from the store
    with Executor(workers, cache=store) as ex:
        sims, t_sim, job_times = _run_jobs(jobs, cfg, progress, ex, store, extra)
        timings = {"plan": t_plan, "simulations": t_sim}
        built, seconds_of = {}, {}
        style = {"dpi": FIGURES["dpi"], "vector": FIGURES["vector"]}
        args = [(s, cfg, sims, out, None if store is None else store.file, style) for s in sections]
        t0 = time.perf_counter()
        with _section_bar(sections, progress) as bar:
            for i, (res, seconds) in ex.map(_build_section, args, progress=False):
                built[sections[i].name], seconds_of[sections[i].name] = res, seconds
                bar.set_description_str(f"report section {_letter(sections[i])} ({sections[i].name}) done")
                bar.update(1)
        results = {s.name: built[s.name] for s in sections}
        timings.update({s.name: seconds_of[s.name] for s in sections})
        timings["sections (all, wall clock)"] = time.perf_counter() - t0
    rows = [r for res in results.values() for r in res.comparisons]
    overall = _stats(rows)
    by_model = {name: _stats([r for r in rows if (r.get("model") == "B") == (name == "B")])
                for name in ("A", "B") if any((r.get("model") == "B") == (name == "B") for r in rows)}
    timings["total"] = time.perf_counter() - t_start

    paths = {"json": out / "report.json", "csv": out / "comparisons.csv", "summary": out / "summary.md"}
    headline = {"theory_vs_simulation": overall, "theory_vs_simulation_by_model": by_model,
                **{name: res.headline for name, res in results.items()}}
    payload = {
        "generated_by": "scaling-theory reproduce (scaling_theory.report.reproduce)",
        "config": cfg.__dict__,
        "headline": headline,
        "sections": {name: {"title": s.title, "figure": res.figure and res.figure.name, "data": res.data}
                     for s, (name, res) in zip(sections, results.items())},
        "simulations": {k: {**v.to_dict(), "seconds": job_times[k]} for k, v in sims.items()},
        "comparisons": rows,
        "timings_s": timings,
    }
    paths["json"].write_text(json.dumps(_finite(payload), indent=1) + "\n", encoding="utf-8")
    if rows:
        with paths["csv"].open("w", newline="", encoding="utf-8") as f:
            fields = list(dict.fromkeys(k for r in rows for k in r))  # model A and B columns
            w = csv.DictWriter(f, fieldnames=fields, restval="")
            w.writeheader()
            w.writerows(rows)
    else:
        paths["csv"].write_text("", encoding="utf-8")
    paths["summary"].write_text(_summary(cfg, sections, results, overall, timings, len(sims), by_model),
                                encoding="utf-8")
    figures = [res.figure for res in results.values() if res.figure is not None]
    return {"out_dir": out, **paths, "figures": figures, "headline": _finite(headline),
            "timings": timings}


def _letter(section):
    return section.title.split(")")[0].strip("(")


def _build_section(section, cfg, sims, out, store_file, style):
    """One section's build, as a task of the report's executor (in a worker or in this process):
    under the report's figure style, with the tasks' results read from the store at
    ``store_file`` (nested parallel work, such as the draws of ``U`` of the nonlinear theory,
    runs serially here, from that store).  Returns ``(SectionResult, seconds)``."""
    from scaling_theory.numerics._parallel import Executor, using

    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        store = None
        if store_file is not None:
            from scaling_theory.sweeps import Store

            store = stack.enter_context(Store(store_file))
        stack.enter_context(figure_style(style["dpi"], style["vector"]))
        stack.enter_context(using(Executor(0, cache=store)))
        res = section.build(cfg, sims, Path(out))
    return res, time.perf_counter() - t0


def _section_bar(sections, progress):
    """A ``tqdm`` bar over the sections (their theory curves and figures), naming the last one done."""
    from tqdm.auto import tqdm

    return tqdm(total=len(sections), disable=not progress, unit="section", leave=True,
                bar_format="{desc}: {n_fmt}/{total_fmt} [{elapsed}]")


def _summary(cfg, sections, results, overall, timings, n_sims, by_model=None):
    by_model = by_model or {}
    has_b = any(name.startswith("bap_") for name in results)
    lines = [
        "# Reproduction report: solvable models of neural scaling laws",
        "",
        "Generated by `scaling-theory reproduce`" + (" --quick" if cfg.quick else "") + ". "
        "Theory: the derived deterministic equivalent of model A (Maloney, Roberts & Sully, "
        "arXiv:2210.16859), evaluated in double precision. Simulations: random-feature ridge "
        f"regression on power-law Gaussian data, {cfg.seeds} instances per point, seeds derived "
        f"from base seed {cfg.seed}. Data: `report.json`, `comparisons.csv`."
        + (" Model B (Bordelon, Atanasov & Pehlevan, arXiv:2402.01092): gradient flow of random features, "
           "theory from the derived one-point (P = inf) and finite-P equivalents (`bap_theory`), simulated "
           f"exactly (`simulate_bap`); its exponent is its own, lambda_k = k^-alpha with alpha = "
           f"{cfg.bap_alpha:g} (model A's alpha {cfg.bap_alpha - 1:g}), beta = {cfg.bap_beta:g}."
           if has_b else ""),
        "",
        "## Headline",
        "",
        "| quantity | derived | fitted on the theory | note |",
        "| --- | --- | --- | --- |",
    ]
    for name in ("scaling_N", "scaling_T"):
        if name in results:
            h = results[name].headline
            ax = name[-1]
            lines.append(f"| exponent of L in {ax} | {h['derived_exponent']:g} | "
                         f"{h['fitted_slope_asymptotic']:.4f} | |")
    if "bap_loss" in results:
        h = results["bap_loss"].headline
        lines.append(f"| model B: exponent of L in t (N = P = inf) | {h['derived_exponent_t']:g} | "
                     f"{h['fitted_slope_t']:.4f} | |")
    if "bap_compute_optimal" in results:
        h = results["bap_compute_optimal"].headline
        for k, what in (("L", "L*"), ("N", "N*"), ("t", "t*")):
            lines.append(f"| model B: compute-optimal exponent of C in {what} | {h['derived'][k]:.4g} | "
                         f"{h['fitted'][k]:.4f} (full theory at C = {h['fitted_at_C']:.0e}) | |")
        o = h["beta_above_one"]
        for k, what in (("L", "L*"), ("N", "N*")):
            lines.append(f"| model B, beta = {o['beta']:g} > 1: exponent of C in {what} (with the 1/N term; "
                         f"additive form {o['derived'][k]:.4g}) | {o['derived_width'][k]:.4g} | "
                         f"{o['local'][k]:.4f} (full theory at C = {o['at_C']:.0e}) | the additive form "
                         "leaves out the finite-width transient; see (g) |")
    if "bap_width" in results:
        h = results["bap_width"].headline
        lines.append(f"| model B: L(t, N) - L(t, inf) vs N, early (t = {h['t_early']:g}) | -1 (first order) | "
                     f"{h['fitted_slope_early']:.4f} | |")
        lines.append(f"| model B: L(t, N) - L(t, inf) vs N, late (t = inf) | {h['derived_slope_late']:g} | "
                     f"{h['fitted_slope_late']:.4f} | |")
    if "bap_ensemble" in results:
        h = results["bap_ensemble"].headline
        lines.append(f"| model B: late-time winner, ensemble vs one wide model | - | {h['winner_late']} | "
                     f"simulated, {h['seeds']} paired seeds |")
        lines.append(f"| model B: infinite-ensemble limit (bias of width {results['bap_ensemble'].data['N']}) at "
                     f"t = {h['t_late']:g} | {h['bias_theory_late']:.4g} (theory) | "
                     f"{_pm(h['bias_late'], h['bias_late_sem'], '.3g')} (estimated from the simulations) | "
                     f"{h['bias_deviation_sem']:+.1f} sem |")
    if "feature_spectra" in results:
        h = results["feature_spectra"].headline
        lat = " / ".join(_pm(h[a]["latent_exponent"], h[a]["latent_exponent_sem"], ".3f") for a in FEATURE_ACTIVATIONS)
        lines.append(f"| feature spectrum: latent exponent, linear / relu / erf | 1 + alpha = {1 + cfg.alpha:g} | {lat} | "
                     "fitted on the spectrum of one N x N kernel per draw; relu's mean mode and order-2 products "
                     "flatten its top |")
        lines.append(f"| feature spectrum: rank of linear features | M = {cfg.spectrum_M} | {h['linear']['extent']} | |")
        for a in _EXT_ORDER:
            lines.append(f"| feature spectrum: extended exponent (in k - M), {a} | "
                         f"{_fmt(h[a]['derived_extended_exponent'], '.3f')} (order-{_EXT_ORDER[a]} products) | "
                         f"{_pm(h[a]['extended_exponent'], h[a]['extended_exponent_sem'], '.3f')} | **a reference, "
                         "not a prediction**: the mean-field products leave out the finite-N distortion and "
                         "higher Hermite orders; the two are not expected to agree (see (k)) |")
    if "loss_past_M" in results:
        h = results["loss_past_M"].headline
        lines.append(f"| linear features: L({h['linear']['N_end']}) / L(M) at T = {cfg.past_T} | 1 (plateau) | "
                     f"{h['linear']['ratio_end_over_M']:.6f} | |")
        for a in _EXT_ORDER:
            sim = (f"; at the simulated N: simulation {_pm(h[a]['sim_exponent_N'], h[a]['sim_exponent_N_sem'], '.2f')}, "
                   f"theory {h[a]['theory_exponent_N_at_sim_points']:.2f}" if "sim_exponent_N" in h[a] else "")
            lines.append(f"| {a} features: exponent of L in N past M (T -> inf) | - | "
                         f"{h[a]['exponent_N']:.3f} (in N - M: {h[a]['exponent_N_minus_M']:.3f}){sim} | |")
    if "asymptotics" in results:
        h = results["asymptotics"].headline
        models = " and ".join(sorted(h["min_exponent_digits_by_model"]))
        lines.append(f"| asymptotic exponents: min agreeing digits, derived vs measured ({h['rows']} rows, "
                     f"{h['points']} points, model {models}) | engine (sympy, exact) | "
                     f"{_digits_str(h['min_exponent_digits'], h['dps'])} digits (working precision {h['dps']}) | |")
        if h["min_prefactor_digits"] is not None:
            lines.append(f"| asymptotic prefactors: min agreeing digits, derived vs measured "
                         f"({h['prefactor_rows']} rows) | engine (sympy, exact) | "
                         f"{_digits_str(h['min_prefactor_digits'], h['dps'])} digits | |")
    lines += [
        "",
        f"Theory vs simulation over {overall['points_away_from_peak']} simulated points away from the "
        f"interpolation peak ({overall['points']} in all): max |deviation| = "
        f"**{_fmt(overall['max_abs_deviation_sem'], '.2f')} sem**, "
        f"**{_fmt(overall['max_abs_deviation_percent'], '.2f')} %**; "
        f"{overall['within_3sem_or_3pct']} of {overall['points_away_from_peak']} within "
        "max(3 sem, 3 %) (the tolerance of CONVENTIONS.md, 'Theory against simulation'; it is stated for "
        "M >= 1000 and N, T >= 100, so smaller points may exceed it by finite-size corrections O(1/N + 1/T)).",
        "",
    ]
    if cfg.quick:
        lines += ["**Quick sizes.** This is `--quick`: M, N, T of a few tens, two instances per point. "
                  "Finite-size corrections O(1/N + 1/T) are tens of percent at these sizes and two instances "
                  "give a poor standard error, so large deviations here are expected and say nothing about "
                  "the theory; run without `--quick` for the check at the tolerance's sizes.", ""]
    if len(by_model) > 1:
        for name, st in by_model.items():
            lines += [f"- model {name}: {st['points_away_from_peak']} points away from the peak, max |deviation| "
                      f"{_fmt(st['max_abs_deviation_sem'], '.2f')} sem, {_fmt(st['max_abs_deviation_percent'], '.2f')} %; "
                      f"{st['within_3sem_or_3pct']} within max(3 sem, 3 %)."]
        lines += ["", "Model B compares the test loss (and, at finite P, the train loss) at every simulated "
                  "time with theory above 1e-8 L(0); the tolerance needs N, P >= 100 (>= 400 for "
                  "beta >= 2), so smaller widths show the O(1/N) finite-size corrections.", ""]
    for s in sections:
        res = results[s.name]
        lines += [f"## {s.title}", "", res.markdown, ""]
        if res.comparisons:
            st = _stats(res.comparisons)
            lines += [f"Simulated points: {st['points']} ({st['points_away_from_peak']} away from the peak); "
                      f"max |deviation| {_fmt(st['max_abs_deviation_sem'], '.2f')} sem, "
                      f"{_fmt(st['max_abs_deviation_percent'], '.2f')} %.", ""]
        if res.figure is not None:
            lines += [f"![{s.title}]({res.figure.name})", ""]
    lines += ["## Timings", "", "| step | seconds |", "| --- | --- |"]
    lines += [f"| {k} | {v:.1f} |" for k, v in timings.items()]
    lines += ["", f"{n_sims} simulated points; Python {platform.python_version()} on {platform.machine()}.", ""]
    return "\n".join(lines)
