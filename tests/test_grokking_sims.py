"""sims/grokking.py: hand-written gradients vs autograd, index gathering vs one-hot matmuls, determinism, batched ==
single seeds, the energy ascent against theory/, the analytic nets, bad configs and CUDA agreement."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from sims import grokking as sim
from sims import runtime
from theory import grokking as th


TINY = sim.Config(M=11, fraction=0.6, K=16, lr=1e-2, weight_decay=1e-3, epochs=20, log_every=5)


@pytest.mark.parametrize("activation", sim.ACTIVATIONS)
@pytest.mark.parametrize("loss", sim.LOSSES)
@pytest.mark.parametrize("factors", [(), (3, 4)])
def test_hand_gradients_equal_autograd_and_one_hot(activation, loss, factors):
    M = 12 if factors else 11
    config = sim.Config(M=M, factors=factors, fraction=0.5, K=8, activation=activation, loss=loss)
    gens = runtime.generators([3, 4])
    (a, b, y), _ = sim._split(config, gens, "cpu")
    W, V = sim._init(config, gens, "cpu", torch.float64)
    Wr, Vr = W.clone().requires_grad_(), V.clone().requires_grad_()
    # the one-hot reference: X (n, 2M) @ W, the matmul the simulator avoids
    X = torch.cat([torch.nn.functional.one_hot(a, M), torch.nn.functional.one_hot(b, M)], dim=-1).double()
    o = sim._activation(activation)[0](X @ Wr) @ Vr
    value, _ = sim._loss_per_seed(o, y, loss, M)
    value.sum().backward()
    v2, dW, dV = sim.loss_and_grads(W, V, a, b, y, config)
    # float64 sums of n·K terms: 1e-12 relative is ~100·n·eps
    assert torch.allclose(v2, value, rtol=1e-12)
    assert torch.allclose(dW, Wr.grad, rtol=1e-10, atol=1e-14)
    assert torch.allclose(dV, Vr.grad, rtol=1e-10, atol=1e-14)
    # a frozen W's features passed in (the lazy stage computes them once) give the same numbers, bit for bit
    frozen = dataclasses.replace(config, train_W=False)
    F = sim._activation(activation)[0](sim.hidden(W, a, b, M))
    for got, want in zip(sim.loss_and_grads(W, V, a, b, y, frozen, F=F), sim.loss_and_grads(W, V, a, b, y, frozen)):
        assert (got is None and want is None) or torch.equal(got, want)


def test_fast_sqr_path_is_bit_identical_to_the_plain_formulas():
    """The simulator's sqr gradient ((2 d_o) V^T, times H in place) and its index_select gathers against the plain
    formulas they replaced (advanced indexing, (d_o V^T) * 2H): equal bit for bit, so stored runs are unchanged."""
    config = sim.Config(M=23, fraction=0.5, K=96)
    S, M, K = 3, config.M, config.K
    gens = runtime.generators([5, 6, 7])
    (a, b, y), _ = sim._split(config, gens, "cpu")
    W, V = sim._init(config, gens, "cpu", torch.float64)
    offset = (torch.arange(S) * 2 * M)[:, None]
    H = W.reshape(S * 2 * M, K)[offset + a] + W.reshape(S * 2 * M, K)[offset + M + b]
    F = torch.square(H)
    value, d_o = sim._loss_per_seed(F @ V, y, "mse", M)
    dH = (d_o @ V.transpose(1, 2)) * (2 * H)
    dW = torch.zeros(S * 2 * M, K, dtype=torch.float64)
    dW.index_add_(0, (offset + a).reshape(-1), dH.reshape(-1, K))
    dW.index_add_(0, (offset + M + b).reshape(-1), dH.reshape(-1, K))
    assert torch.equal(sim.hidden(W, a, b, M), H)
    got = sim.loss_and_grads(W, V, a, b, y, config)
    assert torch.equal(got[0], value)
    assert torch.equal(got[1], dW.reshape(S, 2 * M, K))
    assert torch.equal(got[2], F.transpose(1, 2) @ d_o)


def test_mse_is_the_reference_codes_formula():
    # yuandong-tian/understanding: sum_q oc^2 - 2 oc[label] + 1 - 1/M, averaged over samples
    o = torch.randn(1, 9, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = torch.arange(9)[None] % 7
    oc = o - o.mean(dim=-1, keepdim=True)
    ref = (oc.pow(2).sum(-1) - 2 * oc.gather(-1, y[..., None])[..., 0] + 1 - 1 / 7).mean(-1)
    assert torch.allclose(sim._loss_per_seed(o, y, "mse", 7)[0], ref, rtol=1e-13)


def test_split_is_a_partition_and_labels_are_sums():
    config = sim.Config(M=13, fraction=0.4)
    (a, b, y), (at, bt, yt) = sim._split(config, runtime.generators([0]), "cpu")
    train, test = set((a * 13 + b)[0].tolist()), set((at * 13 + bt)[0].tolist())
    assert len(train | test) == 169 and a.shape[1] == config.n_train
    assert not train & test and at.shape[1] == 169 - config.n_train  # disjoint: no training pair is scored as test
    assert torch.equal(y, (a + b) % 13) and torch.equal(yt, (at + bt) % 13)


def test_product_group_labels_follow_theory_flattening():
    config = sim.Config(M=12, factors=(3, 4), fraction=1.0)
    (a, b, y), _ = sim._split(config, runtime.generators([0]), "cpu")
    table = th.cayley_table((3, 4))
    assert (y[0].numpy() == table[a[0].numpy(), b[0].numpy()]).all()


def test_run_table_is_tidy_and_logs_everything():
    df = sim.run(sim.Config(M=11, fraction=0.6, K=16, epochs=10, log_every=5, log_gf=True), [0])
    assert list(df.columns) == ["seed", "step", "metric", "value"]
    for m in ["train_acc", "test_acc", "train_loss", "test_loss", "fourier_share", "W_norm", "V_norm", "gf_norm",
              "gf_star_norm", "gf_cos", "phase_coherence", "spectrum_1", "spectrum_5"]:
        assert m in set(df.metric), m
    assert sorted(df[df.metric == "train_acc"].step) == [0, 5, 10]


@pytest.mark.parametrize("weight_decay", [0.0, 1e-3])
def test_frozen_w_log_caches_equal_the_uncached_log(weight_decay):
    """A frozen W's log reuses what W alone fixes (features, Fourier shares and spectrum, the phase inputs,
    Y Y^T F); a trainer made to recompute them at every log gives the same log, bit for bit."""
    cfg = sim.Config(M=13, fraction=0.5, K=32, lr=3e-2, weight_decay=weight_decay, epochs=20, log_every=5,
                     log_gf=True, train_W=False, top_init=0.0)
    cached = sim._Trainer(cfg, [0, 1], "cpu", torch.float64)
    plain = sim._Trainer(cfg, [0, 1], "cpu", torch.float64)
    plain.frozen = None  # every later log and epoch recomputes from W
    cached.advance(20, stop=False)
    plain.advance(20, stop=False)
    assert cached.log.keys() == plain.log.keys() and cached.logged == plain.logged == [0, 5, 10, 15, 20]
    for name in cached.log:  # gf_cos is 0/0 = NaN at V = 0
        assert np.array_equal(cached.log[name], plain.log[name], equal_nan=True), name
    assert np.array_equal(cached.spectrum, plain.spectrum)


def test_zero_top_init_and_frozen_W():
    df = sim.run(sim.Config(M=11, fraction=0.6, K=16, epochs=10, log_every=10, top_init=0.0, train_W=False,
                            log_gf=True), [0])
    W_norm = df[df.metric == "W_norm"].value.to_numpy()
    V_norm = df[df.metric == "V_norm"].value.to_numpy()
    assert W_norm[0] == W_norm[-1] and V_norm[0] == 0.0 and V_norm[-1] > 0
    assert df[(df.metric == "gf_norm") & (df.step == 0)].value.item() == 0.0  # G_F(0) = Y V(0)^T = 0


def test_lazy_stage_matches_eq4_in_theory_units():
    """Frozen F, V trained to convergence: G_F equals theory's Eq. 4 with eta_eff = n·eta/2 (the code's units)."""
    config = sim.Config(M=11, fraction=0.6, K=16, lr=3e-2, weight_decay=1e-3, epochs=600, log_every=600,
                        train_W=False, top_init=0.0, log_gf=True)
    df = sim.run(config, [0])
    F, Y = sim.stage1_inputs(config, [0])
    star = th.gf_fixed_point(F[0], Y[0], config.eta_eff)
    assert np.isclose(df[(df.metric == "gf_star_norm") & (df.step == 600)].value.item(), np.linalg.norm(star))
    ratio = df[(df.metric == "gf_norm") & (df.step == 600)].value.item() / np.linalg.norm(star)
    assert abs(ratio - 1) < 1e-2  # Adam at constant lr: O(lr) neighbourhood of the convex optimum


def test_stage1_inputs_are_the_runs_features():
    """The frozen F that stage1_inputs rebuilds is the run's: G_F at epoch 1 is computed from it exactly."""
    config = sim.Config(M=11, fraction=0.6, K=16, lr=1e-2, weight_decay=1e-3, epochs=3, log_every=1,
                        train_W=False, top_init=1.0, log_gf=True)
    df = sim.run(config, [4, 9])
    F, Y = sim.stage1_inputs(config, [4, 9])
    for i, s in enumerate([4, 9]):
        star = th.gf_fixed_point(F[i], Y[i], config.eta_eff)
        logged = df[(df.metric == "gf_star_norm") & (df.seed == s)].value.to_numpy()
        assert np.allclose(logged, np.linalg.norm(star), rtol=1e-12)  # F frozen: the same at every step


