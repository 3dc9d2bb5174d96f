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

    fig, ax = plt.subplots(figsize=(6.2, 4.2))
    rows = data["rows"]
    sc = ax.scatter(rows[:, 0], rows[:, 1], c=rows[:, 2], cmap="RdYlGn", vmin=0, vmax=1, s=110, edgecolor="k",
                    zorder=4)
    fig.colorbar(sc, ax=ax, label=f"final test accuracy ({data['n_seeds']} seed(s), ≤ {rows[0, 3]:.0f} epochs)")
    M = np.linspace(rows[:, 0].min() - 2, rows[:, 0].max() + 4, 200)
    pc = th.CRITICAL_C * np.log(M) / M  # the smooth curve of th.critical_fraction
    ax.plot(M, pc, color="black", lw=1.6, label="p_c = 2.7482 ln M / M")
    ax.fill_between(M, 0.75 * pc, 1.5 * pc, color="gray", alpha=0.15, label="unchecked band (0.75, 1.5) p_c")
    ax.set(xlabel="group order M (Z_M)", ylabel="training fraction p = n / M²",
           title="Memorisation vs generalisation (K=512, Adam, η=2e-4)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
