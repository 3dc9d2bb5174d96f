"""The command-line fuzz of test_fuzz_cli.py with the real simulators, from tiny configs with one or two fields
changed: what a run does with a bad value (overflow, a singular solve, a divergence, an allocation beyond the
machine) must end in a stored, finite run or in one `error:` line naming an option, never in a traceback or in
NaN metrics cached as a result. Slow (each case trains a tiny model): `make test-slow`.

``python tests/test_fuzz_runs.py [N]`` prints the defect counts instead of asserting (to compare two versions).
"""
from __future__ import annotations

import dataclasses
import sys

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.test_fuzz_cli import CATALOGUE, OUTCOMES, field_values, nonsense, run_case

N_CASES = 150

# Tiny versions of every simulator: a case runs in well under a second before its changed fields.
TINY = {
    ("icl", "run"): "--d 2 --n 4 --steps 3 --batch 8 --eval-batch 16",
    ("icl", "run_reduced"): "--d 2 --steps 5 --log-every 1",
    ("icl", "run_reference"): "--d 2 --ns 1,2,4 --batch 8",
    ("lssl", "run"): "--kinds legs,random --N 4 --L 32 --lag 8 --steps 2 --n-train 2 --n-test 2 --log-every 1",
    ("lssl", "equivalence_run"): "--N 4 --H 2 --L 16 --kernel-length 8",
    ("lssl", "orders_run"): "--N 4 --dts 0.5,0.25",
    ("lssl", "gating_run"): "--H 2 --L 16 --dts 0.5,0.25",
    ("lssl", "resample_run"): "--N 4 --Ls 16,32 --scale-L 16",
    ("lssl", "legs_run"): "--N 8 --Ls 16,32 --Ns-projection 2,4 --norm-N 4",
    ("lssl", "picard_run"): "--depth 3 --dt 0.1",
    ("admm", "run"): "--K 4 --L 3 --d-min 3 --d-max 5 --C 2 --n-iter 20 --n-record 5 --window 5",
    ("admm", "run_identities"): "--K 3 --L 3 --d-min 2 --d-max 4 --n-iter 20",
    ("grokking", "run"): "--M 7 --K 16 --epochs 5 --log-every 1",
    ("grokking", "ascent"): "--M 7 --steps 5 --log-every 1",
    ("grokking", "analytic"): "--grid-p 3,5 --random-p 5 --width-ratios 1.0",
    ("hierarchical", "run"): "--d 4 --n-over-N 2,4 --n2 50 --m2 10 --n-test 200 --chunk 64",
    ("hierarchical", "run_two_layer"): "--d 4 --n-over-N 2 --width 8 --steps 5 --n-test 200 --chunk 64",
    ("hierarchical", "run_joint"): "--d 4 --n-over-N 2 --m2 8 --steps 5 --n-test 200 --chunk 64",
}


@st.composite
def cases(draw):
    system, fn_name, cls = draw(st.sampled_from(CATALOGUE))
    base = TINY[(system, fn_name)].split()
    fields = [f.name for f in dataclasses.fields(cls)]
    chosen = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=2, unique=True))
    values = {f: draw(st.sampled_from(field_values(cls, f))) for f in chosen}
    changed = {f"--{f.replace('_', '-')}" for f in chosen}
    kept = [a for i in range(0, len(base), 2) for a in base[i:i + 2] if base[i] not in changed]
    argv = ["run", system, "--fn", fn_name, "--seeds", "2", "--device", "cpu", *kept]
    argv += [a for f, v in values.items() for a in (f"--{f.replace('_', '-')}", v)]
    return argv, any(nonsense(v) for v in values.values())


def fuzz(n: int = N_CASES) -> dict[str, int]:
    @settings(max_examples=n, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=cases())
    def one(case):
        argv, bad_input = case
        kind, detail = run_case(argv, "dir", bad_input, stub=False)
        OUTCOMES.append((kind, argv, detail))

    OUTCOMES.clear()
    one()
    counts = {k: sum(1 for o in OUTCOMES if o[0] == k) for k in ("ok", "refused", "traceback", "unnamed", "bad-accept")}
    return dict(counts, distinct=len({tuple(argv) for _, argv, _ in OUTCOMES}))


def test_tiny_configs_run():
    """The fuzz's starting points are valid and cheap (else the fuzz would only test refusals)."""
    assert {(s, f) for s, f, _ in CATALOGUE} == set(TINY)


@pytest.mark.slow
def test_real_runs_fuzz_finds_no_traceback_and_stores_no_nonsense():
    counts = fuzz()
    defects = [o for o in OUTCOMES if o[0] in ("traceback", "unnamed", "bad-accept")]
    assert not defects, "\n".join(f"{k}: {' '.join(a)!r}: {d}" for k, a, d in defects[:10])
    assert counts["ok"] > 20


if __name__ == "__main__":
    print(fuzz(int(sys.argv[1]) if len(sys.argv) > 1 else N_CASES))
    for kind, argv, detail in OUTCOMES:
        if kind in ("traceback", "unnamed", "bad-accept"):
            print(f"{kind:<11} {' '.join(argv)!r}: {detail}")
