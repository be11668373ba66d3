"""Model B trained by online SGD (``P = inf``, batch ``B``, step ``eta``), derived.

Each step is checked by :meth:`Derivation.verify` (explicit small cases where the
statement is about matrices).  The numeric layer (:mod:`scaling_theory.numerics._flow_sgd`)
evaluates the final generating function; a test proves that its hand-written form
equals the one derived here.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from ._derivation import Derivation, Step

__all__ = ["derive_bap_sgd", "SGD_SYMBOLS"]

eta, B = sp.symbols("eta B", positive=True)
j, s, x, w = sp.symbols("j s x w")
kappa, N = sp.symbols("kappa N")
n1, g1, trL = sp.symbols("n_1 g_1 tr_Lambda")
sigma2 = sp.Symbol("sigma^2", nonnegative=True)
Lhat, F1, Q = sp.symbols(r"\hat{L} F_1 Q")

SGD_SYMBOLS = {"eta": eta, "B": B, "j": j, "s": s, "x": x, "w": w, "kappa": kappa, "N": N,
               "n1": n1, "g1": g1, "trLambda": trL, "sigma2": sigma2}


def _gauss_expect(expr, psi, variances):
    """E[expr] for independent centred Gaussians psi_i of the given variances (Isserlis,
    by replacing each monomial by its moment)."""
    poly = sp.Poly(sp.expand(expr), *psi)
    out = 0
    for powers, coeff in poly.terms():
        m = coeff
        for p, v in zip(powers, variances):
            if p % 2:
                m = 0
                break
            m *= sp.factorial2(p - 1) * v ** (p // 2) if p else 1
        out += m
    return sp.expand(out)


def rho(jj):
    """Per-step factor of the second moment along an eigenvalue ``j`` of ``J``."""
    return (1 - eta * jj) ** 2 + eta**2 * jj**2 / B


@lru_cache(maxsize=1)
def derive_bap_sgd() -> Derivation:
    steps = []
    steps.append(Step(
        "Online SGD on the error",
        "With $F=A^\\top A/N$, $v=w^*-A^\\top\\theta/\\sqrt N$ and a fresh batch $\\Psi_B$ (rows "
        "$\\psi_b\\sim\\mathcal N(0,\\Lambda)$, label noise $\\epsilon_b$ of variance $\\sigma^2$), the batch-mean "
        "step is $v\\leftarrow v-\\eta F(\\hat S v+\\Psi_B^\\top\\epsilon_B/B)$ with "
        "$\\hat S=\\Psi_B^\\top\\Psi_B/B$, $\\mathbb E\\hat S=\\Lambda$; the test loss is "
        "$L=\\mathbb E\\,v^\\top\\Lambda v=\\operatorname{tr}\\Lambda C$, $C=\\mathbb E\\,vv^\\top$.",
        (), kind="identity"))
    # Gaussian fourth moment, checked on two modes
    l1, l2 = sp.symbols("lambda_1 lambda_2", positive=True)
    p1, p2 = sp.symbols("psi_1 psi_2")
    c11, c12, c22 = sp.symbols("C_11 C_12 C_22")
    C = sp.Matrix([[c11, c12], [c12, c22]])
    Lam = sp.diag(l1, l2)
    psi = sp.Matrix([p1, p2])
    quart = (psi * psi.T) * C * (psi * psi.T)
    E = quart.applyfunc(lambda e: _gauss_expect(e, (p1, p2), (l1, l2)))
    iss = 2 * Lam * C * Lam + Lam * (Lam * C).trace()
    steps.append(Step(
        "Gaussian fourth moment",
        "$\\mathbb E[\\psi\\psi^\\top C\\psi\\psi^\\top]=2\\Lambda C\\Lambda+\\Lambda\\operatorname{tr}(\\Lambda C)$ "
        "(Isserlis; checked on two modes), hence "
        "$\\mathbb E[\\hat SC\\hat S]=\\Lambda C\\Lambda+\\frac1B(\\Lambda C\\Lambda+\\Lambda\\operatorname{tr}\\Lambda C)$ and "
        "$C'=C-\\eta(F\\Lambda C+C\\Lambda F)+\\eta^2(1+\\tfrac1B)F\\Lambda C\\Lambda F"
        "+\\tfrac{\\eta^2}{B}F\\Lambda F(\\operatorname{tr}\\Lambda C+\\sigma^2)$.",
        (sp.Eq(sp.Symbol(r"\mathbb{E}[\psi\psi^\top C\psi\psi^\top]"),
               sp.Symbol(r"2\Lambda C\Lambda+\Lambda\,\mathrm{tr}(\Lambda C)")),),
        tuple(sp.simplify(E - iss))))
    # symmetrised recursion, diagonal in the eigenbasis of J: checked with a diagonal 2x2 J
    j1, j2 = sp.symbols("j_1 j_2", nonnegative=True)
    d11, d12, d22, L_ = sp.symbols("d_11 d_12 d_22 L")
    J = sp.diag(j1, j2)
    D = sp.Matrix([[d11, d12], [d12, d22]])
    I2 = sp.eye(2)
    Dn = (I2 - eta * J) * D * (I2 - eta * J) + eta**2 / B * (J * D * J + J**2 * (D.trace() + sigma2))
    steps.append(Step(
        "Diagonal recursion in the eigenbasis of J",
        "With $D=\\Lambda^{1/2}C\\Lambda^{1/2}$ and $J=\\Lambda^{1/2}F\\Lambda^{1/2}$: "
        "$D'=(I-\\eta J)D(I-\\eta J)+\\frac{\\eta^2}{B}\\big(JDJ+J^2(\\operatorname{tr}D+\\sigma^2)\\big)$ and "
        "$L=\\operatorname{tr}D$. The diagonal of $D$ in the eigenbasis of $J$ closes on itself: "
        "$d_a'=\\rho(j_a)d_a+q(j_a)(L+\\sigma^2)$, $\\rho(j)=(1-\\eta j)^2+\\eta^2j^2/B$, $q(j)=\\eta^2j^2/B$, "
        "with $d_a(0)=(e_a\\cdot u)^2$, $u=\\Lambda^{1/2}w^*$. Exact given $A$.",
        (sp.Eq(sp.Symbol("d_a'"), sp.Symbol(r"\rho(j_a)d_a+q(j_a)(L+\sigma^2)")),
         sp.Eq(sp.Function("rho")(j), rho(j))),
        (sp.expand(Dn[0, 0] - (rho(j1) * d11 + eta**2 * j1**2 / B * (d11 + d22 + sigma2))),
         sp.expand(Dn[1, 1] - (rho(j2) * d22 + eta**2 * j2**2 / B * (d11 + d22 + sigma2))))))
    # generating function: two modes, solve the linear system
    Da1, Da2, LL = sp.symbols("D_1 D_2 Lhat")
    u1, u2 = sp.symbols("u_1 u_2", positive=True)
    q1, q2 = eta**2 * j1**2 / B, eta**2 * j2**2 / B
    noise_gf = sigma2 * x / (1 - x)
    sol = sp.solve([sp.Eq(Da1, u1**2 + x * (rho(j1) * Da1 + q1 * (LL + noise_gf / x))),
                    sp.Eq(Da2, u2**2 + x * (rho(j2) * Da2 + q2 * (LL + noise_gf / x))),
                    sp.Eq(LL, Da1 + Da2)], [Da1, Da2, LL], dict=True)[0][LL]
    F1_2 = u1**2 / (1 - x * rho(j1)) + u2**2 / (1 - x * rho(j2))
    Q_2 = q1 / (1 - x * rho(j1)) + q2 / (1 - x * rho(j2))
    gen = (F1 + x * Q * sigma2 / (1 - x)) / (1 - x * Q)
    steps.append(Step(
        "Generating function",
        "With $\\hat L(x)=\\sum_{n\\ge0}L(n)x^n$ (and $\\sum_n\\sigma^2x^{n+1}=\\sigma^2x/(1-x)$ for the "
        "noise), the recursion gives $\\hat L=[F_1+xQ\\sigma^2/(1-x)]/(1-xQ)$ with "
        "$F_1=\\sum_a u_a^2/(1-x\\rho_a)$, $Q=\\sum_a q_a/(1-x\\rho_a)$ (checked on two modes).",
        (sp.Eq(Lhat, gen),),
        (sp.simplify(sol - gen.subs({F1: F1_2, Q: Q_2})),)))
    # factorisation and partial fractions
    b = 1 + 1 / B
    e = sp.exp(w) - 1
    root = sp.sqrt(1 + b * e)
    s1 = -(1 + root) / (eta * b)
    s2 = e / (eta * (root + 1))
    c = eta**2 * b
    xw = sp.exp(-w)
    s2_plain = (root - 1) / (eta * b)
    fac = sp.expand(1 - xw * rho(j) + xw * c * (j + s1) * (j + s2_plain))
    R1, R2 = 1 / (j + s1), 1 / (j + s2_plain)
    pf = sp.together(1 / (1 - xw * rho(j)) - (R2 - R1) / (xw * c * (s2_plain - s1)))
    steps.append(Step(
        "Factorisation and partial fractions",
        "With $x=e^{-w}$ and $c=\\eta^2(1+1/B)$: $1-x\\rho(j)=-xc\\,(j+s_1)(j+s_2)$, "
        "$s_{1,2}=\\mp(1\\pm\\sqrt{1+(1+1/B)(e^w-1)})/(\\eta(1+1/B))$ (written $s_2=(e^w-1)/(\\eta(1+\\sqrt{\\cdot}))$), "
        "so $\\frac{1}{1-x\\rho(j)}=\\frac{R(s_2)-R(s_1)}{xc(s_2-s_1)}$ with $R(s)=1/(j+s)$: both sums are "
        "one-point resolvents of $J$. For $w>0$: $s_1<-2/(\\eta(1+1/B))$, $s_2>0$.",
        (sp.Eq(sp.Symbol("s_1"), s1), sp.Eq(sp.Symbol("s_2"), s2),
         sp.Eq(1 / (1 - x * sp.Function("rho")(j)), sp.Symbol(r"\frac{R(s_2)-R(s_1)}{xc(s_2-s_1)}"))),
        (sp.simplify(fac), sp.simplify(s2_plain - s2), sp.simplify(sp.numer(pf).subs(sp.exp(-w), 1 / sp.exp(w)))),
        kind="derived"))
    # resolvents by the renormalisation lemma
    ident = j**2 / (j + s) - (j - s * j / (j + s))
    steps.append(Step(
        "The two resolvents from the one-point lemma",
        "$u^\\top(J+s)^{-1}u=(\\kappa/s)g_1(\\kappa)$ (model B at $P=\\infty$, $s=\\kappa(1-n_1/N)$), and "
        "$\\sum_a j_a^2/(j_a+s)=\\operatorname{tr}J-s\\sum_a j_a/(j_a+s)=\\operatorname{tr}\\Lambda-s\\,n_1(\\kappa)$, "
        "using $\\sum_a j_a/(j_a+s)=M-s\\operatorname{tr}(J+s)^{-1}\\simeq n_1(\\kappa)$ and "
        "$\\mathbb E\\operatorname{tr}J=\\operatorname{tr}\\Lambda$ (no $M$ left: $M=\\infty$ is allowed).",
        (sp.Eq(sp.Symbol(r"u^\top(J+s)^{-1}u"), kappa / s * g1),
         sp.Eq(sp.Symbol(r"\sum_a j_a^2/(j_a+s)"), trL - s * n1)),
        (sp.simplify(ident),)))
    # inversion and limits
    Lgd = u1**2 * rho(j1).subs(B, sp.oo) ** 3
    steps.append(Step(
        "Inversion and limits",
        "$L(n)=\\frac{1}{2\\pi i}\\int\\hat L(e^{-w})e^{wn}dw$ on a Talbot contour in the strip "
        "$|\\operatorname{Im}w|<\\pi$ (every singularity, $w=\\log\\rho(j_a)$ and the zeros of $1-xQ$, lies on "
        "the negative real axis when $\\eta<2/(\\lambda_{\\max}(J)(1+1/B))$). $B\\to\\infty$: $Q\\to0$ and "
        "$\\rho\\to(1-\\eta j)^2$, full-batch gradient descent at $P=\\infty$. $t\\to\\infty$: "
        "$L(\\infty)=\\lim_{x\\to1}(1-x)\\hat L=(L_0+Q_1\\sigma^2)/(1-Q_1)$ with $L_0=\\kappa_0g_1(\\kappa_0)$ "
        "(null space of $J$, $N<M$) and $Q_1=-n_1(\\kappa(s_1))/(B+1)$ at $s_1=-2/(\\eta(1+1/B))$.",
        (sp.Eq(sp.Symbol(r"L(\infty)"), sp.Symbol(r"\frac{L_0+Q_1\sigma^2}{1-Q_1}")),),
        (sp.limit(eta**2 * j**2 / B, B, sp.oo),
         sp.limit(rho(j), B, sp.oo) - (1 - eta * j) ** 2,
         sp.simplify(eta / B * j / (2 - eta * b * j) + 1 / (B + 1) * j / (j - 2 / (eta * b))),
         sp.simplify(Lgd - u1**2 * (1 - eta * j1) ** 6))))
    # stability of the second moment: transfer matrix T = diag(rho) + q 1^T (determinant lemma)
    z = sp.Symbol("z")
    r1, r2, r3, qq1, qq2, qq3 = sp.symbols("rho_1 rho_2 rho_3 q_1 q_2 q_3")
    rhos, qs_ = (r1, r2, r3), (qq1, qq2, qq3)
    T3 = sp.diag(*rhos) + sp.Matrix(3, 1, qs_) * sp.ones(1, 3)
    det_lemma = sp.expand((z * sp.eye(3) - T3).det()
                          - sp.prod([z - r for r in rhos]) * (1 - sum(q / (z - r) for q, r in zip(qs_, rhos))))
    Q1 = sp.Symbol("Q_1")
    per_mode = eta**2 * j**2 / B / (1 - rho(j))
    steps.append(Step(
        "Stability of the second moment",
        "The recursion is $d(n+1)=T\\,d(n)+q\\sigma^2$ with $T=\\operatorname{diag}(\\rho_a)+q\\mathbf 1^\\top$, "
        "and $\\det(z-T)=\\prod_a(z-\\rho_a)\\,\\big(1-\\sum_a q_a/(z-\\rho_a)\\big)$ (matrix determinant lemma, "
        "checked on three modes). $T\\ge0$ entrywise, so its spectral radius is the largest real root; "
        "$\\phi(z)=\\sum_a q_a/(z-\\rho_a)$ falls from $+\\infty$ to 0 on $z>\\max_a\\rho_a$, hence the second "
        "moment decays iff $\\rho(j)<1$ on the spectrum, i.e. $\\eta<2/(\\lambda_{\\max}(J)(1+1/B))$ (the mean), "
        "**and** the noise feedback $Q_1=\\phi(1)<1$. Per mode $q/(1-\\rho)=\\eta j/(B(2-\\eta(1+1/B)j))$, so "
        "$Q_1=\\frac{\\eta}{B}\\sum_a\\frac{j_a}{2-\\eta(1+1/B)j_a}=-\\frac{n_1(\\kappa(s_1))}{B+1}$ at "
        "$s_1=-2/(\\eta(1+1/B))$. The edge of stability is the smaller of the mean bound and the root of "
        "$Q_1(\\eta)=1$, i.e. of $n_1(\\kappa^*)=-(B+1)$ on $\\kappa^*<-\\lambda_1$ with "
        "$\\eta^*=-2/((1+1/B)\\,s(\\kappa^*))$.",
        (sp.Eq(sp.Symbol(r"\det(z-T)"), sp.Symbol(r"\prod_a(z-\rho_a)\,(1-\sum_a q_a/(z-\rho_a))")),
         sp.Eq(Q1, sp.Symbol(r"-n_1(\kappa(s_1))/(B+1)")),
         sp.StrictLessThan(Q1, 1)),
        (det_lemma,
         sp.simplify(per_mode - eta * j / (B * (2 - eta * b * j))),
         sp.simplify(eta / B * j / (2 - eta * b * j) + 1 / (B + 1) * j / (j - 2 / (eta * b))))))
    ja, a_, Ma = sp.IndexedBase("j"), sp.Symbol("a", integer=True), sp.Symbol("M", integer=True)
    results = {
        "sgd_stability": sp.StrictLessThan(Q1, 1),
        "sgd_noise_feedback": sp.Eq(Q1, sp.Sum(eta / B * ja[a_] / (2 - eta * b * ja[a_]), (a_, 1, Ma))),
        "sgd_recursion": sp.Eq(sp.Symbol("d_a(n+1)"), sp.Function("rho")(j) * sp.Symbol("d_a(n)")
                               + eta**2 * j**2 / B * (sp.Symbol("L(n)") + sigma2)),
        "sgd_rho": sp.Eq(sp.Function("rho")(j), rho(j)),
        "sgd_generating_function": sp.Eq(Lhat, gen),
        "sgd_roots": (s1, s2),
        "sgd_resolvents": (kappa / s * g1, trL - s * n1),
    }
    return Derivation(
        title="Model B with online SGD (P = inf)",
        summary=("Online SGD with fresh batches of size $B$: the exact second-moment recursion given the "
                 "projection, its generating function in terms of two one-point resolvents of $J$, and the "
                 "deterministic equivalent that makes it a function of $n_1$ and $g_1$ only."),
        symbols=((eta, "learning rate"), (B, "batch size"), (j, "eigenvalue of J"),
                 (x, "generating-function variable, x = e^{-w}"), (sigma2, "label-noise variance")),
        assumptions=("P = inf: every batch is fresh", "Gaussian inputs psi ~ N(0, Lambda)",
                     "leading-order deterministic equivalent for the resolvents of J at finite N"),
        steps=tuple(steps),
        results=results,
    )
