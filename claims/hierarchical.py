"""Claims of Wang–Nichani–Lee 2023 (three-layer networks learn h = g∘p from ~d^k samples, kernels do not).

Sizes: 'test' (tiny, seconds), 'report' (the CPU testbed k = 2, g = h1 + h3, d in {8, 16, 24, 32, 48}; claim 6
scaled down to k = 3, d in {8, 12, 16} on the CPU), 'gpu' (claim 6 at the paper's k = 3, d in {16, 24, 32, 40}).
The run lists are plain functions (``main_runs``, ``link_runs``, ``paper_runs``, ``two_layer_runs``) so figures
re-create exactly the same store keys. Tolerance rules and their derivations: docs/hierarchical.md and
docs/conventions.md; every Monte-Carlo tolerance is a Student-t quantile on the SE's degrees of freedom at the suite
budget (theory.stats.t_for_budget), and an SE pooled over independent runs carries its Welch–Satterthwaite dof.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from claims.core import Check, Claim, close_check, effect_check, mc_check
from sims import hierarchical as sim
from theory import hierarchical as th
from theory.stats import mean_ci

SOURCE = "Wang, Nichani & Lee 2023, arXiv 2311.13774"
RHO_THRESHOLD = 0.9  # the correlation that defines the stage-1 sample threshold n* (k = 2)
RHO_THRESHOLD_K3 = 0.7  # the same for claim 6 (k = 3 heavy tails; reached inside the CPU grid at every d)
FIT_D_MIN = 16  # claim 3 fits the exponent over d >= 16 (d = 8: three of 24 seeds never reach corr 0.9 by 32N)
LEVEL_D = 48  # claim 3 checks the level of n* at d = 48, where claim 1 finds the sandwich S exact (S_hat/S = 1.00)
GAIN = 0.2  # claim 4: the three-layer net beats the degree<=k plateau by at least 0.2 at n = 32N, d >= 16
PLATEAU_SLACK = 0.03  # claim 5: an error within 0.03 of the plateau counts as "at the plateau"
MIN_RISE = 0.1  # claim 6: the corr(phi, p) gain over the n grid that counts as "rises"
MIN_DROP = 0.1  # claim 6: the drop of the normalised test loss over the n grid that counts as "falls"


def sandwich_S(target: th.SeparableTarget, store) -> float:
    """The sandwich variance S of ``target``: exact (theory.sandwich_variance_exact) where P_<=k h is affine in p
    (the k = 2 testbed), else theory.sandwich_variance's Monte Carlo, cached as JSON next to the runs in the store
    (keyed by the target and the theory source) so warm re-runs of claims and figures skip it."""
    if abs(th.ideal_feature_correlation(target) - 1.0) <= 1e-10:
        return th.sandwich_variance_exact(target)
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
    """Claims 2 and 5: 8 seeds (t = 8.8 two-sided on 7 dof; 3 seeds gave t = 141, no power)."""
    return list(range({"test": 8, "report": 8, "gpu": 8}[size]))


def _main_seeds(size):
    """The k = 2 testbed: 16 seeds (t = 5.6 on 15 dof). Claim 3's threshold n* comes from the seed-mean correlation
    curve; its bootstrap SE on log n* is 0.03-0.06 per d with 16 seeds."""
    return list(range({"test": 8, "report": 16, "gpu": 16}[size]))


def _common(size):
    return {"n_test": 4000, "n2": 2000} if size == "test" else {"n_test": 20000, "n2": 4000}


def main_runs(size):
    """The k = 2 testbed g = h1 + h3 along n/N, with the ReLU random-features baseline: claims 1, 3, 4."""
    # d = 48 gives claim 3's fit its leverage and claim 1 a size where the sandwich formula is accurate
    ds = (16, 24) if size == "test" else (8, 16, 24, 32, 48)
    grid = (4.0, 8.0, 16.0, 32.0) if size == "test" else (2.0, 4.0, 8.0, 16.0, 32.0)
    cfgs = [sim.Config(d=d, k=2, link="h1+h3", n_over_N=grid, relu_rf_over_N=1.0, **_common(size)) for d in ds]
    return sim.run, cfgs, _main_seeds(size)


def link_runs(size, link):
    """A single large n per d for the non-proportional link (claim 2) or the g = h2 link (claim 5)."""
    if link == "h1+h2":  # 32N: claim 2's ratio needs n > N only; corr(phi, P_<=k h) is 0.97-0.98 there
        ds, grid = ((16,), (32.0,)) if size == "test" else ((16, 32), (32.0,))
    else:
        ds, grid = ((16,), (16.0,)) if size == "test" else ((16, 24), (16.0,))
    return sim.run, [sim.Config(d=d, k=2, link=link, n_over_N=grid, **_common(size)) for d in ds], _seeds(size)


def paper_runs(size):
    """Claim 6: WNL's experiment k = 3, g = C_d z^3, random z^3 first layer (layer-wise algorithm).

    Report size is d in {8, 12, 16} with n up to 64N and 8 seeds (one-sided t = 7.9 on 7 dof; pooled over d, Welch
    dof 18-19): single seeds' errors scatter by ±0.15 on this heavy-tailed target. 16 seeds would double the run's
    138 s of CPU and bring the transition check's SE from 0.20 to about 0.14."""
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
    return sim.run, cfgs, list(range({"test": 8, "report": 8, "gpu": 3}[size]))


