"""The ``scaling-theory`` command line.

Commands
--------
``scaling-theory mrs loss``       model A theory at a point or on an outer grid
``scaling-theory mrs simulate``   model A finite simulation (mean and sem over seeds)
``scaling-theory mrs equations``  the derived equations (pretty text or LaTeX)
``scaling-theory derive``         regenerate ``derivations/`` and the generated code
``scaling-theory reproduce``      the figure/summary report
``scaling-theory --version``

Bad input (an invalid parameter, a malformed number) prints one line
``scaling-theory: error: ...`` on stderr and exits with status 2; a solver
that does not converge exits with status 1.  User strings are parsed with
``int``/``float`` (and kept as strings for ``MRSModel`` at high precision, so
``--gamma 0.1`` is exactly 1/10); nothing is ever evaluated.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from pathlib import Path

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
    try:
        v = int(s)
    except ValueError:
        try:
            f = float(s)
        except ValueError:
            raise _UsageError(f"{name} must be an integer >= {low}, got {s!r}") from None
        if not math.isfinite(f) or not f.is_integer():
            raise _UsageError(f"{name} must be an integer >= {low}, got {s!r}")
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
    from ._models import MRSModel

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


def _cmd_loss(args):
    import numpy as np

    from ._mrs import mrs_theory, mrs_theory_grid

    digits = None
    if args.precision is not None:
        digits = _int("precision", args.precision)
        if digits > 10000:
            raise _UsageError(f"precision must be <= 10000, got {digits}")
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
        g = mrs_theory_grid(model, N=np.asarray(Ns, float)[:, None, None],
                            T=np.asarray(Ts, float)[None, :, None],
                            gamma=np.asarray(gammas, float)[None, None, :])
        for idx in np.ndindex(g.shape):
            points.append({"N": int(g.N[idx]), "T": int(g.T[idx]), "gamma": float(g.gamma[idx]),
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


def _cmd_simulate(args):
    from . import simulate_mrs

    seeds = _int("seeds", args.seeds, low=2)
    seed = _int("seed", args.seed, low=0)
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


def _cmd_equations(args):
    import sympy as sp

    from theory._mrs import derive_mrs

    d = derive_mrs()
    enc = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    unicode = enc in ("utf8", "utf_8")
    print(f"{d.title} (Maloney, Roberts & Sully, arXiv:2210.16859)")
    print(_SUMS)
    for name, label in _EQUATIONS:
        print()
        print(f"{label}:")
        if args.latex:
            print(d.latex(name))
        else:
            print(sp.pretty(d[name], use_unicode=unicode, wrap_line=False))
    return 0


def _repo_root():
    """The source checkout: the folder above the ``theory`` package when it
    holds ``derivations/`` (editable install), else the current directory
    when it is a checkout (a regular install lives in site-packages)."""
    import theory

    for root in (Path(theory.__file__).resolve().parent.parent, Path.cwd()):
        if (root / "derivations").is_dir() and (root / "theory").is_dir():
            return root
    raise _UsageError("cannot find the repository (a folder with theory/ and derivations/); "
                      "run `scaling-theory derive` from the repository root")


def _cmd_derive(args):
    from theory import write_derivations

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
    from ._report import reproduce

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
    loss.add_argument("--precision", metavar="D", help="digits (mpmath); default double precision")
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

    eq = msub.add_parser("equations", help="the derived equations",
                         description="The derived self-consistent equation, test and train loss.")
    eq.add_argument("--latex", action="store_true", help="LaTeX instead of pretty text")
    eq.set_defaults(func=_cmd_equations)

    der = sub.add_parser("derive", help="regenerate derivations/ and the generated code",
                         description="Regenerate derivations/*.md and numerics/_generated_mrs.py from theory/.")
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
    from ._solver import ConvergenceError

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
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. piped into head
        return 0


def _one_line(exc):
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
