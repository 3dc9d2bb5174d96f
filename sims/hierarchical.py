r"""Three-layer networks learning h = g∘p from about d^k samples, against kernel, random-feature and 2-layer baselines.

The network (docs/hierarchical.md; the exact formula of WNL's equation (1) is *rebuilt*, not read from the paper):

.. math:: \varphi(x) = g_{u,s,V}(x) = u^\top\sigma_1(Vx + s),\qquad
          h_\theta(x) = \varphi(x) + c_0 + \sum_{j=1}^{m_2} c_j\,\mathrm{ReLU}(a_j\varphi(x) + b_j),

with a frozen random first layer (:math:`\sigma_1(z) = z^k`, :math:`v_i\sim\mathrm{Unif}(S^{d-1})`,
:math:`s_i\sim N(0,1)`) or, swappably, the idealised first layer of all orthonormal Hermite features of degree
:math:`\le k` (``first_layer="hermite"``: the span the random layer reaches once :math:`m_1\ge N`). Layer-wise
algorithm: stage 1 fits u on D1 by ridge (closed form, or GD with weight decay, which converges to it); stage 2
fits (c_0, c) on a fresh D2 by ridge with :math:`a_j\in\{\pm1\}`, :math:`b_j\sim\mathrm{Unif}[-B,B]`,
:math:`B = \max_{D_2}|\varphi|`. Gram matrices :math:`F^\top F` are accumulated over streamed chunks, so no n×N
feature matrix is ever held; checkpoints along the n grid reuse one pass over D1 (nested samples).

Baselines on the same data (same per-seed data generator): the stage-1 predictor itself is the degree-:math:`\le k`
polynomial ridge (the kernel limit); ReLU random-features ridge; a two-layer ReLU network trained with Adam
(:func:`run_two_layer`); and the paper's joint training of all layers with Adam (:func:`run_joint`).

Reference: Wang, Nichani & Lee, arXiv 2311.13774, Sec. 3 (architecture (1), Algorithm 1), Theorem 1, Sec. 5.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from sims import runtime
from theory import hierarchical as th

_LINKS = ("h1+h3", "h1+h2", "h2", "z3")
_SIGNS = ("balanced", "ones")
_FIRST = ("hermite", "rf")
_SOLVERS = ("ridge", "gd")


def _check_grid(name, grid):
    if len(grid) < 1 or any(not (float(v) > 0 and math.isfinite(float(v))) for v in grid) or list(grid) != sorted(grid):
        raise ValueError(f"{name}={grid!r} must be a non-empty increasing tuple of positive finite numbers")


def _check_target_fields(cfg):
    if cfg.k < 1 or cfg.k > 4:
        raise ValueError(f"k={cfg.k} must be in 1..4")
    if cfg.d < 2:
        raise ValueError(f"d={cfg.d} must be >= 2")
    if cfg.link not in _LINKS:
        raise ValueError(f"link={cfg.link!r} must be one of {_LINKS}")
    if cfg.signs not in _SIGNS:
        raise ValueError(f"signs={cfg.signs!r} must be one of {_SIGNS}")
    if cfg.signs == "balanced" and cfg.d % 2:
        raise ValueError(f"d={cfg.d} must be even with signs='balanced'")
    if cfg.n_test < 100:
        raise ValueError(f"n_test={cfg.n_test} must be >= 100")


@dataclass(frozen=True)
class Config:
    """The layer-wise three-layer network on one (d, k, g) target, along a grid of stage-1 sample sizes."""

    d: int = 16                              # input dimension
    k: int = 2                               # degree of p and of the first-layer activation z^k
    link: str = "h1+h3"                      # g by name (theory.hierarchical.link_coefficients)
    normalise: bool = False                  # rescale g so that E h^2 = 1 (WNL's C_d z^3 convention)
    signs: str = "balanced"                  # lambda: 'balanced' (alternating ±1, even d) or 'ones'
    n_over_N: tuple = (2.0, 4.0, 8.0, 16.0, 32.0)  # stage-1 sample sizes |D1| as multiples of N = C(d+k, k)
    first_layer: str = "hermite"             # 'hermite' (orthonormal degree<=k features) or 'rf' (z^k random features)
    m1_over_N: float = 2.0                   # random-feature width m1 / N (first_layer='rf' only)
    ridge: float = 1e-3                      # stage-1 weight decay xi_1 relative to tr(F^T F/n)/m1
    solver: str = "ridge"                    # stage 1: 'ridge' (closed form) or 'gd' (GD with weight decay)
    gd_steps: int = 2000                     # GD iterations when solver='gd' (step 1/(lambda_max + xi_1))
    n2: int = 4000                           # fresh stage-2 samples |D2|
    m2: int = 200                            # ReLU units on the feature
    ridge2: float = 1e-4                     # stage-2 weight decay relative to tr/m2
    relu_rf_over_N: float = 0.0              # ReLU random-features baseline width / N (0 = off)
    n_test: int = 20000                      # test points for correlations and errors
    chunk: int = 4096                        # rows per streamed chunk of D1 (fixes the draw order)

    def __post_init__(self):
        runtime.check_fields(self, {"d": (2, 1000), "k": (1, 4), "n_over_N": (1e-6, 1e6), "n_test": (100, 10**8), "chunk": (16, 10**7), "m1_over_N": (1, 100),
                                    "ridge": (1e-12, 1e6), "gd_steps": (1, 10**7), "n2": (10, 10**8),
                                    "m2": (1, 10**6), "ridge2": (1e-12, 1e6), "relu_rf_over_N": (0, 100)})
        _check_target_fields(self)
        _check_grid("n_over_N", self.n_over_N)
        if self.first_layer not in _FIRST:
            raise ValueError(f"first_layer={self.first_layer!r} must be one of {_FIRST}")
        if self.solver not in _SOLVERS:
            raise ValueError(f"solver={self.solver!r} must be one of {_SOLVERS}")
        if not self.m1_over_N >= 1.0:
            raise ValueError(f"m1_over_N={self.m1_over_N} must be >= 1 (the random layer must span degree <= k)")
        if not (self.ridge > 0 and self.ridge2 > 0):
            raise ValueError(f"ridge={self.ridge}, ridge2={self.ridge2} must be > 0")
        if self.gd_steps < 1 or self.n2 < 10 or self.m2 < 1 or self.chunk < 16 or not self.relu_rf_over_N >= 0:
            raise ValueError(f"gd_steps={self.gd_steps} >= 1, n2={self.n2} >= 10, m2={self.m2} >= 1, "
                             f"chunk={self.chunk} >= 16, relu_rf_over_N={self.relu_rf_over_N} >= 0 required")

    @property
    def N(self) -> int:
        """Number of degree-<=k features C(d+k, k)."""
        return th.feature_count(self.d, self.k)

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate: the stage-1 Gram matrix and its factorisation (3 x m1^2), a chunk of features, the
        test inputs and features, the stage-2 ReLU design of every grid point (G x n2 x m2, twice) and the ReLU
        random-features baseline's Gram."""
        G, m_rf = len(self.n_over_N), int(math.ceil(self.relu_rf_over_N * self.N))
        per = (3 * self.m1 ** 2 + 2 * self.chunk * (self.m1 + self.d) + self.n_test * (self.d + 2 * G)
               + 2 * G * (self.n2 + 4096) * (self.m2 + 1) + self.n2 * self.d + 3 * m_rf ** 2 + self.chunk * m_rf)
        return n_seeds * itemsize * per

    @property
    def n_grid(self) -> tuple[int, ...]:
        """Stage-1 sample sizes."""
        return tuple(int(round(r * self.N)) for r in self.n_over_N)

    @property
    def m1(self) -> int:
        """First-layer width: N for Hermite features, ceil(m1_over_N·N) for random features."""
        return self.N if self.first_layer == "hermite" else int(math.ceil(self.m1_over_N * self.N))

    @property
    def target(self) -> th.SeparableTarget:
        g = th.link_coefficients(self.link)
        if self.normalise:
            g = th.normalise_link(g, self.signs, self.k, self.d)
        return th.SeparableTarget(self.k, g, self.signs, self.d)


