"""The one power-law sum engine (numerics/_power_sums.py).

Expected values come from direct summation (math.fsum / mpmath.fsum of every
term), closed forms (coth, zeta, the Laplace sum's exact large-tau limit) and
from the engine's other, independent route at the same point; the last tests
show that model A's, model B's and the asymptotics' sums are this engine.
"""
import math

import mpmath
import numpy as np
import pytest

from scaling_theory.numerics._power_sums import (_hurwitz_route_double, _pole_windows, complex_resolvent_tail,
                                                 complex_resolvent_tail_mp, hurwitz_sum, laplace_sum,
                                                 resolvent_sum, tail_series)
from scaling_theory.numerics._precision import context

# (b, a, q): model A's n1, n2 (b = q a), model B's weights, a summand with a growing power
# (b < q a), an incomplete-beta parameter q - (b-1)/a <= 0 (integer and not), a < 1
POINTS = [(2.5, 2.5, 1), (5.0, 2.5, 2), (1.5, 1.5, 1), (3.0, 1.5, 1), (4.5, 1.5, 2),
          (0.5, 1.5, 1), (5.5, 1.5, 1), (4.0, 1.2, 1), (2.2, 0.7, 2), (1.2, 3.0, 1)]


def _direct(b, a, kap, q, M):
    k = np.arange(1, M + 1.0)
    return math.fsum(k ** -b / (k ** -a + kap) ** q)


@pytest.mark.parametrize("b,a,q", POINTS)
def test_resolvent_real_matches_direct_sums(b, a, q):
    M = 20000
    kaps = np.array([1e-7, 1e-3, 0.3, 20.0])
    got = resolvent_sum(b, a, kaps, q=q, M=M)
    want = np.array([_direct(b, a, kp, q, M) for kp in kaps])
    assert np.all(np.abs(got - want) <= 3e-14 * np.abs(want))


@pytest.mark.parametrize("b,a,q", POINTS[:6])
def test_resolvent_mpmath_two_precisions_and_direct(b, a, q):
    M = 3000
    c30, c50 = context(30), context(50)
    for kap in ("1e-6", "0.05"):
        v30 = resolvent_sum(b, a, kap, q=q, M=M, ctx=c30)
        v50 = resolvent_sum(b, a, kap, q=q, M=M, ctx=c50)
        k = c50.mpf(kap)
        exact = c50.fsum(c50.power(i, -b) / (c50.power(i, -a) + k) ** q for i in range(1, M + 1))
        assert abs(v50 - exact) < c50.mpf(10) ** -47 * abs(exact)
        assert abs(c50.mpf(v30) - exact) < c50.mpf(10) ** -28 * abs(exact)


def test_resolvent_infinite_M_closed_form():
    ctx = context(40)
    for kap in ("1e-9", "1e-3", "3"):
        t = ctx.mpf(kap) ** -0.5                       # sum 1/(1 + kappa k^2) = (pi t coth(pi t) - 1)/2
        want = (ctx.pi * t / ctx.tanh(ctx.pi * t) - 1) / 2
        assert abs(resolvent_sum(2, 2, kap, ctx=ctx) - want) < ctx.mpf(10) ** -38 * want
        assert abs(resolvent_sum(2, 2, float(kap)) - float(want)) < 1e-14 * float(want)


def test_resolvent_at_zero_kappa_is_a_hurwitz_sum():
    M = 5000
    k = np.arange(1, M + 1.0)
    assert abs(resolvent_sum(3.0, 1.5, 0.0, M=M) - math.fsum(k ** -1.5)) < 1e-13
    assert resolvent_sum(2.5, 2.5, [0.0], M=M)[0] == pytest.approx(M, rel=1e-14)


