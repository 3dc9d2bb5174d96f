"""The grokking claims at test size pass, and each one fails when its prediction is perturbed or its simulation is
broken on purpose (planted bugs)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from claims import grokking as cg
from claims.core import Context, perturb
from sims.store import Store
from theory import grokking as th


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
    (fn, pair, seeds), (_, sweep, _) = cg.weight_decay_runs("test")
    # training on the whole table: "test" accuracy is train accuracy, so nothing is delayed
    full = [dataclasses.replace(c, fraction=1.0) for c in sweep]
    monkeypatch.setattr(cg, "weight_decay_runs", lambda size: ((fn, pair, seeds), (fn, full, seeds)))
    failed = [k.name for k in claim(1).compare(claim(1).predict(ctx), claim(1).measure(ctx), ctx) if not k.passed]
    assert any("long before" in name for name in failed)


def test_planted_bug_1_delay_threshold_at_the_measured_ratio(ctx):
    # a theory that demands the delay the data show (threshold at the measured mean ratio) must not be certified
    c = claim(1)
    meas = c.measure(ctx)
    pred = dict(c.predict(ctx), log_ratio_min=float(meas["log_ratio"].mean()))
    assert not checks_pass(c, ctx, pred=pred, meas=meas)


def test_planted_bug_2_energy_constant(ctx):
    c = claim(2)
    assert not checks_pass(c, ctx, pred=perturb(c.predict(ctx), 1.05))


def test_planted_bug_2_paper_constant_would_fail(ctx):
    c = claim(2)
    pred = c.predict(ctx)
    wrong = {M: dict(p, E_over_M=p["paper_E_over_M"]) for M, p in pred.items()}
    assert not checks_pass(c, ctx, pred=wrong)


@pytest.mark.parametrize("factor", [0.97, 1.03])
def test_planted_bug_3_eq4_off_by_3_percent(ctx, monkeypatch, factor):
    c = claim(3)
    meas = c.measure(ctx)
    original = th.gf_fixed_point
    monkeypatch.setattr(th, "gf_fixed_point", lambda F, Y, eta: factor * original(F, Y, eta))
    assert not checks_pass(c, ctx, meas=meas)


def test_planted_bug_3_ridge_without_the_half(ctx, monkeypatch):
    # eta_eff = n·eta instead of n·eta/2: the paper's 1/2-sum loss forgotten in the units conversion
    c = claim(3)
    meas = c.measure(ctx)
    monkeypatch.setattr(th, "effective_ridge", lambda n, eta: n * eta)
    assert not checks_pass(c, ctx, meas=meas)


def test_planted_bug_3_gf_does_not_vanish(ctx, monkeypatch):
    (fn, pos, seeds), (_, zero, zero_seeds), full = cg.stage1_runs("test")
    # the eta > 0 lazy run (G_F settles at its nonzero fixed point) in place of eta = 0: "vanishes" must then fail
    monkeypatch.setattr(cg, "stage1_runs", lambda size: ((fn, pos, seeds), (fn, pos, seeds), full))
    c = claim(3)
    failed = [ch.name for ch in c.compare(c.predict(ctx), c.measure(ctx), ctx) if not ch.passed]
    assert any("vanishes" in name for name in failed)


def test_planted_bug_4_weight_decay_order(ctx):
    # t_test99 matched to the eta grid in reverse (an indexing bug): "falls with eta" must then fail
    c = claim(4)
    meas = c.measure(ctx)
    slope, se, dof = cg._slope_fit(meas["eta"], meas["t"][::-1])
    wrong = dict(meas, slope=slope, slope_se=se, slope_dof=dof)
    failed = [k.name for k in c.compare(c.predict(ctx), wrong, ctx) if not k.passed]
    assert any("falls with eta" in name for name in failed)


def test_planted_bug_4_exponent_at_the_measured_value(ctx):
    # a theory whose exponent equals the fitted one (e.g. -0.6 instead of Omnigrok's -1) is not "differed from"
    c = claim(4)
    meas = c.measure(ctx)
    pred = dict(c.predict(ctx), omnigrok_exponent=float(meas["slope"]))
    assert not checks_pass(c, ctx, pred=pred, meas=meas)


def test_planted_bug_4_no_weight_decay_contrast(ctx, monkeypatch):
    (fn, pair, seeds), sweep = cg.weight_decay_runs("test")
    # the eta = 0 run in both places: the "with weight decay it groks" contrast must fail
    monkeypatch.setattr(cg, "weight_decay_runs", lambda size: ((fn, [pair[0], pair[0]], seeds), sweep))
    assert not checks_pass(claim(4), ctx)


def test_planted_bug_5_phase_relation_minus(ctx, monkeypatch):
    # a theory of phi3 = phi1 - phi2 (conjugate on one input half): its analytic net's coherence is not the data's
    c = claim(5)
    original = th.phase_alignment

    def wrong(W_in, W_out, M):
        n = W_in.shape[0] // 2
        return original(np.concatenate([W_in[:n], W_in[n:][::-1]]), W_out, M)

    meas = c.measure(ctx)
    monkeypatch.setattr(th, "phase_alignment", wrong)
    assert not checks_pass(c, ctx, meas=meas)


def test_planted_bug_5_prediction_off_by_5_percent(ctx):
    c = claim(5)
    pred = c.predict(ctx)
    assert not checks_pass(c, ctx, pred=dict(pred, coherence=0.95 * pred["coherence"]))


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
