"""The derived asymptotic exponents as data: the objects behind
``scaling-theory exponents MODEL --json`` and ``bap compute-optimal``.

The exponents are the symbolic layer's (:mod:`scaling_theory.theory._asymptotics`);
this module substitutes a user's parameters (exactly, as rationals), classifies
the phase at the point, and adds the high-precision prefactors of
:mod:`~scaling_theory.numerics._exponent_checks`.
"""
from __future__ import annotations

import math

_DLOG = r"\frac{{\partial \log {0}}}{{\partial \log {1}}} = "
#: The left-hand side of each exponent in LaTeX.
_EXPONENT_LHS = {
    "mrs": {"loss_vs_N": _DLOG.format(r"\langle L\rangle", "N"), "loss_vs_T": _DLOG.format(r"\langle L\rangle", "T")},
    "bap": {"loss_vs_t": _DLOG.format("L", "t"), "loss_vs_N": _DLOG.format("L", "N"), "loss_vs_P": _DLOG.format("L", "P"),
            "compute_optimal.N": _DLOG.format("N^*", "C"), "compute_optimal.t": _DLOG.format("t^*", "C"),
            "compute_optimal.loss": _DLOG.format("L^*", "C")},
}

__all__ = ["compute_optimal_exponents", "exponents_report", "exponent_rows", "EXPONENT_MODELS"]


_CO_KEYS = (("N", "compute_optimal_N"), ("t", "compute_optimal_t"), ("L", "compute_optimal_loss"))


#: ``phase`` of a law that has one phase only (JSON of ``exponents``; ``null`` marks a boundary).
SINGLE_PHASE = "any"


def compute_optimal_exponents(derivation=None) -> dict:
    """Exponents of the compute ``C = N t`` in ``N*(C)``, ``t*(C)``, ``L*(C)``
    (sympy expressions in model B's ``alpha``, ``beta``; keys ``N``, ``t``, ``L``).

    Taken from ``derive_bap()``'s results ``compute_optimal_*`` when present.
    Otherwise from its exponents through the asymptotics engine's optimiser of
    ``L(t, N) ~ a t^-beta + b N^-c`` at ``C = N t``
    (:func:`scaling_theory.theory._asymptotics._compute_optimal_generic`), with
    ``beta = -exponent_t`` and ``c = -exponent_N = alpha min(beta, 1)``.

    >>> e = compute_optimal_exponents()
    >>> from scaling_theory.theory._flow import alpha, beta
    >>> [e[k].subs({alpha: 2, beta: 2}) for k in ("N", "t", "L")]
    [1/2, 1/2, -1]
    """
    import sympy as sp

    from scaling_theory.theory import derive_bap
    from scaling_theory.theory._asymptotics import _compute_optimal_generic
    from scaling_theory.theory._flow import BAP_SYMBOLS

    d = derive_bap() if derivation is None else derivation
    if all(key in d.results for _, key in _CO_KEYS):
        return {name: d.results[key] for name, key in _CO_KEYS}
    co = _compute_optimal_generic()
    c = co["symbols"][2]
    sub = {BAP_SYMBOLS["beta"]: -d["exponent_t"], c: -d["exponent_N"]}
    return {name: sp.simplify(co["exponents"][key].subs(sub, simultaneous=True))
            for name, key in (("N", "N"), ("t", "t"), ("L", "loss"))}


# --------------------------------------------------------------------------
# derived asymptotic exponents (both models)
# --------------------------------------------------------------------------
#: Per model: title, the alpha convention, its range, and (key, regime) of each quantity.
EXPONENT_MODELS = {
    "mrs": {
        "title": "model A (Maloney, Roberts & Sully, arXiv:2210.16859)",
        "convention": "model A: lambda_I = lambda_+ I^-(1+alpha), alpha > 0 "
                      "(model B's alpha is 1 + this alpha: alpha_B = 1 + alpha_A)",
        "ranges": {"alpha": "> 0 (model A: lambda_I = lambda_+ I^-(1+alpha))"},
        "regimes": (("loss_vs_N", "L ~ N^e: N << T << M (ridgeless)"),
                    ("loss_vs_T", "L ~ T^e: T << N << M (ridgeless)")),
        "normalisation": "model A, ridgeless, no label noise, at lambda_+ = sigma_w^2 = 1 and M = 1: "
                         "A = M <L> X^alpha (A scales as lambda_+ sigma_w^2 / M)",
    },
    "bap": {
        "title": "model B (Bordelon, Atanasov & Pehlevan, arXiv:2402.01092)",
        "convention": "model B: lambda_k = k^-alpha, alpha > 1 (M = inf), lambda_k w*_k^2 = "
                      "k^-(alpha beta + 1), beta > 0 (alpha_B = 1 + model A's alpha_A)",
        "ranges": {"alpha": "> 1 (model B at M = inf: lambda_k = k^-alpha; alpha_B = 1 + alpha_A)",
                   "beta": "> 0 (task exponent: lambda_k w*_k^2 = k^-(alpha beta + 1))"},
        "regimes": (("loss_vs_t", "L ~ t^e: N = P = inf (gradient flow)"),
                    ("loss_vs_N", "L ~ N^e: P = inf, t = inf"),
                    ("loss_vs_P", "L ~ P^e: N = inf, t = inf"),
                    ("compute_optimal", {"N": "N*(C) ~ C^e: C = N t, L = L_t + L_N minimised over N",
                                         "t": "t*(C) ~ C^e: C = N t, t* = C/N*",
                                         "loss": "L*(C) ~ C^e: C = N t, loss at the optimum"})),
        "normalisation": "model B at M = inf, gradient flow from zero, no label noise "
                         "(lambda_k = k^-alpha, lambda_k w*_k^2 = k^-(alpha beta + 1))",
    },
}


