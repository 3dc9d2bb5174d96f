r"""Monte-Carlo simulator of noise-robust ADMM federated WLS: RERCE-Fed, its continual variant and the baselines.

Every variant runs all Monte-Carlo runs (seeds) and all clients as one tensor of shape (runs, K, L); there is no
Python loop over runs or clients, only over iterations. The data (X_k, y_k) are drawn once from ``data_seed``, as in
the paper's code (Monte Carlo is over link noise and scheduling only); each seed's link noise and schedule come from
its own generator, one draw per chunk of iterations of shape (chunk, K + slots*2L): K values that rank the clients
for scheduling (the C largest are selected; Bernoulli(p) selects z < Phi^{-1}(p)), then the downlink noise zeta
and uplink noise eta (L each) of the scheduled clients in rank order (slots = C for fixed C, else all K clients).
Scaling the noise amplitudes therefore keeps the random numbers common (docs/admm.md property P4).

Variants (n counts local updates; step 0 is the state after the first upload):
- ``rerce``  (Alg. 4, eq. 4.12): selected clients do w_k <- (I - rho N_k) w_k + rho N_k (s_n + zeta_k) and upload
  w_k + eta_k; the server averages the fresh uploads (1/C, or 1/|S_n| under Bernoulli with the step skipped when
  S_n is empty) and broadcasts s_{n+1} = 2 w_{n+1} - w_n. Init: w_k = w_hat_k, w_1 = mean of selected uploads,
  w_0 = 0 (``init="literal"``) or w_0 = (1 - K/C) w_1 (``"corrected"``, removes the mean bias).
- ``continual`` (Alg. 5, eqs. 4.13-4.14): every client updates towards its latest stored copy r_k; selected
  clients refresh r_k <- s + zeta_k and upload t_k = 2 w_k' - w_k + eta_k; the server broadcasts the mean of all
  stored t_k. Init as the authors' code: all clients upload 2 w_hat_k + eta_k, r_k = 0.
- ``admm`` (eqs. 4.4-4.6), the testbed's noise placement (the paper does not spell it out): one noisy reception
  w~ = w_n + zeta_k used in both z_k <- z_k + rho (w_k - w~) and w_k <- w_hat_k - N_k (z_k - rho w~); upload
  w_k + z_k / rho + eta_k; full participation.
- ``dual_free`` (eqs. 4.9-4.10): RERCE with C = K (the noisy dual-free iteration), full participation.
- ``fedprox``: w_k = (R_k + rho I)^{-1}(q_k + rho g~) (rho plays FedProx's mu), g = mean of uploads.
- ``fedavg``: E = ``local_steps`` gradient steps w <- w - lr (R_k w - q_k) from g~, then averaging.

Reference: Lari, Arablouei, Gogineni, Werner, arXiv:2409.13451 (2024); thesis ch. 4; docs/admm.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from scipy.stats import norm

from sims import runtime
from theory import admm as theory

VARIANTS = ("rerce", "continual", "admm", "dual_free", "fedavg", "fedprox")
FULL_ONLY = ("admm", "dual_free", "fedavg", "fedprox")
GATHER_MIN_L = 16  # RERCE with C <= K/2 updates only the gathered selected clients from this model size on


@dataclass(frozen=True)
class Config:
    variant: str = "rerce"          # algorithm, one of VARIANTS
    K: int = 6                      # number of clients
    L: int = 6                      # model dimension
    d_min: int = 10                 # fewest samples of a client (d_k ~ U{d_min..d_max}; d_k < L allowed)
    d_max: int = 30                 # most samples of a client
    sigma_nu: float = 1.0           # observation-noise std; weights W_k = I / sigma_nu^2 (paper: 0.01)
    rho: float = 1.0                # ADMM penalty (FedProx: its proximal weight mu)
    C: int = 3                      # clients per iteration (fixed size) or expected number (Bernoulli p = C/K)
    participation: str = "fixed"    # "fixed" (uniform subset of size C) or "bernoulli" (each w.p. C/K)
    init: str = "literal"           # RERCE first step: "literal" Alg. 4 (w_0 = 0) or "corrected" (unbiased)
    sigma2_zeta: float = 0.0        # downlink (server -> client) noise variance
    sigma2_eta: float = 0.0         # uplink (client -> server) noise variance
    n_iter: int = 500               # local-update iterations after the first upload
    n_record: int = 40              # about this many log-spaced recorded steps (plus 0, powers of 10, n_iter)
    window: int = 0                 # length of the final window averaged into metric nmsd_window (0: none)
    record_mean: bool = False       # also record per-seed error vectors of the average local and global models
    lr: float = 0.0                 # FedAvg local step size (0: 1 / max_k lambda_max(R_k))
    local_steps: int = 1            # FedAvg local gradient steps per round
    data_seed: int = 0              # seed of the dataset, fixed across Monte-Carlo seeds as in the paper
    chunk: int = 100                # iterations whose random numbers are drawn per generator call

    def __post_init__(self):
        def bad(field, value, valid):
            raise ValueError(f"{field}={value!r} is not valid; {valid}")

        runtime.check_fields(self, {"K": (1, 100_000), "L": (1, 4096), "d_min": (1, 10**6), "d_max": (1, 10**6),
                                    "sigma_nu": (1e-12, 1e6), "rho": (1e-12, 1e6), "C": (1, 100_000),
                                    "sigma2_zeta": (0, 1e6), "sigma2_eta": (0, 1e6), "n_iter": (0, 10**8),
                                    "n_record": (1, 10**5), "window": (0, 10**8), "lr": (0, 1e6),
                                    "local_steps": (1, 10**5), "data_seed": (0, 2**32 - 1), "chunk": (1, 10**5)})
        if self.variant not in VARIANTS:
            bad("variant", self.variant, f"use one of {VARIANTS}")
        if not 1 <= self.K <= 100_000:
            bad("K", self.K, "need 1 <= K <= 100000")
        if not 1 <= self.L <= 4096:
            bad("L", self.L, "need 1 <= L <= 4096")
        if not 1 <= self.d_min <= self.d_max:
            bad("d_min", self.d_min, f"need 1 <= d_min <= d_max={self.d_max}")
        if self.K * self.d_max < self.L:
            bad("d_max", self.d_max, f"need K*d_max >= L={self.L} so that H can be non-singular")
        if not (math.isfinite(self.sigma_nu) and self.sigma_nu > 0):
            bad("sigma_nu", self.sigma_nu, "need a finite std > 0")
        if not (math.isfinite(self.rho) and self.rho > 0):
            bad("rho", self.rho, "need a finite rho > 0")
        if not 1 <= self.C <= self.K:
            bad("C", self.C, f"need 1 <= C <= K={self.K}")
        if self.variant in FULL_ONLY and self.C != self.K:
            bad("C", self.C, f"variant {self.variant!r} runs with full participation: set C = K = {self.K}")
        if self.participation not in theory.PARTICIPATIONS:
            bad("participation", self.participation, f"use one of {theory.PARTICIPATIONS}")
        if self.init not in theory.INITS:
            bad("init", self.init, f"use one of {theory.INITS}")
        for f in ("sigma2_zeta", "sigma2_eta"):
            v = getattr(self, f)
            if not (math.isfinite(v) and v >= 0):
                bad(f, v, "need a finite variance >= 0")
        if self.n_iter < 0:
            bad("n_iter", self.n_iter, "need n_iter >= 0")
        if self.n_record < 1:
            bad("n_record", self.n_record, "need n_record >= 1")
        if not 0 <= self.window <= self.n_iter:
            bad("window", self.window, f"need 0 <= window <= n_iter={self.n_iter}")
        if not (math.isfinite(self.lr) and self.lr >= 0):
            bad("lr", self.lr, "need a finite lr >= 0 (0 = automatic)")
        if self.local_steps < 1:
            bad("local_steps", self.local_steps, "need local_steps >= 1")
        if self.chunk < 1:
            bad("chunk", self.chunk, "need chunk >= 1")
        if self.data_seed < 0:
            bad("data_seed", self.data_seed, "need data_seed >= 0 (a numpy SeedSequence entropy)")

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate: the clients' data (K x d_max x L) and normal matrices (K x L x L, three copies for
        the solves), a chunk of link noise (chunk x K x L, both links), and the recorded means, twice."""
        per = 3 * self.K * self.L ** 2 + self.K * self.d_max * self.L + 2 * self.chunk * self.K * self.L
        recorded = (2 * self.n_record + 16) * self.L * (2 if self.record_mean else 0)
        return n_seeds * itemsize * 2 * (per + recorded)

    @property
    def a_bar(self) -> float:
        """Participation probability C/K of a client in one iteration."""
        return self.C / self.K

    @property
    def noise_slots(self) -> int:
        """Clients whose link noise is drawn per iteration: the C scheduled ones (fixed C, RERCE and continual),
        else all K."""
        fixed_partial = self.participation == "fixed" and self.variant in ("rerce", "continual") and self.C < self.K
        return self.C if fixed_partial else self.K

    @property
    def steps(self) -> np.ndarray:
        """Recorded steps: 0, log-spaced points, powers of ten and n_iter."""
        T = self.n_iter
        pts = [0, T] + [10 ** j for j in range(8) if 10 ** j <= T]
        if T >= 1:
            pts += list(np.unique(np.round(np.geomspace(1, T, self.n_record)).astype(int)))
        return np.unique(np.asarray(pts, dtype=int))


