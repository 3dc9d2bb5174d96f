"""Global-model bias vs number of Monte-Carlo runs M (the paper's Fig 4.7 quantity (1/L)||mean_M w_n - w*||^2):
with C < K the literal Alg. 4 start levels off at the predicted bias, the corrected start keeps falling as 1/M."""
from __future__ import annotations

import numpy as np

from claims import admm as C
from sims import admm as sim
from theory import admm as th


def load(store):
    out = []
    for fn, cfg, seeds in C.mean_runs("report"):
        err = C._errs(store.load(fn, cfg, seeds), "global", cfg.L)
        data = sim.problem(cfg)
        ex = th.exact_moments(data["R"], data["q"], cfg.rho, cfg.C, cfg.sigma2_zeta, cfg.sigma2_eta, cfg.n_iter,
                              init=cfg.init, steps=[cfg.n_iter])
        K, L = cfg.K, cfg.L
        g = slice(K * L, (K + 1) * L)
        m = ex["mean"][0][g]
        cov = ex["P_last"][g, g] - np.outer(m, m)
        M = np.unique(np.round(np.geomspace(1, err.shape[0], 60)).astype(int))
        emp = np.array([np.sum(err[:k].mean(0) ** 2) / L for k in M])
        out.append({"init": cfg.init, "M": M, "empirical": emp, "bias2": float(m @ m) / L,
                    "var": float(np.trace(cov)) / L, "C": cfg.C, "K": K, "rho": cfg.rho})
    return {"runs": out}


def draw(data):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for r, c in zip(data["runs"], ("C3", "C0")):
        M = r["M"]
        ax.plot(M, 10 * np.log10(r["empirical"]), "o", ms=3, color=c, label=f"{r['init']} start: Monte Carlo")
        ax.plot(M, 10 * np.log10(r["bias2"] + r["var"] / M), color=c, lw=1.6,
                label=f"{r['init']}: exact ||E w - w*||^2/L + tr Cov/(L M)")
        if r["init"] == "literal":
            ax.axhline(10 * np.log10(r["bias2"]), color=c, ls=":", lw=1,
                       label=f"predicted bias floor {10 * np.log10(r['bias2']):.1f} dB")
    r = data["runs"][0]
    ax.set_xscale("log")
    ax.set_xlabel("number of Monte-Carlo runs M")
    ax.set_ylabel("(1/L)||mean of M global models - w*||^2 (dB)")
    ax.set_title(f"Global-model bias, C={r['C']} of K={r['K']}, W=I, rho={r['rho']:g} "
                 "(one seed per run)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
