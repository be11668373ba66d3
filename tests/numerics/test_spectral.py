"""Tests of numerics._spectral_sums against independent references.

References are direct sums (numpy / mpmath, written out here), closed forms
(alpha = 1: ``sum 1/(1 + c I**2)`` via ``coth``), the Mellin small-kappa
expansion and the Riemann zeta function -- never the module's own output.
"""
import math

import mpmath
import numpy as np
import pytest

from scaling_theory.numerics._spectral_sums import (
    ArraySpectrum,
    PowerLawSpectrum,
    SpectralSums,
    direct_term_count,
    spectral_sums,
    spectral_trace,
)

ALPHAS = [0.1, 0.5, 1, 2, 5]
KAPPAS = np.logspace(-12, 3, 16)


def _direct_double(alpha, M, lambda_plus, kappas):
    """Reference n1, n2 by direct float64 summation (smallest terms first)."""
    I = np.arange(M, 0, -1, dtype=np.float64)           # reversed: small terms first
    lam = lambda_plus * I ** -(1.0 + alpha)
    n1 = np.empty(len(kappas))
    n2 = np.empty(len(kappas))
    for i, k in enumerate(kappas):
        t = lam / (lam + k)
        if M <= 10**5:
            n1[i], n2[i] = math.fsum(t), math.fsum(t * t)
        else:  # pairwise summation: relative error ~1e-16 * log2(M)
            n1[i], n2[i] = np.sum(t), np.sum(t * t)
    return n1, n2


def _rel(x, y):
    return np.max(np.abs(np.asarray(x, dtype=float) / np.asarray(y, dtype=float) - 1.0))


