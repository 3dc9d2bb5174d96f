r"""Two-layer networks learning group arithmetic (Li2 Eq. 1), batched over seeds: the network that groks, single
neurons climbing the Li2 energy, and Gromov's analytic networks evaluated in torch.

The network: :math:`\hat Y=\sigma(XW)V` with the frozen identity embedding of two one-hots, so row :math:`(a,b)` of
:math:`XW` is :math:`W_{a}+W_{M+b}` (index gathering, never a one-hot matmul); no biases. Conventions follow the
reference code (yuandong-tian/understanding, ``cogo/modular_addition_simple2.py``), not the paper's algebra:

- MSE is :math:`\frac1n\sum_i\|P_c o_i-\tilde y_i\|^2` with outputs centred over classes and targets
  :math:`\tilde y = e_{a+b}-\mathbf 1/M` (no ½, mean over samples), so a coupled L2 :math:`\eta` on V is a ridge
  :math:`\eta_{\rm eff}=n\eta/2` in the paper's units;
- ``adam`` is ``torch.optim.Adam(weight_decay=eta)`` (coupled L2 on both layers), ``adamw`` decoupled;
- init is ``nn.Linear``'s default :math:`U(\pm1/\sqrt{\text{fan-in}})`, V scaled by ``top_init`` (0 = zero init);
- one epoch is one full-batch step.

Every parameter tensor has a leading seed dimension and the loss is the sum of the per-seed losses, so the
element-wise optimisers update each seed exactly as if it ran alone.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from sims import runtime
from theory import grokking as th

ACTIVATIONS = ("sqr", "relu", "silu")
LOSSES = ("mse", "ce")
OPTIMIZERS = ("adam", "adamw", "sgd")


def _activation(name: str):
    """sigma and its derivative sigma' (the simulator computes its gradients by hand, see :func:`loss_and_grads`)."""
    if name == "sqr":
        return torch.square, lambda h: 2 * h
    if name == "relu":
        return torch.relu, lambda h: (h > 0).to(h.dtype)
    sig = torch.sigmoid
    return torch.nn.functional.silu, lambda h: sig(h) * (1 + h * (1 - sig(h)))


def _check_group(M, factors) -> None:
    if int(M) != M or M < 3:
        raise ValueError(f"M={M!r} is not valid; use an integer >= 3")
    if factors:
        if any(int(m) != m or m < 2 for m in factors) or math.prod(factors) != M:
            raise ValueError(f"factors={factors!r} is not valid; use moduli >= 2 whose product is M={M}")


@dataclass(frozen=True)
class Config:
    M: int = 71                            # group order |G|: Z_M, or Z_m1 x Z_m2 x ... when factors is set
    factors: tuple[int, ...] = ()          # moduli of a product group (product must equal M); () means Z_M
    fraction: float = 0.4                  # training fraction p = n / M^2, in (0, 1]; 1 trains on the full table
    K: int = 512                           # hidden width
    activation: str = "sqr"                # sigma: sqr (x^2, the theory's), relu, silu
    loss: str = "mse"                      # mse (class-centred, mean over samples, as the code) or ce
    optimizer: str = "adam"                # adam (coupled L2 = the code's), adamw (decoupled), sgd (momentum 0.9)
    lr: float = 1e-3                       # learning rate
    weight_decay: float = 2e-4             # eta: L2 coefficient of the optimiser (>= 0)
    top_init: float = 1.0                  # multiplier of V's default init; 0 gives Li2 §3.2's zero init
    epochs: int = 300                      # full-batch steps
    log_every: int = 10                    # evaluate every this many epochs (and at 0 and the end)
    stop_test_acc: float = 0.0             # stop once every seed's test accuracy >= this; 0 never stops early
    log_gf: bool = False                   # log ||G_F||, its Eq.-4 fixed point and alignment (a K x K solve)
    train_W: bool = True                   # False freezes W (F fixed): Li2 Prop. 1's lazy Stage I, V alone learns

    def __post_init__(self):
        runtime.check_fields(self, {"M": (3, 10**4), "factors": (2, 10**4), "fraction": (0, 1), "K": (1, 10**6),
                                    "lr": (1e-12, 100), "weight_decay": (0, 1e3), "top_init": (0, 1e3),
                                    "epochs": (1, 10**8), "log_every": (1, 10**8), "stop_test_acc": (0, 1)})
        _check_group(self.M, self.factors)
        if not (0 < self.fraction <= 1):
            raise ValueError(f"fraction={self.fraction!r} is not valid; use a training fraction in (0, 1]")
        if self.n_train < 1 or (self.fraction < 1 and self.n_train >= self.M ** 2):
            raise ValueError(f"fraction={self.fraction} gives n_train={self.n_train} of {self.M ** 2} pairs; "
                             "use a fraction that leaves >= 1 training and >= 1 test pair (or exactly 1)")
        if int(self.K) != self.K or self.K < 1:
            raise ValueError(f"K={self.K!r} is not valid; use a width >= 1")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation={self.activation!r} is not valid; use one of {ACTIVATIONS}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss={self.loss!r} is not valid; use one of {LOSSES}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={self.optimizer!r} is not valid; use one of {OPTIMIZERS}")
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr!r} is not valid; use a learning rate > 0")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay={self.weight_decay!r} is not valid; use a value >= 0")
        if not self.top_init >= 0:
            raise ValueError(f"top_init={self.top_init!r} is not valid; use a multiplier >= 0")
        if self.epochs < 1 or self.log_every < 1:
            raise ValueError(f"epochs={self.epochs}, log_every={self.log_every} are not valid; use integers >= 1")
        if not 0 <= self.stop_test_acc <= 1:
            raise ValueError(f"stop_test_acc={self.stop_test_acc!r} is not valid; use a value in [0, 1]")

    @property
    def group(self):
        """What theory/ takes as the group: M, or the tuple of moduli."""
        return tuple(self.factors) if self.factors else self.M

    @property
    def expect_nonfinite(self) -> tuple[str, ...]:
        """G_F's relative error is undefined (NaN) at weight_decay = 0, and its cosine when G_F = 0 (top_init = 0)."""
        return ("gf_rel_err", "gf_cos") if self.log_gf else ()

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate: hidden activations and outputs of all M^2 pairs (train + test, 3 copies for
        autograd), the weights and optimiser state, the K x K solve of log_gf, and the group table."""
        M, K = self.M, self.K
        per = 3 * M * M * (K + M) + 12 * M * K + (4 * K * K + M * M * M // 2 if self.log_gf else 0)
        return n_seeds * itemsize * per + 16 * M * M

    @property
    def n_train(self) -> int:
        return int(round(self.fraction * self.M ** 2))

    @property
    def eta_eff(self) -> float:
        """The coupled L2 as a ridge on V in the paper's ½-sum units (docs/grokking.md, Conventions)."""
        return th.effective_ridge(self.n_train, self.weight_decay)

    @property
    def critical_fraction(self) -> float:
        return th.critical_fraction(self.M)


