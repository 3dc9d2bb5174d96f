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
MODES = ("close", "below", "above", "effect_above", "effect_below", "differs")
ROLES = ("evidence", "context")
COARSE = 0.10
"""A relative resolution above this needs a ``resolution_note``: why the check is that coarse and what size
(seeds, n, the GPU preset) would bring it under 5 %."""


@dataclass(frozen=True)
class Check:
    """One comparison of a prediction with a measurement. ``mode``:

    - ``close`` (equality): |measurement - prediction| <= tolerance;
    - ``below`` / ``above`` (a bound the theory states holds): measurement <= prediction + tolerance /
      measurement >= prediction - tolerance, the tolerance being the Monte-Carlo or float allowance *for* the bound;
    - ``effect_above`` / ``effect_below`` (an effect exists: rises, falls, beats, is below): the one-sided
      confidence bound clears the threshold ``prediction``: measurement - tolerance > prediction /
      measurement + tolerance < prediction, the tolerance being the one-sided quantile times the SE. The slack
      works *against* passing: no effect, no pass;
    - ``differs``: |measurement - prediction| > tolerance (the data reject this prediction, e.g. a paper's formula
      the testbed amends).

    ``role``: ``evidence`` (the claim's verdict rests on it) or ``context`` (shows a paper's formula far off; listed
    apart). Default: ``context`` for ``differs``, else ``evidence``. A claim is confirmed only when every check
    passes and at least one is evidence.

    ``resolution``: the smallest relative change of the prediction that flips the check, tolerance / |prediction|
    by default; where the prediction is 0, and for effect checks (whose tolerance is the smallest effect beyond the
    threshold they can certify), it is the tolerance in the check's own units (``resolution_units`` names them). Pass ``resolution`` explicitly where the tolerance is not the right scale
    (e.g. a slope's exponent). A relative resolution above :data:`COARSE` needs a ``resolution_note``.

    ``ci`` is the 95 % confidence interval of the measurement where it is random, ``se`` its standard error and
    ``dof`` the degrees of freedom of that SE (``inf`` when pooled over very many samples); ``rule`` says where the
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
    dof: float | None = None
    role: str = ""
    resolution: float | None = None
    resolution_units: str = ""
    resolution_note: str = ""

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode={self.mode!r} is not valid; use one of {MODES}")
        if not self.tolerance >= 0:
            raise ValueError(f"tolerance={self.tolerance} must be >= 0 (check {self.name!r})")
        role = self.role or ("context" if self.mode == "differs" else "evidence")
        if role not in ROLES:
            raise ValueError(f"role={self.role!r} is not valid; use one of {ROLES} (check {self.name!r})")
        object.__setattr__(self, "role", role)
        if self.resolution is None:
            p, t = float(self.prediction), float(self.tolerance)
            effect = self.mode.startswith("effect_")  # a threshold, not a prediction: the detectable effect size
            relative = math.isfinite(p) and p != 0 and not self.resolution_units and not effect
            object.__setattr__(self, "resolution", t / abs(p) if relative else t)
            if not relative and not self.resolution_units:
                object.__setattr__(self, "resolution_units", "abs")
        if not self.resolution >= 0:
            raise ValueError(f"resolution={self.resolution} must be >= 0 (check {self.name!r})")

    @property
    def relative(self) -> bool:
        """Whether :attr:`resolution` is a fraction of the prediction (else it is in ``resolution_units``)."""
        return not self.resolution_units

    @property
    def coarse(self) -> bool:
        return self.role == "evidence" and self.relative and self.resolution > COARSE

    @property
    def monte_carlo(self) -> bool:
        """Counts against the suite's false-alarm budget: its tolerance is a quantile times a Monte-Carlo SE."""
        return self.se is not None and self.se > 0

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
        if self.mode == "effect_above":
            return gap - t > 0
        if self.mode == "effect_below":
            return gap + t < 0
        return abs(gap) > t

    def as_dict(self) -> dict:
        return {"name": self.name, "prediction": _num(self.prediction), "measurement": _num(self.measurement),
                "tolerance": _num(self.tolerance), "rule": self.rule, "mode": self.mode, "role": self.role,
                "ci": None if self.ci is None else [_num(self.ci[0]), _num(self.ci[1])],
                "se": None if self.se is None else _num(self.se),
                "dof": None if self.dof is None else _num(self.dof),
                "resolution": _num(self.resolution), "resolution_units": self.resolution_units,
                "resolution_note": self.resolution_note, "passed": self.passed}


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
        """Every check passes and at least one of them is evidence (context alone confirms nothing)."""
        return all(c.passed for c in self.checks) and any(c.role == "evidence" for c in self.checks)

    @property
    def worst_resolution(self) -> Check | None:
        """The evidence check with the coarsest resolution (relative ones first: they are comparable)."""
        evidence = [c for c in self.checks if c.role == "evidence"]
        relative = [c for c in evidence if c.relative]
        pool = relative or evidence
        return max(pool, key=lambda c: c.resolution) if pool else None

    @property
    def verdict(self) -> str:
        return "confirmed" if self.passed else "not confirmed"

    def as_dict(self) -> dict:
        c = self.claim
        return {"id": c.id, "system": c.system, "title": c.title, "source": c.source, "statement": c.statement,
                "amends": c.amends, "verdict": self.verdict, "passed": self.passed,
                "checks": [k.as_dict() for k in self.checks], "n_seeds": self.n_seeds, "device": self.device,
                "dtype": self.dtype, "size": self.size, "wall_s": round(self.wall_s, 3), "note": self.note,
                "worst_resolution": _resolution_dict(self.worst_resolution)}