# ------------------------------------------------------------------------------------------------------- data
def make_problem(K, L, d_min, d_max, sigma_nu, data_seed):
    r"""The paper's non-IID data [Th sec. 4.5 + code]: d_k ~ U{d_min..d_max}; X_k entries N(mu_k, s_k^2) with
    mu_k ~ U(-.5, .5), s_k^2 ~ U(.5, 1.5); omega ~ N(0, I) centred and rescaled to ||omega||^2 = L;
    nu_k = sigma_nu * (centred standard normals rescaled to unit RMS); W_k = I / sigma_nu^2.
    Returns dict(Xs, ys, R, q, w_star) in float64 numpy (deterministic in data_seed)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(data_seed), 7411]))
    d = rng.integers(d_min, d_max + 1, size=K)
    mu = rng.uniform(-0.5, 0.5, size=K)
    var = rng.uniform(0.5, 1.5, size=K)
    omega = rng.standard_normal(L)
    omega = omega - omega.mean() if L > 1 else omega
    omega *= math.sqrt(L) / max(np.linalg.norm(omega), 1e-300)
    Xs, ys = [], []
    for k in range(K):
        X = mu[k] + math.sqrt(var[k]) * rng.standard_normal((d[k], L))
        nu = rng.standard_normal(d[k])
        if d[k] > 1:
            nu = nu - nu.mean()
        nu *= sigma_nu / max(math.sqrt(np.mean(nu ** 2)), 1e-300)
        Xs.append(X)
        ys.append(X @ omega + nu)
    R, q = theory.wls_terms(Xs, ys)
    R, q = R / sigma_nu ** 2, q / sigma_nu ** 2
    return {"Xs": Xs, "ys": ys, "R": R, "q": q, "w_star": theory.solve_wls(R, q), "d": d}


def problem(config: Config) -> dict:
    """The dataset of a config (the same for every Monte-Carlo seed)."""
    return make_problem(config.K, config.L, config.d_min, config.d_max, config.sigma_nu, config.data_seed)


def draw_chunks(gens, config: Config, *, device, dtype):
    """Per-seed standard normals: first (S, K, 2L+1) for the initial upload (columns zeta, eta, rank), then
    (S, chunk, K + slots*2L) blocks: K ranking values, then (zeta, eta) for ``config.noise_slots`` clients.

    Drawn in float32 and cast to ``dtype``: torch's float64 normal sampler is ~5x slower on the CPU and was most of
    the paper-scale run time; 24-bit normals are ample for Monte Carlo, and all arithmetic stays in ``dtype``."""
    K, L = config.K, config.L
    yield runtime.randn(gens, (K, 2 * L + 1), device=device, dtype=torch.float32).to(dtype)
    done = 0
    while done < config.n_iter:
        m = min(config.chunk, config.n_iter - done)
        yield runtime.randn(gens, (m, K + config.noise_slots * 2 * L), device=device,
                            dtype=torch.float32).to(dtype)
        done += m


def _selection(z_sched, config: Config):
    """Participation mask (S, K) from the scheduling column: the C largest (fixed) or z < Phi^{-1}(p)."""
    if config.variant in FULL_ONLY or config.C == config.K and config.participation == "fixed":
        return torch.ones_like(z_sched, dtype=torch.bool)
    if config.participation == "fixed":
        thr = torch.topk(z_sched, config.C, dim=-1).values[..., -1:]
        return z_sched >= thr
    p = config.C / config.K
    if p >= 1:
        return torch.ones_like(z_sched, dtype=torch.bool)
    return z_sched < float(norm.ppf(p))


# -------------------------------------------------------------------------------------------------- simulator
def run(config: Config, seeds, *, device="cpu", dtype=torch.float64):
    """Monte-Carlo run of ``config.variant`` for all ``seeds`` at once; tidy table of per-seed metrics.

    Metrics: ``nmsd`` (per step, linear: (1/K) sum_k ||w_k - w*||^2 / ||w*||^2 on local models, eq. 4.35),
    ``nmsd_global`` (per step, ||w_n - w*||^2 / ||w*||^2 for the server model; the broadcast mean for the
    continual variant), and without step: ``nmsd_window`` (mean over the last ``window`` iterations) and, with
    ``record_mean``, ``local_err_j`` / ``global_err_j`` (coordinates of the average local-model error and of the
    global-model error at n_iter).
    """
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    seeds = [int(s) for s in seeds]
    data = problem(config)
    with runtime.one_cpu_thread(device):
        out = simulate(config, data, runtime.generators(seeds, device), device=device, dtype=dtype)
    steps = config.steps
    table = runtime.long_table(seeds, {"nmsd": out["nmsd"], "nmsd_global": out["nmsd_global"]}, steps=steps)
    scalars = {}
    if config.window:
        scalars["nmsd_window"] = out["nmsd_window"]
    if config.record_mean:
        for j in range(config.L):
            scalars[f"local_err_{j}"] = out["local_err"][:, j]
        for j in range(config.L):
            scalars[f"global_err_{j}"] = out["global_err"][:, j]
    if scalars:
        import pandas as pd

        table = pd.concat([table, runtime.long_table(seeds, scalars)], ignore_index=True)
    return table


def simulate(config: Config, data: dict, gens, *, device, dtype):
    """The vectorised iteration; returns tensors (nmsd (S, n_steps), nmsd_global, nmsd_window, errors)."""
    K, L, rho = config.K, config.L, config.rho
    S = len(gens)
    t = dict(device=device, dtype=dtype)
    R = torch.as_tensor(data["R"], **t)
    q = torch.as_tensor(data["q"], **t)
    w_star = torch.as_tensor(data["w_star"], **t)
    # contiguous: LAPACK returns the inverse column-major, and the per-client bmm of mv() on that layout ran 9x slower
    N = torch.linalg.inv(R + rho * torch.eye(L, **t)).contiguous()
    rhoN = rho * N
    w_hat = torch.einsum("kij,kj->ki", N, q)
    sz, se = math.sqrt(config.sigma2_zeta), math.sqrt(config.sigma2_eta)
    norm2 = float(data["w_star"] @ data["w_star"])
    steps = config.steps
    rec_at = {int(s): i for i, s in enumerate(steps)}
    nmsd = torch.zeros(S, len(steps), **t)
    nmsd_g = torch.zeros(S, len(steps), **t)
    win = torch.zeros(S, **t)
    v = config.variant
    full = v in FULL_ONLY
    fixed = config.participation == "fixed" or full
    # Only the C selected clients' (L, L) blocks are gathered when that saves real work (paper scale: C = 4 of
    # 100); for small L the index operations cost more than the masked update of all K clients.
    gather = fixed and not full and config.C * 2 <= K and v == "rerce" and L >= GATHER_MIN_L

    def mv(M, x):  # per-client mat-vec, M (K, L, L), x (S, K, L); one batched matmul (2.5x faster than einsum)
        return (M @ x.permute(1, 2, 0)).permute(2, 0, 1)

    chunks = draw_chunks(gens, config, device=device, dtype=dtype)
    z0 = next(chunks)
    eta0 = se * z0[..., L:2 * L]
    w_loc = w_hat.expand(S, K, L).clone()
    if v == "continual":
        r = torch.zeros(S, K, L, **t)
        t_up = 2 * w_hat + eta0
        w_g = t_up.mean(1)
    else:
        af = _selection(z0[..., 2 * L], config).to(dtype)
        cnt = af.sum(1, keepdim=True)
        w_g = ((w_hat + eta0) * af[..., None]).sum(1) / cnt.clamp(min=1)
        gamma = 0.0 if config.init == "literal" or v != "rerce" else 1.0 - K / config.C
        w_prev = gamma * w_g
        if v == "admm":
            z = torch.zeros(S, K, L, **t)
        if v == "fedavg":
            lr = config.lr or 1.0 / float(np.linalg.eigvalsh(data["R"]).max())

    def record(n):
        in_window = config.window and n > config.n_iter - config.window
        if n not in rec_at and not in_window:
            return
        e = ((w_loc - w_star) ** 2).sum((1, 2)) / (K * norm2)
        if n in rec_at:
            nmsd[:, rec_at[n]] = e
            nmsd_g[:, rec_at[n]] = ((w_g - w_star) ** 2).sum(1) / norm2
        if in_window:
            win.add_(e / config.window)

    record(0)
    n = 0
    slots = config.noise_slots
    for z_chunk in chunks:
        for i in range(z_chunk.shape[1]):
            zi = z_chunk[:, i]
            sched, noise = zi[..., :K], zi[..., K:].reshape(S, slots, 2 * L)
            if slots < K:  # fixed C: noise rows belong to the scheduled clients in rank order
                idx = torch.topk(sched, config.C, dim=-1).indices                        # (S, C)
                ix = idx[..., None].expand(S, config.C, L)
                zeta_sel, eta_sel = sz * noise[..., :L], se * noise[..., L:]
                if not gather:
                    zeta = torch.zeros(S, K, L, **t).scatter(1, ix, zeta_sel)
                    eta = torch.zeros(S, K, L, **t).scatter(1, ix, eta_sel)
                    a = torch.zeros(S, K, dtype=torch.bool, device=device).scatter(1, idx, True)
            else:
                zeta, eta = sz * noise[..., :L], se * noise[..., L:]
                a = _selection(sched, config)
            if v in ("rerce", "dual_free"):
                s = 2 * w_g - w_prev
                if gather:
                    w_sel = torch.gather(w_loc, 1, ix)
                    new = w_sel + torch.einsum("scij,scj->sci", rhoN[idx], s[:, None] + zeta_sel - w_sel)
                    w_loc = w_loc.scatter(1, ix, new)
                    w_prev, w_g = w_g, (new + eta_sel).mean(1)
                else:
                    af = a.to(dtype)[..., None]
                    new = w_loc + mv(rhoN, s[:, None] + zeta - w_loc)
                    w_loc = torch.where(a[..., None], new, w_loc)
                    cnt = af.sum(1)
                    agg = ((new + eta) * af).sum(1) / cnt.clamp(min=1)
                    keep = cnt == 0                                    # Bernoulli: empty set skips the step
                    w_prev, w_g = torch.where(keep, w_prev, w_g), torch.where(keep, w_g, agg)
            elif v == "continual":
                a = a[..., None]
                s = t_up.mean(1)
                r = torch.where(a, s[:, None] + zeta, r)
                new = w_loc + mv(rhoN, r - w_loc)
                t_up = torch.where(a, 2 * new - w_loc + eta, t_up)
                w_loc = new
                w_g = t_up.mean(1)
            elif v == "admm":
                w_rx = w_g[:, None] + zeta
                z = z + rho * (w_loc - w_rx)
                w_loc = w_hat - mv(N, z - rho * w_rx)
                w_g = (w_loc + z / rho + eta).mean(1)
            elif v == "fedprox":
                w_loc = w_hat + mv(rhoN, w_g[:, None] + zeta)
                w_g = (w_loc + eta).mean(1)
            else:  # fedavg
                w_loc = (w_g[:, None] + zeta).clone()
                for _ in range(config.local_steps):
                    w_loc = w_loc - lr * (mv(R, w_loc) - q)
                w_g = (w_loc + eta).mean(1)
            n += 1
            record(n)
    out = {"nmsd": nmsd, "nmsd_global": nmsd_g, "nmsd_window": win,
           "local_err": (w_loc - w_star).mean(1), "global_err": w_g - w_star,
           "w_loc": w_loc, "w_g": w_g}
    return out


# -------------------------------------------------------------------------------- identities (claim admm.1)
@dataclass(frozen=True)
class IdentityConfig:
    K: int = 6                      # number of clients
    L: int = 6                      # model dimension
    d_min: int = 3                  # fewest samples of a client (below L: rank-deficient clients)
    d_max: int = 12                 # most samples of a client
    sigma_nu: float = 1.0           # observation-noise std (W_k = I / sigma_nu^2)
    rho: float = 1.0                # ADMM penalty
    n_iter: int = 2000              # iterations
    data_seed: int = 0              # root of the per-seed datasets (seed s uses data_seed * 100003 + s)

    def __post_init__(self):
        runtime.check_fields(self, {"K": (1, 100_000), "L": (1, 4096), "d_min": (1, 10**6), "d_max": (1, 10**6),
                                    "sigma_nu": (1e-12, 1e6), "rho": (1e-12, 1e6), "n_iter": (1, 10**8),
                                    "data_seed": (0, 2**32 - 1)})
        Config(K=self.K, L=self.L, d_min=self.d_min, d_max=self.d_max, sigma_nu=self.sigma_nu, rho=self.rho,
               C=self.K, n_iter=self.n_iter, data_seed=self.data_seed)
        if self.n_iter < 1:
            raise ValueError(f"n_iter={self.n_iter!r} is not valid; need n_iter >= 1")

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        """Peak memory estimate: each seed's dataset (K x d_max x L) and normal matrices (K x L x L, three copies),
        four times."""
        return n_seeds * itemsize * 4 * (3 * self.K * self.L ** 2 + self.K * self.d_max * self.L)


def run_identities(config: IdentityConfig, seeds, *, device="cpu", dtype=torch.float64):
    """Noise-free full participation, one dataset per seed (batched: data tensors carry the seed dimension):
    ADMM (4.4)-(4.6), the dual-free form (4.10), RERCE with C = K and the continual variant with C = K run side by
    side. Metrics per seed: ``max_diff_admm_dual_free``, ``max_diff_rerce_continual`` (max over n, k of
    ||w_k^A - w_k^B||_inf / ||w*||_inf), ``invariant_rel_residual`` (max_n ||Q_n - sum q|| / ||sum q||),
    ``final_rel_err`` (max_k ||w_k - w*|| / ||w*|| at n_iter), ``cond_H`` and ``tau`` (mixing time)."""
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    seeds = [int(s) for s in seeds]
    K, L, rho = config.K, config.L, config.rho
    probs = [make_problem(K, L, config.d_min, config.d_max, config.sigma_nu, config.data_seed * 100003 + s)
             for s in seeds]
    t = dict(device=device, dtype=dtype)
    R = torch.as_tensor(np.stack([p["R"] for p in probs]), **t)              # (S, K, L, L)
    q = torch.as_tensor(np.stack([p["q"] for p in probs]), **t)
    w_star = torch.as_tensor(np.stack([p["w_star"] for p in probs]), **t)  # (S, L)
    Ninv = R + rho * torch.eye(L, **t)
    N = torch.linalg.inv(Ninv)
    w_hat = torch.einsum("skij,skj->ski", N, q)

    def mv(M, x):
        return torch.einsum("skij,skj->ski", M, x)

    scale = w_star.abs().amax(1)
    sum_q = q.sum(1)
    # ADMM
    wa, za, ga = w_hat.clone(), torch.zeros_like(w_hat), w_hat.mean(1)
    # dual-free (4.10) with w_{-1} = 0
    wd, gd, gd_prev = w_hat.clone(), w_hat.mean(1), torch.zeros_like(sum_q)
    # continual with C = K: all clients refresh every iteration
    wc, tc = w_hat.clone(), 2 * w_hat
    d_ad = torch.zeros(len(seeds), **t)
    d_rc = torch.zeros(len(seeds), **t)
    inv = torch.zeros(len(seeds), **t)
    for _ in range(config.n_iter):
        za = za + rho * (wa - ga[:, None])
        wa = w_hat - mv(N, za - rho * ga[:, None])
        ga = (wa + za / rho).mean(1)
        wd_next = wd + rho * mv(N, (2 * gd - gd_prev)[:, None] - wd)
        Q = torch.einsum("skij,skj->si", Ninv, wd_next) - rho * wd.sum(1)
        inv = torch.maximum(inv, (Q - sum_q).norm(dim=1) / sum_q.norm(dim=1))
        wd, gd_prev, gd = wd_next, gd, wd_next.mean(1)
        s = tc.mean(1)
        wc_next = wc + rho * mv(N, s[:, None] - wc)
        tc, wc = 2 * wc_next - wc, wc_next
        d_ad = torch.maximum(d_ad, (wa - wd).abs().amax((1, 2)) / scale)
        d_rc = torch.maximum(d_rc, (wc - wd).abs().amax((1, 2)) / scale)
    final = ((wd - w_star[:, None]).norm(dim=2).amax(1) / w_star.norm(dim=1))
    cond = torch.linalg.cond(R.sum(1))
    tau = [theory.mixing_time(p["R"], rho, K) for p in probs]
    return runtime.long_table(seeds, {"max_diff_admm_dual_free": d_ad, "max_diff_rerce_continual": d_rc,
                                      "invariant_rel_residual": inv, "final_rel_err": final, "cond_H": cond,
                                      "tau": np.asarray(tau)})


# ---------------------------------------------------------------------------------------- presets and sweeps
SMALL = Config(variant="rerce", K=6, L=6, d_min=10, d_max=30, sigma_nu=1.0, rho=1.0, C=3,
               sigma2_zeta=1e-2, sigma2_eta=1e-2, n_iter=2000, window=500)
PAPER = Config(variant="rerce", K=100, L=128, d_min=51, d_max=90, sigma_nu=0.01, rho=1.0, C=4,
               sigma2_zeta=6.25e-4, sigma2_eta=6.25e-4, n_iter=500, window=100)


def paper_grid() -> list[Config]:
    """The paper's large setting [Th Figs 4.1, 4.3-4.6]: RERCE and continual at C in {4, 10, 25, 100}, noisy ADMM
    at C = K, link noise 6.25e-4 and 1e-2 (uplink = downlink)."""
    configs = []
    for s2 in (6.25e-4, 1e-2):
        for C in (4, 10, 25, 100):
            for v in ("rerce", "continual"):
                configs.append(replace(PAPER, variant=v, C=C, sigma2_zeta=s2, sigma2_eta=s2))
        configs.append(replace(PAPER, variant="admm", C=100, sigma2_zeta=s2, sigma2_eta=s2))
    return configs


PRESETS: dict[str, Config] = {"cpu": SMALL, "gpu": PAPER, "paper": PAPER,
                               # the contract battery's size (tests/test_contract.py): well under a second
                               "tiny": replace(SMALL, n_iter=40, window=10, n_record=8, sigma2_zeta=1e-2,
                                               sigma2_eta=1e-2)}
BATCH_RTOL = 1e-13
"""A batch of seeds equals each seed alone up to this relative difference (tests/test_contract.py): the same
draws per seed; batched matrix products may round differently (C·n·eps with n ~ 100 operations per iteration)."""
SWEEPS: dict[str, dict] = {"paper": {"fn": run, "configs": paper_grid(), "n_seeds": 100},
                           "paper_cpu": {"fn": run, "configs": paper_grid(), "n_seeds": 10}}
