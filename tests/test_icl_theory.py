"""theory/icl.py: exact identities (hypothesis, float64), Monte-Carlo checks of the loss formula, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory import icl as th
from theory.stats import Z_SUITE, float_tolerance

EPS = np.finfo(np.float64).eps


def random_spd(d: int, seed: int, log_range: float = 3.0) -> np.ndarray:
    """Sigma = Q diag(exp(U[-r, r])) Q^T from a seeded QR (docs/icl.md, Derivations)."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = np.exp(rng.uniform(-log_range, log_range, size=d))
    return (Q * lam) @ Q.T


problems = st.fixed_dictionaries({
    "d": st.integers(1, 10), "n": st.integers(1, 500), "sigma": st.floats(0.0, 3.0),
    "tau": st.floats(0.1, 3.0), "seed": st.integers(0, 2**31 - 1),
})


def _setup(p, omega=True):
    Sigma = random_spd(p["d"], p["seed"])
    Omega = p["tau"] ** 2 * random_spd(p["d"], p["seed"] + 1, 1.0) if omega else None
    return Sigma, Omega, p["n"], p["sigma"] ** 2


def _cond(Sigma, Omega, n, s2):
    K = th.second_moment_h(Sigma, n, s2, Omega)
    return np.linalg.cond(K) * np.linalg.cond(Sigma) * (1 if Omega is None else np.linalg.cond(Omega))


@given(problems)
def test_gradient_vanishes_at_optimum(p):
    Sigma, Omega, n, s2 = _setup(p)
    G = th.optimal_gamma(Sigma, n, s2, Omega)
    grad = th.loss_gradient(G, Sigma, n, s2, Omega)
    scale = np.linalg.norm(Sigma @ Omega @ Sigma)
    # identity: C·d·eps·cond (solve of K, products with Sigma and Omega)
    assert np.linalg.norm(grad) <= float_tolerance(EPS, p["d"] ** 2, _cond(Sigma, Omega, n, s2), 100) * scale


@given(problems, st.integers(0, 2**31 - 1))
def test_loss_is_the_exact_quadratic_above_optimum(p, seed2):
    """L(Gamma* + delta) - L* = vec(delta)^T (K (x) Sigma) vec(delta) >= 0."""
    Sigma, Omega, n, s2 = _setup(p)
    G = th.optimal_gamma(Sigma, n, s2, Omega)
    delta = np.random.default_rng(seed2).standard_normal(G.shape) * np.linalg.norm(G) / p["d"]
    K = th.second_moment_h(Sigma, n, s2, Omega)
    quad = float(np.trace(delta.T @ Sigma @ delta @ K))
    L_star = th.optimal_loss(Sigma, n, s2, Omega)
    L = th.population_loss(G + delta, Sigma, n, s2, Omega)
    scale = abs(L) + abs(L_star) + np.trace(Omega @ Sigma) + s2
    assert L >= L_star - float_tolerance(EPS, p["d"] ** 2, _cond(Sigma, Omega, n, s2), 100) * scale
    assert L - L_star == pytest.approx(quad, rel=1e-6, abs=float_tolerance(EPS, p["d"] ** 2, _cond(Sigma, Omega, n, s2), 100) * scale)
    assert th.population_loss(G, Sigma, n, s2, Omega) == pytest.approx(L_star, rel=1e-9, abs=1e-12 * scale)


@given(problems, st.integers(0, 2**31 - 1))
def test_equivariance_under_rotation(p, seed2):
    Sigma, Omega, n, s2 = _setup(p)
    U, _ = np.linalg.qr(np.random.default_rng(seed2).standard_normal((p["d"], p["d"])))
    G = th.optimal_gamma(Sigma, n, s2, Omega)
    G_rot = th.optimal_gamma(U @ Sigma @ U.T, n, s2, U @ Omega @ U.T)
    tol = float_tolerance(EPS, p["d"] ** 2, _cond(Sigma, Omega, n, s2), 100) * np.linalg.norm(G)
    assert np.abs(G_rot - U @ G @ U.T).max() <= tol


@given(problems, st.floats(0.1, 10.0))
def test_scaling_law_identity_prior(p, c):
    """Gamma*(c Sigma, c sigma^2) = Gamma*(Sigma, sigma^2)/c for Omega = I."""
    Sigma, _, n, s2 = _setup(p, omega=False)
    G = th.optimal_gamma(Sigma, n, s2)
    Gc = th.optimal_gamma(c * Sigma, n, c * s2)
    assert np.abs(Gc - G / c).max() <= float_tolerance(EPS, p["d"] ** 2, _cond(Sigma, None, n, s2), 100) * np.linalg.norm(G) / c


