"""One worker pool for every simulation a validation needs: find the runs the claims ask for, run them longest
first on ``n_jobs`` processes, then let the claims evaluate from the store (every run a cache hit).

Without it, each ``ctx.run`` runs in the main process while the second core idles, and a long run discovered late
(hierarchical's d = 48) starts last. With it the claims still evaluate exactly as before: the pool only fills the
store, with the same (fn, config, seeds, device, dtype) and hence the same store keys, seeds and metrics, bit for bit.

Discovery needs no list of runs. Each claim's ``measure`` is called with a :class:`RecordingContext`, whose ``run``
and ``sweep`` return stored tables on a hit and, on a miss, record the request and stop that measurement. When all
of a claim's recorded runs have finished, its ``measure`` is called again and reaches further; a claim whose
measurement completes has nothing left to ask for. The runs a claims module lists in ``report_runs(size)`` join the
queue at once, so the longest-first order sees them early. A run that
discovery misses is simply run by the claim's own evaluation: it costs time, never correctness.

Cost of a run, for the order: its wall time in a stored manifest of the same run under an earlier code version,
else reports/run_costs.json (written by full report-size validations), else the median known cost of its simulator.
"""
from __future__ import annotations

import heapq
import importlib
import json
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, is_dataclass
from hashlib import sha256
from pathlib import Path

from claims import load_claims
from claims.core import Claim, Context
from sims import SYSTEMS, runtime
from sims.store import config_dict

COSTS_FILE = "run_costs.json"
"""Beside the validation report (claims.report.REPORT_DIR)."""
COST_DRIFT = 1.5
"""The cost table is rewritten only when a run is new or its time moved by more than this factor: the order needs
rough costs, and a warm or repeated validation must leave the tracked file untouched."""


@dataclass(frozen=True)
class Request:
    """One simulation a claim asks for, exactly as ``Context.run`` would run it."""

    fn: Callable
    config: object
    seeds: tuple[int, ...]
    dtype: str
    key: str

    @property
    def identity(self) -> str:
        """The run without the code version: what a cost estimate can carry across code edits."""
        payload = {"function": f"{self.fn.__module__}.{self.fn.__qualname__}", "config": config_dict(self.config),
                   "seeds": list(self.seeds), "dtype": self.dtype}
        return sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


class _Missing(BaseException):
    """A claim asked for a run the store does not have yet. A BaseException, so that a claim's own ``except
    Exception`` cannot swallow it."""


class RecordingContext(Context):
    """A Context whose runs come only from the store: a miss is recorded in ``missing`` and stops the measurement."""

    def __post_init__(self):
        super().__post_init__()
        self.missing: list[Request] = []

    def run(self, fn: Callable, config, seeds: Sequence[int], dtype=None):
        return self._fetch(fn, [config], seeds, dtype or self.torch_dtype)[0]

    def sweep(self, fn: Callable, configs: Sequence, seeds: Sequence[int], desc: str = ""):
        return self._fetch(fn, configs, seeds, self.torch_dtype)

    def _fetch(self, fn, configs, seeds, dtype):
        requests = [request(self, fn, c, seeds, dtype) for c in configs]
        missing = [r for r in requests if not _done(self, r)]
        if missing:
            self.missing += missing
            raise _Missing
        return [self.store.load(fn, r.config, r.seeds, device=self.torch_device, dtype=r.dtype) for r in requests]


def request(ctx: Context, fn: Callable, config, seeds: Sequence[int], dtype=None) -> Request:
    seeds = tuple(ctx.shifted(seeds))
    dt = runtime.dtype_name(runtime.resolve_dtype(dtype or ctx.torch_dtype, ctx.torch_device))
    return Request(fn, config, seeds, dt, ctx.store.key(fn, config, seeds, device=ctx.torch_device, dtype=dt))


def _done(ctx: Context, req: Request) -> bool:
    return (ctx.store.path(req.fn, req.key) / "manifest.json").exists()


