"""Model objects: one frozen dataclass per model, validated once.

Theory, simulation, command line and report all take the same object.

Exponent names differ between the two papers.  **Model A** (Maloney, Roberts
& Sully) writes the latent spectrum as ``lambda_I = lambda_plus * I**-(1+alpha)``;
model B (Bordelon, Atanasov & Pehlevan) writes ``lambda_k = k**-alpha``, so
``alpha_B = 1 + alpha_A``.  :class:`MRSModel` uses model A's ``alpha``.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, fields, replace

import numpy as np

__all__ = ["MRSModel", "BAPModel", "ACTIVATIONS"]

#: Activations the finite simulation supports (model A, CONVENTIONS.md).
ACTIVATIONS = ("linear", "relu", "erf", "tanh")


_REQUIRED = object()


def _param(kind, help, default=_REQUIRED, *, grid=False, metavar=None):
    """A model parameter: a dataclass field whose metadata the command line turns into its flag
    (``kind``: int, size (int or inf), real or choice; ``grid``: the flag takes a comma-separated
    list, and the command evaluates every value)."""
    meta = {"kind": kind, "help": help, "grid": grid, "metavar": metavar}
    if default is _REQUIRED:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


def _check_int(name, value, low=1, high=None):
    """An integer in ``[low, high]`` (integral floats such as ``1e3`` are accepted)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {rng}, got {value}")
    return value


def check_axis(name, values, what) -> np.ndarray:
    """A 1-D axis of finite values >= 0 (ridges, times) as a float64 array; ``what`` names one
    entry in the message (``"ridge"``, ``"time"``)."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be real numbers, got {values!r}") from None
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D sequence, got shape {arr.shape}")
    arr = np.atleast_1d(arr).copy()
    if arr.size == 0:
        raise ValueError(f"{name} must contain at least one {what}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {arr.tolist()}")
    return arr


def _check_arrays(model, names, *, positive=(), nonnegative=()):
    """Validate the optional per-mode arrays of a model (length M, finite; signs) and store them
    as tuples of floats; ``M`` left out is the arrays' length."""
    for name in names:
        arr = getattr(model, name)
        if arr is None:
            continue
        try:
            arr = np.asarray(arr, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an array of real numbers") from None
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"{name} must be a 1-D array of M >= 1 numbers, got shape {arr.shape}")
        if model.M is None:
            object.__setattr__(model, "M", int(arr.size))
        if math.isinf(model.M):
            raise ValueError(f"{name} requires a finite M")
        arr = tuple(float(v) for v in arr)
        if len(arr) != model.M:
            raise ValueError(f"{name} must have M = {model.M} entries, got {len(arr)}")
        if not all(math.isfinite(v) for v in arr):
            raise ValueError(f"{name} must be finite")
        if name in positive and min(arr) <= 0:
            raise ValueError(f"{name} must be > 0 entrywise")
        if name in nonnegative and min(arr) < 0:
            raise ValueError(f"{name} must be >= 0 entrywise")
        object.__setattr__(model, name, arr)


def _summary(values, what):
    """``<1000 custom eigenvalues in [1e-06, 1]>``: an array in a repr."""
    return f"<{len(values)} custom {what} in [{min(values):.4g}, {max(values):.4g}]>"


def _exclusive(model, custom, unused, why):
    """Parameters that mean nothing beside the custom array ``custom`` must be left out."""
    if getattr(model, custom) is None:
        return
    for name in unused:
        if getattr(model, name) is not None:
            raise ValueError(f"{name} is not used with a custom {custom} ({why}); leave it out")


def _required(model, name, unless):
    if getattr(model, name) is None:
        raise ValueError(f"{name} is required (or give {unless})")


def _repr(model, arrays):
    """The parameters that define the model, arrays summarised, unused ones left out."""
    parts = []
    for f in fields(model):
        v = getattr(model, f.name)
        if f.name in arrays:
            if v is not None:
                parts.append(f"{f.name}={_summary(v, arrays[f.name])}")
        elif v is not None:
            parts.append(f"{f.name}={v!r}")
    return f"{type(model).__name__}({', '.join(parts)})"


def _switch(model, changes, pairs):
    """``replace`` keywords: a custom array given clears the parameters it replaces; one
    cleared (``None``) clears the defaults the power law filled in, unless they are given."""
    changes = dict(changes)
    for array, params in pairs.items():
        if array not in changes:
            continue
        if changes[array] is not None:
            for p in params:
                changes.setdefault(p, None)
    return changes


