r"""Claims of the ``admm`` system: noise-robust ADMM federated WLS (Lari, Arablouei, Gogineni, Werner 2024).

Every Monte-Carlo measurement goes through ``ctx.run`` / ``ctx.sweep`` (cached in the store); predictions come from
theory/admm.py (exact recursions in float64). The run lists (``*_runs(size)``) are plain functions so the figures
re-create exactly the same store keys.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from claims.core import Check, Claim, close_check
from sims import admm as sim
from sims import runtime
from theory import admm as th
from theory.stats import FALSE_ALARM_BUDGET, N_MC_CHECKS, Z_SUITE, float_tolerance, mean_ci, z_for_budget

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
                            conv, f"1e-8 (brief prop. 1) + 10·exp(-T/tau), tau={tau:.0f} mixing time of F_bar"))
    return checks


# ------------------------------------------------------------------------------------------ 2. mean and bias
def mean_runs(size):
    """Claim admm.2: W = I, K = 6, L = 6, C = 3, rho = 10 (bias visible, tau ~ 25), literal and corrected init."""
    n_seeds = {"test": 400, "report": 4000, "gpu": 20000}[size]
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
    checks = []
    j = int(np.argmax(np.abs(pred["literal"]["closed_bias"])))  # the coordinate with the largest literal bias
    for init in ("literal", "corrected"):
        x = meas[init]
        p = pred[init]
        n, D = x.shape
        z_b = z_for_budget(FALSE_ALARM_BUDGET, N_MC_CHECKS * D)
        se = x.std(0, ddof=1) / math.sqrt(n)
        zs = np.abs(x.mean(0) - p["mean_T"]) / se
        checks.append(Check(f"{init}: max_j |MC mean - F_bar^T m_0|_j / SE_j over {D} coordinates", 0.0,
                            float(zs.max()), z_b, f"Bonferroni z over {D} coordinates x suite budget"))
        transient = abs(p["mean_T"][j] - p["limit_bias"][j])
        checks.append(close_check(f"{init}: bias of the average local model, coordinate {j}",
                                  p["closed_bias"][j], x[:, j], bias_bound=transient + 1e-12,
                                  rule_extra="|F_bar^T m_0 - limit| (exact transient at T)"))
        if init == "literal":
            ci = mean_ci(x[:, j])
            checks.append(Check(f"paper Prop. 4.1 (unbiased): coordinate {j} mean error = 0", 0.0, ci.mean,
                                Z_SUITE * ci.se, "Z_SUITE·SE; the data reject an unbiased mean", "differs",
                                (ci.low, ci.high), ci.se))
    return checks


# ------------------------------------------------------------------------------------------ 3. exact MSD
def msd_runs(size):
    """Claim admm.3: RERCE and continual, fixed C and Bernoulli, W = I, link noise 1e-2 up and down."""
    n_seeds = {"test": 1000, "report": 2000, "gpu": 20000}[size]
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
    checks = []
    for label, samples in meas.items():
        for s, x in samples.items():
            checks.append(close_check(f"{label}: NMSD at n={s} (linear; exact {10 * math.log10(pred[label][s]):.2f} dB)",
                                      pred[label][s], x))
    return checks


# ------------------------------------------------------------------------------------------ 4. drift
def drift_runs(size):
    """Claim admm.4: long horizon with W = I (brief 5.4 example setting), K = L = 6, C = 3, 1e-2 noise; rho = 1
    (mixing time ~230 iterations) at report size, rho = 3 (~80) at test size so that 10 mixing times fit."""
    n_seeds = {"test": 300, "report": 1000, "gpu": 10000}[size]
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


def _c4(pred, meas, ctx):
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
                    rule_extra="|exact-recursion slope - S| (transient)"),
        close_check(f"MC NMSD at n={n2} vs exact recursion ({10 * math.log10(curve[n2]):.2f} dB)", curve[n2], x2),
    ]
    ci = mean_ci(x2)
    checks.append(Check(f"paper steady state E_nu + E_psi ({10 * math.log10(E):.2f} dB, Prop. 4.2) vs MC at n={n2}", E,
                        ci.mean, Z_SUITE * ci.se, "Z_SUITE·SE; the data reject a bounded steady state",
                        "differs", (ci.low, ci.high), ci.se))
    checks.append(Check(f"exact NMSD_{n2} - (E_nu + E_psi + n S): decomposition closes", 0.0,
                        abs(curve[n2] - (E + n2 * S)) / curve[n2], 1e-3,
                        "1e-3 relative (transient |mu_2|^n, brief prop. 6)"))
    return checks


# ------------------------------------------------------------------------------------------ 5. plateaus
def plateau_runs(size):
    """Claim admm.5: the paper's large setting (K=100, L=128, d_k in [51, 90] < L, W = 1e4 I, rho = 1, T = 500,
    plateau = mean NMSD over the last 100 iterations); a scaled-down copy at test size."""
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


PAPER_ADMM_MARGIN_DB = 7.0
"""[Th Fig 4.1 text]: dual-free (4.10) beats noisy ADMM (4.5)-(4.6) by about 7 dB at C = K = 100, 6.25e-4."""


def _p5(ctx):
    return {"shift_16x_db": 10 * math.log10(16), "admm_margin_db": PAPER_ADMM_MARGIN_DB, "zero": 0.0,
            "continual_vs_full_db": 0.0}


def _m5(ctx):
    runs = plateau_runs(ctx.size)
    fn, seeds = runs[0][0], runs[0][2]
    tables = ctx.sweep(fn, [cfg for _, cfg, _ in runs], seeds, desc="admm plateaus")
    out = {(cfg.variant, cfg.C, cfg.sigma2_eta): _scalar(df, "nmsd_window") for (_, cfg, _), df in zip(runs, tables)}
    levels = ", ".join(f"{v} C={C} s2={s2:g}: {10 * math.log10(x.mean()):.2f} dB" for (v, C, s2), x in out.items())
    return {"plateaus": out, "note": "plateaus (mean NMSD over the last 100 iterations): " + levels}


def _db_diff(a, b):
    """10 log10(mean a / mean b) with a delta-method SE over paired seeds (common random numbers)."""
    ma, mb = a.mean(), b.mean()
    g = a / ma - b / mb
    se = 10 / math.log(10) * g.std(ddof=1) / math.sqrt(len(a))
    return 10 * math.log10(ma / mb), se


def _z_small(n):
    """The suite's two-sided false-alarm level as a Student-t quantile with n-1 degrees of freedom: the paper-scale
    runs have few seeds, where the normal z (Z_SUITE) would understate the tolerance."""
    from scipy.stats import t as student_t

    return float(student_t.ppf(1 - FALSE_ALARM_BUDGET / (2 * N_MC_CHECKS), n - 1))


def _c5(pred, meas, ctx):
    P = meas["plateaus"]
    rerce = sorted((C, x) for (v, C, s2), x in P.items() if v == "rerce" and s2 == 6.25e-4)
    K = rerce[-1][0]
    z = _z_small(len(rerce[0][1]))
    zr = f"t-quantile z={z:.2f} (suite budget, {len(rerce[0][1]) - 1} dof)·SE (paired seeds)"
    checks = []
    for (C1, x1), (C2, x2) in zip(rerce, rerce[1:]):
        d, se = _db_diff(x1, x2)
        checks.append(Check(f"RERCE plateau decreases in C: dB(C={C1}) - dB(C={C2}) >= 0", pred["zero"], d,
                            z * se, zr, "above", se=se))
    for C in (rerce[0][0], K):
        floor = P[("rerce", C, 0.0)]
        d, se = _db_diff(P[("rerce", C, 1e-2)] - floor, P[("rerce", C, 6.25e-4)] - floor)
        checks.append(Check(f"16x link-noise variance: (NMSD - noise-free floor) rises by 10 log10 16 dB, C={C}",
                            pred["shift_16x_db"], d, z * se, zr, se=se))
    full = P[("rerce", K, 6.25e-4)]
    for (v, C, s2), x in P.items():
        if v != "continual":
            continue
        d, se = _db_diff(x, full)
        checks.append(Check(f"continual C={C} at the full-participation plateau", pred["continual_vs_full_db"], d,
                            z * se + 0.2, zr + " + 0.2 dB (brief prop. 8)", se=se))
        d2, se2 = _db_diff(P[("rerce", C, 6.25e-4)], x)
        checks.append(Check(f"continual beats RERCE at C={C}: dB(RERCE) - dB(continual) >= 0", pred["zero"], d2,
                            z * se2, zr, "above", se=se2))
    d, se = _db_diff(P[("admm", K, 6.25e-4)], full)
    checks.append(Check("dual-free beats noisy ADMM at C=K by the paper's margin (dB)", pred["admm_margin_db"], d,
                        z * se + 2.0, zr + " + 2 dB (ADMM noise placement unspecified in the paper, brief sec. 2)", se=se))
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
          f"{SOURCE}, eqs. (4.4)-(4.10); brief sec. 3",
          "Without link noise and with C = K, the dual-free form (4.10) reproduces ADMM (4.5)-(4.6) to machine "
          "precision, conserves Q_n = sum_k N_k^-1 w_{k,n+1} - rho sum_k w_{k,n} = sum_k q_k, and converges to the WLS "
          "optimum w* for every rho > 0 (rank-deficient clients included).", _p1, _m1, _c1),
    Claim("admm.2", "Exact mean: partial participation biases the literal initialisation",
          f"{SOURCE}, Prop. 4.1 (unbiasedness), Alg. 4; brief sec. 5.3",
          "The exact mean recursion m_{n+1} = F_bar m_n matches Monte Carlo; with C < K the literal Alg. 4 start "
          "converges in mean to w* - (1 - C/K) rho H^-1 sum_k w_hat_k, and the corrected start w_0 = (1 - K/C) w_1 "
          "is unbiased.", _p2, _m2, _c2,
          amends="Prop. 4.1 states that RERCE-Fed is unbiased for any C; this holds only for C = K or a corrected "
                 "initialisation."),
    Claim("admm.3", "Exact MSD recursion matches Monte Carlo (both variants, fixed C and Bernoulli)",
          f"{SOURCE}, eqs. (4.20)-(4.31) (replaced by the exact PSD recursion of brief sec. 5.1)",
          "The exact second-moment recursion P_{n+1} = F_bar P F_bar^T + c sum_k (F_k - M) P (F_k - M)^T + "
          "a_bar sum_k G_k Sigma G_k^T predicts the Monte-Carlo NMSD of RERCE-Fed and of the continual variant, "
          "for fixed-size and Bernoulli participation.", _p3, _m3, _c3,
          amends="The paper's recursion assumes Bernoulli scheduling, independence of A_n from the state and drops "
                 "noise cross terms; the testbed checks the exact recursion instead."),
    Claim("admm.4", "Link noise makes the MSD drift linearly (no bounded steady state)",
          f"{SOURCE}, Prop. 4.2 and steady state (4.34); brief sec. 5.4",
          "MSD_n = E_nu + E_psi + n S with S = rho^2 C (s_zeta^2 + s_eta^2) tr(H^-2) > 0: the paper's steady state "
          "E_nu + E_psi is the plateau before the drift, and the MSD keeps growing linearly where the paper predicts "
          "a steady state.", _p4, _m4, _c4,
          amends="Prop. 4.2 (noise does not excite the L^2 unit modes, so the MSD converges to E_nu + E_psi)."),
    Claim("admm.5", "Plateaus in the paper's setting: C, noise scaling, continual updates, ADMM margin",
          f"{SOURCE}, Figs 4.1, 4.3-4.6 (thesis numbering)",
          "In the paper's regime (d_k < L, W = 1e4 I) the RERCE-Fed plateau decreases in C, 16x the link-noise "
          "variance raises it by 12.04 dB, the continual variant sits at the full-participation plateau for any C, "
          "and the dual-free form beats noisy ADMM by about 7 dB.", _p5, _m5, _c5),
    Claim("admm.6", "FedProx (and FedAvg with E > 1) converge to a closed-form fixed point, not w*",
          "Li et al. 2020 (FedProx), McMahan et al. 2017 (FedAvg) on federated WLS; brief sec. 2",
          "Without noise, FedProx with exact local prox converges to g_prox = (I - mu/K sum_k N_k(mu))^-1 "
          "(1/K) sum_k N_k(mu) q_k, and FedAvg with E local steps to its own fixed point; both differ from w* under "
          "heterogeneous data.", _p6, _m6, _c6),
]
