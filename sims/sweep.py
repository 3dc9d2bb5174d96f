"""Sweeps: many configs of one simulator, run on this machine (joblib), in-process (debug) or on a SLURM cluster
(submitit job arrays). Every backend calls the same :func:`run_one`; results meet in the content-addressed store.

A sweep is a simulator function, a list of configs (a base config plus a grid or a list of overrides, see
:func:`expand`) and a seed list. :func:`submit` skips runs already in the store, so re-submitting an interrupted or
partly failed sweep only computes what is missing. Workers leave markers beside the store
(``<store>/.sweeps/<name>/running|failed/<key>.json``) from which :func:`status` reports done / running / failed /
missing, with the log path of each failure. Records and markers are written to a unique temporary name and renamed
into place, so a reader never sees half a file; sweep workers stop when the sweep process that started them dies.

Trust boundary of the SLURM backend: submitit hands each job its function and arguments as a pickle, and the job
unpickles it, so whoever can write the submitit folder can run code as the job's user. That folder therefore lives
outside the (possibly shared) results store, in ``~/.theory-testbed/submitit/<sweep>`` (mode 0700) unless
``SlurmOptions.folder`` says otherwise; the store itself holds JSON and CSV only.
"""
from __future__ import annotations

import dataclasses
import importlib
import itertools
import json
import os
import re
import shutil
import socket
import time
import traceback
import typing
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from sims import SYSTEMS, runtime
from sims.store import Store, config_dict

BACKENDS = ("local", "debug", "slurm")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=,-]{0,199}$")
SUBMITIT_HOME = Path("~/.theory-testbed/submitit")


def check_name(name: str, what: str = "name") -> str:
    """A sweep name becomes a folder name: letters, digits and ``._+=,-``, not starting with a dot, no path
    separators, at most 200 characters."""
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"{what}={name!r} is not valid; use 1-200 letters, digits or . _ + = , - (starting with a "
                         "letter or digit; no '/', no '..')")
    return name


# ----------------------------------------------------------------------------------------------- specification
def field_types(config_cls) -> dict[str, type]:
    hints = typing.get_type_hints(config_cls)
    return {f.name: hints.get(f.name, str) for f in dataclasses.fields(config_cls)}


def parse_value(config_cls, name: str, raw):
    """Convert ``raw`` (a string from the command line, or a Python value) to the type of field ``name``."""
    types = field_types(config_cls)
    if name not in types:
        raise ValueError(f"field {name!r} is not a field of {config_cls.__name__}; valid fields: {', '.join(types)}")
    tp = types[name]
    if tp is tuple:  # a bare `tuple` field: its elements have the type of the default's elements
        default = next(f.default for f in dataclasses.fields(config_cls) if f.name == name)
        elem = type(default[0]) if isinstance(default, tuple) and default else str
        tp = tuple[elem, ...]
    origin = typing.get_origin(tp)
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        tp, origin = args[0], typing.get_origin(args[0])
        args = list(typing.get_args(args[0]))
    try:
        if origin is tuple:
            elem = args[0] if args else float
            items = [s for s in raw.split(",") if s.strip()] if isinstance(raw, str) else list(raw)
            return tuple(_scalar(elem, v) for v in items)
        return _scalar(tp, raw)
    except (TypeError, ValueError) as err:
        raise ValueError(f"field {name!r} expects {getattr(tp, '__name__', tp)}, got {raw!r} ({err})") from None


def _scalar(tp, raw):
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("1", "true", "yes", "on"):
            return True
        if str(raw).lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError("not a boolean")
    if tp is int:
        if isinstance(raw, float) and not raw.is_integer():
            raise ValueError("not an integer")
        if isinstance(raw, str) and not raw.strip().lstrip("+-").isdigit():
            raise ValueError("not an integer")
        return int(raw)
    if tp is float:
        if isinstance(raw, bool):
            raise ValueError("not a number")
        return float(raw)
    if tp is str:
        if not isinstance(raw, str):
            raise ValueError("not a string")
        return raw
    return tp(raw)


