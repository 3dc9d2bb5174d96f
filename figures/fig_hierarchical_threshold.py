"""The stage-1 sample threshold n*(corr = 0.9) against d: simulation (crossing of the seed-mean curve, with single
seeds' crossings) vs the sandwich prediction and N_k(d)."""
from __future__ import annotations

import numpy as np

from claims import hierarchical as hc
from figures.common import THEORY_STYLE
from theory import hierarchical as th


def load(store):
    fn, cfgs, seeds = hc.main_runs("report")
    per_seed, mean_curve, band = [], [], []
    for cfg in cfgs:
        _, ns, vals = hc.per_seed(store.load(fn, cfg, seeds), "corr_phi_p")
        keep = ns > 2 * cfg.N
        ns, vals = ns[keep], vals[:, keep]
        per_seed.append([hc.crossing(ns, v, hc.RHO_THRESHOLD) for v in vals])
        mean_curve.append(hc.crossing(ns, vals.mean(0), hc.RHO_THRESHOLD))
        boot = hc.bootstrap_draws(lambda c, ns=ns: hc.crossing(ns, c[0].mean(0), hc.RHO_THRESHOLD), [vals], 0)
        band.append(np.nanpercentile(boot, [2.5, 97.5]))
    d = np.array([c.d for c in cfgs])
    dd = np.arange(d.min(), d.max() + 1, 2)
    return {"d": d, "n_star": np.array(per_seed), "n_seeds": len(seeds), "dd": dd, "mean_curve": np.array(mean_curve),
            "band": np.array(band),
            "pred": np.array([th.threshold_prediction(c.target, hc.RHO_THRESHOLD, S=hc.sandwich_S(c.target, store))
                              for c in cfgs]),
            "N": np.array([th.feature_count(int(x), 2) for x in dd])}


def draw(data):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    ns, med, band = data["n_star"], data["mean_curve"], data["band"]
    ax.errorbar(data["d"], med, yerr=[med - band[:, 0], band[:, 1] - med], fmt="o-", capsize=3,
                label=f"simulation: crossing of the mean curve over {data['n_seeds']} seeds, bootstrap 95 %")
    for j, d in enumerate(data["d"]):
        ax.scatter(np.full(ns.shape[1], d * 1.03), ns[j], s=9, color="C0", alpha=0.35, lw=0,
                   label="single seeds' crossings" if j == 0 else None)
    ax.plot(data["d"], data["pred"], ls="--", marker="s", ms=4, label="sandwich prediction N(1 + A/(1/ρ²−1))",
            **THEORY_STYLE)
    scale = med[-1] / data["N"][-1]
    ax.plot(data["dd"], scale * data["N"], ls=":", color="gray", label=f"{scale:.1f}·N_2(d) = {scale:.1f}·C(d+2, 2)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter

    ax.set_xticks(data["d"], [str(x) for x in data["d"]])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("input dimension d")
    ax.set_ylabel(f"n* (samples to reach corr(φ, p) = {hc.RHO_THRESHOLD})")
    ax.set_title("k = 2, g = h1 + h3: threshold grows like the degree-2 feature count")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