def _log_steps(epochs: int, every: int) -> list[int]:
    return sorted(set(range(0, epochs + 1, every)) | {epochs})


def _split(config: Config, gens, device):
    """Per seed: a random permutation of the M^2 pairs; the first n_train train, the rest test (the whole table
    when fraction == 1). Returns (a, b, label) index tensors of shape (S, n) for train and test."""
    M = config.M
    table = torch.as_tensor(th.cayley_table(config.group), device=device)
    perm = runtime.randperm(gens, M * M, device=device)
    n = config.n_train
    train = perm[:, :n]
    test = perm if n == M * M else perm[:, n:]
    out = []
    for idx in (train, test):
        a, b = idx // M, idx % M
        out.append((a, b, table[a, b]))
    return out


def _init(config: Config, gens, device, dtype):
    """nn.Linear default init per seed: W ~ U(±1/sqrt(2M)) (2M x K), V ~ top_init·U(±1/sqrt(K)) (K x M)."""
    M, K = config.M, config.K
    W = (2 * runtime.rand(gens, (2 * M, K), device=device, dtype=dtype) - 1) / math.sqrt(2 * M)
    V = config.top_init * (2 * runtime.rand(gens, (K, M), device=device, dtype=dtype) - 1) / math.sqrt(K)
    return W, V


