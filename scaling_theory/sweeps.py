r"""Sweeps: the theory over grids and finite simulations over sizes, ridges, times and seeds, on
Dask, stored as each task finishes and resumable after a kill.

A sweep is declared by a :class:`SweepSpec` (a model, ``loss`` or ``simulate``, the
fixed parameters, a grid of sizes, the ridges or times and, for simulations, the
seeds), written as a small TOML or JSON file or given by the flags of the
``mrs``/``bap`` commands::

    scaling-theory sweep --store runs/A mrs simulate --M 1000 --alpha 1 --N 100,200,400 --T 400 --seeds 64
    scaling-theory sweep --store runs/A --resume mrs simulate ...      # after a kill: only what is missing
    scaling-theory sweep --store runs/B --file sweep.toml --scheduler tcp://head:8786

It is split into tasks: one per grid point for the theory, one per (grid point,
instance) for simulations.  Instance ``i`` of a point uses the child ``i`` of
``numpy.random.SeedSequence(seed)``, exactly as :func:`~scaling_theory.numerics.simulate_mrs`
and :func:`~scaling_theory.numerics.simulate_bap` do, and every task runs with one
BLAS thread, so a sweep's averages are bitwise those functions' results, for
any number of workers, any order and any interruption.  Tasks run on an
embedded local Dask cluster (processes, one per core, by default), on an
existing cluster (``--scheduler`` / ``client=``) or serially (``--workers 0``).

Storage: one SQLite file, ``DIR/sweep.sqlite``.  SQLite is in Python's standard
library and on every cluster, a store is one file that any language reads
(``sqlite3``, ``pandas.read_sql``, DuckDB), and each finished task is written in
one transaction, so a kill at any moment leaves only whole tasks behind and
nothing is counted twice.  Tables:

* ``meta``: ``format`` ("scaling-theory sweep"), ``format_version``, ``spec``
  (the sweep, JSON), ``created_with`` (package version), ``created_at``;
* ``tasks``: one row per finished task: ``task``, ``point``, ``instance``,
  ``version``, ``seconds``, ``finished_at``;
* ``results``: one row per task and ridge or time: the grid values (``N``,
  ``T``/``P``), ``x_name`` (``gamma`` or ``t``) and ``x``, ``test_loss``,
  ``train_loss``, ``kind`` (``theory``/``simulation``), ``method``, ``seed`` (the
  root seed) and ``instance``, ``version``, ``params`` (every model parameter, JSON)
  and ``extra`` (JSON: ``kappa``, accuracies, ...).

:func:`load_sweep` returns the results as a pandas DataFrame or an xarray
Dataset (simulations averaged over their instances, with standard errors);
:func:`plot_sweep` draws the usual log-log figure.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import itertools
import json
import math
import numbers
import os
import sqlite3
import time
from pathlib import Path

import numpy as np

__all__ = ["SweepSpec", "SweepRun", "sweep", "load_sweep", "plot_sweep", "read_spec", "STORE_NAME",
           "StoreError"]

STORE_NAME = "sweep.sqlite"
#: Most tasks in one sweep (the list of tasks and the store's index stay small).
MAX_TASKS = 10**6
FORMAT = "scaling-theory sweep"
FORMAT_VERSION = 1
_AXES = {"mrs": ("N", "T"), "bap": ("N", "P")}
_XNAME = {"mrs": "gamma", "bap": "t"}


class StoreError(ValueError):
    """A sweep store that cannot be used: not a store, another sweep, or already there."""


def _version():
    from scaling_theory import __version__

    return __version__


# ==========================================================================
# the sweep declaration
# ==========================================================================
def _enc(v):
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return _enc(float(v))
    if isinstance(v, (np.ndarray, tuple)):          # a custom spectrum or target: a JSON list
        return [float(x) for x in np.asarray(v, dtype=float).ravel()]
    return v


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A sweep: what to compute, over which grid, with which seeds.

    Parameters
    ----------
    model : {"mrs", "bap"}
        Model A (random-feature ridge regression) or model B (gradient flow).
    kind : {"loss", "simulate"}
        The theory, or finite simulations averaged over ``seeds`` instances.
    params : dict
        The fixed model parameters (``M``, ``alpha``, ``noise_var``, ``beta``, ...).
    grid : dict
        Lists of sizes: ``N`` and ``T`` (model A), ``N`` and ``P`` (model B).
    x : list of float
        Ridges ``gamma`` (model A; default ``[0]``) or times ``t`` (model B, required).
    seeds, seed : int
        Instances per grid point (>= 2) and the root seed (simulations).
    dps : int, optional
        Digits of the theory (default double precision).
    u_draws : int
        Draws of ``U`` of model A's nonlinear-feature theory (``kind="loss"``, nonlinear activation).

    Examples
    --------
    >>> s = SweepSpec.from_dict({"model": "mrs", "kind": "simulate", "params": {"M": 300, "alpha": 1},
    ...                          "grid": {"N": [20, 40], "T": [80]}, "gamma": [0.0], "seeds": 4})
    >>> len(s.tasks()), s.points()[1]
    (8, {'N': 40, 'T': 80})
    """

    model: str
    kind: str
    params: dict
    grid: dict
    x: tuple
    seeds: int | None = None
    seed: int = 0
    dps: int | None = None
    u_draws: int = 16

    # -- construction ----------------------------------------------------------------
    @classmethod
    def from_dict(cls, d):
        """From a dict as in a sweep file (``gamma`` or ``t`` for the ridges/times)."""
        if not isinstance(d, dict):
            raise ValueError(f"a sweep must be a table/object, got {type(d).__name__}")
        d = dict(d)
        model = d.pop("model", None)
        if model not in _AXES:
            raise ValueError(f"model must be 'mrs' or 'bap', got {model!r}")
        kind = d.pop("kind", None)
        if kind not in ("loss", "simulate"):
            raise ValueError(f"kind must be 'loss' or 'simulate', got {kind!r}")
        params = dict(d.pop("params", {}) or {})
        grid = dict(d.pop("grid", {}) or {})
        xname = _XNAME[model]
        x = d.pop(xname, d.pop("times" if model == "bap" else "gammas", None))
        if x is None:
            if model == "bap":
                raise ValueError("t must list the training times of a model B sweep")
            x = [params.pop("gamma", 0.0)]
        params.pop("gamma", None)
        x = x if isinstance(x, (list, tuple)) else [x]
        spec = cls(model=model, kind=kind, params=params, grid=grid, x=tuple(x),
                   seeds=d.pop("seeds", None), seed=d.pop("seed", 0), dps=d.pop("dps", None),
                   u_draws=d.pop("u_draws", 16))
        if d:
            raise ValueError(f"unknown sweep keys: {', '.join(sorted(d))} (known: model, kind, params, grid, "
                             f"{xname}, seeds, seed, dps, u_draws)")
        return spec

    def __post_init__(self):
        object.__setattr__(self, "params", dict(self.params))     # never the caller's dicts
        object.__setattr__(self, "grid", dict(self.grid))
        axes = _AXES[self.model]
        extra = set(self.grid) - set(axes)
        if extra:
            raise ValueError(f"grid: model {self.model} sweeps {' and '.join(axes)}, not {', '.join(sorted(extra))}")
        for name in axes:
            vals = self.grid.get(name, self.params.get(name))
            if vals is None:
                raise ValueError(f"{name} must be given (in grid or params)")
            vals = list(vals) if isinstance(vals, (list, tuple)) else [vals]
            if not vals:
                raise ValueError(f"grid: {name} must list at least one value")
            self.grid[name] = [_enc(v) for v in vals]
            self.params.pop(name, None)
        for name, v in list(self.params.items()):
            self.params[name] = _enc(v)
        if not self.x:
            raise ValueError(f"{_XNAME[self.model]} must list at least one value")
        for v in self.x:
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{_XNAME[self.model]} must be finite numbers >= 0, got {v!r}")
        object.__setattr__(self, "x", tuple(float(v) for v in self.x))
        if self.kind == "simulate":
            if isinstance(self.seeds, bool) or not isinstance(self.seeds, numbers.Integral) or self.seeds < 2:
                raise ValueError(f"seeds must be an integer >= 2 for a simulation sweep, got {self.seeds!r}")
            if self.dps is not None:
                raise ValueError("dps: simulations run in double precision; drop dps")
        elif self.seeds is not None:
            raise ValueError("seeds: a theory sweep (kind = 'loss') has no seeds")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        if self.dps is not None and (isinstance(self.dps, bool) or not isinstance(self.dps, numbers.Integral)
                                     or not 5 <= self.dps <= 10000):
            raise ValueError(f"dps must be an integer from 5 to 10000, got {self.dps!r}")
        n_tasks = len(self.points()) * (self.seeds if self.kind == "simulate" else 1)
        if n_tasks > MAX_TASKS:
            raise ValueError(f"grid: {n_tasks:.3g} tasks (grid points x seeds), more than {MAX_TASKS:.0e} in "
                             "one sweep; split it into several stores")
        models = self.models()  # every grid point is a valid model (ValueError naming the parameter)
        if self.kind == "simulate":            # and fits in memory, before any task starts
            if self.model == "mrs":
                from scaling_theory.numerics._simulate_ridge import simulation_plan
            else:
                from scaling_theory.numerics._simulate_flow import simulation_plan
            for m in models:
                simulation_plan(m, list(self.x))

    def to_dict(self):
        """The sweep as stored (JSON-ready; ``inf`` as "inf")."""
        d = {"model": self.model, "kind": self.kind, "params": dict(sorted(self.params.items())),
             "grid": {k: list(self.grid[k]) for k in _AXES[self.model]}, _XNAME[self.model]: list(self.x),
             "seed": self.seed}
        if self.kind == "simulate":
            d["seeds"] = self.seeds
        else:
            d["dps"] = self.dps
            if self.model == "mrs" and self.params.get("activation", "linear") != "linear":
                d["u_draws"] = self.u_draws
        return d

    def canonical(self):
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    # -- grid and tasks ------------------------------------------------------------
    @property
    def x_name(self):
        return _XNAME[self.model]

    @property
    def axes(self):
        return _AXES[self.model]

    def points(self):
        """The grid points, in task order (the last axis fastest)."""
        a, b = self.axes
        return [{a: u, b: v} for u, v in itertools.product(self.grid[a], self.grid[b])]

    def models(self):
        """One validated model per grid point."""
        from scaling_theory.numerics import BAPModel, MRSModel

        out = []
        for pt in self.points():
            if self.model == "mrs":
                out.append(MRSModel(**self.params, **pt, gamma=self.x[0]))
            else:
                out.append(BAPModel(**self.params, **pt))
        return out

    def tasks(self):
        """``[(task_id, point_index, instance or None), ...]``."""
        n = len(self.points())
        if self.kind == "loss":
            return [(f"p{p}", p, None) for p in range(n)]
        return [(f"p{p}-i{i}", p, i) for p in range(n) for i in range(self.seeds)]


