"""The results store: every simulation run, content-addressed, written atomically, verified on every read.

A run is ``fn(config, seeds, device=..., dtype=...) -> pandas.DataFrame`` for a module-level function ``fn`` of a
``sims`` (or ``theory``) module and a frozen dataclass ``config``. Its key hashes (system, function, config, seeds,
device type, dtype, code version), where the code version hashes the source of the simulator module, the system's
theory module and the shared runtime, so editing a simulator invalidates its cached runs and nothing else.

Layout: ``<root>/<system>/<key>/manifest.json`` and ``metrics.csv``. A run is written to ``<root>/.tmp/`` and
renamed into place, so an interrupted sweep leaves no half result and resumes where it stopped. The manifest
(version 2) records the key's payload, the row count and the sha256 of ``metrics.csv``; every read checks all
three and raises :class:`StoreError` naming the run folder and the command that removes it. A run folder without
a manifest (a half-deleted run) counts as missing and is replaced. ``python -m sims store-check [--repair]``
verifies a whole store.
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import io
import json
import os
import platform
import re
import shlex
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from sims import runtime

ROOT_ENV = "THEORY_TESTBED_RESULTS"
REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFEST_VERSION = 2
RUN_NAME = re.compile(r"^[0-9a-f]{20}$")  # a run folder's name is its key
STALE_TMP_S = 3600.0  # a temporary folder lives for the seconds it takes to write one run; older ones are debris


class MissingRunError(LookupError):
    """A figure or claim asked for a run the store does not have (run `make validate` first)."""


class StoreError(RuntimeError):
    """A stored run is unreadable or does not match its manifest (a cut, edited or half-written file)."""

    def __init__(self, folder: Path, problem: str):
        self.folder = Path(folder)
        super().__init__(f"stored run {self.folder} is corrupt: {problem}; remove it with "
                         f"`rm -rf {shlex.quote(str(self.folder))}` (or `python -m sims store-check --repair`) "
                         "and it is recomputed on the next run")


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


def _key_of(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def _payload_of(manifest: dict) -> dict:
    """The key's payload as the manifest records it (so a manifest proves its own key)."""
    return {"system": manifest["system"], "function": manifest["function"], "config_type": manifest["config_type"],
            "config": manifest["config"], "seeds": manifest["seeds"], "device": str(manifest["device"]).split(":")[0],
            "dtype": manifest["dtype"], "code": manifest["code_version"]}


def default_root() -> Path:
    """Where runs go when no root is given: $THEORY_TESTBED_RESULTS, else ``results/`` in the current working
    directory (the repository root under ``make``; the user's own folder when the package is installed)."""
    return Path(os.environ.get(ROOT_ENV) or Path.cwd() / "results")


def results_root(root: str | os.PathLike | None = None) -> Path:
    """``root``, else :func:`default_root`; ``~`` expanded; a path that is a file is refused here, before anything
    is computed."""
    raw = root if root is not None else default_root()
    path = Path(os.path.expanduser(str(raw)))
    if str(raw).strip() == "":
        raise ValueError(f"results root {raw!r} is empty; set {ROOT_ENV} to a folder")
    for parent in (path, *path.parents):
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"results root {str(path)!r} is not usable: {str(parent)!r} is a file, not a "
                                 f"folder (set {ROOT_ENV} or pass another folder)")
            break
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