def gather_index(a: torch.Tensor, b: torch.Tensor, M: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of the seeds' stacked W (S·2M, K) that pair (a, b) reads: a and M + b, offset by 2M per seed; flat (S·n,)."""
    offset = (torch.arange(a.shape[0], device=a.device) * 2 * M)[:, None]
    return (offset + a).reshape(-1), (offset + M + b).reshape(-1)


def hidden(W: torch.Tensor, a: torch.Tensor, b: torch.Tensor, M: int, index=None) -> torch.Tensor:
    r"""Pre-activations :math:`XW` by index gathering: row (a, b) is :math:`W_a+W_{M+b}`; W (S, 2M, K), a, b (S, n)
    -> (S, n, K). The backward pass is an index_add, never a one-hot matmul. ``index``: :func:`gather_index` of
    (a, b), computed once by a caller that reuses the pairs. Row gathers by ``index_select`` (measured 1.5x faster
    than advanced indexing on a CPU; the same additions, bit for bit)."""
    S = W.shape[0]
    flat = W.reshape(S * 2 * M, -1)
    ia, ib = gather_index(a, b, M) if index is None else index
    return flat.index_select(0, ia).add_(flat.index_select(0, ib)).view(S, -1, flat.shape[1])


def _loss_per_seed(o, label, loss: str, M: int):
    """Per-seed loss (S,) and dL/do (S, n, M) of the mean-over-samples loss."""
    n = o.shape[1]
    if loss == "mse":
        residual = o - o.mean(dim=-1, keepdim=True) - (torch.nn.functional.one_hot(label, M).to(o.dtype) - 1.0 / M)
        return (residual ** 2).sum(dim=-1).mean(dim=-1), (2.0 / n) * residual
    logp = torch.log_softmax(o, dim=-1)
    value = -logp.gather(-1, label[..., None])[..., 0].mean(dim=-1)
    return value, (logp.exp() - torch.nn.functional.one_hot(label, M).to(o.dtype)) / n


def loss_and_grads(W, V, a, b, label, config: "Config", F=None, index=None):
    r"""Per-seed loss and its exact gradients by hand (no autograd graph: about twice as fast on a CPU):
    :math:`H=XW` (gather), :math:`F=\sigma(H)`, :math:`o=FV`; :math:`\partial V=F^\top\partial o`,
    :math:`\partial H=(\partial o\,V^\top)\odot\sigma'(H)`, and :math:`\partial W` is the index_add of
    :math:`\partial H` onto rows a and M+b. Returns (loss (S,), dW, dV), dW None when W is frozen; tests check
    it against autograd. ``F``: the features of a frozen W, computed once by the caller (the same numbers);
    ``index``: :func:`gather_index` of (a, b), likewise."""
    M = config.M
    sigma, dsigma = _activation(config.activation)
    if F is None or config.train_W:  # the gather index serves H here and dW below (train_W)
        index = gather_index(a, b, M) if index is None else index
        H = hidden(W, a, b, M, index=index)
        F = sigma(H)
    o = F @ V
    value, d_o = _loss_per_seed(o, label, config.loss, M)
    dV = F.transpose(1, 2) @ d_o
    if not config.train_W:
        return value, None, dV
    if config.activation == "sqr":
        # sigma'(H) = 2H: the factor 2 rides on the small d_o, and the product is taken in place. Scaling by a power
        # of two is exact, so ((2 d_o) V^T) H equals (d_o V^T)(2H) bit for bit (tested), one pass over H fewer.
        dH = ((2 * d_o) @ V.transpose(1, 2)).mul_(H)
    else:
        dH = (d_o @ V.transpose(1, 2)) * dsigma(H)
    S, K = W.shape[0], W.shape[2]
    dW = torch.zeros(S * 2 * M, K, dtype=W.dtype, device=W.device)
    dW.index_add_(0, index[0], dH.reshape(-1, K))
    dW.index_add_(0, index[1], dH.reshape(-1, K))
    return value, dW.reshape(S, 2 * M, K), dV


def _optimizer(config: Config, params):
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, foreach=False)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, foreach=False)
    return torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay, foreach=False)


def _targets(label: torch.Tensor, M: int, dtype) -> torch.Tensor:
    r"""Class-centred one-hot targets :math:`e_y-\mathbf 1/M` (the code's convention), (S, n, M)."""
    return torch.nn.functional.one_hot(label, M).to(dtype) - 1.0 / M


def _lemma1_direction(F: torch.Tensor, label: torch.Tensor, M: int) -> torch.Tensor:
    r""":math:`\tilde Y\tilde Y^\top F` (S, n, K), Lemma 1's structure that ``gf_cos`` of :func:`_gf_stats` compares
    G_F with; fixed by a frozen F."""
    Y = _targets(label, M, F.dtype)
    return Y @ (Y.transpose(1, 2) @ F)


def _gf_stats(F: torch.Tensor, V: torch.Tensor, label: torch.Tensor, config: Config, YYF=None) -> dict[str, torch.Tensor]:
    r"""Stage-I statistics in the code's convention (class-centred :math:`\tilde Y`, uncentred F):

    - ``gf_norm``: :math:`\|G_F\|_F`, :math:`G_F=(\tilde Y-FVP_c)(VP_c)^\top = -\tfrac n2\,\partial L/\partial F`;
    - ``gf_cos``: Frobenius cosine of :math:`G_F` with :math:`\tilde Y\tilde Y^\top F`, Lemma 1's structure;
    - ``gf_star_norm``: theory's Eq.-4 fixed point (:func:`theory.grokking.gf_fixed_point`, :math:`\eta_{\rm eff}`)
      evaluated at the simulator's current F, which moves in full training and is too large to store (0 when
      :math:`\eta=0`). Claims on the lazy stage recompute it from :func:`stage1_inputs` instead.

    ``YYF``: :func:`_lemma1_direction` of F, which a frozen F fixes; computed once by the caller.
    """
    Y = _targets(label, config.M, F.dtype)
    Vc = V - V.mean(dim=-1, keepdim=True)
    G = (Y - F @ Vc) @ Vc.transpose(1, 2)
    stats = {"gf_norm": torch.linalg.norm(G, dim=(1, 2))}
    YYF = _lemma1_direction(F, label, config.M) if YYF is None else YYF
    stats["gf_cos"] = (G * YYF).sum(dim=(1, 2)) / (stats["gf_norm"] * torch.linalg.norm(YYF, dim=(1, 2)))
    star = torch.zeros_like(stats["gf_norm"])
    if config.weight_decay > 0:
        Fn, Yn = F.detach().to("cpu", torch.float64).numpy(), Y.detach().to("cpu", torch.float64).numpy()
        star = torch.as_tensor([np.linalg.norm(th.gf_fixed_point(Fn[s], Yn[s], config.eta_eff))
                                for s in range(Fn.shape[0])])
    stats["gf_star_norm"] = star
    return stats


