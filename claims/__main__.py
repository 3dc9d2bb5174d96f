"""python -m claims [system ...] [--size test|report|gpu] [--device auto|cpu|cuda] [--dtype auto|float32|float64]

Runs the claims (simulations through the store: finished runs are cache hits) and writes reports/validation.json,
reports/VALIDATION.md and the README's claims table (size gpu: reports/VALIDATION-gpu.md). Exits 0 even when a
claim is not confirmed: a verdict is a result, not a crash; use --strict to exit 1 on any unconfirmed claim.
"""
from __future__ import annotations

import argparse
import sys

from claims import load_claims
from claims.core import SIZES, Context
from claims.report import write_reports
from sims import SYSTEMS
from sims.store import Store


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m claims", description=__doc__.split("\n\n")[1])
    parser.add_argument("systems", nargs="*", help=f"systems to validate (default: all of {', '.join(SYSTEMS)})")
    parser.add_argument("--size", default="report", choices=SIZES)
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    parser.add_argument("--dtype", default="auto", help="auto | float32 | float64")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for sweeps (default 2)")
    parser.add_argument("--only", default="", help="comma-separated claim ids to run, e.g. icl.1,icl.3")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any claim is not confirmed")
    args = parser.parse_args(argv)
    for s in args.systems:
        if s not in SYSTEMS:
            parser.error(f"unknown system {s!r}; choose from {', '.join(SYSTEMS)}")
    ctx = Context(size=args.size, device=args.device, dtype=args.dtype, store=Store(), n_jobs=args.jobs)
    only = {c for c in args.only.split(",") if c}
    results = []
    for system in args.systems or SYSTEMS:
        for claim in load_claims(system):
            if only and claim.id not in only:
                continue
            res = claim.evaluate(ctx)
            results.append(res.as_dict())
            print(f"{claim.id:<16} {res.verdict:<14} {sum(c.passed for c in res.checks)}/{len(res.checks)} checks "
                  f"{res.wall_s:7.1f}s  {claim.title}", flush=True)
    if args.size in ("report", "gpu") and not only:
        write_reports(results, args.size)
        suffix = "" if args.size == "report" else "-gpu"
        print(f"wrote reports/validation{suffix}.json and reports/VALIDATION{suffix}.md")
    else:
        print(f"size={args.size}{' (subset)' if only else ''}: reports not written (only full report-size runs are)")
    return 1 if args.strict and not all(r["passed"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
