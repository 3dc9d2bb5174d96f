"""python -m bench [system ...]: run bench/bench_<system>*.py, each printing ratios against its own baseline."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(argv=None) -> int:
    systems = (argv if argv is not None else sys.argv[1:]) or None
    here = Path(__file__).resolve().parent
    for path in sorted(here.glob("bench_*.py")):
        if systems and path.stem.split("_")[1] not in systems:
            continue
        print(f"== {path.stem}", flush=True)
        importlib.import_module(f"bench.{path.stem}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
