"""Energy landscape and learned spectrum (claims grokking.2 and .5): E/M along single-neuron Riemannian ascent
against the corrected maximum 1/4 and the paper's 1/16, and the per-frequency power of a trained network."""
from __future__ import annotations

import numpy as np

from claims import grokking as cg
from figures.common import THEORY_STYLE, mean_band
from theory import grokking as th


def load(store) -> dict:
    full, sub = cg.ascent_runs("report")
    ascent = {}
    for fn, config, seeds in full + [sub]:
        df = store.load(fn, config, seeds)
        ascent[f"M={config.M}, {config.fraction:.0%} of table"] = (cg.curve(df, "energy_over_M"),
                                                                     cg.curve(df, "top_share"))
    fn, config, seeds = cg.features_run("report")
    df = store.load(fn, config, seeds)
    spec = df[df.metric.str.startswith("spectrum_")].pivot(index="seed", columns="metric", values="value")
    order = sorted(spec.columns, key=lambda m: int(m.split("_")[1]))
    return {"ascent": ascent, "spectrum": spec[order].to_numpy(), "share": cg.curve(df, "fourier_share"),
            "M": config.M, "baseline": th.random_share_baseline(config.M)}


def draw(data):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.9))
    ax = axes[0]
    for i, (label, ((steps, E), _)) in enumerate(data["ascent"].items()):
        mean_band(ax, steps, E, label=label, color=f"C{i}", marker="")
    ax.axhline(0.25, **{**THEORY_STYLE, "zorder": 1, "lw": 2.5, "alpha": 0.5}, label="corrected max E*/M = 1/4")
    ax.axhline(1 / 16, color="black", ls="--", lw=1.2, zorder=1, label="paper's Cor. 2: 1/16")
    ax.set(xlabel="ascent step", ylabel="E / M", xscale="symlog", xlim=(0, None),
           title="Li2 energy along Riemannian ascent")
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.18))  # below: the seeds fill the axes
    ax = axes[1]
    for i, (label, (_, (steps, share))) in enumerate(data["ascent"].items()):
        mean_band(ax, steps, share, label=label, color=f"C{i}", marker="", limits=(0, 1))  # a share is in [0, 1]
    ax.set(xlabel="ascent step", ylabel="top-frequency power share", ylim=(0, 1.05), xscale="symlog", xlim=(0, None),
           title="single frequency on the full table only")
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    ax = axes[2]
    spec = data["spectrum"]
    m = spec.shape[1]
    k = np.arange(1, m + 1)
    ax.bar(k, spec.mean(axis=0), color="C2", alpha=0.7, label=f"trained W, mean of {spec.shape[0]} seeds")
    ax.axhline(1 / m, **THEORY_STYLE, label="uniform 1/m (all frequencies used)")
    ax.axhline(0.5 / m, color="gray", ls=":", lw=1, label="checked band [0.5/m, 2/m]")
    ax.axhline(2 / m, color="gray", ls=":", lw=1)
    steps, share = data["share"]
    ax.set(xlabel="frequency k", ylabel="share of aggregate power", ylim=(0, 2.9 / m),
           title=f"learned spectrum, Z_{data['M']}: per-neuron share {share[:, -1].mean():.2f}")
    ax.legend(fontsize=6.5, loc="upper center", ncol=2)
    fig.tight_layout()
    return fig