def test_early_stop_truncates_all_seeds_together():
    config = sim.Config(M=23, fraction=0.6, K=128, lr=1e-2, weight_decay=1e-3, epochs=300, log_every=10,
                        stop_test_acc=0.9)
    df = sim.run(config, [0, 1])
    steps = df[df.metric == "test_acc"].groupby("seed").step.max()
    assert steps.nunique() == 1 and steps.iloc[0] < 300
    last = df[(df.metric == "test_acc") & (df.step == steps.iloc[0])].value
    assert (last >= 0.9).all()


@pytest.mark.parametrize("config", [
    sim.Config(M=23, fraction=0.6, K=128, lr=1e-2, weight_decay=1e-3, epochs=300, log_every=5, stop_test_acc=0.99),
    sim.Config(M=13, fraction=0.5, K=32, lr=3e-2, weight_decay=1e-3, epochs=60, log_every=10, log_gf=True,
               train_W=False, top_init=0.0)])
def test_cpu_seed_groups_give_the_batch_bit_for_bit(config, monkeypatch):
    """Seeds trained in CPU groups (one seed each, then pairs) equal one batch of all of them exactly, also when
    the seeds reach stop_test_acc at different epochs (the first config: alone, seeds 0-4 stop at epochs 95-80)."""
    seeds = [0, 1, 2, 3, 4]
    monkeypatch.setattr(sim, "CPU_GROUP_ELEMENTS", 1 << 40)
    batch = sim.run(config, seeds)
    for per_group in (1, 2):
        monkeypatch.setattr(sim, "CPU_GROUP_ELEMENTS", per_group * config.n_train * config.K)
        grouped = sim.run(config, seeds)
        assert grouped[["seed", "step", "metric"]].equals(batch[["seed", "step", "metric"]])
        assert np.array_equal(grouped.value.to_numpy(), batch.value.to_numpy(), equal_nan=True)


