"""One precision helper: private, cached mpmath contexts.

The toolkit never touches mpmath's global context (``mpmath.mp``): every
high-precision computation runs in a private :class:`mpmath.MPContext` with
the digits (``dps``) or bits (``prec``) it needs, so that concurrent callers
and user code cannot change each other's precision.  Contexts are cached per
precision (creating one costs about 20 microseconds; callers must not change
the precision of a context they were given).

>>> ctx = context(30)
>>> ctx.dps, ctx is context(30), context(prec=ctx.prec) is ctx
(30, True, False)
>>> str(ctx.mpf(1) / 3)
'0.333333333333333333333333333333'
"""
from __future__ import annotations

from functools import lru_cache

import mpmath

__all__ = ["context"]


def context(dps: int | None = None, *, prec: int | None = None) -> mpmath.ctx_mp.MPContext:
    """A private mpmath context with ``dps`` decimal digits or ``prec`` bits (cached).

    Exactly one of ``dps`` and ``prec`` is given.
    """
    if (dps is None) == (prec is None):
        raise TypeError("give exactly one of dps and prec")
    return _by_dps(int(dps)) if dps is not None else _by_prec(int(prec))


@lru_cache(maxsize=128)
def _by_dps(dps: int) -> mpmath.ctx_mp.MPContext:
    ctx = mpmath.MPContext()
    ctx.dps = dps
    return ctx


@lru_cache(maxsize=128)
def _by_prec(prec: int) -> mpmath.ctx_mp.MPContext:
    ctx = mpmath.MPContext()
    ctx.prec = prec
    return ctx
