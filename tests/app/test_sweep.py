"""Sweeps on Dask with a store written per task (scaling_theory/sweeps.py, numerics/_parallel.py).

Expected numbers come from the plain solvers and simulations (simulate_mrs / simulate_bap with
the same seeds, mrs_theory / bap_theory), never from an earlier sweep; the cluster tests start a
real dask.distributed scheduler and workers on 127.0.0.1.
"""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import scaling_theory as st
from scaling_theory.cli import main
from scaling_theory.sweeps import Store, StoreError, SweepSpec, read_spec

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
       "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

MRS_SIM = {"model": "mrs", "kind": "simulate", "params": {"M": 300, "alpha": 1.0, "noise_var": 0.01},
           "grid": {"N": [20, 60], "T": [90]}, "gamma": [0.0, 0.01], "seeds": 3, "seed": 5}
BAP_SIM = {"model": "bap", "kind": "simulate", "params": {"M": 80, "alpha": 1.5, "beta": 1.0},
           "grid": {"N": [20], "P": [60, "inf"]}, "t": [0.5, 5.0, 50.0], "seeds": 3, "seed": 2}


def _frames_equal(a, b):
    cols = ["test_loss", "test_loss_sem", "train_loss", "train_loss_sem"]
    return all(np.array_equal(a[c].to_numpy(), b[c].to_numpy()) for c in cols)


# --------------------------------------------------------------------------
# the declaration
# --------------------------------------------------------------------------
@pytest.mark.parametrize("change,name", [
    ({"model": "x"}, "model"), ({"kind": "fit"}, "kind"), ({"seeds": 1}, "seeds"),
    ({"gamma": [-1.0]}, "gamma"), ({"grid": {"N": [20], "T": [90], "P": [3]}}, "grid"),
    ({"grid": {"N": [0], "T": [90]}}, "N"), ({"extra_key": 1}, "unknown sweep keys"),
    ({"params": {"M": 300, "alpha": -1}}, "alpha"), ({"seed": -3}, "seed"),
    ({"grid": {"N": list(range(1, 2001)), "T": [90]}, "seeds": 1000}, "more than 1e"),
    ({"params": {"M": 10**7, "alpha": 1.0}, "grid": {"N": [10**6], "T": [10**6]}}, "memory|GiB|TiB"),
])
def test_spec_rejects_bad_input_naming_it(change, name):
    with pytest.raises(ValueError, match=name):
        SweepSpec.from_dict({**MRS_SIM, **change})


def test_spec_tasks_points_and_files(tmp_path):
    s = SweepSpec.from_dict(MRS_SIM)
    assert s.points() == [{"N": 20, "T": 90}, {"N": 60, "T": 90}]
    assert [t[0] for t in s.tasks()] == ["p0-i0", "p0-i1", "p0-i2", "p1-i0", "p1-i1", "p1-i2"]
    toml = tmp_path / "s.toml"
    toml.write_text('model = "mrs"\nkind = "simulate"\ngamma = [0.0, 0.01]\nseeds = 3\nseed = 5\n'
                    '[params]\nM = 300\nalpha = 1.0\nnoise_var = 0.01\n[grid]\nN = [20, 60]\nT = [90]\n')
    js = tmp_path / "s.json"
    js.write_text(json.dumps(MRS_SIM))
    assert SweepSpec.from_dict(MRS_SIM).canonical() == read_spec(toml).canonical() == read_spec(js).canonical()
    (tmp_path / "bad.toml").write_text("model = [")
    with pytest.raises(ValueError, match="not valid TOML"):
        read_spec(tmp_path / "bad.toml")


# --------------------------------------------------------------------------
# results equal the plain functions (serial)
# --------------------------------------------------------------------------
def test_serial_simulation_sweeps_equal_simulate_bitwise(tmp_path):
    st.sweep(MRS_SIM, tmp_path / "a", workers=0, progress=False)
    df = st.load_sweep(tmp_path / "a")
    for N in (20, 60):
        sim = st.simulate_mrs(st.MRSModel(M=300, alpha=1.0, noise_var=0.01, N=N, T=90), seeds=3, seed=5,
                              gammas=[0.0, 0.01])
        sel = df[df.N == N]
        assert np.array_equal(sel.test_loss.to_numpy(), sim.test_loss)
        assert np.array_equal(sel.train_loss_sem.to_numpy(), sim.train_loss_sem)
    st.sweep(BAP_SIM, tmp_path / "b", workers=0, progress=False)
    df = st.load_sweep(tmp_path / "b")
    for P in (60.0, np.inf):
        sim = st.simulate_bap(st.BAPModel(M=80, alpha=1.5, beta=1.0, N=20, P=P), [0.5, 5.0, 50.0], seeds=3, seed=2)
        sel = df[df.P == P]
        assert np.array_equal(sel.test_loss.to_numpy(), sim.test_loss)
        assert np.array_equal(sel.test_loss_sem.to_numpy(), sim.test_loss_sem)
    per = st.load_sweep(tmp_path / "b", per_instance=True)
    assert len(per) == 2 * 3 * 3 and set(per.instance) == {0, 1, 2}


