r"""Closed forms for one-layer linear self-attention (LSA) trained on in-context linear regression.

Conventions (see docs/icl.md): x_i, x_q ~ N(0, \Sigma), w ~ N(0, \Omega) (identity when ``Omega is None``),
y_i = w^T x_i + \varepsilon_i with \varepsilon_i ~ N(0, \sigma^2). Write \hat\Sigma = X^T X / n and h = X^T y / n.
The LSA prediction reduces to one step of preconditioned gradient descent from w_0 = 0,
\hat y = x_q^T \Gamma h, and every loss here is E(\hat y - y_q)^2 with a *noisy* target (it includes +\sigma^2;
no factor 1/2).

Everything is numpy/scipy in float64 and pure: randomness (the Monte-Carlo Bayes risk) only through ``seed``.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import integrate, stats

RESPONSES = ("linear", "relu", "tanh")


# ----------------------------------------------------------------------------------------------- input checks
def _check_n(n, name: str = "n", allow_inf: bool = True) -> float:
    if isinstance(n, bool) or not isinstance(n, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}={n!r} must be a number >= 1")
    n = float(n)
    if math.isnan(n) or n < 1 or (math.isinf(n) and not allow_inf):
        raise ValueError(f"{name}={n} is not valid; need {name} >= 1" + (" (numpy.inf allowed)" if allow_inf else ""))
    return n


def _check_nonneg(x, name: str) -> float:
    x = float(x)
    if not (x >= 0 and math.isfinite(x)):
        raise ValueError(f"{name}={x} is not valid; need a finite {name} >= 0")
    return x


def _check_pos(x, name: str) -> float:
    x = float(x)
    if not (x > 0 and math.isfinite(x)):
        raise ValueError(f"{name}={x} is not valid; need a finite {name} > 0")
    return x


def _check_d(d, name: str = "d") -> int:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"{name}={d!r} is not valid; need an integer {name} >= 1")
    return int(d)


def _check_spd(S, name: str, d: int | None = None) -> np.ndarray:
    """A symmetric positive-definite float64 matrix (symmetry to 1e-10 relative), else ValueError naming it."""
    S = np.asarray(S, dtype=np.float64)
    if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] < 1:
        raise ValueError(f"{name} must be a square (d, d) matrix, got shape {S.shape}")
    if d is not None and S.shape[0] != d:
        raise ValueError(f"{name} has shape {S.shape}, expected ({d}, {d})")
    if not np.all(np.isfinite(S)):
        raise ValueError(f"{name} has non-finite entries")
    scale = max(np.abs(S).max(), 1e-300)
    if np.abs(S - S.T).max() > 1e-10 * scale:
        raise ValueError(f"{name} must be symmetric")
    S = 0.5 * (S + S.T)
    if np.linalg.eigvalsh(S)[0] <= 0:
        raise ValueError(f"{name} must be positive definite (smallest eigenvalue > 0)")
    return S


def _check_gamma(Gamma, d: int) -> np.ndarray:
    G = np.asarray(Gamma, dtype=np.float64)
    if G.shape != (d, d):
        raise ValueError(f"Gamma has shape {G.shape}, expected ({d}, {d}) to match Sigma")
    if not np.all(np.isfinite(G)):
        raise ValueError("Gamma has non-finite entries")
    return G


def _omega(Omega, d: int) -> np.ndarray:
    return np.eye(d) if Omega is None else _check_spd(Omega, "Omega", d)


# ----------------------------------------------------------------------------------------- population loss
def second_moment_h(Sigma, n, sigma2, Omega=None) -> np.ndarray:
    r"""K = E[h h^T] = (1 + 1/n)\,\Sigma\Omega\Sigma + \frac{\mathrm{tr}(\Omega\Sigma) + \sigma^2}{n}\,\Sigma.

    Uses E[\hat\Sigma A \hat\Sigma] = (1+1/n)\Sigma A\Sigma + \mathrm{tr}(A\Sigma)\Sigma/n for Gaussian x, symmetric A.
    Reference: derivation in docs/icl.md, Derivations (MHM arXiv 2307.03576 setting); n = inf gives \Sigma\Omega\Sigma.
    """
    Sigma = _check_spd(Sigma, "Sigma")
    Omega = _omega(Omega, Sigma.shape[0])
    n = _check_n(n)
    sigma2 = _check_nonneg(sigma2, "sigma2")
    SOS = Sigma @ Omega @ Sigma
    if math.isinf(n):
        return SOS
    return (1 + 1 / n) * SOS + (np.trace(Omega @ Sigma) + sigma2) / n * Sigma


def population_loss(Gamma, Sigma, n, sigma2, Omega=None) -> float:
    r"""Exact risk of \hat y = x_q^T\Gamma h:

    L(\Gamma) = \mathrm{tr}(\Omega\Sigma) + \sigma^2 - 2\,\mathrm{tr}(\Sigma\Gamma\Sigma\Omega)
                + \mathrm{tr}(\Gamma^T\Sigma\Gamma K),\quad K = E[hh^T] (see :func:`second_moment_h`).

    Reference: Mahankali–Hashimoto–Ma arXiv 2307.03576 §3–4 (re-derived in docs/icl.md, Derivations; MC-verified).
    Assumptions: Gaussian x ~ N(0, \Sigma), w ~ N(0, \Omega) independent of x, Gaussian noise; context length n
    (``numpy.inf`` allowed: the n -> inf limit). Evaluating at a test-time (n, \Sigma, \sigma^2) different from
    training gives the shifted error (ZFB Thm 4.2 with M <- n).
    """
    Sigma = _check_spd(Sigma, "Sigma")
    d = Sigma.shape[0]
    G = _check_gamma(Gamma, d)
    Omega = _omega(Omega, d)
    K = second_moment_h(Sigma, n, sigma2, Omega)
    sigma2 = float(sigma2)
    return float(np.trace(Omega @ Sigma) + sigma2 - 2 * np.trace(Sigma @ G @ Sigma @ Omega)
                 + np.trace(G.T @ Sigma @ G @ K))


def loss_gradient(Gamma, Sigma, n, sigma2, Omega=None) -> np.ndarray:
    r"""\nabla_\Gamma L = 2(\Sigma\Gamma K - \Sigma\Omega\Sigma) (exact; the Hessian is 2\,K\otimes\Sigma \succ 0)."""
    Sigma = _check_spd(Sigma, "Sigma")
    d = Sigma.shape[0]
    G = _check_gamma(Gamma, d)
    Omega = _omega(Omega, d)
    K = second_moment_h(Sigma, n, sigma2, Omega)
    return 2 * (Sigma @ G @ K - Sigma @ Omega @ Sigma)


def optimal_gamma(Sigma, n, sigma2, Omega=None) -> np.ndarray:
    r"""Global minimiser of the LSA pre-training loss (unique: L is a strictly convex quadratic in \Gamma):

    \Gamma^* = \Omega\Sigma K^{-1} = \Omega\,[(1+1/n)\Sigma\Omega + c I]^{-1},\quad c = (\mathrm{tr}(\Omega\Sigma)+\sigma^2)/n.

    Isotropic \Sigma = I, \Omega = \tau^2 I: \Gamma^* = \eta I with \eta = n/(n+d+1+\sigma^2/\tau^2). \Omega = I: the
    Zhang–Frei–Bartlett / Ahn et al. optimum ((1+1/n)\Sigma + c I)^{-1}. \Omega = \Sigma^{-1}: \eta\Sigma^{-1}.
    Reference: MHM arXiv 2307.03576 Thm 1 (isotropic) and §4; ZFB arXiv 2306.09927 Thm 4.1 (\sigma = 0);
    Ahn et al. arXiv 2306.00297 Thm 1. General form re-derived in docs/icl.md, Derivations.
    """
    Sigma = _check_spd(Sigma, "Sigma")
    Omega = _omega(Omega, Sigma.shape[0])
    K = second_moment_h(Sigma, n, sigma2, Omega)
    # Gamma K = Omega Sigma  <=>  K Gamma^T = Sigma Omega (K symmetric)
    return np.linalg.solve(K, Sigma @ Omega).T


def optimal_loss(Sigma, n, sigma2, Omega=None) -> float:
    r"""L^* = \mathrm{tr}(\Omega\Sigma) + \sigma^2 - \mathrm{tr}(\Sigma\Gamma^*\Sigma\Omega).

    Reference: MHM arXiv 2307.03576 Thm 1 (isotropic: \tau^2 d(d+1+\sigma^2/\tau^2)/(n+d+1+\sigma^2/\tau^2) + \sigma^2).
    """
    Sigma = _check_spd(Sigma, "Sigma")
    Omega = _omega(Omega, Sigma.shape[0])
    G = optimal_gamma(Sigma, n, sigma2, Omega)
    return float(np.trace(Omega @ Sigma) + float(sigma2) - np.trace(Sigma @ G @ Sigma @ Omega))


def optimal_eta(d, n, sigma2, tau2=1.0) -> float:
    r"""Isotropic step size \eta = n / (n + d + 1 + \sigma^2/\tau^2) (\Sigma = I, \Omega = \tau^2 I); 1 at n = inf.

    Reference: MHM arXiv 2307.03576 Thm 1 (our derivation; equals ZFB Thm 4.1's (1+(d+1)/N)^{-1} at \sigma = 0).
    """
    d = _check_d(d)
    n = _check_n(n)
    ratio = _check_nonneg(sigma2, "sigma2") / _check_pos(tau2, "tau2")
    return 1.0 if math.isinf(n) else n / (n + d + 1 + ratio)


def isotropic_optimal_loss(d, n, sigma2, tau2=1.0) -> float:
    r"""L^* = \tau^2 d (d+1+\sigma^2/\tau^2)/(n+d+1+\sigma^2/\tau^2) + \sigma^2 (MHM Thm 1 setting)."""
    d = _check_d(d)
    n = _check_n(n)
    sigma2 = _check_nonneg(sigma2, "sigma2")
    tau2 = _check_pos(tau2, "tau2")
    r = sigma2 / tau2
    return sigma2 + (0.0 if math.isinf(n) else tau2 * d * (d + 1 + r) / (n + d + 1 + r))


def rao_blackwell_loss(Gamma, X, Sigma, sigma2, Omega=None) -> np.ndarray:
    r"""E[(\hat y - y_q)^2 \mid X] = \mathrm{tr}(\Sigma(\Gamma\hat\Sigma - I)\Omega(\Gamma\hat\Sigma - I)^T)
    + \frac{\sigma^2}{n}\mathrm{tr}(\Sigma\Gamma\hat\Sigma\Gamma^T) + \sigma^2, for contexts X of shape (..., n, d).

    Averaging it over X ~ N(0, \Sigma) is an unbiased, low-variance Monte-Carlo estimate of L(\Gamma)
    (docs/icl.md, Derivations).
    """
    Sigma = _check_spd(Sigma, "Sigma")
    d = Sigma.shape[0]
    G = _check_gamma(Gamma, d)
    Omega = _omega(Omega, d)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim < 2 or X.shape[-1] != d:
        raise ValueError(f"X must have shape (..., n, {d}), got {X.shape}")
    n = X.shape[-2]
    S_hat = np.swapaxes(X, -1, -2) @ X / n
    D = G @ S_hat - np.eye(d)
    bias = np.einsum("ij,...jk,kl,...il->...", Sigma, D, Omega, D)
    var = float(sigma2) / n * np.einsum("ij,jk,...kl,il->...", Sigma, G, S_hat, G)
    return bias + var + float(sigma2)


# ------------------------------------------------------------------------------------- nonlinear responses
@lru_cache(maxsize=64)
def nonlinear_moments(d, response) -> tuple[float, float, float]:
    r"""(E\|g_f\|^2, E[f(x)^2\|x\|^2], E[f(x)^2]) for f(x) = \phi(w^T x), w ~ N(0, I_d), x ~ N(0, I_d),
    g_f = E[f(x)x \mid f].

    By Stein g_f = E[\phi'(w^Tx)]\,w. linear: (d, d(d+2), d); relu: (d/4, d(d+2)/2, d/2) exactly; tanh: 2-D
    quadrature over r = \|w\| (r^2 ~ \chi^2_d) and s = w^Tx/r ~ N(0, 1), using \|x\|^2 = s^2 + \chi^2_{d-1}.
    """
    d = _check_d(d)
    if response == "linear":
        return float(d), float(d * (d + 2)), float(d)
    if response == "relu":
        return d / 4.0, d * (d + 2) / 2.0, d / 2.0
    if response == "tanh":
        s, ws = np.polynomial.hermite_e.hermegauss(160)
        ws = ws / ws.sum()
        chi2 = stats.chi2(d)

        def expect(fn):  # E over t = r^2 ~ chi^2_d of fn(r)
            return integrate.quad(lambda t: fn(math.sqrt(t)) * chi2.pdf(t), 0, np.inf,
                                  epsabs=1e-13, epsrel=1e-11, limit=200)[0]

        E_g2 = expect(lambda r: r * r * float(ws @ (1 - np.tanh(r * s) ** 2)) ** 2)
        E_f2x2 = expect(lambda r: float(ws @ (np.tanh(r * s) ** 2 * (s ** 2 + d - 1))))
        E_f2 = expect(lambda r: float(ws @ np.tanh(r * s) ** 2))
        return float(E_g2), float(E_f2x2), float(E_f2)
    raise ValueError(f"response={response!r} is not valid; use one of {RESPONSES}")


def nonlinear_eta(d, n, sigma2, response) -> float:
    r"""Step size of the LSA optimum \Gamma^* = \eta I when y = f(x) + \varepsilon with rotation-invariant random f:

    \eta = \frac{E\|g_f\|^2}{(1 - 1/n)E\|g_f\|^2 + \frac1n E[f^2\|x\|^2] + \sigma^2 d/n}.

    relu(w^Tx): \eta = n/(n + 2d + 3 + 4\sigma^2); linear: n/(n + d + 1 + \sigma^2) (= :func:`optimal_eta`).
    Reference: MHM arXiv 2307.03576 §5 / Thm 3 (the form \Gamma^* = \eta I; the scalar is our derivation,
    docs/icl.md, Derivations; MC-verified). Assumptions: x ~ N(0, I_d), f independent of x with a
    rotation-invariant law, w ~ N(0, I_d).
    """
    d = _check_d(d)
    n = _check_n(n)
    sigma2 = _check_nonneg(sigma2, "sigma2")
    g2, f2x2, _ = nonlinear_moments(d, response)
    if math.isinf(n):
        return 1.0
    return g2 / ((1 - 1 / n) * g2 + f2x2 / n + sigma2 * d / n)


def nonlinear_loss(eta, d, n, sigma2, response) -> float:
    r"""Risk of \Gamma = \eta I for y = f(x) + \varepsilon (f = \phi(w^Tx), x, w ~ N(0, I_d)):

    L(\eta) = E f^2 + \sigma^2 - 2\eta E\|g_f\|^2 + \eta^2\big[(1 - 1/n)E\|g_f\|^2 + (E[f^2\|x\|^2] + \sigma^2 d)/n\big],

    minimised by :func:`nonlinear_eta`. Reference: as :func:`nonlinear_eta` (MHM arXiv 2307.03576 §5; our derivation).
    """
    d = _check_d(d)
    n = _check_n(n, allow_inf=False)
    sigma2 = _check_nonneg(sigma2, "sigma2")
    g2, f2x2, f2 = nonlinear_moments(d, response)
    eta = float(eta)
    return f2 + sigma2 - 2 * eta * g2 + eta ** 2 * ((1 - 1 / n) * g2 + (f2x2 + sigma2 * d) / n)


# ------------------------------------------------------------------------- Zhang–Frei–Bartlett (test length)
def zfb_gamma(Lambda, N) -> np.ndarray:
    r"""\Gamma_{ZFB} = \Gamma_Z^{-1} with \Gamma_Z = (1 + 1/N)\Lambda + \frac{\mathrm{tr}\Lambda}{N} I_d: the effective
    \Gamma of the gradient-flow limit. Reference: ZFB arXiv 2306.09927 Thm 4.1 (noiseless, w ~ N(0, I))."""
    Lambda = _check_spd(Lambda, "Lambda")
    N = _check_n(N, "N", allow_inf=False)
    Gz = (1 + 1 / N) * Lambda + np.trace(Lambda) / N * np.eye(Lambda.shape[0])
    return np.linalg.inv(Gz)


def zfb_test_error(M, N, Lambda) -> float:
    r"""Prediction error at test length M of the model trained at length N (ZFB Thm 4.2, linear noiseless task,
    w ~ N(0, I) averaged): with \Gamma = \Gamma_Z^{-1}, \tilde\Sigma = E\,\mathrm{Cov}(xy) = \Lambda^2 + \mathrm{tr}(\Lambda)\Lambda,

    E(\hat y - y)^2 = \frac1M\mathrm{tr}(\Gamma^2\tilde\Sigma\Lambda) + \frac1{N^2}\big[\mathrm{tr}(\Gamma^2\Lambda^3)
      + 2\,\mathrm{tr}\Lambda\,\mathrm{tr}(\Gamma^2\Lambda^2) + (\mathrm{tr}\Lambda)^2\mathrm{tr}(\Gamma^2\Lambda)\big].

    The gap is O(1/M + 1/N^2): as M -> inf it tends to the training-length floor (the bracket / N^2).
    Reference: ZFB arXiv 2306.09927 Thm 4.2 (E\|a\|^2_A = tr A for a = w ~ N(0, I)). ``M = numpy.inf`` gives the floor.
    """
    Lambda = _check_spd(Lambda, "Lambda")
    M = _check_n(M, "M")
    N = _check_n(N, "N", allow_inf=False)
    G2 = np.linalg.matrix_power(zfb_gamma(Lambda, N), 2)
    t = np.trace(Lambda)
    S_tilde = Lambda @ Lambda + t * Lambda
    first = 0.0 if math.isinf(M) else np.trace(G2 @ S_tilde @ Lambda) / M
    L2 = Lambda @ Lambda
    floor = (np.trace(G2 @ L2 @ Lambda) + 2 * t * np.trace(G2 @ L2) + t * t * np.trace(G2 @ Lambda)) / N ** 2
    return float(first + floor)


def zfb_isotropic_error(M, N, d) -> float:
    r"""\Lambda = I: E(\hat y - y)^2 = \frac{d(d+1)}{(N+d+1)^2}\big[(d+1) + N^2/M\big]; floor d(d+1)^2/(N+d+1)^2.

    Reference: ZFB arXiv 2306.09927 Thm 4.2 specialised (docs/icl.md, Derivations); equals L^* at M = N.
    """
    d = _check_d(d)
    M = _check_n(M, "M")
    N = _check_n(N, "N", allow_inf=False)
    return d * (d + 1) / (N + d + 1) ** 2 * ((d + 1) + (0.0 if math.isinf(M) else N * N / M))


# ------------------------------------------------------------------------ reference predictors (Akyürek)
def min_norm_ols_excess_risk(d, n, sigma2, tau2=1.0) -> float:
    r"""Exact excess risk E\|\hat w - w\|^2 of min-norm OLS \hat w = X^+ y, x ~ N(0, I_d), w ~ N(0, \tau^2 I):

    n >= d+2: \sigma^2 d/(n-d-1);  n <= d-2: \tau^2(d-n) + \sigma^2 n/(d-n-1);  n in {d-1, d, d+1}: +inf
    (expected inverse-Wishart trace diverges: the double-descent peak) when \sigma > 0; \tau^2(d-n)_+ when \sigma = 0.
    Reference: Akyürek et al. arXiv 2211.15661 §4 (OLS baseline); Hastie et al. arXiv 1903.08560 (finite-n
    inverse-Wishart moments); docs/icl.md, Derivations.
    """
    d = _check_d(d)
    n = int(_check_n(n, allow_inf=False))
    sigma2 = _check_nonneg(sigma2, "sigma2")
    tau2 = _check_pos(tau2, "tau2")
    bias = tau2 * max(d - n, 0)
    if sigma2 == 0:
        return float(bias)
    if n >= d + 2:
        return sigma2 * d / (n - d - 1)
    if n <= d - 2:
        return bias + sigma2 * n / (d - n - 1)
    return math.inf


def noiseless_bayes_risk(d, n, tau2=1.0) -> float:
    r"""\tau^2 (d - n)_+: the Bayes excess risk as \sigma -> 0 (min-norm OLS is then Bayes optimal)."""
    d = _check_d(d)
    n = _check_n(n)
    return 0.0 if math.isinf(n) else _check_pos(tau2, "tau2") * max(d - n, 0.0)


def bayes_ridge_risk_given_X(X, sigma2, tau2=1.0) -> np.ndarray:
    r"""E[\|\hat w_{ridge} - w\|^2 \mid X] = \sigma^2\,\mathrm{tr}((X^TX + \lambda^* I)^{-1}), \lambda^* = \sigma^2/\tau^2
    (the posterior covariance trace; x ~ N(0, I)). X has shape (..., n, d); returns shape (...).
    Reference: Akyürek et al. arXiv 2211.15661 §4 (Bayes-optimal ridge); Rao–Blackwellised form of
    docs/icl.md, Derivations. \sigma = 0 gives \tau^2 (d - rank X).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim < 2:
        raise ValueError(f"X must have shape (..., n, d), got {X.shape}")
    sigma2 = _check_nonneg(sigma2, "sigma2")
    tau2 = _check_pos(tau2, "tau2")
    n, d = X.shape[-2:]
    small = X @ np.swapaxes(X, -1, -2) if n < d else np.swapaxes(X, -1, -2) @ X
    mu = np.linalg.eigvalsh(small)  # the min(n, d) possibly non-zero eigenvalues of X^T X
    if sigma2 == 0:
        return tau2 * (d - (mu > 1e-10 * mu.max(axis=-1, keepdims=True)).sum(axis=-1)).astype(np.float64)
    lam = sigma2 / tau2
    return sigma2 * ((1.0 / (mu + lam)).sum(axis=-1) + max(d - n, 0) / lam)


def bayes_ridge_risk_mc(d, n, sigma2, tau2=1.0, n_mc=20000, seed=0) -> tuple[float, float]:
    r"""Bayes-ridge excess risk R(n, d, \sigma^2, \tau^2) = \sigma^2 E\,\mathrm{tr}((X^TX + \lambda^* I)^{-1}) by
    Rao–Blackwellised Monte Carlo over X ~ N(0, I)^{n x d}; returns (mean, standard error).
    Reference: Akyürek et al. arXiv 2211.15661 §4; docs/icl.md, Derivations (d = 8, \sigma^2 = 1/4).
    """
    d = _check_d(d)
    n = int(_check_n(n, allow_inf=False))
    if isinstance(n_mc, bool) or not isinstance(n_mc, (int, np.integer)) or n_mc < 2:
        raise ValueError(f"n_mc={n_mc!r} is not valid; need an integer n_mc >= 2")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), d, n]))
    vals = np.concatenate([bayes_ridge_risk_given_X(rng.standard_normal((min(n_mc - i, 4096), n, d)), sigma2, tau2)
                           for i in range(0, n_mc, 4096)])
    return float(vals.mean()), float(vals.std(ddof=1) / math.sqrt(vals.size))