def test_ascent_reaches_corrected_maximum():
    df = sim.ascent(sim.AscentConfig(M=11, steps=200, log_every=50), [0, 1])
    E = df[(df.metric == "energy_over_M") & (df.step == 200)].value.to_numpy()
    assert np.allclose(E, th.energy_max(11) / 11, rtol=1e-10)
    assert (df[df.metric == "hess_top1"].value.abs() < 1e-10).all()


def test_ascent_energy_equals_theory_on_subsample():
    config = sim.AscentConfig(M=7, fraction=0.5, steps=1, log_every=1)
    gens = runtime.generators([0])
    w = runtime.randn(gens, (14,), device="cpu", dtype=torch.float64)
    w = w / torch.linalg.norm(w, dim=1, keepdim=True)
    pairs = runtime.randperm(gens, 49, device="cpu")[:, :config.n_pairs]
    a, b = pairs // 7, pairs % 7
    E = sim._empirical_energy(w, a, b, (a + b) % 7, 7).item()
    ref = th.energy(w[0].numpy(), 7, np.stack([a[0].numpy(), b[0].numpy()], 1))
    assert math.isclose(E, ref, rel_tol=1e-12)


def test_analytic_nets_in_torch():
    df = sim.analytic(sim.AnalyticConfig(grid_p=(5, 9), random_p=(11,), width_ratios=(8.0,)), [0, 1])
    val = df.set_index(["seed", "metric"]).value
    assert (val.xs("grid_acc_p9", level=1) == 1.0).all()
    assert np.allclose(val.xs("grid_margin_ratio_p5", level=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("field,value", [
    ("M", 2), ("fraction", 0.0), ("fraction", 1.5), ("K", 0), ("activation", "tanh"), ("loss", "hinge"),
    ("optimizer", "lbfgs"), ("lr", 0.0), ("weight_decay", -1.0), ("factors", (3, 5)), ("stop_test_acc", 2.0),
    ("top_init", -1.0),
])
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        sim.Config(**{field: value})


@pytest.mark.parametrize("field,value", [("M", 1), ("fraction", 0.0), ("lr", -1.0)])
def test_bad_ascent_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        sim.AscentConfig(**{field: value})


def test_presets_and_sweeps_are_valid():
    assert sim.PRESETS["cpu"].M == 71 and sim.PRESETS["cpu"].K == 512 and sim.PRESETS["cpu"].fraction == 0.4
    assert sim.PRESETS["gpu"].M == 127 and sim.PRESETS["gpu"].K == 2048
    assert sim.SWEEPS["paper"]["fn"] is sim.run and len(sim.SWEEPS["paper"]["configs"]) >= 10


@pytest.mark.slow
def test_cpu_preset_groks():
    df = sim.run(sim.PRESETS["cpu"], [0])
    test = df[df.metric == "test_acc"].set_index("step").value
    train = df[df.metric == "train_acc"].set_index("step").value
    assert train[train >= 0.99].index[0] <= 60 and test[test >= 0.99].index[0] <= 300  # Li2 Fig. 3 setting (docs/grokking.md)


@pytest.mark.gpu
def test_cuda_matches_cpu(cuda_device):
    config = sim.Config(M=11, fraction=0.6, K=16, lr=1e-2, weight_decay=1e-3, epochs=20, log_every=10, log_gf=True)
    cpu = sim.run(config, [0, 1], device="cpu", dtype=torch.float64)
    gpu = sim.run(config, [0, 1], device=cuda_device, dtype=torch.float64)
    # different generators per device: compare statistics only through a deterministic pipeline
    assert set(cpu.metric) == set(gpu.metric)
    W_in, W_out = th.phase_grid_network(9, 3)
    df = sim.analytic(sim.AnalyticConfig(grid_p=(9,), random_p=(11,), width_ratios=(1.0,)), [0],
                      device=cuda_device, dtype=torch.float32)
    assert df[df.metric == "grid_acc_p9"].value.item() == 1.0
    acc = sim.ascent(sim.AscentConfig(M=11, steps=200, log_every=100, hessian=False), [0, 1], device=cuda_device,
                     dtype=torch.float64)
    E = acc[(acc.metric == "energy_over_M") & (acc.step == 200)].value.to_numpy()
    assert np.allclose(E, 0.25, rtol=1e-9)


@pytest.mark.parametrize("M, factors", [(41, ()), (12, (3, 4))])
def test_phase_coherence_matches_theory_bookkeeping(M, factors):
    """The simulator's torch coherence and theory's numpy phase_alignment are separate implementations."""
    rng = np.random.default_rng(3)
    W, V = rng.standard_normal((2, 2 * M, 64)), rng.standard_normal((2, 64, M))
    got = sim._phase_coherence(torch.as_tensor(W), torch.as_tensor(V), sim.Config(M=M, factors=factors))
    want = [th.phase_alignment(W[s], V[s], factors or M)["coherence"] for s in range(2)]
    assert np.allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    W_in, W_out = th.phase_grid_network(23, 3)
    grid = sim._phase_coherence(torch.as_tensor(W_in)[None], torch.as_tensor(W_out)[None], sim.Config(M=23))
    assert abs(grid.item() - 1) < 1e-12
