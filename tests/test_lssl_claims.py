"""claims/lssl.py: every claim passes at test size (float64 and float32), and a planted bug makes each one fail."""
from __future__ import annotations

import pytest
import torch

from claims import lssl as L
from claims.core import Context, perturb
from sims import lssl as S

BY_ID = {c.id: c for c in L.CLAIMS}


@pytest.fixture(scope="module")
def shared_ctx(tmp_path_factory):
    """One store for the unperturbed claims, so a planted prediction bug reuses the cached measurement."""
    from sims.store import Store

    return Context(size="test", device="cpu", dtype="float64", store=Store(tmp_path_factory.mktemp("lssl")), n_jobs=1)


def checks_pass(claim, ctx, pred=None, meas=None):
    pred = claim.predict(ctx) if pred is None else pred
    meas = claim.measure(ctx) if meas is None else meas
    return all(c.passed for c in claim.compare(pred, meas, ctx))


def test_ids_are_numbered_as_in_the_issue():
    assert [c.id for c in L.CLAIMS] == [f"lssl.{i}" for i in range(1, 8)]
    assert all(c.source and c.statement for c in L.CLAIMS)


@pytest.mark.parametrize("claim_id", list(BY_ID))
def test_claim_confirmed_at_test_size(claim_id, shared_ctx):
    res = BY_ID[claim_id].evaluate(shared_ctx)
    assert res.passed, [c.as_dict() for c in res.checks if not c.passed]


@pytest.mark.parametrize("claim_id", ["lssl.1", "lssl.2", "lssl.3", "lssl.4", "lssl.5", "lssl.7"])
def test_claim_confirmed_in_float32(claim_id, tmp_path):
    from sims.store import Store

    ctx = Context(size="test", device="cpu", dtype="float32", store=Store(tmp_path), n_jobs=1)
    res = BY_ID[claim_id].evaluate(ctx)
    assert res.passed, [c.as_dict() for c in res.checks if not c.passed]


# ---------------------------------------------------------------------------------------------- planted bugs


@pytest.mark.parametrize("claim_id,factor", [("lssl.2", 1.5), ("lssl.3", 1.5), ("lssl.4", 1.5), ("lssl.5", 1.5),
                                             ("lssl.6", 1e-3), ("lssl.7", 1e-3)])
def test_perturbed_prediction_fails(claim_id, factor, shared_ctx):
    """Orders/exponents 50 % off (their bands are ±0.25: a 5 % change hides in them); thresholds 1000x tighter."""
    claim = BY_ID[claim_id]
    pred, meas = claim.predict(shared_ctx), claim.measure(shared_ctx)
    assert checks_pass(claim, shared_ctx, pred, meas)
    assert not checks_pass(claim, shared_ctx, perturb(pred, factor), meas)


def test_planted_bug_1_circular_convolution(test_ctx, monkeypatch):
    """Without zero padding to 2L the FFT convolution wraps around: the views disagree."""
    def circular(K, u):
        n = u.shape[-1]
        return torch.fft.irfft(torch.fft.rfft(K, n=n) * torch.fft.rfft(u, n=n), n=n)

    monkeypatch.setattr(S, "causal_conv", circular)
    assert not checks_pass(BY_ID["lssl.1"], test_ctx)


def test_planted_bug_1_tolerance_is_tight(shared_ctx):
    claim = BY_ID["lssl.1"]
    meas = claim.measure(shared_ctx)
    bumped = {m: ({k: v + 1e-9 for k, v in d.items()} if isinstance(d, dict) else d) for m, d in meas.items()}
    assert not checks_pass(claim, shared_ctx, meas=bumped)  # a 1e-9 gap would exceed rtol 1e-10


def test_planted_bug_2_bilinear_replaced_by_backward_euler(test_ctx, monkeypatch):
    real = S.discretize
    monkeypatch.setattr(S, "discretize", lambda A, B, dt, method: real(A, B, dt, "backward_euler"
                                                                       if method == "bilinear" else method))
    assert not checks_pass(BY_ID["lssl.2"], test_ctx)


def test_planted_bug_3_gate_uses_the_wrong_sign(test_ctx, monkeypatch):
    real = S.gated_recurrence
    monkeypatch.setattr(S, "gated_recurrence", lambda z, u: real(-z, u))
    assert not checks_pass(BY_ID["lssl.3"], test_ctx)


def test_planted_bug_4_coarse_run_uses_the_fine_step(test_ctx, monkeypatch):
    """Resampling without rescaling dt (the SC experiment done wrong): the gap no longer shrinks like dt^2."""
    real = S.discretize
    monkeypatch.setattr(S, "discretize", lambda A, B, dt, method: real(A, B, dt * (1 + 0.3 * (dt > 0.005)), method))
    assert not checks_pass(BY_ID["lssl.4"], test_ctx)


def test_planted_bug_5_legs_sign_error(test_ctx, monkeypatch):
    real = S.legs_recurrence
    monkeypatch.setattr(S, "legs_recurrence", lambda A, B, f, variant: real(A, -B, f, variant))
    assert not checks_pass(BY_ID["lssl.5"], test_ctx)


def test_planted_bug_6_hippo_replaced_by_random(test_ctx, monkeypatch):
    real = S.state_matrix
    monkeypatch.setattr(S, "state_matrix", lambda kind, N, gens, **kw: real("random", N, gens, **kw))
    assert not checks_pass(BY_ID["lssl.6"], test_ctx)


def test_planted_bug_7_leaky_layer(test_ctx, monkeypatch):
    """A layer that forgets 1 % per step is no longer the Picard map of x' = -x + f."""
    real = S.discretize
    monkeypatch.setattr(S, "discretize", lambda A, B, dt, method: (lambda ab: (0.99 * ab[0], ab[1]))(
        real(A, B, dt, method)))
    assert not checks_pass(BY_ID["lssl.7"], test_ctx)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_all_claims_confirmed_at_report_size(dtype, tmp_path):
    """The report-size runs (what `make validate` shows), in float64 and in float32."""
    from sims.store import Store

    ctx = Context(size="report", device="cpu", dtype=dtype, store=Store(tmp_path), n_jobs=1)
    for claim in L.CLAIMS:
        res = claim.evaluate(ctx)
        assert res.passed, (claim.id, [c.as_dict() for c in res.checks if not c.passed])
