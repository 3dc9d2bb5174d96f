"""Shared runtime for every simulator: device and dtype resolution, determinism, seeding, progress, config
validation (ranges, memory estimates) and the watch that stops orphaned sweep workers.

Randomness enters a simulator only through ``seeds`` (a list of ints) turned into one ``torch.Generator`` per seed
by :func:`generators`; random tensors are drawn per seed and stacked along a leading seed dimension
(:func:`randn`, :func:`rand`, :func:`randint`), so a batch of seeds gives exactly the numbers each seed gives alone.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import threading
import time
from collections.abc import Iterable, Sequence

import numpy as np
import torch

DEVICE_ENV = "THEORY_TESTBED_DEVICE"
DTYPE_ENV = "THEORY_TESTBED_DTYPE"
_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def device_name(device: str | torch.device | None = "auto") -> str:
    """Validate a device name without touching the hardware ('auto' resolves on this machine)."""
    if isinstance(device, torch.device):
        return str(device)
    name = (device or "auto").strip().lower()
    if name == "auto":
        name = os.environ.get(DEVICE_ENV, "").strip().lower() or "auto"
    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    base, _, index = name.partition(":")
    if base not in ("cpu", "cuda", "mps") or (index and not index.isdigit()):
        raise ValueError(f"device={device!r} is not valid; use one of 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'")
    return name


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``auto`` (or None) means $THEORY_TESTBED_DEVICE if set, else cuda, then mps, then cpu."""
    if isinstance(device, torch.device):
        return device
    name = device_name(device)
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} asked for CUDA but torch.cuda.is_available() is False; use 'cpu' or 'auto'")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device={device!r} asked for MPS but it is not available; use 'cpu' or 'auto'")
    return torch.device(name)


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device | str) -> torch.dtype:
    """``auto`` (or None) means $THEORY_TESTBED_DTYPE if set, else float64 on CPU (checking paths) and float32 on
    accelerators (MPS has no float64)."""
    if isinstance(dtype, torch.dtype):
        if dtype not in _DTYPES.values():
            raise ValueError(f"dtype={dtype} is not valid; use torch.float32 or torch.float64")
        return dtype
    name = (dtype or "auto").strip().lower()
    if name == "auto":
        name = os.environ.get(DTYPE_ENV, "").strip().lower() or "auto"
    if name == "auto":
        device_type = device.type if isinstance(device, torch.device) else str(device).split(":")[0]
        return torch.float64 if device_type == "cpu" else torch.float32
    if name not in _DTYPES:
        raise ValueError(f"dtype={dtype!r} is not valid; use one of 'auto', 'float32', 'float64'")
    return _DTYPES[name]


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def set_determinism(device: torch.device) -> None:
    """Checking paths never use TF32 or autotuned kernels; CUDA runs use deterministic algorithms."""
    torch.set_float32_matmul_precision("highest")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)


def spawn_seeds(root: int, k: int) -> list[int]:
    """k independent seeds derived from ``root`` through numpy's SeedSequence (never global seeding)."""
    if k < 1:
        raise ValueError(f"k={k} must be >= 1")
    return [int(s.generate_state(1, dtype=np.uint32)[0]) for s in np.random.SeedSequence(root).spawn(k)]


def seed_list(n_seeds: int, root: int = 0) -> list[int]:
    """The canonical seed list for a run of ``n_seeds`` seeds: 0..n_seeds-1 offset by ``root``."""
    if n_seeds < 1:
        raise ValueError(f"n_seeds={n_seeds} must be >= 1")
    return [root + i for i in range(n_seeds)]


def generators(seeds: Sequence[int], device: torch.device | str = "cpu") -> list[torch.Generator]:
    """One independent torch.Generator per seed, on ``device``, seeded through SeedSequence(seed)."""
    device = torch.device(device)
    gens = []
    for seed in seeds:
        state = np.random.SeedSequence(int(seed)).generate_state(2, dtype=np.uint32)
        g = torch.Generator(device=device)
        g.manual_seed(int(state[0]) << 32 | int(state[1]))
        gens.append(g)
    return gens


def randn(gens: Sequence[torch.Generator], shape: Sequence[int], *, device, dtype) -> torch.Tensor:
    """Standard normal tensor of shape (len(gens), *shape); slice s is drawn from gens[s] alone."""
    return torch.stack([torch.randn(*shape, generator=g, device=device, dtype=dtype) for g in gens])


def rand(gens: Sequence[torch.Generator], shape: Sequence[int], *, device, dtype) -> torch.Tensor:
    """Uniform [0, 1) tensor of shape (len(gens), *shape); slice s is drawn from gens[s] alone."""
    return torch.stack([torch.rand(*shape, generator=g, device=device, dtype=dtype) for g in gens])


