"""Claims of Wang–Nichani–Lee 2023 (three-layer networks learn h = g∘p from ~d^k samples, kernels do not).

Sizes: 'test' (tiny, seconds), 'report' (the brief's CPU testbed k = 2, d in {8, 16, 24, 32}, plus d = 48; claim 6
scaled down to k = 3, d in {8, 12, 16} on the CPU), 'gpu' (claim 6 at the paper's k = 3, d in {16, 24, 32, 40}).
The run lists are plain functions (``main_runs``, ``link_runs``, ``paper_runs``, ``two_layer_runs``) so figures
re-create exactly the same store keys.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np

from claims.core import Check, Claim, close_check
from sims import hierarchical as sim
from theory import hierarchical as th
from theory.stats import Z_SUITE, loglog_slope, mean_ci

SOURCE = "Wang, Nichani & Lee 2023, arXiv 2311.13774"
RHO_THRESHOLD = 0.9  # the correlation that defines the stage-1 sample threshold n* (brief §5, k = 2)
RHO_THRESHOLD_K3 = 0.7  # the same for claim 6 (k = 3 heavy tails; reached inside the CPU grid at every d)
SANDWICH_BIAS = 0.05  # |sim - sandwich| for n >= 16N, d >= 16, k = 2 (brief T1: observed <= 0.025)
SATURATION_BIAS = 0.02  # brief T2: saturation at n = 64N within ±0.02
PLATEAU_SLACK = 0.03  # brief T4: kernel / RF error >= plateau - 0.03 for n << d^{2k}
FIT_D_MIN = 16  # claim 3 fits sim against theory where the sandwich formula is validated (brief T1: d >= 16)
FIT_BIAS = 0.3  # claim 3: the brief's allowed deviation of the fit slope from 1 (brief §5), before z·SE
MIN_RISE = 0.1  # claim 6: the mean corr(phi, p) gain over the n grid that counts as "rises"
GAIN = 0.2  # brief T5: the three-layer net beats the plateau by at least 0.2 at n = 32N, d >= 16


def sandwich_S(target: th.SeparableTarget, store) -> float:
    """theory.sandwich_variance(target), cached as JSON next to the runs in the store (keyed by the target and the
    theory source), so warm re-runs of claims and figures skip its Monte Carlo."""
    payload = json.dumps({"k": target.k, "g": target.g, "lam": target.lam, "d": target.d,
                          "theory": hashlib.sha256(Path(th.__file__).read_bytes()).hexdigest()}, sort_keys=True)
    key = hashlib.sha256(payload.encode()).hexdigest()[:20]
    path = Path(store.root) / "hierarchical" / "theory-cache" / f"S-{key}.json"
    if path.exists():
        return float(json.loads(path.read_text())["S"])
    S = th.sandwich_variance(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"S": S, "target": json.loads(payload)}))
    os.replace(tmp, path)
    return S


def _seeds(size):
    return list(range({"test": 2, "report": 3, "gpu": 3}[size]))


def _main_seeds(size):
    """More seeds for the k = 2 testbed: claim 3's threshold n* comes from the seed-mean correlation curve, and its
    bootstrap SE on the fit slope over d = 16-32 is 0.25-0.40 with 3 seeds (8 disjoint triples), 0.18 with 8 and
    about 0.1 with 16; with d = 48 added it is 0.04-0.07 (three disjoint 16-seed sets)."""
    return list(range({"test": 2, "report": 16, "gpu": 16}[size]))


def _common(size):
    return {"n_test": 4000, "n2": 2000} if size == "test" else {"n_test": 20000, "n2": 4000}


def main_runs(size):
    """The k = 2 testbed g = h1 + h3 along n/N, with the ReLU random-features baseline: claims 1, 3, 4."""
    # d = 48 (beyond the brief's CPU sizes) gives claim 3's fit its leverage: the sandwich threshold, conservative at
    # small d, meets the measured one there (8.8N both), and the fit over d = 16-32 alone has a log range of 0.78
    ds = (16, 24) if size == "test" else (8, 16, 24, 32, 48)
    grid = (4.0, 8.0, 16.0, 32.0) if size == "test" else (2.0, 4.0, 8.0, 16.0, 32.0)
    cfgs = [sim.Config(d=d, k=2, link="h1+h3", n_over_N=grid, relu_rf_over_N=1.0, **_common(size)) for d in ds]
    return sim.run, cfgs, _main_seeds(size)


def link_runs(size, link):
    """A single large n per d for the non-proportional link (claim 2) or the g = h2 link (claim 5)."""
    if link == "h1+h2":
        ds, grid = ((16,), (64.0,)) if size == "test" else ((16, 32), (64.0,))
    else:
        ds, grid = ((16,), (16.0,)) if size == "test" else ((16, 24), (16.0,))
    return sim.run, [sim.Config(d=d, k=2, link=link, n_over_N=grid, **_common(size)) for d in ds], _seeds(size)


def paper_runs(size):
    """Claim 6: WNL's experiment k = 3, g = C_d z^3, random z^3 first layer (layer-wise algorithm).

    Report size is d in {8, 12, 16} with n up to 64N and 8 seeds: with 3 seeds and d <= 12 (the first version) only
    one of 8 disjoint seed triples passed every check (the threshold was often never reached, and single seeds'
    errors scatter by ±0.15)."""
    if size == "gpu":
        ds, grid, extra = (16, 24, 32, 40), (2.0, 4.0, 8.0, 16.0, 32.0, 64.0), {"chunk": 2048}
    elif size == "report":
        ds, grid, extra = (8, 12, 16), (2.0, 4.0, 8.0, 16.0, 32.0, 64.0), {}
    else:
        ds, grid, extra = (6, 8), (2.0, 8.0, 32.0), {}
    # ridge2 = 1e-2: the z^3 target is heavy-tailed and a weaker stage-2 ridge overfits D2's tails.
    cfgs = [sim.Config(d=d, k=3, link="z3", normalise=True, first_layer="rf", m1_over_N=1.5, n_over_N=grid,
                       ridge2=1e-2, **_common(size), **extra) for d in ds]
    # GPU size keeps 3 seeds: the float64 Gram at d = 40 is 2.7 GB per seed, times three copies in the solve
    return sim.run, cfgs, list(range({"test": 2, "report": 8, "gpu": 3}[size]))


def joint_runs(size):
    """Claim 6 note: the paper's joint Adam training (smallest d of the size only)."""
    d = {"test": 4, "report": 8, "gpu": 16}[size]
    steps = 200 if size == "test" else 600
    cfg = sim.JointConfig(d=d, n_over_N=(2.0, 32.0), steps=steps, n_test=_common(size)["n_test"])
    return sim.run_joint, [cfg], _seeds(size)


