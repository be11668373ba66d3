"""(m) Asymptotics: the phase diagram and derived against measured exponents."""
from __future__ import annotations

import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")


from ._common import (FIGURES, SectionResult, _fmt)


#: Labels of the exponent table's quantities: (scaling law, regime of the measurement).


#: Rows of :func:`scaling_theory.numerics._exponent_checks.exponent_table` per (point, dps, sizes), kept for the process:
#: the measurement is deterministic and costs seconds to minutes per point, and the quick report
#: runs several times in one test session.
_ASYM_CACHE: dict = {}
_ASYM_QUANTITY = {
    ("mrs", "loss_vs_N"): ("L ~ A N^e", "T, M -> inf"),
    ("mrs", "loss_vs_T"): ("L ~ A T^e", "N, M -> inf"),
    ("bap", "loss_vs_t"): ("L ~ A t^e", "N = P = inf"),
    ("bap", "loss_vs_N"): ("L ~ A N^e", "t = P = inf"),
    ("bap", "loss_vs_P"): ("L ~ A P^e", "t = N = inf"),
    ("bap", "compute_optimal.N"): ("N* ~ C^e", "C = N t, P = inf"),
    ("bap", "compute_optimal.t"): ("t* ~ C^e", "C = N t, P = inf"),
    ("bap", "compute_optimal.loss"): ("L* ~ C^e", "C = N t, P = inf"),
}


_MODEL_NAME = {"mrs": "A", "bap": "B"}


