r"""Spectra of nonlinear random features: how they extend the latent power law.

Model A (``CONVENTIONS.md``) draws features ``phi(x) = act(U x)`` with
``x ~ N(0, diag(lambda))`` (``M`` latent dimensions) and ``U`` an ``N x M``
matrix of ``N(0, sigma_u2 / M)`` entries.  This module studies the spectrum of
the feature covariance (uncentred second moment, conditional on ``U``)::

    K = E_x[phi(x) phi(x)^T]        (N x N)

* :func:`feature_spectrum` -- the eigenvalues of ``K`` for one draw of ``U``,
  *exactly* (closed-form Gaussian kernels: arc-cosine for ReLU, arcsine for
  erf, Gauss--Hermite quadrature for tanh, the very
  :func:`scaling_theory.numerics._simulate_ridge._feature_moments` that the simulation uses) or by
  Monte Carlo over ``x`` as a check; power-law fits on the latent part and on
  the extended part (beyond index ``M``) and the extent (how many eigenvalues
  lie above ``cutoff`` times the largest).  Linear features have rank ``M``;
  nonlinear ones continue past ``M``.
* :func:`feature_spectrum_exponents` -- the same fits over several draws of
  ``U`` (mean and standard error over draws).
* :func:`fit_power_law` -- least squares on log-log with standard errors.
* :func:`hermite_coefficients` -- ``c_n(q) = E[act(sqrt(q) z) He_n(z)]``, the
  closed forms derived in :func:`scaling_theory.theory._feature_maps.derive_feature_extension`.
* :func:`predicted_feature_spectrum` -- the Hermite / tensor-power theory:
  with ``Sigma = U diag(lambda) U^T`` and ``q`` the pre-activation variance,
  Mehler's formula gives ``K = sum_n (1/n!) D_n Sigma^{o n} D_n`` with
  ``D_n = diag(c_n(q_i) / q_i^{n/2})``; the ``n``-th Hadamard power carries the
  spectrum of the symmetrised ``n``-fold tensor power of the latent spectrum,
  so ``K`` has (for ``N -> inf``) one eigenvalue

      ``N * W_n * lambda_{I_1} ... lambda_{I_n}``,  ``W_n = c_n(qbar)^2 / qbar^n * (sigma_u2 / M)^n``,

  per multiset ``{I_1..I_n}``, with ``qbar = sigma_u2 sum(lambda) / M`` the
  mean pre-activation variance.  At finite ``N`` the same population spectrum
  is pushed through the deterministic equivalent of an ``N``-sample Gram
  matrix (Silverstein's equation; exact for linear features).
* :func:`product_spectrum_exponent` -- the derived local exponent of the
  spectrum of products of ``n`` power laws (``1 + alpha`` with logarithmic
  corrections), evaluated from the symbolic layer.
* :func:`compare_spectra` -- ratio statistics of two spectra over an index
  window.

Public names: :func:`feature_spectrum`, :class:`FeatureSpectrum`,
:func:`feature_spectrum_exponents`, :class:`FeatureExponents`,
:func:`fit_power_law`, :class:`PowerLawFit`, :func:`hermite_coefficients`,
:func:`predicted_feature_spectrum`, :class:`PredictedFeatureSpectrum`,
:func:`product_spectrum_exponent`, :func:`compare_spectra`.

Index conventions: eigenvalues are sorted in descending order and index ``k``
is 1-based (``eigenvalues[k - 1]``); windows ``(start, stop)`` are inclusive.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.optimize import brentq
from threadpoolctl import threadpool_limits

from ._limits import MAX_SEEDS, check_count, check_memory, largest
from ._models import _check_int, ACTIVATIONS, MRSModel
from ._simulate_ridge import _activation, _draw_instance, _feature_moments
from ._results import Result

__all__ = [
    "feature_spectrum", "FeatureSpectrum", "feature_spectrum_exponents", "FeatureExponents",
    "fit_power_law", "PowerLawFit", "hermite_coefficients", "predicted_feature_spectrum",
    "PredictedFeatureSpectrum", "product_spectrum_exponent", "compare_spectra",
]

#: Default relative cutoff of the extent: eigenvalues above ``cutoff * largest`` count.
DEFAULT_CUTOFF = 1e-12

#: Default truncation order of the Hermite / tensor-power prediction.  ReLU's
#: mean-field Hermite weights grow factorially with the order (see
#: :func:`predicted_feature_spectrum`), so its series is cut at the first
#: nonlinear order; erf and tanh converge fast at small pre-activation variance.
DEFAULT_ORDER = {"linear": 1, "relu": 2, "erf": 5, "tanh": 5}

#: Entropy mixed into the seed of the Monte-Carlo inputs (``method="sampled"``),
#: so that they are independent of the streams that draw ``U``.
_SAMPLE_STREAM = 0x5A3D

#: Rows of ``x`` per chunk of the Monte-Carlo second moment.
_SAMPLE_CHUNK = 4096

#: Gauss--Hermite nodes for the tanh Hermite coefficients.
_TANH_HERMITE_NODES = 200

#: Atoms of the population spectrum kept per feature (the rest is lumped into
#: its trace), and their binning (relative width) in the Silverstein solve.
_ATOMS_PER_FEATURE = 20
_BIN_WIDTH = 1e-3

#: Grid points per decade of the deterministic-equivalent counting function.
_GRID_PER_DECADE = 240

#: Below this many features the BLAS runs on one thread: the matrices are
#: small, and several threads only add spin-waiting on a busy machine.
_ONE_THREAD_BELOW = 1000


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------
def _check_positive(name, value):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number > 0, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite real number > 0, got {value!r}")
    return v


def _check_cutoff(cutoff):
    try:
        c = float(cutoff)
    except (TypeError, ValueError):
        raise ValueError(f"cutoff must be a real number in (0, 1), got {cutoff!r}") from None
    if not 0 < c < 1:
        raise ValueError(f"cutoff must be in (0, 1), got {cutoff!r}")
    return c


def _check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    return activation


def _resolve(model, N, activation, sigma_u2) -> MRSModel:
    """One validated :class:`MRSModel` from a model or an explicit spectrum.

    ``model`` is an :class:`MRSModel` (its ``M``, spectrum, ``sigma_u2`` and,
    by default, ``N`` and ``activation``) or a 1-D array of positive latent
    eigenvalues (then ``N`` is required, ``sigma_u2`` defaults to 1 and
    ``activation`` to ``"linear"``).
    """
    if isinstance(model, MRSModel):
        if sigma_u2 is not None:
            raise ValueError("sigma_u2 is taken from the model; pass it only with an explicit spectrum")
        N = model.N if N is None else _check_int("N", N, 1)
        activation = model.activation if activation is None else _check_activation(activation)
        return model.replace(N=N, T=1, activation=activation)
    try:
        lam = np.asarray(model, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"model must be an MRSModel or a 1-D array of latent eigenvalues, got {type(model).__name__}"
        ) from None
    if lam.ndim != 1 or lam.size == 0:
        raise ValueError(f"spectrum must be a non-empty 1-D array, got shape {lam.shape}")
    if not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise ValueError("spectrum must be finite and > 0 entrywise")
    if N is None:
        raise ValueError("N (number of features, integer >= 1) is required with an explicit spectrum")
    N = _check_int("N", N, 1)
    activation = "linear" if activation is None else _check_activation(activation)
    s2 = 1.0 if sigma_u2 is None else _check_positive("sigma_u2", sigma_u2)
    return MRSModel(N=N, T=1, sigma_u2=s2, activation=activation, spectrum=lam)


def _model_dict(m: MRSModel) -> dict:
    """``"model": "mrs"`` and the parameters a spectrum depends on, flat (the JSON vocabulary)."""
    d = {"model": "mrs", "M": m.M, "N": m.N, "sigma_u2": float(m.sigma_u2), "activation": m.activation}
    if m.is_power_law:
        d.update(alpha=float(m.alpha), lambda_plus=float(m.lambda_plus))
    else:
        d["spectrum"] = list(m.spectrum)
    return d


def _model_label(m: MRSModel) -> str:
    lat = (f"alpha={float(m.alpha):g}, lambda_plus={float(m.lambda_plus):g}" if m.is_power_law
           else "custom spectrum")
    return f"{m.activation} features, M={m.M}, N={m.N}, {lat}, sigma_u2={float(m.sigma_u2):g}"


# --------------------------------------------------------------------------
# power-law fits
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class PowerLawFit(Result):
    """Least-squares fit ``log v_k = log amplitude - exponent * log(k - offset)``.

    Attributes
    ----------
    exponent : float
        Decay exponent (``v_k ~ (k - offset)**-exponent``).
    stderr : float
        Its ordinary-least-squares standard error (residuals treated as
        independent; eigenvalues of one matrix are correlated, so the spread
        over draws of ``U`` -- :func:`feature_spectrum_exponents` -- is the
        honest uncertainty).
    amplitude : float
        ``exp`` of the intercept.
    start, stop : int
        Inclusive 1-based index window.
    offset : int
        Index origin of the fit (``0``: plain index; ``M``: index counted from
        the end of the latent rank, for the extended part).
    points : int
        ``stop - start + 1``.
    rms : float
        Root-mean-square residual in ``log v``.
    """

    exponent: float
    stderr: float
    amplitude: float
    start: int
    stop: int
    offset: int
    points: int
    rms: float

    def predict(self, k):
        """The fitted power law at index ``k`` (array-like)."""
        k = np.asarray(k, dtype=float)
        return self.amplitude * (k - self.offset) ** (-self.exponent)

    def to_dict(self) -> dict:
        """Plain values for JSON."""
        return {"exponent": self.exponent, "stderr": self.stderr, "amplitude": self.amplitude,
                "start": self.start, "stop": self.stop, "offset": self.offset,
                "points": self.points, "rms": self.rms}

    def __str__(self) -> str:
        var = "k" if self.offset == 0 else f"k - {self.offset}"
        return (f"exponent {self.exponent:.4f} ± {self.stderr:.2g} over k = {self.start}..{self.stop} "
                f"(v ~ ({var})^-exponent, {self.points} points, rms {self.rms:.2g})")


def fit_power_law(values, start, stop, *, offset=0) -> PowerLawFit:
    """Fit a power law to ``values[start-1 : stop]`` by least squares on log-log.

    Parameters
    ----------
    values : 1-D array
        Positive on the window (e.g. eigenvalues in descending order).
    start, stop : int
        Inclusive 1-based window, ``offset < start``, at least 3 points.
    offset : int >= 0
        The abscissa is ``log(k - offset)``.

    Returns
    -------
    PowerLawFit

    Examples
    --------
    >>> k = np.arange(1, 201)
    >>> fit = fit_power_law(3.0 * k ** -1.5, 10, 200)
    >>> bool(abs(fit.exponent - 1.5) < 1e-12 and abs(fit.amplitude - 3.0) < 1e-9)
    True
    >>> fit_power_law(k ** -1.0, 5, 6)
    Traceback (most recent call last):
    ...
    ValueError: the fit window must hold at least 3 points, got start=5, stop=6
    """
    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("values must be a 1-D array of real numbers") from None
    if v.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {v.shape}")
    offset = _check_int("offset", offset, 0)
    start = _check_int("start", start, offset + 1)
    stop = _check_int("stop", stop, 1, v.size)
    if stop - start + 1 < 3:
        raise ValueError(f"the fit window must hold at least 3 points, got start={start}, stop={stop}")
    y = v[start - 1:stop]
    if not np.all(np.isfinite(y)) or np.any(y <= 0):
        raise ValueError(f"values must be finite and > 0 on the window {start}..{stop}")
    x = np.log(np.arange(start, stop + 1, dtype=float) - offset)
    ly = np.log(y)
    xm, ym = x.mean(), ly.mean()
    sxx = float(np.sum((x - xm) ** 2))
    slope = float(np.sum((x - xm) * (ly - ym)) / sxx)
    icpt = ym - slope * xm
    res = ly - (icpt + slope * x)
    rss = float(res @ res)
    n = y.size
    stderr = math.sqrt(rss / (n - 2) / sxx)
    return PowerLawFit(exponent=-slope, stderr=stderr, amplitude=math.exp(icpt), start=start,
                       stop=stop, offset=offset, points=n, rms=math.sqrt(rss / n))


def _default_windows(M, N, extent):
    """Default latent and extended windows (inclusive, 1-based), or None."""
    latent = (2, min(N, M) // 4)
    if latent[1] - latent[0] + 1 < 3:
        latent = None
    top = min(N, extent)
    extended = None
    if top > M:
        span = top - M
        extended = (M + max(1, math.ceil(span / 8)), M + span // 2)
        if extended[1] - extended[0] + 1 < 3:
            extended = None
    return latent, extended


def _check_window(name, window, low, high):
    try:
        a, b = window
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (start, stop) of 1-based indices") from None
    a = _check_int(f"{name} start", a, low, high)
    b = _check_int(f"{name} stop", b, low, high)
    if b - a + 1 < 3:
        raise ValueError(f"{name} must hold at least 3 indices, got ({a}, {b})")
    return a, b


# --------------------------------------------------------------------------
# the measured spectrum
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class FeatureSpectrum(Result):
    """Spectrum of ``K = E_x[phi phi^T]`` for one draw of ``U``.

    Attributes
    ----------
    model : MRSModel
        The latent spectrum, ``N``, ``sigma_u2`` and the activation
        (``T`` is irrelevant here and set to 1).
    eigenvalues : ndarray, shape (N,)
        Descending (round-off may leave tiny negative values past the rank).
    method : str
        How ``K`` was evaluated (exact kernel, quadrature, or Monte Carlo).
    samples : int or None
        Number of Monte-Carlo inputs (``method="sampled"``), else None.
    seed : int
        ``U`` is the one :func:`scaling_theory.numerics.simulate_mrs_instance` draws from
        ``numpy.random.default_rng(seed)``.
    cutoff : float
        Relative cutoff of the extent.
    extent : int
        Number of eigenvalues above ``cutoff * eigenvalues[0]``.
    latent_fit, extended_fit : PowerLawFit or None
        Fits on the latent part (``v_k ~ k^-exponent`` for ``k`` well below
        ``min(N, M)``) and on the extended part (``k > M``, abscissa
        ``k - M``: the extended part counted from the end of the latent rank);
        None where the window is empty (e.g. linear features: extent ``M``).
    eigenvalue_sem : ndarray or None
        Monte-Carlo standard errors of the eigenvalues (first order:
        ``std((Phi v_k)^2) / sqrt(samples)``), ``method="sampled"`` only.
    """

    model: MRSModel
    eigenvalues: np.ndarray
    method: str
    samples: int | None
    seed: int
    cutoff: float
    extent: int
    latent_fit: PowerLawFit | None
    extended_fit: PowerLawFit | None
    eigenvalue_sem: np.ndarray | None = None

    @property
    def extension_ratio(self) -> float | None:
        """``eigenvalues[M] / eigenvalues[0]``: the first eigenvalue past the
        latent rank, relative to the largest (round-off for linear features);
        None when ``N <= M``."""
        if self.model.N <= self.model.M:
            return None
        return float(self.eigenvalues[self.model.M] / self.eigenvalues[0])

    def to_dict(self) -> dict:
        """JSON-ready summary (eigenvalues as a list)."""
        return {
            **_model_dict(self.model),
            "method": self.method,
            "samples": self.samples,
            "seed": self.seed,
            "cutoff": self.cutoff,
            "extent": self.extent,
            "extension_ratio": self.extension_ratio,
            "latent_fit": None if self.latent_fit is None else self.latent_fit.to_dict(),
            "extended_fit": None if self.extended_fit is None else self.extended_fit.to_dict(),
            "eigenvalues": [float(v) for v in self.eigenvalues],
            "eigenvalue_sem": (None if self.eigenvalue_sem is None
                               else [float(v) for v in self.eigenvalue_sem]),
        }

    def __str__(self) -> str:
        ev = self.eigenvalues
        lines = [f"Feature spectrum ({_model_label(self.model)}; seed={self.seed}): {self.method}",
                 f"  largest eigenvalue {ev[0]:.6e}; extent {self.extent} of {ev.size} "
                 f"(eigenvalues > {self.cutoff:g} x largest)"]
        if self.extension_ratio is not None:
            lines.append(f"  eigenvalue {self.model.M + 1} (first past M) / largest: "
                         f"{self.extension_ratio:.3e}")
        lines.append(f"  latent fit:   {self.latent_fit if self.latent_fit else 'none'}")
        lines.append(f"  extended fit: {self.extended_fit if self.extended_fit else 'none'}")
        return "\n".join(lines)


def _draw_U(model: MRSModel, rng: np.random.Generator):
    lam, _w, U, _X, _eps = _draw_instance(model, rng)
    return lam, U


def _exact_K(model: MRSModel, lam, U):
    Sigma = (U * lam) @ U.T
    K, _k, how = _feature_moments(model.activation, Sigma, np.zeros(model.N))
    return K, how


def _sampled_K(model: MRSModel, lam, U, samples, seed):
    """Monte-Carlo second moment; returns K, and a closure for the SEMs."""
    act = _activation(model.activation)
    sq = np.sqrt(lam)

    def chunks():
        rng = np.random.default_rng(np.random.SeedSequence([seed, _SAMPLE_STREAM]))
        done = 0
        while done < samples:
            b = min(_SAMPLE_CHUNK, samples - done)
            X = rng.standard_normal((b, model.M))
            X *= sq
            yield act(X @ U.T)
            done += b

    K = np.zeros((model.N, model.N))
    for Phi in chunks():
        K += Phi.T @ Phi
    K /= samples

    def sem(V):
        s1 = np.zeros(V.shape[1])
        s2 = np.zeros(V.shape[1])
        for Phi in chunks():
            P2 = (Phi @ V) ** 2
            s1 += P2.sum(axis=0)
            s2 += (P2 * P2).sum(axis=0)
        mean = s1 / samples
        var = np.clip(s2 / samples - mean * mean, 0.0, None) * samples / (samples - 1)
        return np.sqrt(var / samples)

    return K, sem


def check_spectrum_memory(model):
    """Refuse (``ValueError`` naming the largest size) a spectrum that cannot fit in memory."""
    sizes = {"M": model.M, "N": model.N}
    M, N = float(model.M), float(model.N)
    check_memory(8.0 * (N * M + 3 * N * N + 2 * M), "the feature spectrum (U is N x M, K is N x N)",
                 largest(sizes), sizes)


def _eigenvalues(model, rng, seed, method, samples):
    """Descending eigenvalues of K for the U drawn from ``rng``, method, SEMs."""
    check_spectrum_memory(model)
    if model.N < _ONE_THREAD_BELOW:
        with threadpool_limits(limits=1, user_api="blas"):
            return _eigenvalues_impl(model, rng, seed, method, samples)
    return _eigenvalues_impl(model, rng, seed, method, samples)


def _eigenvalues_impl(model, rng, seed, method, samples):
    lam, U = _draw_U(model, rng)
    if method == "exact":
        K, how = _exact_K(model, lam, U)
        return np.linalg.eigvalsh(K)[::-1].copy(), how, None
    K, sem_fn = _sampled_K(model, lam, U, samples, seed)
    w, V = np.linalg.eigh(K)
    return w[::-1].copy(), f"Monte Carlo over x ({samples} inputs)", sem_fn(V[:, ::-1])


def _extent(ev, cutoff):
    return int(np.count_nonzero(ev > cutoff * ev[0])) if ev[0] > 0 else 0


def _assemble(model, ev, how, sem, seed, samples, cutoff, latent, extended):
    M, N = model.M, model.N
    extent = _extent(ev, cutoff)
    d_lat, d_ext = _default_windows(M, N, extent)
    latent = d_lat if latent is None else latent
    extended = d_ext if extended is None else extended
    lat_fit = fit_power_law(ev, *latent) if latent is not None else None
    ext_fit = fit_power_law(ev, *extended, offset=M) if extended is not None else None
    return FeatureSpectrum(model=model, eigenvalues=ev, method=how, samples=samples, seed=seed,
                           cutoff=cutoff, extent=extent, latent_fit=lat_fit, extended_fit=ext_fit,
                           eigenvalue_sem=sem)


def _check_method(method, samples):
    if method not in ("exact", "sampled"):
        raise ValueError(f"method must be 'exact' or 'sampled', got {method!r}")
    if method == "sampled":
        if samples is None:
            raise ValueError("samples (an integer >= 2) is required with method='sampled'")
        return _check_int("samples", samples, 2)
    if samples is not None:
        raise ValueError("samples is only used with method='sampled'")
    return None


def _check_windows(model, latent, extended):
    if latent is not None:
        latent = _check_window("latent", latent, 1, model.N)
    if extended is not None:
        if model.N <= model.M:
            raise ValueError(f"extended needs N > M (N={model.N}, M={model.M})")
        extended = _check_window("extended", extended, model.M + 1, model.N)
    return latent, extended


def feature_spectrum(model, N=None, *, activation=None, sigma_u2=None, seed=0, method="exact",
                     samples=None, cutoff=DEFAULT_CUTOFF, latent=None, extended=None
                     ) -> FeatureSpectrum:
    """Eigenvalues of the feature covariance ``K = E_x[phi phi^T]`` for one ``U``.

    Parameters
    ----------
    model : MRSModel or 1-D array
        The latent spectrum (an :class:`MRSModel`: power law or its explicit
        spectrum, and its ``sigma_u2``; or an array of positive eigenvalues).
    N : int >= 1, optional
        Number of features (default ``model.N``; required with an array).
    activation : {"linear", "relu", "erf", "tanh"}, optional
        Default ``model.activation`` (``"linear"`` with an array).
    sigma_u2 : float > 0, optional
        Feature-weight variance times ``M``; only with an array (default 1).
    seed : int >= 0
        ``U`` is the one :func:`scaling_theory.numerics.simulate_mrs_instance` draws from
        ``numpy.random.default_rng(seed)`` (a larger ``N`` adds rows).
    method : {"exact", "sampled"}
        ``"exact"``: closed-form Gaussian kernels (quadrature for tanh).
        ``"sampled"``: ``K`` estimated from ``samples`` fresh inputs ``x``.
    samples : int >= 2
        Monte-Carlo sample size (``method="sampled"`` only).
    cutoff : float in (0, 1)
        Relative cutoff of the extent.
    latent, extended : (start, stop), optional
        Inclusive 1-based fit windows.  Defaults: latent ``(2, min(N, M)//4)``
        (index 1 may be ReLU's mean spike); extended, with ``E = min(N, extent)``,
        ``(M + ceil((E - M)/8), M + (E - M)//2)`` fitted in ``k - M``.

    Returns
    -------
    FeatureSpectrum

    Notes
    -----
    Cost ``O(N^2 M + N^3)`` (one ``N x N`` symmetric eigenproblem); tanh adds
    the quadrature of :func:`scaling_theory.numerics._simulate_ridge._tanh_moments`.

    Examples
    --------
    Linear features have rank ``M``; ReLU features continue past it:

    >>> m = MRSModel(M=60, alpha=1.0, N=180, T=1)
    >>> lin = feature_spectrum(m, seed=1)
    >>> lin.extent, bool(lin.extension_ratio < 1e-12)
    (60, True)
    >>> relu = feature_spectrum(m, activation="relu", seed=1)
    >>> relu.extent, bool(relu.extension_ratio > 1e-6)
    (180, True)
    >>> bool(abs(lin.latent_fit.exponent - 2.0) < 0.2)     # lambda_I = I^-(1+alpha)
    True
    """
    model = _resolve(model, N, activation, sigma_u2)
    seed = _check_int("seed", seed, 0)
    samples = _check_method(method, samples)
    cutoff = _check_cutoff(cutoff)
    latent, extended = _check_windows(model, latent, extended)
    ev, how, sem = _eigenvalues(model, np.random.default_rng(seed), seed, method, samples)
    return _assemble(model, ev, how, sem, seed, samples, cutoff, latent, extended)


@dataclass(frozen=True)
class FeatureExponents(Result):
    """Power-law fits over independent draws of ``U`` (exact kernels).

    Attributes
    ----------
    model : MRSModel
    seeds : int
        Number of draws (>= 2); draw ``i`` uses
        ``default_rng(SeedSequence(seed).spawn(seeds)[i])``.
    seed : int
    latent, extended : ndarray, shape (seeds,)
        Per-draw exponents (NaN where a window is empty).
    extents : ndarray of int, shape (seeds,)
    latent_window, extended_window : (start, stop) or None
        The windows used (the same for every draw).
    """

    model: MRSModel
    seeds: int
    seed: int
    latent: np.ndarray
    extended: np.ndarray
    extents: np.ndarray
    latent_window: tuple | None
    extended_window: tuple | None
    cutoff: float

    @staticmethod
    def _ms(a):
        if np.all(np.isnan(a)):
            return math.nan, math.nan
        return float(np.mean(a)), float(np.std(a, ddof=1) / math.sqrt(a.size))

    @property
    def latent_exponent(self) -> tuple:
        """(mean, standard error over draws) of the latent exponent."""
        return self._ms(self.latent)

    @property
    def extended_exponent(self) -> tuple:
        """(mean, standard error over draws) of the extended exponent."""
        return self._ms(self.extended)

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        nan = lambda v: None if math.isnan(v) else v  # noqa: E731
        lm, ls = self.latent_exponent
        em, es = self.extended_exponent
        return {**_model_dict(self.model), "seeds": self.seeds, "seed": self.seed,
                "cutoff": self.cutoff,
                "latent_window": self.latent_window, "extended_window": self.extended_window,
                "latent_exponent": nan(lm), "latent_exponent_sem": nan(ls),
                "extended_exponent": nan(em), "extended_exponent_sem": nan(es),
                "per_seed_latent": [nan(float(v)) for v in self.latent],
                "per_seed_extended": [nan(float(v)) for v in self.extended],
                "extents": [int(v) for v in self.extents]}

    def __str__(self) -> str:
        lm, ls = self.latent_exponent
        em, es = self.extended_exponent
        ext = ("none" if math.isnan(em) else
               f"{em:.4f} ± {es:.2g} over k = {self.extended_window[0]}..{self.extended_window[1]} "
               f"(in k - {self.model.M})")
        lat = ("none" if math.isnan(lm) else
               f"{lm:.4f} ± {ls:.2g} over k = {self.latent_window[0]}..{self.latent_window[1]}")
        return (f"Feature-spectrum exponents ({_model_label(self.model)}; {self.seeds} draws of U "
                f"from seed={self.seed}):\n  latent:   {lat}\n  extended: {ext}\n"
                f"  extent: {int(self.extents.min())}..{int(self.extents.max())} "
                f"(eigenvalues > {self.cutoff:g} x largest)")


def feature_spectrum_exponents(model, N=None, *, activation=None, sigma_u2=None, seeds=8, seed=0,
                               cutoff=DEFAULT_CUTOFF, latent=None, extended=None, progress=False
                               ) -> FeatureExponents:
    """Latent and extended exponents over ``seeds`` independent draws of ``U``.

    Same parameters as :func:`feature_spectrum` (exact kernels).  The default
    windows are fixed from the first draw and used for every draw.  ``progress``:
    a ``tqdm`` bar (stderr) over the draws (one ``N x N`` eigenproblem each).

    Examples
    --------
    >>> m = MRSModel(M=40, alpha=1.0, N=120, T=1, activation="erf")
    >>> e = feature_spectrum_exponents(m, seeds=3, seed=0)
    >>> mean, sem = e.latent_exponent
    >>> bool(abs(mean - 2.0) < 0.3 and sem > 0)
    True
    """
    model = _resolve(model, N, activation, sigma_u2)
    seeds = _check_int("seeds", seeds, 2)
    check_count("seeds", seeds, MAX_SEEDS, "more draws of U cannot finish here")
    seed = _check_int("seed", seed, 0)
    cutoff = _check_cutoff(cutoff)
    latent, extended = _check_windows(model, latent, extended)
    lat = np.full(seeds, math.nan)
    ext = np.full(seeds, math.nan)
    extents = np.zeros(seeds, dtype=int)
    from tqdm.auto import tqdm

    draws = np.random.SeedSequence(seed).spawn(seeds)
    for i, ss in enumerate(tqdm(draws, desc="draws of U", unit="draw", disable=not progress, leave=False)):
        ev, _how, _sem = _eigenvalues(model, np.random.default_rng(ss), seed, "exact", None)
        extents[i] = _extent(ev, cutoff)
        if i == 0:                       # windows fixed by the first draw
            d_lat, d_ext = _default_windows(model.M, model.N, extents[0])
            latent = d_lat if latent is None else latent
            extended = d_ext if extended is None else extended
        if latent is not None:
            lat[i] = fit_power_law(ev, *latent).exponent
        # a draw whose spectrum falls below the cutoff inside the window gets no fit
        if extended is not None and extents[i] >= extended[1]:
            ext[i] = fit_power_law(ev, *extended, offset=model.M).exponent
    return FeatureExponents(model=model, seeds=seeds, seed=seed, latent=lat, extended=ext,
                            extents=extents, latent_window=latent, extended_window=extended,
                            cutoff=cutoff)


# --------------------------------------------------------------------------
# Hermite coefficients
# --------------------------------------------------------------------------
def _double_factorial_odd(k):
    """``(2k - 1)!!`` for ``k >= 0``."""
    return math.prod(range(2 * k - 1, 0, -2)) if k > 0 else 1


def hermite_coefficients(activation, q, order) -> np.ndarray:
    """``c_n(q) = E[act(sqrt(q) z) He_n(z)]``, ``z ~ N(0, 1)``, ``n = 0..order``.

    Probabilists' Hermite polynomials, so ``act(sqrt(q) z) = sum_n c_n He_n(z) / n!``
    and, by Mehler's formula, ``E[act(h_i) act(h_j)] = sum_n c_n(q_i) c_n(q_j) rho^n / n!``
    for unit-correlation ``rho`` (:func:`scaling_theory.theory._feature_maps.derive_feature_extension`).

    * linear: ``c_1 = sqrt(q)``, others 0;
    * relu: ``c_0 = sqrt(q / 2 pi)``, ``c_1 = sqrt(q) / 2``,
      ``c_n = sqrt(q / 2 pi) He_{n-2}(0)`` (zero for odd ``n >= 3``);
    * erf: ``c_{2j+1} = (2/sqrt(pi)) (-1)^j (2j)!/j! (q/(1+2q))^{j+1/2}``, even ones 0;
    * tanh: Gauss--Hermite quadrature (200 nodes), even ones 0.

    Examples
    --------
    >>> c = hermite_coefficients("relu", 1.0, 4)
    >>> bool(np.allclose(c, [1/np.sqrt(2*np.pi), 0.5, 1/np.sqrt(2*np.pi), 0.0, -1/np.sqrt(2*np.pi)]))
    True
    >>> c = hermite_coefficients("erf", 0.5, 3)          # sum c_n^2/n! = E[erf(h)^2]
    >>> bool(abs(c[1] - 2 / np.sqrt(np.pi) * np.sqrt(0.25)) < 1e-15)
    True
    """
    activation = _check_activation(activation)
    q = _check_positive("q", q)
    order = _check_int("order", order, 0, 170)
    c = np.zeros(order + 1)
    if activation == "linear":
        if order >= 1:
            c[1] = math.sqrt(q)
    elif activation == "relu":
        c[0] = math.sqrt(q / (2 * math.pi))
        if order >= 1:
            c[1] = math.sqrt(q) / 2
        for n in range(2, order + 1, 2):
            k = (n - 2) // 2
            c[n] = math.sqrt(q / (2 * math.pi)) * (-1) ** k * _double_factorial_odd(k)
    elif activation == "erf":
        s = q / (1 + 2 * q)
        for n in range(1, order + 1, 2):
            j = (n - 1) // 2
            c[n] = (2 / math.sqrt(math.pi) * (-1) ** j * math.factorial(2 * j) / math.factorial(j)
                    * s ** (j + 0.5))
    else:  # tanh: odd function, quadrature for the odd coefficients
        z, wt = hermegauss(_TANH_HERMITE_NODES)
        wt = wt / math.sqrt(2 * math.pi)
        f = np.tanh(math.sqrt(q) * z) * wt
        he_prev, he = np.ones_like(z), z.copy()        # He_0, He_1
        for n in range(1, order + 1):
            if n % 2 == 1:
                c[n] = float(f @ he)
            he_prev, he = he, z * he - n * he_prev
    return c


# --------------------------------------------------------------------------
# tensor-power (Hermite) prediction
# --------------------------------------------------------------------------
def _levels(lam, n, tau):
    """Prefixes of multisets ``I_1 <= .. <= I_k`` (0-based) that can reach a
    product ``>= tau``: returns (products, last indices) at level ``n - 1``
    together with the per-prefix number of admissible last indices."""
    neg = -lam
    p = np.ones(1)
    last = np.zeros(1, dtype=np.int64)
    for k in range(n):
        r = n - k - 1                                   # factors still to add after this one
        thr = (tau / p) ** (1.0 / (1 + r))
        jmax = np.searchsorted(neg, -thr, side="right")  # lam[j] >= thr  <=>  j < jmax
        cnt = np.clip(jmax - last, 0, None)
        if r == 0:
            return p, last, cnt
        keep = cnt > 0
        p, last, cnt = p[keep], last[keep], cnt[keep]
        if p.size == 0:
            return p, last, cnt
        starts = np.repeat(last - np.cumsum(cnt) + cnt, cnt)
        new_last = np.arange(int(cnt.sum()), dtype=np.int64) + starts
        p = np.repeat(p, cnt) * lam[new_last]
        last = new_last
    raise AssertionError("unreachable")  # pragma: no cover


def _count_products(lam, n, tau):
    """Number of multisets of size ``n`` with ``prod lambda >= tau``."""
    if n == 0:
        return 1 if tau <= 1.0 else 0
    _p, _last, cnt = _levels(lam, n, tau)
    return int(cnt.sum())


def _products(lam, n, tau):
    """Products ``lambda_{I_1} .. lambda_{I_n} >= tau`` over multisets (unsorted)."""
    if n == 0:
        return np.ones(1) if tau <= 1.0 else np.zeros(0)
    p, last, cnt = _levels(lam, n, tau)
    if p.size == 0 or cnt.sum() == 0:
        return np.zeros(0)
    keep = cnt > 0
    p, last, cnt = p[keep], last[keep], cnt[keep]
    starts = np.repeat(last - np.cumsum(cnt) + cnt, cnt)
    idx = np.arange(int(cnt.sum()), dtype=np.int64) + starts
    return np.repeat(p, cnt) * lam[idx]


def _complete_homogeneous(lam, n):
    """``h_0..h_n`` of ``lam`` (sum over multisets of products), Newton's identities."""
    pw = [float(np.sum(lam ** i)) for i in range(n + 1)]
    h = [1.0]
    for k in range(1, n + 1):
        h.append(sum(pw[i] * h[k - i] for i in range(1, k + 1)) / k)
    return h


def _select_threshold(lam, weights, target):
    """Threshold ``tau`` on ``W_n * product`` keeping about ``target`` multisets
    (0 when there are no more than ``target`` multisets in all)."""
    M = lam.size
    if sum(math.comb(M + n - 1, n) for n in weights) <= target:
        return 0.0

    def count(t):
        return sum(_count_products(lam, n, t / w) for n, w in weights.items())

    hi = max(w * float(lam[0]) ** n for n, w in weights.items())
    lo = hi
    while count(lo) <= target:           # decades down; the count stays O(target)
        hi, lo = lo, lo * 0.1
    for _ in range(40):                  # count(lo) > target >= count(hi)
        mid = math.sqrt(lo * hi)
        if count(mid) > target:
            lo = mid
        else:
            hi = mid
    return hi


def _arg(w):
    """``|arg w|`` in ``[0, pi]`` (robust to signed zeros)."""
    return np.arctan2(np.abs(np.imag(w)), np.real(w))


def _de_solve(nu, mult, N, z, v):
    """Newton for ``G(v) = -z + v sum mult nu/(v + nu) - N v = 0`` with ``Im v < 0``."""
    Gp = -N
    for _ in range(200):
        r = nu / (v + nu)
        G = -z + v * (mult @ r) - N * v
        Gp = mult @ (r * r) - N
        step = G / Gp
        vn = v - step
        k = 0
        while vn.imag >= 0 and k < 60:
            step /= 2
            vn = v - step
            k += 1
        v = vn
        if abs(step) <= 1e-13 * abs(v):
            return v, Gp, True
    return v, Gp, False


def _de_counts(nu, mult, rest, N, xs, eta=1e-8):
    """Deterministic-equivalent number of eigenvalues above each ``x`` (descending grid).

    Model: ``K = sum_a nu_a z_a z_a^T + rest * I_N`` with ``z_a`` standard
    normal in ``R^N``.  With ``y = N m``, ``m = tr(K - z)^{-1} / N``,
    Silverstein's equation reads ``N / y = -(z - rest) + sum_a nu_a / (1 + nu_a y)``;
    in ``v = 1 / y`` (``Im v <= 0``) it is solved by Newton, continued along
    the grid.  The count follows from the log-determinant
    ``log det(K - z) ~ sum log(1 + nu y) - N log(y / N) - z y - N`` via
    ``#{eigenvalues < x} = -Im log det(K - x - i0) / pi``.
    """
    D = float(mult.sum())
    v = complex(-xs[0] / N, xs[0] / N * eta)
    out = np.empty(xs.size)
    for g, x in enumerate(xs):
        z = complex(x - rest, eta * x)
        v1, Gp, ok = _de_solve(nu, mult, N, z, v)
        # a real root is physical only where dz/dy = -v^2 dz/dv > 0
        unphysical = abs(v1.imag) < 1e-6 * abs(v1) and (-(v1 * v1) * Gp).real <= 0
        if not ok or unphysical:
            for scale in (1.0, 0.1, 10.0, 0.01):
                v2, Gp2, ok2 = _de_solve(nu, mult, N, z, complex(v.real, -scale * abs(v)))
                bad2 = abs(v2.imag) < 1e-6 * abs(v2) and (-(v2 * v2) * Gp2).real <= 0
                if ok2 and not bad2:
                    v1, ok = v2, True
                    break
        if not ok:
            raise ArithmeticError(f"deterministic equivalent: no physical root at x = {x:.6g}")
        v = v1
        below = ((N - D) * _arg(v) + float(mult @ _arg(v + nu)) + (z / v).imag) / math.pi
        out[g] = N - below
    return out


def _de_quantiles(atoms, rest, N, floor):
    """Eigenvalues (descending, length N) of the deterministic equivalent."""
    # bin the atoms (relative width _BIN_WIDTH): representative mean, multiplicity
    key = np.round(np.log(atoms) / _BIN_WIDTH).astype(np.int64)
    uniq, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    nu = np.bincount(inv, weights=atoms) / cnt
    mult = cnt.astype(float)
    D = atoms.size
    want = min(N, D) if rest <= 0 else N
    x_hi = 2.0 * (N * float(nu.max()) + float(atoms.sum()) + rest)
    x_lo = 1e-3 * N * float(atoms.min())
    if rest > 0:                          # K >= rest * I: nothing below rest
        x_lo = min(x_lo, 0.5 * rest)
    x_lo = max(x_lo, floor)
    decades = math.log10(x_hi / x_lo)
    xs = np.geomspace(x_hi, x_lo, max(64, int(decades * _GRID_PER_DECADE)))
    cnt_above = np.maximum.accumulate(_de_counts(nu, mult, rest, N, xs))
    ks = np.arange(1, want + 1) - 0.5
    q = np.exp(np.interp(ks, cnt_above, np.log(xs), left=math.log(x_hi), right=math.log(x_lo)))
    out = np.zeros(N)
    out[:want] = q
    # eigenvalues below the grid (below ``floor``) are returned as 0
    out[:want][ks > cnt_above[-1]] = 0.0
    return out


@dataclass(frozen=True)
class PredictedFeatureSpectrum(Result):
    """Hermite / tensor-power prediction of the feature spectrum.

    Attributes
    ----------
    model : MRSModel
    orders : tuple of int
        Hermite orders kept (those with a non-zero coefficient up to ``order``).
    hermite : ndarray
        ``c_n(qbar)``, ``n = 0..order``.
    weights : dict
        ``n -> W_n = c_n(qbar)^2 / qbar^n (sigma_u2 / M)^n``; order ``n``
        contributes the eigenvalues ``N W_n lambda_{I_1} .. lambda_{I_n}``.
    q_mean : float
        ``qbar = sigma_u2 sum(lambda) / M``, the mean pre-activation variance.
    eigenvalues : ndarray, shape (N,)
        Population (``N -> inf`` shape) eigenvalues ``N W_n prod lambda``,
        the ``N`` largest over all kept orders, descending (zeros past the
        number of multisets, e.g. past ``M`` for linear features).
    finite_n_eigenvalues : ndarray or None
        The same population pushed through the deterministic equivalent of an
        ``N``-sample Gram matrix (``finite_n=True``).
    atoms : int
        Multisets enumerated (above ``threshold``).
    remainder : float
        Trace of the multisets below the threshold (per feature), treated as
        ``remainder * I_N`` in the deterministic equivalent.
    threshold : float
        Smallest ``W_n prod lambda`` enumerated.
    cutoff : float
    extent, finite_n_extent : int
        Eigenvalues above ``cutoff`` times the largest (population / finite N).
    """

    model: MRSModel
    orders: tuple
    hermite: np.ndarray
    weights: dict
    q_mean: float
    eigenvalues: np.ndarray
    finite_n_eigenvalues: np.ndarray | None
    atoms: int
    remainder: float
    threshold: float
    cutoff: float
    extent: int
    finite_n_extent: int | None

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return {
            **_model_dict(self.model), "orders": list(self.orders),
            "hermite": [float(c) for c in self.hermite],
            "weights": {str(n): float(w) for n, w in self.weights.items()},
            "q_mean": self.q_mean, "atoms": self.atoms, "remainder": self.remainder,
            "threshold": self.threshold, "cutoff": self.cutoff, "extent": self.extent,
            "finite_n_extent": self.finite_n_extent,
            "eigenvalues": [float(v) for v in self.eigenvalues],
            "finite_n_eigenvalues": (None if self.finite_n_eigenvalues is None
                                     else [float(v) for v in self.finite_n_eigenvalues]),
        }

    def __str__(self) -> str:
        w = ", ".join(f"W_{n}={v:.3e}" for n, v in self.weights.items())
        lines = [f"Predicted feature spectrum ({_model_label(self.model)}): Hermite orders "
                 f"{list(self.orders)}, qbar={self.q_mean:.4g}",
                 f"  weights {w}",
                 f"  {self.atoms} multisets enumerated (down to {self.threshold:.3e}), "
                 f"remainder trace {self.remainder:.3e}",
                 f"  extent {self.extent} (population)"
                 + ("" if self.finite_n_extent is None else f", {self.finite_n_extent} (finite N)")
                 + f" at cutoff {self.cutoff:g}"]
        return "\n".join(lines)


def predicted_feature_spectrum(model, N=None, *, activation=None, sigma_u2=None, order=None,
                               finite_n=True, cutoff=DEFAULT_CUTOFF) -> PredictedFeatureSpectrum:
    """Feature spectrum predicted from the Hermite coefficients and the latent power law.

    Mehler's formula writes the kernel as ``K = sum_n (1/n!) D_n Sigma^{o n} D_n``
    with ``D_n = diag(c_n(q_i) / q_i^{n/2})`` (:func:`hermite_coefficients`).
    Replacing ``q_i`` by its mean ``qbar = sigma_u2 sum(lambda) / M``, the
    ``n``-th term has, for ``N -> inf`` and in the Hermite-ordered (Wick)
    basis, one eigenvalue

        ``N W_n lambda_{I_1} .. lambda_{I_n}``,  ``W_n = c_n(qbar)^2 / qbar^n (sigma_u2/M)^n``

    per multiset ``{I_1 <= .. <= I_n}``
    (:func:`scaling_theory.theory._feature_maps.derive_feature_extension`).  The orders up to
    ``order`` are merged and sorted.  With ``finite_n`` the population is
    also pushed through the deterministic equivalent of the ``N x N`` Gram
    matrix of ``N`` features (exact for linear features; for nonlinear
    features it ignores that the Hermite-ordered coordinates of one feature
    are products of the same Gaussians, which lowers the last eigenvalues
    below it).

    Parameters
    ----------
    model, N, activation, sigma_u2
        As in :func:`feature_spectrum`.
    order : int >= 1, optional
        Highest Hermite order (default 1 linear, 2 relu, 5 erf and tanh).
        ReLU's weights ``N W_n lambda_1^n = N qbar ((n-3)!!)^2 / (2 pi) p_1^n``
        (``p_I = lambda_I / sum(lambda)``) grow factorially in ``n``, so its
        mean-field series does not converge and orders above 2 overshoot:
        for power-law data ``q_i`` fluctuates by O(1) across features, and the
        normalisation ``sum_I a_iI^2 = 1`` that bounds the true high orders is
        lost when ``q_i`` is replaced by ``qbar``.
    finite_n : bool
        Also compute the finite-``N`` deterministic equivalent.
    cutoff : float in (0, 1)
        Relative cutoff of the predicted extents.

    Returns
    -------
    PredictedFeatureSpectrum

    Examples
    --------
    Linear features: ``N sigma_u2 / M * lambda_I``, then zeros past ``M``:

    >>> m = MRSModel(M=50, alpha=1.0, N=120, T=1)
    >>> p = predicted_feature_spectrum(m)
    >>> bool(np.allclose(p.eigenvalues[:50], 120 / 50 * m.eigenvalues()) and p.extent == 50)
    True
    >>> bool(np.all(p.eigenvalues[50:] == 0) and p.finite_n_extent == 50)
    True

    erf features continue past ``M`` with the cubic products:

    >>> p = predicted_feature_spectrum(m.replace(activation="erf"), finite_n=False)
    >>> p.orders, p.extent
    ((1, 3, 5), 120)
    """
    model = _resolve(model, N, activation, sigma_u2)
    act = model.activation
    if order is None:
        order = DEFAULT_ORDER[act]
    order = _check_int("order", order, 1, 40)
    cutoff = _check_cutoff(cutoff)
    if not isinstance(finite_n, bool):
        raise ValueError(f"finite_n must be True or False, got {finite_n!r}")
    lam = model.eigenvalues()
    M, Nf = model.M, model.N
    s = float(model.sigma_u2) / M
    qbar = s * float(lam.sum())
    c = hermite_coefficients(act, qbar, order)
    weights = {n: float(c[n] ** 2 / qbar ** n * s ** n) for n in range(order + 1) if c[n] != 0.0}
    orders = tuple(weights)

    target = _ATOMS_PER_FEATURE * Nf
    tau = _select_threshold(lam, weights, target)
    parts = []
    rest = 0.0
    for n, w in weights.items():
        p = w * _products(lam, n, tau / w)
        parts.append(p)
        rest += w * _complete_homogeneous(lam, n)[n] - float(p.sum())
    atoms = np.concatenate(parts)
    atoms = atoms[atoms > 0]
    rest = max(rest, 0.0)
    pop = np.sort(atoms)[::-1][:Nf] * Nf
    eig = np.zeros(Nf)
    eig[:pop.size] = pop
    extent = int(np.count_nonzero(eig > cutoff * eig[0]))
    fin = fin_extent = None
    if finite_n:
        floor = cutoff * 1e-3 * float(eig[0])
        fin = _de_quantiles(atoms, rest, Nf, floor)
        fin_extent = int(np.count_nonzero(fin > cutoff * fin[0]))
    return PredictedFeatureSpectrum(
        model=model, orders=orders, hermite=c, weights=weights, q_mean=qbar, eigenvalues=eig,
        finite_n_eigenvalues=fin, atoms=int(atoms.size), remainder=rest,
        threshold=float(tau), cutoff=cutoff, extent=extent, finite_n_extent=fin_extent)


def compare_spectra(measured, predicted, start, stop) -> dict:
    """Ratio ``measured / predicted`` over the inclusive 1-based window.

    Returns ``{"start", "stop", "median", "min", "max", "max_abs_log"}``
    (``max_abs_log`` is the largest ``|log ratio|``).

    Examples
    --------
    >>> r = compare_spectra([4.0, 2.0, 1.0, 0.5], [2.0, 1.0, 1.0, 0.5], 1, 4)
    >>> r["median"], r["max"], round(r["max_abs_log"], 6)
    (1.5, 2.0, 0.693147)
    """
    a = np.asarray(measured, dtype=float)
    b = np.asarray(predicted, dtype=float)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError("measured and predicted must be 1-D arrays")
    start = _check_int("start", start, 1)
    stop = _check_int("stop", stop, start, min(a.size, b.size))
    x, y = a[start - 1:stop], b[start - 1:stop]
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError(f"both spectra must be > 0 on the window {start}..{stop}")
    r = x / y
    return {"start": start, "stop": stop, "median": float(np.median(r)), "min": float(r.min()),
            "max": float(r.max()), "max_abs_log": float(np.max(np.abs(np.log(r))))}


# --------------------------------------------------------------------------
# bridge to the symbolic layer: exponent of products of power laws
# --------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _product_functions(order):
    """``(count(L), exponent(alpha, L))`` lambdified from the derivation."""
    import sympy as sp

    from scaling_theory.theory._feature_maps import FEATURE_SYMBOLS, counting_volume, local_exponent

    L, alpha = FEATURE_SYMBOLS["L"], FEATURE_SYMBOLS["alpha"]
    ns = {"exp": math.exp, "factorial": math.factorial}
    count = sp.lambdify((L,), counting_volume(order) / sp.factorial(order), modules=[ns])
    expo = sp.lambdify((alpha, L), local_exponent(order), modules=[ns])
    return count, expo


def product_spectrum_exponent(alpha, order, count) -> float:
    """Local exponent of the sorted products ``lambda_{I_1}..lambda_{I_n}`` at rank ``count``.

    For ``lambda_I = I^-(1+alpha)`` and multisets of size ``n = order``, the
    derivation (:func:`scaling_theory.theory._feature_maps.derive_feature_extension`, steps
    "Counting function" and "Exponent") gives, in the continuum
    approximation, ``count = V_n(L) / n!`` and the local exponent
    ``s_n(L) = (1+alpha) (n-1)! e^-L V_n(L) / L^(n-1)``, which tends to
    ``1 + alpha`` from below as ``(1+alpha)(1 - (n-1)/L + ...)``.  This
    solves the first relation for ``L`` and returns ``s_n(L)`` (both
    lambdified from the symbolic layer).

    Parameters
    ----------
    alpha : float > 0
    order : int >= 1
    count : float >= 1
        Rank within the order-``n`` part of the spectrum.

    Examples
    --------
    >>> round(product_spectrum_exponent(1.0, 1, 1e6), 5)    # a plain power law: 1 + alpha
    2.0
    >>> s = [product_spectrum_exponent(1.0, 2, c) for c in (1e3, 1e6, 1e12)]
    >>> bool(s[0] < s[1] < s[2] < 2.0)                      # log corrections fade
    True
    """
    alpha = _check_positive("alpha", alpha)
    order = _check_int("order", order, 1, 12)
    try:
        count = float(count)
    except (TypeError, ValueError):
        raise ValueError(f"count must be a real number >= 1, got {count!r}") from None
    if not (math.isfinite(count) and 1 <= count <= 1e250):
        raise ValueError(f"count must be in [1, 1e250], got {count!r}")
    cnt, expo = _product_functions(order)
    hi = 1.0
    while cnt(hi) < count:
        hi *= 2.0
    L = brentq(lambda v: cnt(v) - count, 1e-9, hi, xtol=1e-14, rtol=1e-14)
    return float(expo(alpha, L))
