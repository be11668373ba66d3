"""Finite simulation of model B (random features trained by gradient descent, BAP).

Implements ``CONVENTIONS.md``, section "Model B", to the letter:

1. latent inputs ``psi_k ~ N(0, lambda_k)``, deterministic target ``w*``,
   labels ``y = Psi w* + eps`` with ``eps ~ N(0, noise_var)`` (finite ``P``);
2. projection ``A`` (``N x M``, iid ``N(0, 1)``), model
   ``f(psi) = theta . (A psi) / sqrt(N)``, ``theta(0) = 0``;
3. gradient flow (``eta = None``), gradient descent (``eta``) or online SGD
   (``batch``, ``P = inf``) on ``(1/(2P)) sum_mu (f(psi_mu) - y_mu)^2``
   (the population loss at ``P = inf``), time ``t = eta * steps``;
4. test loss ``L = v^T diag(lambda) v`` with ``v = w* - A^T theta / sqrt(N)``
   (exact, no test sample, no 1/2); train loss
   ``(1/P) sum_mu (f(psi_mu) - y_mu)^2`` on the noisy labels, equal to the
   test loss at ``P = inf``;
5. ensembles of ``E`` students with independent ``A`` on the same training
   set (and the same SGD batches); losses of the mean predictor.

Gradient flow and gradient descent are exact at every time from one
symmetric eigendecomposition per student.  Writing the Hessian as
``G = X^T X`` and the gradient at zero as ``b = X^T u``, with
``X = Psi A^T / sqrt(P N)`` and ``u = y / sqrt(P)`` (``P`` finite) or
``X = diag(sqrt(lambda)) A^T / sqrt(N)`` and ``u = sqrt(lambda) * w*``
(``P = inf``), the iterates are ``theta(t) = h_t(G) b = X^T h_t(X X^T) u``
with ``h_t(g) = (1 - exp(-g t)) / g`` (flow) or ``(1 - (1 - eta g)^n) / g``
(descent), limit ``t`` at ``g = 0``.  Because ``X = C B^T`` has rank at most
``min(n, N, M)`` (``n = P``, or ``M`` at ``P = inf``), the eigenproblem is
solved in the smallest of three spaces:

* ``M <= N, n`` (*latent*): with ``C = Q_C R_C`` (one QR of ``[C | u]``
  per instance, ``Q_C`` never formed) and ``K = A^T A / N``, the
  eigendecomposition of the ``M x M`` core ``R_C K R_C^T``;
* ``N <= n`` (*features*): ``G = X^T X`` (``N x N``);
* otherwise (*samples*): ``X X^T`` (``n x n``).

None of the three divides by a singular value, so tiny eigenvalues of the
badly conditioned power-law Hessian are harmless; the training residual is
written with the decay factor ``exp(-g t)`` (or ``(1 - eta g)^n``) directly
rather than as ``1 - g h``, so that late-time train losses keep their
relative accuracy.  At ``P = inf`` that residual is ``sqrt(lambda) * v``
itself, so the test loss is evaluated from it, with no cancellation in
``w* - A^T theta / sqrt(N)`` as the loss tends to zero.

Random streams: the instance generator ``rng`` is split as
``g_psi, g_eps, g_students, g_batches = rng.spawn(4)``; ``Psi`` is
``g_psi.standard_normal((P, M)) * sqrt(lambda)``, the label noise
``g_eps.standard_normal(P) * sqrt(noise_var)``, student ``e`` has
``A_e = g_students.spawn(E)[e].standard_normal((N, M))``, and the SGD batches
come from ``g_bpsi, g_beps = g_batches.spawn(2)`` (inputs and noise, drawn in
chunks of whole steps; the stream does not depend on the chunk size).  So the
first student of an ensemble is the single model of the same seed.

Public names: :func:`simulate_bap`, :func:`simulate_bap_instance`,
:class:`BAPSimulation`.
"""
from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ._limits import check_memory, largest
from ._seeds import run_seeds, simulation_key
from ._models import check_axis, BAPModel
from ._results import SimulationResult

try:  # optional: the SGD loop is many small BLAS calls, fastest on one thread
    from threadpoolctl import threadpool_limits as _threadpool_limits