def read_spec(path):
    """A :class:`SweepSpec` from a ``.toml`` or ``.json`` file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"file: cannot read {path} ({exc.strerror})") from None
    if path.suffix.lower() == ".toml":
        try:
            import tomllib
        except ImportError:            # Python 3.10
            try:
                import tomli as tomllib
            except ImportError:
                raise ValueError("file: reading TOML needs Python >= 3.11 or `pip install tomli`; "
                                 "or write the sweep as JSON") from None
        try:
            d = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"file: {path} is not valid TOML ({exc})") from None
    elif path.suffix.lower() == ".json":
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"file: {path} is not valid JSON ({exc})") from None
    else:
        raise ValueError(f"file: a sweep file ends in .toml or .json, got {path.name}")
    return SweepSpec.from_dict(d)


# ==========================================================================
# the tasks (run on the workers)
# ==========================================================================
@dataclasses.dataclass(frozen=True)
class _Job:
    """What a task needs: the sweep's settings without the grid (small to send to a worker)."""

    model: str
    kind: str
    x: tuple
    seed: int
    dps: int | None
    u_draws: int


def _task(job, model, instance):
    """Run one task of ``job`` at one grid point (``model``); returns ``{"test": [...],
    "train": [...], "method": str, "extra": {...}}``."""
    xs = np.asarray(job.x, dtype=float)
    if job.kind == "simulate":
        # child `instance` of SeedSequence(seed): the instance simulate_mrs / simulate_bap would draw
        rng = np.random.default_rng(np.random.SeedSequence(job.seed, spawn_key=(instance,)))
        if job.model == "mrs":
            from scaling_theory.numerics._simulate_ridge import simulation_plan

            test, train, method = simulation_plan(model, xs)[2](rng)
        else:
            from scaling_theory.numerics._simulate_flow import METHODS, _method, simulation_plan

            test, train, _ = simulation_plan(model, xs)[2](rng)
            method = METHODS[_method(model)]
        return {"test": [float(v) for v in test], "train": [float(v) for v in train],
                "method": method, "extra": {}}
    if job.model == "bap":
        from scaling_theory.numerics import bap_theory

        r = bap_theory(model, xs, dps=job.dps)
        d = r.to_dict(digits=job.dps)
        return {"test": [float(v) for v in r.test_loss], "train": [float(v) for v in r.train_loss],
                "method": r.method, "extra": {"accuracy": d.get("accuracy"), "final_loss": d.get("final_loss")}}
    if model.activation != "linear":
        from scaling_theory.numerics import mrs_nonlinear_theory

        r = mrs_nonlinear_theory(model, u_draws=job.u_draws, seed=job.seed, gammas=xs)
        return {"test": [float(v) for v in r.test_loss], "train": [float(v) for v in r.train_loss],
                "method": f"gaussian-equivalent ({r.method})",
                "extra": {"test_loss_sem": [float(v) for v in r.test_loss_sem],
                          "kappa": [float(v) for v in r.kappa.mean(axis=0)]}}
    from scaling_theory.numerics import mrs_theory

    test, train, extra = [], [], {"kappa": [], "kappa1": [], "df2": []}
    method = None
    for g in xs:
        r = mrs_theory(model.replace(gamma=float(g)), dps=job.dps)
        test.append(float(r.test_loss))
        train.append(float(r.train_loss))
        for k in extra:
            extra[k].append(float(getattr(r, k)))
        method = r.method
    return {"test": test, "train": train, "method": method, "extra": extra}