# --------------------------------------------------------------------------
# 1. double path vs direct sums
# --------------------------------------------------------------------------
@pytest.mark.parametrize("M", [10, 60, 1000, 10**5])
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("lambda_plus", [1.0, 2.5])
def test_double_matches_direct_sum(M, alpha, lambda_plus):
    s = spectral_sums(PowerLawSpectrum(alpha, M, lambda_plus, omega=0.7), KAPPAS)
    n1, n2 = _direct_double(alpha, M, lambda_plus, KAPPAS)
    assert s.n1.shape == KAPPAS.shape and s.n1.dtype == np.float64
    assert _rel(s.n1, n1) <= 1e-12
    assert _rel(s.n2, n2) <= 1e-12
    np.testing.assert_allclose(s.c1, 0.7 * n1, rtol=1e-12)
    np.testing.assert_allclose(s.c2, 0.7 * n2, rtol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("alpha", ALPHAS)
def test_double_matches_direct_sum_M_1e7(alpha):
    kappas = KAPPAS[::3]
    for lambda_plus in (1.0, 2.5):
        s = spectral_sums(PowerLawSpectrum(alpha, 10**7, lambda_plus), kappas)
        n1, n2 = _direct_double(alpha, 10**7, lambda_plus, kappas)
        assert _rel(s.n1, n1) <= 1e-12
        assert _rel(s.n2, n2) <= 1e-12


def test_double_shapes_and_scalars():
    sp = PowerLawSpectrum(0.5, 10**4)
    k = np.logspace(-6, 1, 12).reshape(3, 4)
    s = spectral_sums(sp, k)
    for v in (s.n1, s.n2, s.c1, s.c2):
        assert v.shape == (3, 4) and v.dtype == np.float64
    s0 = spectral_sums(sp, 1e-3)
    assert np.shape(s0.n1) == () and isinstance(s0.n1, np.floating)
    assert float(s0.n1) == pytest.approx(float(spectral_sums(sp, np.array([1e-3])).n1[0]), rel=1e-15)
    # list input, mixed zeros
    s1 = spectral_sums(sp, [0.0, 1.0])
    assert s1.n1[0] == 10**4 and s1.n2[0] == 10**4


def test_large_M_finite_and_monotone():
    k = np.logspace(-12, 3, 10**4)
    prev = None
    for M in (10**3, 10**9, 10**12, math.inf):
        s = spectral_sums(PowerLawSpectrum(1.0, M), k)
        assert np.all(np.isfinite(s.n1)) and np.all(np.isfinite(s.n2))
        assert np.all(np.diff(s.n1) < 0)           # decreasing in kappa
        assert np.all(s.n2 <= s.n1)
        if prev is not None:
            assert np.all(s.n1 >= prev)             # increasing in M
        prev = s.n1


def test_double_extreme_alpha_and_kappa():
    # large alpha: head size grows like 1/sin(pi/a) but stays finite
    for alpha in (20.0, 60.0):
        for M in (10**5, math.inf):
            k = np.array([1e-30, 1e-8, 1.0, 1e30])
            s = spectral_sums(PowerLawSpectrum(alpha, M), k)
            # kappa = 1e-8, 1: the tail beyond I = 1e5 is below 1e-90 for alpha >= 20
            n1, n2 = _direct_double(alpha, 10**5, 1.0, k[1:3])
            assert _rel(s.n1[1:3], n1) < 1e-12 and _rel(s.n2[1:3], n2) < 1e-12
            assert np.all(np.isfinite(s.n1))
            # kappa huge: n1 ~ trace/kappa
            tr = spectral_trace(PowerLawSpectrum(alpha, M))[0]
            assert s.n1[3] == pytest.approx(tr / 1e30, rel=1e-12)


# --------------------------------------------------------------------------
# 2. mpmath path
# --------------------------------------------------------------------------
def _direct_mp(ref, alpha, M, lambda_plus, kappa):
    a = 1 + ref.mpf(alpha)
    lp, k = ref.mpf(lambda_plus), ref.mpf(kappa)
    ts = []
    for I in range(1, M + 1):
        lam = lp * ref.power(I, -a)
        ts.append(lam / (lam + k))
    return ref.fsum(ts), ref.fsum(t * t for t in ts)


@pytest.mark.parametrize("alpha", ["0.1", "0.5", "1", "2", "5"])
def test_mpmath_matches_direct_sum(alpha):
    ctx = mpmath.MPContext()
    ctx.dps = 50
    ref = mpmath.MPContext()
    ref.dps = 70
    M = 3000
    for kappa in ("1e-10", "0.0003", "1.7", "1000"):
        sp = PowerLawSpectrum(alpha, M, lambda_plus="2.5", omega="0.3")
        s = spectral_sums(sp, kappa, ctx=ctx)
        assert all(isinstance(v, ctx.mpf) for v in (s.n1, s.n2, s.c1, s.c2))
        n1, n2 = _direct_mp(ref, alpha, M, "2.5", kappa)
        assert abs(ref.mpf(s.n1) / n1 - 1) < ref.mpf("1e-48")
        assert abs(ref.mpf(s.n2) / n2 - 1) < ref.mpf("1e-48")
        assert abs(ref.mpf(s.c1) / (ref.mpf("0.3") * n1) - 1) < ref.mpf("1e-48")
        assert abs(ref.mpf(s.c2) / (ref.mpf("0.3") * n2) - 1) < ref.mpf("1e-48")
    assert ctx.dps == 50                       # caller's context untouched


def test_mpmath_dps30_vs_dps60():
    c30, c60 = mpmath.MPContext(), mpmath.MPContext()
    c30.dps, c60.dps = 30, 60
    glob = mpmath.mp.prec
    for alpha in ("0.25", "3"):
        for M in (10**6, math.inf):
            for kappa in ("1e-7", "0.05", "20"):
                sp = PowerLawSpectrum(alpha, M)
                a = spectral_sums(sp, kappa, ctx=c30)
                b = spectral_sums(sp, kappa, ctx=c60)
                for x, y in ((a.n1, b.n1), (a.n2, b.n2)):
                    assert abs(c60.mpf(x) / y - 1) < c60.mpf("1e-29")
    assert mpmath.mp.prec == glob and c30.dps == 30 and c60.dps == 60


def test_mpmath_vs_double():
    ctx = mpmath.MPContext()
    ctx.dps = 25
    k = np.logspace(-10, 2, 7)
    for alpha in (0.3, 4.0):
        for M in (500, 10**8, math.inf):
            sp = PowerLawSpectrum(alpha, M, lambda_plus=1.5)
            d = spectral_sums(sp, k)
            for i, kk in enumerate(k):
                m = spectral_sums(sp, float(kk), ctx=ctx)
                assert d.n1[i] == pytest.approx(float(m.n1), rel=1e-13)
                assert d.n2[i] == pytest.approx(float(m.n2), rel=1e-13)


# --------------------------------------------------------------------------
# 3. M = inf
# --------------------------------------------------------------------------
def _coth_sums(ref, c):
    """Closed form for alpha = 1: sum_{I>=1} (1 + c I^2)^-p, p = 1, 2."""
    z = ref.pi / ref.sqrt(c)
    n1 = (z * ref.coth(z) - 1) / 2
    n2 = n1 - z / 4 * (ref.coth(z) - z * ref.csch(z) ** 2)
    return n1, n2


def test_infinite_M_alpha1_closed_form():
    ref = mpmath.MPContext()
    ref.dps = 70
    ctx = mpmath.MPContext()
    ctx.dps = 50
    kd = np.logspace(-12, 3, 31)
    for lp in ("1", "2.5"):
        sp = PowerLawSpectrum(1, math.inf, lambda_plus=lp)
        d = spectral_sums(sp, kd)
        for i, k in enumerate(kd):
            n1, n2 = _coth_sums(ref, ref.mpf(float(k)) / ref.mpf(lp))
            assert d.n1[i] == pytest.approx(float(n1), rel=1e-13)
            assert d.n2[i] == pytest.approx(float(n2), rel=1e-13)
        for k in ("1e-9", "0.01", "3", "500"):
            m = spectral_sums(sp, k, ctx=ctx)
            n1, n2 = _coth_sums(ref, ref.mpf(k) / ref.mpf(lp))
            assert abs(ref.mpf(m.n1) / n1 - 1) < ref.mpf("1e-48")
            assert abs(ref.mpf(m.n2) / n2 - 1) < ref.mpf("1e-48")


@pytest.mark.parametrize("alpha", ["0.5", "2", "5"])
def test_infinite_M_mellin_asymptotics(alpha):
    """n_p = c^-s G_p + sum_m binom(m+p-1, m) (-c)^m zeta(-a m), c -> 0."""
    ref = mpmath.MPContext()
    ref.dps = 60
    ctx = mpmath.MPContext()
    ctx.dps = 50
    a = 1 + ref.mpf(alpha)
    s = 1 / a
    lead1 = ref.pi * s / ref.sin(ref.pi * s)
    lead2 = lead1 * (1 - s)
    prev = None
    for kappa in ("1e-12", "1e-16", "1e-20"):
        c = ref.mpf(kappa)
        m = spectral_sums(PowerLawSpectrum(alpha, math.inf), kappa, ctx=ctx)
        asy1 = c ** -s * lead1 - ref.mpf(1) / 2 - c * ref.zeta(-a) + c**2 * ref.zeta(-2 * a)
        asy2 = c ** -s * lead2 - ref.mpf(1) / 2 - 2 * c * ref.zeta(-a) + 3 * c**2 * ref.zeta(-2 * a)
        bound = 10 * c**3 * (abs(ref.zeta(-3 * a)) + 1) * 4
        assert abs(ref.mpf(m.n1) - asy1) < bound + ref.mpf(10) ** -45 * asy1
        assert abs(ref.mpf(m.n2) - asy2) < bound + ref.mpf(10) ** -45 * asy2
        # the leading-order relative difference shrinks as kappa -> 0
        rd = abs(ref.mpf(m.n1) / (c ** -s * lead1 - ref.mpf(1) / 2) - 1)
        if prev is not None:
            assert rd < prev or rd < ref.mpf("1e-48")  # even a: correction ~exp(-c^-s)
        prev = rd
    # double path: relative difference to the two-term asymptotic shrinks too
    kd = np.array([1e-4, 1e-8, 1e-12])
    d = spectral_sums(PowerLawSpectrum(float(alpha), math.inf), kd)
    sf, l1 = float(s), float(lead1)
    rel = np.abs(d.n1 / (kd ** -sf * l1 - 0.5) - 1)
    assert np.all(rel[1:] <= np.maximum(rel[:-1], 1e-15)) and rel[-1] < 1e-12


def test_infinite_M_vs_large_finite_M_plus_tail():
    """n1(inf) - n1(M) = sum_{I>M} f(I) ~ int_{M+1/2}^inf lam/kappa dI for tiny lam/kappa."""
    alpha, lp = 1.5, 1.0
    a = 1 + alpha
    for kappa in (1e-3, 1.0):
        M = 10**6
        inf_ = spectral_sums(PowerLawSpectrum(alpha, math.inf), kappa)
        fin = spectral_sums(PowerLawSpectrum(alpha, M), kappa)
        tail = lp / kappa * (M + 0.5) ** (1 - a) / (a - 1)  # midpoint rule, rel. err O(M^-2)
        assert float(inf_.n1 - fin.n1) == pytest.approx(tail, rel=1e-6)
        assert float(inf_.n1) == pytest.approx(float(fin.n1) + tail, rel=1e-14)


def test_traces():
    ref = mpmath.MPContext()
    ref.dps = 40
    for alpha in (0.1, 1.0, 3.0):
        tr, wtr = spectral_trace(PowerLawSpectrum(alpha, math.inf, 2.5, omega=0.5))
        z = float(2.5 * ref.zeta(1 + alpha))
        assert tr == pytest.approx(z, rel=1e-14) and wtr == pytest.approx(0.5 * z, rel=1e-14)
        for M in (7, 3000, 10**7):
            tr, _ = spectral_trace(PowerLawSpectrum(alpha, M, 2.5))
            exact = 2.5 * (ref.zeta(1 + alpha) - ref.zeta(1 + alpha, M + 1))
            assert tr == pytest.approx(float(exact), rel=1e-13)
    tr, _ = spectral_trace(PowerLawSpectrum(1, math.inf), ctx=ref)
    assert isinstance(tr, ref.mpf) and abs(tr - ref.pi**2 / 6) < ref.mpf("1e-39")
    ctx = mpmath.MPContext()
    ctx.dps = 30
    tr, wtr = spectral_trace(PowerLawSpectrum("0.5", 2000, omega="3"), ctx=ctx)
    ex = ref.fsum(ref.power(I, ref.mpf("-1.5")) for I in range(1, 2001))
    assert abs(ref.mpf(tr) / ex - 1) < ref.mpf("1e-29")
    assert abs(ref.mpf(wtr) / (3 * ex) - 1) < ref.mpf("1e-29")
    tr, _ = spectral_trace(PowerLawSpectrum("0.5", 10**9), ctx=ctx)
    ex = ref.zeta(ref.mpf("1.5")) - ref.zeta(ref.mpf("1.5"), 10**9 + 1)
    assert abs(ref.mpf(tr) / ex - 1) < ref.mpf("1e-29")


def test_kappa_zero_and_large_kappa():
    for M in (5, 1000, 10**9):
        s = spectral_sums(PowerLawSpectrum(0.5, M, omega=2.0), 0.0)
        assert s.n1 == M and s.n2 == M and s.c1 == 2 * M and s.c2 == 2 * M
        ctx = mpmath.MPContext()
        ctx.dps = 20
        s = spectral_sums(PowerLawSpectrum(0.5, M, omega=2.0), 0, ctx=ctx)
        assert s.n1 == M and s.c2 == 2 * M
    # kappa -> inf: n1 -> trace/kappa, n2 -> sum lam^2/kappa^2
    sp = PowerLawSpectrum(1, math.inf)
    s = spectral_sums(sp, 1e12)
    assert float(s.n1) == pytest.approx(math.pi**2 / 6 * 1e-12, rel=1e-11)
    assert float(s.n2) == pytest.approx(math.pi**4 / 90 * 1e-24, rel=1e-11)


# --------------------------------------------------------------------------
# 4. cost independent of M
# --------------------------------------------------------------------------
def test_direct_term_count_independent_of_M():
    ctx = mpmath.MPContext()
    ctx.dps = 50
    for alpha in (0.1, 1, 5):
        for c in (None, ctx):
            counts = {direct_term_count(PowerLawSpectrum(alpha, M), c)
                      for M in (10**6, 10**9, 10**12, math.inf)}
            assert len(counts) == 1 and counts.pop() < 10**4
        # below the cost crossover double precision sums every term (cheaper), mpmath does not
        assert direct_term_count(PowerLawSpectrum(alpha, 10**4)) == 10**4
        assert direct_term_count(PowerLawSpectrum(alpha, 10**4), n=1000) < 10**4
        assert direct_term_count(PowerLawSpectrum(alpha, 10**4), ctx) < 10**4
        assert direct_term_count(PowerLawSpectrum(alpha, 60)) == 60
    assert direct_term_count(ArraySpectrum([1.0, 2.0], [0.0, 1.0])) == 2


def test_huge_M_runs():
    k = np.logspace(-12, 3, 10**4)
    for M in (10**9, 10**12):
        s = spectral_sums(PowerLawSpectrum(0.5, M), k)
        assert np.all(np.isfinite(s.n1)) and np.all(s.n1 <= M)


# --------------------------------------------------------------------------
# 5. validation
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(alpha=-1, M=10), "alpha"),
        (dict(alpha=0, M=10), "alpha"),
        (dict(alpha="x", M=10), "alpha"),
        (dict(alpha=math.inf, M=10), "alpha"),
        (dict(alpha=1, M=0), "M"),
        (dict(alpha=1, M=2.5), "M"),
        (dict(alpha=1, M="10"), "M"),
        (dict(alpha=1, M=-math.inf), "M"),
        (dict(alpha=1, M=10, lambda_plus=0), "lambda_plus"),
        (dict(alpha=1, M=10, omega=-0.1), "omega"),
    ],
)
def test_powerlaw_validation(kwargs, name):
    with pytest.raises(ValueError, match=name):
        PowerLawSpectrum(**kwargs)


