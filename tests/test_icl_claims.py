"""claims/icl.py: every claim passes at test size, and fails when its prediction or its simulator is broken."""
from __future__ import annotations

import pytest

from claims.core import Context, perturb
from claims import icl as claims_icl
from sims import icl as sim
from sims.store import Store

CLAIMS = {c.id: c for c in claims_icl.CLAIMS}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """All six claims at test size once (cached in a module store); (ctx, {id: (pred, meas, result)})."""
    ctx = Context(size="test", device="cpu", dtype="float64", store=Store(tmp_path_factory.mktemp("icl") / "results"))
    out = {}
    for cid, claim in CLAIMS.items():
        pred, meas = claim.predict(ctx), claim.measure(ctx)
        out[cid] = (pred, meas, claim.evaluate(ctx))
    return ctx, out


def test_ids_and_metadata():
    assert list(CLAIMS) == [f"icl.{i}" for i in range(1, 7)]
    for c in CLAIMS.values():
        assert c.source and c.statement and c.title


@pytest.mark.parametrize("cid", [f"icl.{i}" for i in range(1, 7)])
def test_claim_passes_at_test_size(evaluated, cid):
    _, out = evaluated
    result = out[cid][2]
    assert result.passed, [k.as_dict() for k in result.checks if not k.passed]


@pytest.mark.parametrize("cid", [f"icl.{i}" for i in range(1, 7)])
def test_planted_bug_perturbed_prediction_fails(evaluated, cid):
    """A 5 % error in the prediction (every number of it) must be caught by at least one check."""
    ctx, out = evaluated
    pred, meas, _ = out[cid]
    checks = CLAIMS[cid].compare(perturb(pred, 1.05), meas, ctx)
    assert not all(k.passed for k in checks)


def test_planted_bug_untrained_layer_fails_claim_2(tmp_path, monkeypatch):
    """Break the simulator: 3 Adam steps instead of the budget; the model is far from Gamma*."""
    original = claims_icl._train
    monkeypatch.setattr(claims_icl, "_train", lambda size, **kw: original(size, **{**kw, "steps": 3}))
    ctx = Context(size="test", device="cpu", dtype="float64", store=Store(tmp_path / "r"))
    assert not CLAIMS["icl.2"].evaluate(ctx).passed


def test_planted_bug_wrong_gamma_extraction_fails_claim_3(tmp_path, monkeypatch):
    """Break the read-out: Gamma_eff reported 30 % too large."""
    original = sim.effective_gamma
    monkeypatch.setattr(sim, "effective_gamma", lambda W_PV, W_KQ: 1.3 * original(W_PV, W_KQ))
    ctx = Context(size="test", device="cpu", dtype="float64", store=Store(tmp_path / "r"))
    assert not CLAIMS["icl.3"].evaluate(ctx).passed


def test_planted_bug_wrong_ridge_fails_claim_6(evaluated, tmp_path, monkeypatch):
    """Break the reference predictor: ridge with 4x the Bayes lambda is no longer Bayes optimal."""
    ctx, out = evaluated
    pred, meas, _ = out["icl.6"]
    original = sim.reference_weights
    monkeypatch.setattr(sim, "reference_weights",
                        lambda X, y, p, s2, t2: original(X, y, p, 4 * s2 if p == "ridge" else s2, t2))
    fresh = Context(size="test", device="cpu", dtype="float64", store=Store(tmp_path / "r"))
    cfg = claims_icl.reference_config("test")
    tab = claims_icl._reference_table(fresh.run(sim.run_reference, cfg, claims_icl.seeds("test")))
    broken = {**meas, **{k: v.to_numpy().T for k, v in tab.items()}}
    assert not all(k.passed for k in CLAIMS["icl.6"].compare(pred, broken, ctx))


def test_report_runs_cover_every_claim_run(evaluated):
    """Figures re-create the store keys of report_runs: every claim run at test size is among them."""
    ctx, _ = evaluated
    for fn, cfg, seeds in claims_icl.report_runs("test"):
        assert ctx.store.has(fn, cfg, seeds, device="cpu", dtype="float64")


def test_shift_bias_bound_is_tight_in_a_direction():
    """The bound is attained (to first order) by some Gamma with the given training excess, and is >= the change
    at random Gammas with that excess."""
    import numpy as np

    from theory import icl as th

    Sigma = np.diag([1.0, 0.25, 0.0625])
    G = th.optimal_gamma(Sigma, 20, 0.0)
    train, test = (Sigma, 20, 0.0), (Sigma, 300, 0.0)
    e = 1e-3
    bound = claims_icl.shift_bias_bound(G, train, test, e)
    K = th.second_moment_h(Sigma, 20, 0.0)
    rng = np.random.default_rng(0)
    L0 = th.population_loss(G, Sigma, 300, 0.0)
    for _ in range(200):
        delta = rng.standard_normal(G.shape)
        delta *= np.sqrt(e / np.trace(delta.T @ Sigma @ delta @ K))
        assert abs(th.population_loss(G + delta, Sigma, 300, 0.0) - L0) <= bound * (1 + 1e-9)
