"""The ``scaling-theory`` command line.

Commands
--------
``scaling-theory mrs loss``       model A theory at a point or on an outer grid
``scaling-theory mrs simulate``   model A finite simulation (mean and sem over seeds)
``scaling-theory mrs spectrum``   eigenvalues of the feature covariance, power-law fits
``scaling-theory mrs equations``  the derived equations (pretty text or LaTeX)
``scaling-theory bap loss``       model B theory: loss curves L(t) (gradient flow)
``scaling-theory bap simulate``   model B finite simulation (flow, GD, online SGD, ensembles)
``scaling-theory bap equations``  model B's derived results (pretty text or LaTeX)
``scaling-theory bap compute-optimal``  exponents of C = N t in N*(C), t*(C), L*(C)
``scaling-theory exponents mrs``  model A's derived asymptotic exponents (numeric or symbolic)
``scaling-theory exponents bap``  model B's derived asymptotic exponents and compute-optimal scaling
``scaling-theory derive``         regenerate ``derivations/`` and the generated code
``scaling-theory reproduce``      the figure/summary report
``scaling-theory --version``

Bad input (an invalid parameter, a malformed number, a size that cannot fit in
memory, a count or grid that cannot finish, an unwritable ``--out``) prints one
line ``scaling-theory: error: ...`` on stderr that names the flag as typed
(``--precision``, not ``dps``: see ``_FLAGS``) and exits with status 2; a solver
that does not converge exits with status 1.  User strings are parsed with
``int``/``float`` (and kept as strings for ``MRSModel`` at high precision, so
``--gamma 0.1`` is exactly 1/10); nothing is ever evaluated.  Model B's sizes
``M``, ``N``, ``P`` also accept ``inf``.  ``exponents`` parses its exponents with
``fractions.Fraction`` (exact: ``--alpha 0.1`` is 1/10, ``--alpha 3/2`` is allowed).

Model B's exponent ``alpha`` is *not* model A's: ``lambda_k = k^-alpha`` there,
``lambda_I = I^-(1+alpha)`` here, so ``alpha_B = 1 + alpha_A``.  The asymptotic
exponents need ``alpha_A > 0`` (model A) and ``alpha_B > 1``, ``beta > 0`` (model B,
whose asymptotics are taken at ``M = inf``).
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from pathlib import Path

from scaling_theory.numerics._exponent_reports import (EXPONENT_MODELS, compute_optimal_exponents,
                                                        exponent_rows, exponents_report)

__all__ = ["main"]

PROG = "scaling-theory"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``prog: error: message``), exit 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class _UsageError(ValueError):
    """Bad command-line input (exit 2)."""


# --------------------------------------------------------------------------
# parsing of user numbers (never eval)
# --------------------------------------------------------------------------
def _split(name, text):
    items = [s.strip() for s in str(text).split(",")]
    if not items or any(s == "" for s in items):
        raise _UsageError(f"{name} must be a comma-separated list of numbers, got {text!r}")
    return items


def _int(name, s, low=1):
    """An integer >= low; integral floats such as ``1e9`` are accepted."""
    from fractions import Fraction

    try:
        v = int(s)
    except ValueError:
        try:   # exact: 1e30 is 10**30, not the double nearest to it
            f = Fraction(str(s).strip()) if len(str(s)) < 100 else None
        except (ValueError, ZeroDivisionError):
            f = None
        if f is None or f.denominator != 1:
            raise _UsageError(f"{name} must be an integer >= {low}, got {s!r}") from None
        v = int(f)
    if v < low:
        raise _UsageError(f"{name} must be an integer >= {low}, got {s}")
    return v


def _real(name, s):
    """Validate a real number; return the stripped string (exact for mpmath)."""
    s = str(s).strip()
    try:
        f = float(s)
    except ValueError:
        raise _UsageError(f"{name} must be a real number, got {s!r}") from None
    if not math.isfinite(f):
        raise _UsageError(f"{name} must be finite, got {s!r}")
    try:  # mpmath parses a plain decimal string exactly; reject what it cannot read
        import mpmath

        mpmath.mpf(s)
    except (ValueError, TypeError):
        raise _UsageError(f"{name} must be a plain decimal number, got {s!r}") from None
    return s


#: Largest grids one command evaluates (beyond them: a sweep, or several commands).
GRID_LIMITS = {"double": 100_000, "precision": 1_000, "nonlinear": 200, "simulate": 1_000, "times": 100_000,
               "bap_models": 1_000, "bap_precision": 200}


def _check_grid(flag, count, kind, what):
    if count > GRID_LIMITS[kind]:
        raise _UsageError(f"{flag}: {count} {what}, more than the {GRID_LIMITS[kind]} one command evaluates "
                          "(split the grid over several commands)")


def _number(s):
    """int for an integer literal (so messages echo ``-1``, not ``-1.0``), else float."""
    try:
        return int(s)
    except ValueError:
        return float(s)


def _ints(name, text):
    return [_int(name, s) for s in _split(name, text)]


def _reals(name, text):
    return [_real(name, s) for s in _split(name, text)]


# --------------------------------------------------------------------------
# output helpers
# --------------------------------------------------------------------------
def _jsonable(x):
    """Replace non-finite floats by the strings "inf", "-inf", "nan" (valid JSON)."""
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):  # numpy scalar
        return _jsonable(x.item())
    return x


def _dump(obj):
    print(json.dumps(_jsonable(obj), indent=2, allow_nan=False))


def _num(v):
    if isinstance(v, str):
        return v
    v = float(v)
    return "inf" if math.isinf(v) else f"{v:.10g}"


def _table(rows, cols):
    cells = [[_num(r[c]) if not isinstance(r[c], int) else str(r[c]) for c in cols] for r in rows]
    width = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(cols, width))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, width)) for row in cells]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# model A
# --------------------------------------------------------------------------
_MODEL_FLAGS = (
    # flag, dest, MRSModel name, default, help
    ("--alpha", "alpha", "alpha", None, "model-A exponent: lambda_I = lambda_plus * I^-(1+alpha), > 0"),
    ("--noise-var", "noise_var", "noise_var", "0", "label-noise variance, >= 0 [0]"),
    ("--lambda-plus", "lambda_plus", "lambda_plus", "1", "largest latent eigenvalue, > 0 [1]"),
    ("--sigma-w2", "sigma_w2", "sigma_w2", "1", "teacher-weight variance times M, > 0 [1]"),
    ("--sigma-u2", "sigma_u2", "sigma_u2", "1", "feature-weight variance times M, > 0 [1]"),
)


def _add_model_flags(p):
    p.add_argument("--M", required=True, metavar="M", help="latent dimension, integer >= 1")
    p.add_argument("--alpha", required=True, help=_MODEL_FLAGS[0][4])
    p.add_argument("--N", required=True, metavar="N[,N...]", help="number of features, integer(s) >= 1")
    p.add_argument("--T", required=True, metavar="T[,T...]", help="training-set size, integer(s) >= 1")
    p.add_argument("--gamma", default="0", metavar="G[,G...]", help="ridge(s), >= 0 [0]")
    for flag, dest, _, default, help_ in _MODEL_FLAGS[1:]:
        p.add_argument(flag, dest=dest, default=default, help=help_)


def _model_from_args(args, *, exact, activation="linear"):
    """The base MRSModel and the lists of N, T, gamma (strings when exact)."""
    from scaling_theory.numerics._models import MRSModel

    M = _int("M", args.M)
    Ns, Ts = _ints("N", args.N), _ints("T", args.T)
    gammas = _reals("gamma", args.gamma)
    params = {name: _real(name, getattr(args, dest)) for _, dest, name, _, _ in _MODEL_FLAGS}
    conv = (lambda s: s) if exact else _number  # noqa: E731
    params = {k: conv(v) for k, v in params.items()}
    gammas = [conv(g) for g in gammas]
    for g in gammas:  # validate every ridge, not only the first
        MRSModel(M=M, alpha=params["alpha"], N=1, T=1, gamma=g)
    model = MRSModel(M=M, N=Ns[0], T=Ts[0], gamma=gammas[0], activation=activation, **params)
    return model, Ns, Ts, gammas


_NONLINEAR_KEYS = ("test_loss", "train_loss", "kappa", "kappa1", "df2", "test_loss_sem", "train_loss_sem")


def _cmd_loss_nonlinear(args, digits):
    """``mrs loss --activation relu|erf|tanh``: the Gaussian-equivalent theory
    (:func:`numerics.mrs_nonlinear_theory`), with model A's JSON keys (``kappa`` and
    ``df2`` are means over the draws of U, in eigenvalue units of the feature kernel;
    ``kappa1`` has no analogue there and is null) plus the U-sampling errors."""
    import numpy as np

    from scaling_theory.numerics._ridge_nonlinear import mrs_nonlinear_theory

    if digits is not None:
        raise _UsageError(f"precision: the theory of nonlinear features (activation {args.activation}) "
                          "runs in double precision only; drop --precision")
    u_draws = _int("u_draws", args.u_draws, low=2)
    seed = _int("seed", args.seed, low=0)
    model, Ns, Ts, gammas = _model_from_args(args, exact=False, activation=args.activation)
    points = []
    for N, T in itertools.product(Ns, Ts):
        r = mrs_nonlinear_theory(model.replace(N=N, T=T), u_draws=u_draws, seed=seed, gammas=gammas)
        for j, g in enumerate(r.gammas):
            points.append({"N": N, "T": T, "gamma": float(g),
                           "test_loss": float(r.test_loss[j]), "train_loss": float(r.train_loss[j]),
                           "kappa": float(r.kappa[:, j].mean()), "kappa1": None,
                           "df2": float(r.df2[:, j].mean()),
                           "test_loss_sem": float(r.test_loss_sem[j]),
                           "train_loss_sem": float(r.train_loss_sem[j]),
                           "residual": float(np.max(np.abs(r.residual[:, j]), initial=0.0)),
                           "regime": r.regime[j]})
    method = f"gaussian-equivalent ({r.method})"
    base = {k: v for k, v in model.to_dict().items() if k not in ("N", "T", "gamma")}
    extra = {"method": method, "dps": None, "u_draws": u_draws, "seed": seed,
             "population_test_loss": float(r.population_test_loss) if len(points) == len(gammas) else None}
    if args.json:
        if len(points) == 1:
            _dump({**base, "N": Ns[0], "T": Ts[0], "gamma": points[0]["gamma"],
                   **{k: v for k, v in points[0].items() if k not in ("N", "T", "gamma")},
                   "converged": True, **extra})
        else:
            _dump({**base, **extra, "points": points})
        return 0
    print(f"model A theory with {model.activation} features (Gaussian-equivalent features with the exact "
          f"kernel, deterministic equivalent in T; see --json 'method')")
    print(f"  M = {model.M}, alpha = {args.alpha}, noise_var = {args.noise_var}; {u_draws} draws of U "
          f"from seed {seed}: {len(points)} point(s)")
    print(_table(points, ["N", "T", "gamma", "test_loss", "test_loss_sem", "train_loss", "kappa"]))
    return 0


def _cmd_loss(args):
    import numpy as np

    from scaling_theory.numerics._models import ACTIVATIONS
    from scaling_theory.numerics._ridge import mrs_theory, mrs_theory_grid

    digits = None if args.precision is None else _int("precision", args.precision)
    if args.activation not in ACTIVATIONS:
        raise _UsageError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {args.activation!r}")
    n_grid = len(_split("N", args.N)) * len(_split("T", args.T)) * len(_split("gamma", args.gamma))
    kind = "nonlinear" if args.activation != "linear" else ("double" if digits is None else "precision")
    _check_grid("--N, --T, --gamma", n_grid, kind, "grid points")
    if args.activation != "linear":
        return _cmd_loss_nonlinear(args, digits)
    model, Ns, Ts, gammas = _model_from_args(args, exact=digits is not None)
    single = len(Ns) == len(Ts) == len(gammas) == 1
    if single:
        r = mrs_theory(model, dps=digits)
        d = r.to_dict(digits=digits)
        if args.json:
            _dump(d)
        else:
            print(f"model A theory ({r.method}{'' if digits is None else f', {digits} digits'}; {r.regime})")
            print(f"  M = {model.M}, alpha = {args.alpha}, N = {model.N}, T = {model.T}, gamma = {args.gamma}, "
                  f"noise_var = {args.noise_var}")
            for key in ("test_loss", "train_loss", "kappa", "kappa1", "df2"):
                print(f"  {key:<10} = {_num(d[key])}")
        return 0

    points = []
    if digits is None:
        for name, vals in (("N", Ns), ("T", Ts)):
            if max(vals) >= 1e308:
                raise _UsageError(f"{name} must be below 1e308 in double precision (larger sizes need --precision)")
        g = mrs_theory_grid(model, N=np.asarray(Ns, float)[:, None, None],
                            T=np.asarray(Ts, float)[None, :, None],
                            gamma=np.asarray(gammas, float)[None, None, :])
        for idx in np.ndindex(g.shape):
            points.append({"N": Ns[idx[0]], "T": Ts[idx[1]], "gamma": float(g.gamma[idx]),
                           **{k: float(getattr(g, k)[idx]) for k in
                              ("test_loss", "train_loss", "kappa", "kappa1", "df2")}})
        method = "double"
    else:
        for N, T, gam in itertools.product(Ns, Ts, gammas):
            d = mrs_theory(model.replace(N=N, T=T, gamma=gam), dps=digits).to_dict(digits=digits)
            points.append({"N": N, "T": T, "gamma": float(gam),
                           **{k: d[k] for k in ("test_loss", "train_loss", "kappa", "kappa1", "df2")},
                           "regime": d["regime"]})
        method = "mpmath"
    if args.json:
        base = {k: v for k, v in model.to_dict().items() if k not in ("N", "T", "gamma")}
        _dump({**base, "method": method, "dps": digits, "points": points})
    else:
        print(f"model A theory ({method}{'' if digits is None else f', {digits} digits'}; "
              f"M = {model.M}, alpha = {args.alpha}, noise_var = {args.noise_var}): {len(points)} points")
        print(_table(points, ["N", "T", "gamma", "test_loss", "train_loss", "kappa"]))
    return 0


def _cmd_spectrum(args):
    """``mrs spectrum``: eigenvalues of the feature covariance and their power-law fits."""
    from scaling_theory.numerics._feature_spectra import feature_spectrum, feature_spectrum_exponents
    from scaling_theory.numerics._models import ACTIVATIONS, MRSModel

    if args.activation not in ACTIVATIONS:
        raise _UsageError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {args.activation!r}")
    M, N = _int("M", args.M), _int("N", args.N)
    seeds = _int("seeds", args.seeds, low=1)
    seed = _int("seed", args.seed, low=0)
    params = {name: _number(_real(name, getattr(args, dest)))
              for _, dest, name, _, _ in _MODEL_FLAGS if name != "noise_var"}
    model = MRSModel(M=M, N=N, T=1, activation=args.activation, **params)
    spec = feature_spectrum(model, seed=seed)
    d = spec.to_dict()
    if seeds >= 2:
        e = feature_spectrum_exponents(model, seeds=seeds, seed=seed)
        d["over_draws"] = e.to_dict()
    if args.json:
        _dump(d)
        return 0
    print(spec)
    if seeds >= 2:
        print(e)
    ev = spec.eigenvalues
    idx = sorted({k for k in (1, 2, 5, 10, 20, 50, M // 2, M, M + 1, 2 * M, N // 2, N) if 1 <= k <= N})
    print(_table([{"k": k, "eigenvalue": float(ev[k - 1])} for k in idx], ["k", "eigenvalue"]))
    return 0


def _cmd_simulate(args):
    from scaling_theory.numerics import simulate_mrs

    seeds = _int("seeds", args.seeds, low=2)
    seed = _int("seed", args.seed, low=0)
    _check_grid("--N, --T, --gamma", len(_split("N", args.N)) * len(_split("T", args.T))
                * len(_split("gamma", args.gamma)), "simulate", "simulated points")
    model, Ns, Ts, gammas = _model_from_args(args, exact=False, activation=args.activation)
    points = []
    for N, T in itertools.product(Ns, Ts):
        sim = simulate_mrs(model.replace(N=N, T=T), seeds=seeds, seed=seed, gammas=gammas,
                           progress=not args.no_progress)
        for j, g in enumerate(sim.gammas):
            points.append({"N": N, "T": T, "gamma": float(g),
                           "test_loss": float(sim.test_loss[j]), "test_loss_sem": float(sim.test_loss_sem[j]),
                           "train_loss": float(sim.train_loss[j]), "train_loss_sem": float(sim.train_loss_sem[j]),
                           "seeds": sim.seeds, "seed": sim.seed, "test_loss_method": sim.test_loss_method})
    base = {k: v for k, v in model.to_dict().items() if k not in ("N", "T", "gamma")}
    if args.json:
        if len(points) == 1:
            _dump({**base, **points[0]})
        else:
            _dump({**base, "points": points})
        return 0
    print(f"model A simulation ({model.activation}; M = {model.M}, alpha = {args.alpha}, "
          f"noise_var = {args.noise_var}; {seeds} seeds from seed {seed})")
    print(_table(points, ["N", "T", "gamma", "test_loss", "test_loss_sem", "train_loss", "train_loss_sem"]))
    return 0


_EQUATIONS = (
    ("self_consistent", "Self-consistent equation (renormalised ridge kappa)"),
    ("test_loss", "Test loss"),
    ("train_loss", "Train loss"),
    ("kappa1", "Data-side renormalised ridge"),
    ("df2", "Degrees of freedom df2"),
    ("asymptotic_N", "Asymptotic test loss, N << T << M"),
    ("asymptotic_T", "Asymptotic test loss, T << N << M"),
)
_SUMS = "where n_1, n_2, c_1, c_2 are the spectral sums sum_I lambda_I^k/(lambda_I + kappa)^k (c: weighted by E w_I^2)"


def _print_equations(d, items, header, latex):
    """The results ``items`` ((key, label) pairs) of derivation ``d``: pretty-printed, or with
    ``latex`` as a LaTeX fragment a .tex file accepts (the prose as % comments, each result
    with its left-hand side in \\[ ... \\])."""
    import sympy as sp

    enc = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    unicode = enc in ("utf8", "utf_8")
    for line in header:
        print(f"% {line}" if latex else line)
    for name, label in items:
        print()
        if latex:
            print(f"% {label} [{name}]")
            print("\\[ " + d.latex(name) + " \\]")
        else:
            print(f"{label} [{name}]:")
            print(sp.pretty(d[name], use_unicode=unicode, wrap_line=False))
    return 0


def _cmd_equations(args):
    from scaling_theory.theory._ridge import derive_mrs

    d = derive_mrs()
    return _print_equations(d, _EQUATIONS, [f"{d.title} (Maloney, Roberts & Sully, arXiv:2210.16859)", _SUMS],
                            args.latex)


# --------------------------------------------------------------------------
# model B
# --------------------------------------------------------------------------
_INF = ("inf", "+inf", "infinity", "+infinity")


def _size(name, s):
    """An integer >= 1 or ``inf`` (model B's M, N, P)."""
    return math.inf if str(s).strip().lower() in _INF else _int(name, s)


def _sizes(name, text):
    return [_size(name, s) for s in _split(name, text)]


def _times(text):
    strs = [_real("t", s) for s in _split("t", text)]
    bad = [s for s in strs if float(s) < 0]
    if bad:
        raise _UsageError(f"t must be >= 0, got {bad[0]}")
    return [float(s) for s in strs]


def _add_bap_flags(p, *, simulate=False):
    what = "" if simulate else " or inf"
    p.add_argument("--M", required=True, metavar="M", help=f"number of latent features, integer >= 1{what}")
    p.add_argument("--alpha", required=True,
                   help="model-B exponent: lambda_k = k^-alpha, > 0 (model A's alpha + 1)")
    p.add_argument("--beta", required=True, help="task exponent: lambda_k w*_k^2 = k^-(alpha beta + 1), > 0")
    p.add_argument("--N", required=True, metavar="N[,N...]", help=f"model size(s), integer(s) >= 1{what}")
    p.add_argument("--P", required=True, metavar="P[,P...]",
                   help="number(s) of training samples, integer(s) >= 1 or inf (population gradient)")
    p.add_argument("--t", required=True, metavar="T[,T...]", help="training times t >= 0 (comma-separated)")
    p.add_argument("--noise-var", dest="noise_var", default="0", help="label-noise variance, >= 0 [0]")
    p.add_argument("--eta", default=None, help="learning rate of discrete gradient descent (default: gradient flow)")
    p.add_argument("--ensemble", default="1", metavar="E", help="students averaged (ensemble), >= 1 [1]")


def _bap_models(args):
    """One validated BAPModel per (N, P) of the outer grid, and the times."""
    from scaling_theory.numerics._models import BAPModel

    _check_grid("--t", len(_split("t", args.t)), "times", "times")
    _check_grid("--N, --P", len(_split("N", args.N)) * len(_split("P", args.P)), "bap_models", "(N, P) pairs")
    M = _size("M", args.M)
    Ns, Ps = _sizes("N", args.N), _sizes("P", args.P)
    times = _times(args.t)
    params = {"alpha": _number(_real("alpha", args.alpha)), "beta": _number(_real("beta", args.beta)),
              "noise_var": _number(_real("noise_var", args.noise_var)),
              "ensemble": _int("ensemble", args.ensemble)}
    if args.eta is not None:
        params["eta"] = _number(_real("eta", args.eta))
    if getattr(args, "batch", None) is not None:
        params["batch"] = _int("batch", args.batch)
    models = [BAPModel(M=M, N=N, P=P, **params) for N, P in itertools.product(Ns, Ps)]
    return models, times


def _bap_head(m):
    extra = "".join(f", {k} = {v}" for k, v in (("eta", m.eta), ("batch", m.batch)) if v is not None)
    extra += f", ensemble = {m.ensemble}" if m.ensemble != 1 else ""
    return (f"M = {_num(m.M)}, alpha = {float(m.alpha):g}, beta = {float(m.beta):g}, N = {_num(m.N)}, "
            f"P = {_num(m.P)}, noise_var = {float(m.noise_var):g}{extra}")


def _cmd_bap_loss(args):
    from scaling_theory.numerics._flow import bap_theory

    digits = None if args.precision is None else _int("precision", args.precision)
    models, times = _bap_models(args)
    if digits is not None:
        _check_grid("--N, --P, --t", len(models) * len(times), "bap_precision", "points at high precision")
    results = [bap_theory(m, times, dps=digits) for m in models]  # unsupported settings: ValueError
    dicts = [r.to_dict(digits=digits) for r in results]
    if args.json:
        if len(dicts) == 1:
            _dump(dicts[0])
        else:
            base = {k: v for k, v in dicts[0].items() if k not in ("N", "P", "t", "test_loss", "train_loss",
                                                                 "final_loss", "method", "nodes", "accuracy")}
            _dump({**base, "t": times, "points": [
                {k: d[k] for k in ("N", "P", "test_loss", "train_loss", "final_loss", "method", "accuracy")}
                for d in dicts]})
        return 0
    for m, r, d in zip(models, results, dicts):
        print(f"model B theory ({r.method}{'' if digits is None else f', {digits} digits'}; {_bap_head(m)})")
        rows = [{"t": t, "test_loss": a, "train_loss": b, "accuracy": f"{c:.1e}"}
                for t, a, b, c in zip(times, d["test_loss"], d["train_loss"], d["accuracy"])]
        print(_table(rows, ["t", "test_loss", "train_loss", "accuracy"]))
        if d.get("final_loss") is not None:
            print(f"  t = inf: test_loss = {_num(d['final_loss'])}")
    return 0


def _cmd_bap_simulate(args):
    from scaling_theory.numerics._simulate_flow import simulate_bap

    seeds = _int("seeds", args.seeds, low=2)
    seed = _int("seed", args.seed, low=0)
    models, times = _bap_models(args)
    keys = ("test_loss", "test_loss_sem", "train_loss", "train_loss_sem")
    points = []
    for m in models:
        sim = simulate_bap(m, times, seeds=seeds, seed=seed, progress=not args.no_progress)
        points.append({"N": m.N, "P": m.P, "t": [float(t) for t in sim.times],
                       **{k: [float(v) for v in getattr(sim, k)] for k in keys},
                       "seeds": sim.seeds, "seed": sim.seed, "method": sim.method})
    if args.json:
        base = {k: v for k, v in models[0].to_dict().items() if k not in ("N", "P")}
        if len(points) == 1:
            _dump({**models[0].to_dict(), **points[0]})
        else:
            _dump({**base, "points": points})
        return 0
    for m, pt in zip(models, points):
        print(f"model B simulation ({pt['method']}; {_bap_head(m)}; {seeds} seeds from seed {seed})")
        rows = [dict(zip(("t", *keys), vals)) for vals in zip(pt["t"], *(pt[k] for k in keys))]
        print(_table(rows, ["t", *keys]))
    return 0


#: Labels of model B's derived results (others are printed under their key).
_BAP_LABELS = {
    "kappa_equation_P_inf": "Renormalised variable at P = inf: s(kappa)",
    "laplace_loss_P_inf": "Laplace transform of L(tau/2) at P = inf",
    "contour_integrand": "Contour integrand of the inverse Laplace transform (P = inf)",
    "s_of_kappa": "s as a function of kappa (P = inf)",
    "final_loss_P_inf": "Loss at t = inf, P = inf (n_1(kappa_0) = N)",
    "kappa_equation_N_inf": "Renormalised variable at N = inf, finite P",
    "laplace_train_N_inf": "Laplace transform of the train loss at N = inf",
    "kappa_equation": "Renormalised variable at finite N and P",
    "ds_dkappa": "ds/dkappa (finite N and P)",
    "bias_kernel": "Bias kernel of the two-point equivalent (finite N and P)",
    "df_kernel": "Degrees-of-freedom kernel of the two-point equivalent (finite N and P)",
    "test_kernel": "Test-loss kernel (finite N and P)",
    "train_kernel": "Train-loss kernel (finite N and P)",
    "loss_N_P_inf": "Asymptotic loss at N = P = inf",
    "exponent_t": "Exponent of L in t (N = P = inf)",
    "exponent_N": "Exponent of L(t = inf) in N (P = inf)",
    "compute_optimal_N": "Compute-optimal exponent: N* ~ C^e (C = N t)",
    "compute_optimal_t": "Compute-optimal exponent: t* ~ C^e (C = N t)",
    "compute_optimal_loss": "Compute-optimal exponent: L* ~ C^e (C = N t)",
}


def _cmd_bap_equations(args):
    from scaling_theory.theory import derive_bap

    d = derive_bap()
    header = [f"{d.title} (Bordelon, Atanasov & Pehlevan, arXiv:2402.01092)",
              "where n_1, n_2, g_1 are the spectral sums sum_k lambda_k/(lambda_k + kappa), "
              "sum_k lambda_k^2/(lambda_k + kappa)^2, sum_k lambda_k w*_k^2/(lambda_k + kappa); "
              "alpha is model B's exponent (lambda_k = k^-alpha)"]
    items = [(name, _BAP_LABELS.get(name, name.replace("_", " ").capitalize())) for name in d.results]
    return _print_equations(d, items, header, args.latex)


def _cmd_bap_compute_optimal(args):
    import sympy as sp

    from scaling_theory.theory import derive_bap
    from scaling_theory.theory._flow import BAP_SYMBOLS

    from scaling_theory.numerics._exponent_checks import validate_parameters

    a_s, b_s = _real("alpha", args.alpha), _real("beta", args.beta)
    # the same ranges as `exponents bap` (the asymptotics live at M = inf: alpha > 1, beta > 0)
    a_f, b_f = validate_parameters("bap", _exponent_arg("bap", "alpha", a_s), _exponent_arg("bap", "beta", b_s))
    point = {BAP_SYMBOLS["alpha"]: sp.Rational(a_f.numerator, a_f.denominator),
             BAP_SYMBOLS["beta"]: sp.Rational(b_f.numerator, b_f.denominator)}
    exprs = compute_optimal_exponents()
    exact = {k: sp.nsimplify(v.subs(point)) for k, v in exprs.items()}
    c = float(-derive_bap()["exponent_N"].subs(point))
    out = {"alpha": float(a_s), "beta": float(b_s), "compute": "C = N t", "c": c,
           "exponents": {k: float(v) for k, v in exact.items()},
           "exact": {k: str(v) for k, v in exact.items()},
           "expressions": {k: str(v) for k, v in exprs.items()}}
    if args.json:
        _dump(out)
        return 0
    print(f"model B compute-optimal scaling at alpha = {float(a_s):g}, beta = {float(b_s):g} "
          f"(C = N t; L ~ a t^-beta + b N^-c, c = alpha min(beta, 1) = {c:g})")
    names = {"N": "N*(C)", "t": "t*(C)", "L": "L*(C)"}
    for k in ("N", "t", "L"):
        print(f"  {names[k]} ~ C^({out['exact'][k]})  = C^{out['exponents'][k]:.10g}   "
              f"[{out['expressions'][k]}]")
    return 0


def _exponent_arg(model, name, s):
    """A user's exponent: checked with ``Fraction`` (never evaluated); the stripped
    string goes on to :func:`~numerics._exponent_checks.validate_parameters`."""
    from fractions import Fraction

    if s is None:
        return None
    s = str(s).strip()
    rng = EXPONENT_MODELS[model]["ranges"].get(name)
    try:
        if not math.isfinite(float(Fraction(s))):  # 1e999: exact, but not a usable exponent
            raise ValueError
    except (ValueError, ZeroDivisionError, OverflowError):
        what = f"a finite real number {rng}" if rng else "a finite real number"
        raise _UsageError(f"{name} must be {what}, got {s!r}") from None
    return s


def _cmd_exponents(args):
    """``exponents mrs|bap``: the engine's exponents; see :func:`exponents_report`."""
    model = args.exponents_model
    if model == "mrs" and args.beta is not None:
        raise _UsageError("beta is not a parameter of model A (mrs): its exponents depend on alpha only "
                          "(beta is model B's task exponent: `exponents bap`)")
    alpha = _exponent_arg(model, "alpha", args.alpha)
    beta = _exponent_arg(model, "beta", args.beta)
    r = exponents_report(model, alpha, beta, latex=args.latex)
    if args.json:
        _dump(r)
        return 0
    if args.latex:     # a LaTeX fragment: % comments and \\[ ... \\] displays
        params = [f"{n} = {r[n]:g}" for n in ("alpha", "beta") if n in r and r[n] is not None]
        print(f"% {r['title']}: derived asymptotic exponents{' at ' + ', '.join(params) if params else ''}")
        for key, s in exponent_rows(r["latex"]):
            print(f"% {key}")
            print("\\[ " + s + " \\]")
        return 0
    params = [f"{n} = {r[n]:g}" for n in ("alpha", "beta") if n in r and r[n] is not None]
    print(f"{r['title']}: derived asymptotic exponents"
          f"{' at ' + ', '.join(params) if params else ' (symbolic)'}")
    print(f"  {r['alpha_convention']}")
    exact = dict(exponent_rows(r["exact"])) if r["numeric"] else {}
    phase = r["phase"] or {}
    values = dict(exponent_rows({k: r[k] for k in r["regimes"]}))
    rows = []
    for key, regime in exponent_rows(r["regimes"]):
        v = values[key]
        if r["numeric"]:
            num = f"{v:.10g}"
            val = num if exact[key] == num else f"{num} ({exact[key]})"
            ph = phase.get(key, "")
            regime += "" if ph == "" else (f" [phase {ph}]" if ph else " [phase boundary]")
        else:
            val = v
        rows.append((key, regime, val))
    head = ("quantity", "regime", "exponent e")
    width = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, width)).rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, width)).rstrip())
    if r["numeric"]:
        print("(prefactors A of L ~ A X^e: --json)")
    return 0


