r"""Simulators for in-context linear regression with one-layer linear self-attention (LSA), batched over seeds.

Three simulators, each ``fn(config, seeds, *, device, dtype) -> tidy DataFrame``:

- :func:`run`: the full LSA layer with all 2(d+1)^2 parameters and the Zhang–Frei–Bartlett embedding, trained with
  Adam (or SGD) on fresh prompt batches; reports its effective \Gamma, its loss on fresh prompts, and (optionally)
  its error at other test lengths m and under covariate scaling, with min-norm OLS on the same prompts.
- :func:`run_reduced`: the reduced \Gamma = c A^T model on the *exact* population loss, gradient descent from the
  ZFB initialisation (a small-step discretisation of ZFB's gradient flow).
- :func:`run_reference`: reference predictors (one-step GD, Bayes ridge, min-norm OLS) on fresh prompts through the
  same metric code, for a list of context lengths.

The LSA layer [ZFB arXiv 2306.09927 eqs 3.3–3.6]: E = [[x_1 ... x_n x_q], [y_1 ... y_n 0]] \in R^{(d+1)x(n+1)},
f(E) = E + W^{PV} E (E^T W^{KQ} E)/\rho with \rho = n, prediction \hat y = [f(E)]_{d+1, n+1}
= (W^{PV})_{d+1,:} (E E^T/n) W^{KQ}_{:, :d} x_q, which :func:`lsa_predict` evaluates through the Gram matrix
E E^T/n (exactly the same number as :func:`lsa_full`, the literal layer; tests check it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from sims import runtime
from theory import icl as theory

RESPONSES = ("linear", "relu", "tanh")
PRIORS = ("identity", "inverse")
INITS = ("gaussian", "zfb")
OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("cosine", "constant")
PROMPT_DTYPES = ("float32", "run")


def _fail(field: str, value, valid: str):
    raise ValueError(f"{field}={value!r} is not valid; {valid}")


def _check_common(cfg):
    if not isinstance(cfg.d, int) or cfg.d < 1 or cfg.d > 64:
        _fail("d", cfg.d, "need an integer 1 <= d <= 64")
    if not isinstance(cfg.n, int) or cfg.n < 1:
        _fail("n", cfg.n, "need an integer context length n >= 1")
    if not (cfg.sigma2 >= 0 and math.isfinite(cfg.sigma2)):
        _fail("sigma2", cfg.sigma2, "need a finite noise variance sigma2 >= 0")
    if not (cfg.tau2 > 0 and math.isfinite(cfg.tau2)):
        _fail("tau2", cfg.tau2, "need a finite prior variance tau2 > 0")
    if len(cfg.spectrum) not in (0, cfg.d) or not all(float(s) > 0 for s in cfg.spectrum):
        _fail("spectrum", cfg.spectrum, f"need () (identity) or {cfg.d} positive eigenvalues of Sigma")
    if cfg.prior not in PRIORS:
        _fail("prior", cfg.prior, f"use one of {PRIORS}")


@dataclass(frozen=True)
class Config:
    """Full LSA trained on fresh prompts (the main simulator, :func:`run`)."""

    d: int = 5                          # input dimension
    n: int = 20                         # context length of the training prompts (rho = n)
    sigma2: float = 0.01                # label-noise variance sigma^2 (training and test)
    tau2: float = 1.0                   # prior scale: Omega = tau2·I or tau2·Sigma^-1
    spectrum: tuple[float, ...] = ()    # eigenvalues of the diagonal covariance Sigma; () means I_d
    prior: str = "identity"             # w ~ N(0, Omega): "identity" (tau2·I) or "inverse" (tau2·Sigma^-1)
    response: str = "linear"            # y = f(x) + eps with f = phi(w^T x), phi in linear | relu | tanh
    init: str = "gaussian"              # "gaussian" (i.i.d. N(0, init_scale^2)) or "zfb" (ZFB Assumption 3.3)
    init_scale: float = 0.1             # std of the Gaussian init, or sigma of the ZFB init
    optimizer: str = "adam"             # "adam" or "sgd"
    lr: float = 0.01                    # peak learning rate
    schedule: str = "cosine"            # "cosine" decay to 0 over `steps`, or "constant"
    steps: int = 1500                   # optimisation steps, each on a fresh batch
    batch: int = 1024                   # prompts per step and seed
    log_every: int = 0                  # record the batch loss every k steps (0: not at all)
    eval_batch: int = 16384             # fresh prompts per seed for the final evaluation
    eval_lengths: tuple[int, ...] = ()  # extra test lengths m (linear responses; Wishart sampler; m >= d+1)
    eval_scales: tuple[float, ...] = ()  # covariate scales c at test (x -> c·x), LSA and min-norm OLS, length n
    prompt_dtype: str = "float32"       # dtype prompts are drawn in ("float32" for speed, or "run")

    def __post_init__(self):
        runtime.check_fields(self, {"d": (1, 64), "n": (1, 1_000_000), "sigma2": (0, 1e6), "tau2": (1e-12, 1e6),
                                    "spectrum": (1e-12, 1e12), "init_scale": (1e-12, 1e3), "lr": (1e-12, 10),
                                    "steps": (1, 10**8), "batch": (1, 10**8), "log_every": (0, 10**8),
                                    "eval_batch": (1, 10**9), "eval_lengths": (2, 10**9), "eval_scales": (1e-6, 1e6)})
        _check_common(self)
        if self.response not in RESPONSES:
            _fail("response", self.response, f"use one of {RESPONSES}")
        if self.init not in INITS:
            _fail("init", self.init, f"use one of {INITS}")
        if not (self.init_scale > 0 and math.isfinite(self.init_scale)):
            _fail("init_scale", self.init_scale, "need init_scale > 0")
        if self.optimizer not in OPTIMIZERS:
            _fail("optimizer", self.optimizer, f"use one of {OPTIMIZERS}")
        if not (0 < self.lr < 10):
            _fail("lr", self.lr, "need 0 < lr < 10")
        if self.schedule not in SCHEDULES:
            _fail("schedule", self.schedule, f"use one of {SCHEDULES}")
        for name in ("steps", "batch", "eval_batch"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                _fail(name, getattr(self, name), f"need an integer {name} >= 1")
        if not isinstance(self.log_every, int) or self.log_every < 0:
            _fail("log_every", self.log_every, "need an integer log_every >= 0")
        if any(not isinstance(m, int) or m < self.d + 1 for m in self.eval_lengths):
            _fail("eval_lengths", self.eval_lengths, f"need integer test lengths m >= d+1 = {self.d + 1}")
        if self.eval_lengths and self.response != "linear":
            _fail("eval_lengths", self.eval_lengths, "only for response='linear' (Wishart sampler)")
        if any(not float(c) > 0 for c in self.eval_scales):
            _fail("eval_scales", self.eval_scales, "need positive covariate scales c")
        if self.eval_scales and (self.response != "linear" or self.n < self.d + 2):
            _fail("eval_scales", self.eval_scales, f"need response='linear' and n >= d+2 = {self.d + 2} (finite OLS risk)")
        if self.prompt_dtype not in PROMPT_DTYPES:
            _fail("prompt_dtype", self.prompt_dtype, f"use one of {PROMPT_DTYPES}")

    @property
    def Sigma(self) -> np.ndarray:
        return theory.spectrum_sigma(self.spectrum, self.d)

    @property
    def Omega(self) -> np.ndarray:
        return theory.prior_omega(self.prior, self.Sigma, self.tau2)

    @property
    def n_params(self) -> int:
        return 2 * (self.d + 1) ** 2

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate: a training batch of prompts (raw draws, E and the Gram, kept for autograd) and an
        evaluation chunk, each counted four times for temporaries, plus the per-prompt evaluation errors."""
        prompt = (self.n + 1) * (self.d + 1) + (self.d + 1) ** 2
        chunk = min(self.eval_batch, 8192)
        return n_seeds * itemsize * (4 * (self.batch + chunk) * prompt + 4 * self.eval_batch)