def two_layer_runs(size):
    """The two-layer ReLU baseline (full-batch Adam) on the same D1 as main_runs at d = 8 (CPU cost)."""
    steps = 100 if size == "test" else 200
    cfg = sim.TwoLayerConfig(d=8, n_over_N=(4.0, 32.0), width=64, steps=steps, lr=1e-2, n_test=_common(size)["n_test"])
    return sim.run_two_layer, [cfg], _seeds(size)


def per_seed(df, metric):
    """(seeds, n grid, values[seed, n]) of one metric from a tidy run table."""
    t = df[df.metric == metric].pivot(index="seed", columns="step", values="value")
    return t.index.to_numpy(), t.columns.to_numpy(), t.to_numpy()


def crossing(ns, values, level):
    """First n where values reach ``level``, log-linearly interpolated; nan if never reached."""
    ns, values = np.asarray(ns, float), np.asarray(values, float)
    above = np.nonzero(values >= level)[0]
    if above.size == 0:
        return math.nan
    j = above[0]
    if j == 0:
        return float(ns[0])
    lo, hi = np.log(ns[j - 1]), np.log(ns[j])
    frac = (level - values[j - 1]) / (values[j] - values[j - 1])
    return float(np.exp(lo + frac * (hi - lo)))


# ---------------------------------------------------------------------------------------------------------------
# Claim 1: stage-1 feature correlation follows the sandwich curve
# ---------------------------------------------------------------------------------------------------------------