def joint_runs(size):
    """Claim 6 note: the paper's joint Adam training (smallest d of the size only)."""
    d = {"test": 4, "report": 8, "gpu": 16}[size]
    steps = 200 if size == "test" else 600
    cfg = sim.JointConfig(d=d, n_over_N=(2.0, 32.0), steps=steps, n_test=_common(size)["n_test"])
    return sim.run_joint, [cfg], list(range(3))


def two_layer_runs(size):
    """The two-layer ReLU baseline (full-batch Adam) on the same D1 as main_runs at d = 8 (CPU cost)."""
    steps = 100 if size == "test" else 200
    cfg = sim.TwoLayerConfig(d=8, n_over_N=(4.0, 32.0), width=64, steps=steps, lr=1e-2, n_test=_common(size)["n_test"])
    return sim.run_two_layer, [cfg], list(range(3))


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


def welch(weights, variances, dofs):
    """(SE, Welch–Satterthwaite dof) of sum_i w_i X_i for independent X_i with variances v_i estimated on dofs_i
    degrees of freedom: SE^2 = sum w_i^2 v_i, dof = SE^4 / sum (w_i^2 v_i)^2 / dofs_i."""
    terms = np.asarray(weights, float) ** 2 * np.asarray(variances, float)
    total = float(terms.sum())
    if not (math.isfinite(total) and total > 0):
        return math.nan, math.nan
    return math.sqrt(total), total**2 / float(np.sum(terms**2 / np.asarray(dofs, float)))


def pooled_mean_check(name, threshold, samples_per_run, *, mode, **kw) -> Check:
    """A check on the mean over independent runs (e.g. several d) of per-run seed means: SE and dof by
    :func:`welch` (each run's SE on its seeds - 1 dof)."""
    cis = [mean_ci(s) for s in samples_per_run]
    w = np.full(len(cis), 1.0 / len(cis))
    se, dof = welch(w, [c.se**2 for c in cis], [c.n - 1 for c in cis])
    mean = float(np.mean([c.mean for c in cis]))
    if not math.isfinite(se):
        return Check(name, threshold, math.nan, 0.0, "no SE (a run with fewer than two seeds)", mode)
    return mc_check(name, threshold, mean, se, max(dof, 1.0), mode=mode, **kw)


# ---------------------------------------------------------------------------------------------------------------
# Claim 1: the stage-1 variance is the sandwich S (not the homoscedastic sigma^2 N)
# ---------------------------------------------------------------------------------------------------------------


def _predict_1(ctx):
    _, cfgs, _ = main_runs(ctx.size)
    return {cfg.d: {"S": sandwich_S(cfg.target, ctx.store), "S_homo": th.homoscedastic_variance(cfg.target)}
            for cfg in cfgs}