# ------------------------------------------------------------------------------------------------ the layer
def lsa_full(W_PV: torch.Tensor, W_KQ: torch.Tensor, E: torch.Tensor, rho: float) -> torch.Tensor:
    r"""The literal layer f(E) = E + W^{PV} E (E^T W^{KQ} E)/\rho for E of shape (S, B, d+1, n+1) and per-seed
    weights (S, d+1, d+1). Reference: ZFB arXiv 2306.09927 eq. 3.3. Used by tests; training uses lsa_predict."""
    attn = torch.einsum("sbin,sij,sbjm->sbnm", E, W_KQ, E) / rho
    return E + torch.einsum("sij,sbjn,sbnm->sbim", W_PV, E, attn)


def lsa_predict(W_PV: torch.Tensor, W_KQ: torch.Tensor, G: torch.Tensor, x_q: torch.Tensor) -> torch.Tensor:
    r"""\hat y = (W^{PV})_{d+1,:}\, G\, W^{KQ}_{:, :d}\, x_q with G = E E^T/\rho (query column included, ZFB eq. 3.6).
    Shapes: weights (S, d+1, d+1), G (S, B, d+1, d+1), x_q (S, B, d) -> (S, B)."""
    d = x_q.shape[-1]
    Vx = torch.einsum("sij,sbj->sbi", W_KQ[:, :, :d], x_q)
    return torch.einsum("si,sbij,sbj->sb", W_PV[:, d, :], G, Vx)


