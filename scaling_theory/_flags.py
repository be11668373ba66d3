"""Command-line flags: parsing of user numbers (never evaluated) and the model flags,
generated from the model dataclasses.

Every model parameter is a dataclass field of :class:`~scaling_theory.numerics.MRSModel`
or :class:`~scaling_theory.numerics.BAPModel` whose metadata (``kind``, ``help``,
``grid``) says how the command line takes it: :func:`add_model_flags` adds one flag
per field (``--M``, ``--alpha``, ``--noise-var``, ...; a comma-separated list for
grid fields) and :func:`model_args` parses them back into the keyword arguments of
the model and its grids.  Both models go through the same two functions.
"""
from __future__ import annotations

import dataclasses
import math

__all__ = ["UsageError", "add_model_flags", "add_array_flags", "model_args", "read_vector", "flag_of", "flagged"]


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
# model B
# --------------------------------------------------------------------------
_INF = ("inf", "+inf", "infinity", "+infinity")


def _size(name, s):
    """An integer >= 1 or ``inf`` (model B's M, N, P)."""
    return math.inf if str(s).strip().lower() in _INF else _int(name, s)


def _sizes(name, text):
    return [_size(name, s) for s in _split(name, text)]


#: The library's parameter names and the flags a user types for them.
#: The library's parameter names and the flags a user types for them: every model field's
#: generated flag, and the other commands' flags.
_OTHER_FLAGS = {"t": "--t", "times": "--t", "dps": "--precision", "precision": "--precision", "seeds": "--seeds",
                "seed": "--seed", "u_draws": "--u-draws", "out": "--out", "workers": "--workers",
                "scheduler": "--scheduler", "file": "--file", "store": "--store", "command": "COMMAND",
                "only": "--only", "dpi": "--dpi", "vector": "--vector",
                "spectrum": "--spectrum", "target_weights": "--target", "teacher_variances": "--target"}


def _all_flags():
    from scaling_theory.numerics._models import BAPModel, MRSModel

    return {**{f.name: flag_of(f.name) for cls in (MRSModel, BAPModel) for f in _model_fields(cls)},
            **_OTHER_FLAGS}


