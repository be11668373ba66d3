r"""One Talbot module: the fixed-Talbot inverse Laplace transform.

Every loss curve of model B is an inverse Laplace transform,
``f(t) = (2 pi i)^-1 \int e^{z t} F(z) dz`` along a contour that encloses the
singularities of ``F`` on the negative real axis.  The toolkit uses the fixed
Talbot contour of radius ``r`` (Abate & Valko 2004),

    z(theta) = r theta (cot theta + i),    -pi < theta < pi,

sampled at ``theta_k = k pi / n`` (``k = -(n-1) .. n-1``, ``z(0) = r``), with
quadrature weights ``c_k = dz/(2 pi i)`` times ``pi/n``:

    c_k = r / (2 n) (1 + i sigma_k),    sigma_k = theta_k + (theta_k cot theta_k - 1) cot theta_k,

so that ``f(t) ~ sum_k c_k e^{z_k t} F(z_k)``.  With ``r = 2 n / (5 t)`` the
error falls like ``10^{-0.6 n}``.  For real ``f`` the conjugate half of the
contour is the complex conjugate of the upper half, so

    f(t) ~ (r/n) [ e^{r t} F(r) / 2 + sum_{k=1}^{n-1} Re(e^{z_k t} F(z_k) (1 + i sigma_k)) ].

One frequency (:func:`invert`, :func:`invert_mp`) serves the one-point loss
curves; the nodes and weights (:func:`nodes`, :func:`nodes_mp`) serve the
two-frequency inversions, where the same contour is taken in both variables
(``sum_{j,k} c_j c_k e^{(z_j + z_k) t} G(z_j, z_k)``), and the contours in
``w`` of gradient descent and online SGD (``1 + eta s = e^w``).  Each exists in
double precision (numpy) and in mpmath (a private context).

>>> import numpy as np
>>> hs = lambda z: (1 / (z + 1), z)           # F(s) = 1/(s + 1): f(t) = exp(-t)
>>> val, _ = invert(hs, np.array([0.5, 2.0]), 2 * 24 / (5 * np.array([0.5, 2.0])), 24)
>>> bool(np.allclose(val, np.exp([-0.5, -2.0]), rtol=1e-11, atol=0))
True
"""
from __future__ import annotations

import numpy as np

__all__ = ["shape", "nodes", "nodes_mp", "invert", "invert_mp"]


def shape(theta):
    """``theta (cot theta + i)``: the fixed-Talbot contour of radius 1 (``1`` at ``theta = 0``)."""
    return theta * (1 / np.tan(theta) + 1j) if theta > 0 else 1.0 + 0j


def nodes(r, n):
    """Nodes ``z_k`` and weights ``c_k`` (``k = -(n-1) .. n-1``) of radius ``r`` (double).

    ``r`` may be an array: the result then has shape ``r.shape + (2n - 1,)``.
    """
    k = np.arange(-(n - 1), n)
    theta = np.pi * k / n
    with np.errstate(divide="ignore", invalid="ignore"):
        cot = np.where(k == 0, 0.0, 1 / np.tan(theta))
        z = np.where(k == 0, 1.0 + 0j, theta * (cot + 1j))
        sigma = np.where(k == 0, 0.0, theta + (theta * cot - 1) * cot)
    return r * z, r / (2 * n) * (1 + 1j * sigma)


def nodes_mp(ctx, r, n):
    """Nodes and weights for ``k = 0 .. n-1`` (the upper half; the lower half is their
    conjugate) in the mpmath context ``ctx``."""
    zs, cs = [], []
    for k in range(n):
        th = ctx.pi * k / n
        if k == 0:
            zs.append(ctx.mpc(r))
            cs.append(r / (2 * n))
        else:
            cot = ctx.cot(th)
            zs.append(r * th * ctx.mpc(cot, 1))
            cs.append(r / (2 * n) * ctx.mpc(1, th + (th * cot - 1) * cot))
    return zs, cs


def invert(h_and_s, tau, r, n):
    """One-frequency fixed Talbot in double precision, at times ``tau`` with radii ``r``.

    ``h_and_s(kappa)`` returns ``(h, s)`` on an array of contour points
    ``kappa = r theta (cot theta + i)``: the integrand ``h`` in the variable
    ``kappa`` (``ds/dkappa`` included) and the exponent ``s(kappa)``, so that
    ``f(tau) = (r/n) [e^{s(r) tau} h(r)/2 + sum_k Re(e^{s tau} h (1 + i sigma_k))]``
    (``s = kappa`` is the plain transform).  Returns the values and the sums of
    the absolute values of the terms (the scale of the round-off).
    """
    theta = np.pi * np.arange(1, n) / n
    cot = 1 / np.tan(theta)
    kap = r[:, None] * theta[None, :] * (cot[None, :] + 1j)
    sigma = theta + (theta * cot - 1) * cot
    h, s = h_and_s(kap)
    h0, s0 = h_and_s(r.astype(complex))
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        e = np.exp(s * tau[:, None])
        # nodes where the exponential underflows contribute nothing (h may be huge there)
        terms = np.where(e == 0, 0.0, np.real(e * h * (1 + 1j * sigma[None, :])))
        first = 0.5 * np.real(np.exp(s0 * tau) * h0)
    if not (np.all(np.isfinite(terms)) and np.all(np.isfinite(first))):
        raise FloatingPointError("Talbot quadrature produced a non-finite term")
    return r / n * (first + terms.sum(axis=1)), r / n * (np.abs(first) + np.abs(terms).sum(axis=1))


def invert_mp(ctx, h_and_s, x, r, n):
    """One-frequency fixed Talbot in the mpmath context ``ctx`` at one time ``x``.

    ``h_and_s(kappas)`` maps the list of contour points (``r`` first, then the
    upper half) to a list of ``(h, s)`` pairs, as in :func:`invert`.
    """
    thetas = [ctx.pi * kk / n for kk in range(1, n)]
    cots = [ctx.cot(th) for th in thetas]
    kaps = [r] + [r * th * ctx.mpc(c, 1) for th, c in zip(thetas, cots)]
    hsv = h_and_s(kaps)
    h0, s0 = hsv[0]
    acc = ctx.exp(s0 * x) * h0 / 2
    for th, cot, (h, sk) in zip(thetas, cots, hsv[1:]):
        sig = th + (th * cot - 1) * cot
        acc += ctx.re(ctx.exp(sk * x) * h * ctx.mpc(1, sig))
    return r / n * acc