except ImportError:  # pragma: no cover - depends on the environment
    _threadpool_limits = None

__all__ = ["simulate_bap", "simulate_bap_instance", "BAPSimulation"]

#: Relative tolerance for ``times`` being integer multiples of ``eta``.
TIMES_RTOL = 1e-9

#: Float64 entries of SGD inputs drawn at once (whole steps), i.e. 32 MB.
_SGD_CHUNK_ENTRIES = 4_000_000

METHODS = {
    "flow": "gradient flow (eigendecomposition)",
    "gd": "gradient descent",
    "sgd": "online SGD",
}


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------
def _check_model(model) -> BAPModel:
    if not isinstance(model, BAPModel):
        raise ValueError(f"model must be a BAPModel, got {type(model).__name__}")
    if math.isinf(model.M):
        raise ValueError("M must be finite for a simulation (M = inf is theory only)")
    if math.isinf(model.N):
        raise ValueError("N must be finite for a simulation (N = inf is theory only)")
    sizes = {"M": model.M, "N": model.N, "P": model.P}
    check_memory(simulation_bytes(model), "one instance of the simulation", largest(sizes), sizes)
    return model


def simulation_bytes(model: BAPModel, n_times: int = 100) -> float:
    """Memory of one instance (double precision): the training inputs and the projection,
    the symmetric eigenproblem of the smallest of M, N, P, the per-time residuals; online
    SGD: the E projected kernels and one chunk of batches."""
    M, N, E = float(model.M), float(model.N), float(model.ensemble)
    if model.batch is not None:
        return 8.0 * (E * M * min(M, N) + N * M + _SGD_CHUNK_ENTRIES + 2 * M * E)
    Pf = 0.0 if math.isinf(model.P) else float(model.P)
    n = M if math.isinf(model.P) else Pf
    s = min(M, N, n)
    return 8.0 * (2 * Pf * M + 2 * N * M + 3 * s * s + (n * N if s < M else 0.0) + 2 * (M + n) * n_times)


#: Largest online-SGD work of one instance, in multiply-adds (about ten minutes here).
MAX_SGD_WORK = 2e12


def _check_sgd_work(model: BAPModel, steps) -> None:
    total = int(np.max(steps, initial=0))
    per_step = model.batch * model.M * (1 + model.ensemble) + model.ensemble * model.M * min(model.M, model.N)
    if total * float(per_step) > MAX_SGD_WORK:
        raise ValueError(f"t = {float(total * model.eta):g}: online SGD would take {total} steps of about "
                         f"{per_step:.3g} multiply-adds each per instance, more than {MAX_SGD_WORK:.0e} "
                         f"(hours); use earlier times or a smaller model")


def _method(model: BAPModel) -> str:
    if model.batch is not None:
        return "sgd"
    return "flow" if model.eta is None else "gd"


def _check_times(times, model: BAPModel):
    """Times as a 1-D float64 array, and the step counts (``None`` for flow)."""
    arr = check_axis("times", times, "time")
    if model.eta is None:
        return arr, None
    eta = float(model.eta)
    ratio = arr / eta
    steps = np.rint(ratio)
    if np.any(np.abs(ratio - steps) > TIMES_RTOL * np.maximum(1.0, steps)):
        bad = arr[np.abs(ratio - steps) > TIMES_RTOL * np.maximum(1.0, steps)]
        raise ValueError(
            f"times must be integer multiples of eta = {eta:g} (t = eta * steps), "
            f"got {bad.tolist()}"
        )
    return arr, steps.astype(np.int64)


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")


# --------------------------------------------------------------------------
# one instance
# --------------------------------------------------------------------------
def _draw_data(model: BAPModel, rng: np.random.Generator):
    """Spectrum, target, training set and the student / batch generators.

    Returns ``lam, w, Psi, eps, student_rngs, g_batches``; ``Psi`` and ``eps``
    are ``None`` at ``P = inf``.  The projections are drawn lazily by
    :func:`_projection` so that an ensemble holds one ``A`` at a time.
    """
    lam = model.eigenvalues()
    w = model.target()
    g_psi, g_eps, g_students, g_batches = rng.spawn(4)
    if math.isinf(model.P):
        Psi = eps = None
    else:
        Psi = g_psi.standard_normal((model.P, model.M))
        Psi *= np.sqrt(lam)
        eps = g_eps.standard_normal(model.P)
        eps *= math.sqrt(float(model.noise_var))
    return lam, w, Psi, eps, g_students.spawn(model.ensemble), g_batches