# ---------------------------------------------------------------------------------------------------------------
# Data: one per-seed generator for the data, another for model parameters, so baselines see the same data.
# ---------------------------------------------------------------------------------------------------------------


def _sub_seeds(seeds, tag: int) -> list[int]:
    return [int(np.random.SeedSequence([int(s), tag]).generate_state(1, dtype=np.uint32)[0]) for s in seeds]


class _Problem:
    """Per-seed data: a Haar rotation Q, the test set, D2 and D1 drawn in fixed chunks (nested prefixes)."""

    def __init__(self, cfg, seeds, device, dtype):
        self.cfg, self.device, self.dtype = cfg, device, dtype
        self.gens = runtime.generators(seeds, device)
        t = cfg.target
        self.lam = torch.tensor(t.lam, device=device, dtype=dtype)
        self.g = torch.tensor(t.g, device=device, dtype=dtype)
        A = runtime.randn(self.gens, (cfg.d, cfg.d), device=device, dtype=dtype)
        Qm, R = torch.linalg.qr(A)
        self.Q = Qm * torch.sign(torch.diagonal(R, dim1=-2, dim2=-1)).unsqueeze(-2)  # Haar
        self.x_test = runtime.randn(self.gens, (cfg.n_test, cfg.d), device=device, dtype=dtype)
        self.x2 = runtime.randn(self.gens, (cfg.n2, cfg.d), device=device, dtype=dtype) if hasattr(cfg, "n2") else None
        self.gens_d1 = runtime.generators(_sub_seeds(seeds, 0), device)  # D1 has its own stream: same D1 everywhere

    def chunks(self, n_max):
        """D1 in chunks of cfg.chunk rows (the last one cut), always drawn whole so prefixes are nested."""
        done = 0
        while done < n_max:
            x = runtime.randn(self.gens_d1, (self.cfg.chunk, self.cfg.d), device=self.device, dtype=self.dtype)
            take = min(self.cfg.chunk, n_max - done)
            yield x[:, :take]
            done += take

    def p(self, x):
        z = x @ self.Q
        return _hermite(z, self.cfg.k)[..., self.cfg.k] @ self.lam / math.sqrt(self.cfg.d)

    def h(self, x):
        p = self.p(x)
        out = torch.zeros_like(p)
        for c in reversed(self.g):
            out = out * p + c
        return out