def bayes_ridge_risk_mp(d, n, sigma2, tau2=1.0) -> float:
    r"""Marchenko–Pastur limit of the Bayes-ridge excess risk (d, n -> inf, \gamma = d/n):

    R \approx \sigma^2\gamma\,m_\gamma(-\mu),\ \mu = \lambda^*/n,\
    m_\gamma(-\mu) = \frac{\sqrt{(1-\gamma+\mu)^2 + 4\gamma\mu} - (1-\gamma+\mu)}{2\gamma\mu}.

    \sigma = 0 gives \tau^2 d(1 - 1/\gamma)_+. Biased at small d (-11 % at d = n = 8): use the MC for finite n.
    Reference: Marchenko–Pastur Stieltjes transform; Akyürek et al. arXiv 2211.15661 §4; docs/icl.md, Derivations.
    """
    d = _check_d(d)
    n = _check_n(n, allow_inf=False)
    sigma2 = _check_nonneg(sigma2, "sigma2")
    tau2 = _check_pos(tau2, "tau2")
    gamma = d / n
    if sigma2 == 0:
        return tau2 * d * max(1 - 1 / gamma, 0.0)
    mu = sigma2 / tau2 / n
    b = 1 - gamma + mu
    # rationalised form of (sqrt(b^2 + 4 gamma mu) - b) / (2 gamma mu): no cancellation when mu is small
    m = 2.0 / (math.sqrt(b * b + 4 * gamma * mu) + b) if b > 0 else (math.sqrt(b * b + 4 * gamma * mu) - b) / (2 * gamma * mu)
    return sigma2 * gamma * m