def discover(claim: Claim, ctx: Context) -> list[Request]:
    """The runs ``claim.measure`` asks for next that are not in the store yet (empty: nothing more to find)."""
    rec = RecordingContext(size=ctx.size, device=ctx.torch_device, dtype=ctx.torch_dtype, store=ctx.store,
                           n_jobs=1, seed_offset=ctx.seed_offset)
    try:
        claim.measure(rec)
    except _Missing:
        return rec.missing
    except Exception:  # noqa: BLE001 - the claim's own evaluation raises it again where it belongs
        return []
    return []


def listed_runs(system: str, ctx: Context) -> list[Request]:
    """Runs a claims module lists ahead of time: every ``(fn, config or configs, seeds)`` in what its
    ``report_runs(size)`` returns (the modules that have one document it as every run their claims make)."""
    listing = getattr(importlib.import_module(f"claims.{system}"), "report_runs", None)
    if listing is None:
        return []
    try:
        listed = listing(ctx.size)
    except Exception:  # noqa: BLE001 - a hint only; the claims' own requests are found anyway
        return []
    return [request(ctx, f, c, s) for f, c, s in _triples(listed)]


def _triples(obj) -> Iterable[tuple]:
    """(simulator, config, seeds) triples anywhere in nested tuples, lists and dicts."""
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _triples(v)
    elif isinstance(obj, (list, tuple)):
        if (len(obj) >= 3 and callable(obj[0]) and str(getattr(obj[0], "__module__", "")).startswith("sims.")
                and _is_seeds(obj[2])):
            configs = obj[1] if isinstance(obj[1], (list, tuple)) else [obj[1]]
            if configs and all(is_dataclass(c) and not isinstance(c, type) for c in configs):
                for c in configs:
                    yield obj[0], c, obj[2]
                return
        for v in obj:
            yield from _triples(v)


def _is_seeds(obj) -> bool:
    return isinstance(obj, (list, tuple)) and len(obj) > 0 and all(isinstance(s, int) for s in obj)


class Costs:
    """Estimated seconds per run: stored manifests of the same run (any code version), the committed table, or
    the median known cost of the same simulator."""

    def __init__(self, ctx: Context, systems: Iterable[str], path: Path | None = None):
        from claims import report

        self.path = path or report.REPORT_DIR / COSTS_FILE
        self.table = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.known = {k: v["wall_s"] for k, v in self.table.items()}
        self.function = {k: v["function"] for k, v in self.table.items()}
        device_type = ctx.torch_device.type
        for system in systems:
            for manifest_path in sorted((ctx.store.root / system).glob("*/manifest.json")):
                m = json.loads(manifest_path.read_text())
                if str(m.get("device", "")).split(":")[0] != device_type:
                    continue
                identity = sha256(json.dumps({"function": m["function"], "config": m["config"],
                                              "seeds": m["seeds"], "dtype": m["dtype"]},
                                             sort_keys=True).encode()).hexdigest()[:20]
                self.known[identity] = float(m["wall_time_s"])
                self.function[identity] = m["function"]

    def __call__(self, req: Request) -> float:
        if req.identity in self.known:
            return self.known[req.identity]
        name = f"{req.fn.__module__}.{req.fn.__qualname__}"
        same = [v for k, v in self.known.items() if self.function.get(k) == name]
        return statistics.median(same or list(self.known.values()) or [1.0])

    def update(self, ctx: Context, requests: Iterable[Request]) -> bool:
        """Put the stored wall times of ``requests`` into the table; write it only if a run is new or moved by more
        than COST_DRIFT. Returns whether the file was written."""
        table = dict(self.table)
        for req in requests:
            folder = ctx.store.path(req.fn, req.key)
            if not (folder / "manifest.json").exists():
                continue
            wall = float(json.loads((folder / "manifest.json").read_text())["wall_time_s"])
            old = table.get(req.identity, {}).get("wall_s")
            if old is None or not old / COST_DRIFT <= wall <= old * COST_DRIFT:
                table[req.identity] = {"function": f"{req.fn.__module__}.{req.fn.__qualname__}",
                                       "wall_s": round(wall, 2)}
        if table == self.table:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(dict(sorted(table.items())), indent=1) + "\n")
        self.table = table
        return True