def _measure_1(ctx):
    """Per seed, the effective variance S_hat = (n - N)|beta|^2 (rho*^2/corr^2 - 1) (the inverse of the predicted
    curve, theory.variance_from_correlation) at every n of the grid; the checks read the largest n."""
    fn, cfgs, seeds = main_runs(ctx.size)
    out = {}
    for cfg, df in zip(cfgs, ctx.sweep(fn, cfgs, seeds)):
        _, ns, corr = per_seed(df, "corr_phi_p")
        out[cfg.d] = {"n_over_N": np.asarray(cfg.n_over_N), "S_hat": th.variance_from_correlation(cfg.target, ns, corr)}
    pred = _predict_1(ctx)
    ratios = {d: out[d]["S_hat"].mean(axis=0) / pred[d]["S"] for d in pred}
    grid = out[max(pred)]["n_over_N"]
    out["note"] = ("effective S / sandwich S along n = " + ", ".join(f"{r:g}" for r in grid) + "N: " + "; ".join(
        f"d = {d}: " + ", ".join(f"{v:.2f}" for v in ratios[d]) for d in pred) +
        f" (rises with n: leverage damping). At the largest n, / homoscedastic sigma^2 N = " +
        ", ".join(f"{out[d]['S_hat'][:, -1].mean() / pred[d]['S_homo']:.2f}" for d in pred) + f" ({len(seeds)} seeds)")
    return out


def _compare_1(pred, meas, ctx):
    """At the largest n of the grid (32N). Largest d: S_hat = S within t(seeds - 1)·SE (equality). Smaller d:
    S_hat <= S + t·SE (a bound). Why a bound: by Sherman–Morrison each training point's share of the OLS error is
    damped by 1/(1 + l_i)^2, l_i = f_i^T A_{-i}^{-1} f_i its leverage (about K(x_i, x_i)/(n - N)), which the
    first-order sandwich ignores; the points with large |x| carry most of E[eps^2 K] and have the largest
    leverage, so the effective variance falls below S, the more so the heavier the tails (small d) and the smaller
    n/N (measured: 0.78 S at d = 16 and 0.96 S at d = 32, 32N; 0.58-0.78 S at 2N). Both kinds reject the
    homoscedastic sigma^2 N (S/sigma^2 N = 1.56 at d = 48, 2.91 at d = 16)."""
    ds = sorted(d for d in pred)
    checks = []
    for d in ds:
        p, m = pred[d], meas[d]
        at = f"d={d}, n={m['n_over_N'][-1]:g}N"
        if d == ds[-1]:
            checks.append(close_check(f"effective stage-1 variance (from corr) = sandwich S at {at}", p["S"],
                                      m["S_hat"][:, -1], resolution_note=_S_NOTE if ctx.size != "test" else ""))
        else:
            ci = mean_ci(m["S_hat"][:, -1])
            checks.append(mc_check(f"effective stage-1 variance <= sandwich S at {at} (leverage damping)",
                                   p["S"], ci.mean, ci.se, ci.n - 1, mode="below", ci=(ci.low, ci.high),
                                   resolution_note=_BOUND_NOTE if ctx.size != "test" else ""))
    return checks


_S_NOTE = ("the per-seed spread of S_hat is 7.7 % at d = 48 (15-20 % at d <= 32: heavy tails), so 16 seeds give an "
           "SE of 1.9 % and t(15) = 5.6 makes 10.8 %; 64 seeds (t = 4.35, SE 0.96 %) would bring it to 4.2 % at 4x "
           "the cost of the d = 48 run (most of the claim's CPU time), e.g. on the GPU preset")
_BOUND_NOTE = ("a one-sided bound, not the claim's sharp check (the equality at the largest d is): its tolerance is "
               "t(15)·SE of S_hat, whose per-seed spread is 15-50 % at d <= 32 (heavy tails); halving it needs 4x "
               "the seeds")


# ---------------------------------------------------------------------------------------------------------------
# Claim 2: the limit is P_{<=k} h, not p
# ---------------------------------------------------------------------------------------------------------------


def _predict_2(ctx):
    _, cfgs, _ = link_runs(ctx.size, "h1+h2")
    return {cfg.d: {"ideal": th.ideal_feature_correlation(cfg.target)} for cfg in cfgs}


def _measure_2(ctx):
    fn, cfgs, seeds = link_runs(ctx.size, "h1+h2")
    return {cfg.d: {"corr_p": per_seed(df, "corr_phi_p")[2][:, -1], "corr_Ph": per_seed(df, "corr_phi_Ph")[2][:, -1]}
            for cfg, df in zip(cfgs, ctx.sweep(fn, cfgs, seeds))}


