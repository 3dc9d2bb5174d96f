"""claims/icl.py: every claim passes at test size, and fails when its prediction or its simulator is broken."""
from __future__ import annotations

import numpy as np
import pytest

from claims.core import Context, perturb
from claims import icl as claims_icl
from sims import icl as sim
from sims.store import Store
from theory import icl as th

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
    """A 3 % error in the prediction (every number of it) must be caught by at least one check."""
    ctx, out = evaluated
    pred, meas, _ = out[cid]
    checks = CLAIMS[cid].compare(perturb(pred, 1.03), meas, ctx)
    assert not all(k.passed for k in checks)


def _broken_theory(evaluated, monkeypatch, cid, name, fn, remeasure=False):
    """Re-predict with one theory function replaced, against the measurement already made (the simulator is right,
    the theory is wrong). ``remeasure``: also re-run ``measure`` (from the store), for bugs in the theory that the
    measurement evaluates at the learned Gamma_eff (the exact shifted losses)."""
    ctx, out = evaluated
    monkeypatch.setattr(th, name, fn)
    claim = CLAIMS[cid]
    return claim.compare(claim.predict(ctx), claim.measure(ctx) if remeasure else out[cid][1], ctx)


def _failed(checks, word):
    return [k.name for k in checks if not k.passed and word in k.name]


def test_planted_bug_off_by_one_n_in_gamma_star_fails_claim_1(evaluated, monkeypatch):
    """K with n - 1 in place of n: Gamma*'s step size moves 1.2 % (iso); the formula-free line fit catches it."""
    original = th.second_moment_h
    checks = _broken_theory(evaluated, monkeypatch, "icl.1", "second_moment_h",
                            lambda S, n, s2, O=None: original(S, n - 1, s2, O))
    assert _failed(checks, "loss-minimising step size")


def test_planted_bug_off_by_one_d_in_eta_fails_claim_2(evaluated, monkeypatch):
    """eta = n/(n + d + sigma^2) (the +1 dropped): +3.9 %."""
    checks = _broken_theory(evaluated, monkeypatch, "icl.2", "optimal_eta",
                            lambda d, n, s2, t2=1.0: n / (n + d + s2 / t2))
    assert _failed(checks, "loss-minimising step size")


def test_planted_bug_relu_eta_four_percent_fails_claim_3(evaluated, monkeypatch):
    """eta_relu 4 % too large (near the line fit's resolution of ~2 %)."""
    original = th.nonlinear_eta
    checks = _broken_theory(evaluated, monkeypatch, "icl.3", "nonlinear_eta", lambda *a: 1.04 * original(*a))
    assert _failed(checks, "loss-minimising step size")


def test_planted_bug_zfb_floor_off_by_one_fails_claim_4(evaluated, monkeypatch):
    """The floor's 1/N^2 as 1/(N-1)^2 (+10.8 % on the floor, +0.3 % at m = 6): caught at m = 10^4 by one-step GD."""
    original = th.zfb_test_error
    checks = _broken_theory(evaluated, monkeypatch, "icl.4", "zfb_test_error", lambda M, N, L: original(M, N, L) + (
        original(np.inf, N, L) * (N * N / (N - 1) ** 2 - 1)))
    assert _failed(checks, "m = 10000: one-step GD")


def test_planted_bug_ols_off_by_one_fails_claim_5(evaluated, monkeypatch):
    """Min-norm OLS risk sigma^2 d/(n - d) instead of /(n - d - 1): -1.8 % on the error."""
    checks = _broken_theory(evaluated, monkeypatch, "icl.5", "min_norm_ols_excess_risk",
                            lambda d, n, s2, t2=1.0: s2 * d / (n - d))
    assert _failed(checks, "OLS error")


def test_planted_bug_loss_normalisation_fails_claim_5(evaluated, monkeypatch):
    """The population loss with K's (1 + 1/n) as 1 (the finite-n Wishart correction dropped): the layer's shifted error
    no longer matches the exact loss of its own Gamma_eff."""
    def K_without_correction(Sigma, n, sigma2, Omega=None):
        Om = np.eye(len(Sigma)) if Omega is None else Omega
        return Sigma @ Om @ Sigma + (np.trace(Om @ Sigma) + sigma2) / n * Sigma

    checks = _broken_theory(evaluated, monkeypatch, "icl.5", "second_moment_h", K_without_correction, remeasure=True)
    assert _failed(checks, "layer error = exact loss")


def test_planted_bug_gd_loss_off_by_one_fails_claim_6(evaluated, monkeypatch):
    """L* of the isotropic LSA with d in place of d + 1: -1 % to -9 % over n."""
    checks = _broken_theory(evaluated, monkeypatch, "icl.6", "isotropic_optimal_loss",
                            lambda d, n, s2, t2=1.0: s2 + t2 * d * (d + s2 / t2) / (n + d + s2 / t2))
    assert _failed(checks, "one-step GD")


def test_planted_bug_untrained_layer_fails_claim_2(tmp_path, monkeypatch):
    """Break the simulator: 3 Adam steps instead of the budget; the model is far from Gamma*."""
    original = claims_icl._train
    monkeypatch.setattr(claims_icl, "_train", lambda size, **kw: original(size, **{**kw, "steps": 3}))
    ctx = Context(size="test", device="cpu", dtype="float64", store=Store(tmp_path / "r"))
    assert not CLAIMS["icl.2"].evaluate(ctx).passed


def test_planted_bug_gram_normalisation_fails_claim_3(tmp_path, monkeypatch):
    """Break the prompts: the Gram E E^T divided by n + 1 instead of rho = n. The trained layer compensates, so its
    loss is unchanged, but h shrinks by n/(n+1) and the loss-minimising step size grows by 5 %."""
    original = sim.sample_prompts

    def shrunk(gens, cfg, B, n, **kw):
        G, x_q, f_q = original(gens, cfg, B, n, **kw)
        return G * n / (n + 1), x_q, f_q

    monkeypatch.setattr(sim, "sample_prompts", shrunk)
    ctx = Context(size="test", device="cpu", dtype="float64", store=Store(tmp_path / "r"))
    result = CLAIMS["icl.3"].evaluate(ctx)
    assert [k.name for k in result.checks if not k.passed and "loss-minimising step size" in k.name]


def test_planted_bug_gamma_readout_five_percent_fails_claim_2(tmp_path, monkeypatch):
    """Break the read-out: Gamma_eff reported 5 % too large. The layer's predictions and losses are unchanged, so only
    the trained step size can see it; with the report's 8 seeds (t = 8.8, resolution ~3 % at the test budget) it
    does. At test size (4 seeds, t = 35) it could not: that is why the report runs 8."""
    original = sim.effective_gamma
    monkeypatch.setattr(sim, "effective_gamma", lambda W_PV, W_KQ: 1.05 * original(W_PV, W_KQ))
    monkeypatch.setitem(claims_icl.N_SEEDS, "test", 8)
    ctx = Context(size="test", device="cpu", dtype="float64", store=Store(tmp_path / "r"))
    result = CLAIMS["icl.2"].evaluate(ctx)
    assert _failed(result.checks, "trained step size")


def test_planted_bug_wrong_ridge_fails_claim_6(evaluated, tmp_path, monkeypatch):
    """Break the reference predictor: ridge with 1.5x the Bayes lambda is no longer Bayes optimal."""
    ctx, out = evaluated
    pred, meas, _ = out["icl.6"]
    original = sim.reference_weights
    monkeypatch.setattr(sim, "reference_weights",
                        lambda X, y, p, s2, t2: original(X, y, p, 1.5 * s2 if p == "ridge" else s2, t2))
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
