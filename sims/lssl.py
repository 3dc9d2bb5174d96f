r"""Linear state-space layers (LSSL) in pure torch: recurrent and convolutional views, HiPPO memory, deep Picard stacks.

Every simulator takes a frozen config and a list of seeds and runs all seeds at once: each parameter tensor has a
leading seed dimension S (and a feature dimension H), randomness is drawn per seed with :mod:`sims.runtime`, so a
batch of seeds gives the numbers each seed gives alone. The same torch code runs on CPU and CUDA, in float32 or
float64; there is no compiled extension (state-spaces/s4#9, #17, #75: users asked for exactly this).

Conventions (theory/lssl.py): stable A, :math:`x_k = \bar A x_{k-1} + \bar B u_k`, :math:`y_k = Cx_k + Du_k`,
:math:`x_k\approx x(t_k)` after consuming :math:`u_k`; the kernel :math:`\bar K=(C\bar B, C\bar A\bar B,\dots)` by
repeated squaring, the convolution by FFT with zero padding to 2L.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from sims import runtime
from theory import lssl as theory

KINDS = ("legs", "legt", "fout", "lagt", "random")
MODES = ("conv", "scan")
METHODS = ("forward_euler", "backward_euler", "bilinear", "zoh", "zoh_euler")


def cpu_threads(fn):
    """Run a simulator on one torch thread on the CPU (``runtime.one_cpu_thread``): the ops are small (N <= 256
    matmuls, one FFT per sequence); one delay-task run took 2.1 s CPU with one thread and 14.9 s with two."""
    import functools

    @functools.wraps(fn)
    def wrapper(config, seeds, *, device="cpu", dtype=torch.float64):
        dev = runtime.resolve_device(device)
        with runtime.one_cpu_thread(dev):
            return fn(config, seeds, device=dev, dtype=dtype)

    return wrapper


def _check_choice(name, value, valid):
    if value not in valid:
        raise ValueError(f"{name}={value!r} is not valid; use one of {valid}")


def _check_int(name, value, low, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (high and value > high):
        raise ValueError(f"{name}={value!r} must be an integer in [{low}, {high if high else 'inf'}]")


def _check_dts(dts, T):
    """Step sizes for a convergence-order fit: >= 2 of them, each in (0, T] and dividing T."""
    if not isinstance(dts, tuple) or len(dts) < 2:
        raise ValueError(f"dts={dts!r} must be a tuple of at least 2 step sizes")
    for d in dts:
        _check_pos("dts", d, 0.0, T)
        if abs(T / d - round(T / d)) > 1e-9:
            raise ValueError(f"dts={dts!r}: T/dt must be an integer (T={T}, dt={d})")
        if abs(max(dts) / d - round(max(dts) / d)) > 1e-9:
            raise ValueError(f"dts={dts!r}: max(dts)/dt must be an integer (every grid contains the coarsest)")


def _common_grid(dts, T):
    """Times j·max(dts), j = 1..T/max(dts) (on every grid), and for each dt the step indices k (t_k = k·dt, k >= 1)
    that land on them, as 0-based positions of x_k in a run of T/dt steps."""
    coarse = max(dts)
    n = int(round(T / coarse))
    t = coarse * np.arange(1, n + 1)
    return t, [np.arange(1, n + 1) * int(round(coarse / d)) - 1 for d in dts]


def _check_pos(name, value, low=0.0, high=math.inf, closed=False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and (
        low <= value <= high if closed else low < value <= high)
    if not ok:
        raise ValueError(f"{name}={value!r} must be a number in {'[' if closed else '('}{low}, {high}]")


# ----------------------------------------------------------------------------------------------------------------
# the layer: discretization, Krylov kernel, the two views


def discretize(A, B, dt, method: str):
    r"""Batched, differentiable :math:`(\bar A,\bar B)` (theory.discretize in torch). A (..., N, N), B (..., N),
    dt (...). ZOH through Van Loan's augmented exponential, so A is never inverted."""
    _check_choice("method", method, METHODS)
    N = A.shape[-1]
    I = torch.eye(N, dtype=A.dtype, device=A.device)
    dtA = dt[..., None, None] * A
    if method in ("zoh", "zoh_euler"):
        M = torch.zeros(A.shape[:-2] + (N + 1, N + 1), dtype=A.dtype, device=A.device)
        M[..., :N, :N] = dtA
        M[..., :N, N] = dt[..., None] * B
        E = torch.linalg.matrix_exp(M)
        return E[..., :N, :N], (E[..., :N, N] if method == "zoh" else dt[..., None] * B)
    alpha = {"forward_euler": 0.0, "backward_euler": 1.0, "bilinear": 0.5}[method]
    if alpha == 0.0:
        return I + dtA, dt[..., None] * B
    lhs = I - alpha * dtA
    A_bar = torch.linalg.solve(lhs, I + (1 - alpha) * dtA)
    B_bar = torch.linalg.solve(lhs, (dt[..., None] * B)[..., None])[..., 0]
    return A_bar, B_bar


def krylov(A_bar, B_bar, L: int):
    r"""Krylov matrix :math:`[\bar B, \bar A\bar B, \dots, \bar A^{L-1}\bar B]` (..., N, L) by repeated squaring
    (state-spaces/s4 ``krylov``): :math:`O(N^3\log L + N^2L)` work in :math:`\lceil\log_2 L\rceil` rounds."""
    return _krylov_and_power(A_bar, B_bar, L)[0]


def _krylov_and_power(A_bar, B_bar, L: int):
    r"""The Krylov matrix of :func:`krylov` and the last power it applied, :math:`\bar A^{2^{\lceil\log_2 L\rceil - 1}}`
    (:math:`\bar A^{L/2}` for L a power of two)."""
    X = B_bar[..., None]
    P = A_bar
    while X.shape[-1] < L:
        X = torch.cat([X, P @ X], dim=-1)
        if X.shape[-1] < L:
            P = P @ P
    return X[..., :L], P


def krylov_naive(A_bar, B_bar, L: int):
    """Krylov matrix by one matrix-vector product per power (the O(L N^2) baseline of the benchmark)."""
    cols = [B_bar]
    for _ in range(L - 1):
        cols.append((A_bar @ cols[-1][..., None])[..., 0])
    return torch.stack(cols, dim=-1)


def kernel_krylov(A_bar, B_bar, C, L: int):
    r""":math:`\bar K = C\,K_L(\bar A,\bar B)` through the full Krylov matrix (LSSL's algorithm): O(N L) memory
    per feature. Shape (..., L)."""
    return (C[..., None, :] @ krylov(A_bar, B_bar, L))[..., 0, :]


