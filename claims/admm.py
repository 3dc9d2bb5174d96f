r"""Claims of the ``admm`` system: noise-robust ADMM federated WLS (Lari, Arablouei, Gogineni, Werner 2024).

Every Monte-Carlo measurement goes through ``ctx.run`` / ``ctx.sweep`` (cached in the store); predictions come from
theory/admm.py (exact recursions in float64). The run lists (``*_runs(size)``) are plain functions so the figures
re-create exactly the same store keys.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from claims.core import Check, Claim, close_check, mc_check
from sims import admm as sim
from sims import runtime
from theory import admm as th
from theory.stats import N_MC_CHECKS, float_tolerance, mean_ci, t_for_budget

SOURCE = "Lari, Arablouei, Gogineni, Werner, arXiv:2409.13451 (2024)"
EPS = float(np.finfo(np.float64).eps)


def _seeds(n, root=0):
    return runtime.seed_list(n, root)


def _pivot(df, metric):
    sub = df[df.metric == metric]
    return sub.pivot(index="seed", columns="step", values="value")


def _scalar(df, metric):
    return df[df.metric == metric].sort_values("seed")["value"].to_numpy()


def _errs(df, kind, L):
    return np.stack([_scalar(df, f"{kind}_err_{j}") for j in range(L)], axis=1)


# ------------------------------------------------------------------------------------------ 1. identities
def identity_runs(size):
    """[(fn, config, seeds)] of claim admm.1: noise-free, full participation, one dataset per seed, several rho."""
    if size == "test":
        rhos, n_seeds = ((1.0, 1500), (100.0, 600)), 3
    else:
        rhos, n_seeds = ((0.3, 6000), (1.0, 2000), (10.0, 600), (100.0, 1000)), 5 if size == "report" else 20
    return [(sim.run_identities, sim.IdentityConfig(rho=r, n_iter=T), _seeds(n_seeds)) for r, T in rhos]


def _p1(ctx):
    return {"zero": 0.0}


def _m1(ctx):
    out = []
    for fn, cfg, seeds in identity_runs(ctx.size):
        df = ctx.run(fn, cfg, seeds)
        row = {m: _scalar(df, m) for m in ("max_diff_admm_dual_free", "max_diff_rerce_continual",
                                           "invariant_rel_residual", "final_rel_err", "cond_H", "tau")}
        out.append({"rho": cfg.rho, "n_iter": cfg.n_iter, **{k: v.tolist() for k, v in row.items()}})
    worst = max(max(r["max_diff_admm_dual_free"]) for r in out)
    return {"runs": out, "note": f"largest ADMM vs dual-free gap {worst:.2e} (relative, max over n, k, seeds, "
                                 f"rho in {[r['rho'] for r in out]}); rank-deficient clients (d_k from 3 < L=6)"}


def _c1(pred, meas, ctx):
    checks = []
    for r in meas["runs"]:
        T, cond, tau = r["n_iter"], max(r["cond_H"]), max(r["tau"])
        tol = float_tolerance(EPS, T, cond)
        rule = f"10·n·eps·cond(H), n={T}, cond={cond:.3g}"
        for m, label in (("max_diff_admm_dual_free", "ADMM (4.5)-(4.6) == dual-free (4.10)"),
                         ("max_diff_rerce_continual", "RERCE(C=K) == continual(C=K)"),
                         ("invariant_rel_residual", "invariant Q_n = sum_k q_k")):
            checks.append(Check(f"rho={r['rho']}: {label}", pred["zero"], max(r[m]), tol, rule))
        conv = 1e-8 + 10 * math.exp(-T / tau)
        checks.append(Check(f"rho={r['rho']}: max_k ||w_k,T - w*|| / ||w*||", pred["zero"], max(r["final_rel_err"]),
                            conv, f"1e-8 (docs/admm.md property P1) + 10·exp(-T/tau), tau={tau:.0f} mixing time "
                                  "of F_bar"))
    return checks


# ------------------------------------------------------------------------------------------ 2. mean and bias
def mean_runs(size):
    """Claim admm.2: W = I, K = 6, L = 6, C = 3, rho = 10 (bias visible, tau ~ 25), literal and corrected init."""
    n_seeds = {"test": 1000, "report": 8000, "gpu": 20000}[size]
    T = 150 if size == "test" else 250
    base = replace(sim.SMALL, rho=10.0, n_iter=T, window=0, record_mean=True, n_record=20)
    return [(sim.run, replace(base, init=init), _seeds(n_seeds)) for init in ("literal", "corrected")]


def _mean_pred(cfg):
    data = sim.problem(cfg)
    ex = th.exact_moments(data["R"], data["q"], cfg.rho, cfg.C, cfg.sigma2_zeta, cfg.sigma2_eta, 0, init=cfg.init)
    sch = ex["scheme"]
    m0 = th.initial_moments(th.local_w_hat(data["R"], data["q"], cfg.rho), data["w_star"], cfg.sigma2_eta, cfg.C,
                            init=cfg.init)[0]
    m = np.linalg.matrix_power(sch.F_bar, cfg.n_iter) @ m0
    K, L = cfg.K, cfg.L
    local = m[:K * L].reshape(K, L).mean(0)
    glob = m[K * L:(K + 1) * L]
    limit = th.mean_limit(data["R"], data["q"], cfg.rho, cfg.C, init=cfg.init) - data["w_star"]
    closed = th.rerce_mean_bias(data["R"], data["q"], cfg.rho, cfg.C, init=cfg.init)
    return {"mean_T": np.r_[local, glob], "limit_bias": limit, "closed_bias": closed}


def _p2(ctx):
    return {cfg.init: _mean_pred(cfg) for _, cfg, _ in mean_runs(ctx.size)}


def _m2(ctx):
    out = {}
    for fn, cfg, seeds in mean_runs(ctx.size):
        df = ctx.run(fn, cfg, seeds)
        out[cfg.init] = np.c_[_errs(df, "local", cfg.L), _errs(df, "global", cfg.L)]
    lit = out["literal"].mean(0)
    out["note"] = (f"literal Alg. 4 initialisation leaves a mean bias: largest measured coordinate "
                   f"{lit[np.argmax(np.abs(lit[:6]))]:+.4f} (the paper's Prop. 4.1 says 0); the corrected "
                   "initialisation w_0 = (1 - K/C) w_1 removes it")
    return out


def _c2(pred, meas, ctx):
    """Mean recursion: max_j |z_j| over the D coordinates against the Bonferroni Student-t quantile on n - 1 dof
    at the suite budget spread over D coordinates (was the normal z; n = 8000 makes them equal to 3 digits). Bias:
    t·SE plus the exact transient |F_bar^T m_0 - limit|. Seeds 4000 -> 8000 (report): the per-seed std of the bias
    coordinate is ~0.17, so t·SE = 4.06·0.17/sqrt(n) was 6.8 % of the 0.165 bias at 4000 seeds and is 4.8 % at
    8000."""
    checks = []
    j = int(np.argmax(np.abs(pred["literal"]["closed_bias"])))  # the coordinate with the largest literal bias
    for init in ("literal", "corrected"):
        x = meas[init]
        p = pred[init]
        n, D = x.shape
        t_b = t_for_budget(n - 1, n_checks=N_MC_CHECKS * D)
        se = x.std(0, ddof=1) / math.sqrt(n)
        zs = np.abs(x.mean(0) - p["mean_T"]) / se
        checks.append(Check(f"{init}: max_j |MC mean - F_bar^T m_0|_j / SE_j over {D} coordinates", 0.0,
                            float(zs.max()), t_b, f"Bonferroni t({n - 1} dof) over {D} coordinates x suite budget",
                            resolution_units="SE"))
        transient = abs(p["mean_T"][j] - p["limit_bias"][j])
        checks.append(close_check(f"{init}: bias of the average local model, coordinate {j}",
                                  p["closed_bias"][j], x[:, j], bias_bound=transient + 1e-12,
                                  rule_extra="|F_bar^T m_0 - limit| (exact transient at T)"))
        if init == "literal":
            ci = mean_ci(x[:, j])
            checks.append(Check(f"paper Prop. 4.1 (unbiased): coordinate {j} mean error = 0", 0.0, ci.mean,
                                t_for_budget(ci.n - 1) * ci.se,
                                "t·SE (suite budget); the data reject an unbiased mean",
                                "differs", (ci.low, ci.high), ci.se, ci.n - 1))
    return checks


# ------------------------------------------------------------------------------------------ 3. exact MSD
def msd_runs(size):
    """Claim admm.3: RERCE and continual, fixed C and Bernoulli, W = I, link noise 1e-2 up and down."""
    n_seeds = {"test": 1000, "report": 3500, "gpu": 20000}[size]
    T = 100 if size == "test" else 300
    base = replace(sim.SMALL, n_iter=T, window=0, n_record=30)
    # L = 3 for the Bernoulli-RERCE mixture (K+1 schemes) and the continual state (3KL) keeps the exact
    # recursion at D <= 54.
    cfgs = [replace(base, variant="rerce"), replace(base, variant="rerce", participation="bernoulli", L=3),
            replace(base, variant="continual", L=3), replace(base, variant="continual", participation="bernoulli", L=3)]
    return [(sim.run, c, _seeds(n_seeds)) for c in cfgs]


def _label(cfg):
    return f"{cfg.variant}/{cfg.participation} C={cfg.C} K={cfg.K} L={cfg.L}"


def exact_curve(cfg):
    """Exact NMSD (linear) of a sims.admm.Config at every step 0..n_iter."""
    data = sim.problem(cfg)
    return th.exact_moments(data["R"], data["q"], cfg.rho, cfg.C, cfg.sigma2_zeta, cfg.sigma2_eta, cfg.n_iter,
                            variant=cfg.variant, participation=cfg.participation, init=cfg.init)["nmsd"]


def _p3(ctx):
    return {_label(cfg): exact_curve(cfg) for _, cfg, _ in msd_runs(ctx.size)}


def _check_steps(T):
    return [s for s in (10, 100, T) if s <= T]


def _m3(ctx):
    out = {}
    for fn, cfg, seeds in msd_runs(ctx.size):
        g = _pivot(ctx.run(fn, cfg, seeds), "nmsd")
        out[_label(cfg)] = {s: g[s].to_numpy() for s in _check_steps(cfg.n_iter)}
    return out


def _c3(pred, meas, ctx):
    """Exact NMSD at n in {10, 100, T} against the Monte-Carlo mean: t·SE on n - 1 dof (close_check). Seeds
    2000 -> 3500 (report): the late-time per-run NMSD has CV 0.8-1 (continual), so t·SE was 6.3 % of the
    prediction at 2000 seeds and is ~4.8 % at 3500."""
    checks = []
    for label, samples in meas.items():
        for s, x in samples.items():
            exact_db = 10 * math.log10(pred[label][s])
            checks.append(close_check(f"{label}: NMSD at n={s} (linear; exact {exact_db:.2f} dB)", pred[label][s], x))
    return checks


# ------------------------------------------------------------------------------------------ 4. drift
def drift_runs(size):
    """Claim admm.4: long horizon with W = I (the drift example of docs/admm.md §6), K = L = 6, C = 3, 1e-2 noise;
    rho = 1
    (mixing time ~230 iterations) at report size, rho = 3 (~80) at test size so that 10 mixing times fit."""
    n_seeds = {"test": 300, "report": 1700, "gpu": 10000}[size]
    T, rho = (800, 3.0) if size == "test" else (3000, 1.0)
    cfg = replace(sim.SMALL, rho=rho, n_iter=T, window=0, n_record=40)
    return [(sim.run, cfg, _seeds(n_seeds))]


def drift_steps(cfg):
    """(n1, n2): slope window [n1 ~ T/2 (a recorded step), T]."""
    T = cfg.n_iter
    return int(max(s for s in cfg.steps if s <= T // 2)), T


def _p4(ctx):
    return drift_prediction(ctx.size)


def drift_prediction(size):
    """Exact curve, decomposition (E_nu, E_psi, S) and closed-form slope for the drift run of ``size``."""
    (_, cfg, _), = drift_runs(size)
    data = sim.problem(cfg)
    curve = exact_curve(cfg)
    dec = th.msd_decomposition(data["R"], data["q"], cfg.rho, cfg.C, cfg.sigma2_zeta, cfg.sigma2_eta)
    S_closed = th.drift_slope(data["R"], cfg.rho, cfg.C, cfg.sigma2_zeta, cfg.sigma2_eta) / float(
        data["w_star"] @ data["w_star"])
    return {"curve": curve, "S_closed": S_closed, **dec}


def drift_note(pred, steps, mc_mean):
    """Where the paper's E_nu + E_psi and the truth agree and part (dB gaps at recorded steps)."""
    E, S, curve = pred["E_nu"] + pred["E_psi"], pred["S"], pred["curve"]
    gaps = [(int(n), 10 * math.log10(m / E)) for n, m in zip(steps, mc_mean) if n > 0]
    best = min(gaps, key=lambda g: abs(g[1]))
    n_cross = E / S if S > 0 else math.inf
    return (f"paper steady state E_nu+E_psi = {10 * math.log10(E):.2f} dB (E_nu {10 * math.log10(pred['E_nu']):.2f}, "
            f"E_psi {10 * math.log10(pred['E_psi']):.2f} dB); drift S = {S:.3e} per iteration (normalised), so n·S "
            f"equals E at n = {n_cross:.0f}; the Monte-Carlo curve comes closest to E at n = {best[0]} "
            f"({best[1]:+.2f} dB) and ends {gaps[-1][1]:+.2f} dB above it at n = {gaps[-1][0]} "
            f"(exact {10 * math.log10(curve[gaps[-1][0]]):.2f} dB). In the paper's regime (W = 1e4 I) S is ~1e-15 "
            "and the plateau E holds for any practical horizon.")