@given(problems)
def test_inverse_prior_is_preconditioned_gd(p):
    """Omega = Sigma^-1: Gamma* = n/(n+d+1+sigma^2)·Sigma^-1 and L* equals the isotropic value (docs/icl.md, Derivations)."""
    Sigma, _, n, s2 = _setup(p, omega=False)
    G = th.optimal_gamma(Sigma, n, s2, np.linalg.inv(Sigma))
    want = th.optimal_eta(p["d"], n, s2) * np.linalg.inv(Sigma)
    cond = np.linalg.cond(Sigma) ** 2
    assert np.abs(G - want).max() <= float_tolerance(EPS, p["d"] ** 2, cond, 100) * np.linalg.norm(want)
    assert th.optimal_loss(Sigma, n, s2, np.linalg.inv(Sigma)) == pytest.approx(
        th.isotropic_optimal_loss(p["d"], n, s2), rel=float_tolerance(EPS, p["d"] ** 2, cond, 100))


@given(st.integers(1, 30), st.integers(1, 500), st.floats(0, 3), st.floats(0.1, 3))
def test_isotropic_closed_forms(d, n, sigma, tau):
    s2, t2 = sigma ** 2, tau ** 2
    eta = th.optimal_eta(d, n, s2, t2)
    G = th.optimal_gamma(np.eye(d), n, s2, t2 * np.eye(d))
    assert np.allclose(G, eta * np.eye(d), rtol=1e-12, atol=1e-15)
    L = th.isotropic_optimal_loss(d, n, s2, t2)
    assert th.optimal_loss(np.eye(d), n, s2, t2 * np.eye(d)) == pytest.approx(L, rel=1e-12)
    # P4: eta in (0, 1), increasing in n, decreasing in d and sigma^2/tau^2; L* decreasing in n
    assert 0 < eta < 1
    assert th.optimal_eta(d, n + 1, s2, t2) > eta
    assert th.optimal_eta(d + 1, n, s2, t2) < eta
    assert th.optimal_eta(d, n, s2 + 0.1, t2) < eta
    assert th.isotropic_optimal_loss(d, n + 1, s2, t2) < L
    # P5: noiseless Bayes risk + sigma^2 <= L* <= zero predictor; n = inf gives sigma^2
    assert L >= s2 + th.noiseless_bayes_risk(d, n, t2) - 1e-12 * L
    assert L <= t2 * d + s2
    assert th.isotropic_optimal_loss(d, np.inf, s2, t2) == s2
    assert th.optimal_eta(d, np.inf, s2, t2) == 1.0


@given(problems)
def test_optimal_loss_monotone_in_n_and_below_zero_predictor(p):
    Sigma, Omega, n, s2 = _setup(p)
    L = th.optimal_loss(Sigma, n, s2, Omega)
    scale = np.trace(Omega @ Sigma) + s2
    tol = float_tolerance(EPS, p["d"] ** 2, _cond(Sigma, Omega, n, s2), 100) * scale
    assert th.optimal_loss(Sigma, n + 1, s2, Omega) <= L + tol
    assert L <= scale + tol
    assert L >= s2 - tol
    assert th.optimal_loss(Sigma, np.inf, s2, Omega) == pytest.approx(s2, abs=tol)