@pytest.mark.parametrize("b,a,q", [(1.5, 1.5, 1), (4.5, 1.5, 2), (2.2, 0.7, 2)])
def test_resolvent_complex_matches_direct(b, a, q):
    M = 20000
    k = np.arange(1, M + 1.0)
    kaps = np.array([1e-4 + 3e-4j, -0.02 + 0.01j, 0.5 - 2j, -3.0 + 0.0j + 1e-300j])
    got = resolvent_sum(b, a, kaps, q=q, M=M)
    for g, kp in zip(got, kaps):
        terms = k ** -b / (k ** -a + kp) ** q
        want = math.fsum(terms.real) + 1j * math.fsum(terms.imag)
        assert abs(g - want) <= 1e-13 * abs(want)
    ctx = context(30)
    v = resolvent_sum(b, a, mpmath.mpc("1e-4", "3e-4"), q=q, M=M, ctx=ctx)
    assert abs(complex(v) - got[0]) <= 1e-14 * abs(got[0])


@pytest.mark.parametrize("M", [10**6, math.inf])
def test_the_two_resolvent_routes_agree_on_the_real_axis(M):
    """Euler--Maclaurin with the incomplete beta integral (real kappa) against the head plus
    Hurwitz series (the complex route, evaluated on the real axis): independent algorithms."""
    kaps = np.array([1e-5, 1e-3, 0.1, 2.0])
    for b, a, q in [(1.5, 1.5, 1), (3.0, 1.5, 1), (4.5, 1.5, 2), (2.5, 2.5, 2)]:
        em = resolvent_sum(b, a, kaps, q=q, M=M)
        hz = _hurwitz_route_double(b, a, kaps.astype(complex), q, M).real
        assert np.all(np.abs(em - hz) <= 2e-14 * np.abs(em)), (b, a, q)


def test_laplace_sum_direct_and_exact_large_tau_limit():
    M = 10**5
    k = np.arange(1, M + 1.0)
    for tau in (0.0, 3.0, 400.0):
        want = math.fsum(k ** -2.5 * np.exp(-tau * k ** -1.5))
        assert abs(laplace_sum(2.5, 1.5, tau, M=M) - want) < 2e-15 * want
    # at M = inf and tau -> inf the sum is Gamma(s) tau^-s / a up to exp(-O(tau^(1/(1+a)))):
    # the Euler-Maclaurin route with the incomplete gamma integral, in both precisions
    ctx = context(30)
    b, a = ctx.mpf("3.25"), ctx.mpf("1.5")
    s = (b - 1) / a
    for tau in ("1e10", "1e30"):
        want = ctx.gamma(s) * ctx.mpf(tau) ** -s / a
        assert abs(laplace_sum(b, a, tau, ctx=ctx) - want) < ctx.mpf(10) ** -28 * want
        assert abs(laplace_sum(3.25, 1.5, float(tau)) - float(want)) < 1e-14 * float(want)
    assert abs(laplace_sum(2.5, 1.5, 0, ctx=ctx) - ctx.zeta(2.5)) < ctx.mpf(10) ** -29


@pytest.mark.parametrize("b, a, tau", [("2.5", "1.5", "3"), ("4", "2", "40"), ("1.7", "1.2", "0.5")])
def test_laplace_sum_series_route_to_fifty_digits(b, a, tau):
    """The head + exponential-series route (its number of terms chosen from the precision)
    against the zeta series ``sum_j (-tau)^j / j! zeta(b + j a)`` summed at 120 digits."""
    ref_ctx = context(120)
    B, A, T = ref_ctx.mpf(b), ref_ctx.mpf(a), ref_ctx.mpf(tau)
    ref = ref_ctx.nsum(lambda j: (-T) ** j / ref_ctx.factorial(j) * ref_ctx.zeta(B + j * A), [0, ref_ctx.inf])
    ctx = context(50)
    got = laplace_sum(ctx.mpf(b), ctx.mpf(a), ctx.mpf(tau), ctx=ctx)
    assert abs(got / ref - 1) < ref_ctx.mpf(10) ** -48


def test_hurwitz_sum():
    ctx = context(40)
    for s, M in [(1.5, 10**9), (3, 7), ("1.01", 10**15), (0.5, 10**6)]:
        want = ctx.zeta(s) - ctx.zeta(s, M + 1)      # Hurwitz zeta, for s < 1 too (continuation)
        got = hurwitz_sum(s, M, ctx)
        assert abs(got - want) < ctx.mpf(10) ** -36 * abs(want)
        assert abs(hurwitz_sum(float(s), M) - float(want)) < 1e-14 * abs(float(want))
    assert hurwitz_sum(2) == pytest.approx(math.pi ** 2 / 6, rel=1e-15)