def _hermite(z, k):
    """Normalised h_0..h_k at z, stacked on a new last axis."""
    out = [torch.ones_like(z), z]
    for m in range(1, k):
        out.append((z * out[m] - math.sqrt(m) * out[m - 1]) / math.sqrt(m + 1))
    return torch.stack(out[: k + 1], dim=-1)


def _hermite_index(d, k, device):
    """Gather indices (N, k) into the flattened (d, k+1) table of h_m(x_i): h_alpha = prod_slots table[idx]."""
    idx = []
    for alpha in th.multi_indices(d, k):
        counts = {}
        for i in alpha:
            counts[i] = counts.get(i, 0) + 1
        slots = [i * (k + 1) + m for i, m in sorted(counts.items())]
        idx.append(slots + [0] * (k - len(slots)))  # slot 0 = h_0(x_0) = 1 pads
    return torch.tensor(idx, device=device, dtype=torch.long)


def _hermite_runs(index):
    """The features in runs over which the gather slots move in one factor only, by a constant positive step:
    (start, stop, slots of the run's first feature, the moving factor or None, its step). In the enumeration of
    :func:`theory.hierarchical.multi_indices` at k = 2 every h_1(x_i) h_1(x_j), j > i, is one run (97 runs for
    N = 1225 at d = 48), so a run is one strided multiply instead of a gather per feature."""
    idx = index.tolist()
    runs, i = [], 0
    while i < len(idx):
        j, moving, step = i + 1, None, None
        if j < len(idx):
            diff = [q - p for p, q in zip(idx[i], idx[j])]
            nonzero = [p for p, v in enumerate(diff) if v != 0]
            if len(nonzero) == 1 and diff[nonzero[0]] > 0:
                moving, step = nonzero[0], diff[nonzero[0]]
                while j < len(idx) and [q - p for p, q in zip(idx[j - 1], idx[j])] == diff:
                    j += 1
        runs.append((i, j, idx[i], moving, step))
        i = j
    return runs


def hermite_features(x, k, index=None, runs=None):
    r"""All orthonormal multivariate Hermite features :math:`h_\alpha(x)`, :math:`|\alpha|\le k`: (..., N).

    Feature alpha is the product of the table entries its slots name, taken left to right. Built run by run
    (:func:`_hermite_runs`; ``runs`` precomputed by a caller that reuses ``index``): the same products in the same
    order as a gather per slot, bit for bit (tested), 2.8x faster at d = 48, k = 2 (a gather along the last axis
    costs far more than the multiply)."""
    index = _hermite_index(x.shape[-1], k, x.device) if index is None else index
    runs = _hermite_runs(index) if runs is None else runs
    table = _hermite(x, k).flatten(-2)
    out = table.new_empty(*table.shape[:-1], index.shape[0])
    for start, stop, slots, moving, step in runs:
        last = (stop - start - 1) * (step or 0) + 1
        factors = [table[..., s:s + last:step] if f == moving else table[..., s:s + 1] for f, s in enumerate(slots)]
        if len(factors) == 1:
            out[..., start:stop] = factors[0]
            continue
        product = factors[0]
        for factor in factors[1:-1]:
            product = product * factor
        torch.mul(product, factors[-1], out=out[..., start:stop])
    return out


def _first_layer(cfg, seeds, device, dtype):
    """Feature map x -> sigma_1(Vx + s) (or Hermite features), batched over seeds."""
    if cfg.first_layer == "hermite":
        index = _hermite_index(cfg.d, cfg.k, device)
        runs = _hermite_runs(index)
        return lambda x: hermite_features(x, cfg.k, index, runs)
    gens = runtime.generators(_sub_seeds(seeds, 1), device)
    V = runtime.randn(gens, (cfg.m1, cfg.d), device=device, dtype=dtype)
    V = V / V.norm(dim=-1, keepdim=True)
    s = runtime.randn(gens, (cfg.m1,), device=device, dtype=dtype)
    scale = 1.0 / math.sqrt(th.gaussian_moment(2 * cfg.k) * 2**cfg.k)  # Var(v.x + s) = 2
    # in place on the one (seeds, rows, m1) block: the same operations as ((xV^T + s)^k)·scale, bit for bit (tested)
    return lambda x: (x @ V.transpose(-1, -2)).add_(s.unsqueeze(-2)).pow_(cfg.k).mul_(scale)


