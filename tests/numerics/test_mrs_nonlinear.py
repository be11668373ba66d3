"""Tests of the Gaussian-equivalent theory of model A with nonlinear features
(numerics/_ridge_nonlinear.py).

Expected values come from independent computations: the linear-feature theory
:func:`scaling_theory.numerics.mrs_theory`, closed forms (isotropic spectra, least squares),
exact population losses by direct linear algebra, a brute-force simulation of
Gaussian features with the same kernel ``K``, and the finite simulation of
model A itself.

Theory-versus-simulation comparisons use a *teacher-averaged* simulation
(:func:`teacher_averaged_instance`): the instances (``U``, training inputs)
of :func:`scaling_theory.numerics.simulate_mrs`, with the average over the teacher ``w`` and
the label noise taken exactly (the losses are quadratic in them).  It has the
same expectation as ``simulate_mrs`` (tested below, exactly per instance and
statistically against ``simulate_mrs``) and a several times smaller standard
error, so that the 5 % target is tested with small seed counts.  Some slow
tests use ``simulate_mrs`` itself.

Tolerances: max(3 standard errors, 5 %) for the theory against simulations
at ``M = 1000``, ``N, T >= 200`` (the contract's target for this theory); the
standard error is that of the per-instance difference theory - simulation,
both computed on the same ``U`` (theory draw ``i`` uses the ``U`` of
simulation instance ``i``).
"""
import json
import math

import numpy as np
import pytest
import scipy.linalg

import scaling_theory.numerics._ridge_nonlinear as nl
from scaling_theory.numerics import MRSModel, mrs_theory, simulate_mrs
from scaling_theory.numerics._ridge_nonlinear import MRSNonlinearTheory, mrs_nonlinear_theory
from scaling_theory.numerics._simulate_ridge import (
    _activation, _draw_instance, _feature_moments, _spectral_filters, _thin_svd,
)


# ---------------------------------------------------------------------------
# independent references
# ---------------------------------------------------------------------------
def teacher_averaged_instance(model, rng, gammas):
    """Test and train losses of one instance of model A (the instance that
    ``simulate_mrs`` draws from ``rng``), averaged exactly over the teacher
    ``w ~ N(0, diag(E[w_I^2]))`` and the label noise.

    With ``Phi = P diag(s) Qh`` and ``theta = Qh^T diag(F) P^T y``,
    ``y = X w + eps``: ``E[theta^T K theta]``, ``E[k^T theta]`` (``k = A w``)
    and ``E|residual|^2`` are traces.
    """
    gammas = np.asarray(gammas, dtype=float)
    lam, _w, U, X, _eps = _draw_instance(model, rng)
    omega = model.teacher_variance_array()
    nv = float(model.noise_var)
    Phi = _activation(model.activation)(X @ U.T)
    P, s, Qh = _thin_svd(Phi)
    F, R = _spectral_filters(s, gammas)
    Z = P.T @ X                                             # P^T y = Z w + P^T eps
    Ul = U * lam
    K, dvec, _ = _feature_moments(model.activation, Ul @ U.T, np.ones(model.N))
    Kq = Qh @ K @ Qh.T
    Aq = Qh @ (dvec[:, None] * Ul)
    pz2 = (Z * Z) @ omega + nv                              # E[(P^T y)_i^2]
    y2 = float(np.sum((X * X) @ omega)) + model.T * nv      # E|y|^2
    test = np.empty(gammas.size)
    train = np.empty(gammas.size)
    for g in range(gammas.size):
        FZ = F[:, g:g + 1] * Z
        e1 = float(omega @ np.sum(FZ * (Kq @ FZ), axis=0)) + nv * float(F[:, g] ** 2 @ np.diag(Kq))
        e2 = float(omega @ np.sum(Aq * FZ, axis=0))
        test[g] = 0.5 * (e1 - 2.0 * e2 + float(lam @ omega))
        train[g] = (y2 - pz2.sum() + float(R[:, g] ** 2 @ pz2)) / (2.0 * model.T)
    return test, train


def teacher_averaged_simulation(model, seeds, seed, gammas):
    """Per-seed (seeds x G) teacher-averaged test and train losses."""
    rows = [teacher_averaged_instance(model, np.random.default_rng(ss), gammas)
            for ss in np.random.SeedSequence(seed).spawn(seeds)]
    return np.array([r[0] for r in rows]), np.array([r[1] for r in rows])