def test_theory_sweeps_equal_the_solvers(tmp_path):
    spec = {"model": "mrs", "kind": "loss", "params": {"M": 10**6, "alpha": 0.5},
            "grid": {"N": [100, 1000], "T": [300]}, "gamma": [0.0, 1e-3]}
    st.sweep(spec, tmp_path / "a", workers=0, progress=False)
    df = st.load_sweep(tmp_path / "a")
    r = st.mrs_theory(st.MRSModel(M=10**6, alpha=0.5, N=1000, T=300, gamma=1e-3))
    row = df[(df.N == 1000) & (df.gamma == 1e-3)].iloc[0]
    assert row.test_loss == r.test_loss and row.kappa == r.kappa and row.kind == "theory"
    spec = {"model": "bap", "kind": "loss", "params": {"M": "inf", "alpha": 1.5, "beta": 0.8},
            "grid": {"N": [50], "P": ["inf"]}, "t": [1.0, 100.0]}
    st.sweep(spec, tmp_path / "b", workers=0, progress=False)
    ds = st.load_sweep(tmp_path / "b", as_="xarray")
    want = st.bap_theory(st.BAPModel(M="inf", alpha=1.5, beta=0.8, N=50, P="inf"), [1.0, 100.0]).test_loss
    assert np.array_equal(ds.test_loss.values.ravel(), want)
    assert ds.attrs["model"] == "bap" and dict(ds.sizes) == {"N": 1, "P": 1, "t": 2}


# --------------------------------------------------------------------------
# stores
# --------------------------------------------------------------------------
def test_foreign_corrupt_and_other_stores_are_refused(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "sweep.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a sweep store"):
        st.sweep(MRS_SIM, tmp_path / "junk", resume=True, workers=0, progress=False)
    (tmp_path / "other").mkdir()
    con = sqlite3.connect(tmp_path / "other" / "sweep.sqlite")
    con.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    con.execute("INSERT INTO meta VALUES ('format', 'someone else')")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not a scaling-theory sweep store"):
        st.load_sweep(tmp_path / "other")
    st.sweep(MRS_SIM, tmp_path / "mine", workers=0, progress=False)
    with pytest.raises(StoreError, match="already holds this sweep; pass --resume"):
        st.sweep(MRS_SIM, tmp_path / "mine", workers=0, progress=False)
    with pytest.raises(StoreError, match="holds a different sweep"):
        st.sweep({**MRS_SIM, "seeds": 4}, tmp_path / "mine", resume=True, workers=0, progress=False)
    with pytest.raises(StoreError, match="no sweep store"):
        st.load_sweep(tmp_path / "nowhere")
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(StoreError, match="^store: cannot write"):
        st.sweep(MRS_SIM, tmp_path / "a-file", workers=0, progress=False)
    assert not list(tmp_path.glob("**/.sweep.sqlite.*.tmp"))


def test_store_is_readable_without_the_toolkit(tmp_path):
    st.sweep(MRS_SIM, tmp_path, workers=0, progress=False)
    con = sqlite3.connect(tmp_path / "sweep.sqlite")
    meta = dict(con.execute("SELECT key, value FROM meta"))
    assert meta["format"] == "scaling-theory sweep" and json.loads(meta["spec"])["seeds"] == 3
    n, = con.execute("SELECT COUNT(*) FROM results WHERE kind = 'simulation' AND x_name = 'gamma'").fetchone()
    assert n == 2 * 3 * 2
    params = json.loads(con.execute("SELECT params FROM results LIMIT 1").fetchone()[0])
    assert params["M"] == 300 and params["N"] in (20, 60)
    con.close()


