"""Timing and memory helpers for benchmarks (best-of-k wall time, peak memory, a ratio table)."""
from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable


def best_time(fn: Callable[[], object], repeat: int = 3, warmup: int = 1) -> float:
    """Best wall time of ``repeat`` calls after ``warmup`` calls (CUDA synchronised if present)."""
    import torch

    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def peak_python_memory(fn: Callable[[], object]) -> int:
    """Peak bytes allocated through Python/numpy allocators during fn (tracemalloc; CPU tensors included)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def report(rows: list[tuple[str, float, float]], unit: str = "s") -> None:
    """Print name, value and ratio against the first row (the baseline), and for rows with a target whether the
    ratio meets it (a miss is printed as a miss)."""
    base = rows[0][1]
    for name, value, target in rows:
        ratio = base / value if value else float("inf")
        flag = "" if target is None else f"   target >= {target:g}x: {'met' if ratio >= target else 'MISS'}"
        print(f"  {name:<48} {value:10.4f} {unit}   speed-up vs baseline {ratio:8.1f}x{flag}", flush=True)