def _predict_1(ctx):
    _, cfgs, _ = main_runs(ctx.size)
    return {cfg.d: th.feature_correlation_prediction(cfg.target, np.array(cfg.n_grid, float),
                                                     S=sandwich_S(cfg.target, ctx.store)) for cfg in cfgs}


def _measure_1(ctx):
    fn, cfgs, seeds = main_runs(ctx.size)
    out = {}
    for cfg, df in zip(cfgs, ctx.sweep(fn, cfgs, seeds)):
        out[cfg.d] = per_seed(df, "corr_phi_p")[2]
    return out


def _compare_1(pred, meas, ctx):
    _, cfgs, _ = main_runs(ctx.size)
    checks = []
    for cfg in cfgs:
        if cfg.d < 16:
            continue
        for j, r in enumerate(cfg.n_over_N):
            if r < 16:
                continue
            checks.append(close_check(f"corr(phi, p) at d={cfg.d}, n={r:g}N", pred[cfg.d][j], meas[cfg.d][:, j],
                                      bias_bound=SANDWICH_BIAS, rule_extra="sandwich-formula bias (brief T1)"))
    return checks


# ---------------------------------------------------------------------------------------------------------------
# Claim 2: the limit is P_{<=k} h, not p
# ---------------------------------------------------------------------------------------------------------------


def _predict_2(ctx):
    _, cfgs, _ = link_runs(ctx.size, "h1+h2")
    out = {}
    for cfg in cfgs:
        t = cfg.target
        rho_p = float(th.feature_correlation_prediction(t, cfg.n_grid[-1], S=sandwich_S(t, ctx.store)))
        out[cfg.d] = {"corr_p": rho_p, "corr_Ph": rho_p / th.ideal_feature_correlation(t),
                      "ideal": th.ideal_feature_correlation(t)}
    return out


def _measure_2(ctx):
    fn, cfgs, seeds = link_runs(ctx.size, "h1+h2")
    return {cfg.d: {"corr_p": per_seed(df, "corr_phi_p")[2][:, -1], "corr_Ph": per_seed(df, "corr_phi_Ph")[2][:, -1]}
            for cfg, df in zip(cfgs, ctx.sweep(fn, cfgs, seeds))}


def _compare_2(pred, meas, ctx):
    checks = []
    for d in pred:
        p, m = pred[d], meas[d]
        checks.append(close_check(f"corr(phi, p) saturates at d={d} (ideal {p['ideal']:.3f})", p["corr_p"],
                                  m["corr_p"], bias_bound=SATURATION_BIAS, rule_extra="brief T2"))
        checks.append(close_check(f"corr(phi, P_<=k h) at d={d}", p["corr_Ph"], m["corr_Ph"],
                                  bias_bound=SATURATION_BIAS, rule_extra="brief T2"))
        ci = mean_ci(m["corr_p"])
        checks.append(Check(f"corr(phi, p) differs from the P_k h ∝ p reading at d={d}", p["corr_Ph"], ci.mean,
                            Z_SUITE * ci.se, f"{Z_SUITE:.2f}·SE", "differs", (ci.low, ci.high), ci.se))
    return checks


# ---------------------------------------------------------------------------------------------------------------
# Claim 3: the threshold scales like the predicted threshold ∝ N_k(d)(1 + A(d)/(1/rho^2 - 1))
# ---------------------------------------------------------------------------------------------------------------


def _predict_3(ctx):
    _, cfgs, _ = main_runs(ctx.size)
    return {"n_star": np.array([th.threshold_prediction(c.target, RHO_THRESHOLD, S=sandwich_S(c.target, ctx.store))
                                for c in cfgs]),
            "slope": 1.0, "raw_slope_window": (1.0, 2.3)}