# ==========================================================================
# the store
# ==========================================================================
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (task TEXT PRIMARY KEY, point INTEGER NOT NULL, instance INTEGER,
    version TEXT NOT NULL, seconds REAL, finished_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (task TEXT NOT NULL, point INTEGER NOT NULL, instance INTEGER,
    {a} REAL, {b} REAL, x_name TEXT NOT NULL, x_index INTEGER NOT NULL, x REAL NOT NULL,
    test_loss REAL, train_loss REAL, kind TEXT NOT NULL, method TEXT, seed INTEGER,
    version TEXT NOT NULL, params TEXT NOT NULL, extra TEXT,
    PRIMARY KEY (task, x_index));
CREATE TABLE IF NOT EXISTS instances (key TEXT PRIMARY KEY, test TEXT NOT NULL, train TEXT NOT NULL,
    info TEXT, version TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cached (key TEXT PRIMARY KEY, value TEXT NOT NULL, version TEXT NOT NULL);
"""


def _store_file(store):
    p = Path(store)
    return p / STORE_NAME if p.suffix != ".sqlite" else p


class Store:
    """A sweep store (one SQLite file).  Also a cache of simulation instances (``get``/``put``)
    for :class:`~scaling_theory.numerics._parallel.Executor`.

    ``Store(path, spec, resume)``: a new store for ``spec`` (refused if ``path`` already holds
    one, unless ``resume``: then it must hold the same sweep).  ``Store.open(path)``: an
    existing store, read-only use.
    """

    def __init__(self, path, spec=None, *, resume=False):
        self.file = _store_file(path)
        exists = self.file.exists()
        if exists:
            self._check_format(self.file)
        else:
            self._create(self.file, spec)
        self.db = sqlite3.connect(self.file, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        if exists and not self.db.execute("SELECT name FROM sqlite_master WHERE name = 'cached'").fetchone():
            with self.db:                          # a store of format 1 written before this table
                self.db.execute(_SCHEMA.strip().splitlines()[-1])
        self.meta = dict(self.db.execute("SELECT key, value FROM meta"))
        self.spec = SweepSpec.from_dict(json.loads(self.meta["spec"])) if self.meta.get("spec") else None
        if spec is not None and exists:
            if self.spec is None or self.spec.canonical() != spec.canonical():
                self.db.close()
                raise StoreError(f"{self.file} holds a different sweep; choose another --store (stored: "
                                 f"{self.meta.get('spec') or 'no sweep'})")
            if not resume:
                self.db.close()
                raise StoreError(f"{self.file} already holds this sweep; pass --resume to continue it "
                                 "(only the missing tasks run) or choose another --store")

    @staticmethod
    def _create(file, spec):
        """Write the schema and ``meta`` into a temporary file and move it into place: a store
        either exists whole or not at all."""
        tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            tmp.unlink(missing_ok=True)
            con = sqlite3.connect(tmp)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"store: cannot write a store in {file.parent} "
                             f"({getattr(exc, 'strerror', None) or exc})") from None
        a, b = _AXES[spec.model] if spec is not None else ("N", "T")
        try:
            con.executescript(_SCHEMA.format(a=a, b=b))
            now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            meta = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "created_with": _version(),
                    "created_at": now, "spec": spec.canonical() if spec is not None else ""}
            with con:
                con.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        finally:
            con.close()
        os.replace(tmp, file)

    @classmethod
    def open(cls, path):
        file = _store_file(path)
        if not file.exists():
            raise StoreError(f"no sweep store at {path} (expected {file})")
        return cls(file)

    @staticmethod
    def _check_format(file):
        try:
            con = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
            try:
                meta = dict(con.execute("SELECT key, value FROM meta"))
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{file} is not a sweep store ({exc}); it was not written by scaling-theory "
                             "or is damaged") from None
        if meta.get("format") != FORMAT:
            raise StoreError(f"{file} is not a scaling-theory sweep store (format {meta.get('format')!r})")
        if int(meta.get("format_version", "0")) > FORMAT_VERSION:
            raise StoreError(f"{file} was written by a newer scaling-theory (store format "
                             f"{meta['format_version']} > {FORMAT_VERSION}); upgrade to read it")

    def close(self):
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- sweep tasks ------------------------------------------------------------------
    def done(self):
        """The ids of the finished tasks."""
        return {r[0] for r in self.db.execute("SELECT task FROM tasks")}

    def write(self, spec, task_id, point, instance, result, seconds):
        """Store one finished task in one transaction (a task already there is left as it is)."""
        pt = spec.points()[point]
        a, b = spec.axes
        params = json.dumps({**spec.params, **pt}, sort_keys=True)
        version = _version()
        kind = "simulation" if spec.kind == "simulate" else "theory"
        seed = spec.seed if spec.kind == "simulate" else None
        extra = result.get("extra") or {}
        rows = []
        for j, x in enumerate(spec.x):
            ex = {k: (v[j] if isinstance(v, list) else v) for k, v in extra.items()}
            rows.append((task_id, point, instance, _num(pt[a]), _num(pt[b]), spec.x_name, j, x,
                         result["test"][j], result["train"][j], kind, result.get("method"), seed, version,
                         params, json.dumps(ex)))
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        with self.db:
            cur = self.db.execute("INSERT OR IGNORE INTO tasks VALUES (?, ?, ?, ?, ?, ?)",
                                  (task_id, point, instance, version, seconds, now))
            if cur.rowcount:
                self.db.executemany(f"INSERT INTO results VALUES ({', '.join('?' * 16)})", rows)

    # -- cache of an Executor: simulated instances, and any other JSON-able result ---------
    def get(self, key):
        row = self.db.execute("SELECT test, train, info FROM instances WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return np.array(json.loads(row[0])), np.array(json.loads(row[1])), json.loads(row[2])
        row = self.db.execute("SELECT value FROM cached WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key, value):
        """Store ``value``: a simulated instance ``(test, train, info)`` (arrays of floats, kept
        exactly) in ``instances``, anything else as JSON in ``cached``."""
        with self.db:
            if (isinstance(value, tuple) and len(value) == 3 and isinstance(value[0], np.ndarray)
                    and isinstance(value[1], np.ndarray)):
                test, train, info = value
                self.db.execute("INSERT OR REPLACE INTO instances VALUES (?, ?, ?, ?, ?)",
                                (key, json.dumps([float(v) for v in test]),
                                 json.dumps([float(v) for v in train]), json.dumps(info), _version()))
            else:
                self.db.execute("INSERT OR REPLACE INTO cached VALUES (?, ?, ?)",
                                (key, json.dumps(value), _version()))


def _num(v):
    return math.inf if v == "inf" else float(v)


# ==========================================================================
# running
# ==========================================================================
@dataclasses.dataclass(frozen=True)
class SweepRun:
    """What :func:`sweep` did: the store, the number of tasks, how many ran now and how many
    were already stored, and the wall time."""

    store: Path
    tasks: int
    ran: int
    reused: int
    seconds: float

    def to_dict(self):
        return {"store": str(self.store), "tasks": self.tasks, "ran": self.ran, "reused": self.reused,
                "seconds": self.seconds}

    def __str__(self):
        return (f"sweep store {self.store}: {self.tasks} tasks, {self.ran} run now, {self.reused} already "
                f"stored ({self.seconds:.1f} s)")


def _timed_task(job, model, instance):
    t0 = time.perf_counter()
    out = _task(job, model, instance)
    out["seconds"] = time.perf_counter() - t0
    return out


def sweep(spec, store, *, resume=False, workers=None, scheduler=None, client=None, progress=True) -> SweepRun:
    """Run a sweep, storing each task as it finishes; with ``resume=True`` run only what is missing.

    Parameters
    ----------
    spec : SweepSpec, dict or path of a .toml/.json file
    store : path
        A folder (the store is ``store/sweep.sqlite``) or a ``.sqlite`` file.
    resume : bool
        Continue the sweep already in ``store`` (it must be the same sweep).
    workers : int >= 0, optional
        ``0``: serial in this process; ``K``: a local Dask cluster of ``K`` processes
        (default: one per core).
    scheduler : str, optional
        Address of an existing Dask scheduler; or ``client``: a ``distributed.Client``.
    progress : bool
        A progress bar over the tasks (stderr).

    Returns
    -------
    SweepRun

    Examples
    --------
    >>> import tempfile
    >>> spec = {"model": "mrs", "kind": "simulate", "params": {"M": 200, "alpha": 1.0},
    ...         "grid": {"N": [20, 40], "T": [60]}, "gamma": [0.0, 0.01], "seeds": 3}
    >>> d = tempfile.mkdtemp()
    >>> sweep(spec, d, workers=0, progress=False).ran
    6
    >>> sweep(spec, d, resume=True, workers=0, progress=False).ran      # nothing left to run
    0
    >>> df = load_sweep(d)
    >>> list(df.columns[:6]), len(df)
    (['N', 'T', 'gamma', 'test_loss', 'test_loss_sem', 'train_loss'], 4)
    """
    from scaling_theory.numerics._parallel import Executor

    if isinstance(spec, (str, os.PathLike)):
        spec = read_spec(spec)
    elif isinstance(spec, dict):
        spec = SweepSpec.from_dict(spec)
    elif not isinstance(spec, SweepSpec):
        raise ValueError(f"spec must be a SweepSpec, a dict or a sweep file, got {type(spec).__name__}")
    t0 = time.perf_counter()
    with Store(store, spec, resume=resume) as st:
        done = st.done()
        # the last grid points are usually the largest: submit them first, so that no worker is
        # left with one long task at the end (the results do not depend on the order)
        todo = [t for t in reversed(spec.tasks()) if t[0] not in done]
        job = _Job(spec.model, spec.kind, spec.x, spec.seed, spec.dps, spec.u_draws)
        models = spec.models()
        ex = Executor(workers, scheduler=scheduler, client=client)
        try:
            for i, res in ex.map(_timed_task, [(job, models[p], inst) for _, p, inst in todo],
                                 progress=progress, desc=f"sweep {spec.model} {spec.kind}"):
                task_id, p, inst = todo[i]
                st.write(spec, task_id, p, inst, res, res.pop("seconds"))
        finally:
            ex.close()
        n_tasks = len(spec.tasks())
        return SweepRun(store=st.file, tasks=n_tasks, ran=len(todo), reused=n_tasks - len(todo),
                        seconds=time.perf_counter() - t0)


# ==========================================================================
# loading and plotting
# ==========================================================================
def load_sweep(store, *, as_="dataframe", per_instance=False):
    """The results of a sweep store.

    Parameters
    ----------
    store : path
        The store folder or its ``.sqlite`` file.
    as_ : {"dataframe", "xarray"}
        A pandas DataFrame (one row per grid point and ridge or time) or an xarray Dataset
        with dimensions (``N``, ``T``, ``gamma``) resp. (``N``, ``P``, ``t``).
    per_instance : bool
        Simulations: one row per instance instead of means and standard errors.

    Notes
    -----
    Simulations are averaged exactly as :func:`~scaling_theory.numerics.simulate_mrs` does
    (instances stacked in seed order; standard error with ddof = 1), so the numbers are
    bitwise those of one call with the same seeds.  Points of an unfinished sweep have
    ``instances < seeds``.  Columns: the grid values, the ridge or time, ``test_loss``,
    ``train_loss`` (with ``_sem`` for simulations), ``instances``, ``seeds``, ``seed``,
    ``kind``, ``method``, ``version`` and every model parameter.
    """
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("load_sweep needs pandas: pip install 'scaling-theory[sweep]' (or pandas)") from None
    if as_ not in ("dataframe", "xarray"):
        raise ValueError(f"as_ must be 'dataframe' or 'xarray', got {as_!r}")
    with Store.open(store) as st:
        spec = st.spec
        rows = st.db.execute("SELECT * FROM results ORDER BY point, instance, x_index").fetchall()
        cols = [c[0] for c in st.db.execute("SELECT * FROM results LIMIT 0").description]
    raw = pd.DataFrame(rows, columns=cols)
    a, b = spec.axes
    xn = spec.x_name
    params = {k: v for k, v in spec.params.items()}
    if spec.kind == "loss" or per_instance:
        df = raw.rename(columns={"x": xn})
        keep = [a, b, xn, "test_loss", "train_loss"] + (["instance"] if spec.kind == "simulate" else [])
        out = df[keep + ["kind", "method", "seed", "version"]].copy()
        if spec.kind == "loss":
            extra = df["extra"].map(json.loads)
            for key in sorted({k for e in extra for k in e}):
                out[key] = extra.map(lambda e, k=key: e.get(k))
    else:
        recs = []
        W = len(spec.x)
        for p, g in raw.groupby("point", sort=True):
            insts = sorted(g["instance"].unique())
            S = len(insts)
            test = np.empty((S, W))
            train = np.empty((S, W))
            for r, inst in enumerate(insts):
                gi = g[g["instance"] == inst].sort_values("x_index")
                test[r] = gi["test_loss"].to_numpy()
                train[r] = gi["train_loss"].to_numpy()
            root = math.sqrt(S)
            with np.errstate(invalid="ignore", divide="ignore"):
                stats = {"test_loss": test.mean(axis=0),
                         "test_loss_sem": test.std(axis=0, ddof=1) / root if S > 1 else np.full(W, np.nan),
                         "train_loss": train.mean(axis=0),
                         "train_loss_sem": train.std(axis=0, ddof=1) / root if S > 1 else np.full(W, np.nan)}
            first = g.iloc[0]
            for j, x in enumerate(spec.x):
                recs.append({a: first[a], b: first[b], xn: x, **{k: v[j] for k, v in stats.items()},
                             "instances": S, "seeds": spec.seeds, "kind": "simulation",
                             "method": first["method"], "seed": spec.seed, "version": first["version"]})
        out = pd.DataFrame(recs, columns=[a, b, xn, "test_loss", "test_loss_sem", "train_loss",
                                          "train_loss_sem", "instances", "seeds", "kind", "method", "seed",
                                          "version"])
    for col in (a, b):                        # sizes as integers where they are (inf stays a float)
        vals = out[col].to_numpy(dtype=float)
        if len(vals) and np.all(np.isfinite(vals)) and np.all(vals == np.round(vals)) and np.all(vals < 2**63):
            out[col] = vals.astype(np.int64)
    for k, v in params.items():
        if k not in out.columns and not isinstance(v, list):   # custom arrays stay in attrs["spec"]
            out[k] = _num(v) if v == "inf" else v
    out.attrs["spec"] = spec.to_dict()
    if as_ == "dataframe":
        return out
    import importlib.util

    if importlib.util.find_spec("xarray") is None:
        raise ImportError("as_='xarray' needs xarray: pip install 'scaling-theory[sweep]' (or xarray)")
    dims = [a, b, xn] + (["instance"] if spec.kind == "simulate" and per_instance else [])
    data_cols = [c for c in out.columns if c not in dims and c not in params]
    ds = out.set_index(dims)[data_cols].to_xarray()
    ds.attrs.update({"model": spec.model, "kind": spec.kind, "spec": json.dumps(spec.to_dict()),
                     **{k: (str(v) if not isinstance(v, (int, float)) else v) for k, v in params.items()
                        if not isinstance(v, list)}})
    return ds


_LABELS = {"N": "number of features $N$", "T": "number of samples $T$", "P": "number of samples $P$",
           "t": "training time $t$", "gamma": r"ridge $\gamma$"}


def plot_sweep(data, *, x=None, theory=None, loss="test_loss", ax=None):
    """Loss against ``N``, ``T``, ``P``, ``t`` or ``gamma`` on log-log axes, one series per value of
    the other swept axes: simulations as points with error bars, theories as lines.

    Parameters
    ----------
    data : path or DataFrame
        A sweep store (or :func:`load_sweep`'s frame).
    x : str, optional
        The horizontal axis (default: the longest swept axis).
    theory : path or DataFrame, optional
        A theory sweep over the same or a finer grid, drawn as lines in the same colours.
    loss : {"test_loss", "train_loss"}
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    df = load_sweep(data) if not hasattr(data, "columns") else data
    spec = df.attrs.get("spec", {})
    model = spec.get("model", "mrs")
    axes3 = list(_AXES[model]) + [_XNAME[model]]
    if x is None:
        x = max(axes3, key=lambda c: df[c].nunique())
    if x not in axes3:
        raise ValueError(f"x must be one of {', '.join(axes3)}, got {x!r}")
    if loss not in ("test_loss", "train_loss"):
        raise ValueError(f"loss must be 'test_loss' or 'train_loss', got {loss!r}")
    others = [c for c in axes3 if c != x]
    th = None
    if theory is not None:
        th = load_sweep(theory) if not hasattr(theory, "columns") else theory
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 3.8), layout="constrained")
    else:
        fig = ax.figure
    colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
    for k, (key, g) in enumerate(df.groupby(others, sort=True)):
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{n} = {_fmt_val(v)}" for n, v in zip(others, key) if df[n].nunique() > 1)
        c = colours[k % len(colours)]
        g = g.sort_values(x)
        if g["kind"].iloc[0] == "simulation":
            sem = g.get(f"{loss}_sem")
            ax.errorbar(g[x], g[loss], yerr=None if sem is None else sem, fmt="o", ms=4, color=c, capsize=2,
                        label=(label or "simulation") if th is None else (label + " (simulation)").strip())
        else:
            ax.plot(g[x], g[loss], "-", color=c, label=label or "theory")
        if th is not None:
            sel = np.ones(len(th), dtype=bool)
            for n, v in zip(others, key):
                if n in th.columns:
                    sel &= np.isclose(th[n].astype(float), float(v))
            tg = th[sel].sort_values(x)
            if len(tg):
                ax.plot(tg[x], tg[loss], "-", color=c, lw=1.2, label=(label + " (theory)").strip())
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_LABELS.get(x, x))
    ax.set_ylabel(("test" if loss == "test_loss" else "train") + r" loss $\langle L\rangle$")
    sym = {"M": "$M$", "alpha": r"$\alpha$", "beta": r"$\beta$", "noise_var": r"$\sigma_\epsilon^2$",
           "activation": "activation"}
    fixed = ", ".join(f"{sym[k]} = {_fmt_val(v)}" for k, v in spec.get("params", {}).items() if k in sym)
    ax.set_title(f"model {'A' if model == 'mrs' else 'B'}: {fixed}", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return fig


def _fmt_val(v):
    if isinstance(v, str):
        return v
    v = float(v)
    return "inf" if math.isinf(v) else f"{v:g}"
