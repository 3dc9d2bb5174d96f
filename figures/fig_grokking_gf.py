"""Stage I (claim grokking.3): ||G_F|| over epochs against Li2 Eq. 4's fixed point, lazy (W frozen) with eta > 0 and
eta = 0, and during full training."""
from __future__ import annotations

from claims import grokking as cg
from figures.common import log_band, mean_band


def load(store) -> dict:
    out = {}
    for name, (fn, config, seeds) in zip(("lazy", "lazy_zero", "full"), cg.stage1_runs("report")):
        df = store.load(fn, config, seeds)
        out[name] = {"gf": cg.curve(df, "gf_norm"), "star": cg.curve(df, "gf_star_norm"),
                     "label": f"M={config.M}, K={config.K}, n={config.n_train}, η={config.weight_decay:g}"}
    return out


def draw(data):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6))
    titles = {"lazy": "lazy Stage I (W frozen, V(0)=0), η > 0", "lazy_zero": "lazy Stage I, η = 0, K ≥ n",
              "full": "full training (W and V), η > 0"}
    for ax, name in zip(axes, ("lazy", "lazy_zero", "full")):
        d = data[name]
        steps, gf = d["gf"]
        if name == "lazy_zero":  # decays over decades: geometric mean and log-space CI; G_F(0) = 0 is off the axis
            keep = gf.min(axis=0) > 0
            log_band(ax, steps[keep], gf[:, keep], label="‖G_F‖ measured", color="C0", marker="")
        else:
            mean_band(ax, steps, gf, label="‖G_F‖ measured", color="C0", marker="")
        if name != "lazy_zero":
            steps, star = d["star"]
            mean_band(ax, steps, star, label="Eq. 4 at the current F (theory)", color="black", marker="")
        ax.set(xlabel="epoch", ylabel="‖G_F‖_F (paper units: −(n/2)∂L/∂F)",
               title=titles[name] + "\n" + d["label"])
        if name == "lazy_zero":
            ax.set_yscale("log")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2))  # below: curves fill the axes
    fig.tight_layout()
    return fig