def _measure_3(ctx):
    """Per-seed corr(phi, p) curves on the n > 2N part of the grid (the n <= 2N double-descent region is excluded
    from threshold fits, brief §5), and n* as the crossing of the seed-mean curve.

    The mean curve estimates E corr, which is what the sandwich formula predicts. Crossings of single seeds are
    far noisier (n*/N from 8.6 to 22.2 over 24 seeds at d = 16) and a seed that never reaches 0.9 on the grid
    made the old median-of-three-crossings estimate nan: that, not a CUDA difference, is why this claim failed at
    GPU size on an H100 in 2026-11 (docs/hierarchical.md)."""
    fn, cfgs, seeds = main_runs(ctx.size)
    out = {"d": np.array([c.d for c in cfgs]), "N": np.array([c.N for c in cfgs]), "ns": [], "curves": []}
    for cfg, df in zip(cfgs, ctx.sweep(fn, cfgs, seeds)):
        _, ns, vals = per_seed(df, "corr_phi_p")
        keep = ns > 2 * cfg.N
        out["ns"].append(ns[keep])
        out["curves"].append(vals[:, keep])
    out["n_star"] = np.array([crossing(ns, v.mean(0), RHO_THRESHOLD) for ns, v in zip(out["ns"], out["curves"])])
    pred = _predict_3(ctx)["n_star"]
    out["note"] = "n*/N of the seed-mean curve " + ", ".join(f"{a / N:.1f}" for a, N in zip(out["n_star"], out["N"])) + \
        "; sandwich-predicted " + ", ".join(f"{a / N:.1f}" for a, N in zip(pred, out["N"])) + \
        f" at d = {', '.join(map(str, out['d']))}" + (
            "; at d = 8 the sandwich formula is conservative by a factor "
            f"{pred[0] / out['n_star'][0]:.1f}, so the fit against theory uses d >= {FIT_D_MIN} (where claim 1 holds)"
            if out["d"][0] < FIT_D_MIN else "") + \
        f"; slope SEs from a {N_BOOT}-draw bootstrap over seeds ({len(seeds)} seeds per d). The fit " \
        "rejects thresholds growing like N^2 or d^4 (make test-slow) but not reliably one growing like d"
    return out


N_BOOT = 1000  # claim 3: bootstrap draws over seeds for the slopes' standard errors


def _threshold_slopes(pred_n_star, meas, curves):
    """(fit slope of log n*(sim) on log n*(theory) over d >= FIT_D_MIN, raw slope of log n* on log d)."""
    use = meas["d"] >= FIT_D_MIN
    n_star = np.array([crossing(ns, v.mean(0), RHO_THRESHOLD) for ns, v in zip(meas["ns"], curves)])
    if not np.all(np.isfinite(n_star)):
        return math.nan, math.nan
    return (loglog_slope(pred_n_star[use], n_star[use]).slope, loglog_slope(meas["d"], n_star).slope)


def bootstrap_draws(stat, curves, seed):
    """``stat`` of ``curves`` (one seeds × n array per d) with each array's seeds resampled independently (the runs
    at different d are independent), N_BOOT times from a fixed generator so verdicts are reproducible: an array
    (N_BOOT, ...) in which a draw whose statistic is not finite (a mean curve that misses the threshold) is nan."""
    rng = np.random.default_rng(seed)
    return np.array([stat([v[rng.integers(0, v.shape[0], v.shape[0])] for v in curves]) for _ in range(N_BOOT)],
                    dtype=float)


def bootstrap_se(draws):
    """(standard error per statistic, number of nan draws); the SE is nan when more than half the draws are nan,
    so a check built on it fails rather than passing on the few draws that happened to cross."""
    draws = draws.reshape(N_BOOT, -1)
    ok = np.all(np.isfinite(draws), axis=1)
    if ok.sum() < N_BOOT // 2:
        return np.full(draws.shape[1], math.nan), int((~ok).sum())
    return draws[ok].std(axis=0, ddof=1), int((~ok).sum())


