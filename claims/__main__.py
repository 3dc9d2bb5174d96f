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
from claims.report import check_line, format_resolution, previous_results, write_replicate, write_reports
from claims.schedule import prefetch
from sims import SYSTEMS
from sims.store import Store


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m claims", description=__doc__.split("\n\n")[1])
    parser.add_argument("systems", nargs="*", help=f"systems to validate (default: all of {', '.join(SYSTEMS)})")
    parser.add_argument("--size", default="report", choices=SIZES)
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    parser.add_argument("--dtype", default="auto", help="auto | float32 | float64")
    parser.add_argument("--jobs", type=int, default=2,
                        help="worker processes for the simulations, longest first (default 2; 1: in-process)")
    parser.add_argument("--only", default="", help="comma-separated claim ids to run, e.g. icl.1,icl.3")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any claim is not confirmed")
    parser.add_argument("--fresh", action="store_true",
                        help="re-evaluate every claim even if its code and stored runs are unchanged")
    parser.add_argument("--show", action="store_true",
                        help="print every check: prediction, measurement [95 %% CI], tolerance, resolution, verdict")
    parser.add_argument("--seed-offset", type=int, default=0, metavar="N",
                        help="replicate with every simulation seed shifted by N (fresh random streams); the report "
                             "goes to results/replicates/, not reports/ or the README")
    args = parser.parse_args(argv)
    if args.seed_offset < 0:
        parser.error(f"--seed-offset={args.seed_offset} must be >= 0")
    for s in args.systems:
        if s not in SYSTEMS:
            parser.error(f"unknown system {s!r}; choose from {', '.join(SYSTEMS)}")
    if args.jobs < 1:
        parser.error(f"--jobs={args.jobs} must be >= 1")
    try:
        ctx = Context(size=args.size, device=args.device, dtype=args.dtype, store=Store(), n_jobs=args.jobs,
                      seed_offset=args.seed_offset)
    except ValueError as err:
        parser.error(str(err))
    only = {c for c in args.only.split(",") if c}
    if only:
        known = {c.id for system in (args.systems or SYSTEMS) for c in load_claims(system)}
        unknown = sorted(only - known)
        if unknown:
            parser.error(f"--only: unknown claim ids {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    previous = previous_results(args.size) if not (only or args.fresh or args.seed_offset) else {}
    plan = [(system, [c for c in load_claims(system) if not only or c.id in only]) for system in args.systems or SYSTEMS]
    plan = [(system, claims, _stamp(ctx, system)) for system, claims in plan]
    unchanged = {system for system, claims, stamp in plan
                 if claims and all(previous.get(c.id, {}).get("fingerprint") == stamp for c in claims)}
    prefetch([c for system, claims, _ in plan if system not in unchanged for c in claims], ctx,
             write_costs=args.size == "report" and not (only or args.seed_offset))
    results = []
    for system, claims, stamp in plan:
        if system in unchanged:
            for claim in claims:
                results.append(previous[claim.id])
                _print_line(previous[claim.id], "unchanged", args.show)
            continue
        evaluated = []
        for claim in claims:
            res = claim.evaluate(ctx).as_dict()
            evaluated.append(res)
            _print_line(res, f"{res['wall_s']:6.1f}s", args.show)
        stamp = _stamp(ctx, system)  # after the runs: the next invocation sees the same store listing
        results += [dict(r, fingerprint=stamp) for r in evaluated]
    if args.seed_offset and args.size in ("report", "gpu"):
        out = write_replicate(results, args.size, args.seed_offset)
        print(f"wrote {out}/VALIDATION.md (replicate; the committed reports are untouched)")
    elif args.size in ("report", "gpu") and not only:
        write_reports(results, args.size)
        suffix = "" if args.size == "report" else "-gpu"
        print(f"wrote reports/validation{suffix}.json and reports/VALIDATION{suffix}.md")
    else:
        print(f"size={args.size}{' (subset)' if only else ''}: reports not written (only full report-size runs are)")
    return 1 if args.strict and not all(r["passed"] for r in results) else 0


def _stamp(ctx: Context, system: str) -> str:
    """Code + stored runs + where the claims run: equal stamps give equal verdicts (a warm make skips them)."""
    return f"{ctx.store.fingerprint(system)}:{ctx.size}:{ctx.torch_device.type}:{ctx.torch_dtype}"


def _print_line(res: dict, timing: str, show: bool = False) -> None:
    n_ok = sum(c["passed"] for c in res["checks"])
    worst = format_resolution(res.get("worst_resolution"))
    print(f"{res['id']:<16} {res['verdict']:<14} {n_ok:>2}/{len(res['checks']):<2} checks {timing:>9}  "
          f"worst resolution {worst:<10} {res['title']}", flush=True)
    if show:
        for c in res["checks"]:
            print("    " + check_line(c), flush=True)


if __name__ == "__main__":
    sys.exit(main())