def _repo_root():
    """The source checkout: the folder above the ``theory`` package when it
    holds ``derivations/`` (editable install), else the current directory
    when it is a checkout (a regular install lives in site-packages)."""
    from scaling_theory import theory

    for root in (Path(theory.__file__).resolve().parent.parent, Path.cwd()):
        if (root / "derivations").is_dir() and (root / "theory").is_dir():
            return root
    raise _UsageError("cannot find the repository (a folder with theory/ and derivations/); "
                      "run `scaling-theory derive` from the repository root")


def _cmd_derive(args):
    from scaling_theory.theory import write_derivations

    root = _repo_root()
    results = write_derivations(root, check=args.check)
    stale = [p for p, changed in results if changed]
    for path, changed in results:
        rel = Path(path).resolve().relative_to(root) if Path(path).resolve().is_relative_to(root) else path
        state = ("stale" if args.check else "written") if changed else "up to date"
        print(f"{state:>10}  {rel}")
    if args.check and stale:
        print(f"{PROG}: error: {len(stale)} generated file(s) are stale; run `{PROG} derive`",
              file=sys.stderr)
        return 1
    return 0


def _cmd_reproduce(args):
    from scaling_theory.report import reproduce

    seeds = None if args.seeds is None else _int("seeds", args.seeds, low=2)
    r = reproduce(args.out, seeds=seeds, quick=args.quick, progress=not args.no_progress)
    tv = r["headline"]["theory_vs_simulation"]
    print(f"report written to {Path(r['out_dir']).resolve()} in {r['timings']['total']:.1f} s")
    print(f"  summary: {r['summary']}")
    for f in r["figures"]:
        print(f"  figure:  {f}")
    print(f"  data:    {r['json']}, {r['csv']}")
    print(f"  theory vs simulation (away from the peak): max {_num(tv['max_abs_deviation_sem'])} sem, "
          f"{_num(tv['max_abs_deviation_percent'])} %")
    return 0