def effective_gamma(W_PV: torch.Tensor, W_KQ: torch.Tensor) -> torch.Tensor:
    r"""\Gamma_{eff} = u_y A^T + k u_x^T from u_x = W^{PV}_{d+1,1:d}, u_y = W^{PV}_{d+1,d+1}, A = W^{KQ}_{1:d,1:d},
    k = W^{KQ}_{d+1,1:d}: the even part of the prediction is x_q^T\Gamma_{eff} h (docs/icl.md, Derivations)."""
    d = W_PV.shape[-1] - 1
    u_x, u_y = W_PV[:, d, :d], W_PV[:, d, d]
    A, k = W_KQ[:, :d, :d], W_KQ[:, d, :d]
    return u_y[:, None, None] * A.transpose(-1, -2) + k[:, :, None] * u_x[:, None, :]


def odd_terms(W_PV: torch.Tensor, W_KQ: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""\|A^T u_x\| and |u_y|\,\|k\|: the coefficients of the terms odd under X -> -X, which vanish at the optimum."""
    d = W_PV.shape[-1] - 1
    u_x, u_y = W_PV[:, d, :d], W_PV[:, d, d]
    A, k = W_KQ[:, :d, :d], W_KQ[:, d, :d]
    return torch.linalg.vector_norm(torch.einsum("sij,si->sj", A, u_x), dim=-1), u_y.abs() * torch.linalg.vector_norm(k, dim=-1)


# ------------------------------------------------------------------------------------------------- prompts
def _response(z: torch.Tensor, response: str) -> torch.Tensor:
    if response == "linear":
        return z
    if response == "relu":
        return torch.relu(z)
    return torch.tanh(z)


def _scales(cfg):
    """Square roots of the diagonals of Sigma and Omega (both diagonal here: Sigma = diag(spectrum))."""
    return np.sqrt(np.diag(cfg.Sigma)), np.sqrt(np.diag(cfg.Omega))


def sample_prompts(gens, cfg, B: int, n: int, *, device, pdtype, dtype, scale: float = 1.0):
    r"""Fresh prompts for every seed: G = E E^T/n (query column included, (S, B, d+1, d+1), in ``dtype``),
    x_q (S, B, d) and the noiseless query target f(x_q) (S, B). Drawn in ``pdtype`` (float32 for speed), the
    embedding E is then cast to ``dtype`` so the Gram sum over the context is accumulated in ``dtype``."""
    s_x, s_w = (torch.as_tensor(v, device=device, dtype=pdtype) for v in _scales(cfg))
    d = cfg.d
    # one draw per seed and batch (fewer generator calls): columns = x (n+1 rows of d), w (d), eps (n)
    raw = runtime.randn(gens, (B, (n + 1) * d + d + n), device=device, dtype=pdtype)
    x = raw[..., :(n + 1) * d].reshape(len(gens), B, n + 1, d) * (scale * s_x)
    w = raw[..., (n + 1) * d:(n + 2) * d] * s_w
    eps = raw[..., (n + 2) * d:]
    f = _response((x @ w[..., None])[..., 0], cfg.response)  # (S, B, n+1)
    E = torch.empty(len(gens), B, n + 1, d + 1, device=device, dtype=dtype)  # E^T: rows (x_i, y_i), last (x_q, 0)
    E[..., :d] = x
    E[:, :, :n, d] = f[:, :, :n] + math.sqrt(cfg.sigma2) * eps
    E[:, :, n, d] = 0
    G = E.transpose(-1, -2) @ E / n
    return G, E[:, :, n, :d], f[:, :, n].to(dtype)


def sample_gram_wishart(gens, rngs, cfg, B: int, m: int, *, device, dtype, scale: float = 1.0):
    r"""Exact sampler of the *context* Gram \sum_{i \le m} z_i z_i^T (z_i = (x_i, y_i)), linear responses only:
    z_i = T_w g_i with T_w = [[c\Sigma^{1/2}, 0], [c\,w^T\Sigma^{1/2}, \sigma]], so \sum z z^T = T_w W T_w^T with
    W ~ Wishart(m, I_{d+1}) drawn by Bartlett's decomposition (chi-square diagonals from the per-seed numpy
    generators ``rngs``, normals from ``gens``). Cost independent of m, which makes m up to 10^4 cheap.
    Returns (context Gram (S, B, d+1, d+1), x_q (S, B, d), noiseless target c·w^T x_q (S, B), w (S, B, d))."""
    d, p = cfg.d, cfg.d + 1
    s_x, s_w = (torch.as_tensor(v, device=device, dtype=dtype) for v in _scales(cfg))
    lower = runtime.randn(gens, (B, p, p), device=device, dtype=dtype).tril(-1)
    chi = np.stack([np.sqrt(r.chisquare(m - np.arange(p), size=(B, p))) for r in rngs])
    A = lower + torch.diag_embed(torch.as_tensor(chi, device=device, dtype=dtype))
    w = runtime.randn(gens, (B, d), device=device, dtype=dtype) * s_w
    x_q = runtime.randn(gens, (B, d), device=device, dtype=dtype) * (scale * s_x)
    T = torch.zeros(len(gens), B, p, p, device=device, dtype=dtype)
    T[:, :, :d, :d] = torch.diag(scale * s_x)
    T[:, :, d, :d] = scale * w * s_x
    T[:, :, d, d] = math.sqrt(cfg.sigma2)
    TA = T @ A
    return TA @ TA.transpose(-1, -2), x_q, (x_q * w).sum(-1), w


def _numpy_rngs(seeds, tag: int):
    return [np.random.default_rng(np.random.SeedSequence([int(s), tag])) for s in seeds]


# ---------------------------------------------------------------------------------------------- initialise
def init_weights(gens, cfg, *, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-seed (W_PV, W_KQ), each (S, d+1, d+1). ZFB Assumption 3.3: W_PV = s[[0,0],[0,1]],
    W_KQ = s[[Theta Theta^T / ||Theta Theta^T||_F, 0], [0, 0]] with Theta random per seed."""
    d, S = cfg.d, len(gens)
    if cfg.init == "gaussian":
        W = cfg.init_scale * runtime.randn(gens, (2, d + 1, d + 1), device=device, dtype=dtype)
        return W[:, 0].contiguous(), W[:, 1].contiguous()
    M = runtime.randn(gens, (d, d), device=device, dtype=dtype)
    TT = M @ M.transpose(-1, -2)
    TT = TT / torch.linalg.matrix_norm(TT)[:, None, None]
    W_PV = torch.zeros(S, d + 1, d + 1, device=device, dtype=dtype)
    W_PV[:, d, d] = cfg.init_scale
    W_KQ = torch.zeros(S, d + 1, d + 1, device=device, dtype=dtype)
    W_KQ[:, :d, :d] = cfg.init_scale * TT
    return W_PV, W_KQ