def _projection(model: BAPModel, g: np.random.Generator) -> np.ndarray:
    """``A`` (``N x M``), iid ``N(0, 1)``."""
    return g.standard_normal((model.N, model.M))


def _filters(g: np.ndarray, times: np.ndarray, steps, eta):
    """Spectral filters ``H = h_t(g)`` and decays ``D = 1 - g H``, shape ``(r, T)``.

    Gradient flow: ``H = -expm1(-g t) / g`` (``t`` at ``g = 0``),
    ``D = exp(-g t)``.  Gradient descent: ``q = 1 - eta g``,
    ``H = (1 - q^n) / g`` (``eta n`` at ``g = 0``), ``D = q^n``; for
    ``0 < q`` through ``expm1(n log1p(-eta g))`` to keep small ``g`` accurate.
    """
    g = np.clip(g, 0.0, None)[:, None]
    pos = g > 0
    gs = np.where(pos, g, 1.0)
    if steps is None:
        t = times[None, :]
        D = np.exp(-g * t)
        H = np.where(pos, -np.expm1(-g * t) / gs, t)
        return H, D
    n = steps[None, :].astype(float)
    eg = eta * g
    q = 1.0 - eg
    with np.errstate(divide="ignore", invalid="ignore"):
        logq = np.log1p(-np.minimum(eg, 0.5))            # used only where eg <= 0.5
        small = eg <= 0.5
        one_minus_qn = np.where(small, -np.expm1(n * logq), 1.0 - np.power(q, n))
        D = np.where(small, np.exp(n * logq), np.power(q, n))
    H = np.where(pos, one_minus_qn / gs, eta * n)
    return H, D


def _check_stable(g: np.ndarray, eta) -> None:
    if eta is None:
        return
    gmax = float(np.max(g, initial=0.0))
    if eta * gmax >= 2.0:
        raise ValueError(
            f"eta = {eta:g} makes gradient descent diverge: it needs eta * g_max < 2, "
            f"i.e. eta < 2 / g_max = {2.0 / gmax:.6g} (g_max = {gmax:.6g}, the largest "
            "eigenvalue of the Hessian of this instance)"
        )


def _eigh(S: np.ndarray):
    return scipy.linalg.eigh(S, overwrite_a=True, check_finite=False, driver="evd")


