"""sims/icl.py: the layer's algebra, determinism, batched = single seeds, samplers, reference predictors, bad config."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from sims import icl as sim
from sims import runtime
from theory import icl as th
from theory.stats import Z_SUITE

F64 = dict(device="cpu", dtype=torch.float64)
TINY = dict(d=3, n=6, steps=20, batch=64, eval_batch=512, log_every=5)


def _weights(S=2, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(S, d + 1, d + 1, generator=g, dtype=torch.float64),
            torch.randn(S, d + 1, d + 1, generator=g, dtype=torch.float64))


def test_gram_prediction_equals_the_literal_layer():
    """lsa_predict through E E^T/n is the bottom-right entry of f(E) = E + W^PV E (E^T W^KQ E)/n (ZFB eq. 3.3)."""
    d, n, S, B = 3, 7, 2, 5
    W_PV, W_KQ = _weights(S, d)
    g = torch.Generator().manual_seed(1)
    E = torch.randn(S, B, d + 1, n + 1, generator=g, dtype=torch.float64)
    E[:, :, d, n] = 0  # query label slot
    out = sim.lsa_full(W_PV, W_KQ, E, n)
    G = E @ E.transpose(-1, -2) / n
    pred = sim.lsa_predict(W_PV, W_KQ, G, E[:, :, :d, n])
    assert torch.allclose(pred, out[:, :, d, n], rtol=1e-12, atol=1e-12)


def test_effective_gamma_is_the_even_part():
    """With u_x = 0 and k = 0 (no odd terms) the layer predicts exactly x_q^T Gamma_eff h."""
    d, n, S, B = 4, 9, 3, 6
    W_PV, W_KQ = _weights(S, d, 2)
    W_PV[:, d, :d] = 0
    W_KQ[:, d, :d] = 0
    cfg = sim.Config(d=d, n=n, prompt_dtype="run")
    G, x_q, _ = sim.sample_prompts(runtime.generators([0, 1, 2]), cfg, B, n, device="cpu", pdtype=torch.float64,
                                   dtype=torch.float64)
    h = G[..., :d, d]
    Gamma = sim.effective_gamma(W_PV, W_KQ)
    want = torch.einsum("sbi,sij,sbj->sb", x_q, Gamma, h)
    assert torch.allclose(sim.lsa_predict(W_PV, W_KQ, G, x_q), want, rtol=1e-12, atol=1e-12)
    odd_x, odd_y = sim.odd_terms(W_PV, W_KQ)
    assert torch.all(odd_x == 0) and torch.all(odd_y == 0)


def test_scale_symmetry_leaves_prediction_and_gamma_unchanged():
    W_PV, W_KQ = _weights(2, 3, 4)
    G = torch.randn(2, 5, 4, 4, dtype=torch.float64)
    x_q = torch.randn(2, 5, 3, dtype=torch.float64)
    c = 3.7
    assert torch.allclose(sim.lsa_predict(c * W_PV, W_KQ / c, G, x_q), sim.lsa_predict(W_PV, W_KQ, G, x_q), rtol=1e-12)
    assert torch.allclose(sim.effective_gamma(c * W_PV, W_KQ / c), sim.effective_gamma(W_PV, W_KQ), rtol=1e-12)


def test_same_seeds_twice_are_identical():
    cfg = sim.Config(**TINY, eval_lengths=(4, 50), eval_scales=(2.0,))
    a = sim.run(cfg, [3, 5], **F64)
    b = sim.run(cfg, [3, 5], **F64)
    assert a.equals(b)
    assert {"train_loss", "eval_loss", "err_m50", "lsa_scale2", "ols_scale2"} <= set(a["metric"])


@pytest.mark.parametrize("make", [  # the plain run is covered by tests/test_contract.py
    lambda: (sim.run, sim.Config(d=3, n=6, steps=10, batch=32, eval_batch=256, response="relu", init="gaussian")),
    lambda: (sim.run_reduced, sim.ReducedConfig(d=3, n=6, steps=300, log_every=100)),
    lambda: (sim.run_reference, sim.ReferenceConfig(d=3, ns=(2, 3, 8), batch=64)),
])
def test_batched_seeds_equal_single_seeds(make):
    fn, cfg = make()
    both = fn(cfg, [7, 11], **F64)
    for seed in (7, 11):
        alone = fn(cfg, [seed], **F64)
        part = both[both["seed"] == seed].reset_index(drop=True)
        # identical draws per seed; batched BLAS may block differently, hence 1e-12 rather than bit equality
        np.testing.assert_allclose(part["value"].to_numpy(), alone["value"].to_numpy(), rtol=1e-12, atol=1e-12)


def test_wishart_sampler_matches_direct_prompts():
    """The context Gram from Bartlett's decomposition has the law of sum_i z_i z_i^T: its entries' first two moments
    agree with direct sampling (z-rule on the difference of two independent MC means)."""
    cfg = sim.Config(d=2, n=5, sigma2=0.3, spectrum=(1.0, 0.25), prompt_dtype="run")
    m, B = 5, 40000
    gens = runtime.generators([1])
    C, x_q, f_q, w = sim.sample_gram_wishart(gens, sim._numpy_rngs([1], 9), cfg, B, m, **F64)
    G, xq2, _ = sim.sample_prompts(runtime.generators([2]), cfg, B, m, device="cpu", pdtype=torch.float64,
                                   dtype=torch.float64)
    q = torch.cat([xq2, torch.zeros_like(xq2[..., :1])], -1)
    C_direct = G * m - q[..., :, None] * q[..., None, :]
    for stat in (lambda M: M, lambda M: M ** 2):
        a, b = stat(C[0]).reshape(B, -1), stat(C_direct[0]).reshape(B, -1)
        se = torch.sqrt(a.var(0) / B + b.var(0) / B)
        assert torch.all((a.mean(0) - b.mean(0)).abs() <= Z_SUITE * se)
    assert torch.allclose(f_q, (x_q * w).sum(-1))


def test_layer_at_gamma_star_has_no_odd_part_and_equals_one_step_gd():
    """Weights with u_x = k = 0 and Gamma_eff = Gamma*: the layer is x_q^T Gamma* h, so on the same prompts its odd
    share is 0, its error equals the one-step GD predictor's at every m and c, and the line fit gives c = 1 exactly
    on average (E[y_q s] = E[s^2] at the optimum; here within the pooled Monte-Carlo SE)."""
    cfg = sim.Config(d=3, n=8, sigma2=0.04, spectrum=(1.0, 0.5, 0.25), eval_batch=20000, eval_lengths=(4, 50),
                     eval_scales=(0.5, 2.0), prompt_dtype="run")
    d, S = cfg.d, 2
    W_PV = torch.zeros(S, d + 1, d + 1, dtype=torch.float64)
    W_KQ = torch.zeros(S, d + 1, d + 1, dtype=torch.float64)
    W_PV[:, d, d] = 1.0
    W_KQ[:, :d, :d] = torch.as_tensor(sim.optimal_gamma(cfg)).T
    out = sim.evaluate(W_PV, W_KQ, cfg, runtime.generators([3, 4]), [3, 4], **F64)
    for m in cfg.eval_lengths:
        assert torch.all(out[f"odd_m{m}"] < 1e-20)
        torch.testing.assert_close(out[f"err_m{m}"], out[f"gd_m{m}"], rtol=1e-12, atol=1e-12)
    for c in cfg.eval_scales:
        assert torch.all(out[f"odd_scale{float(c):g}"] < 1e-20)
    assert torch.all(out["spd_opt"] < 1e-20)
    N = S * cfg.eval_batch
    A, B = out["line_ys"].mean().item(), out["line_ss"].mean().item()
    var = (out["line_ys_sq"].mean() - 2 * out["line_ys_ss"].mean() + out["line_ss_sq"].mean()).item() - (A - B) ** 2
    assert abs(A / B - 1) <= Z_SUITE * math.sqrt(var / N) / B


def test_trained_layer_reduces_loss_and_logs():
    cfg = sim.Config(d=3, n=10, steps=150, batch=256, eval_batch=4096, log_every=50, lr=0.05, init="zfb")
    df = sim.run(cfg, [0, 1], **F64)
    curve = df[df["metric"] == "train_loss"].pivot(index="step", columns="seed", values="value")
    assert list(curve.index) == [0, 50, 100, 149]
    assert np.all(curve.iloc[-1] < curve.iloc[0])
    L_star = th.optimal_loss(cfg.Sigma, cfg.n, cfg.sigma2)
    G = sim.gamma_from_table(df, 3)
    assert np.all(np.linalg.norm(G - th.optimal_gamma(cfg.Sigma, cfg.n, cfg.sigma2), axis=(1, 2)) < 0.3)
    assert np.all(sim.metric(df, "eval_loss") < 1.2 * L_star)


def test_reduced_gradient_flow_converges_and_keeps_balance():
    cfg = sim.ReducedConfig(d=3, n=10, spectrum=(1.0, 0.5, 0.25), steps=20000, log_every=5000)
    df = sim.run_reduced(cfg, [0], **F64)
    G = sim.gamma_from_table(df, 3)[0]
    G_star = th.zfb_gamma(cfg.Sigma, cfg.n)
    assert np.linalg.norm(G - G_star) / np.linalg.norm(G_star) < 1e-6
    loss = df[df["metric"] == "loss"]["value"].to_numpy()
    assert loss[-1] == pytest.approx(th.optimal_loss(cfg.Sigma, cfg.n, 0.0), rel=1e-9)
    balance = df[df["metric"] == "balance"]["value"].to_numpy()
    assert abs(balance[-1] - balance[0]) < 10 * cfg.lr * cfg.init_scale  # GD drift O(lr); flow conserves it


def test_reference_predictors():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(50, 12, 4, generator=g, dtype=torch.float64)
    w = torch.randn(50, 4, generator=g, dtype=torch.float64)
    y = (X @ w[..., None])[..., 0]
    assert torch.allclose(sim.reference_weights(X, y, "ols", 0.0, 1.0), w, atol=1e-10)  # noiseless, n >= d
    h = (X.transpose(-1, -2) @ y[..., None])[..., 0] / 12
    assert torch.allclose(sim.reference_weights(X, y, "gd_unit", 0.1, 1.0), h)
    ridge = sim.reference_weights(X, y, "ridge", 0.5, 2.0)
    assert torch.allclose((X.transpose(-1, -2) @ X + 0.25 * torch.eye(4)) @ ridge[..., None],
                          (X.transpose(-1, -2) @ y[..., None]), atol=1e-10)
    Xs = X[:, :2]  # n < d: min-norm interpolant
    ols = sim.reference_weights(Xs, y[:, :2], "ols", 0.0, 1.0)
    assert torch.allclose((Xs @ ols[..., None])[..., 0], y[:, :2], atol=1e-10)
    with pytest.raises(ValueError, match="predictor"):
        sim.reference_weights(X, y, "knn", 0.1, 1.0)


def test_reference_run_matches_exact_ols_risk():
    cfg = sim.ReferenceConfig(d=4, ns=(16,), sigma2=0.5, batch=20000)
    df = sim.run_reference(cfg, [0], **F64)
    mean = df[(df.metric == "ols")]["value"].item()
    sq = df[(df.metric == "ols_sq")]["value"].item()
    se = math.sqrt((sq - mean ** 2) / cfg.batch)
    assert abs(mean - th.min_norm_ols_excess_risk(4, 16, 0.5)) <= Z_SUITE * se


@pytest.mark.parametrize("kwargs, field", [
    (dict(d=0), "d"), (dict(n=0), "n"), (dict(sigma2=-1.0), "sigma2"), (dict(tau2=0.0), "tau2"),
    (dict(spectrum=(1.0, 2.0)), "spectrum"), (dict(spectrum=(1, 1, 1, -1, 1)), "spectrum"),
    (dict(prior="flat"), "prior"), (dict(response="sigmoid"), "response"), (dict(init="xavier"), "init"),
    (dict(init_scale=0.0), "init_scale"), (dict(optimizer="lbfgs"), "optimizer"), (dict(lr=0.0), "lr"),
    (dict(schedule="step"), "schedule"), (dict(steps=0), "steps"), (dict(batch=0), "batch"),
    (dict(eval_batch=0), "eval_batch"), (dict(log_every=-1), "log_every"), (dict(eval_lengths=(3,)), "eval_lengths"),
    (dict(eval_lengths=(50,), response="relu"), "eval_lengths"), (dict(eval_scales=(0.0,)), "eval_scales"),
    (dict(n=5, eval_scales=(2.0,)), "eval_scales"), (dict(prompt_dtype="float16"), "prompt_dtype"),
])
def test_bad_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        sim.Config(**kwargs)


@pytest.mark.parametrize("make, field", [
    (lambda: sim.ReducedConfig(lr=-1.0), "lr"), (lambda: sim.ReducedConfig(steps=0), "steps"),
    (lambda: sim.ReducedConfig(n=0), "n"), (lambda: sim.ReferenceConfig(ns=()), "ns"),
    (lambda: sim.ReferenceConfig(ns=(0, 2)), "ns"), (lambda: sim.ReferenceConfig(batch=1), "batch"),
])
def test_bad_other_configs_name_the_field(make, field):
    with pytest.raises(ValueError, match=field):
        make()


def test_unknown_device_is_rejected():
    with pytest.raises(ValueError, match="device"):
        sim.run(sim.Config(**TINY), [0], device="tpu", dtype="float64")


def test_presets_and_sweeps_are_valid():
    assert {"cpu", "gpu"} <= set(sim.PRESETS)
    paper = sim.SWEEPS["paper"]
    assert paper["fn"] is sim.run and paper["n_seeds"] >= 1 and all(isinstance(c, sim.Config) for c in paper["configs"])


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cuda_path_reaches_the_optimum(cuda_device, dtype):
    """The CUDA path is the same code; CUDA generators draw other numbers, so check the outcome, not the digits:
    the trained layer lands near Gamma* and the reduced gradient flow on Gamma_Z^-1, as on the CPU."""
    cfg = sim.Config(d=3, n=10, steps=300, batch=512, eval_batch=8192, lr=0.05, init="zfb", eval_lengths=(20,))
    df = sim.run(cfg, [0, 1], device=cuda_device, dtype=dtype)
    G = sim.gamma_from_table(df, 3)
    G_star = th.optimal_gamma(cfg.Sigma, cfg.n, cfg.sigma2)
    assert np.all(np.linalg.norm(G - G_star, axis=(1, 2)) / np.linalg.norm(G_star) < 0.15)
    assert np.all(np.abs(sim.metric(df, "eval_loss") / th.optimal_loss(cfg.Sigma, cfg.n, cfg.sigma2) - 1) < 0.1)
    red = sim.ReducedConfig(d=3, n=10, spectrum=(1.0, 0.5, 0.25), steps=20000, log_every=10000)
    G_red = sim.gamma_from_table(sim.run_reduced(red, [0], device=cuda_device, dtype=dtype), 3)[0]
    G_z = th.zfb_gamma(red.Sigma, red.n)
    assert np.linalg.norm(G_red - G_z) / np.linalg.norm(G_z) < (1e-6 if dtype == "float64" else 1e-4)


@given(st.integers(1, 6), st.integers(1, 100), st.integers(0, 2**31 - 1))
def test_balancedness_is_conserved_by_the_flow(d, n, seed):
    """P11: for Gamma = c A^T, d/dt (c^2 - ||A||_F^2) = -2c dL/dc + 2<A, dL/dA> = 0 exactly (autograd on the exact
    loss), so gradient flow conserves it; GD breaks it only at O(lr^2) per step."""
    rng = np.random.default_rng(seed)
    lam = np.exp(rng.uniform(-2, 2, d))
    Sigma = torch.as_tensor(np.diag(lam))
    K = torch.as_tensor(th.second_moment_h(np.diag(lam), n, 0.1))
    c = torch.tensor(float(rng.standard_normal()), dtype=torch.float64, requires_grad=True)
    A = torch.as_tensor(rng.standard_normal((d, d)), dtype=torch.float64).requires_grad_(True)
    Gamma = c * A.T
    L = -2 * torch.trace(Gamma @ Sigma @ Sigma) + torch.trace(Gamma.T @ Sigma @ Gamma @ K)
    gc, gA = torch.autograd.grad(L, (c, A))
    rate = -2 * c * gc + 2 * (A * gA).sum()
    scale = (c.abs() * gc.abs() + (A.abs() * gA.abs()).sum()).item()
    assert abs(rate.item()) <= 1e-12 * max(scale, 1.0)