# ---------------------------------------------------------------------------------------------- main sim
def _lr_at(cfg, step: int) -> float:
    if cfg.schedule == "constant":
        return cfg.lr
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))


def train(cfg: Config, seeds, *, device, dtype):
    """Train the full LSA for every seed at once; returns (W_PV, W_KQ, logged steps, logged losses (S, k), gens)."""
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    pdtype = torch.float32 if cfg.prompt_dtype == "float32" else dtype
    gens = runtime.generators(seeds, device)
    W_PV, W_KQ = init_weights(gens, cfg, device=device, dtype=dtype)
    W_PV.requires_grad_(True)
    W_KQ.requires_grad_(True)
    params = [W_PV, W_KQ]
    opt = (torch.optim.Adam(params, lr=cfg.lr) if cfg.optimizer == "adam" else torch.optim.SGD(params, lr=cfg.lr))
    steps_logged, losses = [], []
    for step in runtime.progress(range(cfg.steps), total=cfg.steps, desc="icl train"):
        for group in opt.param_groups:
            group["lr"] = _lr_at(cfg, step)
        G, x_q, f_q = sample_prompts(gens, cfg, cfg.batch, cfg.n, device=device, pdtype=pdtype, dtype=dtype)
        # The query's label noise is integrated out (E over eps_q adds sigma^2 and no gradient): less variance.
        per_seed = ((lsa_predict(W_PV, W_KQ, G, x_q) - f_q) ** 2).mean(dim=1)
        opt.zero_grad(set_to_none=True)
        per_seed.sum().backward()  # seeds do not interact: each seed's gradient is its own loss's gradient
        opt.step()
        if cfg.log_every and (step % cfg.log_every == 0 or step == cfg.steps - 1):
            steps_logged.append(step)
            losses.append(per_seed.detach() + cfg.sigma2)
    loss_table = torch.stack(losses, dim=1) if losses else None
    return W_PV.detach(), W_KQ.detach(), steps_logged, loss_table, gens