def test_held_out_table_values():
    """Held-out numbers of docs/icl.md, Derivations (d = 5, n = 20, sigma = 0.1; d = 8, sigma^2 = 1/4)."""
    assert th.optimal_eta(5, 20, 0.01) == pytest.approx(0.768935, abs=1e-6)
    assert th.optimal_loss(np.eye(5), 20, 0.01) == pytest.approx(1.165325, abs=1e-6)
    ahn = np.diag([1, 1, 0.25, 0.0625, 1])
    assert th.optimal_loss(ahn, 20, 0.01) == pytest.approx(0.692978, abs=1e-6)
    assert th.population_loss(0.768935 * np.linalg.inv(ahn), ahn, 20, 0.01) == pytest.approx(0.7759, abs=1e-4)
    assert th.population_loss(0.8 * 0.768935 * np.eye(5), np.eye(5), 20, 0.01) == pytest.approx(1.31911, abs=1e-5)
    assert th.nonlinear_eta(5, 20, 0.01, "relu") == pytest.approx(0.60533, abs=1e-5)
    # tanh: a Monte-Carlo Gamma_fit gave 0.7786 (moment MC 0.7797, SE ~1e-3); quadrature here is exact to ~1e-10
    assert th.nonlinear_eta(5, 20, 0.01, "tanh") == pytest.approx(0.7786, abs=2e-3)
    ols = {1: 7.042, 2: 6.100, 4: 4.333, 6: 3.500, 10: 2.000, 12: 0.667, 16: 0.286, 24: 0.133, 40: 0.0645}
    for n, v in ols.items():
        assert th.min_norm_ols_excess_risk(8, n, 0.25) == pytest.approx(v, abs=1e-3)
    for n in (7, 8, 9):
        assert th.min_norm_ols_excess_risk(8, n, 0.25) == math.inf
    mp = {1: 7.034, 8: 1.295, 16: 0.236, 40: 0.0619}
    for n, v in mp.items():
        assert th.bayes_ridge_risk_mp(8, n, 0.25) == pytest.approx(v, abs=1e-3)
    lsa = {1: 7.220, 8: 4.290, 40: 1.503}
    for n, v in lsa.items():
        assert th.isotropic_optimal_loss(8, n, 0.25) - 0.25 == pytest.approx(v, abs=1e-3)


@pytest.mark.parametrize("n", [1, 4, 8, 16, 40])
def test_bayes_ridge_mc_matches_reference_table(n):
    table = {1: 7.040, 4: 4.270, 8: 1.449, 16: 0.264, 40: 0.0639}  # docs/icl.md table, MC B = 2e4, SE <= 0.0024
    mean, se = th.bayes_ridge_risk_mc(8, n, 0.25, n_mc=20000, seed=3)
    assert abs(mean - table[n]) <= Z_SUITE * math.hypot(se, 0.0024)  # two independent MCs
    assert th.bayes_ridge_risk_mc(8, n, 0.25, n_mc=2000, seed=3) == th.bayes_ridge_risk_mc(8, n, 0.25, n_mc=2000, seed=3)


def test_ols_and_ridge_limits():
    assert th.min_norm_ols_excess_risk(8, 5, 0.0) == 3.0  # noiseless: (d - n)_+, no spike
    assert th.min_norm_ols_excess_risk(8, 8, 0.0) == 0.0
    X = np.random.default_rng(0).standard_normal((50, 5, 8))
    assert np.allclose(th.bayes_ridge_risk_given_X(X, 0.0), 3.0)  # tau^2 (d - rank X)
    # ridge is Bayes optimal: its risk is below the LSA optimum and (up to MC) below OLS away from the peak
    for n in (2, 12, 40):
        r, _ = th.bayes_ridge_risk_mc(8, n, 0.25, n_mc=4000)
        assert r < th.isotropic_optimal_loss(8, n, 0.25) - 0.25
        assert r < th.min_norm_ols_excess_risk(8, n, 0.25)
    # MP limit: lambda -> 0, gamma < 1 gives sigma^2 gamma/(1-gamma)
    assert th.bayes_ridge_risk_mp(10, 1e9, 1e-9) == pytest.approx(1e-9 * 1e-8, rel=1e-6)


def test_nonlinear_forms():
    for d, n, s2 in [(1, 1, 0.0), (5, 20, 0.01), (12, 300, 2.0)]:
        assert th.nonlinear_eta(d, n, s2, "linear") == pytest.approx(th.optimal_eta(d, n, s2), rel=1e-12)
        assert th.nonlinear_eta(d, n, s2, "relu") == pytest.approx(n / (n + 2 * d + 3 + 4 * s2), rel=1e-12)
        for resp in ("linear", "relu", "tanh"):
            eta = th.nonlinear_eta(d, n, s2, resp)
            L = th.nonlinear_loss(eta, d, n, s2, resp)
            assert L < th.nonlinear_loss(eta * 1.01, d, n, s2, resp)
            assert L < th.nonlinear_loss(eta * 0.99, d, n, s2, resp)
    assert th.nonlinear_loss(th.optimal_eta(5, 20, 0.01), 5, 20, 0.01, "linear") == pytest.approx(
        th.optimal_loss(np.eye(5), 20, 0.01), rel=1e-12)