def _compare_2(pred, meas, ctx):
    """phi = P_<=k h + delta with the estimation error delta uncorrelated with p and P_<=k h in expectation, so
    corr(phi, p)/corr(phi, P_<=k h) = <P_<=k h, p>/|P_<=k h| = corr(P_<=k h, p) = rho* = (1 + 4/d)^{-1/2} at any
    n > N (no sandwich formula needed; the delta terms enter only as zero-mean fluctuations): equality within
    t(seeds - 1)·SE. And corr(phi, P_<=k h) clears rho*, the ceiling of any feature aligned with p (effect)."""
    checks = []
    for d in pred:
        p, m = pred[d], meas[d]
        checks.append(close_check(f"corr(phi, p) / corr(phi, P_<=k h) = corr(P_<=k h, p) at d={d}", p["ideal"],
                                  m["corr_p"] / m["corr_Ph"]))
        checks.append(effect_check(f"corr(phi, P_<=k h) above the p-aligned ceiling {p['ideal']:.3f} at d={d}",
                                   p["ideal"], m["corr_Ph"]))
    return checks


# ---------------------------------------------------------------------------------------------------------------
# Claim 3: the threshold scales like the predicted threshold N_k(d)(1 + A(d)/(1/rho^2 - 1))
# ---------------------------------------------------------------------------------------------------------------


N_BOOT = 1000  # bootstrap draws over seeds for the SEs of log n* (claims 3 and 6)


def log_interp(ns, values, n):
    """``values`` (..., len(ns)) log-linearly interpolated at n (ns[0] <= n <= ns[-1]), as :func:`crossing` does."""
    ns = np.asarray(ns, float)
    j = int(np.clip(np.searchsorted(ns, n), 1, len(ns) - 1))
    frac = (math.log(n) - math.log(ns[j - 1])) / (math.log(ns[j]) - math.log(ns[j - 1]))
    return values[..., j - 1] + frac * (values[..., j] - values[..., j - 1])


def _predict_3(ctx):
    _, cfgs, _ = main_runs(ctx.size)
    S = {c.d: sandwich_S(c.target, ctx.store) for c in cfgs}
    out = {"n_star": np.array([th.threshold_prediction(c.target, RHO_THRESHOLD, S=S[c.d]) for c in cfgs]),
           "exponent": 0.0}
    top = cfgs[-1]
    if top.d >= LEVEL_D:
        n_star = float(out["n_star"][-1])
        ns = np.array([n for n in top.n_grid if n > 2 * top.N], float)
        curve = th.feature_correlation_prediction(top.target, ns, S=S[top.d])
        # the check reads the curve log-linearly interpolated, so n* moves the reading along the chord of the
        # grid interval that holds it: that chord's slope (per unit log n) converts the tolerance into n*
        slope = (log_interp(ns, curve, n_star * 1.0001) - log_interp(ns, curve, n_star)) / math.log(1.0001)
        out["level"] = {"d": top.d, "n_star": n_star, "slope": float(slope),
                        "interp_bias": float(log_interp(ns, curve, n_star)
                                             - th.feature_correlation_prediction(top.target, n_star, S=S[top.d]))}
    return out


def _measure_3(ctx):
    """Per-seed corr(phi, p) curves on the n > 2N part of the grid (the n <= 2N double-descent region is excluded
    from threshold fits), and n* as the crossing of the seed-mean curve (it estimates the crossing of E corr, which
    is what the formula predicts; single seeds' crossings scatter by a factor 2-3)."""
    fn, cfgs, seeds = main_runs(ctx.size)
    out = {"d": np.array([c.d for c in cfgs]), "N": np.array([c.N for c in cfgs]), "ns": [], "curves": []}
    for cfg, df in zip(cfgs, ctx.sweep(fn, cfgs, seeds)):
        _, ns, vals = per_seed(df, "corr_phi_p")
        keep = ns > 2 * cfg.N
        out["ns"].append(ns[keep])
        out["curves"].append(vals[:, keep])
    out["n_star"] = np.array([crossing(ns, v.mean(0), RHO_THRESHOLD) for ns, v in zip(out["ns"], out["curves"])])
    pred = _predict_3(ctx)["n_star"]
    use = out["d"] >= FIT_D_MIN
    raw = np.polyfit(np.log(out["d"][use]), np.log(out["n_star"][use]), 1)[0]
    out["note"] = "n*/N of the seed-mean curve " + ", ".join(f"{a / N:.1f}" for a, N in zip(out["n_star"], out["N"])) + \
        "; sandwich-predicted " + ", ".join(f"{a / N:.1f}" for a, N in zip(pred, out["N"])) + \
        f" at d = {', '.join(map(str, out['d']))}; raw slope of log n* on log d over d >= {FIT_D_MIN}: {raw:.2f} " \
        f"(local slope of log N_k(d): {np.polyfit(np.log(out['d'][use]), np.log(out['N'][use]), 1)[0]:.2f})"
    return out