@pytest.mark.parametrize("call,name", [
    (lambda: resolvent_sum(1.5, -1, 0.1), "a"),
    (lambda: resolvent_sum(1.0, 1.5, 0.1), "b"),
    (lambda: resolvent_sum(2, 1.5, 0.1, q=0), "q"),
    (lambda: resolvent_sum(2, 1.5, 0.1, M=2.5), "M"),
    (lambda: resolvent_sum(2, 1.5, -0.1), "kappa"),
    (lambda: resolvent_sum(2, 1.5, float("nan")), "kappa"),
    (lambda: laplace_sum(2, 1.5, -1.0), "tau"),
    (lambda: hurwitz_sum(1.0), "s"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        call()


def test_both_models_and_the_asymptotics_use_this_engine():
    """Model A's n1, n2, model B's resolvent sums and decay, and the asymptotics checker's
    sums are the engine's sums (same numbers to round-off at the same points)."""
    from scaling_theory.numerics import BAPModel
    from scaling_theory.numerics._exponent_checks import power_law_sum
    from scaling_theory.numerics._flow_sums import BAPSpectrum
    from scaling_theory.numerics._spectral_sums import PowerLawSpectrum, spectral_sums

    kaps = np.array([1e-4, 0.02, 1.0])
    s = spectral_sums(PowerLawSpectrum(alpha=0.7, M=10**8, lambda_plus=2.0), kaps)
    assert np.allclose(s.n1, resolvent_sum(1.7, 1.7, kaps / 2, M=10**8), rtol=1e-15, atol=0)
    assert np.allclose(s.n2, resolvent_sum(3.4, 1.7, kaps / 2, q=2, M=10**8), rtol=1e-15, atol=0)
    m = BAPModel(M=10**7, alpha=1.5, beta=0.8, N=100, P="inf")
    sp = BAPSpectrum(m)
    z = np.array([1e-3 + 1e-3j, 0.3 - 0.2j])
    F = sp.F(z)
    assert np.allclose(F["u", 2], resolvent_sum(1.5 * 0.8 + 1, 1.5, z, q=2, M=10**7), rtol=1e-14, atol=0)
    assert np.allclose(F["l", 1], resolvent_sum(1.5, 1.5, z, M=10**7), rtol=1e-14, atol=0)
    assert sp.decay([50.0])[0] == pytest.approx(laplace_sum(2.2, 1.5, 100.0, M=10**7), rel=1e-15)
    ctx = context(30)
    assert power_law_sum("resolvent", 2.2, 1.5, "1e-5", q=2, dps=30) == \
        pytest.approx(resolvent_sum(2.2, 1.5, "1e-5", q=2, ctx=ctx), rel=1e-29)


@pytest.mark.parametrize("n", [1, 100])
def test_routes_agree_at_the_cost_crossover(n, monkeypatch):
    """Double precision sums ``M`` terms directly while that is cheaper than Euler--Maclaurin
    (``direct_is_cheaper``); at the crossover size both routes agree to 1e-12."""
    from scaling_theory.numerics import _power_sums as ps

    K = ps.em_head_size(2.0)
    M = next(m for m in range(1000, 10**7, 50) if not ps.direct_is_cheaper(m, n, K))
    assert ps.direct_is_cheaper(M - 50, n, K)
    kaps = np.logspace(-7, 1, n)
    chans = [(0.5, 0.5, 0, 1), (1.5, 0.5, 0, 2)]
    direct = ps.em_resolvent(2.0, chans, kaps, M - 1)
    monkeypatch.setattr(ps, "direct_is_cheaper", lambda *a: False)
    em = ps.em_resolvent(2.0, chans, kaps, M - 1)
    for d, e in zip(direct, em):
        assert np.all(np.abs(d - e) <= 1e-12 * np.abs(d))


# -- complex kappa at any modulus: Euler--Maclaurin on the ray ------------------------------
def _chans(ps_qs, a):
    """Channels (al, be, e, q) of sum k^-p (k^-a + kappa)^-q = sum k^e (1 + kappa k^a)^-q."""
    out = []
    for p, q in ps_qs:
        e = a * q - p
        be = (e + 1) / a
        out.append((q - be, be, e, q))
    return out


def test_complex_route_matches_direct_sums_near_and_far_from_the_poles():
    """Random kappa with |kappa| from 1e-9 to 1, and kappa within 1e-3 .. 0.3 rad of the negative
    axis, where a pole of the summand comes within a few units of the real k axis (terms summed
    directly around it): against the plain sum of every term from K = 128 to M = 2 10^5.  The
    sum near such a pole is ill-conditioned (condition ~ 1/|1 + kappa k^a|), so the error is
    measured against sum |terms|."""
    a, K, M = 1.5, 128, 200_000
    pq = [(1.5, 1), (3.0, 2), (2.8, 1), (4.3, 2), (2.0, 2)]
    rng = np.random.default_rng(3)
    kap = np.concatenate([10 ** rng.uniform(-9, 0, 24) * np.exp(1j * rng.uniform(-3.1, 3.1, 24)),
                          [1e-6 * np.exp(1j * (np.pi - 1e-3)), 1e-5 * np.exp(-1j * (np.pi - 0.05)),
                           3e-7 * np.exp(1j * (np.pi - 0.3)), 2e-6 * np.exp(-1j * (np.pi - 2e-4)),
                           2e-4 + 0j, -1.1e-6 + 0j]])
    got = complex_resolvent_tail(a, _chans(pq, a), kap, K, M)
    k = np.arange(K, M + 1.0)
    windows = 0
    for (p, q), g in zip(pq, got):
        for j, c in enumerate(kap):
            terms = k ** (a * q - p) * (1 + c * k ** a) ** -q
            want = np.sum(terms)
            scale = np.sum(np.abs(terms))
            assert abs(g[j] - want) <= 2e-14 * scale, (p, q, c)
    windows = int(np.sum(~np.isnan(_pole_windows(kap, a, K, M))))
    assert windows >= 3                      # the near-axis points did take the window route


@pytest.mark.parametrize("M", [10**7, math.inf])
def test_complex_routes_agree_where_both_converge(M):
    """Euler--Maclaurin on the ray against the Hurwitz series from the same K (independent
    algorithms), at |kappa| where the series converges (|kappa| >= 4 K^-a)."""
    a, K = 1.5, 128
    kap = 4.5 * K ** -a * np.exp(1j * np.linspace(-3.0, 3.0, 13)) * np.array([1, 3, 30] * 4 + [1])
    for p, q in [(1.5, 1), (3.0, 2), (2.8, 1), (4.3, 2)]:
        em = complex_resolvent_tail(a, _chans([(p, q)], a), kap, K, M)[0]
        hz = tail_series(p, a, K, M, kap, q)
        assert np.all(np.abs(em - hz) <= 1e-14 * np.abs(hz)), (p, q)


def test_complex_route_mpmath_two_precisions_and_direct():
    """The mpmath route at 30 and 50 digits, and against an exact 50-digit sum at M = 3000."""
    a_s, M, K = "1.5", 3000, 64
    outs = {}
    for dps in (30, 50):
        w = context(dps + 8)
        a = w.mpf(a_s)
        chans = []
        for p, q in [(a, 1), (2 * a, 2), (a * w.mpf("1.2") + 1, 2)]:
            e = a * q - p
            be = (e + 1) / a
            chans.append((q - be, be, e, q))
        c = w.mpc("-2e-5", "3e-7")
        outs[dps] = complex_resolvent_tail_mp(w, a, chans, c, K, M)
        if dps == 50:
            for (_, _, e, q), g in zip(chans, outs[dps]):
                want = w.fsum(w.power(I, e) * (1 + c * w.power(I, a)) ** -q for I in range(K, M + 1))
                assert abs(g / want - 1) < w.mpf(10) ** -48
    for x, y in zip(outs[30], outs[50]):
        assert abs(x / y - 1) < mpmath.mpf(10) ** -29