def stage1_inputs(config: Config, seeds, *, device="cpu", dtype=torch.float64) -> tuple[np.ndarray, np.ndarray]:
    """What theory needs for Li2 Prop. 1 on a lazy run (``train_W=False``): per seed the frozen features
    F = sigma(XW(0)) on the training pairs and the class-centred targets, exactly as :func:`run` draws them
    (same generators, same order). Returns float64 arrays F (S, n, K) and Y (S, n, M)."""
    device, dtype = runtime.resolve_device(device), runtime.resolve_dtype(dtype, runtime.resolve_device(device))
    gens = runtime.generators([int(s) for s in seeds], device)
    (a, b, y), _ = _split(config, gens, device)
    W, _ = _init(config, gens, device, dtype)
    F = _activation(config.activation)[0](hidden(W, a, b, config.M))
    as_np = lambda t: t.detach().to("cpu", torch.float64).numpy()  # noqa: E731
    return as_np(F), as_np(_targets(y, config.M, dtype))


def _group_fft(x: torch.Tensor, dim: int, moduli: tuple[int, ...]) -> torch.Tensor:
    """Unnormalised DFT over the (flattened) group along ``dim``."""
    x = x.movedim(dim, -1)
    lead = x.shape[:-1]
    axes = tuple(range(-len(moduli), 0))
    return torch.fft.fftn(x.reshape(*lead, *moduli), dim=axes).reshape(*lead, -1).movedim(-1, dim)


def _phase_inputs(W: torch.Tensor, config: Config) -> tuple[torch.Tensor, torch.Tensor]:
    """The part of :func:`_phase_coherence` that depends on W alone: each neuron's top non-trivial frequency k
    (S, 1, K) and :math:`U_kV_k` (S, K)."""
    moduli = tuple(config.factors) or (config.M,)
    M = config.M
    U, Vin = _group_fft(W[:, :M, :], 1, moduli), _group_fft(W[:, M:, :], 1, moduli)  # (S, M, K)
    power = U.abs() ** 2 + Vin.abs() ** 2
    power[:, 0, :] = -1.0
    k = power.argmax(dim=1, keepdim=True)
    return k, (U.gather(1, k) * Vin.gather(1, k))[:, 0, :]


def _phase_coherence(W: torch.Tensor, V: torch.Tensor, config: Config, inputs=None) -> torch.Tensor:
    r"""Per seed, measured in torch (independently of theory/): Gromov's phase relation. For neuron j at its top
    non-trivial frequency k (largest :math:`|U_k|^2+|V_k|^2` of its two input halves), the term
    :math:`U_kV_k\overline{O_k}` with O the DFT of its output row; coherence
    :math:`\sum_j\mathrm{Re}(\cdot)/\sum_j|\cdot|`, 1 when every neuron has :math:`\varphi_3=\varphi_1+\varphi_2`.
    ``inputs``: :func:`_phase_inputs` of W, which a frozen W fixes; computed once by the caller."""
    moduli = tuple(config.factors) or (config.M,)
    k, UV = _phase_inputs(W, config) if inputs is None else inputs
    O = _group_fft(V, 2, moduli).transpose(1, 2)  # (S, M, K)
    term = UV * O.gather(1, k).conj()[:, 0, :]
    size = term.abs().sum(dim=1)
    return torch.where(size > 0, term.real.sum(dim=1) / torch.where(size > 0, size, 1.0), torch.zeros_like(size))


