"""Deep stacks of order-1 LSSL layers with a pointwise nonlinearity (claim lssl.7): sup-error against the ODE
solution vs depth, with the Picard envelope M (L_f T)^l / l!."""
from __future__ import annotations

import numpy as np

from claims.lssl import setup
from figures.common import THEORY_STYLE, log_band
from theory import lssl as theory


def load(store) -> dict:
    fn, config, seeds = setup("report")["picard"]
    df = store.load(fn, config, seeds)
    err = df[df.metric == "sup_err"].pivot(index="seed", columns="step", values="value").to_numpy()
    depth = np.arange(config.depth + 1)
    return {"depth": depth, "err": err, "T": config.T, "dt": config.dt,
            "envelope": theory.picard_envelope(depth, 3.0, theory.PICARD_LIPSCHITZ, config.T)}


def draw(data):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.2, 4.8))
    d = data["depth"]
    log_band(ax, d, data["err"], label="stack of order-1 LSSLs (bilinear)", color="C0")
    ax.plot(d, data["envelope"], **THEORY_STYLE, label=r"Picard envelope $M(L_fT)^\ell/\ell!$, M=3, $L_f$=3")
    ax.axhline(data["err"][:, -1].mean(), color="gray", ls=":", lw=1,
               label=rf"discretization floor ($\Delta$={data['dt']:g}, O($\Delta^2$))")
    ax.set_yscale("log")
    ax.set_ylim(max(1e-12, data["err"].min() / 10), 1e3)
    ax.set_xlabel(r"depth $\ell$ (layers)")
    ax.set_ylabel(r"$\sup_{t\leq T}|x^{(\ell)}(t) - x(t)|$")
    ax.set_title(r"$\dot x = -x + \sin 3x + \cos(t+\phi)$, T=2: super-geometric decay to the floor", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))  # below: curves fill the axes
    fig.tight_layout()
    return fig