# --------------------------------------------------------------------------
# parser and entry point
# --------------------------------------------------------------------------
def _version():
    try:
        from importlib.metadata import version

        return version("scaling-theory")
    except Exception:  # noqa: BLE001 - not installed: report unknown
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Solvable models of neural scaling laws: theory, simulation, report.")
    p.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    mrs = sub.add_parser("mrs", help="model A (Maloney, Roberts & Sully, arXiv:2210.16859)",
                         description="Model A: random-feature ridge regression on power-law data.")
    msub = mrs.add_subparsers(dest="mrs_command", metavar="SUBCOMMAND", parser_class=_Parser)
    msub.required = True

    loss = msub.add_parser("loss", help="theory: average test and train loss",
                           description="Average test/train loss from the derived equations. Comma-separated "
                                       "--N/--T/--gamma evaluate every combination.")
    _add_model_flags(loss)
    loss.add_argument("--activation", default="linear",
                      help="linear, relu, erf or tanh [linear]; nonlinear: Gaussian-equivalent theory "
                           "averaged over sampled U (double precision)")
    loss.add_argument("--u-draws", dest="u_draws", default="16", metavar="K",
                      help="draws of U for a nonlinear activation, >= 2 [16]")
    loss.add_argument("--seed", default="0", metavar="S",
                      help="root seed of the draws of U (nonlinear activation; the U of simulate's seeds) [0]")
    loss.add_argument("--precision", metavar="D",
                      help="significant digits (mpmath), 5 to 10000; default double precision")
    loss.add_argument("--json", action="store_true", help="print JSON")
    loss.set_defaults(func=_cmd_loss)

    sim = msub.add_parser("simulate", help="finite simulation: mean and sem over instances",
                          description="Simulate model A. A comma-separated --gamma list is evaluated on the "
                                      "same instances (one SVD per instance).")
    _add_model_flags(sim)
    sim.add_argument("--activation", default="linear", help="linear, relu, erf or tanh [linear]")
    sim.add_argument("--seeds", default="8", metavar="K", help="instances, >= 2 [8]")
    sim.add_argument("--seed", default="0", metavar="S", help="root seed, >= 0 [0]")
    sim.add_argument("--json", action="store_true", help="print JSON")
    sim.add_argument("--no-progress", action="store_true", help="no progress bar (stderr)")
    sim.set_defaults(func=_cmd_simulate)

    spc = msub.add_parser("spectrum", help="spectrum of the feature covariance and its power-law fits",
                          description="Eigenvalues of K = E_x[phi phi^T] for one draw of U (exact Gaussian "
                                      "kernels), with fitted exponents of the latent part and of the part "
                                      "past M that nonlinear features add; --seeds K >= 2 adds the fits' "
                                      "mean and standard error over K draws.")
    spc.add_argument("--M", required=True, help="latent dimension, integer >= 1")
    spc.add_argument("--alpha", default="1", help=_MODEL_FLAGS[0][4] + " [1]")
    spc.add_argument("--N", required=True, help="number of features, integer >= 1")
    spc.add_argument("--activation", default="linear", help="linear, relu, erf or tanh [linear]")
    for flag, dest, name, default, help_ in _MODEL_FLAGS[2:]:
        spc.add_argument(flag, dest=dest, default=default, help=help_)
    spc.add_argument("--seeds", default="1", metavar="K", help="draws of U for the fits' error bars [1]")
    spc.add_argument("--seed", default="0", metavar="S", help="seed of U, >= 0 [0]")
    spc.add_argument("--json", action="store_true", help="print JSON (eigenvalues, fits)")
    spc.set_defaults(func=_cmd_spectrum)

    eq = msub.add_parser("equations", help="the derived equations",
                         description="The derived self-consistent equation, test and train loss.")
    eq.add_argument("--latex", action="store_true", help="LaTeX instead of pretty text")
    eq.set_defaults(func=_cmd_equations)

    bap = sub.add_parser("bap", help="model B (Bordelon, Atanasov & Pehlevan, arXiv:2402.01092)",
                         description="Model B: random features trained by gradient descent. Note: model B's "
                                     "alpha is lambda_k = k^-alpha (model A's alpha + 1).")
    bsub = bap.add_subparsers(dest="bap_command", metavar="SUBCOMMAND", parser_class=_Parser)
    bsub.required = True

    bl = bsub.add_parser("loss", help="theory: average test and train loss curves L(t)",
                         description="Average test/train loss of gradient flow at the times --t. "
                                     "Comma-separated --N/--P evaluate every combination. Settings "
                                     "the theory does not cover are reported as errors (exit 2).")
    _add_bap_flags(bl)
    bl.add_argument("--batch", default=None, metavar="B",
                    help="online SGD with batch B (needs --eta and P = inf; double precision)")
    bl.add_argument("--precision", metavar="D",
                    help="significant digits (mpmath), 5 to 200 (model B's quadrature nodes grow with the "
                         "digits); default double precision")
    bl.add_argument("--json", action="store_true", help="print JSON")
    bl.set_defaults(func=_cmd_bap_loss)

    bs = bsub.add_parser("simulate", help="finite simulation: mean and sem over instances",
                         description="Simulate model B: gradient flow (exact), gradient descent (--eta), "
                                     "online SGD (--eta --batch, P = inf), ensembles (--ensemble).")
    _add_bap_flags(bs, simulate=True)
    bs.add_argument("--batch", default=None, metavar="B", help="online SGD batch size (needs --eta and P = inf)")
    bs.add_argument("--seeds", default="8", metavar="K", help="instances, >= 2 [8]")
    bs.add_argument("--seed", default="0", metavar="S", help="root seed, >= 0 [0]")
    bs.add_argument("--json", action="store_true", help="print JSON")
    bs.add_argument("--no-progress", action="store_true", help="no progress bar (stderr)")
    bs.set_defaults(func=_cmd_bap_simulate)

    be = bsub.add_parser("equations", help="the derived results",
                         description="Model B's derived results (renormalised variable, Laplace-space loss, "
                                     "limits, exponents), labelled.")
    be.add_argument("--latex", action="store_true", help="LaTeX instead of pretty text")
    be.set_defaults(func=_cmd_bap_equations)

    bc = bsub.add_parser("compute-optimal", help="compute-optimal exponents of C = N t",
                         description="Exponents of the compute C = N t in the optimal N*(C), t*(C) and "
                                     "the loss L*(C), from the derived t and N exponents.")
    bc.add_argument("--alpha", required=True, help="model-B exponent (lambda_k = k^-alpha), > 1")
    bc.add_argument("--beta", required=True, help="task exponent, > 0")
    bc.add_argument("--json", action="store_true", help="print JSON")
    bc.set_defaults(func=_cmd_bap_compute_optimal)

    ex = sub.add_parser("exponents", help="derived asymptotic exponents of model A or B",
                        description="Exponents of the loss's power laws from the asymptotics engine "
                                    "(theory/_asymptotics.py): numbers at given exponents, symbolic "
                                    "expressions otherwise. ALPHA DIFFERS BETWEEN THE MODELS: model A (mrs): "
                                    "lambda_I = lambda_+ I^-(1+alpha), alpha > 0; model B (bap): "
                                    "lambda_k = k^-alpha, alpha > 1; alpha_B = 1 + alpha_A.")
    esub = ex.add_subparsers(dest="exponents_model", metavar="MODEL", parser_class=_Parser)
    esub.required = True
    json_help = ("print JSON: the exponents at top level (floats, or expression strings), plus exact, "
                 "expressions, regimes, phase, prefactors, prefactor_normalisation (and latex with --latex)")
    em = esub.add_parser("mrs", help="model A: lambda_I = lambda_+ I^-(1+alpha), alpha > 0",
                         description="Model A's exponents: loss_vs_N (L ~ N^e, N << T << M) and loss_vs_T "
                                     "(L ~ T^e, T << N << M), ridgeless. Model A's alpha: "
                                     "lambda_I = lambda_+ I^-(1+alpha), alpha > 0 (model B's alpha is "
                                     "1 + this alpha).")
    em.add_argument("--alpha", default=None,
                    help="model-A exponent: lambda_I = lambda_+ I^-(1+alpha), > 0 (NOT model B's alpha: "
                         "alpha_B = 1 + alpha_A); a decimal or p/q; omit for symbolic output")
    em.add_argument("--beta", default=None, help=argparse.SUPPRESS)  # rejected with a clear message
    em.add_argument("--json", action="store_true", help=json_help)
    em.add_argument("--latex", action="store_true", help="LaTeX, one labelled line per quantity")
    em.set_defaults(func=_cmd_exponents)
    eb = esub.add_parser("bap", help="model B: lambda_k = k^-alpha, alpha > 1 (= 1 + model A's alpha), beta > 0",
                         description="Model B's exponents at M = inf: loss_vs_t (L ~ t^e, N = P = inf), "
                                     "loss_vs_N (L ~ N^e, P = t = inf), loss_vs_P (L ~ P^e, N = t = inf) and "
                                     "compute_optimal (exponents of C = N t in N*(C), t*(C), L*(C)). Model "
                                     "B's alpha: lambda_k = k^-alpha, alpha > 1 (model A's alpha + 1).")
    eb.add_argument("--alpha", default=None,
                    help="model-B exponent: lambda_k = k^-alpha, > 1 (NOT model A's alpha: alpha_B = "
                         "1 + alpha_A); a decimal or p/q; omit for symbolic output")
    eb.add_argument("--beta", default=None,
                    help="task exponent: lambda_k w*_k^2 = k^-(alpha beta + 1), > 0; omit for symbolic output")
    eb.add_argument("--json", action="store_true", help=json_help)
    eb.add_argument("--latex", action="store_true", help="LaTeX, one labelled line per quantity")
    eb.set_defaults(func=_cmd_exponents)

    der = sub.add_parser("derive", help="regenerate derivations/ and the generated code",
                         description="Regenerate derivations/*.md and numerics/_generated_ridge.py from scaling_theory.theory/.")
    der.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is stale")
    der.set_defaults(func=_cmd_derive)

    rep = sub.add_parser("reproduce", help="write the report (figures, data, summary.md)",
                         description="Theory curves against simulations: figures, JSON/CSV data, summary.md.")
    rep.add_argument("--out", default="report", metavar="DIR", help="output folder [report]")
    rep.add_argument("--seeds", default=None, metavar="K", help="instances per simulated point [10]")
    rep.add_argument("--quick", action="store_true", help="tiny sizes (seconds), for tests")
    rep.add_argument("--no-progress", action="store_true", help="no progress bar")
    rep.set_defaults(func=_cmd_reproduce)
    return p


