"""claims/lssl.py: every claim passes at test size (float64 and float32), and a planted bug makes each one fail."""
from __future__ import annotations

import numpy as np
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


@pytest.fixture(scope="module")
def report_ctx(tmp_path_factory):
    """Report size for the cheap claims (lssl.2-5, 7: about 4 s of simulation), where their resolution is stated."""
    from sims.store import Store

    return Context(size="report", device="cpu", dtype="float64", store=Store(tmp_path_factory.mktemp("lssl_r")),
                   n_jobs=1)


@pytest.mark.parametrize("claim_id", ["lssl.2", "lssl.3", "lssl.4", "lssl.5", "lssl.7"])
def test_prediction_off_by_5_percent_fails_at_report_size(claim_id, report_ctx):
    """Orders, exponents and Picard errors 5 % off: each claim resolves them at report size (resolution <= 3.5 %
    for the orders, 1 % for the Picard errors; lssl.5's LegS order at 3 %)."""
    claim = BY_ID[claim_id]
    pred, meas = claim.predict(report_ctx), claim.measure(report_ctx)
    assert checks_pass(claim, report_ctx, pred, meas)
    assert not checks_pass(claim, report_ctx, perturb(pred, 1.05), meas)
    assert not checks_pass(claim, report_ctx, perturb(pred, 0.95), meas)


def test_delay_off_by_one_step_fails(shared_ctx):
    """A prediction of lag + 1 steps (1/256 = 0.4 %) must fail: the closed-form LegT read-out realises the delay to
    0.002 steps."""
    claim = BY_ID["lssl.6"]
    pred, meas = claim.predict(shared_ctx), claim.measure(shared_ctx)
    assert checks_pass(claim, shared_ctx, pred, meas)
    shifted = dict(pred, delay=pred["delay"] + 1.0)
    assert not checks_pass(claim, shared_ctx, shifted, meas)


def test_planted_bug_6_target_delayed_one_step_too_many(test_ctx, monkeypatch):
    """The simulator's target y_t = u_{t-lag-1} (an off-by-one in the padding): the realised delay of the
    closed-form LegT read-out moves by one step, 500 times its resolution."""
    real = S.delay_target
    monkeypatch.setattr(S, "delay_target", lambda u, lag: real(u, lag + 1))
    claim = BY_ID["lssl.6"]
    checks = claim.compare(claim.predict(test_ctx), claim.measure(test_ctx), test_ctx)
    failed = [c.name for c in checks if not c.passed]
    assert "closed-form read-out, legt (simulator, worst seed): fitted delay (steps)" in failed, failed


def test_planted_bug_6_theory_target_off_by_one(shared_ctx, monkeypatch):
    """theory.delay_target one step late: the theory-data read-out realises lag + 1 and its check fails."""
    from theory import lssl as T

    claim = BY_ID["lssl.6"]
    meas = claim.measure(shared_ctx)
    real = T.delay_target
    monkeypatch.setattr(T, "delay_target", lambda u, lag: real(u, lag + 1))
    assert not checks_pass(claim, shared_ctx, claim.predict(shared_ctx), meas)


def test_planted_bug_2_order_table_says_forward_euler_midpoint_is_second_order(shared_ctx, monkeypatch):
    from theory import lssl as T

    real = T.discretization_order
    monkeypatch.setattr(T, "discretization_order", lambda m, s, alpha=None: (
        (2, "wrong") if (m, s) == ("forward_euler", "midpoint") else real(m, s, alpha)))
    claim = BY_ID["lssl.2"]
    assert not checks_pass(claim, shared_ctx, claim.predict(shared_ctx), claim.measure(shared_ctx))


def test_planted_bug_7_picard_depth_off_by_one(shared_ctx, monkeypatch):
    """theory.picard_errors one layer late (iterate l compared as l + 1): the exact-error check fails."""
    from theory import lssl as T

    claim = BY_ID["lssl.7"]
    meas = claim.measure(shared_ctx)
    real = T.picard_errors
    monkeypatch.setattr(T, "picard_errors", lambda x0, ph, t, depth: np.concatenate(
        [real(x0, ph, t, depth + 1)[:, 1:]], axis=1))
    assert not checks_pass(claim, shared_ctx, claim.predict(shared_ctx), meas)


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
    """A layer that forgets 1e-5 per step (A_bar scaled by 1 - 1e-5: 0.4 % of the step's own decay dt = 5e-3) is
    no longer the Picard map of x' = -x + f: its gap to the exact iterates stops being O(dt^2)."""
    real = S.discretize
    monkeypatch.setattr(S, "discretize", lambda A, B, dt, method: (lambda ab: ((1 - 1e-5) * ab[0], ab[1]))(
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
