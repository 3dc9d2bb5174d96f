r"""Claims for one-layer linear self-attention learning linear regression in context (system ``icl``).

Tolerance rules used below (docs/icl.md, "Tolerance rules"; docs/conventions.md):

- Monte-Carlo means over prompts: losses, errors and moments are averages over seeds × prompts, all i.i.d., so
  their SE is pooled over every prompt (:func:`pooled_check`, from the per-seed means and mean squares the
  simulators store) and has dof = inf: two-sided normal quantile of the suite budget for equalities, one-sided for
  bounds and effects (:func:`claims.core.mc_check`). Per-seed quantities (Gamma_eff of each trained model) use the
  SE over seeds with the Student-t quantile on S - 1 dof (:func:`claims.core.close_check`).
- The step size (a scalar tr(Sigma Gamma)/d of Gamma) is checked twice. (1) The *loss-minimising* multiple of the
  predicted Gamma* on the evaluation prompts, c = E[y_q s]/E[s^2] with s = x_q^T Gamma* h, estimated with a pooled
  delta-method SE (:func:`line_check`): it equals 1 exactly when Gamma* is the optimum (the loss is a quadratic in
  Gamma and d/dc L(c Gamma*) = 0 at c = 1), so c·tr(Sigma Gamma*)/d is a formula-free Monte-Carlo estimate of the
  optimal step size, resolved to ~0.5 %. (2) The *trained* models: tr(Sigma Gamma_eff)/d over seeds with the t rule
  and no allowance for optimisation bias: an allowance built from the distance of Gamma_eff to Gamma* (e.g. the
  Cauchy–Schwarz bound sqrt(e)·||a||_{H^-1} from the exact training excess e) bounds exactly the quantity the check
  compares, so it would make the check unable to fail. With Adam's cosine decay to 0 the systematic part of the
  trained step size is measured to be well below the seed noise (docs/icl.md, findings); a replicate where it is not
  is a finding (the optimiser has not converged), not a reason to widen.
- Trained models, loss (rule 3): L* - q·SE <= L_eval <= L* + q·SE + eps_L·L* (never significantly *below* the
  global minimum; above by at most the optimisation budget eps_L), with the Frobenius distance of Gamma_eff to
  Gamma* a bound check at the budget eps_Gamma. Both budgets are fixed per size (:data:`EPS_GAMMA`,
  :data:`EPS_LOSS`) from the training budget of each size; they bound Adam's finite-step / finite-batch error, not
  the theory, and no equality of the step size rests on them.
- Shifted errors (other test length m, covariate scale c): the layer's error is compared with the *exact* loss of
  its own learned Gamma_eff at that m or c (mean over seeds), plus the measured mean square of its odd terms on the
  same prompts: E[error] = L_te(Gamma_eff) + E[odd^2] exactly, because the odd terms are uncorrelated with the even
  part and the target. Separately, the exact L_te(Gamma_eff) is compared with the prediction at Gamma* within the
  worst-case change :func:`shift_bias_bound` of a quadratic at the measured exact training excess
  e_i = L(Gamma_eff,i) - L* of each seed (mean over seeds of the per-seed bounds; max_i e_i <= eps_L·L* is checked
  as a premise), and the one-step GD predictor x_q^T Gamma* h is run on the same prompts as a Monte-Carlo check of
  the closed form itself. At the training law itself (m = N, c = 1) the gradient term vanishes and the curvature
  ratio is 1, so the bound equals the excess and the comparison would be the identity mean_i L_i - L* =
  mean_i e_i (it failed once by rounding): it is left out there, where the premise covers it.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from claims.core import COARSE, Check, Claim, close_check, mc_check
from sims import icl as sim
from sims import runtime
from theory import icl as th
from theory.stats import Z_SUITE, mean_ci, t_for_budget

SPECTRUM = (1.0, 1.0, 0.25, 0.0625, 1.0)
"""Ahn et al. §4.3 covariance spectrum (anisotropic Sigma)."""
N_SEEDS = {"test": 4, "report": 8, "gpu": 16}
EPS_GAMMA = {"test": 0.12, "report": 0.05, "gpu": 0.03}
"""Optimisation budget: relative Frobenius distance of Gamma_eff to Gamma* allowed per training size."""
EPS_LOSS = {"test": 0.01, "report": 0.01, "gpu": 0.005}
"""Optimisation budget: relative excess loss (Gamma error + the odd terms of the full layer) per training size."""
EVAL_LENGTHS = (6, 10, 20, 40, 100, 300, 1000, 10000)
EVAL_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
GF_TOL = 1e-3
"""Gradient flow (GD, lr 0.05) from the ZFB init: the relative Gamma residual left after the step budget."""
BALANCE_TOL = 0.02
"""Drift of c^2 - ||A||_F^2 allowed for gradient descent (exactly conserved only by the flow; GD drifts O(lr))."""


def seeds(size: str) -> list[int]:
    return runtime.seed_list(N_SEEDS[size])


def _train(size: str, **kw) -> sim.Config:
    budget = {"test": dict(steps=500, batch=256, eval_batch=65536),
              "report": dict(steps=1000, batch=512, eval_batch=32768),
              "gpu": dict(steps=4000, batch=8192, eval_batch=131072)}[size]
    return sim.Config(**{"d": 5, "n": 20, "init": "zfb", "lr": 0.05, **budget, **kw})


def iso_config(size: str) -> sim.Config:
    """MHM Thm 1 setting: Sigma = I, w ~ N(0, I), sigma = 0.1; also evaluated under covariate scaling (claim 5)."""
    return _train(size, sigma2=0.01, eval_scales=EVAL_SCALES)


def aniso_config(size: str) -> sim.Config:
    """ZFB / Ahn setting: Ahn spectrum, noiseless; also evaluated at other test lengths m (claim 4)."""
    return _train(size, sigma2=0.0, spectrum=SPECTRUM, eval_lengths=EVAL_LENGTHS)


def inverse_config(size: str) -> sim.Config:
    return _train(size, sigma2=0.01, spectrum=SPECTRUM, prior="inverse")


def relu_config(size: str) -> sim.Config:
    return _train(size, sigma2=0.01, response="relu")


def reduced_config(size: str) -> sim.ReducedConfig:
    return sim.ReducedConfig(d=5, n=20, sigma2=0.0, spectrum=SPECTRUM, init_scale=0.1, lr=0.05,
                             steps={"test": 30000, "report": 50000, "gpu": 50000}[size], log_every=1000)


REF_D, REF_SIGMA2 = 8, 0.25
LSA_NS = (4, 8, 16, 32)


def reference_config(size: str) -> sim.ReferenceConfig:
    return sim.ReferenceConfig(d=REF_D, sigma2=REF_SIGMA2, batch={"test": 1024, "report": 4096, "gpu": 16384}[size])


def lsa_n_configs(size: str) -> list[sim.Config]:
    """Trained LSA at d = 8, sigma^2 = 1/4 for several n: the trained points of the risk-vs-n figure."""
    budget = {"test": dict(steps=200, batch=256, eval_batch=8192),
              "report": dict(steps=500, batch=512, eval_batch=16384),
              "gpu": dict(steps=3000, batch=8192, eval_batch=131072)}[size]
    return [sim.Config(d=REF_D, n=n, sigma2=REF_SIGMA2, init="zfb", lr=0.05, **budget) for n in LSA_NS]


def report_runs(size: str = "report") -> list[tuple]:
    """Every (fn, config, seeds) the claims and figures use, so figures re-create exactly the same store keys."""
    s = seeds(size)
    runs = [(sim.run, c(size), s) for c in (iso_config, aniso_config, inverse_config, relu_config)]
    runs += [(sim.run_reduced, reduced_config(size), s[:2]), (sim.run_reference, reference_config(size), s)]
    runs += [(sim.run, c, s[:4]) for c in lsa_n_configs(size)]
    return runs


# ------------------------------------------------------------------------------------------------- helpers
def _rel_err(G: np.ndarray, G_star: np.ndarray) -> np.ndarray:
    return np.linalg.norm(G - G_star, axis=(-2, -1)) / np.linalg.norm(G_star)


def _step(G: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """The step size tr(Sigma Gamma)/d of one Gamma or a stack (..., d, d): eta for Gamma = eta·I (Sigma = I) and
    for Gamma = eta·Sigma^-1; the Sigma-weighted mean gain of a general Gamma."""
    return np.einsum("...ij,ji->...", G, Sigma) / Sigma.shape[0]


def _gamma_check(name, G, G_star, eps) -> Check:
    """Bound check on the shape: mean relative Frobenius distance of Gamma_eff to Gamma* within the optimisation
    budget eps_Gamma (the step size, the direction that matters for the loss, is checked by equality elsewhere)."""
    ci = mean_ci(_rel_err(G, G_star))
    return Check(f"{name}: relative Frobenius error of Gamma_eff to Gamma* (shape, optimisation budget)", 0.0, ci.mean,
                 eps, f"optimisation budget eps_Gamma = {eps:g}", "below", (ci.low, ci.high),
                 resolution_units="relative Frobenius distance")


def _trained_step_check(name, G, Sigma, prediction) -> Check:
    """Equality of the trained step size tr(Sigma Gamma_eff)/d (one value per seed) with the prediction: t rule on
    S - 1 dof, no optimisation allowance (module docstring)."""
    steps = _step(G, Sigma)
    check = close_check(f"{name}: trained step size tr(Sigma Gamma_eff)/d = tr(Sigma Gamma*)/d", prediction, steps)
    if check.resolution <= COARSE:
        return check
    q = t_for_budget(len(steps) - 1)
    return dataclasses.replace(check, resolution_note=(
        f"{len(steps)} seeds: t({len(steps) - 1} dof) = {q:.3g} on a per-seed SE; the report size (8 seeds, t = 8.8, "
        "1000 Adam steps) resolves it to 0.6-2.8 %"))


def _pooled(means, sq_means, batch) -> tuple[float, float, int]:
    """(mean, SE, number of prompts) pooled over S·batch i.i.d. prompts from per-seed means and mean squares."""
    means, sq = np.asarray(means, dtype=np.float64), np.asarray(sq_means, dtype=np.float64)
    N = means.size * batch
    m = float(means.mean())
    return m, math.sqrt(max(float(sq.mean()) - m * m, 0.0) / (N - 1)), N


def pooled_check(name, prediction, means, sq_means, batch, *, mode="close", bias_bound=0.0, rule_extra="",
                 extra_se=0.0, **resolution) -> Check:
    """Monte-Carlo check over all S·batch prompts (seeds × prompts are i.i.d.): SE from the pooled variance, which is
    far better estimated than from a handful of per-seed means, on dof = inf; ``extra_se`` adds (in quadrature) the
    SE of a reference computed by Monte Carlo too."""
    m, se, N = _pooled(means, sq_means, batch)
    c = mc_check(name, prediction, m, math.hypot(se, extra_se), math.inf, mode=mode, bias_bound=bias_bound,
                 rule_extra=rule_extra, **resolution)
    return dataclasses.replace(c, rule=f"{c.rule}; SE pooled over {N} prompts")


def line_fit(line: dict, batch: int) -> tuple[float, float]:
    r"""The loss-minimising multiple c of the predicted Gamma* on the evaluation prompts and its SE:
    c = \bar a / \bar b with a = y_q s, b = s^2, s = x_q^T\Gamma^* h (pooled over S·batch prompts); delta method,
    Var(c) = Var(a - c b) / (N \bar b^2) with Var(a - cb) = E a^2 - 2c E ab + c^2 E b^2 - (\bar a - c\bar b)^2."""
    ya, yy = np.asarray(line["ys"]), np.asarray(line["ys_sq"])
    sb, ss = np.asarray(line["ss"]), np.asarray(line["ss_sq"])
    ab = np.asarray(line["ys_ss"])
    N = ya.size * batch
    A, B = float(ya.mean()), float(sb.mean())
    c = A / B
    var = float(yy.mean() - 2 * c * ab.mean() + c * c * ss.mean()) - (A - c * B) ** 2
    return c, math.sqrt(max(var, 0.0) / (N - 1)) / B


def line_check(name, prediction, line: dict, batch: int, direction_step: float) -> Check:
    """Powered equality of the optimal step size: c·tr(Sigma Gamma*)/d (c from :func:`line_fit`, Gamma* the
    direction the simulator used) against the closed form; pooled SE, dof = inf, no allowance (nothing is trained)."""
    c, se = line_fit(line, batch)
    check = mc_check(f"{name}: loss-minimising step size on fresh prompts (formula-free Monte Carlo)", prediction,
                     c * direction_step, se * abs(direction_step), math.inf)
    return dataclasses.replace(check, rule=f"{check.rule}; delta-method SE pooled over "
                                           f"{np.asarray(line['ys']).size * batch} prompts")


def _line(df) -> dict:
    return {k: sim.metric(df, "line_" + k) for k in ("ys", "ys_sq", "ss", "ss_sq", "ys_ss")}


def _loss_checks(name, L_star, means, sq_means, batch, eps) -> list[Check]:
    """Rule 3: L* - q·SE <= L_eval <= L* + q·SE + eps·L*; SE pooled over all evaluation prompts (the loss of each
    trained model is >= L* exactly, so only the Monte-Carlo error can put the mean below L*)."""
    return [
        pooled_check(f"{name}: loss on fresh prompts not below the global minimum L*", L_star, means, sq_means, batch,
                     mode="above"),
        pooled_check(f"{name}: loss on fresh prompts reaches L*", L_star, means, sq_means, batch, mode="below",
                     bias_bound=eps * L_star, rule_extra=f"eps_L·L* (eps_L = {eps:g})"),
    ]


def shift_bias_bound(Gamma_star, train, test, excess) -> float:
    r"""Largest change of the exact shifted loss L_te(Gamma) = L(Gamma; Sigma_te, m, sigma2_te) over all Gamma whose
    exact *training* excess L_tr(Gamma) - L_tr(Gamma*) = vec(delta)^T (K_tr (x) Sigma_tr) vec(delta) is <= ``excess``:

    |L_te(Gamma* + delta) - L_te(Gamma*)| <= 2\sqrt{e}\,\|H_tr^{-1/2} g_te\| + e\,\lambda_max(H_tr^{-1/2} H_te H_tr^{-1/2}),

    with g_te = \nabla L_te(Gamma*), H = K (x) Sigma, \|H_tr^{-1/2} g\|^2 = tr(g^T Sigma_tr^{-1} g K_tr^{-1}).
    ``train`` and ``test`` are (Sigma, n, sigma2) triples (Omega = I). Exact: both losses are quadratics in Gamma.
    """
    S_tr, n_tr, s2_tr = train
    S_te, m, s2_te = test
    K_tr = th.second_moment_h(S_tr, n_tr, s2_tr)
    K_te = th.second_moment_h(S_te, m, s2_te)
    g = th.loss_gradient(Gamma_star, S_te, m, s2_te)
    lin = math.sqrt(max(float(np.trace(g.T @ np.linalg.solve(S_tr, g) @ np.linalg.inv(K_tr))), 0.0))
    H_tr = np.kron(K_tr, S_tr)
    H_te = np.kron(K_te, S_te)
    w, V = np.linalg.eigh(H_tr)
    R = V @ np.diag(w ** -0.5) @ V.T
    quad = float(np.linalg.eigvalsh(R @ H_te @ R)[-1])
    return 2 * math.sqrt(excess) * lin + excess * quad


def _gammas(df, d) -> np.ndarray:
    return sim.gamma_from_table(df, d)


def _losses(df, cfg, name="eval_loss", key="L_eval") -> dict:
    """(per-seed means, per-seed mean squares, prompts per seed) of a loss metric, for :func:`pooled_check`."""
    return {key: (sim.metric(df, name), sim.metric(df, name + "_sq"), cfg.eval_batch)}


def _premise(L_gamma, L_star, el) -> Check:
    return Check("premise of the bias bound: exact training excess L(Gamma_eff) - L* of the worst seed", 0.0,
                 float(L_gamma.max() - L_star), el * L_star, f"eps_L·L* (eps_L = {el:g})", "below",
                 resolution_units="loss")


def _shifted_checks(label, err, odd, L_gamma_te, batch) -> Check:
    """The layer's error at a shifted test law against the exact loss of its own Gamma_eff there (mean over seeds)
    plus the measured mean square of its odd terms on the same prompts (E[err] = L_te(Gamma_eff) + E[odd^2])."""
    o_mean, o_se, _ = _pooled(*odd, batch)
    return pooled_check(f"{label}: layer error = exact loss of its learned Gamma_eff (+ odd terms)",
                        float(np.mean(L_gamma_te)), *err, bias_bound=o_mean, extra_se=o_se,
                        rule_extra="(measured odd-term mean square)")


def _at_gamma_star_check(name, L_gamma_te, prediction, bounds, why) -> Check:
    """Deterministic: the exact loss of the learned Gamma_eff (mean over seeds) against the prediction at Gamma*,
    within the mean over seeds of the worst-case change of a quadratic at each seed's measured training excess
    (:func:`shift_bias_bound`; |mean_i Delta_i| <= mean_i bound(e_i)). ``why`` says why the bound is loose where it is."""
    bound = float(np.mean(bounds))
    note = ""
    if bound > COARSE * abs(prediction):
        note = (f"worst case over every Gamma with the measured training excess: {why}; the closed form itself is "
                "checked to ~2 % by the one-step GD predictor at Gamma* on the same prompts, and the GPU preset "
                "(4000 Adam steps of 8192 prompts) cuts the excess and this bound several-fold")
    return Check(name, float(prediction), float(np.mean(L_gamma_te)), bound,
                 "mean over seeds of the worst-case change of the exact quadratic at each seed's measured training "
                 "excess (shift_bias_bound)", "close", resolution_note=note)


# ------------------------------------------------------------------------------------ claim 1: reaches Gamma*
def _p1(ctx):
    iso, an, red = iso_config(ctx.size), aniso_config(ctx.size), reduced_config(ctx.size)
    out = {}
    for key, cfg in (("iso", iso), ("aniso", an)):
        G = th.optimal_gamma(cfg.Sigma, cfg.n, cfg.sigma2)
        out[key] = {"Gamma": G, "L": th.optimal_loss(cfg.Sigma, cfg.n, cfg.sigma2), "step": _step(G, cfg.Sigma)}
    out["gf"] = {"Gamma": th.zfb_gamma(red.Sigma, red.n)}
    return out


def _m1(ctx):
    s = seeds(ctx.size)
    out = {}
    for key, cfg in (("iso", iso_config(ctx.size)), ("aniso", aniso_config(ctx.size))):
        df = ctx.run(sim.run, cfg, s)
        G = _gammas(df, cfg.d)
        out[key] = {"Gamma": G, **_losses(df, cfg), **_losses(df, cfg, "spd_opt", "spd"), "line": _line(df),
                    "direction_step": float(_step(sim.optimal_gamma(cfg), cfg.Sigma)),
                    "L_gamma": np.array([th.population_loss(g, cfg.Sigma, cfg.n, cfg.sigma2) for g in G]),
                    "odd_x": sim.metric(df, "odd_x"), "odd_y": sim.metric(df, "odd_y")}
    red = reduced_config(ctx.size)
    df = ctx.run(sim.run_reduced, red, s[:2])
    bal = df[df["metric"] == "balance"].pivot(index="seed", columns="step", values="value").to_numpy()
    out["gf"] = {"Gamma": _gammas(df, red.d), "balance_drift": float(np.abs(bal[:, -1] - bal[:, 0]).max())}
    L_star = th.optimal_loss(aniso_config(ctx.size).Sigma, 20, 0.0)
    out["note"] = (f"odd-term sizes ‖A^T u_x‖, |u_y|·‖k‖ (mean over seeds): iso {out['iso']['odd_x'].mean():.3g}, "
                   f"{out['iso']['odd_y'].mean():.3g}; aniso {out['aniso']['odd_x'].mean():.3g}, "
                   f"{out['aniso']['odd_y'].mean():.3g}. Exact loss of the learned Gamma_eff exceeds L* by "
                   f"{np.mean(out['aniso']['L_gamma']) / L_star - 1:.2e} (aniso, relative). ZFB gradient flow "
                   f"(GD lr {red.lr}, {red.steps} steps) changes c^2-‖A‖^2 by {out['gf']['balance_drift']:.2e}.")
    return out


def _c1(pred, meas, ctx):
    eg, el = EPS_GAMMA[ctx.size], EPS_LOSS[ctx.size]
    checks = []
    for key, label, cfg in (("iso", "isotropic (MHM Thm 1)", iso_config(ctx.size)),
                            ("aniso", "anisotropic Sigma (ZFB Thm 4.1)", aniso_config(ctx.size))):
        m = meas[key]
        checks.append(line_check(label, pred[key]["step"], m["line"], cfg.eval_batch, m["direction_step"]))
        checks.append(_trained_step_check(label, m["Gamma"], cfg.Sigma, pred[key]["step"]))
        checks.append(_gamma_check(label, m["Gamma"], pred[key]["Gamma"], eg))
        checks += _loss_checks(label, pred[key]["L"], *m["L_eval"], el)
        checks.append(pooled_check(f"{label}: SPD (Akyürek) between the trained layer and one-step GD with Gamma*, "
                                   "prompt by prompt", 0.0, *m["spd"], mode="below", bias_bound=el * pred[key]["L"],
                                   rule_extra="eps_L·L* (at the optimum SPD = L - L*)", resolution_units="loss"))
    gf = _rel_err(meas["gf"]["Gamma"], pred["gf"]["Gamma"]).max()
    checks.append(Check("reduced model, gradient flow from the ZFB init: relative error of Gamma to Gamma_Z^-1",
                        0.0, float(gf), GF_TOL, f"step-budget residual {GF_TOL:g} (deterministic)", "below",
                        resolution_units="relative Frobenius distance"))
    checks.append(Check("reduced model: drift of c^2 - ‖A‖_F^2 (conserved by the flow)", 0.0,
                        meas["gf"]["balance_drift"], BALANCE_TOL, f"GD discretisation O(lr) <= {BALANCE_TOL:g}",
                        "below", resolution_units="c^2 - ‖A‖_F^2"))
    return checks


# --------------------------------------------------------------------------- claim 2: preconditioned GD
def _p2(ctx):
    cfg = inverse_config(ctx.size)
    eta = th.optimal_eta(cfg.d, cfg.n, cfg.sigma2, cfg.tau2)
    return {"Gamma": eta * np.linalg.inv(cfg.Sigma), "L": th.optimal_loss(cfg.Sigma, cfg.n, cfg.sigma2, cfg.Omega),
            "Gamma_identity_prior": th.optimal_gamma(cfg.Sigma, cfg.n, cfg.sigma2), "eta": eta}


def _m2(ctx):
    cfg = inverse_config(ctx.size)
    df = ctx.run(sim.run, cfg, seeds(ctx.size))
    G = _gammas(df, cfg.d)
    eta_fit = _step(G, cfg.Sigma)
    return {"Gamma": G, **_losses(df, cfg), "line": _line(df),
            "direction_step": float(_step(sim.optimal_gamma(cfg), cfg.Sigma)),
            "note": f"tr(Sigma·Gamma_eff)/d = {eta_fit.mean():.4f} ± {eta_fit.std(ddof=1) / math.sqrt(len(eta_fit)):.4f} "
                    f"(the implied preconditioned step size)."}


def _c2(pred, meas, ctx):
    eg = EPS_GAMMA[ctx.size]
    cfg = inverse_config(ctx.size)
    label = "w ~ N(0, Sigma^-1)"
    checks = [line_check(label + ", Gamma* = eta·Sigma^-1", pred["eta"], meas["line"], cfg.eval_batch,
                         meas["direction_step"]),
              _trained_step_check(label, meas["Gamma"], cfg.Sigma, pred["eta"]),
              _gamma_check(label + ", Gamma* = eta·Sigma^-1", meas["Gamma"], pred["Gamma"], eg)]
    checks += _loss_checks(label, pred["L"], *meas["L_eval"], EPS_LOSS[ctx.size])
    wrong = mean_ci(_rel_err(meas["Gamma"], pred["Gamma_identity_prior"]))
    checks.append(Check("Gamma_eff differs from the optimum for w ~ N(0, I) (the prior matters)", 0.0, wrong.mean,
                        eg, "eps_Gamma (the same budget as the shape check)", "differs", (wrong.low, wrong.high)))
    return checks


# --------------------------------------------------------------------------------- claim 3: ReLU responses
def _p3(ctx):
    cfg = relu_config(ctx.size)
    eta = th.nonlinear_eta(cfg.d, cfg.n, cfg.sigma2, "relu")
    return {"eta": eta, "eta_linear": th.optimal_eta(cfg.d, cfg.n, cfg.sigma2),
            "L": th.nonlinear_loss(eta, cfg.d, cfg.n, cfg.sigma2, "relu")}


def _m3(ctx):
    cfg = relu_config(ctx.size)
    df = ctx.run(sim.run, cfg, seeds(ctx.size))
    G = _gammas(df, cfg.d)
    off = G - np.einsum("sii->si", G)[:, :, None] * np.eye(cfg.d)
    return {"Gamma": G, "offdiag": np.abs(off).max(axis=(1, 2)), "line": _line(df),
            "direction_step": float(_step(sim.optimal_gamma(cfg), cfg.Sigma)), **_losses(df, cfg)}


def _c3(pred, meas, ctx):
    eg = EPS_GAMMA[ctx.size]
    cfg = relu_config(ctx.size)
    checks = [line_check("ReLU, Gamma* = eta_relu·I", pred["eta"], meas["line"], cfg.eval_batch,
                         meas["direction_step"]),
              _trained_step_check("ReLU", meas["Gamma"], cfg.Sigma, pred["eta"])]
    ci = mean_ci(meas["offdiag"])
    checks.append(Check("ReLU: largest |off-diagonal| of Gamma_eff (Gamma* is a multiple of I; shape, optimisation "
                        "budget)", 0.0, ci.mean, eg * pred["eta"], "eps_Gamma·eta", "below", (ci.low, ci.high),
                        resolution_units="Gamma entry"))
    c, se = line_fit(meas["line"], cfg.eval_batch)
    checks.append(Check("ReLU: the loss-minimising step differs from the linear-response eta", pred["eta_linear"],
                        c * meas["direction_step"], Z_SUITE * se * meas["direction_step"],
                        f"{Z_SUITE:.2f}·SE (pooled)", "differs"))
    checks += _loss_checks("ReLU", pred["L"], *meas["L_eval"], EPS_LOSS[ctx.size])
    return checks


# ---------------------------------------------------------------------------------- claim 4: test length
ZFB_CHECK_LENGTHS = (6, 20, 10000)
"""Test lengths where the one-step GD predictor at Gamma* checks ZFB's closed form by Monte Carlo: the 1/m term
dominates at m = 6, m = N = 20 gives L*, and the training-length floor is 99 % of the error at m = 10^4."""


def _p4(ctx):
    cfg = aniso_config(ctx.size)
    return {"err": np.array([th.zfb_test_error(m, cfg.n, cfg.Sigma) for m in cfg.eval_lengths]),
            "floor": th.zfb_test_error(np.inf, cfg.n, cfg.Sigma), "L": th.optimal_loss(cfg.Sigma, cfg.n, 0.0)}


def _m4(ctx):
    cfg = aniso_config(ctx.size)
    df = ctx.run(sim.run, cfg, seeds(ctx.size))
    G = _gammas(df, cfg.d)
    return {"lengths": list(cfg.eval_lengths), "err": [_losses(df, cfg, f"err_m{m}", "e")["e"] for m in cfg.eval_lengths],
            "odd": [_losses(df, cfg, f"odd_m{m}", "e")["e"][:2] for m in cfg.eval_lengths],
            "gd": [_losses(df, cfg, f"gd_m{m}", "e")["e"] for m in cfg.eval_lengths],
            "L_gamma": np.array([th.population_loss(g, cfg.Sigma, cfg.n, 0.0) for g in G]),
            "L_gamma_m": np.array([[th.population_loss(g, cfg.Sigma, m, 0.0) for g in G] for m in cfg.eval_lengths])}


def _c4(pred, meas, ctx):
    el = EPS_LOSS[ctx.size]
    cfg = aniso_config(ctx.size)
    checks = [_premise(meas["L_gamma"], pred["L"], el)]
    G = th.zfb_gamma(cfg.Sigma, cfg.n)
    excess = np.maximum(meas["L_gamma"] - pred["L"], 0.0)
    why = ("the lambda = 1/16 direction of Sigma is nearly flat in the training loss but carries the floor at large m")
    for i, m in enumerate(meas["lengths"]):
        checks.append(_shifted_checks(f"test length m = {m}", meas["err"][i], meas["odd"][i], meas["L_gamma_m"][i],
                                      cfg.eval_batch))
        if m != cfg.n:  # at the training law the bound is the excess itself: an identity (module docstring)
            b = [shift_bias_bound(G, (cfg.Sigma, cfg.n, 0.0), (cfg.Sigma, m, 0.0), e) for e in excess]
            checks.append(_at_gamma_star_check(f"test length m = {m}: exact loss of Gamma_eff = ZFB Thm 4.2 at "
                                               "Gamma* (within the optimisation excess)", meas["L_gamma_m"][i],
                                               pred["err"][i], b, why))
        if m in ZFB_CHECK_LENGTHS:
            checks.append(pooled_check(f"test length m = {m}: one-step GD at Gamma* on the same prompts = ZFB Thm 4.2",
                                       pred["err"][i], *meas["gd"][i]))
    last = _pooled(*meas["err"][-1])
    checks.append(Check(f"the error does not vanish as m grows: at m = {meas['lengths'][-1]} it differs from 0 "
                        "(training-length floor; trivial gap)", 0.0, last[0], Z_SUITE * last[1],
                        f"{Z_SUITE:.2f}·SE (pooled)", "differs"))
    return checks


# -------------------------------------------------------------------------------- claim 5: covariate scaling
GD_CHECK_SCALES = (0.5, 2.0)
"""Covariate scales where the one-step GD predictor at Gamma* checks L(Gamma*; c^2 Sigma) by Monte Carlo (the two
ends of the range: the error falls below L* at c = 1/2 and is 120x L* at c = 2)."""


def _p5(ctx):
    cfg = iso_config(ctx.size)
    G = th.optimal_gamma(cfg.Sigma, cfg.n, cfg.sigma2)
    return {"lsa": np.array([th.population_loss(G, c * c * cfg.Sigma, cfg.n, cfg.sigma2) for c in cfg.eval_scales]),
            "ols": cfg.sigma2 + th.min_norm_ols_excess_risk(cfg.d, cfg.n, cfg.sigma2),
            "L": th.optimal_loss(cfg.Sigma, cfg.n, cfg.sigma2),
            "retrained": np.array([th.optimal_loss(c * c * cfg.Sigma, cfg.n, cfg.sigma2) for c in cfg.eval_scales])}


def _m5(ctx):
    cfg = iso_config(ctx.size)
    df = ctx.run(sim.run, cfg, seeds(ctx.size))
    G = _gammas(df, cfg.d)
    return {"scales": list(cfg.eval_scales),
            "L_gamma": np.array([th.population_loss(g, cfg.Sigma, cfg.n, cfg.sigma2) for g in G]),
            "L_gamma_c": np.array([[th.population_loss(g, c * c * cfg.Sigma, cfg.n, cfg.sigma2) for g in G]
                                   for c in cfg.eval_scales]),
            "lsa": [_losses(df, cfg, f"lsa_scale{float(c):g}", "e")["e"] for c in cfg.eval_scales],
            "odd": [_losses(df, cfg, f"odd_scale{float(c):g}", "e")["e"][:2] for c in cfg.eval_scales],
            "gd": [_losses(df, cfg, f"gd_scale{float(c):g}", "e")["e"] for c in cfg.eval_scales],
            "ols": [_losses(df, cfg, f"ols_scale{float(c):g}", "e")["e"] for c in cfg.eval_scales]}


def _c5(pred, meas, ctx):
    el = EPS_LOSS[ctx.size]
    cfg = iso_config(ctx.size)
    checks = [_premise(meas["L_gamma"], pred["L"], el)]
    G = th.optimal_gamma(cfg.Sigma, cfg.n, cfg.sigma2)
    excess = np.maximum(meas["L_gamma"] - pred["L"], 0.0)
    train = (cfg.Sigma, cfg.n, cfg.sigma2)
    why = "at c > 1 the shifted loss weighs Gamma by c^4, so its curvature is up to 16x the training loss's"
    for i, c in enumerate(meas["scales"]):
        checks.append(_shifted_checks(f"x -> {c:g}·x at test", meas["lsa"][i], meas["odd"][i], meas["L_gamma_c"][i],
                                      cfg.eval_batch))
        if c != 1.0:  # at the training law the bound is the excess itself: an identity (module docstring)
            b = [shift_bias_bound(G, train, (c * c * cfg.Sigma, cfg.n, cfg.sigma2), e) for e in excess]
            checks.append(_at_gamma_star_check(f"x -> {c:g}·x: exact loss of Gamma_eff = L(Gamma*; c^2 Sigma) (within "
                                               "the optimisation excess)", meas["L_gamma_c"][i], pred["lsa"][i], b,
                                               why))
        if c in GD_CHECK_SCALES:
            checks.append(pooled_check(f"x -> {c:g}·x: one-step GD at Gamma* on the same prompts = L(Gamma*; c^2 Sigma)",
                                       pred["lsa"][i], *meas["gd"][i]))
        checks.append(pooled_check(f"OLS error with x -> {c:g}·x at test (scale-invariant)", pred["ols"],
                                   *meas["ols"][i]))
    for i, c in enumerate(meas["scales"]):
        if c == 1.0:
            continue
        checks.append(pooled_check(f"c = {c:g}: the shift hurts: LSA error above L*(c^2 Sigma), the optimum of an LSA "
                                   "trained at that scale", pred["retrained"][i], *meas["lsa"][i], mode="effect_above"))
    return checks


# -------------------------------------------------------------------------- claim 6: Bayes ridge, OLS peak
def _p6(ctx):
    cfg = reference_config(ctx.size)
    ridge = [th.bayes_ridge_risk_mc(cfg.d, n, cfg.sigma2, cfg.tau2, n_mc=20000, seed=1) for n in cfg.ns]
    # lsa_trained: excess risks of the LSA optimum; the checks compare the trained loss with L* = excess + sigma^2
    return {"ns": list(cfg.ns), "ridge": np.array([r[0] for r in ridge]), "ridge_se": np.array([r[1] for r in ridge]),
            "ridge_mp": np.array([th.bayes_ridge_risk_mp(cfg.d, n, cfg.sigma2, cfg.tau2) for n in cfg.ns]),
            "ols": np.array([th.min_norm_ols_excess_risk(cfg.d, n, cfg.sigma2, cfg.tau2) for n in cfg.ns]),
            "gd_opt": np.array([th.isotropic_optimal_loss(cfg.d, n, cfg.sigma2, cfg.tau2) - cfg.sigma2 for n in cfg.ns]),
            "lsa_trained": np.array([th.isotropic_optimal_loss(REF_D, n, REF_SIGMA2) - REF_SIGMA2 for n in LSA_NS])}


def _reference_table(df):
    return {name: g.pivot(index="seed", columns="n", values="value") for name, g in df.groupby("metric")}


def _m6(ctx):
    cfg = reference_config(ctx.size)
    s = seeds(ctx.size)
    tab = _reference_table(ctx.run(sim.run_reference, cfg, s))
    lsa = [_losses(ctx.run(sim.run, c, s[:4]), c, key="e")["e"] for c in lsa_n_configs(ctx.size)]
    return {"ns": list(cfg.ns), **{k: v.to_numpy().T for k, v in tab.items()}, "lsa_trained": lsa}


def _c6(pred, meas, ctx):
    d = reference_config(ctx.size).d
    B = reference_config(ctx.size).batch
    ns = meas["ns"]
    checks = []
    for i, n in enumerate(ns):
        checks.append(pooled_check(f"Bayes ridge excess risk at n = {n}", pred["ridge"][i], meas["ridge"][i],
                                   meas["ridge_sq"][i], B, extra_se=pred["ridge_se"][i],
                                   rule_extra="(+ the reference's own Monte-Carlo SE)"))
    for i, n in enumerate(ns):
        checks.append(pooled_check(f"one-step GD with the LSA-optimal eta at n = {n}", pred["gd_opt"][i],
                                   meas["gd_opt"][i], meas["gd_opt_sq"][i], B))
    for i, n in enumerate(ns):
        if abs(n - d) >= 4:  # heavy tails: the OLS variance is infinite for |n - d| <= 3
            checks.append(pooled_check(f"min-norm OLS excess risk at n = {n}", pred["ols"][i], meas["ols"][i],
                                       meas["ols_sq"][i], B))
    i_d = ns.index(d)
    peak = mean_ci(meas["ols"][i_d])
    bound = max(th.min_norm_ols_excess_risk(d, d - 2, REF_SIGMA2), th.min_norm_ols_excess_risk(d, d + 2, REF_SIGMA2))
    checks.append(Check(f"double-descent peak: OLS mean risk at n = d = {d} exceeds the finite exact risk at n = d ± 2 "
                        "(context: the expectation is +inf, any large sample clears it)", bound, peak.mean, 0.0,
                        "the expectation is +inf at n = d; a finite sample must exceed the neighbours' exact risk",
                        "above", (peak.low, peak.high), role="context"))
    mp = _pooled(meas["ridge"][i_d], meas["ridge_sq"][i_d], B)
    checks.append(Check(f"Marchenko-Pastur limit is biased at small d: differs from the simulated Bayes risk at n = d = {d}",
                        pred["ridge_mp"][i_d], mp[0], Z_SUITE * mp[1], f"{Z_SUITE:.2f}·SE (pooled)", "differs"))
    el = EPS_LOSS[ctx.size]
    for i, n in enumerate(LSA_NS):
        L_star = pred["lsa_trained"][i] + REF_SIGMA2
        checks += _loss_checks(f"trained LSA at n = {n} (d = {d})", L_star, *meas["lsa_trained"][i], el)
    return checks


CLAIMS = [
    Claim("icl.1", "Trained full LSA reaches the global optimum Gamma*, L*",
          "Mahankali–Hashimoto–Ma arXiv 2307.03576 Thm 1; Zhang–Frei–Bartlett arXiv 2306.09927 Thm 4.1; "
          "Ahn et al. arXiv 2306.00297 Thm 1",
          "A one-layer linear self-attention layer with all 2(d+1)^2 parameters, trained with Adam on fresh prompts, "
          "converges to the effective Gamma* = Omega[(1+1/n)Sigma Omega + c I]^-1 and the minimal loss L*, for "
          "isotropic and anisotropic Sigma; gradient flow on the reduced model from the ZFB init reaches the same point.",
          _p1, _m1, _c1,
          amends="MHM state Gamma* for Sigma = I (eta = n/(n+d+1+sigma^2)); ZFB for sigma = 0. The testbed checks the "
                 "general closed form (re-derived, docs/icl.md, Derivations) that contains both."),
    Claim("icl.2", "With w ~ N(0, Sigma^-1) the optimum is exactly preconditioned GD",
          "Mahankali–Hashimoto–Ma arXiv 2307.03576 §4 (per OpenReview reviewers); Ahn et al. arXiv 2306.00297 Thm 3 data",
          "When w ~ N(0, Sigma^-1) the trained LSA implements one step of Sigma^-1-preconditioned GD, "
          "Gamma* = n/(n+d+1+sigma^2)·Sigma^-1, with the isotropic minimal loss.",
          _p2, _m2, _c2),
    Claim("icl.3", "ReLU responses: the learned Gamma is a multiple of I with the predicted eta",
          "Mahankali–Hashimoto–Ma arXiv 2307.03576 §5 / Thm 3",
          "For y = relu(w^T x) + eps with rotation-invariant random w, the trained LSA still implements one plain GD "
          "step, Gamma = eta·I, with eta = n/(n+2d+3+4 sigma^2) (smaller than for linear responses).",
          _p3, _m3, _c3,
          amends="MHM give the form Gamma* = eta·I; the exact eta here is the testbed's derivation (docs/icl.md, Derivations; MC-verified), "
                 "since the paper's normalisation was not available."),
    Claim("icl.4", "Test-length shift: error vs test length m, with a training-length floor",
          "Zhang–Frei–Bartlett arXiv 2306.09927 Thm 4.2 / Cor 4.3",
          "A model trained on prompts of length N = 20 and tested on length m has error (1/m)tr(Gamma^2 Sigma~ Lambda) "
          "+ O(1/N^2) terms: it falls like 1/m but stays above a floor set by N.",
          _p4, _m4, _c4),
    Claim("icl.5", "Covariate scaling at test hurts the LSA but not OLS",
          "Zhang–Frei–Bartlett arXiv 2306.09927 §4.2 (covariate shift)",
          "Scaling the test covariates x -> c·x changes the trained LSA's error to L(Gamma*; c^2 Sigma), above the "
          "optimum L*(c^2 Sigma) of an LSA trained at that scale for every c != 1, while OLS on the same prompts keeps "
          "its error sigma^2(1 + d/(n-d-1)).",
          _p5, _m5, _c5),
    Claim("icl.6", "Bayes-ridge risk vs n and the min-norm OLS double-descent peak at n = d",
          "Akyürek et al. arXiv 2211.15661 §4 (reference predictors); Hastie et al. arXiv 1903.08560",
          "Ridge with lambda* = sigma^2/tau^2 has the Bayes risk sigma^2 E tr((X^T X + lambda* I)^-1) at every n, "
          "min-norm OLS has the exact finite-n risk with an infinite peak at n = d, one-step GD with the LSA-optimal eta "
          "and the trained LSA sit on the LSA optimum curve.",
          _p6, _m6, _c6),
]