def _resolution_dict(check: Check | None) -> dict | None:
    if check is None:
        return None
    return {"check": check.name, "resolution": _num(check.resolution), "units": check.resolution_units}


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
                **resolution) -> Check:
    """Monte-Carlo equality check of a mean over independent samples (seeds):
    |mean - prediction| <= t·SE + bias_bound, t the two-sided suite quantile on n - 1 degrees of freedom."""
    from theory.stats import mean_ci

    ci = mean_ci(samples)
    return mc_check(name, prediction, ci.mean, ci.se, ci.n - 1, bias_bound=bias_bound, rule_extra=rule_extra,
                    ci=(ci.low, ci.high), **resolution)


def mc_check(name: str, prediction: float, mean: float, se: float, dof: float, *, mode: str = "close",
             bias_bound: float = 0.0, rule_extra: str = "", ci: tuple[float, float] | None = None,
             **resolution) -> Check:
    """A Monte-Carlo check from a mean and its SE on ``dof`` degrees of freedom. ``close``: two-sided quantile,
    tolerance t·SE + bias_bound. ``below``/``above`` (a bound holds) and ``effect_above``/``effect_below`` (an effect
    exists, threshold ``prediction``): one-sided quantile. For effects the bias bound works against passing too."""
    from theory.stats import t_for_budget

    if mode == "differs":
        raise ValueError("mode='differs' is context, not a Monte-Carlo test; build the Check directly")
    sides = 2 if mode == "close" else 1
    if not (math.isfinite(se) and se >= 0):
        raise ValueError(f"se={se} must be finite and >= 0 (check {name!r}); a single seed has no SE")
    q = t_for_budget(dof, sides=sides)
    dof_text = "∞" if dof > 1e6 else f"{dof:g}"
    rule = f"t({dof_text} dof, {'two' if sides == 2 else 'one'}-sided)={q:.3g}·SE (suite false-alarm budget)"
    if bias_bound:
        rule += f" + {bias_bound:.3g} {rule_extra}".rstrip()
    if ci is None:
        half = float(_t95(dof)) * se
        ci = (mean - half, mean + half)
    return Check(name, float(prediction), float(mean), q * se + bias_bound, rule, mode, ci, se, dof, **resolution)


def effect_check(name: str, threshold: float, samples, *, direction: str = "above", rule_extra: str = "",
                 **resolution) -> Check:
    """An effect exists: the one-sided suite-level confidence bound of the mean of ``samples`` lies strictly
    above (``direction='above'``) or below ``threshold``."""
    from theory.stats import mean_ci

    if direction not in ("above", "below"):
        raise ValueError(f"direction={direction!r} must be 'above' or 'below'")
    ci = mean_ci(samples)
    return mc_check(name, threshold, ci.mean, ci.se, ci.n - 1, mode=f"effect_{direction}", rule_extra=rule_extra,
                    ci=(ci.low, ci.high), **resolution)


def _t95(dof: float) -> float:
    from scipy import stats

    return stats.norm.ppf(0.975) if dof > 1e6 else stats.t.ppf(0.975, dof)