def _compare_3(pred, meas, ctx):
    fit, raw = _threshold_slopes(pred["n_star"], meas, meas["curves"])
    (se_fit, se_raw), missed = bootstrap_se(
        bootstrap_draws(lambda curves: _threshold_slopes(pred["n_star"], meas, curves), meas["curves"], 20231123))
    lo, hi = pred["raw_slope_window"]
    if not math.isfinite(se_fit):  # the threshold is mostly not reached: no usable SE, the checks fail
        fit, raw, se_fit, se_raw = math.nan, math.nan, 0.0, 0.0
    tol = FIT_BIAS + Z_SUITE * se_fit
    boot = f"; bootstrap over seeds, {missed}/{N_BOOT} draws never reach corr {RHO_THRESHOLD}" if missed else \
        "; bootstrap over seeds"
    return [
        Check(f"slope of log n*(sim) on log n*(theory), d >= {FIT_D_MIN}", pred["slope"], fit, tol,
              f"brief §5 bias bound {FIT_BIAS} + z·SE (STYLE habit 6)" + boot, "close", se=se_fit),
        Check("raw slope of log n* on log d within [k-1, k+0.3]", (lo + hi) / 2, raw, (hi - lo) / 2 + Z_SUITE * se_raw,
              "brief §5: finite-d window, not k ± 0.2; widened by z·SE" + boot, "close", se=se_raw),
    ]


# ---------------------------------------------------------------------------------------------------------------
# Claim 4: kernels sit at the plateau, the three-layer network goes below it at the same n
# ---------------------------------------------------------------------------------------------------------------


def _predict_4(ctx):
    _, cfgs, _ = main_runs(ctx.size)
    return {c.d: th.kernel_plateau(c.target) for c in cfgs}


def _measure_4(ctx):
    fn, cfgs, seeds = main_runs(ctx.size)
    out = {}
    for cfg, df in zip(cfgs, ctx.sweep(fn, cfgs, seeds)):
        out[cfg.d] = {m: per_seed(df, m)[2][:, -1] for m in ("err_stage1", "err_relu_rf", "err_three_layer")}
    fn2, cfgs2, seeds2 = two_layer_runs(ctx.size)
    same_d = out.get(cfgs2[0].d)
    three = f"{same_d['err_three_layer'].mean():.3f}" if same_d else "not run at this size"
    df2 = ctx.run(fn2, cfgs2[0], seeds2)
    two = per_seed(df2, "err_two_layer")[2][:, -1]
    out["note"] = (f"two-layer ReLU net (Adam, width {cfgs2[0].width}) at d={cfgs2[0].d}, n=32N: normalised error "
                   f"{two.mean():.3f} (plateau {th.kernel_plateau(cfgs2[0].target):.3f}, three-layer "
                   f"{three}); an empirical baseline, "
                   "not a theorem")
    return out


def _compare_4(pred, meas, ctx):
    _, cfgs, _ = main_runs(ctx.size)
    d_min = 16
    checks = []
    for cfg in cfgs:
        if cfg.d < d_min:
            continue
        plateau, m = pred[cfg.d], meas[cfg.d]
        for name, key in (("degree<=k ridge (kernel limit)", "err_stage1"), ("ReLU random features", "err_relu_rf")):
            ci = mean_ci(m[key])
            checks.append(Check(f"{name} error >= plateau at d={cfg.d}, n={cfg.n_over_N[-1]:g}N", plateau, ci.mean,
                                PLATEAU_SLACK + Z_SUITE * ci.se, f"brief T4 slack {PLATEAU_SLACK} + z·SE", "above",
                                (ci.low, ci.high), ci.se))
        ci = mean_ci(m["err_three_layer"])
        checks.append(Check(f"three-layer error <= plateau - {GAIN} at d={cfg.d}, n={cfg.n_over_N[-1]:g}N",
                            plateau - GAIN, ci.mean, Z_SUITE * ci.se, "brief T5 margin, z·SE", "below",
                            (ci.low, ci.high), ci.se))
    return checks


