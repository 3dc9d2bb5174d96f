r"""Claims of the grokking system: Tian's Li2 stages, Gromov's analytic network and Morwani's max margin, each
prediction (theory/grokking.py) against training runs (sims/grokking.py, through the store).

Qualitative statements (``groks``, ``does not grok``, ``train saturates long before test``, ``falls with eta``) are
effect checks: the one-sided suite-level confidence bound over seeds must clear a threshold whose origin each
claim's docstring states (docs/grokking.md, "Tolerance rules"); exact identities use the float rule C·n·eps. Run
sizes per ``ctx.size`` live in :func:`report_runs`, which the figures use too.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from claims.core import Check, Claim, close_check, effect_check, mc_check
from sims import grokking as sim
from theory import grokking as th
from theory.stats import float_tolerance, loglog_slope, t_for_budget

EPS64 = float(np.finfo(np.float64).eps)


# --------------------------------------------------------------------------------------------------------------------
# run sizes (figures re-create the same store keys from these)


def _seeds(n: int) -> list[int]:
    return list(range(n))


def delayed_run(size: str):
    """Claim 1, accuracy figure: one cell (the smallest eta) of the weight-decay sweep, whose every cell claim 1
    checks (:func:`weight_decay_runs`)."""
    (fn, _, _), (_, sweep, seeds) = weight_decay_runs(size)
    return fn, sweep[0], seeds


def features_run(size: str):
    """Claim 5, spectrum figure: trained past grokking so that the per-neuron clean-up has happened."""
    if size == "test":
        return sim.run, sim.Config(M=23, fraction=0.6, K=128, lr=1e-2, weight_decay=1e-3, epochs=300,
                                   log_every=50), _seeds(4)
    if size == "gpu":
        return sim.run, dataclasses.replace(sim.PRESETS["gpu"], epochs=3000), _seeds(8)
    return sim.run, sim.Config(M=41, fraction=0.5, K=512, lr=1e-3, weight_decay=1e-3, epochs=400,
                               log_every=20), _seeds(4)


def ascent_runs(size: str):
    """Claim 2, energy figure: single-neuron ascent on the full table (and one subsampled table for contrast)."""
    Ms = {"test": (13,), "report": (23, 41, 71), "gpu": (23, 41, 71, 97)}[size]
    n = {"test": 2, "report": 4, "gpu": 8}[size]
    steps = 150 if size == "test" else 300
    full = [(sim.ascent, sim.AscentConfig(M=M, steps=steps, log_every=5), _seeds(n)) for M in Ms]
    sub = (sim.ascent, sim.AscentConfig(M=Ms[0], fraction=0.3, steps=steps, log_every=5), _seeds(n))
    return full, sub


def stage1_runs(size: str):
    """Claim 3, G_F figure: Li2 Prop. 1's lazy Stage I (W frozen, V from 0) with eta > 0 and with eta = 0 at
    K >= n, and full training with eta > 0 (W moves too)."""
    if size == "test":
        pos = sim.Config(M=13, fraction=0.5, K=32, lr=3e-2, weight_decay=1e-3, epochs=300, log_every=10)
        zero = sim.Config(M=13, fraction=0.5, K=256, lr=1e-2, weight_decay=0.0, epochs=400, log_every=10)
        seeds, zero_seeds = _seeds(2), _seeds(4)
    else:
        M, K = (71, 2048) if size == "gpu" else (41, 512)
        pos = sim.Config(M=M, fraction=0.5, K=K, lr=1e-2, weight_decay=5e-4, epochs=200, log_every=10)
        zero = sim.Config(M=23, fraction=0.6, K=1024, lr=1e-2, weight_decay=0.0, epochs=500, log_every=10)
        # 32 seeds for eta = 0 (power, not slack; the threshold 0.05 is unchanged). Over 64 seeds (offsets 0-3000
        # at 16 each) the floor/peak ratio has mean ~0.032 and sd ~0.013. The one-sided suite bound is
        # mean + t(S-1)·sd/sqrt(S): at S = 16, t(15) = 5.24 gives 0.049, which sits on the threshold (offset 2000
        # failed with 0.051); at S = 32, t(31) = 4.46 gives 0.042, and the bound's own seed-to-seed sd
        # (sd/sqrt(32) = 0.0023) puts 0.05 about 3.5 sd away, so a replicate fails with probability ~3e-4 if the
        # population mean is 0.032 (and ~2 % if it were 0.035, one SE higher).
        seeds, zero_seeds = _seeds(2), _seeds(32)
    lazy = dict(log_gf=True, train_W=False, top_init=0.0)
    full = dataclasses.replace(pos, lr=1e-3, epochs=300, log_gf=True)
    return ((sim.run, dataclasses.replace(pos, **lazy), seeds), (sim.run, dataclasses.replace(zero, **lazy), zero_seeds),
            (sim.run, full, seeds))


def weight_decay_runs(size: str):
    """Claims 1 and 4, grokking-time figure: eta = 0 vs eta > 0 at large width, and t_test99 over an eta grid (the
    grid's seeds serve claim 1 too: every cell is a delayed-generalisation run)."""
    if size == "test":
        wide = sim.Config(M=23, fraction=0.6, K=512, lr=3e-3, weight_decay=1e-3, epochs=300, log_every=10)
        base = sim.Config(M=23, fraction=0.6, K=128, lr=1e-2, epochs=300, log_every=5, stop_test_acc=0.99)
        grid, n = (1e-3, 2e-3, 3e-3), 6
    elif size == "gpu":
        wide = sim.Config(M=71, fraction=0.4, K=2048, lr=1e-3, weight_decay=2e-4, epochs=1000, log_every=20)
        base = sim.Config(M=71, fraction=0.4, K=512, lr=1e-3, epochs=2000, log_every=10, stop_test_acc=0.99)
        grid, n = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3), 8
    else:
        wide = sim.Config(M=23, fraction=0.6, K=1024, lr=1e-3, weight_decay=1e-3, epochs=400, log_every=20)
        base = sim.Config(M=41, fraction=0.5, K=512, lr=1e-3, epochs=600, log_every=10, stop_test_acc=0.99)
        grid, n = (2e-4, 5e-4, 1e-3), 6
    seeds = _seeds(n)
    pair = [dataclasses.replace(wide, weight_decay=0.0), wide]
    sweep = [dataclasses.replace(base, weight_decay=wd) for wd in grid]
    return (sim.run, pair, seeds), (sim.run, sweep, seeds)