def expand(config_cls, base=None, grid: dict[str, Sequence] | None = None,
           overrides: Sequence[dict] | None = None) -> list:
    """Configs of a sweep: ``base`` (default ``config_cls()``) with every combination of ``grid`` values, or with
    each dict of ``overrides``. Values may be strings (command line) or Python values; each is type-checked."""
    base = base if base is not None else config_cls()
    if grid is not None and overrides is not None:
        raise ValueError("grid and overrides: give one of them, not both")
    if grid is not None:
        if not grid:
            raise ValueError("grid is empty; give at least one field=v1,v2 entry")
        for name, values in grid.items():
            if len(values) == 0:
                raise ValueError(f"grid field {name!r} has no values")
        names = list(grid)
        overrides = [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]
    if overrides is None:
        return [base]
    if len(overrides) == 0:
        raise ValueError("overrides is empty")
    configs = []
    for change in overrides:
        typed = {k: parse_value(config_cls, k, v) for k, v in change.items()}
        configs.append(dataclasses.replace(base, **typed))
    return configs


def simulator(system: str, fn_name: str = "run"):
    """(module, function) for a system name, with a clear error for unknown systems or functions."""
    if system not in SYSTEMS:
        raise ValueError(f"system={system!r} is not valid; use one of {', '.join(SYSTEMS)}")
    try:
        module = importlib.import_module(f"sims.{system}")
    except ModuleNotFoundError as err:
        if err.name == f"sims.{system}":
            raise ValueError(f"system={system!r} has no simulator yet (sims/{system}.py is missing)") from None
        raise
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise ValueError(f"fn={fn_name!r} is not a function of sims.{system}")
    return module, fn


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A named sweep: one simulator ``fn``, its ``configs`` and the ``seeds`` every config runs with."""

    name: str
    fn: Callable
    configs: tuple
    seeds: tuple[int, ...]
    device: str = "auto"
    dtype: str = "auto"

    def __post_init__(self):
        check_name(self.name)
        if not self.configs:
            raise ValueError("configs is empty")
        if not self.seeds:
            raise ValueError("seeds is empty")

    def keys(self, store: Store) -> list[str]:
        return [store.key(self.fn, c, self.seeds, device=self.device, dtype=self.dtype) for c in self.configs]


def preset_sweep(system: str, preset: str = "paper", device: str = "auto", dtype: str = "auto") -> Sweep:
    """The sweep a system declares in ``SWEEPS[preset]`` (``paper``: the GPU-size runs of its issue)."""
    module, _ = simulator(system)
    presets = getattr(module, "SWEEPS", {})
    if preset not in presets:
        raise ValueError(f"preset={preset!r} is not a sweep of {system}; valid: {', '.join(presets) or 'none'}")
    spec = presets[preset]
    return Sweep(f"{system}-{preset}", spec["fn"], tuple(spec["configs"]), tuple(runtime.seed_list(spec["n_seeds"])),
                 device, dtype)


# ----------------------------------------------------------------------------------------------------- workers
def _marker_dir(store: Store, sweep_name: str, state: str) -> Path:
    return store.root / ".sweeps" / sweep_name / state


def run_one(fn: Callable, config, seeds: Sequence[int], device: str, dtype: str, root: str | None,
            threads: int | None = None, sweep_name: str | None = None, log_path: str | None = None,
            parent_pid: int | None = None) -> pd.DataFrame:
    """One run through the store: the unit of work of every backend. With ``sweep_name`` it leaves a running
    marker while it works and a failed marker (traceback, log path) if it raises. With ``parent_pid`` (a local
    worker process) it exits when that process dies and never writes after it."""
    if parent_pid is not None:
        runtime.watch_parent(parent_pid)
    if threads == 1:
        runtime.use_one_cpu_thread("cpu")  # a worker process: one thread for its whole life
    store = Store(root)
    if sweep_name is None:
        return store.run(fn, config, seeds, device=device, dtype=dtype)
    key = store.key(fn, config, seeds, device=device, dtype=dtype)
    running, failed = _marker_dir(store, sweep_name, "running"), _marker_dir(store, sweep_name, "failed")
    running.mkdir(parents=True, exist_ok=True)
    marker = {"key": key, "host": socket.gethostname(), "pid": os.getpid(), "log": log_path,
              "job_id": os.environ.get("SLURM_ARRAY_JOB_ID") or os.environ.get("SLURM_JOB_ID") or os.environ.get("SUBMITIT_LOCAL_JOB_ID"),
              "started": time.time()}
    write_json(running / f"{key}.json", marker)
    try:
        df = store.run(fn, config, seeds, device=device, dtype=dtype)
    except BaseException as err:
        failed.mkdir(parents=True, exist_ok=True)
        marker.update(error=repr(err), traceback=traceback.format_exc())
        write_json(failed / f"{key}.json", marker)
        raise
    finally:
        (running / f"{key}.json").unlink(missing_ok=True)
    (failed / f"{key}.json").unlink(missing_ok=True)
    return df


def run_chunk(fn: Callable, configs: Sequence, seeds: Sequence[int], device: str, dtype: str, root: str,
              sweep_name: str) -> int:
    """A SLURM array task: many short configs in one job. Returns how many it ran; re-raises the first failure
    after trying the others, so one bad config does not hide the rest."""
    log_path = None
    try:
        import submitit

        log_path = str(submitit.JobEnvironment().paths.stderr)
    except Exception:  # not inside a submitit job (debug backend)
        pass
    first_error = None
    for config in configs:
        try:
            run_one(fn, config, seeds, device, dtype, root, sweep_name=sweep_name, log_path=log_path)
        except Exception as err:  # noqa: BLE001 - recorded in the failed marker
            first_error = first_error or err
    if first_error is not None:
        raise first_error
    return len(configs)


def run_many(fn: Callable, configs: Sequence, seeds: Sequence[int], *, device="auto", dtype="auto",
             store: Store | None = None, n_jobs: int = 1, desc: str = "",
             sweep_name: str | None = None) -> list[pd.DataFrame]:
    """Run ``fn`` on every config (same seeds) on this machine and return their metric tables in order.

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

        jobs = (delayed(run_one)(fn, c, seeds, str(dev), dt, str(store.root), 1, sweep_name, None, os.getpid())
                for c in todo)
        for _ in runtime.progress(Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")(jobs),
                                  total=len(todo), desc=desc or fn.__module__):
            pass
    else:
        for c in runtime.progress(todo, total=len(todo), desc=desc or fn.__module__):
            run_one(fn, c, seeds, str(dev), dt, str(store.root), sweep_name=sweep_name)
    return [store.load(fn, c, seeds, device=dev, dtype=dt) for c in configs]


