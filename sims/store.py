"""The results store: every simulation run, content-addressed, written atomically, readable without pickle.

A run is ``fn(config, seeds, device=..., dtype=...) -> pandas.DataFrame`` for a module-level function ``fn`` of a
``sims`` (or ``theory``) module and a frozen dataclass ``config``. Its key hashes (system, function, config, seeds,
device type, dtype, code version), where the code version hashes the source of the simulator module, the system's
theory module and the shared runtime, so editing a simulator invalidates its cached runs and nothing else.

Layout: ``<root>/<system>/<key>/manifest.json`` and ``metrics.csv``. A run is written to ``<root>/.tmp/`` and
renamed into place, so an interrupted sweep leaves no half result and resumes where it stopped.
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import os
import platform
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import pandas as pd

from sims import runtime

ROOT_ENV = "THEORY_TESTBED_RESULTS"
REPO_ROOT = Path(__file__).resolve().parent.parent


class MissingRunError(LookupError):
    """A figure or claim asked for a run the store does not have (run `make validate` first)."""


def config_dict(config) -> dict:
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise ValueError(f"config must be a dataclass instance, got {type(config).__name__}")
    return json.loads(json.dumps(dataclasses.asdict(config), default=_json_default))


def _json_default(obj):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} in a config")


def system_of(fn: Callable) -> str:
    """'sims.icl' -> 'icl'; the system name used in folders and reports."""
    return fn.__module__.rsplit(".", 1)[-1]


@lru_cache(maxsize=None)
def _file_digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def code_version(fn: Callable) -> str:
    """Hash of the sources a run depends on: fn's module, sims/runtime.py, and the theory code fn's module can
    reach (sims.codehash: the referenced theory definitions, closed over their own references), so editing a
    closed form that no simulator calls keeps every stored run."""
    from sims import codehash

    paths = [inspect.getsourcefile(fn), runtime.__file__]
    h = hashlib.sha256()
    for p in paths:
        if p and Path(p).exists():
            h.update(_file_digest(str(Path(p).resolve())).encode())
    h.update(codehash.theory_digest(inspect.getmodule(fn)).encode())
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def git_sha() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5)
        sha = out.stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return (sha + ("-dirty" if dirty else "")) if sha else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    import numpy
    import scipy
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
            "scipy": scipy.__version__, "pandas": pd.__version__}


def default_root() -> Path:
    """Where runs go when no root is given: $THEORY_TESTBED_RESULTS, else ``results/`` in the current working
    directory (the repository root under ``make``; the user's own folder when the package is installed)."""
    return Path(os.environ.get(ROOT_ENV) or Path.cwd() / "results")


class Store:
    """Content-addressed run store rooted at ``root`` (default: :func:`default_root`)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root or default_root())

    def key(self, fn: Callable, config, seeds: Sequence[int], *, device="auto", dtype="auto") -> str:
        dev = runtime.device_name(device)  # keys never need the hardware: a login node keys GPU runs
        dt = runtime.resolve_dtype(dtype, dev)
        payload = {
            "system": system_of(fn), "function": f"{fn.__module__}.{fn.__qualname__}",
            "config_type": type(config).__qualname__, "config": config_dict(config),
            "seeds": [int(s) for s in seeds], "device": dev.split(":")[0], "dtype": runtime.dtype_name(dt),
            "code": code_version(fn),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]

    def path(self, fn: Callable, key: str) -> Path:
        return self.root / system_of(fn) / key

    def has(self, fn: Callable, config, seeds: Sequence[int], *, device="auto", dtype="auto") -> bool:
        return (self.path(fn, self.key(fn, config, seeds, device=device, dtype=dtype)) / "manifest.json").exists()

    def load(self, fn: Callable, config, seeds: Sequence[int], *, device="auto", dtype="auto") -> pd.DataFrame:
        """The metrics of a finished run; raises MissingRunError if it was never run (figures never train)."""
        key = self.key(fn, config, seeds, device=device, dtype=dtype)
        folder = self.path(fn, key)
        if not (folder / "manifest.json").exists():
            raise MissingRunError(
                f"no stored run of {fn.__module__}.{fn.__qualname__} for {config} with seeds {list(seeds)} "
                f"(key {key}) under {self.root}; run `make validate` first")
        return pd.read_csv(folder / "metrics.csv")

    def manifest(self, fn: Callable, config, seeds: Sequence[int], *, device="auto", dtype="auto") -> dict:
        key = self.key(fn, config, seeds, device=device, dtype=dtype)
        return json.loads((self.path(fn, key) / "manifest.json").read_text())

    def fingerprint(self, system: str, *extra_files) -> str:
        """Hash of everything a system's claims and figures read: its theory/sims/claims sources, the shared
        sources they build on, ``extra_files`` and the list of its stored runs. Unchanged fingerprint, unchanged
        verdicts and figures: this is what keeps a warm ``make`` to seconds."""
        shared = ["sims/runtime.py", "sims/store.py", "claims/core.py", "theory/stats.py"]
        files = sorted({*(REPO_ROOT / f for f in shared), *map(Path, extra_files),
                        *(p for folder in ("theory", "sims", "claims") for p in (REPO_ROOT / folder).glob(f"{system}*.py"))})
        h = hashlib.sha256()
        for f in files:
            h.update(str(f.relative_to(REPO_ROOT) if f.is_relative_to(REPO_ROOT) else f).encode())
            h.update(_file_digest(str(f.resolve())).encode())
        folder = self.root / system
        runs = sorted(p.name for p in folder.iterdir() if (p / "manifest.json").exists()) if folder.exists() else []
        h.update("\n".join(runs).encode())
        return h.hexdigest()[:20]

    def run(self, fn: Callable, config, seeds: Sequence[int], *, device="auto", dtype="auto") -> pd.DataFrame:
        """Cache hit: read the stored metrics. Miss: run ``fn``, write atomically, return the metrics."""
        dev = runtime.resolve_device(device)
        dt = runtime.resolve_dtype(dtype, dev)
        seeds = [int(s) for s in seeds]
        key = self.key(fn, config, seeds, device=dev, dtype=dt)
        final = self.path(fn, key)
        if (final / "manifest.json").exists():
            return pd.read_csv(final / "metrics.csv")
        runtime.set_determinism(dev)
        start = time.perf_counter()
        df = fn(config, seeds, device=dev, dtype=dt)
        wall = time.perf_counter() - start
        if not isinstance(df, pd.DataFrame) or "value" not in df.columns:
            raise TypeError(f"{fn.__qualname__} must return a tidy DataFrame with a 'value' column")
        manifest = {
            "key": key, "system": system_of(fn), "function": f"{fn.__module__}.{fn.__qualname__}",
            "config_type": type(config).__qualname__, "config": config_dict(config), "seeds": seeds,
            "device": str(dev), "device_name": _device_name(dev), "dtype": runtime.dtype_name(dt),
            "code_version": code_version(fn), "git_sha": git_sha(), "versions": package_versions(),
            "wall_time_s": round(wall, 4), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "rows": int(len(df)),
        }
        tmp = self.root / ".tmp" / f"{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True, exist_ok=True)
        try:
            df.to_csv(tmp / "metrics.csv", index=False, float_format="%.17g")
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(tmp, final)
            except OSError:
                if not (final / "manifest.json").exists():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return pd.read_csv(final / "metrics.csv")


def _device_name(dev) -> str:
    import torch

    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return platform.processor() or platform.machine()