def population_ridge_loss(model, U, ridge):
    """Exact ``1/2 E_w E_x[(theta_ridge . phi - y)^2]`` of the population
    ridge read-out ``theta = (K + ridge)^-1 k`` (``ridge = 0``: ``K^+ k``)."""
    lam = model.eigenvalues()
    omega = model.teacher_variance_array()
    Ul = U * lam
    K, dvec, _ = _feature_moments(model.activation, Ul @ U.T, np.ones(model.N))
    A = dvec[:, None] * Ul
    if ridge > 0:
        B = np.linalg.solve(K + ridge * np.eye(model.N), A)
    else:
        B = np.linalg.pinv(K, rcond=1e-12, hermitian=True) @ A
    quad = np.sum(B * (K @ B), axis=0) - 2.0 * np.sum(A * B, axis=0) + lam
    return 0.5 * float(omega @ quad)


def _u_draws_of(model, seeds, seed):
    return [nl._draw_U(model, np.random.default_rng(ss))
            for ss in np.random.SeedSequence(seed).spawn(seeds)]


def assert_close_to_simulation(model, gammas, seeds, seed=7, rtol=0.05, nsem=3.0):
    """Theory within max(nsem paired SEM, rtol) of the teacher-averaged simulation."""
    th = mrs_nonlinear_theory(model, u_draws=seeds, seed=seed, gammas=gammas)
    sim_test, sim_train = teacher_averaged_simulation(model, seeds, seed, gammas)
    for name, per_th, per_sim in (("test", th.per_draw_test, sim_test),
                                  ("train", th.per_draw_train, sim_train)):
        for gi, g in enumerate(np.atleast_1d(gammas)):
            s = per_sim[:, gi].mean()
            if name == "train" and g == 0 and model.T < th.rank.min():
                # interpolation: zero up to rounding (a cancellation in |y|^2 - |P^T y|^2)
                ey2 = float(model.teacher_variance_array() @ model.eigenvalues())
                assert abs(s) < 1e-12 * ey2 and th.train_loss[gi] == 0.0
                continue
            diff = per_th[:, gi] - per_sim[:, gi]
            sem = diff.std(ddof=1) / math.sqrt(seeds)
            tol = max(nsem * sem, rtol * abs(s))
            assert abs(diff.mean()) <= tol, (
                f"{name} loss at gamma={g}: theory {per_th[:, gi].mean():.5e}, simulation "
                f"{s:.5e} ({100 * diff.mean() / s:+.2f} %, {diff.mean() / sem:+.1f} SEM)")
    return th


# ---------------------------------------------------------------------------
# the reference simulation itself
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("act", ["relu", "erf", "linear"])
def test_teacher_averaged_instance_is_exact(act):
    """Per instance, the traces equal the explicit average built from the
    normal equations / pinv (independent formulas, no SVD filters)."""
    m = MRSModel(M=50, alpha=1.0, N=20, T=30, activation=act, noise_var=1e-3, sigma_u2=50.0)
    gammas = [0.0, 1e-2]
    test, train = teacher_averaged_instance(m, np.random.default_rng(5), gammas)
    lam, _w, U, X, _eps = _draw_instance(m, np.random.default_rng(5))
    omega = m.teacher_variance_array()
    Phi = _activation(act)(X @ U.T)
    Ul = U * lam
    K, dvec, _ = _feature_moments(act, Ul @ U.T, np.ones(m.N))
    A = dvec[:, None] * Ul
    for i, G in enumerate([np.linalg.pinv(Phi, rcond=1e-13),
                           np.linalg.solve(Phi.T @ Phi + gammas[1] * np.eye(m.N), Phi.T)]):
        GX = G @ X
        e1 = omega @ np.sum(GX * (K @ GX), axis=0) + m.noise_var * np.trace(G.T @ K @ G)
        e2 = omega @ np.sum(A * GX, axis=0)
        assert test[i] == pytest.approx(0.5 * (e1 - 2 * e2 + lam @ omega), rel=1e-9)
        Rm = np.eye(m.T) - Phi @ G
        RX = Rm @ X
        want = (omega @ np.sum(RX * RX, axis=0) + m.noise_var * np.sum(Rm * Rm)) / (2 * m.T)
        assert train[i] == pytest.approx(want, rel=1e-7, abs=1e-18)


