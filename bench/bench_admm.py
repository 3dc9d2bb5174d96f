"""Speed of the vectorised admm simulator against a per-run, per-client loop (the structure of the authors' serial
MATLAB code: loops over Monte-Carlo runs x iterations x clients, one mat-vec each), same algorithm, same random
numbers, same configuration; and the wall time of the paper preset."""
from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import torch

from bench.common import best_time, report
from sims import admm as sim
from sims import runtime


def rerce_loop(config: sim.Config, seeds) -> np.ndarray:
    """RERCE-Fed (fixed C) one run and one client at a time in numpy: NMSD (linear) per seed at ``config.steps``.
    Draws the same per-seed random numbers as :func:`sims.admm.run`, so both give the same numbers."""
    if config.variant != "rerce" or config.participation != "fixed":
        raise ValueError(f"variant={config.variant!r}/{config.participation!r}: the loop baseline is RERCE, fixed C")
    data = sim.problem(config)
    K, L, rho, C = config.K, config.L, config.rho, config.C
    N = [np.linalg.inv(data["R"][k] + rho * np.eye(L)) for k in range(K)]
    w_hat = [N[k] @ data["q"][k] for k in range(K)]
    w_star = data["w_star"]
    sz, se = math.sqrt(config.sigma2_zeta), math.sqrt(config.sigma2_eta)
    steps = list(config.steps)
    out = np.zeros((len(seeds), len(steps)))
    for r, seed in enumerate(seeds):
        chunks = [z[0].numpy() for z in sim.draw_chunks(runtime.generators([seed]), config, device="cpu",
                                                          dtype=torch.float64)]
        z0 = chunks[0]
        zs = np.concatenate(chunks[1:]) if len(chunks) > 1 else np.zeros((0, K + C * 2 * L))
        w = [w_hat[k].copy() for k in range(K)]
        sel = np.argsort(-z0[:, 2 * L], kind="stable")[:C]
        g = sum(w_hat[k] + se * z0[k, L:2 * L] for k in sel) / C
        g_prev = (0.0 if config.init == "literal" else 1.0 - K / C) * g

        def nmsd():
            return sum(float((w[k] - w_star) @ (w[k] - w_star)) for k in range(K)) / (K * float(w_star @ w_star))

        if 0 in steps:
            out[r, steps.index(0)] = nmsd()
        for n in range(config.n_iter):
            zi = zs[n]
            noise = zi[K:].reshape(config.noise_slots, 2 * L)
            s = 2 * g - g_prev
            sel = np.argsort(-zi[:K], kind="stable")[:C]
            acc = np.zeros(L)
            for j, k in enumerate(sel):
                nz = noise[j] if config.noise_slots < K else noise[k]
                w[k] = w[k] + rho * N[k] @ (s + sz * nz[:L] - w[k])
                acc += w[k] + se * nz[L:]
            g_prev, g = g, acc / C
            if n + 1 in steps:
                out[r, steps.index(n + 1)] = nmsd()
    return out


def main():
    torch.set_num_threads(1)
    cfg = replace(sim.SMALL, n_iter=100, window=0, n_record=10)
    seeds = runtime.seed_list(1000)
    vec = best_time(lambda: sim.run(cfg, seeds, device="cpu", dtype=torch.float64), repeat=3)
    loop = best_time(lambda: rerce_loop(cfg, seeds), repeat=1, warmup=0)
    cpu0 = time.process_time()
    sim.run(cfg, seeds, device="cpu", dtype=torch.float64)
    cpu_vec = time.process_time() - cpu0
    cpu0 = time.process_time()
    rerce_loop(cfg, seeds)
    cpu_loop = time.process_time() - cpu0
    print(f"RERCE-Fed K={cfg.K} L={cfg.L} C={cfg.C}, {len(seeds)} runs x {cfg.n_iter} iterations, CPU float64, "
          f"1 thread:")
    report([("per-run per-client loop (numpy)", loop, None), ("vectorised (runs x clients tensor)", vec, 25)])
    print(f"  same runs by CPU time (robust to a busy machine): loop {cpu_loop:.2f} s, vectorised {cpu_vec:.3f} s, "
          f"ratio {cpu_loop / cpu_vec:.1f}x")
    big = replace(sim.PAPER, n_iter=100, window=0, n_record=5)
    few = runtime.seed_list(10)
    vec_b = best_time(lambda: sim.run(big, few, device="cpu", dtype=torch.float64), repeat=2)
    loop_b = best_time(lambda: rerce_loop(big, few), repeat=1, warmup=0)
    print(f"RERCE-Fed paper scale K=100 L=128 C=4, {len(few)} runs x {big.n_iter} iterations:")
    report([("per-run per-client loop (numpy)", loop_b, None), ("vectorised", vec_b, 10)])
    grid, n_seeds = sim.SWEEPS["paper_cpu"]["configs"], sim.SWEEPS["paper_cpu"]["n_seeds"]
    start, cpu0 = time.perf_counter(), time.process_time()
    for c in grid:
        sim.run(c, runtime.seed_list(n_seeds), device="cpu", dtype=torch.float64)
    print(f"paper preset grid ({len(grid)} configs, {n_seeds} seeds, 500 iterations, CPU, 1 process): "
          f"wall {time.perf_counter() - start:.1f} s, CPU {time.process_time() - cpu0:.1f} s")
    if torch.cuda.is_available():
        start = time.perf_counter()
        for c in grid:
            sim.run(c, runtime.seed_list(sim.SWEEPS["paper"]["n_seeds"]), device="cuda", dtype=torch.float32)
        torch.cuda.synchronize()
        print(f"paper preset grid on {torch.cuda.get_device_name()} (100 seeds, float32): "
              f"wall {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