class Store:
    """Content-addressed run store rooted at ``root`` (default: :func:`default_root`, ``~`` expanded)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = results_root(root)

    def key(self, fn: Callable, config, seeds: Sequence[int], *, device="auto", dtype="auto") -> str:
        return _key_of(self._payload(fn, config, seeds, device, dtype))

    def _payload(self, fn: Callable, config, seeds, device, dtype) -> dict:
        dev = runtime.device_name(device)  # keys never need the hardware: a login node keys GPU runs
        dt = runtime.resolve_dtype(dtype, dev)
        return {
            "system": system_of(fn), "function": f"{fn.__module__}.{fn.__qualname__}",
            "config_type": type(config).__qualname__, "config": config_dict(config),
            "seeds": [int(s) for s in seeds], "device": dev.split(":")[0], "dtype": runtime.dtype_name(dt),
            "code": code_version(fn),
        }

    def path(self, fn: Callable, key: str) -> Path:
        return self.root / system_of(fn) / key

    def has(self, fn: Callable, config, seeds: Sequence[int], *, device="auto", dtype="auto") -> bool:
        """Whether the run is stored; a present but unreadable manifest raises :class:`StoreError`."""
        folder = self.path(fn, self.key(fn, config, seeds, device=device, dtype=dtype))
        return read_manifest(folder) is not None

    def load(self, fn: Callable, config, seeds: Sequence[int], *, device="auto", dtype="auto") -> pd.DataFrame:
        """The metrics of a finished run, verified against its manifest; raises MissingRunError if it was never
        run (figures never train) and StoreError if it is corrupt."""
        key = self.key(fn, config, seeds, device=device, dtype=dtype)
        folder = self.path(fn, key)
        df = read_run(folder)
        if df is None:
            raise MissingRunError(
                f"no stored run of {fn.__module__}.{fn.__qualname__} for {config} with seeds {list(seeds)} "
                f"(key {key}) under {self.root}; run `make validate` first")
        return df

    def manifest(self, fn: Callable, config, seeds: Sequence[int], *, device="auto", dtype="auto") -> dict:
        key = self.key(fn, config, seeds, device=device, dtype=dtype)
        folder = self.path(fn, key)
        manifest = read_manifest(folder)
        if manifest is None:
            raise MissingRunError(f"no stored run with key {key} under {self.root}")
        return manifest

    def fingerprint(self, system: str, *extra_files) -> str:
        """Hash of everything a system's claims and figures read: its theory/sims/claims sources, the shared
        sources they build on, ``extra_files`` and its stored runs (each run's manifest, which holds the sha256 of
        its metrics, plus the size and modification time of its metrics file, so an edited file changes the
        fingerprint without re-hashing every table). Unchanged fingerprint, unchanged verdicts and figures: this
        is what keeps a warm ``make`` to seconds."""
        shared = ["sims/runtime.py", "sims/store.py", "claims/core.py", "theory/stats.py"]
        files = sorted({*(REPO_ROOT / f for f in shared), *map(Path, extra_files),
                        *(p for folder in ("theory", "sims", "claims") for p in (REPO_ROOT / folder).glob(f"{system}*.py"))})
        h = hashlib.sha256()
        for f in files:
            h.update(str(f.relative_to(REPO_ROOT) if f.is_relative_to(REPO_ROOT) else f).encode())
            h.update(_file_digest(str(f.resolve())).encode())
        folder = self.root / system
        for run in sorted(folder.iterdir()) if folder.is_dir() else []:
            try:
                manifest = (run / "manifest.json").read_bytes()
            except OSError:  # not a run folder, or a half-deleted one (counts as missing)
                continue
            try:
                stat = (run / "metrics.csv").stat()
                data = f"{stat.st_size}:{stat.st_mtime_ns}"
            except OSError:
                data = "no metrics"  # a broken run: reading it raises StoreError, so it must not look unchanged
            h.update(run.name.encode())
            h.update(hashlib.sha256(manifest).digest())
            h.update(data.encode())
        return h.hexdigest()[:20]

    def run(self, fn: Callable, config, seeds: Sequence[int], *, device="auto", dtype="auto") -> pd.DataFrame:
        """Cache hit: read and verify the stored metrics. Miss: check memory, run ``fn``, refuse non-finite
        metrics the config does not expect, write atomically, return the metrics."""
        dev = runtime.resolve_device(device)
        dt = runtime.resolve_dtype(dtype, dev)
        seeds = [int(s) for s in seeds]
        payload = self._payload(fn, config, seeds, dev, dt)
        key = _key_of(payload)
        final = self.path(fn, key)
        stored = read_run(final)
        if stored is not None:
            return stored
        tmp_root = self.root / ".tmp"
        try:
            tmp_root.mkdir(parents=True, exist_ok=True)  # fails here, before computing, if the root is unusable
        except OSError as err:
            raise ValueError(f"results root {str(self.root)!r} is not writable ({err.strerror}); set {ROOT_ENV} "
                             "to a folder you can write") from None
        clean_tmp(self.root)
        runtime.check_memory(config, len(seeds), dt, dev)
        runtime.set_determinism(dev)
        start = time.perf_counter()
        df = fn(config, seeds, device=dev, dtype=dt)
        wall = time.perf_counter() - start
        if not isinstance(df, pd.DataFrame) or "value" not in df.columns:
            raise TypeError(f"{fn.__qualname__} must return a tidy DataFrame with a 'value' column")
        _check_finite(df, config, f"{fn.__module__}.{fn.__qualname__}")
        buffer = io.StringIO()
        df.to_csv(buffer, index=False, float_format="%.17g")
        data = buffer.getvalue().encode()
        manifest = {
            "manifest_version": MANIFEST_VERSION, "key": key, "system": payload["system"],
            "function": payload["function"], "config_type": payload["config_type"], "config": payload["config"],
            "seeds": seeds, "device": str(dev), "device_name": _device_name(dev), "dtype": payload["dtype"],
            "code_version": payload["code"], "git_sha": git_sha(), "versions": package_versions(),
            "wall_time_s": round(wall, 4), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "rows": int(len(df)), "metrics_sha256": hashlib.sha256(data).hexdigest(),
        }
        runtime.check_parent_alive()  # an orphaned sweep worker must not write what a restarted sweep recomputes
        tmp = tmp_root / f"{key}-{_tmp_tag()}"
        tmp.mkdir()
        try:
            (tmp / "metrics.csv").write_bytes(data)
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists() and not (final / "manifest.json").exists():
                shutil.rmtree(final, ignore_errors=True)  # debris without a manifest counts as missing
            try:
                os.rename(tmp, final)
            except OSError:
                if read_manifest(final) is None:  # not a concurrent writer of the same run: a real failure
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        result = read_run(final)
        if result is None:
            raise StoreError(final, "the run vanished right after it was written")
        return result


def _tmp_tag() -> str:
    """``<host>~<pid>~<random>``: unique per writer, and tells :func:`clean_tmp` whose it is."""
    return f"{socket.gethostname().replace('~', '_')}~{os.getpid()}~{uuid.uuid4().hex[:8]}"


def clean_tmp(root: Path) -> list[Path]:
    """Remove the temporary run folders of dead writers (see :func:`stale_tmp`); returns them."""
    removed = stale_tmp(root)
    for entry in removed:
        shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
    return removed


def stale_tmp(root: Path, *, max_age_s: float = STALE_TMP_S) -> list[Path]:
    """Temporary run folders left by dead writers: those of a process of this host that no longer runs, and any
    older than ``max_age_s`` (a live writer keeps one only for the milliseconds of a write)."""
    tmp_root = Path(root) / ".tmp"
    if not tmp_root.is_dir():
        return []
    host, now, stale = socket.gethostname().replace("~", "_"), time.time(), []
    for entry in tmp_root.iterdir():
        parts = entry.name.split("-", 1)[-1].split("~")
        dead = len(parts) == 3 and parts[0] == host and parts[1].isdigit() and not _pid_alive(int(parts[1]))
        try:
            old = now - entry.stat().st_mtime > max_age_s
        except OSError:  # removed by its writer meanwhile
            continue
        if dead or old:
            stale.append(entry)
    return stale


def _check_finite(df: pd.DataFrame, config, function: str) -> None:
    """Refuse NaN/inf metrics unless the config declares them: ``expect_nonfinite`` is True when divergence is the
    expected outcome, or the names of metrics that are undefined (NaN) for this config."""
    values = pd.to_numeric(df["value"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    expected = getattr(config, "expect_nonfinite", ())
    if isinstance(expected, bool):
        if expected:
            return
        expected = ()
    names = df["metric"][bad] if "metric" in df.columns else pd.Series(["value"] * int(bad.sum()))
    unexpected = sorted(set(names.astype(str)) - set(expected))
    if unexpected:
        shown = ", ".join(unexpected[:8]) + (" ..." if len(unexpected) > 8 else "")
        raise ValueError(f"{function} produced non-finite values for {config} in {int(bad.sum())} of {len(values)} "
                         f"rows (metrics {shown}): the run diverged or overflowed, so it was not stored; use smaller "
                         "step sizes or scales")


def read_manifest(folder: Path) -> dict | None:
    """The verified manifest of a run folder, None when the folder or its manifest does not exist (a missing run);
    StoreError when the manifest is unreadable, of another version or does not prove its folder's key."""
    folder = Path(folder)
    try:
        text = (folder / "manifest.json").read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise StoreError(folder, f"manifest.json is unreadable ({err})") from None
    try:
        manifest = json.loads(text)
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except ValueError as err:
        raise StoreError(folder, f"manifest.json is not valid JSON ({err})") from None
    if manifest.get("manifest_version") != MANIFEST_VERSION:
        raise StoreError(folder, f"manifest version {manifest.get('manifest_version')!r}, expected {MANIFEST_VERSION}")
    if manifest.get("key") != folder.name:
        raise StoreError(folder, f"the manifest's key {manifest.get('key')!r} is not the folder's name")
    try:
        proven = _key_of(_payload_of(manifest))
    except (KeyError, TypeError) as err:
        raise StoreError(folder, f"the manifest lacks {err}") from None
    if proven != folder.name:
        raise StoreError(folder, "the manifest's config, seeds or versions do not hash to its key (edited?)")
    if not isinstance(manifest.get("rows"), int) or not isinstance(manifest.get("metrics_sha256"), str):
        raise StoreError(folder, "the manifest lacks its row count or checksum")
    return manifest