def test_teacher_averaged_simulation_has_the_mean_of_simulate_mrs():
    """Same instances: the per-seed difference has mean zero (w, noise average)."""
    m = MRSModel(M=200, alpha=1.0, N=40, T=80, activation="relu", noise_var=1e-3)
    gammas = [0.0, 1e-2]
    sim = simulate_mrs(m, seeds=150, seed=3, gammas=gammas)
    te, tr = teacher_averaged_simulation(m, 150, 3, gammas)
    for a, b in ((sim.per_seed_test, te), (sim.per_seed_train, tr)):
        d = a - b
        sem = d.std(axis=0, ddof=1) / math.sqrt(d.shape[0])
        assert np.all(np.abs(d.mean(axis=0)) < 4 * sem)
    # and it is the lower-variance estimator
    assert np.all(te.std(axis=0) < sim.per_seed_test.std(axis=0))


# ---------------------------------------------------------------------------
# exact checks of the theory
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [
    dict(N=200, T=400), dict(N=400, T=200), dict(N=300, T=300, gamma=1e-2),
    dict(N=200, T=400, noise_var=1e-4, gamma=1e-3),
])
def test_linear_features_reproduce_mrs_theory(kw):
    """Linear features: Gaussian equivalence is exact; the U average by
    sampling must land on the analytic U average of mrs_theory."""
    m = MRSModel(M=1000, alpha=1.0, **kw)
    r = mrs_nonlinear_theory(m, u_draws=4, seed=1)
    want = mrs_theory(m)
    assert abs(r.test_loss[0] / want.test_loss - 1) < 0.01
    assert abs(r.train_loss[0] - want.train_loss) <= 0.01 * want.train_loss + 1e-30


def test_linear_full_rank_closed_form():
    """Linear features with N >= M: rank K = M, y in the span (sigma_eff = 0);
    T > M gives the least-squares closed forms, T = M the peak."""
    M, nv = 100, 1e-3
    m = MRSModel(M=M, alpha=1.0, N=150, T=200, noise_var=nv)
    r = mrs_nonlinear_theory(m, u_draws=2, seed=0, gammas=[0.0])
    assert list(r.rank) == [M, M] and np.all(r.sigma_eff2 == 0)
    assert r.test_loss[0] == pytest.approx(nv * M / (2 * (200 - M)), rel=1e-12)
    assert r.train_loss[0] == pytest.approx(nv * (1 - M / 200) / 2, rel=1e-12)
    assert r.test_loss[0] == pytest.approx(mrs_theory(m).test_loss, rel=1e-10)
    peak = mrs_nonlinear_theory(m.replace(T=M), u_draws=2, seed=0)
    assert math.isinf(peak.test_loss[0]) and peak.train_loss[0] == 0.0
    assert peak.regime == ["ridgeless interpolation peak"]
    assert json.loads(json.dumps(peak.to_dict()))["test_loss"] == "inf"


def test_isotropic_closed_form_of_the_equivalent():
    """K = I: min-norm interpolation gives (1 - T/N)|theta*|^2 + sigma^2 T/(N - T);
    ridge: kappa solves kappa (T - N/(1+kappa)) = gamma."""
    N, T, theta2, s_eff, nv = 300, 120, 2.0, 0.3, 0.1
    d = np.ones((1, N))
    t = np.full((1, N), theta2 / N)
    ey2 = np.array([theta2 + s_eff])
    res = nl._losses(d, t, ey2, np.array([N]), T, np.array([0.0, 0.5]), nv)
    sig = s_eff + nv
    assert res["kappa"][0, 0] == pytest.approx(N / T - 1, rel=1e-12)
    want = 0.5 * ((1 - T / N) * theta2 + sig * T / (N - T) + s_eff)
    assert res["test"][0, 0] == pytest.approx(want, rel=1e-12)
    k = res["kappa"][0, 1]
    assert k * (T - N / (1 + k)) == pytest.approx(0.5, rel=1e-12)
    df2 = N / (1 + k) ** 2
    eg = (k * k * theta2 / (1 + k) ** 2 + sig * df2 / T) / (1 - df2 / T)
    assert res["test"][0, 1] == pytest.approx(0.5 * (eg + s_eff), rel=1e-12)
    assert res["train"][0, 1] == pytest.approx(0.5 * (0.5 / (T * k)) ** 2 * (eg + sig), rel=1e-12)