def main(argv=None) -> int:
    """Entry point of ``scaling-theory``; returns the exit status."""
    from scaling_theory.numerics._solver import ConvergenceError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    try:
        return int(args.func(args) or 0)
    except ConvergenceError as exc:
        print(f"{PROG}: error: solver did not converge: {_one_line(exc)}", file=sys.stderr)
        return 1
    except FloatingPointError as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"{PROG}: error: {_flagged(_one_line(exc))}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{PROG}: error: out of memory; use smaller sizes", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. piped into head
        return 0


def _one_line(exc):
    return " ".join(str(exc).split()) or type(exc).__name__


#: The library's parameter names and the flags a user types for them.
_FLAGS = {
    "M": "--M", "N": "--N", "T": "--T", "P": "--P", "t": "--t", "times": "--t", "alpha": "--alpha",
    "beta": "--beta", "gamma": "--gamma", "noise_var": "--noise-var", "eta": "--eta", "batch": "--batch",
    "ensemble": "--ensemble", "dps": "--precision", "precision": "--precision", "seeds": "--seeds",
    "seed": "--seed", "u_draws": "--u-draws", "lambda_plus": "--lambda-plus", "sigma_w2": "--sigma-w2",
    "sigma_u2": "--sigma-u2", "activation": "--activation", "out": "--out",
}


def _flagged(message):
    """The message with its leading parameter name written as the flag (``dps`` -> ``--precision``)."""
    import re

    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(?=[\s:(=,])", message)
    if m and m.group(1) in _FLAGS:
        return _FLAGS[m.group(1)] + message[m.end():]
    return message


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
