"""One seed-averaging driver for every model's finite simulation.

A model supplies a function ``instance(rng) -> (test_row, train_row, info)``;
:func:`run_seeds` validates ``seeds``/``seed``, derives one generator per
instance from ``numpy.random.SeedSequence(seed).spawn(seeds)`` (results do not
depend on order), shows a progress bar, checks the losses are finite and
returns the per-seed arrays with their means and standard errors.

The instances run where the executor says (:mod:`~scaling_theory.numerics._parallel`:
serially, on a local Dask cluster or on any Dask cluster), always with one BLAS
thread, and are stacked in seed order, so the averages are bitwise the same for
any number of workers.  With a ``key`` and an executor that carries a cache,
instances already computed are taken from the cache.
"""
from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass

import numpy as np
from ._limits import MAX_SEEDS, check_count
from ._parallel import resolve

__all__ = ["SeedAverage", "run_seeds"]


@dataclass(frozen=True)
class SeedAverage:
    """Per-seed losses (seeds x points), their means and standard errors."""

    per_seed_test: np.ndarray
    per_seed_train: np.ndarray
    test_loss: np.ndarray
    test_loss_sem: np.ndarray
    train_loss: np.ndarray
    train_loss_sem: np.ndarray
    seeds: int
    seed: int | None
    info: tuple


def _seeded(instance, ss):
    return instance(np.random.default_rng(ss))


def simulation_key(model, **grid):
    """A string naming a simulation: the model's parameters and the ridges or times (JSON)."""
    d = dict(model.to_dict())
    for name, values in grid.items():
        d[name] = [float(v) for v in np.asarray(values, dtype=float).ravel()]
    return json.dumps(d, sort_keys=True, separators=(",", ":"))


def instance_key(key, seed, i):
    """Cache key of instance ``i`` (child ``i`` of ``SeedSequence(seed)``) of the computation ``key``."""
    return f"{key}|seed={seed}|instance={i}"


def run_seeds(instance, width, *, seeds, seed, progress, desc, what, workers=None, key=None) -> SeedAverage:
    """Run ``instance(rng)`` once per seed and average (SEM with ddof = 1).

    ``workers``: ``None`` (the executor set by ``_parallel.using``, else serial), ``0``
    (serial), ``K`` (a local cluster of ``K`` processes), a ``distributed.Client`` or an
    ``Executor``.  ``key``: a string naming the computation (model, grid, method), used to
    cache instances when the executor has a cache.

    Examples
    --------
    >>> avg = run_seeds(lambda rng: (rng.normal(size=2), np.zeros(2), None), 2,
    ...                 seeds=400, seed=1, progress=False, desc="demo", what="demo")
    >>> bool(np.all(np.abs(avg.test_loss) < 4 * avg.test_loss_sem))   # mean of N(0, 1) draws
    True
    """
    if isinstance(seeds, bool) or not isinstance(seeds, numbers.Integral) or seeds < 2:
        raise ValueError(f"seeds must be an integer >= 2 (for a standard error), got {seeds!r}")
    seeds = int(seeds)
    check_count("seeds", seeds, MAX_SEEDS, "more instances of one point cannot finish here; split them "
                "over seeds with different --seed values or a sweep")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
    ):
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    children = np.random.SeedSequence(seed).spawn(seeds)
    test = np.empty((seeds, width))
    train = np.empty((seeds, width))
    info = [None] * seeds
    keys = None if key is None or seed is None else [instance_key(key, seed, i) for i in range(seeds)]
    with resolve(workers) as ex:
        for i, (t_row, r_row, extra) in ex.map(_seeded, [(instance, ss) for ss in children], keys=keys,
                                                progress=progress, desc=desc):
            test[i], train[i], info[i] = t_row, r_row, extra
    if not (np.all(np.isfinite(test)) and np.all(np.isfinite(train))):
        raise FloatingPointError(f"non-finite losses in the simulation of {what}")
    root = math.sqrt(seeds)
    return SeedAverage(
        per_seed_test=test, per_seed_train=train,
        test_loss=test.mean(axis=0), test_loss_sem=test.std(axis=0, ddof=1) / root,
        train_loss=train.mean(axis=0), train_loss_sem=train.std(axis=0, ddof=1) / root,
        seeds=seeds, seed=None if seed is None else int(seed), info=tuple(info),
    )