def evaluate(W_PV, W_KQ, cfg: Config, gens, seeds, *, device, dtype) -> dict[str, torch.Tensor]:
    """Final metrics per seed: loss on fresh prompts (plain Monte Carlo over prompts and queries), the SPD to the
    optimal one-step GD predictor x_q^T Gamma* h on the same prompts, the moments of the line fit y_q ~ c·x_q^T Gamma* h
    (``line_*``: the loss-minimising multiple of Gamma* without any formula), Gamma_eff, odd-term sizes, and the
    optional test-length / covariate-scaling errors of the layer, of its odd part and of one-step GD at Gamma*
    (with min-norm OLS on the same prompts)."""
    pdtype = torch.float32 if cfg.prompt_dtype == "float32" else dtype
    d = cfg.d
    out: dict[str, torch.Tensor] = {}
    Gamma_star = torch.as_tensor(optimal_gamma(cfg), device=device, dtype=dtype)
    Gamma = effective_gamma(W_PV, W_KQ)
    chunk = 8192
    sq, spd, ys, ss = [], [], [], []
    for start in range(0, cfg.eval_batch, chunk):
        B = min(chunk, cfg.eval_batch - start)
        G, x_q, f_q = sample_prompts(gens, cfg, B, cfg.n, device=device, pdtype=pdtype, dtype=dtype)
        y_hat = lsa_predict(W_PV, W_KQ, G, x_q)
        sq.append((y_hat - f_q) ** 2)
        # Akyürek's SPD to the optimal one-step GD predictor x_q^T Gamma* h on the same prompts (h = G[:d, d])
        s = torch.einsum("sbi,ij,sbj->sb", x_q, Gamma_star, G[..., :d, d])
        spd.append((y_hat - s) ** 2)
        # moments of the line fit y_q ~ c·s: the loss-minimising multiple of Gamma* is E[y_q s] / E[s^2]
        # (the query noise is independent of s and drops out of E[y_q s])
        ys.append(f_q * s)
        ss.append(s * s)
    out["eval_loss"], out["eval_loss_sq"] = _mean_and_square(torch.cat(sq, dim=1) + cfg.sigma2)
    out["spd_opt"], out["spd_opt_sq"] = _mean_and_square(torch.cat(spd, dim=1))
    ys, ss = torch.cat(ys, dim=1), torch.cat(ss, dim=1)
    out["line_ys"], out["line_ys_sq"] = _mean_and_square(ys)
    out["line_ss"], out["line_ss_sq"] = _mean_and_square(ss)
    out["line_ys_ss"] = (ys * ss).mean(dim=1)
    for i in range(d):
        for j in range(d):
            out[f"gamma_{i}_{j}"] = Gamma[:, i, j]
    out["odd_x"], out["odd_y"] = odd_terms(W_PV, W_KQ)
    if cfg.eval_lengths or cfg.eval_scales:
        rngs = _numpy_rngs(seeds, 0x1C1)
        for m in cfg.eval_lengths:
            e = _wishart_errors(W_PV, W_KQ, Gamma, Gamma_star, cfg, gens, rngs, m, 1.0, device=device, dtype=dtype)
            out[f"err_m{m}"], out[f"err_m{m}_sq"] = _mean_and_square(e["lsa"])
            out[f"odd_m{m}"], out[f"odd_m{m}_sq"] = _mean_and_square(e["odd"])
            out[f"gd_m{m}"], out[f"gd_m{m}_sq"] = _mean_and_square(e["gd"])
        for c in cfg.eval_scales:
            e = _wishart_errors(W_PV, W_KQ, Gamma, Gamma_star, cfg, gens, rngs, cfg.n, float(c), device=device,
                                dtype=dtype)
            out[f"lsa_scale{float(c):g}"], out[f"lsa_scale{float(c):g}_sq"] = _mean_and_square(e["lsa"])
            out[f"odd_scale{float(c):g}"], out[f"odd_scale{float(c):g}_sq"] = _mean_and_square(e["odd"])
            out[f"gd_scale{float(c):g}"], out[f"gd_scale{float(c):g}_sq"] = _mean_and_square(e["gd"])
            out[f"ols_scale{float(c):g}"], out[f"ols_scale{float(c):g}_sq"] = _mean_and_square(e["ols"])
    return out


def optimal_gamma(cfg: Config) -> np.ndarray:
    """Gamma* of the config's prompt law: the closed form for linear responses, eta_f·I for ReLU/tanh (x ~ N(0, I),
    w ~ N(0, I) there; with another Sigma or prior the nonlinear optimum has no closed form here and NaN is returned)."""
    if cfg.response == "linear":
        return theory.optimal_gamma(cfg.Sigma, cfg.n, cfg.sigma2, cfg.Omega)
    if cfg.spectrum == () and cfg.prior == "identity" and cfg.tau2 == 1.0:
        return theory.nonlinear_eta(cfg.d, cfg.n, cfg.sigma2, cfg.response) * np.eye(cfg.d)
    return np.full((cfg.d, cfg.d), np.nan)


