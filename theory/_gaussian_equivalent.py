r"""Model A with nonlinear features: the Gaussian-equivalent loss theory.

The loss of ridge regression on nonlinear random features
``phi = sigma(U x)`` is evaluated (``numerics/_ridge_nonlinear.py``) by
conditioning on ``U`` and treating the features as Gaussian with their exact
second moments.  Each ingredient is derived here, with its approximation named:

1. *Moments given U* (exact): ``K = E_x[phi phi^T]``,
   ``k = E_x[phi y] = D U Lambda w`` with ``D = diag(E[sigma'(h_i)])`` (Stein's lemma),
   ``E[y^2] = w^T Lambda w``.
2. *Gaussian equivalence* (approximation G): ``y = theta_* . phi + e`` with
   ``theta_* = K^+ k`` and independent noise of variance
   ``sigma_eff^2 = E[y^2] - k^T K^+ k`` (zero for linear features of full rank).
3. *Deterministic equivalent in T* (approximation D): the Wishart lemma with
   ``n = T`` and ridge ``gamma / T`` gives ``kappa (T - df_1(kappa)) = gamma``; the
   excess risk is model A's derived building block with the eigenvalues ``d_i`` of
   ``K`` and teacher powers ``t_i``.
4. The test and train losses, and the limits ``gamma -> 0`` on both sides of
   ``rank K = T``.

The sums are ``df_1 = sum_i d_i/(d_i + kappa)``, ``df_2 = sum_i d_i^2/(d_i + kappa)^2``
and the bias ``B = kappa^2 sum_i t_i/(d_i + kappa)^2``.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from ._derivation import Derivation, Step
from ._freeprob import SYMBOLS as FP
from ._freeprob import wishart_renormalisation

__all__ = ["derive_gaussian_equivalent", "GE_SYMBOLS"]

gamma = sp.Symbol("gamma", nonnegative=True)
T, kappa, r = sp.symbols("T kappa r", positive=True)
df1, df2 = sp.symbols(r"\mathrm{df}_1 \mathrm{df}_2", positive=True)
Bsum = sp.Symbol(r"\mathcal{B}", nonnegative=True)
sig_eff = sp.Symbol(r"\sigma_{\mathrm{eff}}^2", nonnegative=True)
noise = sp.Symbol(r"\sigma_\varepsilon^2", nonnegative=True)

GE_SYMBOLS = {"gamma": gamma, "T": T, "kappa": kappa, "rank": r, "df1": df1, "df2": df2, "bias": Bsum,
              "sigma_eff2": sig_eff, "noise_var": noise}


def _stein_check():
    """E[sigma(g) g] = E[sigma'(g)] for g ~ N(0, 1): ReLU and a cubic."""
    g = sp.Symbol("g", real=True)
    pdf = sp.exp(-g**2 / 2) / sp.sqrt(2 * sp.pi)
    relu = sp.integrate(g * g * pdf, (g, 0, sp.oo)) - sp.integrate(pdf, (g, 0, sp.oo))
    cubic = sp.integrate(g**3 * g * pdf, (g, -sp.oo, sp.oo)) - sp.integrate(3 * g**2 * pdf, (g, -sp.oo, sp.oo))
    return sp.simplify(relu), sp.simplify(cubic)


def _equivalence_check():
    """Linear features of full column rank: k^T K^+ k = E[y^2], so sigma_eff^2 = 0."""
    w1, w2 = sp.symbols("w_1 w_2", real=True)
    U = sp.Matrix([[1, 2], [0, 1], [1, 1]])                     # N = 3 features, M = 2
    Lam = sp.diag(2, sp.Rational(1, 3))
    w = sp.Matrix([w1, w2])
    K = U * Lam * U.T
    k = U * Lam * w
    return sp.expand((k.T * K.pinv() * k)[0, 0] - (w.T * Lam * w)[0, 0])


@lru_cache(maxsize=None)
def derive_gaussian_equivalent() -> Derivation:
    """Derive the Gaussian-equivalent loss of model A with nonlinear features.

    >>> d = derive_gaussian_equivalent()
    >>> d["kappa_equation"]
    Eq(gamma, kappa*(T - \\mathrm{df}_1))
    >>> all(v == [0] * len(v) for v in d.verify().values())
    True
    """
    from ._ridge import derive_mrs

    steps = []
    stein = _stein_check()
    steps.append(Step(
        "Moments given U (Stein's lemma)",
        "Given $U$, $h=Ux$ is Gaussian with covariance $\\Sigma=U\\Lambda U^\\top$. The feature covariance "
        "$K=\\mathbb E_x[\\phi\\phi^\\top]$ is a function of $\\Sigma$ (the kernels of `features.md`), and "
        "$k=\\mathbb E_x[\\phi\\,y]=\\mathbb E_x[\\sigma(Ux)\\,x^\\top]w=D\\,U\\Lambda w$ with "
        "$D=\\mathrm{diag}(\\mathbb E[\\sigma'(h_i)])$ by Stein's lemma $\\mathbb E[\\sigma(g)g]=\\mathbb E[\\sigma'(g)]$ "
        "(checked for ReLU and $g^3$); $\\mathbb E[y^2]=w^\\top\\Lambda w$. Exact.",
        (sp.Eq(sp.Symbol("k"), sp.Symbol(r"D\,U\Lambda w")),),
        stein, kind="identity"))
    steps.append(Step(
        "Gaussian equivalence (approximation G)",
        "The features are replaced by a Gaussian vector with second moment $K$, and the label by "
        "$y=\\theta_*\\cdot\\phi+e$ with $\\theta_*=K^+k$ (the best linear predictor) and independent noise "
        "of variance $\\sigma_{\\mathrm{eff}}^2=\\mathbb E[y^2]-k^\\top K^+k$: the part of $y$ no linear "
        "function of the features captures. Check: for linear features of full column rank "
        "$k^\\top K^+k=w^\\top\\Lambda w$, so $\\sigma_{\\mathrm{eff}}^2=0$ and the theory is model A's.",
        (sp.Eq(sig_eff, sp.Symbol(r"\mathbb{E}[y^2]-k^\top K^{+}k")),),
        (_equivalence_check(),), kind="definition"))
    renorm = wishart_renormalisation().results["renormalisation"]
    lemma = renorm.subs({FP["kappa"]: gamma / T, FP["kappa_t"]: kappa, FP["Df"]: df1, FP["n"]: T},
                        simultaneous=True)
    keq = sp.Eq(gamma, kappa * (T - df1))
    steps.append(Step(
        "Deterministic equivalent in T (approximation D)",
        "Ridge regression on $T$ samples with the training sum not divided by $T$ has ridge $\\gamma/T$ on "
        "the sample covariance; the Wishart lemma with $n=T$ (`model_a.md`) renormalises it to $\\kappa$ with "
        "$\\mathrm{df}_1(\\kappa)=\\sum_id_i/(d_i+\\kappa)$ over the eigenvalues $d_i$ of $K$.",
        (keq,),
        (sp.simplify(lemma.lhs - lemma.rhs - (keq.lhs - keq.rhs) / T),)))
    mrs = derive_mrs()
    risk_step = next(s for s in mrs.steps if s.title == "Risk of ridge regression on Gaussian features")
    risk = risk_step.equations[0].rhs
    sig2 = sig_eff + noise
    excess = risk.subs({sp.Symbol(r"\mathcal{B}"): Bsum, sp.Symbol(r"\sigma_e^2"): sig2,
                        sp.Symbol(r"\mathrm{df}_2"): df2}, simultaneous=True)
    test = (excess + sig_eff) / 2
    train = (gamma / (T * kappa)) ** 2 * (excess + sig2) / 2
    steps.append(Step(
        "Test and train loss",
        "Model A's derived excess risk of ridge regression on Gaussian features (building block of "
        "`model_a.md`) with the noise $\\sigma^2=\\sigma_{\\mathrm{eff}}^2+\\sigma_\\varepsilon^2$ and the bias "
        "$\\mathcal B=\\kappa^2\\sum_it_i/(d_i+\\kappa)^2$, $t_i=d_i(v_i\\cdot\\theta_*)^2$ averaged over the "
        "teacher (exact: the losses are linear in $t_i$ and $\\sigma_{\\mathrm{eff}}^2$). The test loss adds "
        "the irreducible $\\sigma_{\\mathrm{eff}}^2$ (the $1/2$ of the loss definitions); the train loss carries "
        "$(\\gamma/(T\\kappa))^2=(1-\\mathrm{df}_1/T)^2$. Check: that identity on the $\\kappa$ equation.",
        (sp.Eq(sp.Symbol(r"\langle L\rangle"), test), sp.Eq(sp.Symbol(r"\langle L_{\mathrm{train}}\rangle"), train)),
        (sp.simplify(train.subs(gamma, keq.rhs)
                     - (1 - df1 / T) ** 2 * (Bsum + sig2) / (2 * (1 - df2 / T))),)))
    # ridgeless, rank r < T: kappa -> 0, df1, df2 -> r, B -> 0
    lim = {df1: r, df2: r, Bsum: 0}
    test_full = sp.simplify(test.subs(lim))
    train_full = sp.simplify(sp.limit(train.subs(gamma, keq.rhs).subs(lim), kappa, 0))
    test_full_closed = (sig2 * r / (T - r) + sig_eff) / 2
    train_full_closed = sig2 * (1 - r / T) / 2
    steps.append(Step(
        "Ridgeless limits",
        "At $\\gamma\\to0$: if $\\mathrm{rank}\\,K=r>T$ the ridgeless root $\\mathrm{df}_1(\\kappa_0)=T$ is positive "
        "and the train loss vanishes (interpolation); if $r<T$, $\\kappa\\to0$ with $\\mathrm{df}_1,\\mathrm{df}_2\\to r$ "
        "and $\\mathcal B\\to0$: least squares in the range of $K$; at $r=T$ the test loss diverges.",
        (sp.Eq(sp.Symbol(r"\langle L\rangle_{r<T}"), test_full_closed),
         sp.Eq(sp.Symbol(r"\langle L_{\mathrm{train}}\rangle_{r<T}"), train_full_closed),
         sp.Eq(sp.Symbol(r"\mathrm{df}_1(\kappa_0)"), T)),
        (sp.simplify(test_full - test_full_closed), sp.simplify(train_full - train_full_closed))))
    results = {
        "sigma_eff": sp.Eq(sig_eff, sp.Symbol(r"\mathbb{E}[y^2]-k^\top K^{+}k")),
        "kappa_equation": keq,
        "excess_risk": sp.Eq(sp.Symbol(r"\mathcal{E}"), excess),
        "test_loss": sp.Eq(sp.Symbol(r"\langle L\rangle"), test),
        "train_loss": sp.Eq(sp.Symbol(r"\langle L_{\mathrm{train}}\rangle"), train),
        "test_loss_full_rank": sp.Eq(sp.Symbol(r"\langle L\rangle_{r<T}"), test_full_closed),
        "train_loss_full_rank": sp.Eq(sp.Symbol(r"\langle L_{\mathrm{train}}\rangle_{r<T}"), train_full_closed),
    }
    symbols = ((gamma, "ridge (training sum not divided by T)"), (T, "number of training samples"),
               (kappa, "renormalised ridge"), (r, "rank of K"),
               (df1, "$\\sum_id_i/(d_i+\\kappa)$"), (df2, "$\\sum_id_i^2/(d_i+\\kappa)^2$"),
               (Bsum, "$\\kappa^2\\sum_it_i/(d_i+\\kappa)^2$"),
               (sig_eff, "variance of $y$ outside the linear span of the features"),
               (noise, "label-noise variance"))
    return Derivation(
        title="Model A with nonlinear features: the Gaussian-equivalent loss",
        summary=("Test and train loss of ridge regression on nonlinear random features given $U$: exact "
                 "moments, Gaussian equivalence (G) and the deterministic equivalent in $T$ (D); the "
                 "average over $U$ is by sampling."),
        symbols=symbols,
        assumptions=(
            "Gaussian equivalence of the features given U (approximation G); exact for linear features.",
            "Leading order in 1/T (deterministic equivalent, approximation D); the average over U by sampling.",
        ),
        steps=tuple(steps),
        results=results,
    )
