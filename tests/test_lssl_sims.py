"""sims/lssl.py: the two views agree, torch == numpy reference, determinism, batching over seeds, config checks."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sims import lssl as S
from sims import runtime
from theory import lssl as T
from theory.stats import loglog_slope

F64, F32 = torch.float64, torch.float32
TINY_DELAY = S.Config(kinds=("legt", "random"), N=16, L=128, lag=32, n_train=2, n_test=2, steps=6, log_every=2)


def random_layer(seed, S_, H, N, dtype, method="bilinear", device="cpu"):
    gens = runtime.generators([seed + i for i in range(S_)], device)
    M = runtime.randn(gens, (H, N, N), device=device, dtype=dtype) / math.sqrt(N)
    A = M - (torch.linalg.eigvals(M).real.amax(-1) + 0.5)[..., None, None] * torch.eye(N, dtype=dtype, device=device)
    B = runtime.randn(gens, (H, N), device=device, dtype=dtype)
    C = runtime.randn(gens, (H, N), device=device, dtype=dtype)
    D = runtime.randn(gens, (H,), device=device, dtype=dtype)
    log_dt = math.log(0.05) + runtime.randn(gens, (H,), device=device, dtype=dtype)
    return S.LSSL(A, B, C, D, log_dt, method), gens


@given(st.integers(0, 10_000), st.integers(1, 24), st.integers(1, 200), st.sampled_from(["bilinear", "zoh",
                                                                                          "backward_euler"]),
       st.sampled_from([F64, F32]))
@settings(max_examples=20)
def test_P1_layer_scan_equals_conv(seed, N, L, method, dtype):
    layer, gens = random_layer(seed, 2, 3, N, dtype, method)
    u = runtime.randn(gens, (2, 3, L), device="cpu", dtype=dtype)
    x0 = runtime.randn(gens, (2, 3, N), device="cpu", dtype=dtype)
    with torch.no_grad():
        y_conv, y_scan = layer(u, "conv", x0), layer(u, "scan", x0)
    rtol = 1e-10 if dtype == F64 else 1e-4  # docs/lssl.md tolerance rules (observed 4e-15 / 1.5e-6)
    assert (y_conv - y_scan).abs().max() <= rtol * y_scan.abs().max()


@pytest.mark.parametrize("method", S.METHODS)
@pytest.mark.parametrize("dtype,rtol", [(F64, 1e-12), (F32, 1e-4)])
def test_P13_torch_equals_numpy_reference(method, dtype, rtol):
    """Discretization, Krylov kernel and outputs of the torch path against theory/ in float64."""
    A, B = T.hippo("legs", 12)
    C = np.linspace(-1, 1, 12)
    dt = 0.03
    if method == "zoh_euler":
        A_ref, B_ref = T.discretize(A, B, dt, "zoh")[0], dt * B
    else:
        A_ref, B_ref = T.discretize(A, B, dt, method)
    L = 300
    A_bar, B_bar = S.discretize(torch.tensor(A, dtype=dtype), torch.tensor(B, dtype=dtype),
                                torch.tensor(dt, dtype=dtype), method)
    np.testing.assert_allclose(A_bar.double().numpy(), A_ref, rtol=0, atol=rtol * 10)
    K_ref = T.krylov_kernel(A_ref, B_ref, C, L, allow_unstable=True)
    K = S.kernel(A_bar, B_bar, torch.tensor(C, dtype=dtype), L).double().numpy()
    assert np.max(np.abs(K - K_ref)) <= rtol * np.max(np.abs(K_ref))
    u = np.sin(np.arange(L) * 0.1)
    y = S.causal_conv(torch.tensor(K_ref, dtype=dtype), torch.tensor(u, dtype=dtype)).double().numpy()
    y_ref = T.causal_convolution(K_ref, u)
    assert np.max(np.abs(y - y_ref)) <= rtol * np.max(np.abs(y_ref))


def test_krylov_squaring_equals_naive_and_gradients_reach_dt():
    layer, gens = random_layer(0, 2, 2, 8, F64)
    A_bar, B_bar = layer.discrete()
    torch.testing.assert_close(S.krylov(A_bar, B_bar, 100), S.krylov_naive(A_bar, B_bar, 100), rtol=1e-12, atol=1e-14)
    u = runtime.randn(gens, (1, 2, 50), device="cpu", dtype=F64)
    layer(u, "conv").pow(2).sum().backward()
    assert layer.log_dt.grad is not None and torch.all(layer.log_dt.grad != 0)
    assert layer.C.grad.shape == layer.C.shape


def test_gradient_of_log_dt_matches_finite_difference():
    layer, gens = random_layer(3, 1, 1, 4, F64)
    u = runtime.randn(gens, (1, 1, 40), device="cpu", dtype=F64)

    def loss(log_dt):
        with torch.no_grad():
            layer.log_dt.copy_(log_dt)
        return layer(u, "conv").pow(2).sum()

    base = layer.log_dt.detach().clone()
    l0 = loss(base)
    layer.zero_grad()
    l0.backward()
    g = layer.log_dt.grad.item()
    h = 1e-6
    fd = (loss(base + h).item() - loss(base - h).item()) / (2 * h)
    assert abs(g - fd) <= 1e-6 * max(1.0, abs(fd))  # central difference O(h^2) + rounding eps/h


def test_delay_run_logs_every_metric():
    """Columns, determinism and batch = single seeds of run are in tests/test_contract.py."""
    df1 = S.run(TINY_DELAY, [0, 1], device="cpu", dtype=F64)
    assert set(df1.metric) >= {"train_rel_mse_legt", "test_rel_mse_random", "lstsq_rel_mse_legt", "out_target"}


@pytest.mark.parametrize("fn,config", [  # run itself: tests/test_contract.py (PRESETS["tiny"], BATCH_RTOL)
    (S.equivalence_run, S.EquivalenceConfig(N=4, H=2, L=32, kernel_length=8)),
    (S.orders_run, S.OrdersConfig(N=4, dts=(0.1, 0.05))),
    (S.gating_run, S.GatingConfig(H=2, L=16, dts=(0.1, 0.05))),
    (S.resample_run, S.ResampleConfig(N=8, Ls=(32, 64), scale_L=16)),
    (S.legs_run, S.LegsConfig(N=8, Ls=(16, 32), Ns_projection=(2, 4, 8), norm_N=4, norm_dts=(0.1,))),
    (S.picard_run, S.PicardConfig(depth=3, dt=0.05)),
])
def test_batched_seeds_equal_single_seeds(fn, config):
    both = fn(config, [5, 9], device="cpu", dtype=F64)
    for seed in (5, 9):
        alone = fn(config, [seed], device="cpu", dtype=F64)
        a = both[both.seed == seed].reset_index(drop=True)
        # one seed's numbers do not depend on the others; batched BLAS may reorder sums (C·n·eps)
        np.testing.assert_allclose(a.value.to_numpy(), alone.value.to_numpy(), rtol=1e-9, atol=1e-12)
        assert list(a.metric) == list(alone.metric)


def test_P10_resampling_is_second_order():
    df = S.resample_run(S.ResampleConfig(N=16, T=2.0, Ls=(256, 512, 1024)), [0], device="cpu", dtype=F64)
    gaps = df[df.metric == "resample_gap"].sort_values("step").value.to_numpy()
    assert abs(loglog_slope(2.0 / np.array([256, 512, 1024]), gaps).slope - 2.0) <= 0.25  # P10, docs/lssl.md
    assert df[df.metric == "scale_identity_gap"].value.max() <= 1e-12


def test_P12_deep_order_one_stack_converges():
    df = S.picard_run(S.PicardConfig(depth=22, dt=5e-3, n_halvings=2), [0, 1], device="cpu", dtype=F64)
    err = df[df.metric == "sup_err"].pivot(index="seed", columns="step", values="value").to_numpy()
    assert err[:, 20].max() < 1e-5  # the O(dt^2) floor at dt = 5e-3 is ~1e-6
    assert np.all(err[:, -1] < err[:, 1] * 1e-4)


def test_picard_scan_and_conv_modes_agree():
    a = S.picard_run(S.PicardConfig(depth=4, dt=0.02, n_halvings=2, mode="conv"), [0], device="cpu", dtype=F64)
    b = S.picard_run(S.PicardConfig(depth=4, dt=0.02, n_halvings=2, mode="scan"), [0], device="cpu", dtype=F64)
    np.testing.assert_allclose(a.value, b.value, rtol=1e-9, atol=1e-13)


def test_delay_hippo_learns_and_random_does_not():
    cfg = dataclasses.replace(TINY_DELAY, kinds=("legt", "random"), N=32, L=256, lag=64, steps=40, lr=0.05)
    df = S.run(cfg, [0], device="cpu", dtype=F64)
    test = df[df.metric.str.startswith("test_rel_mse")].set_index("metric").value
    assert test["test_rel_mse_legt"] < 0.1 < test["test_rel_mse_random"]
    curve = df[df.metric == "train_rel_mse_legt"].sort_values("step").value.to_numpy()
    assert curve[-1] < 0.2 * curve[0]


def test_learn_A_trains_the_state_matrix():
    cfg = dataclasses.replace(TINY_DELAY, learn_A=True, lr_A=1e-2, steps=3)
    gens = runtime.generators([0])
    before = S.build_delay_model(cfg, gens, device="cpu", dtype=F64).A.detach().clone()
    assert isinstance(S.build_delay_model(cfg, gens, device="cpu", dtype=F64).A, torch.nn.Parameter)
    df = S.run(cfg, [0], device="cpu", dtype=F64)
    fixed = S.run(dataclasses.replace(cfg, learn_A=False), [0], device="cpu", dtype=F64)
    assert before.shape[1] == len(cfg.kinds)
    assert not np.allclose(df[df.metric == "test_rel_mse_legt"].value, fixed[fixed.metric == "test_rel_mse_legt"].value,
                           rtol=1e-12, atol=0)


def test_gated_recurrence_is_the_backward_euler_layer():
    df = S.gating_run(S.GatingConfig(H=3, L=50), [0], device="cpu", dtype=F64)
    assert df[df.metric.str.startswith("gate_vs")].value.max() <= 1e-13


# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("cls,field,value", [
    (S.Config, "N", 0), (S.Config, "L", 1), (S.Config, "lag", 0), (S.Config, "method", "rk4"),
    (S.Config, "mode", "fft"), (S.Config, "kinds", ("legs", "hermite")), (S.Config, "lr", -1.0),
    (S.Config, "steps", -1), (S.Config, "freq", 0.0),
    (S.EquivalenceConfig, "dt_min", 0.0), (S.EquivalenceConfig, "dt_max", 1e-4), (S.EquivalenceConfig, "N", 0),
    (S.EquivalenceConfig, "methods", ("euler",)),
    (S.OrdersConfig, "dts", (0.03, 0.07)), (S.OrdersConfig, "samplings", ("random",)),
    (S.GatingConfig, "z_scale", -1.0), (S.ResampleConfig, "kind", "legendre"), (S.ResampleConfig, "Ls", (33, 64)),
    (S.LegsConfig, "Ns_projection", (4, 128)), (S.LegsConfig, "norm_dts", (0.0,)),
    (S.PicardConfig, "dt", 0.0), (S.PicardConfig, "dt", 0.3), (S.PicardConfig, "mode", "fft"),
])
def test_config_rejects_bad_values_naming_the_field(cls, field, value):
    with pytest.raises(ValueError, match=field):
        cls(**{field: value})


def test_fout_needs_even_N():
    with pytest.raises(ValueError, match="N="):
        S.Config(kinds=("fout",), N=15)


def test_unstable_forward_euler_is_a_value_error_naming_dt():
    """Decision: ValueError (not a warning) at config time; allow_unstable=True opts out explicitly."""
    with pytest.raises(ValueError, match="dt="):
        S.Config(kinds=("legs",), method="forward_euler", N=64, L=1024, lag=8)
    cfg = S.Config(kinds=("legs",), method="forward_euler", N=64, L=1024, lag=8, allow_unstable=True)
    assert cfg.allow_unstable
    S.Config(kinds=("legs",), method="forward_euler", N=8, L=512, lag=256)  # dt·|lambda| small: accepted


def test_presets_and_sweeps():
    assert {"cpu", "gpu"} <= set(S.PRESETS)
    assert all(isinstance(c, S.Config) for c in S.PRESETS.values())
    paper = S.SWEEPS["paper"]
    assert paper["fn"] is S.run and paper["n_seeds"] >= 1 and all(isinstance(c, S.Config) for c in paper["configs"])


def test_cpu_thread_setting_is_restored():
    before = torch.get_num_threads()
    S.gating_run(S.GatingConfig(H=1, L=4, dts=(0.1, 0.05)), [0], device="cpu", dtype=F64)
    assert torch.get_num_threads() == before


@pytest.mark.gpu
def test_P13_cuda_kernel_and_outputs_match_numpy(cuda_device):
    """The same torch code on CUDA against the float64 numpy reference (float32 rtol 1e-4, P13 in docs/lssl.md)."""
    for kind, N in (("legs", 64), ("legt", 32), ("fout", 32)):
        A, B = T.hippo(kind, N)
        C = np.linspace(-1, 1, N)
        A_ref, B_ref = T.discretize(A, B, 1e-2, "bilinear")
        K_ref = T.krylov_kernel(A_ref, B_ref, C, 4096)
        as_t = lambda x: torch.as_tensor(x, device=cuda_device, dtype=F32)  # noqa: E731
        A_bar, B_bar = S.discretize(as_t(A), as_t(B), as_t(1e-2), "bilinear")
        K = S.kernel(A_bar, B_bar, as_t(C), 4096).double().cpu().numpy()
        assert np.max(np.abs(K - K_ref)) <= 1e-4 * np.max(np.abs(K_ref))


@pytest.mark.gpu
def test_simulators_on_cuda_reach_the_same_conclusions(cuda_device):
    """CUDA generators draw other numbers than CPU ones for the same seed, so simulators are compared by what
    they establish, each within its float32 tolerance."""
    eq = S.equivalence_run(S.EquivalenceConfig(N=16, H=4, L=512), [0, 1], device=cuda_device, dtype=F32)
    assert eq[eq.step.isna()].value.max() <= 1e-4
    pic = S.picard_run(S.PicardConfig(depth=22, dt=5e-3), [0, 1], device=cuda_device, dtype=F32)
    err = pic.pivot(index="seed", columns="step", values="value").to_numpy()
    assert err[:, 20].max() < 1e-4
    res = S.resample_run(S.ResampleConfig(N=16, T=2.0, Ls=(256, 512, 1024)), [0], device=cuda_device, dtype=F32)
    gaps = res[res.metric == "resample_gap"].sort_values("step").value.to_numpy()
    assert abs(loglog_slope(2.0 / np.array([256, 512, 1024]), gaps).slope - 2.0) <= 0.25
    cfg = dataclasses.replace(TINY_DELAY, kinds=("legt", "random"), N=32, L=256, lag=64, steps=40, lr=0.05)
    df = S.run(cfg, [0], device=cuda_device, dtype=F32)
    test = df[df.metric.str.startswith("test_rel_mse")].set_index("metric").value
    assert test["test_rel_mse_legt"] < 0.1 < test["test_rel_mse_random"]


@pytest.mark.gpu
def test_cuda_layer_matches_cpu_layer(cuda_device):
    layer, gens = random_layer(0, 2, 4, 32, F32)
    u = runtime.randn(gens, (2, 4, 1024), device="cpu", dtype=F32)
    with torch.no_grad():
        y_cpu = layer(u, "conv")
        y_gpu = layer.to(cuda_device)(u.to(cuda_device), "conv").cpu()
        y_scan = layer(u.to(cuda_device), "scan").cpu()
    assert (y_cpu - y_gpu).abs().max() <= 1e-4 * y_cpu.abs().max()
    assert (y_scan - y_gpu).abs().max() <= 1e-4 * y_cpu.abs().max()