# --------------------------------------------------------------------------------- Akyürek comparison metrics
def spd(yhat_1, yhat_2) -> float:
    r"""Squared prediction difference SPD(A_1, A_2) = E_{D, x'}(A_1(D)(x') - A_2(D)(x'))^2, estimated by the mean
    over the given predictions (any matching shapes). Reference: Akyürek et al. arXiv 2211.15661 §4.1."""
    a, b = np.asarray(yhat_1, dtype=np.float64), np.asarray(yhat_2, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"yhat_1 and yhat_2 must have the same shape, got {a.shape} and {b.shape}")
    return float(np.mean((a - b) ** 2))


def implicit_weights(probes, yhat, fit_intercept=False) -> np.ndarray:
    r"""\hat w_A = \arg\min_w \sum_i (A(D)(x'_i) - w^T x'_i)^2 over k >= d (+1 with intercept) probes x'_i sharing
    one context. probes (..., k, d), yhat (..., k) -> (..., d). Exact for a predictor linear in x'.
    Reference: Akyürek et al. arXiv 2211.15661 §4.1 (their code fits LinearRegression(fit_intercept=True))."""
    P = np.asarray(probes, dtype=np.float64)
    y = np.asarray(yhat, dtype=np.float64)
    if P.ndim < 2 or y.shape != P.shape[:-1]:
        raise ValueError(f"probes (..., k, d) and yhat (..., k) do not match: {P.shape} vs {y.shape}")
    k, d = P.shape[-2:]
    if k < d + int(bool(fit_intercept)):
        raise ValueError(f"probes has k={k} rows; need k >= {d + int(bool(fit_intercept))} to identify the weights")
    if fit_intercept:
        P = np.concatenate([P, np.ones(P.shape[:-1] + (1,))], axis=-1)
    PtP = np.swapaxes(P, -1, -2) @ P
    coef = np.linalg.solve(PtP, (np.swapaxes(P, -1, -2) @ y[..., None]))[..., 0]
    return coef[..., :d]


