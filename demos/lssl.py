# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Linear state-space layers and HiPPO memory
#
# A linear state-space layer (LSSL; Gu et al. 2021, arXiv 2110.13985) maps an input sequence $u$ to an output $y$
# through a continuous-time system $\dot x = Ax + Bu$, $y = Cx + Du$, discretized with a step $\Delta$:
#
# $$x_k = \bar A x_{k-1} + \bar B u_k, \qquad y_k = C x_k + D u_k, \qquad
#   \bar A = (I - \tfrac{\Delta}{2}A)^{-1}(I + \tfrac{\Delta}{2}A),\ \bar B = \Delta(I - \tfrac{\Delta}{2}A)^{-1}B$$
#
# (the bilinear rule). Unrolling the recurrence gives a convolution $y = \bar K * u + Du$ with the kernel
# $\bar K = (C\bar B, C\bar A\bar B, C\bar A^2\bar B, \dots)$, so one model can run as an RNN (one step at a time)
# or as a CNN (one FFT for the whole sequence). With a HiPPO matrix $A$ the state $x$ holds the coefficients of a
# polynomial approximation of the input's history, which gives the layer long-range memory.
#
# This notebook checks three things numerically: the two views agree, the bilinear rule is second order only with
# midpoint samples, and HiPPO matrices remember a delayed input where random matrices do not.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from sims import lssl as sims
from theory import lssl as theory

TINY = os.environ.get("THEORY_TESTBED_DEMO_SIZE", "") == "tiny"
torch.set_num_threads(1)

# %% [markdown]
# ## 1. HiPPO-LegS and the two views
#
# LegS is $A_{nk} = -\sqrt{(2n+1)(2k+1)}$ below the diagonal, $-(n+1)$ on it, with $B_n = \sqrt{2n+1}$. It satisfies
# $A + A^\top = -(I + BB^\top)$, so the state's energy can only decrease without input, and every A-stable
# discretization gives $\|\bar A\|_2 \le 1$.

# %%
N = 16
A, B = theory.hippo("legs", N)
print("max |A + A^T + I + BB^T| =", np.abs(A + A.T + np.eye(N) + np.outer(B, B)).max())
for method in ("forward_euler", "bilinear", "zoh"):
    A_bar, _ = theory.discretize(A, B, 1.0, method)
    print(f"||A_bar||_2 with dt = 1, {method:14s}: {np.linalg.norm(A_bar, 2):.4g}")

# %%
L = 256 if TINY else 2048
rng = np.random.default_rng(0)
C = rng.standard_normal(N)
u = np.sin(np.linspace(0, 20, L)) + 0.3 * rng.standard_normal(L)
A_bar, B_bar = theory.discretize(A, B, 0.01, "bilinear")
y_rnn = theory.lssl_recurrence(A_bar, B_bar, C, 0.5, u)
y_cnn = theory.lssl_convolution(A_bar, B_bar, C, 0.5, u)
gap = np.abs(y_rnn - y_cnn).max()
print(f"recurrent vs convolutional view: max gap {gap:.2e} (max |y| = {np.abs(y_rnn).max():.2f})")

# %% [markdown]
# ## 2. Convergence order depends on how the input is sampled
#
# The bilinear rule is the trapezoid rule for the state; it is second order only if $u_k$ stands for the middle of
# its cell, $u((k-\tfrac12)\Delta)$. With endpoint samples $u(k\Delta)$ it is first order like the Euler rules.

# %%
df = sims.orders_run(sims.OrdersConfig(N=6, methods=("backward_euler", "bilinear")), [0, 1], device="cpu",
                     dtype=torch.float64)
dts = np.array(sims.OrdersConfig().dts)
for name in ("err_backward_euler_endpoint", "err_bilinear_endpoint", "err_bilinear_midpoint"):
    err = df[df.metric == name].groupby("step").value.mean().to_numpy()
    slope = np.polyfit(np.log(dts), np.log(err), 1)[0]
    print(f"{name[4:]:28s} fitted order {slope:.2f}")

# %% [markdown]
# ## 3. Long-range memory: the delay task
#
# The layer must output $u(t - \text{lag})$. With $A$ and $\Delta$ fixed the layer is linear in $(C, D)$, so the best
# read-out is a least-squares fit: no training noise, a clean oracle. Then we train $C$, $D$ and $\log\Delta$ with
# Adam and compare.

