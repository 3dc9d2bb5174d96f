"""NMSD learning curves: exact recursion (lines) vs Monte Carlo (mean ± 95 % CI) in the small setting, and the
paper-scale curves of RERCE-Fed, the continual variant and noisy ADMM (Monte Carlo only; the exact recursion is
infeasible at D = 13056)."""
from __future__ import annotations

import numpy as np

from claims import admm as C
from figures.common import THEORY_STYLE
from theory.stats import mean_ci


def _band(df, metric="nmsd"):
    g = C._pivot(df, metric)
    stats = [mean_ci(g[s].to_numpy()) for s in g.columns]
    return (g.columns.to_numpy(), np.array([s.mean for s in stats]), np.array([s.low for s in stats]),
            np.array([s.high for s in stats]), g.shape[0])


def load(store):
    small = []
    for fn, cfg, seeds in C.msd_runs("report"):
        small.append({"label": C._label(cfg), "mc": _band(store.load(fn, cfg, seeds)), "exact": C.exact_curve(cfg)})
    paper = []
    for fn, cfg, seeds in C.plateau_runs("report"):
        if cfg.sigma2_eta != 6.25e-4:
            continue
        paper.append({"label": f"{cfg.variant} C={cfg.C}", "mc": _band(store.load(fn, cfg, seeds))})
    return {"small": small, "paper": paper}


def _db(x):
    return 10 * np.log10(np.maximum(x, 1e-300))


def draw(data):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    ax = axes[0]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, d in enumerate(data["small"]):
        steps, mean, lo, hi, n = d["mc"]
        c = colors[i % len(colors)]
        ax.plot(np.arange(len(d["exact"])), _db(d["exact"]), color=c, lw=1.6, zorder=3)
        ax.plot(steps, _db(mean), "o", ms=3, color=c, label=f"{d['label']} (MC, {n} seeds)")
        ax.fill_between(steps, _db(lo), _db(hi), color=c, alpha=0.25, lw=0)
    ax.plot([], [], label="exact recursion (line in the same colour)", **THEORY_STYLE)
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("iteration n")
    ax.set_ylabel("NMSD of local models (dB)")
    ax.set_title("Small setting (W = I, link noise 1e-2): exact vs Monte Carlo", fontsize=10)
    ax.legend(fontsize=7.5)
    ax = axes[1]
    for i, d in enumerate(data["paper"]):
        steps, mean, lo, hi, n = d["mc"]
        c = colors[i % len(colors)]
        ls = "--" if d["label"].startswith("continual") else (":" if d["label"].startswith("admm") else "-")
        ax.plot(steps, _db(mean), ls, color=c, label=f"{d['label']} ({n} seeds)")
        ax.fill_between(steps, _db(lo), _db(hi), color=c, alpha=0.25, lw=0)
    ax.set_xlabel("iteration n")
    ax.set_ylabel("NMSD of local models (dB)")
    ax.set_title("Paper setting K=100, L=128, link noise 6.25e-4 (MC mean ± 95% CI)", fontsize=10)
    ax.legend(fontsize=7.5, ncol=2)
    fig.tight_layout()
    return fig