def test_powerlaw_accepts_forms():
    assert PowerLawSpectrum(1, 1e9).M == 10**9
    assert isinstance(PowerLawSpectrum(1, 1e9).M, int)
    assert PowerLawSpectrum(mpmath.mpf("0.5"), math.inf).M == math.inf
    assert PowerLawSpectrum("0.5", 10) == PowerLawSpectrum("0.5", 10)


def test_kappa_validation():
    ctx = mpmath.MPContext()
    sp = PowerLawSpectrum(1, 100)
    with pytest.raises(ValueError, match="kappa"):
        spectral_sums(sp, -1e-3)
    with pytest.raises(ValueError, match="kappa"):
        spectral_sums(sp, np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="kappa"):
        spectral_sums(sp, np.nan)
    with pytest.raises(ValueError, match="kappa"):
        spectral_sums(sp, "-1", ctx=ctx)
    with pytest.raises(ValueError, match="kappa"):
        spectral_sums(PowerLawSpectrum(1, math.inf), [1.0, 0.0])
    with pytest.raises(ValueError, match="kappa"):
        spectral_sums(PowerLawSpectrum(1, math.inf), 0, ctx=ctx)
    with pytest.raises(ValueError, match="kappa"):
        spectral_sums(ArraySpectrum([1.0], [1.0]), -2.0)