def test_cache_makes_simulations_resumable(tmp_path):
    from scaling_theory.numerics._parallel import Executor, using

    m = st.MRSModel(M=200, alpha=1.0, N=30, T=60)
    plain = st.simulate_mrs(m, seeds=4, seed=1)
    with Store(tmp_path / "c", SweepSpec.from_dict(MRS_SIM)) as store:
        with using(Executor(0, cache=store)):
            first = st.simulate_mrs(m, seeds=4, seed=1)
        n, = store.db.execute("SELECT COUNT(*) FROM instances").fetchone()
        with using(Executor(0, cache=store)):
            again = st.simulate_mrs(m, seeds=4, seed=1)     # all four from the cache
    assert n == 4
    assert np.array_equal(first.per_seed_test, plain.per_seed_test)
    assert np.array_equal(again.per_seed_test, plain.per_seed_test)


# --------------------------------------------------------------------------
# real clusters
# --------------------------------------------------------------------------
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(args, **kw):
    return subprocess.Popen([sys.executable, *args], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, **kw)


def _tasks_done(store):
    try:
        con = sqlite3.connect(f"file:{store / 'sweep.sqlite'}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


SLOW_SIM = {"model": "mrs", "kind": "simulate", "params": {"M": 1500, "alpha": 1.0},
            "grid": {"N": [200, 300], "T": [600]}, "gamma": [0.0], "seeds": 12, "seed": 9}


def test_one_and_two_local_workers_give_bitwise_equal_results(tmp_path):
    st.sweep(BAP_SIM, tmp_path / "w1", workers=1, progress=False)
    st.sweep(BAP_SIM, tmp_path / "w2", workers=2, progress=False)
    a, b = st.load_sweep(tmp_path / "w1"), st.load_sweep(tmp_path / "w2")
    assert _frames_equal(a, b)


def test_sweep_killed_with_sigkill_resumes_to_the_uninterrupted_result(tmp_path):
    spec_file = tmp_path / "slow.json"
    spec_file.write_text(json.dumps(SLOW_SIM))
    store = tmp_path / "killed"
    proc = _spawn(["-m", "scaling_theory", "sweep", "--store", str(store), "--workers", "2", "--no-progress",
                   "--file", str(spec_file)])
    deadline = time.time() + 120
    while _tasks_done(store) < 4 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)          # the client and its local cluster, at once
    proc.wait()
    done = _tasks_done(store)
    assert 4 <= done < 24, f"kill came at {done} of 24 tasks"
    rc = main(["sweep", "--store", str(store), "--resume", "--workers", "0", "--no-progress", "--file",
               str(spec_file)])
    assert rc == 0
    st.sweep(SLOW_SIM, tmp_path / "whole", workers=0, progress=False)
    a, b = st.load_sweep(store), st.load_sweep(tmp_path / "whole")
    assert _frames_equal(a, b) and list(a.instances) == [12, 12]
    con = sqlite3.connect(store / "sweep.sqlite")
    assert con.execute("SELECT COUNT(*), COUNT(DISTINCT task) FROM tasks").fetchone() == (24, 24)
    assert con.execute("SELECT COUNT(*) FROM results").fetchone() == (24,)
    con.close()


def test_a_worker_killed_mid_task_does_not_stop_the_sweep(tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_spawn(["-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
                     "--no-dashboard"])]
    try:
        time.sleep(1.0)
        workers = [_spawn(["-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-nanny",
                           "--no-dashboard", "--host", "127.0.0.1"]) for _ in range(2)]
        procs += workers
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            store = tmp_path / "lost"
            import threading

            def killer():
                while _tasks_done(store) < 3:
                    time.sleep(0.02)
                os.killpg(workers[0].pid, signal.SIGKILL)

            th = threading.Thread(target=killer, daemon=True)
            th.start()
            run = st.sweep(SLOW_SIM, store, client=client, progress=False)
            th.join(timeout=5)
        assert workers[0].poll() is not None, "the worker was not killed during the sweep"
        assert run.ran == 24
        # the command line on the same cluster (one worker left)
        cli_store = tmp_path / "cli"
        assert main(["sweep", "--store", str(cli_store), "--scheduler", address, "--no-progress", "--json",
                     "mrs", "simulate", "--M", "300", "--alpha", "1", "--noise-var", "0.01", "--N", "20,60",
                     "--T", "90", "--gamma", "0,0.01", "--seeds", "3", "--seed", "5"]) == 0
        st.sweep(MRS_SIM, tmp_path / "cli-serial", workers=0, progress=False)
        assert _frames_equal(st.load_sweep(cli_store), st.load_sweep(tmp_path / "cli-serial"))
        st.sweep(SLOW_SIM, tmp_path / "whole", workers=0, progress=False)
        assert _frames_equal(st.load_sweep(store), st.load_sweep(tmp_path / "whole"))
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


