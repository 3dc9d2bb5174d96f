r"""Exact theory of noise-robust ADMM federated weighted least squares (RERCE-Fed and its continual variant).

Problem (no 1/2 in :math:`J_k`): :math:`\min \sum_k \|y_k - X_k w\|^2_{W_k}`. Shorthand used throughout:
:math:`R_k = 2X_k^\top W_k X_k`, :math:`q_k = 2X_k^\top W_k y_k`, :math:`H = \sum_k R_k`,
:math:`w^\star = H^{-1}\sum_k q_k`, :math:`N_k = (R_k + \rho I)^{-1}`, :math:`\hat w_k = N_k q_k`.

The exact analysis writes one iteration as :math:`\tilde x_{n+1} = F(a_n)\tilde x_n + G(a_n)\xi_n` with
:math:`F = F_0 + \sum_k a_k F_k`, :math:`G = \sum_k a_k G_k` (affine in the participation indicators since
:math:`a^2 = a`), :math:`\tilde x = x - \mathbb 1 w^\star`, and :math:`a_n` i.i.d. over :math:`n` and independent of
:math:`\tilde x_n`. Hence the mean :math:`m_{n+1} = \bar F m_n` and the second moment, in the PSD form
:math:`P_{n+1} = \sum_j B_j P_n B_j^\top + Q` (a stack of matrices :math:`B_j`, see :func:`scheme`), are exact.

States: RERCE :math:`x = (w_{1,n},\dots,w_{K,n}, w_n, w_{n-1})` (dimension :math:`(K+2)L`); continual
:math:`x = (w_{k,n}, r_{k,n-1}, \tilde t_{k,n})_k` (dimension :math:`3KL`, blocks ordered w-all, r-all, t-all).

Reference: Lari, Arablouei, Gogineni, Werner, arXiv:2409.13451 (2024), eqs. (4.1)-(4.35) as reproduced in Lari's
NTNU thesis ch. 4; the exact state-space form, drift slope and bias are derived in docs/admm.md (section 'Exact
theory'; each function's docstring gives the result) and checked here and in tests/test_admm_theory.py.
"""
from __future__ import annotations

import contextlib
import ctypes
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.linalg as sla
from scipy.stats import binom

VARIANTS = ("rerce", "continual", "admm")
PARTICIPATIONS = ("fixed", "bernoulli")
INITS = ("literal", "corrected")


# ------------------------------------------------------------------------------------------------ BLAS threads
@lru_cache(maxsize=1)
def _openblas_handles():
    """(set, get) thread-count functions of every OpenBLAS loaded in this process (Linux; else none)."""
    found = []
    try:
        with open("/proc/self/maps") as fh:
            paths = sorted({line.split()[-1] for line in fh if "openblas" in line and ".so" in line})
    except OSError:
        return ()
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas", "64_"), ("scipy_openblas", ""), ("openblas", "")):
            try:
                found.append((getattr(lib, f"{prefix}_set_num_threads{suffix}"),
                              getattr(lib, f"{prefix}_get_num_threads{suffix}")))
                break
            except AttributeError:
                continue
    return tuple(found)


@contextlib.contextmanager
def single_threaded_blas():
    r"""Run small dense linear algebra on one BLAS thread, restoring the previous count afterwards: the matrices
    here are small (D <= ~100), and on a shared 2-core machine multithreaded OpenBLAS ran 10-100x slower. A no-op
    where OpenBLAS cannot be found (results are identical either way).

    Returns
    -------
    contextmanager
        A context in which OpenBLAS uses one thread.

    References
    ----------
    Threadpoolctl-style control of OpenBLAS (openblas_set_num_threads); a performance measure of this testbed.
    """
    handles = _openblas_handles()
    saved = [get() for _, get in handles]
    for set_, _ in handles:
        set_(1)
    try:
        yield
    finally:
        for (set_, _), n in zip(handles, saved):
            set_(n)