@pytest.mark.parametrize("act", ["relu", "erf"])
def test_population_limit_is_exact(act):
    """T -> inf at fixed gamma / T: the theory becomes the exact population
    ridge (or best linear) read-out of the same U draws."""
    m = MRSModel(M=300, alpha=1.0, N=80, T=10**12, activation=act, noise_var=1e-3,
                 sigma_u2=(100.0 if act == "erf" else 1.0))
    ridges = [0.0, 1e-4, 1e-2]
    r = mrs_nonlinear_theory(m, u_draws=3, seed=4, gammas=[g * m.T for g in ridges])
    Us = _u_draws_of(m, 3, 4)
    for gi, ridge in enumerate(ridges):
        want = np.array([population_ridge_loss(m, U, ridge) for U in Us])
        np.testing.assert_allclose(r.per_draw_test[:, gi], want, rtol=1e-7)
        np.testing.assert_allclose(r.per_draw_train[:, gi], want + m.noise_var / 2, rtol=1e-7)
    assert r.population_test_loss == pytest.approx(r.test_loss[0], rel=1e-7)


def test_huge_ridge_gives_the_null_predictor():
    m = MRSModel(M=300, alpha=1.0, N=60, T=150, activation="relu", noise_var=2e-3)
    r = mrs_nonlinear_theory(m, u_draws=2, seed=0, gammas=[1e14])
    ey2 = m.sigma_w2 / m.M * m.eigenvalues().sum()
    assert r.test_loss[0] == pytest.approx(ey2 / 2, rel=1e-8)
    assert r.train_loss[0] == pytest.approx((ey2 + m.noise_var) / 2, rel=1e-8)


@pytest.mark.parametrize("act,N,T", [("relu", 120, 60), ("relu", 60, 120), ("erf", 150, 80)])
def test_gaussian_equivalent_matches_brute_force_gaussian_features(act, N, T):
    """Same K, theta*, sigma_eff (one fixed U and w): Gaussian features and
    Gaussian misspecification noise, fitted by the simulation's own solver
    path, agree with the deterministic-equivalent formulas."""
    m = MRSModel(M=200, alpha=1.0, N=N, T=T, activation=act, noise_var=1e-4,
                 sigma_u2=(100.0 if act == "erf" else 1.0))
    gammas = np.array([0.0, 1e-3, 1e-1])
    lam, w, U, _X, _eps = _draw_instance(m, np.random.default_rng(3))
    Ul = U * lam
    K, dvec, _ = _feature_moments(act, Ul @ U.T, np.ones(N))
    k = dvec * (Ul @ w)
    d, V = scipy.linalg.eigh(K)
    d = np.clip(d, 0.0, None)
    theta = np.linalg.pinv(K, rcond=1e-12, hermitian=True) @ k
    s_eff = float(w @ (lam * w) - k @ theta)
    g = np.random.default_rng(11)
    reps = 60
    test = np.empty((reps, gammas.size))
    train = np.empty((reps, gammas.size))
    for i in range(reps):
        Phi = (g.standard_normal((T, N)) * np.sqrt(d)) @ V.T
        y = Phi @ theta + math.sqrt(s_eff + m.noise_var) * g.standard_normal(T)
        P, s, Qh = _thin_svd(Phi)
        z = P.T @ y
        F, R = _spectral_filters(s, gammas)
        D = Qh.T @ (F * z[:, None]) - theta[:, None]
        perp = y - P @ z
        test[i] = 0.5 * (np.sum(D * (K @ D), axis=0) + s_eff)
        train[i] = (perp @ perp + np.sum((R * z[:, None]) ** 2, axis=0)) / (2 * T)
    c = nl._conditional(m, U, w)
    th = nl._losses(c.d[None], c.t[None], np.array([c.ey2]), np.array([c.rank]), T, gammas,
                    m.noise_var)
    assert c.rank == N
    for name, sim, pred in (("test", test, th["test"][0]), ("train", train, th["train"][0])):
        mean = sim.mean(axis=0)
        sem = sim.std(axis=0, ddof=1) / math.sqrt(reps)
        for gi in range(gammas.size):
            if name == "train" and gammas[gi] == 0 and T < N:
                assert pred[gi] == 0 and abs(mean[gi]) < 1e-25
                continue
            tol = max(3 * sem[gi], 0.03 * mean[gi])
            assert abs(pred[gi] - mean[gi]) <= tol, (name, gammas[gi], pred[gi], mean[gi], sem[gi])


