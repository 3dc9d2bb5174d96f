r"""Closed forms and float64 references for linear state-space layers (LSSL) and HiPPO memory.

Convention (S4's and state-spaces/s4's; docs/lssl.md): the continuous SSM is :math:`\dot x = Ax + Bu`,
:math:`y = Cx + Du` with a *stable* (negative) :math:`A`. LSSL App. D and HiPPO write :math:`\dot x = -Ax + Bu` with positive A; every
matrix here is already in the stable sign. Discrete steps are :math:`x_k = \bar A x_{k-1} + \bar B u_k`, with
:math:`x_k \approx x(t_k)` after consuming :math:`u_k`; second-order methods are second order only when
:math:`u_k` is the cell-midpoint sample (or cell average), and first order with endpoint samples.

References: Gu et al. 2021 "Combining Recurrent, Convolutional, and Continuous-time Models with Linear State-Space
Layers" (LSSL, arXiv 2110.13985); Gu et al. 2020 "HiPPO" (arXiv 2008.07669); Gu et al. 2021 "S4" (arXiv 2111.00396);
Gu et al. 2022 "How to Train Your HiPPO" (arXiv 2206.12037).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import scipy.linalg as sla
from scipy.special import eval_legendre, expit

METHODS = ("forward_euler", "backward_euler", "bilinear", "zoh", "gbt", "zoh_euler")
"""Discretizations: GBT(alpha) family (forward Euler = 0, bilinear = 1/2, backward Euler = 1), exact ZOH and the
mixed ZOH-for-A / Euler-for-B rule of Mamba (state-spaces/mamba#114)."""
KINDS = ("legs", "legt", "lagt", "fout")
GROWTH_LIMIT = 1e6
"""A kernel whose powers of A_bar grow by more than this over L steps is refused as unstable (e.g. forward Euler
with dt·|lambda| too large)."""


# --------------------------------------------------------------------------------------------------------------
# validation helpers


def _square(A, name: str = "A") -> np.ndarray:
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 1:
        raise ValueError(f"{name} must be a square N x N matrix with N >= 1, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name} has non-finite entries")
    return A


def _state_vector(B, N: int, name: str = "B") -> np.ndarray:
    B = np.asarray(B, dtype=np.float64)
    if B.ndim not in (1, 2) or B.shape[0] != N:
        raise ValueError(f"{name} must have shape (N,) or (N, k) with N={N}, got shape {B.shape}")
    return B


def _positive(x, name: str) -> float:
    x = float(x)
    if not (math.isfinite(x) and x > 0):
        raise ValueError(f"{name}={x} must be a finite number > 0")
    return x


# --------------------------------------------------------------------------------------------------------------
# discretization (LSSL eq. 3, App. C.1.3)


def discretize(A, B, dt, method: str, alpha: float | None = None):
    r"""Discrete :math:`(\bar A, \bar B)` of :math:`\dot x = Ax + Bu` with step :math:`\Delta` = ``dt``.

    GBT(:math:`\alpha`): :math:`\bar A = (I-\alpha\Delta A)^{-1}(I+(1-\alpha)\Delta A)`,
    :math:`\bar B = \Delta (I-\alpha\Delta A)^{-1} B`; forward Euler :math:`\alpha=0`, bilinear :math:`\alpha=\tfrac12`,
    backward Euler :math:`\alpha=1`. ZOH: :math:`\bar A = e^{\Delta A}`, :math:`\bar B=\int_0^\Delta e^{sA}ds\,B`,
    computed with Van Loan's augmented exponential :math:`\exp(\Delta[[A,B],[0,0]]) = [[\bar A,\bar B],[0,I]]`,
    so A is never inverted (FouT's A is singular). ``zoh_euler``: :math:`\bar A=e^{\Delta A}`, :math:`\bar B=\Delta B`.

    Assumptions: A square real; dt > 0; ``alpha`` in [0, 1] and given only with method ``"gbt"``.

    Parameters
    ----------
    A : (N, N) array_like
        Continuous state matrix A of ẋ = Ax + Bu (stable convention: eigenvalues in the left half plane).
    B : array_like, shape (N,) or (N, k)
        Input matrix B.
    dt : float
        Step size Δ (> 0).
    method : str
        ``'forward_euler'``, ``'backward_euler'``, ``'bilinear'``, ``'gbt'``, ``'zoh'`` or ``'zoh_euler'``
        (METHODS).
    alpha : float or None, default None
        GBT parameter α in [0, 1]; only with ``method='gbt'``.

    Returns
    -------
    tuple of numpy.ndarray
        (Ā, B̄), shapes (N, N) and the shape of B.

    References
    ----------
    LSSL arXiv 2110.13985, eq. (3) and App. C.1.3; Van Loan 1978 for the ZOH integral.
    """
    A = _square(A)
    N = A.shape[0]
    B = _state_vector(B, N)
    dt = _positive(dt, "dt")
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not valid; use one of {METHODS}")
    if method == "gbt":
        if alpha is None or not (0.0 <= float(alpha) <= 1.0):
            raise ValueError(f"alpha={alpha} must be given in [0, 1] with method='gbt'")
    elif alpha is not None:
        raise ValueError(f"alpha={alpha} is only valid with method='gbt' (got method={method!r})")
    if method in ("zoh", "zoh_euler"):
        Bm = B.reshape(N, -1)
        k = Bm.shape[1]
        M = np.zeros((N + k, N + k))
        M[:N, :N] = A
        M[:N, N:] = Bm
        E = sla.expm(dt * M)
        A_bar = E[:N, :N]
        B_bar = E[:N, N:].reshape(B.shape) if method == "zoh" else dt * B
        return A_bar, B_bar
    a = {"forward_euler": 0.0, "backward_euler": 1.0, "bilinear": 0.5}.get(method, alpha)
    a = float(a)
    I = np.eye(N)
    lhs = I - a * dt * A
    A_bar = np.linalg.solve(lhs, I + (1.0 - a) * dt * A)
    B_bar = dt * np.linalg.solve(lhs, B)
    return A_bar, B_bar


SAMPLINGS = ("endpoint", "midpoint", "cell_average")
"""Input samples u_k of step k (cell (t_{k-1}, t_k]): u(t_k), u(t_k - dt/2), or the cell average (LSSL App. C.1.3)."""


def discretization_order(method: str, sampling: str, alpha: float | None = None) -> tuple[int, str]:
    r"""Global order p of the LSSL output, :math:`|y_k - y(t_k)| = O(\Delta^p)` on a fixed horizon for smooth
    input, and the reason, for a discretization ``method`` fed the input samples ``sampling``.

    One step maps :math:`x(t_{k-1})` to :math:`\bar A x(t_{k-1}) + \bar B u_k`, while the exact flow is
    :math:`e^{\Delta A}x(t_{k-1}) + \int_0^\Delta e^{sA}B u(t_k - s)\,ds`. The local error is the sum of

    - the state part :math:`\bar A - e^{\Delta A}`: :math:`O(\Delta^2)` for GBT(:math:`\alpha`) with
      :math:`\alpha \ne \tfrac12` (it is :math:`(\alpha-\tfrac12)\Delta^2A^2 + O(\Delta^3)`), :math:`O(\Delta^3)`
      for bilinear (a Padé (1,1) approximant of the exponential), 0 for ZOH;
    - the input part, a one-point quadrature of the convolution integral: :math:`\bar B u_k` with
      :math:`\bar B = \Delta B + O(\Delta^2)` is exact to :math:`O(\Delta^3)` only when :math:`\bar B` carries
      the :math:`\tfrac12\Delta^2 AB` term (bilinear, ZOH) *and* :math:`u_k` is the cell midpoint or cell average
      (the midpoint rule); an endpoint sample :math:`u(t_k)` is a one-sided rectangle rule, :math:`O(\Delta^2)` per
      step.

    K = T/Δ local errors of order :math:`\Delta^{p+1}` add up to a global :math:`O(\Delta^p)` (the method is
    stable: :math:`\|\bar A^k\|` bounded on the horizon). So p = 2 for bilinear, ZOH and GBT(½) with midpoint or
    cell-average samples, and p = 1 for every other combination. ``zoh_euler`` (:math:`\bar B = \Delta B`) is
    first order with any samples.

    Parameters
    ----------
    method : str
        Discretization, one of ``METHODS``: ``'forward_euler'``, ``'backward_euler'``, ``'bilinear'``, ``'zoh'``,
        ``'gbt'`` or ``'zoh_euler'``.
    sampling : str
        Input samples u_k, one of ``SAMPLINGS``: ``'endpoint'``, ``'midpoint'`` or ``'cell_average'``.
    alpha : float or None, default None
        GBT parameter α in [0, 1]; required with ``method='gbt'`` and refused otherwise.

    Returns
    -------
    tuple of (int, str)
        The global order p (1 or 2) and the reason, in words.

    References
    ----------
    LSSL arXiv 2110.13985 eq. (3) and App. C.1.3 (u_k the cell average); Hairer, Nørsett, Wanner,
    *Solving ODEs I*, §II.3 (local to global error).
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not valid; use one of {METHODS}")
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling={sampling!r} is not valid; use one of {SAMPLINGS}")
    if method == "gbt":
        if alpha is None or not (0.0 <= float(alpha) <= 1.0):
            raise ValueError(f"alpha={alpha} must be given in [0, 1] with method='gbt'")
        symmetric = float(alpha) == 0.5
    elif alpha is not None:
        raise ValueError(f"alpha={alpha} is only valid with method='gbt' (got method={method!r})")
    else:
        symmetric = method in ("bilinear", "zoh")
    if not symmetric:
        why = ("B_bar = dt·B drops the dt^2·AB/2 term of the input integral" if method == "zoh_euler" else
               "A_bar - exp(dt·A) = (alpha - 1/2)·dt^2·A^2 + O(dt^3): the state update is only first order")
        return 1, why
    if sampling == "endpoint":
        return 1, "u_k = u(t_k) is a one-sided rectangle rule for the input integral: O(dt^2) per step"
    return 2, "the state update is O(dt^3) per step and u_k at the cell midpoint is the midpoint rule: O(dt^3)"


def order_bias_bound(rate: float, dt: float) -> float:
    r"""Bound on the pre-asymptotic bias of a local order :math:`\log_2(e(2\Delta)/e(\Delta))` when the error is
    :math:`e(\Delta) = c\Delta^p(1 + r\Delta + O(\Delta^2))` and :math:`|r| \le` ``rate`` (the fastest time
    scale of the problem: the largest :math:`|\lambda(A)|` or input frequency):
    :math:`\log_2\frac{1 + 2r\Delta}{1 + r\Delta} \le r\Delta/\ln 2`. ``dt`` is the finer step of the pair.

    Parameters
    ----------
    rate : float
        Bound on |r|, the problem's fastest rate (finite, > 0).
    dt : float
        The finer step Δ of the pair (finite, > 0).

    Returns
    -------
    float
        The bound r·Δ/ln 2 on the bias of the local order.

    References
    ----------
    Derived here (first-order expansion of the local order, cf. Richardson extrapolation); used as the allowance b of
    docs/lssl.md, "Tolerance rules" (convergence orders).
    """
    rate, dt = _positive(rate, "rate"), _positive(dt, "dt")
    return rate * dt / math.log(2.0)


def spectral_radius(A) -> float:
    r"""Spectral radius :math:`\rho(A) = \max_i|\lambda_i(A)|`.

    Parameters
    ----------
    A : (N, N) array_like
        Square matrix.

    Returns
    -------
    float
        ρ(A).

    References
    ----------
    Standard linear algebra (numpy.linalg.eigvals).
    """
    return float(np.max(np.abs(np.linalg.eigvals(_square(A)))))


def check_growth(A_bar, L: int, *, name: str = "A_bar") -> None:
    r"""Refuse a recurrence whose powers grow: :math:`\rho(\bar A)^L > ` GROWTH_LIMIT raises ValueError naming
    ``name``. Forward Euler needs :math:`|1+\Delta\lambda|<1` for every eigenvalue
    (the stability region of forward Euler).

    Parameters
    ----------
    A_bar : (N, N) array_like
        Discrete state matrix Ā.
    L : int
        Sequence length (>= 1).
    name : str, default 'A_bar'
        Field name reported in the error.

    Returns
    -------
    None
        Raises ValueError naming ``name`` when ρ(Ā)^L exceeds GROWTH_LIMIT.

    References
    ----------
    LSSL arXiv 2110.13985 §3 (stability of the discrete recurrence).
    """
    rho = spectral_radius(A_bar)
    if rho > 1.0 and L * math.log(rho) > math.log(GROWTH_LIMIT):
        raise ValueError(
            f"{name} has spectral radius {rho:.6g} > 1, so its powers grow by {rho:.3g}^{L} > {GROWTH_LIMIT:g} over "
            f"L={L} steps (unstable discretization, e.g. forward Euler with dt·|lambda| too large); use a smaller dt, "
            f"an A-stable method (bilinear, backward_euler, zoh) or pass allow_unstable=True")


# --------------------------------------------------------------------------------------------------------------
# HiPPO matrices (stable sign)


def hippo(kind: str, N: int):
    r"""HiPPO state matrices :math:`(A, B)` in the stable convention :math:`\dot x = Ax + Bu`.

    - ``legs``: :math:`A_{nk} = -\sqrt{(2n+1)(2k+1)}` (n>k), :math:`-(n+1)` (n=k), 0 (n<k); :math:`B_n=\sqrt{2n+1}`.
    - ``legt`` (window :math:`\theta=1`, LSSL Cor. D.7): :math:`A_{nk}=-\sqrt{(2n+1)(2k+1)}\cdot\{1\ (n\ge k);
      (-1)^{n-k}\ (n<k)\}`, :math:`B_n=\sqrt{2n+1}`.
    - ``lagt``: :math:`A = \tfrac12 I - \mathrm{tril}(1)`, :math:`B_n = 1`.
    - ``fout`` (window 1, N even, states :math:`[c_0, s_0\equiv0, c_1, s_1, \dots]`): :math:`A=\Omega-2bb^\top`,
      :math:`B=2b`, :math:`b=(1,0,\sqrt2,0,\sqrt2,0,\dots)`, :math:`\Omega_{c_k s_k}=-2\pi k`,
      :math:`\Omega_{s_k c_k}=2\pi k`.

    Parameters
    ----------
    kind : str
        HiPPO family: ``'legs'``, ``'legt'``, ``'lagt'`` or ``'fout'``.
    N : int
        State size (number of basis functions), >= 1.

    Returns
    -------
    tuple of numpy.ndarray
        (A, B), shapes (N, N) and (N,).

    References
    ----------
    HiPPO arXiv 2008.07669 Thm 1-2; LSSL arXiv 2110.13985 App. B.2, D; HTTYH arXiv 2206.12037 (FouT);
    state-spaces/s4 ``src/models/hippo/hippo.py`` (its ``legt``/``fout`` are these with window 2).
    """
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not valid; use one of {KINDS}")
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 1:
        raise ValueError(f"N={N!r} must be an integer >= 1")
    n = np.arange(N, dtype=np.float64)
    r = np.sqrt(2 * n + 1)
    if kind == "legs":
        A = -np.tril(np.outer(r, r), -1) - np.diag(n + 1)
        return A, r.copy()
    if kind == "legt":
        sign = np.where(n[:, None] >= n[None, :], 1.0, (-1.0) ** (n[:, None] - n[None, :]))
        return -np.outer(r, r) * sign, r.copy()
    if kind == "lagt":
        return 0.5 * np.eye(N) - np.tril(np.ones((N, N))), np.ones(N)
    if N % 2:
        raise ValueError(f"N={N} must be even for kind='fout' (cos/sin pairs with a dummy s_0)")
    b = np.zeros(N)
    b[0::2] = math.sqrt(2.0)
    b[0] = 1.0
    Omega = np.zeros((N, N))
    for k in range(1, N // 2):
        Omega[2 * k, 2 * k + 1] = -2 * math.pi * k
        Omega[2 * k + 1, 2 * k] = 2 * math.pi * k
    return Omega - 2 * np.outer(b, b), 2 * b


def legs_thm11_factors(N: int):
    r"""LSSL Thm 11 structure of LegS: :math:`A_{\mathrm{LegS}} = -P(D + T^{-1})Q` with :math:`P=Q=\mathrm{diag}
    (\sqrt{2n+1})`, :math:`D=-\mathrm{diag}(n/(2n+1))` and T bidiagonal (1 on the diagonal, -1 below).

    The minus sign is ours: LSSL App. E states the factorisation for the positive-sign HiPPO matrix.

    Parameters
    ----------
    N : int
        State size (number of basis functions), >= 1.

    Returns
    -------
    tuple of numpy.ndarray
        (P, D, T, Q), each (N, N), with A_LegS = −P(D + T⁻¹)Q.

    References
    ----------
    LSSL arXiv 2110.13985 Thm 11, App. E.2.
    """
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 1:
        raise ValueError(f"N={N!r} must be an integer >= 1")
    n = np.arange(N, dtype=np.float64)
    P = np.diag(np.sqrt(2 * n + 1))
    D = -np.diag(n / (2 * n + 1))
    T = np.eye(N) - np.eye(N, k=-1)
    return P, D, T, P.copy()


# --------------------------------------------------------------------------------------------------------------
# Krylov kernel, recurrence and convolution references (LSSL eqs. 4-7)


def krylov_matrix(A_bar, B_bar, L: int, *, algorithm: str = "squaring", allow_unstable: bool = False) -> np.ndarray:
    r"""Krylov matrix :math:`K_L(\bar A,\bar B) = [\bar B, \bar A\bar B, \dots, \bar A^{L-1}\bar B]`, shape (N, L).

    ``squaring``: :math:`X \leftarrow [X, \bar A^{2^j} X]`, :math:`\bar A^{2^{j+1}} = (\bar A^{2^j})^2`
    (:math:`O(N^3\log L + N^2 L)`, log depth); ``naive``: one matrix-vector product per power (:math:`O(LN^2)`).

    Parameters
    ----------
    A_bar : (N, N) array_like
        Discrete state matrix Ā.
    B_bar : array_like, shape (N,) or (N, 1)
        Discrete input vector B̄; a single-input column (N, 1), as :func:`discretize` returns for such a B, is
        accepted.
    L : int
        Sequence length (>= 1).
    algorithm : str, default 'squaring'
        ``'squaring'`` (log depth) or ``'naive'`` (one product per power).
    allow_unstable : bool, default False
        Skip the growth check on the powers of Ā (see :func:`check_growth`).

    Returns
    -------
    numpy.ndarray, shape (N, L)
        The Krylov matrix.

    References
    ----------
    LSSL arXiv 2110.13985 App. B.1; state-spaces/s4 ``src/models/functional/krylov.py``.
    """
    A_bar = _square(A_bar, "A_bar")
    N = A_bar.shape[0]
    B_bar = np.asarray(B_bar, dtype=np.float64)
    if B_bar.shape == (N, 1):  # a single-input column, as discretize returns for a B of shape (N, 1)
        B_bar = B_bar[:, 0]
    if B_bar.shape != (N,):
        raise ValueError(f"B_bar must have shape ({N},) or ({N}, 1), got {B_bar.shape}")
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 1:
        raise ValueError(f"L={L!r} must be an integer >= 1")
    if algorithm not in ("squaring", "naive"):
        raise ValueError(f"algorithm={algorithm!r} is not valid; use 'squaring' or 'naive'")
    if not allow_unstable:
        check_growth(A_bar, L)
    if algorithm == "naive":
        K = np.empty((N, L))
        x = B_bar.copy()
        for k in range(L):
            K[:, k] = x
            x = A_bar @ x
        return K
    X = B_bar[:, None]
    P = A_bar
    while X.shape[1] < L:
        X = np.concatenate([X, P @ X], axis=1)
        P = P @ P
    return X[:, :L].copy()


def krylov_kernel(A_bar, B_bar, C, L: int, *, algorithm: str = "squaring", allow_unstable: bool = False):
    r"""SSM convolution kernel :math:`\bar K = \mathcal K_L(\bar A,\bar B,C) = (C\bar B, C\bar A\bar B, \dots,
    C\bar A^{L-1}\bar B)`, so that :math:`y = \bar K * u + Du` (causal).

    ``C`` of shape (N,) gives shape (L,); (M, N) gives (M, L). Unstable :math:`\bar A` (powers growing by more
    than GROWTH_LIMIT over L steps) raises ValueError naming ``A_bar`` unless ``allow_unstable``.

    Parameters
    ----------
    A_bar : (N, N) array_like
        Discrete state matrix Ā.
    B_bar : array_like, shape (N,) or (N, 1)
        Discrete input vector B̄; a single-input column (N, 1), as :func:`discretize` returns for such a B, is
        accepted.
    C : array_like, shape (N,) or (M, N)
        Output matrix C of y = Cx + Du.
    L : int
        Sequence length (>= 1).
    algorithm : str, default 'squaring'
        ``'squaring'`` (log depth) or ``'naive'`` (one product per power).
    allow_unstable : bool, default False
        Skip the growth check on the powers of Ā (see :func:`check_growth`).

    Returns
    -------
    numpy.ndarray, shape (L,) or (M, L)
        The kernel K̄.

    References
    ----------
    LSSL arXiv 2110.13985 eqs. (6)-(7); S4 arXiv 2111.00396 eq. (5).
    """
    K = krylov_matrix(A_bar, B_bar, L, algorithm=algorithm, allow_unstable=allow_unstable)
    C = np.asarray(C, dtype=np.float64)
    if C.shape[-1] != K.shape[0] or C.ndim not in (1, 2):
        raise ValueError(f"C must have shape (N,) or (M, N) with N={K.shape[0]}, got {C.shape}")
    return C @ K


def causal_convolution(K, u) -> np.ndarray:
    r"""Non-circular causal convolution :math:`y_k = \sum_{j\le k} K_j u_{k-j}` along the last axis by FFT with
    zero padding to length 2L (three FFTs).

    Parameters
    ----------
    K : array_like, shape (..., L)
        Convolution kernel.
    u : array_like, shape (..., L)
        Input sequences along the last axis.

    Returns
    -------
    numpy.ndarray, shape (..., L)
        y with y_k = Σ_{j<=k} K_j u_{k−j}.

    References
    ----------
    LSSL arXiv 2110.13985 §3.2.
    """
    K = np.asarray(K, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    L = u.shape[-1]
    if K.shape[-1] != L:
        raise ValueError(f"K has length {K.shape[-1]}, u has length {L}; they must match")
    n = 2 * L
    return np.fft.irfft(np.fft.rfft(K, n=n) * np.fft.rfft(u, n=n), n=n)[..., :L]


def lssl_recurrence(A_bar, B_bar, C, D, u, x0=None) -> np.ndarray:
    r"""Recurrent view: :math:`x_k = \bar A x_{k-1} + \bar B u_k`, :math:`y_k = Cx_k + Du_k`, :math:`x_{-1}=x_0`
    (zero by default). ``u`` has shape (..., L).

    Parameters
    ----------
    A_bar : (N, N) array_like
        Discrete state matrix Ā.
    B_bar : array_like, shape (N,)
        Discrete input vector B̄ (shape (N, 1) is accepted where noted).
    C : array_like, shape (N,) or (M, N)
        Output matrix C of y = Cx + Du.
    D : float or array_like
        Feed-through D of y = Cx + Du.
    u : array_like, shape (..., L)
        Input sequences along the last axis.
    x0 : array_like, shape (N,) or (..., N), optional
        Initial state x₋₁ (zero by default).

    Returns
    -------
    numpy.ndarray, shape (..., L)
        The outputs y_k.

    References
    ----------
    LSSL arXiv 2110.13985 eq. (4).
    """
    A_bar = _square(A_bar, "A_bar")
    u = np.asarray(u, dtype=np.float64)
    x = np.zeros(u.shape[:-1] + (A_bar.shape[0],)) if x0 is None else np.broadcast_to(
        np.asarray(x0, dtype=np.float64), u.shape[:-1] + (A_bar.shape[0],)).copy()
    C = np.asarray(C, dtype=np.float64)
    y = np.empty_like(u)
    for k in range(u.shape[-1]):
        x = x @ A_bar.T + u[..., k, None] * B_bar
        y[..., k] = x @ C + D * u[..., k]
    return y


def lssl_convolution(A_bar, B_bar, C, D, u, x0=None, *, allow_unstable: bool = False) -> np.ndarray:
    r"""Convolutional view: :math:`y = \bar K * u + Du + (C\bar A^{k+1}x_{-1})_k`. The last term carries a
    nonzero initial state (state-spaces/s4 ``krylov(..., return_power=True)``).

    Parameters
    ----------
    A_bar : (N, N) array_like
        Discrete state matrix Ā.
    B_bar : array_like, shape (N,)
        Discrete input vector B̄ (shape (N, 1) is accepted where noted).
    C : array_like, shape (N,) or (M, N)
        Output matrix C of y = Cx + Du.
    D : float or array_like
        Feed-through D of y = Cx + Du.
    u : array_like, shape (..., L)
        Input sequences along the last axis.
    x0 : array_like, shape (N,) or (..., N), optional
        Initial state x₋₁ (zero by default).
    allow_unstable : bool, default False
        Skip the growth check on the powers of Ā (see :func:`check_growth`).

    Returns
    -------
    numpy.ndarray, shape (..., L)
        The outputs y_k (equal to :func:`lssl_recurrence` up to rounding).

    References
    ----------
    LSSL eq. (6)-(7).
    """
    u = np.asarray(u, dtype=np.float64)
    L = u.shape[-1]
    y = causal_convolution(krylov_kernel(A_bar, B_bar, C, L, allow_unstable=allow_unstable), u) + D * u
    if x0 is not None:
        y = y + krylov_kernel(A_bar, np.asarray(A_bar) @ np.asarray(x0, dtype=np.float64), C, L,
                              allow_unstable=allow_unstable)
    return y


def toeplitz_output(K, u) -> np.ndarray:
    r"""Direct :math:`O(L^2)` lower-triangular Toeplitz product :math:`y = T(\bar K)u` (the slow third view).

    Parameters
    ----------
    K : array_like, shape (..., L)
        Convolution kernel.
    u : array_like, shape (..., L)
        Input sequences along the last axis.

    Returns
    -------
    numpy.ndarray, shape (..., L)
        y = T(K̄) u.

    References
    ----------
    LSSL arXiv 2110.13985 §3.2 (the convolution as a Toeplitz matrix).
    """
    K = np.asarray(K, dtype=np.float64)
    L = K.shape[-1]
    return sla.toeplitz(K, np.zeros(L)) @ np.asarray(u, dtype=np.float64)


def impulse_response(A, B, C, t) -> np.ndarray:
    r"""Continuous impulse response :math:`h(\tau) = C e^{\tau A} B` at the times ``t``.

    Parameters
    ----------
    A : (N, N) array_like
        Continuous state matrix A of ẋ = Ax + Bu (stable convention: eigenvalues in the left half plane).
    B : array_like, shape (N,) or (N, k)
        Input matrix B.
    C : array_like, shape (N,) or (M, N)
        Output matrix C of y = Cx + Du.
    t : array_like
        Times (or positions) at which to evaluate.

    Returns
    -------
    numpy.ndarray
        h(τ) at each time, shape (len(t),) for vector B, C.

    References
    ----------
    LSSL §2.
    """
    A = _square(A)
    return np.array([np.asarray(C) @ sla.expm(float(tau) * A) @ np.asarray(B) for tau in np.atleast_1d(t)])


def sinusoid_response(A, B, C, amps, omegas, phases, T: float) -> float:
    r"""Exact :math:`y(T) = C\int_0^T e^{(T-s)A}B u(s)\,ds` for :math:`u(s) = \sum_j a_j\sin(\omega_j s+\phi_j)`, by
    one exponential of the augmented linear system :math:`[\dot x;\dot z] = [[A, Be^\top],[0, S]][x;z]` whose
    :math:`z_j=(\sin,\cos)(\omega_j t+\phi_j)` generate u. Assumes :math:`x(0)=0`.

    Parameters
    ----------
    A : (N, N) array_like
        Continuous state matrix A of ẋ = Ax + Bu (stable convention: eigenvalues in the left half plane).
    B : array_like, shape (N,) or (N, k)
        Input matrix B.
    C : array_like, shape (N,) or (M, N)
        Output matrix C of y = Cx + Du.
    amps : array_like
        Amplitudes a_j (per seed: shape (S, m)).
    omegas : array_like
        Angular frequencies ω_j.
    phases : array_like
        Phases φ_j.
    T : float
        Final time (> 0).

    Returns
    -------
    float
        The exact output y(T).

    References
    ----------
    Van Loan 1978 (augmented matrix exponential); the forcing generator is derived here.
    """
    A = _square(A)
    N = A.shape[0]
    amps, omegas, phases = (np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (amps, omegas, phases))
    m = amps.size
    M = np.zeros((N + 2 * m, N + 2 * m))
    M[:N, :N] = A
    z0 = np.zeros(2 * m)
    for j in range(m):
        M[:N, N + 2 * j] = np.asarray(B) * amps[j]
        M[N + 2 * j, N + 2 * j + 1] = omegas[j]
        M[N + 2 * j + 1, N + 2 * j] = -omegas[j]
        z0[2 * j], z0[2 * j + 1] = math.sin(phases[j]), math.cos(phases[j])
    state = sla.expm(T * M) @ np.concatenate([np.zeros(N), z0])
    return float(np.asarray(C) @ state[:N])


def sinusoid_output(A, B, C, amps, omegas, phases, t) -> np.ndarray:
    r"""Exact :math:`y(t) = C\int_0^t e^{(t-s)A}B u(s)\,ds` at every time in ``t`` for
    :math:`u(s) = \sum_j a_j\sin(\omega_j s+\phi_j)` and :math:`x(0)=0`: the augmented linear system of
    :func:`sinusoid_response`, propagated exactly (no discretization error): on an evenly spaced ``t`` by powers of
    one exponential :math:`e^{hM}` (rounding grows like k·eps), else one exponential per time. Shape ``(len(t),)``.

    Parameters
    ----------
    A : (N, N) array_like
        Continuous state matrix A of ẋ = Ax + Bu (stable convention: eigenvalues in the left half plane).
    B : array_like, shape (N,)
        Input vector B.
    C : array_like, shape (N,)
        Output vector C of y = Cx.
    amps : array_like, shape (m,)
        Amplitudes a_j.
    omegas : array_like, shape (m,)
        Angular frequencies ω_j.
    phases : array_like, shape (m,)
        Phases φ_j.
    t : array_like
        Times (>= 0) at which to evaluate y.

    Returns
    -------
    numpy.ndarray, shape (len(t),)
        The exact output y(t).

    References
    ----------
    Van Loan 1978 (augmented matrix exponential); the forcing generator is derived here (as in
    :func:`sinusoid_response`).
    """
    A = _square(A)
    N = A.shape[0]
    amps, omegas, phases = (np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (amps, omegas, phases))
    m = amps.size
    M = np.zeros((N + 2 * m, N + 2 * m))
    M[:N, :N] = A
    z0 = np.zeros(N + 2 * m)
    for j in range(m):
        M[:N, N + 2 * j] = np.asarray(B, dtype=np.float64) * amps[j]
        M[N + 2 * j, N + 2 * j + 1] = omegas[j]
        M[N + 2 * j + 1, N + 2 * j] = -omegas[j]
        z0[N + 2 * j], z0[N + 2 * j + 1] = math.sin(phases[j]), math.cos(phases[j])
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    steps = np.diff(t)
    if t.size > 2 and np.allclose(steps, steps[0], rtol=1e-12, atol=0.0):
        E = sla.expm(steps[0] * M)
        states = np.empty((t.size, M.shape[0]))
        states[0] = sla.expm(t[0] * M) @ z0
        for k in range(1, t.size):
            states[k] = E @ states[k - 1]
    else:
        states = np.stack([sla.expm(tk * M) @ z0 for tk in t])
    return states[:, :N] @ np.asarray(C, dtype=np.float64)


# --------------------------------------------------------------------------------------------------------------
# the gating lemma (LSSL Lemma 3.1)


def sigmoid_gate(z):
    r"""Coefficients of the gated recurrence :math:`x_t = (1-\sigma(z))x_{t-1} + \sigma(z)u_t`:
    returns :math:`(1-\sigma(z), \sigma(z))`, computed without cancellation.

    Parameters
    ----------
    z : float or array_like
        Gate pre-activation z (log Δ of the gating lemma).

    Returns
    -------
    tuple
        (1 − σ(z), σ(z)).

    References
    ----------
    LSSL arXiv 2110.13985 Lemma 3.1 (the gated recurrence).
    """
    z = np.asarray(z, dtype=np.float64)
    return expit(-z), expit(z)


def gating_lemma(z):
    r"""Backward Euler (GBT :math:`\alpha=1`) of :math:`\dot x = -x + u` with :math:`\Delta = e^z`:
    :math:`\bar A = (1+e^z)^{-1} = 1-\sigma(z)`, :math:`\bar B = e^z(1+e^z)^{-1} = \sigma(z)`.

    Computed literally as :math:`(I-\Delta A)^{-1}` and :math:`\Delta(I-\Delta A)^{-1}B`, so comparing it with
    :func:`sigmoid_gate` checks the lemma rather than restating it.

    Parameters
    ----------
    z : float or array_like
        Gate pre-activation z (log Δ of the gating lemma).

    Returns
    -------
    tuple
        (Ā, B̄) of backward Euler with Δ = e^z.

    References
    ----------
    LSSL arXiv 2110.13985 Lemma 3.1 (and Lemma C.1 for the nonlinear, semi-implicit form).
    """
    z = np.asarray(z, dtype=np.float64)
    dt = np.exp(z)
    return 1.0 / (1.0 + dt), dt / (1.0 + dt)


# --------------------------------------------------------------------------------------------------------------
# Legendre projections and HiPPO reconstruction (HiPPO Thm 2, Prop. 6)


def legendre_basis(n_max: int, s) -> np.ndarray:
    r"""Orthonormal shifted Legendre functions :math:`\varphi_n(s) = \sqrt{2n+1}P_n(2s-1)` on [0, 1], shape
    (n_max, len(s)).

    Parameters
    ----------
    n_max : int
        Number of functions (degrees 0 .. n_max − 1).
    s : array_like
        Points in [0, 1].

    Returns
    -------
    numpy.ndarray, shape (n_max, len(s))
        φ_n(s).

    References
    ----------
    HiPPO arXiv 2008.07669 §3 (the LegS measure and basis).
    """
    s = np.asarray(s, dtype=np.float64)
    n = np.arange(n_max)
    return np.sqrt(2 * n + 1)[:, None] * eval_legendre(n[:, None], 2 * s[None, :] - 1)


def quadrature(breakpoints: Sequence[float] = (), n_panels: int = 32, n_nodes: int = 128):
    r"""Composite Gauss-Legendre nodes and weights on [0, 1]; ``breakpoints`` (kinks of the integrand) become panel
    edges, so a piecewise-smooth integrand is integrated to full accuracy. With ``n_nodes`` nodes a panel integrates
    polynomials of degree < 2·n_nodes exactly, so the :math:`\varphi_n` (n < n_nodes) are discretely orthonormal.

    Parameters
    ----------
    breakpoints : sequence of float, default ()
        Kinks of the integrand in [0, 1]; they become quadrature panel edges.
    n_panels : int, default 32
        Panels of equal length before the breakpoints are added.
    n_nodes : int, default 128
        Gauss-Legendre nodes per panel.

    Returns
    -------
    tuple of numpy.ndarray
        (nodes, weights) on [0, 1].

    References
    ----------
    Gauss-Legendre quadrature (numpy.polynomial.legendre.leggauss), composite form.
    """
    edges = np.unique(np.concatenate([np.linspace(0, 1, n_panels + 1),
                                      [b for b in breakpoints if 0 < b < 1]]))
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    lo, hi = edges[:-1, None], edges[1:, None]
    nodes = (lo + (hi - lo) * (x[None, :] + 1) / 2).ravel()
    weights = ((hi - lo) / 2 * w[None, :]).ravel()
    return nodes, weights


def legendre_coefficients(f: Callable, N: int, t: float = 1.0, *, breakpoints: Sequence[float] = ()) -> np.ndarray:
    r"""HiPPO-LegS coefficients :math:`c_n(t) = \int_0^1 f(ts)\varphi_n(s)\,ds`, n < N: the exact solution of
    :math:`\dot c = \tfrac1t(Ac + Bf)` with :math:`c(0)=f(0)e_0`. ``breakpoints`` are kinks of :math:`s\mapsto f(ts)`.

    Parameters
    ----------
    f : callable
        Vectorised function on [0, 1] (numpy array in, array out).
    N : int
        State size (number of basis functions), >= 1.
    t : float, default 1.0
        Time t at which the coefficients are taken (the history is [0, t]).
    breakpoints : sequence of float, default ()
        Kinks of the integrand in [0, 1]; they become quadrature panel edges.

    Returns
    -------
    numpy.ndarray, shape (N,)
        c_n(t), n < N.

    References
    ----------
    HiPPO arXiv 2008.07669 Thm 2 (LegS).
    """
    if N < 1:
        raise ValueError(f"N={N} must be >= 1")
    s, w = quadrature(breakpoints, n_nodes=max(128, N + 1))
    return legendre_basis(N, s) @ (w * np.asarray(f(t * s), dtype=np.float64))


def legendre_projection_error(f: Callable, N, *, breakpoints: Sequence[float] = ()):
    r"""L² error :math:`\|f - \Pi_N f\|_{L^2[0,1]}` of the best approximation of f by polynomials of degree < N
    under the uniform measure on [0, 1]. ``N`` an int gives a float, a sequence gives an array.

    Non-increasing in N (nested subspaces) in exact arithmetic; computed from the residual at the quadrature nodes,
    so it is accurate to about :math:`10^{-15}\|f\|` rather than :math:`\sqrt{\epsilon}\|f\|`. For a function with
    k bounded derivatives HiPPO Prop. 6 bounds it by :math:`O(N^{-k+1/2})`; the observed rate for a
    :math:`C^{k-1}` kink (e.g. :math:`|x-\tfrac12|`, k=1) is :math:`N^{-k-1/2}` (observed in tests/test_lssl_theory.py).

    Parameters
    ----------
    f : callable
        Vectorised function on [0, 1] (numpy array in, array out).
    N : int or sequence of int
        Number of basis functions (polynomial degree < N).
    breakpoints : sequence of float, default ()
        Kinks of the integrand in [0, 1]; they become quadrature panel edges.

    Returns
    -------
    float or numpy.ndarray
        The L² projection error for each N.

    References
    ----------
    HiPPO arXiv 2008.07669 Prop. 6.
    """
    Ns = np.atleast_1d(np.asarray(N))
    if Ns.size == 0 or np.any(Ns < 1) or not np.issubdtype(Ns.dtype, np.integer):
        raise ValueError(f"N={N!r} must be an integer (or integers) >= 1")
    n_max = int(Ns.max())
    s, w = quadrature(breakpoints, n_nodes=max(128, n_max + 1))
    fs = np.asarray(f(s), dtype=np.float64)
    Phi = legendre_basis(n_max, s)
    c = Phi @ (w * fs)
    errs = []
    for n in Ns:
        r = fs - c[:n] @ Phi[:n]
        errs.append(math.sqrt(float(np.sum(w * r * r))))
    return errs[0] if np.ndim(N) == 0 else np.array(errs)


def legs_reconstruct(c, x, t: float) -> np.ndarray:
    r"""Time-varying LegS reconstruction :math:`f(x) \approx \sum_{n<N} c_n(t)\sqrt{2n+1}P_n(2x/t-1)`, x in [0, t].

    Parameters
    ----------
    c : array_like, shape (N,)
        LegS coefficients c_n(t).
    x : array_like
        Points in [0, 1] (or the state, where noted).
    t : array_like
        Times (or positions) at which to evaluate.

    Returns
    -------
    numpy.ndarray
        The reconstruction at x, same shape as x.

    References
    ----------
    HiPPO arXiv 2008.07669 §3 (LegS reconstruction).
    """
    c = np.asarray(c, dtype=np.float64)
    return c @ legendre_basis(c.shape[-1], np.asarray(x, dtype=np.float64) / t)


def hippo_reconstruct(x, kind: str, s) -> np.ndarray:
    r"""History :math:`u(t-s)` read from an LTI HiPPO state :math:`x(t)` (window 1 for legt/fout):

    - ``legt``: :math:`\sum_n x_n\sqrt{2n+1}P_n(1-2s)`, s in [0, 1];
    - ``fout``: :math:`x_0 + \sum_k \sqrt2[x_{c_k}\cos 2\pi ks + x_{s_k}\sin 2\pi ks]`, s in [0, 1] (returns the
      endpoint average at s = 0, 1);
    - ``legs`` (LTI, HTTYH's reading): :math:`\sum_n x_n\sqrt{2n+1}P_n(2e^{-s}-1)`, s >= 0, error weighted by
      :math:`e^{-s}`.

    Parameters
    ----------
    x : array_like, shape (..., N)
        HiPPO state(s).
    kind : str
        HiPPO family: ``'legs'``, ``'legt'``, ``'lagt'`` or ``'fout'``.
    s : array_like
        Look-back times s (window units).

    Returns
    -------
    numpy.ndarray
        u(t − s) read from each state, shape (..., len(s)).

    References
    ----------
    HiPPO arXiv 2008.07669 App. D; HTTYH arXiv 2206.12037 §3-4.
    """
    x = np.asarray(x, dtype=np.float64)
    s = np.atleast_1d(np.asarray(s, dtype=np.float64))
    N = x.shape[-1]
    if kind == "legt":
        return x @ legendre_basis(N, 1 - s)
    if kind == "legs":
        return x @ legendre_basis(N, np.exp(-s))
    if kind == "fout":
        if N % 2:
            raise ValueError(f"N={N} must be even for kind='fout'")
        basis = np.zeros((N, s.size))
        basis[0] = 1.0
        for k in range(1, N // 2):
            basis[2 * k] = math.sqrt(2) * np.cos(2 * math.pi * k * s)
            basis[2 * k + 1] = math.sqrt(2) * np.sin(2 * math.pi * k * s)
        return x @ basis
    raise ValueError(f"kind={kind!r} is not valid for reconstruction; use 'legt', 'fout' or 'legs'")


def legt_delay_readout(N: int) -> np.ndarray:
    r"""The untrained LegT delay read-out :math:`C_n = \sqrt{2n+1}(-1)^n`, i.e. the reconstruction at s = 1:
    :math:`y(t) \approx u(t-\theta)` (state-spaces/s4 ``hippo.initial_C('legt')``).

    Parameters
    ----------
    N : int
        State size (number of basis functions), >= 1.

    Returns
    -------
    numpy.ndarray, shape (N,)
        The read-out C.

    References
    ----------
    HiPPO arXiv 2008.07669 App. D (LegT reconstruction at the window's end).
    """
    n = np.arange(N)
    return np.sqrt(2 * n + 1) * (-1.0) ** n


# --------------------------------------------------------------------------------------------------------------
# the continuous-delay task and its closed-form least-squares read-out


def whitesignal(n: int, L: int, dt: float, freq: float, rng: np.random.Generator) -> np.ndarray:
    r"""Band-limited white noise: n sequences of length L on the grid :math:`t_k = k\Delta`, a random Fourier series
    with period :math:`L\Delta` and every frequency :math:`f_j=j/(L\Delta)` with :math:`1\le j\le`
    ``freq``·L·dt (Gaussian coefficients), normalised to unit RMS per sequence. Frequencies are in cycles per
    unit time. Same construction as :func:`sims.lssl.whitesignal` (which draws its coefficients in torch).

    Parameters
    ----------
    n : int
        Number of sequences.
    L : int
        Sequence length (>= 1).
    dt : float
        Step size Δ (> 0).
    freq : float
        Highest frequency in cycles per unit time.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray, shape (n, L)
        Unit-RMS band-limited sequences.

    References
    ----------
    HTTYH arXiv 2206.12037 (the delay task's band-limited white noise).
    """
    n_freq = int(math.floor(freq * L * dt))
    if n_freq < 1:
        raise ValueError(f"freq={freq} admits no frequency for a period L·dt={L * dt}; need freq·L·dt >= 1")
    coeffs = rng.standard_normal((n, n_freq, 2))
    return _signal_from_coeffs(coeffs, L)


def _signal_from_coeffs(coeffs: np.ndarray, L: int) -> np.ndarray:
    k = np.arange(L)
    j = np.arange(1, coeffs.shape[1] + 1)
    phase = 2 * math.pi * np.outer(j, k) / L
    u = coeffs[..., 0] @ np.cos(phase) + coeffs[..., 1] @ np.sin(phase)
    return u / np.sqrt(np.mean(u * u, axis=-1, keepdims=True))


def delay_target(u, lag: int) -> np.ndarray:
    r"""Target :math:`y_t = u_{t-\mathrm{lag}}` with zeros before the input starts.

    Parameters
    ----------
    u : array_like, shape (..., L)
        Input sequences along the last axis.
    lag : int
        Delay in steps (>= 0).

    Returns
    -------
    numpy.ndarray
        y with y_t = u_{t−lag}, same shape as u.

    References
    ----------
    HTTYH arXiv 2206.12037 (the continuous-delay task).
    """
    u = np.asarray(u, dtype=np.float64)
    y = np.zeros_like(u)
    y[..., lag:] = u[..., : u.shape[-1] - lag]
    return y


def lssl_states(A_bar, B_bar, u, *, allow_unstable: bool = False) -> np.ndarray:
    r"""States :math:`x_k = \sum_j \bar A^j\bar B u_{k-j}` of every sequence, shape (n, L, N), via the Krylov matrix
    and FFT convolution (one convolution per state dimension).

    Parameters
    ----------
    A_bar : (N, N) array_like
        Discrete state matrix Ā.
    B_bar : array_like, shape (N,)
        Discrete input vector B̄ (shape (N, 1) is accepted where noted).
    u : array_like, shape (n, L)
        Input sequences.
    allow_unstable : bool, default False
        Skip the growth check on the powers of Ā (see :func:`check_growth`).

    Returns
    -------
    numpy.ndarray, shape (n, L, N)
        The states x_k.

    References
    ----------
    LSSL arXiv 2110.13985 eqs. (6)-(7) (the convolutional view, applied per state dimension).
    """
    u = np.asarray(u, dtype=np.float64)
    K = krylov_matrix(A_bar, B_bar, u.shape[-1], allow_unstable=allow_unstable)
    return np.moveaxis(causal_convolution(K[None, :, :], u[:, None, :]), 1, 2)


RIDGE = 1e-12
"""Relative ridge of the closed-form read-out (times trace(F^T F)/dim): LagT and random features are nearly
collinear, and without it the test error of the minimiser depends on the LAPACK driver (0.62 vs 0.40 for LagT
with SVD vs QR); FouT's dummy state is identically zero."""


def delay_lstsq(A_bar, B_bar, u_train, y_train, u_test, y_test, *, start: int = 0) -> dict:
    r"""Closed-form optimum of the fully linear LSSL on the delay task for fixed :math:`(\bar A,\bar B)`: the layer
    is linear in :math:`(C, D)`, so :math:`\min_{C,D}\sum_{i,k}(Cx^{(i)}_k + Du^{(i)}_k - y^{(i)}_k)^2` is ordinary
    least squares on the features :math:`[x_k, u_k]`, solved by the normal equations with the tiny relative ridge
    :data:`RIDGE`. Returns C, D and the relative MSE
    (:math:`\mathrm{MSE}/\mathrm{Var}(y)`) on the training and the test sequences, both over the positions
    k >= ``start`` (use ``start = lag``: before it the target is padding and the input's jump at k = 0 is inside
    the window).

    Parameters
    ----------
    A_bar : (N, N) array_like
        Discrete state matrix Ā.
    B_bar : array_like, shape (N,)
        Discrete input vector B̄ (shape (N, 1) is accepted where noted).
    u_train : array_like, shape (n, L)
        Training inputs.
    y_train : array_like, shape (n, L)
        Training targets.
    u_test : array_like, shape (m, L)
        Test inputs.
    y_test : array_like, shape (m, L)
        Test targets.
    start : int, default 0
        First position scored (use the lag).

    Returns
    -------
    dict
        ``C``, ``D``, ``train_rel_mse`` and ``test_rel_mse``.

    References
    ----------
    HTTYH arXiv 2206.12037 (delay task); LSSL arXiv 2110.13985 App. B (LSSL-fixed).
    """
    K = krylov_matrix(A_bar, B_bar, np.shape(u_train)[-1])

    def features(u):
        X = np.moveaxis(causal_convolution(K[None, :, :], np.asarray(u, dtype=np.float64)[:, None, :]), 1, 2)
        F = np.concatenate([X, np.asarray(u)[..., None]], axis=-1)[:, start:]
        return F.reshape(-1, X.shape[-1] + 1)

    F = features(u_train)
    G = F.T @ F
    ridge = RIDGE * np.trace(G) / G.shape[0]
    theta = np.linalg.solve(G + ridge * np.eye(G.shape[0]), F.T @ np.asarray(y_train)[:, start:].reshape(-1))

    def rel_mse(u, y):
        y = np.asarray(y)[:, start:]
        r = features(u) @ theta - y.reshape(-1)
        return float(np.mean(r * r) / np.var(y))

    return {"C": theta[:-1], "D": float(theta[-1]), "train_rel_mse": rel_mse(u_train, y_train),
            "test_rel_mse": rel_mse(u_test, y_test)}


def transfer_function(A_bar, B_bar, C, D, omegas) -> np.ndarray:
    r"""Frequency response :math:`H(\omega) = \sum_{k\ge0} C\bar A^k\bar B e^{-i\omega k} + D =
    C(I - e^{-i\omega}\bar A)^{-1}\bar B + D` of the discrete layer at the angular frequencies ``omegas``
    (radians per step). Assumes :math:`\rho(\bar A) < 1` or :math:`e^{i\omega}` off the spectrum.

    Parameters
    ----------
    A_bar : (N, N) array_like
        Discrete state matrix Ā.
    B_bar : array_like, shape (N,)
        Discrete input vector B̄.
    C : array_like, shape (N,)
        Output vector C.
    D : float
        Feed-through D.
    omegas : array_like
        Angular frequencies ω in radians per step.

    Returns
    -------
    numpy.ndarray of complex, shape (len(omegas),)
        H(ω) at each frequency.

    References
    ----------
    LSSL arXiv 2110.13985 eqs. (6)-(7) (the convolution kernel C Ā^k B̄, whose discrete-time Fourier transform
    this is); docs/lssl.md, "Tolerance rules" (realised delay).
    """
    A_bar = _square(A_bar, "A_bar")
    N = A_bar.shape[0]
    I = np.eye(N)
    B_bar = np.asarray(B_bar, dtype=np.float64)
    return np.array([np.asarray(C) @ np.linalg.solve(I - np.exp(-1j * w) * A_bar, B_bar)
                     for w in np.atleast_1d(omegas)]) + D


def delay_band(L: int, lag: int, freq: float) -> np.ndarray:
    r"""Angular frequencies (radians per step) :math:`\omega_j = 2\pi j/L`, :math:`1\le j\le\lfloor
    \mathrm{freq}\cdot L/\mathrm{lag}\rfloor`, of :func:`whitesignal` on the delay task (dt = 1/lag).

    Parameters
    ----------
    L : int
        Sequence length (>= 1).
    lag : int
        Delay of the task in steps (>= 1); the grid step is dt = 1/lag.
    freq : float
        Highest frequency of the input in cycles per unit time; freq·L/lag >= 1.

    Returns
    -------
    numpy.ndarray, shape (floor(freq·L/lag),)
        The band's angular frequencies ω_j in radians per step.

    References
    ----------
    HTTYH arXiv 2206.12037 (the delay task's band-limited white noise); docs/lssl.md, "Tolerance rules" (realised
    delay).
    """
    n_freq = int(math.floor(freq * L / lag))
    if n_freq < 1:
        raise ValueError(f"freq={freq} admits no frequency for L={L}, lag={lag}; need freq·L/lag >= 1")
    return 2 * math.pi * np.arange(1, n_freq + 1) / L


def delay_response(lag: float, omegas) -> np.ndarray:
    r"""Frequency response of the ideal delay :math:`y_k = u_{k-\mathrm{lag}}`: :math:`e^{-i\omega\,\mathrm{lag}}`.

    Parameters
    ----------
    lag : float
        Delay in steps.
    omegas : array_like
        Angular frequencies ω in radians per step.

    Returns
    -------
    numpy.ndarray of complex, shape of omegas
        :math:`e^{-i\omega\,\mathrm{lag}}` at each frequency.

    References
    ----------
    HTTYH arXiv 2206.12037 (the delay task); docs/lssl.md, "Tolerance rules" (realised delay).
    """
    return np.exp(-1j * np.asarray(omegas, dtype=np.float64) * float(lag))


def fitted_delay(H, omegas, lag_guess: float) -> float:
    r"""Delay (in steps) of a response H on the band ``omegas``: the least-squares slope through the origin of the
    phase of :math:`H e^{i\omega\,\mathrm{lag}_0}` against :math:`-\omega`, plus :math:`\mathrm{lag}_0` =
    ``lag_guess``; exact for :math:`H = g\,e^{-i\omega\tau}` with :math:`|\omega(\tau-\mathrm{lag}_0)| < \pi`
    on the band.

    Parameters
    ----------
    H : array_like of complex
        Frequency response at ``omegas`` (e.g. from :func:`transfer_function`), same shape as omegas.
    omegas : array_like
        Angular frequencies ω in radians per step, not all zero (e.g. :func:`delay_band`).
    lag_guess : float
        Reference delay lag₀ in steps, close enough that the residual phase stays within (−π, π).

    Returns
    -------
    float
        The fitted delay in steps.

    References
    ----------
    Derived here (least-squares phase slope, the group delay of a linear-phase response); docs/lssl.md,
    "Tolerance rules" (realised delay).
    """
    omegas = np.asarray(omegas, dtype=np.float64)
    phase = np.angle(np.asarray(H) * np.exp(1j * omegas * lag_guess))
    return float(lag_guess - np.sum(omegas * phase) / np.sum(omegas * omegas))


def delay_resolution(L: int, lag: int, freq: float, rel_mse: float) -> float:
    r"""How far (in steps) the fitted delay of a read-out with in-band relative error :math:`\sqrt{\epsilon}`
    (:math:`\epsilon` = ``rel_mse``) can sit from its true delay: a phase error :math:`|\delta_j| \le
    \sqrt\epsilon` per frequency moves the weighted slope by at most :math:`\sqrt\epsilon\sum|\omega_j|/
    \sum\omega_j^2 \le \sqrt\epsilon/\omega_{\rm rms}`.

    Parameters
    ----------
    L : int
        Sequence length (>= 1).
    lag : int
        Delay of the task in steps (>= 1); the grid step is dt = 1/lag.
    freq : float
        Highest frequency of the input in cycles per unit time; freq·L/lag >= 1.
    rel_mse : float
        In-band relative mean squared error ε of the read-out (finite, > 0).

    Returns
    -------
    float
        The resolution √ε·Σω_j/Σω_j² in steps.

    References
    ----------
    Derived here (bound on the weighted phase slope of :func:`fitted_delay`); docs/lssl.md, "Tolerance rules"
    (realised delay).
    """
    w = delay_band(L, lag, freq)
    return float(math.sqrt(_positive(rel_mse, "rel_mse")) * np.sum(w) / np.sum(w * w))


def random_stable(N: int, rng: np.random.Generator, margin: float = 0.5) -> np.ndarray:
    r"""Random stable A: :math:`M - (\alpha(M)+m)I` with :math:`M_{ij}\sim\mathcal N(0,1/N)` and spectral abscissa
    :math:`\alpha(M)=\max\mathrm{Re}\,\lambda(M)`, so :math:`\max\mathrm{Re}\,\lambda(A) = -m` exactly.

    Parameters
    ----------
    N : int
        State size (number of basis functions), >= 1.
    rng : numpy.random.Generator
        Source of randomness.
    margin : float, default 0.5
        Spectral abscissa −m of the result (m > 0).

    Returns
    -------
    numpy.ndarray, shape (N, N)
        A stable A with max Re λ(A) = −margin.

    References
    ----------
    A random Gaussian matrix shifted by its spectral abscissa (Ginibre ensemble); a construction of this testbed.
    """
    M = rng.standard_normal((N, N)) / math.sqrt(N)
    return M - (np.max(np.linalg.eigvals(M).real) + margin) * np.eye(N)


# --------------------------------------------------------------------------------------------------------------
# deep order-1 stacks = Picard iteration (LSSL Lemma 3.2, Thm 4, Lemma C.2)


def picard_forcing(t, x, phase):
    r"""The nonlinearity of the Picard experiment: :math:`f(t,x) = \sin 3x + \cos(t+\phi)` (Lipschitz constant 3).

    Parameters
    ----------
    t : array_like
        Times (or positions) at which to evaluate.
    x : array_like
        Points in [0, 1] (or the state, where noted).
    phase : float or array_like
        Phase φ of the forcing.

    Returns
    -------
    numpy.ndarray
        f(t, x), broadcast.

    References
    ----------
    LSSL arXiv 2110.13985 Thm 4 (a Lipschitz nonlinearity for the Picard experiment).
    """
    return np.sin(3 * x) + np.cos(t + phase)


PICARD_LIPSCHITZ = 3.0


def picard_ode_solution(x0, phase, t) -> np.ndarray:
    r"""Reference solution of :math:`\dot x = -x + \sin 3x + \cos(t+\phi)`, :math:`x(0)=x_0`, for a vector of
    independent problems (one per entry of x0, phase), at times ``t``; DOP853 with rtol 1e-12.
    Shape (len(x0), len(t)).

    Parameters
    ----------
    x0 : array_like
        Initial values, one per problem.
    phase : array_like
        Phases, one per problem.
    t : array_like
        Times (or positions) at which to evaluate.

    Returns
    -------
    numpy.ndarray, shape (len(x0), len(t))
        x(t) per problem.

    References
    ----------
    Dormand–Prince DOP853 (scipy.integrate.solve_ivp).
    """
    from scipy.integrate import solve_ivp

    x0 = np.atleast_1d(np.asarray(x0, dtype=np.float64))
    phase = np.broadcast_to(np.asarray(phase, dtype=np.float64), x0.shape)
    t = np.asarray(t, dtype=np.float64)
    sol = solve_ivp(lambda tt, x: -x + picard_forcing(tt, x, phase), (float(t[0]), float(t[-1])), x0,
                    method="DOP853", t_eval=t, rtol=1e-12, atol=1e-14)
    return sol.y


def picard_iterates(x0, phase, t, depth: int) -> np.ndarray:
    r"""The exact continuous Picard iterates of :math:`\dot x = -x + f(t, x)`, :math:`x(0)=x_0`:
    :math:`x^{(0)}\equiv x_0` and :math:`\dot x^{(\ell)} = -x^{(\ell)} + f(t, x^{(\ell-1)})`,
    :math:`x^{(\ell)}(0) = x_0`, which is what an order-1 LSSL layer (A = -1, B = C = 1) computes in continuous time
    from the previous layer's output. The stack is one lower-triangular ODE system, solved by DOP853 with rtol
    1e-12 for every problem at once. Shape (len(x0), depth + 1, len(t)).

    Parameters
    ----------
    x0 : array_like
        Initial values x_0, one per problem.
    phase : float or array_like
        Phases φ of the forcing, broadcast to the shape of x0.
    t : array_like
        Increasing times at which to evaluate; t[0] is the initial time (0 in the experiment).
    depth : int
        Deepest iterate ℓ (>= 0; depth 0 is the constant x_0).

    Returns
    -------
    numpy.ndarray, shape (len(x0), depth + 1, len(t))
        :math:`x^{(\ell)}(t)` for ℓ = 0..depth per problem.

    References
    ----------
    LSSL arXiv 2110.13985 Lemma 3.2, Thm 4, Lemma C.2.
    """
    from scipy.integrate import solve_ivp

    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 0:
        raise ValueError(f"depth={depth!r} must be an integer >= 0")
    x0 = np.atleast_1d(np.asarray(x0, dtype=np.float64))
    phase = np.broadcast_to(np.asarray(phase, dtype=np.float64), x0.shape)
    t = np.asarray(t, dtype=np.float64)
    S = x0.size
    out = np.empty((S, depth + 1, t.size))
    out[:, 0] = x0[:, None]
    if depth == 0:
        return out

    def rhs(tt, z):
        x = z.reshape(depth, S)
        prev = np.concatenate([x0[None], x[:-1]], axis=0)
        return (-x + picard_forcing(tt, prev, phase[None])).ravel()

    sol = solve_ivp(rhs, (float(t[0]), float(t[-1])), np.tile(x0, depth), method="DOP853", t_eval=t,
                    rtol=1e-12, atol=1e-14)
    out[:, 1:] = sol.y.reshape(depth, S, t.size).transpose(1, 0, 2)
    return out


def picard_errors(x0, phase, t, depth: int) -> np.ndarray:
    r"""Exact Picard error by depth: :math:`\sup_{t}|x^{(\ell)}(t) - x(t)|` over the times ``t`` for
    :math:`\ell = 0..\mathrm{depth}` (:func:`picard_iterates` against :func:`picard_ode_solution`).
    Shape (len(x0), depth + 1).

    Parameters
    ----------
    x0 : array_like
        Initial values x_0, one per problem.
    phase : float or array_like
        Phases φ of the forcing, broadcast to the shape of x0.
    t : array_like
        Increasing times at which to evaluate; t[0] is the initial time (0 in the experiment).
    depth : int
        Deepest iterate ℓ (>= 0; depth 0 is the constant x_0).

    Returns
    -------
    numpy.ndarray, shape (len(x0), depth + 1)
        :math:`\sup_t|x^{(\ell)}(t) - x(t)|` for ℓ = 0..depth per problem.

    References
    ----------
    LSSL arXiv 2110.13985 Thm 4 / Lemma C.2 (Picard-Lindelöf); docs/lssl.md, "Tolerance rules" (Picard error).
    """
    it = picard_iterates(x0, phase, t, depth)
    ref = picard_ode_solution(x0, phase, t)
    return np.abs(it - ref[:, None, :]).max(-1)


def picard_envelope(depth, M: float, lipschitz: float, T: float) -> np.ndarray:
    r"""Picard error envelope :math:`\sup_{t\le T}|x^{(\ell)}(t) - x(t)| \le M (L_f T)^\ell/\ell!` with
    :math:`M=\sup|x^{(0)}-x|`; the contraction :math:`e^{-(t-s)}\le1` of the order-1 layer ẋ = -x + u only helps.

    Parameters
    ----------
    depth : array_like of int
        Depths ℓ.
    M : float
        Initial error sup|x⁽⁰⁾ − x|.
    lipschitz : float
        Lipschitz constant L_f.
    T : float
        Final time (> 0).

    Returns
    -------
    numpy.ndarray
        M (L_f T)^ℓ / ℓ! per depth.

    References
    ----------
    LSSL arXiv 2110.13985 Thm 4 / Lemma C.2 (Picard-Lindelöf).
    """
    depth = np.asarray(depth, dtype=np.float64)
    from scipy.special import gammaln

    return M * np.exp(depth * math.log(lipschitz * T) - gammaln(depth + 1))


# --------------------------------------------------------------------------------------------------------------
# the random kinked signals of the LegS experiment, vectorised over seeds


def kink_signal(x, amps, omegas, phases, kink_at, kink_weight) -> np.ndarray:
    r"""Per-seed signals :math:`f_s(x) = \sum_j a_{sj}\cos(\omega_{sj}x+\phi_{sj}) + b_s|x-\kappa_s|` (one kink: the
    function has k = 1 bounded derivative). ``x`` has shape (S, n) or (n,); parameters (S, m) and (S,).

    Parameters
    ----------
    x : array_like
        Points in [0, 1] (or the state, where noted).
    amps : array_like
        Amplitudes a_j (per seed: shape (S, m)).
    omegas : array_like
        Angular frequencies ω_j.
    phases : array_like
        Phases φ_j.
    kink_at : array_like, shape (S,)
        Kink positions κ_s in (0, 1).
    kink_weight : array_like, shape (S,)
        Kink weights b_s.

    Returns
    -------
    numpy.ndarray, shape (S, n)
        f_s(x).

    References
    ----------
    HiPPO arXiv 2008.07669 Prop. 6 (a function with k = 1 bounded derivative, for the projection rate).
    """
    x = np.asarray(x, dtype=np.float64)
    x = np.broadcast_to(x, (np.shape(kink_at)[0],) + x.shape[-1:]) if x.ndim == 1 else x
    amps, omegas, phases = (np.asarray(v, dtype=np.float64) for v in (amps, omegas, phases))
    smooth = np.einsum("sj,sjn->sn", amps, np.cos(omegas[:, :, None] * x[:, None, :] + phases[:, :, None]))
    return smooth + np.asarray(kink_weight)[:, None] * np.abs(x - np.asarray(kink_at)[:, None])


def _kink_quadrature(kink_at, n_nodes: int):
    """Per-seed composite Gauss nodes/weights on [0, 1] with a panel edge at each seed's kink, shape (S, n)."""
    s, w = quadrature((), n_panels=16, n_nodes=n_nodes)
    k = np.asarray(kink_at, dtype=np.float64)[:, None]
    nodes = np.concatenate([k * s[None, :], k + (1 - k) * s[None, :]], axis=1)
    weights = np.concatenate([k * w[None, :], (1 - k) * w[None, :]], axis=1)
    return nodes, weights


def kink_signal_coefficients(params: dict, N: int) -> np.ndarray:
    r"""Exact LegS coefficients :math:`c_n(1)=\int_0^1 f_s(x)\varphi_n(x)dx` of :func:`kink_signal`, shape (S, N).

    Parameters
    ----------
    params : dict
        Signal parameters as returned with :func:`kink_signal`'s arguments: amps, omegas, phases, kink_at,
        kink_weight.
    N : int
        State size (number of basis functions), >= 1.

    Returns
    -------
    numpy.ndarray, shape (S, N)
        Exact c_n(1).

    References
    ----------
    HiPPO arXiv 2008.07669 Thm 2 (LegS coefficients at t = 1), by quadrature split at the kink.
    """
    nodes, weights = _kink_quadrature(params["kink_at"], max(128, N + 1))
    f = kink_signal(nodes, **params)
    Phi = np.sqrt(2 * np.arange(N) + 1)[:, None, None] * eval_legendre(np.arange(N)[:, None, None], 2 * nodes[None] - 1)
    return np.einsum("nsq,sq->sn", Phi, weights * f)


def kink_signal_reconstruction_error(params: dict, coeffs, Ns: Sequence[int]) -> np.ndarray:
    r"""L²[0,1] error :math:`\|f_s - \sum_{n<N} c_{sn}\varphi_n\|` of a reconstruction from coefficients
    ``coeffs`` (S, N_max) for each N in ``Ns``; with the exact coefficients it is the projection error.
    Shape (S, len(Ns)).

    Parameters
    ----------
    params : dict
        Signal parameters as returned with :func:`kink_signal`'s arguments: amps, omegas, phases, kink_at,
        kink_weight.
    coeffs : array_like, shape (S, N_max)
        Coefficients to reconstruct from.
    Ns : sequence of int
        Truncations N.

    Returns
    -------
    numpy.ndarray, shape (S, len(Ns))
        L² errors.

    References
    ----------
    HiPPO arXiv 2008.07669 Prop. 6.
    """
    coeffs = np.asarray(coeffs, dtype=np.float64)
    n_max = coeffs.shape[1]
    nodes, weights = _kink_quadrature(params["kink_at"], max(128, n_max + 1))
    f = kink_signal(nodes, **params)
    n = np.arange(n_max)[:, None, None]
    Phi = np.sqrt(2 * n + 1) * eval_legendre(n, 2 * nodes[None] - 1)
    out = np.empty((coeffs.shape[0], len(Ns)))
    for i, N in enumerate(Ns):
        r = f - np.einsum("sn,nsq->sq", coeffs[:, :N], Phi[:N])
        out[:, i] = np.sqrt(np.sum(weights * r * r, axis=1))
    return out