def _flow_instance(model: BAPModel, rng: np.random.Generator, times, steps):
    """Gradient flow / gradient descent: (test, train, route) of one instance."""
    eta = None if steps is None else float(model.eta)
    lam, w, Psi, eps, student_rngs, _ = _draw_data(model, rng)
    M, N, E = model.M, model.N, model.ensemble
    sqrt_lam = np.sqrt(lam)
    finite_p = not math.isinf(model.P)
    if finite_p:
        n = model.P
        C = Psi / math.sqrt(n)                            # (P, M)
        u = (Psi @ w + eps) / math.sqrt(n)                # (P,)
        del Psi
    else:
        n = M
        C = None                                          # diag(sqrt(lam))
        u = sqrt_lam * w
    if M <= N and M <= n:
        route = "latent"
        if finite_p:
            # R of [C | u] = Q [[R_C, Q_C^T u], [0, |u_perp|]]: Q is never formed
            Raug = scipy.linalg.qr(
                np.column_stack([C, u]), mode="r", overwrite_a=True, check_finite=False
            )[0]
            Rc, cu = Raug[:M, :M], Raug[:M, M]
            perp2 = float(Raug[M, M] ** 2) if Raug.shape[0] > M else 0.0
            del Raug
        else:
            Rc, cu, perp2 = None, u, 0.0
    else:
        route = "features" if N <= n else "samples"
    T = times.size
    Dsum = np.zeros((M, T))                               # sum_e A_e^T theta_e / sqrt(N)
    Rsum = np.zeros((M if route == "latent" else n, T))   # sum of training residuals
    for g_e in student_rngs:
        B = _projection(model, g_e)
        B /= math.sqrt(N)                                 # A / sqrt(N)
        if route == "latent":
            K = B.T @ B                                   # A^T A / N, (M, M)
            del B
            if Rc is None:
                W = sqrt_lam[:, None] * K * sqrt_lam[None, :]
            else:
                W = Rc @ K @ Rc.T                         # Z Z^T, Z = R_C R_B^T
            g, U = _eigh(W)
            _check_stable(g, eta)
            c = U.T @ cu
            H, D = _filters(g, times, steps, eta)
            if finite_p:                                  # B^T theta = K R_C^T U (H c)
                Dsum += K @ (Rc.T @ (U @ (H * c[:, None])))
            Rsum += U @ (D * c[:, None])                  # residual in Q_C coordinates
            continue
        X = sqrt_lam[:, None] * B.T if C is None else C @ B.T                 # (n, N)
        if route == "features":
            g, V = _eigh(X.T @ X)
            _check_stable(g, eta)
            H, _ = _filters(g, times, steps, eta)
            Theta = V @ (H * (V.T @ (X.T @ u))[:, None])  # (N, T)
            Rsum += u[:, None] - X @ Theta
        else:
            g, U = _eigh(X @ X.T)
            _check_stable(g, eta)
            c = U.T @ u
            H, D = _filters(g, times, steps, eta)
            Theta = X.T @ (U @ (H * c[:, None]))
            Rsum += U @ (D * c[:, None])
        if finite_p:
            Dsum += B.T @ Theta
    Rbar = Rsum / E
    train = np.sum(Rbar * Rbar, axis=0)
    if not finite_p:
        # u - X theta = sqrt(lambda) * v: the residual is the test error, and
        # it carries no cancellation at late times (latent route)
        return train, train.copy(), route
    V = w[:, None] - Dsum / E
    test = lam @ (V * V)
    if route == "latent":
        train += perp2
    return test, train, route