def test_kappa_equations_hold():
    m = MRSModel(M=400, alpha=1.0, N=150, T=100, activation="relu")
    gammas = np.array([0.0, 1e-4, 1e-2, 1.0])
    r = mrs_nonlinear_theory(m, u_draws=3, seed=2, gammas=gammas)
    assert np.all(r.kappa > 0)
    np.testing.assert_allclose(r.df1[:, 0], m.T, rtol=1e-11)            # ridgeless, T < rank
    np.testing.assert_allclose(r.kappa[:, 1:] * (m.T - r.df1[:, 1:]),
                               np.broadcast_to(gammas[1:], (3, 3)), rtol=1e-11)
    assert np.max(np.abs(r.residual)) < 1e-11
    assert np.all(np.diff(r.kappa, axis=1) > 0)                        # more ridge, larger kappa


def test_relu_kernel_is_full_rank_beyond_M():
    m = MRSModel(M=100, alpha=1.0, N=150, T=120, activation="relu")
    r = mrs_nonlinear_theory(m, u_draws=2, seed=0)
    assert list(r.rank) == [150, 150]
    assert r.regime == ["ridgeless T<rank"] and np.all(r.train_loss == 0)


# ---------------------------------------------------------------------------
# plumbing
# ---------------------------------------------------------------------------
def test_one_eigendecomposition_per_draw(monkeypatch):
    calls = []
    real = nl._eigh

    def counting(*a, **kw):
        calls.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(nl, "_eigh", counting)
    mrs_nonlinear_theory(MRSModel(M=200, alpha=1.0, N=50, T=80, activation="relu"),
                         u_draws=3, seed=0, gammas=np.logspace(-5, 1, 7).tolist() + [0.0])
    assert len(calls) == 3


def test_gammas_together_equal_gammas_one_by_one():
    m = MRSModel(M=200, alpha=1.0, N=50, T=80, activation="erf", noise_var=1e-3, sigma_u2=20.0)
    gammas = [0.0, 1e-3, 1e-1]
    together = mrs_nonlinear_theory(m, u_draws=3, seed=5, gammas=gammas)
    for i, g in enumerate(gammas):
        one = mrs_nonlinear_theory(m.replace(gamma=g), u_draws=3, seed=5)
        assert one.test_loss[0] == pytest.approx(together.test_loss[i], rel=1e-12)
        assert one.train_loss[0] == pytest.approx(together.train_loss[i], rel=1e-12, abs=1e-300)


def test_chunked_solves_equal_one_solve(monkeypatch):
    m = MRSModel(M=200, alpha=1.0, N=40, T=30, activation="relu", noise_var=1e-3)
    gammas = [0.0, 1e-3, 1e-1]
    whole = mrs_nonlinear_theory(m, u_draws=5, seed=3, gammas=gammas)
    monkeypatch.setattr(nl, "_CHUNK_ENTRIES", 2 * 3 * 40)              # two draws a chunk
    chunked = mrs_nonlinear_theory(m, u_draws=5, seed=3, gammas=gammas)
    np.testing.assert_allclose(chunked.per_draw_test, whole.per_draw_test, rtol=1e-12)
    np.testing.assert_allclose(chunked.per_draw_train, whole.per_draw_train, rtol=1e-12)
    np.testing.assert_allclose(chunked.kappa, whole.kappa, rtol=1e-12)


def test_draws_use_the_simulation_instances_U():
    """Draw i of the theory uses the U of instance i of simulate_mrs (same
    root seed; each generator is built from a fresh SeedSequence child, as
    both drivers do: a child's spawn counter advances when it is used)."""
    m = MRSModel(M=60, alpha=1.0, N=20, T=30, activation="relu")
    sim_children = np.random.SeedSequence(9).spawn(2)
    th_children = np.random.SeedSequence(9).spawn(2)
    Us = [_draw_instance(m, np.random.default_rng(ss))[2] for ss in sim_children]
    for U_sim, ss in zip(Us, th_children):
        np.testing.assert_array_equal(U_sim, nl._draw_U(m, np.random.default_rng(ss)))
    assert not np.array_equal(Us[0], Us[1])