@given(st.integers(1, 8), st.integers(1, 200), st.integers(1, 10**6), st.integers(0, 2**31 - 1))
def test_zfb_theorem_42_equals_population_loss(d, N, M, seed):
    """ZFB Thm 4.2 (paper's form) = the general loss formula with n <- M at Gamma_Z^-1."""
    Lam = random_spd(d, seed, 2.0)
    Lam = np.diag(np.linalg.eigvalsh(Lam))  # ZFB state Thm 4.2 for any Lambda; diagonal keeps cond tame
    G = th.zfb_gamma(Lam, N)
    cond = np.linalg.cond(Lam) ** 3
    want = th.population_loss(G, Lam, M, 0.0)
    assert th.zfb_test_error(M, N, Lam) == pytest.approx(want, rel=float_tolerance(EPS, d ** 2, cond, 1000))
    assert th.zfb_test_error(M + 1, N, Lam) < th.zfb_test_error(M, N, Lam)
    assert th.zfb_test_error(np.inf, N, Lam) < th.zfb_test_error(M, N, Lam)
    assert th.zfb_test_error(N, N, Lam) == pytest.approx(th.optimal_loss(Lam, N, 0.0), rel=float_tolerance(EPS, d ** 2, cond, 1000))
    iso = th.zfb_isotropic_error(M, N, d)
    assert th.zfb_test_error(M, N, np.eye(d)) == pytest.approx(iso, rel=1e-12)
    assert th.zfb_isotropic_error(np.inf, N, d) == pytest.approx(d * (d + 1) ** 2 / (N + d + 1) ** 2, rel=1e-12)


@given(st.integers(1, 8), st.integers(0, 4), st.integers(0, 2**31 - 1))
def test_spd_equals_ilwd_for_linear_predictors(d, extra, seed):
    """P14: probes with P^T P = k I recover w exactly, and SPD = ||w1 - w2||^2 = ILWD."""
    rng = np.random.default_rng(seed)
    k = d + 1 + extra
    Q, _ = np.linalg.qr(rng.standard_normal((k, d)))
    P = math.sqrt(k) * Q
    w1, w2 = rng.standard_normal(d), rng.standard_normal(d)
    scale = 1 + np.abs(w1).max() + np.abs(w2).max()
    for intercept in (False, True):
        if k >= d + int(intercept):
            assert np.allclose(th.implicit_weights(P, P @ w1, fit_intercept=intercept), w1, atol=1e-10 * scale)
    assert th.spd(P @ w1, P @ w2) == pytest.approx(th.ilwd(w1[None], w2[None]), rel=1e-10, abs=1e-14)


def test_loss_formula_against_rao_blackwell_monte_carlo():
    """P2: the exact L(Gamma) agrees with the Rao-Blackwellised MC mean at random Gamma (z-rule, fixed seed)."""
    rng = np.random.default_rng(20240611)
    for d, n, s2 in [(3, 5, 0.3), (5, 20, 0.01)]:
        Sigma = random_spd(d, 7, 1.0)
        Omega = random_spd(d, 8, 0.5)
        G = rng.standard_normal((d, d)) * 0.3
        X = rng.standard_normal((40000, n, d)) @ np.linalg.cholesky(Sigma).T
        vals = th.rao_blackwell_loss(G, X, Sigma, s2, Omega)
        se = vals.std(ddof=1) / math.sqrt(vals.size)
        assert abs(vals.mean() - th.population_loss(G, Sigma, n, s2, Omega)) <= Z_SUITE * se  # MC z-rule


def test_loss_formula_against_plain_monte_carlo():
    """The RB formula is itself checked against plain prompts: sample w, y, x_q and average (y_hat - y_q)^2."""
    rng = np.random.default_rng(11)
    d, n, s2, B = 3, 6, 0.2, 200000
    Sigma = np.diag([1.0, 0.5, 2.0])
    G = np.array([[0.5, 0.1, 0.0], [0.0, 0.7, -0.2], [0.1, 0.0, 0.3]])
    L = np.linalg.cholesky(Sigma)
    X = rng.standard_normal((B, n + 1, d)) @ L.T
    w = rng.standard_normal((B, d))
    y = np.einsum("bnd,bd->bn", X, w) + math.sqrt(s2) * rng.standard_normal((B, n + 1))
    h = np.einsum("bnd,bn->bd", X[:, :n], y[:, :n]) / n
    err = (np.einsum("bd,de,be->b", X[:, n], G, h) - y[:, n]) ** 2
    se = err.std(ddof=1) / math.sqrt(B)
    assert abs(err.mean() - th.population_loss(G, Sigma, n, s2)) <= Z_SUITE * se


