"""Sample size (claim grokking.6): final test accuracy over training fraction x M with the code's critical line
p_c = 2.7482 ln M / M (Li2 Thm 4's M^-1 log M shape)."""
from __future__ import annotations

import numpy as np

from claims import grokking as cg
from theory import grokking as th


def load(store) -> dict:
    fn, configs, seeds, Ms, ratios = cg.phase_runs("report")
    rows = []
    for c in configs:
        df = store.load(fn, c, seeds)
        rows.append((c.M, c.fraction, float(cg.final(df, "test_acc").mean()), float(c.epochs)))
    return {"rows": np.array(rows), "n_seeds": len(seeds)}


def draw(data):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.2, 5.2))
    rows = data["rows"]
    # A neutral colour scale for accuracy: points on the p_c line reach 4-9 % test accuracy, which is what the theory
    # allows there (the band around p_c is not checked); a red-to-green scale painted them as failures.
    M_pts, p_pts = rows[:, 0], rows[:, 1]
    ratio = np.round(p_pts / (th.CRITICAL_C * np.log(M_pts) / M_pts), 2)  # configs round p to 4 decimals
    in_band = (ratio > 0.75) & (ratio < 1.5)
    for mask, marker, label in ((~in_band, "o", "checked: < 0.1 below 0.75 p_c, ≥ 0.99 above 1.5 p_c"),
                                (in_band, "D", "inside the unchecked band")):
        sc = ax.scatter(M_pts[mask], p_pts[mask], c=rows[mask, 2], cmap="viridis", vmin=0, vmax=1, s=110,
                        marker=marker, edgecolor="k", zorder=4)
        ax.scatter([], [], s=110, marker=marker, facecolor="white", edgecolor="k", label=label)  # shape only
    fig.colorbar(sc, ax=ax, label=f"final test accuracy ({data['n_seeds']} seed(s), ≤ {rows[0, 3]:.0f} epochs)")
    M = np.linspace(rows[:, 0].min() - 2, rows[:, 0].max() + 4, 200)
    pc = th.CRITICAL_C * np.log(M) / M  # the smooth curve of th.critical_fraction
    ax.plot(M, pc, color="black", lw=1.6, label="p_c = 2.7482 ln M / M")
    ax.fill_between(M, 0.75 * pc, 1.5 * pc, color="gray", alpha=0.15, label="unchecked band (0.75, 1.5) p_c")
    ax.set(xlabel="group order M (Z_M)", ylabel="training fraction p = n / M²",
           title="Memorisation vs generalisation (K=512, Adam, η=2e-4)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15))  # below: the points fill the axes
    fig.tight_layout()
    return fig
