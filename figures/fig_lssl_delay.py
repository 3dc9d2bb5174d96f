"""The continuous-delay task (claim lssl.6): one test sequence with the trained models' outputs, and the learning
curves per state matrix with the closed-form least-squares optimum as dashed lines."""
from __future__ import annotations

import numpy as np

from claims.lssl import setup
from figures.common import mean_band

COLORS = {"legs": "C0", "legt": "C1", "fout": "C2", "lagt": "C3", "random": "C7"}


def load(store) -> dict:
    fn, config, seeds = setup("report")["delay"]
    df = store.load(fn, config, seeds)
    out = {}
    for kind in config.kinds:
        out[f"curve_{kind}"] = df[df.metric == f"train_rel_mse_{kind}"].pivot(
            index="seed", columns="step", values="value").to_numpy()
        out[f"lstsq_{kind}"] = df[df.metric == f"lstsq_rel_mse_{kind}"].value.to_numpy()
        out[f"test_{kind}"] = df[df.metric == f"test_rel_mse_{kind}"].value.to_numpy()
    s0 = df[df.seed == seeds[0]]
    for m in ["out_target", "out_input"] + [f"out_y_{k}" for k in config.kinds]:
        out[m] = s0[s0.metric == m].sort_values("step").value.to_numpy()
    return {"kinds": list(config.kinds), "steps": np.asarray(config.log_steps), "lag": config.lag, "N": config.N,
            "L": config.L, "n_seeds": len(seeds), **out}


def draw(data):
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12.5, 4.4), gridspec_kw={"width_ratios": [1.3, 1]})
    lag = data["lag"]
    t = np.arange(data["L"]) / lag
    ax1.plot(t, data["out_target"], color="black", lw=2.2, label=r"target $u(t-\mathrm{lag})$")
    for kind in ("legt", "legs", "lagt", "random"):
        if kind in data["kinds"]:
            ax1.plot(t, data[f"out_y_{kind}"], color=COLORS[kind], lw=1, label=f"trained LSSL, A = {kind}")
    ax1.axvline(1.0, color="gray", ls=":", lw=1)
    ax1.set_xlim(0.5, t[-1])
    ax1.set_xlabel("time t (in lags)")
    ax1.set_ylabel("output")
    ax1.set_title(f"one test sequence (seed 0): N={data['N']}, lag={lag} steps")
    ax1.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.16))  # below: the outputs fill the axes
    for kind in data["kinds"]:
        # the band is the CI of log10(loss): losses spread over decades, a linear CI would cross zero
        mean_band(ax2, np.maximum(data["steps"], 1), np.log10(data[f"curve_{kind}"]), label=kind,
                  color=COLORS[kind], marker="")
        ax2.axhline(np.log10(np.mean(data[f"lstsq_{kind}"])), color=COLORS[kind], ls="--", lw=0.9)
    ax2.plot([], [], "k--", lw=0.9, label="closed-form least squares\n(same data, mean)")
    ax2.set_xscale("log")
    ax2.set_xlabel("Adam step")
    ax2.set_ylabel(r"$\log_{10}$ train MSE / Var(y)")
    ax2.set_title(f"learning C, D, log dt ({data['n_seeds']} seeds)")
    ax2.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig
