"""Delayed generalisation (claim grokking.1): train and test accuracy of the CPU preset over epochs, each seed as a
thin line."""
from __future__ import annotations

from claims import grokking as cg
from figures.common import mean_band


def load(store) -> dict:
    fn, config, seeds = cg.delayed_run("report")
    df = store.load(fn, config, seeds)
    out = {"config": {"M": config.M, "p": config.fraction, "K": config.K, "eta": config.weight_decay}}
    for metric in ("train_acc", "test_acc", "train_loss", "test_loss", "fourier_share"):
        out[metric] = cg.curve(df, metric)
    return out


def draw(data):
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.6))
    for metric, label, color in (("train_acc", "train accuracy", "C0"), ("test_acc", "test accuracy", "C3"),
                                 ("fourier_share", "per-neuron Fourier share", "C2")):
        steps, values = data[metric]
        mean_band(ax, steps, values, label=label, color=color, marker="", limits=(0, 1))  # accuracies, shares
    ax.axhline(0.99, color="black", lw=0.8, ls=":", label="99 %")
    ax.set(xlabel="epoch (full-batch Adam step)", ylabel="accuracy / share", ylim=(-0.02, 1.02))
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))  # below: the curves cross the axes
    for metric, label, color in (("train_loss", "train loss", "C0"), ("test_loss", "test loss", "C3")):
        steps, values = data[metric]
        mean_band(bx, steps, values, label=label, color=color, marker="")
    bx.set(xlabel="epoch", ylabel="MSE (class-centred, mean over samples)", yscale="log")
    bx.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    c = data["config"]
    fig.suptitle(f"Grokking: Z_{c['M']} addition, {c['p']:.0%} of pairs, K={c['K']}, x², Adam, η={c['eta']:g}")
    fig.tight_layout()
    return fig
