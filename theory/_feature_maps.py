r"""Nonlinear random features extend the latent power law: the Hermite /
tensor-power theory of the feature spectrum, derived step by step.

Model A (``CONVENTIONS.md``): ``x ~ N(0, diag(lambda))`` in ``M``
dimensions, ``lambda_I = lambda_+ I^-(1+alpha)``, features
``phi_i(x) = act(h_i)`` with ``h = U x`` and ``U_iI ~ N(0, sigma_u2 / M)``.
The feature covariance ``K_ij = E_x[phi_i phi_j]`` is a function of the
pre-activation covariance ``Sigma = U diag(lambda) U^T``.

The chain (each step is checked by :meth:`Derivation.verify`):

1. Mehler's formula: for unit-variance ``(z_1, z_2)`` with correlation
   ``rho``, ``E[f(z_1) g(z_2)] = sum_n f_n g_n rho^n / n!`` with the Hermite
   coefficients ``f_n = E[f(z) He_n(z)]``;
2. ReLU's coefficients ``c_n(q) = E[relu(sqrt(q) z) He_n(z)]`` in closed form,
   and the arc-cosine kernel as their Mehler series;
3. erf's coefficients from the generating function
   ``E[erf(sqrt(q)(z + t))] = erf(t sqrt(q/(1+2q)))``, and the arcsine kernel
   as their Mehler series;
4. Hadamard powers and tensor powers: ``K = sum_n (1/n!) D_n Sigma^{o n} D_n``;
   in the Hermite-ordered basis the ``n``-th term has one eigenvalue
   ``N W_n lambda_{I_1}..lambda_{I_n}`` per multiset, with
   ``W_n = c_n(qbar)^2 / qbar^n (sigma_u2/M)^n``;
5. the weights of linear, ReLU and erf features, and the amplitude of the
   extension relative to the latent part;
6. the counting function of products of ``n`` power laws,
   ``#{prod lambda > lambda_+^n e^{-aL}} = V_n(L) / n!`` with
   ``V_n(L) = int_0^L e^u u^(n-1)/(n-1)! du``;
7. the local exponent of the extended spectrum, ``a (1 - (n-1)/L + ...)``,
   which tends to ``a = 1 + alpha`` with logarithmic corrections;
8. the extent: how many eigenvalues lie above a relative cutoff.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from ._derivation import Derivation, Step

__all__ = ["derive_feature_extension", "FEATURE_SYMBOLS"]

# -- symbols ----------------------------------------------------------------
z = sp.Symbol("z", real=True)
t, s = sp.symbols("t s", real=True)
rho = sp.Symbol("rho", real=True)
q, q1, q2 = sp.symbols("q q_1 q_2", positive=True)
qbar = sp.Symbol(r"\bar{q}", positive=True)
M, N = sp.symbols("M N", positive=True)
sigma_u2, lam_plus = sp.symbols(r"sigma_u^2 lambda_+", positive=True)
alpha = sp.Symbol("alpha", positive=True)
L, u, X, x = sp.symbols("L u X x", positive=True)
eps = sp.Symbol("epsilon", positive=True)
n = sp.Symbol("n", integer=True, positive=True)
k_ = sp.Symbol("k", integer=True, nonnegative=True)
Lam = sp.Symbol(r"\Lambda_S", positive=True)     # lambda_{I_1} ... lambda_{I_n}
W = sp.Function("W")
c = sp.Function("c")
V = sp.Function("V")

FEATURE_SYMBOLS = {
    "z": z, "rho": rho, "q": q, "q1": q1, "q2": q2, "qbar": qbar, "M": M, "N": N,
    "sigma_u2": sigma_u2, "lambda_plus": lam_plus, "alpha": alpha, "L": L, "n": n,
    "epsilon": eps, "Lambda_S": Lam,
}

_PHI = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)     # standard normal density
_ORDERS = 8                                        # ReLU orders checked explicitly
_SERIES = 12                                       # series orders (kernels, erf)


def _He(k, arg):
    return sp.hermite_prob(k, arg)


@lru_cache(maxsize=None)
def _moment(k, half):
    """``int z^k phi(z) dz`` over the real line or (``half``) over ``z > 0``."""
    return sp.integrate(z**k * _PHI, (z, 0 if half else -sp.oo, sp.oo))


def _gauss(expr, lower=-sp.oo):
    """Gaussian expectation of ``expr`` (over ``z > lower``, ``lower`` in {-oo, 0}).

    Polynomials in ``z`` go through the moments (one sympy integral per power,
    cached); anything else is integrated directly."""
    half = lower == 0
    poly = sp.Poly(sp.expand(expr), z) if sp.expand(expr).is_polynomial(z) else None
    if poly is None:
        return sp.integrate(expr * _PHI, (z, lower, sp.oo))
    return sum(coef * _moment(int(m[0]), half) for m, coef in zip(poly.monoms(), poly.coeffs()))


def relu_coefficient(k, var=q):
    """Closed form of ``c_k(q) = E[relu(sqrt(q) z) He_k(z)]``."""
    if k == 0:
        return sp.sqrt(var / (2 * sp.pi))
    if k == 1:
        return sp.sqrt(var) / 2
    return sp.sqrt(var / (2 * sp.pi)) * _He(k - 2, 0)


def erf_coefficient(k, var=q):
    """Closed form of ``c_k(q) = E[erf(sqrt(q) z) He_k(z)]``."""
    if k % 2 == 0:
        return sp.Integer(0)
    j = (k - 1) // 2
    return (2 / sp.sqrt(sp.pi) * (-1) ** j * sp.factorial(2 * j) / sp.factorial(j)
            * (var / (1 + 2 * var)) ** sp.Rational(k, 2))


def counting_volume(order, var=L):
    """``V_n(L) = e^L sum_{j<n} (-1)^(n-1-j) L^j / j! + (-1)^n`` for ``n = order``."""
    return (sp.exp(var) * sum((-1) ** (order - 1 - j) * var**j / sp.factorial(j)
                              for j in range(order)) + (-1) ** order)


def local_exponent(order, var=L):
    """``-d log mu / d log(count)`` for products of ``order`` power laws, at ``L``."""
    a = 1 + alpha
    vol = counting_volume(order, var)
    return a * sp.factorial(order - 1) * sp.exp(-var) * vol / var ** (order - 1)


@lru_cache(maxsize=None)
def derive_feature_extension() -> Derivation:
    """Derive how nonlinear features extend the latent power-law spectrum.

    Returns a :class:`~theory.Derivation` whose ``results`` include the
    Hermite coefficients of ReLU and erf (``relu_c0``, ``relu_c1``,
    ``relu_cn``, ``erf_cn``), the kernels as Mehler series
    (``arccos_kernel``, ``arcsine_kernel``), the tensor-power eigenvalue
    (``eigenvalue``, weight ``weight``), the weights of each activation
    (``weight_linear``, ``weight_relu``, ``weight_erf``), the amplitudes of
    the extension (``relu_amplitude``, ``erf_amplitude``), the counting
    function (``counting``, ``counting_leading``), the local exponent
    (``local_exponent``, its expansion ``local_exponent_asymptotic``) and
    ``exponent`` (its limit, ``1 + alpha``), the leading spectrum
    (``spectrum_leading``) and the extent (``extent``).

    Examples
    --------
    >>> d = derive_feature_extension()
    >>> d["exponent"]
    alpha + 1
    >>> d["relu_amplitude"].rhs
    2*sigma_u^2/(pi*M*\\bar{q})
    >>> all(r == 0 for rs in d.verify().values() for r in rs)
    True
    """
    steps = []
    a = 1 + alpha

    # 1. Mehler --------------------------------------------------------------
    # Hermite coefficients of e^{tz}: generating function of He_k,
    # E[e^{tz} e^{s z - s^2/2}] = e^{t^2/2} e^{ts}, so E[e^{tz} He_k] = t^k e^{t^2/2}
    gen_int = _gauss(sp.exp((t + s) * z)) * sp.exp(-s**2 / 2)
    gen_ser = sp.series(gen_int * sp.exp(-t**2 / 2), s, 0, 6).removeO()
    he_gen = sp.series(sp.exp(s * z - s**2 / 2), s, 0, 6).removeO()
    mehler_lhs = sp.exp((t**2 + s**2) / 2 + t * s * rho)      # E[e^{t z1 + s z2}]
    mehler_rhs = sp.exp((t**2 + s**2) / 2) * sp.summation(
        (t * s * rho) ** k_ / sp.factorial(k_), (k_, 0, sp.oo))
    steps.append(Step(
        "Mehler's formula",
        "Building block (Mehler 1866; O'Donnell, *Analysis of Boolean functions*, ch. 11): for "
        "$(z_1,z_2)$ standard normal with correlation $\\rho$ and probabilists' Hermite "
        "polynomials $He_n$ (generating function $e^{sz-s^2/2}=\\sum_n He_n(z)s^n/n!$), "
        "$\\mathbb{E}[f(z_1)g(z_2)]=\\sum_n f_ng_n\\rho^n/n!$ with $f_n=\\mathbb{E}[f(z)He_n(z)]$. "
        "Checked on the exponentials $f=e^{tz}$, $g=e^{sz}$, whose coefficients are "
        "$t^ne^{t^2/2}$ (from the generating function) and whose Mehler sum is "
        "$\\mathbb{E}[e^{tz_1+sz_2}]=e^{(t^2+s^2)/2+ts\\rho}$. With $h_i\\sim N(0,q_i)$ and "
        "$\\rho_{ij}=\\Sigma_{ij}/\\sqrt{q_iq_j}$: $K_{ij}=\\sum_n c_n(q_i)c_n(q_j)\\rho_{ij}^n/n!$, "
        "$c_n(q)=\\mathbb{E}[\\mathrm{act}(\\sqrt q z)He_n(z)]$.",
        (sp.Eq(sp.Symbol(r"\mathbb{E}[f(z_1)g(z_2)]"),
               sp.Sum(c(n, q1) * c(n, q2) * rho**n / sp.factorial(n), (n, 0, sp.oo))),),
        tuple(sp.expand(sp.factorial(j) * gen_ser.coeff(s, j) - t**j) for j in range(6))
        + tuple(sp.expand(sp.factorial(j) * he_gen.coeff(s, j) - _He(j, z)) for j in range(6))
        + (mehler_lhs - mehler_rhs,),
        kind="building block",
    ))

    # 2. ReLU coefficients and the arc-cosine kernel -------------------------
    relu_int = [_gauss(sp.sqrt(q) * z * _He(j, z), lower=0) for j in range(_ORDERS + 1)]
    relu_res = tuple(relu_int[j] - relu_coefficient(j) for j in range(_ORDERS + 1))
    cn_relu = sp.sqrt(q / (2 * sp.pi)) * sp.Function("He")(n - 2, 0)
    steps.append(Step(
        "Hermite coefficients of ReLU",
        "$c_n(q)=\\sqrt q\\int_0^\\infty zHe_n(z)\\varphi(z)dz$. With $He_n\\varphi=(-1)^n\\varphi^{(n)}$ "
        "and two integrations by parts, $c_n=\\sqrt{q/2\\pi}\\,He_{n-2}(0)$ for $n\\ge2$: "
        "$He_{2k}(0)=(-1)^k(2k-1)!!$ and $He_{2k+1}(0)=0$, so the odd coefficients beyond "
        "$c_1=\\sqrt q/2$ vanish, and $c_0=\\sqrt{q/2\\pi}\\ne0$ (ReLU has a mean: a rank-one "
        "spike in $K$). Checked by direct integration for $n\\le8$. ReLU is homogeneous, "
        "$c_n(q)=\\sqrt q\\,c_n(1)$.",
        (sp.Eq(c(0, q), relu_coefficient(0)), sp.Eq(c(1, q), relu_coefficient(1)), sp.Eq(c(n, q), cn_relu)),
        relu_res,
    ))
    kappa1 = (sp.sqrt(1 - rho**2) + (sp.pi - sp.acos(rho)) * rho) / (2 * sp.pi)
    relu_series = sum(relu_coefficient(j, 1) ** 2 * rho**j / sp.factorial(j)
                      for j in range(_SERIES + 1))
    arccos_res = sp.series(kappa1, rho, 0, _SERIES + 1).removeO() - relu_series
    b = sp.Function("b")
    steps.append(Step(
        "Arc-cosine kernel as a Mehler series",
        "The closed form (Cho & Saul 2009) "
        "$\\mathbb{E}[\\mathrm{relu}(h_i)\\mathrm{relu}(h_j)]=\\sqrt{q_iq_j}\\,\\kappa(\\rho)$, "
        "$\\kappa(\\rho)=(\\sqrt{1-\\rho^2}+(\\pi-\\arccos\\rho)\\rho)/2\\pi$, agrees with "
        "$\\sum_n b_n\\rho^n$, $b_n=c_n(1)^2/n!$, through $\\rho^{12}$: "
        "$b_0=1/2\\pi$, $b_1=1/4$, $b_2=1/4\\pi$, $b_4=1/48\\pi$, ... with "
        "$b_{2k}=((2k-3)!!)^2/(2\\pi(2k)!)\\sim k^{-3/2}$: slow decay (the kink at 0).",
        (sp.Eq(sp.Symbol(r"\kappa(\rho)"), kappa1),
         sp.Eq(b(n), c(n, 1) ** 2 / sp.factorial(n))),
        (arccos_res,),
    ))

    # 3. erf coefficients and the arcsine kernel ------------------------------
    aa, bb = sp.symbols("a b", real=True)
    d_lhs = _gauss(2 / sp.sqrt(sp.pi) * sp.exp(-(aa * z + bb) ** 2))
    d_rhs = sp.diff(sp.erf(bb / sp.sqrt(1 + 2 * aa**2)), bb)
    gen_erf = sp.series(sp.erf(t * sp.sqrt(q / (1 + 2 * q))), t, 0, _SERIES + 2).removeO()
    erf_res = tuple(sp.factorial(j) * gen_erf.coeff(t, j) - erf_coefficient(j)
                    for j in range(_SERIES + 2))
    j_ = sp.Symbol("j", integer=True, nonnegative=True)
    cn_erf = (2 / sp.sqrt(sp.pi) * (-1) ** j_ * sp.factorial(2 * j_) / sp.factorial(j_)
              * (q / (1 + 2 * q)) ** (j_ + sp.Rational(1, 2)))
    steps.append(Step(
        "Hermite coefficients of erf",
        "Building block: $\\mathbb{E}[\\mathrm{erf}(az+b)]=\\mathrm{erf}(b/\\sqrt{1+2a^2})$ (both "
        "sides are odd in $b$; their $b$-derivatives agree, checked). Since "
        "$\\sum_nc_nt^n/n!=\\mathbb{E}[\\mathrm{act}(\\sqrt qz)e^{tz-t^2/2}]="
        "\\mathbb{E}[\\mathrm{act}(\\sqrt q(z+t))]$ (shift of the Gaussian), "
        "$\\sum_nc_nt^n/n!=\\mathrm{erf}(t\\sqrt{q/(1+2q)})$: erf is odd (only odd $n$) and "
        "$c_{2j+1}=\\frac{2}{\\sqrt\\pi}(-1)^j\\frac{(2j)!}{j!}\\left(\\frac{q}{1+2q}\\right)^{j+1/2}$, "
        "checked through $n=13$.",
        (sp.Eq(c(2 * j_ + 1, q), cn_erf), sp.Eq(c(2 * j_, q), 0)),
        (d_lhs - d_rhs,) + erf_res,
    ))
    S12 = rho * sp.sqrt(q1 * q2)
    arcsine = 2 / sp.pi * sp.asin(2 * S12 / sp.sqrt((1 + 2 * q1) * (1 + 2 * q2)))
    erf_series = sum(erf_coefficient(j, q1) * erf_coefficient(j, q2) * rho**j / sp.factorial(j)
                     for j in range(_SERIES))
    arcsine_res = sp.series(arcsine, rho, 0, _SERIES).removeO() - erf_series
    steps.append(Step(
        "Arcsine kernel as a Mehler series",
        "The closed form (Williams 1997) "
        "$\\mathbb{E}[\\mathrm{erf}(h_i)\\mathrm{erf}(h_j)]=\\frac2\\pi\\arcsin\\frac{2\\Sigma_{ij}}"
        "{\\sqrt{(1+2q_i)(1+2q_j)}}$ agrees with $\\sum_nc_n(q_i)c_n(q_j)\\rho^n/n!$ through "
        "$\\rho^{11}$, for symbolic $q_i,q_j$. Unlike ReLU, the weights fall geometrically, "
        "$c_n^2/n!\\propto(q/(1+2q))^n$: at small pre-activation variance the kernel is "
        "nearly linear.",
        (sp.Eq(sp.Symbol(r"K^{\mathrm{erf}}_{ij}"), arcsine),),
        (arcsine_res,),
    ))

    # 4. Hadamard powers and tensor powers ------------------------------------
    xs3 = sp.symbols("y_1:4")
    multinom = (sum(xs3) ** 3 / sp.factorial(3)
                - sum(sp.Mul(*[xs3[i] ** m[i] / sp.factorial(m[i]) for i in range(3)])
                      for m in [(3, 0, 0), (0, 3, 0), (0, 0, 3), (2, 1, 0), (2, 0, 1), (1, 2, 0),
                                (0, 2, 1), (1, 0, 2), (0, 1, 2), (1, 1, 1)]))
    ortho = tuple(_gauss(_He(i, z) * _He(j, z)) - (sp.factorial(i) if i == j else 0)
                  for i in range(5) for j in range(i, 5))
    weight = c(n, qbar) ** 2 / qbar**n * (sigma_u2 / M) ** n
    eig = sp.Eq(sp.Symbol(r"\mu_S"), N * W(n) * Lam)
    steps.append(Step(
        "Hadamard powers carry tensor powers of the latent spectrum",
        "Mehler gives $K=\\sum_n\\frac1{n!}D_n\\Sigma^{\\circ n}D_n$, "
        "$D_n=\\mathrm{diag}(c_n(q_i)/q_i^{n/2})$, and $\\Sigma^{\\circ n}_{ij}="
        "(\\sum_I\\lambda_IU_{iI}U_{jI})^n=n!\\sum_{|m|=n}\\prod_I(\\lambda_IU_{iI}U_{jI})^{m_I}/m_I!$ "
        "(multinomial theorem, checked for $n=3$): a sum over multisets $S=\\{I_1..I_n\\}$ of "
        "rank-one terms. In the Hermite-ordered (Wick) basis $\\prod_IHe_{m_I}(g_I)$ of the "
        "whitened input, orthogonal with norm $\\prod_Im_I!$ (checked), the $N$ features are "
        "$N$ samples of a population whose covariance is diagonal, with one eigenvalue per "
        "multiset. To leading order, replacing $q_i$ by its mean "
        "$\\bar q=\\sigma_u^2\\sum_I\\lambda_I/M$, the $n$-th term of $K$ has the eigenvalues "
        "$\\mu_S=NW_n\\Lambda_S$, $\\Lambda_S=\\lambda_{I_1}\\cdots\\lambda_{I_n}$: the spectrum "
        "of the symmetrised $n$-fold tensor power of the latent spectrum. The parts of "
        "$\\Sigma^{\\circ n}$ with repeated indices that are not Hermite-ordered (e.g. "
        "$\\mathbb{E}U_{iI}^2=\\sigma_u^2/M$) fold into lower orders as low-rank terms.",
        (sp.Eq(W(n), weight), eig),
        (sp.expand(multinom),) + ortho,
        kind="derived",
    ))

    # 5. weights of each activation -------------------------------------------
    sM = sigma_u2 / M
    w_lin = (sp.sqrt(qbar)) ** 2 / qbar * sM
    relu_w = {j: relu_coefficient(j, qbar) ** 2 / qbar**j * sM**j for j in range(_ORDERS + 1)}
    erf_w = {j: erf_coefficient(j, qbar) ** 2 / qbar**j * sM**j for j in range(1, _SERIES, 2)}
    w_relu_n = sp.factorial(n) * b(n) * qbar ** (1 - n) * sM**n
    w_erf_n = (4 / sp.pi * (sp.factorial(n - 1) / sp.factorial((n - 1) / 2)) ** 2
               * (1 + 2 * qbar) ** (-n) * sM**n)
    relu_w_res = tuple(relu_w[j] - (sp.factorial(j) * relu_coefficient(j, 1) ** 2
                                    / sp.factorial(j)) * qbar ** (1 - j) * sM**j
                       for j in range(_ORDERS + 1))
    erf_w_res = tuple(erf_w[j] - w_erf_n.subs(n, j) for j in erf_w)
    relu_amp = sp.simplify(relu_w[2] / relu_w[1])
    erf_amp = sp.simplify(erf_w[3] / erf_w[1])
    steps.append(Step(
        "Weights: linear, ReLU, erf",
        "Linear: $W_1=\\sigma_u^2/M$ and nothing else: rank $M$. ReLU (homogeneous): "
        "$W_n=n!\\,b_n\\bar q^{1-n}(\\sigma_u^2/M)^n$ for $n=0,1,2,4,6,\\dots$; its order-2 "
        "weight relative to the linear one, $W_2/W_1=2\\sigma_u^2/(\\pi\\bar qM)=2/(\\pi\\sum_I\\lambda_I)$, "
        "does not depend on $M$: ReLU extends the spectrum at O(1) amplitude. erf: "
        "$W_n=\\frac4\\pi\\left(\\frac{(n-1)!}{((n-1)/2)!}\\right)^2(1+2\\bar q)^{-n}(\\sigma_u^2/M)^n$ "
        "for odd $n$; $W_3/W_1=4(\\sigma_u^2/M)^2/(1+2\\bar q)^2$: the cubic extension is "
        "suppressed by $(\\sigma_u^2/M)^2$, i.e. by $\\bar q^2$ (pre-activations of variance "
        "$\\bar q\\propto1/M$ hardly leave erf's linear range). Caveat for ReLU: "
        "$N W_n\\lambda_1^n=N\\bar q\\,n!b_n\\,p_1^n$ ($p_I=\\lambda_I/\\sum\\lambda$) grows "
        "factorially in $n$, so the mean-field weights are an asymptotic series; the true "
        "high orders are bounded because $\\sum_I\\lambda_IU_{iI}^2/q_i=1$ for every feature.",
        (sp.Eq(sp.Symbol("W^{lin}_1"), w_lin), sp.Eq(sp.Symbol("W^{relu}_n"), w_relu_n),
         sp.Eq(sp.Symbol("W^{erf}_n"), w_erf_n),
         sp.Eq(W(2) / W(1), relu_amp), sp.Eq(W(3) / W(1), erf_amp)),
        (w_lin - sM, relu_amp - 2 * sM / (sp.pi * qbar),
         erf_amp - 4 * sM**2 / (1 + 2 * qbar) ** 2, relu_w[3], relu_w[5], relu_w[7])
        + relu_w_res + erf_w_res,
    ))

    # 6. counting function of products of power laws ---------------------------
    vol_res = tuple(sp.integrate(sp.exp(u) * u ** (j - 1) / sp.factorial(j - 1), (u, 0, L))
                    - counting_volume(j) for j in range(1, 6))
    v2_x = sp.integrate(X / x - 1, (x, 1, X)) - counting_volume(2, sp.log(X))
    v3_x = (sp.integrate(counting_volume(2, sp.log(X / x)), (x, 1, X))
            - counting_volume(3, sp.log(X)))
    counting = sp.Eq(V(n, L), sp.Integral(sp.exp(u) * u ** (n - 1) / sp.factorial(n - 1), (u, 0, L)))
    count_lead = sp.exp(L) * L ** (n - 1) / (sp.factorial(n - 1) * sp.factorial(n))
    steps.append(Step(
        "Counting function of products of power laws",
        "With $\\lambda_I=\\lambda_+I^{-a}$, $a=1+\\alpha$, the products above "
        "$\\lambda_+^ne^{-aL}$ are the index tuples with $I_1\\cdots I_n\\le X=e^L$. Treating the "
        "indices as continuous ($x_k\\ge1$) and using $u_k=\\log x_k$, the volume is "
        "$V_n(L)=\\int_{u\\ge0,\\sum u\\le L}e^{\\sum u}du=\\int_0^Le^uu^{n-1}/(n-1)!\\,du$ "
        "(simplex slices), closed form checked for $n\\le5$ and against the direct recursion "
        "$V_n(\\log X)=\\int_1^XV_{n-1}(\\log(X/x))dx$ for $n=2,3$. Multisets are ordered tuples "
        "over $n!$, so order $n$ contributes $\\mathcal N_n(\\mu)\\simeq V_n(L)/n!$ eigenvalues "
        "above $\\mu=NW_n\\lambda_+^ne^{-aL}$, to leading order "
        "$e^LL^{n-1}/((n-1)!\\,n!)$: with $\\epsilon=\\mu/(NW_n\\lambda_+^n)$, "
        "$\\mathcal N_n\\simeq\\epsilon^{-1/(1+\\alpha)}"
        "(\\log(1/\\epsilon)/(1+\\alpha))^{n-1}/((n-1)!\\,n!)$ "
        "(capped at $\\binom{M+n-1}{n}$; integer lattice corrections are of relative order $1/L$, "
        "e.g. $2\\gamma-1$ for $n=2$, Dirichlet's divisor problem).",
        (counting, sp.Eq(V(n, L), sp.exp(L) * sp.Sum((-1) ** (n - 1 - k_) * L**k_ / sp.factorial(k_),
                                                     (k_, 0, n - 1)) + (-1) ** n),
         sp.Eq(sp.Symbol(r"\mathcal{N}_n"), V(n, L) / sp.factorial(n))),
        vol_res + (v2_x, v3_x),
    ))

    # 7. local exponent ---------------------------------------------------------
    w_ = sp.Symbol("w", positive=True)     # w = 1/L
    loc_res = []
    asym = {}
    for j in (2, 3, 4):
        vol = counting_volume(j)
        loc_res.append(a * vol / sp.diff(vol, L) - local_exponent(j))
        core = sp.expand(sp.factorial(j - 1) * (vol - (-1) ** j) * sp.exp(-L) / L ** (j - 1))
        asym[j] = sp.expand(sp.series(core.subs(L, 1 / w_), w_, 0, 3).removeO())
    asym_general = 1 - (n - 1) * w_ + (n - 1) * (n - 2) * w_**2
    for j in (2, 3, 4):
        loc_res.append(asym[j] - asym_general.subs(n, j))
    lim = sp.limit(local_exponent(3), L, sp.oo)
    loc_res.append(lim - a)
    loc = sp.Eq(sp.Symbol(r"s_{n}(L)"), a * sp.factorial(n - 1) * sp.exp(-L) * V(n, L) / L ** (n - 1))
    loc_asym = sp.Eq(sp.Symbol(r"s_{n}(L)"), a * (1 - (n - 1) / L + (n - 1) * (n - 2) / L**2))
    logk = sp.Symbol(r"\log k", positive=True)
    spec_lead = sp.Eq(sp.Symbol(r"\mu_k"), sp.Symbol("C") * sp.exp(-a * logk) * logk ** (a * (n - 1)))
    # leading inversion: log k = L + (n-1) log L - log((n-1)! n!)  =>  mu ~ k^-a L^(a(n-1))
    inv_res = sp.expand_log(
        -a * L - (-a * (L + (n - 1) * sp.log(L) - sp.log(sp.factorial(n - 1) * sp.factorial(n)))
                  + a * (n - 1) * sp.log(L) - a * sp.log(sp.factorial(n - 1) * sp.factorial(n))),
        force=True)
    loc_res.append(inv_res)
    steps.append(Step(
        "Exponent of the extended spectrum",
        "Ranking order $n$'s eigenvalues, $\\log\\mu=\\mathrm{const}-aL$ and "
        "$\\log k=\\log(V_n(L)/n!)$, so the local exponent is "
        "$s_n=-d\\log\\mu/d\\log k=aV_n/V_n'=a(n-1)!e^{-L}V_n(L)/L^{n-1}"
        "=a(1-(n-1)/L+(n-1)(n-2)/L^2+\\dots)$ (checked for $n=2,3,4$). It tends to "
        "$a=1+\\alpha$, the latent exponent, from below with logarithmic corrections: "
        "$\\mu_k\\propto k^{-(1+\\alpha)}(\\log k)^{(1+\\alpha)(n-1)}$ to leading order. So the "
        "extended part continues with (approximately) the latent exponent, flattened by "
        "$1/L\\approx1/\\log k$; the amplitude is set by the Hermite weight $W_n$. For a "
        "finite window the exponent of the counted part is read off in $k-M$ (the latent part "
        "holds $M$ eigenvalues).",
        (loc, loc_asym, spec_lead),
        tuple(loc_res),
    ))

    # 8. extent -------------------------------------------------------------------
    extent = sp.Eq(sp.Symbol(r"\mathcal{E}(\epsilon)"),
                   sp.Min(N, sp.Sum(sp.Min(sp.binomial(M + n - 1, n),
                                           V(n, sp.Symbol("L_n")) / sp.factorial(n)),
                                    (n, 1, sp.oo))))
    Ln = sp.Eq(sp.Symbol("L_n"), sp.log(W(n) * lam_plus**n / (eps * sp.Symbol(r"\mu_{\max}") / N)) / a)
    # linear: the number of lambda_I above eps lambda_+ is eps^(-1/a), capped at M
    lin_count = counting_volume(1, sp.log(eps ** (-1 / a)))
    steps.append(Step(
        "Extent",
        "The number of eigenvalues above $\\epsilon$ times the largest $\\mu_{\\max}$ adds the "
        "counts of every order with a non-zero Hermite coefficient, each capped at its "
        "number of multisets, and is capped at $N$. Linear features: only $n=1$, so "
        "$\\mathcal E=\\min(M,\\epsilon^{-1/(1+\\alpha)}-1)$, at most $M$ whatever $N$. ReLU "
        "(even $n\\ge2$, O(1) amplitude) and erf (odd $n\\ge3$, amplitude $\\propto(\\sigma_u^2/M)^{n-1}$) "
        "have infinitely many orders, so $\\mathcal E=N$ once the counts of order 2 (ReLU) or 3 "
        "(erf) above the cutoff exceed $N-M$; at a high cutoff erf stops at "
        "$M+\\mathcal N_3(\\epsilon)$.",
        (extent, Ln),
        (lin_count - (eps ** (-1 / a) - 1),),
    ))

    results = {
        "mehler": sp.Eq(sp.Symbol(r"K_{ij}"),
                        sp.Sum(c(n, q1) * c(n, q2) * rho**n / sp.factorial(n), (n, 0, sp.oo))),
        "relu_c0": sp.Eq(c(0, q), relu_coefficient(0)),
        "relu_c1": sp.Eq(c(1, q), relu_coefficient(1)),
        "relu_cn": sp.Eq(c(n, q), cn_relu),
        "erf_cn": sp.Eq(c(2 * j_ + 1, q), cn_erf),
        "arccos_kernel": sp.Eq(sp.Symbol(r"\kappa(\rho)"), kappa1),
        "arcsine_kernel": sp.Eq(sp.Symbol(r"K^{\mathrm{erf}}_{ij}"), arcsine),
        "weight": sp.Eq(W(n), weight),
        "eigenvalue": eig,
        "weight_linear": sp.Eq(W(1), sM),
        "weight_relu": sp.Eq(W(n), w_relu_n),
        "weight_erf": sp.Eq(W(n), w_erf_n),
        "relu_amplitude": sp.Eq(W(2) / W(1), relu_amp),
        "erf_amplitude": sp.Eq(W(3) / W(1), erf_amp),
        "counting": counting,
        "counting_leading": sp.Eq(sp.Symbol(r"\mathcal{N}_n"), count_lead),
        "local_exponent": loc,
        "local_exponent_asymptotic": loc_asym,
        "spectrum_leading": spec_lead,
        "extent": extent,
        "exponent": a,
    }
    symbols = (
        (z, "standard normal variable"), (rho, "correlation of two pre-activations"),
        (q, "pre-activation variance $q_i=\\Sigma_{ii}$"),
        (qbar, "mean pre-activation variance $\\sigma_u^2\\sum_I\\lambda_I/M$"),
        (M, "latent dimension"), (N, "number of features"),
        (sigma_u2, "feature-weight variance times M"), (lam_plus, "largest latent eigenvalue"),
        (alpha, "model-A exponent: $\\lambda_I=\\lambda_+I^{-(1+\\alpha)}$"),
        (n, "Hermite order (size of the multiset)"),
        (Lam, "$\\lambda_{I_1}\\cdots\\lambda_{I_n}$ for a multiset $S$"),
        (L, "$\\log(I_1\\cdots I_n)$ at the counting threshold"),
        (eps, "relative cutoff of the extent"),
    )
    return Derivation(
        title="Nonlinear features extend the latent power law",
        summary=(
            "Spectrum of the feature covariance $K=\\mathbb{E}_x[\\phi\\phi^\\top]$ of model A with "
            "an elementwise activation: Mehler's formula turns the closed-form kernels into "
            "Hadamard powers of $\\Sigma=U\\Lambda U^\\top$, whose spectra are tensor powers of the "
            "latent power law. Linear features stop at rank $M$; ReLU and erf continue past $M$ "
            "with products $\\lambda_{I_1}\\cdots\\lambda_{I_n}$ weighted by the Hermite coefficients, "
            "with the latent exponent $1+\\alpha$ up to logarithmic corrections."
        ),
        symbols=symbols,
        assumptions=(
            "Gaussian x, U as in CONVENTIONS.md; K conditional on U, uncentred.",
            "Tensor-power eigenvalues to leading order in 1/N with q_i replaced by its mean qbar "
            "(exact for linear features; for ReLU, whose q_i fluctuate by O(1) for power-law data, "
            "an O(1)-accurate approximation at order 2).",
            "Counting functions in the continuum approximation of the indices (relative corrections O(1/L)).",
        ),
        steps=tuple(steps),
        results=results,
    )
