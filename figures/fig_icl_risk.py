"""Excess risk vs context length n (d = 8, sigma^2 = 1/4): LSA optimum, one-step GD, Bayes ridge, min-norm OLS,
and trained LSA points (claim 6)."""
from __future__ import annotations

import numpy as np

from claims import icl as C
from sims import icl as sim
from theory import icl as th


def load(store) -> dict:
    ref = C.reference_config("report")
    seeds = C.seeds("report")
    tab = C._reference_table(store.load(sim.run_reference, ref, seeds))
    d, s2 = ref.d, ref.sigma2
    n_grid = np.arange(1, 49)
    lsa_cfgs = C.lsa_n_configs("report")
    lsa = np.stack([sim.metric(store.load(sim.run, c, seeds[:4]), "eval_loss") - c.sigma2 for c in lsa_cfgs], axis=1)
    return {
        "d": d, "sigma2": s2, "n_grid": n_grid, "ns": np.array(ref.ns), "n_seeds": len(seeds),
        "lsa_opt": np.array([th.isotropic_optimal_loss(d, n, s2) - s2 for n in n_grid]),
        "gd_unit": np.array([th.population_loss(np.eye(d), np.eye(d), n, s2) - s2 for n in n_grid]),
        "ols": np.array([th.min_norm_ols_excess_risk(d, int(n), s2) for n in n_grid]),
        "ridge_mp": np.array([th.bayes_ridge_risk_mp(d, n, s2) for n in n_grid]),
        "ridge_mc": np.array([th.bayes_ridge_risk_mc(d, int(n), s2, n_mc=20000, seed=1)[0] for n in ref.ns]),
        "sim": {k: tab[k].to_numpy() for k in ("gd_opt", "gd_unit", "ridge", "ols")},
        "lsa_ns": np.array(C.LSA_NS), "lsa_trained": lsa,
    }


def draw(data):
    import matplotlib.pyplot as plt

    from figures.common import THEORY_STYLE, mean_band

    fig, ax = plt.subplots(figsize=(10.0, 4.8), constrained_layout=True)
    n = data["n_grid"]
    ax.plot(n, data["lsa_opt"], label="LSA optimum = one-step GD, eta* (theory)", **THEORY_STYLE)
    ax.plot(n, data["gd_unit"], color="gray", lw=1.2, ls="-.", label="one-step GD, eta = 1 (theory)")
    ols = np.where(np.isfinite(data["ols"]), data["ols"], np.nan)
    ax.plot(n, ols, color="tab:red", lw=1.4, label="min-norm OLS (exact; +inf at n = d-1, d, d+1)")
    ax.plot(data["ns"], data["ridge_mc"], color="tab:green", lw=1.4, ls=":", label="Bayes ridge (theory, RB Monte Carlo)")
    ax.plot(n, data["ridge_mp"], color="tab:green", lw=1.0, ls="--", label="Bayes ridge, Marchenko-Pastur limit")
    ax.axvline(data["d"], color="tab:red", lw=0.8, ls=":")
    ns = data["ns"]
    # Theory as lines, simulations as open markers with 95 % CIs in a darker shade of the same hue and no connecting
    # line: the grid of simulated n is sparse (10, 12, 16), and a straight segment from n = 10 to 12 cuts across the
    # convex OLS curve sigma^2 d/(n-d-1), which drew a zigzag against the theory line.
    sim_style = {"connect": False}
    mean_band(ax, ns, data["sim"]["ridge"], label="ridge on prompts", color="darkgreen", marker="s", **sim_style)
    below, above = ns <= data["d"] - 2, ns >= data["d"] + 2  # two branches: the mean is +inf in between
    mean_band(ax, ns[below], data["sim"]["ols"][:, below], label="OLS on prompts (|n-d| >= 2)", color="darkred",
              marker="^", **sim_style)
    mean_band(ax, ns[above], data["sim"]["ols"][:, above], label="_", color="darkred", marker="^", **sim_style)
    ax.annotate("OLS: +inf at\nn = d-1, d, d+1", xy=(data["d"], 6.0), xytext=(data["d"] + 2, 6.5), fontsize=7.5,
                color="tab:red", arrowprops=dict(arrowstyle="->", color="tab:red", lw=0.8))
    mean_band(ax, ns, data["sim"]["gd_opt"], label="one-step GD eta* on prompts", color="tab:blue", marker="o",
              **sim_style)
    mean_band(ax, data["lsa_ns"], data["lsa_trained"], label="trained full LSA", color="tab:purple", marker="D",
              **sim_style)
    ax.set_yscale("log")
    ax.set_ylim(0.04, 12)
    ax.set_xlabel("context length n (examples in the prompt)")
    ax.set_ylabel("excess risk E(y_hat - y)^2 - sigma^2")
    ax.set_title(f"In-context linear regression, d = {data['d']}, sigma^2 = {data['sigma2']:g}, "
                 f"{data['n_seeds']} seeds x prompts (trained LSA: 4 seeds)", fontsize=9.5)
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