def _relu_rf(cfg, seeds, device, dtype, m):
    gens = runtime.generators(_sub_seeds(seeds, 2), device)
    W = runtime.randn(gens, (m, cfg.d), device=device, dtype=dtype) / math.sqrt(cfg.d)
    b = runtime.randn(gens, (m,), device=device, dtype=dtype)
    return lambda x: (x @ W.transpose(-1, -2)).add_(b.unsqueeze(-2)).relu_()  # in place, as in _first_layer


GRAM_DTYPE = torch.float32
"""Precision of the per-block products F^T F of float64 runs; the features, F^T y, every sum across blocks, the ridge
and the solve stay float64. A block's product carries a relative error of ~sqrt(rows)·2^-24 of sum|F_i F_j|;
tests/test_hierarchical_speed.py shows the resulting change of every metric is under 1 % of its seed standard
deviation (the claims' tolerances are multiples of the standard error over seeds)."""
FEATURE_ROWS = 1024
"""Rows per feature block: a (seeds, rows, m1) block at d = 48 and 16 seeds is 167 MB in float64 (the data chunk of
4096 rows would be 670 MB). Blocks split D1's chunks without changing the data drawn."""


def _add_gram_upper(G, F, block=512):
    r"""G += the block upper triangle (row blocks i <= column blocks j) of :math:`F^\top F` (G is (S, m, m); its part
    below the diagonal blocks is never touched). Blocks skip the mirrored half: about (1/2 + block/2m) of the full
    product's work."""
    Ft = F.transpose(-1, -2)
    for i in range(0, F.shape[-1], block):
        G[:, i:i + block, i:] += Ft[:, i:i + block] @ F[..., i:]


def _symmetric(G_upper):
    """The symmetric matrix whose upper triangle is that of ``G_upper``."""
    return G_upper.triu() + G_upper.triu(1).transpose(-1, -2)


def streamed_ridge(features, problem, n_grid, ridge, *, solver="ridge", gd_steps=2000):
    r"""Ridge weights :math:`u_n = (F^\top F/n + \xi I)^{-1}F^\top y/n` at every n of ``n_grid`` from one pass over
    D1, with :math:`\xi = \mathrm{ridge}\cdot\mathrm{tr}(F^\top F/n)/m`; F^T F (its upper triangle, each block's
    product in GRAM_DTYPE for float64 runs) and F^T y summed block by block in the run's dtype.
    ``solver='gd'`` runs gradient descent with weight decay on the same objective instead (WNL's stage 1).

    Returns U of shape (S, m, len(n_grid)).
    """
    G = b = None
    done, out = 0, []
    targets = list(n_grid)
    for x in problem.chunks(max(targets)):
        y = problem.h(x)
        start = 0
        while start < x.shape[1]:
            stop = x.shape[1] if not targets else min(x.shape[1], start + targets[0] - done)
            for lo in range(start, stop, FEATURE_ROWS):
                hi = min(stop, lo + FEATURE_ROWS)
                F = features(x[:, lo:hi])
                if G is None:
                    G = x.new_zeros(x.shape[0], F.shape[-1], F.shape[-1])
                    b = x.new_zeros(x.shape[0], F.shape[-1], 1)
                _add_gram_upper(G, F.to(GRAM_DTYPE) if F.dtype == torch.float64 else F)
                b += F.transpose(-1, -2) @ y[:, lo:hi, None]
            done += stop - start
            start = stop
            if targets and done == targets[0]:
                out.append(_solve(_symmetric(G) / done, b / done, ridge, solver, gd_steps))
                targets.pop(0)
    return torch.cat(out, dim=-1)


def _solve(G, b, ridge, solver, gd_steps):
    if G.dtype == torch.float32 and G.device.type != "mps":
        # float32 runs (GPU preset) solve in float64: the ridge is ~1e-3 of the mean eigenvalue, and the top
        # (low-degree) eigenvalues are ~m1/d larger, which is near float32 round-off in a Cholesky factor.
        return _solve(G.double(), b.double(), ridge, solver, gd_steps).to(G.dtype)
    m = G.shape[-1]
    xi = ridge * torch.diagonal(G, dim1=-2, dim2=-1).sum(-1) / m  # (S,)
    eye = torch.eye(m, device=G.device, dtype=G.dtype)
    A = G + xi[:, None, None] * eye
    if solver == "ridge":
        return _cholesky_solve(A, b)
    # GD with weight decay: u <- u - eta (G u - b + xi u); eta = 1/lambda_max(A) converges to the ridge solution.
    eta = 1.0 / torch.linalg.eigvalsh(A)[:, -1]
    u = torch.zeros_like(b)
    for _ in range(gd_steps):
        u = u - eta[:, None, None] * (A @ u - b)
    return u


