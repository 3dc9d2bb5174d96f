"""Plateau NMSD (mean over the last 100 of 500 iterations) in the paper's setting, against the number C of
scheduled clients and against the link-noise variance (the line is the exact affine law NMSD = floor + s2 B
through the noise-free floor and the 6.25e-4 point)."""
from __future__ import annotations

import numpy as np

from claims import admm as C
from figures.common import THEORY_STYLE
from theory.stats import mean_ci


def load(store):
    pts = []
    for fn, cfg, seeds in C.plateau_runs("report"):
        x = C._scalar(store.load(fn, cfg, seeds), "nmsd_window")
        ci = mean_ci(x)
        pts.append({"variant": cfg.variant, "C": cfg.C, "s2": cfg.sigma2_eta, "mean": ci.mean, "low": ci.low,
                    "high": ci.high, "n": len(x)})
    return {"points": pts}


def draw(data):
    import matplotlib.pyplot as plt

    db = lambda v: 10 * np.log10(v)  # noqa: E731
    pts = data["points"]
    n = pts[0]["n"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.0))
    ax = axes[0]
    styles = {"rerce": ("o-", "RERCE-Fed"), "continual": ("s--", "continual updates"), "admm": ("^", "noisy ADMM")}
    for s2, alpha in ((6.25e-4, 1.0), (1e-2, 0.6)):
        for v, (fmt, name) in styles.items():
            sel = sorted((p for p in pts if p["variant"] == v and p["s2"] == s2), key=lambda p: p["C"])
            if not sel:
                continue
            Cs = [p["C"] for p in sel]
            m = np.array([db(p["mean"]) for p in sel])
            err = np.array([[db(p["mean"]) - db(p["low"]) if p["low"] > 0 else 0 for p in sel],
                            [db(p["high"]) - db(p["mean"]) for p in sel]])
            ax.errorbar(Cs, m, yerr=err, fmt=fmt, ms=5, capsize=3, alpha=alpha,
                        label=f"{name}, link noise {s2:g}")
    ax.set_xscale("log")
    ax.set_xticks([4, 10, 25, 100], ["4", "10", "25", "100"])
    ax.set_xlabel("scheduled clients C of K = 100")
    ax.set_ylabel("plateau NMSD (dB)")
    ax.set_title(f"Plateau vs C (MC mean ± 95% CI, {n} seeds)", fontsize=10)
    ax.legend(fontsize=7.5, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.16))  # below: the data span the axes
    ax = axes[1]
    for C_, c in ((4, "C0"), (100, "C1")):
        sel = {p["s2"]: p for p in pts if p["variant"] == "rerce" and p["C"] == C_}
        if not {0.0, 6.25e-4, 1e-2} <= set(sel):
            continue
        floor, lo = sel[0.0]["mean"], sel[6.25e-4]["mean"]
        s = np.geomspace(1e-5, 2e-2, 100)
        ax.plot(s, db(floor + s * (lo - floor) / 6.25e-4), color=c, lw=1.4, zorder=3)
        xs = [6.25e-4, 1e-2]
        ax.errorbar(xs, [db(sel[x]["mean"]) for x in xs],
                    yerr=[[db(sel[x]["mean"]) - db(sel[x]["low"]) for x in xs],
                          [db(sel[x]["high"]) - db(sel[x]["mean"]) for x in xs]],
                    fmt="o", color=c, capsize=3, label=f"RERCE C={C_} (MC, {n} seeds)")
        ax.axhline(db(floor), color=c, ls=":", lw=1, label=f"noise-free floor C={C_} ({db(floor):.1f} dB)")
    ax.plot([], [], label="floor + s2·B (affine in s2)", **THEORY_STYLE)
    ax.set_xscale("log")
    ax.set_xlabel("link-noise variance s2 (uplink = downlink)")
    ax.set_ylabel("plateau NMSD (dB)")
    ax.set_title("Plateau vs noise variance: +12.04 dB per 16x", fontsize=10)
    ax.legend(fontsize=7.5)
    fig.tight_layout()
    return fig