def kernel(A_bar, B_bar, C, L: int):
    r"""Kernel :math:`\bar K_{jM+i} = (C\bar A^{jM})(\bar A^i\bar B)` in blocks of :math:`M\approx\sqrt L`: the
    right factors are the Krylov matrix :math:`K_M(\bar A,\bar B)` (N x M), the left ones the Krylov matrix of
    :math:`((\bar A^M)^\top, C^\top)` (N x L/M), both by squaring; one (L/M x N)(N x M) product assembles them.

    Same numbers as :func:`kernel_krylov` up to rounding (powers by squaring either way) with
    :math:`O(N^3\log L + N^2\sqrt L + NL)` work instead of :math:`O(N^3\log L + N^2 L)`, and
    :math:`O(N\sqrt L + L)` memory per feature instead of O(NL): the LSSL memory problem (S4 §3.1) without
    changing the algorithm's numerics. Shape (..., L).
    """
    if L <= 64:
        return kernel_krylov(A_bar, B_bar, C, L)
    M = 1 << math.ceil(math.log2(math.sqrt(L)))
    n_blocks = -(-L // M)
    right, A_half = _krylov_and_power(A_bar, B_bar, M)  # (..., N, M) and A^(M/2), squared from A as below
    A_M = A_half @ A_half  # the same squarings as squaring A log2(M) times: bit for bit the same A^M
    left = krylov(A_M.transpose(-1, -2), C, n_blocks)  # (..., N, n_blocks): column j = (C A^{jM})^T
    return (left.transpose(-1, -2) @ right).flatten(-2)[..., :L]


def causal_conv(K, u):
    r"""Causal (non-circular) convolution along the last axis: rfft with n = 2L, product, irfft, first L samples."""
    L = u.shape[-1]
    n = 2 * L
    return torch.fft.irfft(torch.fft.rfft(K, n=n) * torch.fft.rfft(u, n=n), n=n)[..., :L]


def scan(A_bar, B_bar, C, D, u, x0=None):
    r"""Recurrent view :math:`x_k = \bar A x_{k-1} + \bar B u_k`, :math:`y_k = Cx_k + Du_k` with ``u`` (S, b, H, L)
    and per-(seed, feature) A_bar (S, H, N, N), B_bar/C (S, H, N), D (S, H); x0 (S, b, H, N) or None."""
    S, b, H, L = u.shape
    x = torch.zeros(S, b, H, A_bar.shape[-1], dtype=u.dtype, device=u.device) if x0 is None else x0
    At = A_bar[:, None].transpose(-1, -2)
    ys = []
    for k in range(L):
        x = (x[..., None, :] @ At)[..., 0, :] + u[..., k, None] * B_bar[:, None]
        ys.append((x * C[:, None]).sum(-1))
    return torch.stack(ys, dim=-1) + D[:, None, :, None] * u


def convolve(A_bar, B_bar, C, D, u, x0=None):
    r"""Convolutional view :math:`y = \bar K * u + Du + (C\bar A^{k+1}x_{-1})_k`; same shapes as :func:`scan`."""
    L = u.shape[-1]
    y = causal_conv(kernel(A_bar, B_bar, C, L)[:, None], u) + D[:, None, :, None] * u
    if x0 is not None:
        # C A^{k+1} x0 is the kernel of (A_bar, A_bar x0, C): one per seed, sequence and feature
        A_b = A_bar[:, None]
        y = y + kernel(A_b, (A_b @ x0[..., None])[..., 0], C[:, None], L)
    return y


class LSSL(torch.nn.Module):
    r"""One LSSL layer with H features and state size N, batched over S seeds (every tensor leads with S).

    Parameters: ``log_dt`` (S, H) (per-feature step, log-parameterised), ``C`` (S, H, N), ``D`` (S, H); A (S, H, N, N)
    and B (S, H, N) are buffers, or parameters with ``learn_A``. ``forward(u, mode)`` maps (S, b, H, L) to
    (S, b, H, L) through the convolutional view (``conv``: kernel + FFT) or the recurrent view (``scan``).
    Reference: LSSL arXiv 2110.13985 §3 (eqs. 4-7), App. B.
    """

    def __init__(self, A, B, C, D, log_dt, method: str = "bilinear", learn_A: bool = False):
        super().__init__()
        _check_choice("method", method, METHODS)
        self.method = method
        if learn_A:
            self.A, self.B = torch.nn.Parameter(A.clone()), torch.nn.Parameter(B.clone())
        else:
            self.register_buffer("A", A.clone())
            self.register_buffer("B", B.clone())
        self.C = torch.nn.Parameter(C.clone())
        self.D = torch.nn.Parameter(D.clone())
        self.log_dt = torch.nn.Parameter(log_dt.clone())

    def discrete(self):
        return discretize(self.A, self.B, torch.exp(self.log_dt), self.method)

    def forward(self, u, mode: str = "conv", x0=None):
        _check_choice("mode", mode, MODES)
        A_bar, B_bar = self.discrete()
        view = convolve if mode == "conv" else scan
        return view(A_bar, B_bar, self.C, self.D, u, x0)


def state_matrix(kind: str, N: int, gens, *, device, dtype, margin: float = 0.5):
    r"""A (S, N, N) and B (S, N) for ``kind``: a HiPPO matrix (same for every seed) or, for ``random``, a per-seed
    random stable matrix :math:`M-(\alpha(M)+m)I`, :math:`M_{ij}\sim\mathcal N(0,1/N)` (explicit spectral shift)
    with :math:`B\sim\mathcal N(0, I)`."""
    S = len(gens)
    if kind == "random":
        M = runtime.randn(gens, (N, N), device=device, dtype=dtype) / math.sqrt(N)
        abscissa = torch.linalg.eigvals(M).real.amax(-1)
        A = M - (abscissa + margin)[:, None, None] * torch.eye(N, device=device, dtype=dtype)
        return A, runtime.randn(gens, (N,), device=device, dtype=dtype)
    A, B = theory.hippo(kind, N)
    A = torch.as_tensor(A, device=device, dtype=dtype).expand(S, N, N).clone()
    return A, torch.as_tensor(B, device=device, dtype=dtype).expand(S, N).clone()


def _forward_euler_check(kind: str, N: int, dt: float, L: int, field: str = "dt"):
    """Refuse forward Euler on a HiPPO matrix whose discrete powers blow up over L steps (ValueError naming dt)."""
    A, _ = theory.hippo(kind, N)
    lam = np.linalg.eigvals(A)
    rho = float(np.max(np.abs(1 + dt * lam)))
    if rho > 1 and L * math.log(rho) > math.log(theory.GROWTH_LIMIT):
        bound = float(np.min(-2 * lam.real / np.abs(lam) ** 2))
        raise ValueError(
            f"{field}={dt} with method='forward_euler' and kind={kind!r} (N={N}) is unstable: max|1+dt·lambda| = "
            f"{rho:.4g} > 1, growth {rho:.3g}^{L} over L={L}; forward Euler needs {field} < {bound:.4g} here. Use "
            f"method='bilinear' (A-stable) or set allow_unstable=True")


# ----------------------------------------------------------------------------------------------------------------
# band-limited white noise and the continuous-delay task (the main simulator)


def whitesignal(gens, n: int, L: int, dt: float, freq: float, *, device, dtype):
    r"""n band-limited white-noise sequences per seed, shape (S, n, L): a random Fourier series with period L·dt and
    frequencies j/(L·dt), 1 <= j <= freq·L·dt (cycles per unit time), Gaussian coefficients, unit RMS per sequence.
    Same construction as theory.whitesignal."""
    n_freq = int(math.floor(freq * L * dt))
    if n_freq < 1:
        raise ValueError(f"freq={freq} admits no frequency for a period L·dt={L * dt}; need freq·L·dt >= 1")
    coeffs = runtime.randn(gens, (n, n_freq, 2), device=device, dtype=dtype)
    k = torch.arange(L, device=device, dtype=dtype)
    j = torch.arange(1, n_freq + 1, device=device, dtype=dtype)
    phase = 2 * math.pi * j[:, None] * k[None, :] / L
    u = coeffs[..., 0] @ torch.cos(phase) + coeffs[..., 1] @ torch.sin(phase)
    return u / torch.sqrt((u * u).mean(-1, keepdim=True))


def delay_target(u, lag: int):
    y = torch.zeros_like(u)
    y[..., lag:] = u[..., : u.shape[-1] - lag]
    return y


@dataclass(frozen=True)
class Config:
    """The continuous-delay task: a fully linear one-layer LSSL learns y_t = u_{t-lag} (HTTYH; s4 delay.py)."""

    kinds: tuple = KINDS  # state matrices trained side by side, one feature each (A per feature, LSSL `learn` flag)
    N: int = 64  # state size
    L: int = 1024  # sequence length
    lag: int = 256  # delay in steps; the layer's step is initialised at dt = 1/lag (window theta = 1)
    freq: float = 4.0  # band limit of the white-noise input, cycles per lag
    method: str = "bilinear"  # discretization of every layer
    mode: str = "conv"  # 'conv' (kernel + FFT) or 'scan' (recurrence) for training
    n_train: int = 16  # training sequences per seed (full batch)
    n_test: int = 16  # fresh test sequences per seed
    steps: int = 300  # Adam steps
    lr: float = 0.02  # Adam learning rate of C and D
    lr_dt: float = 0.001  # Adam learning rate of log dt (LSSL App. B.3 uses 1e-3); 0 freezes dt
    learn_A: bool = False  # also train A and B (LSSL's learn=1); default LSSL-fixed with A a buffer
    lr_A: float = 1e-4  # Adam learning rate of A and B when learn_A (LSSL App. B.3)
    c_init_scale: float = 0.1  # C ~ N(0, c_init_scale^2 / N) at initialisation, D = 0
    log_every: int = 10  # learning-curve resolution (steps)
    record_outputs: bool = True  # store the first test sequence, its target and each model's output (figures)
    allow_unstable: bool = False  # skip the forward-Euler stability check

    def __post_init__(self):
        runtime.check_fields(self, {"N": (1, 4096), "L": (2, 1 << 20), "lag": (1, 1 << 20), "freq": (1e-9, 1e6),
                                    "n_train": (1, 10**6), "n_test": (1, 10**6), "steps": (0, 10**7),
                                    "lr": (1e-12, 10), "lr_dt": (0, 10), "lr_A": (0, 10), "c_init_scale": (0, 1e3),
                                    "log_every": (1, 10**7)})
        if not isinstance(self.kinds, tuple) or not self.kinds or any(k not in KINDS for k in self.kinds):
            raise ValueError(f"kinds={self.kinds!r} must be a non-empty tuple of {KINDS}")
        _check_int("N", self.N, 1, 4096)
        _check_int("L", self.L, 2, 1 << 20)
        _check_int("lag", self.lag, 1, self.L - 1)
        _check_pos("freq", self.freq, 0.0, 1e6)
        if int(math.floor(self.freq * self.L / self.lag)) < 1:
            raise ValueError(f"freq={self.freq} is too low for L={self.L}, lag={self.lag}: need freq·L/lag >= 1")
        _check_choice("method", self.method, METHODS)
        _check_choice("mode", self.mode, MODES)
        _check_int("n_train", self.n_train, 1)
        _check_int("n_test", self.n_test, 1)
        _check_int("steps", self.steps, 0)
        _check_pos("lr", self.lr, 0.0, 10.0)
        _check_pos("lr_dt", self.lr_dt, 0.0, 10.0, closed=True)
        _check_pos("lr_A", self.lr_A, 0.0, 10.0, closed=True)
        _check_pos("c_init_scale", self.c_init_scale, 0.0, 1e3, closed=True)
        _check_int("log_every", self.log_every, 1)
        if "fout" in self.kinds and self.N % 2:
            raise ValueError(f"N={self.N} must be even when kinds contains 'fout'")
        if self.method == "forward_euler" and not self.allow_unstable:
            for kind in self.kinds:
                if kind != "random":
                    _forward_euler_check(kind, self.N, self.dt, self.L)

    @property
    def dt(self) -> float:
        """Initial step: one lag is one unit of time, matching the LegT/FouT window theta = 1."""
        return 1.0 / self.lag

    @property
    def expect_nonfinite(self) -> bool:
        """Forward Euler past its stability bound (allowed only by allow_unstable) is expected to blow up."""
        return self.allow_unstable and self.method == "forward_euler"

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate per kind: A and its discretisation (N x N, four times); the Krylov matrix and the
        least-squares features of a chunk of 4 sequences with their FFTs (N x L, 32 times); the sequences and their
        FFTs (8 times); and with mode='scan' the states of every training sequence, which autograd keeps."""
        states = self.n_train * self.N * self.L if self.mode == "scan" else 0
        per_kind = 4 * self.N ** 2 + 32 * self.N * self.L + 8 * (self.n_train + self.n_test) * self.L + states
        return n_seeds * itemsize * len(self.kinds) * per_kind

    @property
    def log_steps(self) -> list[int]:
        return list(range(0, self.steps + 1, self.log_every)) if self.steps else [0]


def _delay_data(config: Config, gens, device, dtype):
    u_train = whitesignal(gens, config.n_train, config.L, config.dt, config.freq, device=device, dtype=dtype)
    u_test = whitesignal(gens, config.n_test, config.L, config.dt, config.freq, device=device, dtype=dtype)
    return u_train, delay_target(u_train, config.lag), u_test, delay_target(u_test, config.lag)


def _rel_mse(y_hat, y, start: int):
    """MSE / Var(y) per (seed, feature) over positions k >= start; y_hat (S, b, H, L), y (S, b, L)."""
    r = y_hat[..., start:] - y[:, :, None, start:]
    return (r * r).mean(dim=(1, 3)) / y[..., start:].var(dim=(1, 2), unbiased=False)[:, None]


def delay_lstsq_torch(A_bar, B_bar, u_train, y_train, u_test, y_test, start: int, chunk: int = 4):
    r"""Closed-form (C, D) by least squares on the layer's own features (theory.delay_lstsq, batched over seeds and
    features): the trained model and its oracle share one evaluation path. The normal equations are accumulated in
    float64 over chunks of ``chunk`` sequences (memory O(chunk·H·N·L) instead of O(n·H·N·L)) and solved with the
    relative ridge theory.RIDGE, as in theory.delay_lstsq. Returns the test rel-MSE, shape (S, H), and the read-out
    (C, D), shapes (S, H, N) and (S, H)."""
    L = u_train.shape[-1]
    K = krylov(A_bar, B_bar, L)  # (S, H, N, L)
    S, H, N, _ = K.shape

    def features(u):  # (S, H, b·(L - start), N + 1)
        X = causal_conv(K[:, None], u[:, :, None, None, :])  # (S, b, H, N, L)
        F = torch.cat([X, u[:, :, None, None, :].expand(S, u.shape[1], H, 1, L)], dim=3)[..., start:]
        return F.permute(0, 2, 1, 4, 3).reshape(S, H, -1, N + 1)

    G = torch.zeros(S, H, N + 1, N + 1, dtype=torch.float64, device=K.device)
    r = torch.zeros(S, H, N + 1, 1, dtype=torch.float64, device=K.device)
    for i in range(0, u_train.shape[1], chunk):
        F = features(u_train[:, i:i + chunk]).double()
        y = y_train[:, None, i:i + chunk, start:].expand(S, H, -1, -1).reshape(S, H, -1, 1).double()
        G += F.transpose(-1, -2) @ F
        r += F.transpose(-1, -2) @ y
    ridge = theory.RIDGE * torch.diagonal(G, dim1=-2, dim2=-1).sum(-1) / (N + 1)
    theta = torch.linalg.solve(G + ridge[..., None, None] * torch.eye(N + 1, dtype=G.dtype, device=G.device), r)
    err, var = 0.0, 0.0
    for i in range(0, u_test.shape[1], chunk):
        pred = (features(u_test[:, i:i + chunk]).double() @ theta)[..., 0]
        y = y_test[:, None, i:i + chunk, start:].reshape(S, 1, -1).double()
        err = err + ((pred - y) ** 2).sum(-1)
    y_all = y_test[..., start:].double()
    n = y_all[0].numel()
    rel = (err / n / y_all.var(dim=(1, 2), unbiased=False)[:, None]).to(u_test.dtype)
    return rel, theta[..., :-1, 0].to(u_test.dtype), theta[..., -1, 0].to(u_test.dtype)


def transfer_function(A_bar, B_bar, C, D, omegas):
    r"""Frequency response :math:`H(\omega) = C(I - e^{-i\omega}\bar A)^{-1}\bar B + D` of each (seed, feature)
    at the angular frequencies ``omegas`` (radians per step, a 1-D tensor); shape (S, H, len(omegas)), complex."""
    N = A_bar.shape[-1]
    cdtype = torch.complex128 if A_bar.dtype == torch.float64 else torch.complex64
    z = torch.exp(-1j * omegas.to(cdtype))[:, None, None]
    eye = torch.eye(N, dtype=cdtype, device=A_bar.device)
    M = eye - z * A_bar.to(cdtype)[..., None, :, :]  # (S, H, n, N, N)
    x = torch.linalg.solve(M, B_bar.to(cdtype)[..., None, :, None].expand(M.shape[:-1] + (1,)))[..., 0]
    return (x * C.to(cdtype)[..., None, :]).sum(-1) + D.to(cdtype)[..., None]


def build_delay_model(config: Config, gens, *, device, dtype) -> LSSL:
    """One LSSL with one feature per kind (each with its own A), C ~ N(0, scale^2/N), D = 0, dt = 1/lag."""
    S, H = len(gens), len(config.kinds)
    mats = [state_matrix(k, config.N, gens, device=device, dtype=dtype) for k in config.kinds]
    A = torch.stack([m[0] for m in mats], dim=1)
    B = torch.stack([m[1] for m in mats], dim=1)
    C = config.c_init_scale / math.sqrt(config.N) * runtime.randn(gens, (H, config.N), device=device, dtype=dtype)
    D = torch.zeros(S, H, device=device, dtype=dtype)
    log_dt = torch.full((S, H), math.log(config.dt), device=device, dtype=dtype)
    return LSSL(A, B, C, D, log_dt, config.method, learn_A=config.learn_A)


@cpu_threads
def run(config: Config, seeds, *, device="cpu", dtype=torch.float64):
    r"""Train the delay task with Adam for every kind of A at once, batched over seeds (C, D, log dt; also A and B
    with ``learn_A``, each A initialised to its kind).

    Metrics per seed (``<kind>`` in config.kinds): ``train_rel_mse_<kind>`` by step (learning curve),
    ``test_rel_mse_<kind>`` after training, ``lstsq_rel_mse_<kind>`` (closed-form C, D at the initial dt, the
    oracle), ``dt_<kind>`` (learned step); with ``record_outputs`` also ``y_<kind>``, ``target`` and ``input`` by
    time step for the first test sequence; ``H_re_<fit>_<kind>``, ``H_im_<fit>_<kind>`` by band index j (fit
    ``trained`` or ``lstsq``): the frequency response of the layer at the input's frequencies 2 pi j / L,
    1 <= j <= freq·L/lag (theory.delay_band). Loss and errors are MSE/Var(y) over positions k >= lag.
    """
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    gens = runtime.generators(seeds, device)
    u_tr, y_tr, u_te, y_te = _delay_data(config, gens, device, dtype)
    model = build_delay_model(config, gens, device=device, dtype=dtype)
    start = config.lag
    with torch.no_grad():
        A_bar, B_bar = model.discrete()
        lstsq, C_ls, D_ls = delay_lstsq_torch(A_bar, B_bar, u_tr, y_tr, u_te, y_te, start)
        omegas = torch.as_tensor(theory.delay_band(config.L, config.lag, config.freq), device=device)
        H_ls = transfer_function(A_bar, B_bar, C_ls, D_ls, omegas)
    groups = [{"params": [model.C, model.D], "lr": config.lr}]
    if config.lr_dt > 0:
        groups.append({"params": [model.log_dt], "lr": config.lr_dt})
    else:
        model.log_dt.requires_grad_(False)
    if config.learn_A:
        groups.append({"params": [model.A, model.B], "lr": config.lr_A})
    opt = torch.optim.Adam(groups)
    u_in = u_tr[:, :, None, :].expand(-1, -1, len(config.kinds), -1)
    curve = []
    for step in runtime.progress(range(config.steps + 1), desc="lssl delay"):
        loss_each = _rel_mse(model(u_in, config.mode), y_tr, start)
        if step % config.log_every == 0 or config.steps == 0:
            curve.append(loss_each.detach())
        if step == config.steps:
            break
        opt.zero_grad(set_to_none=True)
        loss_each.sum().backward()
        opt.step()
    with torch.no_grad():
        y_hat = model(u_te[:, :, None, :].expand(-1, -1, len(config.kinds), -1), config.mode)
        test = _rel_mse(y_hat, y_te, start)
        H_tr = transfer_function(*model.discrete(), model.C, model.D, omegas)
    curve = torch.stack(curve, dim=-1)  # (S, H, n_log)
    metrics_steps, metrics = {}, {}
    for h, kind in enumerate(config.kinds):
        metrics_steps[f"train_rel_mse_{kind}"] = curve[:, h]
        metrics[f"test_rel_mse_{kind}"] = test[:, h]
        metrics[f"lstsq_rel_mse_{kind}"] = lstsq[:, h]
        metrics[f"dt_{kind}"] = torch.exp(model.log_dt.detach()[:, h])
    band = {}
    for h, kind in enumerate(config.kinds):
        for fit, H in (("trained", H_tr), ("lstsq", H_ls)):
            band[f"H_re_{fit}_{kind}"], band[f"H_im_{fit}_{kind}"] = H[:, h].real, H[:, h].imag
    frames = [runtime.long_table(seeds, metrics), runtime.long_table(seeds, metrics_steps, config.log_steps),
              runtime.long_table(seeds, band, range(1, omegas.shape[0] + 1))]
    if config.record_outputs:
        outs = {"input": u_te[:, 0], "target": y_te[:, 0]}
        outs.update({f"y_{kind}": y_hat[:, 0, h] for h, kind in enumerate(config.kinds)})
        frames.append(runtime.long_table(seeds, outs, range(config.L)).assign(metric=lambda d: "out_" + d.metric))
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------------------------------------------
# claim 1: recurrence == convolution == Toeplitz


@dataclass(frozen=True)
class EquivalenceConfig:
    """Random stable systems run through both views (and the direct Toeplitz product) for every method."""

    N: int = 16  # state size
    H: int = 3  # features (each with its own random A and dt)
    L: int = 512  # sequence length
    batch: int = 2  # input sequences per seed
    dt_min: float = 1e-3  # dt log-uniform in [dt_min, dt_max] per feature
    dt_max: float = 1.0
    margin: float = 0.5  # spectral abscissa of A is -margin (explicit shift)
    methods: tuple = ("forward_euler", "backward_euler", "bilinear", "zoh")  # discretizations compared
    nonzero_x0: bool = True  # also carry a random initial state x_{-1}
    kernel_length: int = 128  # length of the kernel recorded for the figure (impulse through both views)

    def __post_init__(self):
        runtime.check_fields(self, {"N": (1, 512), "H": (1, 1024), "L": (1, 1 << 16), "batch": (1, 10**6),
                                    "dt_min": (1e-12, 1e3), "dt_max": (1e-12, 1e3), "margin": (1e-12, 1e3),
                                    "kernel_length": (1, 1 << 16)})
        _check_int("N", self.N, 1, 512)
        _check_int("H", self.H, 1, 1024)
        _check_int("L", self.L, 1, 1 << 16)
        _check_int("batch", self.batch, 1)
        _check_pos("dt_min", self.dt_min, 0.0, 1e3)
        _check_pos("dt_max", self.dt_max, self.dt_min, 1e3, closed=True)
        _check_pos("margin", self.margin, 0.0, 1e3)
        if not isinstance(self.methods, tuple) or not self.methods or any(m not in METHODS for m in self.methods):
            raise ValueError(f"methods={self.methods!r} must be a non-empty tuple of {METHODS}")
        _check_int("kernel_length", self.kernel_length, 1, self.L)

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate per feature: A (N x N), the Krylov matrix (N x L), the direct Toeplitz product
        (L x L) and the batch of sequences and states, four times."""
        per = self.N ** 2 + self.N * self.L + self.L ** 2 + self.batch * self.L * (self.N + 2)
        return n_seeds * itemsize * self.H * 4 * per