# --------------------------------------------------------------------------
# command line and figure
# --------------------------------------------------------------------------
def test_cli_sweep_with_command_flags_and_errors(tmp_path, capsys):
    store = str(tmp_path / "s")
    argv = ["sweep", "--store", store, "--workers", "0", "--no-progress", "--json",
            "bap", "simulate", "--M", "80", "--alpha", "1.5", "--beta", "1", "--N", "20", "--P", "60,inf",
            "--t", "0.5,5,50", "--seeds", "3", "--seed", "2"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tasks"] == 6 and out["ran"] == 6 and out["spec"]["grid"]["P"] == [60, "inf"]
    df = st.load_sweep(store)
    sim = st.simulate_bap(st.BAPModel(M=80, alpha=1.5, beta=1.0, N=20, P=60), [0.5, 5.0, 50.0], seeds=3, seed=2)
    assert np.array_equal(df[df.P == 60].test_loss.to_numpy(), sim.test_loss)
    assert main(argv) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert main(["sweep", "--store", store, "mrs", "spectrum", "--M", "10", "--N", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "COMMAND: a sweep runs" in err
    assert main(["sweep", "--store", store, "--workers", "-1", "mrs", "loss", "--M", "10", "--alpha", "1",
                 "--N", "5", "--T", "5"]) == 2
    assert "--workers" in capsys.readouterr().err


def test_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    from scaling_theory.numerics._parallel import Executor

    monkeypatch.setattr(Executor, "CONNECT_TIMEOUT", "1s")
    port = _free_port()                      # nothing listens there
    assert main(["sweep", "--store", str(tmp_path / "s"), "--scheduler", f"tcp://127.0.0.1:{port}",
                 "--no-progress", "bap", "loss", "--M", "80", "--alpha", "1.5", "--beta", "1", "--N", "20",
                 "--P", "inf", "--t", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--scheduler: no Dask scheduler answers" in err


def test_simulate_commands_take_workers(capsys):
    base = ["mrs", "simulate", "--M", "200", "--alpha", "1", "--N", "30", "--T", "60", "--seeds", "3",
            "--json", "--no-progress"]
    assert main(base + ["--workers", "0"]) == 0
    a = json.loads(capsys.readouterr().out)
    sim = st.simulate_mrs(st.MRSModel(M=200, alpha=1.0, N=30, T=60), seeds=3, seed=0)
    assert a["test_loss"] == float(sim.test_loss[0])
    assert main(base + ["--workers", "x"]) == 2
    assert "--workers" in capsys.readouterr().err


def test_plot_sweep(tmp_path):
    st.sweep(MRS_SIM, tmp_path / "sim", workers=0, progress=False)
    theory = {**{k: v for k, v in MRS_SIM.items() if k not in ("seeds", "seed")}, "kind": "loss",
              "grid": {"N": [10, 20, 40, 60, 80], "T": [90]}}
    st.sweep(theory, tmp_path / "th", workers=0, progress=False)
    fig = st.plot_sweep(tmp_path / "sim", x="N", theory=tmp_path / "th")
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert len(ax.lines) >= 2 and "gamma" in ax.get_legend().get_texts()[0].get_text()
    with pytest.raises(ValueError, match="x must be one of"):
        st.plot_sweep(tmp_path / "sim", x="P")


def test_nonlinear_theory_draws_on_workers_are_bitwise_the_same(capsys):
    m = st.MRSModel(M=200, alpha=1.0, N=80, T=160, activation="relu")
    a = st.mrs_nonlinear_theory(m, u_draws=4, seed=3, gammas=[0.0, 1e-3], workers=0)
    b = st.mrs_nonlinear_theory(m, u_draws=4, seed=3, gammas=[0.0, 1e-3], workers=2)
    assert np.array_equal(a.per_draw_test, b.per_draw_test) and np.array_equal(a.kappa, b.kappa)
    base = ["mrs", "loss", "--M", "200", "--alpha", "1", "--N", "80", "--T", "160", "--activation", "relu",
            "--u-draws", "4", "--seed", "3", "--json", "--no-progress"]
    assert main(base + ["--workers", "2"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["test_loss"] == float(a.test_loss[0])
