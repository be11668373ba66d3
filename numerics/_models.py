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
from dataclasses import dataclass, field, replace

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
    as tuples of floats."""
    for name in names:
        arr = getattr(model, name)
        if arr is None:
            continue
        if math.isinf(model.M):
            raise ValueError(f"{name} requires a finite M")
        arr = tuple(float(v) for v in np.asarray(arr, dtype=float).ravel())
        if len(arr) != model.M:
            raise ValueError(f"{name} must have M = {model.M} entries, got {len(arr)}")
        if not all(math.isfinite(v) for v in arr):
            raise ValueError(f"{name} must be finite")
        if name in positive and min(arr) <= 0:
            raise ValueError(f"{name} must be > 0 entrywise")
        if name in nonnegative and min(arr) < 0:
            raise ValueError(f"{name} must be >= 0 entrywise")
        object.__setattr__(model, name, arr)


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


@dataclass(frozen=True)
class MRSModel:
    """Model A of ``CONVENTIONS.md``: power-law latent data, random
    features and ridge regression (Maloney, Roberts & Sully, arXiv:2210.16859).

    Parameters
    ----------
    M : int >= 1
        Latent dimension.
    alpha : float > 0
        **Model A's** exponent: ``lambda_I = lambda_plus * I**-(1 + alpha)``
        (model B's exponent is ``1 + alpha``).
    N : int >= 1
        Number of random features.
    T : int >= 1
        Number of training samples.
    gamma : float >= 0
        Ridge (the training sum is *not* divided by ``T``).
    noise_var : float >= 0
        Variance of the label noise on training labels.
    lambda_plus, sigma_w2, sigma_u2 : float > 0
        Spectrum scale, teacher-weight variance (times ``M``), feature-weight
        variance (times ``M``).
    activation : {"linear", "relu", "erf", "tanh"}
        Elementwise feature map.
    spectrum : array of M positive floats, optional
        Replaces the power law (then ``alpha`` and ``lambda_plus`` are unused).
    teacher_variances : array of M non-negative floats, optional
        Per-mode ``E[w_I^2]``, replacing the flat ``sigma_w2 / M``.

    Examples
    --------
    >>> m = MRSModel(M=1000, alpha=1.0, N=100, T=400)
    >>> m.eigenvalues()[:3]
    array([1.        , 0.25      , 0.11111111])
    >>> MRSModel(M=1000, alpha=-1.0, N=100, T=400)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be > 0, got -1.0
    """

    M: int = _param("int", "latent dimension, integer >= 1")
    alpha: float = _param("real", "model-A exponent: lambda_I = lambda_plus * I^-(1+alpha), > 0")
    N: int = _param("int", "number of features, integer(s) >= 1", grid=True)
    T: int = _param("int", "training-set size, integer(s) >= 1", grid=True)
    gamma: float = _param("real", "ridge(s), >= 0", 0.0, grid=True, metavar="G")
    noise_var: float = _param("real", "label-noise variance, >= 0", 0.0)
    lambda_plus: float = _param("real", "largest latent eigenvalue, > 0", 1.0)
    sigma_w2: float = _param("real", "teacher-weight variance times M, > 0", 1.0)
    sigma_u2: float = _param("real", "feature-weight variance times M, > 0", 1.0)
    activation: str = _param("choice", "linear, relu, erf or tanh", "linear")
    spectrum: tuple | None = field(default=None, repr=False)
    teacher_variances: tuple | None = field(default=None, repr=False)

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("M", _check_int("M", self.M))
        set_("N", _check_int("N", self.N))
        set_("T", _check_int("T", self.T))
        _check_real("alpha", self.alpha, positive=True)
        _check_real("gamma", self.gamma, nonnegative=True)
        _check_real("noise_var", self.noise_var, nonnegative=True)
        _check_real("lambda_plus", self.lambda_plus, positive=True)
        _check_real("sigma_w2", self.sigma_w2, positive=True)
        _check_real("sigma_u2", self.sigma_u2, positive=True)
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}"
            )
        _check_arrays(self, ("spectrum", "teacher_variances"), positive=("spectrum",),
                      nonnegative=("teacher_variances",))

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
        """A copy with some parameters changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain parameters (arrays as lists) for JSON output."""
        d = {
            "model": "mrs",
            "M": self.M,
            "alpha": float(self.alpha),
            "N": self.N,
            "T": self.T,
            "gamma": float(self.gamma),
            "noise_var": float(self.noise_var),
            "lambda_plus": float(self.lambda_plus),
            "sigma_w2": float(self.sigma_w2),
            "sigma_u2": float(self.sigma_u2),
            "activation": self.activation,
        }
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


@dataclass(frozen=True)
class BAPModel:
    """Model B of ``CONVENTIONS.md``: random features trained by gradient
    descent (Bordelon, Atanasov & Pehlevan, arXiv:2402.01092).

    Parameters
    ----------
    M : int >= 1 or inf
        Number of latent features (``inf`` for the theory only).
    alpha : float > 0 (> 1 when M = inf)
        **Model B's** exponent: ``lambda_k = k**-alpha``.  Model A's data is
        model B with ``alpha_B = 1 + alpha_A``.
    beta : float > 0
        Task exponent: ``lambda_k (w*_k)^2 = k**-(alpha*beta + 1)``.
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
    spectrum, target_weights : arrays of M floats, optional
        Replace ``lambda_k`` and ``w*_k``.

    Examples
    --------
    >>> m = BAPModel(M=100, alpha=1.5, beta=1.0, N=20, P="inf")
    >>> m.P, round(float(m.eigenvalues()[1]), 12)      # 2**-1.5
    (inf, 0.353553390593)
    >>> bool(abs(m.eigenvalues()[3] * m.target()[3] ** 2 - 4.0 ** -2.5) < 1e-15)
    True
    >>> BAPModel(M="inf", alpha=0.8, beta=1, N=10, P=10)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be > 1 when M = inf, got 0.8
    """

    M: int | float = _param("size", "number of latent features, integer >= 1 or inf")
    alpha: float = _param("real", "model-B exponent: lambda_k = k^-alpha, > 0 (model A's alpha + 1)")
    beta: float = _param("real", "task exponent: lambda_k w*_k^2 = k^-(alpha beta + 1), > 0")
    N: int | float = _param("size", "model size(s), integer(s) >= 1 or inf", grid=True)
    P: int | float = _param("size", "number(s) of training samples, integer(s) >= 1 or inf (population gradient)",
                            grid=True)
    noise_var: float = _param("real", "label-noise variance, >= 0", 0.0)
    eta: float | None = _param("real", "learning rate of discrete gradient descent (default: gradient flow)", None)
    batch: int | None = _param("int", "online SGD batch size (needs --eta and P = inf)", None, metavar="B")
    ensemble: int = _param("int", "students averaged (ensemble), >= 1", 1, metavar="E")
    spectrum: tuple | None = field(default=None, repr=False)
    target_weights: tuple | None = field(default=None, repr=False)

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("M", _check_int_or_inf("M", self.M))
        set_("N", _check_int_or_inf("N", self.N))
        set_("P", _check_int_or_inf("P", self.P))
        _check_real("alpha", self.alpha, positive=True)
        _check_real("beta", self.beta, positive=True)
        _check_real("noise_var", self.noise_var, nonnegative=True)
        if math.isinf(self.M) and not float(self.alpha) > 1:
            raise ValueError(f"alpha must be > 1 when M = inf, got {self.alpha}")
        if self.eta is not None:
            _check_real("eta", self.eta, positive=True)
        if self.batch is not None:
            set_("batch", _check_int("batch", self.batch))
            if not math.isinf(self.P):
                raise ValueError(f"batch (online SGD) requires P = inf, got P = {self.P}")
            if self.eta is None:
                raise ValueError("batch (online SGD) requires a learning rate eta > 0")
        set_("ensemble", _check_int("ensemble", self.ensemble))
        _check_arrays(self, ("spectrum", "target_weights"), positive=("spectrum",))

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
        """A copy with some parameters changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain parameters for JSON output (``inf`` as the string "inf")."""
        enc = lambda v: "inf" if isinstance(v, float) and math.isinf(v) else v  # noqa: E731
        d = {"model": "bap", "M": enc(self.M), "alpha": float(self.alpha), "beta": float(self.beta),
             "N": enc(self.N), "P": enc(self.P), "noise_var": float(self.noise_var),
             "eta": None if self.eta is None else float(self.eta), "batch": self.batch,
             "ensemble": self.ensemble}
        if self.spectrum is not None:
            d["spectrum"] = list(self.spectrum)
        if self.target_weights is not None:
            d["target_weights"] = list(self.target_weights)
        return d
