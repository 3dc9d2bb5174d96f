"""The fast paths of sims/hierarchical.py: the block upper-triangle Gram, the float32 per-block Gram of float64 runs
(its effect on every metric against the seed spread the claims' tolerances are built from) and stage 2 evaluated
as a sorted piecewise-linear function."""
from __future__ import annotations

import torch

from sims import hierarchical as sim


def test_upper_gram_is_the_gram():
    F = torch.randn(2, 300, 700, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    G = torch.zeros(2, 700, 700, dtype=torch.float64)
    sim._add_gram_upper(G, F, block=256)
    G = sim._symmetric(G)
    assert torch.allclose(G, F.mT @ F, rtol=1e-12, atol=1e-10)
    assert torch.equal(G, G.mT)


def test_piecewise_linear_equals_the_relu_sum():
    g = torch.Generator().manual_seed(1)
    S, G, m2, n = 3, 4, 50, 2000
    a = torch.where(torch.rand(S, m2, generator=g) < 0.5, -1.0, 1.0).double()
    bias = torch.randn(S, G, m2, generator=g, dtype=torch.float64)
    c0, c = torch.randn(S, G, generator=g, dtype=torch.float64), torch.randn(S, G, m2, generator=g, dtype=torch.float64)
    phi = 2 * torch.randn(S, n, G, generator=g, dtype=torch.float64)
    phi[:, :m2] = (-a[:, None, :] * bias).transpose(1, 2)[:, :, :1].expand(S, m2, G)  # points on breakpoints
    relu = torch.relu(a[:, None, None, :] * phi.transpose(1, 2)[..., None] + bias[:, :, None, :])  # (S, G, n, m2)
    direct = (c0[..., None] + (relu * c[:, :, None, :]).sum(-1)).transpose(1, 2)
    assert torch.allclose(sim.piecewise_linear(c0, c, a, bias, phi), direct, rtol=1e-12, atol=1e-12)


def test_float32_gram_moves_metrics_far_inside_the_seed_spread(monkeypatch):
    """Every claim's tolerance on a hierarchical metric is at least z·SE over n <= 16 seeds, i.e. >= sd/4; the float32
    Gram may move a metric by at most 1 % of its seed standard deviation (<= 4 % of the smallest tolerance)."""
    cfg = sim.Config(d=12, k=2, n_over_N=(2.0, 8.0, 32.0), relu_rf_over_N=1.0, n_test=4000, n2=1000)
    seeds = list(range(6))
    fast = sim.run(cfg, seeds, device="cpu", dtype="float64")
    monkeypatch.setattr(sim, "GRAM_DTYPE", torch.float64)
    exact = sim.run(cfg, seeds, device="cpu", dtype="float64")
    key = ["seed", "step", "metric"]
    both = exact.merge(fast, on=key, suffixes=("_exact", "_fast"))
    assert len(both) == len(exact) == len(fast)
    both["gap"] = (both.value_fast - both.value_exact).abs()
    spread = both.groupby(["metric", "step"]).value_exact.std()
    gap = both.groupby(["metric", "step"]).gap.max()
    assert (gap[spread > 0] <= 0.01 * spread[spread > 0]).all(), (gap / spread).to_string()
    assert (gap > 0).any()  # the float32 path is really taken