def _map(f, d):
    """Apply ``f`` to the leaves of an exponent dict (``compute_optimal`` is nested)."""
    return {k: _map(f, v) if isinstance(v, dict) else f(v) for k, v in d.items()}


def exponent_rows(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from exponent_rows(v, f"{prefix}{k}.")
        else:
            yield prefix + k, v


def exponents_report(model, alpha=None, beta=None, *, latex=False) -> dict:
    """The object printed by ``scaling-theory exponents MODEL --json``.

    Top level: ``model`` (``"mrs"``/``"bap"``), ``title``, ``alpha_convention``,
    ``alpha`` (and ``beta`` for bap; floats, null when not given), ``numeric``
    (true when every parameter is a number), then the quantities of
    :data:`scaling_theory.theory._asymptotics.EXPONENT_KEYS` -- mrs: ``loss_vs_N``,
    ``loss_vs_T``; bap: ``loss_vs_t``, ``loss_vs_N``, ``loss_vs_P``,
    ``compute_optimal`` = ``{"N", "t", "loss"}`` (exponents of ``C = N t``):
    floats when numeric, else strings of the expressions with the given
    numbers substituted (``"-alpha*Min(1, beta)"``).  Then

    * ``exact``: the same structure, exact rationals as strings (``"-3/4"``); null unless numeric;
    * ``expressions``: the same structure, the general symbolic expressions;
    * ``regimes``: the same structure, the limit each exponent describes;
    * ``phase``: per ``loss_vs_*`` the engine's phase at the point (``""``: the
      quantity has one phase; null: on a phase boundary); null unless numeric;
    * ``prefactors``: per ``loss_vs_*`` the leading prefactor ``A`` of
      ``L ~ A X^e`` (string, 20 significant digits; null on a phase boundary or
      where the engine gives no finite value); null unless numeric;
    * ``prefactor_normalisation``: what ``A`` is normalised to (model A: ``M = 1``,
      ``lambda_+ = sigma_w^2 = 1``);
    * ``latex`` (only with ``latex=True``): the same structure, LaTeX strings,
      ``general = substituted`` when a number was given (``- \\alpha = - \\frac{1}{2}``).

    Parameters are strings or numbers, validated by
    :func:`scaling_theory.numerics._exponent_checks.validate_parameters` (``ValueError``).
    """
    import sympy as sp

    from scaling_theory.theory._asymptotics import asymptotic_exponents, classify_phase
    from scaling_theory.theory._latex import latex as to_latex

    from ._exponent_checks import derived_exponents, derived_prefactors, validate_parameters

    info = EXPONENT_MODELS[model]
    try:
        a, b = validate_parameters(model, alpha, beta)
    except ValueError as exc:
        msg = str(exc)
        if model == "bap" and msg.startswith("alpha"):
            msg += "; model B's alpha is 1 + model A's alpha"
        raise ValueError(msg) from None
    numeric = a is not None and (model == "mrs" or b is not None)
    if model == "mrs":
        from scaling_theory.theory._ridge import MRS_SYMBOLS as S
    else:
        from scaling_theory.theory._flow import BAP_SYMBOLS as S
    point = {S[name]: sp.Rational(v.numerator, v.denominator)
             for name, v in (("alpha", a), ("beta", b)) if v is not None}
    general = asymptotic_exponents(model)
    values = derived_exponents(model, alpha, beta)
    if numeric:
        exact = _map(lambda e: sp.nsimplify(e.subs(point)), general)
        shown = values
    else:
        exact = None
        substituted = _map(lambda e: sp.simplify(e) if point else e, values)
        shown = _map(str, substituted)
    out = {"model": model, "title": info["title"], "alpha_convention": info["convention"],
           "alpha": None if a is None else float(a)}
    if model == "bap":
        out["beta"] = None if b is None else float(b)
    out["numeric"] = numeric
    out.update(shown)
    out["exact"] = None if exact is None else _map(str, exact)
    out["expressions"] = _map(str, general)
    regimes = {k: v for k, v in info["regimes"]}
    out["regimes"] = regimes
    if numeric:
        phases = dict(classify_phase(model, point))
        # the phase whose conditions hold; "any" for a law with a single (unnamed) phase, null on a
        # boundary between phases
        out["phase"] = {k: (SINGLE_PHASE if phases.get(k) == "" else phases.get(k))
                        for k in regimes if not isinstance(regimes[k], dict)}
        pref = derived_prefactors(model, alpha, beta, dps=20)

        def fmt(v):
            return None if v is None or not math.isfinite(float(v)) else str(v)

        out["prefactors"] = {k: fmt(v) for k, v in pref.items()}
    else:
        out["phase"] = out["prefactors"] = None
    out["prefactor_normalisation"] = info["normalisation"]
    if latex:
        rhs = exact if numeric else (substituted if point else None)

        def tex(path, e):
            s = to_latex(e)
            if rhs is not None:
                r = rhs
                for p in path:
                    r = r[p]
                if to_latex(r) != s:
                    s = f"{s} = {to_latex(r)}"
            return _EXPONENT_LHS[model].get(".".join(path), "") + s

        out["latex"] = {k: ({kk: tex((k, kk), vv) for kk, vv in v.items()} if isinstance(v, dict)
                            else tex((k,), v)) for k, v in general.items()}
    return out
