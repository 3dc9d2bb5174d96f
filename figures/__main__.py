"""python -m figures [system ...] [--force] [--jobs N]: redraw every figure from the store (skipping unchanged ones)."""
from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from figures.common import figure_modules, render, update_readme_gallery
from sims import SYSTEMS
from sims.store import MissingRunError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m figures", description=__doc__)
    parser.add_argument("systems", nargs="*")
    parser.add_argument("--force", action="store_true", help="redraw even if data and script are unchanged")
    parser.add_argument("--jobs", type=int, default=1,
                        help="figures drawn at once in worker processes (default 1: in this process)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs={args.jobs} must be >= 1")
    names = figure_modules(args.systems)
    unknown = sorted(set(args.systems) - set(SYSTEMS))
    if unknown:
        parser.error(f"unknown system {', '.join(map(repr, unknown))}; choose from {', '.join(SYSTEMS)}")
    if args.jobs == 1 or len(names) < 2:
        failed = _report(map(_draw, names, [args.force] * len(names)))
    else:
        with ProcessPoolExecutor(max_workers=min(args.jobs, len(names))) as pool:
            failed = _report(pool.map(_draw, names, [args.force] * len(names)))
    update_readme_gallery(figure_modules())
    return 1 if failed else 0


def _draw(name: str, force: bool) -> tuple[str, str, float, str]:
    """(name, status, seconds, error): one figure, in whichever process runs it."""
    start = time.perf_counter()
    try:
        status = render(name, force=force)
    except MissingRunError as err:
        return name, "missing", time.perf_counter() - start, str(err)
    return name, status, time.perf_counter() - start, ""


def _report(outcomes) -> list[str]:
    failed = []
    for name, status, seconds, error in outcomes:
        if error:
            failed.append(name)
            print(f"{name:<40} missing results: {error}", file=sys.stderr)
        else:
            print(f"{name:<40} {status:<10} {seconds:5.1f}s", flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())
