"""Stage-1 feature correlation corr(phi, p) against n/N for several d, with the sandwich-formula theory curves."""
from __future__ import annotations

import numpy as np

from claims import hierarchical as hc
from figures.common import mean_band
from theory import hierarchical as th


def load(store):
    panels = []
    for title, (fn, cfgs, seeds) in (("k = 2, g = h1 + h3 (CPU testbed)", hc.main_runs("report")),
                                     ("k = 3, g = C_d z^3 (scaled down; sandwich = conservative bound)",
                                      hc.paper_runs("report"))):
        rows = []
        for cfg in cfgs:
            _, ns, vals = hc.per_seed(store.load(fn, cfg, seeds), "corr_phi_p")
            grid = np.geomspace(1.15, 1.1 * max(cfg.n_over_N), 120) * cfg.N
            rows.append({"d": cfg.d, "x": ns / cfg.N, "corr": vals, "theory_x": grid / cfg.N,
                         "theory": th.feature_correlation_prediction(cfg.target, grid,
                                                                     S=hc.sandwich_S(cfg.target, store)),
                         "ideal": th.ideal_feature_correlation(cfg.target)})
        panels.append({"title": title, "rows": rows})
    return {"panels": panels}


def draw(data):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, panel in zip(axes, data["panels"]):
        colors = plt.cm.viridis(np.linspace(0, 0.85, len(panel["rows"])))
        for row, color in zip(panel["rows"], colors):
            mean_band(ax, row["x"], row["corr"], label=f"d={row['d']}", color=color)
            ax.plot(row["theory_x"], row["theory"], ls="--", color=color, lw=1.2)
        ax.plot([], [], ls="--", color="black", label="sandwich prediction (theory)")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("stage-1 samples n / N,  N = C(d+k, k)")
        ax.set_title(panel["title"])
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("corr(learned feature φ, p) on test points")
    fig.suptitle("Stage 1 learns a feature aligned with p once n is a few times the degree-k feature count")
    fig.tight_layout()
    return fig