def _check_real(name, value, *, positive=False, nonnegative=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:  # mpmath.mpf, numpy scalars, decimal strings are fine
            value_f = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a real number, got {value!r}") from None
    else:
        value_f = float(value)
    if not math.isfinite(value_f):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and not value_f > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if nonnegative and not value_f >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


@dataclass(frozen=True, kw_only=True, repr=False)
class MRSModel:
    """Model A of ``CONVENTIONS.md``: power-law latent data, random
    features and ridge regression (Maloney, Roberts & Sully, arXiv:2210.16859).

    All parameters are keywords.  The latent spectrum is either the power law
    (``alpha``, ``lambda_plus``) or a custom array (``spectrum``); the teacher is
    either flat (``sigma_w2``) or a custom array (``teacher_variances``).  The
    parameters of the form not chosen are left out (they stay ``None``, and the
    model refuses them rather than ignore them).

    Parameters
    ----------
    M : int >= 1
        Latent dimension (with a custom array: its length, may be left out).
    alpha : float > 0
        **Model A's** exponent: ``lambda_I = lambda_plus * I**-(1 + alpha)``
        (model B's exponent is ``1 + alpha``).  Required unless ``spectrum``.
    N : int >= 1
        Number of random features.
    T : int >= 1
        Number of training samples.
    gamma : float >= 0
        Ridge (the training sum is *not* divided by ``T``).
    noise_var : float >= 0
        Variance of the label noise on training labels.
    lambda_plus : float > 0
        Largest eigenvalue of the power law [1].
    sigma_w2 : float > 0
        Teacher-weight variance times ``M`` (a flat teacher) [1].
    sigma_u2 : float > 0
        Feature-weight variance times ``M``.
    activation : {"linear", "relu", "erf", "tanh"}
        Elementwise feature map.
    spectrum : array of M positive floats, optional
        A custom latent spectrum ``lambda_1..lambda_M`` in place of the power law
        (``alpha`` and ``lambda_plus`` are then left out).
    teacher_variances : array of M non-negative floats, optional
        A custom teacher: per-mode ``E[w_I^2]`` in place of the flat ``sigma_w2 / M``
        (``sigma_w2`` is then left out).

    Examples
    --------
    >>> m = MRSModel(M=1000, alpha=1.0, N=100, T=400)
    >>> m.eigenvalues()[:3]
    array([1.        , 0.25      , 0.11111111])
    >>> MRSModel(spectrum=[1.0, 0.5, 0.1], N=2, T=10)
    MRSModel(M=3, N=2, T=10, gamma=0.0, noise_var=0.0, sigma_w2=1.0, sigma_u2=1.0, activation='linear', \
spectrum=<3 custom eigenvalues in [0.1, 1]>)
    >>> MRSModel(M=1000, alpha=-1.0, N=100, T=400)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be > 0, got -1.0
    >>> MRSModel(alpha=1.0, spectrum=[1.0, 0.5], N=2, T=10)
    Traceback (most recent call last):
    ...
    ValueError: alpha is not used with a custom spectrum (it replaces the power law); leave it out
    """

    M: int = _param("int", "latent dimension, integer >= 1 (default with --spectrum/--target: the file's length)",
                    None)
    alpha: float = _param("real", "model-A exponent: lambda_I = lambda_plus * I^-(1+alpha), > 0 "
                          "(required unless --spectrum)", None)
    N: int = _param("int", "number of features, integer(s) >= 1", grid=True)
    T: int = _param("int", "training-set size, integer(s) >= 1", grid=True)
    gamma: float = _param("real", "ridge(s), >= 0", 0.0, grid=True, metavar="G")
    noise_var: float = _param("real", "label-noise variance, >= 0", 0.0)
    lambda_plus: float = _param("real", "largest latent eigenvalue of the power law, > 0 [1]", None)
    sigma_w2: float = _param("real", "teacher-weight variance times M (flat teacher), > 0 [1]", None)
    sigma_u2: float = _param("real", "feature-weight variance times M, > 0", 1.0)
    activation: str = _param("choice", "linear, relu, erf or tanh", "linear")
    spectrum: tuple | None = None
    teacher_variances: tuple | None = None

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        _exclusive(self, "spectrum", ("alpha", "lambda_plus"), "it replaces the power law")
        _exclusive(self, "teacher_variances", ("sigma_w2",), "it replaces the flat teacher")
        if self.M is not None:
            set_("M", _check_int("M", self.M))
        _check_arrays(self, ("spectrum", "teacher_variances"), positive=("spectrum",),
                      nonnegative=("teacher_variances",))
        _required(self, "M", "a custom spectrum or teacher, whose length is M")
        set_("N", _check_int("N", self.N))
        set_("T", _check_int("T", self.T))
        if self.spectrum is None:
            _required(self, "alpha", "a custom spectrum")
            _check_real("alpha", self.alpha, positive=True)
            set_("lambda_plus", 1.0 if self.lambda_plus is None else self.lambda_plus)
            _check_real("lambda_plus", self.lambda_plus, positive=True)
        if self.teacher_variances is None:
            set_("sigma_w2", 1.0 if self.sigma_w2 is None else self.sigma_w2)
            _check_real("sigma_w2", self.sigma_w2, positive=True)
        _check_real("gamma", self.gamma, nonnegative=True)
        _check_real("noise_var", self.noise_var, nonnegative=True)
        _check_real("sigma_u2", self.sigma_u2, positive=True)
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}"
            )

    def __repr__(self):
        return _repr(self, {"spectrum": "eigenvalues", "teacher_variances": "teacher variances"})

    def describe(self) -> str:
        """The latent data in words, for headers: ``alpha = 1`` or ``custom spectrum (M = 5)``."""
        if self.spectrum is None:
            data = f"alpha = {float(self.alpha):g}"
            if float(self.lambda_plus) != 1.0:
                data += f", lambda_plus = {float(self.lambda_plus):g}"
        else:
            data = "custom spectrum"
        if self.teacher_variances is not None:
            data += ", custom teacher"
        elif float(self.sigma_w2) != 1.0:
            data += f", sigma_w2 = {float(self.sigma_w2):g}"
        return data

    # -- derived quantities -------------------------------------------------
    @property
    def is_power_law(self) -> bool:
        """True when the spectrum is the power law (no explicit array)."""
        return self.spectrum is None

    @property
    def has_flat_teacher(self) -> bool:
        """True when ``E[w_I^2] = sigma_w2 / M`` for every mode."""
        return self.teacher_variances is None

    def eigenvalues(self) -> np.ndarray:
        """The latent spectrum ``lambda_1..lambda_M`` (float64 array)."""
        if self.spectrum is not None:
            return np.asarray(self.spectrum, dtype=float)
        idx = np.arange(1, self.M + 1, dtype=float)
        return float(self.lambda_plus) * idx ** (-(1.0 + float(self.alpha)))

    def teacher_variance_array(self) -> np.ndarray:
        """Per-mode teacher variance ``E[w_I^2]`` (float64 array)."""
        if self.teacher_variances is not None:
            return np.asarray(self.teacher_variances, dtype=float)
        return np.full(self.M, float(self.sigma_w2) / self.M)

    def replace(self, **changes) -> "MRSModel":
        """A copy with some parameters changed (validated again).  Giving ``spectrum``
        (``teacher_variances``) drops the power law's (flat teacher's) parameters;
        ``spectrum=None`` with ``alpha`` goes back to the power law."""
        return replace(self, **_switch(self, changes, {"spectrum": ("alpha", "lambda_plus"),
                                                       "teacher_variances": ("sigma_w2",)}))

    def to_dict(self) -> dict:
        """Plain parameters for JSON output: the parameters that define the model (arrays as
        lists); those of the form not chosen (``alpha`` beside a custom spectrum) are absent."""
        d = {"model": "mrs", "M": self.M}
        for name in ("alpha", "N", "T", "gamma", "noise_var", "lambda_plus", "sigma_w2", "sigma_u2"):
            v = getattr(self, name)
            if v is not None:
                d[name] = v if name in ("N", "T") else float(v)
        d["activation"] = self.activation
        if self.spectrum is not None:
            d["spectrum"] = list(self.spectrum)
        if self.teacher_variances is not None:
            d["teacher_variances"] = list(self.teacher_variances)
        return d