# ---------------------------------------------------------------------------------------------------------------
# Claim 5: with ĝ1 = 0 (g = h2) the mechanism fails at n ~ d^k
# ---------------------------------------------------------------------------------------------------------------


def _predict_5(ctx):
    _, cfgs, _ = link_runs(ctx.size, "h2")
    return {c.d: {"g1": th.gaussian_limit_constant(c.target.g), "corr": th.ideal_feature_correlation(c.target),
                  "plateau": th.kernel_plateau(c.target), "noise": 3.0 / math.sqrt(c.N)} for c in cfgs}


def _measure_5(ctx):
    fn, cfgs, seeds = link_runs(ctx.size, "h2")
    out = {cfg.d: {"corr": per_seed(df, "corr_phi_p")[2][:, -1], "err": per_seed(df, "err_three_layer")[2][:, -1]}
           for cfg, df in zip(cfgs, ctx.sweep(fn, cfgs, seeds))}
    # control: the same d and n with g = h1 + h3 (ĝ1 = 1), from the claim-1 runs
    fn1, cfgs1, seeds1 = main_runs(ctx.size)
    for cfg, df in zip(cfgs1, ctx.sweep(fn1, cfgs1, seeds1)):
        if cfg.d in out:
            _, ns, vals = per_seed(df, "corr_phi_p")
            out[cfg.d]["control"] = vals[:, list(ns).index(int(round(16 * cfg.N)))]
    return out


def _compare_5(pred, meas, ctx):
    checks = []
    for d in pred:
        p, m = pred[d], meas[d]
        checks.append(close_check(f"corr(phi, p) at noise level, d={d}, n=16N (ĝ1={p['g1']:g})", p["corr"],
                                  m["corr"], bias_bound=p["noise"], rule_extra="= 3/sqrt(N), a random direction's "
                                  "correlation scale"))
        if "control" in m:
            ci = mean_ci(m["corr"])
            control = float(np.mean(m["control"]))
            checks.append(Check(f"corr(phi, p) below half the ĝ1 = 1 control's {control:.3f} at d={d}", control / 2,
                                ci.mean, Z_SUITE * ci.se, "z·SE", "below", (ci.low, ci.high), ci.se))
        ci = mean_ci(m["err"])
        checks.append(Check(f"three-layer error stays at the plateau, d={d}", p["plateau"], ci.mean,
                            PLATEAU_SLACK + Z_SUITE * ci.se, f"slack {PLATEAU_SLACK} + z·SE", "above",
                            (ci.low, ci.high), ci.se))
    return checks


# ---------------------------------------------------------------------------------------------------------------
# Claim 6: WNL's experiment, k = 3, g = C_d z^3
# ---------------------------------------------------------------------------------------------------------------


MIN_DROP = 0.1  # claim 6: the mean drop of the normalised test loss over the n grid that counts as "falls"


def _predict_6(ctx):
    _, cfgs, _ = paper_runs(ctx.size)
    return {c.d: {"rise": MIN_RISE, "drop": MIN_DROP, "gap": 0.0, "log_ratio": 0.0,
                  "plateau": th.kernel_plateau(c.target), "ideal": th.ideal_feature_correlation(c.target),
                  "c_d": th.stein_constant(c.target), "g1": th.gaussian_limit_constant(c.target.g)}
            for c in cfgs}


