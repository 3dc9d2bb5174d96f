"""Benchmark: training the full LSA for 16 seeds batched (one leading seed dimension) vs 16 single-seed runs in a
loop, at the same total work. Target (issue 2): >= 8x on a 2-core CPU. Batching removes per-step Python, autograd and
Adam overhead, so the ratio is large where that overhead dominates (small per-seed batches) and falls towards ~2x
where drawing each seed's prompts (one generator per seed, by contract) dominates; all three regimes are printed."""
from __future__ import annotations

import time

from bench.common import best_time, report
from sims import icl as sim

SEEDS = list(range(16))


def _train(cfg, seeds):
    sim.run(cfg, seeds, device="cpu", dtype="float64")


def main() -> None:
    for batch, steps in ((16, 100), (64, 100), (512, 40)):
        cfg = sim.Config(d=5, n=20, steps=steps, batch=batch, eval_batch=16, lr=0.05, init="zfb")
        start = time.process_time()
        loop = best_time(lambda: [_train(cfg, [s]) for s in SEEDS], repeat=2, warmup=1)
        batched = best_time(lambda: _train(cfg, SEEDS), repeat=2, warmup=1)
        cpu = time.process_time() - start
        print(f"full LSA d=5 n=20, {steps} Adam steps, {batch} prompts/step/seed, 16 seeds (CPU time {cpu:.1f}s):")
        report([("16 single-seed runs in a loop (baseline)", loop, None),
                ("16 seeds batched", batched, 8.0 if batch == 16 else None)])


if __name__ == "__main__":
    main()
