"""Finite simulation of model A (random-feature ridge regression, MRS).

Implements ``CONVENTIONS.md``, section "Model A", to the letter:

1. latent inputs ``x_I ~ N(0, lambda_I)``, teacher ``w_I ~ N(0, E[w_I^2])``,
   feature weights ``U_jI ~ N(0, sigma_u2 / M)`` (``U`` is ``N x M``);
2. features ``phi(x) = act(U x)``, ``T`` training inputs give ``Phi``
   (``T x N``), labels ``y = X w + eps`` with ``eps ~ N(0, noise_var)``;
3. ``theta = (Phi^T Phi + gamma I)^{-1} Phi^T y`` (the training sum is not
   divided by ``T``); at ``gamma = 0`` the minimum-norm least-squares solution
   ``pinv(Phi) y`` with relative singular-value cutoff ``1e-13``;
4. test loss ``1/2 E_x[(theta.phi(x) - y(x))^2]`` on fresh noise-free ``x``,
   evaluated *exactly* (no test sample) for linear, ReLU and erf features and
   by Gauss-Hermite quadrature for tanh; train loss
   ``(1/T) sum_mu 1/2 (theta.phi_mu - y_mu)^2`` (noisy labels).

One thin SVD of ``Phi`` per instance serves every ridge: with
``Phi = P diag(s) Q^T``, ``theta(gamma) = Q diag(s / (s^2 + gamma)) P^T y``.

Public names: :func:`simulate_mrs`, :func:`simulate_mrs_instance`,
:class:`MRSSimulation`.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from numpy.polynomial.hermite import hermgauss

from ._limits import check_memory, largest
from ._seeds import run_seeds, simulation_key
from ._models import check_axis, MRSModel
from ._results import SimulationResult

__all__ = ["simulate_mrs", "simulate_mrs_instance", "MRSSimulation"]

#: Relative singular-value cutoff of the ridgeless (``gamma = 0``) solution.
RCOND = 1e-13

#: Gauss-Hermite orders tried for tanh features, smallest first.  Order ``n``
#: is used (``n x n`` nodes per pair for ``K``, ``n`` nodes for ``E[tanh']``)
#: when the one-dimensional moments ``E[tanh(h_i)^2]`` and ``E[tanh'(h_i)]`` at
#: orders ``n`` and ``n // 2`` agree to :data:`TANH_QUAD_TOL` for every feature.
#: The rule converges geometrically in ``sqrt(n)``, so the error at ``n`` is far
#: below that difference (below 1e-13 wherever the check passes).  Order 40
#: serves pre-activation variances up to about 0.3; variances above about 2.5
#: fail the check at order 320 and raise ``ValueError``.
TANH_QUAD_ORDERS = (40, 80, 160, 320)

#: Agreement required between orders ``n`` and ``n // 2`` (moments are <= 1).
TANH_QUAD_TOL = 1e-9

#: Bound on the number of float64 entries of one tanh quadrature chunk
#: (pairs x nodes^2), i.e. 32 MB.
_TANH_CHUNK_ENTRIES = 4_000_000

# The SVD routine, a module attribute so that tests can count the calls.
_svd = scipy.linalg.svd


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------
def _check_gammas(gammas, model: MRSModel) -> np.ndarray:
    """Ridges as a 1-D float64 array (default ``(model.gamma,)``)."""
    if gammas is None:
        return np.array([float(model.gamma)])
    return check_axis("gammas", gammas, "ridge")


def _check_model(model) -> MRSModel:
    if not isinstance(model, MRSModel):
        raise ValueError(f"model must be an MRSModel, got {type(model).__name__}")
    check_memory(simulation_bytes(model), "one instance of the simulation", largest(
        {"N": model.N, "T": model.T, "M": model.M}), {"M": model.M, "N": model.N, "T": model.T})
    return model


def simulation_bytes(model: MRSModel) -> float:
    """Memory of one instance (double precision): ``U`` (N x M), inputs (T x M), features and
    their thin SVD (about 3 T x N), the N x N kernel of a nonlinear test loss."""
    M, N, T = float(model.M), float(model.N), float(model.T)
    k = min(N, T)
    kernel = N * N if model.activation != "linear" else 0.0
    return 8.0 * (N * M + T * M + 3 * T * N + k * (T + N) + kernel)


# --------------------------------------------------------------------------
# one instance
# --------------------------------------------------------------------------
def _draw_instance(model: MRSModel, rng: np.random.Generator):
    """Draw one instance of model A.

    Each component comes from its own child stream (``rng.spawn(4)``), so
    instances are *nested*: with the same ``rng`` state, a larger ``N`` adds
    rows to ``U`` and a larger ``T`` adds rows to ``X`` and ``eps`` without
    changing the rest.

    Returns
    -------
    lam : (M,) array
        The latent spectrum.
    w : (M,) array
        Teacher weights, ``w_I ~ N(0, E[w_I^2])``.
    U : (N, M) array
        Feature weights, ``U_jI ~ N(0, sigma_u2 / M)``.
    X : (T, M) array
        Training inputs, rows ``x_mu`` with ``x_{mu I} ~ N(0, lambda_I)``.
    eps : (T,) array
        Label noise, ``N(0, noise_var)`` (zeros when ``noise_var = 0``).
    """
    lam = model.eigenvalues()
    g_w, g_u, g_x, g_eps = rng.spawn(4)
    w = g_w.standard_normal(model.M)
    w *= np.sqrt(model.teacher_variance_array())
    U = g_u.standard_normal((model.N, model.M))
    U *= math.sqrt(float(model.sigma_u2) / model.M)
    X = g_x.standard_normal((model.T, model.M))
    X *= np.sqrt(lam)
    eps = g_eps.standard_normal(model.T)
    eps *= math.sqrt(float(model.noise_var))
    return lam, w, U, X, eps


def _activation(name: str):
    """Elementwise feature map (in place where possible)."""
    if name == "linear":
        return lambda h: h
    if name == "relu":
        return lambda h: np.maximum(h, 0.0, out=h)
    if name == "tanh":
        return lambda h: np.tanh(h, out=h)
    if name == "erf":
        from scipy.special import erf

        return lambda h: erf(h, out=h)
    raise ValueError(f"unknown activation {name!r}")


def _thin_svd(Phi: np.ndarray):
    """Thin SVD ``Phi = P diag(s) Qh`` (gesdd, falling back to gesvd)."""
    try:
        return _svd(Phi, full_matrices=False, lapack_driver="gesdd", check_finite=False)
    except np.linalg.LinAlgError:
        return _svd(Phi, full_matrices=False, lapack_driver="gesvd", check_finite=False)


#: ``T >= TALL_RATIO * N``: factor ``[Phi | y]`` by Householder QR (R only) and take the SVD of
#: the ``N x N`` triangle, never forming the ``T x N`` left factor (half the cost of a thin
#: SVD at T = 8000, N = 600; gesdd's own tall path forms it).
TALL_RATIO = 2


def _projected_svd(Phi: np.ndarray, y: np.ndarray):
    """``z = P^T y``, ``s``, ``Qh`` and ``|y - P z|^2`` of the thin SVD ``Phi = P diag(s) Qh``.

    For a tall ``Phi`` the QR of ``[Phi | y]`` gives ``R``, ``Q^T y`` and the out-of-span
    residual ``|R[N, N]|`` at once; the SVD of ``R`` (backward stable, as is gesdd's own QR
    step) gives ``s`` and ``Qh``, and ``z = P_R^T Q^T y``.
    """
    T, N = Phi.shape
    if T >= TALL_RATIO * N and T > N + 1:
        A = np.empty((T, N + 1), order="F")
        A[:, :N], A[:, N] = Phi, y
        geqrf, = scipy.linalg.get_lapack_funcs(("geqrf",), (A,))
        qr, _, work, info = geqrf(A, lwork=-1)
        qr, _, _, info = geqrf(A, lwork=int(work[0].real), overwrite_a=True)
        if info != 0:
            raise np.linalg.LinAlgError(f"geqrf failed (info = {info})")
        Ra = np.triu(qr[:N + 1])
        Pr, s, Qh = _thin_svd(Ra[:N, :N])
        return Pr.T @ Ra[:N, N], s, Qh, float(Ra[N, N]) ** 2
    P, s, Qh = _thin_svd(Phi)
    z = P.T @ y
    perp = y - P @ z
    return z, s, Qh, float(perp @ perp)


def _spectral_filters(s: np.ndarray, gammas: np.ndarray):
    """Filters of the ridge solution in the SVD basis.

    Returns ``F`` (``r x G``) with ``theta = Q (F * z)`` for ``z = P^T y``, and
    ``R`` (``r x G``), the in-span training residual factor
    ``s F - 1 = -gamma / (s^2 + gamma)``. At ``gamma = 0`` singular values
    ``s_i <= RCOND * s_max`` are dropped (``F = 0``, ``R = -1``).
    """
    s_max = s.max(initial=0.0)
    keep = s > RCOND * s_max
    s2 = (s * s)[:, None]
    g = gammas[None, :]
    denom = s2 + g
    ok = denom > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        F = np.where(ok, s[:, None] / np.where(ok, denom, 1.0), 0.0)
        R = np.where(ok, -g / np.where(ok, denom, 1.0), -1.0)
    ridgeless = gammas == 0
    if np.any(ridgeless):
        F[:, ridgeless] = np.where(keep[:, None], F[:, ridgeless], 0.0)
        R[:, ridgeless] = np.where(keep, 0.0, -1.0)[:, None]
    return F, R


def _tanh_rule(order: int):
    """Gauss-Hermite nodes and weights for the standard normal measure."""
    x, wt = hermgauss(order)
    return math.sqrt(2.0) * x, wt / math.sqrt(math.pi)


def _tanh_order(var: np.ndarray) -> int:
    """Smallest order in :data:`TANH_QUAD_ORDERS` that passes the 1-D check."""
    sd = math.sqrt(float(np.max(var, initial=0.0)))
    for n in TANH_QUAD_ORDERS:
        moments = []
        for m in (n // 2, n):
            z, p = _tanh_rule(m)
            t2 = np.tanh(sd * z) ** 2
            moments.append(np.array([p @ t2, p @ (1.0 - t2)]))
        if np.max(np.abs(moments[1] - moments[0])) <= TANH_QUAD_TOL:
            return n
    raise ValueError(
        "tanh features: Gauss-Hermite quadrature not converged at order "
        f"{TANH_QUAD_ORDERS[-1]} (largest pre-activation variance {sd * sd:.3g}, "
        "supported up to about 2.5); lower sigma_u2 or the spectrum"
    )


def _tanh_moments(Sigma: np.ndarray, order: int | None = None):
    """``K_ij = E[tanh(h_i) tanh(h_j)]`` and ``E[tanh'(h_i)]`` for
    ``h ~ N(0, Sigma)``, by Gauss-Hermite quadrature.

    The 2-D rule uses ``order x order`` nodes on the Cholesky factor of each
    2 x 2 covariance, vectorised over pairs ``i <= j`` in chunks of at most
    :data:`_TANH_CHUNK_ENTRIES` entries; the 1-D rule for ``E[tanh']`` uses
    ``order`` nodes.  ``order`` defaults to the self-checked choice of
    :func:`_tanh_order` (40 for pre-activation variances below about 0.3).

    Returns
    -------
    K : (N, N) array
    dmean : (N,) array
    order : int
    """
    var = np.clip(np.diag(Sigma), 0.0, None)
    if order is None:
        order = _tanh_order(var)
    z, p = _tanh_rule(order)
    n = Sigma.shape[0]
    sd = np.sqrt(var)
    dmean = (1.0 - np.tanh(sd[:, None] * z[None, :]) ** 2) @ p
    iu, ju = np.triu_indices(n)
    vals = np.empty(iu.size)
    chunk = max(1, _TANH_CHUNK_ENTRIES // (order * order))
    pp = np.outer(p, p)
    for start in range(0, iu.size, chunk):
        i = iu[start:start + chunk]
        j = ju[start:start + chunk]
        a = sd[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            l21 = np.where(a > 0, Sigma[i, j] / np.where(a > 0, a, 1.0), 0.0)
        l22 = np.sqrt(np.clip(var[j] - l21 * l21, 0.0, None))
        ta = np.tanh(a[:, None] * z[None, :])                        # (P, n)
        hb = l21[:, None, None] * z[None, :, None] + l22[:, None, None] * z[None, None, :]
        np.tanh(hb, out=hb)                                          # (P, n, n)
        vals[start:start + chunk] = np.einsum("pk,pkl,kl->p", ta, hb, pp, optimize=True)
    K = np.empty((n, n))
    K[iu, ju] = vals
    K[ju, iu] = vals
    return K, dmean, order


def _feature_moments(activation: str, Sigma: np.ndarray, cov: np.ndarray):
    """Second moments of the features for ``h ~ N(0, Sigma)``.

    Parameters
    ----------
    activation : str
    Sigma : (N, N) array
        Pre-activation covariance ``U diag(lambda) U^T``.
    cov : (N,) array
        ``E[h_i y] = (U diag(lambda) w)_i``.

    Returns
    -------
    K : (N, N) array
        ``E[act(h_i) act(h_j)]``.
    k : (N,) array
        ``E[act(h_i) y] = cov_i E[act'(h_i)]`` (Stein's lemma).
    method : str
        How ``K`` was evaluated.
    """
    var = np.clip(np.diag(Sigma).copy(), 0.0, None)
    if activation == "linear":
        return Sigma, cov, "exact"
    if activation == "relu":
        d = np.sqrt(var)
        norm = np.outer(d, d)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(norm > 0, Sigma / np.where(norm > 0, norm, 1.0), 0.0)
        np.clip(c, -1.0, 1.0, out=c)
        th = np.arccos(c)
        K = norm / (2.0 * np.pi) * (np.sqrt(1.0 - c * c) + (np.pi - th) * c)
        K[np.diag_indices_from(K)] = var / 2.0
        return K, cov / 2.0, "exact (arc-cosine kernel)"
    if activation == "erf":
        d = np.sqrt(1.0 + 2.0 * var)
        c = 2.0 * Sigma / np.outer(d, d)
        np.clip(c, -1.0, 1.0, out=c)
        K = (2.0 / np.pi) * np.arcsin(c)
        return K, cov * (2.0 / math.sqrt(math.pi)) / d, "exact (arcsine kernel)"
    if activation == "tanh":
        K, dmean, order = _tanh_moments(Sigma)
        return K, cov * dmean, f"Gauss-Hermite quadrature, {order}x{order} nodes"
    raise ValueError(f"unknown activation {activation!r}")


def _instance_losses(model: MRSModel, rng: np.random.Generator, gammas: np.ndarray):
    """Test and train losses of one instance for every ridge, and the method."""
    lam, w, U, X, eps = _draw_instance(model, rng)
    y = X @ w
    y += eps
    Phi = _activation(model.activation)(X @ U.T)                   # (T, N), one GEMM
    del X
    z, s, Qh, perp2 = _projected_svd(Phi, y)
    F, R = _spectral_filters(s, gammas)
    Theta = Qh.T @ (F * z[:, None])                                 # (N, G)

    # train loss: residual = P (R z) + (y - P z), the two parts orthogonal
    train = (perp2 + np.sum((R * z[:, None]) ** 2, axis=0)) / (2.0 * model.T)

    if model.activation == "linear":
        D = U.T @ Theta                                             # (M, G)
        D -= w[:, None]
        test = 0.5 * np.sum(lam[:, None] * D * D, axis=0)
        method = "exact"
    else:
        Ul = U * lam                                                # U diag(lam)
        Sigma = Ul @ U.T
        cov = Ul @ w
        ey2 = w @ (lam * w)
        K, k, method = _feature_moments(model.activation, Sigma, cov)
        quad = np.sum(Theta * (K @ Theta), axis=0)
        test = 0.5 * (quad - 2.0 * (k @ Theta) + ey2)
    return test, train, method


def simulate_mrs_instance(
    model: MRSModel, rng: np.random.Generator, gammas=None
) -> tuple[np.ndarray, np.ndarray]:
    """Test and train losses of one instance of model A.

    ``w``, ``U``, the training inputs and the label noise are drawn from
    ``rng`` (see the module docstring); the same instance serves every ridge.

    Parameters
    ----------
    model : MRSModel
    rng : numpy.random.Generator
    gammas : float or sequence of float, optional
        Ridges (finite, >= 0). Default ``(model.gamma,)``.

    Returns
    -------
    test_loss, train_loss : ndarray
        One entry per ridge.

    Examples
    --------
    >>> m = MRSModel(M=200, alpha=1.0, N=30, T=60)
    >>> test, train = simulate_mrs_instance(m, np.random.default_rng(1), [0.0, 1.0])
    >>> bool(0 < train[0] < train[1])      # more ridge, worse fit
    True
    """
    model = _check_model(model)
    gammas = _check_gammas(gammas, model)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    test, train, _ = _instance_losses(model, rng, gammas)
    return test, train


# --------------------------------------------------------------------------
# averages over instances
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class MRSSimulation(SimulationResult):
    """Losses of model A averaged over independent instances.

    Attributes
    ----------
    model : MRSModel
    gammas : ndarray
        Ridges evaluated (on the same instances for every ridge).
    test_loss, train_loss : ndarray
        Means over the seeds, one per ridge.
    test_loss_sem, train_loss_sem : ndarray
        Standard errors of the means, ``std(ddof=1) / sqrt(seeds)``.
    seeds : int
        Number of instances (>= 2).
    seed : int or None
        The root seed (``SeedSequence(seed).spawn(seeds)`` gives the instances).
    per_seed_test, per_seed_train : ndarray, shape (seeds, len(gammas))
    test_loss_method : str
        How the test loss was evaluated ("exact", or the quadrature order).
    """

    model: MRSModel
    gammas: np.ndarray
    test_loss: np.ndarray
    test_loss_sem: np.ndarray
    train_loss: np.ndarray
    train_loss_sem: np.ndarray
    seeds: int
    seed: int | None
    per_seed_test: np.ndarray
    per_seed_train: np.ndarray
    test_loss_method: str = "exact"

    def to_dict(self) -> dict:
        """JSON-ready summary. With a single ridge the losses are scalars and
        ``"gamma"`` is given; otherwise ``"gammas"`` and lists."""
        single = self.gammas.size == 1

        def out(a):
            a = np.asarray(a, dtype=float)
            return float(a[0]) if single else [float(v) for v in a]

        d = self.model.to_dict()                 # "model": "mrs" and its parameters, flat
        d["gamma"] = float(self.gammas[0]) if single else [float(g) for g in self.gammas]
        d.update(
            test_loss=out(self.test_loss),
            test_loss_sem=out(self.test_loss_sem),
            train_loss=out(self.train_loss),
            train_loss_sem=out(self.train_loss_sem),
            test_loss_method=self.test_loss_method,
            **self._seed_dict(),
        )
        return d

    def __str__(self) -> str:
        m = self.model
        head = (
            f"Model A simulation ({m.activation}, M={m.M}, {m.describe()}, "
            f"N={m.N}, T={m.T}, noise_var={float(m.noise_var):g}): "
            f"{self.seeds} seeds from seed={self.seed}; test loss {self.test_loss_method}"
        )
        return "\n".join([head, *self._rows("gamma", self.gammas)])


def _instance(model, gammas, rng):
    return _instance_losses(model, rng, gammas)


def simulation_plan(model: MRSModel, gammas=None):
    """``(model, gammas, instance, key)`` of :func:`simulate_mrs`: the checked model and ridges,
    the function ``instance(rng) -> (test, train, method)`` of one instance and the cache key."""
    model = _check_model(model)
    gammas = _check_gammas(gammas, model)
    return model, gammas, functools.partial(_instance, model, gammas), simulation_key(model, gammas=gammas)


def simulate_mrs(
    model: MRSModel,
    *,
    seeds: int = 8,
    seed: int | None = 0,
    gammas=None,
    progress: bool = False,
    workers=None,
) -> MRSSimulation:
    """Average test and train losses of model A over independent instances.

    Instance ``i`` uses ``numpy.random.default_rng(SeedSequence(seed).spawn(seeds)[i])``,
    so results are reproducible from ``seed`` and do not depend on the order
    of evaluation. Every ridge in ``gammas`` is evaluated on the same
    instances, at the cost of one SVD per instance.

    Parameters
    ----------
    model : MRSModel
    seeds : int >= 2
        Number of instances (two at least, for a standard error).
    seed : int >= 0 or None
        Root seed; ``None`` draws fresh entropy (not reproducible).
    gammas : float or sequence of float, optional
        Ridges (finite, >= 0). Default ``(model.gamma,)``.
    progress : bool
        Show a ``tqdm`` progress bar over the instances.
    workers : int, distributed.Client or Executor, optional
        Where the instances run: ``0`` serially, ``K`` on a local Dask cluster of ``K``
        processes, or on the cluster of a client; default serial (or the executor set by
        ``scaling_theory.numerics._parallel.using``).  Every instance runs with one BLAS
        thread, so the result is bitwise the same for any choice.

    Returns
    -------
    MRSSimulation

    Examples
    --------
    >>> m = MRSModel(M=300, alpha=1.0, N=40, T=80)
    >>> sim = simulate_mrs(m, seeds=4, seed=3, gammas=[0.0, 1e-2])
    >>> bool(np.all(np.isfinite(sim.test_loss)) and np.all(sim.test_loss_sem > 0))
    True
    >>> null = m.sigma_w2 / (2 * m.M) * m.eigenvalues().sum()   # theta = 0
    >>> bool(np.all(sim.test_loss < null))
    True
    """
    model, gammas, instance, key = simulation_plan(model, gammas)
    avg = run_seeds(instance, gammas.size, seeds=seeds, seed=seed, progress=progress,
                    desc="model A instances", what=repr(model), workers=workers, key=key)
    return MRSSimulation(
        model=model,
        gammas=gammas,
        test_loss=avg.test_loss,
        test_loss_sem=avg.test_loss_sem,
        train_loss=avg.train_loss,
        train_loss_sem=avg.train_loss_sem,
        seeds=avg.seeds,
        seed=avg.seed,
        per_seed_test=avg.per_seed_test,
        per_seed_train=avg.per_seed_train,
        test_loss_method="; ".join(sorted(set(avg.info))),
    )
