"""The MSD drift: with W = I the link noise excites the consensus (unit) modes and the NMSD grows like
E_nu + E_psi + n S, while the paper's steady state (4.34) is the constant E_nu + E_psi."""
from __future__ import annotations

import numpy as np

from claims import admm as C
from figures.common import THEORY_STYLE
from figures.fig_admm_curves import _band


def load(store):
    (fn, cfg, seeds), = C.drift_runs("report")
    pred = C.drift_prediction("report")
    return {"mc": _band(store.load(fn, cfg, seeds)), "exact": pred["curve"], "E_nu": pred["E_nu"],
            "E_psi": pred["E_psi"], "S": pred["S"], "rho": cfg.rho, "C": cfg.C, "K": cfg.K}


def draw(data):
    import matplotlib.pyplot as plt

    db = lambda v: 10 * np.log10(v)  # noqa: E731
    steps, mean, lo, hi, n = data["mc"]
    T = len(data["exact"]) - 1
    ns = np.arange(T + 1)
    E, S = data["E_nu"] + data["E_psi"], data["S"]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ax.plot(ns[1:], db(data["exact"][1:]), label="exact recursion", **THEORY_STYLE)
    ax.plot(steps[1:], db(mean[1:]), "o", ms=3.5, color="C0", label=f"Monte Carlo (mean ± 95% CI, {n} seeds)")
    ax.fill_between(steps[1:], db(lo[1:]), db(hi[1:]), color="C0", alpha=0.25, lw=0)
    ax.axhline(db(E), color="C3", ls="--", label=f"paper steady state E_nu+E_psi = {db(E):.1f} dB (Prop. 4.2)")
    ax.plot(ns[1:], db(E + ns[1:] * S), color="C2", ls="-.", label=f"E_nu+E_psi+n·S, S = {S:.2e}/iteration")
    ax.set_xlabel("iteration n")
    ax.set_ylabel("NMSD of local models (dB)")
    ax.set_title(f"Linear MSD drift (K={data['K']}, C={data['C']}, W=I, rho={data['rho']:g}, link noise 1e-2)",
                 fontsize=10)
    ax.set_ylim(db(E) - 10, db(max(data["exact"][5:].max(), mean[5:].max())) + 3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