def test_reproducible_and_seed_dependent():
    m = MRSModel(M=200, alpha=1.0, N=50, T=80, activation="relu")
    a = mrs_nonlinear_theory(m, u_draws=3, seed=1)
    b = mrs_nonlinear_theory(m, u_draws=3, seed=1)
    c = mrs_nonlinear_theory(m, u_draws=3, seed=2)
    assert a.test_loss[0] == b.test_loss[0] and a.test_loss[0] != c.test_loss[0]
    assert a.test_loss_sem[0] == pytest.approx(a.test_loss_std[0] / math.sqrt(3))
    assert a.test_loss_std[0] > 0
    assert mrs_nonlinear_theory(m, u_draws=2, seed=None).test_loss.shape == (1,)


@pytest.mark.parametrize("act", ["relu", "erf", "tanh"])
def test_result_object(act):
    m = MRSModel(M=100, alpha=1.0, N=30, T=50, activation=act, gamma=1e-3)
    r = mrs_nonlinear_theory(m, u_draws=2, seed=0)
    assert isinstance(r, MRSNonlinearTheory)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["gamma"] == 1e-3 and isinstance(d["test_loss"], float)
    assert d["u_draws"] == 2 and d["model"] == "mrs" and d["activation"] == act
    assert "U average by sampling" in d["method"] and "deterministic equivalent" in d["method"]
    assert ("quadrature" in d["feature_moments"]) == (act == "tanh")
    text = str(r)
    assert act in text and "gamma" in text and "approximations" in text
    assert "kappa" in r.latex() and r._repr_latex_().startswith("$")
    many = mrs_nonlinear_theory(m, u_draws=2, seed=0, gammas=[0.0, 1.0]).to_dict()
    assert many["gamma"] == [0.0, 1.0] and len(many["test_loss"]) == 2
    with pytest.raises(AttributeError):
        r.test_loss = 0.0                                              # frozen


@pytest.mark.parametrize("kwargs,name", [
    (dict(u_draws=1), "u_draws"), (dict(u_draws=2.5), "u_draws"), (dict(u_draws=True), "u_draws"),
    (dict(u_draws=10**6), "u_draws"), (dict(seed=-1), "seed"), (dict(seed=1.5), "seed"),
    (dict(gammas=[-1.0]), "gammas"), (dict(gammas=[float("nan")]), "gammas"),
    (dict(gammas=[]), "gammas"),
])
def test_invalid_arguments(kwargs, name):
    m = MRSModel(M=50, alpha=1.0, N=10, T=20, activation="relu")
    with pytest.raises(ValueError, match=name):
        mrs_nonlinear_theory(m, **kwargs)


def test_invalid_model():
    with pytest.raises(ValueError, match="model"):
        mrs_nonlinear_theory({"M": 10})


# ---------------------------------------------------------------------------
# theory against the simulation (default tier: M = 1000, N, T in 200..400)
# ---------------------------------------------------------------------------
FAST_POINTS = [
    ("relu", dict(N=200, T=400), [0.0, 1e-2]),                               # N < T, ridgeless
    ("relu", dict(N=400, T=200), [1e-2]),                                    # N > T, ridge
    ("relu", dict(N=200, T=400, noise_var=1e-4), [1e-3]),                    # label noise
    ("erf", dict(N=200, T=400, sigma_u2=600.0), [0.0, 1e-1]),                # saturating erf
    ("erf", dict(N=400, T=200, sigma_u2=600.0), [0.0]),
    ("erf", dict(N=300, T=200), [1e-2]),                                     # near-linear erf
]


@pytest.mark.parametrize("act,kw,gammas", FAST_POINTS)
def test_theory_matches_simulation(act, kw, gammas):
    m = MRSModel(M=1000, alpha=1.0, activation=act, **kw)
    assert_close_to_simulation(m, gammas, seeds=6)