# %%
lag, Lseq = (64, 256) if TINY else (256, 1024)
u_all = theory.whitesignal(16, Lseq, 1 / lag, 4.0, np.random.default_rng(1))
y_all = theory.delay_target(u_all, lag)
for kind in ("legt", "legs", "fout", "lagt", "random"):
    if kind == "random":
        A_k, B_k = theory.random_stable(64, rng), rng.standard_normal(64)
    else:
        A_k, B_k = theory.hippo(kind, 64)
    fit = theory.delay_lstsq(*theory.discretize(A_k, B_k, 1 / lag, "bilinear"), u_all[:8], y_all[:8], u_all[8:],
                             y_all[8:], start=lag)
    print(f"closed-form read-out, A = {kind:6s}: test MSE/Var = {fit['test_rel_mse']:.2e}")

# %%
config = sims.Config(N=32 if TINY else 64, L=Lseq, lag=lag, n_train=4, n_test=4, steps=20 if TINY else 150,
                     lr=0.05, log_every=5)
result = sims.run(config, [0], device="cpu", dtype=torch.float64)
final = result[result.metric.str.startswith("test_rel_mse")].set_index("metric").value
print(final.rename(lambda m: m.replace("test_rel_mse_", "trained ")).to_string())

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.5))
t = np.arange(config.L) / lag
ax1.plot(t, result[result.metric == "out_target"].value, "k", lw=2, label="target")
for kind in ("legt", "random"):
    ax1.plot(t, result[result.metric == f"out_y_{kind}"].value, lw=1, label=f"trained, A = {kind}")
ax1.set_xlabel("time (lags)")
ax1.legend()
for kind in config.kinds:
    curve = result[result.metric == f"train_rel_mse_{kind}"]
    ax2.semilogy(curve.step, curve.value, label=kind)
ax2.set_xlabel("Adam step")
ax2.set_ylabel("train MSE / Var(y)")
ax2.legend()
plt.show()

# %% [markdown]
# ## Try it
#
# 1. **Orders.** Put `"zoh"` and `"forward_euler"` in `methods_try` below. Predict each method's order with endpoint
#    and with midpoint samples (the rule of section 2), run, and compare the fitted slopes with your predictions.
# 2. **State size.** Change `N_try` to 16 and to 128. Predict how the closed-form delay error of LegT and of a random
#    stable matrix changes with more state, run, and compare.
# 3. **Step size.** The layer's $\Delta$ sets its time scale. Set `dt_scale = 4` (a step four times too large for
#    the lag): which matrix suffers more, and why?

# %%
methods_try, N_try, dt_scale = ("zoh", "forward_euler"), 64, 1.0
orders = sims.orders_run(sims.OrdersConfig(N=6, methods=methods_try), [0, 1], device="cpu", dtype=torch.float64)
for method in methods_try:
    for sampling in ("endpoint", "midpoint"):
        err = orders[orders.metric == f"err_{method}_{sampling}"].groupby("step").value.mean().to_numpy()
        print(f"{method:14s} {sampling:9s} fitted order {np.polyfit(np.log(dts), np.log(err), 1)[0]:.2f}")
for kind in ("legt", "random"):
    A_k, B_k = (theory.random_stable(N_try, rng), rng.standard_normal(N_try)) if kind == "random" else theory.hippo(kind, N_try)
    fit = theory.delay_lstsq(*theory.discretize(A_k, B_k, dt_scale / lag, "bilinear"), u_all[:8], y_all[:8],
                             u_all[8:], y_all[8:], start=lag)
    print(f"N = {N_try}, dt = {dt_scale}/lag, A = {kind:6s}: closed-form test MSE/Var = {fit['test_rel_mse']:.2e}")

# %% [markdown]
# **What to take away.** One linear model, two ways to run it: as a recurrence and as a convolution, equal to
# rounding. How the input is sampled decides the discretization's order, not only the rule. HiPPO matrices (LegT,
# LegS, FouT) remember a delayed input with small errors in both the closed form and training; LagT and a random
# stable matrix do not. The validated version of these statements, with tolerances, is `python -m claims lssl`.
