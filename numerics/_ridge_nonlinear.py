"""Model A with a nonlinear activation: a Gaussian-equivalent theory of the
average test and train loss at finite ``M, N, T``, ridge ``gamma >= 0`` and
label noise.

The theory, step by step (``CONVENTIONS.md``, model A conventions)
-------------------------------------------------------------------------
1. **Exact feature moments, conditional on the feature weights U.**  With
   ``h = U x ~ N(0, Sigma)``, ``Sigma = U diag(lambda) U^T``:
   ``K = E_x[phi phi^T]`` (N x N; arc-cosine kernel for relu, arcsine kernel
   for erf, Gauss-Hermite quadrature for tanh) and
   ``k = E_x[phi y] = D U diag(lambda) w`` with ``D = diag(E[act'(h_i)])``
   (Stein's lemma), ``E[y^2] = w^T diag(lambda) w``.  These are exact
   (:func:`scaling_theory.numerics._simulate_ridge._feature_moments`).
2. **Gaussian-equivalent features (approximation G).**  ``phi`` is treated as
   a centred Gaussian vector with second moment ``K`` and the target as
   ``y = theta*.phi + e`` with ``theta* = K^+ k`` and ``e`` Gaussian,
   independent of ``phi``, of variance
   ``sigma_eff^2 = E[y^2] - k^T K^+ k`` (the part of ``y`` that no linear
   read-out of the features can represent).  For linear features this is
   exact (``phi`` and ``y`` are jointly Gaussian).  It neglects the
   non-Gaussian structure of ``phi`` (the relu mean direction is treated as
   a Gaussian direction of the same second moment) and the dependence of
   ``e`` on ``phi`` beyond correlation.
3. **Deterministic equivalent of ridge regression on T samples
   (approximation D, leading order in 1/T).**  With the eigenvalues
   ``d_i`` of ``K`` and the teacher powers ``t_i = d_i (v_i . theta*)^2``,
   the renormalised ridge ``kappa`` solves
   ``kappa (T - df1(kappa)) = gamma`` (ridge ``gamma / T`` on the
   normalised loss; the training sum is not divided by ``T``), with
   ``df1 = sum_i d_i / (d_i + kappa)``, ``df2 = sum_i d_i^2 / (d_i + kappa)^2``.
   At ``gamma = 0``: ``df1(kappa) = T`` when ``T < r = rank K``, and
   ``kappa = 0`` when ``T > r``.  Then, with
   ``sigma^2 = sigma_eff^2 + noise_var`` (training-label noise),

   ``E_g = [kappa^2 sum_i t_i / (d_i + kappa)^2 + sigma^2 df2 / T] / (1 - df2 / T)``

   ``L_test  = 1/2 (E_g + sigma_eff^2)``,
   ``L_train = 1/2 (gamma / (T kappa))^2 (E_g + sigma^2)``;
   ridgeless: ``L_train = 0`` for ``T < r`` and, for ``T > r``
   (``kappa = 0``, ``df2 = r``), ``L_test = 1/2 (sigma^2 r / (T - r) +
   sigma_eff^2)``, ``L_train = 1/2 sigma^2 (1 - r / T)``.  ``T = r`` at
   ``gamma = 0`` is the interpolation peak (``L_test = inf``).
4. **Teacher average, exact.**  The losses are linear in ``t_i`` and
   ``sigma_eff^2`` at fixed ``kappa`` (which depends on ``K`` only), so the
   average over ``w ~ N(0, diag(E[w_I^2]))`` replaces them by traces:
   ``E_w[t_i] = (V^T A Omega A^T V)_ii / d_i`` with ``A = D U diag(lambda)``,
   ``Omega = diag(E[w_I^2])``, and ``E_w[E[y^2]] = sum_I lambda_I E[w_I^2]``.
5. **Average over U, by sampling (approximation S).**  Steps 1-4 are repeated
   for ``u_draws`` independent draws of ``U``; the result is their mean, with
   the spread (standard deviation) and standard error over the draws.
   Draw ``i`` uses exactly the ``U`` of instance ``i`` of
   :func:`scaling_theory.numerics.simulate_mrs` with the same ``seed`` and ``seeds = u_draws``,
   so the two can be compared pairwise.

One eigendecomposition of ``K`` per draw serves every ridge; the equations
for ``kappa`` are solved for all draws and ridges at once by the generic
:func:`scaling_theory.numerics._solver.solve_increasing`.

Public names: :func:`mrs_nonlinear_theory`, :class:`MRSNonlinearTheory`.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ._models import MRSModel
from ._parallel import resolve
from ._simulate_ridge import _check_gammas, _feature_moments
from ._solver import ConvergenceError, NumpyBackend, solve_count, solve_increasing
from ._results import Result

__all__ = ["MRSNonlinearTheory", "mrs_nonlinear_theory"]

#: Relative tolerance (on log kappa) of the solves.
TOL = 1e-13

#: Eigenvalues of ``K`` at or below ``EIG_RCOND_FACTOR * N * eps * max(d)``
#: count as zero (the ``numpy.linalg.matrix_rank`` convention); they carry no
#: teacher power and do not enter ``df1``, ``df2`` or the rank ``r``.
EIG_RCOND_FACTOR = 1.0

#: Default (largest) number of draws of ``U``.
DEFAULT_U_DRAWS = 16

#: Default relative standard error of the U average at which the draws stop (when ``u_draws`` is
#: not given): 0.2%, 25 times below the 5% at which theory and simulation are compared.
DEFAULT_RTOL = 2e-3

#: Largest number of draws accepted (a guard against typos; each draw costs
#: one ``N x N`` eigendecomposition).
MAX_U_DRAWS = 100_000

#: Bound on the float64 entries of one (draws x ridges x N) work array of the
#: solves (32 MB); more draws are processed in chunks.
_CHUNK_ENTRIES = 4_000_000

# The eigensolver, a module attribute so that tests can count the calls.
_eigh = scipy.linalg.eigh

APPROXIMATIONS = (
    "Gaussian-equivalent features conditional on U: exact K = E[phi phi^T] and "
    "k = E[phi y]; y = theta*.phi + e with theta* = K^+ k and e independent Gaussian of "
    "variance sigma_eff^2 = E[y^2] - k^T K^+ k (exact for linear features); "
    "deterministic equivalent of ridge regression on T samples (leading order in 1/T); "
    "teacher average exact (traces); U average by sampling"
)


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------
def _check_u_draws(u_draws) -> int:
    if isinstance(u_draws, bool) or not isinstance(u_draws, numbers.Integral):
        raise ValueError(f"u_draws must be an integer in [2, {MAX_U_DRAWS}], got {u_draws!r}")
    u_draws = int(u_draws)
    if not 2 <= u_draws <= MAX_U_DRAWS:
        raise ValueError(f"u_draws must be an integer in [2, {MAX_U_DRAWS}], got {u_draws}")
    return u_draws


def _check_seed(seed):
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    return int(seed)


# --------------------------------------------------------------------------
# conditional on U (and optionally w): spectrum and teacher powers
# --------------------------------------------------------------------------
def _draw_U(model: MRSModel, rng: np.random.Generator) -> np.ndarray:
    """The ``U`` that :func:`scaling_theory.numerics._simulate_ridge._draw_instance` draws from ``rng``
    (its second child stream), without drawing the training set."""
    g_u = rng.spawn(4)[1]
    U = g_u.standard_normal((model.N, model.M))
    U *= math.sqrt(float(model.sigma_u2) / model.M)
    return U


@dataclass(frozen=True)
class _Conditional:
    """Spectral data of ``K`` for one ``U``: kept eigenvalues ``d`` (zeros
    where dropped), teacher powers ``t`` (``E_w`` of ``d_i (v_i.theta*)^2``
    or its value at a given ``w``), ``E[y^2]``, rank and moment method."""

    d: np.ndarray
    t: np.ndarray
    ey2: float
    rank: int
    method: str


def _spectral_data(d, B2):
    """Drop numerically zero eigenvalues; teacher power ``t = B2 / d``."""
    d = np.asarray(d, dtype=float)
    d_max = float(d.max(initial=0.0))
    cut = EIG_RCOND_FACTOR * d.size * np.finfo(float).eps * d_max
    keep = d > cut
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(keep, B2 / np.where(keep, d, 1.0), 0.0)
    return np.where(keep, d, 0.0), t, int(keep.sum())


def _conditional(model: MRSModel, U: np.ndarray, w: np.ndarray | None = None) -> _Conditional:
    """Eigen-data of ``K`` for a given ``U``, averaged over the teacher
    (``w is None``) or at a given teacher ``w``."""
    lam = model.eigenvalues()
    Ul = U * lam                                        # U diag(lambda), N x M
    Sigma = Ul @ U.T
    K, dvec, method = _feature_moments(model.activation, Sigma, np.ones(model.N))
    A = dvec[:, None] * Ul                              # k = A w
    d, V = _eigh(K, check_finite=False)
    if w is None:
        omega = model.teacher_variance_array()
        B = V.T @ A                                     # N x M
        B2 = (B * B) @ omega                            # E_w[(v_i . k)^2]
        ey2 = float(lam @ omega)
    else:
        w = np.asarray(w, dtype=float)
        b = V.T @ (A @ w)
        B2 = b * b
        ey2 = float(w @ (lam * w))
    d, t, rank = _spectral_data(d, B2)
    return _Conditional(d=d, t=t, ey2=ey2, rank=rank, method=method)


# --------------------------------------------------------------------------
# the deterministic equivalent, vectorised over (draws, ridges)
# --------------------------------------------------------------------------
def _dfs(d, kappa):
    """``df1``, ``df2`` for eigenvalues ``d`` (D, N) and ``kappa`` (D, G)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = d[:, None, :] / (d[:, None, :] + kappa[:, :, None])
    q = np.where(d[:, None, :] > 0, q, 0.0)
    return q.sum(axis=-1), (q * q).sum(axis=-1)