def _measure_6(ctx):
    fn, cfgs, seeds = paper_runs(ctx.size)
    out = {}
    for cfg, df in zip(cfgs, ctx.sweep(fn, cfgs, seeds)):
        _, ns, corr = per_seed(df, "corr_phi_p")
        out[cfg.d] = {"ns": ns, "corr": corr, "err": per_seed(df, "err_three_layer")[2],
                      "err_plateau": per_seed(df, "err_plateau")[2][:, 0], "plateau": th.kernel_plateau(cfg.target)}
    ds = sorted(out)
    big = out[ds[-1]]
    gap = mean_ci(big["err"][:, -1] - big["err_plateau"])
    out["note"] = (
        f"at d={ds[-1]}, n={big['ns'][-1]}: three-layer test loss {big['err'][:, -1].mean():.3f}, the exact "
        f"P_<=3 h on the same test points {big['err_plateau'].mean():.3f} (population plateau {big['plateau']:.3f}: "
        f"with {cfgs[-1].n_test} test points the z^3 target's heavy tails bias normalised errors low), paired gap "
        f"{gap.mean:+.3f} [{gap.low:+.3f}, {gap.high:+.3f}]" + (
            " (its 95 % CI includes 0: consistent with the claim, not a demonstrated gain at this size)"
            if gap.high > 0 else ""))
    if ctx.size != "gpu":
        out["note"] += ("; scaled-down CPU version of the GPU preset (layer-wise algorithm); joint Adam training of "
                        "all layers runs at --size gpu")
        return out
    fnj, cfgsj, seedsj = joint_runs(ctx.size)
    dfj = ctx.run(fnj, cfgsj[0], seedsj)
    _, nj, cj = per_seed(dfj, "corr_phi_p")
    ej = per_seed(dfj, "err_joint")[2]
    out["note"] += (f"; joint Adam training of all layers (d={cfgsj[0].d}, m1=d^2): |corr(phi, p)| "
                    f"{cj[:, 0].mean():.2f} -> {cj[:, -1].mean():.2f} and test error {ej[:, 0].mean():.2f} -> "
                    f"{ej[:, -1].mean():.2f} from n={nj[0]} to n={nj[-1]}")
    return out


def _transition_log_ratio(lo, hi, curves=None):
    """log of n*(corr = RHO_THRESHOLD_K3) at the largest d over the smallest, n* from the seed-mean curves (or from
    ``curves`` = [lo's, hi's] resampled per-seed curves)."""
    c_lo, c_hi = curves or (lo["corr"], hi["corr"])
    return math.log(crossing(hi["ns"], c_hi.mean(0), RHO_THRESHOLD_K3) /
                    crossing(lo["ns"], c_lo.mean(0), RHO_THRESHOLD_K3))


def _compare_6(pred, meas, ctx):
    # Means over seeds with z·SE (single seeds are erratic on the heavy-tailed z^3 target; brief §5).
    checks = []
    ds = sorted(d for d in pred)
    for d in ds:
        m, p = meas[d], pred[d]
        rise = mean_ci(m["corr"][:, -1] - m["corr"][:, 0])
        checks.append(Check(f"corr(phi, p) rises by >= {p['rise']} from n={m['ns'][0]} to {m['ns'][-1]} at d={d}",
                            p["rise"], rise.mean, Z_SUITE * rise.se, "mean over seeds, z·SE", "above",
                            (rise.low, rise.high), rise.se))
        drop = mean_ci(m["err"][:, 0] - m["err"][:, -1])
        checks.append(Check(f"test loss falls by >= {p['drop']} from n={m['ns'][0]} to {m['ns'][-1]} at d={d}",
                            p["drop"], drop.mean, Z_SUITE * drop.se, "mean over seeds, z·SE", "above",
                            (drop.low, drop.high), drop.se))
    m = meas[ds[-1]]
    gap = mean_ci(m["err"][:, -1] - m["err_plateau"])
    checks.append(Check(f"test loss at n={m['ns'][-1]} minus the exact degree<=3 predictor's on the same test points, "
                        f"d={ds[-1]}", pred[ds[-1]]["gap"], gap.mean, Z_SUITE * gap.se,
                        "paired over seeds (cancels the test set's heavy-tailed noise and bias), z·SE", "below",
                        (gap.low, gap.high), gap.se))
    lo, hi = meas[ds[0]], meas[ds[-1]]
    lr = _transition_log_ratio(lo, hi)
    (se,), missed = bootstrap_se(bootstrap_draws(lambda curves: _transition_log_ratio(lo, hi, curves),
                                                 [lo["corr"], hi["corr"]], 20231124))
    checks.append(Check(f"transition moves right: log n*(corr={RHO_THRESHOLD_K3}) at d={ds[-1]} over d={ds[0]} "
                        "(seed-mean curves)", pred[ds[0]]["log_ratio"], lr if math.isfinite(se) else math.nan,
                        Z_SUITE * se if math.isfinite(se) else 0.0,
                        f"> 0 up to z·SE of a {N_BOOT}-draw bootstrap over seeds ({missed} draws never "
                        "reach the threshold)", "above", se=se if math.isfinite(se) else None))
    return checks


