"""Largest error over the common grid times against the exact continuous output vs step size, per discretization
and input sampling (claim lssl.2): theory slopes as lines, simulation as the geometric mean over seeds with each
seed as a thin line."""
from __future__ import annotations

import numpy as np

from claims.lssl import setup
from figures.common import log_band


def load(store) -> dict:
    fn, config, seeds = setup("report")["orders"]
    df = store.load(fn, config, seeds)
    errs = {}
    for m in config.methods:
        for s in config.samplings:
            d = df[df.metric == f"err_{m}_{s}"]
            errs[(m, s)] = d.pivot(index="seed", columns="step", values="value").to_numpy()
    return {"dts": np.asarray(config.dts), "errs": {f"{m}|{s}": v for (m, s), v in errs.items()},
            "N": config.N}


def draw(data):
    import matplotlib.pyplot as plt

    dts = data["dts"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, sampling in zip(axes, ("endpoint", "midpoint")):
        for i, (name, err) in enumerate(data["errs"].items()):
            method, s = name.split("|")
            if s != sampling:
                continue
            log_band(ax, dts, err, label=method.replace("_", " "), color=f"C{i // 2}")
        for order, ls, ref in ((1, "--", "forward_euler"), (2, ":", "bilinear")):
            anchor = 10 ** np.mean(np.log10(data["errs"][f"{ref}|{sampling}"][:, 0]))
            ax.plot(dts, 1.6 * anchor * (dts / dts[0]) ** order, color="black", ls=ls, lw=1.2,
                    label=f"theory: order {order} (slope)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(dts, [f"{d:g}" for d in dts])
        ax.minorticks_off()
        ax.set_xlabel(r"step $\Delta$ (time units)")
        ax.set_title(f"{sampling} samples " + (r"$u_k=u(k\Delta)$" if sampling == "endpoint"
                                                else r"$u_k=u((k-\frac{1}{2})\Delta)$"))
        if sampling == "endpoint":  # same labels in both panels; the endpoint panel has room below its curves
            ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel(r"$\max_j|y_{k_j} - y(t_j)|\,/\,\max_i|a_i|$")
    fig.suptitle(f"Discretization orders (random stable A, N={data['N']}, T=2): second order needs midpoint samples",
                 fontsize=10)
    fig.tight_layout()
    return fig
