# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # One-layer linear attention learns linear regression in context
#
# A prompt holds $n$ examples $(x_i, y_i)$ with $x_i \sim N(0, \Sigma)$, $y_i = w^\top x_i + \varepsilon_i$, a fresh
# task $w \sim N(0, \Omega)$ per prompt, and a query $x_q$. A single **linear self-attention** layer
# (Zhang–Frei–Bartlett embedding, all $2(d+1)^2$ parameters) reads the prompt and predicts $y_q$.
#
# Whatever its weights, its prediction is $\hat y = x_q^\top \Gamma\, h$ with $h = \frac1n \sum_i y_i x_i$, plus
# terms that vanish at the optimum: **one step of preconditioned gradient descent** from $w_0 = 0$.
# The best $\Gamma$ has a closed form (Mahankali–Hashimoto–Ma 2023; ZFB 2023; Ahn et al. 2023):
#
# $$\Gamma^* = \Omega\,[(1 + 1/n)\Sigma\Omega + c I]^{-1}, \qquad c = \frac{\mathrm{tr}(\Omega\Sigma) + \sigma^2}{n},$$
#
# which for $\Sigma = \Omega = I$ is $\eta I$ with $\eta = n / (n + d + 1 + \sigma^2)$.
#
# In this notebook we (1) compute the prediction, (2) train the layer with Adam on fresh prompts, (3) compare,
# and (4) place the trained layer among the classical predictors (ridge, OLS) as the context grows.

# %%
import os
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np

from sims import icl as sim
from theory import icl as th

TINY = os.environ.get("THEORY_TESTBED_DEMO_SIZE", "") == "tiny"
SEEDS = [0, 1] if TINY else [0, 1, 2, 3]
STEPS, BATCH = (60, 128) if TINY else (800, 512)

# %% [markdown]
# ## 1. The theory's prediction
# Isotropic data, $d = 5$, $n = 20$, noise $\sigma = 0.1$.

# %%
d, n, sigma2 = 5, 20, 0.01
eta = th.optimal_eta(d, n, sigma2)
L_star = th.optimal_loss(np.eye(d), n, sigma2)
print(f"predicted step size eta = {eta:.4f}   (plain least squares would want 1; attention shrinks it)")
print(f"predicted minimal loss L* = {L_star:.4f}   (zero predictor: {d + sigma2:.2f}; Bayes-optimal ridge is lower)")

# %% [markdown]
# ## 2. Train the full layer
# Every step draws fresh prompts; all seeds train at once (a leading seed dimension in every weight tensor).