def _log_uniform(gens, shape, low, high, *, device, dtype):
    r = runtime.rand(gens, shape, device=device, dtype=dtype)
    return torch.exp(math.log(low) + r * (math.log(high) - math.log(low)))


@cpu_threads
def equivalence_run(config: EquivalenceConfig, seeds, *, device="cpu", dtype=torch.float64):
    r"""Max relative gaps ``scan_vs_conv_<method>``, ``toeplitz_vs_conv_<method>`` (relative to max|y|) and
    ``squaring_vs_naive_<method>`` (kernels, relative to max|K|) per seed; the impulse response of feature 0
    through both views by time step (``kernel_conv``, ``kernel_scan``, bilinear). Forward Euler uses
    min(dt, 0.9·min_lambda(-2 Re lambda/|lambda|^2)) so that it is stable (property P1, docs/lssl.md)."""
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    gens = runtime.generators(seeds, device)
    S, H, N, L = len(gens), config.H, config.N, config.L
    M = runtime.randn(gens, (H, N, N), device=device, dtype=dtype) / math.sqrt(N)
    shift = torch.linalg.eigvals(M).real.amax(-1) + config.margin  # spectral abscissa of A is -margin
    A = M - shift[..., None, None] * torch.eye(N, device=device, dtype=dtype)
    B = runtime.randn(gens, (H, N), device=device, dtype=dtype)
    C = runtime.randn(gens, (H, N), device=device, dtype=dtype)
    D = runtime.randn(gens, (H,), device=device, dtype=dtype)
    dt = _log_uniform(gens, (H,), config.dt_min, config.dt_max, device=device, dtype=dtype)
    u = runtime.randn(gens, (config.batch, H, L), device=device, dtype=dtype)
    x0 = runtime.randn(gens, (config.batch, H, N), device=device, dtype=dtype) if config.nonzero_x0 else None
    lam = torch.linalg.eigvals(A)
    fe_bound = (-2 * lam.real / lam.abs() ** 2).amin(-1)
    metrics, curves = {}, {}
    for method in config.methods:
        step = torch.minimum(dt, 0.9 * fe_bound) if method == "forward_euler" else dt
        A_bar, B_bar = discretize(A, B, step, method)
        y_conv = convolve(A_bar, B_bar, C, D, u, x0)
        y_scan = scan(A_bar, B_bar, C, D, u, x0)
        K = kernel(A_bar, B_bar, C, L)
        Kn = (C[..., None, :] @ krylov_naive(A_bar, B_bar, L))[..., 0, :]
        idx = torch.arange(L, device=device)
        T = torch.where(idx[:, None] >= idx[None, :], K[..., (idx[:, None] - idx[None, :]).clamp(min=0)],
                        torch.zeros((), device=device, dtype=dtype))  # (S, H, L, L) lower-triangular Toeplitz
        y_toep = (T[:, None] @ u[..., None])[..., 0] + D[:, None, :, None] * u
        if x0 is not None:
            y_toep = y_toep + (convolve(A_bar, B_bar, C, torch.zeros_like(D), torch.zeros_like(u), x0))
        scale = y_conv.abs().flatten(1).amax(1)
        metrics[f"scan_vs_conv_{method}"] = (y_scan - y_conv).abs().flatten(1).amax(1) / scale
        metrics[f"toeplitz_vs_conv_{method}"] = (y_toep - y_conv).abs().flatten(1).amax(1) / scale
        metrics[f"squaring_vs_naive_{method}"] = (K - Kn).abs().flatten(1).amax(1) / K.abs().flatten(1).amax(1)
        if method == "bilinear":
            Lk = config.kernel_length
            impulse = torch.zeros(S, 1, H, Lk, device=device, dtype=dtype)
            impulse[..., 0] = 1.0
            zero = torch.zeros_like(D)
            curves["kernel_conv"] = convolve(A_bar, B_bar, C, zero, impulse)[:, 0, 0]
            curves["kernel_scan"] = scan(A_bar, B_bar, C, zero, impulse)[:, 0, 0]
    frames = [runtime.long_table(seeds, metrics)]
    if curves:
        frames.append(runtime.long_table(seeds, curves, range(config.kernel_length)))
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------------------------------------------
# claim 2: convergence orders against the exact continuous output