def _m4(ctx):
    (fn, cfg, seeds), = drift_runs(ctx.size)
    g = _pivot(ctx.run(fn, cfg, seeds), "nmsd")
    n1, n2 = drift_steps(cfg)
    return {"at": {n: g[n].to_numpy() for n in (n1, n2)}, "n": (n1, n2), "steps": g.columns.to_numpy(),
            "mean_curve": g.mean(axis=0).to_numpy()}


SLOPE_NOTE = ("the per-seed slope (NMSD_T - NMSD_T/2)/(T/2) is a difference of two random-walk energies (CV ~1.8), "
              "so 1700 seeds give t·SE ~11 % of S; 5 % needs ~8 500 seeds x 3000 iterations (~45 s CPU on 2 cores), "
              "the GPU preset's 10 000 seeds reach ~4.6 %. The slope itself is pinned to 1e-11 by the Phi projection.")


def _c4(pred, meas, ctx):
    """Closed-form S against the Phi projection (float tolerance); the Monte-Carlo slope and the NMSD at T against
    the closed form and the exact recursion (t·SE on n - 1 dof; the slope adds the exact transient); the paper's
    bounded steady state is context (differs). Seeds 1000 -> 1700 (report): the NMSD at T has CV ~1.05, so t·SE
    was 6.4 % at 1000 seeds and is 5.3 % at 1700 (measured); the slope stays coarse (see SLOPE_NOTE)."""
    meas["note"] = drift_note(pred, meas["steps"], meas["mean_curve"])  # the note needs theory and data
    n1, n2 = meas["n"]
    curve = pred["curve"]
    E = pred["E_nu"] + pred["E_psi"]
    S = pred["S"]
    x1, x2 = meas["at"][n1], meas["at"][n2]
    checks = [
        Check("drift slope S: closed form rho^2 C (s_z^2+s_e^2) tr(H^-2) vs exact Phi projection", pred["S_closed"],
              S, 1e3 * EPS * abs(S) * 100, "1e5·eps·|S| (bordered LU of the D^2 system)"),
        close_check(f"MC slope (NMSD_{n2} - NMSD_{n1})/{n2 - n1} vs closed form S", pred["S_closed"],
                    (x2 - x1) / (n2 - n1), bias_bound=abs((curve[n2] - curve[n1]) / (n2 - n1) - pred["S_closed"]),
                    rule_extra="|exact-recursion slope - S| (transient)",
                    resolution_note=SLOPE_NOTE),
        close_check(f"MC NMSD at n={n2} vs exact recursion ({10 * math.log10(curve[n2]):.2f} dB)", curve[n2], x2),
    ]
    ci = mean_ci(x2)
    checks.append(Check(f"paper steady state E_nu + E_psi ({10 * math.log10(E):.2f} dB, Prop. 4.2) vs MC at n={n2}", E,
                        ci.mean, t_for_budget(ci.n - 1) * ci.se, "t·SE (suite budget); the data reject a bounded "
                        "steady state", "differs", (ci.low, ci.high), ci.se, ci.n - 1))
    checks.append(Check(f"exact NMSD_{n2} - (E_nu + E_psi + n S): decomposition closes", 0.0,
                        abs(curve[n2] - (E + n2 * S)) / curve[n2], 1e-3,
                        "1e-3 relative (transient |mu_2|^n, docs/admm.md property P6)"))
    return checks