def phase_runs(size: str):
    """Claim 6, phase-diagram figure: training fraction (in units of the code's p_c) x M, one config each."""
    if size == "test":
        Ms, ratios, epochs, n, K, lr, wd = (23,), (0.5, 1.6), 300, 4, 128, 1e-2, 1e-3
    elif size == "gpu":
        Ms, ratios, epochs, n, K, lr, wd = (23, 41, 71, 97, 127), (0.5, 0.75, 1.0, 1.25, 1.5, 2.0), 3000, 8, 512, \
            1e-3, 2e-4
    else:
        Ms, ratios, epochs, n, K, lr, wd = (17, 23, 31, 41), (0.5, 1.5), 1200, 5, 512, 1e-3, 2e-4
    configs = [sim.Config(M=M, fraction=round(r * th.critical_fraction(M), 4), K=K, lr=lr, weight_decay=wd,
                          epochs=epochs, log_every=50, stop_test_acc=0.99) for M in Ms for r in ratios]
    return sim.run, configs, _seeds(n), Ms, ratios


def analytic_run(size: str):
    """Claim 7: the phase-grid network over odd p, and Gromov's random-phase network over width."""
    if size == "test":
        return sim.analytic, sim.AnalyticConfig(grid_p=(3, 5, 9), random_p=(23,)), _seeds(3)
    grid_p = (3, 5, 7, 9, 15, 21, 23, 41, 97)
    return sim.analytic, sim.AnalyticConfig(grid_p=grid_p, random_p=(23, 71)), _seeds(10 if size == "report" else 40)


def report_runs(size: str = "report") -> list[tuple]:
    """Every (fn, config, seeds) the claims at ``size`` run, in order (for figures and cache warming)."""
    runs = [delayed_run(size), features_run(size)]
    full, sub = ascent_runs(size)
    runs += full + [sub]
    runs += list(stage1_runs(size))
    for fn, configs, seeds in weight_decay_runs(size):
        runs += [(fn, c, seeds) for c in configs]
    fn, configs, seeds, _, _ = phase_runs(size)
    runs += [(fn, c, seeds) for c in configs]
    runs.append(analytic_run(size))
    return runs


# --------------------------------------------------------------------------------------------------------------------
# table helpers


def curve(df, metric: str):
    """(steps, values (n_seeds, n_steps)) of one logged metric."""
    sub = df[df.metric == metric].pivot(index="seed", columns="step", values="value").sort_index(axis=1)
    return sub.columns.to_numpy(), sub.to_numpy()


def first_step(df, metric: str, threshold: float) -> np.ndarray:
    """Per seed: first logged step with metric >= threshold (inf if never)."""
    steps, values = curve(df, metric)
    hit = values >= threshold
    return np.where(hit.any(axis=1), steps[np.argmax(hit, axis=1)], np.inf)


def final(df, metric: str) -> np.ndarray:
    steps, values = curve(df, metric)
    return values[:, -1]


MEMORISED, GENERALISED = 0.1, 0.9
"""Effect thresholds on test accuracy (claims 1, 4, 6): ``does not generalise`` means the one-sided upper bound of
the mean test accuracy over seeds is below 0.1 (a few times chance, 1/M = 0.02-0.06 here), ``generalises`` that its
lower bound is above 0.9; the two end states 0 and 1 each with the same 0.1 margin. The timing criterion stays
99 % test accuracy (t_test99, as Power et al. and Li2 Fig. 3); 0.99 itself cannot be an effect threshold because
accuracy is capped at 1 and the runs stop at 0.99."""


