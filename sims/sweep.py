"""The sweep runner: map many configs of one simulator over workers; results meet in the store.

Local machines use joblib (loky processes) with a progress bar; finished runs are cache hits, so a re-run of an
interrupted sweep only computes what is missing.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from sims import runtime
from sims.store import Store


def run_one(fn: Callable, config, seeds: Sequence[int], device: str, dtype: str, root: str | None,
            threads: int | None = None) -> pd.DataFrame:
    """One run through the store; the unit of work of every backend."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    return Store(root).run(fn, config, seeds, device=device, dtype=dtype)


def run_many(fn: Callable, configs: Sequence, seeds: Sequence[int], *, device="auto", dtype="auto",
             store: Store | None = None, n_jobs: int = 1, desc: str = "") -> list[pd.DataFrame]:
    """Run ``fn`` on every config (same seeds) and return their metric tables in order.

    ``n_jobs > 1`` uses joblib's loky processes with one torch thread each (no oversubscription on small
    machines); CUDA runs stay in-process, since one GPU is shared anyway.
    """
    store = store or Store()
    dev = runtime.resolve_device(device)
    dt = runtime.dtype_name(runtime.resolve_dtype(dtype, dev))
    configs = list(configs)
    todo = [c for c in configs if not store.has(fn, c, seeds, device=dev, dtype=dt)]
    if n_jobs > 1 and len(todo) > 1 and dev.type == "cpu":
        from joblib import Parallel, delayed

        jobs = (delayed(run_one)(fn, c, seeds, str(dev), dt, str(store.root), 1) for c in todo)
        for _ in runtime.progress(Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")(jobs),
                                  total=len(todo), desc=desc or fn.__module__):
            pass
    else:
        for c in runtime.progress(todo, total=len(todo), desc=desc or fn.__module__):
            store.run(fn, c, seeds, device=dev, dtype=dt)
    return [store.load(fn, c, seeds, device=dev, dtype=dt) for c in configs]