def randint(gens: Sequence[torch.Generator], high: int, shape: Sequence[int], *, device) -> torch.Tensor:
    """Integers in [0, high) of shape (len(gens), *shape); slice s is drawn from gens[s] alone."""
    return torch.stack([torch.randint(high, tuple(shape), generator=g, device=device) for g in gens])


def randperm(gens: Sequence[torch.Generator], n: int, *, device) -> torch.Tensor:
    """One permutation of range(n) per seed, shape (len(gens), n)."""
    return torch.stack([torch.randperm(n, generator=g, device=device) for g in gens])


PROGRESS_EVERY_S = 5.0  # seconds between plain-text progress lines when stderr is not a terminal


def progress(iterable: Iterable | None, *, total: int | None = None, desc: str = "", disable: bool | None = None):
    """The one progress display of the project: a tqdm bar on a terminal; elsewhere (logs, pipes, batch jobs) a
    plain line on stderr every :data:`PROGRESS_EVERY_S` seconds; nothing when $THEORY_TESTBED_QUIET is set.

    With ``iterable=None`` it returns a manual counter (``.total``, ``.update(n)``, ``.close()``) for work that
    completes out of order (a worker pool)."""
    if disable is None:
        disable = os.environ.get("THEORY_TESTBED_QUIET", "") not in ("", "0")
    if sys.stderr.isatty() and not disable:
        from tqdm import tqdm  # plain tqdm, never tqdm.auto: in a notebook that needs ipywidgets and warns without

        return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    counter = _PlainProgress(total, desc, quiet=disable)
    return counter if iterable is None else counter.wrap(iterable)


class _PlainProgress:
    """Plain-text progress: one stderr line every :data:`PROGRESS_EVERY_S` seconds (silent when ``quiet``)."""

    def __init__(self, total: int | None, desc: str, quiet: bool = False):
        self.total, self.desc, self.quiet, self.n = total, desc, quiet, 0
        self.start = self.last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if self.quiet or now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        elapsed = now - self.start
        if self.total:
            eta = elapsed / max(self.n, 1) * max(self.total - self.n, 0)
            line = (f"{self.desc or 'progress'}: {self.n}/{self.total} ({100 * self.n / self.total:.0f} %), "
                    f"{elapsed:.0f} s, ~{eta:.0f} s left")
        else:
            line = f"{self.desc or 'progress'}: {self.n} done, {elapsed:.0f} s"
        print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        pass

    def wrap(self, iterable: Iterable):
        for item in iterable:
            yield item
            self.update(1)


# ------------------------------------------------------------------------------------------- config validation
def check_fields(config, limits: dict[str, tuple[float, float]]) -> None:
    """Every number in a config (a numeric field, or each number of a tuple field) must be finite and lie in its
    field's closed range ``limits[name] = (low, high)``; a field whose default is an integer takes integers only.
    A numeric field without a declared range is a programming error (TypeError), so no field goes unbounded."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        items = value if isinstance(value, (tuple, list)) else (value,)
        default = f.default if f.default is not dataclasses.MISSING else value
        numeric = any(_is_number(v) for v in (default if isinstance(default, (tuple, list)) else (default,)))
        if f.name not in limits and not numeric:
            if any(_is_number(v) for v in items):  # a number where the field takes names or flags
                raise ValueError(f"{f.name}={value!r} is not valid; it takes {type(default).__name__} values such "
                                 f"as its default {default!r}, not numbers")
            continue
        if f.name not in limits:
            raise TypeError(f"{type(config).__name__}.{f.name} has no declared range in its check_fields limits")
        low, high = limits[f.name]
        whole = isinstance(f.default, int) and not isinstance(f.default, bool)
        for v in items:
            ok = _is_number(v) and math.isfinite(v) and low <= v <= high and (not whole or float(v).is_integer())
            if not ok:
                kind = "an integer" if whole else "finite numbers" if items is value else "a finite number"
                raise ValueError(f"{f.name}={value!r} is not valid; need {kind} in [{low:g}, {high:g}]")


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


# -------------------------------------------------------------------------------------------- memory estimates
MEMORY_SHARE = 0.5  # a run may use at most this share of the machine's RAM (or of the GPU's memory)


def memory_budget(device: torch.device) -> int:
    """Bytes a run may allocate: MEMORY_SHARE of the GPU's memory, or of physical RAM (or $THEORY_TESTBED_MEMORY_GB
    when set: a cluster job's allocation)."""
    if os.environ.get("THEORY_TESTBED_MEMORY_GB"):
        total = float(os.environ["THEORY_TESTBED_MEMORY_GB"]) * 2**30
    elif device.type == "cuda":
        total = torch.cuda.get_device_properties(device).total_memory
    else:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(MEMORY_SHARE * total)