def _sym(x):
    """sympy expressions (in dicts, lists, tuples) as strings: JSON-safe."""
    import sympy as sp

    if isinstance(x, dict):
        return {str(k): _sym(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_sym(v) for v in x]
    if isinstance(x, sp.Basic):
        return sp.sstr(x)
    return x


def _alphas(model, alpha):
    """``(alpha_A, alpha_B)`` of one spectrum (``alpha_B = 1 + alpha_A``), as strings."""
    from fractions import Fraction

    a = Fraction(str(alpha))
    a_A, a_B = (a, a + 1) if model == "mrs" else (a - 1, a)
    return f"{float(a_A):g}", f"{float(a_B):g}"


def _sizes_str(sizes):
    def one(x):
        k = round(math.log10(x))
        return f"10^{k}" if 10 ** k == x else f"{x:g}"

    steps = {round(math.log10(b / a), 6) for a, b in zip(sizes, sizes[1:])}
    step = steps.pop() if len(steps) == 1 else None
    step = "" if step is None else ", every decade" if step == 1 else f", every 10^{step:g}"
    return f"{one(sizes[0])} .. {one(sizes[-1])} ({len(sizes)} sizes{step})"


def _num(x, spec=".12g"):
    return "-" if x is None else _fmt(x, spec)


def _digits_str(d, dps):
    """Agreeing digits rounded down (never overstated); ``(= dps)`` where capped by the precision."""
    if d is None:
        return "-"
    return f"{d:.1f} (= dps)" if d >= dps else f"{math.floor(d * 10 + 1e-9) / 10:.1f}"


def _asym_sizes(cfg):
    return tuple(10 ** k for k in range(4, 13)) if cfg.asym_sizes is None else tuple(cfg.asym_sizes)


def _exponent_rows(point, dps, sizes):
    """The rows of :func:`~scaling_theory.numerics._exponent_checks.exponent_table` at one point."""
    from scaling_theory.numerics._exponent_checks import exponent_table

    return exponent_table((tuple(point),), dps=dps, sizes=tuple(sizes))


def _asymptotics_tasks(cfg):
    """One task per parameter point of the exponent table (seconds each, at 30 digits)."""
    sizes = _asym_sizes(cfg)
    return [(f"asymptotics|{list(p)}|dps={int(cfg.asym_dps)}|sizes={list(sizes)}", _exponent_rows,
             (tuple(p), int(cfg.asym_dps), sizes)) for p in cfg.asym_points]


def _asymptotics_build(cfg, sims, out):
    from scaling_theory.theory._asymptotics import asymptotic_exponents, phase_diagram

    from scaling_theory.numerics._exponent_checks import phase_diagram_figure

    t0 = time.perf_counter()
    fig_path = Path(phase_diagram_figure(out / "asymptotics_phase_diagram.png", resolution=cfg.asym_resolution,
                                         points=cfg.asym_points, dpi=FIGURES["dpi"], vector=FIGURES["vector"]))
    t_fig = time.perf_counter() - t0
    sizes = _asym_sizes(cfg)
    table, seconds, cached = [], [], []
    from scaling_theory.numerics._parallel import resolve

    for point, (tkey, fn, args) in zip(cfg.asym_points, _asymptotics_tasks(cfg)):
        t0 = time.perf_counter()
        key = (tuple(point), int(cfg.asym_dps), sizes)
        cached.append(key in _ASYM_CACHE)
        if not cached[-1]:       # from the report's store when the task ran beside the simulations
            with resolve(None) as ex:
                _ASYM_CACHE[key] = tuple(next(iter(ex.map(fn, [args], keys=[tkey])))[1])
        for r in _ASYM_CACHE[key]:
            a_A, a_B = _alphas(r["model"], r["alpha"])
            table.append({**r, "alpha": str(r["alpha"]), "beta": None if r["beta"] is None else str(r["beta"]),
                          "alpha_model_A": a_A, "alpha_model_B": a_B})
        seconds.append(time.perf_counter() - t0)
    derived = {"model_A": _sym(asymptotic_exponents("mrs")), "model_B": _sym(asymptotic_exponents("bap"))}
    phases = {"model_A": _sym(phase_diagram("mrs")), "model_B": _sym(phase_diagram("bap"))}

    e_dig = [r["exponent_digits"] for r in table]
    p_dig = [r["prefactor_digits"] for r in table if r["prefactor_digits"] is not None]
    worst = min(table, key=lambda r: r["exponent_digits"])
    worst_p = min((r for r in table if r["prefactor_digits"] is not None), key=lambda r: r["prefactor_digits"],
                  default=None)
    by_model = {_MODEL_NAME[m]: min(r["exponent_digits"] for r in table if r["model"] == m)
                for m in ("mrs", "bap") if any(r["model"] == m for r in table)}

    def where(r, key):
        return None if r is None else {"model": _MODEL_NAME[r["model"]], "alpha": r["alpha"], "beta": r["beta"],
                                       "quantity": r["quantity"], "digits": r[key]}

    head = {"rows": len(table), "points": len(cfg.asym_points), "dps": cfg.asym_dps,
            "min_exponent_digits": min(e_dig), "min_prefactor_digits": min(p_dig, default=None),
            "prefactor_rows": len(p_dig), "min_exponent_digits_by_model": by_model,
            "worst_exponent": where(worst, "exponent_digits"), "worst_prefactor": where(worst_p, "prefactor_digits"),
            "phases_model_B": len(phases["model_B"]), "seconds_table": sum(seconds), "seconds_figure": t_fig}

    # ---- markdown
    eA, eB = derived["model_A"], derived["model_B"]
    co = eB["compute_optimal"]
    lines = [
        "What the asymptotics engine (`theory._asymptotics`: Mellin expansions of the power-law spectral sums, "
        "the renormalised ridge inverted as a generalised power series, the phase boundaries read off the "
        "ordering of the terms) derives, at M = inf. **The two models' alphas differ**: model A has "
        "lambda_I ~ I^-(1+alpha_A), model B lambda_k = k^-alpha_B, so alpha_B = 1 + alpha_A; every exponent "
        "below is in its own model's alpha.",
        "",
        f"- Model A (alpha = alpha_A; ridgeless): L ~ N^({eA['loss_vs_N']}) for N << T, "
        f"L ~ T^({eA['loss_vs_T']}) for T << N (one phase for every alpha_A > 0; min(N, T) sets the "
        "renormalised ridge).",
        f"- Model B (alpha = alpha_B; gradient flow, target power beta): L ~ t^({eB['loss_vs_t']}) at "
        f"N = P = inf; L ~ N^({eB['loss_vs_N']}) at t = P = inf (the width term saturates at beta = 1); "
        f"L ~ P^({eB['loss_vs_P']}) at t = N = inf (the data term saturates at beta = 2).",
        f"- Model B compute-optimal at C = N t (P = inf, L = a t^-beta + b N^-c minimised at fixed C): "
        f"N* ~ C^({co['N']}), t* ~ C^({co['t']}), L* ~ C^({co['loss']}); t* grows faster than N* where "
        "alpha_B min(1, beta) > beta (every beta < 1, as alpha_B > 1; beta < alpha_B above beta = 1).",
        "",
        f"Derived vs measured: the measured exponent is the local log-log slope d log L / d log X of the "
        f"high-precision numerics (working precision {cfg.asym_dps} digits) at X = {_sizes_str(sizes)}, "
        "extrapolated (iterated Aitken, no correction exponent assumed); the measured prefactor is L X^-e "
        "extrapolated the same way (model A normalised as M <L> X^-e at lambda_+ = sigma_w^2 = 1). "
        "Digits: -log10 of the relative difference (exponents: relative to max(1, |e|)), capped at the "
        f"working precision. Over {len(table)} rows ({len(cfg.asym_points)} parameter points): exponents "
        f"agree to at least **{_digits_str(min(e_dig), cfg.asym_dps)} digits**"
        + (f", prefactors to at least **{_digits_str(min(p_dig), cfg.asym_dps)} digits** ({len(p_dig)} rows "
           "with a prefactor)" if p_dig else "")
        + f"; the weakest exponent is model {_MODEL_NAME[worst['model']]} {worst['quantity']} at "
        f"alpha_{_MODEL_NAME[worst['model']]} = "
        f"{worst['alpha']}" + ("" if worst["beta"] is None else f", beta = {worst['beta']}") + ".",
        "",
        "| model | alpha_A | alpha_B | beta | law | regime | derived exponent | measured exponent | digits "
        "| derived prefactor A | measured prefactor A | digits |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in table:
        law, regime = _ASYM_QUANTITY.get((r["model"], r["quantity"]), (r["quantity"], ""))
        lines.append(
            f"| {_MODEL_NAME[r['model']]} | {r['alpha_model_A']} | {r['alpha_model_B']} | "
            f"{'-' if r['beta'] is None else r['beta']} | {law} | {regime} | {_num(r['derived_exponent'])} | "
            f"{_num(r['measured_exponent'])} | {_digits_str(r['exponent_digits'], cfg.asym_dps)} | "
            f"{_num(r['derived_prefactor'])} | {_num(r['measured_prefactor'])} | "
            f"{_digits_str(r['prefactor_digits'], cfg.asym_dps)} |")
    sources = list(dict.fromkeys(f"{_MODEL_NAME[r['model']]}: {r['source']}" for r in table))
    lines += ["", "Numerics behind the measured values: " + "; ".join(sources) + ". Compute-optimal rows "
              "are secant slopes of log N*, log t*, log L* in log C on the measurement's own grid of C "
              "(not the sizes above), extrapolated the same way; they have no prefactor column.", "",
              "Phase table of model B (alpha = alpha_B, lambda_k = k^-alpha; each region's conditions are the "
              "engine's inequalities, each > 0):", "",
              "| region | L vs t | L vs N | L vs P | N* vs C | t* vs C | L* vs C | faster |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for ph in phases["model_B"]:
        c = ph["compute_optimal"]
        lines.append(f"| {ph['region']} | t^({ph['loss_vs_t']}) | N^({ph['loss_vs_N']}) | P^({ph['loss_vs_P']}) | "
                     f"C^({c['N']}) | C^({c['t']}) | C^({c['loss']}) | {ph['faster']} |")
    for ph in phases["model_A"]:
        lines += ["", f"Model A (alpha = alpha_A): one region, {ph['region']}: L ~ N^({ph['loss_vs_N']}), "
                  f"L ~ T^({ph['loss_vs_T']}); {ph.get('dominant', '')}."]
    per_point = ", ".join(
        f"{_MODEL_NAME[m]} ({a}{'' if b is None else ', ' + str(b)}): "
        + ("measured earlier in this process" if c else f"{sec:.1f} s")
        for (m, a, b), sec, c in zip(cfg.asym_points, seconds, cached))
    lines += ["", "The figure: model B's phases over (alpha_B, beta) with the saturation lines beta = 1 (width "
              "term) and beta = 2 (data term) and the compute-optimal line beta = alpha_B; model A's regimes "
              f"in (log N, log T). Timing: figure {t_fig:.1f} s, table {sum(seconds):.1f} s ({per_point})."]
    data = {"conventions": {"model_A": "lambda_I = lambda_+ I^-(1 + alpha_A)", "model_B": "lambda_k = k^-alpha_B",
                            "relation": "alpha_B = 1 + alpha_A"},
            "derived_exponents": derived, "phase_diagram": phases, "table": table,
            "points": [list(p) for p in cfg.asym_points], "dps": cfg.asym_dps, "sizes": list(sizes),
            "seconds_per_point": seconds, "cached_points": cached, "seconds_figure": t_fig,
            **{k: v for k, v in head.items() if k.startswith("min_")}}
    return SectionResult(fig_path, data, "\n".join(lines), head, [])