def test_array_validation():
    with pytest.raises(ValueError, match="lambdas"):
        ArraySpectrum([1.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="lambdas"):
        ArraySpectrum([[1.0]], [[1.0]])
    with pytest.raises(ValueError, match="omegas"):
        ArraySpectrum([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(ValueError, match="omegas"):
        ArraySpectrum([1.0, 2.0], [1.0])
    with pytest.raises(TypeError):
        spectral_sums(object(), 1.0)


# --------------------------------------------------------------------------
# 6. ArraySpectrum
# --------------------------------------------------------------------------
def test_array_spectrum_double_and_mp():
    rng = np.random.default_rng(1234)
    lam = np.sort(rng.lognormal(-2, 2, size=777))[::-1]
    om = rng.exponential(size=777)
    sp = ArraySpectrum(lam, om)
    k = np.logspace(-8, 2, 9)
    s = spectral_sums(sp, k)
    for i, kk in enumerate(k):
        t = lam / (lam + kk)
        assert s.n1[i] == pytest.approx(math.fsum(t), rel=1e-13)
        assert s.n2[i] == pytest.approx(math.fsum(t * t), rel=1e-13)
        assert s.c1[i] == pytest.approx(math.fsum(om * t), rel=1e-13)
        assert s.c2[i] == pytest.approx(math.fsum(om * t * t), rel=1e-13)
    s0 = spectral_sums(sp, 0.0)
    assert s0.n1 == pytest.approx(777, rel=1e-15) and s0.c1 == pytest.approx(math.fsum(om), rel=1e-14)
    tr, wtr = spectral_trace(sp)
    assert tr == pytest.approx(math.fsum(lam), rel=1e-15)
    assert wtr == pytest.approx(math.fsum(lam * om), rel=1e-15)

    ctx = mpmath.MPContext()
    ctx.dps = 40
    m = spectral_sums(sp, "0.01", ctx=ctx)
    ref = mpmath.MPContext()
    ref.dps = 60
    kk = ref.mpf("0.01")
    ts = [ref.mpf(x) / (ref.mpf(x) + kk) for x in lam]
    assert abs(ref.mpf(m.c2) / ref.fsum(ref.mpf(o) * t * t for o, t in zip(om, ts)) - 1) < ref.mpf("1e-38")
    assert abs(ref.mpf(m.n1) / ref.fsum(ts) - 1) < ref.mpf("1e-38")
    assert s.n1.flags.writeable and not sp.lambdas.flags.writeable


def test_array_spectrum_matches_powerlaw():
    M, alpha = 2000, 0.7
    I = np.arange(1, M + 1, dtype=float)
    sp = ArraySpectrum(2.0 * I ** -(1 + alpha), np.full(M, 0.4))
    pl = PowerLawSpectrum(alpha, M, 2.0, omega=0.4)
    k = np.logspace(-9, 1, 11)
    a, b = spectral_sums(sp, k), spectral_sums(pl, k)
    for f in ("n1", "n2", "c1", "c2"):
        np.testing.assert_allclose(getattr(a, f), getattr(b, f), rtol=1e-13)
    assert isinstance(a, SpectralSums)


def test_array_spectrum_chunking():
    """A kappa grid large enough to be processed in several chunks."""
    lam = np.linspace(0.01, 1.0, 3000)
    om = np.ones(3000)
    k = np.logspace(-3, 1, 4000)
    s = spectral_sums(ArraySpectrum(lam, om), k)
    for i in (0, 1999, 3999):
        t = lam / (lam + k[i])
        assert s.n1[i] == pytest.approx(math.fsum(t), rel=1e-13)
        assert s.c1[i] == pytest.approx(s.n1[i], rel=1e-14)
