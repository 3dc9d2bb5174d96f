"""The grokking claims at test size pass, and each one fails when its prediction is perturbed or its simulation is
broken on purpose (planted bugs)."""
from __future__ import annotations

import dataclasses

import pytest

from claims import grokking as cg
from claims.core import Context, perturb
from sims.store import Store


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    """One store for the module: the planted-bug tests reuse the passing runs (same keys) where they can."""
    return Context(size="test", device="cpu", dtype="float64", store=Store(tmp_path_factory.mktemp("grok")), n_jobs=1)


def claim(number: int):
    return next(c for c in cg.CLAIMS if c.id == f"grokking.{number}")


def checks_pass(c, ctx, *, pred=None, meas=None) -> bool:
    pred = c.predict(ctx) if pred is None else pred
    meas = c.measure(ctx) if meas is None else meas
    return all(k.passed for k in c.compare(pred, meas, ctx))


def test_claim_ids_sources_and_amendments():
    assert [c.id for c in cg.CLAIMS] == [f"grokking.{i}" for i in range(1, 8)]
    assert all(c.source and c.statement for c in cg.CLAIMS)
    assert "M/16" in claim(2).amends


@pytest.mark.parametrize("number", range(1, 8))
def test_claim_passes_at_test_size(number, ctx):
    result = claim(number).evaluate(ctx)
    assert result.passed, [k for k in result.checks if not k.passed]


def test_planted_bug_1_no_held_out_pairs(ctx, monkeypatch):
    fn, config, seeds = cg.delayed_run("test")
    # training on the whole table: "test" accuracy is train accuracy, so nothing is delayed
    monkeypatch.setattr(cg, "delayed_run", lambda size: (fn, dataclasses.replace(config, fraction=1.0), seeds))
    assert not checks_pass(claim(1), ctx)


def test_planted_bug_2_energy_constant(ctx):
    c = claim(2)
    assert not checks_pass(c, ctx, pred=perturb(c.predict(ctx), 1.05))


def test_planted_bug_2_paper_constant_would_fail(ctx):
    c = claim(2)
    pred = c.predict(ctx)
    wrong = {M: dict(p, E_over_M=p["paper_E_over_M"]) for M, p in pred.items()}
    assert not checks_pass(c, ctx, pred=wrong)


def test_planted_bug_3_fixed_point(ctx):
    c = claim(3)
    assert not checks_pass(c, ctx, pred=perturb(c.predict(ctx), 1.05))


def test_planted_bug_3_gf_does_not_vanish(ctx, monkeypatch):
    (fn, pos, seeds), (_, zero, zero_seeds), full = cg.stage1_runs("test")
    # the eta > 0 lazy run (G_F settles at its nonzero fixed point) in place of eta = 0: "vanishes" must then fail
    monkeypatch.setattr(cg, "stage1_runs", lambda size: ((fn, pos, seeds), (fn, pos, seeds), full))
    c = claim(3)
    failed = [ch.name for ch in c.compare(c.predict(ctx), c.measure(ctx), ctx) if not ch.passed]
    assert any("vanishes" in name for name in failed)


def test_planted_bug_4_weight_decay_order(ctx, monkeypatch):
    (fn, pair, seeds), (_, sweep, _) = cg.weight_decay_runs("test")
    # the same runs (cache hits) listed in the wrong order of eta: "decreasing" must then fail
    monkeypatch.setattr(cg, "weight_decay_runs", lambda size: ((fn, pair, seeds), (fn, sweep[::-1], seeds)))
    assert not checks_pass(claim(4), ctx)


def test_planted_bug_4_no_weight_decay_contrast(ctx, monkeypatch):
    (fn, pair, seeds), sweep = cg.weight_decay_runs("test")
    # the eta = 0 run in both places: the "with weight decay it groks" contrast must fail
    monkeypatch.setattr(cg, "weight_decay_runs", lambda size: ((fn, [pair[0], pair[0]], seeds), sweep))
    assert not checks_pass(claim(4), ctx)


def test_planted_bug_5_features(ctx):
    c = claim(5)
    # the share cut-off 0.8 scaled to 1.04 is unreachable (shares are <= 1)
    assert not checks_pass(c, ctx, pred=perturb(c.predict(ctx), 1.3))


def test_planted_bug_6_phase_labels(ctx, monkeypatch):
    fn, configs, seeds, Ms, ratios = cg.phase_runs("test")
    # the same runs with their fraction labels swapped: memorising and generalising cells trade places
    monkeypatch.setattr(cg, "phase_runs", lambda size: (fn, configs, seeds, Ms, tuple(reversed(ratios))))
    assert not checks_pass(claim(6), ctx)


def test_planted_bug_7_margin(ctx):
    c = claim(7)
    assert not checks_pass(c, ctx, pred=perturb(c.predict(ctx), 1.05))


def test_report_runs_cover_every_size():
    for size in ("test", "report", "gpu"):
        runs = cg.report_runs(size)
        assert len(runs) >= 10 and all(len(r) == 3 for r in runs)


@pytest.mark.parametrize("name", ["accuracy", "energy", "gf", "phase", "weight_decay"])
def test_figures_load_and_draw_from_the_store(name, ctx, monkeypatch):
    import importlib

    import matplotlib

    matplotlib.use("Agg")
    for c in cg.CLAIMS:  # the test-size runs, cached in the module's store
        c.measure(ctx)
    for fn_name in ("delayed_run", "features_run", "ascent_runs", "stage1_runs", "weight_decay_runs", "phase_runs"):
        original = getattr(cg, fn_name)
        monkeypatch.setattr(cg, fn_name, lambda size, original=original: original("test"))
    module = importlib.import_module(f"figures.fig_grokking_{name}")
    data = module.load(ctx.store)
    fig = module.draw(data)
    assert fig.axes
    matplotlib.pyplot.close(fig)
