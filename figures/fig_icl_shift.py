"""Distribution shift at test time: error vs test length m (ZFB Thm 4.2, claim 4) and covariate scaling x -> c·x
(claim 5), for the trained full LSA and OLS."""
from __future__ import annotations

import numpy as np

from claims import icl as C
from sims import icl as sim
from theory import icl as th


def load(store) -> dict:
    seeds = C.seeds("report")
    an, iso = C.aniso_config("report"), C.iso_config("report")
    df_an, df_iso = store.load(sim.run, an, seeds), store.load(sim.run, iso, seeds)
    m_grid = np.unique(np.round(np.logspace(np.log10(6), 4, 60)).astype(int))
    c_grid = np.linspace(0.3, 2.2, 60)
    G_iso = th.optimal_gamma(iso.Sigma, iso.n, iso.sigma2)
    return {
        "N": an.n, "n_seeds": len(seeds), "m_grid": m_grid, "lengths": np.array(an.eval_lengths),
        "zfb": np.array([th.zfb_test_error(m, an.n, an.Sigma) for m in m_grid]),
        "floor": th.zfb_test_error(np.inf, an.n, an.Sigma),
        "err": np.stack([sim.metric(df_an, f"err_m{m}") for m in an.eval_lengths], axis=1),
        "c_grid": c_grid, "scales": np.array(iso.eval_scales),
        "lsa_theory": np.array([th.population_loss(G_iso, c * c * iso.Sigma, iso.n, iso.sigma2) for c in c_grid]),
        "retrained": np.array([th.optimal_loss(c * c * iso.Sigma, iso.n, iso.sigma2) for c in c_grid]),
        "ols_theory": iso.sigma2 + th.min_norm_ols_excess_risk(iso.d, iso.n, iso.sigma2),
        "lsa": np.stack([sim.metric(df_iso, f"lsa_scale{float(c):g}") for c in iso.eval_scales], axis=1),
        "ols": np.stack([sim.metric(df_iso, f"ols_scale{float(c):g}") for c in iso.eval_scales], axis=1),
    }


def draw(data):
    import matplotlib.pyplot as plt

    from figures.common import THEORY_STYLE, mean_band

    fig, (a, b) = plt.subplots(1, 2, figsize=(10.5, 5.4), constrained_layout=True)
    a.plot(data["m_grid"], data["zfb"], label="ZFB Thm 4.2 (theory)", **THEORY_STYLE)
    a.axhline(data["floor"], color="gray", ls="--", lw=1.0, label=f"floor as m -> inf: {data['floor']:.3f}")
    a.axvline(data["N"], color="gray", ls=":", lw=0.8)
    mean_band(a, data["lengths"], data["err"], label="trained LSA", color="tab:blue", connect=False)
    a.set_xscale("log")
    a.set_yscale("log")
    a.set_xlabel("test prompt length m (trained at N = 20, dotted)")
    a.set_ylabel("test error E(y_hat - y)^2")
    a.set_title("Test-length shift (Ahn spectrum, noiseless)", fontsize=10)
    a.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    b.plot(data["c_grid"], data["lsa_theory"], label="LSA at Gamma*: L(Gamma*; c^2 Sigma) (theory)", **THEORY_STYLE)
    b.plot(data["c_grid"], data["retrained"], color="black", ls="--", lw=1.0,
           label="LSA trained at the test scale: L*(c^2 Sigma) (theory)")
    b.axhline(data["ols_theory"], color="tab:red", lw=1.2, label="OLS: sigma^2 (1 + d/(n-d-1)) (theory)")
    mean_band(b, data["scales"], data["lsa"], label="trained LSA", color="tab:blue", connect=False)
    mean_band(b, data["scales"], data["ols"], label="OLS, same prompts", color="darkred", marker="s", connect=False)
    b.set_yscale("log")
    b.set_xlabel("covariate scale c at test (x -> c x)")
    b.set_ylabel("test error E(y_hat - y)^2")
    b.set_title("Covariate scaling (isotropic, d = 5, n = 20, sigma = 0.1)", fontsize=10)
    b.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15))  # below: the curves fill the axes
    fig.suptitle(f"One-layer LSA under distribution shift ({data['n_seeds']} seeds; error bars are 95% CIs over seeds)", fontsize=10)
    return fig