@pytest.mark.parametrize("call, field", [
    (lambda: th.population_loss(np.eye(3), np.eye(4), 5, 0.1), "Gamma"),
    (lambda: th.optimal_gamma(np.diag([1.0, -1.0]), 5, 0.1), "Sigma"),
    (lambda: th.optimal_gamma(np.array([[1.0, 2.0], [0.0, 1.0]]), 5, 0.1), "Sigma"),
    (lambda: th.optimal_gamma(np.ones((2, 3)), 5, 0.1), "Sigma"),
    (lambda: th.optimal_gamma(np.eye(2), 0, 0.1), "n"),
    (lambda: th.optimal_gamma(np.eye(2), 5, -0.1), "sigma2"),
    (lambda: th.optimal_gamma(np.eye(2), 5, 0.1, -np.eye(2)), "Omega"),
    (lambda: th.optimal_eta(0, 5, 0.1), "d"),
    (lambda: th.optimal_eta(3, 5, 0.1, tau2=0.0), "tau2"),
    (lambda: th.nonlinear_eta(3, 5, 0.1, "sigmoid"), "response"),
    (lambda: th.min_norm_ols_excess_risk(3, 0.5, 0.1), "n"),
    (lambda: th.zfb_test_error(0, 5, np.eye(2)), "M"),
    (lambda: th.bayes_ridge_risk_mc(3, 4, 0.1, n_mc=1), "n_mc"),
    (lambda: th.implicit_weights(np.ones((2, 3)), np.ones(2)), "probes"),
    (lambda: th.spectrum_sigma((1.0, 0.0), 2), "spectrum"),
    (lambda: th.prior_omega("flat", np.eye(2)), "prior"),
])
def test_bad_input_names_the_argument(call, field):
    with pytest.raises(ValueError, match=field):
        call()


@pytest.mark.slow
@pytest.mark.parametrize("case", ["isotropic", "anisotropic", "inverse_prior", "relu"])
def test_empirical_minimiser_matches_gamma_star(case):
    """P1/P9: Gamma_fit, the least-squares fit of y_q on the features x_q (x) h over fresh prompts (the empirical global
    minimiser of the reduced problem, no formula involved), agrees with Gamma*. 16 independent batches give the SE of
    each entry; the mean standardised squared deviation over the d^2 entries is ~ chi^2_{d^2}/d^2 (<= 3 w.p. ~0.998)."""
    d, n, s2, B, k = 3, 10, 0.04, 100000, 16
    spectrum = np.array([1.0, 0.25, 0.5]) if case in ("anisotropic", "inverse_prior") else np.ones(d)
    Sigma = np.diag(spectrum)
    Omega = np.linalg.inv(Sigma) if case == "inverse_prior" else np.eye(d)
    if case == "relu":
        want = th.nonlinear_eta(d, n, s2, "relu") * np.eye(d)
    else:
        want = th.optimal_gamma(Sigma, n, s2, Omega)
    rng = np.random.default_rng(12345)
    fits = []
    for _ in range(k):
        X = rng.standard_normal((B, n + 1, d)) * np.sqrt(spectrum)
        w = rng.standard_normal((B, d)) @ np.linalg.cholesky(Omega).T
        f = np.einsum("bnd,bd->bn", X, w)
        if case == "relu":
            f = np.maximum(f, 0)
        y = f + np.sqrt(s2) * rng.standard_normal((B, n + 1))
        h = np.einsum("bnd,bn->bd", X[:, :n], y[:, :n]) / n
        feats = (X[:, n, :, None] * h[:, None, :]).reshape(B, d * d)  # y_hat = x_q^T Gamma h = <x_q h^T, Gamma>
        fits.append(np.linalg.lstsq(feats, y[:, n], rcond=None)[0].reshape(d, d))
    fits = np.array(fits)
    se = fits.std(axis=0, ddof=1) / math.sqrt(k)
    stat = np.mean(((fits.mean(axis=0) - want) / se) ** 2)
    assert stat <= 3.0, (fits.mean(axis=0), want, se)