# %%
cfg = sim.Config(d=d, n=n, sigma2=sigma2, steps=STEPS, batch=BATCH, lr=0.05, init="zfb", log_every=max(STEPS // 20, 1),
                 eval_batch=4096 if TINY else 16384, eval_lengths=(10, 20, 100, 1000))
df = sim.run(cfg, SEEDS, device="cpu", dtype="float64")
Gamma = sim.gamma_from_table(df, d)
print("learned Gamma_eff (seed 0):\n", np.round(Gamma[0], 3))

# %% [markdown]
# ## 3. Compare
# The learned $\Gamma$ should be close to $\eta I$ and the loss on fresh prompts close to $L^*$.

# %%
rel = np.linalg.norm(Gamma - eta * np.eye(d), axis=(1, 2)) / np.linalg.norm(eta * np.eye(d))
loss = sim.metric(df, "eval_loss")
print(f"mean diagonal of Gamma_eff: {np.einsum('sii->s', Gamma).mean() / d:.4f}   vs eta = {eta:.4f}")
print(f"relative distance to Gamma*: {rel.mean():.3%}")
print(f"loss on fresh prompts: {loss.mean():.4f} ± {loss.std(ddof=1) / np.sqrt(len(loss)):.4f}   vs L* = {L_star:.4f}")

curve = df[df.metric == "train_loss"].groupby("step")["value"].mean()
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
axes[0].plot(curve.index, curve.values, label="training loss (batch, mean over seeds)")
axes[0].axhline(L_star, color="black", label="L* (theory)")
axes[0].set_yscale("log")
axes[0].set_xlabel("Adam step")
axes[0].set_ylabel("E(y_hat - y)^2")
axes[0].legend()

# %% [markdown]
# The model was trained at $n = 20$. At another test length $m$ it still computes
# $x_q^\top \Gamma \frac1m \sum_{i\le m} y_i x_i$; ZFB's Theorem 4.2 predicts the error, which falls like $1/m$ but
# stops at a floor set by the *training* length.

# %%
ms = np.array(cfg.eval_lengths)
err = np.stack([sim.metric(df, f"err_m{m}") for m in ms], axis=1)
m_grid = np.logspace(1, 3, 50)
G_star = th.optimal_gamma(np.eye(d), n, sigma2)
axes[1].plot(m_grid, [th.population_loss(G_star, np.eye(d), m, sigma2) for m in m_grid], color="black",
             label="theory: L(Gamma*; m)")
axes[1].errorbar(ms, err.mean(0), yerr=1.96 * err.std(0, ddof=1) / np.sqrt(len(SEEDS)), fmt="o",
                 label=f"trained layer ({len(SEEDS)} seeds)")
axes[1].set_xscale("log")
axes[1].set_xlabel("test prompt length m")
axes[1].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. Where does one step of GD sit among the classical predictors?
# With $d = 8$ and noise $\sigma^2 = 1/4$: Bayes-optimal ridge is best at every $n$; min-norm OLS has an
# infinite expected risk at $n = d$ (double descent); the attention layer's optimum (one GD step) learns slowly.

# %%
ref = sim.ReferenceConfig(d=8, ns=(2, 4, 6, 10, 12, 16, 24, 40), sigma2=0.25, batch=256 if TINY else 2048)
tab = sim.run_reference(ref, SEEDS, device="cpu", dtype="float64")
means = tab.groupby(["metric", "n"])["value"].mean()
ns = np.arange(1, 41)
fig, ax = plt.subplots(figsize=(6.5, 4))
ax.plot(ns, [th.isotropic_optimal_loss(8, k, 0.25) - 0.25 for k in ns], color="black", label="LSA optimum (theory)")
ols_theory = np.array([th.min_norm_ols_excess_risk(8, int(k), 0.25) for k in ns])
ax.plot(ns, np.where(np.isfinite(ols_theory), ols_theory, np.nan), color="tab:red", label="min-norm OLS (theory)")
ax.plot(ns, [th.bayes_ridge_risk_mp(8, k, 0.25) for k in ns], color="tab:green", ls="--", label="ridge (MP limit)")
for name, color in (("gd_opt", "black"), ("ridge", "tab:green"), ("ols", "tab:red")):
    ax.plot(ref.ns, means[name].values, "o", color=color, ms=4, label=f"{name} on prompts")
ax.set_yscale("log")
ax.set_ylim(0.04, 12)
ax.set_xlabel("context length n")
ax.set_ylabel("excess risk")
ax.legend(fontsize=7)
plt.show()

# %% [markdown]
# ## Try it
#
# 1. **Context length.** Set `n_try = 5` below. Before running, compute the predicted step size
#    $\eta = n/(n + d + 1 + \sigma^2)$ by hand: is it closer to 0 or to 1? Run the cell and compare the learned mean
#    diagonal with your number. Then try `n_try = 80`.
# 2. **Noise.** Set `sigma2_try = 1.0` (and `n_try = 20`). Predict from the formula whether $\eta$ and $L^*$ go up or
#    down, run, and compare the measured loss with $L^*$.
# 3. **Where is the floor?** With `n_try = 5`, look at the printed errors at test lengths $m = 10 \dots 1000$ next to
#    the theory line $L(\Gamma^*; m)$: why does the error stop falling although $m$ grows?

# %%
n_try, sigma2_try = 10, 0.01
cfg_try = replace(cfg, n=n_try, sigma2=sigma2_try)
df_try = sim.run(cfg_try, SEEDS, device="cpu", dtype="float64")
G_try = sim.gamma_from_table(df_try, d)
print(f"n = {n_try}, sigma2 = {sigma2_try}")
print(f"  step size eta: theory {th.optimal_eta(d, n_try, sigma2_try):.4f}, "
      f"learned mean diagonal {np.einsum('sii->s', G_try).mean() / d:.4f}")
print(f"  loss: theory L* {th.optimal_loss(np.eye(d), n_try, sigma2_try):.4f}, "
      f"measured {sim.metric(df_try, 'eval_loss').mean():.4f}")
G_star_try = th.optimal_gamma(np.eye(d), n_try, sigma2_try)
for m in cfg_try.eval_lengths:
    print(f"  test length m = {m:4d}: theory {th.population_loss(G_star_try, np.eye(d), m, sigma2_try):.4f}, "
          f"measured {sim.metric(df_try, f'err_m{m}').mean():.4f}")

# %% [markdown]
# **What to take away.** The trained attention layer lands on the closed-form optimum: it *is* one step of
# gradient descent with a shrunken step size. That is good for small $n$ but far from Bayes-optimal ridge as the
# context grows; deeper models are needed to do better. `python -m claims icl` checks all of this with confidence
# intervals; `docs/icl.md` lists the claims.
