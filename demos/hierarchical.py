# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Three-layer networks learn hierarchical polynomials h = g∘p with about d^k samples
#
# Wang, Nichani & Lee (arXiv 2311.13774) study targets $h(x) = g(p(x))$ where $p$ is a degree-$k$ polynomial of a
# Gaussian input $x\in\mathbb R^d$ and $g$ is a 1-D polynomial. A kernel method needs about $d^{kq}$ samples
# ($q = \deg g$). A three-layer network trained *layer-wise* needs only about $d^k$:
#
# 1. **stage 1**: ridge regression on a frozen random first layer of degree $k$ learns $\varphi \approx P_{\le k} h$,
#    and by the *approximate Stein lemma* $P_{\le k} h \approx E[g'(z)]\,p$: the network has found the hidden feature;
# 2. **stage 2**: a ReLU layer on the scalar $\varphi$ fits the 1-D link $g$ from a handful of fresh samples.
#
# Here $p = d^{-1/2}\sum_i \lambda_i h_2(\langle q_i, x\rangle)$ (k = 2, balanced signs) and $g = h_1 + h_3$.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from sims import hierarchical as sim
from theory import hierarchical as th

TINY = os.environ.get("THEORY_TESTBED_DEMO_SIZE") == "tiny"
d = 8 if TINY else 16
grid = (4.0, 16.0) if TINY else (2.0, 4.0, 8.0, 16.0, 32.0)
seeds = [0, 1] if TINY else [0, 1, 2]

# %% [markdown]
# ## The theory: exact finite-d constants
# The coefficient of $p$ in $P_k h$ is $c_d = E[g(p)p]$, not its Gaussian limit $\hat g_1 = E g'(z)$. The best any
# degree-$\le k$ predictor (a kernel at $n \ll d^{kq}$) can do is the *plateau* $1 - \|P_{\le k}h\|^2/\mathrm{Var}\,h$.

# %%
target = th.SeparableTarget(2, th.link_coefficients("h1+h3"), "balanced", d)
print(f"d = {d}, N = C(d+2, 2) = {target.N} degree-<=2 features")
print(f"c_d = {th.stein_constant(target):.4f}   (Gaussian limit ĝ1 = {th.gaussian_limit_constant(target.g):.1f})")
print(f"kernel plateau = {th.kernel_plateau(target):.3f}, ideal corr(P_<=k h, p) = "
      f"{th.ideal_feature_correlation(target):.3f}")

# %% [markdown]
# ## A run: stage 1 along n, stage 2 on fresh samples, and the baselines on the same data

# %%
cfg = sim.Config(d=d, k=2, link="h1+h3", n_over_N=grid, relu_rf_over_N=1.0,
                 n_test=3000 if TINY else 20000, n2=1000 if TINY else 4000)
df = sim.run(cfg, seeds, device="cpu", dtype="float64")
table = df.groupby(["metric", "step"]).value.mean().unstack()
print(table.round(3))

# %% [markdown]
# ## Comparison with the prediction
# The stage-1 correlation should follow $\rho^*/\sqrt{1 + S/((n-N)\|\beta\|^2)}$ (heteroscedastic "sandwich"
# variance $S$); the kernel baselines should stay above the plateau while the three-layer network goes below it.

# %%
ns = np.array(cfg.n_grid, dtype=float)
pred = th.feature_correlation_prediction(target, ns, S=th.sandwich_variance(target, n_mc=20_000 if TINY else None))
for n, p_, m_ in zip(ns, pred, table.loc["corr_phi_p"].to_numpy()):
    print(f"n = {int(n):6d} ({n / target.N:4.0f} N): predicted corr {p_:.3f}, measured {m_:.3f}")

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
ax1.plot(ns / target.N, table.loc["corr_phi_p"], "o-", label=f"simulation ({len(seeds)} seeds)")
ax1.plot(ns / target.N, pred, "k--", label="sandwich prediction")
ax1.set_xscale("log", base=2)
ax1.set_xlabel("n / N")
ax1.set_ylabel("corr(φ, p)")
ax1.legend()
labels = {"err_three_layer": "three-layer net", "err_stage1": "degree-≤k ridge (stage 1 alone)",
          "err_relu_rf": "ReLU random features"}
for m, label in labels.items():
    ax2.plot(ns / target.N, table.loc[m], "o-", label=label)
ax2.axhline(th.kernel_plateau(target), color="k", ls="--", label="degree-≤k plateau")
ax2.set_xscale("log", base=2)
ax2.set_xlabel("n / N")
ax2.set_ylabel("test MSE / Var(h)")
ax2.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Try it
#
# 1. **No linear part.** Set `link_try = "h2"` ($g = h_2$, so $\hat g_1 = E g'(z) = 0$). Predict $c_d$ and the
#    stage-1 correlation from the printed theory, run, and compare with the `"h1+h3"` numbers above.
# 2. **Dimension.** Set `d_try = 24`. The threshold scales with the number of degree-2 features
#    $N = \binom{d+2}{2}$: predict whether the correlation at fixed $n/N$ changes, run, and compare with the
#    sandwich prediction.

# %%
link_try, d_try = "h1+h3", d
target_try = th.SeparableTarget(2, th.link_coefficients(link_try), "balanced", d_try)
cfg_try = sim.Config(d=d_try, k=2, link=link_try, n_over_N=grid, relu_rf_over_N=1.0, n_test=cfg.n_test, n2=cfg.n2)
corr_try = sim.run(cfg_try, seeds, device="cpu", dtype="float64").query("metric == 'corr_phi_p'").groupby("step").value.mean()
ns_try = np.array(cfg_try.n_grid, dtype=float)
pred_try = th.feature_correlation_prediction(target_try, ns_try,
                                             S=th.sandwich_variance(target_try, n_mc=20_000 if TINY else None))
print(f"link {link_try}, d = {d_try}: c_d = {th.stein_constant(target_try):.4f}")
for n, p_, m_ in zip(ns_try, pred_try, corr_try.to_numpy()):
    print(f"  n = {n / target_try.N:4.0f} N: predicted corr {p_:.3f}, measured {m_:.3f}")

# %% [markdown]
# **What to take away.** The learned feature's correlation with $p$ rises as soon as $n$ is a few times the number
# of degree-2 features $N \approx d^2/2$; the same data fed to a kernel (degree-$\le 2$ ridge, random features)
# cannot beat the plateau, while the extra 1-D ReLU layer on the learned feature does. With $\hat g_1 = 0$ the
# feature no longer aligns with $p$ and the advantage disappears.