def _check_int_or_inf(name, value, low=1):
    if isinstance(value, str) and value.strip().lower() in ("inf", "infinity"):
        return math.inf
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isinf(value) and value > 0:
        return math.inf
    return _check_int(name, value, low)


@dataclass(frozen=True, kw_only=True, repr=False)
class BAPModel:
    """Model B of ``CONVENTIONS.md``: random features trained by gradient
    descent (Bordelon, Atanasov & Pehlevan, arXiv:2402.01092).

    All parameters are keywords.  The spectrum is the power law ``k**-alpha``
    or a custom array (``spectrum``); the target is the power law set by
    ``beta`` or a custom array (``target_weights``).  A custom spectrum needs a
    custom target: the power-law target is defined through the power-law
    spectrum.  Parameters of the form not chosen are left out (``None``): the
    model refuses them rather than ignore them.

    Parameters
    ----------
    M : int >= 1 or inf
        Number of latent features (``inf`` for the theory only; with custom
        arrays: their length, may be left out).
    alpha : float > 0 (> 1 when M = inf)
        **Model B's** exponent: ``lambda_k = k**-alpha``.  Model A's data is
        model B with ``alpha_B = 1 + alpha_A``.  Required unless ``spectrum``.
    beta : float > 0
        Task exponent: ``lambda_k (w*_k)^2 = k**-(alpha*beta + 1)``.  Required
        unless ``target_weights``.
    N : int >= 1 or inf
        Model size (number of features).
    P : int >= 1 or inf
        Number of training samples (``inf``: population gradient, no reuse).
    noise_var : float >= 0
        Label-noise variance (matters only at finite P).
    eta : float > 0, optional
        Learning rate of discrete-time gradient descent (``None``: gradient flow).
    batch : int >= 1, optional
        Online SGD batch size (requires ``P = inf`` and ``eta``).
    ensemble : int >= 1
        Number of students with independent projections averaged (CONVENTIONS.md, model B).
    spectrum : array of M positive floats, optional
        A custom spectrum ``lambda_k`` (then ``alpha`` is left out, and
        ``target_weights`` is required).
    target_weights : array of M floats, optional
        A custom target ``w*_k`` (then ``beta`` is left out).

    Examples
    --------
    >>> m = BAPModel(M=100, alpha=1.5, beta=1.0, N=20, P="inf")
    >>> m.P, round(float(m.eigenvalues()[1]), 12)      # 2**-1.5
    (inf, 0.353553390593)
    >>> bool(abs(m.eigenvalues()[3] * m.target()[3] ** 2 - 4.0 ** -2.5) < 1e-15)
    True
    >>> BAPModel(spectrum=[1.0, 0.3, 0.1], target_weights=[1.0, -0.5, 0.2], N=2, P=10)
    BAPModel(M=3, N=2, P=10, noise_var=0.0, ensemble=1, spectrum=<3 custom eigenvalues in [0.1, 1]>, \
target_weights=<3 custom target weights in [-0.5, 1]>)
    >>> BAPModel(M="inf", alpha=0.8, beta=1, N=10, P=10)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be > 1 when M = inf, got 0.8
    >>> BAPModel(spectrum=[1.0, 0.3], N=2, P=10)
    Traceback (most recent call last):
    ...
    ValueError: target_weights is required with a custom spectrum (the power-law target ...
    """

    M: int | float = _param("size", "number of latent features, integer >= 1 or inf "
                            "(default with --spectrum/--target: the file's length)", None)
    alpha: float = _param("real", "model-B exponent: lambda_k = k^-alpha, > 0 (model A's alpha + 1; "
                          "required unless --spectrum)", None)
    beta: float = _param("real", "task exponent: lambda_k w*_k^2 = k^-(alpha beta + 1), > 0 "
                         "(required unless --target)", None)
    N: int | float = _param("size", "model size(s), integer(s) >= 1 or inf", grid=True)
    P: int | float = _param("size", "number(s) of training samples, integer(s) >= 1 or inf (population gradient)",
                            grid=True)
    noise_var: float = _param("real", "label-noise variance, >= 0", 0.0)
    eta: float | None = _param("real", "learning rate of discrete gradient descent (default: gradient flow)", None)
    batch: int | None = _param("int", "online SGD batch size (needs --eta and P = inf)", None, metavar="B")
    ensemble: int = _param("int", "students averaged (ensemble), >= 1", 1, metavar="E")
    spectrum: tuple | None = None
    target_weights: tuple | None = None

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        _exclusive(self, "spectrum", ("alpha",), "it replaces the power law k^-alpha")
        _exclusive(self, "target_weights", ("beta",), "it replaces the power-law target")
        if self.spectrum is not None and self.target_weights is None:
            raise ValueError("target_weights is required with a custom spectrum (the power-law target "
                             "k^-(alpha beta + 1 - alpha)/2 is defined by the power-law spectrum)")
        if self.M is not None:
            set_("M", _check_int_or_inf("M", self.M))
        _check_arrays(self, ("spectrum", "target_weights"), positive=("spectrum",))
        _required(self, "M", "a custom spectrum and target, whose length is M")
        set_("N", _check_int_or_inf("N", self.N))
        set_("P", _check_int_or_inf("P", self.P))
        if self.spectrum is None:
            _required(self, "alpha", "a custom spectrum and target")
            _check_real("alpha", self.alpha, positive=True)
            if math.isinf(self.M) and not float(self.alpha) > 1:
                raise ValueError(f"alpha must be > 1 when M = inf, got {self.alpha}")
        if self.target_weights is None:
            _required(self, "beta", "a custom target")
            _check_real("beta", self.beta, positive=True)
        _check_real("noise_var", self.noise_var, nonnegative=True)
        if self.eta is not None:
            _check_real("eta", self.eta, positive=True)
        if self.batch is not None:
            set_("batch", _check_int("batch", self.batch))
            if not math.isinf(self.P):
                raise ValueError(f"batch (online SGD) requires P = inf, got P = {self.P}")
            if self.eta is None:
                raise ValueError("batch (online SGD) requires a learning rate eta > 0")
        set_("ensemble", _check_int("ensemble", self.ensemble))

    def __repr__(self):
        return _repr(self, {"spectrum": "eigenvalues", "target_weights": "target weights"})

    def describe(self) -> str:
        """The task in words, for headers: ``alpha = 1.5, beta = 1`` or ``custom spectrum and target``."""
        if self.spectrum is not None:
            return "custom spectrum and target"
        if self.target_weights is not None:
            return f"alpha = {float(self.alpha):g}, custom target"
        return f"alpha = {float(self.alpha):g}, beta = {float(self.beta):g}"

    @property
    def is_power_law(self) -> bool:
        """True when both the spectrum and the target are the power laws."""
        return self.spectrum is None and self.target_weights is None

    def _k(self):
        if math.isinf(self.M):
            raise ValueError("M must be finite to list the spectrum")
        return np.arange(1, self.M + 1, dtype=float)

    def eigenvalues(self) -> np.ndarray:
        """``lambda_k = k**-alpha`` (or the given spectrum)."""
        if self.spectrum is not None:
            return np.asarray(self.spectrum, dtype=float)
        return self._k() ** (-float(self.alpha))

    def target(self) -> np.ndarray:
        """``w*_k = k**-((alpha*beta + 1 - alpha)/2)`` (or the given target)."""
        if self.target_weights is not None:
            return np.asarray(self.target_weights, dtype=float)
        a, b = float(self.alpha), float(self.beta)
        return self._k() ** (-(a * b + 1 - a) / 2)

    def replace(self, **changes) -> "BAPModel":
        """A copy with some parameters changed (validated again).  Giving ``spectrum``
        (``target_weights``) drops ``alpha`` (``beta``)."""
        return replace(self, **_switch(self, changes, {"spectrum": ("alpha",), "target_weights": ("beta",)}))

    def to_dict(self) -> dict:
        """Plain parameters for JSON output (``inf`` as the string "inf"); ``alpha`` (``beta``)
        is absent beside a custom spectrum (target)."""
        enc = lambda v: "inf" if isinstance(v, float) and math.isinf(v) else v  # noqa: E731
        d = {"model": "bap", "M": enc(self.M)}
        d.update({k: float(getattr(self, k)) for k in ("alpha", "beta") if getattr(self, k) is not None})
        d.update({"N": enc(self.N), "P": enc(self.P), "noise_var": float(self.noise_var),
                  "eta": None if self.eta is None else float(self.eta), "batch": self.batch,
                  "ensemble": self.ensemble})
        if self.spectrum is not None:
            d["spectrum"] = list(self.spectrum)
        if self.target_weights is not None:
            d["target_weights"] = list(self.target_weights)
        return d