CLAIMS = [
    Claim("hierarchical.1", "Stage 1 learns a feature aligned with p, on the predicted curve", SOURCE +
          ", Lemma 2 and Theorem 1 (stage 1); sandwich formula rebuilt in the brief §4",
          "Ridge on the degree-<=k first layer learns phi with corr(phi, p) following "
          "rho*/sqrt(1 + S/((n-N)|beta|^2)) for n >= 16N, d >= 16.",
          _predict_1, _measure_1, _compare_1,
          amends="The paper gives rates only (n >= d^{k+3α}); the finite-n curve with the heteroscedastic variance "
                 "S is the brief's reconstruction."),
    Claim("hierarchical.2", "The stage-1 limit is P_<=k h, not p", SOURCE + ", Lemma 2 (O(d^{-1/2}) term)",
          "For even k and g with an even part (g = h1 + h2), corr(phi, p) saturates at (1 + 4/d)^{-1/2} while "
          "corr(phi, P_<=k h) tends to 1.",
          _predict_2, _measure_2, _compare_2),
    Claim("hierarchical.3", "The sample threshold scales like the degree-k feature count",
          SOURCE + ", Theorem 1 (n ≈ d^k); brief §5 exponent-fit rule",
          "n*(corr = 0.9) scales like the predicted N_k(d)(1 + A(d)/(1/rho^2 - 1)) (slope 1 ± 0.3, d = 16-48), "
          "with a raw finite-d slope in [k-1, k+0.3].",
          _predict_3, _measure_3, _compare_3,
          amends="The paper's d^k is asymptotic; at d <= 32 the raw slope is below k (d ln N/d ln d = 1.82 for k=2)."),
    Claim("hierarchical.4", "Kernels stay at the plateau while the three-layer net goes below it",
          SOURCE + ", Sec. 1 (kernel lower bound via Ghorbani et al. 2021) and Theorem 1",
          "At n = 32N the degree-<=k ridge and ReLU random features stay above the exact degree-<=k plateau, while "
          "the layer-wise three-layer network is at least 0.2 below it.",
          _predict_4, _measure_4, _compare_4),
    Claim("hierarchical.5", "With ĝ1 = 0 the mechanism fails at n ~ d^k", SOURCE + ", assumption E g'(z) = Θ(1)",
          "For g = h2 the stage-1 feature is uncorrelated with p at n = 16N and the three-layer net stays at the "
          "plateau.",
          _predict_5, _measure_5, _compare_5),
    Claim("hierarchical.6", "Paper-style experiment: k = 3, g = C_d z^3", SOURCE + ", Sec. 5, Figure 2",
          "Feature correlation rises (by >= 0.1) and test loss falls (by >= 0.1) with n at every d, the loss at the "
          "largest n and d is below that of the best degree<=3 predictor on the same test points, and the "
          "transition moves right with d (report size: scaled down to d in {8, 12, 16}, n <= 64N, on the CPU; GPU "
          "size d in {16, 24, 32, 40}).",
          _predict_6, _measure_6, _compare_6,
          amends="WNL train all layers jointly with Adam (m1 = d^2, m2 = 1000, µP); the checks here use the "
                 "layer-wise algorithm with a random z^3 first layer of width 1.5N; joint Adam is reported in the "
                 "note."),
]
