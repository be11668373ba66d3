r"""Where independent pieces of work run: serially, on a local Dask cluster, or on any Dask cluster.

Finite simulations are averages over independent instances, each drawn from
its own child of ``numpy.random.SeedSequence(seed)``; nothing depends on which
process runs an instance or in which order, so they can run anywhere.  An
:class:`Executor` runs a list of tasks and hands back each result as it
finishes:

* ``Executor(0)``: serially in this process;
* ``Executor(K)``: an embedded :class:`distributed.LocalCluster` of ``K``
  worker processes (default: one per core) with one thread each, bound to
  127.0.0.1;
* ``Executor(scheduler="tcp://host:8786")`` or ``Executor(client=client)``: an
  existing Dask cluster (a laptop, a SLURM allocation through dask-jobqueue,
  ...).  Lost workers are replaced by Dask, which reruns their tasks.

Every task runs with one BLAS thread (threadpoolctl): a 400 x 100 SVD takes
about 7 ms on one OpenBLAS thread and about 0.5 s on two threads of a busy
2-core machine, and one thread also makes results bitwise independent of the
number of workers.

An executor may carry a *cache* (an object with ``get(key)`` and
``put(key, value)``, such as a sweep store): tasks with a key found there are
not run again, and each finished task is written there at once, so long work
killed at any moment resumes where it stopped.

:func:`using` makes an executor the default of every simulation inside a
``with`` block (the report uses this); :func:`resolve` turns a ``workers``
argument into an executor.

Examples
--------
>>> with Executor(0) as ex:
...     sorted(ex.map(pow, [(2, 3), (3, 2)]))
[(0, 8), (1, 9)]
"""
from __future__ import annotations

import contextlib
import contextvars
import numbers
import os
import warnings

from tqdm import tqdm

__all__ = ["Executor", "using", "resolve", "one_blas_thread", "default_workers"]


@contextlib.contextmanager
def one_blas_thread():
    """Run the block with one BLAS/OpenMP thread (no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:            # pragma: no cover - threadpoolctl is a dependency
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


#: glibc malloc settings of the local cluster's worker processes (set before they start).  Dask's
#: default hands freed memory back to the kernel at once (a 64 KiB trim threshold), so every
#: simulation's large arrays are fresh pages, zeroed by the kernel on first touch: measured on a
#: 2-core machine, 55 000 page faults and 0.15-0.4 s of system time per 1.3 s instance
#: (T = 8000, N = 600) instead of 6 000 and 0.05 s.  Keeping up to 1 GiB of freed memory and
#: serving arrays up to 256 MiB from the heap removes that; a worker's resident memory then
#: stays at the peak of its largest task.
WORKER_MALLOC = {"MALLOC_TRIM_THRESHOLD_": str(2**30), "MALLOC_MMAP_THRESHOLD_": str(2**28)}


def _run_one(fn, args):
    with one_blas_thread():
        return fn(*args)


def default_workers() -> int:
    """Worker processes of the embedded cluster by default: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:         # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