def bootstrap_draws(stat, curves, seed):
    """``stat`` of ``curves`` (one seeds × n array per d) with each array's seeds resampled independently (the runs
    at different d are independent), N_BOOT times from a fixed generator so verdicts are reproducible: an array
    (N_BOOT, ...) in which a draw whose statistic is not finite (a mean curve that misses the threshold) is nan."""
    rng = np.random.default_rng(seed)
    return np.array([stat([v[rng.integers(0, v.shape[0], v.shape[0])] for v in curves]) for _ in range(N_BOOT)],
                    dtype=float)


def log_crossing_variance(ns, curves, level, seed):
    """Bootstrap variance over seeds of log n*(level) of one d's seed-mean curve, and the number of draws that
    never reach the level; nan when more than half of them miss (a check built on it then fails)."""
    draws = bootstrap_draws(lambda c: math.log(crossing(ns, c[0].mean(0), level)), [curves], seed)
    ok = np.isfinite(draws)
    if ok.sum() < N_BOOT // 2:
        return math.nan, int((~ok).sum())
    return float(draws[ok].var(ddof=1)), int((~ok).sum())


def _compare_3(pred, meas, ctx):
    """The exponent delta of d in n*(sim)/n*(theory), fitted over d >= FIT_D_MIN, is 0: |delta| <= t·SE with SE and
    dof from the per-d bootstrap variances of log n* (independent runs: SE^2 = sum w_d^2 var_d for the OLS
    weights w_d, Welch–Satterthwaite dof on seeds - 1 per d). Thresholds growing like N_k(d)·d^{±1} (i.e. d^{k±1})
    have delta = ±1; the resolution is stated on the exponent."""
    use = meas["d"] >= FIT_D_MIN
    x = np.log(meas["d"][use])
    y = np.log(meas["n_star"][use] / pred["n_star"][use])
    w = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
    delta = float(w @ y)
    ns = [n for n, u in zip(meas["ns"], use) if u]
    curves = [c for c, u in zip(meas["curves"], use) if u]
    var = [log_crossing_variance(n, c, RHO_THRESHOLD, 20231123 + i)[0] for i, (n, c) in enumerate(zip(ns, curves))]
    se, dof = welch(w, var, [c.shape[0] - 1 for c in curves])
    name = f"exponent of d in n*(sim)/n*(theory), d = {'-'.join(str(d) for d in meas['d'][use][[0, -1]])}"
    if not (math.isfinite(delta) and math.isfinite(se)):
        checks = [Check(name, pred["exponent"], math.nan, 0.0, "threshold not reached in most bootstrap draws",
                        resolution_units="exponent of d")]
    else:
        checks = [mc_check(name, pred["exponent"], delta, se, dof, resolution_units="exponent of d")]
    if "level" in pred:
        checks.append(_level_check(pred["level"], meas))
    return checks


def _level_check(level, meas):
    """The level of n* at d = LEVEL_D, which the exponent cannot see (a constant factor in the threshold formula
    moves n* at every d alike): each seed's corr(phi, p) curve, log-linearly interpolated at the predicted n*, has
    mean RHO_THRESHOLD. Per-seed values are independent, so the tolerance is t(seeds - 1)·SE plus the
    interpolation bias bound |the predicted curve interpolated the same way at n* - the curve itself at n*| (the
    curve is concave in log n between grid points). The resolution is stated on n*: tolerance / (the chord slope of
    the interpolated predicted curve per unit log n at n*)."""
    i = int(np.nonzero(meas["d"] == level["d"])[0][0])
    per_seed = log_interp(meas["ns"][i], meas["curves"][i], level["n_star"])
    ci = mean_ci(per_seed)
    bias = abs(level["interp_bias"])
    check = mc_check(f"corr(phi, p) at the predicted n* = {level['n_star']:.0f} (d={level['d']}) = {RHO_THRESHOLD}",
                     RHO_THRESHOLD, ci.mean, ci.se, ci.n - 1, bias_bound=bias, ci=(ci.low, ci.high),
                     rule_extra="log-linear interpolation bias of the predicted curve")
    res = check.tolerance / level["slope"]
    return replace(check, resolution=res, resolution_units="",
                   resolution_note=f"relative change of n* (tolerance / chord slope {level['slope']:.3f} of corr in log n). "
                                   f"{ci.n} seeds resolve n* to {100 * res:.0f} %: the seed-mean corr has SE "
                                   f"{ci.se:.4f} (heavy-tailed seeds); 5 % needs about "
                                   f"{math.ceil(ci.n * (res / 0.05) ** 2)} seeds at d = {level['d']} (a GPU run).")