# ------------------------------------------------------------------------------------------ 5. plateaus
def plateau_runs(size):
    """Claim admm.5, paper scale: the paper's large setting (K=100, L=128, d_k in [51, 90] < L, W = 1e4 I, rho = 1,
    T = 500, plateau = mean NMSD over the last 100 iterations); a scaled-down copy at test size. No exact theory is
    feasible here (state dimension 13 056), so these runs carry the effects, the affine noise law and the
    reproductions of the paper's figure values."""
    if size == "test":
        base = replace(sim.PAPER, K=20, L=16, d_min=6, d_max=12, n_iter=300, window=100, n_record=20)
        Cs, n_seeds = (2, 5, 20), 16
    else:
        base = replace(sim.PAPER, n_record=40)
        Cs, n_seeds = (4, 10, 25, 100), 10 if size == "report" else 100
    lo, hi = 6.25e-4, 1e-2

    def noise(c, s2):
        return replace(c, sigma2_zeta=s2, sigma2_eta=s2)

    cfgs = [noise(replace(base, C=C), lo) for C in Cs]
    cfgs += [noise(replace(base, C=C), s2) for s2 in (hi, 0.0) for C in (Cs[0], base.K)]
    cfgs += [noise(replace(base, variant="continual", C=C), lo) for C in (Cs[0], Cs[-2])]
    cfgs += [noise(replace(base, variant="admm", C=base.K), lo)]
    return [(sim.run, c, _seeds(n_seeds)) for c in cfgs]


