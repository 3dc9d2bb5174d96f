"""Speed of the grokking simulator: index-gather, hand-written gradients, seeds in cache-sized groups (one batch on
an accelerator), against a one-hot autograd implementation of the same model run one seed at a time; and the CPU
preset's time to 99 % test accuracy."""
from __future__ import annotations

import dataclasses
import time

import torch

from bench.common import best_time, report
from sims import grokking as sim
from sims import runtime


def one_hot_one_seed(config: sim.Config, seed: int, *, device="cpu", dtype=torch.float64) -> torch.Tensor:
    """The textbook implementation: X = [onehot(a), onehot(b)] (n x 2M), nn-style autograd, one seed. Same data
    split, init and optimiser as the simulator, so it trains the same network (returns the final W)."""
    gens = runtime.generators([seed], device)
    (a, b, y), _ = sim._split(config, gens, device)
    W, V = sim._init(config, gens, device, dtype)
    W, V = W[0].clone().requires_grad_(), V[0].clone().requires_grad_()
    M = config.M
    X = torch.cat([torch.nn.functional.one_hot(a[0], M), torch.nn.functional.one_hot(b[0], M)], dim=1).to(dtype)
    target = torch.nn.functional.one_hot(y[0], M).to(dtype) - 1.0 / M
    opt = torch.optim.Adam([W, V], lr=config.lr, weight_decay=config.weight_decay)
    for _ in range(config.epochs):
        opt.zero_grad()
        o = ((X @ W) ** 2) @ V
        (((o - o.mean(dim=1, keepdim=True) - target) ** 2).sum(dim=1).mean()).backward()
        opt.step()
    return W.detach()


def batched_steps(config: sim.Config, seeds, *, group: int | None = None, device="cpu",
                  dtype=torch.float64) -> list[torch.Tensor]:
    """The simulator's training loop with evaluations only at the first and last epoch: index-gather, hand
    gradients, the seeds in groups of ``group`` (None: one batch of all of them)."""
    group = group or len(seeds)
    out = []
    for i in range(0, len(seeds), group):
        tr = sim._Trainer(dataclasses.replace(config, log_every=config.epochs + 1), seeds[i:i + group], device, dtype)
        tr.advance(config.epochs, stop=False)
        out.append(tr.W)
    return out


def main() -> None:
    n_seeds = 8
    config = dataclasses.replace(sim.PRESETS["cpu"], epochs=20, log_every=20)
    seeds = list(range(n_seeds))
    print(f"M={config.M}, K={config.K}, p={config.fraction}, {config.epochs} epochs, {n_seeds} seeds, float64, "
          f"{torch.get_num_threads()} torch threads", flush=True)
    group = max(1, sim.CPU_GROUP_ELEMENTS // (config.n_train * config.K))
    loop = best_time(lambda: [one_hot_one_seed(config, s) for s in seeds], repeat=1, warmup=0)
    steps = best_time(lambda: batched_steps(config, seeds), repeat=1, warmup=0)
    grouped = best_time(lambda: batched_steps(config, seeds, group=group), repeat=1, warmup=0)
    run = best_time(lambda: sim.run(config, seeds), repeat=1, warmup=0)
    report([("one-hot autograd, one seed at a time (baseline)", loop, None),
            ("index-gather, hand gradients, all seeds batched", steps, None),
            (f"the same in CPU groups of {group} seed(s) (sim path)", grouped, 4.0),
            ("sim.run (the same + 2 full-table evaluations)", run, None)])
    print("  (on a CPU both sides run the same F V product and its two gradients; the one-hot side adds X W and its "
          "gradient, 2 x 2n M K flops against 3 x n K M: about 2.3x is the most the gather can save)", flush=True)
    preset = dataclasses.replace(sim.PRESETS["cpu"], epochs=400, log_every=10, stop_test_acc=0.99)
    start = time.perf_counter()
    df = sim.run(preset, [0])
    wall = time.perf_counter() - start
    epoch = int(df[df.metric == "test_acc"].step.max())
    flag = "" if wall < 20 else "  (above target 20 s)"
    print(f"  CPU preset (M=71, 40 %, K=512, 1 seed) to 99 % test accuracy: epoch {epoch}, {wall:.1f} s wall{flag}",
          flush=True)


if __name__ == "__main__":
    main()
