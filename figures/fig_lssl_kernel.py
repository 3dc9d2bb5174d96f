"""The kernel of one random stable SSM from the convolutional view (Krylov kernel) and the recurrent view (impulse
through the scan), and the largest relative gap between the views per discretization (claim lssl.1)."""
from __future__ import annotations

import numpy as np

from claims.lssl import setup
from figures.common import THEORY_STYLE


def load(store) -> dict:
    fn, config, seeds = setup("report")["equivalence"]
    df = store.load(fn, config, seeds)
    curves = {m: df[df.metric == m].pivot(index="seed", columns="step", values="value").to_numpy()
              for m in ("kernel_conv", "kernel_scan")}
    gaps = {m: df[df.metric == f"scan_vs_conv_{m}"].sort_values("seed").value.to_numpy() for m in config.methods}
    return {"curves": curves, "gaps": gaps, "n_seeds": len(seeds), "N": config.N, "L": config.L}


def draw(data):
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1.4, 1]})
    conv, scan = data["curves"]["kernel_conv"][0], data["curves"]["kernel_scan"][0]
    k = np.arange(conv.size)
    ax1.plot(k, conv, label=r"convolution view: $C\bar A^k\bar B$ (squaring)", **THEORY_STYLE)
    ax1.plot(k[::3], scan[::3], "o", ms=3.5, color="C1", label="recurrent view: impulse through the scan")
    ax1.set_xlabel("lag k (steps)")
    ax1.set_ylabel(r"kernel $\bar K_k$")
    ax1.set_title(f"one random stable SSM (N={data['N']}, bilinear, seed 0)")
    ax1.legend(fontsize=8)
    methods = list(data["gaps"])
    vals = np.array([data["gaps"][m] for m in methods])
    x = np.arange(len(methods))
    for i in range(vals.shape[1]):
        ax2.scatter(x + 0.06 * (i - vals.shape[1] / 2), vals[:, i], s=14, color="C0",
                    label=f"max |scan - conv| / max|y| ({data['n_seeds']} seeds)" if i == 0 else None)
    ax2.axhline(1e-10, color="black", ls="--", lw=1.2, label="tolerance rtol 1e-10 (float64)")
    ax2.axhline(np.finfo(float).eps, color="gray", ls=":", lw=1, label="machine epsilon")
    ax2.set_yscale("log")
    ax2.set_ylim(1e-17, 1e-8)
    ax2.set_xticks(x, [m.replace("_", " ") for m in methods], fontsize=8)
    ax2.set_ylabel("relative gap (float64)")
    ax2.set_title(f"views agree to rounding (L={data['L']})")
    ax2.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig
