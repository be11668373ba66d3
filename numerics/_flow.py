"""Model B theory, evaluated: loss curves of gradient flow from the derived
one-point equations (:func:`scaling_theory.theory.derive_bap`).

The inverse Laplace transform is a fixed-Talbot quadrature (Abate & Valko)
taken in the renormalised variable ``kappa`` rather than in ``s``: since
``s(kappa) = kappa (1 - n1(kappa)/n)`` is explicit,

    L(tau/2) = 1/(2 pi i) int exp(s(kappa) tau) h(kappa) dkappa,

with ``h = g1 (1 - n2/n) / (1 - n1/n)`` (test loss, ``n = N``, ``P = inf``) or
``h = g1 (1 - n2/n)`` (train loss at ``N = inf``, ``n = P``), on the Talbot
contour ``kappa(theta) = r theta (cot theta + i)``.  No root finding at complex
arguments is needed.  The pole at ``n1(kappa_0) = N`` (``s = 0``) carries the
``t -> inf`` loss ``kappa_0 g1(kappa_0)``: when the optimal Talbot radius would
come close to it, the contour is moved to the fixed radius ``kappa_0/2`` (where ``Re s < 0`` on the
whole contour) and the residue added exactly.

Finite ``N`` and ``P`` together (and gradient descent, ensembles, the train loss
with label noise) go through the two-point route: ``kappa(s)`` on a Talbot
contour in ``s`` (in ``w``, ``1 + eta s = e^w``, for gradient descent) by
continuation, the derived two-frequency kernels, and a double Talbot sum.  Every
spectral sum is a :class:`~scaling_theory.numerics._flow_sums.BAPSpectrum` sum: a short head of
the spectrum summed directly, then the power-law tail by a Hurwitz-zeta series or by
Euler--Maclaurin along the ray ``kappa k^alpha``, so the cost grows with neither ``M`` nor
``N``, ``P`` (``M = inf`` is allowed; ``N = P = 10^15`` costs what ``10^3`` does).  With ``dps`` the
same routes run in mpmath (Newton-polished ``kappa``, nodes and working precision
chosen for ``dps`` digits).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from threadpoolctl import threadpool_limits

from . import _talbot as talbot
from ._flow_contours import (kappa0, s_and_ds_one_sided, kappa_on_contours, lower_edge, polish_kappa, s_and_ds,
                             spectral_edge)
from ._flow_sgd import SGD_NODES, sgd_curve, sgd_final_loss, sgd_max_step
from ._flow_sums import MAX_HEAD, BAPSpectrum, SumTooLarge
from ._models import BAPModel
from ._precision import context as _context
from ._results import Result
from ._solver import ConvergenceError

__all__ = ["BAPTheory", "bap_theory", "bap_train_loss_infinite_width", "TALBOT_NODES"]

#: Talbot nodes in double precision (truncation ~10^-(0.6 n), round-off ~eps e^{2n/5}).
TALBOT_NODES = 24
#: The same for the double (two-frequency) inversion, whose round-off grows like eps e^{4n/5}:
#: 18 nodes balance the two at ~1e-11 relative (measured against 18 digits).
TWO_POINT_NODES = 18
#: Relative truncation error of each route's quadrature (measured against 18+ digits); the
#: round-off part of :attr:`BAPTheory.accuracy` is ``_ROUNDOFF`` times the sum of the
#: absolute values of the quadrature terms.
_TRUNCATION = {"closed": 1e-14, "one": 1e-13, "two": 1e-11, "sgd": 1e-8}
_ROUNDOFF = 64 * np.finfo(float).eps
#: Late-time cut: past ``_LATE / (2 lambda_min(K))`` every transient is below e^-_LATE of L(0).
_LATE = 80.0


def _times(times):
    t = np.atleast_1d(np.asarray(times, dtype=float))
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"times must be a non-empty list of finite values >= 0, got {times!r}")
    return t


@dataclass(frozen=True)
class BAPTheory(Result):
    """Model-B loss curves from scaling_theory.theory.

    Attributes
    ----------
    model : BAPModel
    times : array of t
    test_loss, train_loss : arrays (float, or mpmath numbers when ``dps`` is set)
    final_loss : the ``t -> inf`` test loss (``kappa_0 g1(kappa_0)`` at ``P = inf``)
    method, dps, nodes : how it was computed
    accuracy : array of float
        Estimated absolute accuracy of ``test_loss`` and ``train_loss`` at each
        time: the round-off of the inversion (machine epsilon, or ``10^-dps``,
        times the sum of the absolute values of the quadrature terms) plus its
        truncation (relative).  A loss is never negative: round-off below zero
        is returned as ``0``, and any value below ``accuracy`` means only "between
        0 and ``accuracy``".
    """

    model: BAPModel
    times: np.ndarray
    test_loss: object
    train_loss: object
    final_loss: object
    method: str
    dps: int | None
    nodes: int
    _ctx: object = field(default=None, repr=False, compare=False)
    accuracy: object = None

    def to_dict(self, digits=None) -> dict:
        def fmt(x):
            if digits is None and self.dps is None:
                x = float(x)
                return "inf" if math.isinf(x) else x
            ctx = self._ctx or _context(max(digits or 17, 17))
            return ctx.nstr(ctx.mpf(x), digits or self.dps)
        return {**self.model.to_dict(), "t": [float(x) for x in self.times],
                "test_loss": [fmt(x) for x in self.test_loss],
                "train_loss": [fmt(x) for x in self.train_loss],
                "final_loss": fmt(self.final_loss) if self.final_loss is not None else None,
                "method": self.method, "dps": self.dps, "nodes": self.nodes,
                "accuracy": None if self.accuracy is None else [float(a) for a in self.accuracy]}

    def __str__(self):
        return (f"BAP theory ({self.method}; N={self.model.N}, P={self.model.P}, M={self.model.M}): "
                f"L(t) at {len(self.times)} times, L(0)={float(self.test_loss[0]):.6g}")


def _check_supported(model):
    if not isinstance(model, BAPModel):
        raise TypeError(f"model must be a BAPModel, got {type(model).__name__}")
    if model.batch is not None and model.ensemble > 1:
        raise ValueError("ensemble: the online-SGD theory covers one model (ensemble = 1); ensembles of "
                         "SGD students sharing batches are simulated only")


#: Digits model B's theory accepts: its Talbot nodes grow like the digits and the two-point
#: kernels like their square (one 200-digit point at finite N and P takes minutes).
DPS_RANGE = (5, 200)


def _check_dps(dps):
    if dps is None:
        return None
    lo, hi = DPS_RANGE
    if isinstance(dps, bool) or not isinstance(dps, (int, np.integer)) or not lo <= dps <= hi:
        raise ValueError(f"dps must be an integer in [{lo}, {hi}] for model B (or None for double precision), "
                         f"got {dps!r}")
    return int(dps)


def _near_threshold(model, name):
    """True where the one-point kappa-contour route is unreliable: 3M/4 < n < 20M."""
    v = getattr(model, name)
    return not math.isinf(v) and 0.75 * model.M < v < 20 * model.M


def bap_theory(model: BAPModel, times, *, dps: int | None = None) -> BAPTheory:
    """Average test (and train) loss of model B at the given times.

    Gradient flow or gradient descent, one model or an ensemble, or online SGD
    (``batch``, ``P = inf``: :mod:`scaling_theory.numerics._flow_sgd`, double precision), any ``M``,
    ``N`` and ``P`` (finite or infinite; ``M = inf`` needs ``alpha > 1``), in
    double precision (``dps=None``) or with ``dps`` correct digits (mpmath).
    ``P = inf``: one-point result (single Talbot inversion in ``kappa``); the
    train loss equals the test loss (CONVENTIONS.md).  Finite ``P``, ensembles,
    gradient descent and ``N`` near ``M``: the two-frequency kernels (double
    Talbot inversion in ``s``), test and train loss with label noise.  For
    power laws every sum costs the same at any ``M`` (:class:`BAPSpectrum`).
    For the train loss at ``N = inf`` and finite ``P`` see
    :func:`bap_train_loss_infinite_width`.

    Examples
    --------
    At ``N = inf`` the curve is the closed form ``sum_k lambda_k w_k^2 e^{-2 lambda_k t}``:

    >>> import numpy as np
    >>> from scaling_theory.numerics import BAPModel
    >>> m = BAPModel(M=200, alpha=1.5, beta=1.0, N="inf", P="inf")
    >>> r = bap_theory(m.replace(N=10**9), [0.0, 1.0, 10.0])
    >>> lam, w = m.eigenvalues(), m.target()
    >>> exact = [np.sum(lam * w**2 * np.exp(-2 * lam * t)) for t in (0.0, 1.0, 10.0)]
    >>> bool(np.allclose(r.test_loss, exact, rtol=1e-6))
    True

    Finite ``N`` and ``P`` at 20 digits agree with double precision:

    >>> m = BAPModel(M="inf", alpha=1.5, beta=1.0, N=50, P=100)
    >>> hi = bap_theory(m, [2.0], dps=20).test_loss[0]
    >>> bool(abs(float(hi) / bap_theory(m, [2.0]).test_loss[0] - 1) < 1e-9)
    True
    """
    _check_supported(model)
    dps = _check_dps(dps)
    t = _times(times)
    spec = BAPSpectrum(model)
    eta = None if model.eta is None else float(model.eta)
    if eta is not None and model.batch is None:
        _check_gd_step(model, spec)
    if eta is not None:
        steps = t / eta
        if np.any(np.abs(steps - np.round(steps)) > 1e-9 * np.maximum(steps, 1)):
            raise ValueError(f"times must be multiples of eta = {eta:g} for gradient descent")
    try:
        if model.batch is not None:
            res = _sgd_theory(model, spec, np.minimum(t, _late_time(model, spec)), dps)
        else:
            res = _theory_routes(model, spec, np.minimum(t, _late_time(model, spec)), dps, eta)
    except SumTooLarge as exc:
        raise ValueError(_blame(model, t, exc)) from None
    return _finish(res, t)


def _blame(model, t, exc):
    """A message naming the size (or the time) that made a spectral sum too long."""
    if math.isinf(model.N) and math.isinf(model.P):
        name, value = ("M", model.M) if model.M > MAX_HEAD else ("t", f"{float(np.max(t)):g}")
    else:
        name = "N" if model.N <= model.P else "P"
        value = getattr(model, name)
    return f"{name} = {value}: {exc} (a spectrum listed term by term: its cost grows with M)"


def _gd_edge(model, spec):
    """``lambda_max(K)`` for the gradient-descent stability check."""
    return spectral_edge(spec, model.N, model.P)


def _check_gd_step(model, spec):
    """Gradient descent is stable iff every mode's factor ``|1 - eta lambda| < 1`` on the
    spectrum of ``K``: ``eta < 2 / lambda_max(K)`` (modes with ``eta lambda > 1``
    oscillate but decay)."""
    eta, lmax = float(model.eta), _gd_edge(model, spec)
    if not eta * lmax < 2:
        raise ValueError(f"eta must be < 2/lambda_max(K) = {2 / lmax:.6g} for gradient descent (the edge of "
                         f"stability; lambda_max(K) = {lmax:.6g} is the spectral edge of the deterministic "
                         f"equivalent), got {eta:g}")
    return lmax


def _mp_accuracy(vals, dps, L0):
    return np.array([10.0 ** (1 - dps) * max(abs(float(v)), 1e-300) + 10.0 ** -dps * 1e-10 * float(L0)
                     for v in vals])


def _theory_routes(model, spec, t, dps, eta):
    L0 = float(spec.total("u"))
    if eta is not None:
        if math.isinf(model.N) and math.isinf(model.P) and not math.isinf(model.M):
            n = np.round(t / eta)
            if dps is None:
                lam, u2 = spec.lam_u()
                vals = (u2[None, :] * (1 - eta * lam[None, :]) ** (2 * n[:, None])).sum(axis=1)
                return BAPTheory(model, t, vals, vals.copy(), 0.0, "closed form (N = P = inf, gradient descent)",
                                 None, 0, accuracy=_TRUNCATION["closed"] * np.maximum(vals, L0 * 1e-3))
            ctx, out = _context(dps + 10), _context(dps)
            sp = BAPSpectrum(model, ctx)
            lam, u2 = sp.lam_u()
            e = ctx.mpf(model.eta)
            vals = [out.mpf(ctx.fsum(u * (1 - e * l) ** (2 * int(k)) for l, u in zip(lam, u2))) for k in n]
            return BAPTheory(model, t, vals, list(vals), out.zero, "closed form (N = P = inf, gradient descent)",
                             dps, 0, out, accuracy=_mp_accuracy(vals, dps, L0))
    two_point = (not math.isinf(model.P)
                 or (not math.isinf(model.N) and (model.ensemble > 1 or eta is not None
                                                  or _near_threshold(model, "N")))
                 or eta is not None)
    if two_point:
        m = min(model.N, model.P)
        final = math.inf if (model.N == model.P and m < model.M) else None
        method = ("double Talbot in (kappa, kappa')" + (f", ensemble of {model.ensemble}" if model.ensemble > 1 else "")
                  + (f", gradient descent eta={eta:g}" if eta is not None else ""))
        if dps is None:
            test, train, ab_test, ab_train = _two_point_curves(spec, model.N, model.P, float(model.noise_var), t,
                                                               ensemble=model.ensemble, eta=eta, with_abs=True)
            if math.isinf(model.P):
                train, ab_train = test.copy(), ab_test
            trunc = _TRUNCATION["two"]
            if eta is not None:
                # the contour in w is capped for the first steps: ~0.15 n^0.4 digits per node (measured
                # against the closed form at N = P = inf, eta lambda_max up to 1.9), 1e-7 at worst later on
                trunc = np.maximum(1e-7, 10.0 ** (-0.15 * np.maximum(np.round(t / eta), 1) ** 0.4 * TALBOT_NODES))
            acc = _ROUNDOFF * np.maximum(ab_test, ab_train) + trunc * np.maximum(np.abs(test), np.abs(train))
            acc = np.where(t == 0, _TRUNCATION["closed"] * np.maximum(test, train), acc)   # exact sums at t = 0
            return BAPTheory(model, t, test, train, final, method, None,
                             TWO_POINT_NODES if eta is None else TALBOT_NODES, accuracy=acc)
        test, train, nodes, out = _two_point_curves_mp_checked(model, t, dps)
        if math.isinf(model.P):
            train = list(test)
        acc = np.maximum(_mp_accuracy(test, dps, L0), _mp_accuracy(train, dps, L0))
        return BAPTheory(model, t, test, train, None if final is None else out.inf, method, dps, nodes, out,
                         accuracy=acc)
    if math.isinf(model.N):
        if dps is None:
            vals = spec.decay(t)
            return BAPTheory(model, t, vals, vals.copy(), 0.0, "closed form (N = P = inf)", None, 0,
                             accuracy=_TRUNCATION["closed"] * np.asarray(vals))
        ctx = _context(dps + 10)
        out = _context(dps)
        vals = [out.mpf(v) for v in BAPSpectrum(model, ctx).decay([ctx.mpf(x) for x in t])]
        return BAPTheory(model, t, vals, list(vals), out.zero, "closed form (N = P = inf)", dps, 0, out,
                         accuracy=_mp_accuracy(vals, dps, L0))
    return _talbot_curve(model, model.N, t, dps, kind="test")


def _finish(res, t):
    """The result at the requested times: no loss below zero (round-off of the inversion is
    returned as 0; :attr:`BAPTheory.accuracy` says how far from 0 a value can be trusted)."""
    if res.dps is None:
        test = np.maximum(np.asarray(res.test_loss, dtype=float), 0.0)
        train = np.maximum(np.asarray(res.train_loss, dtype=float), 0.0)
    else:
        z = res._ctx.zero
        test = [v if v > 0 else z for v in res.test_loss]
        train = [v if v > 0 else z for v in res.train_loss]
    acc = res.accuracy
    if acc is None:
        acc = _TRUNCATION["closed"] * np.asarray([float(v) for v in res.test_loss])
    return replace(res, times=t, test_loss=test, train_loss=train, accuracy=np.asarray(acc, dtype=float))


def _late_time(model, spec):
    """A time past which the loss equals its ``t -> inf`` limit to far below double precision:
    every transient decays at least as ``e^{-2 lambda_min t}`` (gradient flow) or
    ``max|1 - eta lambda|^{2n}`` (gradient descent), ``lambda`` over the non-zero spectrum of
    ``K``.  ``inf`` where the spectrum reaches 0 (no such time) or where it is not needed
    (closed forms at ``N = P = inf``; online SGD)."""
    if model.batch is not None or (math.isinf(model.N) and math.isinf(model.P)):
        return math.inf
    try:
        low = lower_edge(spec, model.N, model.P)
    except (SumTooLarge, FloatingPointError, ValueError, ArithmeticError):
        return math.inf            # no cut: the inversion runs at every time as it always did
    if low is None:
        return math.inf
    if model.eta is None:
        return _LATE / (2 * low)
    eta = float(model.eta)
    try:
        lmax = _gd_edge(model, spec)
    except (ValueError, FloatingPointError):
        return math.inf
    factor = max(abs(1 - eta * low), abs(1 - eta * lmax))
    if not factor < 1:
        return math.inf            # unstable: refused by the route
    steps = math.ceil(_LATE / (-2 * math.log(factor)))
    return eta * steps


def _sgd_theory(model, spec, t, dps):
    """Online SGD (``P = inf``, batch ``B``): :mod:`scaling_theory.numerics._flow_sgd`."""
    if dps is not None:
        raise ValueError("dps: the online-SGD theory runs in double precision only (dps=None)")
    eta, B = float(model.eta), int(model.batch)
    bound, why = sgd_max_step(spec, model.N, B)
    if not eta < bound:
        raise ValueError(f"eta must be < {bound:.6g} for online SGD with batch {B} ({why}), got {eta:g}")
    vals, absum = sgd_curve(spec, model.N, eta, B, float(model.noise_var), t, with_abs=True)
    final = sgd_final_loss(spec, model.N, eta, B, float(model.noise_var))
    return BAPTheory(model, t, vals, vals.copy(), final,
                     f"online SGD (batch {B}, eta={eta:g}): generating function of the second-moment "
                     "recursion, Talbot in w", None, SGD_NODES,
                     accuracy=_ROUNDOFF * absum + _TRUNCATION["sgd"] * np.abs(vals))


def bap_train_loss_infinite_width(model: BAPModel, times, *, dps: int | None = None) -> BAPTheory:
    """Train loss of model B at ``N = inf`` and finite ``P`` (one-point result).

    The result's ``test_loss`` field carries the train loss too (so that the
    object keeps one shape); read ``train_loss``.  The test loss at ``N = inf``
    and finite ``P`` is :func:`bap_theory`'s (two-point route).
    """
    if not isinstance(model, BAPModel):
        raise TypeError("model must be a BAPModel")
    if not math.isinf(model.N) or math.isinf(model.P):
        raise ValueError("N must be inf and P finite for bap_train_loss_infinite_width")
    dps = _check_dps(dps)
    t = _times(times)
    spec = BAPSpectrum(model)
    te = np.minimum(t, _late_time(model, spec))
    if _near_threshold(model, "P") or float(model.noise_var) > 0:
        # the one-point train kernel is noise-free: label noise goes through the two-point route
        if dps is None:
            _, train, _, ab = _two_point_curves(spec, math.inf, model.P, float(model.noise_var), te,
                                                with_abs=True)
            nodes, out = TWO_POINT_NODES, None
            acc = _ROUNDOFF * ab + _TRUNCATION["two"] * np.abs(train)
        else:
            _, train, nodes, out = _two_point_curves_mp_checked(model, te, dps)
            acc = _mp_accuracy(train, dps, spec.total("u"))
        return _finish(BAPTheory(model, te, train, train, 0.0 if dps is None else out.zero,
                                 "double Talbot in (kappa, kappa') (train loss)", dps, nodes, out, accuracy=acc), t)
    return _finish(_talbot_curve(model, model.P, te, dps, kind="train"), t)


def _talbot_curve(model, n, t, dps, kind):
    tau = 2 * t
    if dps is None:
        nodes = TALBOT_NODES
        spec = BAPSpectrum(model)
        k0 = kappa0(spec, n)
        if k0 is None or kind != "test":
            final = 0.0
        else:
            final = float(k0 * spec.F(np.array([k0], dtype=complex), ("u",), (1,))["u", 1][0].real)

        def hs(kap):
            shape = kap.shape
            f = spec.F(kap.ravel(), ("l", "l2", "u"), (1, 2))
            n1, n2, g1 = f["l", 1], f["l2", 2], f["u", 1]
            # h = g1 s'(kappa) (test: / (1 - n1/n)), derive_bap()["contour_integrand"]
            sk, h = s_and_ds_one_sided(kap.ravel(), n1, n2, n)
            h = g1 * h
            if kind == "test":
                h = h / (1 - n1 / n)
            return h.reshape(shape), sk.reshape(shape)

        vals = np.empty_like(tau)
        zero = tau == 0
        vals[zero] = spec.total("u")
        tz = tau[~zero]
        r = 2 * nodes / (5 * tz)
        add = np.zeros_like(tz)
        if k0 is not None:
            # near or below the pole: a fixed radius k0/2 (s < 0 on the whole contour) + residue
            inside = r < 2 * k0
            r = np.where(inside, k0 / 2, r)
            add = np.where(inside, final, 0.0)    # the train kernel has no pole at kappa0
        acc = np.where(zero, _TRUNCATION["closed"] * float(spec.total("u")), 0.0)
        vals[~zero], absum = talbot.invert(hs, tz, r, nodes)
        vals[~zero] += add
        acc[~zero] = _ROUNDOFF * absum + _TRUNCATION["one"] * np.abs(vals[~zero])
        return BAPTheory(model, t, vals, vals.copy() if kind == "test" else vals, final if kind == "test" else 0.0,
                         f"fixed Talbot in kappa ({kind} loss)", None, nodes, accuracy=acc)
    nodes = int(math.ceil(dps / 0.6)) + 8
    ctx = _context(dps + nodes + 10)
    out = _context(dps)
    spec = BAPSpectrum(model, ctx)
    k0 = kappa0(spec, n)
    final = ctx.zero if (k0 is None or kind != "test") else k0 * spec.F([k0], ("u",), (1,))["u", 1][0]

    def hs(kaps):
        f = spec.F(kaps, ("l", "l2", "u"), (1, 2))
        res = []
        for kap, n1, n2, g1 in zip(kaps, f["l", 1], f["l2", 2], f["u", 1]):
            sk, h = s_and_ds_one_sided(kap, n1, n2, n)
            h = g1 * h
            if kind == "test":
                h = h / (1 - n1 / n)
            res.append((h, sk))
        return res

    vals = []
    L0 = spec.total("u")
    for x in tau:
        x = ctx.mpf(x)
        if x == 0:
            vals.append(out.mpf(L0))
            continue
        r = 2 * ctx.mpf(nodes) / (5 * x)
        add = ctx.zero
        if k0 is not None and r < 2 * k0:
            r = k0 / 2
            add = final
        vals.append(out.mpf(talbot.invert_mp(ctx, hs, x, r, nodes) + add))
    return BAPTheory(model, t, vals, list(vals), out.mpf(final), f"fixed Talbot in kappa ({kind} loss)",
                     dps, nodes, out, accuracy=_mp_accuracy(vals, dps, L0))


# --------------------------------------------------------------------------
# finite N and P: the two-frequency kernels, double Talbot in (kappa, kappa')
# --------------------------------------------------------------------------


def _cross(F1, F2, kap, rows=None):
    """``sum_k x_k R_k(a) R_k(b)`` on the pairs (``rows`` of nodes, all nodes), by partial fractions."""
    rows = np.arange(kap.size) if rows is None else np.asarray(rows)
    d = kap[None, :] - kap[rows, None]
    r = np.arange(rows.size)
    d[r, rows] = 1
    C = (F1[rows, None] - F1[None, :]) / d
    C[r, rows] = F2[rows]
    return C


def _F_mp_symmetric(spec, kap):
    """``spec.F`` at mpmath nodes that come in conjugate pairs (Talbot contours): the sums at
    ``conj(kappa)`` are the conjugates of those at ``kappa`` (real spectrum and weights), so
    each pair costs one evaluation."""
    ctx = spec.ctx
    index, todo, src = {}, [], []
    for k in kap:
        kc = ctx.conj(k)
        if kc in index:
            src.append((index[kc], True))
        elif k in index:
            src.append((index[k], False))
        else:
            index[k] = len(todo)
            todo.append(k)
            src.append((index[k], False))
    f = spec.F(todo)
    return {key: np.array([ctx.conj(v[i]) if conj else v[i] for i, conj in src], dtype=object)
            for key, v in f.items()}


def _kernels(spec, kap, N, P, noise, ensemble=1, rows=None):
    """n1, s, s', and the kernels G_test, G_train on all pairs of nodes ``kap`` (mpmath: the
    pairs whose first node is in ``rows``, when given).

    ``kap``: 1-D complex array (double; cross sums by :meth:`BAPSpectrum.cross`), or
    an object array of ``mpc`` (then ``spec`` is an mpmath :class:`BAPSpectrum`,
    ``N, P, noise`` are mpmath or inf, and the cross sums are partial fractions,
    :func:`_cross`, whose cancellation the guard digits absorb); the kernels are
    those of ``derive_bap()["G_test"]``, ``["G_train"]`` with
    ``kappa kappa' S_0 = M - n1 - n1' + S_2`` (so that ``M = inf`` is allowed).
    """
    mp = kap.dtype == object
    ctx = spec.ctx
    zero = ctx.zero if mp else 0.0
    iN = zero if math.isinf(N) else 1 / (ctx.mpf(N) if mp else N)
    iP = zero if math.isinf(P) else 1 / (ctx.mpf(P) if mp else P)
    if mp:
        F = _F_mp_symmetric(spec, list(kap))
        n1, n2 = F["l", 1], F["l2", 2]
        Su, Sul = _cross(F["u", 1], F["u", 2], kap, rows), _cross(F["ul", 1], F["ul", 2], kap, rows)
        S1, S2 = _cross(F["l", 1], F["l", 2], kap, rows), _cross(F["l2", 1], F["l2", 2], kap, rows)
    else:
        n1, n2 = spec.n12(kap)
        C = spec.cross(kap)
        Su, Sul, S1, S2 = C["u"], C["ul"], C["l"], C["l2"]
    s, ds = s_and_ds(kap, n1, n2, iN, iP)
    rows = np.arange(kap.size) if rows is None else np.asarray(rows)
    kk = kap[rows, None] * kap[None, :]
    frac = S1 * iN / (1 - S2 * iN)
    B = kk * (Su + Sul * frac)
    D = S2 + kk * S1 * frac
    den = 1 - D * iP
    G_test = (B + noise * D * iP) / den
    rr = (1 - n1 * iP)[rows, None] * (1 - n1 * iP)[None, :]
    G_train = rr * (B + noise) / den
    if ensemble > 1:
        # cross term of two students (independent projections, same data): the N = inf kernel
        # at the finite-N kappa; L_E = L_1/E + (1 - 1/E) L_c (derive_bap()["ensemble_loss"])
        w1 = (ctx.one if mp else 1.0) / ensemble
        w2 = 1 - w1
        denc = 1 - S2 * iP
        G_test = w1 * G_test + w2 * (kk * Su + noise * S2 * iP) / denc
        G_train = w1 * G_train + w2 * rr * (kk * Su + noise) / denc
    return n1, s, ds, G_test, G_train


def _two_point_curves(spec, N, P, noise, t, nodes=None, ensemble=1, eta=None, *, with_abs=False):
    """Test and train loss at times t (double precision) for finite N and/or P.

    ``nodes`` defaults to :data:`TWO_POINT_NODES` for gradient flow and to
    :data:`TALBOT_NODES` for gradient descent (whose contour radius is capped at
    0.9 in ``w`` for the first steps, where more nodes are needed and the
    round-off growth ``e^{2 n r}`` is small).  ``with_abs``: also return the sums
    of the absolute values of the quadrature terms (test, train), the scale of
    the round-off.

    The matrix products are small (2n-1 nodes by 2n-1): one BLAS thread is
    faster than several, and immune to thread oversubscription.
    """
    if nodes is None:
        nodes = TWO_POINT_NODES if eta is None else TALBOT_NODES
    with threadpool_limits(limits=1, user_api="blas"):
        out = _two_point_curves_impl(spec, N, P, noise, t, nodes, ensemble, eta)
    return out if with_abs else out[:2]


def _gd_branches(spec, N, P, eta):
    """The contours of gradient descent in the step factor ``u = 1 + eta s``.

    ``u^n`` is entire, so any closed contour around the spectrum ``u in [1 - eta
    lambda_max(K), 1]`` (and the pole at ``u = 1``) gives ``L(n)``.  The branch
    ``u = e^w`` (Talbot in ``w``) encloses ``(0, 1]``; past ``eta lambda_max > 1``
    the modes oscillate (``u < 0``) and a second branch ``u = -e^w`` encloses
    ``[u_min, 0)``.  Both loops run counterclockwise and meet at ``u = 0``, where
    ``u^n`` vanishes, so their sum is one closed contour.  Returns the signs
    (+1, or +1 and -1) of the branches."""
    return (1, -1) if eta * spectral_edge(spec, N, P) > 1 else (1,)


def _two_point_curves_impl(spec, N, P, noise, t, nodes, ensemble, eta):
    t = np.asarray(t, dtype=float)
    test = np.empty_like(t)
    train = np.empty_like(t)
    abs_test = np.zeros_like(t)
    abs_train = np.zeros_like(t)
    L0 = float(spec.total("u"))
    zero = t == 0
    test[zero] = L0
    # at t = 0 the train loss is the mean squared label, noise included
    train[zero] = L0 + (0.0 if math.isinf(P) else noise)
    m = min(N, P)
    k0 = kappa0(spec, m) if m < spec.M else None
    idx = np.flatnonzero(~zero)
    # Standard fixed-Talbot contours in s (every singularity of the two-frequency loss lies
    # on the negative real s axis), radius r = 2n/(5t) grouped in half octaves; kappa(s)
    # at the complex nodes by Newton continuation along the contour from the real root.
    # gradient flow: weight e^{s t}, Talbot in s.  Gradient descent (step eta): weight
    # (1 + eta s)^n = e^{n w}, Talbot in w with s = (e^w - 1)/eta, and past eta lambda_max = 1
    # a second branch 1 + eta s = -e^w (see _gd_branches).
    x = t[idx] if eta is None else np.round(t[idx] / eta)
    keys = np.round(np.log2(2 * nodes / (5 * x)) * 2) / 2   # half-octave groups share a contour
    if eta is not None:
        keys = np.minimum(keys, math.log2(0.9))   # keep |Im w| < pi: e^w must not wind around
    ukeys = np.unique(keys)
    if not ukeys.size:
        return test, train, abs_test, abs_train
    radii = 2.0 ** ukeys
    signs = (1,) if eta is None else _gd_branches(spec, N, P, eta)
    kaps = []
    for sign in signs:
        if eta is None:
            shape = lambda th: radii * talbot.shape(th)  # noqa: E731
        elif sign > 0:
            shape = lambda th: np.expm1(radii * talbot.shape(th)) / eta  # noqa: E731
        else:
            # s = -(e^w + 1)/eta has Im s < 0 on the upper half of the w contour: continue along
            # the conjugate (Im s > 0) and reverse the node order
            shape = lambda th: -(np.exp(radii * np.conj(talbot.shape(th))) + 1) / eta  # noqa: E731
        kb = kappa_on_contours(spec, N, P, shape, nodes, k0)
        kaps.append(kb if sign > 0 else kb[:, ::-1])
    for b, key in enumerate(ukeys):
        sel = idx[keys == key]
        r = 2.0 ** key
        z_nodes, c = talbot.nodes(r, nodes)            # contour variable (s, or w for GD)
        kap_b, s_b, a_b = [], [], []
        for sign, kk in zip(signs, kaps):
            if eta is None:
                s_nodes = z_nodes
            else:
                s_nodes = (np.expm1(z_nodes) if sign > 0 else -(np.exp(z_nodes) + 1)) / eta
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                if eta is None:
                    a = c[None, :] * np.exp(s_nodes[None, :] * t[sel][:, None]) / s_nodes[None, :]
                else:
                    # c (ds/dw) u^n / s with u = sign e^w
                    n = np.round(t[sel] / eta)
                    par = np.where(n % 2 == 1, float(sign), 1.0)
                    a = ((sign * c * np.exp(z_nodes) / (eta * s_nodes))[None, :]
                         * np.exp(z_nodes[None, :] * n[:, None]) * par[:, None])
            kap_b.append(kk[b])
            s_b.append(s_nodes)
            a_b.append(a)
        kap_all, s_nodes, a = np.concatenate(kap_b), np.concatenate(s_b), np.concatenate(a_b, axis=1)
        n1, s, ds, Gt, Gr = _kernels(spec, kap_all, N, P, noise, ensemble)
        # residual of s(kappa) = s_node; s carries round-off ~ eps |kappa| from 1 - n1/N, 1 - n1/P
        if np.any(np.abs(s - s_nodes) > 1e-8 * np.abs(s_nodes) + 1e-12 * np.abs(kap_all)):
            raise FloatingPointError(f"kappa(s) continuation failed at t ~ {t[sel].max():.3g}")
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            aa = np.abs(a)
            for G, out, ab in ((Gt, test, abs_test), (Gr, train, abs_train)):
                out[sel] = np.real(np.einsum("tk,kl,tl->t", a, G, a))
                ab[sel] = np.einsum("tk,kl,tl->t", aa, np.abs(G), aa)
    if not (np.all(np.isfinite(test)) and np.all(np.isfinite(train))):
        raise FloatingPointError("two-point Talbot quadrature produced a non-finite value")
    return test, train, abs_test, abs_train


#: Gradient descent within this many steps runs on the capped w-contour, whose node count is an
#: empirical fit (``_mp_nodes``): there the curve is computed again with more nodes to confirm it.
_FEW_STEPS = 15
#: Node factor of each confirmation, and the most nodes tried.
_NODE_GROWTH, _MAX_MP_NODES = 1.2, 480


def _two_point_curves_mp_checked(model, t, dps):
    """:func:`_two_point_curves_mp`, confirmed where its node count is not a safe bound: for
    gradient descent within :data:`_FEW_STEPS` steps the contour in ``w`` is capped, and its
    convergence slows as the digits grow (against the closed form at ``N = P = inf``, 30 digits:
    24 correct after one step with 158 nodes, 27.6 after two with 122; 240 and 180 nodes give
    30.6 and 31.5; ``_mp_nodes`` now follows these).  There the times are computed again with
    1.2 times the nodes, and again, until two node counts agree to ``dps`` digits; the result is
    the one with more nodes.
    Elsewhere (gradient flow, later steps) one computation, as measured."""
    if model.eta is None:
        return _two_point_curves_mp(model, t, dps)
    steps = [int(round(float(x) / float(model.eta))) for x in t]
    few = [i for i, n in enumerate(steps) if 0 < n <= _FEW_STEPS]
    test, train, nodes, out = _two_point_curves_mp(model, t, dps)
    if not few:
        return test, train, nodes, out
    sub = [t[i] for i in few]
    scale = 1.0
    prev_te, prev_tr = [test[i] for i in few], [train[i] for i in few]
    tol = out.mpf(10) ** -dps
    while True:
        scale *= _NODE_GROWTH
        if max(_mp_nodes(dps, model, x, scale) for x in sub) > _MAX_MP_NODES:
            raise ConvergenceError(f"gradient descent after {steps[few[0]]} step(s): the contour does not "
                                   f"converge to {dps} digits within {_MAX_MP_NODES} nodes (ask fewer digits)",
                                   residual=None)
        te, tr, n_more, _ = _two_point_curves_mp(model, sub, dps, node_scale=scale)
        agree = all(abs(a - b) <= tol * abs(b) for a, b in zip(prev_te + prev_tr, te + tr))
        prev_te, prev_tr = te, tr
        if agree:
            break
    for j, i in enumerate(few):
        test[i], train[i] = prev_te[j], prev_tr[j]
    return test, train, max(nodes, n_more), out


def _two_point_curves_mp(model, t, dps, guard=None, node_scale=1.0):
    """The two-point route with ``dps`` correct digits: one Talbot contour per time
    (``ceil(dps/0.6) + 8`` nodes per dimension, more after few
    gradient-descent steps: see ``_mp_nodes``), kappa(s) at the nodes from the
    double-precision continuation polished by Newton steps in mpmath, kernels and
    quadrature in ``dps + guard + 10`` digits, ``guard`` the digits the quadrature cancels
    (:func:`_talbot_guard`).  The cancellation is measured on the actual terms (the sum of
    their absolute values against the result); where it exceeds the guard, the curve is
    computed again with ``nodes`` guard digits.  Returns (test, train, nodes, output context)."""
    nodes_max = (max(_mp_nodes(dps, model, x, node_scale) for x in t) if len(t)
                 else _mp_nodes(dps, model, 1, node_scale))
    if guard is not None:
        g = guard
    elif model.eta is None:
        g = _talbot_guard(nodes_max, 2)
    else:       # the largest r n over the times (r capped at 0.9 in w)
        g = max((_talbot_guard(nodes_max, 2, min(0.4 * _mp_nodes(dps, model, x, node_scale),
                                                 0.9 * max(round(float(x) / float(model.eta)), 1)))
                 for x in t if x != 0), default=0)
    ctx = _context(dps + g + 10)
    out = _context(dps)
    spec_d = BAPSpectrum(model)
    spec = BAPSpectrum(model, ctx)
    # the first Newton step of the polish (from double precision) needs ~32 digits, not all of ctx's
    spec_lo = BAPSpectrum(model, _context(42)) if ctx.dps > 60 else None
    N, P = model.N, model.P
    eta = None if model.eta is None else ctx.mpf(model.eta)
    noise = ctx.mpf(model.noise_var)
    iN = ctx.zero if math.isinf(N) else 1 / ctx.mpf(N)
    iP = ctx.zero if math.isinf(P) else 1 / ctx.mpf(P)
    m = min(N, P)
    k0 = kappa0(spec_d, m) if m < model.M else None
    L0 = out.mpf(spec.total("u"))
    signs = (1,) if eta is None else _gd_branches(spec_d, N, P, float(model.eta))
    test, train = [], []
    for x in t:
        if x == 0:
            test.append(L0)
            train.append(L0 + (0 if math.isinf(P) else out.mpf(model.noise_var)))
            continue
        xm = ctx.mpf(x)
        n_steps = None if eta is None else int(round(x / float(model.eta)))
        nodes = _mp_nodes(dps, model, x, node_scale)
        # contour variable z (s for gradient flow, w for gradient descent), radius r
        r = 2 * ctx.mpf(nodes) / (5 * (xm if eta is None else n_steps))
        if eta is not None:
            r = min(r, ctx.mpf("0.9"))
        rf = float(r)
        # nodes in mpmath: theta_k = k pi / n, k = 0..n-1 (the conjugate half by symmetry)
        zs, cs = talbot.nodes_mp(ctx, r, nodes)
        full = lambda v: [ctx.conj(a) for a in v[:0:-1]] + list(v)  # noqa: E731
        kap_all, a_all = [], []
        for sign in signs:
            if eta is None:
                shape = lambda th, rf=rf: np.array([rf * talbot.shape(th)])  # noqa: E731
                s_nodes = zs
            elif sign > 0:
                shape = lambda th, rf=rf: np.array([np.expm1(rf * talbot.shape(th)) / float(model.eta)])  # noqa: E731
                s_nodes = [ctx.expm1(z) / eta for z in zs]
            else:   # u = 1 + eta s = -e^w (oscillating modes, see _gd_branches): conjugate nodes
                shape = lambda th, rf=rf: np.array(  # noqa: E731
                    [-(np.exp(rf * np.conj(talbot.shape(th))) + 1) / float(model.eta)])
                s_nodes = [ctx.conj(-(ctx.exp(z) + 1) / eta) for z in zs]
            kap_d = kappa_on_contours(spec_d, N, P, shape, nodes, k0)[0]
            kap = [ctx.mpc(v) for v in kap_d[nodes - 1:]]
            kap = polish_kappa(spec, kap, s_nodes, iN, iP, spec_lo=spec_lo)
            if eta is not None and sign < 0:   # back to the nodes w_k (conjugates)
                kap = [ctx.conj(v) for v in kap]
                s_nodes = [ctx.conj(v) for v in s_nodes]
            z_all, c_all, s_all = full(zs), full(cs), full(s_nodes)
            kap_all += full(kap)
            if eta is None:
                a_all += [c * ctx.exp(s * xm) / s for c, s in zip(c_all, s_all)]
            else:
                par = sign ** (n_steps % 2)
                a_all += [par * sign * c * ctx.exp(z) / (eta * s) * ctx.exp(z * n_steps)
                          for c, z, s in zip(c_all, z_all, s_all)]
        # the nodes come in conjugate pairs (kappa, a and G conjugate with them), so the real
        # part of a^T G a is that of the rows j with Im z_j >= 0, the others counted twice
        kap_arr = np.array(kap_all, dtype=object)
        rows, weights = [], []                         # full(v): the n - 1 conjugates first
        for b in range(len(signs)):
            base = b * (2 * nodes - 1)
            rows += list(range(base + nodes - 1, base + 2 * nodes - 1))
            weights += [1] + [2] * (nodes - 1)
        _, _, _, Gt, Gr = _kernels(spec, kap_arr, N if math.isinf(N) else ctx.mpf(N),
                                   P if math.isinf(P) else ctx.mpf(P), noise, model.ensemble, rows=rows)
        a = np.array(a_all, dtype=object)
        aw = np.array([w * a[j] for w, j in zip(weights, rows)], dtype=object)
        vt, vr = ctx.re(aw @ (Gt @ a)), ctx.re(aw @ (Gr @ a))
        lost = _cancelled_digits(aw, a, (Gt, vt), (Gr, vr))
        if lost > g:
            if guard is not None and guard >= nodes_max + dps:
                raise FloatingPointError(f"two-point Talbot quadrature at t = {float(x):g} cancels {lost:.0f} "
                                         f"digits, more than the {guard} guard digits")
            return _two_point_curves_mp(model, t, dps, guard=int(math.ceil(lost)) + 3, node_scale=node_scale)
        test.append(out.mpf(vt))
        train.append(out.mpf(vr))
    return test, train, nodes_max, out


def _cancelled_digits(aw, a, *forms):
    """The digits the quadratic forms ``aw^T G a`` cancel: ``log10`` of the sum of the absolute
    values of their terms over ``|value|`` (the largest over the forms; the magnitudes in
    double precision, which is all they need)."""
    A = np.abs(np.array([complex(x) for x in a]))
    AW = np.abs(np.array([complex(x) for x in aw]))
    lost = 0.0
    for G, val in forms:
        absG = np.abs(np.array([[complex(x) for x in row] for row in G]))
        with np.errstate(over="ignore", divide="ignore"):
            total = float(AW @ absG @ A)
            ratio = total / max(abs(float(val)), 1e-300)
        lost = max(lost, math.log10(ratio) if math.isfinite(ratio) and ratio > 1 else (0.0 if ratio <= 1 else 400.0))
    return lost


def _talbot_guard(nodes, dims, exponent=None):
    """Digits the fixed-Talbot sum cancels: its terms reach ``e^{r t} = e^{2 nodes/5}`` per
    dimension (``r = 2 nodes / (5 t)``; gradient descent: ``e^{r n}``, the radius capped at 0.9
    for the first steps), so the sum of their absolute values exceeds the result by up to
    ``dims exponent / ln 10`` digits, ``exponent = r t`` (default ``0.4 nodes``).
    :func:`_two_point_curves_mp` checks the actual sum of absolute values and, should it
    exceed this, computes again with the digits measured."""
    e = 0.4 * nodes if exponent is None else min(exponent, 0.4 * nodes)
    return int(math.ceil(dims * e / math.log(10)))


def _mp_nodes(dps, model, x, scale=1.0):
    """Talbot nodes per dimension for ``dps`` digits at time ``x`` (times ``scale``, for the
    confirmations of :func:`_two_point_curves_mp_checked`).

    Gradient flow (and gradient descent after enough steps) converges at ~0.6 digits per
    node.  For gradient descent the contour in w (1 + eta s = e^w) must stay inside
    |Im w| < pi, so its radius 2 n_nodes / (5 n) is capped at 0.9; after few steps n the
    capped contour converges more slowly, measured at ~0.2 n^0.4 digits per node
    (n = 1: 19 digits with 90 nodes; n = 3: 18.7 with 55; n = 10: 19.7 with 35)."""
    rate = 0.6
    nodes = dps / rate
    if model.eta is not None and x != 0:
        n_steps = max(int(round(x / float(model.eta))), 1)
        rate = min(rate, 0.2 * n_steps ** 0.4)
        nodes = dps / rate
        if n_steps <= _FEW_STEPS:
            # the capped contour: digits ~ c + r nodes, measured against the closed form at
            # N = P = inf (30 digits: 24.0 with 158 nodes after one step, 30.6 with 240; two
            # steps 27.6 / 122, 31.5 / 180; three 31.2 / 130; six 30.6 / 82), one digit spare
            r = min(0.6, 0.08 * n_steps ** 0.75)
            c = max(0.0, 10.0 - 2.0 * (n_steps - 1))
            nodes = max(nodes, (dps + 1 - c) / r)
    return int(math.ceil(scale * nodes)) + 8


