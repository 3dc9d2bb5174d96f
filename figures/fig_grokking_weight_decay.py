"""Weight decay (claim grokking.4): epochs to 99 % test accuracy over eta (log-log, with the fitted slope and
Omnigrok's 1/eta), and eta = 0 vs eta > 0 at large width."""
from __future__ import annotations

import numpy as np

from claims import grokking as cg
from figures.common import THEORY_STYLE, mean_band
from theory.stats import loglog_slope


def load(store) -> dict:
    (fn, pair, seeds), (_, sweep, _) = cg.weight_decay_runs("report")
    t = np.stack([cg.first_step(store.load(fn, c, seeds), "test_acc", 0.99) for c in sweep])
    curves = {c.weight_decay: cg.curve(store.load(fn, c, seeds), "test_acc") for c in pair}
    return {"eta": np.array([c.weight_decay for c in sweep]), "t": t, "curves": curves,
            "sweep": f"M={sweep[0].M}, K={sweep[0].K}, p={sweep[0].fraction}",
            "pair": f"M={pair[0].M}, K={pair[0].K}, p={pair[0].fraction}"}


def draw(data):
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.6))
    eta, t = data["eta"], data["t"]
    mean_band(ax, eta, t.T, label="t_test99", color="C0")
    fit = loglog_slope(np.repeat(eta[:, None], t.shape[1], axis=1).ravel(), t.ravel())
    ax.plot(eta, np.exp(fit.intercept) * eta ** fit.slope, color="C0", ls="--", lw=1,
            label=f"fit: slope {fit.slope:.2f} ± {fit.se:.2f}")
    ax.plot(eta, t.mean(axis=1)[0] * (eta / eta[0]) ** -1.0, **THEORY_STYLE, label="Omnigrok t ∝ 1/η")
    ax.set(xscale="log", yscale="log", xlabel="weight decay η (coupled L2)", ylabel="epochs to 99 % test accuracy",
           title=data["sweep"])
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    for i, (wd, (steps, acc)) in enumerate(sorted(data["curves"].items())):
        mean_band(bx, steps, acc, label=f"test accuracy, η={wd:g}", color=f"C{i + 2}", marker="", limits=(0, 1))
    bx.set(xlabel="epoch", ylabel="test accuracy", ylim=(-0.02, 1.02), title=data["pair"] + ": η is needed")
    bx.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))  # below: the rise crosses the axes
    fig.tight_layout()
    return fig
