"""Model A (Maloney, Roberts & Sully) with linear features: the deterministic
equivalent of the average test and train loss, derived step by step.

The chain (each step is checked by :meth:`Derivation.verify`):

1. condition on the projection ``U``: the features are Gaussian with
   covariance ``C = U Lambda U^T``; split the target into its best linear
   predictor in the features plus an independent residual (misspecification);
2. data side: ridge regression on ``T`` Gaussian samples — the
   renormalisation lemma with ``n = T`` gives the data-renormalised ridge
   ``kappa_1``; the risk follows from the lemma by differentiation;
3. the misspecification and the bias combine exactly into
   ``kappa_1^2 tr[Lambda Omega (K + kappa_1)^{-2}]`` with
   ``K = Lambda^{1/2} U^T U Lambda^{1/2}``;
4. projection side: the lemma again, with ``n = N``, gives ``kappa``;
5. eliminating ``kappa_1`` gives the self-consistent equation
   ``gamma M / sigma_u2 = kappa (N - n1(kappa)) (T - n1(kappa))``;
6. implicit differentiation gives the test and the train loss in terms of the
   four spectral sums ``n1, n2, c1, c2`` at ``kappa``.

Then the limits: ridgeless on both sides of ``N = T``, the exact duality,
``N = T = 0`` and the large-``M`` power-law asymptotics (Gamma/zeta).
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from ._derivation import Derivation, Step
from ._freeprob import SYMBOLS as FP
from ._freeprob import wishart_renormalisation

__all__ = ["derive_mrs", "MRS_SYMBOLS"]

# -- symbols ----------------------------------------------------------------
gamma = sp.Symbol("gamma", nonnegative=True)
M, N, T = sp.symbols("M N T", positive=True)
sigma_u2, sigma_w2, lam_plus = sp.symbols(r"sigma_u^2 sigma_w^2 lambda_+", positive=True)
noise = sp.Symbol(r"sigma_epsilon^2", nonnegative=True)
kappa = sp.Symbol("kappa", positive=True)
kappa1 = sp.Symbol("kappa_1", positive=True)
n1, n2, c1, c2 = sp.symbols("n_1 n_2 c_1 c_2", positive=True)
omega = sp.Symbol("omega", positive=True)
alpha = sp.Symbol("alpha", positive=True)
L, Ltr, D2, B = sp.symbols(r"\langle{L}\rangle \langle{L_{\mathrm{train}}}\rangle D_2 B")
I = sp.Symbol("I", positive=True, integer=True)
lam = sp.IndexedBase("lambda")
om = sp.IndexedBase("omega")

MRS_SYMBOLS = {
    "gamma": gamma, "M": M, "N": N, "T": T, "sigma_u2": sigma_u2,
    "sigma_w2": sigma_w2, "lambda_plus": lam_plus, "noise_var": noise,
    "kappa": kappa, "kappa1": kappa1, "n1": n1, "n2": n2, "c1": c1, "c2": c2,
    "omega": omega, "alpha": alpha,
}


def _sum(expr):
    return sp.Sum(expr, (I, 1, M))


@lru_cache(maxsize=None)
def derive_mrs() -> Derivation:
    """Derive model A's deterministic equivalent (linear features).

    Returns a :class:`~theory.Derivation` whose ``results`` include
    ``self_consistent``, ``test_loss``, ``train_loss``, ``kappa1``, ``df2``,
    ``bias``, the ridgeless forms, the duality and the large-``M``
    asymptotics.

    Examples
    --------
    >>> d = derive_mrs()
    >>> d["self_consistent"]
    Eq(M*gamma/sigma_u^2, kappa*(N - n_1)*(T - n_1))
    >>> d["exponent_N"], d["exponent_T"]
    (-alpha, -alpha)
    """
    lemma = wishart_renormalisation()["renormalisation"]
    k_s, kt_s, n_s, Df_s = FP["kappa"], FP["kappa_t"], FP["n"], FP["Df"]
    steps = []

    # 0. definitions -------------------------------------------------------
    defs = (
        sp.Eq(sp.Function("n_1")(kappa), _sum(lam[I] / (lam[I] + kappa))),
        sp.Eq(sp.Function("n_2")(kappa), _sum(lam[I] ** 2 / (lam[I] + kappa) ** 2)),
        sp.Eq(sp.Function("c_1")(kappa), _sum(om[I] * lam[I] / (lam[I] + kappa))),
        sp.Eq(sp.Function("c_2")(kappa), _sum(om[I] * lam[I] ** 2 / (lam[I] + kappa) ** 2)),
    )
    steps.append(Step(
        "Spectral sums",
        "The answer depends on the spectrum $\\lambda_I$ and the teacher variances "
        "$\\omega_I=\\mathbb{E}w_I^2$ ($\\sigma_w^2/M$ by default) only through four sums "
        "at the renormalised ridge $\\kappa$. Their derivatives close on the same "
        "sums: $\\kappa\\,n_1'=n_2-n_1$ and $(\\kappa c_1)'=c_2$.",
        defs, (), kind="definition"))

    # 1. conditioning on U ---------------------------------------------------
    steps.append(Step(
        "Condition on the projection",
        "Given $U$, the features $\\phi=Ux$ are Gaussian with covariance "
        "$C=U\\Lambda U^\\top$. Write $y=\\theta_*\\cdot\\phi+\\xi$ with "
        "$\\theta_*=C^{-1}U\\Lambda w$; the residual $\\xi$ is independent of $\\phi$ with "
        "variance $\\sigma_\\xi^2=w^\\top\\Lambda w-\\theta_*^\\top C\\theta_*$. Training labels "
        "carry the effective noise $\\sigma_e^2=\\sigma_\\xi^2+\\sigma_\\epsilon^2$; the test "
        "loss is $\\tfrac12(\\mathcal{E}+\\sigma_\\xi^2)$ with $\\mathcal{E}$ the excess risk.",
        (), kind="identity"))

    # 2. data side -----------------------------------------------------------
    dfC = sp.Symbol(r"\mathrm{df}_C")
    data_eq = lemma.subs({k_s: gamma / T, kt_s: kappa1, n_s: T, Df_s: dfC}, simultaneous=True)
    lam1 = gamma / T
    steps.append(Step(
        "Data side: renormalisation with n = T",
        "The estimator is ridge regression with sample covariance $\\hat C=\\Phi^\\top\\Phi/T$ "
        "and ridge $\\gamma/T$. The lemma with $n=T$ gives the data-renormalised ridge "
        "$\\kappa_1$, with $\\mathrm{df}_C=\\mathrm{tr}\\,C(C+\\kappa_1)^{-1}$.",
        (data_eq,),
        (data_eq.lhs - data_eq.rhs - (gamma / T - kappa1 * (1 - dfC / T)),),
    ))

    # risk of ridge regression; variance factor derived from the lemma
    f_df1 = sp.Function(r"\mathrm{df}_1")
    f_k = sp.Function(r"\kappa_1")
    lam_s = sp.Symbol(r"\lambda", positive=True)
    df2s = sp.Symbol(r"\mathrm{df}_2")
    # lambda tr[C (C_hat + lambda)^{-1}] ~ kappa df1(kappa); d/dlambda of it gives the variance
    kl = f_k(lam_s)
    lemma_lam = sp.Eq(lam_s, kl * (1 - f_df1(kl) / T))
    dk = sp.solve(sp.diff(lemma_lam.lhs - lemma_lam.rhs, lam_s), sp.Derivative(kl, lam_s))[0]
    variance = sp.diff(kl * f_df1(kl), lam_s).subs(sp.Derivative(kl, lam_s), dk)
    rule = {sp.Subs(sp.Derivative(f_df1(sp.Symbol("_x")), sp.Symbol("_x")), sp.Symbol("_x"), kl): 0}
    del rule
    variance = variance.replace(
        lambda e: isinstance(e, (sp.Derivative, sp.Subs)),
        lambda e: (df2s - f_df1(kl)) / kl,
    )
    variance = sp.simplify(variance.subs(f_df1(kl), sp.Symbol(r"\mathrm{df}_1")))
    var_target = df2s / (1 - df2s / T)
    risk_excess = (sp.Symbol(r"\mathcal{B}") + sp.Symbol(r"\sigma_e^2") * df2s / T) / (1 - df2s / T)
    steps.append(Step(
        "Risk of ridge regression on Gaussian features",
        "Building block (ridge deterministic equivalent, e.g. Bach 2023; Atanasov, "
        "Zavatone-Veth & Pehlevan 2024): excess risk "
        "$\\mathcal{E}=(\\mathcal{B}+\\sigma_e^2\\mathrm{df}_2/T)/(1-\\mathrm{df}_2/T)$ with "
        "$\\mathcal{B}=\\kappa_1^2\\theta_*^\\top C(C+\\kappa_1)^{-2}\\theta_*$, "
        "$\\mathrm{df}_2=\\mathrm{tr}\\,C^2(C+\\kappa_1)^{-2}$, and train error "
        "$(\\lambda/\\kappa_1)^2(\\mathcal{E}+\\sigma_e^2)$. Check: the variance factor "
        "follows from the lemma, since $\\partial_\\lambda[\\lambda\\,\\mathrm{tr}\\,C(\\hat C+\\lambda)^{-1}]"
        "=\\mathrm{tr}\\,C\\hat C(\\hat C+\\lambda)^{-2}$ and "
        "$\\lambda\\,\\mathrm{tr}\\,C(\\hat C+\\lambda)^{-1}\\simeq\\kappa_1\\mathrm{df}_1(\\kappa_1)$.",
        (sp.Eq(sp.Symbol(r"\mathcal{E}"), risk_excess),
         sp.Eq(sp.Symbol(r"\partial_\lambda[\kappa_1 \mathrm{df}_1]"), variance)),
        (variance - var_target,),
        kind="building block",
    ))

    # 3. misspecification + bias ---------------------------------------------
    kk = sp.Symbol("k", positive=True)  # an eigenvalue of K
    g_scalar = lam_s * omega * kappa1 / (kk + kappa1)
    steps.append(Step(
        "Bias and misspecification combine",
        "Averaging over $w$ and using the push-through identity with "
        "$K=\\Lambda^{1/2}U^\\top U\\Lambda^{1/2}$ (same non-zero spectrum as $C$): "
        "$\\mathbb{E}_w[\\mathcal{B}+\\sigma_\\xi^2]=\\kappa_1^2\\mathrm{tr}[\\Lambda\\Omega(K+\\kappa_1)^{-2}]"
        "=g-\\kappa_1 g'$ with $g(\\kappa_1)=\\mathrm{tr}[\\Lambda\\Omega\\,\\kappa_1(K+\\kappa_1)^{-1}]$ "
        "(the projection onto the null space of $K$ carries $\\sigma_\\xi^2$). "
        "Then $\\mathcal{E}+\\sigma_\\xi^2=(\\mathcal{B}+\\sigma_\\xi^2+\\sigma_\\epsilon^2\\mathrm{df}_2/T)/(1-\\mathrm{df}_2/T)$.",
        (sp.Eq(sp.Symbol(r"\mathbb{E}_w[\mathcal{B}+\sigma_\xi^2]"),
               sp.Symbol("g") - kappa1 * sp.Symbol("g'")),),
        (g_scalar - kappa1 * sp.diff(g_scalar, kappa1) - lam_s * omega * kappa1**2 / (kk + kappa1) ** 2,
         # E + sigma_xi^2 with sigma_e^2 = sigma_xi^2 + noise
         (sp.Symbol("b") + (sp.Symbol("x") + noise) * df2s / T) / (1 - df2s / T) + sp.Symbol("x")
         - (sp.Symbol("b") + sp.Symbol("x") + noise * df2s / T) / (1 - df2s / T)),
    ))

    # 4. projection side -----------------------------------------------------
    s = N * sigma_u2 / M
    proj_eq = lemma.subs({k_s: kappa1 / s, kt_s: kappa, n_s: N, Df_s: n1}, simultaneous=True)
    steps.append(Step(
        "Projection side: renormalisation with n = N",
        "$K=s\\,\\Lambda^{1/2}\\tilde F\\Lambda^{1/2}$ with $\\tilde F=U^\\top U/s$ a white Wishart "
        "matrix of $N$ samples and $s=N\\sigma_u^2/M$. The lemma with $n=N$ gives "
        "$\\kappa_1(K+\\kappa_1)^{-1}\\simeq\\kappa(\\Lambda+\\kappa)^{-1}$, hence "
        "$\\mathrm{df}_C(\\kappa_1)\\simeq n_1(\\kappa)$ and $g(\\kappa_1)\\simeq\\kappa c_1(\\kappa)$.",
        (proj_eq,),
        (proj_eq.lhs - proj_eq.rhs - (kappa1 / s - kappa * (1 - n1 / N)),),
    ))

    # 5. self-consistent equation --------------------------------------------
    k1_sol = sp.solve(proj_eq, kappa1)[0]
    sc_lhs = gamma * M / sigma_u2
    sc_rhs = kappa * (N - n1) * (T - n1)
    sc = sp.Eq(sc_lhs, sc_rhs)
    data_in_k = data_eq.subs({dfC: n1, kappa1: k1_sol})
    steps.append(Step(
        "Self-consistent equation",
        "Eliminating $\\kappa_1$ between the two renormalisations gives one equation for "
        "$\\kappa$, symmetric under $N\\leftrightarrow T$. On the physical branch "
        "$n_1(\\kappa)<\\min(N,T)$ its right side increases from 0 to $\\infty$, so the root is unique.",
        (sp.Eq(kappa1, k1_sol), sc),
        (sp.simplify((data_in_k.lhs - data_in_k.rhs) * M * T / sigma_u2 - (sc_lhs - sc_rhs)),),
    ))

    # 6. derivatives and losses ----------------------------------------------
    fn1 = sp.Function("n_1")(kappa)
    fc1 = sp.Function("c_1")(kappa)
    k1_of_k = k1_sol.subs(n1, fn1)
    dk1_dk = sp.diff(k1_of_k, kappa)
    deriv_rules = {
        sp.Derivative(fn1, kappa): (n2 - fn1) / kappa,
        sp.Derivative(fc1, kappa): (c2 - fc1) / kappa,
    }
    dk1_dk = dk1_dk.subs(deriv_rules).subs(fn1, n1)
    k1dk = sp.simplify(k1_sol / dk1_dk)  # kappa1 * dkappa/dkappa1
    # df2_C = df1 + kappa1 d df1/dkappa1 ; bias = g - kappa1 g'
    df2_expr = sp.factor(sp.simplify((fn1 + k1dk * sp.diff(fn1, kappa)).subs(deriv_rules).subs(fn1, n1)))
    g = kappa * fc1
    bias_expr = sp.simplify((g - k1dk * sp.diff(g, kappa)).subs(deriv_rules).subs(fc1, c1))
    df2_closed = (n1**2 - 2 * n1 * n2 + N * n2) / (N - n2)
    bias_closed = kappa * c1 - kappa * (N - n1) * c2 / (N - n2)
    steps.append(Step(
        "Implicit derivatives",
        "With $\\kappa_1(\\kappa)$ from the projection side and the closure rules of the sums: "
        "$\\kappa_1\\,d\\kappa/d\\kappa_1=\\kappa(N-n_1)/(N-n_2)$, "
        "$\\mathrm{df}_2=\\mathrm{df}_1+\\kappa_1\\partial_{\\kappa_1}\\mathrm{df}_1$ and "
        "$g-\\kappa_1g'$ become rational in the sums.",
        (sp.Eq(sp.Symbol(r"\kappa_1\frac{d\kappa}{d\kappa_1}"), k1dk), sp.Eq(D2, df2_closed),
         sp.Eq(B, bias_closed)),
        (k1dk - kappa * (N - n1) / (N - n2), df2_expr - df2_closed, bias_expr - bias_closed),
    ))

    test_closed = (bias_closed + noise * df2_closed / T) / (2 * (1 - df2_closed / T))
    train_closed = (1 - n1 / T) ** 2 * (bias_closed + noise) / (2 * (1 - df2_closed / T))
    lam_over_k1 = sp.simplify(lam1 / k1_sol.subs(n1, n1) * 1)
    lam_over_k1 = sp.simplify(lam_over_k1.subs(gamma, sp.solve(sc, gamma)[0]))
    steps.append(Step(
        "Test and train loss",
        "$\\langle L\\rangle=\\tfrac12(B+\\sigma_\\epsilon^2D_2/T)/(1-D_2/T)$ and, with "
        "$\\lambda/\\kappa_1=1-n_1/T$ from the data side, "
        "$\\langle L_{\\rm train}\\rangle=\\tfrac12(1-n_1/T)^2(B+\\sigma_\\epsilon^2)/(1-D_2/T)$.",
        (sp.Eq(L, test_closed), sp.Eq(Ltr, train_closed)),
        (lam_over_k1 - (1 - n1 / T),),
    ))

    # 7. solver support: Newton derivative in log kappa ----------------------
    F = sp.log(kappa) + sp.log(N - fn1) + sp.log(T - fn1) - sp.log(gamma * M / sigma_u2)
    dF = sp.simplify((kappa * sp.diff(F, kappa)).subs(deriv_rules).subs(fn1, n1))
    dF_closed = 1 + (n1 - n2) * (1 / (N - n1) + 1 / (T - n1))
    F0 = sp.log(fn1)  # ridgeless: n1(kappa) = min(N, T)
    dF0 = sp.simplify((kappa * sp.diff(F0, kappa)).subs(deriv_rules).subs(fn1, n1))
    steps.append(Step(
        "Newton slopes for the solver",
        "In $u=\\log\\kappa$ the residual $F=\\log\\kappa+\\log(N-n_1)+\\log(T-n_1)-\\log(\\gamma M/\\sigma_u^2)$ "
        "is increasing with the slope below; at $\\gamma=0$ the root solves $n_1(\\kappa)=\\min(N,T)$ "
        "and $d\\log n_1/d\\log\\kappa=(n_2-n_1)/n_1$.",
        (sp.Eq(sp.Symbol(r"\partial_u F"), dF_closed), sp.Eq(sp.Symbol(r"\partial_u \log n_1"), dF0)),
        (dF - dF_closed, dF0 - (n2 - n1) / n1),
    ))

    # 8. ridgeless limits ----------------------------------------------------
    flat = {c1: omega * n1, c2: omega * n2}
    rl_N = sp.simplify(test_closed.subs(n1, N))            # N < T: n1 = N
    rl_T = sp.factor(sp.simplify(test_closed.subs(n1, T)))  # T < N: n1 = T
    rl_N_flat = sp.simplify(rl_N.subs(flat).subs(n1, N).subs(noise, 0))
    rl_T_flat = sp.factor(sp.simplify(rl_T.subs(flat).subs(n1, T).subs(noise, 0)))
    tr_N = sp.simplify(train_closed.subs(n1, N))
    tr_T = sp.simplify(train_closed.subs(n1, T))
    steps.append(Step(
        "Ridgeless limit on both sides of N = T",
        "At $\\gamma=0$ the self-consistent equation forces $n_1(\\kappa)=\\min(N,T)$. "
        "For $N<T$ the projection side is critical and $\\kappa_1\\to0$; for $T<N$ the "
        "data side is critical ($\\kappa_1>0$: implicit regularisation) and the train loss vanishes "
        "(interpolation). With a flat teacher and no noise both give "
        "$\\langle L\\rangle=\\omega\\kappa NT/(2|N-T|)$, divergent at $N=T$.",
        (sp.Eq(sp.Symbol(r"\langle L\rangle_{N<T}"), rl_N),
         sp.Eq(sp.Symbol(r"\langle L\rangle_{T<N}"), rl_T),
         sp.Eq(sp.Symbol(r"\langle L_{\rm train}\rangle_{N<T}"), tr_N),
         sp.Eq(sp.Symbol(r"\langle L_{\rm train}\rangle_{T<N}"), tr_T)),
        (rl_N_flat - omega * kappa * N * T / (2 * (T - N)),
         rl_T_flat - omega * kappa * N * T / (2 * (N - T)),
         tr_T),
    ))
    duality = sp.simplify(rl_T_flat - rl_N_flat.subs({N: T, T: N}, simultaneous=True))
    steps.append(Step(
        "N <-> T duality",
        "At $\\gamma=0$ without label noise and with a flat teacher, the loss on one side of the "
        "peak is the loss on the other side with $N$ and $T$ exchanged (the equation for "
        "$\\kappa$ is symmetric too). With label noise the duality is broken by the noise term.",
        (sp.Eq(sp.Symbol(r"\langle L\rangle_{T<N}(N,T)-\langle L\rangle_{N<T}(T,N)"), duality),),
        (duality,),
    ))
    # past the latent dimension: min(N, T) >= M, ridgeless -> kappa -> 0 with n1, n2 -> M
    plateau_test = sp.simplify(sp.limit(test_closed.subs({n1: M, n2: M}), kappa, 0))
    plateau_train = sp.simplify(sp.limit(train_closed.subs({n1: M, n2: M}), kappa, 0))
    plateau_test_closed = noise * M / (2 * (T - M))
    plateau_train_closed = noise * (1 - M / T) / 2
    L_pl = sp.Symbol(r"\langle{L}\rangle_{\min(N,T)\geq M}")
    Ltr_pl = sp.Symbol(r"\langle{L_{\mathrm{train}}}\rangle_{\min(N,T)\geq M}")
    steps.append(Step(
        "Past the latent dimension: the plateau",
        "With $M$ latent modes $n_1(\\kappa)<M$ for every $\\kappa>0$, so for $\\min(N,T)\\ge M$ the "
        "ridgeless equation $n_1(\\kappa)=\\min(N,T)$ has no root: $\\kappa\\to0$, $n_1,n_2\\to M$ and "
        "$\\kappa c_1,\\kappa c_2\\to0$. The loss is the limit of the derived test and train loss: "
        "ordinary least squares in the $M$ latent coordinates, independent of $N$ (extra features add "
        "nothing), zero without label noise, infinite at $T=M$ with noise.",
        (sp.Eq(L_pl, plateau_test_closed), sp.Eq(Ltr_pl, plateau_train_closed)),
        (sp.simplify(plateau_test - plateau_test_closed), sp.simplify(plateau_train - plateau_train_closed),
         sp.diff(plateau_test, N), sp.diff(plateau_train, N)),
    ))
    # N = T = 0: kappa -> infinity, kappa c1 -> sum omega lambda
    trw = sp.Symbol(r"\mathrm{tr}\,\Omega\Lambda", positive=True)
    x = sp.Symbol("x", positive=True)  # x = 1/kappa
    null = sp.limit(rl_N.subs(noise, 0).subs({c1: trw * x, kappa: 1 / x, N: x}), x, 0)
    null_eq = sp.Eq(sp.Symbol(r"\langle L\rangle_{N=T=0}"), null)
    steps.append(Step(
        "N = T = 0",
        "As $N\\to0$ the ridgeless root runs to $\\kappa\\to\\infty$, where $\\kappa c_1\\to"
        "\\mathrm{tr}\\,\\Omega\\Lambda$: the loss of the zero predictor, "
        "$\\sigma_w^2/(2M)\\sum_I\\lambda_I$ for a flat teacher.",
        (null_eq,),
        (null - trw / 2,),
    ))

    # 9. large-M power law ---------------------------------------------------
    a = 1 + alpha
    Ii = sp.Symbol("I", positive=True)
    n1_int = sp.simplify(sp.integrate(1 / (1 + kappa * Ii**a / lam_plus), (Ii, 0, sp.oo)))
    ssym = sp.Symbol("s", positive=True)
    y = sp.Symbol("y", positive=True)
    mellin1 = sp.simplify(sp.integrate(y ** (ssym - 1) / (1 + y), (y, 0, sp.oo), conds="none"))
    mellin2 = sp.simplify(sp.integrate(y ** (ssym - 1) / (1 + y) ** 2, (y, 0, sp.oo), conds="none"))
    C_a = sp.pi / (a * sp.sin(sp.pi / a))  # Gamma(1+1/a) Gamma(1-1/a)
    n1_large = (lam_plus / kappa) ** (1 / a) * C_a
    n2_large = (lam_plus / kappa) ** (1 / a) * C_a * (1 - 1 / a)
    zeta_sum = sp.summation(Ii ** (-2), (Ii, 1, sp.oo))  # check of the zeta form at alpha = 1
    steps.append(Step(
        "Power-law sums at large M (Mellin / Gamma)",
        "For $\\lambda_I=\\lambda_+I^{-(1+\\alpha)}$ and $\\lambda_M\\ll\\kappa\\ll\\lambda_+$ the sums "
        "become integrals over $I$; the substitution $y=\\kappa I^{1+\\alpha}/\\lambda_+$ turns them into "
        "Mellin integrals $\\int_0^\\infty y^{s-1}(1+y)^{-p}dy=\\Gamma(s)\\Gamma(p-s)/\\Gamma(p)$, "
        "$s=1/(1+\\alpha)$. The trace is $\\lambda_+\\zeta(1+\\alpha)$ at $M=\\infty$.",
        (sp.Eq(sp.Symbol(r"n_1"), n1_large), sp.Eq(sp.Symbol(r"n_2"), n2_large),
         sp.Eq(sp.Symbol(r"\sum_I\lambda_I"), lam_plus * sp.zeta(1 + alpha))),
        (sp.simplify(n1_int - n1_large),
         sp.simplify(mellin1 - sp.gamma(ssym) * sp.gamma(1 - ssym)),
         sp.simplify(mellin2 - sp.gamma(ssym) * sp.gamma(2 - ssym)),
         sp.simplify(zeta_sum - sp.zeta(2))),
    ))
    # asymptotic loss: N << T << M (ridgeless, T -> infinity), flat teacher omega = sigma_w2/M
    kap_N = sp.solve(sp.Eq(n1_large, N), kappa)[0]
    L_NT = sp.limit(rl_N_flat, T, sp.oo)  # omega kappa N / 2
    L_N = sp.simplify(L_NT.subs(kappa, kap_N).subs(omega, sigma_w2 / M))
    pref = sigma_w2 * lam_plus / (2 * M) * C_a ** a
    expo_N = sp.simplify(sp.log(L_N / pref).expand(force=True) / sp.log(N))
    kap_T = kap_N.subs(N, T)
    L_T = sp.simplify(sp.limit(rl_T_flat, N, sp.oo).subs(kappa, kap_T).subs(omega, sigma_w2 / M))
    expo_T = sp.simplify(sp.log(L_T / pref).expand(force=True) / sp.log(T))
    steps.append(Step(
        "Leading asymptotic test loss",
        "Ridgeless, flat teacher, no noise. For $N\\ll T\\ll M$: $\\langle L\\rangle\\to\\omega\\kappa N/2$ "
        "with $n_1(\\kappa)=N$, so $\\langle L\\rangle\\simeq A\\,N^{-\\alpha}$; for $T\\ll N\\ll M$ "
        "the same with $T$. The prefactor is "
        "$A=\\frac{\\sigma_w^2\\lambda_+}{2M}\\left[\\frac{\\pi/(1+\\alpha)}{\\sin(\\pi/(1+\\alpha))}\\right]^{1+\\alpha}$.",
        (sp.Eq(sp.Symbol(r"\langle L\rangle_{N\ll T\ll M}"), pref * N ** (-alpha)),
         sp.Eq(sp.Symbol(r"\langle L\rangle_{T\ll N\ll M}"), pref * T ** (-alpha))),
        (sp.simplify(L_N - pref * N ** (-alpha)), sp.simplify(L_T - pref * T ** (-alpha)),
         expo_N + alpha, expo_T + alpha),
    ))

    results = {
        "self_consistent": sc,
        "kappa1": sp.Eq(kappa1, k1_sol),
        "df2": sp.Eq(D2, df2_closed),
        "bias": sp.Eq(B, bias_closed),
        "test_loss": sp.Eq(L, test_closed),
        "train_loss": sp.Eq(Ltr, train_closed),
        "newton_slope": sp.Eq(sp.Symbol(r"\partial_u F"), dF_closed),
        "newton_slope_ridgeless": sp.Eq(sp.Symbol(r"\partial_u \log n_1"), dF0),
        "ridgeless_test_N_lt_T": sp.Eq(sp.Symbol(r"\langle L\rangle_{N<T}"), rl_N),
        "ridgeless_test_T_lt_N": sp.Eq(sp.Symbol(r"\langle L\rangle_{T<N}"), rl_T),
        "duality": sp.Eq(sp.Symbol(r"\langle L\rangle_{T<N}(N,T)-\langle L\rangle_{N<T}(T,N)"), duality),
        "null_model": null_eq,
        "plateau_test_loss": sp.Eq(L_pl, plateau_test_closed),
        "plateau_train_loss": sp.Eq(Ltr_pl, plateau_train_closed),
        "n1_large_M": sp.Eq(n1, n1_large),
        "n2_large_M": sp.Eq(n2, n2_large),
        "asymptotic_N": sp.Eq(sp.Symbol(r"\langle L\rangle_{N\ll T\ll M}"), pref * N ** (-alpha)),
        "asymptotic_T": sp.Eq(sp.Symbol(r"\langle L\rangle_{T\ll N\ll M}"), pref * T ** (-alpha)),
        "prefactor": pref,
        "exponent_N": -alpha,
        "exponent_T": -alpha,
    }
    symbols = (
        (gamma, "ridge (training sum not divided by T)"),
        (M, "latent dimension"), (N, "number of features"), (T, "number of training samples"),
        (sigma_u2, "feature-weight variance times M"), (sigma_w2, "teacher-weight variance times M"),
        (lam_plus, "largest eigenvalue of the power law"),
        (alpha, "model-A exponent: $\\lambda_I=\\lambda_+I^{-(1+\\alpha)}$"),
        (noise, "label-noise variance"), (kappa, "renormalised ridge (projection side)"),
        (kappa1, "renormalised ridge (data side)"),
        (n1, "$\\sum_I\\lambda_I/(\\lambda_I+\\kappa)$"), (n2, "$\\sum_I\\lambda_I^2/(\\lambda_I+\\kappa)^2$"),
        (c1, "$\\sum_I\\omega_I\\lambda_I/(\\lambda_I+\\kappa)$"),
        (c2, "$\\sum_I\\omega_I\\lambda_I^2/(\\lambda_I+\\kappa)^2$"),
        (omega, "flat teacher variance $\\sigma_w^2/M$"),
    )
    return Derivation(
        title="Model A (linear features): deterministic equivalent",
        summary=(
            "Average test and train loss of random-feature ridge regression on power-law "
            "Gaussian data, for finite $M$, $N$, $T$, any ridge $\\gamma\\ge0$ and label noise, "
            "to leading order in the dual limit (deterministic equivalent)."
        ),
        symbols=symbols,
        assumptions=(
            "Leading order in 1/N, 1/T, 1/M (deterministic equivalents); finite-size corrections are O(1/N + 1/T).",
            "Linear features phi = U x; Gaussian x, w, U, label noise as in CONVENTIONS.md.",
        ),
        steps=tuple(steps),
        results=results,
    )
