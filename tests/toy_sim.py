"""A toy simulator for the foundation tests: the mean square of Gaussian draws, batched over seeds.

TOY_CRASH_AT=<n> makes the run with ``config.n == n`` kill its process mid-run (a SLURM time-out, a power cut);
TOY_FAIL_AT=<n> makes it raise; TOY_CALL_LOG=<path> appends one line per executed run (to count cache misses);
TOY_ENV_LOG=<path> appends the OPENBLAS_NUM_THREADS each run saw (to check what pool workers get);
TOY_SLEEP=<s> makes every run take s seconds (to kill a sweep mid-way); TOY_NAN=1 makes the metrics NaN (a
diverged run). ``label='diverges'`` declares NaN the expected outcome; ``memory_bytes`` is 8 bytes per draw.
"""
from __future__ import annotations

import dataclasses
import os
import time

import torch

from sims import runtime


@dataclasses.dataclass(frozen=True)
class Config:
    n: int = 8          # draws per seed
    scale: float = 1.0  # standard deviation of the draws
    label: str = "a"    # a string field, to test command-line parsing
    shape: tuple[int, ...] = (2, 3)  # a tuple field

    def __post_init__(self):
        if self.n < 1:
            raise ValueError(f"n={self.n} must be >= 1")

    @property
    def expect_nonfinite(self) -> bool:
        return self.label == "diverges"

    def memory_bytes(self, n_seeds: int, itemsize: int) -> int:
        return n_seeds * itemsize * self.n


def run(config: Config, seeds, *, device, dtype):
    if os.environ.get("TOY_CALL_LOG"):
        with open(os.environ["TOY_CALL_LOG"], "a") as log:
            log.write(f"{config.n}\n")
    if os.environ.get("TOY_ENV_LOG"):
        with open(os.environ["TOY_ENV_LOG"], "a") as log:
            log.write(f"{os.environ.get('OPENBLAS_NUM_THREADS')}\n")
    if os.environ.get("TOY_PID_LOG"):
        with open(os.environ["TOY_PID_LOG"], "a") as log:
            log.write(f"{os.getpid()}\n")
    time.sleep(float(os.environ.get("TOY_SLEEP", "0")))
    if os.environ.get("TOY_CRASH_AT") == str(config.n):
        os._exit(17)
    if os.environ.get("TOY_FAIL_AT") == str(config.n):
        raise RuntimeError(f"planted failure at n={config.n}")
    gens = runtime.generators(seeds, device)
    x = runtime.randn(gens, (config.n,), device=device, dtype=dtype) * config.scale
    steps = list(range(1, config.n + 1))
    running = (x**2).cumsum(dim=1) / torch.arange(1, config.n + 1, device=device, dtype=dtype)
    if os.environ.get("TOY_NAN"):
        running = running * float("nan")
    return runtime.long_table(seeds, {"running_mean_sq": running}, steps=steps)


PRESETS = {"cpu": Config(), "gpu": Config(n=64)}
SWEEPS = {"paper": {"fn": run, "configs": [Config(n=n) for n in (4, 8)], "n_seeds": 2}}