def read_run(folder: Path) -> pd.DataFrame | None:
    """The verified metrics table of a run folder, None if it is missing, StoreError if anything disagrees."""
    manifest = read_manifest(folder)
    if manifest is None:
        return None
    try:
        data = (Path(folder) / "metrics.csv").read_bytes()
    except OSError as err:
        raise StoreError(folder, f"metrics.csv is unreadable ({err.strerror or err})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != manifest["metrics_sha256"]:
        raise StoreError(folder, f"metrics.csv has sha256 {digest[:12]}..., the manifest says "
                                 f"{manifest['metrics_sha256'][:12]}... (cut or edited)")
    try:
        df = pd.read_csv(io.BytesIO(data))
    except (ValueError, pd.errors.ParserError) as err:
        raise StoreError(folder, f"metrics.csv does not parse ({err})") from None
    if len(df) != manifest["rows"] or "value" not in df.columns:
        raise StoreError(folder, f"metrics.csv has {len(df)} rows, the manifest says {manifest['rows']}")
    return df


def check_store(root: str | os.PathLike | None = None, *, repair: bool = False) -> dict[str, list]:
    """Verify every run of a store: ``ok`` (folders), ``broken`` ((folder, problem) pairs: corrupt runs and run
    folders without a manifest) and ``stale_tmp`` (temporary folders of dead writers). With ``repair`` the broken
    runs and stale temporary folders are removed (a later run recomputes them)."""
    root = results_root(root)
    report = {"ok": [], "broken": [], "stale_tmp": []}
    if not root.is_dir():
        return report
    for system in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for folder in sorted(p for p in system.iterdir() if p.is_dir() and RUN_NAME.match(p.name)):
            try:
                df = read_run(folder)
                problem = "no manifest.json (an interrupted delete)" if df is None else None
            except StoreError as err:
                problem = str(err).split(": ", 1)[1].split("; remove it", 1)[0]
            if problem is None:
                report["ok"].append(folder)
                continue
            report["broken"].append((folder, problem))
            if repair:
                shutil.rmtree(folder, ignore_errors=True)
    report["stale_tmp"] = clean_tmp(root) if repair else stale_tmp(root)
    return report


def _device_name(dev) -> str:
    import torch

    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return platform.processor() or platform.machine()
