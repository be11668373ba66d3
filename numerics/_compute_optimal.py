"""Model B's compute-optimal frontier from the full theory, at any compute.

For a budget ``C`` the loss of the full theory (not its additive asymptotic
form ``a t^-beta + b N^-c``) is minimised over the width:

* ``budget="Nt"``: ``C = N t`` (gradient flow for time ``t`` at width ``N``; ``P`` fixed, ``inf``
  by default: online, no data limit), minimised over ``N`` with ``t = C/N``;
* ``budget="NP"``: ``C = N P`` (width times data, trained to convergence, ``t = inf``), minimised
  over ``N`` with ``P = C/N``; label noise keeps the interpolation peak ``N = P`` out of the optimum.

Because the sums cost the same at every ``N`` and ``P`` (:mod:`~scaling_theory.numerics._flow_sums`),
``C`` runs from ``10^4`` to ``10^30`` and beyond.  Each minimisation is a safeguarded parabolic
search in ``log N`` with the width continuous (the theory depends on ``N`` through ``1/N`` only);
the local exponents ``d log N*/d log C``, ``d log t*/d log C`` (or ``P*``) and ``d log L*/d log C``
are centred differences over ``C 10^(+-h)`` around each grid point, and the result carries two
sets of derived exponents (``C = N t``, ``P = inf``) beside them:

* ``derived``: ``derive_bap()``'s ``compute_optimal_*``, the optimum of ``a t^-beta + b N^-c``;
* ``derived_width``: with the finite-width transient ``d t^(1/alpha - min(beta,1))/N``
  (:func:`~scaling_theory.theory._asymptotics.compute_optimal_with_width_term`).  For ``beta <= 1``
  the two agree; for ``beta > 1`` the ``1/N`` term binds and the full theory follows it
  (``alpha = 1.5, beta = 1.7``: ``N* ~ C^(41/71)``, ``L* ~ C^(-51/71)``, not ``C^(17/32)``, ``C^(-51/64)``).

Double precision limits the budgets: the loss is a Talbot inversion whose round-off grows
relative to ``L*`` (about ``1e-7`` of ``L*`` at ``C = 10^14``, ``1e-4`` at ``10^30``, see
``accuracy``); the local exponents are good to ``1e-4`` up to ``C ~ 10^20`` and lose digits beyond.

>>> import numpy as np
>>> from scaling_theory.numerics import BAPModel
>>> r = bap_compute_optimal(BAPModel(M="inf", alpha=1.5, beta=1.7, N=1, P="inf"), [1e8, 1e14])
>>> bool(np.all(np.diff(r.L_star) < 0)) and bool(np.all(np.diff(r.N_star) > 0))
True
>>> round(r.derived_width["N"], 4), round(float(r.local["N"][-1]), 3)     # 41/71
(0.5775, 0.577)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from threadpoolctl import threadpool_limits

from ._flow import _ROUNDOFF, _TRUNCATION, _talbot_curve, _two_point_curves
from ._flow_sums import BAPSpectrum
from ._models import BAPModel
from ._results import Result

__all__ = ["bap_compute_optimal", "ComputeOptimal", "BUDGETS", "derived_exponents"]

#: Budgets: what ``C`` multiplies, and the second variable (``C`` over the width).
BUDGETS = {"Nt": "t", "NP": "P"}

#: JSON names of the exponent keys (one vocabulary with ``exponents bap``'s ``compute_optimal.loss``).
EXPONENT_KEYS = {"L": "loss"}
#: Half-width in decades of the centred differences of the local exponents.
_H = 0.05
#: Half-widths (in log N) of the minimiser's shrinking windows (see :func:`_argmin`).
_WIDTHS = (0.6, 0.2, 0.07)
#: Largest compute accepted (the widths stay below ~1e150, far inside double range).
MAX_COMPUTE = 1e200


@dataclass(frozen=True)
class ComputeOptimal(Result):
    """The compute-optimal frontier: ``N*``, the other variable (``t*`` or ``P*``), ``L*`` at
    each compute, their local exponents and the derived (asymptotic) ones."""

    model: BAPModel
    budget: str
    compute: np.ndarray
    N_star: np.ndarray
    other_star: np.ndarray
    L_star: np.ndarray
    local: dict
    derived: dict
    derived_width: dict
    method: str
    accuracy: np.ndarray

    @property
    def other(self) -> str:
        return BUDGETS[self.budget]

    def to_dict(self) -> dict:
        o = self.other
        key = lambda k: EXPONENT_KEYS.get(k, k)  # noqa: E731 - "L" is "loss" in JSON
        return {**self.model.to_dict(), "budget": f"C = N {o}", "compute": [float(c) for c in self.compute],
                "N_star": [float(v) for v in self.N_star], f"{o}_star": [float(v) for v in self.other_star],
                "L_star": [float(v) for v in self.L_star],
                "local_exponents": {key(k): [float(v) for v in vs] for k, vs in self.local.items()},
                "derived_exponents": None if self.derived is None else {key(k): float(v) for k, v in self.derived.items()},
                "derived_exponents_with_width_term": (None if self.derived_width is None else
                                                      {key(k): float(v) for k, v in self.derived_width.items()}),
                "method": self.method, "accuracy": [float(a) for a in self.accuracy]}

    def __str__(self):
        o = self.other
        last = -1
        return (f"ComputeOptimal(C = N {o}, {self.compute.size} budgets up to {self.compute[last]:.3g}: "
                f"N* ~ C^{self.local['N'][last]:.4f}, {o}* ~ C^{self.local[o][last]:.4f}, "
                f"L* ~ C^{self.local['L'][last]:.4f} at the largest C)")


def _check(model, budget, compute):
    if not isinstance(model, BAPModel):
        raise TypeError("model must be a BAPModel (its N is ignored: it is minimised over)")
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {sorted(BUDGETS)}, got {budget!r}")
    if not model.is_power_law or not math.isinf(model.M):
        raise ValueError("M must be inf (a power-law spectrum) for the compute-optimal frontier")
    if model.eta is not None or model.batch is not None or model.ensemble != 1:
        raise ValueError("the frontier is for gradient flow of one model (eta, batch unset, ensemble = 1)")
    if budget == "NP" and not float(model.noise_var) > 0:
        raise ValueError("noise_var must be > 0 for budget='NP' (without label noise the loss at t = inf "
                         "has no optimum in N at fixed N P)")
    C = np.atleast_1d(np.asarray(compute, dtype=float))
    if C.ndim != 1 or C.size == 0 or not np.all(np.isfinite(C)) or np.any(C < 100) or np.any(C > MAX_COMPUTE):
        raise ValueError(f"compute must be a 1-D sequence of budgets in [100, {MAX_COMPUTE:g}], got {compute!r}")
    return np.sort(C)


def _routes(model, budget):
    """``(loss(N, C), accuracy(N, C))`` of the theory at a continuous width."""
    spec = BAPSpectrum(model)
    noise = float(model.noise_var)
    if budget == "Nt" and math.isinf(model.P):
        def run(N, C):   # the fixed-Talbot route of bap_theory
            r = _talbot_curve(model, N, np.array([C / N]), None, "test")
            return float(r.test_loss[0]), float(r.accuracy[0])
    else:
        def run(N, C):
            P, t = (float(model.P), C / N) if budget == "Nt" else (C / N, 1e300)
            test, _, ab, _ = _two_point_curves(spec, N, P, noise, np.array([t]), with_abs=True)
            return float(test[0]), float(_ROUNDOFF * ab[0] + _TRUNCATION["two"] * abs(test[0]))
    run = lru_cache(maxsize=4)(run)           # the accuracy at the optimum reuses its evaluation
    return (lambda N, C: run(N, C)[0]), (lambda N, C: run(N, C)[1])


def _argmin(f, u0, lo=0.0, hi=math.inf, widths=(0.6, 0.2, 0.07), points=9, maxshift=20):
    """Minimiser of ``f`` near ``u0``: least-squares parabolas through ``points`` samples on
    shrinking windows ``u +- width`` (the fit averages the round-off of the loss, which a
    three-point parabola would amplify by ``1/h^2``); a window whose fit is not a convex parabola
    with its lowest sample inside is recentred on its lowest sample first."""
    u = u0
    x = np.linspace(-1.0, 1.0, points)
    for width in widths:
        for _ in range(maxshift):
            c = min(max(u, lo + width), hi - width)
            us = c + width * x
            vals = np.array([f(v) for v in us])
            a2, a1, _ = np.polyfit(us - c, vals, 2)
            k = int(np.argmin(vals))
            if a2 > 0 and 0 < k < points - 1:
                u = c + min(max(-a1 / (2 * a2), -width), width)
                break
            u = us[k]                       # recentre on the lowest sample (a width further if at an end)
        else:
            raise ArithmeticError(f"the compute-optimal search found no minimum near log N = {u:.6g}")
    return u


def derived_exponents(alpha, beta, width_term=False) -> dict:
    """The derived exponents of ``C = N t`` (``P = inf``) at ``alpha``, ``beta``: keys ``N``, ``t``, ``L``
    (``derive_bap()``'s ``compute_optimal_*``, through
    :func:`~scaling_theory.numerics._exponent_reports.compute_optimal_exponents`; with
    ``width_term``, :func:`~scaling_theory.theory._asymptotics.compute_optimal_with_width_term`)."""
    return dict(_derived_exponents(float(alpha), float(beta), bool(width_term)))


@lru_cache(maxsize=64)
def _derived_exponents(alpha, beta, width_term):
    from fractions import Fraction

    import sympy as sp

    from scaling_theory.theory._flow import BAP_SYMBOLS

    from ._exponent_reports import compute_optimal_exponents

    def rat(x):
        f = Fraction(str(float(x)))
        return sp.Rational(f.numerator, f.denominator)

    point = {BAP_SYMBOLS["alpha"]: rat(alpha), BAP_SYMBOLS["beta"]: rat(beta)}
    if width_term:
        from scaling_theory.theory._asymptotics import compute_optimal_with_width_term

        e = compute_optimal_with_width_term()
        return {"N": float(e["N"].subs(point)), "t": float(e["t"].subs(point)), "L": float(e["loss"].subs(point))}
    return {k: float(v.subs(point)) for k, v in compute_optimal_exponents().items()}


def bap_compute_optimal(model: BAPModel, compute, *, budget: str = "Nt", progress=None) -> ComputeOptimal:
    """Model B's compute-optimal frontier from the full theory (see the module docstring).

    Parameters
    ----------
    model : BAPModel
        ``M = inf``, ``alpha``, ``beta``, ``noise_var`` and (budget ``"Nt"``) ``P``; its ``N`` is ignored.
    compute : sequence of float
        The budgets ``C`` (100 to 1e200).
    budget : {"Nt", "NP"}
        ``C = N t`` (gradient flow, ``P`` of the model, ``inf`` by default) or ``C = N P``
        (trained to convergence; needs ``noise_var > 0``).
    progress : bool, optional
        A progress bar over the budgets (default: on when attached to a terminal).

    Returns
    -------
    ComputeOptimal
        ``N_star``, ``other_star`` (``t*`` or ``P*``), ``L_star`` (with its ``accuracy``),
        ``local`` (local exponents, keys ``N``, ``t`` or ``P``, ``L``), ``derived`` and
        ``derived_width`` (the asymptotic exponents of ``C = N t`` without and with the ``1/N``
        term; ``None`` unless ``budget="Nt"`` and ``P = inf``).
    """
    C = _check(model, budget, compute)
    loss, accuracy = _routes(model, budget)
    from tqdm.auto import tqdm

    bar = tqdm(total=C.size, desc="compute-optimal", unit="budget", disable=None if progress is None else not progress)

    def minimise(c, guess, widths=_WIDTHS):
        f = lambda u: math.log(loss(math.exp(u), c))            # noqa: E731
        hi = math.log(c) - math.log(2.0) if budget == "Nt" else math.log(c)
        u = _argmin(f, guess, lo=0.0, hi=hi, widths=widths)
        return u, f(u)

    rows, accs = [], []
    prev = None
    with threadpool_limits(limits=1, user_api="blas"):
        for c in C:
            lc = math.log(c)
            if prev is None:
                # a coarse scan of log N in [0, log C) for the first budget
                us = np.linspace(0.5, lc - 1.0, 12)
                vals = [math.log(loss(math.exp(u), c)) for u in us]
                guess = float(us[int(np.argmin(vals))])
            else:
                lc0, u0, slope = prev
                guess = u0 + slope * (lc - lc0)
            # the centre from the guess (a warm guess skips the widest window), then each side
            # from the centre moved along the slope: its error (the slope's, times h decades) is
            # far inside the last window, run twice (the first pass centres it on the minimum, so
            # the second's parabola is as symmetric as the full search's: same digits, measured)
            pts = {0.0: (lc, *minimise(c, guess, _WIDTHS if prev is None else _WIDTHS[1:]))}
            slope = prev[2] if prev else 0.5
            for d in (-_H, _H):
                cc = c * 10.0 ** d
                pts[d] = (math.log(cc), *minimise(cc, pts[0.0][1] + slope * d * math.log(10), _WIDTHS[-1:] * 2))
            lm, um, Lm = pts[-_H]
            l0, u0, L0 = pts[0.0]
            lp, up, Lp = pts[_H]
            dN = (up - um) / (lp - lm)
            dL = (Lp - Lm) / (lp - lm)
            rows.append((math.exp(u0), math.exp(L0), dN, dL))
            accs.append(accuracy(math.exp(u0), c))
            prev = (l0, u0, dN)
            bar.update(1)
    bar.close()
    N = np.array([r[0] for r in rows])
    L = np.array([r[1] for r in rows])
    local = {"N": np.array([r[2] for r in rows]), "L": np.array([r[3] for r in rows])}
    o = BUDGETS[budget]
    local[o] = 1.0 - local["N"]
    derived = derived_width = None
    if budget == "Nt" and math.isinf(model.P):
        derived = derived_exponents(model.alpha, model.beta)
        derived_width = derived_exponents(model.alpha, model.beta, width_term=True)
    method = (f"argmin over continuous N of the full theory L({o} = C/N, N) "
              + ("(fixed Talbot, P = inf)" if budget == "Nt" and math.isinf(model.P) else "(double Talbot)")
              + f"; local exponents by centred differences over C 10^(+-{_H})")
    return ComputeOptimal(model, budget, C, N, C / N, L, local, derived, derived_width, method, np.array(accs))
