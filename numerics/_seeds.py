"""One seed-averaging driver for every model's finite simulation.

A model supplies a function ``instance(rng) -> (test_row, train_row, info)``;
:func:`run_seeds` validates ``seeds``/``seed``, derives one generator per
instance from ``numpy.random.SeedSequence(seed).spawn(seeds)`` (results do not
depend on order), shows a progress bar, checks the losses are finite and
returns the per-seed arrays with their means and standard errors.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ._limits import MAX_SEEDS, check_count

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


def run_seeds(instance, width, *, seeds, seed, progress, desc, what) -> SeedAverage:
    """Run ``instance(rng)`` once per seed and average (SEM with ddof = 1).

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
    info = []
    for i, ss in enumerate(tqdm(children, desc=desc, disable=not progress)):
        test[i], train[i], extra = instance(np.random.default_rng(ss))
        info.append(extra)
    if not (np.all(np.isfinite(test)) and np.all(np.isfinite(train))):
        raise FloatingPointError(f"non-finite losses in the simulation of {what}")
    root = math.sqrt(seeds)
    return SeedAverage(
        per_seed_test=test, per_seed_train=train,
        test_loss=test.mean(axis=0), test_loss_sem=test.std(axis=0, ddof=1) / root,
        train_loss=train.mean(axis=0), train_loss_sem=train.std(axis=0, ddof=1) / root,
        seeds=seeds, seed=None if seed is None else int(seed), info=tuple(info),
    )
