"""python -m mutation.evaluate SYSTEM SIZE: evaluate one system's claims and print their verdicts as JSON.

Run by the mutation runner inside a scratch copy of the repository (so the mutated sources are the ones imported),
with THEORY_TESTBED_RESULTS pointing at the mutation store. A claim that raises counts as failed, with the error.
"""
from __future__ import annotations

import json
import sys


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m mutation.evaluate SYSTEM SIZE", file=sys.stderr)
        return 2
    system, size = argv
    from claims import load_claims
    from claims.core import Context
    from sims.store import Store

    ctx = Context(size=size, device="cpu", store=Store(), n_jobs=1)
    out = {}
    for claim in load_claims(system):
        try:
            res = claim.evaluate(ctx)
            out[claim.id] = {"passed": res.passed,
                             "failed": [c.name for c in res.checks if not c.passed]}
        except Exception as exc:  # a mutant that crashes a claim is caught by it; the error says how
            out[claim.id] = {"passed": False, "failed": [], "error": f"{type(exc).__name__}: {exc}"[:300]}
    print("MUTATION-JSON " + json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