# ---------------------------------------------------------------------------
# slow tier
# ---------------------------------------------------------------------------
SLOW_POINTS = [
    ("relu", dict(N=200, T=400), [0.0, 1e-3, 1e-2, 1e-1]),
    ("relu", dict(N=400, T=200), [0.0, 1e-2, 1e-1]),
    ("relu", dict(N=1200, T=600), [0.0, 1e-2]),                               # N > M
    ("relu", dict(N=1200, T=2000), [0.0, 1e-2]),                              # N > M, T > N
    ("relu", dict(N=300, T=1500, noise_var=1e-4), [0.0, 1e-2]),               # T > M
    ("relu", dict(N=400, T=800, alpha=0.5), [0.0, 1e-2]),
    ("erf", dict(N=200, T=400, sigma_u2=600.0), [0.0, 1e-2]),
    ("erf", dict(N=400, T=200, sigma_u2=600.0), [0.0, 1.0]),
    ("erf", dict(N=1200, T=600, sigma_u2=600.0), [0.0, 1e-1]),
    ("erf", dict(N=300, T=1500, sigma_u2=600.0, noise_var=1e-4), [0.0, 1e-1]),
    ("tanh", dict(N=200, T=400, sigma_u2=30.0), [0.0, 1e-2]),       # quadrature K
]


@pytest.mark.slow
@pytest.mark.parametrize("act,kw,gammas", SLOW_POINTS)
def test_theory_matches_simulation_slow(act, kw, gammas):
    m = MRSModel(M=1000, activation=act, **{"alpha": 1.0, **kw})
    assert_close_to_simulation(m, gammas, seeds=16)


@pytest.mark.slow
@pytest.mark.parametrize("act,kw", [("relu", dict(N=200, T=400)),
                                    ("erf", dict(N=400, T=200, sigma_u2=600.0))])
def test_theory_matches_plain_simulate_mrs_slow(act, kw):
    """Against simulate_mrs itself (teacher sampled): max(3 SEM, 5 %)."""
    m = MRSModel(M=1000, alpha=1.0, activation=act, **kw)
    gammas = [0.0, 1e-2]
    sim = simulate_mrs(m, seeds=64, seed=21, gammas=gammas)
    th = mrs_nonlinear_theory(m, u_draws=64, seed=21, gammas=gammas)
    for a, b, sa, sb in ((th.test_loss, sim.test_loss, th.test_loss_sem, sim.test_loss_sem),
                         (th.train_loss, sim.train_loss, th.train_loss_sem, sim.train_loss_sem)):
        for i in range(len(gammas)):
            if b[i] < 1e-25:
                assert a[i] == 0.0
                continue
            assert abs(a[i] - b[i]) <= max(3 * math.hypot(sa[i], sb[i]), 0.05 * b[i])


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=(
    "known limitation of Gaussian equivalence: train loss at small ridge in the "
    "interpolating regime (N > T) with relu features of a steep spectrum is "
    "underestimated by about 15 % (measured); Gaussian features with the same K "
    "agree with the formulas to 0.3 %"))
def test_known_gap_small_ridge_train_loss_relu():
    m = MRSModel(M=1000, alpha=2.0, N=800, T=400, activation="relu")
    assert_close_to_simulation(m, [1e-4], seeds=12)


def test_draws_stop_when_the_u_average_is_converged():
    """Default u_draws: draws in pairs until the standard error is below 0.2% of the loss; the
    draws are the first draws of the fixed-count run (the same U as simulate_mrs's instances),
    and the mean is theirs.  At N = 400 the features self-average: two draws suffice."""
    m = MRSModel(M=300, alpha=1.0, N=400, T=800, gamma=1e-3, activation="relu")
    auto = mrs_nonlinear_theory(m, seed=3)
    assert 2 <= auto.u_draws < 16 and auto.u_draws % 2 == 0
    assert np.all(auto.test_loss_sem <= 2e-3 * auto.test_loss)
    fixed = mrs_nonlinear_theory(m, u_draws=auto.u_draws + 2, seed=3)
    assert np.array_equal(fixed.per_draw_test[:auto.u_draws], auto.per_draw_test)
    assert "standard error" in auto.method
    tight = mrs_nonlinear_theory(m, seed=3, rtol=1e-9, u_draws=6)     # never converged: stops at the cap
    assert tight.u_draws == 6
    with pytest.raises(ValueError, match="rtol must be"):
        mrs_nonlinear_theory(m, rtol=0)