def _cholesky_solve(A, b, retry_on_cpu=True):
    """A^{-1} b for a batch of SPD matrices by a Cholesky factor and two triangular solves.

    Not torch.cholesky_solve: on an H100 (torch 2.11, CUDA 13) it raised "CUDA error: invalid argument" at the GPU
    preset's size (m ~ 1.8e4, float64), which matches pytorch/pytorch#38603 (batched CUDA cholesky_solve fails for
    matrices larger than 12160, a kernel-launch limit). The triangular solves use cuBLAS trsm, which has no such
    limit as far as we know, but no GPU was available to confirm it (scripts/check_cholesky_cuda.py is the check).
    So, as a safety net, a RuntimeError that is not a LinAlgError (a matrix that is not positive definite is a real
    error) re-runs the solve once on the CPU with a warning: slower, but never a lost GPU run.
    """
    try:
        L = torch.linalg.cholesky(A)
        z = torch.linalg.solve_triangular(L, b, upper=False)
        return torch.linalg.solve_triangular(L.transpose(-1, -2), z, upper=True)
    except RuntimeError as err:
        if not retry_on_cpu or isinstance(err, torch.linalg.LinAlgError):
            raise
        warnings.warn(f"stage-1 ridge solve on {A.device} (m={A.shape[-1]}) failed with "
                      f"{str(err).splitlines()[0]!r}; solving it on the CPU instead", RuntimeWarning, stacklevel=2)
        return _cholesky_solve(A.cpu(), b.cpu(), retry_on_cpu=False).to(A.device)


def _apply(features, x, U):
    """F(x) @ U in blocks of FEATURE_ROWS rows: (S, n, G)."""
    return torch.cat([features(x[:, i:i + FEATURE_ROWS]) @ U for i in range(0, x.shape[1], FEATURE_ROWS)], dim=1)


def _corr(a, b):
    """Pearson correlation along dim 1 of (S, n, G) against (S, n) (broadcast)."""
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / torch.sqrt((a * a).sum(1) * (b * b).sum(1))


def _norm_err(pred, y):
    """Test MSE over the empirical test variance of y: (S, G)."""
    var = y.var(dim=1, unbiased=False).unsqueeze(-1)
    return ((pred - y.unsqueeze(-1)) ** 2).mean(1) / var


def _stage2(cfg, seeds, phi2, y2, phi_test, device, dtype):
    """Fit (c_0, c) on fresh D2 by ridge on [1, ReLU(a phi + b)] against y - phi; return h_theta on the test set."""
    gens = runtime.generators(_sub_seeds(seeds, 3), device)
    a = torch.where(runtime.rand(gens, (cfg.m2,), device=device, dtype=dtype) < 0.5, -1.0, 1.0).to(dtype)
    b_unit = 2 * runtime.rand(gens, (cfg.m2,), device=device, dtype=dtype) - 1  # Unif[-1, 1]
    B = phi2.abs().amax(dim=1)  # (S, G): covers the range of the learned feature
    bias = b_unit[:, None, :] * B[:, :, None]  # (S, G, m2)
    n2, m = phi2.shape[1], cfg.m2 + 1
    A = torch.empty(phi2.shape[0], phi2.shape[2], m, m, device=device, dtype=dtype)
    rhs = torch.empty(phi2.shape[0], phi2.shape[2], m, 1, device=device, dtype=dtype)
    for j in range(phi2.shape[2]):  # one grid point at a time: the (S, n2, m2 + 1) design, not (S, G, n2, m2 + 1)
        D = torch.ones(phi2.shape[0], n2, m, device=device, dtype=dtype)
        torch.clamp_min(a[:, None, :] * phi2[:, :, j, None] + bias[:, j, None, :], 0.0, out=D[..., 1:])
        A[:, j] = D.transpose(-1, -2) @ D / n2
        rhs[:, j] = D.transpose(-1, -2) @ (y2 - phi2[:, :, j]).unsqueeze(-1) / n2
    xi = cfg.ridge2 * torch.diagonal(A, dim1=-2, dim2=-1).sum(-1) / m
    A = A + xi[..., None, None] * torch.eye(m, device=device, dtype=dtype)
    c = torch.linalg.solve(A, rhs).squeeze(-1)  # (S, G, m2 + 1)
    return phi_test + piecewise_linear(c[..., 0], c[..., 1:], a, bias, phi_test)


def piecewise_linear(c0, c, a, bias, phi):
    r""":math:`c_0 + \sum_j c_j\,\mathrm{ReLU}(a_j\varphi + b_j)` with :math:`a_j = \pm1`, evaluated as the
    piecewise-linear function it is: sort the breakpoints :math:`t_j = -a_j b_j`, find each :math:`\varphi`'s interval
    by binary search and apply that interval's slope and intercept (prefix sums of the units active there).
    c0 (S, G), c and bias (S, G, m2), a (S, m2), phi (S, n, G) -> (S, n, G); O(n log m2) instead of an n x m2 design.
    """
    t, order = torch.sort(-a[:, None, :] * bias, dim=-1)
    a_s = a[:, None, :].expand_as(bias).gather(-1, order)
    slope_terms, icpt_terms = (c * a[:, None, :]).gather(-1, order), (c * bias).gather(-1, order)
    up = a_s > 0  # unit active right of its breakpoint (a = +1), else left of it

    def active_sums(terms):  # sum over units active in interval k = 0..m2: up units with rank < k, others rank >= k
        zero = torch.zeros_like(terms[..., :1])
        left = torch.cat([zero, torch.where(up, terms, 0.0).cumsum(-1)], dim=-1)
        right = torch.cat([torch.where(up, 0.0, terms).flip(-1).cumsum(-1).flip(-1), zero], dim=-1)
        return left + right

    slope, icpt = active_sums(slope_terms), active_sums(icpt_terms)
    x = phi.transpose(1, 2).contiguous()  # (S, G, n)
    k = torch.searchsorted(t.contiguous(), x)
    out = c0[..., None] + icpt.gather(-1, k) + slope.gather(-1, k) * x
    return out.transpose(1, 2)


