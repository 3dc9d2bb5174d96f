"""sims/hierarchical.py: determinism, batched == single seeds, GD = ridge, feature counts, bad configs."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from sims import hierarchical as sim
from sims import runtime
from theory import hierarchical as th

CPU = dict(device="cpu", dtype="float64")
TINY = dict(d=6, k=2, n_over_N=(4.0, 8.0), n_test=500, n2=300, m2=20, chunk=64)


def test_run_logs_every_metric_on_the_n_grid():
    """Determinism and batch = single seeds of run are in tests/test_contract.py (PRESETS["tiny"])."""
    cfg = sim.Config(**TINY, relu_rf_over_N=1.0)
    a = sim.run(cfg, [0, 1], **CPU)
    assert set(a.metric) == {"corr_phi_p", "corr_phi_Ph", "err_plateau", "err_stage1", "err_three_layer",
                             "err_link_plugin", "err_relu_rf"}
    assert sorted(a.step.unique()) == list(cfg.n_grid)


def test_gd_with_weight_decay_equals_ridge():
    cfg = sim.Config(**{**TINY, "n_over_N": (8.0,)})
    prob = sim._Problem(cfg, [0, 1], torch.device("cpu"), torch.float64)
    feats = sim._first_layer(cfg, [0, 1], torch.device("cpu"), torch.float64)
    U_ridge = sim.streamed_ridge(feats, prob, cfg.n_grid, 1e-2)
    prob = sim._Problem(cfg, [0, 1], torch.device("cpu"), torch.float64)
    U_gd = sim.streamed_ridge(feats, prob, cfg.n_grid, 1e-2, solver="gd", gd_steps=1500)
    assert torch.allclose(U_gd, U_ridge, atol=1e-6, rtol=0)  # GD with weight decay converges to the ridge solution: <= 1e-6 after many steps


def test_streamed_equals_explicit_solution(monkeypatch):
    monkeypatch.setattr(sim, "GRAM_DTYPE", torch.float64)  # streaming is exact; the float32 Gram has its own test
    cfg = sim.Config(**TINY)
    dev, dt = torch.device("cpu"), torch.float64
    prob = sim._Problem(cfg, [3], dev, dt)
    feats = sim._first_layer(cfg, [3], dev, dt)
    U = sim.streamed_ridge(feats, prob, cfg.n_grid, 1e-3)
    prob = sim._Problem(cfg, [3], dev, dt)
    x = torch.cat(list(prob.chunks(cfg.n_grid[-1])), dim=1)
    F, y = feats(x), prob.h(x)
    n = x.shape[1]
    G = F.transpose(-1, -2) @ F / n
    xi = 1e-3 * torch.diagonal(G, dim1=-2, dim2=-1).sum(-1) / G.shape[-1]
    A = G + xi[:, None, None] * torch.eye(G.shape[-1], dtype=dt)
    u = torch.linalg.solve(A, F.transpose(-1, -2) @ y.unsqueeze(-1) / n)
    assert torch.allclose(U[..., -1:], u, rtol=1e-8, atol=1e-10)


def _spd(m=40, seeds=2):
    g = torch.Generator().manual_seed(0)
    F = torch.randn(seeds, m, 3 * m, generator=g, dtype=torch.float64)
    return F @ F.mT / (3 * m) + 0.1 * torch.eye(m, dtype=torch.float64), torch.randn(seeds, m, 1, generator=g,
                                                                                       dtype=torch.float64)


def test_cholesky_solve_matches_linalg_solve():
    A, b = _spd()
    assert torch.allclose(sim._cholesky_solve(A, b), torch.linalg.solve(A, b), rtol=1e-10, atol=1e-12)


def test_cholesky_solve_falls_back_once_on_a_device_error(monkeypatch):
    """The CUDA safety net: a RuntimeError from the solve (like pytorch#38603's "CUDA error: invalid argument")
    re-runs it on the CPU with a warning; a second failure, or a matrix that is not SPD, raises."""
    A, b = _spd()
    real, calls = torch.linalg.cholesky, []

    def flaky(M, *args, **kwargs):
        calls.append(M.device)
        if len(calls) == 1:
            raise RuntimeError("CUDA error: invalid argument\nmore lines")
        return real(M, *args, **kwargs)

    monkeypatch.setattr(torch.linalg, "cholesky", flaky)
    with pytest.warns(RuntimeWarning, match="invalid argument.*on the CPU instead"):
        x = sim._cholesky_solve(A, b)
    assert len(calls) == 2 and torch.allclose(x, torch.linalg.solve(A, b), rtol=1e-10, atol=1e-12)

    def broken(M, *args, **kwargs):
        raise RuntimeError("CUDA error: invalid argument")

    monkeypatch.setattr(torch.linalg, "cholesky", broken)
    with pytest.warns(RuntimeWarning), pytest.raises(RuntimeError, match="invalid argument"):
        sim._cholesky_solve(A, b)
    monkeypatch.setattr(torch.linalg, "cholesky", real)
    with pytest.raises(torch.linalg.LinAlgError):
        sim._cholesky_solve(-A, b)


@pytest.mark.parametrize("link, k, d", [("h1+h3", 2, 8), ("z3", 3, 6)])
def test_err_plateau_is_the_exact_plateau_on_the_test_set(link, k, d):
    """err_plateau (P_<=k h evaluated on the test points) estimates theory.kernel_plateau; a seed-batched Monte Carlo
    check with z·SE over seeds (the z3 target is heavy-tailed, so 8 seeds of 20000 points)."""
    from theory.stats import Z_SUITE, mean_ci

    cfg = sim.Config(d=d, k=k, link=link, normalise=link == "z3", n_over_N=(4.0,), n_test=20000, n2=200, m2=5,
                     chunk=256)
    df = sim.run(cfg, range(8), **CPU)
    ci = mean_ci(df[df.metric == "err_plateau"].value.to_numpy())
    assert abs(ci.mean - th.kernel_plateau(cfg.target)) <= Z_SUITE * ci.se + 1e-9, (ci, th.kernel_plateau(cfg.target))


def test_hermite_features_count_and_gram():
    d, k = 4, 2
    gen = runtime.generators([0])
    x = runtime.randn(gen, (100_000, d), device="cpu", dtype=torch.float64)
    F = sim.hermite_features(x, k)
    assert F.shape[-1] == th.feature_count(d, k) == math.comb(d + k, k)
    G = (F.transpose(-1, -2) @ F / x.shape[1])[0]
    assert torch.allclose(G, torch.eye(G.shape[0], dtype=G.dtype), atol=0.05)  # orthonormal features: Gram ≈ I on many samples


def test_hermite_features_match_theory_polynomials():
    x = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    F = sim.hermite_features(x, 3)
    for j, alpha in enumerate(th.multi_indices(3, 3)):
        expect = np.prod([th.hermite_h(alpha.count(i), x[:, i].numpy()) for i in range(3)], axis=0)
        assert np.allclose(F[:, j].numpy(), expect, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("d,k", [(48, 2), (7, 1), (6, 3), (4, 4)])
def test_hermite_features_by_runs_equal_the_gather_bit_for_bit(d, k):
    """The run-by-run construction against a gather per slot (the products it replaced, in the same order)."""
    x = torch.randn(2, 33, d, dtype=torch.float64, generator=torch.Generator().manual_seed(d))
    index = sim._hermite_index(d, k, "cpu")
    table = sim._hermite(x, k).flatten(-2)
    want = table[..., index[:, 0]]
    for s in range(1, k):
        want = want * table[..., index[:, s]]
    assert torch.equal(sim.hermite_features(x, k, index), want)
    if k == 2:
        assert len(sim._hermite_runs(index)) <= 2 * d + 2  # one run per coordinate's pairs, not one per feature


@pytest.mark.parametrize("first_layer", ["rf", "relu"])
def test_in_place_feature_maps_equal_the_plain_formulas(first_layer):
    """The first layer's and the ReLU baseline's feature maps (computed in place) against the plain expressions."""
    cfg = sim.Config(d=6, k=3, first_layer="rf", m1_over_N=1.5)
    x = torch.randn(2, 50, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    if first_layer == "rf":
        got = sim._first_layer(cfg, [0, 1], "cpu", torch.float64)(x)
        gens = runtime.generators(sim._sub_seeds([0, 1], 1), "cpu")
        V = runtime.randn(gens, (cfg.m1, cfg.d), device="cpu", dtype=torch.float64)
        V = V / V.norm(dim=-1, keepdim=True)
        s = runtime.randn(gens, (cfg.m1,), device="cpu", dtype=torch.float64)
        scale = 1.0 / math.sqrt(th.gaussian_moment(2 * cfg.k) * 2**cfg.k)
        assert torch.equal(got, ((x @ V.transpose(-1, -2) + s.unsqueeze(-2)) ** cfg.k) * scale)
    else:
        got = sim._relu_rf(cfg, [0, 1], "cpu", torch.float64, 40)(x)
        gens = runtime.generators(sim._sub_seeds([0, 1], 2), "cpu")
        W = runtime.randn(gens, (40, cfg.d), device="cpu", dtype=torch.float64) / math.sqrt(cfg.d)
        b = runtime.randn(gens, (40,), device="cpu", dtype=torch.float64)
        assert torch.equal(got, torch.relu(x @ W.transpose(-1, -2) + b.unsqueeze(-2)))


def test_rf_layer_reaches_the_same_span():
    base = dict(d=6, k=2, n_over_N=(16.0,), n_test=2000, n2=300, m2=20, chunk=256)
    a = sim.run(sim.Config(**base), [0], **CPU)
    b = sim.run(sim.Config(**base, first_layer="rf", m1_over_N=2.0), [0], **CPU)
    ca = a[a.metric == "corr_phi_p"].value.item()
    cb = b[b.metric == "corr_phi_p"].value.item()
    assert abs(ca - cb) < 0.02  # same degree<=k span, same data; only the ridge geometry differs


def test_target_in_sim_matches_theory():
    cfg = sim.Config(**TINY)
    prob = sim._Problem(cfg, [0], torch.device("cpu"), torch.float64)
    x = prob.x_test
    z = (x @ prob.Q)[0].numpy()
    assert np.allclose(prob.h(x)[0].numpy(), cfg.target.h_of_z(z), rtol=1e-12, atol=1e-12)
    Q = prob.Q[0]
    assert torch.allclose(Q.T @ Q, torch.eye(cfg.d, dtype=Q.dtype), atol=1e-12)


def test_baselines_see_the_same_data():
    c1 = sim.Config(**TINY)
    c2 = sim.TwoLayerConfig(d=6, k=2, n_over_N=(4.0, 8.0), n_test=500, chunk=64)
    p1 = sim._Problem(c1, [5], torch.device("cpu"), torch.float64)
    p2 = sim._Problem(c2, [5], torch.device("cpu"), torch.float64)
    x1 = torch.cat(list(p1.chunks(200)), 1)
    x2 = torch.cat(list(p2.chunks(200)), 1)
    assert torch.equal(x1, x2) and torch.equal(p1.x_test, p2.x_test)


def test_two_layer_and_joint_run():
    df = sim.run_two_layer(sim.TwoLayerConfig(d=4, n_over_N=(4.0,), width=16, steps=20, n_test=200, chunk=64),
                           [0, 1], **CPU)
    assert set(df.metric) == {"err_two_layer"} and np.isfinite(df.value).all()
    dj = sim.run_joint(sim.JointConfig(d=4, n_over_N=(2.0,), steps=20, m2=10, n_test=200, chunk=64), [0], **CPU)
    assert set(dj.metric) == {"corr_phi_p", "err_joint"} and np.isfinite(dj.value).all()


def test_presets_and_sweeps():
    assert {"cpu", "gpu"} <= set(sim.PRESETS)
    paper = sim.SWEEPS["paper"]
    assert paper["fn"] is sim.run and [c.d for c in paper["configs"]] == [16, 24, 32, 40]
    assert all(c.k == 3 and c.link == "z3" for c in paper["configs"])


@pytest.mark.parametrize("kwargs, field", [
    (dict(k=0), "k"), (dict(d=1), "d"), (dict(d=7), "d"), (dict(link="sin"), "link"), (dict(signs="x"), "signs"),
    (dict(n_over_N=(4.0, 2.0)), "n_over_N"), (dict(n_over_N=(float("nan"),)), "n_over_N"),
    (dict(first_layer="cnn"), "first_layer"), (dict(m1_over_N=0.5), "m1_over_N"), (dict(ridge=0.0), "ridge"),
    (dict(solver="adam"), "solver"), (dict(n_test=5), "n_test"),
])
def test_bad_config(kwargs, field):
    with pytest.raises(ValueError, match=field):
        sim.Config(**kwargs)


@pytest.mark.gpu
def test_cuda_matches_cpu(cuda_device):
    cfg = sim.Config(d=8, k=2, n_over_N=(8.0, 16.0), n_test=2000, n2=500, m2=20, relu_rf_over_N=1.0)
    a = sim.run(cfg, [0, 1], device="cpu", dtype="float64")
    b = sim.run(cfg, [0, 1], device=cuda_device, dtype="float64")
    # different RNG streams on CUDA: compare seed-averaged metrics within Monte-Carlo spread
    ma = a.groupby("metric").value.mean()
    mb = b.groupby("metric").value.mean()
    assert (ma - mb).abs().max() < 0.15
    c = sim.run(cfg, [0, 1], device=cuda_device, dtype="float32")
    assert np.isfinite(c.value).all()


def test_float32_path_runs_and_agrees_loosely():
    # float32 draws different random numbers; agreement within Monte-Carlo spread of a tiny run (loose, stated)
    cfg = sim.Config(d=8, k=2, n_over_N=(16.0,), n_test=2000, n2=300, m2=20, chunk=512)
    a = sim.run(cfg, [0, 1], device="cpu", dtype="float32")
    b = sim.run(cfg, [0, 1], **CPU)
    assert np.isfinite(a.value).all()
    ca = a[a.metric == "corr_phi_p"].value.mean()
    cb = b[b.metric == "corr_phi_p"].value.mean()
    assert abs(ca - cb) < 0.1


@pytest.mark.slow
def test_rf_k3_batched_equals_single_and_tracks_hermite():
    cfg = sim.Config(d=8, k=3, link="z3", normalise=True, first_layer="rf", m1_over_N=1.5, n_over_N=(8.0, 32.0),
                     n_test=5000, n2=1000, ridge2=1e-2)
    a = sim.run(cfg, [0, 1, 2], **CPU)
    single = pd.concat([sim.run(cfg, [s], **CPU) for s in (0, 1, 2)])
    merged = a.merge(single, on=["seed", "step", "metric"], suffixes=("_b", "_s"))
    assert np.allclose(merged.value_b, merged.value_s, rtol=1e-7, atol=1e-9)
    h = sim.run(sim.Config(**{**cfg.__dict__, "first_layer": "hermite"}), [0, 1, 2], **CPU)
    corr_rf = a[(a.metric == "corr_phi_p") & (a.step == cfg.n_grid[-1])].value.mean()
    corr_h = h[(h.metric == "corr_phi_p") & (h.step == cfg.n_grid[-1])].value.mean()
    assert abs(corr_rf - corr_h) < 0.1  # same span and data; heavy tails make the ridge geometry matter a little