# ---------------------------------------------------------------------------------------------------- backends
@dataclasses.dataclass(frozen=True)
class SlurmOptions:
    """submitit/SLURM settings. ``cluster='local'`` runs the same code path on submitit's local executor."""

    partition: str | None = None
    timeout_min: int = 60
    chunk_size: int = 8          # configs per array task (short configs share a job)
    array_parallelism: int = 64  # array tasks running at once
    cpus_per_task: int = 2
    gpus_per_node: int = 0
    mem_gb: int = 8
    cluster: str | None = None   # None: slurm, refused when no scheduler is found unless allow_local; 'local'; 'debug'
    allow_local: bool = False    # with cluster=None and no SLURM scheduler, run on submitit's local executor
    folder: str | None = None    # submitit's pickles and logs (None: ~/.theory-testbed/submitit/<sweep>, mode 0700)
    extra: tuple[tuple[str, object], ...] = ()

    def __post_init__(self):
        for name in ("timeout_min", "chunk_size", "array_parallelism", "cpus_per_task", "mem_gb"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")
        if self.gpus_per_node < 0:
            raise ValueError(f"gpus_per_node={self.gpus_per_node} must be >= 0")


def submit(sweep: Sweep, backend: str = "local", store: Store | None = None, *, n_jobs: int = 2,
           slurm: SlurmOptions | None = None, wait: bool | None = None) -> dict:
    """Run what is missing of ``sweep`` on ``backend`` (local | debug | slurm); record the sweep; return its
    record (keys, jobs, log folder). ``slurm`` returns after submission unless ``wait=True``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not valid; use one of {', '.join(BACKENDS)}")
    store = store or Store()
    if backend == "slurm":
        slurm = _resolve_cluster(slurm or SlurmOptions())
    if backend == "slurm" and "auto" in (sweep.device, sweep.dtype):
        raise ValueError("device and dtype must be explicit for the slurm backend (e.g. device='cuda', "
                         "dtype='float32'): the submitting node cannot tell what the compute nodes have")
    device = runtime.device_name(sweep.device)
    dtype = runtime.dtype_name(runtime.resolve_dtype(sweep.dtype, device))
    keys = [store.key(sweep.fn, c, sweep.seeds, device=device, dtype=dtype) for c in sweep.configs]
    todo = [c for c, k in zip(sweep.configs, keys) if not (store.path(sweep.fn, k) / "manifest.json").exists()]
    record = _write_record(store, sweep, keys, backend, device, dtype)
    if backend == "slurm":
        record["cluster"] = slurm.cluster
        _save_record(store, record)
    _clear_failed(store, sweep.name, keys)
    if backend == "local":
        run_many(sweep.fn, todo, sweep.seeds, device=device, dtype=dtype, store=store, n_jobs=n_jobs,
                 desc=sweep.name, sweep_name=sweep.name)
    elif backend == "debug":
        for c in todo:
            run_one(sweep.fn, c, sweep.seeds, device, dtype, str(store.root), sweep_name=sweep.name)
    elif todo:
        record["jobs"] = _submit_slurm(sweep, todo, store, device, dtype, slurm, wait)
        _save_record(store, record)
    return record


def _submit_slurm(sweep: Sweep, todo: list, store: Store, device: str, dtype: str, opts: SlurmOptions,
                  wait: bool | None) -> list[dict]:
    import submitit

    folder = Path(os.path.expanduser(opts.folder)) if opts.folder else Path(os.path.expanduser(SUBMITIT_HOME)) / sweep.name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    executor = submitit.AutoExecutor(folder=folder / "%j", cluster=opts.cluster)
    params = dict(timeout_min=opts.timeout_min, cpus_per_task=opts.cpus_per_task, mem_gb=opts.mem_gb,
                  gpus_per_node=opts.gpus_per_node or None, name=sweep.name,
                  slurm_array_parallelism=opts.array_parallelism, slurm_partition=opts.partition)
    params.update(dict(opts.extra))
    executor.update_parameters(**params)
    chunks = [todo[i:i + opts.chunk_size] for i in range(0, len(todo), opts.chunk_size)]
    n = len(chunks)
    jobs = executor.map_array(run_chunk, [sweep.fn] * n, chunks, [sweep.seeds] * n, [device] * n, [dtype] * n,
                              [str(store.root)] * n, [sweep.name] * n)
    if wait is None:
        wait = executor.cluster in ("local", "debug")
    if wait:
        for job in jobs:
            try:
                job.result()
            except Exception:  # noqa: BLE001 - failures are recorded by the workers and shown by status()
                pass
    return [{"job_id": str(j.job_id), "stderr": str(j.paths.stderr), "stdout": str(j.paths.stdout),
             "n_configs": len(c)} for j, c in zip(jobs, chunks)]


def _resolve_cluster(opts: SlurmOptions) -> SlurmOptions:
    """cluster=None means SLURM: refused without a scheduler (no ``sbatch`` on PATH) unless ``allow_local``, in
    which case submitit's local executor runs the same code path on this machine."""
    if opts.cluster is not None:
        if opts.cluster not in ("slurm", "local", "debug"):
            raise ValueError(f"cluster={opts.cluster!r} is not valid; use slurm, local or debug")
        return opts
    if shutil.which("sbatch"):
        return dataclasses.replace(opts, cluster="slurm")
    if not opts.allow_local:
        raise ValueError("backend='slurm' found no SLURM scheduler (no sbatch on PATH); run on a login node of the "
                         "cluster, or pass --allow-local to run the jobs on this machine through submitit's local "
                         "executor")
    return dataclasses.replace(opts, cluster="local")


# ------------------------------------------------------------------------------------------------------ status
def write_json(path: Path, obj) -> None:
    """Write JSON to a unique temporary name beside ``path`` and rename it into place: readers see the old file or
    the new one, never half of one, whatever the number of writers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{socket.gethostname()}~{os.getpid()}~{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(json.dumps(obj, indent=2))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_json(path: Path) -> dict | None:
    """A record or marker, or None when it is absent or unreadable (a marker written in place by an older version
    and cut by a crash): status treats such a marker as absent."""
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None

def _record_path(store: Store, name: str) -> Path:
    return store.root / ".sweeps" / name / "sweep.json"


def _write_record(store: Store, sweep: Sweep, keys: list[str], backend: str, device: str, dtype: str) -> dict:
    record = {"name": sweep.name, "system": sweep.fn.__module__.rsplit(".", 1)[-1],
              "function": f"{sweep.fn.__module__}.{sweep.fn.__qualname__}", "backend": backend, "device": device,
              "dtype": dtype, "seeds": list(sweep.seeds), "keys": keys,
              "configs": [config_dict(c) for c in sweep.configs], "jobs": [],
              "submitted": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    _save_record(store, record)
    return record


def _save_record(store: Store, record: dict) -> None:
    write_json(_record_path(store, record["name"]), record)


def _clear_failed(store: Store, name: str, keys: list[str]) -> None:
    for k in keys:
        (_marker_dir(store, name, "failed") / f"{k}.json").unlink(missing_ok=True)


def _alive(marker: dict) -> bool:
    if marker.get("host") != socket.gethostname():
        return True  # another node: trust the marker (the scheduler's own state is in the job log)
    try:
        os.kill(int(marker["pid"]), 0)
        return True
    except (OSError, ValueError, TypeError):
        return False


def status(name: str, store: Store | None = None) -> pd.DataFrame:
    """One row per run of sweep ``name``: key, state (done | running | failed | missing), log path, error."""
    check_name(name, "sweep")
    store = store or Store()
    path = _record_path(store, name)
    if not path.exists():
        known = sorted(p.name for p in (store.root / ".sweeps").glob("*")) if (store.root / ".sweeps").exists() else []
        raise ValueError(f"sweep={name!r} is not recorded under {store.root}; known sweeps: {', '.join(known) or 'none'}")
    record = read_json(path)
    if record is None or not {"keys", "configs", "system"} <= set(record):
        raise ValueError(f"sweep={name!r}: its record {path} is unreadable; submit the sweep again to rewrite it")
    rows = []
    for key, config in zip(record["keys"], record["configs"]):
        done = (store.root / record["system"] / key / "manifest.json").exists()
        running = _marker_dir(store, name, "running") / f"{key}.json"
        failed = _marker_dir(store, name, "failed") / f"{key}.json"
        state, log, error = "missing", "", ""
        if done:
            state = "done"
        elif (m := read_json(failed)) is not None:
            state, log, error = "failed", m.get("log") or "", m.get("error", "")
        elif (m := read_json(running)) is not None:
            state, log = ("running", m.get("log") or "") if _alive(m) else ("failed", m.get("log") or "")
            if state == "failed":
                error = "worker died mid-run (killed or timed out); no partial result was kept"
        rows.append({"key": key, "state": state, "log": log, "error": error, "config": json.dumps(config)})
    return pd.DataFrame(rows)