@dataclass(frozen=True)
class OrdersConfig:
    """Smooth multi-tone input through a random stable SSM; error of y(T) against the exact continuous output."""

    N: int = 8  # state size
    T: float = 2.0  # final time
    dts: tuple = (0.04, 0.02, 0.01, 0.005)  # step sizes (T/dt must be an integer)
    methods: tuple = ("forward_euler", "backward_euler", "bilinear", "zoh")  # discretizations
    samplings: tuple = ("endpoint", "midpoint")  # u_k = u(k dt) or u((k - 1/2) dt)
    n_tones: int = 3  # sinusoids in the input, frequencies uniform in [0.5, 3] rad per unit time
    margin: float = 0.5  # spectral abscissa of A is -margin

    def __post_init__(self):
        runtime.check_fields(self, {"N": (1, 256), "T": (1e-9, 1e4), "dts": (1e-9, 1e4), "n_tones": (1, 64),
                                    "margin": (1e-12, 1e3)})
        _check_int("N", self.N, 1, 256)
        _check_pos("T", self.T, 0.0, 1e4)
        _check_dts(self.dts, self.T)
        if not isinstance(self.methods, tuple) or any(m not in METHODS for m in self.methods):
            raise ValueError(f"methods={self.methods!r} must be a tuple of {METHODS}")
        if not isinstance(self.samplings, tuple) or any(s not in ("endpoint", "midpoint") for s in self.samplings):
            raise ValueError(f"samplings={self.samplings!r} must be a tuple of 'endpoint', 'midpoint'")
        _check_int("n_tones", self.n_tones, 1, 64)
        _check_pos("margin", self.margin, 0.0, 1e3)

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate: the input and states of the finest step (T/dt steps of N states), four times."""
        return n_seeds * itemsize * 4 * (round(self.T / min(self.dts)) + 1) * (self.N + self.n_tones + 2)


@cpu_threads
def orders_run(config: OrdersConfig, seeds, *, device="cpu", dtype=torch.float64):
    r"""``err_<method>_<sampling>`` by step index i (dt = config.dts[i]): max_j |y(t_j) - y_exact(t_j)| / max|a|
    over the times t_j = j·max(dts) common to every grid, with the LSSL scan of T/dt steps; the exact continuous
    output comes from the float64 closed form theory.sinusoid_output."""
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    gens = runtime.generators(seeds, device)
    N = config.N
    A, B = state_matrix("random", N, gens, device=device, dtype=dtype, margin=config.margin)
    C = runtime.randn(gens, (N,), device=device, dtype=dtype) / math.sqrt(N)
    amps = runtime.randn(gens, (config.n_tones,), device=device, dtype=dtype)
    omegas = 0.5 + 2.5 * runtime.rand(gens, (config.n_tones,), device=device, dtype=dtype)
    phases = 2 * math.pi * runtime.rand(gens, (config.n_tones,), device=device, dtype=dtype)
    t_common, idx = _common_grid(config.dts, config.T)
    as_np = [v.detach().cpu().numpy().astype(np.float64) for v in (A, B, C, amps, omegas, phases)]
    exact = torch.as_tensor(np.stack([theory.sinusoid_output(*(v[i] for v in as_np), t_common)
                                      for i in range(len(gens))]), device=device, dtype=dtype)
    scale = amps.abs().amax(-1)
    errs = {f"err_{m}_{s}": [] for m in config.methods for s in config.samplings}
    for dt, keep in zip(config.dts, idx):
        K = int(round(config.T / dt))
        keep = torch.as_tensor(keep, device=device)
        for sampling in config.samplings:
            k = torch.arange(1, K + 1, device=device, dtype=dtype) - (0.5 if sampling == "midpoint" else 0.0)
            u = (amps[:, :, None] * torch.sin(omegas[:, :, None] * (k * dt) + phases[:, :, None])).sum(1)
            for method in config.methods:
                A_bar, B_bar = discretize(A, B, torch.full((len(gens),), dt, device=device, dtype=dtype), method)
                x = torch.zeros_like(B)
                ys = []
                for j in range(K):  # the recurrent view
                    x = (A_bar @ x[..., None])[..., 0] + B_bar * u[:, j, None]
                    ys.append((C * x).sum(-1))
                y = torch.stack(ys, dim=-1)[:, keep]
                errs[f"err_{method}_{sampling}"].append((y - exact).abs().amax(-1) / scale)
    metrics = {name: torch.stack(v, dim=-1) for name, v in errs.items()}
    return runtime.long_table(seeds, metrics, range(len(config.dts)))


# ----------------------------------------------------------------------------------------------------------------
# claim 3: the gating lemma


@dataclass(frozen=True)
class GatingConfig:
    """Sigmoid-gated recurrences against the backward-Euler LSSL of x' = -x + u with dt = e^z."""

    H: int = 8  # features, each with its own gate pre-activation z
    L: int = 256  # sequence length
    batch: int = 2  # input sequences per seed
    z_scale: float = 4.0  # z ~ N(0, z_scale^2) per feature
    T: float = 2.0  # horizon of the ODE-convergence check
    dts: tuple = (0.04, 0.02, 0.01, 0.005)  # steps dt = e^z of the ODE-convergence check

    def __post_init__(self):
        runtime.check_fields(self, {"H": (1, 4096), "L": (1, 1 << 16), "batch": (1, 10**6), "z_scale": (0, 20),
                                    "T": (1e-9, 1e4), "dts": (1e-9, 1e4)})
        _check_int("H", self.H, 1, 4096)
        _check_int("L", self.L, 1, 1 << 16)
        _check_int("batch", self.batch, 1)
        _check_pos("z_scale", self.z_scale, 0.0, 20.0, closed=True)
        _check_pos("T", self.T, 0.0, 1e4)
        _check_dts(self.dts, self.T)

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate: inputs, gates and outputs of every sequence (H x L x batch), and the finest
        ODE-convergence run (T/dt steps), four times."""
        return n_seeds * itemsize * 4 * (self.H * self.L * self.batch * 3 + round(self.T / min(self.dts)) + 1)


def gated_recurrence(z, u):
    r"""The gated RNN of LSSL Lemma 3.1: :math:`x_t = (1-\sigma(z))x_{t-1} + \sigma(z)u_t`; z (S, H), u (S, b, H, L)."""
    g = torch.sigmoid(z)[:, None]
    x = torch.zeros_like(u[..., 0])
    xs = []
    for k in range(u.shape[-1]):
        x = (1 - g) * x + g * u[..., k]
        xs.append(x)
    return torch.stack(xs, dim=-1)


@cpu_threads
def gating_run(config: GatingConfig, seeds, *, device="cpu", dtype=torch.float64):
    r"""``gate_vs_scan`` and ``gate_vs_conv``: max|gated RNN - LSSL(A=-1, B=1, C=1, D=0, backward Euler,
    dt=e^z)| / max|x| per seed; ``ode_err`` by step index: max error of the gated RNN with z = log dt over the
    times j·max(dts) common to every grid, against the exact solution of x' = -x + u for a smooth tone u
    (theory.sinusoid_output, float64)."""
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    gens = runtime.generators(seeds, device)
    S, H = len(gens), config.H
    z = config.z_scale * runtime.randn(gens, (H,), device=device, dtype=dtype)
    u = runtime.randn(gens, (config.batch, H, config.L), device=device, dtype=dtype)
    x_gate = gated_recurrence(z, u)
    one = torch.ones(S, H, 1, device=device, dtype=dtype)
    layer = LSSL(-one[..., None], one, one, torch.zeros(S, H, device=device, dtype=dtype), z, "backward_euler")
    with torch.no_grad():
        scale = x_gate.abs().flatten(1).amax(1)
        metrics = {"gate_vs_scan": (layer(u, "scan") - x_gate).abs().flatten(1).amax(1) / scale,
                   "gate_vs_conv": (layer(u, "conv") - x_gate).abs().flatten(1).amax(1) / scale}
    omega = 1.0 + 2.0 * runtime.rand(gens, (1,), device=device, dtype=dtype)
    phase = 2 * math.pi * runtime.rand(gens, (1,), device=device, dtype=dtype)
    t_common, idx = _common_grid(config.dts, config.T)
    w_np, p_np = (v.detach().cpu().numpy().astype(np.float64)[:, 0] for v in (omega, phase))
    exact = torch.as_tensor(np.stack([theory.sinusoid_output([[-1.0]], [1.0], [1.0], [1.0], [w_np[i]], [p_np[i]],
                                                             t_common) for i in range(S)]), device=device, dtype=dtype)
    errs = []
    for dt, keep in zip(config.dts, idx):
        K = int(round(config.T / dt))
        t = dt * torch.arange(1, K + 1, device=device, dtype=dtype)
        u_ode = torch.sin(omega * t + phase)  # endpoint samples: the gate consumes u(t_k) at step k
        z_dt = torch.full((S, 1), math.log(dt), device=device, dtype=dtype)
        x = gated_recurrence(z_dt, u_ode[:, None, None])[:, 0, 0]
        errs.append((x[:, torch.as_tensor(keep, device=device)] - exact).abs().amax(-1))
    metrics_steps = {"ode_err": torch.stack(errs, dim=-1)}
    return pd.concat([runtime.long_table(seeds, metrics),
                      runtime.long_table(seeds, metrics_steps, range(len(config.dts)))], ignore_index=True)


# ----------------------------------------------------------------------------------------------------------------
# claim 4: dt is a time scale


@dataclass(frozen=True)
class ResampleConfig:
    """LegS layer run at step dt and, on the same signal resampled, at 2 dt; plus the exact scale identity."""

    kind: str = "legs"  # HiPPO matrix
    N: int = 32  # state size
    T: float = 4.0  # time span; dt = T / L
    Ls: tuple = (256, 512, 1024, 2048)  # fine sequence lengths (the coarse run has L/2 steps)
    method: str = "bilinear"  # discretization
    n_tones: int = 2  # tones in the input, frequencies uniform in [0.5, 2] cycles per unit time
    scale_L: int = 256  # kernel length of the scale-identity check

    def __post_init__(self):
        runtime.check_fields(self, {"N": (1, 1024), "T": (1e-9, 1e4), "Ls": (4, 1 << 22), "n_tones": (1, 64),
                                    "scale_L": (1, 1 << 16)})
        _check_choice("kind", self.kind, theory.KINDS)
        _check_int("N", self.N, 1, 1024)
        if self.kind == "fout" and self.N % 2:
            raise ValueError(f"N={self.N} must be even for kind='fout'")
        _check_pos("T", self.T, 0.0, 1e4)
        if not isinstance(self.Ls, tuple) or len(self.Ls) < 2 or any(
                isinstance(L, bool) or not isinstance(L, int) or L < 4 or L % 2 for L in self.Ls):
            raise ValueError(f"Ls={self.Ls!r} must be a tuple of >= 2 even integers >= 4")
        _check_choice("method", self.method, METHODS)
        _check_int("n_tones", self.n_tones, 1, 64)
        _check_int("scale_L", self.scale_L, 1, 1 << 16)

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate: A (N x N) and the states of the longest sequence and of the scale check, four
        times."""
        return n_seeds * itemsize * 4 * (self.N ** 2 + (max(self.Ls) + self.scale_L) * (self.N + 2))


