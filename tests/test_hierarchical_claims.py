"""claims/hierarchical.py at test size: every claim passes, and each fails under a planted bug."""
from __future__ import annotations

import numpy as np
import pytest

from claims import hierarchical as hc
from claims.core import perturb

CLAIMS = {c.id: c for c in hc.CLAIMS}


@pytest.fixture(scope="module")
def shared_ctx(tmp_path_factory):
    """One test-size context for the whole module, so the claims share their cached runs."""
    from claims.core import Context
    from sims.store import Store

    return Context(size="test", device="cpu", dtype="float64", store=Store(tmp_path_factory.mktemp("hier")), n_jobs=1)


_CACHE: dict = {}


@pytest.fixture
def evaluated(shared_ctx):
    """(prediction, measurement) of every claim at test size, computed once per module."""
    test_ctx = shared_ctx
    cache = _CACHE

    def get(cid):
        if cid not in cache:
            c = CLAIMS[cid]
            cache[cid] = (c.predict(test_ctx), c.measure(test_ctx))
        return cache[cid]

    return get


def _passes(cid, pred, meas, ctx):
    return all(ch.passed for ch in CLAIMS[cid].compare(pred, meas, ctx))


def test_ids_and_sources():
    assert [c.id for c in hc.CLAIMS] == [f"hierarchical.{i}" for i in range(1, 7)]
    assert all("2311.13774" in c.source and c.statement for c in hc.CLAIMS)


@pytest.mark.parametrize("cid, factor", [("hierarchical.1", 0.85), ("hierarchical.2", 0.9),
                                         ("hierarchical.4", 0.5)])
def test_claim_passes_and_planted_bug_fails(cid, factor, evaluated, shared_ctx):
    test_ctx = shared_ctx
    pred, meas = evaluated(cid)
    assert _passes(cid, pred, meas, test_ctx)
    # planted bug: the prediction scaled (the plateau halved, correlations 10-15 % off) must be caught
    assert not _passes(cid, perturb(pred, factor), meas, test_ctx)


def test_claim3_planted_threshold_scaling(evaluated, shared_ctx, monkeypatch):
    test_ctx = shared_ctx
    pred, meas = evaluated("hierarchical.3")
    assert _passes("hierarchical.3", pred, meas, test_ctx)
    # planted bug: a threshold scaling like N_k(d)^2 ~ d^{2k} (the one-step / kernel-smoother rate)
    monkeypatch.setattr(hc.th, "threshold_prediction", lambda t, rho, S=None: float(t.N) ** 2)
    bad = hc.CLAIMS[2].predict(test_ctx)
    assert not _passes("hierarchical.3", bad, meas, test_ctx)


def test_claim5_planted_bug(evaluated, shared_ctx):
    test_ctx = shared_ctx
    pred, meas = evaluated("hierarchical.5")
    assert _passes("hierarchical.5", pred, meas, test_ctx)
    # planted bug: predicting that the feature aligns with p (as if ĝ1 != 0)
    bad = {d: {**v, "corr": 0.9} for d, v in pred.items()}
    assert not _passes("hierarchical.5", bad, meas, test_ctx)
    # planted bug: predicting that the three-layer net beats the plateau (plateau far above the error)
    bad = {d: {**v, "plateau": 1.5} for d, v in pred.items()}
    assert not _passes("hierarchical.5", bad, meas, test_ctx)


def test_broken_simulator_fails_claim1(test_ctx, monkeypatch):
    # planted simulator bug: stage 1 fits only the degree-<=1 block (a first layer of too low degree)
    real = hc.sim.hermite_features

    def truncated(x, k, index=None):
        F = real(x, k, index)
        return F * (torch_arange(F) < 1 + x.shape[-1])

    def torch_arange(F):
        import torch

        return torch.arange(F.shape[-1], device=F.device)

    monkeypatch.setattr(hc.sim, "hermite_features", truncated)
    c = CLAIMS["hierarchical.1"]
    checks = c.compare(c.predict(test_ctx), c.measure(test_ctx), test_ctx)
    assert not all(ch.passed for ch in checks)


def test_crossing_interpolates_in_log_n():
    assert np.isclose(hc.crossing([1, 4], [0.0, 1.0], 0.5), 2.0)
    assert np.isnan(hc.crossing([1, 2], [0.1, 0.2], 0.9))
    assert hc.crossing([3, 6], [0.95, 0.99], 0.9) == 3.0


def _failed(cid, pred, meas, ctx):
    return [ch.name for ch in CLAIMS[cid].compare(pred, meas, ctx) if not ch.passed]


def test_claim6_planted_bugs(evaluated, shared_ctx):
    """Each of claim 6's checks can fail: a learner whose feature does not improve with n, whose loss does not fall,
    that sits above the plateau, or a transition that moves left with d."""
    ctx = shared_ctx
    pred, meas = evaluated("hierarchical.6")
    assert _failed("hierarchical.6", pred, meas, ctx) == []
    ds = sorted(d for d in pred)

    def with_(d, **kw):
        return {**meas, d: {**meas[d], **kw}}

    flat = with_(ds[0], corr=np.repeat(meas[ds[0]]["corr"][:, :1], meas[ds[0]]["corr"].shape[1], axis=1))
    assert any("rises" in n for n in _failed("hierarchical.6", pred, flat, ctx))
    stuck = with_(ds[0], err=np.repeat(meas[ds[0]]["err"][:, :1], meas[ds[0]]["err"].shape[1], axis=1))
    assert any("falls" in n for n in _failed("hierarchical.6", pred, stuck, ctx))
    above = with_(ds[-1], err_plateau=meas[ds[-1]]["err"][:, -1] - 0.5)
    assert any("same test points" in n for n in _failed("hierarchical.6", pred, above, ctx))
    swapped = {**meas, ds[0]: meas[ds[-1]], ds[-1]: meas[ds[0]]}
    assert any("moves right" in n for n in _failed("hierarchical.6", pred, swapped, ctx))


@pytest.mark.slow
def test_claim3_report_size_power(tmp_path):
    """At report size (16 seeds, d = 8..48; a few minutes) claim 3 passes and rejects a threshold that grows like
    N^2 or d^4 (kernel-like rates)."""
    from claims.core import Context
    from sims.store import Store

    ctx = Context(size="report", device="cpu", dtype="float64", store=Store(tmp_path), n_jobs=1)
    claim = CLAIMS["hierarchical.3"]
    pred, meas = claim.predict(ctx), claim.measure(ctx)
    assert _passes("hierarchical.3", pred, meas, ctx)
    for rate in (lambda t: float(t.N) ** 2, lambda t: float(t.d) ** 4):
        bad = {**pred, "n_star": np.array([rate(c.target) for c in hc.main_runs("report")[1]])}
        assert not claim.compare(bad, meas, ctx)[0].passed
