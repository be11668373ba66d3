"""Record (or check) a fixed set of outputs of the toolkit: the refactor guard.

``python tests/golden/record.py`` writes ``outputs.json`` beside this file;
``tests/test_golden.py`` recomputes every entry and compares: theory to 1e-12
relative (double precision) or to the recorded digits (mpmath), exponents as
exact strings, simulations bitwise (``float.hex``).

The set covers model A's theory (double, grid, 30 digits), model B's theory
(gradient flow at finite and infinite N, P, M, label noise, gradient descent,
ensembles, online SGD, the N = inf train loss, 30 digits), the asymptotic
exponents and prefactors, and simulations of both models with fixed seeds.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

try:  # the public namespace (after the refactor of issue 12)
    import scaling_theory as st
    from scaling_theory import theory as th
except ImportError:  # pragma: no cover - the layout before it
    import numerics as st
    import theory as th

HERE = Path(__file__).resolve().parent
OUTPUTS = HERE / "outputs.json"


def _num(x):
    """A number as recorded: floats as hex (bitwise), mpmath values as strings."""
    if isinstance(x, (float, np.floating)):
        return {"hex": float(x).hex()}
    if isinstance(x, (int, np.integer)):
        return {"hex": float(x).hex()}
    return {"mp": str(x)}


def _mrs_points():
    pts = []
    for M in (1000, 10**6):
        for alpha in (0.5, 1.0, 2.0):
            for N, T in ((100, 400), (400, 100), (300, 300)):
                for gamma in (0.0, 1e-2):
                    pts.append(dict(M=M, alpha=alpha, N=N, T=T, gamma=gamma))
    pts.append(dict(M=1000, alpha=1.0, N=2000, T=4000, gamma=0.0))        # past M
    pts.append(dict(M=1000, alpha=1.0, N=200, T=400, gamma=0.1, noise_var=0.3))
    return pts


def _bap_points():
    inf = "inf"
    return [
        dict(M=1000, alpha=1.5, beta=1.0, N=100, P=400),
        dict(M=1000, alpha=1.5, beta=1.0, N=400, P=100),
        dict(M=inf, alpha=1.5, beta=1.7, N=200, P=inf),
        dict(M=inf, alpha=2.0, beta=0.6, N=inf, P=300),
        dict(M=inf, alpha=1.3, beta=1.2, N=inf, P=inf),
        dict(M=2000, alpha=1.2, beta=1.5, N=300, P=500, noise_var=0.2),
        dict(M=1000, alpha=1.5, beta=1.0, N=200, P=400, eta=0.5),
        dict(M=1000, alpha=1.5, beta=1.0, N=100, P=300, ensemble=4),
        dict(M=inf, alpha=1.5, beta=1.0, N=200, P=inf, eta=0.25, batch=4),
    ]


TIMES = [0.0, 1.0, 10.0, 100.0, 1e3, 1e4]


def compute() -> dict:
    out = {}
    for p in _mrs_points():
        r = st.mrs_theory(st.MRSModel(**p))
        key = "mrs " + json.dumps(p, sort_keys=True)
        out[key] = {"test_loss": _num(r.test_loss), "train_loss": _num(r.train_loss),
                    "kappa": _num(r.kappa), "df2": _num(r.df2)}
    g = st.mrs_theory_grid(st.MRSModel(M=1000, alpha=1.0, N=100, T=100),
                           N=[50, 100, 200, 800], T=[[100], [1000]], gamma=0.0)
    out["mrs grid"] = {"test_loss": [_num(x) for x in np.ravel(g.test_loss)]}
    for p in (dict(M=1000, alpha=1.0, N=100, T=400, gamma=1e-3),
              dict(M=10**9, alpha=0.7, N=1000, T=300, gamma=0.0),
              dict(M=500, alpha=1.5, N=200, T=200, gamma=0.0)):
        r = st.mrs_theory(st.MRSModel(**p), dps=30)
        out["mrs dps30 " + json.dumps(p, sort_keys=True)] = {
            "test_loss": _num(r.test_loss), "train_loss": _num(r.train_loss)}
    for p in _bap_points():
        r = st.bap_theory(st.BAPModel(**p), TIMES)
        out["bap " + json.dumps(p, sort_keys=True)] = {
            "test_loss": [_num(x) for x in r.test_loss], "train_loss": [_num(x) for x in r.train_loss]}
    r = st.bap_train_loss_infinite_width(st.BAPModel(M="inf", alpha=1.5, beta=1.0, N="inf", P=200), TIMES)
    out["bap train N=inf"] = {"train_loss": [_num(x) for x in r.train_loss]}
    for p in (dict(M="inf", alpha=1.5, beta=1.0, N=200, P="inf"),
              dict(M=1000, alpha=1.5, beta=1.0, N=100, P=400)):
        r = st.bap_theory(st.BAPModel(**p), [10.0], dps=30)
        out["bap dps30 " + json.dumps(p, sort_keys=True)] = {
            "test_loss": [_num(x) for x in r.test_loss], "train_loss": [_num(x) for x in r.train_loss]}
    for model in ("mrs", "bap"):
        e = th.asymptotic_exponents(model)
        out[f"exponents {model}"] = {k: str(v) for k, v in sorted(e.items())}
        pf = th.asymptotic_prefactors(model)
        out[f"prefactors {model}"] = {k: str(v) for k, v in sorted(pf.items())}
    # simulations with fixed seeds: bitwise
    sims = [
        ("mrs linear", lambda: st.simulate_mrs(st.MRSModel(M=300, alpha=1.0, N=60, T=120), seeds=4, seed=7,
                                               gammas=[0.0, 0.1])),
        ("mrs relu", lambda: st.simulate_mrs(st.MRSModel(M=100, alpha=1.0, N=40, T=80, activation="relu"),
                                             seeds=3, seed=3)),
        ("mrs tanh", lambda: st.simulate_mrs(st.MRSModel(M=100, alpha=1.0, N=40, T=80, activation="tanh"),
                                             seeds=3, seed=5)),
        ("bap flow", lambda: st.simulate_bap(st.BAPModel(M=300, alpha=1.5, beta=1.0, N=50, P=100,
                                                         noise_var=0.1), [0.0, 1.0, 100.0], seeds=3, seed=1)),
        ("bap gd", lambda: st.simulate_bap(st.BAPModel(M=300, alpha=1.5, beta=1.0, N=50, P=100, eta=0.5),
                                           [0.0, 5.0, 50.0], seeds=3, seed=2)),
        ("bap sgd", lambda: st.simulate_bap(st.BAPModel(M=300, alpha=1.5, beta=1.0, N=50, P="inf", eta=0.3,
                                                        batch=4), [0.3, 3.0, 30.0], seeds=3, seed=4)),
        ("bap ensemble", lambda: st.simulate_bap(st.BAPModel(M=300, alpha=1.5, beta=1.0, N=40, P=80,
                                                             ensemble=3), [1.0, 100.0], seeds=2, seed=6)),
    ]
    for name, f in sims:
        s = f()
        out["sim " + name] = {"test_loss": [_num(x) for x in np.ravel(s.per_seed_test)],
                              "train_loss": [_num(x) for x in np.ravel(s.per_seed_train)]}
    return out


def count(outputs: dict) -> int:
    n = 0
    for v in outputs.values():
        for x in v.values():
            n += len(x) if isinstance(x, list) else 1
    return n


def compare(recorded: dict, now: dict, rtol: float = 1e-12) -> list[str]:
    """Differences between two recordings, one line each (empty: unchanged)."""
    bad = []
    if set(recorded) != set(now):
        bad.append(f"keys differ: {sorted(set(recorded) ^ set(now))}")
    for key in sorted(set(recorded) & set(now)):
        for field, a in recorded[key].items():
            b = now[key].get(field)
            aa, bb = (a, b) if isinstance(a, list) else ([a], [b])
            if not isinstance(bb, list) or len(aa) != len(bb):
                bad.append(f"{key} {field}: shape changed")
                continue
            for i, (x, y) in enumerate(zip(aa, bb)):
                if isinstance(x, str) or isinstance(y, str):
                    if x != y:
                        bad.append(f"{key} {field}: {x} -> {y}")
                elif "hex" in x and "hex" in y:
                    fx, fy = float.fromhex(x["hex"]), float.fromhex(y["hex"])
                    exact = key.startswith("sim ")
                    same = (fx == fy) or (math.isnan(fx) and math.isnan(fy))
                    if not same and (exact or abs(fx - fy) > rtol * max(abs(fx), abs(fy))):
                        bad.append(f"{key} {field}[{i}]: {fx!r} -> {fy!r}")
                elif "mp" in x and "mp" in y:
                    import mpmath
                    with mpmath.workdps(40):
                        fx, fy = mpmath.mpf(x["mp"]), mpmath.mpf(y["mp"])
                        if abs(fx - fy) > mpmath.mpf(10) ** -25 * max(abs(fx), abs(fy)):
                            bad.append(f"{key} {field}[{i}]: {x['mp']} -> {y['mp']}")
                else:
                    bad.append(f"{key} {field}[{i}]: kind changed {x} -> {y}")
    return bad


if __name__ == "__main__":
    data = compute()
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        bad = compare(json.loads(OUTPUTS.read_text()), data)
        print("\n".join(bad) or f"all {count(data)} outputs unchanged")
        sys.exit(1 if bad else 0)
    OUTPUTS.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"recorded {count(data)} outputs in {OUTPUTS}")