def _kappa_ridgeless(d, rank, T):
    """``kappa_0`` per draw: ``df1(kappa_0) = T`` where ``T < rank``, else 0."""
    below = rank > T
    n = d.shape[0]
    kappa0 = np.zeros(n)
    if not np.any(below):
        return kappa0, 0
    dd = d[below]
    rr = rank[below].astype(float)
    d_min = np.array([row[row > 0].min() for row in dd])
    lo = np.log(d_min * (rr - T) / T)                   # df1(lo) >= T
    hi = np.log(dd.sum(axis=1) / T)                     # df1(hi) <= T

    def counts(u):
        df1, df2 = _dfs(dd, np.exp(u)[:, None])
        return df1[:, 0], df2[:, 0]

    r = solve_count(counts, float(T), lo, hi, backend=NumpyBackend(), tol=TOL, log=np.log, what="df1(kappa) = T")
    kappa0[below] = np.exp(r.u)
    return kappa0, r.iterations


def _kappa_ridge(d, T, gammas, kappa0):
    """``kappa`` (D, G) solving ``kappa (T - df1(kappa)) = gamma`` for ``gamma > 0``."""
    n, g = d.shape[0], gammas.size
    ridge = gammas > 0
    kappa = np.broadcast_to(kappa0[:, None], (n, g)).copy()
    if not np.any(ridge):
        return kappa, np.zeros((n, g)), 0
    gam = np.broadcast_to(gammas[ridge][None, :], (n, int(ridge.sum())))
    trace = d.sum(axis=1)[:, None]
    lo = np.log(np.maximum(kappa0[:, None], gam / T))
    hi = np.log(np.maximum(2 * gam / T, 2 * trace / T))

    def F(u):
        kap = np.exp(u)
        df1, df2 = _dfs(d, kap)
        a = T - df1
        with np.errstate(divide="ignore", invalid="ignore"):
            val = np.where(a > 0, u + np.log(np.where(a > 0, a, 1.0)) - np.log(gam), -np.inf)
            slope = np.where(a > 0, (T - df2) / np.where(a > 0, a, 1.0), 1.0)
        return val, slope

    r = solve_increasing(F, lo, hi, backend=NumpyBackend(), tol=TOL,
                         what="kappa (T - df1(kappa)) = gamma")
    kappa[:, ridge] = np.exp(r.u)
    resid = np.zeros((n, g))
    resid[:, ridge] = r.residual
    return kappa, resid, r.iterations


