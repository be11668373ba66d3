"""Free-probability building blocks: Marchenko–Pastur, S-transforms and the
Wishart renormalisation lemma.

Conventions (normalised trace ``tau = tr / d`` on ``d x d`` matrices):

* ``psi_A(z) = tau[z A (1 - z A)^{-1}]`` (moment generating function),
  ``chi_A`` its inverse, ``S_A(t) = chi_A(t) (1 + t) / t``.
* Free multiplicative convolution: ``S_{AB} = S_A S_B`` (Voiculescu), for
  ``A`` and ``B`` asymptotically free — a stated building block.
* Degrees of freedom ``t = tau[A (A + kappa)^{-1}]``; then
  ``psi_A(-1/kappa) = -t`` so ``kappa = (1 - t) / (t S_A(-t))``.

The lemma derived here: if ``W = Z^T Z / n`` is a white Wishart matrix
(``Z`` is ``n x d`` standard Gaussian, aspect ratio ``q = d / n``) and
``Sigma_hat = Sigma^{1/2} W Sigma^{1/2}``, then

    tau[Sigma_hat (Sigma_hat + kappa)^{-1}] = tau[Sigma (Sigma + kappa_t)^{-1}],
    kappa = kappa_t (1 - Df_Sigma(kappa_t) / n),

with ``Df = d tau[...]`` the un-normalised degrees of freedom.  The
matrix-level statement ``kappa (Sigma_hat + kappa)^{-1} ~ kappa_t (Sigma +
kappa_t)^{-1}`` (deterministic equivalent, subordination) is the building
block the model derivations use; its trace is what is derived here.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from ._derivation import Derivation, Step

__all__ = ["marchenko_pastur", "wishart_renormalisation", "SYMBOLS"]

q, t, w, z, g = sp.symbols("q t w z g")
kappa, kappa_t, n, Df = sp.symbols(r"kappa \tilde{\kappa} n D_f", positive=True)
S_Sigma = sp.Function(r"S_{\Sigma}")
SYMBOLS = {"q": q, "t": t, "kappa": kappa, "kappa_t": kappa_t, "n": n, "Df": Df}


@lru_cache(maxsize=None)
def marchenko_pastur() -> Derivation:
    """S-transform of the white Wishart (Marchenko–Pastur) law, derived.

    Examples
    --------
    >>> d = marchenko_pastur()
    >>> d["S_W"]
    Eq(S_W(t), 1/(q*t + 1))
    >>> all(r == 0 for rs in d.verify().values() for r in rs)
    True
    """
    mp_eq = sp.Eq(q * z * g**2 - (z - 1 + q) * g + 1, 0)
    # moments from the large-z expansion g = sum_k m_k z^{-k-1}
    m1, m2, m3 = sp.symbols("m_1 m_2 m_3")
    u = sp.Symbol("u")  # u = 1/z
    g_series = u + m1 * u**2 + m2 * u**3 + m3 * u**4
    # the series of expr in u must vanish order by order up to u^3
    expr_u = sp.series(mp_eq.lhs.subs({g: g_series, z: 1 / u}), u, 0, 4).removeO()
    sol = sp.solve([expr_u.coeff(u, k) for k in range(1, 4)], [m1, m2, m3], dict=True)[0]
    moments_step = Step(
        "Marchenko–Pastur law",
        "Building block: the Stieltjes transform $g(z)=\\tau[(z-W)^{-1}]$ of a white "
        "Wishart matrix $W=Z^\\top Z/n$ with $\\mathbb{E}W=I$ and aspect ratio $q=d/n$ "
        "solves a quadratic. Check: expanding $g=\\sum_k m_k z^{-k-1}$ at large $z$ "
        "reproduces the Wishart moments $1,\\ 1+q,\\ 1+3q+q^2$.",
        (mp_eq, sp.Eq(sp.Symbol("m_1"), sol[m1]), sp.Eq(sp.Symbol("m_2"), sol[m2]),
         sp.Eq(sp.Symbol("m_3"), sol[m3])),
        (sol[m1] - 1, sol[m2] - (1 + q), sol[m3] - (1 + 3 * q + q**2)),
        kind="building block",
    )
    # psi(w) = (1/w) g(1/w) - 1  =>  g(1/w) = w (1 + psi)
    psi = sp.Symbol("psi")
    eq_w = sp.simplify(mp_eq.lhs.subs({g: w * (1 + psi), z: 1 / w}) * w)
    w_sol = sp.solve(sp.Eq(eq_w, 0), w)
    w_sol = [s for s in w_sol if s != 0]
    chi = sp.factor(w_sol[0].subs(psi, t))
    chi_step = Step(
        "Inverse of the moment generating function",
        "With $\\psi(w)=w^{-1}g(w^{-1})-1$, substitute $g(1/w)=w(1+\\psi)$ into the "
        "quadratic; it is linear in $w$, so $\\chi=\\psi^{-1}$ is explicit.",
        (sp.Eq(sp.Function("chi_W")(t), chi),),
        (sp.simplify(eq_w.subs({w: chi, psi: t})),),
    )
    S_W = sp.simplify(chi * (1 + t) / t)
    s_step = Step(
        "S-transform",
        "$S_W(t)=\\chi_W(t)(1+t)/t$.",
        (sp.Eq(sp.Function("S_W")(t), S_W),),
        (S_W - 1 / (1 + q * t),),
    )
    return Derivation(
        title="Marchenko–Pastur S-transform",
        summary="The S-transform of a white Wishart matrix, derived from its Stieltjes transform.",
        symbols=((q, "aspect ratio d/n"), (t, "argument of the S-transform"),
                 (z, "spectral argument"), (g, "Stieltjes transform")),
        assumptions=("d, n -> infinity with q = d/n fixed",),
        steps=(moments_step, chi_step, s_step),
        results={"S_W": sp.Eq(sp.Function("S_W")(t), 1 / (q * t + 1)), "chi_W": chi},
    )


@lru_cache(maxsize=None)
def wishart_renormalisation() -> Derivation:
    """The ridge renormalisation lemma, from S-transforms.

    Examples
    --------
    >>> d = wishart_renormalisation()
    >>> d["renormalisation"]
    Eq(kappa, \\tilde{\\kappa}*(-D_f/n + 1))
    """
    mp = marchenko_pastur()
    S_W = mp["S_W"].rhs
    kap_from_S = (1 - t) / (t * S_Sigma(-t))
    # S-transform at -t from chi(-t) = -1/kappa
    S_at = (-1 / kappa) * (1 - t) / (-t)
    df_step = Step(
        "Degrees-of-freedom parametrisation",
        "With $t=\\tau[A(A+\\kappa)^{-1}]$ one has $\\psi_A(-1/\\kappa)=-t$, hence "
        "$\\chi_A(-t)=-1/\\kappa$ and $S_A(-t)=(1-t)/(t\\kappa)$: the ridge at which "
        "$A$ has degrees of freedom $t$ is $\\kappa_A(t)=(1-t)/(tS_A(-t))$.",
        (sp.Eq(kappa, kap_from_S),),
        (sp.simplify((1 - t) / (t * S_at) - kappa),),
    )
    kappa_hat = (1 - t) / (t * S_Sigma(-t) * S_W.subs(t, -t))
    ratio = sp.simplify(kappa_hat / kap_from_S)
    conv_step = Step(
        "Free multiplicative convolution",
        "Building block: $S_{\\Sigma W}=S_\\Sigma S_W$. At equal degrees of freedom $t$, "
        "the ridge for $\\hat\\Sigma$ is the ridge for $\\Sigma$ divided by $S_W(-t)$.",
        (sp.Eq(sp.Symbol(r"\kappa_{\hat\Sigma}") / sp.Symbol(r"\kappa_{\Sigma}"), ratio),),
        (ratio - (1 - q * t),),
        kind="derived",
    )
    # q t = (d/n)(Df/d) = Df/n
    d = sp.Symbol("d", positive=True)
    renorm = sp.Eq(kappa, kappa_t * (1 - Df / n))
    lemma_step = Step(
        "Renormalisation lemma",
        "Write $q t = (d/n)(D_f/d) = D_f/n$ with $D_f=\\mathrm{tr}[\\Sigma(\\Sigma+\\tilde\\kappa)^{-1}]$ "
        "the un-normalised degrees of freedom, $\\tilde\\kappa=\\kappa_\\Sigma(t)$. "
        "Matrix-level form (subordination, building block): "
        "$\\kappa(\\hat\\Sigma+\\kappa)^{-1}\\simeq\\tilde\\kappa(\\Sigma+\\tilde\\kappa)^{-1}$.",
        (renorm,),
        (ratio.subs({q: d / n, t: Df / d}) - (1 - Df / n),),
    )
    return Derivation(
        title="Wishart renormalisation lemma",
        summary=(
            "For a sample covariance of $n$ Gaussian samples, the resolvent at ridge "
            "$\\kappa$ is equivalent to the population resolvent at a renormalised "
            "ridge $\\tilde\\kappa$ with $\\kappa=\\tilde\\kappa(1-D_f(\\tilde\\kappa)/n)$."
        ),
        symbols=((kappa, "ridge of the sample covariance"),
                 (kappa_t, "renormalised ridge of the population covariance"),
                 (n, "number of samples"), (Df, r"$\mathrm{tr}\,\Sigma(\Sigma+\tilde\kappa)^{-1}$"),
                 (q, "aspect ratio d/n"), (t, "normalised degrees of freedom")),
        assumptions=("Sigma deterministic, W white Wishart, asymptotically free",),
        steps=mp.steps + (df_step, conv_step, lemma_step),
        results={"renormalisation": renorm},
    )
