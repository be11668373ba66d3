"""Randomised valid parameters for both models: every answer is finite, non-negative, and
meets the limits known in closed form.

Model A: a huge ridge learns nothing (the loss is the ``N = T = 0`` value
``sigma_w2/(2M) sum lambda``, the train loss adds half the noise); the ridgeless,
noise-free loss is symmetric in ``N <-> T``.  Model B: ``L(0) = sum_k lambda_k w_k^2``,
the train loss at ``t = 0`` adds the label noise at finite ``P``, and ``N = P = inf`` is
``sum_k lambda_k w_k^2 e^{-2 lambda_k t}``.  The default tier runs a few dozen points; the
slow tier several hundred.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from scaling_theory.numerics import BAPModel, MRSModel, bap_theory, mrs_theory
from scaling_theory.numerics._flow_contours import spectral_edge
from scaling_theory.numerics._flow_sgd import sgd_max_step
from scaling_theory.numerics._flow_sums import BAPSpectrum


def _loguniform_int(rng, lo, hi):
    return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


def _mrs_point(rng):
    return MRSModel(M=_loguniform_int(rng, 1, 10**6), alpha=float(rng.uniform(0.05, 5)),
                    N=_loguniform_int(rng, 1, 10**5), T=_loguniform_int(rng, 1, 10**5),
                    gamma=0.0 if rng.random() < 0.4 else float(math.exp(rng.uniform(math.log(1e-6), 0))),
                    noise_var=0.0 if rng.random() < 0.5 else float(rng.uniform(0, 2)),
                    lambda_plus=float(math.exp(rng.uniform(-2, 2))), sigma_w2=float(math.exp(rng.uniform(-2, 2))),
                    sigma_u2=float(math.exp(rng.uniform(-2, 2))))


def _check_mrs(m):
    lam = m.eigenvalues()
    L0 = float(m.sigma_w2) / (2 * m.M) * float(np.sum(lam))
    if m.N == m.T and float(m.gamma) == 0:
        return
    r = mrs_theory(m)
    assert math.isfinite(r.test_loss) and r.test_loss >= 0, m
    assert math.isfinite(r.train_loss) and r.train_loss >= 0, m
    # a huge ridge learns nothing: the N = T = 0 loss
    big = mrs_theory(m.replace(gamma=1e20))
    assert big.test_loss == pytest.approx(L0, rel=1e-6), m
    assert big.train_loss == pytest.approx(L0 + float(m.noise_var) / 2, rel=1e-6), m
    # ridgeless duality N <-> T (no noise)
    if float(m.gamma) == 0 and float(m.noise_var) == 0:
        dual = mrs_theory(m.replace(N=m.T, T=m.N))
        assert dual.test_loss == pytest.approx(r.test_loss, rel=1e-8), m


def _bap_point(rng):
    M = "inf" if rng.random() < 0.25 else _loguniform_int(rng, 2, 10**5)
    alpha = float(rng.uniform(1.05, 4)) if M == "inf" else float(rng.uniform(0.3, 4))
    size = lambda: "inf" if rng.random() < 0.25 else _loguniform_int(rng, 1, 10**4)  # noqa: E731
    m = BAPModel(M=M, alpha=alpha, beta=float(rng.uniform(0.2, 3)), N=size(), P=size(),
                 noise_var=0.0 if rng.random() < 0.5 else float(rng.uniform(0, 1)))
    kind = rng.random()
    if kind < 0.15 and not (math.isinf(m.N) and math.isinf(m.P)) and not math.isinf(m.M):
        edge = spectral_edge(BAPSpectrum(m), m.N, m.P)
        m = m.replace(eta=float(np.round(rng.uniform(0.2, 1.9) / edge, 6)))
    elif kind < 0.25 and math.isinf(m.P) and not math.isinf(m.N):
        B = int(rng.integers(1, 65))
        bound, _ = sgd_max_step(BAPSpectrum(m), m.N, B)
        m = m.replace(eta=float(np.round(rng.uniform(0.1, 0.9) * bound, 6)), batch=B)
    return m


def _l0(m):
    if math.isinf(m.M):
        return float(mpmath.zeta(float(m.alpha) * float(m.beta) + 1))
    return float(np.sum(m.eigenvalues() * m.target() ** 2))


def _check_bap(m, rng):
    t = np.concatenate([[0.0], np.sort(np.exp(rng.uniform(math.log(1e-3), math.log(1e12), 5)))])
    if m.eta is not None:
        t = float(m.eta) * np.round(t / float(m.eta))
    r = bap_theory(m, t)
    for x in (r.test_loss, r.train_loss, r.accuracy):
        assert np.all(np.isfinite(x)) and np.all(x >= 0), m
    L0 = _l0(m)
    assert r.test_loss[0] == pytest.approx(L0, rel=1e-10), m
    noise = 0.0 if math.isinf(m.P) else float(m.noise_var)
    assert r.train_loss[0] == pytest.approx(L0 + noise, rel=1e-10), m
    if math.isinf(m.N) and math.isinf(m.P) and not math.isinf(m.M) and m.eta is None:
        lam, u = m.eigenvalues(), m.eigenvalues() * m.target() ** 2
        exact = (u[None, :] * np.exp(-2 * lam[None, :] * t[:, None])).sum(axis=1)
        assert np.allclose(r.test_loss, exact, rtol=1e-9, atol=1e-14 * L0), m


def _run(n, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        _check_mrs(_mrs_point(rng))
    for _ in range(n):
        _check_bap(_bap_point(rng), rng)


def test_random_valid_parameters():
    _run(30, seed=20261202)


@pytest.mark.slow
def test_random_valid_parameters_many():
    _run(300, seed=1)