def reduced_runs(size):
    """Claim admm.5, reduced size in the paper's regime (d_k in [3, 5] < L = 6, W = 1e4 I, rho = 1, link noise
    6.25e-4 both ways) where the exact recursion is feasible (D <= 144): RERCE at C = 2 and C = K = 8, the
    continual variant at C = 2 and noisy ADMM at C = K; plateau = mean NMSD over the last T/5 iterations.

    A fifth run, RERCE at C = 2 of 8 with L = 16 (d_k in [8, 12] < L, D = 160), goes through the simulator's
    gathered path (only the C scheduled clients' blocks are updated: C <= K/2 and L >= sims.admm.GATHER_MIN_L),
    the path every paper-scale RERCE run with C <= 50 takes and which no L = 6 run reaches."""
    n_seeds, T = {"test": (400, 200), "report": (1200, 300), "gpu": (20000, 300)}[size]
    base = replace(sim.PAPER, K=8, L=6, d_min=3, d_max=5, n_iter=T, window=T // 5, n_record=10)
    cfgs = [replace(base, C=2), replace(base, C=8), replace(base, variant="continual", C=2),
            replace(base, variant="admm", C=8),
            replace(base, C=2, L=sim.GATHER_MIN_L, d_min=8, d_max=12)]
    return [(sim.run, c, _seeds(n_seeds)) for c in cfgs]


PAPER_ADMM_MARGIN_DB = 7.0
"""Thesis text on Fig 4.1: the dual-free form (4.10) beats noisy ADMM (4.5)-(4.6) by about 7 dB at C = K = 100,
link noise 6.25e-4 (a reproduction value, quoted to the nearest dB)."""
MARGIN_ROUNDING_DB = 0.5
"""Half-width of the rounding of a margin quoted in whole dB."""
PAPER_FIG41_LEVELS_DB = {"admm": -26.7, "dual_free": -34.6}
"""Fig 4.1 plateau levels read off the plot (ADMM, dual-free at C = K, 6.25e-4)."""
FIGURE_READING_DB = 0.3
"""Reading error of one level read off the thesis plots (dB); 0.3 dB is a factor 10^0.03 = 1.072 (7.2 %)."""
ADMM_READ_STEP = 100
"""Fig 4.1 ends at n = 100: the paper's margin is read there, the claim's plateau window is the last 100 of 500."""


def _p5(ctx):
    red = {}
    for _, cfg, _ in reduced_runs(ctx.size):
        data = sim.problem(cfg)
        red[(cfg.variant, cfg.C, cfg.L)] = th.exact_plateau(data["R"], data["q"], cfg.rho, cfg.C, cfg.sigma2_zeta,
                                                            cfg.sigma2_eta, cfg.n_iter, cfg.window,
                                                            variant=cfg.variant)
    K, L = _reduced_full(red)
    return {"reduced": red, "reduced_admm_margin_db": float(th.db(red[("admm", K, L)] / red[("rerce", K, L)])),
            "shift_16x_db": th.noise_shift_db(16.0), "admm_margin_db": PAPER_ADMM_MARGIN_DB,
            "fig41_margin_db": PAPER_FIG41_LEVELS_DB["admm"] - PAPER_FIG41_LEVELS_DB["dual_free"],
            "continual_vs_full_db": 0.0, "effect_threshold_db": 0.0}


def _m5(ctx):
    runs = plateau_runs(ctx.size)
    fn, seeds = runs[0][0], runs[0][2]
    tables = ctx.sweep(fn, [cfg for _, cfg, _ in runs], seeds, desc="admm plateaus")
    out = {(cfg.variant, cfg.C, cfg.sigma2_eta): _scalar(df, "nmsd_window") for (_, cfg, _), df in zip(runs, tables)}
    K = runs[0][1].K
    read = {v: _pivot(df, "nmsd")[ADMM_READ_STEP].to_numpy() for (_, cfg, _), df in zip(runs, tables)
            for v in ("admm", "rerce") if cfg.variant == v and cfg.C == K and cfg.sigma2_eta == 6.25e-4}
    red = {}
    for fn_r, cfg, seeds_r in reduced_runs(ctx.size):
        red[(cfg.variant, cfg.C, cfg.L)] = _scalar(ctx.run(fn_r, cfg, seeds_r), "nmsd_window")
    levels = ", ".join(f"{v} C={C} s2={s2:g}: {10 * math.log10(x.mean()):.2f} dB" for (v, C, s2), x in out.items())
    return {"plateaus": out, "read_step": read, "reduced": red,
            "note": "paper-scale plateaus (mean NMSD over the last 100 iterations): " + levels}


def _reduced_full(red):
    """(K, L) of the reduced-size full-participation pair (noisy ADMM and RERCE at C = K) in a {(variant, C, L)} map."""
    return next((C, L) for v, C, L in red if v == "admm")


def _db_diff(a, b):
    """10 log10(mean a / mean b) with a delta-method SE over paired seeds (common random numbers)."""
    ma, mb = a.mean(), b.mean()
    g = a / ma - b / mb
    se = 10 / math.log(10) * g.std(ddof=1) / math.sqrt(len(a))
    return 10 * math.log10(ma / mb), se


def _c5(pred, meas, ctx):
    r"""Checks of admm.5 and where their tolerances come from.

    Reduced size (exact theory): each plateau is a mean over n seeds, compared with the exact windowed NMSD by
    :func:`claims.core.close_check` (Student-t on n - 1 dof at the suite budget); the ADMM margin (dB, paired seeds
    with common random numbers, delta-method SE) against the exact margin the same way.

    Paper scale (10 seeds, t on 9 dof): "decreases in C" and "continual beats RERCE" are effects (one-sided bound
    above 0 dB); the 16x law compares (NMSD - noise-free floor) with :func:`theory.admm.noise_shift_db`; "continual
    at the full-participation plateau" and the ADMM margin are reproductions of the paper's figure statements:
    tolerance t·SE plus the reading error of the paper's number (0.3 dB per level read off a plot; 0.5 dB for the
    margin "about 7 dB", quoted in whole dB) plus, for the margin, a bias bound for where on the curve it is read
    (|margin at n = 100, where Fig 4.1 ends - margin over the window|, measured on the same runs). The margin the
    Fig 4.1 levels imply (-26.7 - (-34.6) = 7.9 dB, read to +-0.6 dB) is context: the testbed's noise placement for
    ADMM (which the paper does not state) gives a smaller margin.
    """
    P = meas["plateaus"]
    checks = []
    red = meas["reduced"]
    for (v, C, L), x in red.items():
        p = pred["reduced"][(v, C, L)]
        path = " (gathered path)" if L >= sim.GATHER_MIN_L else ""
        checks.append(close_check(f"reduced K=8 L={L}: {v} C={C} plateau vs exact recursion{path} "
                                  f"({10 * math.log10(p):.2f} dB)", p, x))
    Kr, Lr = _reduced_full(red)
    d, se = _db_diff(red[("admm", Kr, Lr)], red[("rerce", Kr, Lr)])
    checks.append(mc_check(f"reduced K=8 L={Lr}: ADMM plateau - dual-free plateau (dB) vs exact recursion",
                           pred["reduced_admm_margin_db"], d, se, len(red[("admm", Kr, Lr)]) - 1))

    rerce = sorted((C, x) for (v, C, s2), x in P.items() if v == "rerce" and s2 == 6.25e-4)
    K = rerce[-1][0]
    dof = len(rerce[0][1]) - 1
    thr = pred["effect_threshold_db"]
    for (C1, x1), (C2, x2) in zip(rerce, rerce[1:]):
        d, se = _db_diff(x1, x2)
        checks.append(mc_check(f"RERCE plateau falls from C={C1} to C={C2}: dB(C={C1}) - dB(C={C2}) > 0", thr, d,
                               se, dof, mode="effect_above", resolution_units="dB"))
    for C in (rerce[0][0], K):
        floor = P[("rerce", C, 0.0)]
        d, se = _db_diff(P[("rerce", C, 1e-2)] - floor, P[("rerce", C, 6.25e-4)] - floor)
        checks.append(mc_check(f"16x link-noise variance: (NMSD - noise-free floor) rises by 10 log10 16 dB, C={C}",
                               pred["shift_16x_db"], d, se, dof))
    full = P[("rerce", K, 6.25e-4)]
    for (v, C, s2), x in P.items():
        if v != "continual":
            continue
        d, se = _db_diff(x, full)
        checks.append(mc_check(
            f"continual C={C} at the full-participation plateau (reproduction, dB)", pred["continual_vs_full_db"],
            d, se, dof, bias_bound=FIGURE_READING_DB, rule_extra="dB figure-reading error", resolution_units="dB",
            resolution_note="reproduction of the paper's figures, which show the continual level at -35.1 dB for "
                            "every C: their reading error 0.3 dB is 7.2 % of the NMSD. The exact recursion at the "
                            "reduced size resolves the continual plateau to ~1.5 %."))
        d2, se2 = _db_diff(P[("rerce", C, 6.25e-4)], x)
        checks.append(mc_check(f"continual beats RERCE at C={C}: dB(RERCE) - dB(continual) > 0", thr, d2, se2, dof,
                               mode="effect_above", resolution_units="dB"))
    if K != sim.PAPER.K:  # the paper's margin belongs to its K = 100, L = 128 setting, not to the scaled-down copy
        return checks
    d, se = _db_diff(P[("admm", K, 6.25e-4)], full)
    read = meas["read_step"]
    d_read = float(th.db(read["admm"].mean() / read["rerce"].mean()))
    shift = abs(d_read - d)
    checks.append(mc_check(
        "dual-free beats noisy ADMM at C=K by the paper's 'about 7 dB' (reproduction, dB)", pred["admm_margin_db"], d,
        se, dof, bias_bound=MARGIN_ROUNDING_DB + shift,
        rule_extra=f"dB (0.5 dB rounding of '7 dB' + {shift:.3f} dB = |margin at n={ADMM_READ_STEP} - window margin|)",
        resolution_note="reproduction of a margin the paper quotes in whole dB: its rounding (0.5 dB) is 7 % of "
                        "7 dB, so no size brings this check under 5 %; the exact recursion at the reduced size "
                        "resolves the ADMM margin to ~0.6 %."))
    fig = pred["fig41_margin_db"]
    tol = 2 * FIGURE_READING_DB + t_for_budget(dof) * se
    checks.append(Check(f"Fig 4.1 levels imply a {fig:.1f} dB margin (read +-0.6 dB); the testbed's ADMM noise "
                        "placement gives less", fig, d, tol, "2 x 0.3 dB reading error + t·SE (context)", "differs",
                        se=se, dof=dof))
    return checks


# ------------------------------------------------------------------------------------------ 6. FedProx
def fedprox_runs(size):
    """Claim admm.6: noise-free FedProx (mu = rho = 1) and FedAvg (E = 5) on three heterogeneous datasets."""
    T = 200 if size == "test" else 400
    base = replace(sim.SMALL, C=6, sigma2_zeta=0.0, sigma2_eta=0.0, n_iter=T, window=0, record_mean=True,
                   n_record=10)
    seeds = _seeds(1)
    runs = [(sim.run, replace(base, variant="fedprox", data_seed=s), seeds) for s in range(3)]
    runs += [(sim.run, replace(base, variant="fedavg", local_steps=5, data_seed=0), seeds)]
    return runs


def _lr(data):
    return 1.0 / float(np.linalg.eigvalsh(data["R"]).max())


def _p6(ctx):
    out = []
    for _, cfg, _ in fedprox_runs(ctx.size):
        data = sim.problem(cfg)
        fp = (th.fedprox_fixed_point(data["R"], data["q"], cfg.rho) if cfg.variant == "fedprox"
              else th.fedavg_fixed_point(data["R"], data["q"], _lr(data), cfg.local_steps))
        w = data["w_star"]
        out.append({"fixed_point": fp, "rel_gap": float(np.linalg.norm(fp - w) / np.linalg.norm(w))})
    return {"runs": out}


def _m6(ctx):
    out = []
    for fn, cfg, seeds in fedprox_runs(ctx.size):
        data = sim.problem(cfg)
        g = _errs(ctx.run(fn, cfg, seeds), "global", cfg.L)[0] + data["w_star"]
        w = data["w_star"]
        contraction = (np.abs(np.linalg.eigvals(cfg.rho * th.local_N(data["R"], cfg.rho).mean(0))).max()
                       if cfg.variant == "fedprox" else None)
        out.append({"g": g, "w_star": w, "variant": cfg.variant, "data_seed": cfg.data_seed, "T": cfg.n_iter,
                    "cond": float(np.linalg.cond(data["R"].sum(0))), "contraction": contraction})
    gaps = [float(np.linalg.norm(r["g"] - r["w_star"]) / np.linalg.norm(r["w_star"])) for r in out]
    return {"runs": out, "note": "relative distance of the converged global model from w*: "
                                 + ", ".join(f"{r['variant']} data {r['data_seed']}: {g:.3%}" for r, g in zip(out, gaps))}


def _c6(pred, meas, ctx):
    checks = []
    for p, m in zip(pred["runs"], meas["runs"]):
        tag = f"{m['variant']} (data {m['data_seed']})"
        scale = np.linalg.norm(p["fixed_point"])
        tol = float_tolerance(EPS, m["T"], m["cond"]) + (m["contraction"] ** m["T"] * 10 if m["contraction"] else 0)
        checks.append(Check(f"{tag}: ||g_T - g_fixed|| / ||g_fixed|| (closed-form fixed point)", 0.0,
                            float(np.linalg.norm(m["g"] - p["fixed_point"]) / scale),
                            max(tol, 1e-10), "10·n·eps·cond(H) + 10·contraction^T (floor 1e-10)"))
        gap = float(np.linalg.norm(m["g"] - m["w_star"]) / np.linalg.norm(m["w_star"]))
        checks.append(Check(f"{tag}: ||g_T - w*|| / ||w*|| equals the closed-form gap", p["rel_gap"], gap,
                            1e-6 * p["rel_gap"] + 1e-12, "1e-6 relative (fixed-point identity)"))
        checks.append(Check(f"{tag}: converges to w* (it does not)", 0.0, gap, 1e-6,
                            "1e-6 relative: 'converges to w*' would need a gap below this", "differs"))
    return checks


CLAIMS = [
    Claim("admm.1", "Noise-free full participation: ADMM = dual-free, invariant, convergence to w*",
          f"{SOURCE}, eqs. (4.4)-(4.10); docs/admm.md §3",
          "Without link noise and with C = K, the dual-free form (4.10) reproduces ADMM (4.5)-(4.6) to machine "
          "precision, conserves Q_n = sum_k N_k^-1 w_{k,n+1} - rho sum_k w_{k,n} = sum_k q_k, and converges to the WLS "
          "optimum w* for every rho > 0 (rank-deficient clients included).", _p1, _m1, _c1),
    Claim("admm.2", "Exact mean: partial participation biases the literal initialisation",
          f"{SOURCE}, Prop. 4.1 (unbiasedness), Alg. 4; docs/admm.md §5",
          "The exact mean recursion m_{n+1} = F_bar m_n matches Monte Carlo; with C < K the literal Alg. 4 start "
          "converges in mean to w* - (1 - C/K) rho H^-1 sum_k w_hat_k, and the corrected start w_0 = (1 - K/C) w_1 "
          "is unbiased.", _p2, _m2, _c2,
          amends="Prop. 4.1 states that RERCE-Fed is unbiased for any C; this holds only for C = K or a corrected "
                 "initialisation."),
    Claim("admm.3", "Exact MSD recursion matches Monte Carlo (both variants, fixed C and Bernoulli)",
          f"{SOURCE}, eqs. (4.20)-(4.31) (replaced by the exact PSD recursion of docs/admm.md §4)",
          "The exact second-moment recursion P_{n+1} = F_bar P F_bar^T + c sum_k (F_k - M) P (F_k - M)^T + "
          "a_bar sum_k G_k Sigma G_k^T predicts the Monte-Carlo NMSD of RERCE-Fed and of the continual variant, "
          "for fixed-size and Bernoulli participation.", _p3, _m3, _c3,
          amends="The paper's recursion assumes Bernoulli scheduling, independence of A_n from the state and drops "
                 "noise cross terms; the testbed checks the exact recursion instead."),
    Claim("admm.4", "Link noise makes the MSD drift linearly (no bounded steady state)",
          f"{SOURCE}, Prop. 4.2 and steady state (4.34); docs/admm.md §6",
          "MSD_n = E_nu + E_psi + n S with S = rho^2 C (s_zeta^2 + s_eta^2) tr(H^-2) > 0: the paper's steady state "
          "E_nu + E_psi is the plateau before the drift, and the MSD keeps growing linearly where the paper predicts "
          "a steady state.", _p4, _m4, _c4,
          amends="Prop. 4.2 (noise does not excite the L^2 unit modes, so the MSD converges to E_nu + E_psi)."),
    Claim("admm.5", "Plateaus in the paper's setting: C, noise scaling, continual updates, ADMM margin",
          f"{SOURCE}, Figs 4.1, 4.3-4.6 (thesis numbering); exact recursion of docs/admm.md §4",
          "In the paper's regime (d_k < L, W = 1e4 I) the plateaus of RERCE-Fed, the continual variant and noisy "
          "ADMM equal the exact second-moment recursion where it is feasible (K = 8, L = 6); at the paper's scale "
          "(K = 100, L = 128) the RERCE-Fed plateau falls with C, 16x the link-noise variance raises the noise part "
          "by 10 log10 16 dB (affine law), the continual variant beats RERCE-Fed and sits at the full-participation "
          "plateau (the paper's figures, read to 0.3 dB), and the dual-free form beats noisy ADMM by about 7 dB.",
          _p5, _m5, _c5),
    Claim("admm.6", "FedProx (and FedAvg with E > 1) converge to a closed-form fixed point, not w*",
          "Li et al. 2020 (FedProx), McMahan et al. 2017 (FedAvg) on federated WLS; docs/admm.md §2",
          "Without noise, FedProx with exact local prox converges to g_prox = (I - mu/K sum_k N_k(mu))^-1 "
          "(1/K) sum_k N_k(mu) q_k, and FedAvg with E local steps to its own fixed point; both differ from w* under "
          "heterogeneous data.", _p6, _m6, _c6),
]