# ---------------------------------------------------------------------------------------------------------------
# Claim 4: kernels sit at the plateau, the three-layer network goes below it at the same n
# ---------------------------------------------------------------------------------------------------------------


def _predict_4(ctx):
    _, cfgs, _ = main_runs(ctx.size)
    return {c.d: th.kernel_plateau(c.target) for c in cfgs}


def _measure_4(ctx):
    fn, cfgs, seeds = main_runs(ctx.size)
    keys = ("err_plateau", "err_stage1", "err_relu_rf", "err_three_layer", "err_link_plugin")
    out = {}
    for cfg, df in zip(cfgs, ctx.sweep(fn, cfgs, seeds)):
        out[cfg.d] = {m: per_seed(df, m)[2][:, -1] for m in keys}
    fn2, cfgs2, seeds2 = two_layer_runs(ctx.size)
    same_d = out.get(cfgs2[0].d)
    three = f"{same_d['err_three_layer'].mean():.3f}" if same_d else "not run at this size"
    df2 = ctx.run(fn2, cfgs2[0], seeds2)
    two = per_seed(df2, "err_two_layer")[2][:, -1]
    out["note"] = (f"two-layer ReLU net (Adam, width {cfgs2[0].width}) at d={cfgs2[0].d}, n=32N: normalised error "
                   f"{two.mean():.3f} (plateau {th.kernel_plateau(cfgs2[0].target):.3f}, three-layer "
                   f"{three}); an empirical baseline, not a theorem. Three-layer / true-link-on-feature error: " +
                   ", ".join(f"{out[c.d]['err_three_layer'].mean():.3f}/{out[c.d]['err_link_plugin'].mean():.3f}"
                             for c in cfgs) + f" at d = {', '.join(str(c.d) for c in cfgs)}")
    return out


def _compare_4(pred, meas, ctx):
    """At n = 32N and every d >= 16, all paired with the exact P_<=k h on the same test points (``err_plateau``),
    which cancels the test set's sampling noise:

    - the exact P_<=k h's error equals theory.kernel_plateau (exact chaos weights against the pointwise
      projection on test data): t(seeds - 1)·SE;
    - the degree-<=k ridge (the kernel limit) and ReLU random features do not beat P_<=k h (the kernel lower
      bound): paired excess >= -t·SE;
    - stage 2 is at least as good as the true link on the learned feature, g(phi/c_d): paired difference <= t·SE.
      This is the powered part: a stage 2 worse by more than the margin between the two fails;
    - the three-layer net beats the plateau by more than GAIN (effect: the one-sided bound must clear it)."""
    _, cfgs, _ = main_runs(ctx.size)
    checks = []
    for cfg in cfgs:
        if cfg.d < 16:
            continue
        plateau, m, at = pred[cfg.d], meas[cfg.d], f"d={cfg.d}, n={cfg.n_over_N[-1]:g}N"
        checks.append(close_check(f"exact P_<=k h's test error = kernel plateau at d={cfg.d}", plateau,
                                  m["err_plateau"]))
        for name, key in (("degree<=k ridge (kernel limit)", "err_stage1"), ("ReLU random features", "err_relu_rf")):
            ci = mean_ci(m[key] - m["err_plateau"])
            checks.append(mc_check(f"{name} error minus P_<=k h's >= 0 at {at}", 0.0, ci.mean, ci.se, ci.n - 1,
                                   mode="above", ci=(ci.low, ci.high)))
        ci = mean_ci(m["err_three_layer"] - m["err_link_plugin"])
        checks.append(mc_check(f"three-layer error minus the true link's on the learned feature <= 0 at {at}", 0.0,
                               ci.mean, ci.se, ci.n - 1, mode="below", ci=(ci.low, ci.high)))
        checks.append(effect_check(f"three-layer net beats the plateau by > {GAIN} at {at}", GAIN,
                                   m["err_plateau"] - m["err_three_layer"]))
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
    """|corr| <= 3/sqrt(N) + t·SE (a random degree-<=k direction's correlation with p is ~1/sqrt(N); 3/sqrt(N) is
    its 3-sigma scale); corr below half the ĝ1 = 1 control (effect, one-sided t); three-layer error >= plateau -
    PLATEAU_SLACK - t·SE (a bound: no gain over the plateau beyond the slack)."""
    checks = []
    for d in pred:
        p, m = pred[d], meas[d]
        ci = mean_ci(m["corr"])
        checks.append(mc_check(f"corr(phi, p) at noise level, d={d}, n=16N (ĝ1={p['g1']:g})", p["corr"], ci.mean,
                               ci.se, ci.n - 1, mode="below", bias_bound=p["noise"],
                               rule_extra="= 3/sqrt(N), a random direction's correlation scale",
                               ci=(ci.low, ci.high)))
        if "control" in m:
            control = float(np.mean(m["control"]))
            checks.append(effect_check(f"corr(phi, p) below half the ĝ1 = 1 control's {control:.3f} at d={d}",
                                       control / 2, m["corr"], direction="below"))
        ci = mean_ci(m["err"])
        checks.append(mc_check(f"three-layer error stays at the plateau, d={d}", p["plateau"], ci.mean, ci.se,
                               ci.n - 1, mode="above", bias_bound=PLATEAU_SLACK, rule_extra="plateau slack",
                               ci=(ci.low, ci.high), resolution_note=_PLATEAU_NOTE if ctx.size != "test" else ""))
    return checks


