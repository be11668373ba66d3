"""Limits checked before work starts: memory of a simulation, counts that cannot finish.

Every check raises ``ValueError`` whose message starts with the parameter's name
(the command line turns it into the flag), so that a size that cannot fit is
refused with its estimate before anything is allocated.

>>> check_memory(8 * 10**6, "the simulation", "N", {"N": 1000, "M": 1000})
>>> try:
...     check_memory(2**60, "the simulation", "N", {"N": 10**9, "M": 200})
... except ValueError as exc:
...     print(str(exc).split(":")[0])
N = 1000000000
"""
from __future__ import annotations

import math
import os

__all__ = ["MAX_SEEDS", "memory_budget", "check_memory", "format_bytes", "check_count", "largest"]

#: Largest number of instances of one simulated point (1e5 instances of the smallest
#: model already take minutes; a sweep splits larger runs).
MAX_SEEDS = 100_000


def memory_budget() -> int:
    """Bytes one computation may use: half of this machine's physical memory (8 GiB when
    it cannot be read)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        total = 16 * 2**30
    return int(total // 2)


def format_bytes(n: float) -> str:
    """``1.5 TiB``-style size."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} EiB"  # pragma: no cover


def check_memory(nbytes: float, what: str, culprit: str, sizes: dict) -> None:
    """Raise ``ValueError`` (starting with ``culprit``) when ``nbytes`` exceed the budget."""
    budget = memory_budget()
    if nbytes > budget:
        shown = ", ".join(f"{k} = {v}" for k, v in sizes.items())
        raise ValueError(f"{culprit} = {sizes[culprit]}: {what} needs about {format_bytes(nbytes)} of memory "
                         f"({shown}), more than the {format_bytes(budget)} allowed (half of this machine's "
                         f"memory); use smaller sizes")


def largest(sizes: dict) -> str:
    """The name of the largest finite size (the one to blame)."""
    finite = {k: v for k, v in sizes.items() if isinstance(v, (int, float)) and math.isfinite(v)}
    return max(finite, key=finite.get)


def check_count(name: str, value: int, maximum: int, why: str) -> None:
    """Raise ``ValueError`` naming ``name`` when ``value > maximum``."""
    if value > maximum:
        raise ValueError(f"{name} must be <= {maximum} ({why}), got {value}")
