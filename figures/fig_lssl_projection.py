"""HiPPO-LegS: the error of the Legendre reconstruction from the simulated state vs N, against the observed rate
N^-(k+1/2) and HiPPO Prop. 6's bound N^-(k-1/2); and the state's error vs recurrence length for the published A/k
recurrence and the midpoint A/(k-1/2) one (claim lssl.5)."""
from __future__ import annotations

import numpy as np

from claims.lssl import setup
from figures.common import THEORY_STYLE, log_band
from theory import lssl as theory


def load(store) -> dict:
    fn, config, seeds = setup("report")["legs"]
    df = store.load(fn, config, seeds)

    def curves(metric):
        return df[df.metric == metric].pivot(index="seed", columns="step", values="value").to_numpy()

    Ns = np.asarray(config.Ns_projection)
    kink = theory.legendre_projection_error(lambda x: np.abs(x - 0.5), Ns, breakpoints=[0.5])
    return {"Ns": Ns, "Ls": np.asarray(config.Ls), "recon": curves("recon_err"), "proj": curves("proj_err"),
            "mid": curves("coef_err_midpoint"), "pub": curves("coef_err_published"), "kink": kink}


def draw(data):
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 5.0))
    Ns = data["Ns"]
    log_band(ax1, Ns, data["recon"], label="simulated LegS state (random one-kink signals)", color="C0")
    ax1.plot(Ns, data["proj"].mean(0), "x", color="C3", ms=6, label="exact projection of the same signals (mean)")
    ax1.plot(Ns, data["kink"], **THEORY_STYLE, label=r"theory: exact error for $|x-\frac{1}{2}|$")
    a = data["recon"][:, -1].mean()
    ax1.plot(Ns, a * (Ns / Ns[-1]) ** -1.5, "k--", lw=1, label=r"observed rate $N^{-3/2}$ (k=1)")
    b = data["recon"][:, 1].mean()
    ax1.plot(Ns, b * (Ns / Ns[1]) ** -0.5, "k:", lw=1, label=r"HiPPO Prop. 6 bound: slope $N^{-1/2}$")
    ax1.set_xscale("log", base=2)
    ax1.set_yscale("log")
    ax1.set_xlabel("state size N")
    ax1.set_ylabel(r"$L^2[0,1]$ reconstruction error")
    ax1.set_title("projection error is non-increasing, rate $N^{-(k+1/2)}$")
    ax1.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18))  # below: the curves fill the axes
    Ls = data["Ls"]
    log_band(ax2, Ls, data["pub"], label=r"published $A/k$, endpoint samples", color="C1")
    log_band(ax2, Ls, data["mid"], label=r"$A/(k-\frac{1}{2})$, midpoint samples", color="C2")
    for curve, order, ls in ((data["pub"], 1, "--"), (data["mid"], 2, ":")):
        ax2.plot(Ls, 10 ** np.mean(np.log10(curve[:, 0])) * (Ls / Ls[0]) ** -order, color="black", ls=ls, lw=1.1,
                 label=f"theory: $L^{{-{order}}}$")
    ax2.set_xscale("log", base=2)
    ax2.set_yscale("log")
    ax2.set_xlabel("recurrence length L (steps on [0, 1])")
    ax2.set_ylabel(r"$\max_n|c_n - c_n^{exact}| / \max_n|c_n^{exact}|$")
    ax2.set_title("LegS state vs exact Legendre coefficients (N=64)")
    ax2.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    fig.tight_layout()
    return fig