# ---------------------------------------------------------------------------------------------------------- problem
def _check_data(Xs, ys, Ws):
    if len(Xs) == 0 or len(Xs) != len(ys):
        raise ValueError(f"Xs and ys must be non-empty lists of equal length, got {len(Xs)} and {len(ys)}")
    if Ws is not None and len(Ws) != len(Xs):
        raise ValueError(f"Ws has {len(Ws)} entries, expected {len(Xs)} (one per client) or None")
    L = np.asarray(Xs[0]).shape[1] if np.ndim(Xs[0]) == 2 else -1
    for k, (X, y) in enumerate(zip(Xs, ys)):
        X, y = np.asarray(X), np.asarray(y)
        if X.ndim != 2 or X.shape[1] != L:
            raise ValueError(f"Xs[{k}] has shape {X.shape}; expected (d_k, L) with L={L}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"ys[{k}] has shape {y.shape}; expected ({X.shape[0]},) to match Xs[{k}]")
        if Ws is not None:
            W = np.asarray(Ws[k])
            if W.shape != (X.shape[0], X.shape[0]):
                raise ValueError(f"Ws[{k}] has shape {W.shape}; expected {(X.shape[0], X.shape[0])}")


def wls_terms(Xs, ys, Ws=None):
    r"""Per-client :math:`R_k = 2X_k^\top W_k X_k` (K, L, L) and :math:`q_k = 2X_k^\top W_k y_k` (K, L).

    ``Ws`` None means :math:`W_k = I`.

    Parameters
    ----------
    Xs : sequence of array_like
        Per-client data matrices X_k, shape (d_k, L).
    ys : sequence of array_like
        Per-client targets y_k, shape (d_k,).
    Ws : sequence of array_like or None, default None
        Per-client weights W_k (d_k, d_k); None means W_k = I.

    Returns
    -------
    tuple of numpy.ndarray
        (R, q) with shapes (K, L, L) and (K, L).

    References
    ----------
    arXiv:2409.13451 eq. (4.1)-(4.3) (J_k without 1/2).
    """
    _check_data(Xs, ys, Ws)
    with single_threaded_blas():
        return _wls_terms(Xs, ys, Ws)


def _wls_terms(Xs, ys, Ws):
    R, q = [], []
    for k, (X, y) in enumerate(zip(Xs, ys)):
        X, y = np.asarray(X, np.float64), np.asarray(y, np.float64)
        WX = X if Ws is None else np.asarray(Ws[k], np.float64) @ X
        R.append(2 * X.T @ WX)
        q.append(2 * WX.T @ y)
    return np.stack(R), np.stack(q)


def solve_wls(R, q):
    r""":math:`w^\star = H^{-1}\sum_k q_k`, :math:`H = \sum_k R_k`; ValueError if H is singular.

    Parameters
    ----------
    R : array_like, shape (K, L, L)
        Per-client R_k = 2 X_kᵀ W_k X_k (:func:`wls_terms`).
    q : array_like, shape (K, L)
        Per-client q_k = 2 X_kᵀ W_k y_k.

    Returns
    -------
    numpy.ndarray, shape (L,)
        w⋆ = H⁻¹ Σ_k q_k.

    References
    ----------
    arXiv:2409.13451 eq. (4.3).
    """
    H = np.asarray(R, np.float64).sum(0)
    ev = np.linalg.eigvalsh((H + H.T) / 2)
    if ev[0] <= ev[-1] * H.shape[0] * np.finfo(np.float64).eps * 10:
        raise ValueError(f"Xs give a singular H = sum_k R_k (eigenvalues {ev[0]:.3g}..{ev[-1]:.3g}); "
                         "the clients' data together must have full column rank L")
    return np.linalg.solve(H, np.asarray(q, np.float64).sum(0))


def wls_solution(Xs, ys, Ws=None):
    r"""The WLS optimum of the realised data :math:`w^\star = (\sum X_k^\top W_k X_k)^{-1}\sum X_k^\top W_k y_k`.

    Parameters
    ----------
    Xs : sequence of array_like
        Per-client data matrices X_k, shape (d_k, L).
    ys : sequence of array_like
        Per-client targets y_k, shape (d_k,).
    Ws : sequence of array_like or None, default None
        Per-client weights W_k (d_k, d_k); None means W_k = I.

    Returns
    -------
    numpy.ndarray, shape (L,)
        w⋆.

    References
    ----------
    arXiv:2409.13451 eq. (4.3). Assumes :math:`H \succ 0` (single clients may be rank deficient).
    """
    return solve_wls(*wls_terms(Xs, ys, Ws))


def _check_rho(rho):
    if not (np.isfinite(rho) and rho > 0):
        raise ValueError(f"rho={rho} must be a finite number > 0")


def local_N(R, rho):
    r""":math:`N_k = (R_k + \rho I)^{-1}`, shape (K, L, L).

    Parameters
    ----------
    R : array_like, shape (K, L, L)
        Per-client R_k = 2 X_kᵀ W_k X_k (:func:`wls_terms`).
    rho : float
        ADMM penalty ρ (> 0).

    Returns
    -------
    numpy.ndarray, shape (K, L, L)
        N_k.

    References
    ----------
    arXiv:2409.13451 eq. (4.7).
    """
    _check_rho(rho)
    R = np.asarray(R, np.float64)
    return np.linalg.inv(R + rho * np.eye(R.shape[-1]))


def local_w_hat(R, q, rho):
    r"""Local ridge solutions :math:`\hat w_k = N_k q_k` (the initial local models), shape (K, L). Eq. (4.8).

    Parameters
    ----------
    R : array_like, shape (K, L, L)
        Per-client R_k = 2 X_kᵀ W_k X_k (:func:`wls_terms`).
    q : array_like, shape (K, L)
        Per-client q_k = 2 X_kᵀ W_k y_k.
    rho : float
        ADMM penalty ρ (> 0).

    Returns
    -------
    numpy.ndarray, shape (K, L)
        ŵ_k.

    References
    ----------
    arXiv:2409.13451 eq. (4.8).
    """
    return np.einsum("kij,kj->ki", local_N(R, rho), np.asarray(q, np.float64))


# ---------------------------------------------------------------------------------------- state-space matrices
def rerce_matrices(N, rho, C):
    r"""Blocks of RERCE-Fed with a participating set of size C: :math:`F_0`, :math:`F_k` (K, D, D), :math:`G_k`
    (K, D, 2L) for the state :math:`(w_{k,n})_k, w_n, w_{n-1}`, :math:`D = (K+2)L`, noise :math:`(\zeta_k, \eta_k)`.

    Row :math:`w_k` of :math:`F_k`: :math:`[-\rho N_k, 2\rho N_k, -\rho N_k]`; row :math:`w_{n+1}`:
    :math:`[(I-\rho N_k)/C, 2\rho N_k/C, -\rho N_k/C]`; noise :math:`\rho N_k\zeta_k` and
    :math:`(\rho N_k\zeta_k + \eta_k)/C`.

    Parameters
    ----------
    N : array_like, shape (K, L, L)
        Local inverses N_k = (R_k + ρI)⁻¹ (:func:`local_N`).
    rho : float
        ADMM penalty ρ (> 0).
    C : int
        Number of clients scheduled per iteration (1 <= C <= K); the Bernoulli rate is C/K.

    Returns
    -------
    tuple of numpy.ndarray
        (F_0, F_k, G_k) with shapes (D, D), (K, D, D), (K, D, 2L).

    References
    ----------
    arXiv:2409.13451 eq. (4.12); the exact state-space form is derived in docs/admm.md, "Exact theory".
    """
    N = np.asarray(N, np.float64)
    K, L = N.shape[0], N.shape[1]
    D = (K + 2) * L
    I = np.eye(L)
    g, p = K * L, (K + 1) * L  # offsets of w_n and w_{n-1}
    F0 = np.zeros((D, D))
    F0[:g, :g] = np.eye(g)
    F0[p:, g:p] = I
    Fk = np.zeros((K, D, D))
    Gk = np.zeros((K, D, 2 * L))
    for k in range(K):
        rN = rho * N[k]
        b = slice(k * L, (k + 1) * L)
        Fk[k, b, b] = -rN
        Fk[k, b, g:p] = 2 * rN
        Fk[k, b, p:] = -rN
        Fk[k, g:p, b] = (I - rN) / C
        Fk[k, g:p, g:p] = 2 * rN / C
        Fk[k, g:p, p:] = -rN / C
        Gk[k, b, :L] = rN
        Gk[k, g:p, :L] = rN / C
        Gk[k, g:p, L:] = I / C
    return F0, Fk, Gk


def continual_matrices(N, rho):
    r"""Blocks of the continual-update variant for the state :math:`(w_k)_k, (r_k)_k, (\tilde t_k)_k`,
    :math:`D = 3KL`, :math:`s = \frac1K\sum_j \tilde t_j`:
    :math:`F_0`: :math:`w_k' = (I-\rho N_k)w_k + \rho N_k r_k`; :math:`F_k`: :math:`w_k' \mathrel{+}= \rho N_k(s-r_k)`,
    :math:`r_k' \mathrel{+}= s - r_k`, :math:`\tilde t_k' \mathrel{+}= (I-2\rho N_k)w_k + 2\rho N_k s - \tilde t_k`;
    :math:`G_k`: :math:`\rho N_k\zeta_k`, :math:`\zeta_k`, :math:`2\rho N_k\zeta_k + \eta_k`.

    Parameters
    ----------
    N : array_like, shape (K, L, L)
        Local inverses N_k = (R_k + ρI)⁻¹ (:func:`local_N`).
    rho : float
        ADMM penalty ρ (> 0).

    Returns
    -------
    tuple of numpy.ndarray
        (F_0, F_k, G_k) for the state of dimension D = 3KL.

    References
    ----------
    arXiv:2409.13451 eqs. (4.13)-(4.14), Alg. 5; the exact state-space form is derived in docs/admm.md, "Exact theory".
    """
    N = np.asarray(N, np.float64)
    K, L = N.shape[0], N.shape[1]
    D = 3 * K * L
    I = np.eye(L)
    F0 = np.eye(D)
    Fk = np.zeros((K, D, D))
    Gk = np.zeros((K, D, 2 * L))
    for k in range(K):
        rN = rho * N[k]
        w, r, t = (slice(o + k * L, o + (k + 1) * L) for o in (0, K * L, 2 * K * L))
        F0[w, w] = I - rN
        F0[w, r] = rN
        for j in range(K):
            tj = slice(2 * K * L + j * L, 2 * K * L + (j + 1) * L)
            Fk[k, w, tj] += rN / K
            Fk[k, r, tj] += I / K
            Fk[k, t, tj] += 2 * rN / K
        Fk[k, w, r] -= rN
        Fk[k, r, r] -= I
        Fk[k, t, w] += I - 2 * rN
        Fk[k, t, t] -= I
        Gk[k, w, :L] = rN
        Gk[k, r, :L] = I
        Gk[k, t, :L] = 2 * rN
        Gk[k, t, L:] = I
    return F0, Fk, Gk


def admm_matrices(N, rho):
    r"""Noisy consensus ADMM (4.4)-(4.6) with full participation as a time-invariant linear system of the error
    state :math:`(\tilde w_k)_k, (\tilde z_k)_k, \tilde g`, :math:`D = (2K+1)L`, with :math:`\tilde z_k = z_k -
    z_k^\star`, :math:`z_k^\star = q_k - R_k w^\star` (so :math:`\sum_k z_k^\star = 0` and :math:`w^\star` is the
    fixed point). One noisy reception :math:`\tilde w = w_n + \zeta_k` feeds both updates
    (:math:`z_k \mathrel{+}= \rho(w_k - \tilde w)`, :math:`w_k = \hat w_k - N_k(z_k - \rho\tilde w)`) and the upload
    :math:`w_k + z_k/\rho` carries :math:`\eta_k`:

    .. math:: \tilde z_k' = \tilde z_k + \rho\tilde w_k - \rho\tilde g - \rho\zeta_k,\quad
              \tilde w_k' = -N_k\tilde z_k - \rho N_k\tilde w_k + 2\rho N_k(\tilde g + \zeta_k),

    .. math:: \tilde g' = \tfrac1K\textstyle\sum_k [(I-\rho N_k)\tilde w_k + (I/\rho - N_k)\tilde z_k
              + (2\rho N_k - I)(\tilde g + \zeta_k) + \eta_k].

    Parameters
    ----------
    N : array_like, shape (K, L, L)
        Local inverses N_k = (R_k + ρI)⁻¹ (:func:`local_N`).
    rho : float
        ADMM penalty ρ (> 0).

    Returns
    -------
    tuple of numpy.ndarray
        ``(A, G)``: the transition matrix A, shape (D, D), and the noise gains G, shape (K, D, 2L) (client k's
        :math:`(\zeta_k, \eta_k)` columns), with D = (2K+1)L.

    References
    ----------
    arXiv:2409.13451 eqs. (4.4)-(4.6); the noise placement is the testbed's (the paper does not state it); the
    exact state-space form is derived in docs/admm.md, "Exact theory".
    """
    N = np.asarray(N, np.float64)
    _check_rho(rho)
    K, L = N.shape[0], N.shape[1]
    D = (2 * K + 1) * L
    I = np.eye(L)
    g = slice(2 * K * L, D)
    A = np.zeros((D, D))
    G = np.zeros((K, D, 2 * L))
    for k in range(K):
        rN = rho * N[k]
        w, z = slice(k * L, (k + 1) * L), slice((K + k) * L, (K + k + 1) * L)
        A[z, z] = I
        A[z, w] = rho * I
        A[z, g] = -rho * I
        A[w, z] = -N[k]
        A[w, w] = -rN
        A[w, g] = 2 * rN
        A[g, w] = (I - rN) / K
        A[g, z] = (I / rho - N[k]) / K
        A[g, g] += (2 * rN - I) / K
        G[k, z, :L] = -rho * I
        G[k, w, :L] = 2 * rN
        G[k, g, :L] = (2 * rN - I) / K
        G[k, g, L:] = I / K
    return A, G


def admm_initial_moments(R, q, rho, sigma2_eta):
    r"""Mean and second moment of the ADMM error state at n = 0: :math:`\tilde w_k = \hat w_k - w^\star`,
    :math:`\tilde z_k = -z_k^\star = R_k w^\star - q_k` (:math:`z_k = 0`), :math:`\tilde g = \frac1K\sum_k
    (\hat w_k + \eta_k) - w^\star` (covariance :math:`\sigma_\eta^2 I/K`).

    Parameters
    ----------
    R : array_like, shape (K, L, L)
        Per-client R_k = 2 X_kᵀ W_k X_k (:func:`wls_terms`).
    q : array_like, shape (K, L)
        Per-client q_k = 2 X_kᵀ W_k y_k.
    rho : float
        ADMM penalty ρ (> 0).
    sigma2_eta : float
        Variance of the uplink noise η (client to server), >= 0.

    Returns
    -------
    tuple of numpy.ndarray
        (m_0, P_0): mean, shape (D,), and second moment, shape (D, D), of the error state
        :math:`(\tilde w_k)_k, (\tilde z_k)_k, \tilde g`, D = (2K+1)L (the layout of :func:`admm_matrices`).

    References
    ----------
    arXiv:2409.13451 eqs. (4.4)-(4.6) (start z_k = 0, local models ŵ_k, eq. (4.8)); the moments are derived in
    docs/admm.md, "Exact theory".
    """
    R, q = np.asarray(R, np.float64), np.asarray(q, np.float64)
    K, L = q.shape
    w_star = solve_wls(R, q)
    e = local_w_hat(R, q, rho) - w_star
    z0 = np.einsum("kij,j->ki", R, w_star) - q
    m = np.concatenate([e.ravel(), z0.ravel(), e.mean(0)])
    P = np.outer(m, m)
    P[2 * K * L:, 2 * K * L:] += sigma2_eta / K * np.eye(L)
    return m, P


def _noise_cov(L, sigma2_zeta, sigma2_eta):
    for name, v in (("sigma2_zeta", sigma2_zeta), ("sigma2_eta", sigma2_eta)):
        if not (np.isfinite(v) and v >= 0):
            raise ValueError(f"{name}={v} must be a finite variance >= 0")
    return np.diag(np.r_[np.full(L, float(sigma2_zeta)), np.full(L, float(sigma2_eta))])


def _check_C(C, K, participation):
    if participation not in PARTICIPATIONS:
        raise ValueError(f"participation={participation!r} is not valid; use one of {PARTICIPATIONS}")
    if not (isinstance(C, (int, np.integer)) and 1 <= C <= K):
        raise ValueError(f"C={C} must be an integer in 1..K={K}")


@dataclass(frozen=True)
class Scheme:
    r"""One exact iteration in PSD form: :math:`m' = \bar F m`, :math:`P' = \sum_j B_j P B_j^\top + Q`."""

    F_bar: np.ndarray
    B: np.ndarray
    Q: np.ndarray
    n_blocks: int
    L: int
    K: int


def scheme(N, rho, C, sigma2_zeta=0.0, sigma2_eta=0.0, *, variant="rerce", participation="fixed"):
    r"""The exact mean matrix and PSD second-moment stack of one iteration.

    Fixed size C (uniform subset): :math:`\mathrm{Cov}(a) = c(I - \mathbb 1\mathbb 1^\top/K)`,
    :math:`c = \bar a(1-\bar a)K/(K-1)`, so :math:`P' = \bar F P\bar F^\top + c\sum_k (F_k-M)P(F_k-M)^\top +
    \bar a\sum_k G_k\Sigma_\xi G_k^\top` with :math:`M = \frac1K\sum_k F_k`. Bernoulli(:math:`p=C/K`): continual
    uses :math:`c = p(1-p)`, :math:`M = 0`; RERCE divides by :math:`|S_n|` and skips the step when
    :math:`S_n=\emptyset`, so it is the Binomial(K, p) mixture of the fixed-size schemes plus :math:`\pi_0 P`.

    Parameters
    ----------
    N : array_like, shape (K, L, L)
        Local inverses N_k = (R_k + ρI)⁻¹ (:func:`local_N`).
    rho : float
        ADMM penalty ρ (> 0).
    C : int
        Number of clients scheduled per iteration (1 <= C <= K); the Bernoulli rate is C/K.
    sigma2_zeta : float
        Variance of the downlink noise ζ (server to client), >= 0.
    sigma2_eta : float
        Variance of the uplink noise η (client to server), >= 0.
    variant : str, default 'rerce'
        ``'rerce'`` (Alg. 4) or ``'continual'`` (Alg. 5).
    participation : str, default 'fixed'
        ``'fixed'`` (a uniform subset of C clients) or ``'bernoulli'`` (each client with probability C/K).

    Returns
    -------
    Scheme
        The mean matrix F̄ and the PSD stack (B_j, Q) of one iteration.

    References
    ----------
    Derived here (exact; verified against Monte Carlo in claims/admm.py, claim admm.3).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} is not valid; use one of {VARIANTS}")
    _check_rho(rho)
    N = np.asarray(N, np.float64)
    K, L = N.shape[0], N.shape[1]
    _check_C(C, K, participation)
    Sxi = _noise_cov(L, sigma2_zeta, sigma2_eta)

    def fixed_terms(F0, Fk, Gk, c_size):
        a = c_size / K
        F_bar = F0 + a * Fk.sum(0)
        c = a * (1 - a) * K / (K - 1) if K > 1 else 0.0
        M = Fk.mean(0)
        B = np.concatenate([F_bar[None], np.sqrt(c) * (Fk - M)]) if c > 0 else F_bar[None]
        Q = a * np.einsum("kda,ab,keb->de", Gk, Sxi, Gk)
        return F_bar, B, Q

    if variant == "admm":
        if participation != "fixed" or C != K:
            raise ValueError(f"variant 'admm' runs with full participation: need participation='fixed' and "
                             f"C = K = {K}, got {participation!r} and C={C}")
        A, Gk = admm_matrices(N, rho)
        return Scheme(A, A[None], np.einsum("kda,ab,keb->de", Gk, Sxi, Gk), 2 * K + 1, L, K)
    if variant == "continual":
        F0, Fk, Gk = continual_matrices(N, rho)
        n_blocks = 3 * K
        if participation == "fixed":
            F_bar, B, Q = fixed_terms(F0, Fk, Gk, C)
        else:
            p = C / K
            F_bar = F0 + p * Fk.sum(0)
            B = np.concatenate([F_bar[None], np.sqrt(p * (1 - p)) * Fk]) if p < 1 else F_bar[None]
            Q = p * np.einsum("kda,ab,keb->de", Gk, Sxi, Gk)
        return Scheme(F_bar, B, Q, n_blocks, L, K)
    n_blocks = K + 2
    if participation == "fixed":
        F_bar, B, Q = fixed_terms(*rerce_matrices(N, rho, C), C)
        return Scheme(F_bar, B, Q, n_blocks, L, K)
    D = n_blocks * L
    pi = binom.pmf(np.arange(K + 1), K, C / K)
    F_bar, Bs, Q = pi[0] * np.eye(D), [np.sqrt(pi[0]) * np.eye(D)[None]] if pi[0] > 0 else [], np.zeros((D, D))
    for cp in range(1, K + 1):
        if pi[cp] == 0:
            continue
        Fb, B, Qc = fixed_terms(*rerce_matrices(N, rho, cp), cp)
        F_bar = F_bar + pi[cp] * Fb
        Bs.append(np.sqrt(pi[cp]) * B)
        Q = Q + pi[cp] * Qc
    return Scheme(F_bar, np.concatenate(Bs), Q, n_blocks, L, K)


# ------------------------------------------------------------------------------------------------ initial moments
def _subset_moments(K, participation, C):
    """[(probability, size c', E a_k, E a_k a_l (k != l))] for the first participating set."""
    if participation == "fixed":
        sizes = [(1.0, C)]
    else:
        pi = binom.pmf(np.arange(K + 1), K, C / K)
        sizes = [(pi[c], c) for c in range(K + 1) if pi[c] > 0]
    out = []
    for prob, c in sizes:
        pair = c * (c - 1) / (K * (K - 1)) if K > 1 else 0.0
        out.append((prob, c, c / K, pair))
    return out


def initial_moments(w_hat, w_star, sigma2_eta, C, *, variant="rerce", participation="fixed", init="literal"):
    r"""Mean :math:`m_1` and second moment :math:`P_1` of the error state after the first upload.

    RERCE, literal Alg. 4: :math:`w_{k} = \hat w_k`, :math:`w_1 = \frac1{|S_1|}\sum_{S_1}(\hat w_k + \eta_k)`,
    :math:`w_0 = 0`; ``init="corrected"`` sets :math:`w_0 = (1 - 1/\bar a) w_1` so that
    :math:`\mathbb E(w_1 - w_0) = \frac1C\sum_k\hat w_k`, which makes the mean limit :math:`w^\star` (derived in :func:`rerce_mean_bias`).
    An empty first set (Bernoulli) leaves :math:`w_1 = w_0 = 0`. Continual ([Code] init): all clients upload
    :math:`\tilde t_k = 2\hat w_k + \eta_k`, :math:`r_k = 0`.

    Parameters
    ----------
    w_hat : array_like, shape (K, L)
        Initial local models ŵ_k.
    w_star : array_like, shape (L,)
        The WLS optimum w⋆.
    sigma2_eta : float
        Variance of the uplink noise η (client to server), >= 0.
    C : int
        Number of clients scheduled per iteration (1 <= C <= K); the Bernoulli rate is C/K.
    variant : str, default 'rerce'
        ``'rerce'`` (Alg. 4) or ``'continual'`` (Alg. 5).
    participation : str, default 'fixed'
        ``'fixed'`` (a uniform subset of C clients) or ``'bernoulli'`` (each client with probability C/K).
    init : str, default 'literal'
        ``'literal'`` (Alg. 4 as printed) or ``'corrected'`` (w₀ = (1 − K/C) w₁, unbiased).

    Returns
    -------
    tuple of numpy.ndarray
        (m_1, P_1): mean and second moment of the error state.

    References
    ----------
    arXiv:2409.13451 Alg. 4-5 (initialisation); the moments are derived in docs/admm.md, "Exact theory".
    """
    if init not in INITS:
        raise ValueError(f"init={init!r} is not valid; use one of {INITS}")
    if variant == "admm":
        raise ValueError("variant='admm' has its own start (z_k = 0); use admm_initial_moments")
    w_hat = np.asarray(w_hat, np.float64)
    w_star = np.asarray(w_star, np.float64)
    K, L = w_hat.shape
    e = w_hat - w_star
    if variant == "continual":
        m = np.concatenate([e.ravel(), np.tile(-w_star, K), (2 * e + w_star).ravel()])
        P = np.outer(m, m)
        P[2 * K * L:, 2 * K * L:] += sigma2_eta * np.eye(K * L)
        return m, P
    gamma = 0.0 if init == "literal" else 1.0 - K / C
    D = (K + 2) * L
    m, P = np.zeros(D), np.zeros((D, D))
    for prob, c, a1, a2 in _subset_moments(K, participation, C):
        if c == 0:
            mu_u, S_u, g = -w_star, np.outer(w_star, w_star), 0.0
            b = np.concatenate([e.ravel(), np.zeros(L), -w_star])
        else:
            mu_u = e.mean(0)
            Eaa = np.full((K, K), a2)
            np.fill_diagonal(Eaa, a1)
            S_u = e.T @ Eaa @ e / c ** 2 + sigma2_eta / c * np.eye(L)
            g = gamma
            b = np.concatenate([e.ravel(), np.zeros(L), (g - 1) * w_star])
        A = np.zeros((D, L))
        A[K * L:(K + 1) * L] = np.eye(L)
        A[(K + 1) * L:] = g * np.eye(L)
        m = m + prob * (A @ mu_u + b)
        Amu = A @ mu_u
        P = P + prob * (A @ S_u @ A.T + np.outer(Amu, b) + np.outer(b, Amu) + np.outer(b, b))
    return m, P


# -------------------------------------------------------------------------------------------------- recursions
def moment_step(P, sch: Scheme):
    r"""One exact second-moment step in PSD form :math:`\sum_j B_j P B_j^\top + Q` (symmetrised).

    Parameters
    ----------
    P : array_like, shape (D, D)
        Second moment of the error state.
    sch : Scheme
        Mean matrix and second-moment stack of one iteration (:func:`scheme`).

    Returns
    -------
    numpy.ndarray, shape (D, D)
        The next second moment.

    References
    ----------
    Derived here (the exact second-moment recursion in PSD form; see :func:`scheme`).
    """
    B = sch.B
    J, D, _ = B.shape
    Y = (B.reshape(J * D, D) @ P).reshape(J, D, D)
    out = Y.transpose(1, 0, 2).reshape(D, J * D) @ B.transpose(0, 2, 1).reshape(J * D, D) + sch.Q
    return (out + out.T) / 2


def _w_trace(P, sch: Scheme):
    KL = sch.K * sch.L
    return np.trace(P[..., :KL, :KL], axis1=-2, axis2=-1) if P.ndim > 2 else np.trace(P[:KL, :KL])


def exact_moments(R, q, rho, C, sigma2_zeta, sigma2_eta, n_iter, *, variant="rerce", participation="fixed",
                  init="literal", steps=None):
    r"""Exact NMSD (linear) and error mean after n = 0..n_iter local updates.

    :math:`\mathrm{NMSD}_n = \mathrm{tr}(P_n[w\text{-block}]) / (K\|w^\star\|^2)`, the local-model metric (4.35);
    ``mean`` holds :math:`m_n = \bar F^n m_0` (error state) at ``steps`` (default all). n=0 is the state after
    the first upload (local models :math:`\hat w_k`).

    Parameters
    ----------
    R : array_like, shape (K, L, L)
        Per-client R_k = 2 X_kᵀ W_k X_k (:func:`wls_terms`).
    q : array_like, shape (K, L)
        Per-client q_k = 2 X_kᵀ W_k y_k.
    rho : float
        ADMM penalty ρ (> 0).
    C : int
        Number of clients scheduled per iteration (1 <= C <= K); the Bernoulli rate is C/K.
    sigma2_zeta : float
        Variance of the downlink noise ζ (server to client), >= 0.
    sigma2_eta : float
        Variance of the uplink noise η (client to server), >= 0.
    n_iter : int
        Number of local updates after the first upload.
    variant : str, default 'rerce'
        ``'rerce'`` (Alg. 4) or ``'continual'`` (Alg. 5).
    participation : str, default 'fixed'
        ``'fixed'`` (a uniform subset of C clients) or ``'bernoulli'`` (each client with probability C/K).
    init : str, default 'literal'
        ``'literal'`` (Alg. 4 as printed) or ``'corrected'`` (w₀ = (1 − K/C) w₁, unbiased).
    steps : sequence of int or None, default None
        Iterations at which the mean is kept (all by default).

    Returns
    -------
    dict
        ``nmsd`` (length n_iter + 1, linear scale) and ``mean`` (error-state means at ``steps``).

    References
    ----------
    Derived here (exact; PSD form), verified against Monte Carlo in claim admm.3.
    """
    if not (isinstance(n_iter, (int, np.integer)) and n_iter >= 0):
        raise ValueError(f"n_iter={n_iter} must be an integer >= 0")
    R, q = np.asarray(R, np.float64), np.asarray(q, np.float64)
    w_star = solve_wls(R, q)
    N = local_N(R, rho)
    sch = scheme(N, rho, C, sigma2_zeta, sigma2_eta, variant=variant, participation=participation)
    if variant == "admm":
        m, P = admm_initial_moments(R, q, rho, sigma2_eta)
    else:
        m, P = initial_moments(np.einsum("kij,kj->ki", N, q), w_star, sigma2_eta, C,
                               variant=variant, participation=participation, init=init)
    steps = np.arange(n_iter + 1) if steps is None else np.asarray(steps)
    want = set(int(s) for s in steps)
    nmsd = np.empty(n_iter + 1)
    means = {}
    scale = sch.K * float(w_star @ w_star)
    with single_threaded_blas():
        for n in range(n_iter + 1):
            nmsd[n] = _w_trace(P, sch) / scale
            if n in want:
                means[n] = m.copy()
            if n < n_iter:
                P = moment_step(P, sch)
                m = sch.F_bar @ m
    return {"nmsd": nmsd, "mean": np.stack([means[int(s)] for s in steps]), "steps": steps, "w_star": w_star,
            "P_last": P, "scheme": sch}


def exact_plateau(R, q, rho, C, sigma2_zeta, sigma2_eta, n_iter, window, *, variant="rerce",
                  participation="fixed", init="literal"):
    r"""Exact mean NMSD over the last ``window`` iterations :math:`n \in (T - W, T]` (linear), the plateau the
    simulator reports as ``nmsd_window``: :math:`\frac1W\sum_{n=T-W+1}^{T}\mathrm{NMSD}_n` from
    :func:`exact_moments`. Feasible where the state dimension D is small (D <= ~150: 4 J D^3 flops per step).

    Parameters
    ----------
    R : array_like, shape (K, L, L)
        Per-client R_k = 2 X_kᵀ W_k X_k (:func:`wls_terms`).
    q : array_like, shape (K, L)
        Per-client q_k = 2 X_kᵀ W_k y_k.
    rho : float
        ADMM penalty ρ (> 0).
    C : int
        Number of clients scheduled per iteration (1 <= C <= K); the Bernoulli rate is C/K; C = K for ``'admm'``.
    sigma2_zeta : float
        Variance of the downlink noise ζ (server to client), >= 0.
    sigma2_eta : float
        Variance of the uplink noise η (client to server), >= 0.
    n_iter : int
        Number of local updates after the first upload, T (>= 0).
    window : int
        Plateau length W: the last W iterations are averaged (1 <= window <= n_iter).
    variant : str, default 'rerce'
        ``'rerce'`` (Alg. 4), ``'continual'`` (Alg. 5) or ``'admm'`` (noisy consensus ADMM, full participation).
    participation : str, default 'fixed'
        ``'fixed'`` (a uniform subset of C clients) or ``'bernoulli'`` (each client with probability C/K).
    init : str, default 'literal'
        ``'literal'`` (Alg. 4 as printed) or ``'corrected'`` (w₀ = (1 − K/C) w₁, unbiased).

    Returns
    -------
    float
        The mean exact NMSD over the window, linear scale (not dB).

    References
    ----------
    Eq. (4.35) averaged over the plotted plateau (arXiv:2409.13451 Figs 4.1-4.6); docs/admm.md, "Exact theory".
    """
    if not (isinstance(window, (int, np.integer)) and 1 <= window <= n_iter):
        raise ValueError(f"window={window} must be an integer in 1..n_iter={n_iter}")
    nmsd = exact_moments(R, q, rho, C, sigma2_zeta, sigma2_eta, n_iter, variant=variant,
                         participation=participation, init=init, steps=[n_iter])["nmsd"]
    return float(nmsd[n_iter - window + 1:].mean())


def noise_shift_db(ratio):
    r"""dB shift of the noise part :math:`\mathrm{NMSD}_n(\sigma^2) - \mathrm{NMSD}_n(0)` when both link-noise
    variances are scaled by ``ratio``: :math:`10\log_{10}(\mathrm{ratio})`, exactly, at every n.

    Derivation (affine law): F(a) and B do not depend on the noise, while the noise enters only through
    :math:`Q = \bar a\sum_k G_k\Sigma_\xi G_k^\top` and the :math:`\sigma_\eta^2` term of :math:`P_0`, both linear in
    :math:`\Sigma_\xi`. So :math:`P_n = P_n^{(0)} + \sigma^2 A_n` with :math:`P_n^{(0)}` the noise-free second
    moment (the floor), and the noise part scales by ``ratio``. The same holds per realisation with common
    random numbers up to a cross term that vanishes in expectation.

    Parameters
    ----------
    ratio : float
        Factor r by which both link-noise variances σ²_ζ and σ²_η are scaled (finite, > 0).

    Returns
    -------
    float
        The shift :math:`10\log_{10}(\mathrm{ratio})` in dB of the noise part of the NMSD (12.04 dB for r = 16).

    References
    ----------
    arXiv:2409.13451 Figs 4.4-4.6 (6.25e-4 -> 1e-2 shifts every plateau by ~12 dB); the affine noise law is
    derived in docs/admm.md, "Affine noise law".
    """
    if not (np.isfinite(ratio) and ratio > 0):
        raise ValueError(f"ratio={ratio} must be a finite number > 0")
    return 10 * float(np.log10(ratio))


# --------------------------------------------------------------------------------------- spectrum, limits, drift
def _consensus_basis(sch: Scheme):
    return np.tile(np.eye(sch.L), (sch.n_blocks, 1))


def second_moment_operator(sch: Scheme):
    r""":math:`\Phi = \sum_j B_j \otimes B_j` acting on row-major :math:`\mathrm{vec}(P)` (tiny dims only).

    Parameters
    ----------
    sch : Scheme
        Mean matrix and second-moment stack of one iteration (:func:`scheme`).

    Returns
    -------
    numpy.ndarray, shape (D², D²)
        Φ.

    References
    ----------
    Derived here (the linear operator of :func:`moment_step` on vec(P)).
    """
    D = sch.B.shape[1]
    Phi = np.zeros((D * D, D * D))
    for Bj in sch.B:
        Phi += np.kron(Bj, Bj)
    return Phi


def _limit_projector_solve(A, U, Y):
    r"""Split :math:`Y = (I - A)X + Uv` with :math:`U^\top X = 0`; returns (X, v). :math:`\lim A^n Y = Uv` when 1 is
    a semisimple eigenvalue of A with right eigenspace span(U) and all other eigenvalues inside the unit disc."""
    n, r = U.shape
    big = np.zeros((n + r, n + r))
    big[:n, :n] = np.eye(n) - A
    big[:n, n:] = U
    big[n:, :n] = U.T
    rhs = np.zeros((n + r,) + Y.shape[1:])
    rhs[:n] = Y
    sol = sla.solve(big, rhs)
    return sol[:n], sol[n:]


def mean_limit(R, q, rho, C, *, variant="rerce", participation="fixed", init="literal"):
    r"""Exact :math:`\lim_n \mathbb E w_{k,n}` (the same for every k): the consensus component of :math:`m_0`
    along the unit eigenspace of :math:`\bar F`. Closed form for fixed C (RERCE):
    :math:`H^{-1}[\sum_k R_k\hat w_k + K\bar a\rho\,\mathbb E(w_1 - w_0)]`; see :func:`rerce_mean_bias`.

    Parameters
    ----------
    R : array_like, shape (K, L, L)
        Per-client R_k = 2 X_kᵀ W_k X_k (:func:`wls_terms`).
    q : array_like, shape (K, L)
        Per-client q_k = 2 X_kᵀ W_k y_k.
    rho : float
        ADMM penalty ρ (> 0).
    C : int
        Number of clients scheduled per iteration (1 <= C <= K); the Bernoulli rate is C/K.
    variant : str, default 'rerce'
        ``'rerce'`` (Alg. 4) or ``'continual'`` (Alg. 5).
    participation : str, default 'fixed'
        ``'fixed'`` (a uniform subset of C clients) or ``'bernoulli'`` (each client with probability C/K).
    init : str, default 'literal'
        ``'literal'`` (Alg. 4 as printed) or ``'corrected'`` (w₀ = (1 − K/C) w₁, unbiased).

    Returns
    -------
    numpy.ndarray, shape (L,)
        lim_n E w_{k,n}.

    References
    ----------
    Derived here (the consensus component along the unit eigenspace of F̄); see :func:`rerce_mean_bias`.
    """
    R, q = np.asarray(R, np.float64), np.asarray(q, np.float64)
    w_star = solve_wls(R, q)
    N = local_N(R, rho)
    sch = scheme(N, rho, C, variant=variant, participation=participation)
    m0, _ = initial_moments(np.einsum("kij,kj->ki", N, q), w_star, 0.0, C, variant=variant,
                            participation=participation, init=init)
    with single_threaded_blas():
        _, v = _limit_projector_solve(sch.F_bar, _consensus_basis(sch), m0)
    return w_star + v


def rerce_mean_bias(R, q, rho, C, init="literal"):
    r"""Closed-form mean bias of RERCE-Fed with fixed C: literal Alg. 4 init
    :math:`\lim\mathbb E w_{k,n} - w^\star = -(1-\bar a)\rho H^{-1}\sum_k\hat w_k`; corrected init: 0.
    The paper's Prop. 4.1 states 0 for both.

    Parameters
    ----------
    R : array_like, shape (K, L, L)
        Per-client R_k = 2 X_kᵀ W_k X_k (:func:`wls_terms`).
    q : array_like, shape (K, L)
        Per-client q_k = 2 X_kᵀ W_k y_k.
    rho : float
        ADMM penalty ρ (> 0).
    C : int
        Number of clients scheduled per iteration (1 <= C <= K); the Bernoulli rate is C/K.
    init : str, default 'literal'
        ``'literal'`` (Alg. 4 as printed) or ``'corrected'`` (w₀ = (1 − K/C) w₁, unbiased).

    Returns
    -------
    numpy.ndarray, shape (L,)
        lim E w_{k,n} − w⋆.

    References
    ----------
    Derived here (from the left unit eigenvector :math:`\ell^\top x = \frac{1}{K\bar a\rho}\sum_k R_k w_k + w_n -
    w_{n-1}` of :math:`\bar F`).
    """
    R, q = np.asarray(R, np.float64), np.asarray(q, np.float64)
    K = R.shape[0]
    _check_C(C, K, "fixed")
    if init not in INITS:
        raise ValueError(f"init={init!r} is not valid; use one of {INITS}")
    if init == "corrected":
        return np.zeros(R.shape[1])
    H = R.sum(0)
    return -(1 - C / K) * rho * np.linalg.solve(H, local_w_hat(R, q, rho).sum(0))


def drift_slope(R, rho, C, sigma2_zeta, sigma2_eta):
    r"""Closed-form RERCE drift: network MSD :math:`\frac1K\sum_k\|\tilde w_{k,n}\|^2` grows by
    :math:`S = \rho^2 C(\sigma_\zeta^2+\sigma_\eta^2)\,\mathrm{tr}(H^{-2})` per iteration (homogeneous noise).

    The link noise excites the L^2 unit modes of :math:`\Phi`, contradicting the paper's Prop. 4.2.

    Parameters
    ----------
    R : array_like, shape (K, L, L)
        Per-client R_k = 2 X_kᵀ W_k X_k (:func:`wls_terms`).
    rho : float
        ADMM penalty ρ (> 0).
    C : int
        Number of clients scheduled per iteration (1 <= C <= K); the Bernoulli rate is C/K.
    sigma2_zeta : float
        Variance of the downlink noise ζ (server to client), >= 0.
    sigma2_eta : float
        Variance of the uplink noise η (client to server), >= 0.

    Returns
    -------
    float
        S, the per-iteration growth of the network MSD (not normalised by ‖w⋆‖²).

    References
    ----------
    Derived here (per-client average MSD, the metric (4.35) before the division by ||w*||^2; matches the exact
    recursion to ~1e-6 relative, see tests/test_admm_theory.py).
    """
    R = np.asarray(R, np.float64)
    _noise_cov(1, sigma2_zeta, sigma2_eta)
    K = R.shape[0]
    _check_C(C, K, "fixed")
    Hinv = np.linalg.inv(R.sum(0))
    return rho ** 2 * C * (sigma2_zeta + sigma2_eta) * np.trace(Hinv @ Hinv)


def msd_decomposition(R, q, rho, C, sigma2_zeta, sigma2_eta, *, variant="rerce", participation="fixed",
                      init="literal"):
    r"""Exact :math:`\mathrm{NMSD}_n = E_\nu + E_\psi + nS + o(1)`, all normalised by :math:`K\|w^\star\|^2`.

    :math:`E_\nu = \mathrm{tr}_w\Pi(P_0)`, :math:`S = \mathrm{tr}_w\Pi(Q)`,
    :math:`E_\psi = \sum_{i\ge0}\mathrm{tr}_w(\Phi^i - \Pi)(Q)` with :math:`\Pi` the spectral projector on the
    unit eigenspace :math:`\{\mathbb 1V\mathbb 1^\top\}` of :math:`\Phi`, obtained from one bordered linear solve.
    Dense in :math:`D^2` unknowns: keep :math:`D \lesssim 60`.

    Parameters
    ----------
    R : array_like, shape (K, L, L)
        Per-client R_k = 2 X_kᵀ W_k X_k (:func:`wls_terms`).
    q : array_like, shape (K, L)
        Per-client q_k = 2 X_kᵀ W_k y_k.
    rho : float
        ADMM penalty ρ (> 0).
    C : int
        Number of clients scheduled per iteration (1 <= C <= K); the Bernoulli rate is C/K.
    sigma2_zeta : float
        Variance of the downlink noise ζ (server to client), >= 0.
    sigma2_eta : float
        Variance of the uplink noise η (client to server), >= 0.
    variant : str, default 'rerce'
        ``'rerce'`` (Alg. 4) or ``'continual'`` (Alg. 5).
    participation : str, default 'fixed'
        ``'fixed'`` (a uniform subset of C clients) or ``'bernoulli'`` (each client with probability C/K).
    init : str, default 'literal'
        ``'literal'`` (Alg. 4 as printed) or ``'corrected'`` (w₀ = (1 − K/C) w₁, unbiased).

    Returns
    -------
    dict
        ``E_nu``, ``E_psi`` and ``S`` (each normalised by K‖w⋆‖²).

    References
    ----------
    Derived here; the paper's (4.34) is :math:`E_\nu + E_\psi` with :math:`S = 0` (Prop. 4.2), see
    :func:`paper_steady_state`.
    """
    R, q = np.asarray(R, np.float64), np.asarray(q, np.float64)
    w_star = solve_wls(R, q)
    N = local_N(R, rho)
    sch = scheme(N, rho, C, sigma2_zeta, sigma2_eta, variant=variant, participation=participation)
    D = sch.B.shape[1]
    if D > 80:
        raise ValueError(f"state dimension D={D} is too large for the dense decomposition (D <= 80)")
    _, P0 = initial_moments(np.einsum("kij,kj->ki", N, q), w_star, sigma2_eta, C, variant=variant,
                            participation=participation, init=init)
    Phi = second_moment_operator(sch)
    one = _consensus_basis(sch)
    L = sch.L
    U = np.stack([(one @ np.outer(np.eye(L)[i], np.eye(L)[j]) @ one.T).ravel()
                  for i in range(L) for j in range(L)], axis=1)
    Y = np.stack([P0.ravel(), sch.Q.ravel()], axis=1)
    with single_threaded_blas():
        X, v = _limit_projector_solve(Phi, U, Y)
        _, vX = _limit_projector_solve(Phi, U, X[:, 1:2])
    scale = sch.K * float(w_star @ w_star)

    def tr_w(vec):
        return _w_trace(vec.reshape(D, D), sch) / scale

    E_nu = tr_w(U @ v[:, 0])
    S = tr_w(U @ v[:, 1])
    E_psi = tr_w(X[:, 1]) - tr_w(U @ vX[:, 0])
    return {"E_nu": E_nu, "E_psi": E_psi, "S": S}


def paper_steady_state(R, q, rho, C, sigma2_zeta, sigma2_eta, *, variant="rerce", participation="fixed",
                       init="literal"):
    r"""The paper's steady-state NMSD (4.34): :math:`E = E_\nu + E_\psi`, which assumes Prop. 4.2 (the noise has no
    component on the unit modes, so no drift). Evaluated with the exact :math:`\Phi` (the paper's approximate Q of
    its App. A was not available); it is the plateau before the drift :math:`nS` takes over.

    Parameters
    ----------
    R : array_like, shape (K, L, L)
        Per-client R_k = 2 X_kᵀ W_k X_k (:func:`wls_terms`).
    q : array_like, shape (K, L)
        Per-client q_k = 2 X_kᵀ W_k y_k.
    rho : float
        ADMM penalty ρ (> 0).
    C : int
        Number of clients scheduled per iteration (1 <= C <= K); the Bernoulli rate is C/K.
    sigma2_zeta : float
        Variance of the downlink noise ζ (server to client), >= 0.
    sigma2_eta : float
        Variance of the uplink noise η (client to server), >= 0.
    variant : str, default 'rerce'
        ``'rerce'`` (Alg. 4) or ``'continual'`` (Alg. 5).
    participation : str, default 'fixed'
        ``'fixed'`` (a uniform subset of C clients) or ``'bernoulli'`` (each client with probability C/K).
    init : str, default 'literal'
        ``'literal'`` (Alg. 4 as printed) or ``'corrected'`` (w₀ = (1 − K/C) w₁, unbiased).

    Returns
    -------
    float
        E_ν + E_ψ (linear scale).

    References
    ----------
    arXiv:2409.13451 eq. (4.34), Prop. 4.2.
    """
    d = msd_decomposition(R, q, rho, C, sigma2_zeta, sigma2_eta, variant=variant, participation=participation,
                          init=init)
    return d["E_nu"] + d["E_psi"]


def spectrum(R, rho, C, *, variant="rerce", participation="fixed"):
    r"""Eigenvalue moduli (descending) of the mean matrix F_bar and of the second-moment operator Phi.

    Parameters
    ----------
    R : array_like, shape (K, L, L)
        Per-client R_k = 2 X_kᵀ W_k X_k (:func:`wls_terms`).
    rho : float
        ADMM penalty ρ (> 0).
    C : int
        Number of clients scheduled per iteration (1 <= C <= K); the Bernoulli rate is C/K.
    variant : str, default 'rerce'
        ``'rerce'`` (Alg. 4) or ``'continual'`` (Alg. 5).
    participation : str, default 'fixed'
        ``'fixed'`` (a uniform subset of C clients) or ``'bernoulli'`` (each client with probability C/K).

    Returns
    -------
    tuple of numpy.ndarray
        Eigenvalue moduli of F̄ and of Φ, descending.

    References
    ----------
    Derived here (the mean and second-moment recursions of :func:`scheme`).
    """
    R = np.asarray(R, np.float64)
    sch = scheme(local_N(R, rho), rho, C, variant=variant, participation=participation)
    with single_threaded_blas():
        ev_F = np.sort(np.abs(np.linalg.eigvals(sch.F_bar)))[::-1]
        ev_Phi = np.sort(np.abs(np.linalg.eigvals(second_moment_operator(sch))))[::-1]
    return ev_F, ev_Phi


def mixing_time(R, rho, C, *, variant="rerce", participation="fixed"):
    r""":math:`\tau = 1/(1-|\lambda_2(\bar F)|)`, the mean's relaxation time in iterations.

    Parameters
    ----------
    R : array_like, shape (K, L, L)
        Per-client R_k = 2 X_kᵀ W_k X_k (:func:`wls_terms`).
    rho : float
        ADMM penalty ρ (> 0).
    C : int
        Number of clients scheduled per iteration (1 <= C <= K); the Bernoulli rate is C/K.
    variant : str, default 'rerce'
        ``'rerce'`` (Alg. 4) or ``'continual'`` (Alg. 5).
    participation : str, default 'fixed'
        ``'fixed'`` (a uniform subset of C clients) or ``'bernoulli'`` (each client with probability C/K).

    Returns
    -------
    float
        τ in iterations.

    References
    ----------
    Standard for a linear recursion: the second-largest eigenvalue modulus of F̄ sets the relaxation time.
    """
    R = np.asarray(R, np.float64)
    sch = scheme(local_N(R, rho), rho, C, variant=variant, participation=participation)
    with single_threaded_blas():
        ev = np.sort(np.abs(np.linalg.eigvals(sch.F_bar)))[::-1]
    lam2 = ev[sch.L] if ev.size > sch.L else 0.0
    return 1.0 / max(1.0 - lam2, 1e-300)


# --------------------------------------------------------------------------------------------------- baselines
def fedprox_fixed_point(R, q, mu):
    r"""FedProx with exact local prox :math:`w_k = (R_k+\mu I)^{-1}(q_k + \mu g)`, :math:`g = \frac1K\sum_k w_k`:
    :math:`g_{\rm prox} = (I - \frac{\mu}{K}\sum_k N_k(\mu))^{-1}\frac1K\sum_k N_k(\mu)q_k \ne w^\star` under
    heterogeneous data.

    Parameters
    ----------
    R : array_like, shape (K, L, L)
        Per-client R_k = 2 X_kᵀ W_k X_k (:func:`wls_terms`).
    q : array_like, shape (K, L)
        Per-client q_k = 2 X_kᵀ W_k y_k.
    mu : float
        Proximal weight μ (> 0).

    Returns
    -------
    numpy.ndarray, shape (L,)
        g_prox.

    References
    ----------
    Li et al. 2020 (FedProx); the fixed point is derived in docs/admm.md (ADMM with the dual removed).
    """
    N = local_N(R, mu)
    K, L = N.shape[0], N.shape[1]
    return np.linalg.solve(np.eye(L) - mu * N.mean(0), np.einsum("kij,kj->i", N, np.asarray(q, np.float64)) / K)


def fedavg_fixed_point(R, q, lr, local_steps):
    r"""FedAvg with E local gradient steps :math:`w \leftarrow w - \mu(R_k w - q_k)` then averaging:
    :math:`g = (I - \frac1K\sum_k B_k^E)^{-1}\frac1K\sum_k\sum_{j<E}B_k^j\mu q_k`, :math:`B_k = I - \mu R_k`;
    equals :math:`w^\star` for E = 1.

    Parameters
    ----------
    R : array_like, shape (K, L, L)
        Per-client R_k = 2 X_kᵀ W_k X_k (:func:`wls_terms`).
    q : array_like, shape (K, L)
        Per-client q_k = 2 X_kᵀ W_k y_k.
    lr : float
        Local step size μ (> 0).
    local_steps : int
        Local gradient steps E (>= 1).

    Returns
    -------
    numpy.ndarray, shape (L,)
        The FedAvg fixed point g.

    References
    ----------
    McMahan et al. 2017; the fixed point is derived in docs/admm.md, "Exact theory".
    """
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr={lr} must be a finite number > 0")
    if not (isinstance(local_steps, (int, np.integer)) and local_steps >= 1):
        raise ValueError(f"local_steps={local_steps} must be an integer >= 1")
    R, q = np.asarray(R, np.float64), np.asarray(q, np.float64)
    K, L = q.shape
    B = np.eye(L) - lr * R
    BE = np.stack([np.linalg.matrix_power(b, local_steps) for b in B])
    acc = np.zeros((K, L))
    Bj = np.broadcast_to(np.eye(L), (K, L, L)).copy()
    for _ in range(local_steps):
        acc += lr * np.einsum("kij,kj->ki", Bj, q)
        Bj = B @ Bj
    return np.linalg.solve(np.eye(L) - BE.mean(0), acc.mean(0))


def admm_invariant(R, rho, w_loc_next, w_loc):
    r""":math:`Q_n = \sum_k N_k^{-1}w_{k,n+1} - \rho\sum_k w_{k,n}`, conserved (:math:`=\sum_k q_k`) by noise-free
    full-participation ADMM / dual-free iterations.

    Parameters
    ----------
    R : array_like, shape (K, L, L)
        Per-client R_k = 2 X_kᵀ W_k X_k (:func:`wls_terms`).
    rho : float
        ADMM penalty ρ (> 0).
    w_loc_next : array_like, shape (K, L)
        Local models w_{k,n+1}.
    w_loc : array_like, shape (K, L)
        Local models w_{k,n}.

    Returns
    -------
    numpy.ndarray, shape (L,)
        Q_n.

    References
    ----------
    Derived here (verified in claim admm.1).
    """
    R = np.asarray(R, np.float64)
    L = R.shape[-1]
    return np.einsum("kij,...kj->...i", R + rho * np.eye(L), w_loc_next) - rho * np.asarray(w_loc).sum(-2)


def db(x):
    r"""10 log10(x), the paper's dB scale.

    Parameters
    ----------
    x : float or array_like
        Positive values (an NMSD).

    Returns
    -------
    float or numpy.ndarray
        10 log10(x).

    References
    ----------
    arXiv:2409.13451 §5 (figures in dB).
    """
    return 10 * np.log10(np.asarray(x, np.float64))