def _effect(name: str, threshold: float, samples, direction: str, rule: str) -> Check:
    """:func:`claims.core.effect_check` over seeds; a sample that is not finite (a run that never reached 99 %)
    fails the check instead of raising."""
    x = np.asarray(samples, dtype=np.float64)
    if not np.isfinite(x).all():
        return Check(name, threshold, math.inf if direction == "above" else -math.inf, 0.0,
                     rule + "; a seed never reached its criterion", f"effect_{direction}")
    return effect_check(name, threshold, x, direction=direction, rule_extra="; " + rule)


# --------------------------------------------------------------------------------------------------------------------
# 1. delayed generalisation


DELAY_RATIO = 2.0
"""Claim 1: ``train saturates long before test`` read as t_test99 >= 2 t_train99 (the wait after memorisation at least
as long as memorisation itself), stated before any run; checked on log(t_test99 / t_train99) > log 2."""


def _predict_delayed(ctx):
    return {"log_ratio_min": math.log(DELAY_RATIO), "test_at_train99_max": MEMORISED, "final_test_min": GENERALISED}


def _measure_delayed(ctx):
    _, (fn, sweep, seeds) = weight_decay_runs(ctx.size)
    dfs = ctx.sweep(fn, sweep, seeds, desc="grokking weight decay")
    t_train = np.stack([first_step(df, "train_acc", 0.99) for df in dfs])  # (n_eta, n_seeds)
    t_test = np.stack([first_step(df, "test_acc", 0.99) for df in dfs])
    at_train = []
    for df, tt in zip(dfs, t_train):
        steps, test = curve(df, "test_acc")
        at_train.append([test[s, np.searchsorted(steps, t)] if np.isfinite(t) else np.inf for s, t in enumerate(tt)])
    at_train = np.array(at_train)
    final_test = np.stack([final(df, "test_acc") for df in dfs])
    eta = [c.weight_decay for c in sweep]
    return {"log_ratio": np.log(t_test / t_train).mean(axis=0), "test_at_train99": at_train.mean(axis=0),
            "final_test": final_test.mean(axis=0),
            "note": f"M={sweep[0].M}, p={sweep[0].fraction}, K={sweep[0].K}, {len(seeds)} seeds at each eta in {eta}: "
                    f"train 99 % at epochs {t_train.tolist()}, test 99 % at {t_test.tolist()} (rows: eta); per seed "
                    f"the mean over eta of t_test99/t_train99 is "
                    f"{np.round(np.exp(np.log(t_test / t_train).mean(axis=0)), 2).tolist()} (geometric); test "
                    f"accuracy when train first hit 99 %: {np.round(at_train, 3).tolist()}."}


def _compare_delayed(pred, meas, ctx):
    """Every cell of the weight-decay sweep is a delayed-generalisation run; per seed the three quantities are
    averaged over the eta grid (seeds are independent, cells of one seed are not), then the one-sided suite bound
    over seeds must clear the threshold: :data:`DELAY_RATIO`, :data:`MEMORISED`, :data:`GENERALISED`."""
    return [
        _effect("mean over eta of log(t_test99 / t_train99) > log 2 (train saturates long before test)",
                pred["log_ratio_min"], meas["log_ratio"], "above", "threshold: t_test99 >= 2 t_train99"),
        _effect("mean over eta of test accuracy when train first reaches 99 % < 0.1 (memorised, not generalised)",
                pred["test_at_train99_max"], meas["test_at_train99"], "below",
                "threshold: a few times chance, far from 1"),
        _effect("mean over eta of final test accuracy > 0.9 (it groks within the budget)", pred["final_test_min"],
                meas["final_test"], "above", "threshold: 1 minus the same 0.1 margin"),
    ]


# --------------------------------------------------------------------------------------------------------------------
# 2. energy landscape


