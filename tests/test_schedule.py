"""The one-pool scheduler of `python -m claims`: discovery of the runs claims ask for, and results identical with
and without it (same store keys, same metric files byte for byte, same verdicts and numbers)."""
import json

import numpy as np
import pytest

from claims import load_claims
from claims.core import Check, Claim, Context
from claims.schedule import Costs, RecordingContext, discover, listed_runs, prefetch, request
from sims.store import Store
from tests import toy_sim


def _ctx(root, n_jobs):
    return Context(size="test", device="cpu", dtype="float64", store=Store(root), n_jobs=n_jobs)


def _stored(root):
    return {p.parent.name: p.read_bytes() for p in root.glob("*/*/metrics.csv")}


def _evaluate(claims, ctx):
    return [{k: v for k, v in c.evaluate(ctx).as_dict().items() if k != "wall_s"} for c in claims]


def _toy_claims():
    """Claim 1 asks for a second run whose config depends on the first run's data; claim 2 sweeps, then runs one
    config through the store directly, out of discovery's sight."""
    def measure_1(ctx):
        first = ctx.run(toy_sim.run, toy_sim.Config(n=4), [0, 1])
        n = 5 if first.value.iloc[-1] > 0 else 6
        return {"m": float(ctx.run(toy_sim.run, toy_sim.Config(n=n), [0, 1]).value.mean())}

    def measure_2(ctx):
        tables = ctx.sweep(toy_sim.run, [toy_sim.Config(n=7), toy_sim.Config(n=8)], [0, 1, 2])
        hidden = ctx.store.run(toy_sim.run, toy_sim.Config(n=9), [0], device=ctx.torch_device, dtype=ctx.torch_dtype)
        return {"m": float(sum(t.value.mean() for t in tables) + hidden.value.mean())}

    def compare(pred, meas, ctx):
        return [Check("mean square", 1.0, meas["m"], 10.0, "toy")]

    return [Claim(f"toy.{i}", "toy", "toy", "toy", lambda ctx: {}, m, compare)
            for i, m in ((1, measure_1), (2, measure_2))]


def test_discovery_finds_dependent_runs_and_a_hidden_run_costs_only_time(tmp_path):
    claims = _toy_claims()
    serial = _ctx(tmp_path / "serial", 1)
    expected = _evaluate(claims, serial)
    pooled = _ctx(tmp_path / "pooled", 2)
    stats = prefetch(claims, pooled)
    assert stats == {**stats, "runs": 4, "failed": 0}  # n = 4, its follow-up, and the two swept configs
    assert _evaluate(claims, pooled) == expected
    # the hidden run was computed by the claim's own code (here while discovery re-ran its measure), not the pool
    assert _stored(tmp_path / "pooled") == _stored(tmp_path / "serial")
    assert len(_stored(tmp_path / "serial")) == stats["runs"] + 1


def test_pool_workers_load_numpy_with_one_blas_thread(tmp_path, monkeypatch):
    """Two workers on two cores must not each spin a BLAS thread per core (see claims.schedule.WORKER_ENV)."""
    log = tmp_path / "env.log"
    monkeypatch.setenv("TOY_ENV_LOG", str(log))
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    prefetch(_toy_claims(), _ctx(tmp_path / "pooled", 2))
    seen = log.read_text().split()
    # the pool's four runs; the claim's hidden run is computed in this process, which keeps the default
    assert sorted(seen) == ["1", "1", "1", "1", "None"], seen


def test_recording_context_stops_at_the_first_missing_run(tmp_path):
    ctx = _ctx(tmp_path, 1)
    claim = _toy_claims()[0]
    (req,) = discover(claim, ctx)
    assert req.config == toy_sim.Config(n=4) and req.key == ctx.store.key(toy_sim.run, req.config, [0, 1],
                                                                           device="cpu", dtype="float64")
    ctx.run(toy_sim.run, toy_sim.Config(n=4), [0, 1])
    (follow_up,) = discover(claim, ctx)
    assert follow_up.config.n in (5, 6)
    rec = RecordingContext(size="test", device="cpu", dtype="float64", store=ctx.store, seed_offset=3)
    assert request(rec, toy_sim.run, toy_sim.Config(), [0, 1]).seeds == (3, 4)  # seeds shifted as Context.run does


def test_listed_runs_match_what_the_claims_ask_for(tmp_path):
    ctx = _ctx(tmp_path, 1)
    listed = {r.key for r in listed_runs("lssl", ctx)}
    asked = {r.key for c in load_claims("lssl") for r in discover(c, ctx)}
    assert asked and asked <= listed


def test_costs_prefer_manifests_then_the_table_then_the_median(tmp_path):
    ctx = _ctx(tmp_path / "results", 1)
    fast, slow, unknown = (request(ctx, toy_sim.run, toy_sim.Config(n=n), [0]) for n in (2, 3, 4))
    table = tmp_path / "run_costs.json"
    table.write_text(json.dumps({slow.identity: {"function": "tests.toy_sim.run", "wall_s": 9.0},
                                 fast.identity: {"function": "tests.toy_sim.run", "wall_s": 1.0}}))
    costs = Costs(ctx, ["toy_sim"], table)
    assert (costs(slow), costs(fast), costs(unknown)) == (9.0, 1.0, 5.0)
    assert not costs.update(ctx, [slow])  # not in the store: nothing to record
    ctx.run(toy_sim.run, toy_sim.Config(n=3), [0])
    assert costs.update(ctx, [slow]) and json.loads(table.read_text())[slow.identity]["wall_s"] < 9.0 / 1.5
    assert not Costs(ctx, ["toy_sim"], table).update(ctx, [slow])  # unchanged: the file is left alone
    assert np.isclose(Costs(ctx, ["toy_sim"], table)(slow), ctx.store.manifest(
        toy_sim.run, toy_sim.Config(n=3), [0], device="cpu", dtype="float64")["wall_time_s"])


@pytest.mark.parametrize("system", ["lssl", pytest.param("hierarchical", marks=pytest.mark.slow)])
def test_real_claims_give_identical_results_with_the_pool(tmp_path, system):
    claims = load_claims(system)
    expected = _evaluate(claims, _ctx(tmp_path / "serial", 1))
    pooled = _ctx(tmp_path / "pooled", 2)
    stats = prefetch(claims, pooled)
    before = _stored(tmp_path / "pooled")
    assert stats["runs"] == len(before) and stats["failed"] == 0
    assert _evaluate(claims, pooled) == expected
    assert _stored(tmp_path / "pooled") == before == _stored(tmp_path / "serial")  # every run came from the pool
