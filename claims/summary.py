"""python -m claims.summary [system ...]: the verdicts of the last report-size validation (reports/validation.json).

With systems named, their claims are listed and counted on their own; the claims of the other systems in the
report were not re-run by this invocation and are counted apart, as carried from the committed report.
"""
from __future__ import annotations

import argparse
import sys

from claims.report import REPORT_DIR, previous_results
from sims import SYSTEMS


def summary(systems) -> list[str]:
    claims = list(previous_results("report").values())
    if not claims:
        return [f"no report yet: {REPORT_DIR / 'validation.json'} is missing; run `make validate`"]
    ran = [c for c in claims if c["system"] in systems]
    carried = [c for c in claims if c["system"] not in systems]
    lines = [f"{c['id']:<16}{c['verdict']:<15}{c['title']}" for c in ran]
    lines.append(f"{sum(c['passed'] for c in ran)}/{len(ran)} claims confirmed ({', '.join(systems)})")
    if carried:
        lines.append(f"{len(carried)} claims of other systems carried from the committed report "
                     f"({sum(c['passed'] for c in carried)} confirmed), not re-run here")
    lines.append(f"details in {REPORT_DIR.name}/VALIDATION.md")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m claims.summary", description=__doc__.split("\n\n")[0])
    parser.add_argument("systems", nargs="*", help=f"default: all of {', '.join(SYSTEMS)}")
    args = parser.parse_args(argv)
    for s in args.systems:
        if s not in SYSTEMS:
            parser.error(f"unknown system {s!r}; choose from {', '.join(SYSTEMS)}")
    print("\n".join(summary(args.systems or list(SYSTEMS))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