def _worker(req: Request, device: str, root: str) -> str:
    from sims.sweep import run_one

    run_one(req.fn, req.config, req.seeds, device, req.dtype, root, threads=1)
    return req.key


def prefetch(claims: Sequence[Claim], ctx: Context, n_jobs: int | None = None, *, write_costs: bool = False,
             costs_path: Path | None = None) -> dict:
    """Fill the store with every run ``claims`` need, longest first on ``n_jobs`` worker processes (CPU only; on a
    GPU the runs stay in the claims' own process). Returns counts and the time it took."""
    n_jobs = ctx.n_jobs if n_jobs is None else n_jobs
    start = time.perf_counter()
    systems = sorted({c.system for c in claims})
    costs = Costs(ctx, systems, costs_path)
    queue: list[tuple[float, int, Request]] = []
    seen: dict[str, Request] = {}
    pending: dict[str, set[str]] = {}   # claim id -> keys it waits for
    finished: set[str] = set()
    failed: list[str] = []

    def add(reqs: Iterable[Request]) -> None:
        for req in reqs:
            if req.key not in seen and not _done(ctx, req):
                seen[req.key] = req
                heapq.heappush(queue, (-costs(req), len(seen), req))

    def explore(claim: Claim) -> None:
        reqs = discover(claim, ctx)
        add(reqs)
        keys = {r.key for r in reqs} - finished  # a finished key still missing failed: its claim raises it later
        if keys:
            pending[claim.id] = keys

    if n_jobs > 1 and ctx.torch_device.type == "cpu":
        ids = {c.id for c in claims}
        for system in systems:  # a module's own list only when all its claims run (not for --only icl.3)
            if system in SYSTEMS and {c.id for c in load_claims(system)} <= ids:
                add(listed_runs(system, ctx))
        for claim in claims:
            explore(claim)
        _run_pool(ctx, n_jobs, queue, claims, pending, finished, failed, explore)
    if write_costs:
        costs.update(ctx, seen.values())
    return {"runs": len(seen), "failed": len(failed), "seconds": time.perf_counter() - start}


WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Set in each pool worker before it loads numpy: one BLAS thread, as torch has (runtime.use_one_cpu_thread). The
workers fill the cores between them; numpy's OpenBLAS defaults to one thread per core, and two workers each
spinning two threads ran grokking's weight-decay G_F run (numpy solves in theory.grokking.gf_fixed_point) 13.1 s
-> 20.4 s beside a busy core. OpenBLAS's thread count changes that solve's rounding (gf_star_norm moves by
<= 1.2e-15 relative), so such a metric is reproducible for a given thread count, not across them."""


def _run_pool(ctx, n_jobs, queue, claims, pending, finished, failed, explore) -> None:
    # A private loky pool, shut down when the queue is empty: loky's reusable singleton would be picked up by joblib's
    # Parallel in a later ctx.sweep without the memmapping state joblib adds to its own executors (AttributeError).
    from joblib.externals.loky.process_executor import ProcessPoolExecutor

    by_id = {c.id: c for c in claims}
    with ProcessPoolExecutor(max_workers=n_jobs, env=WORKER_ENV) as executor:
        _drain(executor, ctx, n_jobs, queue, by_id, pending, finished, failed, explore)


def _drain(executor, ctx, n_jobs, queue, by_id, pending, finished, failed, explore) -> None:
    running = {}
    bar = runtime.progress(None, total=len(queue), desc="simulations")
    while queue or running:
        bar.total = len(finished) + len(running) + len(queue)
        while queue and len(running) < n_jobs:  # keep the queue in our hands, so late long runs still go first
            _, _, req = heapq.heappop(queue)
            running[executor.submit(_worker, req, str(ctx.torch_device), str(ctx.store.root))] = req
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            req = running.pop(future)
            finished.add(req.key)
            bar.update(1)
            try:
                future.result()
            except Exception:  # noqa: BLE001 - the claim that needs it runs it again and raises in its own evaluation
                failed.append(req.key)
            for claim_id in [c for c, keys in pending.items() if req.key in keys]:
                pending[claim_id].discard(req.key)
                if not pending[claim_id]:
                    del pending[claim_id]
                    explore(by_id[claim_id])
    bar.close()