def _losses(d, t, ey2, rank, T, gammas, noise_var):
    """Test and train losses (D, G) of the Gaussian-equivalent model.

    Parameters are per draw: eigenvalues ``d`` (D, N) (zeros dropped), teacher
    powers ``t`` (D, N), ``E[y^2]`` (D,), rank (D,). Returns a dict of (D, G)
    arrays: test, train, kappa, df1, df2, residual, and the iteration count.
    """
    d = np.asarray(d, dtype=float)
    t = np.asarray(t, dtype=float)
    rank = np.asarray(rank)
    ey2 = np.asarray(ey2, dtype=float)
    sig_eff = ey2 - t.sum(axis=1)
    # a difference at the rounding level of the sum (N eps E[y^2]) is zero:
    # y lies in the span of the features (linear features with N >= M)
    sig_eff = np.where(sig_eff > d.shape[1] * np.finfo(float).eps * ey2, sig_eff, 0.0)[:, None]
    sig = sig_eff + float(noise_var)
    kappa0, it0 = _kappa_ridgeless(d, rank, T)
    kappa, resid, it1 = _kappa_ridge(d, T, gammas, kappa0)
    df1, df2 = _dfs(d, kappa)
    kk = kappa[:, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        bias = np.where(kk > 0, kk * kk * t[:, None, :] / (d[:, None, :] + kk) ** 2, 0.0).sum(axis=-1)
        excess = (bias + sig * df2 / T) / (1.0 - df2 / T)
        test = 0.5 * (excess + sig_eff)
        shrink = np.where(kappa > 0, gammas[None, :] / (T * kappa), 1.0)
        train = 0.5 * shrink ** 2 * (excess + sig)
    ridgeless = np.broadcast_to(gammas[None, :] == 0, test.shape)
    r = np.broadcast_to(rank[:, None].astype(float), test.shape)
    under = ridgeless & (r > T)          # interpolating: kappa_0 > 0
    over = ridgeless & (r < T)           # kappa = 0, classical least squares in range(K)
    peak = ridgeless & (r == T)
    train = np.where(under | peak, 0.0, train)
    with np.errstate(divide="ignore", invalid="ignore"):
        over_test = 0.5 * (sig * r / (T - r) + sig_eff)
        over_train = 0.5 * sig * (1.0 - r / T)
    test = np.where(over, over_test, test)
    train = np.where(over, over_train, train)
    df2 = np.where(over | peak, r, df2)
    df1 = np.where(over | peak, r, df1)
    test = np.where(peak, np.inf, test)
    bad = ~np.isfinite(test) & ~peak
    if np.any(bad) or not np.all(np.isfinite(train)):
        raise ConvergenceError(f"non-finite loss at {int(bad.sum())} (draw, ridge) point(s)",
                               residual=float("nan"))
    return dict(test=test, train=train, kappa=kappa, df1=df1, df2=df2, residual=resid,
                sigma_eff2=sig_eff[:, 0], iterations=it0 + it1)


# --------------------------------------------------------------------------
# result and driver
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class MRSNonlinearTheory(Result):
    """Gaussian-equivalent theory of model A with any activation.

    Arrays have one entry per ridge in ``gammas`` (the ``per_draw_*``,
    ``kappa``, ``df1``, ``df2`` arrays are ``u_draws x len(gammas)``).

    Attributes
    ----------
    model : MRSModel
    gammas : ndarray
        Ridges (all evaluated on the same draws of ``U``).
    test_loss, train_loss : ndarray
        Mean over the draws of ``U`` of the conditional theory.
    test_loss_std, train_loss_std : ndarray
        Spread (standard deviation, ``ddof = 1``) over the draws of ``U``:
        the instance-to-instance variability coming from ``U`` alone.
    test_loss_sem, train_loss_sem : ndarray
        Standard error of the U-sampled mean, ``std / sqrt(u_draws)``.
    per_draw_test, per_draw_train : ndarray (u_draws, G)
    kappa, df1, df2 : ndarray (u_draws, G)
        Renormalised ridge (eigenvalue units of ``K``) and degrees of freedom.
    sigma_eff2 : ndarray (u_draws,)
        Misspecification variance ``E[y^2] - k^T K^+ k`` (teacher-averaged).
    population_test_loss : float
        ``1/2 <sigma_eff^2>``: the test loss of the best linear read-out
        (the ``T -> inf`` limit at fixed ``gamma``; exact given the draws).
    rank : ndarray (u_draws,)
        Numerical rank of ``K``.
    residual : ndarray (u_draws, G)
        Residual of the ``kappa`` equation (log form; 0 where ridgeless).
    iterations : int
    u_draws : int
    seed : int or None
    feature_moments : str
        How ``K`` was evaluated (closed form or quadrature order).
    method : str
        The approximations, in words.
    """

    model: MRSModel
    gammas: np.ndarray
    test_loss: np.ndarray
    test_loss_std: np.ndarray
    test_loss_sem: np.ndarray
    train_loss: np.ndarray
    train_loss_std: np.ndarray
    train_loss_sem: np.ndarray
    per_draw_test: np.ndarray
    per_draw_train: np.ndarray
    kappa: np.ndarray
    df1: np.ndarray
    df2: np.ndarray
    sigma_eff2: np.ndarray
    population_test_loss: float
    rank: np.ndarray
    residual: np.ndarray
    iterations: int
    u_draws: int
    seed: int | None
    feature_moments: str
    method: str = APPROXIMATIONS

    @property
    def regime(self) -> list:
        """Per ridge: ``ridge``, ``ridgeless T<rank``, ``ridgeless T>rank``
        or ``ridgeless interpolation peak`` (by the first draw's rank)."""
        r, T = int(self.rank[0]), self.model.T
        out = []
        for g in self.gammas:
            if g > 0:
                out.append("ridge")
            elif T < r:
                out.append("ridgeless T<rank")
            elif T > r:
                out.append("ridgeless T>rank")
            else:
                out.append("ridgeless interpolation peak")
        return out

    def to_dict(self) -> dict:
        """JSON-ready summary (infinity as the string ``"inf"``). With a
        single ridge the losses are scalars and ``"gamma"`` is given;
        otherwise ``"gammas"`` and lists."""
        single = self.gammas.size == 1

        def num(v):
            v = float(v)
            return "inf" if math.isinf(v) else v

        def out(a):
            a = np.asarray(a, dtype=float)
            return num(a[0]) if single else [num(v) for v in a]

        d = {**self.model.to_dict(), "theory": "mrs_nonlinear"}   # "model": "mrs", parameters flat
        d["gamma"] = float(self.gammas[0]) if single else [float(g) for g in self.gammas]
        mean_k = self.kappa.mean(axis=0)
        d.update(
            test_loss=out(self.test_loss), test_loss_std=out(self.test_loss_std),
            test_loss_sem=out(self.test_loss_sem),
            train_loss=out(self.train_loss), train_loss_std=out(self.train_loss_std),
            train_loss_sem=out(self.train_loss_sem),
            kappa_mean=out(mean_k), df2_mean=out(self.df2.mean(axis=0)),
            sigma_eff2_mean=float(self.sigma_eff2.mean()),
            population_test_loss=float(self.population_test_loss),
            rank=[int(r) for r in self.rank],
            regime=self.regime[0] if single else self.regime,
            max_residual=float(np.max(np.abs(self.residual), initial=0.0)),
            iterations=int(self.iterations), u_draws=int(self.u_draws),
            seed=None if self.seed is None else int(self.seed),
            feature_moments=self.feature_moments, method=self.method,
            per_draw_test=[[num(v) for v in row] for row in self.per_draw_test],
            per_draw_train=[[num(v) for v in row] for row in self.per_draw_train],
        )
        return d

    def __str__(self) -> str:
        m = self.model
        head = (
            f"Model A Gaussian-equivalent theory ({m.activation}, M={m.M}, {m.describe()}, "
            f"N={m.N}, T={m.T}, noise_var={float(m.noise_var):g}): mean over {self.u_draws} draws "
            f"of U from seed={self.seed}; K {self.feature_moments}; "
            f"population (T -> inf) test loss {self.population_test_loss:.6e}"
        )
        rows = [f"  {'gamma':>12}  {'test loss (± U spread)':>28}  {'train loss (± U spread)':>28}"]
        for g, a, sa, b, sb in zip(self.gammas, self.test_loss, self.test_loss_std,
                                   self.train_loss, self.train_loss_std):
            rows.append(f"  {g:12.4g}  {a:16.6e} ± {sa:9.2e}  {b:16.6e} ± {sb:9.2e}")
        return "\n".join([head, *rows, f"  approximations: {self.method}"])

    def latex(self) -> str:
        """The equations of the theory (per draw of U), from :func:`scaling_theory.theory.derive_gaussian_equivalent`."""
        from scaling_theory.theory import derive_gaussian_equivalent

        d = derive_gaussian_equivalent()
        return r",\quad ".join(d.latex(k) for k in ("kappa_equation", "test_loss"))

    def _repr_latex_(self):
        return "$" + self.latex() + "$"


def _draw_conditional(model, ss):
    return _conditional(model, _draw_U(model, np.random.default_rng(ss)))


def mrs_nonlinear_theory(
    model: MRSModel,
    *,
    u_draws: int | None = None,
    seed: int | None = 0,
    gammas=None,
    workers=None,
    progress: bool = False,
    rtol: float | None = None,
) -> MRSNonlinearTheory:
    """Average test and train loss of model A with a nonlinear activation.

    Gaussian-equivalent features with the exact feature kernel ``K``
    conditional on ``U``, the deterministic equivalent of ridge regression on
    ``T`` samples, an exact teacher average, and an average over ``u_draws``
    sampled ``U`` (see the module docstring for the equations).  Works for
    every activation of :data:`scaling_theory.numerics.ACTIVATIONS`; for ``linear`` it is an
    independent check of :func:`scaling_theory.numerics.mrs_theory`.

    Parameters
    ----------
    model : MRSModel
    u_draws : int in [2, 100000], optional
        Number of sampled feature matrices ``U`` (the largest number with ``rtol``).  Default:
        draws until the standard error of the U average is below :data:`DEFAULT_RTOL` of the
        loss, at most :data:`DEFAULT_U_DRAWS` (at ``N = 2000`` two draws already agree to
        ~0.1%: the features self-average).
    rtol : float > 0, optional
        Stop drawing (in pairs, at least 2) once ``test_loss_sem <= rtol |test_loss|`` and
        ``train_loss_sem <= rtol |train_loss|`` at every ridge.  Default: :data:`DEFAULT_RTOL`
        when ``u_draws`` is not given, otherwise ``None`` (exactly ``u_draws`` draws).
    seed : int >= 0 or None
        Root seed; draw ``i`` uses the ``U`` of instance ``i`` of
        ``simulate_mrs(model, seeds=u_draws, seed=seed)``.
    gammas : float or sequence of float, optional
        Ridges (finite, >= 0); default ``(model.gamma,)``.  One
        eigendecomposition per draw serves all of them.
    workers : int, distributed.Client or Executor, optional
        Where the draws (one ``N x N`` kernel and eigendecomposition each) run: ``0``
        serially, ``K`` on a local Dask cluster of ``K`` processes; default serial (or the
        executor set by ``scaling_theory.numerics._parallel.using``).  Every draw runs with
        one BLAS thread and the draws are combined in seed order: the same numbers for any
        choice.
    progress : bool
        A progress bar over the draws (stderr).

    Returns
    -------
    MRSNonlinearTheory

    Examples
    --------
    More ridge fits the training set worse, and a huge ridge gives the null
    predictor, whose test loss is ``E[y^2] / 2 = sigma_w2 / (2M) sum_I lambda_I``:

    >>> import numpy as np
    >>> from scaling_theory.numerics import MRSModel
    >>> m = MRSModel(M=300, alpha=1.0, N=60, T=120, activation="relu")
    >>> r = mrs_nonlinear_theory(m, u_draws=4, seed=0, gammas=[0.0, 1e-3, 1e8])
    >>> bool(np.all(np.diff(r.train_loss) > 0))
    True
    >>> null = m.sigma_w2 / (2 * m.M) * m.eigenvalues().sum()
    >>> bool(abs(r.test_loss[-1] / null - 1) < 1e-6)
    True
    """
    if not isinstance(model, MRSModel):
        raise ValueError(f"model must be an MRSModel, got {type(model).__name__}")
    if rtol is None and u_draws is None:
        rtol = DEFAULT_RTOL
    if rtol is not None and (isinstance(rtol, bool) or not isinstance(rtol, numbers.Real)
                             or not (math.isfinite(rtol) and rtol > 0)):
        raise ValueError(f"rtol must be a real number > 0, got {rtol!r}")
    max_draws = DEFAULT_U_DRAWS if u_draws is None else _check_u_draws(u_draws)
    seed = _check_seed(seed)
    gammas = _check_gammas(gammas, model)
    # child i is the same stream for any count: draw i is instance i of simulate_mrs(seed=seed)
    children = np.random.SeedSequence(seed).spawn(max_draws)
    conds = []
    from tqdm.auto import tqdm

    bar = tqdm(total=max_draws, desc="draws of U", unit="draw", disable=not progress)
    with resolve(workers) as ex:
        while len(conds) < max_draws:
            k = len(conds)
            batch = max_draws if rtol is None else min(2, max_draws - k)
            got = [None] * batch
            for i, c in ex.map(_draw_conditional, [(model, ss) for ss in children[k:k + batch]]):
                got[i] = c
                bar.update(1)
            conds += got
            if rtol is not None and _converged(conds, model, gammas, rtol):
                break
    bar.close()
    u_draws = len(conds)
    d = np.stack([c.d for c in conds])
    t = np.stack([c.t for c in conds])
    ey2 = np.array([c.ey2 for c in conds])
    rank = np.array([c.rank for c in conds])
    # the (draws, ridges, N) work arrays of the solves stay below _CHUNK_ENTRIES
    step = max(1, _CHUNK_ENTRIES // (gammas.size * model.N))
    parts = [_losses(d[i:i + step], t[i:i + step], ey2[i:i + step], rank[i:i + step], model.T,
                     gammas, float(model.noise_var)) for i in range(0, u_draws, step)]
    res = {key: (sum(p[key] for p in parts) if key == "iterations"
                 else np.concatenate([p[key] for p in parts])) for key in parts[0]}
    test, train = res["test"], res["train"]
    root = math.sqrt(u_draws)
    with np.errstate(invalid="ignore"):
        test_std = test.std(axis=0, ddof=1)
        train_std = train.std(axis=0, ddof=1)
    return MRSNonlinearTheory(
        model=model, gammas=gammas,
        test_loss=test.mean(axis=0), test_loss_std=test_std, test_loss_sem=test_std / root,
        train_loss=train.mean(axis=0), train_loss_std=train_std, train_loss_sem=train_std / root,
        per_draw_test=test, per_draw_train=train,
        kappa=res["kappa"], df1=res["df1"], df2=res["df2"], sigma_eff2=res["sigma_eff2"],
        population_test_loss=0.5 * float(res["sigma_eff2"].mean()), rank=rank,
        residual=res["residual"], iterations=int(res["iterations"]), u_draws=u_draws, seed=seed,
        feature_moments="; ".join(sorted({c.method for c in conds})),
        method=f"{APPROXIMATIONS} over {u_draws} draws"
               + ("" if rtol is None else f" (drawn until the standard error was <= {rtol:g} of the loss)"),
    )


def _converged(conds, model, gammas, rtol):
    """Whether the U average of ``conds`` has a standard error below ``rtol`` of the losses."""
    if len(conds) < 2:
        return False
    res = _losses(np.stack([c.d for c in conds]), np.stack([c.t for c in conds]),
                  np.array([c.ey2 for c in conds]), np.array([c.rank for c in conds]), model.T, gammas,
                  float(model.noise_var))
    for key in ("test", "train"):
        v = res[key]
        fin = np.all(np.isfinite(v), axis=0)
        mean = np.abs(v[:, fin].mean(axis=0))
        sem = v[:, fin].std(axis=0, ddof=1) / math.sqrt(v.shape[0])
        if np.any(sem > rtol * mean):
            return False
    return True