def _flagged(message):
    """The message with its leading parameter name written as the flag (``dps`` -> ``--precision``)."""
    import re

    flags = _all_flags()
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(?=[\s:(=,])", message)
    if m and m.group(1) in flags:
        return flags[m.group(1)] + message[m.end():]
    return message


UsageError = _UsageError


def flag_of(name: str) -> str:
    """The flag of a parameter: ``--M``, ``--alpha``, ``--noise-var``."""
    return "--" + name.replace("_", "-")


def _model_fields(cls):
    return [f for f in dataclasses.fields(cls) if f.metadata.get("kind")]


def add_model_flags(parser, cls, *, only=None, exclude=(), defaults=None, helps=None):
    """One flag per parameter of the model dataclass ``cls`` (see the module docstring).

    ``only``/``exclude`` select the fields; ``defaults`` overrides defaults (a field
    without a default is required unless given one here); ``helps`` overrides help texts.
    """
    defaults, helps = defaults or {}, helps or {}
    for f in _model_fields(cls):
        if (only is not None and f.name not in only) or f.name in exclude:
            continue
        meta = f.metadata
        if f.name in defaults:
            default, required = defaults[f.name], False
        elif f.default is dataclasses.MISSING:
            default, required = None, True
        else:
            default, required = f.default, False
        text = helps.get(f.name, meta["help"])
        if not required and default is not None:
            text += f" [{default:g}]" if isinstance(default, float) else f" [{default}]"
        metavar = meta["metavar"] or (f.name if len(f.name) == 1 else f.name.upper())
        if meta["grid"]:
            metavar += f"[,{metavar}...]"
        parser.add_argument(flag_of(f.name), dest=f.name, required=required,
                            default=None if default is None else str(default), metavar=metavar, help=text)


# --------------------------------------------------------------------------
# custom spectrum and target: --spectrum FILE, --target FILE
# --------------------------------------------------------------------------
#: The model field each array flag fills (model A's target is the teacher's per-mode variance).
ARRAY_FIELDS = {"MRSModel": {"spectrum": "spectrum", "target": "teacher_variances"},
                "BAPModel": {"spectrum": "spectrum", "target": "target_weights"}}

#: Largest custom array read from a file (a model keeps it as a tuple of floats, about 32 bytes per
#: entry; model A's simulation allocates T x M on top, and refuses what does not fit).
MAX_ARRAY_ENTRIES = 10**7

_ARRAY_HELP = {
    ("MRSModel", "spectrum"): "custom latent spectrum lambda_1..lambda_M, > 0 (one number per line, or .npy); "
                              "replaces --alpha and --lambda-plus",
    ("MRSModel", "target"): "custom teacher: per-mode variances E[w_I^2] >= 0 (one number per line, or .npy); "
                            "replaces --sigma-w2",
    ("BAPModel", "spectrum"): "custom spectrum lambda_k > 0 (one number per line, or .npy); replaces --alpha, "
                              "needs --target",
    ("BAPModel", "target"): "custom target weights w*_k (one number per line, or .npy); replaces --beta",
}


def read_vector(flag: str, path: str):
    """The numbers of ``path`` as a float64 array: a ``.npy`` file (1-D, or one column), or
    text with one number per line (blank lines and ``#`` comments skipped).  Nothing is
    evaluated; a bad file raises :class:`UsageError` naming ``flag`` (and the line)."""
    import os

    import numpy as np

    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise _UsageError(f"{flag}: cannot read {path!r}: {exc.strerror or exc}") from None
    if str(path).endswith(".npy"):
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise _UsageError(f"{flag}: {path!r} is not a readable .npy array ({_first_line(exc)})") from None
        if arr.ndim == 2 and 1 in arr.shape:
            arr = arr.reshape(-1)
        if arr.ndim != 1 or arr.size == 0:
            raise _UsageError(f"{flag}: {path!r} must hold a 1-D array of numbers, got shape {arr.shape}")
        if arr.size > MAX_ARRAY_ENTRIES:
            raise _UsageError(f"{flag}: {arr.size} entries, more than the {MAX_ARRAY_ENTRIES:.0e} a model takes")
        if arr.dtype.kind not in "iuf":
            raise _UsageError(f"{flag}: {path!r} must hold real numbers, got dtype {arr.dtype}")
        return np.array(arr, dtype=float)
    if size > 40 * MAX_ARRAY_ENTRIES:          # 40 bytes per line is generous for one number
        raise _UsageError(f"{flag}: {path!r} is {size / 1e9:.1f} GB, more than a model of "
                          f"{MAX_ARRAY_ENTRIES:.0e} modes takes (write it as .npy)")
    values = []
    try:
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                text = line.split("#", 1)[0].strip()
                if not text:
                    continue
                try:
                    values.append(float(text))
                except ValueError:
                    raise _UsageError(f"{flag}: line {lineno} of {path!r} is not one number: "
                                      f"{text[:40]!r}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _UsageError(f"{flag}: cannot read {path!r} as text ({_first_line(exc)})") from None
    if not values:
        raise _UsageError(f"{flag}: {path!r} holds no numbers")
    return np.array(values, dtype=float)


def _first_line(exc):
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def add_array_flags(parser, cls, *, only=("spectrum", "target")):
    """``--spectrum FILE`` and ``--target FILE``: the custom arrays of ``cls``."""
    for flag in only:
        parser.add_argument(f"--{flag}", dest=f"{flag}_file", default=None, metavar="FILE",
                            help=_ARRAY_HELP[cls.__name__, flag])


def _arrays(cls, args):
    """The custom arrays the array flags name (model field -> array)."""
    out = {}
    for flag, name in ARRAY_FIELDS[cls.__name__].items():
        path = getattr(args, f"{flag}_file", None)
        if path is not None:
            out[name] = read_vector(f"--{flag}", path)
    return out


def _parse(kind, name, s, exact):
    if kind == "int":
        return _int(name, s)
    if kind == "size":
        return _size(name, s)
    if kind == "real":
        v = _real(name, s)
        return v if exact else _number(v)
    return str(s).strip()


def model_args(cls, args, *, exact=False, fixed=None):
    """``(params, grids)`` from parsed flags: the scalar keyword arguments of ``cls`` and,
    per grid field, the list of values (each value after the first validated by building the
    model; the caller builds the first).

    The files of ``--spectrum``/``--target`` (:func:`add_array_flags`) are read into the
    model's arrays.  ``exact``: real numbers stay strings (exact for mpmath).  Fields whose flag was not
    added (or is ``None``) are left to the model's defaults; ``fixed`` fills required
    fields that have no flag, for the validation.
    """
    params, grids = {}, {}
    for f in _model_fields(cls):
        raw = getattr(args, f.name, None)
        if raw is None:
            continue
        kind = f.metadata["kind"]
        if f.metadata["grid"]:
            grids[f.name] = [_parse(kind, f.name, s, exact) for s in _split(f.name, raw)]
        else:
            params[f.name] = _parse(kind, f.name, raw, exact)
    params.update(_arrays(cls, args))
    first = {**(fixed or {}), **{k: v[0] for k, v in grids.items()}}
    for name, values in grids.items():          # every value of a grid, before any work starts;
        for v in values[1:]:                    # the caller builds (and so checks) the first model
            cls(**{**params, **first, name: v})
    return params, grids


flagged = _flagged