class Executor:
    """Runs tasks serially, on an embedded local Dask cluster or on an existing one.

    Parameters
    ----------
    workers : int >= 0, optional
        ``0``: serial in this process; ``K >= 1``: a local cluster of ``K`` processes.
        Default: one process per core (ignored with ``scheduler`` or ``client``).
    scheduler : str, optional
        Address of a running Dask scheduler.
    client : distributed.Client, optional
        A client of your own (it is not closed by the executor).
    cache : object with ``get(key)`` and ``put(key, value)``, optional
        Results already computed (see the module docstring).
    progress : bool
        Default of :meth:`map`'s progress bar.
    """

    #: How long a client waits for the scheduler at ``scheduler`` before giving up.
    CONNECT_TIMEOUT = "20s"

    def __init__(self, workers=None, *, scheduler=None, client=None, cache=None, progress=False):
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, numbers.Integral)
                                    or workers < 0):
            raise ValueError(f"workers must be an integer >= 0, got {workers!r}")
        if scheduler is not None and client is not None:
            raise ValueError("give scheduler or client, not both")
        if scheduler is not None and not (isinstance(scheduler, str) and scheduler.strip()):
            raise ValueError(f"scheduler must be an address such as tcp://127.0.0.1:8786, got {scheduler!r}")
        self.workers = default_workers() if workers is None else int(workers)
        self.scheduler, self.cache, self.progress = scheduler, cache, progress
        self._client, self._own = client, []
        self.serial = client is None and scheduler is None and self.workers == 0

    # -- lifecycle ------------------------------------------------------------------
    @property
    def client(self):
        """The Dask client (started on first use); ``None`` for a serial executor."""
        if self.serial:
            return None
        if self._client is None:
            try:
                from distributed import Client, LocalCluster
            except ImportError as exc:      # pragma: no cover - distributed is a dependency
                raise ImportError("parallel runs need dask.distributed: pip install 'dask[distributed]' "
                                  "(or run serially with workers=0)") from exc
            if self.scheduler is not None:
                try:
                    self._client = Client(self.scheduler, timeout=self.CONNECT_TIMEOUT)
                except (OSError, TimeoutError, ValueError, TypeError) as exc:
                    raise ValueError(f"scheduler: no Dask scheduler answers at {self.scheduler} within "
                                     f"{self.CONNECT_TIMEOUT} ({' '.join(str(exc).split())[:200]})") from None
                self._own = [self._client]
            else:
                import dask

                try:
                    with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v
                                          for k, v in WORKER_MALLOC.items()}):
                        cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                               host="127.0.0.1", dashboard_address=":0",
                                               env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                                                    "MKL_NUM_THREADS": "1"})
                except (OSError, RuntimeError, TimeoutError) as exc:
                    # no local cluster here (no processes, no loopback): the same numbers, serially
                    warnings.warn(f"could not start a local Dask cluster ({' '.join(str(exc).split())}); "
                                  "running serially", RuntimeWarning, stacklevel=3)
                    self.serial = True
                    return None
                self._client = Client(cluster)
                self._own = [self._client, cluster]
        return self._client

    def close(self):
        """Close the client and cluster this executor started (not a client it was given)."""
        if self._own:
            for obj in self._own:
                with contextlib.suppress(Exception):
                    obj.close()
            self._own = []
            self._client = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        where = ("serial" if self.serial else f"scheduler={self.scheduler!r}" if self.scheduler
                 else "client" if self._client is not None and not self._own else f"local cluster, {self.workers} workers")
        return f"Executor({where}{', cached' if self.cache is not None else ''})"

    # -- running --------------------------------------------------------------------
    def map(self, fn, arglist, *, keys=None, progress=None, desc="tasks"):
        """Run ``fn(*args)`` for every ``args`` in ``arglist``; yield ``(index, result)`` as each
        finishes (in any order).  With a cache and ``keys``, cached results are yielded first
        and each new result is put in the cache before it is yielded."""
        arglist = list(arglist)
        n = len(arglist)
        if keys is not None and len(keys) != n:
            raise ValueError("keys must have one entry per task")
        show = self.progress if progress is None else progress
        todo = list(range(n))
        bar = tqdm(total=n, desc=desc, disable=not show)
        try:
            if self.cache is not None and keys is not None:
                rest = []
                for i in todo:
                    hit = self.cache.get(keys[i])
                    if hit is None:
                        rest.append(i)
                    else:
                        bar.update()
                        yield i, hit
                todo = rest
            for i, res in self._run(fn, arglist, todo):
                if self.cache is not None and keys is not None:
                    self.cache.put(keys[i], res)
                bar.update()
                yield i, res
        finally:
            bar.close()

    def _run(self, fn, arglist, todo):
        if not todo:
            return
        client = self.client
        if client is None:
            for i in todo:
                yield i, _run_one(fn, arglist[i])
            return
        from distributed import as_completed

        futures = {}
        for i in todo:
            fut = client.submit(_run_one, fn, arglist[i], pure=False, retries=2)
            futures[fut] = i
        try:
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.release()


_CURRENT: contextvars.ContextVar = contextvars.ContextVar("scaling_theory_executor", default=None)


@contextlib.contextmanager
def using(executor):
    """Make ``executor`` the default of every simulation run inside the block."""
    token = _CURRENT.set(executor)
    try:
        yield executor
    finally:
        _CURRENT.reset(token)


@contextlib.contextmanager
def resolve(workers):
    """The executor for a ``workers`` argument: ``None`` (the one set by :func:`using`, else
    serial), an int (``0`` serial, ``K`` a local cluster of ``K`` processes, closed at the
    end), a ``distributed.Client`` or an :class:`Executor`."""
    if workers is None:
        ex = _CURRENT.get()
        yield ex if ex is not None else Executor(0)
        return
    if isinstance(workers, Executor):
        yield workers
        return
    if type(workers).__name__ == "Client" and hasattr(workers, "submit"):
        yield Executor(client=workers)
        return
    with Executor(workers) as ex:
        yield ex
