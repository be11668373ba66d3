"""Model B (Bordelon, Atanasov & Pehlevan): gradient flow of random features,
the parts of the theory that reduce to one-point resolvents.

Derived here, step by step (checked by :meth:`Derivation.verify`):

* ``P = inf`` (population gradient, finite width ``N``): with
  ``J = Lambda^{1/2} (A^T A / N) Lambda^{1/2}`` and ``u = Lambda^{1/2} w*``,
  ``L(t) = u^T exp(-2 J t) u``; its Laplace transform in ``tau = 2t`` is the
  one-point resolvent ``u^T (s + J)^{-1} u``, which the renormalisation lemma
  (``n = N``) turns into ``(kappa/s) g1(kappa)`` with
  ``s = kappa (1 - n1(kappa)/N)``;
* the change of variables ``s -> kappa`` (``ds = (1 - n2/N) dkappa``) that the
  numerics integrate on a Talbot contour, with no root finding;
* ``N = P = inf``: ``L(t) = sum_k lambda_k w_k^2 exp(-2 lambda_k t)``;
* ``t -> inf`` at ``P = inf``: ``L = kappa_0 g1(kappa_0)``, ``n1(kappa_0) = N``;
* ``N = inf``, finite ``P``: the train loss, through the lemma with ``n = P``;
* power-law asymptotics: ``L ~ t^-beta`` (``N = P = inf``) and
  ``L(t = inf) ~ N^-(alpha min(beta, 1))`` (``P = inf``), with prefactors.

The finite-``P`` test loss needs a two-point (two-resolvent) deterministic
equivalent and is not part of this derivation.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from ._derivation import Derivation, Step
from ._freeprob import SYMBOLS as FP
from ._freeprob import wishart_renormalisation

__all__ = ["derive_bap", "BAP_SYMBOLS"]

s = sp.Symbol("s")
t, tau = sp.symbols("t tau", positive=True)
kappa = sp.Symbol("kappa")
N, P = sp.symbols("N P", positive=True)
n1, n2, g1 = sp.symbols("n_1 n_2 g_1")
alpha, beta = sp.symbols("alpha beta", positive=True)
lam, w2, j = sp.symbols("lambda w^2 j", positive=True)
k = sp.IndexedBase("k")

BAP_SYMBOLS = {"s": s, "t": t, "tau": tau, "kappa": kappa, "N": N, "P": P, "n1": n1, "n2": n2,
               "g1": g1, "alpha": alpha, "beta": beta}


@lru_cache(maxsize=None)
def derive_bap() -> Derivation:
    """Derive model B's one-point results (see the module docstring).

    Examples
    --------
    >>> d = derive_bap()
    >>> d["kappa_equation_P_inf"]
    Eq(s, kappa*(1 - n_1/N))
    >>> d["exponent_t"], d["exponent_N"]
    (-beta, -alpha*Min(1, beta))
    """
    lemma = wishart_renormalisation()["renormalisation"]
    k_s, kt_s, n_s, Df_s = FP["kappa"], FP["kappa_t"], FP["n"], FP["Df"]
    steps = []
    steps.append(Step(
        "Spectral sums",
        "With $u_k^2=\\lambda_k w_k^{*2}$: $n_1(\\kappa)=\\sum_k\\lambda_k/(\\lambda_k+\\kappa)$, "
        "$n_2(\\kappa)=\\sum_k\\lambda_k^2/(\\lambda_k+\\kappa)^2$ and "
        "$g_1(\\kappa)=\\sum_k\\lambda_k w_k^{*2}/(\\lambda_k+\\kappa)$; closure: $\\kappa n_1'=n_2-n_1$.",
        (), kind="definition"))
    steps.append(Step(
        "Symmetrise the flow at P = inf",
        "With $F=A^\\top A/N$, $v(t)=e^{-F\\Lambda t}w^*=\\Lambda^{-1/2}e^{-Jt}\\Lambda^{1/2}w^*$ for "
        "$J=\\Lambda^{1/2}F\\Lambda^{1/2}$, so $L(t)=v^\\top\\Lambda v=u^\\top e^{-2Jt}u$ with "
        "$u=\\Lambda^{1/2}w^*$ (train loss = test loss at $P=\\infty$).",
        (), kind="identity"))
    lap = sp.integrate(sp.exp(-s * tau) * sp.exp(-j * tau), (tau, 0, sp.oo), conds="none")
    steps.append(Step(
        "Laplace transform in tau = 2t",
        "$\\hat L(s)=\\int_0^\\infty e^{-s\\tau}L(\\tau/2)\\,d\\tau=u^\\top(s+J)^{-1}u$; "
        "checked on one eigenmode of $J$.",
        (sp.Eq(sp.Symbol(r"\hat L(s)"), sp.Symbol(r"u^\top(s+J)^{-1}u")),),
        (sp.simplify(lap - 1 / (s + j)),)))
    keq = lemma.subs({k_s: s, kt_s: kappa, n_s: N, Df_s: n1}, simultaneous=True)
    Lhat = kappa / s * g1
    steps.append(Step(
        "Projection side: renormalisation with n = N",
        "$F$ is a white Wishart matrix of $N$ samples, so the lemma gives "
        "$s(s+J)^{-1}\\simeq\\kappa(\\Lambda+\\kappa)^{-1}$ with $s=\\kappa(1-n_1(\\kappa)/N)$, hence "
        "$\\hat L(s)=s^{-1}u^\\top s(s+J)^{-1}u\\simeq(\\kappa/s)\\,u^\\top(\\Lambda+\\kappa)^{-1}u=(\\kappa/s)g_1(\\kappa)$.",
        (keq, sp.Eq(sp.Symbol(r"\hat L(s)"), Lhat)),
        (keq.rhs - kappa * (1 - n1 / N),)))
    # change of variables s -> kappa
    fn1 = sp.Function("n_1")(kappa)
    s_of_k = kappa * (1 - fn1 / N)
    ds = sp.diff(s_of_k, kappa).subs(sp.Derivative(fn1, kappa), (n2 - fn1) / kappa).subs(fn1, n1)
    integrand = sp.simplify(Lhat.subs(s, kappa * (1 - n1 / N)) * ds)
    integrand_closed = g1 * (1 - n2 / N) / (1 - n1 / N)
    steps.append(Step(
        "Inverse Laplace transform over kappa",
        "$s(\\kappa)$ is explicit, $ds/d\\kappa=1-n_2/N$, so "
        "$L(\\tau/2)=\\frac{1}{2\\pi i}\\int e^{s(\\kappa)\\tau}\\,h(\\kappa)\\,d\\kappa$ over a contour in the "
        "$\\kappa$ plane wrapping the negative axis (no root finding). The pole where "
        "$n_1(\\kappa_0)=N$ (i.e. $s=0$) has residue $\\kappa_0g_1(\\kappa_0)$: the $t\\to\\infty$ loss.",
        (sp.Eq(sp.Symbol("s'(kappa)"), ds), sp.Eq(sp.Symbol("h(kappa)"), integrand_closed)),
        (ds - (1 - n2 / N), integrand - integrand_closed,
         # residue at n1 = N: h ~ g1 (1-n2/N) / ((kappa - kappa0) (n1 - n2)/(kappa N))
         sp.simplify((g1 * (1 - n2 / N) * kappa * N / (n1 - n2)).subs(n1, N) - kappa * g1))))
    # limits
    inf_lim = sp.limit(keq.rhs, N, sp.oo)
    closed = sp.inverse_laplace_transform(lam * w2 / (s + lam), s, tau)
    steps.append(Step(
        "N = P = inf",
        "As $N\\to\\infty$, $\\kappa=s$ and $\\hat L=\\sum_k\\lambda_kw_k^2/(s+\\lambda_k)$: "
        "$L(t)=\\sum_k\\lambda_kw_k^{*2}e^{-2\\lambda_kt}$.",
        (sp.Eq(sp.Symbol("L(t)"), sp.Sum(lam * w2 * sp.exp(-2 * lam * t), (sp.Symbol("k"), 1, sp.Symbol("M")))),),
        (inf_lim - kappa, sp.simplify(closed.subs(tau, 2 * t) - lam * w2 * sp.exp(-2 * lam * t)))))
    final = sp.limit(s * Lhat, s, 0)
    steps.append(Step(
        "t -> inf at P = inf",
        "Final-value theorem: $L(\\infty)=\\lim_{s\\to0}s\\hat L(s)=\\kappa_0g_1(\\kappa_0)$ with "
        "$n_1(\\kappa_0)=N$ ($N<M$): the best predictor in the span of the $N$ features, the same "
        "form as model A's ridgeless $N<T\\to\\infty$ branch.",
        (sp.Eq(sp.Symbol(r"L(\infty)"), kappa * g1),),
        (final - kappa * g1,)))
    # N = inf, finite P: train loss
    keqP = lemma.subs({k_s: s, kt_s: kappa, n_s: P, Df_s: n1}, simultaneous=True)
    steps.append(Step(
        "N = inf, finite P: the train loss",
        "$L_{\\rm train}(t)=w^{*\\top}\\hat\\Sigma e^{-2\\hat\\Sigma t}w^*$ has Laplace transform "
        "$w^{*\\top}[I-s(s+\\hat\\Sigma)^{-1}]w^*\\simeq g_1(\\kappa)$ with $s=\\kappa(1-n_1/P)$ "
        "(lemma with $n=P$). The test loss at finite $P$ needs a two-point equivalent (not derived here).",
        (keqP, sp.Eq(sp.Symbol(r"\hat L_{\rm train}(s)"), g1)),
        (keqP.rhs - kappa * (1 - n1 / P),)))
    # asymptotics
    x = sp.Symbol("x", positive=True)
    Lt_int = sp.integrate(x ** (-(alpha * beta + 1)) * sp.exp(-2 * x ** (-alpha) * t), (x, 0, sp.oo), conds="none")
    Lt_lead = sp.gamma(beta) / alpha * (2 * t) ** (-beta)
    kap0 = sp.Symbol("kappa_0", positive=True)
    C_a = sp.pi / (alpha * sp.sin(sp.pi / alpha))
    n1_int = sp.integrate(1 / (1 + kap0 * x ** alpha), (x, 0, sp.oo), conds="none")
    g1_int = sp.integrate(x ** (-(alpha * beta + 1)) / (x ** (-alpha) + kap0), (x, 0, sp.oo), conds="none")
    g1_lead = kap0 ** (beta - 1) * sp.pi / (alpha * sp.sin(sp.pi * beta))
    kap_N = (C_a / N) ** alpha
    Linf_small_beta = sp.simplify((kap0 * g1_lead).subs(kap0, kap_N))
    steps.append(Step(
        "Power-law asymptotics",
        "With $\\lambda_k=k^{-\\alpha}$, $\\lambda_kw_k^{*2}=k^{-\\alpha\\beta-1}$, sums become Mellin integrals. "
        "$N=P=\\infty$: $L(t)\\simeq\\Gamma(\\beta)(2t)^{-\\beta}/\\alpha$. $P=\\infty$, $t=\\infty$: "
        "$n_1(\\kappa_0)\\simeq\\kappa_0^{-1/\\alpha}\\pi/(\\alpha\\sin(\\pi/\\alpha))=N$; for $\\beta<1$, "
        "$g_1\\simeq\\kappa_0^{\\beta-1}\\pi/(\\alpha\\sin\\pi\\beta)$ so $L\\propto N^{-\\alpha\\beta}$; for "
        "$\\beta>1$, $g_1\\to\\sum_kw_k^{*2}=\\zeta(\\alpha(\\beta-1)+1)$ so $L\\propto N^{-\\alpha}$: "
        "the finite-width term saturates at $\\beta=1$.",
        (sp.Eq(sp.Symbol(r"L(t)_{N=P=\infty}"), Lt_lead),
         sp.Eq(sp.Symbol(r"L(\infty)_{P=\infty,\beta<1}"), Linf_small_beta),
         sp.Eq(sp.Symbol(r"L(\infty)_{P=\infty,\beta>1}"),
               kap_N * sp.zeta(alpha * (beta - 1) + 1))),
        (sp.simplify(Lt_int.subs({alpha: 2, beta: sp.Rational(1, 2)}) - Lt_lead.subs({alpha: 2, beta: sp.Rational(1, 2)})),
         sp.simplify(Lt_int.subs({alpha: sp.Rational(3, 2), beta: 1}) - Lt_lead.subs({alpha: sp.Rational(3, 2), beta: 1})),
         sp.simplify(n1_int.subs(alpha, 2) - (kap0 ** (-1 / alpha) * C_a).subs(alpha, 2)),
         sp.simplify(g1_int.subs({alpha: 2, beta: sp.Rational(1, 2)}) - g1_lead.subs({alpha: 2, beta: sp.Rational(1, 2)})))))
    results = {
        "kappa_equation_P_inf": sp.Eq(s, kappa * (1 - n1 / N)),
        "laplace_loss_P_inf": sp.Eq(sp.Symbol(r"\hat L(s)"), Lhat),
        "contour_integrand": sp.Eq(sp.Symbol("h(kappa)"), integrand_closed),
        "s_of_kappa": kappa * (1 - n1 / N),
        "final_loss_P_inf": sp.Eq(sp.Symbol(r"L(\infty)"), kappa * g1),
        "kappa_equation_N_inf": sp.Eq(s, kappa * (1 - n1 / P)),
        "laplace_train_N_inf": sp.Eq(sp.Symbol(r"\hat L_{\rm train}(s)"), g1),
        "loss_N_P_inf": Lt_lead,
        "exponent_t": -beta,
        "exponent_N": -alpha * sp.Min(beta, 1),
    }
    return Derivation(
        title="Model B (gradient flow): one-point results",
        summary=("Loss curves of gradient flow on random features at $P=\\infty$ (any width $N$), the "
                 "$N=P=\\infty$ and $t=\\infty$ limits, the $N=\\infty$ train loss, and the power-law exponents."),
        symbols=((s, "Laplace variable conjugate to $\\tau=2t$"), (kappa, "renormalised variable"),
                 (N, "model size"), (P, "number of samples"), (alpha, "model-B exponent $\\lambda_k=k^{-\\alpha}$"),
                 (beta, "task exponent $\\lambda_kw_k^{*2}=k^{-\\alpha\\beta-1}$"),
                 (n1, "$\\sum_k\\lambda_k/(\\lambda_k+\\kappa)$"), (n2, "$\\sum_k\\lambda_k^2/(\\lambda_k+\\kappa)^2$"),
                 (g1, "$\\sum_k\\lambda_kw_k^{*2}/(\\lambda_k+\\kappa)$")),
        assumptions=("Leading order in 1/N (deterministic equivalent); gradient flow from theta = 0.",),
        steps=tuple(steps),
        results=results,
    )