_PLATEAU_NOTE = ("a one-sided bound (no gain over the plateau): 0.03 of stated slack plus t(7)·SE with the error's "
                 "per-seed spread 0.02-0.05 over 8 seeds; 32 seeds (t = 4.7, half the SE) would bring it to about 6 %, "
                 "4x claim 5's 7-12 s of CPU")


# ---------------------------------------------------------------------------------------------------------------
# Claim 6: WNL's experiment, k = 3, g = C_d z^3
# ---------------------------------------------------------------------------------------------------------------


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
        f"{gap.mean:+.3f} [{gap.low:+.3f}, {gap.high:+.3f}]")
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


def _compare_6(pred, meas, ctx):
    """Effects only, each passing when its one-sided bound clears the threshold (t on the seeds' dof; pooled over d
    with Welch–Satterthwaite dof): the mean over d of corr(phi, p)'s rise from the smallest to the largest n exceeds
    MIN_RISE and of the test loss's drop exceeds MIN_DROP; at the largest d and n the loss is below the exact
    degree<=3 predictor's on the same test points; n*(corr = RHO_THRESHOLD_K3) grows from the smallest to the
    largest d (log ratio > 0, SE from per-d bootstrap variances over seeds)."""
    ds = sorted(d for d in pred)
    checks = [
        pooled_mean_check(f"corr(phi, p) rises by > {pred[ds[0]]['rise']} from the smallest to the largest n (mean "
                          f"over d = {', '.join(map(str, ds))})", pred[ds[0]]["rise"],
                          [meas[d]["corr"][:, -1] - meas[d]["corr"][:, 0] for d in ds], mode="effect_above"),
        pooled_mean_check(f"test loss falls by > {pred[ds[0]]['drop']} from the smallest to the largest n (mean over "
                          "d)", pred[ds[0]]["drop"],
                          [meas[d]["err"][:, 0] - meas[d]["err"][:, -1] for d in ds], mode="effect_above"),
    ]
    m = meas[ds[-1]]
    checks.append(effect_check(f"test loss at n={m['ns'][-1]} below the exact degree<=3 predictor's on the same "
                               f"test points, d={ds[-1]}", pred[ds[-1]]["gap"], m["err"][:, -1] - m["err_plateau"],
                               direction="below"))
    lo, hi = meas[ds[0]], meas[ds[-1]]
    lr = math.log(crossing(hi["ns"], hi["corr"].mean(0), RHO_THRESHOLD_K3) /
                  crossing(lo["ns"], lo["corr"].mean(0), RHO_THRESHOLD_K3))
    var = [log_crossing_variance(r["ns"], r["corr"], RHO_THRESHOLD_K3, 20231124 + i)[0] for i, r in enumerate((lo, hi))]
    se, dof = welch([-1.0, 1.0], var, [lo["corr"].shape[0] - 1, hi["corr"].shape[0] - 1])
    name = f"transition moves right: log n*(corr={RHO_THRESHOLD_K3}) at d={ds[-1]} over d={ds[0]} (seed-mean curves)"
    if not (math.isfinite(lr) and math.isfinite(se)):
        checks.append(Check(name, pred[ds[0]]["log_ratio"], math.nan, 0.0, "threshold not reached", "effect_above"))
    else:
        checks.append(mc_check(name, pred[ds[0]]["log_ratio"], lr, se, dof, mode="effect_above"))
    return checks