def run(config: Config, seeds, *, device="auto", dtype="auto"):
    """Layer-wise three-layer network along the n grid, with the degree-<=k ridge and ReLU-RF baselines.

    Metrics (step = n = |D1|): ``corr_phi_p`` = corr(phi, p) on test points; ``corr_phi_Ph`` = corr(phi,
    P_{<=k} h) (when deg g <= 3); ``err_plateau`` = normalised test error of P_{<=k} h itself on the same test
    points (the plateau, exact predictor, same for every n; when deg g <= 3); ``err_stage1`` = normalised test error of phi itself (= degree-<=k polynomial
    ridge, the kernel limit); ``err_three_layer`` = after stage 2; ``err_link_plugin`` = the true link on the learned feature,
    g(phi/c_d) (what stage 2 should match or beat); ``err_relu_rf`` = ReLU random-features ridge.
    """
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    cfg, seeds = config, list(seeds)
    prob = _Problem(cfg, seeds, device, dtype)
    feats = _first_layer(cfg, seeds, device, dtype)
    U = streamed_ridge(feats, prob, cfg.n_grid, cfg.ridge, solver=cfg.solver, gd_steps=cfg.gd_steps)
    y_test, p_test = prob.h(prob.x_test), prob.p(prob.x_test)
    phi_test = _apply(feats, prob.x_test, U)
    metrics = {"corr_phi_p": _corr(phi_test, p_test.unsqueeze(-1)), "err_stage1": _norm_err(phi_test, y_test)}
    t = cfg.target
    if t.q <= 3:
        z = (prob.x_test @ prob.Q).detach().cpu().double().numpy()
        Ph = torch.as_tensor(t.low_degree_projection_of_z(z), device=device, dtype=dtype)
        metrics["corr_phi_Ph"] = _corr(phi_test, Ph.unsqueeze(-1))
        # the exact best degree-<=k predictor on the same test points: the plateau, paired with the learners'
        # errors so that the test set's (heavy-tailed) sampling noise cancels in err_three_layer - err_plateau
        metrics["err_plateau"] = _norm_err(Ph.unsqueeze(-1), y_test).expand(-1, len(cfg.n_grid))
    phi2 = _apply(feats, prob.x2, U)
    h_test = _stage2(cfg, seeds, phi2, prob.h(prob.x2), phi_test, device, dtype)
    metrics["err_three_layer"] = _norm_err(h_test, y_test)
    # the true link on the learned feature, g(phi / c_d): the reference a learned stage 2 should match or beat.
    # Undefined when c_d = E[g(p) p] = 0 (a link with g1 = 0, claim 5's failure case): not recorded there.
    c_d = th.stein_constant(t)
    if abs(c_d) > 1e-12:
        z_hat, plug_in = phi_test / c_d, torch.zeros_like(phi_test)
        for coef in reversed(t.g):
            plug_in = plug_in * z_hat + coef
        metrics["err_link_plugin"] = _norm_err(plug_in, y_test)
    if cfg.relu_rf_over_N > 0:
        rf = _relu_rf(cfg, seeds, device, dtype, int(math.ceil(cfg.relu_rf_over_N * cfg.N)))
        W = streamed_ridge(rf, _Problem(cfg, seeds, device, dtype), cfg.n_grid, cfg.ridge)
        metrics["err_relu_rf"] = _norm_err(_apply(rf, prob.x_test, W), y_test)
    return runtime.long_table(seeds, metrics, steps=cfg.n_grid)


