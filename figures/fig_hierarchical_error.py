"""Normalised test error against n: three-layer net vs degree-<=k ridge, ReLU random features, two-layer net."""
from __future__ import annotations

import numpy as np

from claims import hierarchical as hc
from figures.common import THEORY_STYLE, mean_band
from theory import hierarchical as th

LABELS = {"err_three_layer": "three-layer net (layer-wise)", "err_stage1": "degree-≤k ridge (kernel limit)",
          "err_relu_rf": "ReLU random features (width N)", "err_two_layer": "two-layer ReLU net (Adam)"}


def load(store):
    fn, cfgs, seeds = hc.main_runs("report")
    fn2, cfgs2, seeds2 = hc.two_layer_runs("report")
    two = store.load(fn2, cfgs2[0], seeds2)
    panels = []
    for cfg in (cfgs[0], cfgs[-1]):
        df = store.load(fn, cfg, seeds)
        curves = {}
        for m in ("err_three_layer", "err_stage1", "err_relu_rf"):
            _, ns, vals = hc.per_seed(df, m)
            curves[m] = (ns, vals)
        if cfg.d == cfgs2[0].d:
            _, ns, vals = hc.per_seed(two, "err_two_layer")
            curves["err_two_layer"] = (ns, vals)
        panels.append({"d": cfg.d, "N": cfg.N, "curves": curves, "plateau": th.kernel_plateau(cfg.target)})
    return {"panels": panels}


def draw(data):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 5.0), sharey=True)
    for ax, panel in zip(axes, data["panels"]):
        for m, (ns, vals) in panel["curves"].items():
            mean_band(ax, ns, np.minimum(vals, 3.0), label=LABELS[m])
        ax.axhline(panel["plateau"], ls="--", label="exact degree-≤k plateau (theory)", **THEORY_STYLE)
        ax.set_xscale("log")
        ax.set_xlabel("stage-1 samples n")
        ax.set_title(f"k = 2, g = h1 + h3, d = {panel['d']} (N = {panel['N']}), plateau {panel['plateau']:.3f}")
        ax.set_ylim(0, 1.5)
    axes[0].set_ylabel("test MSE / Var(h) (clipped at 1.5)")
    fig.suptitle("Only the three-layer network goes below the kernel plateau at n ~ d^k")
    labels = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            labels.setdefault(label, handle)
    fig.legend(labels.values(), labels.keys(), loc="lower center", ncol=3, fontsize=8)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig
