"""Command line for the simulators.

  python -m sims list                                   systems, their simulators (--fn) and presets
  python -m sims run <system> [--fn F] [--preset P] [--<field> value ...] [--seeds N] [--device D] [--dtype T]
  python -m sims sweep <system> [--preset P] [--grid field=v1,v2 ...] [--backend local|debug|slurm] [...]
  python -m sims sweep <system> --paper [--backend slurm --device cuda --dtype float32 ...]
  python -m sims sweep-status <sweep-name>
  python -m sims store-check [--repair]                 verify every stored run; --repair removes broken ones

Every run goes through the results store (results/ or $THEORY_TESTBED_RESULTS): a finished run is a cache hit.
`python -m sims run <system> [--fn F] --help` lists every config field with its meaning, valid values and default.
`run` prints, per metric, the last step's mean, 95 % CI and seeds, a `theory` column (the closed-form prediction of
theory/<system>.py for that metric under the run's config, from sims/expected.py; blank where none exists, with a
footnote saying what it means or why it was skipped) and `rel_err` = mean/theory - 1 where theory is nonzero.
Errors are one `error:` line; `--traceback` (anywhere on the line) shows the full traceback instead.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import inspect
import re
import sys
import typing

import pandas as pd

from sims import SYSTEMS, expected, runtime
from sims.store import Store, StoreError, check_store
from sims.sweep import (BACKENDS, SlurmOptions, Sweep, check_name, expand, field_types, parse_value,
                        preset_sweep, simulator, status, submit)

MAX_SEEDS = 100_000  # seeds of one run or sweep (the store keys every seed; a bigger list is a typo)
MAX_SEED = 2**63 - 1  # numpy's SeedSequence takes any non-negative int; torch seeds are 64-bit


def _int_option(name: str, low: int, high: int):
    """argparse type: an integer in [low, high], refused with the option's name."""
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{raw!r} is not an integer; need {low} <= {name} <= {high}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range; need {low} <= {name} <= {high}")
        return value
    return parse


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option raises ValueError (one `error:` line from main) instead of printing usage."""

    def error(self, message):
        raise ValueError(f"{message} (see `{self.prog} --help`)")


# ------------------------------------------------------------------------------------------- simulator catalogue
def config_class(fn) -> type:
    """The Config class a simulator takes, from its ``config`` annotation."""
    hints = typing.get_type_hints(inspect.unwrap(fn))
    cls = hints.get("config", hints.get(next(iter(inspect.signature(fn).parameters), ""), None))
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ValueError(f"fn={fn.__name__!r} does not declare a dataclass config")
    return cls


def _returns_table(fn) -> bool:
    """A simulator returns the tidy table: no return annotation, or one naming a DataFrame."""
    ann = inspect.signature(fn).return_annotation
    return ann is inspect.Signature.empty or "DataFrame" in str(ann)


def simulators(module) -> dict[str, type]:
    """Simulator functions of a module (``fn(config, seeds, *, device, dtype)``) and the Config each takes."""
    found = {}
    for name, fn in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != module.__name__:
            continue
        params = inspect.signature(fn).parameters
        if list(params)[:2] != ["config", "seeds"] or not {"device", "dtype"} <= set(params):
            continue
        if not _returns_table(fn):  # a helper with the same signature (grokking.stage1_inputs returns arrays)
            continue
        try:
            found[name] = config_class(fn)
        except ValueError:
            continue
    return found


def _resolve(system: str, fn_name: str):
    module, _ = simulator(system)
    sims = simulators(module)
    if fn_name not in sims:
        raise ValueError(f"--fn {fn_name!r} is not a simulator of sims.{system}; use one of {', '.join(sims)}")
    _, fn = simulator(system, fn_name)
    return module, fn, sims[fn_name]


def field_docs(cls) -> dict[str, str]:
    """The comment beside each field in the class source (``name: type = default  # what it means``)."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    docs = {}
    for line in source.splitlines():
        match = re.match(r"\s+(\w+)\s*:[^#]*#\s*(.*)$", line)
        if match:
            docs[match.group(1)] = match.group(2).strip()
    return docs


def valid_values(cls, name: str) -> str:
    """What the class's own validation accepts for field ``name``, read from the error it gives a bad value."""
    probe = {int: float("nan"), float: float("nan"), str: "\x00", bool: None}
    default = getattr(cls(), name)
    bad = probe.get(type(default), ("\x00",) if isinstance(default, tuple) and default and
                    isinstance(default[0], str) else (float("nan"),) if isinstance(default, tuple) else None)
    if bad is None:
        return ""
    try:
        cls(**{name: bad})
    except (ValueError, TypeError) as err:
        text = str(err)
        for marker in ("is not valid; ", " must be ", "; "):
            if marker in text and text.startswith(name):
                return text.split(marker, 1)[1].replace("use one of ", "").replace("need ", "")
    return ""


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _base_config(module, cls, preset: str | None):
    presets = getattr(module, "PRESETS", {})
    if preset is None:
        return cls()
    if preset not in presets:
        raise ValueError(f"--preset {preset!r} is not valid for {module.__name__}; use one of {', '.join(presets)}")
    if not isinstance(presets[preset], cls):
        raise ValueError(f"--preset {preset!r} is a {type(presets[preset]).__name__}, not a {cls.__name__}: "
                         "presets apply to the main simulator (--fn run)")
    return presets[preset]


def _build_config(cls, base, raw: dict[str, str]):
    """``base`` with the command-line values; a refused value is reported with its option."""
    changes = {}
    for name, value in raw.items():
        try:
            changes[name] = parse_value(cls, name, value)
        except ValueError as err:
            raise ValueError(f"--{name.replace('_', '-')}: {err}") from None
    try:
        return dataclasses.replace(base, **changes)
    except ValueError as err:
        text = str(err)
        named = next((n for n in sorted(raw, key=len, reverse=True) if re.match(rf"\W*{n}\b", text)), None)
        raise ValueError(f"--{named.replace('_', '-')}: {text}" if named else text) from None


# ------------------------------------------------------------------------------------------------------ run
def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Per metric: the last step's mean ± 95 % CI over seeds (metrics without a step: their value)."""
    from theory.stats import mean_ci

    if "step" in df.columns and df["step"].notna().any():
        last = df.groupby("metric")["step"].transform("max")
        df = df[df["step"].isna() | (df["step"] == last)]
    rows = []
    for metric, grp in df.groupby("metric", sort=False):
        extra = [c for c in grp.columns if c not in ("seed", "step", "metric", "value")]
        keys = grp.groupby(extra, dropna=False) if extra else [((), grp)]
        for key, sub in keys:
            label = metric + "".join(f" {c}={k}" for c, k in zip(extra, key if isinstance(key, tuple) else (key,)))
            step = sub["step"].max() if "step" in sub.columns and sub["step"].notna().any() else None
            ci = mean_ci(sub["value"].to_numpy())
            rows.append({"metric": label, "step": "" if step is None else int(step), "mean": ci.mean,
                         "ci95": (ci.high - ci.low) / 2, "seeds": ci.n})
    return pd.DataFrame(rows)


def compact(summary: pd.DataFrame, max_rows: int = 16) -> tuple[pd.DataFrame, list[str]]:
    """The summary without second-moment helpers (``x_sq`` beside ``x``, for pooled standard errors) and with families
    of indexed metrics (``gamma_0_1``, ...) folded into one line each; returns (table, folded descriptions)."""
    base = summary["metric"].str.split(" ").str[0]
    table = summary[~(base.str.endswith("_sq") & base.str.removesuffix("_sq").isin(set(base)))]
    family = table["metric"].str.replace(r"_\d+(_\d+)*(?=$| )", "_*", regex=True)
    counts = family.value_counts()
    folded = [f"{name} ({n} values: range {table['mean'][family == name].min():.4g} .. "
              f"{table['mean'][family == name].max():.4g}{_folded_theory(table[family == name])})"
              for name, n in counts.items() if n > 3]
    keep = ~family.isin([name for name, n in counts.items() if n > 3])
    table = table[keep]
    if len(table) > max_rows:
        folded.append(f"{len(table) - max_rows} more metrics (see the stored metrics.csv)")
        table = table.head(max_rows)
    return table, folded


def _folded_theory(rows: pd.DataFrame) -> str:
    """The theory side of a folded family: its range and the largest |mean - theory| (entries can be 0)."""
    if "theory" not in rows.columns or rows["theory"].isna().all():
        return ""
    gap = (rows["mean"] - rows["theory"]).abs().max()
    return f"; theory {rows['theory'].min():.4g} .. {rows['theory'].max():.4g}, largest |mean - theory| {gap:.2g}"


def _formatted(table: pd.DataFrame) -> pd.DataFrame:
    """theory and rel_err as text, blank where there is no prediction."""
    if "theory" not in table.columns:
        return table
    return table.assign(theory=table["theory"].map(lambda v: "" if pd.isna(v) else f"{v:.6g}"),
                        rel_err=table["rel_err"].map(lambda v: "" if pd.isna(v) else f"{v:+.2e}"))


def cmd_run(system: str, argv: list[str]) -> int:
    fn_name = _peek(argv, "--fn", "run")
    module, fn, cls = _resolve(system, fn_name)
    fields = field_types(cls)
    defaults = cls()
    want_help = any(a in ("-h", "--help") for a in argv)  # reading the sources for help costs ~0.2 s: only then
    docs = field_docs(cls) if want_help else {}
    parser = _Parser(prog=f"python -m sims run {system}",
                     description=" ".join((inspect.getdoc(fn) or module.__doc__ or "").split("\n\n")[0].split()))
    parser.add_argument("--fn", default="run", help=f"simulator of sims.{system}: {', '.join(simulators(module))}")
    parser.add_argument("--preset", default=None,
                        help=f"start from a preset (--fn run): {', '.join(getattr(module, 'PRESETS', {})) or 'none'}")
    parser.add_argument("--seeds", type=_int_option("--seeds", 1, MAX_SEEDS), default=4,
                        help="number of seeds, run as one batch (default 4)")
    parser.add_argument("--seed-root", type=_int_option("--seed-root", 0, MAX_SEED - MAX_SEEDS), default=0,
                        help="first seed (default 0)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (env THEORY_TESTBED_DEVICE)")
    parser.add_argument("--dtype", default="auto", help="auto | float32 | float64 (auto: float64 on CPU)")
    parser.add_argument("--all-metrics", action="store_true", help="print every metric, helpers included")
    group = parser.add_argument_group(f"config fields ({cls.__name__} of sims.{system})")
    for name, tp in fields.items():
        default = getattr(defaults, name)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        valid = valid_values(cls, name) if want_help else ""
        text = "; ".join(filter(None, [docs.get(name, ""), f"valid: {valid}" if valid else ""]))
        group.add_argument(f"--{name.replace('_', '-')}", dest=f"cfg_{name}", default=None, metavar="VALUE",
                           help=f"{text} [{_type_name(tp)}, default {shown}]".replace("%", "%%"))
    args = parser.parse_args(argv)
    raw = {n: getattr(args, f"cfg_{n}") for n in fields if getattr(args, f"cfg_{n}") is not None}
    config = _build_config(cls, _base_config(module, cls, args.preset), raw)
    runtime.device_name(args.device)
    seeds = runtime.seed_list(args.seeds, args.seed_root)
    store = Store()
    cached = store.has(fn, config, seeds, device=args.device, dtype=args.dtype)
    with _running():
        df = store.run(fn, config, seeds, device=args.device, dtype=args.dtype)
    key = store.key(fn, config, seeds, device=args.device, dtype=args.dtype)
    print(f"{system}.{fn_name}  {config}")
    print(f"seeds {seeds[0]}..{seeds[-1]}  {'cache hit' if cached else 'ran'}  stored at {store.path(fn, key)}")
    summary, theory_notes = expected.annotate(summarise(df), system, fn_name, config)
    table, folded = (summary, []) if args.all_metrics else compact(summary)
    with pd.option_context("display.float_format", "{:.6g}".format, "display.width", 160):
        print(_formatted(table).to_string(index=False))
    for line in folded + theory_notes:
        print(f"  {line}")
    return 0


@contextlib.contextmanager
def _running():
    """Mark an exception raised while simulating (not one of the command line's own checks), so main reports it as
    a failed run with the options that led to it, whatever its type."""
    try:
        yield
    except StoreError:
        raise
    except Exception as err:
        err.add_note(_DURING_RUN)
        raise


_DURING_RUN = "(raised while running the simulation)"


def _peek(argv: list[str], option: str, default: str) -> str:
    """An option's value before the full parser exists (the parser's fields depend on --fn)."""
    for i, item in enumerate(argv):
        if item == option and i + 1 < len(argv):
            return argv[i + 1]
        if item.startswith(option + "="):
            return item.split("=", 1)[1]
    return default


# ---------------------------------------------------------------------------------------------------- sweep
def cmd_sweep(system: str, argv: list[str]) -> int:
    parser = _Parser(prog=f"python -m sims sweep {system}")
    parser.add_argument("--paper", action="store_true", help="the system's paper (GPU-size) sweep preset")
    parser.add_argument("--preset", default=None, help="base config preset")
    parser.add_argument("--fn", default="run", help="simulator (see `python -m sims list`)")
    parser.add_argument("--grid", action="append", default=[], metavar="FIELD=V1,V2",
                        help="grid axis; repeat for a product (tuple fields: separate values with ';')")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=V", help="change the base config")
    parser.add_argument("--seeds", type=_int_option("--seeds", 1, MAX_SEEDS), default=4)
    parser.add_argument("--name", default=None, help="sweep name (default: <system>-<fields>)")
    parser.add_argument("--backend", default="local", choices=BACKENDS)
    parser.add_argument("--jobs", type=_int_option("--jobs", 1, 512), default=2, help="local backend: worker processes")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--partition", default=None)
    parser.add_argument("--timeout-min", type=_int_option("--timeout-min", 1, 60 * 24 * 30), default=60)
    parser.add_argument("--chunk-size", type=_int_option("--chunk-size", 1, 100_000), default=8,
                        help="configs per SLURM array task")
    parser.add_argument("--array-parallelism", type=_int_option("--array-parallelism", 1, 100_000), default=64)
    parser.add_argument("--cpus-per-task", type=_int_option("--cpus-per-task", 1, 1024), default=2)
    parser.add_argument("--gpus-per-node", type=_int_option("--gpus-per-node", 0, 64), default=0)
    parser.add_argument("--mem-gb", type=_int_option("--mem-gb", 1, 100_000), default=8)
    parser.add_argument("--cluster", default=None, choices=("slurm", "local", "debug"),
                        help="submitit cluster (default: slurm, refused when no scheduler is found)")
    parser.add_argument("--allow-local", action="store_true",
                        help="--backend slurm without a SLURM scheduler: run the jobs on this machine")
    parser.add_argument("--slurm-folder", default=None,
                        help="submitit's pickles and logs (default ~/.theory-testbed/submitit/<sweep>, private: "
                             "whoever can write it can run code in the jobs)")
    args = parser.parse_args(argv)
    if args.name is not None:
        check_name(args.name, "--name")
    runtime.device_name(args.device)
    if args.paper:
        sweep = preset_sweep(system, "paper", args.device, args.dtype)
    else:
        module, fn, cls = _resolve(system, args.fn)
        base = _build_config(cls, _base_config(module, cls, args.preset), dict(_split(s, "--set") for s in args.set))
        grid = {}
        for item in args.grid:
            name, values = _split(item, "--grid")
            grid[name] = values.split(";") if ";" in values else values.split(",")
        try:
            configs = expand(cls, base, grid if grid else None)
        except ValueError as err:
            raise ValueError(f"--grid: {err}") from None
        name = args.name or f"{system}-" + ("-".join(grid) if grid else "base")
        sweep = Sweep(name, fn, tuple(configs), tuple(runtime.seed_list(args.seeds)), args.device, args.dtype)
    opts = SlurmOptions(partition=args.partition, timeout_min=args.timeout_min, chunk_size=args.chunk_size,
                        array_parallelism=args.array_parallelism, cpus_per_task=args.cpus_per_task,
                        gpus_per_node=args.gpus_per_node, mem_gb=args.mem_gb, cluster=args.cluster,
                        allow_local=args.allow_local, folder=args.slurm_folder)
    with _running():
        record = submit(sweep, args.backend, n_jobs=args.jobs, slurm=opts)
    where = f" ({record['cluster']} executor)" if record.get("cluster") else ""
    print(f"sweep {sweep.name}: {len(record['keys'])} runs on backend {args.backend}{where}")
    for job in record.get("jobs", []):
        print(f"  job {job['job_id']}: {job['n_configs']} configs, log {job['stderr']}")
    return _print_status(sweep.name)


def _split(item: str, flag: str) -> tuple[str, str]:
    if "=" not in item:
        raise ValueError(f"{flag} {item!r} must look like FIELD=VALUE")
    name, value = item.split("=", 1)
    return name.strip().replace("-", "_"), value


def _print_status(name: str) -> int:
    table = status(name)
    counts = table["state"].value_counts()
    print("  ".join(f"{s}: {int(counts.get(s, 0))}" for s in ("done", "running", "failed", "missing")))
    for _, row in table[table["state"] == "failed"].iterrows():
        print(f"  failed {row['key']}  {row['error']}  log: {row['log'] or '(in-process)'}")
    return 0 if counts.get("failed", 0) == 0 else 1


def cmd_store_check(argv: list[str]) -> int:
    parser = _Parser(prog="python -m sims store-check", description="verify every run of the results store")
    parser.add_argument("--repair", action="store_true", help="remove broken runs and stale temporary folders")
    args = parser.parse_args(argv)
    store = Store()
    report = check_store(store.root, repair=args.repair)
    for folder, problem in report["broken"]:
        print(f"{'removed' if args.repair else 'broken'}  {folder}: {problem}")
    for entry in report["stale_tmp"]:
        print(f"{'removed' if args.repair else 'stale'}  {entry} (temporary folder of a dead writer)")
    print(f"{store.root}: {len(report['ok'])} runs ok, {len(report['broken'])} broken, "
          f"{len(report['stale_tmp'])} stale temporary folders" + (" (removed)" if args.repair else ""))
    if (report["broken"] or report["stale_tmp"]) and not args.repair:
        print("run `python -m sims store-check --repair` to remove them (they are recomputed when needed)")
        return 1
    return 0


def cmd_list() -> int:
    for system in SYSTEMS:
        try:
            module, _ = simulator(system)
        except ValueError:
            print(f"{system:<14} (not built yet)")
            continue
        presets = ", ".join(getattr(module, "PRESETS", {}))
        sweeps = ", ".join(getattr(module, "SWEEPS", {}))
        print(f"{system:<14} presets: {presets or '-'}   sweeps: {sweeps or '-'}")
        for name, cls in simulators(module).items():
            print(f"  --fn {name:<18} {cls.__name__}")
    return 0


def _dispatch(command: str, rest: list[str]) -> int:
    if command == "list":
        return cmd_list()
    if command == "store-check":
        return cmd_store_check(rest)
    if command == "sweep-status":
        if len(rest) != 1:
            raise ValueError("usage: python -m sims sweep-status <sweep-name>")
        return _print_status(rest[0])
    if command in ("run", "sweep"):
        if not rest or rest[0].startswith("-"):
            raise ValueError(f"usage: python -m sims {command} <system> ...; systems: {', '.join(SYSTEMS)}")
        return (cmd_run if command == "run" else cmd_sweep)(rest[0], rest[1:])
    raise ValueError(f"unknown command {command!r}; use run, sweep, sweep-status, store-check or list")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in argv
    argv = [a for a in argv if a != "--traceback"]
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    try:
        return _dispatch(argv[0], argv[1:])
    except SystemExit:  # --help
        raise
    except KeyboardInterrupt:
        print("error: interrupted; finished runs are stored, rerun the same command to resume", file=sys.stderr)
        return 130
    except BaseException as err:  # noqa: BLE001 - the command line's single exit for every failure
        if show_traceback:
            raise
        options = " ".join(a for a in argv[1:] if a.startswith("--"))
        text = " ".join(str(err).split())
        during_run = _DURING_RUN in getattr(err, "__notes__", ())
        if (type(err) is ValueError and not during_run) or isinstance(err, StoreError):  # they name what to fix
            print(f"error: {text}", file=sys.stderr)
        else:
            print(f"error: {' '.join(argv[:2])} failed with {type(err).__name__}: {text}"
                  f"{f' (options {options})' if options else ''}; rerun with --traceback for details",
                  file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