def _predict_energy(ctx):
    full, _ = ascent_runs(ctx.size)
    out = {}
    for _, config, _ in full:
        M = config.M
        w = th.character_neuron(M, 1, 0.3, 1.1)
        out[M] = {"E_over_M": float(th.energy_dft(w, M)) / M, "paper_E_over_M": th.energy_max_paper(M) / M,
                  "grad_R": 0.0, "hess_top": 0.0,
                  "theory_grad_R": float(max(np.abs(th.riemannian_grad(th.character_neuron(M, k, 0.7, -0.4), M)).max()
                                             for k in range(1, (M - 1) // 2 + 1)))}
    return out


def _measure_energy(ctx):
    full, sub = ascent_runs(ctx.size)
    out = {}
    for fn, config, seeds in full:
        df = ctx.run(fn, config, seeds)
        out[config.M] = {"E_over_M": final(df, "energy_over_M"), "top_share": final(df, "top_share"),
                         "grad_norm": final(df, "grad_norm"), "hess_top1": final(df, "hess_top1"),
                         "hess_top2": final(df, "hess_top2")}
    fn, config, seeds = sub
    df = ctx.run(fn, config, seeds)
    share, energy = final(df, "top_share"), final(df, "energy_over_M")
    out["note"] = (f"Ascent on the full table ends on one frequency with E/M = 1/4 (the paper's Cor. 2 says 1/16: its "
                   f"proof drops the factor 2 of the cross term). On a {config.fraction:.0%} subsample at "
                   f"M={config.M} the same ascent ends at top-frequency share {share.mean():.2f} (not Fourier) with "
                   f"E/M = {energy.mean():.3f}, as Li2 §3 expects for subsampled tables.")
    return out


def _compare_energy(pred, meas, ctx):
    checks = []
    for M, p in pred.items():
        m = meas[M]
        tol = float_tolerance(EPS64, M * M, c=100.0)
        rule = "100·n·eps, n = M² table rows (float64 sums)"
        checks += [
            Check(f"M={M}: E/M at the ascent's end vs corrected E*/M = 1/4", p["E_over_M"], float(m["E_over_M"].mean()),
                  tol, rule),
            Check(f"M={M}: E/M at the ascent's end vs the paper's M/16 (Cor. 2)", p["paper_E_over_M"],
                  float(m["E_over_M"].mean()), tol, rule + "; the data reject the paper's constant", "differs"),
            Check(f"M={M}: min top-frequency share of the end points (single frequency)", 1.0,
                  float(m["top_share"].min()), 1e-6, "1e-6: converged ascent, float64", "above"),
            Check(f"M={M}: max Riemannian gradient norm / M at the end (critical point)", p["grad_R"],
                  float(m["grad_norm"].max()) / M, tol, rule, "below"),
            Check(f"M={M}: top tangent Hessian eigenvalue / M (a flat local maximum, Cor. 1)", p["hess_top"],
                  float(np.abs(m["hess_top1"]).max()), tol, rule),
            Check(f"M={M}: theory: max Riemannian gradient over all single-frequency neurons", 0.0,
                  p["theory_grad_R"], float_tolerance(EPS64, M * M, c=100.0) * M, rule + " x M (gradient scale)",
                  "below"),
        ]
    return checks


# --------------------------------------------------------------------------------------------------------------------
# 3. Stage I: G_F


ADAM_LAG = 0.02
"""Claim 3, lazy eta > 0: allowance for the gap between Adam's end point and the ridge fixed point, on the norm
ratio and on the cosine (absolute). Adam at constant lr ends in an O(lr) neighbourhood of the convex V problem's
minimiser; 0.02 was stated with the first version of the claim, before any run, and is unchanged."""
VANISH = 0.05
"""Claim 3, eta = 0: ``vanishes`` read as a >= 20x drop of ||G_F|| from its peak (the first version's stated rule,
restored): the one-sided upper bound of the mean floor/peak ratio over seeds must lie below it."""


def _predict_stage1(ctx):
    """Li2 Eq. 4 from theory: per seed the frozen F and class-centred Y of the lazy run (the simulator's
    :func:`sims.grokking.stage1_inputs`) into :func:`theory.grokking.gf_fixed_point` with eta_eff = n eta / 2."""
    (_, pos, seeds), _, _ = stage1_runs(ctx.size)
    F, Y = sim.stage1_inputs(pos, ctx.shifted(seeds), device=ctx.torch_device, dtype=ctx.torch_dtype)
    norm, cos = [], []
    for f, y in zip(F, Y):
        G = th.gf_fixed_point(f, y, pos.eta_eff)
        yyf = y @ (y.T @ f)
        norm.append(np.linalg.norm(G))
        cos.append(float((G * yyf).sum() / (np.linalg.norm(G) * np.linalg.norm(yyf))))
    return {"gf_star_norm": np.array(norm), "gf_star_cos": np.array(cos), "vanish": VANISH, "full_ratio": 1.0}


def _measure_stage1(ctx):
    (fn, pos, seeds), (_, zero, zero_seeds), (_, full, _) = stage1_runs(ctx.size)
    df_pos, df_zero, df_full = ctx.run(fn, pos, seeds), ctx.run(fn, zero, zero_seeds), ctx.run(fn, full, seeds)
    _, gf0 = curve(df_zero, "gf_norm")
    vanish = np.median(gf0[:, -10:], axis=1) / gf0.max(axis=1)
    ratio_full = final(df_full, "gf_norm") / final(df_full, "gf_star_norm")
    return {"gf_norm": final(df_pos, "gf_norm"), "gf_cos": final(df_pos, "gf_cos"), "vanish": vanish,
            "ratio_full": ratio_full,
            "note": f"Lazy Stage I (W frozen, V(0)=0), eta={pos.weight_decay} "
                    f"(eta_eff = n·eta/2 = {pos.eta_eff:.3g}), K={pos.K} < n={pos.n_train}, {pos.epochs} epochs: "
                    f"||G_F|| = {np.round(final(df_pos, 'gf_norm'), 4).tolist()}, cosine with YYᵀF "
                    f"{np.round(final(df_pos, 'gf_cos'), 4).tolist()} (Lemma 1's structure, < 1 at finite K). "
                    f"eta=0, K={zero.K} >= n={zero.n_train}, lr {zero.lr:g}: median of the last 10 logged ||G_F|| / "
                    f"peak = {np.round(vanish, 4).tolist()} (single logs reach "
                    f"{np.round(gf0[:, -10:].max(axis=1) / gf0.max(axis=1), 3).tolist()}). Full training (W moves): "
                    f"||G_F|| / ||Eq. 4 at the current F|| = {np.round(ratio_full, 3).tolist()} at epoch "
                    f"{full.epochs}."}


def _compare_stage1(pred, meas, ctx):
    """Lazy eta > 0: the worst seed's ||G_F|| / ||Eq. 4|| and the worst seed's cosine with YYᵀF against theory's,
    within :data:`ADAM_LAG` (a deterministic optimisation gap, not a Monte-Carlo error: no SE). Eta = 0: the mean
    floor/peak ratio over seeds, effect below :data:`VANISH` (32 seeds: at 16 the replicate with offset 2000 failed,
    bound 0.051, as the population mean ~0.032 sat within one margin of 0.05; see stage1_runs and docs/grokking.md
    "Replicates"). Full
    training is context: V lags its ridge solution while W moves (0.2 stated with the first version)."""
    ratio = meas["gf_norm"] / pred["gf_star_norm"]
    worst = int(np.argmax(np.abs(ratio - 1)))
    dcos = meas["gf_cos"] - pred["gf_star_cos"]
    worst_cos = int(np.argmax(np.abs(dcos)))
    lag = f"{ADAM_LAG}: Adam at constant lr ends in an O(lr) neighbourhood of the convex V problem's minimiser"
    full = meas["ratio_full"]
    worst_full = int(np.argmax(np.abs(full - 1)))
    return [
        Check("lazy, eta > 0: worst seed's ||G_F|| / ||Eq. 4 (theory)||", 1.0, float(ratio[worst]), ADAM_LAG, lag),
        Check("lazy, eta > 0: worst seed's cos(G_F, YYᵀF) vs cos(Eq. 4 (theory), YYᵀF)",
              float(pred["gf_star_cos"][worst_cos]), float(meas["gf_cos"][worst_cos]), ADAM_LAG, lag + " (absolute)"),
        _effect("lazy, eta = 0, K >= n: mean over seeds of median(last 10 logged ||G_F||) / peak < 0.05 (vanishes)",
                pred["vanish"], meas["vanish"], "below", "threshold: a >= 20x drop from the peak; median of the last "
                "10 logs because constant-lr Adam leaves spikes"),
        Check("full training, eta > 0: worst seed's ||G_F|| / ||Eq. 4 at the current F||", pred["full_ratio"],
              float(full[worst_full]), 0.2, "0.2: V lags its ridge solution while W moves (stated, not fitted)",
              role="context"),
    ]


# --------------------------------------------------------------------------------------------------------------------
# 4. weight decay


def _predict_wd(ctx):
    gammas = np.array([1e-4, 1e-3, 1e-2])
    omnigrok = loglog_slope(gammas, th.omnigrok_time(gammas)).slope
    return {"test_no_wd_max": MEMORISED, "test_wd_min": GENERALISED, "falls": 0.0, "omnigrok_exponent": omnigrok}


def _slope_fit(eta, t):
    """Log-log least-squares slope of t_test99 on eta over every (eta, seed) point that reached 99 %, its SE and
    dof = points - 2."""
    x = np.repeat(eta[:, None], t.shape[1], axis=1).ravel()
    y = t.ravel()
    ok = np.isfinite(y)
    if ok.sum() < 3:
        return math.nan, math.nan, 0
    fit = loglog_slope(x[ok], y[ok])
    return fit.slope, fit.se, int(ok.sum()) - 2


def _measure_wd(ctx):
    (fn, pair, seeds), (_, sweep, _) = weight_decay_runs(ctx.size)
    df0, df1 = ctx.sweep(fn, pair, seeds, desc="grokking eta=0 vs eta>0")
    dfs = ctx.sweep(fn, sweep, seeds, desc="grokking weight decay")
    t = np.stack([first_step(df, "test_acc", 0.99) for df in dfs])  # (n_wd, n_seeds)
    eta = np.array([c.weight_decay for c in sweep])
    slope, se, dof = _slope_fit(eta, t)
    half = t_for_budget(dof, sides=2) * se if dof >= 1 else math.nan
    return {"test_no_wd": final(df0, "test_acc"), "test_wd": final(df1, "test_acc"), "t": t, "eta": eta,
            "slope": slope, "slope_se": se, "slope_dof": dof,
            "note": f"K={pair[0].K}, M={pair[0].M}, p={pair[0].fraction}: final test accuracy "
                    f"{np.round(final(df0, 'test_acc'), 3).tolist()} at eta=0 vs "
                    f"{np.round(final(df1, 'test_acc'), 3).tolist()} at eta={pair[1].weight_decay} after "
                    f"{pair[0].epochs} epochs (train {np.round(final(df0, 'train_acc'), 3).tolist()} at eta=0). "
                    f"t_test99 over eta={eta.tolist()} at M={sweep[0].M}, K={sweep[0].K}, {len(seeds)} seeds: mean "
                    f"{np.round(t.mean(axis=1), 1).tolist()}; log-log exponent {slope:.3f} ± {se:.3f} (SE, {dof} "
                    f"dof), suite-level two-sided interval [{slope - half:.2f}, {slope + half:.2f}]; Omnigrok's "
                    "gradient-flow t ∝ 1/eta would be -1."}


def _compare_wd(pred, meas, ctx):
    """Effects over seeds against :data:`MEMORISED` / :data:`GENERALISED`; the exponent of t_test99 in eta from one
    log-log fit over all (eta, seed) points, one-sided suite-level t on its dof: below 0 (falls with eta) and above
    Omnigrok's -1 (theory.grokking.omnigrok_time: t = ln(w0/wc)/eta), i.e. its interval excludes -1."""
    slope, se, dof = meas["slope"], meas["slope_se"], meas["slope_dof"]
    rule = "threshold: a few times chance / 1 minus the same margin"
    checks = [
        _effect("mean final test accuracy at eta = 0, large K < 0.1 (no grokking)", pred["test_no_wd_max"],
                meas["test_no_wd"], "below", rule),
        _effect("mean final test accuracy at eta > 0, same run otherwise > 0.9 (groks)", pred["test_wd_min"],
                meas["test_wd"], "above", rule),
    ]
    if dof >= 1 and math.isfinite(se):
        checks += [
            mc_check("log-log exponent of t_test99 in eta < 0 (falls with eta)", pred["falls"], slope, se, dof,
                     mode="effect_below", resolution_units="exponent"),
            mc_check("log-log exponent of t_test99 in eta > Omnigrok's (slower than 1/eta)",
                     pred["omnigrok_exponent"], slope, se, dof, mode="effect_above", resolution_units="exponent"),
        ]
    else:
        checks.append(Check("log-log exponent of t_test99 in eta (fit)", pred["falls"], math.nan, 0.0,
                            "fewer than 3 runs reached 99 %", "effect_below"))
    return checks


# --------------------------------------------------------------------------------------------------------------------
# 5. learned features


PHASE_SLACK = 0.02
"""Claim 5: allowance below Gromov's coherence 1 for a network trained for finitely many epochs (stated before the
report-size run, from the test-size runs; docs/grokking.md, "Tolerance rules")."""


def _predict_features(ctx):
    """Theory's values for a network of single-frequency neurons obeying phi3 = phi1 + phi2: the phase-grid analytic
    network (Gromov Eq. 6, Morwani Thm 7) run through the same bookkeeping as the trained one."""
    fn, config, seeds = features_run(ctx.size)
    m = (config.M - 1) // 2
    W_in, W_out = th.phase_grid_network(config.M, 3)
    return {"coherence": th.phase_alignment(W_in, W_out, config.M)["coherence"],
            "share": th.neuron_frequency_shares(W_in, config.M)["weighted_share"],
            "spectrum_low": 0.5 / m, "spectrum_high": 2.0 / m}


def _measure_features(ctx):
    fn, config, seeds = features_run(ctx.size)
    df = ctx.run(fn, config, seeds)
    steps, share = curve(df, "fourier_share")
    _, coherence = curve(df, "phase_coherence")
    spec = df[df.metric.str.startswith("spectrum_")]
    spectrum = spec.pivot(index="seed", columns="metric", values="value").to_numpy()
    m = spectrum.shape[1]
    top5 = np.sort(spectrum, axis=1)[:, -5:].sum(axis=1)
    return {"share": share[:, -1], "coherence": coherence[:, -1], "spectrum_min": spectrum.min(axis=1),
            "spectrum_max": spectrum.max(axis=1), "top5": top5,
            "note": f"M={config.M}, {len(seeds)} seeds: weighted per-neuron top-frequency share "
                    f"{np.round(share[:, 0], 3).tolist()} at init -> {np.round(share[:, -1], 4).tolist()} at epoch "
                    f"{steps[-1]}; phase coherence (Gromov's phi3 = phi1 + phi2) {np.round(coherence[:, 1], 3).tolist()}"
                    f" at epoch {steps[1]} -> {np.round(coherence[:, -1], 4).tolist()}; aggregate spectrum per "
                    f"frequency in [{spectrum.min():.4f}, {spectrum.max():.4f}] (uniform 1/m = {1 / m:.4f}); the "
                    f"top 5 of {m} frequencies hold {np.round(top5, 3).tolist()} of the power (5/m = {5 / m:.3f}): "
                    "per-neuron sparsity, no few key frequencies."}


def _compare_features(pred, meas, ctx):
    """The trained network against theory's analytic network: phase coherence and per-neuron share, each a mean over
    seeds within t(S-1)·SE + :data:`PHASE_SLACK` of the analytic value (1); every frequency's share of the aggregate
    power within a factor 2 of uniform (Li2 Thm 3 / Morwani Thm 7: every frequency used, none preferred; the factor 2
    was stated before any run)."""
    rule = "factor-2 band around uniform 1/m (every frequency used, no key frequencies)"
    finite = "(finitely many epochs; stated)"
    return [
        close_check("phase coherence of the trained net vs the analytic net (phi3 = phi1 + phi2)",
                    pred["coherence"], meas["coherence"], bias_bound=PHASE_SLACK, rule_extra=finite),
        close_check("weighted per-neuron top-frequency share vs the analytic net (one frequency per neuron)",
                    pred["share"], meas["share"], bias_bound=PHASE_SLACK, rule_extra=finite),
        Check("min aggregate power share of any frequency (all used)", pred["spectrum_low"],
              float(meas["spectrum_min"].min()), 0.0, rule, "above", resolution=0.5, resolution_units="x 1/m"),
        Check("max aggregate power share of any frequency (no key frequencies)", pred["spectrum_high"],
              float(meas["spectrum_max"].max()), 0.0, rule, "below", resolution=1.0, resolution_units="x 1/m"),
    ]


# --------------------------------------------------------------------------------------------------------------------
# 6. sample size


def _predict_phase(ctx):
    _, configs, _, Ms, ratios = phase_runs(ctx.size)
    return {"fail_max": MEMORISED, "succeed_min": GENERALISED, "p_c": {M: th.critical_fraction(M) for M in Ms}}


def _measure_phase(ctx):
    fn, configs, seeds, Ms, ratios = phase_runs(ctx.size)
    dfs = ctx.sweep(fn, configs, seeds, desc="grokking phase diagram")
    acc = {(c.M, r): final(df, "test_acc") for c, df, r in zip(configs, dfs, [r for _ in Ms for r in ratios])}
    grid = "; ".join(f"M={M}: " + ", ".join(f"{r}p_c→{acc[(M, r)].mean():.2f}" for r in ratios) for M in Ms)
    return {"acc": acc, "Ms": Ms, "ratios": ratios,
            "note": f"final test accuracy (budget {configs[0].epochs} epochs, stop at 99 %), p_c = 2.7482 ln M / M: "
                    + grid}


def _compare_phase(pred, meas, ctx):
    """Per M: at p <= 0.75 p_c the mean final test accuracy over seeds is effect-below :data:`MEMORISED`, at
    p >= 1.5 p_c effect-above :data:`GENERALISED` (one-sided suite bound over seeds); the band (0.75, 1.5) p_c is
    not checked (p_c = 2.7482 ln M / M is the reference code's fit, Li2 Thm 4 gives no constant)."""
    checks = []
    rule = "threshold: a few times chance / 1 minus the same margin"
    for M in meas["Ms"]:
        for r in meas["ratios"]:
            if r <= 0.75:
                checks.append(_effect(f"M={M}: mean test accuracy at p = {r:g} p_c < 0.1 (memorises)",
                                      pred["fail_max"], meas["acc"][(M, r)], "below", rule))
            elif r >= 1.5:
                checks.append(_effect(f"M={M}: mean test accuracy at p = {r:g} p_c > 0.9 (generalises)",
                                      pred["succeed_min"], meas["acc"][(M, r)], "above", rule))
    return checks


# --------------------------------------------------------------------------------------------------------------------
# 7. Gromov / Morwani


def _predict_analytic(ctx):
    fn, config, seeds = analytic_run(ctx.size)
    return {"grid_acc": 1.0, "margin_ratio": 1.0,
            "gamma_star": {p: th.morwani_max_margin(p) for p in config.grid_p},
            "j2_acc": {p: th.network_accuracy(*th.phase_grid_network(p, 2), p) for p in config.grid_p[-1:]}}


def _measure_analytic(ctx):
    fn, config, seeds = analytic_run(ctx.size)
    df = ctx.run(fn, config, seeds)
    val = lambda name: df[df.metric == name].value.to_numpy()  # noqa: E731
    random = {(p, r): val(f"random_acc_p{p}_N{r:g}") for p in config.random_p for r in config.width_ratios}
    return {"grid_acc": {p: val(f"grid_acc_p{p}") for p in config.grid_p},
            "margin_ratio": {p: val(f"grid_margin_ratio_p{p}") for p in config.grid_p}, "random": random,
            "config": config,
            "note": "random-phase mean accuracy over " + str(len(seeds)) + " draws: " + "; ".join(
                f"p={p}: " + ", ".join(f"N={r:g}p→{random[(p, r)].mean():.3f}" for r in config.width_ratios)
                for p in config.random_p)}


def _compare_analytic(pred, meas, ctx):
    config = meas["config"]
    checks = []
    for p in config.grid_p:
        tol = float_tolerance(EPS64, p ** 3, c=100.0)
        checks.append(Check(f"p={p}: phase-grid (J={config.J}) accuracy on all p² pairs", pred["grid_acc"],
                            float(meas["grid_acc"][p].min()), 0.0, "exact: every pair correct", "close"))
        checks.append(Check(f"p={p}: normalised L_(2,3) margin / Morwani's gamma*", pred["margin_ratio"],
                            float(meas["margin_ratio"][p].mean()), tol, "100·n·eps, n = p³ logit terms"))
    p0 = config.grid_p[-1]
    checks.append(Check(f"p={p0}: J=2 negative control accuracy (< 1: the grid needs J >= 3)", 1.0,
                        pred["j2_acc"][p0], 0.0, "exact", "differs"))
    for p in config.random_p:
        means = np.array([meas["random"][(p, r)].mean() for r in config.width_ratios])
        checks.append(Check(f"p={p}: random phases, accuracy at N = {config.width_ratios[0]:g}p (width needed)", 1.0,
                            float(means[0]), 0.0, "exact: < 1 means not yet correct", "differs"))
        checks.append(Check(f"p={p}: random phases, mean accuracy at N = {config.width_ratios[-1]:g}p", 1.0,
                            float(means[-1]), 1e-3, "docs/grokking.md random-phase table: 1.0 at 8p for p >= 23 (5 draws); 1e-3 slack",
                            "above"))
        checks.append(Check(f"p={p}: random phases, min increase of mean accuracy with N (grows with width)", 0.0,
                            float(np.min(np.diff(means))), 1e-3, "monotone up to 1e-3 Monte-Carlo slack", "above"))
    return checks


# --------------------------------------------------------------------------------------------------------------------

CLAIMS = [
    Claim("grokking.1", "Delayed generalisation", "Tian arXiv 2509.21519 Fig. 3; Power et al. arXiv 2201.02177 Fig. 1",
          "Full-batch Adam with weight decay on part of the Z_M addition table (M=41, 50 % at report size; M=71, 40 % "
          "at GPU size) reaches 99 % train accuracy long before test accuracy jumps to 99 %.", _predict_delayed, _measure_delayed, _compare_delayed),
    Claim("grokking.2", "Energy landscape: Fourier maxima with E* = M/4", "Tian arXiv 2509.21519 Thm 1-2, Cor. 1-2",
          "Riemannian ascent of E(w) = ½||Y~ᵀσ(Xw)||² on the unit sphere over the full table ends on a single "
          "frequency with E = M/4, a critical point whose Hessian has a flat direction.",
          _predict_energy, _measure_energy, _compare_energy,
          amends="Cor. 2 states E* = M/16 (M/8 for k = M/2); the proof drops the factor 2 of the cross term, so the "
                 "value is M/4 (M/2); the data reject M/16."),
    Claim("grokking.3", "Stage I: G_F at the Eq.-4 fixed point", "Tian arXiv 2509.21519 Prop. 1 / Eq. 4, App. C",
          "With weight decay > 0 the backpropagated gradient G_F settles at the ridge fixed point "
          "eta(FFᵀ+eta I)⁻¹YYᵀF(FᵀF+eta I)⁻¹; with weight decay 0 at K >= n it vanishes.",
          _predict_stage1, _measure_stage1, _compare_stage1,
          amends="checked in the code's units: class-centred Y, uncentred F, eta_eff = n·eta/2 (mean loss, "
                 "coupled L2)."),
    Claim("grokking.4", "Weight decay: needed at large width, faster when larger",
          "Tian arXiv 2509.21519 Lemma 1, §7; Liu et al. (Omnigrok) arXiv 2210.01117",
          "At K >= 1024 without weight decay the network memorises but does not generalise, and with weight decay "
          "the time to 99 % test accuracy decreases with eta, as a power law whose exponent differs from Omnigrok's "
          "-1.", _predict_wd, _measure_wd, _compare_wd),
    Claim("grokking.5", "Learned features: one frequency per neuron, every frequency used",
          "Tian arXiv 2509.21519 Thm 3; Gromov arXiv 2301.02679 Eq. 12; Morwani et al. arXiv 2311.07568 Thm 7",
          "After grokking each neuron concentrates on one frequency with output phase phi3 = phi1 + phi2, as in the "
          "analytic max-margin network, while the aggregate spectrum stays near uniform (no few key frequencies).",
          _predict_features, _measure_features, _compare_features),
    Claim("grokking.6", "Sample size: boundary at p ~ M⁻¹ log M", "Tian arXiv 2509.21519 Thm 4, Fig. 5",
          "In units of p_c = 2.7482 ln M / M the generalisation boundary sits at the same place for every M: "
          "memorisation below 0.75 p_c, generalisation above 1.5 p_c.", _predict_phase, _measure_phase,
          _compare_phase),
    Claim("grokking.7", "Gromov's analytic network attains Morwani's max margin",
          "Gromov arXiv 2301.02679 Eqs. 6-13; Morwani et al. arXiv 2311.07568 Thm 7",
          "The phase-grid network is exactly correct for every odd p with normalised margin √(2/27)/(√p(p−1)), "
          "and the random-phase construction needs width growing to a few p.",
          _predict_analytic, _measure_analytic, _compare_analytic),
]
