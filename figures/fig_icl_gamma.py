"""Learned Gamma_eff of the trained full LSA (mean over seeds) next to the closed-form optimum Gamma* (claims 1-3)."""
from __future__ import annotations

import numpy as np

from claims import icl as C
from sims import icl as sim
from theory import icl as th

PANELS = (
    ("isotropic, sigma = 0.1", C.iso_config),
    ("Ahn spectrum, noiseless", C.aniso_config),
    ("w ~ N(0, Sigma^-1)", C.inverse_config),
    ("ReLU responses", C.relu_config),
)


def _optimum(cfg) -> np.ndarray:
    if cfg.response == "relu":
        return th.nonlinear_eta(cfg.d, cfg.n, cfg.sigma2, "relu") * np.eye(cfg.d)
    return th.optimal_gamma(cfg.Sigma, cfg.n, cfg.sigma2, cfg.Omega)


def load(store) -> dict:
    seeds = C.seeds("report")
    panels = []
    for title, make in PANELS:
        cfg = make("report")
        G = sim.gamma_from_table(store.load(sim.run, cfg, seeds), cfg.d)
        panels.append({"title": title, "theory": _optimum(cfg), "learned": G.mean(axis=0),
                       "rel_err": float(np.mean(np.linalg.norm(G - _optimum(cfg), axis=(1, 2)) / np.linalg.norm(_optimum(cfg))))})
    return {"panels": panels, "n_seeds": len(seeds)}


def draw(data):
    import matplotlib.pyplot as plt

    panels = data["panels"]
    fig, axes = plt.subplots(2, len(panels), figsize=(3.0 * len(panels), 5.6), constrained_layout=True)
    for j, p in enumerate(panels):
        vmax = float(np.abs(p["theory"]).max())
        for i, (key, label) in enumerate((("theory", "Gamma* (theory)"), ("learned", "Gamma_eff (trained)"))):
            ax = axes[i, j]
            im = ax.imshow(p[key], cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            ax.set_xticks(range(p[key].shape[1]))
            ax.set_yticks(range(p[key].shape[0]))
            ax.grid(False)
            for (r, c), v in np.ndenumerate(p[key]):
                ax.text(c, r, f"{v:.2f}".replace("-0.00", "0.00"), ha="center", va="center", fontsize=6.5,
                        color="white" if abs(v) > 0.6 * vmax else "black")
            ax.set_title(f"{p['title']}\n{label}" if i == 0 else f"{label}\nrel. error {p['rel_err']:.1%}", fontsize=9)
        fig.colorbar(im, ax=axes[:, j], shrink=0.6, location="bottom")
    fig.suptitle(f"One-layer LSA, d = 5, n = 20: learned vs optimal Gamma (mean of {data['n_seeds']} seeds, Adam on fresh prompts)",
                 fontsize=10)
    return fig