def _fourier(W: torch.Tensor, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """Per seed: weighted per-neuron top-frequency share and the aggregate spectrum (theory/ bookkeeping)."""
    Wn = W.detach().to("cpu", torch.float64).numpy()
    res = [th.neuron_frequency_shares(Wn[s], config.group) for s in range(Wn.shape[0])]
    return np.array([r["weighted_share"] for r in res]), np.stack([r["spectrum"] for r in res])


CPU_GROUP_ELEMENTS = 1 << 20
"""On a CPU, :func:`run` trains seeds in groups of about this many hidden activations (n_train x K per seed, 8 MiB
in float64). Measured per seed and epoch (CPU time, one thread, 2-core Xeon with 4 MiB L2): M = 41, K = 512 (430k
per seed) is fastest at 1-2 seeds per group and 2x slower at 16; M = 23, K = 1024 (325k) at 2-4; M = 13, K = 32 keeps
gaining up to 16. A batch of 32 large seeds was 2.2x slower than one seed at a time."""


class _Trainer:
    """Full-batch training of one group of seeds (batched along the leading axis), advanced in epochs: the state
    (split, weights, optimizer) and the log of the metrics at the logged steps."""

    def __init__(self, config: Config, seeds, device, dtype):
        self.config, self.dtype, self.epoch = config, dtype, 0
        gens = runtime.generators(seeds, device)
        self.train, self.test = _split(config, gens, device)
        self.index = {split: gather_index(a, b, config.M) for split, (a, b, _) in (("train", self.train),
                                                                                    ("test", self.test))}
        self.W, self.V = _init(config, gens, device, dtype)
        self.opt = _optimizer(config, [self.W, self.V] if config.train_W else [self.V])
        self.sigma = _activation(config.activation)[0]
        self.steps = set(_log_steps(config.epochs, config.log_every))
        # a frozen W (the lazy stage) has fixed features: computed once instead of every epoch and log, with
        # everything the log derives from W alone (the same numbers, bit for bit)
        self.frozen = None if config.train_W else {
            split: self.sigma(hidden(self.W, a, b, config.M, self.index[split]))
            for split, (a, b, _) in (("train", self.train), ("test", self.test))}
        if self.frozen is not None:
            self.frozen["fourier"] = _fourier(self.W, config)
            self.frozen["phase"] = _phase_inputs(self.W, config)
            if config.log_gf:
                self.frozen["YYF"] = _lemma1_direction(self.frozen["train"], self.train[2], config.M)
        self.log: dict[str, list] = {}
        self.logged: list[int] = []
        self.record()

    def record(self):
        """Log every metric at the current epoch; keeps the spectrum and test accuracy of the latest log."""
        config, W, V, M = self.config, self.W, self.V, self.config.M
        with torch.no_grad():
            values = {}
            for split, (a, b, y) in (("train", self.train), ("test", self.test)):
                F = self.sigma(hidden(W, a, b, M, self.index[split])) if self.frozen is None else self.frozen[split]
                o = F @ V
                values[f"{split}_acc"] = (o.argmax(dim=-1) == y).to(self.dtype).mean(dim=-1)
                values[f"{split}_loss"] = _loss_per_seed(o, y, config.loss, M)[0]
                if split == "train" and config.log_gf:
                    values.update(_gf_stats(F, V, y, config, None if self.frozen is None else self.frozen["YYF"]))
            values["W_norm"] = torch.linalg.norm(W, dim=(1, 2))
            values["V_norm"] = torch.linalg.norm(V, dim=(1, 2))
            share, self.spectrum = _fourier(W, config) if self.frozen is None else self.frozen["fourier"]
            values["fourier_share"] = torch.as_tensor(share)
            values["phase_coherence"] = _phase_coherence(W, V, config,
                                                         None if self.frozen is None else self.frozen["phase"])
            for name, v in values.items():
                # as Python floats (pymalloc's own arenas): thousands of small long-lived tensors between the
                # epochs' large temporaries fragmented the C heap (RSS grew by ~10 MB per epoch, 10 GB per run)
                self.log.setdefault(name, []).append(v.detach().to("cpu", torch.float64).tolist())
            self.logged.append(self.epoch)
            self.test_acc = values["test_acc"]

    def done(self) -> bool:
        """Every seed of the group at ``stop_test_acc`` at the latest logged step (never, when it is 0)."""
        return self.config.stop_test_acc > 0 and bool((self.test_acc >= self.config.stop_test_acc).all())

    def advance(self, until: int, *, stop: bool, bar=None) -> None:
        """Train to epoch ``until``, logging at the logged steps; with ``stop``, halt at the first logged step at
        which :meth:`done` holds."""
        while self.epoch < until:
            self.epoch += 1
            F = None if self.frozen is None else self.frozen["train"]
            _, self.W.grad, self.V.grad = loss_and_grads(self.W, self.V, *self.train, self.config, F=F,
                                                         index=self.index["train"])
            self.opt.step()
            if bar is not None:
                bar.update(1)
            if self.epoch in self.steps:
                self.record()
                if stop and self.done():
                    return


def run(config: Config, seeds, *, device="cpu", dtype=torch.float64) -> pd.DataFrame:
    r"""Train the two-layer network on the group table for every seed; tidy (seed, step, metric, value).

    Metrics every ``log_every`` epochs: ``train_acc``, ``test_acc``, ``train_loss``, ``test_loss``,
    ``fourier_share`` (norm-weighted per-neuron top-frequency share of W), ``phase_coherence`` (Gromov's
    :math:`\varphi_3=\varphi_1+\varphi_2`, :func:`_phase_coherence`), ``W_norm``, ``V_norm`` and,
    with ``log_gf``, the G_F statistics of :func:`_gf_stats`. At the last logged step also ``spectrum_<l>``, the
    share of W's aggregate non-DC power at frequency orbit l (l = 1 ... (M-1)/2 for odd Z_M).

    With ``stop_test_acc`` > 0 every seed trains until the first logged step at which all seeds have reached it
    (or ``epochs``), so the seeds share one log. On a CPU the seeds train in groups of about
    :data:`CPU_GROUP_ELEMENTS` hidden activations (the same arithmetic seed by seed, bit for bit, with each group's
    tensors in cache); on an accelerator they train as one batch. A group that reaches ``stop_test_acc`` first is
    then advanced to the common end.

    Reference: Tian, arXiv 2509.21519, Eq. 1 and Fig. 3 (the delayed-generalisation setting).
    """
    device, dtype = runtime.resolve_device(device), runtime.resolve_dtype(dtype, runtime.resolve_device(device))
    seeds = [int(s) for s in seeds]
    size = len(seeds)
    if torch.device(device).type == "cpu":
        size = max(1, min(size, CPU_GROUP_ELEMENTS // (config.n_train * config.K)))
    groups = [seeds[i:i + size] for i in range(0, len(seeds), size)]
    trainers = [_Trainer(config, g, device, dtype) for g in groups]
    bar = runtime.progress(None, total=config.epochs * len(groups), desc="grokking")
    for tr in trainers:  # each group to its own first stop (or to the end)
        tr.advance(config.epochs, stop=True, bar=bar)
    end = max(tr.epoch for tr in trainers)
    for tr in trainers:
        tr.advance(end, stop=False, bar=bar)
    every = sorted(trainers[0].steps)
    while end < config.epochs and not all(tr.done() for tr in trainers):  # the groups' first stops disagree
        end = next(s for s in every if s > end)
        for tr in trainers:
            tr.advance(end, stop=False, bar=bar)
    bar.close()
    logged = trainers[0].logged
    log = {k: torch.cat([torch.tensor(tr.log[k], dtype=torch.float64).T for tr in trainers]) for k in trainers[0].log}
    spectrum = np.concatenate([tr.spectrum for tr in trainers])
    table = runtime.long_table(seeds, log, steps=logged)
    final = runtime.long_table(seeds, {f"spectrum_{l + 1}": spectrum[:, [l]] for l in range(spectrum.shape[1])},
                               steps=[logged[-1]])
    return pd.concat([table, final], ignore_index=True)


# --------------------------------------------------------------------------------------------------------------------
# single-neuron energy ascent (Li2 Thm 1-2)


@dataclass(frozen=True)
class AscentConfig:
    M: int = 23                            # group order |G|
    factors: tuple[int, ...] = ()          # moduli of a product group (product must equal M); () means Z_M
    fraction: float = 1.0                  # fraction of the M^2 pairs the empirical energy uses; 1 = full table
    steps: int = 600                       # ascent steps
    lr: float = 0.5                        # step size in units of 1/M: w <- normalise(w + (lr/M)·grad_R E)
    log_every: int = 50                    # log every this many steps (and at 0 and the end)
    hessian: bool = True                   # log the top Riemannian Hessian eigenvalues at the end (numpy, O(M^3))

    def __post_init__(self):
        runtime.check_fields(self, {"M": (3, 10**4), "factors": (2, 10**4), "fraction": (0, 1), "steps": (1, 10**8),
                                    "lr": (1e-12, 1e3), "log_every": (1, 10**8)})
        _check_group(self.M, self.factors)
        if not (0 < self.fraction <= 1):
            raise ValueError(f"fraction={self.fraction!r} is not valid; use a fraction in (0, 1]")
        if round(self.fraction * self.M ** 2) < 2:
            raise ValueError(f"fraction={self.fraction} keeps fewer than 2 pairs; use a larger fraction")
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr!r} is not valid; use a step size > 0")
        if self.steps < 1 or self.log_every < 1:
            raise ValueError(f"steps={self.steps}, log_every={self.log_every} are not valid; use integers >= 1")

    @property
    def group(self):
        return tuple(self.factors) if self.factors else self.M

    @property
    def n_pairs(self) -> int:
        return int(round(self.fraction * self.M ** 2))

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate: per-pair activations and one-hot labels (3 x pairs x M), the tangent Hessian
        ((2M)^2, four copies) and the group table."""
        return n_seeds * itemsize * (3 * self.n_pairs * self.M + 16 * self.M ** 2) + 16 * self.M ** 2


def _empirical_energy(w, a, b, label, M):
    r""":math:`\hat E(w)=\tfrac12\|\tilde Y^\top\sigma(Xw)\|^2` per seed, :math:`\tilde Y` centred over the samples
    used (Li2 Eq. 1's :math:`P_1^\perp`), σ = x²; w (S, 2M), a, b, label (S, n)."""
    S = w.shape[0]
    f = (torch.gather(w, 1, a) + torch.gather(w, 1, M + b)) ** 2
    sums = torch.zeros(S, M, dtype=w.dtype, device=w.device).scatter_add_(1, label, f)
    counts = torch.zeros(S, M, dtype=w.dtype, device=w.device).scatter_add_(1, label, torch.ones_like(f))
    proj = sums - counts * f.mean(dim=1, keepdim=True)
    return 0.5 * (proj ** 2).sum(dim=1)


def ascent(config: AscentConfig, seeds, *, device="cpu", dtype=torch.float64) -> pd.DataFrame:
    r"""Riemannian gradient ascent of single neurons on the Li2 energy, one random unit start per seed:
    :math:`w\leftarrow (w+\tfrac{lr}{M}\,\mathrm{grad}_R\hat E)/\|\cdot\|`, on the full table or on a random
    ``fraction`` of it (a fresh subsample per seed).

    Metrics: ``energy_over_M`` (:math:`\hat E/M`), ``top_share`` (share of the non-DC power of u and v in the top
    frequency orbit), ``grad_norm`` (Riemannian), and at the end ``hess_top1``/``hess_top2`` (two largest tangent
    Hessian eigenvalues over M: 0 and < 0 at a flat maximum) and ``top_frequency``.

    Reference: Tian, arXiv 2509.21519, Thm 1 (Eq. 7), Thm 2 / Cor. 1-2 (maxima), Thm 4 (subsampled tables).
    """
    device, dtype = runtime.resolve_device(device), runtime.resolve_dtype(dtype, runtime.resolve_device(device))
    seeds = [int(s) for s in seeds]
    gens = runtime.generators(seeds, device)
    M = config.M
    table = torch.as_tensor(th.cayley_table(config.group), device=device)
    pairs = runtime.randperm(gens, M * M, device=device)[:, :config.n_pairs]
    a, b = pairs // M, pairs % M
    label = table[a, b]
    w = runtime.randn(gens, (2 * M,), device=device, dtype=dtype)
    w = w / torch.linalg.norm(w, dim=1, keepdim=True)
    steps = _log_steps(config.steps, config.log_every)
    log: dict[str, list] = {}

    def record(w, g_R):
        Wn = w.detach().to("cpu", torch.float64).numpy()
        power = np.stack([th.orbit_power(x[:M], config.group) + th.orbit_power(x[M:], config.group) for x in Wn])
        log.setdefault("energy_over_M", []).append(energy.detach().cpu().double() / M)
        log.setdefault("top_share", []).append(torch.as_tensor(power[:, 1:].max(1) / power[:, 1:].sum(1)))
        log.setdefault("grad_norm", []).append(torch.linalg.norm(g_R, dim=1).detach().cpu().double())
        return power[:, 1:].argmax(1) + 1.0

    for step in range(config.steps + 1):
        w = w.detach().requires_grad_(True)
        energy = _empirical_energy(w, a, b, label, M)
        (g,) = torch.autograd.grad(energy.sum(), w)
        g_R = g - (g * w).sum(dim=1, keepdim=True) * w
        if step in steps:
            top_frequency = record(w, g_R)
        if step == config.steps:
            break
        with torch.no_grad():
            w = w + (config.lr / M) * g_R
            w = w / torch.linalg.norm(w, dim=1, keepdim=True)
    table_df = runtime.long_table(seeds, {k: torch.stack(v, dim=1) for k, v in log.items()}, steps=steps)
    final: dict[str, np.ndarray] = {"top_frequency": top_frequency}
    if config.hessian:
        Wn = w.detach().to("cpu", torch.float64).numpy()
        pn = pairs.cpu().numpy()
        eig = np.stack([th.riemannian_hessian_eigenvalues(
            Wn[s], config.group, None if config.fraction == 1 else np.stack([pn[s] // M, pn[s] % M], 1))[-2:]
            for s in range(len(seeds))])
        final["hess_top1"], final["hess_top2"] = eig[:, 1] / M, eig[:, 0] / M
    final_df = runtime.long_table(seeds, {k: v[:, None] for k, v in final.items()}, steps=[config.steps])
    return pd.concat([table_df, final_df], ignore_index=True)


# --------------------------------------------------------------------------------------------------------------------
# Gromov's analytic networks, evaluated in torch (Gromov 2023 Eq. 6; Morwani et al. Thm 7)


@dataclass(frozen=True)
class AnalyticConfig:
    grid_p: tuple[int, ...] = (3, 5, 7, 9, 15, 23, 41)     # odd p for the exact phase-grid network
    J: int = 3                                             # phase-grid size (J >= 3 exact; J = 2 fails)
    random_p: tuple[int, ...] = (23, 71)                   # p for Gromov's random-phase network
    width_ratios: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)  # random-phase width N = round(ratio * p)

    def __post_init__(self):
        runtime.check_fields(self, {"grid_p": (3, 2001), "J": (1, 64), "random_p": (3, 2001),
                                    "width_ratios": (1e-3, 1e3)})
        for p in self.grid_p + self.random_p:
            if int(p) != p or p < 3 or p % 2 == 0:
                raise ValueError(f"grid_p/random_p contain p={p!r}; use odd integers >= 3")
        if not self.grid_p and not self.random_p:
            raise ValueError("grid_p=() and random_p=() leave nothing to evaluate; give at least one odd p >= 3")
        if int(self.J) != self.J or self.J < 1:
            raise ValueError(f"J={self.J!r} is not valid; use an integer >= 1")
        if any(not r > 0 for r in self.width_ratios):
            raise ValueError(f"width_ratios={self.width_ratios!r} is not valid; use ratios > 0")

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate: hidden units and logits of the widest network on the full p^2 table, 3 copies."""
        p = max(self.grid_p + self.random_p, default=3)
        width = max(self.J ** 2 * p, max(self.width_ratios, default=1) * p)
        return int(n_seeds * itemsize * 3 * p * p * (width + p))


def _torch_accuracy_margin(W_in, W_out, p):
    """Full-table accuracy and minimal margin of the net sum_j W_out[j, q] (u_a + v_b)^2, batched over seeds."""
    t = torch.arange(p, device=W_in.device)
    a, b = torch.meshgrid(t, t, indexing="ij")
    a, b = a.reshape(1, -1).expand(W_in.shape[0], -1), b.reshape(1, -1).expand(W_in.shape[0], -1)
    logits = hidden(W_in, a, b, p) ** 2 @ W_out
    target = (a + b) % p
    correct = logits.gather(2, target[..., None])[..., 0]
    wrong = logits.scatter(2, target[..., None], float("-inf")).amax(dim=2)
    return (logits.argmax(dim=2) == target).to(W_in.dtype).mean(dim=1), (correct - wrong).amin(dim=1)


def analytic(config: AnalyticConfig, seeds, *, device="cpu", dtype=torch.float64) -> pd.DataFrame:
    """Accuracy and normalised margin of the exact phase-grid network (the same for every seed) and accuracy of
    Gromov's random-phase network (phases drawn per seed) on the full table.

    Metrics: ``grid_acc_p<p>``, ``grid_margin_ratio_p<p>`` (normalised L_{2,3} margin / Morwani's gamma*),
    ``random_acc_p<p>_N<ratio>``.

    Reference: Gromov, arXiv 2301.02679, Eqs. 6, 12-13; Morwani et al., arXiv 2311.07568, Thm 7.
    """
    device, dtype = runtime.resolve_device(device), runtime.resolve_dtype(dtype, runtime.resolve_device(device))
    seeds = [int(s) for s in seeds]
    gens = runtime.generators(seeds, device)
    S = len(seeds)
    metrics: dict[str, torch.Tensor] = {}
    for p in config.grid_p:
        W_in, W_out = (torch.as_tensor(x, device=device, dtype=dtype).expand(S, *x.shape)
                       for x in th.phase_grid_network(p, config.J))
        acc, margin = _torch_accuracy_margin(W_in, W_out, p)
        norms = torch.sqrt((W_in ** 2).sum(dim=1) + (W_out ** 2).sum(dim=2))
        metrics[f"grid_acc_p{p}"] = acc
        metrics[f"grid_margin_ratio_p{p}"] = margin / (norms ** 3).sum(dim=1) / th.morwani_max_margin(p)
    for p in config.random_p:
        for ratio in config.width_ratios:
            N = max(1, int(round(ratio * p)))
            f = (torch.arange(1, N + 1, device=device) % p).to(dtype)
            phi = 2 * np.pi * runtime.rand(gens, (2, N), device=device, dtype=dtype)
            theta = 2 * np.pi * f[None, :] * torch.arange(p, device=device, dtype=dtype)[:, None] / p
            W_in = torch.cat([torch.cos(theta + phi[:, :1]), torch.cos(theta + phi[:, 1:])], dim=1)
            W_out = torch.cos(theta + phi[:, :1] + phi[:, 1:]).transpose(1, 2)
            metrics[f"random_acc_p{p}_N{ratio:g}"] = _torch_accuracy_margin(W_in, W_out, p)[0]
    return runtime.long_table(seeds, metrics)


PRESETS: dict[str, Config] = {
    # groks in well under a minute on 2 CPU cores: train 99 % by ~epoch 50, test 99 % by ~200 (docs/grokking.md)
    "cpu": Config(M=71, fraction=0.4, K=512, lr=1e-3, weight_decay=2e-4, epochs=300, log_every=10),
    # the paper's sizes (Li2 Fig. 5 setting: lr 5e-4, wd 2e-4, K = 2048), M = 127 at 30 % of pairs
    "gpu": Config(M=127, fraction=0.3, K=2048, lr=5e-4, weight_decay=2e-4, epochs=3000, log_every=50),
    # the contract battery's size (tests/test_contract.py): a second or two on one CPU core
    "tiny": Config(M=11, fraction=0.6, K=16, lr=1e-2, weight_decay=1e-3, epochs=20, log_every=5),
}
BATCH_RTOL = 1e-9
"""A batch of seeds equals each seed alone up to this relative difference (tests/test_contract.py): batched bmm
slices and one matmul per seed round differently, and 20 Adam steps amplify that (measured below 1e-11)."""


def _paper_sweeps() -> list[Config]:
    """Li2 Fig. 5 at GPU size: training fraction x M around the critical fraction, K = 2048."""
    configs = []
    for M in (23, 41, 71, 97, 127):
        p_c = th.critical_fraction(M)
        for ratio in (0.5, 0.75, 1.0, 1.25, 1.5, 2.0):
            configs.append(Config(M=M, fraction=min(1.0, round(ratio * p_c, 4)), K=2048, lr=5e-4,
                                  weight_decay=2e-4, epochs=4000, log_every=100, stop_test_acc=0.999))
    return configs


SWEEPS: dict[str, dict] = {
    "paper": {"fn": run, "configs": _paper_sweeps(), "n_seeds": 5},
    "weight_decay": {"fn": run, "n_seeds": 5, "configs": [
        Config(M=127, fraction=0.3, K=2048, lr=1e-3, weight_decay=wd, epochs=4000, log_every=50, stop_test_acc=0.99)
        for wd in (0.0, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3)]},
}