# ---------------------------------------------------------------------------------------------------------------
# Trained baselines: a two-layer ReLU network, and the paper's joint training of the three-layer network.
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TwoLayerConfig:
    """A two-layer ReLU network f(x) = sum_j c_j ReLU(w_j.x + b_j)/m trained by full-batch Adam on D1."""

    d: int = 16                              # input dimension
    k: int = 2                               # degree of p
    link: str = "h1+h3"                      # g by name
    normalise: bool = False                  # rescale g so that E h^2 = 1
    signs: str = "balanced"                  # lambda signs
    n_over_N: tuple = (2.0, 8.0, 32.0)       # |D1| / N grid (same chunks as Config, so the same data)
    width: int = 256                         # hidden units m
    steps: int = 400                         # Adam steps
    lr: float = 3e-3                         # Adam learning rate
    weight_decay: float = 1e-5               # L2 penalty on all weights
    n_test: int = 20000                      # test points
    chunk: int = 4096                        # D1 chunk size (must match Config.chunk for the same data)

    def __post_init__(self):
        runtime.check_fields(self, {"d": (2, 1000), "k": (1, 4), "n_over_N": (1e-6, 1e6), "n_test": (100, 10**8), "chunk": (16, 10**7), "width": (1, 10**6),
                                    "steps": (1, 10**7), "lr": (1e-12, 100), "weight_decay": (0, 1e3)})
        _check_target_fields(self)
        _check_grid("n_over_N", self.n_over_N)
        if self.width < 1 or self.steps < 1 or not self.lr > 0 or not self.weight_decay >= 0 or self.chunk < 16:
            raise ValueError(f"width={self.width} >= 1, steps={self.steps} >= 1, lr={self.lr} > 0, "
                             f"weight_decay={self.weight_decay} >= 0, chunk={self.chunk} >= 16 required")

    N = Config.N
    n_grid = Config.n_grid
    target = Config.target

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate: the largest D1 (inputs) and the hidden layer on it (3 copies for autograd), and
        the test inputs and hidden layer."""
        n = max(self.n_grid)
        return n_seeds * itemsize * (n * (self.d + 3 * self.width + 2) + self.n_test * (self.d + self.width + 2))


def _adam_fit(params, loss_fn, steps, lr, weight_decay):
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        if weight_decay:
            loss = loss + weight_decay * sum((p * p).sum() for p in params)
        loss.backward()
        opt.step()


def run_two_layer(config: TwoLayerConfig, seeds, *, device="auto", dtype="auto"):
    """Two-layer ReLU net trained on the same D1 prefixes as :func:`run`; metric ``err_two_layer`` (normalised)."""
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    cfg, seeds = config, list(seeds)
    prob = _Problem(cfg, seeds, device, dtype)
    x1 = torch.cat(list(prob.chunks(max(cfg.n_grid))), dim=1)
    y1, y_test = prob.h(x1), prob.h(prob.x_test)
    errs = []
    for n in cfg.n_grid:
        gens = runtime.generators(_sub_seeds(seeds, 4), device)
        W = (runtime.randn(gens, (cfg.width, cfg.d), device=device, dtype=dtype) / math.sqrt(cfg.d)).requires_grad_()
        b = runtime.randn(gens, (cfg.width,), device=device, dtype=dtype).requires_grad_()
        c = torch.zeros(len(seeds), cfg.width, device=device, dtype=dtype, requires_grad=True)

        def f(x):
            return (torch.relu(x @ W.transpose(-1, -2) + b.unsqueeze(-2)) @ c.unsqueeze(-1)).squeeze(-1)

        x, y = x1[:, :n], y1[:, :n]
        # Summed over seeds: the seeds' parameters are disjoint, so Adam treats each seed as its own problem.
        _adam_fit([W, b, c], lambda: ((f(x) - y) ** 2).mean(1).sum(), cfg.steps, cfg.lr, cfg.weight_decay)
        with torch.no_grad():
            errs.append(_norm_err(f(prob.x_test).unsqueeze(-1), y_test)[:, 0])
    return runtime.long_table(seeds, {"err_two_layer": torch.stack(errs, dim=1)}, steps=cfg.n_grid)


@dataclass(frozen=True)
class JointConfig:
    """WNL's experiment (Sec. 5): all of (u, s, V, a, b, c) trained jointly with Adam (not the layer-wise theorem)."""

    d: int = 8                               # input dimension
    k: int = 3                               # degree of p and of sigma_1 = z^k
    link: str = "z3"                         # g by name
    normalise: bool = True                   # g = C_d z^3 with E h^2 = 1
    signs: str = "balanced"                  # lambda signs
    n_over_N: tuple = (2.0, 8.0, 32.0)       # |D1| / N grid
    m1: int = 0                              # first-layer width (0 = d^2, WNL's choice)
    m2: int = 200                            # ReLU width (WNL: 1000)
    steps: int = 600                         # Adam steps (full batch)
    lr: float = 3e-3                         # Adam learning rate
    n_test: int = 20000                      # test points
    chunk: int = 4096                        # D1 chunk size

    def __post_init__(self):
        runtime.check_fields(self, {"d": (2, 1000), "k": (1, 4), "n_over_N": (1e-6, 1e6), "n_test": (100, 10**8), "chunk": (16, 10**7), "m1": (0, 10**6),
                                    "m2": (1, 10**6), "steps": (1, 10**7), "lr": (1e-12, 100)})
        _check_target_fields(self)
        _check_grid("n_over_N", self.n_over_N)
        if self.m1 < 0 or self.m2 < 1 or self.steps < 1 or not self.lr > 0 or self.chunk < 16:
            raise ValueError(f"m1={self.m1} >= 0, m2={self.m2} >= 1, steps={self.steps} >= 1, lr={self.lr} > 0, "
                             f"chunk={self.chunk} >= 16 required")

    N = Config.N
    n_grid = Config.n_grid
    target = Config.target

    @property
    def width1(self) -> int:
        return self.m1 or self.d**2

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate: the largest D1 and both hidden layers on it (3 copies for autograd), and the
        test inputs and hidden layers."""
        n, width = max(self.n_grid), self.width1 + self.m2
        return n_seeds * itemsize * (n * (self.d + 3 * width + 2) + self.n_test * (self.d + width + 2))


def run_joint(config: JointConfig, seeds, *, device="auto", dtype="auto"):
    r"""Joint Adam training of :math:`h_\theta = \varphi + \sum_j c_j\mathrm{ReLU}(a_j\varphi + b_j)` with
    :math:`\varphi = m_1^{-1/2} u^\top (Vx+s)^k` (a mean-field-like 1/√m1 scale stands in for µP). Metrics
    ``corr_phi_p`` and ``err_joint`` (normalised test error) along the n grid."""
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    cfg, seeds = config, list(seeds)
    prob = _Problem(cfg, seeds, device, dtype)
    x1 = torch.cat(list(prob.chunks(max(cfg.n_grid))), dim=1)
    y1, y_test, p_test = prob.h(x1), prob.h(prob.x_test), prob.p(prob.x_test)
    m1, S = cfg.width1, len(seeds)
    scale = 1.0 / math.sqrt(th.gaussian_moment(2 * cfg.k) * 2**cfg.k)
    corrs, errs = [], []
    for n in cfg.n_grid:
        gens = runtime.generators(_sub_seeds(seeds, 5), device)
        V = (runtime.randn(gens, (m1, cfg.d), device=device, dtype=dtype) / math.sqrt(cfg.d)).requires_grad_()
        s = runtime.randn(gens, (m1,), device=device, dtype=dtype).requires_grad_()
        u = (runtime.randn(gens, (m1,), device=device, dtype=dtype) * 0.01).requires_grad_()
        a = runtime.randn(gens, (cfg.m2,), device=device, dtype=dtype).requires_grad_()
        b = runtime.randn(gens, (cfg.m2,), device=device, dtype=dtype).requires_grad_()
        c = torch.zeros(S, cfg.m2, device=device, dtype=dtype, requires_grad=True)

        def phi(x):
            act = ((x @ V.transpose(-1, -2) + s.unsqueeze(-2)) ** cfg.k) * scale
            return (act @ u.unsqueeze(-1)).squeeze(-1) / math.sqrt(m1)

        def net(x):
            f = phi(x)
            top = torch.relu(a.unsqueeze(-2) * f.unsqueeze(-1) + b.unsqueeze(-2)) @ c.unsqueeze(-1)
            return f + top.squeeze(-1) / cfg.m2

        x, y = x1[:, :n], y1[:, :n]
        _adam_fit([V, s, u, a, b, c], lambda: ((net(x) - y) ** 2).mean(1).sum(), cfg.steps, cfg.lr, 0.0)
        with torch.no_grad():
            corrs.append(_corr(phi(prob.x_test).unsqueeze(-1), p_test.unsqueeze(-1))[:, 0].abs())
            errs.append(_norm_err(net(prob.x_test).unsqueeze(-1), y_test)[:, 0])
    return runtime.long_table(seeds, {"corr_phi_p": torch.stack(corrs, 1), "err_joint": torch.stack(errs, 1)},
                              steps=cfg.n_grid)


# ---------------------------------------------------------------------------------------------------------------
# Presets and the paper-size sweep
# ---------------------------------------------------------------------------------------------------------------

PRESETS: dict[str, Config] = {
    "cpu": Config(d=16, k=2, link="h1+h3", n_over_N=(2.0, 4.0, 8.0, 16.0, 32.0), relu_rf_over_N=1.0),
    "gpu": Config(d=40, k=3, link="z3", normalise=True, first_layer="rf", m1_over_N=1.5, ridge2=1e-2,
                  n_over_N=(2.0, 4.0, 8.0, 16.0, 32.0, 64.0), n_test=20000, chunk=2048),
    # the contract battery's size (tests/test_contract.py): a second or two on one CPU core
    "tiny": Config(d=6, k=2, n_over_N=(4.0, 8.0), n_test=500, n2=300, m2=20, chunk=64, relu_rf_over_N=1.0),
}
BATCH_RTOL = 1e-8
"""A batch of seeds equals each seed alone up to this relative difference (tests/test_contract.py): batched
linear algebra may reorder float sums, C·n·eps·cond with cond ~ 1e3 for the ridge Gram matrices."""

SWEEPS: dict[str, dict] = {
    "paper": {
        "fn": run,
        "configs": [Config(d=d, k=3, link="z3", normalise=True, first_layer="rf", m1_over_N=1.5, ridge2=1e-2,
                           n_over_N=(2.0, 4.0, 8.0, 16.0, 32.0, 64.0), chunk=2048) for d in (16, 24, 32, 40)],
        "n_seeds": 3,
    },
}