def ilwd(w_1, w_2) -> float:
    r"""Implicit linear weight difference ILWD(A_1, A_2) = E\|\hat w_{A_1} - \hat w_{A_2}\|^2 (mean over the leading
    axes of (..., d) weight arrays). For linear predictors and isotropic probes SPD = ILWD in expectation.
    Reference: Akyürek et al. arXiv 2211.15661 §4.1."""
    a, b = np.asarray(w_1, dtype=np.float64), np.asarray(w_2, dtype=np.float64)
    if a.shape != b.shape or a.ndim < 1:
        raise ValueError(f"w_1 and w_2 must have the same (..., d) shape, got {a.shape} and {b.shape}")
    return float(np.mean(np.sum((a - b) ** 2, axis=-1)))


def spectrum_sigma(spectrum, d) -> np.ndarray:
    """Diagonal \\Sigma from a spectrum tuple (empty -> I_d); shared by sims, claims and figures."""
    d = _check_d(d)
    lam = np.ones(d) if len(spectrum) == 0 else np.asarray(spectrum, dtype=np.float64)
    if lam.shape != (d,):
        raise ValueError(f"spectrum has {lam.size} entries, expected d={d}")
    if not np.all(lam > 0):
        raise ValueError(f"spectrum={tuple(lam)} must be positive (Sigma positive definite)")
    return np.diag(lam)


def prior_omega(prior, Sigma, tau2=1.0) -> np.ndarray:
    """\\Omega = \\tau^2 I ('identity') or \\tau^2\\Sigma^{-1} ('inverse', MHM §4 / Ahn Thm 3 data)."""
    Sigma = _check_spd(Sigma, "Sigma")
    tau2 = _check_pos(tau2, "tau2")
    if prior == "identity":
        return tau2 * np.eye(Sigma.shape[0])
    if prior == "inverse":
        return tau2 * np.linalg.inv(Sigma)
    raise ValueError(f"prior={prior!r} is not valid; use 'identity' or 'inverse'")