def _mean_and_square(errors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-seed mean and mean square of per-prompt errors (S, B): the pooled standard error over all prompts."""
    return errors.mean(dim=1), (errors ** 2).mean(dim=1)


def _wishart_errors(W_PV, W_KQ, Gamma, Gamma_star, cfg, gens, rngs, m: int, c: float, *, device, dtype):
    """Per-prompt (S, eval_batch) at test length m and covariate scale c, on the same prompts: ``lsa``, the layer's
    squared error (+ sigma^2 for the integrated query noise); ``odd``, its squared difference from its own even part
    x_q^T Gamma_eff h (the odd terms' share, which the reduced Gamma does not see); ``gd``, the squared error
    (+ sigma^2) of the one-step GD predictor x_q^T Gamma* h; ``ols``, that of min-norm OLS (m >= d)."""
    d = cfg.d
    out = {"lsa": [], "odd": [], "gd": [], "ols": []}
    for start in range(0, cfg.eval_batch, 8192):
        B = min(8192, cfg.eval_batch - start)
        C, x_q, f_q, _ = sample_gram_wishart(gens, rngs, cfg, B, m, device=device, dtype=dtype, scale=c)
        q = torch.cat([x_q, torch.zeros_like(x_q[..., :1])], dim=-1)
        G = (C + q[..., :, None] * q[..., None, :]) / m
        h = C[..., :d, d] / m
        y_hat = lsa_predict(W_PV, W_KQ, G, x_q)
        out["lsa"].append((y_hat - f_q) ** 2)
        out["odd"].append((y_hat - torch.einsum("sbi,sij,sbj->sb", x_q, Gamma, h)) ** 2)
        out["gd"].append((torch.einsum("sbi,ij,sbj->sb", x_q, Gamma_star, h) - f_q) ** 2)
        w_ols = torch.linalg.solve(C[..., :d, :d], C[..., :d, d])
        out["ols"].append(((x_q * w_ols).sum(-1) - f_q) ** 2)
    out = {k: torch.cat(v, 1) for k, v in out.items()}
    for k in ("lsa", "gd", "ols"):
        out[k] = out[k] + cfg.sigma2
    return out


def run(config: Config, seeds, *, device="auto", dtype="auto") -> pd.DataFrame:
    """Train the full LSA on fresh prompts for all ``seeds`` at once and evaluate it (tidy table: seed, step,
    metric, value; final metrics have an empty step)."""
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    seeds = [int(s) for s in seeds]
    with runtime.one_cpu_thread(device):
        W_PV, W_KQ, steps, losses, gens = train(config, seeds, device=device, dtype=dtype)
        final = runtime.long_table(seeds, evaluate(W_PV, W_KQ, config, gens, seeds, device=device, dtype=dtype))
    if losses is None:
        return final
    curve = runtime.long_table(seeds, {"train_loss": losses}, steps=steps)
    return pd.concat([curve, final], ignore_index=True)


def gamma_from_table(df: pd.DataFrame, d: int) -> np.ndarray:
    """Gamma_eff per seed, shape (S, d, d), from a run's tidy table (seeds in sorted order)."""
    fin = df[df["metric"].str.startswith("gamma_")]
    out = []
    for _, g in fin.groupby("seed", sort=True):
        vals = dict(zip(g["metric"], g["value"]))
        out.append([[vals[f"gamma_{i}_{j}"] for j in range(d)] for i in range(d)])
    return np.asarray(out, dtype=np.float64)


def metric(df: pd.DataFrame, name: str) -> np.ndarray:
    """Per-seed values of a final metric (seeds in sorted order)."""
    sel = df[df["metric"] == name].sort_values("seed")
    if sel.empty:
        raise KeyError(f"metric {name!r} not in the run table")
    return sel["value"].to_numpy(dtype=np.float64)


# ------------------------------------------------------------------------------------- reduced Gamma model
@dataclass(frozen=True)
class ReducedConfig:
    """The reduced model Gamma = c·A^T (ZFB's only non-zero blocks) on the exact population loss."""

    d: int = 5                          # input dimension
    n: int = 20                         # context length N of the population loss
    sigma2: float = 0.0                 # label-noise variance (ZFB: 0)
    tau2: float = 1.0                   # prior scale
    spectrum: tuple[float, ...] = ()    # eigenvalues of the diagonal Sigma (Lambda); () means I_d
    prior: str = "identity"             # "identity" or "inverse" (Omega = tau2·Sigma^-1)
    init_scale: float = 0.1             # sigma of the ZFB init (c = sigma, A = sigma·Theta Theta^T/||.||_F)
    lr: float = 0.05                    # step of gradient descent on (1/2)·L (small: gradient-flow discretisation)
    steps: int = 20000                  # gradient steps
    log_every: int = 1000               # record loss and balancedness every k steps

    def __post_init__(self):
        runtime.check_fields(self, {"d": (1, 64), "n": (1, 10**9), "sigma2": (0, 1e6), "tau2": (1e-12, 1e6),
                                    "spectrum": (1e-12, 1e12), "init_scale": (1e-12, 1e3), "lr": (1e-12, 10),
                                    "steps": (1, 10**8), "log_every": (1, 10**8)})
        _check_common(self)
        if not (self.init_scale > 0):
            _fail("init_scale", self.init_scale, "need init_scale > 0")
        if not (0 < self.lr < 10):
            _fail("lr", self.lr, "need 0 < lr < 10")
        if not isinstance(self.steps, int) or self.steps < 1:
            _fail("steps", self.steps, "need an integer steps >= 1")
        if not isinstance(self.log_every, int) or self.log_every < 1:
            _fail("log_every", self.log_every, "need an integer log_every >= 1")

    @property
    def Sigma(self) -> np.ndarray:
        return theory.spectrum_sigma(self.spectrum, self.d)

    @property
    def Omega(self) -> np.ndarray:
        return theory.prior_omega(self.prior, self.Sigma, self.tau2)


def run_reduced(config: ReducedConfig, seeds, *, device="auto", dtype="auto") -> pd.DataFrame:
    r"""Gradient descent on \tfrac12 L(c A^T) from the ZFB init, all seeds at once (exact gradients,
    \nabla_\Gamma L = 2(\Sigma\Gamma K - \Sigma\Omega\Sigma); \partial_A = c(\nabla_\Gamma)^T, \partial_c = <\nabla_\Gamma, A^T>).
    Logs the loss L and the balancedness c^2 - \|A\|_F^2 (conserved by gradient flow, ZFB §5)."""
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    with runtime.one_cpu_thread(device):
        return _run_reduced(config, [int(s) for s in seeds], device, dtype)


def _run_reduced(cfg: ReducedConfig, seeds, device, dtype) -> pd.DataFrame:
    d = cfg.d
    Sigma_np, Omega_np = cfg.Sigma, cfg.Omega
    K = torch.as_tensor(theory.second_moment_h(Sigma_np, cfg.n, cfg.sigma2, Omega_np), device=device, dtype=dtype)
    Sigma = torch.as_tensor(Sigma_np, device=device, dtype=dtype)
    SOS = torch.as_tensor(Sigma_np @ Omega_np @ Sigma_np, device=device, dtype=dtype)
    const = float(np.trace(Omega_np @ Sigma_np) + cfg.sigma2)
    gens = runtime.generators(seeds, device)
    W_PV, W_KQ = init_weights(gens, Config(d=d, init="zfb", init_scale=cfg.init_scale), device=device, dtype=dtype)
    c, A = W_PV[:, d, d].clone(), W_KQ[:, :d, :d].clone()

    def loss_of(Gamma):
        return const - 2 * _tr(Gamma @ SOS) + _tr(Gamma.transpose(-1, -2) @ Sigma @ Gamma @ K)

    steps, losses, balance = [], [], []
    for step in range(cfg.steps + 1):
        Gamma = c[:, None, None] * A.transpose(-1, -2)
        if step % cfg.log_every == 0 or step == cfg.steps:
            steps.append(step)
            losses.append(loss_of(Gamma))
            balance.append(c ** 2 - (A ** 2).sum((-1, -2)))
        if step == cfg.steps:
            break
        grad_G = 2 * (Sigma @ Gamma @ K - SOS)  # gradient of L; we descend on L/2
        grad_A = 0.5 * c[:, None, None] * grad_G.transpose(-1, -2)
        grad_c = 0.5 * (grad_G * A.transpose(-1, -2)).sum((-1, -2))
        A = A - cfg.lr * grad_A
        c = c - cfg.lr * grad_c
    Gamma = c[:, None, None] * A.transpose(-1, -2)
    curve = runtime.long_table(seeds, {"loss": torch.stack(losses, 1), "balance": torch.stack(balance, 1)}, steps=steps)
    final = runtime.long_table(seeds, {f"gamma_{i}_{j}": Gamma[:, i, j] for i in range(d) for j in range(d)})
    return pd.concat([curve, final], ignore_index=True)


def _tr(M: torch.Tensor) -> torch.Tensor:
    return M.diagonal(dim1=-2, dim2=-1).sum(-1)


# ------------------------------------------------------------------------------------ reference predictors
REFERENCE_PREDICTORS = ("gd_opt", "gd_unit", "ridge", "ols")


@dataclass(frozen=True)
class ReferenceConfig:
    """Reference predictors on fresh isotropic prompts for several context lengths (Akyürek et al. baselines)."""

    d: int = 8                          # input dimension
    ns: tuple[int, ...] = (1, 2, 4, 6, 7, 8, 9, 10, 12, 16, 24, 40)  # context lengths n
    sigma2: float = 0.25                # label-noise variance
    tau2: float = 1.0                   # prior variance (w ~ N(0, tau2·I)); ridge uses lambda* = sigma2/tau2
    batch: int = 4096                   # prompts per n and seed

    def __post_init__(self):
        runtime.check_fields(self, {"d": (1, 64), "ns": (1, 100_000), "sigma2": (0, 1e6), "tau2": (1e-12, 1e6),
                                    "batch": (2, 10**8)})
        if not isinstance(self.d, int) or not 1 <= self.d <= 64:
            _fail("d", self.d, "need an integer 1 <= d <= 64")
        if not self.ns or any(not isinstance(n, int) or n < 1 for n in self.ns):
            _fail("ns", self.ns, "need a non-empty tuple of integer context lengths >= 1")
        if not (self.sigma2 >= 0 and math.isfinite(self.sigma2)):
            _fail("sigma2", self.sigma2, "need a finite sigma2 >= 0")
        if not (self.tau2 > 0):
            _fail("tau2", self.tau2, "need tau2 > 0")
        if not isinstance(self.batch, int) or self.batch < 2:
            _fail("batch", self.batch, "need an integer batch >= 2")

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate: one context length's prompts X (batch, n, d) and the per-prompt d x d solves of the
        reference predictors, four times for temporaries."""
        return n_seeds * itemsize * 4 * self.batch * (max(self.ns) * (self.d + 1) + self.d * self.d)


def reference_weights(X: torch.Tensor, y: torch.Tensor, predictor: str, sigma2: float, tau2: float) -> torch.Tensor:
    r"""Implicit weights \hat w (..., d) of the reference predictors on contexts X (..., n, d), y (..., n):
    gd_opt: \eta^* h (the LSA optimum, \eta^* = n/(n+d+1+\sigma^2/\tau^2)); gd_unit: h (von Oswald's \eta = 1);
    ridge: (X^TX + \lambda^* I)^{-1}X^Ty (Bayes posterior mean); ols: X^+ y (min-norm)."""
    n, d = X.shape[-2:]
    h = (X.transpose(-1, -2) @ y[..., None])[..., 0] / n
    if predictor == "gd_opt":
        return theory.optimal_eta(d, n, sigma2, tau2) * h
    if predictor == "gd_unit":
        return h
    if predictor == "ridge":
        if sigma2 == 0:
            return reference_weights(X, y, "ols", sigma2, tau2)
        eye = torch.eye(d, dtype=X.dtype, device=X.device)
        return torch.linalg.solve(X.transpose(-1, -2) @ X + sigma2 / tau2 * eye, n * h)
    if predictor == "ols":
        return (torch.linalg.pinv(X) @ y[..., None])[..., 0]
    raise ValueError(f"predictor={predictor!r} is not valid; use one of {REFERENCE_PREDICTORS}")


def excess_risk(w_hat: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    r"""The one metric every predictor goes through: E_{x_q}(x_q^T\hat w - x_q^T w)^2 = \|\hat w - w\|^2 for
    x_q ~ N(0, I) (query integrated out; the noisy-target MSE is this + \sigma^2)."""
    return ((w_hat - w) ** 2).sum(-1)


def run_reference(config: ReferenceConfig, seeds, *, device="auto", dtype="auto") -> pd.DataFrame:
    """Per seed, n and predictor: mean excess risk over ``batch`` fresh prompts (metric = predictor name), its mean
    square (``<name>_sq``, for a standard error pooled over all prompts) and, for OLS, the median (``ols_median``; its mean diverges at n in {d-1, d, d+1}). Columns seed, n, metric, value."""
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    with runtime.one_cpu_thread(device):
        return _run_reference(config, [int(s) for s in seeds], device, dtype)


def _run_reference(cfg: ReferenceConfig, seeds, device, dtype) -> pd.DataFrame:
    gens = runtime.generators(seeds, device)
    records = []
    for n in cfg.ns:
        X = runtime.randn(gens, (cfg.batch, n, cfg.d), device=device, dtype=dtype)
        w = math.sqrt(cfg.tau2) * runtime.randn(gens, (cfg.batch, cfg.d), device=device, dtype=dtype)
        eps = math.sqrt(cfg.sigma2) * runtime.randn(gens, (cfg.batch, n), device=device, dtype=dtype)
        y = (X @ w[..., None])[..., 0] + eps
        for pred in REFERENCE_PREDICTORS:
            r = excess_risk(reference_weights(X, y, pred, cfg.sigma2, cfg.tau2), w)
            for s, seed in enumerate(seeds):
                records.append({"seed": seed, "n": n, "metric": pred, "value": float(r[s].mean())})
                records.append({"seed": seed, "n": n, "metric": pred + "_sq", "value": float((r[s] ** 2).mean())})
                if pred == "ols":
                    records.append({"seed": seed, "n": n, "metric": "ols_median", "value": float(r[s].median())})
    return runtime.tidy(records)


PRESETS: dict[str, Config] = {
    "cpu": Config(),
    "gpu": Config(batch=8192, steps=4000, eval_batch=131072),
    # the contract battery's size (tests/test_contract.py): a second or two on one CPU core
    "tiny": Config(d=3, n=6, steps=20, batch=64, eval_batch=512, log_every=5),
}
BATCH_RTOL = 1e-12
"""A batch of seeds equals each seed alone up to this relative difference (tests/test_contract.py): identical
draws per seed; batched BLAS may block sums differently."""

_SPECTRUM = (1.0, 1.0, 0.25, 0.0625, 1.0)
SWEEPS: dict[str, dict] = {
    "paper": {
        "fn": run,
        "configs": [
            Config(d=5, n=20, sigma2=0.01, batch=8192, steps=4000, eval_batch=131072, eval_scales=(0.5, 1.0, 2.0)),
            Config(d=5, n=20, sigma2=0.0, spectrum=_SPECTRUM, batch=8192, steps=4000, eval_batch=131072,
                   eval_lengths=(6, 10, 20, 40, 100, 300, 1000, 10000)),
            Config(d=5, n=20, sigma2=0.01, spectrum=_SPECTRUM, prior="inverse", batch=8192, steps=4000,
                   eval_batch=131072),
            Config(d=5, n=20, sigma2=0.01, response="relu", batch=8192, steps=4000, eval_batch=131072),
        ] + [Config(d=8, n=n, sigma2=0.25, batch=8192, steps=4000, eval_batch=131072) for n in (4, 8, 16, 32)],
        "n_seeds": 16,
    },
}