@cpu_threads
def resample_run(config: ResampleConfig, seeds, *, device="cpu", dtype=torch.float64):
    r"""``resample_gap`` by step index i (L = config.Ls[i]): max|y_dt[1::2] - y_2dt| / max|y_dt| with midpoint
    samples u((k+1/2)dt) and u((j+1/2)2dt) of one continuous signal; ``scale_identity_gap``: max|K(cA, cB; dt/c) -
    K(A, B; dt)| / max|K| for a random c in [0.1, 10] per seed."""
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    gens = runtime.generators(seeds, device)
    S, N = len(gens), config.N
    A, B = state_matrix(config.kind, N, gens, device=device, dtype=dtype)
    C = runtime.randn(gens, (N,), device=device, dtype=dtype) / math.sqrt(N)
    amps = runtime.randn(gens, (config.n_tones,), device=device, dtype=dtype)
    freqs = 0.5 + 1.5 * runtime.rand(gens, (config.n_tones,), device=device, dtype=dtype)
    phases = 2 * math.pi * runtime.rand(gens, (config.n_tones,), device=device, dtype=dtype)
    c = _log_uniform(gens, (1,), 0.1, 10.0, device=device, dtype=dtype)[:, 0]
    zero = torch.zeros(S, 1, device=device, dtype=dtype)

    def output(L):
        dt = config.T / L
        t = (torch.arange(L, device=device, dtype=dtype) + 0.5) * dt
        u = (amps[:, :, None] * torch.sin(2 * math.pi * freqs[:, :, None] * t + phases[:, :, None])).sum(1)
        A_bar, B_bar = discretize(A, B, torch.full((S,), dt, device=device, dtype=dtype), config.method)
        return convolve(A_bar[:, None], B_bar[:, None], C[:, None], zero, u[:, None, None])[:, 0, 0]

    gaps = []
    for L in config.Ls:
        fine, coarse = output(L), output(L // 2)
        gaps.append((fine[:, 1::2] - coarse).abs().amax(-1) / fine.abs().amax(-1))
    dt0 = torch.full((S,), config.T / config.scale_L, device=device, dtype=dtype)
    K1 = kernel(*discretize(A, B, dt0, config.method), C, config.scale_L)
    K2 = kernel(*discretize(c[:, None, None] * A, c[:, None] * B, dt0 / c, config.method), C, config.scale_L)
    return pd.concat([
        runtime.long_table(seeds, {"resample_gap": torch.stack(gaps, dim=-1)}, range(len(config.Ls))),
        runtime.long_table(seeds, {"scale_identity_gap": (K1 - K2).abs().amax(-1) / K1.abs().amax(-1)}),
    ], ignore_index=True)


# ----------------------------------------------------------------------------------------------------------------
# claim 5: HiPPO-LegS memory


@dataclass(frozen=True)
class LegsConfig:
    """Time-varying HiPPO-LegS recurrence on random kinked signals; plus ||A_bar||_2 of every HiPPO matrix."""

    N: int = 64  # state size (the first n states of an N-state run are the n-state run: A is lower triangular)
    Ls: tuple = (256, 512, 1024, 2048)  # recurrence lengths on [0, 1]
    n_tones: int = 3  # smooth part: cosines with frequencies uniform in [1, 8] rad
    kink_weight: float = 1.0  # weight b of the kink b|x - kappa|, kappa uniform in [0.3, 0.7]
    Ns_projection: tuple = (4, 8, 16, 32, 64)  # reconstruction orders for the projection-error rate
    norm_N: int = 32  # state size of the ||A_bar|| check
    norm_dts: tuple = (1e-4, 1e-2, 1.0, 1e2)  # steps of the ||A_bar|| check

    def __post_init__(self):
        runtime.check_fields(self, {"N": (1, 512), "Ls": (2, 1 << 22), "n_tones": (0, 64), "kink_weight": (0, 1e3),
                                    "Ns_projection": (1, 512), "norm_N": (2, 512), "norm_dts": (1e-12, 1e6)})
        _check_int("N", self.N, 1, 512)
        if not isinstance(self.Ls, tuple) or len(self.Ls) < 2 or any(
                isinstance(L, bool) or not isinstance(L, int) or L < 2 for L in self.Ls):
            raise ValueError(f"Ls={self.Ls!r} must be a tuple of >= 2 integers >= 2")
        _check_int("n_tones", self.n_tones, 0, 64)
        _check_pos("kink_weight", self.kink_weight, 0.0, 1e3, closed=True)
        if not isinstance(self.Ns_projection, tuple) or not self.Ns_projection or any(
                isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= self.N for n in self.Ns_projection):
            raise ValueError(f"Ns_projection={self.Ns_projection!r} must be a tuple of integers in [1, N={self.N}]")
        _check_int("norm_N", self.norm_N, 2, 512)
        if not isinstance(self.norm_dts, tuple) or not self.norm_dts:
            raise ValueError(f"norm_dts={self.norm_dts!r} must be a non-empty tuple of steps > 0")
        for d in self.norm_dts:
            _check_pos("norm_dts", d, 0.0, 1e6)

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate: the matrices (N x N) and the states of the longest recurrence, four times."""
        return n_seeds * itemsize * 4 * (self.N ** 2 + self.norm_N ** 2 + max(self.Ls) * (self.N + 2))


@cpu_threads
def legs_run(config: LegsConfig, seeds, *, device="cpu", dtype=torch.float64):
    r"""``coef_err_<variant>`` by step index i (L = config.Ls[i]): max_n |c_n - c_n^exact| / max_n |c_n^exact| of
    the discrete LegS state against the exact Legendre coefficients (theory.kink_signal_coefficients);
    ``recon_err`` by index j (N = Ns_projection[j]): L² error of the reconstruction from the first N states of the
    finest midpoint run; ``proj_err`` the same from the exact coefficients; ``max_norm_Abar``: the largest
    ||A_bar||_2 over legs/legt/lagt/fout, bilinear/backward Euler/ZOH and config.norm_dts."""
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    gens = runtime.generators(seeds, device)
    N, m = config.N, config.n_tones
    params = {"amps": runtime.randn(gens, (m,), device=device, dtype=dtype),
              "omegas": 1.0 + 7.0 * runtime.rand(gens, (m,), device=device, dtype=dtype),
              "phases": 2 * math.pi * runtime.rand(gens, (m,), device=device, dtype=dtype),
              "kink_at": 0.3 + 0.4 * runtime.rand(gens, (1,), device=device, dtype=dtype)[:, 0],
              "kink_weight": torch.full((len(gens),), config.kink_weight, device=device, dtype=dtype)}
    params_np = {k: v.detach().cpu().numpy().astype(np.float64) for k, v in params.items()}
    exact = theory.kink_signal_coefficients(params_np, N)
    exact_t = torch.as_tensor(exact, device=device, dtype=dtype)
    A_np, B_np = theory.hippo("legs", N)
    A = torch.as_tensor(A_np, device=device, dtype=dtype)
    B = torch.as_tensor(B_np, device=device, dtype=dtype)
    errs = {"coef_err_published": [], "coef_err_midpoint": []}
    c_final = None
    for L in config.Ls:
        for variant in ("published", "midpoint"):
            k = np.arange(1, L + 1) - (0.5 if variant == "midpoint" else 0.0)
            x = np.concatenate([[0.0], k / L])  # f(0) sets the initial state, then one sample per step
            f = torch.as_tensor(theory.kink_signal(x, **params_np), device=device, dtype=dtype)
            c = legs_recurrence(A, B, f, variant)
            errs[f"coef_err_{variant}"].append((c - exact_t).abs().amax(-1) / exact_t.abs().amax(-1))
            if variant == "midpoint":
                c_final = c
    recon = theory.kink_signal_reconstruction_error(params_np, c_final.detach().cpu().numpy().astype(np.float64),
                                                    config.Ns_projection)
    proj = theory.kink_signal_reconstruction_error(params_np, exact, config.Ns_projection)
    norms = []
    for kind in theory.KINDS:
        Ak, Bk = (torch.as_tensor(v, device=device, dtype=dtype) for v in theory.hippo(kind, config.norm_N))
        for method in ("bilinear", "backward_euler", "zoh"):
            for d in config.norm_dts:
                A_bar, _ = discretize(Ak, Bk, torch.tensor(d, device=device, dtype=dtype), method)
                norms.append(torch.linalg.matrix_norm(A_bar, ord=2))
    max_norm = torch.stack(norms).max().expand(len(gens))
    return pd.concat([
        runtime.long_table(seeds, {k: torch.stack(v, dim=-1) for k, v in errs.items()}, range(len(config.Ls))),
        runtime.long_table(seeds, {"recon_err": recon, "proj_err": proj}, range(len(config.Ns_projection))),
        runtime.long_table(seeds, {"max_norm_Abar": max_norm}),
    ], ignore_index=True)


def legs_recurrence(A, B, f, variant: str):
    r"""Discrete HiPPO-LegS :math:`\dot c = \frac1t(Ac+Bf)` on [0, 1] in L steps, bilinear in each cell.

    ``published`` (HiPPO's :math:`A/k` form, s4 ``HiPPOScale``): step k uses :math:`\Delta/t_k = 1/k` with
    :math:`f(k/L)`; ``midpoint``: :math:`1/(k-\tfrac12)` with :math:`f((k-\tfrac12)/L)`. ``f`` (S, L+1): column 0
    is f(0) (initial state :math:`f(0)e_0`), then one sample per step. A is lower triangular, so each step is a
    triangular solve (O(N^2); LSSL Thm 11 makes it O(N))."""
    S, L1 = f.shape
    c0 = torch.zeros(S, A.shape[-1], dtype=A.dtype, device=A.device)
    c0[:, 0] = f[:, 0]
    N = A.shape[-1]
    I = torch.eye(N, dtype=A.dtype, device=A.device)
    c = c0
    for k in range(1, L1):
        h = 1.0 / (k - 0.5) if variant == "midpoint" else 1.0 / k
        rhs = c @ (I + 0.5 * h * A).T + h * f[:, k, None] * B
        c = torch.linalg.solve_triangular(I - 0.5 * h * A, rhs.T, upper=False).T
    return c


# ----------------------------------------------------------------------------------------------------------------
# claim 7: deep order-1 stacks are Picard iterations


@dataclass(frozen=True)
class PicardConfig:
    """Stacks of order-1 LSSL layers (A=-1, B=C=1, bilinear) with the pointwise f(t, x) = sin 3x + cos(t + phi)."""

    depth: int = 30  # number of layers
    T: float = 2.0  # horizon
    dt: float = 1e-3  # finest step (T/dt must be an integer)
    n_halvings: int = 3  # the stack also runs at dt·2^i, i = 1..n_halvings (discretization order of the stack)
    mode: str = "conv"  # view used by every layer

    def __post_init__(self):
        runtime.check_fields(self, {"depth": (1, 1000), "T": (1e-9, 100), "dt": (1e-9, 100), "n_halvings": (1, 20)})
        _check_int("depth", self.depth, 1, 1000)
        _check_pos("T", self.T, 0.0, 100.0)
        _check_int("n_halvings", self.n_halvings, 1, 20)
        _check_pos("dt", self.dt, 0.0, self.T / 2**self.n_halvings)
        _check_dts(self.dts, self.T)
        _check_choice("mode", self.mode, MODES)

    @property
    def dts(self) -> tuple:
        """Steps dt·2^i, i = 0..n_halvings (finest first)."""
        return tuple(self.dt * 2**i for i in range(self.n_halvings + 1))

    @property
    def n_steps(self) -> int:
        return int(round(self.T / self.dt))

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate: every layer's trajectory (depth x T/dt), its kernel and FFT, four times."""
        return n_seeds * itemsize * 4 * (self.depth + 8) * (round(self.T / self.dt) + 1)


@cpu_threads
def picard_run(config: PicardConfig, seeds, *, device="cpu", dtype=torch.float64):
    r"""``sup_err`` by depth l = 0..depth: sup_k |x^{(l)}(t_k) - x(t_k)| at the finest step against the DOP853
    reference (theory.picard_ode_solution); ``iterate_err_<i>`` by depth, at step config.dts[i]: the largest gap
    between the layer-l output and the exact continuous Picard iterate x^{(l)} (theory.picard_iterates) at the
    times common to every step; ``x0`` and ``phase``: the problem of each seed. Layer l solves x' = -x + u^{(l)},
    x(0) = x0, with u^{(l)} = f(t, x^{(l-1)}) as the cell average of its two endpoint values (LSSL App. C.1.3: u_k
    is the cell average), x^{(0)} = x0. x0 ~ U[-1, 1] and phi ~ U[0, 2 pi) per seed."""
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    gens = runtime.generators(seeds, device)
    S = len(gens)
    x0 = 2 * runtime.rand(gens, (1,), device=device, dtype=dtype)[:, 0] - 1
    phase = 2 * math.pi * runtime.rand(gens, (1,), device=device, dtype=dtype)[:, 0]
    x0_np, phase_np = (v.cpu().numpy().astype(np.float64) for v in (x0, phase))
    t_common, _ = _common_grid(config.dts, config.T)
    t_common = np.concatenate([[0.0], t_common])
    exact = torch.as_tensor(theory.picard_iterates(x0_np, phase_np, t_common, config.depth), device=device,
                            dtype=dtype)
    metrics_depth = {}
    for i, dt in enumerate(config.dts):
        K = int(round(config.T / dt))
        stride = int(round(max(config.dts) / dt))
        t = dt * torch.arange(K + 1, device=device, dtype=dtype)
        outs = _picard_stack(x0, phase, t, dt, config)
        metrics_depth[f"iterate_err_{i}"] = torch.stack([(x[:, ::stride] - exact[:, l]).abs().amax(-1)
                                                         for l, x in enumerate(outs)], dim=-1)
        if i == 0:
            ref = torch.as_tensor(theory.picard_ode_solution(x0_np, phase_np, t.cpu().numpy()), device=device,
                                  dtype=dtype)
            metrics_depth["sup_err"] = torch.stack([(x - ref).abs().amax(-1) for x in outs], dim=-1)
    return pd.concat([runtime.long_table(seeds, metrics_depth, range(config.depth + 1)),
                      runtime.long_table(seeds, {"x0": x0, "phase": phase})], ignore_index=True)


def _picard_stack(x0, phase, t, dt: float, config: PicardConfig) -> list:
    """Outputs x^{(0..depth)} of the stack on the grid t (S, K + 1), each (S, K + 1) with x^{(l)}(0) = x0."""
    S, K1 = x0.shape[0], t.shape[0]
    one = torch.ones(S, 1, 1, device=x0.device, dtype=x0.dtype)
    layer = LSSL(-one[..., None], one, one, torch.zeros(S, 1, device=x0.device, dtype=x0.dtype),
                 torch.full((S, 1), math.log(dt), device=x0.device, dtype=x0.dtype), "bilinear")
    x = x0[:, None].expand(S, K1)
    outs = [x]
    with torch.no_grad():
        for _ in range(config.depth):
            f = torch.sin(3 * x) + torch.cos(t + phase[:, None])  # the position-wise nonlinearity
            u = 0.5 * (f[:, 1:] + f[:, :-1])
            y = layer(u[:, None, None], config.mode, x0=x0[:, None, None, None])[:, 0, 0]
            x = torch.cat([x0[:, None], y], dim=-1)
            outs.append(x)
    return outs


# ----------------------------------------------------------------------------------------------------------------
# presets and sweeps

PRESETS = {
    "cpu": Config(),
    "gpu": Config(N=256, L=4000, lag=1000, freq=4.0, n_train=32, n_test=32, steps=1000, log_every=20),
    # the contract battery's size (tests/test_contract.py): a second or two on one CPU core
    "tiny": Config(kinds=("legt", "random"), N=16, L=128, lag=32, n_train=2, n_test=2, steps=6, log_every=2),
}
BATCH_RTOL = 1e-4
"""A batch of seeds equals each seed alone up to this relative difference (tests/test_contract.py): batched BLAS
may reorder sums (1e-16), and Adam's g/sqrt(v) amplifies that over the training steps (measured 1.6e-6 after 6)."""

SWEEPS = {
    # HTTYH-scale delay task (l_seq=4000, lag=1000), LSSL with dt learned and LSSL-fixed (dt frozen)
    "paper": {"fn": run, "configs": [PRESETS["gpu"], dataclasses.replace(PRESETS["gpu"], lr_dt=0.0)], "n_seeds": 8},
}