def check_memory(config, n_seeds: int, dtype: torch.dtype, device: torch.device) -> None:
    """Refuse a run whose estimated peak memory (``config.memory_bytes(n_seeds, itemsize)``, when the config
    declares one) exceeds :func:`memory_budget`, before anything is allocated."""
    estimate = getattr(config, "memory_bytes", None)
    if estimate is None:
        return
    need, budget = int(estimate(n_seeds, torch.finfo(dtype).bits // 8)), memory_budget(torch.device(device))
    if need > budget:
        raise ValueError(f"{type(config).__name__} with {n_seeds} seeds needs about {need / 2**30:.3g} GiB "
                         f"({config}), more than {MEMORY_SHARE:.0%} of this machine's memory "
                         f"({budget / 2**30:.3g} GiB allowed); use fewer seeds or a smaller size")


# ------------------------------------------------------------------------------------------ orphaned workers
_PARENT: dict[str, int] = {}


def watch_parent(parent_pid: int, every_s: float = 1.0) -> None:
    """In a sweep worker: exit as soon as the process that submitted the work (``parent_pid``) is gone, so that a
    killed sweep does not leave workers computing and writing behind a restarted one. Idempotent per process."""
    if _PARENT.get("pid") == parent_pid:
        return
    _PARENT.update(pid=parent_pid, ppid=os.getppid())

    def watch():
        while True:
            time.sleep(every_s)
            if not parent_alive():
                os._exit(3)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def parent_alive() -> bool:
    """False once a watched parent (see :func:`watch_parent`) has died; True when none is watched."""
    pid = _PARENT.get("pid")
    if pid is None:
        return True
    if _PARENT["ppid"] == pid and os.getppid() != pid:  # re-parented: our parent died (pid reuse cannot fool this)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def check_parent_alive() -> None:
    """Raise before a write when this worker's sweep process has died (the watcher thread may not have run yet)."""
    if not parent_alive():
        raise RuntimeError(f"the sweep process {_PARENT['pid']} that started this worker has died; not writing")


def tidy(records: Iterable[dict]) -> "pd.DataFrame":
    """A tidy metrics table from row dicts; numeric 'value' column as float64."""
    import pandas as pd

    df = pd.DataFrame.from_records(list(records))
    if "value" in df:
        df["value"] = df["value"].astype("float64")
    return df


def long_table(seeds: Sequence[int], metrics: dict[str, torch.Tensor | np.ndarray], steps=None) -> "pd.DataFrame":
    """Tidy table (seed, [step,] metric, value) from per-seed metric arrays.

    Each metric has shape (S,) or, when ``steps`` is given, (S, len(steps)); S = len(seeds).
    """
    import pandas as pd

    frames = []
    seeds_arr = np.asarray(list(seeds))
    for name, values in metrics.items():
        v = values.detach().to("cpu", torch.float64).numpy() if isinstance(values, torch.Tensor) else np.asarray(values, dtype=np.float64)
        if v.shape[0] != len(seeds_arr):
            raise ValueError(f"metric {name!r} has leading dimension {v.shape[0]}, expected {len(seeds_arr)} seeds")
        if steps is None:
            if v.ndim != 1:
                raise ValueError(f"metric {name!r} has shape {v.shape}; without steps it must be (n_seeds,)")
            frames.append(pd.DataFrame({"seed": seeds_arr, "metric": name, "value": v}))
        else:
            steps_arr = np.asarray(list(steps))
            if v.shape != (len(seeds_arr), len(steps_arr)):
                raise ValueError(f"metric {name!r} has shape {v.shape}, expected {(len(seeds_arr), len(steps_arr))}")
            frames.append(pd.DataFrame({
                "seed": np.repeat(seeds_arr, len(steps_arr)),
                "step": np.tile(steps_arr, len(seeds_arr)),
                "metric": name,
                "value": v.reshape(-1),
            }))
    return pd.concat(frames, ignore_index=True)


@contextlib.contextmanager
def one_cpu_thread(device: torch.device | str):
    """Run the enclosed torch work on one intra-op thread when on the CPU. The count stays at one afterwards.

    Why one: the simulators chain many small ops (tensors of <= ~1e6 elements), where intra-op threads cost
    spin-waits and hand-offs and save nothing (measured 1.2x slower on an idle 2-core machine, 5-12x slower when
    the cores are shared); sweeps parallelise over configs instead.
    Why it is not restored: with torch 2.13's CPU build, ``torch.set_num_threads(n)`` for any n > 1 followed by a
    batched ``torch.linalg.solve`` of size >= 256 fails once inside MKL ("Pivots given to lu_solve must all be
    greater or equal to 1"; reproduced in tests/test_runtime.py). Only ever lowering the count to one avoids it.
    """
    use_one_cpu_thread(device)
    yield


def use_one_cpu_thread(device: torch.device | str) -> None:
    """Lower torch to one intra-op thread for the rest of the process when ``device`` is the CPU (see
    :func:`one_cpu_thread`); sweep workers call it once at start."""
    if torch.device(device).type == "cpu" and torch.get_num_threads() != 1:
        torch.set_num_threads(1)
