"""Claims: a theorem's prediction (theory/) against a measurement (sims/, through the store) with a stated tolerance.

A :class:`Claim` is three functions of a :class:`Context`: ``predict`` (theory only), ``measure`` (simulation through
the store) and ``compare`` (prediction, measurement -> list of :class:`Check`). Keeping them apart is what makes the
planted-bug tests possible: a test perturbs the prediction (``perturb(pred, 1.05)``) or breaks the simulator and
asserts that ``compare`` then fails. The validation report and the tests call the same objects.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sims import runtime
from sims.store import Store

SIZES = ("test", "report", "gpu")
MODES = ("close", "below", "above", "differs")


@dataclass(frozen=True)
class Check:
    """One comparison. ``mode``:
    - ``close``: |measurement - prediction| <= tolerance;
    - ``below``: measurement <= prediction + tolerance (an upper bound holds);
    - ``above``: measurement >= prediction - tolerance (a lower bound holds);
    - ``differs``: |measurement - prediction| > tolerance (the data reject this prediction, e.g. a paper's formula
      the testbed amends).
    ``ci`` is the 95 % confidence interval of the measurement where it is random; ``rule`` says where the
    tolerance comes from.
    """

    name: str
    prediction: float
    measurement: float
    tolerance: float
    rule: str
    mode: str = "close"
    ci: tuple[float, float] | None = None
    se: float | None = None

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode={self.mode!r} is not valid; use one of {MODES}")
        if not self.tolerance >= 0:
            raise ValueError(f"tolerance={self.tolerance} must be >= 0 (check {self.name!r})")

    @property
    def passed(self) -> bool:
        p, m, t = float(self.prediction), float(self.measurement), float(self.tolerance)
        if not (math.isfinite(m) or (math.isinf(m) and m == p)):
            return self.mode == "differs" and not math.isnan(m)
        gap = m - p if math.isfinite(p) else (0.0 if m == p else math.inf)
        if self.mode == "close":
            return abs(gap) <= t
        if self.mode == "below":
            return gap <= t
        if self.mode == "above":
            return gap >= -t
        return abs(gap) > t

    def as_dict(self) -> dict:
        return {"name": self.name, "prediction": _num(self.prediction), "measurement": _num(self.measurement),
                "tolerance": _num(self.tolerance), "rule": self.rule, "mode": self.mode,
                "ci": None if self.ci is None else [_num(self.ci[0]), _num(self.ci[1])],
                "se": None if self.se is None else _num(self.se), "passed": self.passed}


def _num(x):
    x = float(x)
    return x if math.isfinite(x) else str(x)


@dataclass
class Context:
    """Where and how big a claim runs: ``size`` in SIZES ('test' tiny for make test, 'report' for make validate,
    'gpu' for the GPU-size preset), the device/dtype of its simulations, the store and the worker count."""

    size: str = "report"
    device: str = "auto"
    dtype: str = "auto"
    store: Store = field(default_factory=Store)
    n_jobs: int = 1
    seed_offset: int = 0
    """Added to every simulation seed: a replication of the whole report with fresh random streams (the fixed
    reference Monte Carlo inside theory/ and config-level data seeds stay as they are)."""
    seeds_used: int = 0
    reused_wall_s: float = 0.0
    """Simulation time of the runs this claim found already in the store (from their manifests)."""

    def __post_init__(self):
        if self.size not in SIZES:
            raise ValueError(f"size={self.size!r} is not valid; use one of {SIZES}")
        if not (isinstance(self.seed_offset, int) and self.seed_offset >= 0):
            raise ValueError(f"seed_offset={self.seed_offset!r} must be an integer >= 0")
        self.torch_device = runtime.resolve_device(self.device)
        self.torch_dtype = runtime.resolve_dtype(self.dtype, self.torch_device)

    def run(self, fn: Callable, config, seeds: Sequence[int], dtype=None):
        """One simulation through the store (cache hit if already run); ``dtype`` overrides the context's, so one
        claim can check float32 and float64 side by side."""
        self.seeds_used = max(self.seeds_used, len(seeds))
        seeds = self.shifted(seeds)
        dtype = dtype or self.torch_dtype
        self._count_reused(fn, [config], seeds, dtype)
        return self.store.run(fn, config, seeds, device=self.torch_device, dtype=dtype)

    def sweep(self, fn: Callable, configs: Sequence, seeds: Sequence[int], desc: str = ""):
        """Many configs of one simulator through the sweep runner; tables in config order."""
        from sims.sweep import run_many

        self.seeds_used = max(self.seeds_used, len(seeds))
        seeds = self.shifted(seeds)
        self._count_reused(fn, configs, seeds, self.torch_dtype)
        return run_many(fn, configs, seeds, device=self.torch_device, dtype=self.torch_dtype, store=self.store,
                        n_jobs=self.n_jobs, desc=desc)


    def shifted(self, seeds: Sequence[int]) -> list[int]:
        """The seeds this context actually runs: ``seeds`` shifted by ``seed_offset``."""
        return [int(s) + self.seed_offset for s in seeds]

    def _count_reused(self, fn: Callable, configs: Sequence, seeds: Sequence[int], dtype) -> None:
        for config in configs:
            if self.store.has(fn, config, seeds, device=self.torch_device, dtype=dtype):
                manifest = self.store.manifest(fn, config, seeds, device=self.torch_device, dtype=dtype)
                self.reused_wall_s += float(manifest.get("wall_time_s", 0.0))


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    source: str
    statement: str
    predict: Callable[[Context], dict]
    measure: Callable[[Context], dict]
    compare: Callable[[dict, dict, Context], list[Check]]
    amends: str = ""
    """What the paper states where the testbed checks a corrected version (empty when it checks the paper as is)."""

    @property
    def system(self) -> str:
        return self.id.split(".")[0]

    def evaluate(self, ctx: Context) -> "ClaimResult":
        start = time.perf_counter()
        ctx.seeds_used = 0
        ctx.reused_wall_s = 0.0
        prediction = self.predict(ctx)
        measurement = self.measure(ctx)
        checks = self.compare(prediction, measurement, ctx)
        if not checks:
            raise ValueError(f"claim {self.id} produced no checks")
        return ClaimResult(
            claim=self, checks=tuple(checks), n_seeds=ctx.seeds_used, device=str(ctx.torch_device),
            dtype=runtime.dtype_name(ctx.torch_dtype), size=ctx.size, wall_s=time.perf_counter() - start + ctx.reused_wall_s,
            note=str(measurement.get("note", "")) if isinstance(measurement, dict) else "")


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    checks: tuple[Check, ...]
    n_seeds: int
    device: str
    dtype: str
    size: str
    wall_s: float
    """Evaluation time plus the stored simulation time of cached runs: what the result cost, cached or not."""
    note: str = ""

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def verdict(self) -> str:
        return "confirmed" if self.passed else "not confirmed"

    def as_dict(self) -> dict:
        c = self.claim
        return {"id": c.id, "system": c.system, "title": c.title, "source": c.source, "statement": c.statement,
                "amends": c.amends, "verdict": self.verdict, "passed": self.passed,
                "checks": [k.as_dict() for k in self.checks], "n_seeds": self.n_seeds, "device": self.device,
                "dtype": self.dtype, "size": self.size, "wall_s": round(self.wall_s, 3), "note": self.note}


def perturb(prediction: Any, factor: float = 1.05):
    """A planted bug: every number (float, array, nested dict/list) of a prediction scaled by ``factor``."""
    if isinstance(prediction, dict):
        return {k: perturb(v, factor) for k, v in prediction.items()}
    if isinstance(prediction, (list, tuple)):
        return type(prediction)(perturb(v, factor) for v in prediction)
    if isinstance(prediction, np.ndarray) and np.issubdtype(prediction.dtype, np.number):
        return prediction * factor
    if isinstance(prediction, (float, np.floating)) and not isinstance(prediction, bool):
        return float(prediction) * factor
    return prediction


def close_check(name: str, prediction: float, samples, *, bias_bound: float = 0.0, rule_extra: str = "",
                z: float | None = None) -> Check:
    """Monte-Carlo check of a mean over independent samples: |mean - prediction| <= z·SE + bias_bound."""
    from theory.stats import Z_SUITE, mean_ci

    ci = mean_ci(samples)
    z = Z_SUITE if z is None else z
    se = ci.se if math.isfinite(ci.se) else 0.0
    rule = f"{z:.2f}·SE (suite false-alarm budget)" + (f" + {bias_bound:.3g} {rule_extra}".rstrip() if bias_bound else "")
    return Check(name, float(prediction), ci.mean, z * se + bias_bound, rule, "close", (ci.low, ci.high), se)