CLAIMS = [
    Claim("hierarchical.1", "Stage 1's variance is the heteroscedastic sandwich S", SOURCE +
          ", Lemma 2 and Theorem 1 (stage 1); finite-n sandwich formula rebuilt in docs/hierarchical.md",
          "Ridge on the degree-<=k first layer learns phi with corr(phi, p) = rho*/sqrt(1 + S/((n-N)|beta|^2)), "
          "S = E[eps^2 K_k(x, x)]: the variance S_hat read off the measured curve (n >= 16N) equals S at the largest "
          "d and is bounded by it at smaller d (leverage damping), rejecting the homoscedastic sigma^2 N.",
          _predict_1, _measure_1, _compare_1,
          amends="The paper gives rates only (n >= d^{k+3α}); the finite-n curve with the heteroscedastic variance "
                 "S is a reconstruction, exact only as the tails thin (d -> infinity)."),
    Claim("hierarchical.2", "The stage-1 limit is P_<=k h, not p", SOURCE + ", Lemma 2 (O(d^{-1/2}) term)",
          "For even k and g with an even part (g = h1 + h2), corr(phi, p)/corr(phi, P_<=k h) equals "
          "corr(P_<=k h, p) = (1 + 4/d)^{-1/2} and corr(phi, P_<=k h) exceeds that ceiling.",
          _predict_2, _measure_2, _compare_2),
    Claim("hierarchical.3", "The sample threshold scales like the degree-k feature count",
          SOURCE + ", Theorem 1 (n ≈ d^k)",
          "n*(corr = 0.9) scales like the predicted N_k(d)(1 + A(d)/(1/rho^2 - 1)): the exponent of d in "
          "n*(sim)/n*(theory) over d = 16-48 is 0, which separates N_k(d) from d^{k-1} and d^{k+1}; at d = 48, "
          "where S is exact, the seeds' corr(phi, p) at the predicted n* is 0.9 (the level of n*).",
          _predict_3, _measure_3, _compare_3,
          amends="The paper's d^k is asymptotic; at d <= 48 the raw slope of log n* on log d is below k because "
                 "A(d) falls with d."),
    Claim("hierarchical.4", "Kernels stay at the plateau while the three-layer net goes below it",
          SOURCE + ", Sec. 1 (kernel lower bound via Ghorbani et al. 2021) and Theorem 1",
          "At n = 32N the exact P_<=k h's error is the plateau, the degree-<=k ridge and ReLU random features do "
          "not beat it, stage 2 is at least as good as the true link on the learned feature, and the layer-wise "
          "three-layer network is more than 0.2 below the plateau.",
          _predict_4, _measure_4, _compare_4),
    Claim("hierarchical.5", "With ĝ1 = 0 the mechanism fails at n ~ d^k", SOURCE + ", assumption E g'(z) = Θ(1)",
          "For g = h2 the stage-1 feature is uncorrelated with p at n = 16N and the three-layer net stays at the "
          "plateau.",
          _predict_5, _measure_5, _compare_5),
    Claim("hierarchical.6", "Paper-style experiment: k = 3, g = C_d z^3", SOURCE + ", Sec. 5, Figure 2",
          "Feature correlation rises (by > 0.1) and test loss falls (by > 0.1) with n (means over d), the loss at "
          "the largest n and d is below that of the best degree<=3 predictor on the same test points, and the "
          "transition moves right with d (report size: scaled down to d in {8, 12, 16}, n <= 64N, on the CPU; GPU "
          "size d in {16, 24, 32, 40}).",
          _predict_6, _measure_6, _compare_6,
          amends="WNL train all layers jointly with Adam (m1 = d^2, m2 = 1000, µP); the checks here use the "
                 "layer-wise algorithm with a random z^3 first layer of width 1.5N; joint Adam is reported in the "
                 "note."),
]
