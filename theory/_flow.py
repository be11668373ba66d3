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

Then the two-point (two-frequency) kernels for finite ``N`` and ``P`` (test
and train loss, label noise), from a stated second-order equivalent whose
equal-argument form is checked against the one-point lemma, and which reduce
to model A's derived bias and df2 at equal arguments; and the compute-optimal
allocation at ``P = inf``.
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
    # ---------------------------------------------------------------- two-point
    kp = sp.Symbol("kappa'")
    n1p, sig2, Mm = sp.symbols("n_1' sigma_epsilon^2 M", positive=True)
    Su, Sul, S0, S1, S2 = sp.symbols(r"S_u S_{u\lambda} S_0 S_1 S_2")
    kk, nn = sp.symbols("kappa n", positive=True)
    af, a0f = sp.Function("a")(kk), sp.Function("a_0")(kk)
    m1f = af - kk * a0f
    n1f_, n2f_ = Mm - kk * af, Mm - 2 * kk * af + kk**2 * a0f
    zf = kk * (1 - n1f_ / nn)
    lhs2 = -zf**2 * sp.diff(kk / zf * af, kk) / sp.diff(zf, kk)
    rhs2 = kk**2 * (a0f + m1f**2 / (nn - n2f_))
    two_pt_check = sp.simplify((lhs2 - rhs2).subs(sp.Derivative(af, kk), -a0f))
    steps.append(Step(
        "Two-point deterministic equivalent",
        "Building block (second-order equivalent of a sample covariance of $n$ samples, e.g. "
        "Atanasov, Zavatone-Veth & Pehlevan 2024): with $Q_i=(\\hat\\Sigma+z_i)^{-1}$, "
        "$R_i=(\\Sigma+\\kappa_i)^{-1}$ and $z_i=\\kappa_i(1-D_f(\\kappa_i)/n)$, "
        "$z_1z_2\\,Q_1AQ_2\\simeq\\kappa_1\\kappa_2\\big[R_1AR_2+R_1\\Sigma R_2\\,"
        "\\tfrac{\\mathrm{tr}(A\\Sigma R_1R_2)/n}{1-\\mathrm{tr}(\\Sigma^2R_1R_2)/n}\\big]$. "
        "Check: at $z_1=z_2$, $A=I$ its trace equals $-z^2\\partial_z\\mathrm{tr}\\,Q$ computed from the "
        "one-point lemma (with $a=\\mathrm{tr}R$, $a_0=\\mathrm{tr}R^2$).",
        (sp.Eq(sp.Symbol(r"z^2\mathrm{tr}Q^2"), rhs2),),
        (two_pt_check,),
        kind="building block"))
    f_np = (1 - n1 / N) * (1 - n1 / P)
    keq2 = sp.Eq(s, kappa * f_np)
    fn1b = sp.Function("n_1")(kappa)
    ds2 = sp.diff(kappa * (1 - fn1b / N) * (1 - fn1b / P), kappa).subs(
        sp.Derivative(fn1b, kappa), (n2 - fn1b) / kappa).subs(fn1b, n1)
    ds2_closed = (1 - n1 / N) * (1 - n1 / P) + (n2 - n1) * (-(1 - n1 / P) / N - (1 - n1 / N) / P)
    steps.append(Step(
        "Finite N and P: the one-point equation",
        "Gradient flow in the Laplace domain is ridge regression with ridge $s$: "
        "$\\hat v(s)=(s+F\\hat\\Sigma)^{-1}w^*=v_{\\rm ridge}(s)/s$. Conditioning on $A$, the data side is the "
        "lemma with $n=P$ ($s=\\kappa_1(1-n_1/P)$) and the projection side the lemma with $n=N$ "
        "($\\kappa_1=\\kappa(1-n_1/N)$), as in model A.",
        (keq2, sp.Eq(sp.Symbol("s'(kappa)"), ds2_closed)),
        (sp.simplify(ds2 - ds2_closed),)))
    B2 = kappa * kp * (Su + Sul * S1 / (N - S2))
    D2k = n1 + n1p - Mm + kappa * kp * (S0 + S1**2 / (N - S2))
    G_test = (B2 + sig2 * D2k / P) / (1 - D2k / P)
    G_train = (1 - n1 / P) * (1 - n1p / P) * (B2 + sig2) / (1 - D2k / P)
    # equal arguments reproduce model A's derived bias and df2 (teacher weights omega_k = w_k^2)
    c1, c2, n2s = sp.symbols("c_1 c_2 n_2", positive=True)
    eq_args = {kp: kappa, n1p: n1, Su: (c1 - c2) / kappa, Sul: c2, S1: (n1 - n2s) / kappa, S2: n2s,
               S0: (Mm - 2 * n1 + n2s) / kappa**2}
    B_A = kappa * c1 - kappa * (N - n1) * c2 / (N - n2s)
    D_A = (N * n2s + n1**2 - 2 * n1 * n2s) / (N - n2s)
    steps.append(Step(
        "Two-frequency kernels",
        "Given $A$, the data-side two-point equivalent gives "
        "$\\mathbb{E}[v_{\\rm ridge}(s)^\\top\\Lambda v_{\\rm ridge}(s')]=(\\mathcal{B}+\\sigma_\\epsilon^2d_2/P)/(1-d_2/P)$ "
        "with $d_2=\\mathrm{tr}\\,C^2(C+\\kappa_1)^{-1}(C+\\kappa_1')^{-1}$ and $\\mathcal{B}$ the bias plus "
        "misspecification, which the push-through identity turns into "
        "$\\kappa_1\\kappa_1'u^\\top(K+\\kappa_1)^{-1}(K+\\kappa_1')^{-1}u$. The projection-side two-point "
        "equivalent ($n=N$, $A=I$) then gives $B$ and $D$ in the cross sums "
        "$S_x=\\sum_k x_k/((\\lambda_k+\\kappa)(\\lambda_k+\\kappa'))$ with $x=u^2,u^2\\lambda,1,\\lambda,\\lambda^2$. "
        "The train kernel carries $(s/\\kappa_1)(s'/\\kappa_1')=(1-n_1/P)(1-n_1'/P)$ and the full label noise. "
        "Check: at $\\kappa=\\kappa'$ they are model A's derived $B$ and $D_2$.",
        (sp.Eq(sp.Symbol("B(kappa,kappa')"), B2), sp.Eq(sp.Symbol("D(kappa,kappa')"), D2k),
         sp.Eq(sp.Symbol("G_test"), G_test), sp.Eq(sp.Symbol("G_train"), G_train)),
        (sp.simplify(B2.subs(eq_args, simultaneous=True) - B_A),
         sp.simplify(D2k.subs(eq_args, simultaneous=True) - D_A),
         sp.limit(G_test, P, sp.oo) - B2)))
    steps.append(Step(
        "Loss curves by double inverse Laplace transform",
        "$L(t)=\\frac{1}{(2\\pi i)^2}\\iint e^{(s+s')t}\\frac{G(\\kappa,\\kappa')}{ss'}\\,ds\\,ds'$, taken over "
        "Talbot contours in $\\kappa$ and $\\kappa'$ with $ds=s'(\\kappa)d\\kappa$. The simple zero of $s$ at "
        "$n_1(\\kappa_0)=\\min(N,P)$ contributes $G(\\kappa_0,\\kappa_0)$: the $t\\to\\infty$ (ridgeless) loss, "
        "twice model A's ridgeless loss with teacher variances $w_k^{*2}$; at $N=P$ the zero is double and the "
        "late-time loss diverges (the interpolation peak).",
        (), kind="derived"))
    # ensembles: E students, independent projections, same data
    Gc_test = (kappa * kp * Su + sig2 * S2 / P) / (1 - S2 / P)
    Gc_train = (1 - n1 / P) * (1 - n1p / P) * (kappa * kp * Su + sig2) / (1 - S2 / P)
    Ee = sp.Symbol("E", positive=True)
    L1, Lc = sp.symbols("L_1 L_c")
    LE = L1 / Ee + (1 - 1 / Ee) * Lc
    steps.append(Step(
        "Ensembles of E students",
        "The mean predictor of $E$ students with independent projections on the same data has "
        "$L_E=L_1/E+(1-1/E)L_c$, with $L_c$ the loss cross term of two students. Given the data, "
        "each projection averages independently: $(s+F\\hat\\Sigma)^{-1}\\simeq(s+\\tau\\hat\\Sigma)^{-1}$ "
        "with $\\tau=1-n_1/N$, so $L_c$ is the $N=\\infty$ kernel (only the data-side two-point equivalent) "
        "evaluated at the finite-$N$ renormalised $\\kappa(s)$: the projection variance "
        "($S_1$ term of $B$) and the projection part of $D$ average out. Check: the cross kernel is the "
        "single-student kernel at $N=\\infty$.",
        (sp.Eq(sp.Symbol("L_E"), LE), sp.Eq(sp.Symbol("G_c,test"), Gc_test),
         sp.Eq(sp.Symbol("G_c,train"), Gc_train)),
        (sp.simplify(sp.limit(G_test, N, sp.oo).subs(S0, (S2 - n1 - n1p + Mm) / (kappa * kp)) - Gc_test),
         sp.simplify(sp.limit(G_train, N, sp.oo).subs(S0, (S2 - n1 - n1p + Mm) / (kappa * kp)) - Gc_train))))

    # discrete-time gradient descent
    eta, nst, lamx = sp.symbols("eta n lambda_x", positive=True)
    gd_res = sp.residue((1 + eta * s) ** 5 / (s + lamx), s, -lamx)       # n = 5 as a check
    gd_residue = sp.residue((1 + eta * s) ** nst / (s + lamx), s, -lamx)  # one eigenvalue, n steps
    steps.append(Step(
        "Discrete-time gradient descent",
        "$v_n=(I-\\eta K)^nw^*=\\frac{1}{2\\pi i}\\oint(1+\\eta s)^n(s+K)^{-1}w^*ds$ around the spectrum of "
        "$-K$, so $L_n=\\frac{1}{(2\\pi i)^2}\\oint\\oint(1+\\eta s)^n(1+\\eta s')^n\\frac{G(\\kappa,\\kappa')}{ss'}ds\\,ds'$ "
        "with the same kernels. With $1+\\eta s=e^{w}$ the weight is $e^{nw}$ and a Talbot contour in $w$ "
        "applies when $\\eta\\lambda_{\\max}(K)<1$, where $-\\lambda_{\\max}(K)=\\max_{\\kappa<-\\lambda_1}s(\\kappa)$ "
        "is the spectral edge. Check: the residue for one eigenvalue is $(1-\\eta\\lambda)^n$.",
        (sp.Eq(sp.Symbol("L_n"), sp.Symbol(r"(2\pi i)^{-2}\iint e^{n(w+w')}G\,\frac{e^{w}e^{w'}}{\eta^2ss'}dw\,dw'")),),
        (sp.simplify(gd_res - (1 - eta * lamx) ** 5),)))

    # compute-optimal allocation at P = inf: L = a t^-beta + b N^-c, C = N t
    a_, b_, C_, Nv, c_ = sp.symbols("a b C N_v c", positive=True)
    Lc = a_ * (C_ / Nv) ** (-beta) + b_ * Nv ** (-c_)
    Nstar = sp.solve(sp.diff(Lc, Nv), Nv)[0]
    xN = sp.simplify(sp.diff(sp.log(Nstar), C_) * C_)
    xt = sp.simplify(1 - xN)
    xL = sp.simplify(-c_ * xN)
    c_val = alpha * sp.Min(beta, 1)
    steps.append(Step(
        "Compute-optimal allocation (P = inf)",
        "With $L(t,N)\\simeq a\\,t^{-\\beta}+b\\,N^{-c}$, $c=\\alpha\\min(\\beta,1)$, and compute $C=Nt$, "
        "stationarity in $N$ at fixed $C$ gives $N^*\\propto C^{\\beta/(\\beta+c)}$, $t^*\\propto C^{c/(\\beta+c)}$, "
        "$L^*\\propto C^{-\\beta c/(\\beta+c)}$: $t^*$ grows faster than $N^*$ iff $c>\\beta$ "
        "(for $\\beta\\le1$: iff $\\alpha>1$).",
        (sp.Eq(sp.Symbol("N^*"), C_ ** xN), sp.Eq(sp.Symbol("t^*"), C_ ** xt), sp.Eq(sp.Symbol("L^*"), C_ ** xL)),
        (sp.simplify(xN - beta / (beta + c_)), sp.simplify(xt - c_ / (beta + c_)),
         sp.simplify(xL + beta * c_ / (beta + c_)))))

    # t = inf at N = inf, finite P: ridgeless kernel regression; exponent in P
    g2_int = sp.integrate(x ** (-(alpha * beta + 1)) * kap0**2 / (x ** (-alpha) + kap0) ** 2, (x, 0, sp.oo),
                          conds="none")
    g2_lead = kap0 ** beta * sp.pi * (1 - beta) / (alpha * sp.sin(sp.pi * beta))
    steps.append(Step(
        "t -> inf at N = inf: the exponent in P",
        "At $N=\\infty$ the pole at $n_1(\\kappa_0)=P$ gives the ridgeless kernel-regression loss "
        "$G(\\kappa_0,\\kappa_0)=\\kappa_0^2\\sum_ku_k^2/(\\lambda_k+\\kappa_0)^2/(1-n_2/P)$. The Mellin integral of "
        "$\\kappa^2\\sum_k k^{-\\alpha\\beta-1}/(k^{-\\alpha}+\\kappa)^2$ scales as $\\kappa^{\\beta}$ for $\\beta<2$ and "
        "as $\\kappa^2\\sum_ku_k^2/\\lambda_k^2$ for $\\beta>2$, while $n_2/P$ tends to a constant: "
        "$L\\propto P^{-\\alpha\\min(\\beta,2)}$. The data-side term saturates at $\\beta=2$, the width term "
        "(a projection, one power of $\\kappa$) at $\\beta=1$.",
        (sp.Eq(sp.Symbol(r"L(\infty)_{N=\infty}"), sp.Symbol(r"\kappa_0^2\sum_ku_k^2/(\lambda_k+\kappa_0)^2/(1-n_2/P)")),),
        (sp.simplify(g2_int.subs({alpha: 2, beta: sp.Rational(1, 2)}) - g2_lead.subs({alpha: 2, beta: sp.Rational(1, 2)})),
         sp.simplify(g2_int.subs({alpha: 3, beta: sp.Rational(3, 2)}) - g2_lead.subs({alpha: 3, beta: sp.Rational(3, 2)})))))

    results = {
        "exponent_P": -alpha * sp.Min(beta, 2),
        "gd_residue": gd_residue,
        "kappa_equation": keq2,
        "ds_dkappa": ds2_closed,
        "bias_kernel": B2,
        "df_kernel": D2k,
        "test_kernel": G_test,
        "train_kernel": G_train,
        "ensemble_loss": sp.Eq(sp.Symbol("L_E"), LE),
        "ensemble_cross_test_kernel": Gc_test,
        "ensemble_cross_train_kernel": Gc_train,
        "compute_optimal_N": (beta / (beta + c_)).subs(c_, c_val),
        "compute_optimal_t": (c_ / (beta + c_)).subs(c_, c_val),
        "compute_optimal_loss": (-beta * c_ / (beta + c_)).subs(c_, c_val),
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