def _sgd_instance(model: BAPModel, rng: np.random.Generator, steps):
    """Online SGD: the test loss at each requested step count (train = test).

    The state is ``v_e = w* - A_e^T theta_e / sqrt(N)`` for every student,
    updated as ``v <- v - (eta / B) K_e Psi_B^T (Psi_B v + eps_B)`` with
    ``K_e = A_e^T A_e / N``, which is the conventions' step on ``theta`` mapped
    through the linear map ``theta -> A^T theta / sqrt(N)``.
    """
    lam, w, _, _, student_rngs, g_batches = _draw_data(model, rng)
    M, N, E, Bsz = model.M, model.N, model.ensemble, model.batch
    eta = float(model.eta)
    g_bpsi, g_beps = g_batches.spawn(2)
    sqrt_lam = np.sqrt(lam)
    noise_sd = math.sqrt(float(model.noise_var))
    As = [_projection(model, g) / math.sqrt(N) for g in student_rngs]   # A_e / sqrt(N)
    use_k = M <= N
    Ks = np.stack([A.T @ A for A in As]) if use_k else np.stack(As)     # (E, M, M) or (E, N, M)
    del As
    V = np.repeat(w[:, None], E, axis=1)                 # (M, E)
    order = np.argsort(steps, kind="stable")
    out = np.empty(steps.size)
    total = int(steps.max(initial=0))
    chunk = max(1, _SGD_CHUNK_ENTRIES // (Bsz * M))
    scale = eta / Bsz
    k = 0                                                # position in `order`
    done = 0
    one_thread = (
        _threadpool_limits(limits=1, user_api="blas") if _threadpool_limits
        else contextlib.nullcontext()
    )
    with one_thread, np.errstate(over="ignore", invalid="ignore"):
        while True:
            while k < order.size and steps[order[k]] == done:
                vbar = V.mean(axis=1)
                out[order[k]] = lam @ (vbar * vbar)
                k += 1
            if done >= total:
                break
            c = min(chunk, total - done)
            Psi = g_bpsi.standard_normal((c, Bsz, M))
            Psi *= sqrt_lam
            eps = g_beps.standard_normal((c, Bsz))
            eps *= noise_sd
            for j in range(c):
                Pj = Psi[j]
                Q = Pj @ V
                Q += eps[j][:, None]
                Gm = Pj.T @ Q                            # (M, E)
                if E == 1:
                    upd = Ks[0] @ Gm if use_k else Ks[0].T @ (Ks[0] @ Gm)
                elif use_k:
                    upd = np.matmul(Ks, Gm.T[:, :, None])[:, :, 0].T
                else:
                    h = np.matmul(Ks, Gm.T[:, :, None])                  # (E, N, 1)
                    upd = np.matmul(Ks.transpose(0, 2, 1), h)[:, :, 0].T
                V -= scale * upd
                done += 1
                while k < order.size and steps[order[k]] == done:
                    vbar = V.mean(axis=1)
                    out[order[k]] = lam @ (vbar * vbar)
                    k += 1
            if not np.all(np.isfinite(V)):
                raise ValueError(
                    f"eta = {eta:g} makes online SGD diverge (batch = {Bsz}): "
                    f"non-finite weights after {done} steps; lower eta"
                )
    return out, out.copy()


def _instance_losses(model, rng, times, steps):
    if model.batch is not None:
        test, train = _sgd_instance(model, rng, steps)
        return test, train
    test, train, _ = _flow_instance(model, rng, times, steps)
    return test, train


def simulate_bap_instance(
    model: BAPModel, rng: np.random.Generator, times
) -> tuple[np.ndarray, np.ndarray]:
    """Test and train losses of one instance of model B at each time.

    The instance (training set, label noise, projections, SGD batches) is drawn
    from ``rng`` as described in the module docstring; every time is
    evaluated on the same instance.

    Parameters
    ----------
    model : BAPModel
        ``M`` and ``N`` finite; gradient flow (``eta=None``), gradient
        descent (``eta``) or online SGD (``batch``, ``P = inf``).
    rng : numpy.random.Generator
    times : float or sequence of float
        Training times, finite and >= 0; integer multiples of ``eta`` for
        gradient descent and SGD.

    Returns
    -------
    test_loss, train_loss : ndarray
        One entry per time (train = test at ``P = inf``).

    Examples
    --------
    >>> m = BAPModel(M=40, alpha=1.5, beta=1.0, N=60, P=20)
    >>> test, train = simulate_bap_instance(m, np.random.default_rng(0), [0.0, 1e6])
    >>> bool(abs(test[0] - m.eigenvalues() @ m.target() ** 2) < 1e-12)   # theta(0) = 0
    True
    >>> bool(train[1] < 1e-12 * train[0] and test[1] > 0)   # N > P interpolates
    True
    """
    model = _check_model(model)
    times, steps = _check_times(times, model)
    _check_rng(rng)
    return _instance_losses(model, rng, times, steps)


# --------------------------------------------------------------------------
# averages over instances
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class BAPSimulation(SimulationResult):
    """Losses of model B averaged over independent instances.

    Attributes
    ----------
    model : BAPModel
    times : ndarray
        Training times (gradient-flow time; ``eta * steps`` for GD and SGD).
    test_loss, train_loss : ndarray
        Means over the seeds, one per time.
    test_loss_sem, train_loss_sem : ndarray
        Standard errors of the means, ``std(ddof=1) / sqrt(seeds)``.
    seeds : int
        Number of instances (>= 2).
    seed : int or None
        The root seed (``SeedSequence(seed).spawn(seeds)`` gives the instances).
    per_seed_test, per_seed_train : ndarray, shape (seeds, len(times))
    method : str
        "gradient flow (eigendecomposition)", "gradient descent" or "online SGD".
    """

    model: BAPModel
    times: np.ndarray
    test_loss: np.ndarray
    test_loss_sem: np.ndarray
    train_loss: np.ndarray
    train_loss_sem: np.ndarray
    seeds: int
    seed: int | None
    per_seed_test: np.ndarray
    per_seed_train: np.ndarray
    method: str

    def to_dict(self) -> dict:
        """JSON-ready summary (lists of floats, the model's parameters)."""
        lst = lambda a: [float(v) for v in np.asarray(a, dtype=float)]  # noqa: E731
        return {
            **self.model.to_dict(),              # "model": "bap" and its parameters, flat
            "method": self.method,
            "t": lst(self.times),
            "test_loss": lst(self.test_loss),
            "test_loss_sem": lst(self.test_loss_sem),
            "train_loss": lst(self.train_loss),
            "train_loss_sem": lst(self.train_loss_sem),
            **self._seed_dict(),
        }

    def __str__(self) -> str:
        m = self.model
        fmt = lambda v: "inf" if isinstance(v, float) and math.isinf(v) else str(v)  # noqa: E731
        extra = ""
        if m.eta is not None:
            extra += f", eta={float(m.eta):g}"
        if m.batch is not None:
            extra += f", batch={m.batch}"
        if m.ensemble > 1:
            extra += f", ensemble={m.ensemble}"
        head = (
            f"Model B simulation ({self.method}; M={fmt(m.M)}, {m.describe()}, "
            f"N={fmt(m.N)}, P={fmt(m.P)}, "
            f"noise_var={float(m.noise_var):g}{extra}): {self.seeds} seeds from seed={self.seed}"
        )
        return "\n".join([head, *self._rows("t", self.times)])


def _instance(model, times, steps, rng):
    test, train = _instance_losses(model, rng, times, steps)
    return test, train, None


def simulation_plan(model: BAPModel, times):
    """``(model, times, instance, key)`` of :func:`simulate_bap`: the checked model and times, the
    function ``instance(rng) -> (test, train, None)`` of one instance and the cache key."""
    model = _check_model(model)
    times, steps = _check_times(times, model)
    if model.batch is not None:
        _check_sgd_work(model, steps)
    return model, times, functools.partial(_instance, model, times, steps), simulation_key(model, times=times)


def simulate_bap(
    model: BAPModel,
    times,
    *,
    seeds: int = 8,
    seed: int | None = 0,
    progress: bool = False,
    workers=None,
) -> BAPSimulation:
    """Average test and train losses of model B over independent instances.

    Instance ``i`` uses ``numpy.random.default_rng(SeedSequence(seed).spawn(seeds)[i])``,
    so results are reproducible from ``seed`` and do not depend on the order
    of evaluation.  Gradient flow and gradient descent are exact at every
    time from one eigendecomposition per student; online SGD loops over steps.

    Parameters
    ----------
    model : BAPModel
        ``M`` and ``N`` finite (``P`` finite or ``inf``).
    times : float or sequence of float
        Training times (finite, >= 0; multiples of ``eta`` for GD / SGD).
    seeds : int >= 2
        Number of instances (two at least, for a standard error).
    seed : int >= 0 or None
        Root seed; ``None`` draws fresh entropy (not reproducible).
    progress : bool
        Show a ``tqdm`` progress bar over the instances.
    workers : int, distributed.Client or Executor, optional
        Where the instances run: ``0`` serially, ``K`` on a local Dask cluster of ``K``
        processes, or on the cluster of a client; default serial (or the executor set by
        ``scaling_theory.numerics._parallel.using``).  Every instance runs with one BLAS
        thread, so the result is bitwise the same for any choice.

    Returns
    -------
    BAPSimulation

    Examples
    --------
    >>> m = BAPModel(M=60, alpha=1.5, beta=1.0, N=30, P=50)
    >>> sim = simulate_bap(m, [0.0, 0.5, 5.0, 50.0], seeds=3, seed=1)
    >>> L0 = m.eigenvalues() @ m.target() ** 2          # theta(0) = 0
    >>> bool(np.allclose(sim.per_seed_test[:, 0], L0, rtol=1e-14))
    True
    >>> bool(np.all(np.diff(sim.per_seed_train, axis=1) < 0))   # flow lowers the train loss
    True
    >>> sim.method
    'gradient flow (eigendecomposition)'
    """
    model, times, instance, key = simulation_plan(model, times)
    avg = run_seeds(instance, times.size, seeds=seeds, seed=seed, progress=progress,
                    desc="model B instances", what=repr(model), workers=workers, key=key)
    return BAPSimulation(
        model=model,
        times=times,
        test_loss=avg.test_loss,
        test_loss_sem=avg.test_loss_sem,
        train_loss=avg.train_loss,
        train_loss_sem=avg.train_loss_sem,
        seeds=avg.seeds,
        seed=avg.seed,
        per_seed_test=avg.per_seed_test,
        per_seed_train=avg.per_seed_train,
        method=METHODS[_method(model)],
    )
