"""python -m figures [system ...] [--force]: redraw every figure from the store (skipping unchanged ones)."""
from __future__ import annotations

import argparse
import sys
import time

from figures.common import figure_modules, render, update_readme_gallery
from sims.store import MissingRunError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m figures", description=__doc__)
    parser.add_argument("systems", nargs="*")
    parser.add_argument("--force", action="store_true", help="redraw even if data and script are unchanged")
    args = parser.parse_args(argv)
    failed = []
    for name in figure_modules(args.systems):
        start = time.perf_counter()
        try:
            status = render(name, force=args.force)
        except MissingRunError as err:
            failed.append(name)
            print(f"{name:<40} missing results: {err}", file=sys.stderr)
            continue
        print(f"{name:<40} {status:<10} {time.perf_counter() - start:5.1f}s", flush=True)
    update_readme_gallery(figure_modules())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
