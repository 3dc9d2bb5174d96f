"""Command line for the simulators.

  python -m sims list                                   systems, their simulators and presets
  python -m sims run <system> [--preset P] [--<field> value ...] [--seeds N] [--device D] [--dtype T]
  python -m sims sweep <system> [--preset P] [--grid field=v1,v2 ...] [--backend local|debug|slurm] [...]
  python -m sims sweep <system> --paper [--backend slurm --device cuda --dtype float32 ...]
  python -m sims sweep-status <sweep-name>

Every run goes through the results store (results/ or $THEORY_TESTBED_RESULTS): a finished run is a cache hit.
`python -m sims run <system> --help` lists every config field with its type and default.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys

import pandas as pd

from sims import SYSTEMS, runtime
from sims.store import Store
from sims.sweep import (BACKENDS, SlurmOptions, Sweep, expand, field_types, parse_value, preset_sweep, simulator,
                        status, submit)


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _base_config(module, preset: str | None):
    presets = getattr(module, "PRESETS", {})
    if preset is None:
        return module.Config()
    if preset not in presets:
        raise ValueError(f"preset={preset!r} is not valid for {module.__name__}; use one of {', '.join(presets)}")
    return presets[preset]


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Per metric: the last step's mean ± 95 % CI over seeds."""
    from theory.stats import mean_ci

    if "step" in df.columns and df["step"].notna().any():
        df = df[df["step"] == df.groupby("metric")["step"].transform("max")]
    rows = []
    for metric, grp in df.groupby("metric", sort=False):
        ci = mean_ci(grp["value"].to_numpy())
        rows.append({"metric": metric, "mean": ci.mean, "ci_low": ci.low, "ci_high": ci.high, "seeds": ci.n})
    return pd.DataFrame(rows)


def cmd_run(system: str, argv: list[str]) -> int:
    module, _ = simulator(system)
    fields = field_types(module.Config)
    defaults = module.Config()
    parser = argparse.ArgumentParser(prog=f"python -m sims run {system}",
                                     description=(module.__doc__ or "").strip().split("\n")[0])
    parser.add_argument("--preset", default=None, help=f"start from a preset: {', '.join(getattr(module, 'PRESETS', {}))}")
    parser.add_argument("--fn", default="run", help="simulator function of the module (default: run)")
    parser.add_argument("--seeds", type=int, default=4, help="number of seeds, run as one batch (default 4)")
    parser.add_argument("--seed-root", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (env THEORY_TESTBED_DEVICE)")
    parser.add_argument("--dtype", default="auto", help="auto | float32 | float64 (auto: float64 on CPU)")
    group = parser.add_argument_group("config fields (Config of sims.%s)" % system)
    for name, tp in fields.items():
        default = getattr(defaults, name)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        group.add_argument(f"--{name.replace('_', '-')}", dest=f"cfg_{name}", default=None, metavar="VALUE",
                           help=f"{_type_name(tp)} (default {shown})")
    args = parser.parse_args(argv)
    _, fn = simulator(system, args.fn)
    base = _base_config(module, args.preset)
    changes = {n: parse_value(module.Config, n, getattr(args, f"cfg_{n}")) for n in fields
               if getattr(args, f"cfg_{n}") is not None}
    config = dataclasses.replace(base, **changes)
    seeds = runtime.seed_list(args.seeds, args.seed_root)
    store = Store()
    cached = store.has(fn, config, seeds, device=args.device, dtype=args.dtype)
    df = store.run(fn, config, seeds, device=args.device, dtype=args.dtype)
    key = store.key(fn, config, seeds, device=args.device, dtype=args.dtype)
    print(f"{system}.{args.fn}  {config}")
    print(f"seeds {seeds[0]}..{seeds[-1]}  {'cache hit' if cached else 'ran'}  stored at {store.path(fn, key)}")
    with pd.option_context("display.float_format", "{:.6g}".format, "display.width", 120):
        print(summarise(df).to_string(index=False))
    return 0


def cmd_sweep(system: str, argv: list[str]) -> int:
    module, _ = simulator(system)
    parser = argparse.ArgumentParser(prog=f"python -m sims sweep {system}")
    parser.add_argument("--paper", action="store_true", help="the system's paper (GPU-size) sweep preset")
    parser.add_argument("--preset", default=None, help="base config preset")
    parser.add_argument("--fn", default="run")
    parser.add_argument("--grid", action="append", default=[], metavar="FIELD=V1,V2",
                        help="grid axis; repeat for a product (tuple fields: separate values with ';')")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=V", help="change the base config")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--name", default=None, help="sweep name (default: <system>-<fields>)")
    parser.add_argument("--backend", default="local", help="|".join(BACKENDS))
    parser.add_argument("--jobs", type=int, default=2, help="local backend: worker processes")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--partition", default=None)
    parser.add_argument("--timeout-min", type=int, default=60)
    parser.add_argument("--chunk-size", type=int, default=8, help="configs per SLURM array task")
    parser.add_argument("--array-parallelism", type=int, default=64)
    parser.add_argument("--cpus-per-task", type=int, default=2)
    parser.add_argument("--gpus-per-node", type=int, default=0)
    parser.add_argument("--mem-gb", type=int, default=8)
    parser.add_argument("--cluster", default=None, help="submitit cluster: slurm (auto) | local | debug")
    args = parser.parse_args(argv)
    if args.paper:
        sweep = preset_sweep(system, "paper", args.device, args.dtype)
    else:
        _, fn = simulator(system, args.fn)
        base = _base_config(module, args.preset)
        sets = dict(_split(s, "--set") for s in args.set)
        base = dataclasses.replace(base, **{k: parse_value(module.Config, k, v) for k, v in sets.items()})
        grid = {}
        for item in args.grid:
            name, values = _split(item, "--grid")
            grid[name] = values.split(";") if ";" in values else values.split(",")
        configs = expand(module.Config, base, grid if grid else None)
        name = args.name or f"{system}-" + ("-".join(grid) if grid else "base")
        sweep = Sweep(name, fn, tuple(configs), tuple(runtime.seed_list(args.seeds)), args.device, args.dtype)
    opts = SlurmOptions(partition=args.partition, timeout_min=args.timeout_min, chunk_size=args.chunk_size,
                        array_parallelism=args.array_parallelism, cpus_per_task=args.cpus_per_task,
                        gpus_per_node=args.gpus_per_node, mem_gb=args.mem_gb, cluster=args.cluster)
    record = submit(sweep, args.backend, n_jobs=args.jobs, slurm=opts)
    print(f"sweep {sweep.name}: {len(record['keys'])} runs on backend {args.backend}")
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
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    try:
        if command == "list":
            return cmd_list()
        if command == "sweep-status":
            if len(rest) != 1:
                raise ValueError("usage: python -m sims sweep-status <sweep-name>")
            return _print_status(rest[0])
        if command in ("run", "sweep"):
            if not rest or rest[0].startswith("-"):
                raise ValueError(f"usage: python -m sims {command} <system> ...; systems: {', '.join(SYSTEMS)}")
            return (cmd_run if command == "run" else cmd_sweep)(rest[0], rest[1:])
        raise ValueError(f"unknown command {command!r}; use run, sweep, sweep-status or list")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
