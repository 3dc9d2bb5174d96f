r"""The LSSL paper's claims (and HiPPO's) checked numerically: views, discretization orders, gating, time scale,
LegS memory, long-range memory on the delay task and deep Picard stacks.

Every simulation goes through ``ctx.run`` (cached in the store); :func:`setup` gives the exact (fn, config, seeds)
of each run per size, so figures and tests re-create the same store keys. Every prediction comes from
``theory/lssl.py``: the discretization orders (:func:`theory.lssl.discretization_order`), the exact continuous
outputs the simulators are measured against, the Picard iterates, the delay task's closed-form read-out and the
ideal delay's frequency response. Tolerance rules are written beside each check and derived in docs/lssl.md.

Convergence orders are checked as *local* orders, :math:`\log_2(e(2\Delta)/e(\Delta))` on the finest pair of
steps, one per seed: |mean - p| <= t·SE + b, t the suite's Student-t quantile on S - 1 dof and b the pre-asymptotic
bias bound :func:`theory.lssl.order_bias_bound` (r·dt/ln 2, r the problem's fastest rate). The errors are maxima
over the times common to every step (a single end time lets the leading error constant pass near zero for some
draws, which made per-seed slopes scatter by ±0.2 before).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from claims.core import Check, Claim, Context, close_check, effect_check
from sims import lssl as sims
from sims import runtime
from theory import lssl as theory
from theory.stats import loglog_slope

HIPPO = ("legs", "legt", "fout")
WINDOWED = ("legt", "fout")
"""State matrices with a finite window: their closed-form read-out is an LTI delay filter. LegS's optimum also uses
the start-up transient of its slow modes (in-band gain up to ~90), so its transfer function is not a delay."""
ORDER_RATE = 4.5
"""Fastest rate of the orders problem class: input frequencies <= 3 rad per unit time (OrdersConfig), and
max |lambda(A)| <= 4.1 over 10^4 draws of the random stable A at N = 6 and 8."""
GATING_RATE = 3.0
"""Fastest rate of the gating ODE x' = -x + sin(w t + p): |lambda| = 1, w <= 3."""
PICARD_RATE = 4.0
"""Fastest rate of the Picard problem: |lambda| = 1 plus the Lipschitz constant 3 of f."""
PICARD_SELECT = 100.0
"""lssl.7 compares the Picard error only at depths where it is >= this many times the discretization floor, so the
floor moves it by <= 1 / PICARD_SELECT = 1 % (the check's tolerance)."""
CLOSED_FORM_KINDS = ("legs", "legt", "fout", "random")
"""State matrices of the closed-form (untrained) delay run: its many seeds give the memory effects their power
(FouT's rel-MSE, 5e-4, is only 2x under the 1e-3 threshold: with the trained run's 6 seeds the one-sided t bound
(t = 11.2) missed it in two of three replicates)."""
DELAY_THRESHOLD = 1e-3
"""HiPPO memory threshold on the closed-form read-out's test rel-MSE (LSSL/HTTYH delay task)."""
RANDOM_FLOOR = 0.3
TRAINED_BOUND = 0.1
TRAINED_RATIO = 0.5
RATE_BAND = 0.3
"""Band of a fitted projection-error exponent over N = 8..64 (curvature of the log-log curve; see docs/lssl.md)."""


def _eps(ctx: Context) -> float:
    return float(torch.finfo(ctx.torch_dtype).eps)


def equivalence_rtol(ctx: Context) -> float:
    """Two float pipelines differ by ~eps·growth relative to max|y|; measured <= 4e-15 (f64) and <= 2.1e-6 (f32,
    LegS N=256, L=4096); hence rtol 1e-10 (f64) and 1e-4 (f32), about 1e5·eps and 1e3·eps (docs/lssl.md)."""
    return 1e-10 if ctx.torch_dtype == torch.float64 else 1e-4


def setup(size: str) -> dict:
    """(fn, config, seeds) of every run the claims make at ``size`` ('test', 'report', 'gpu'). The order, gating,
    resampling and Picard runs batch their seeds, so they carry many (an SE on S - 1 dof needs S >= 8 for a
    Student-t quantile under 9)."""
    seeds = {"test": [0, 1], "report": [0, 1, 2, 3], "gpu": list(range(8))}[size]
    many = {"test": list(range(8)), "report": list(range(32)), "gpu": list(range(64))}[size]
    mid = {"test": list(range(8)), "report": list(range(16)), "gpu": list(range(32))}[size]
    if size == "test":
        return {
            "equivalence": (sims.equivalence_run, sims.EquivalenceConfig(N=8, H=2, L=128, kernel_length=64), seeds),
            "orders": (sims.orders_run, sims.OrdersConfig(N=6), many),
            "gating": (sims.gating_run, sims.GatingConfig(H=4, L=64), many),
            "resample": (sims.resample_run, sims.ResampleConfig(N=16, T=2.0, Ls=(512, 1024, 2048)), mid),
            "legs": (sims.legs_run, sims.LegsConfig(N=32, Ls=(128, 256, 512), Ns_projection=(4, 8, 16, 32),
                                                    norm_N=16), mid),
            "delay": (sims.run, sims.Config(N=64, L=512, lag=256, n_train=4, n_test=4, steps=60, lr=0.05,
                                            log_every=10), list(range(8))),
            "closed_form": (sims.run, sims.Config(kinds=CLOSED_FORM_KINDS, N=64, L=512, lag=256, n_train=4,
                                                  n_test=2, steps=0, record_outputs=False), mid),
            "picard": (sims.picard_run, sims.PicardConfig(depth=22, dt=5e-3, n_halvings=2), mid),
        }
    if size == "report":
        return {
            "equivalence": (sims.equivalence_run, sims.EquivalenceConfig(), seeds),
            "orders": (sims.orders_run, sims.OrdersConfig(), many),
            "gating": (sims.gating_run, sims.GatingConfig(), many),
            "resample": (sims.resample_run, sims.ResampleConfig(T=2.0, Ls=(1024, 2048, 4096, 8192)), mid),
            "legs": (sims.legs_run, sims.LegsConfig(Ls=(256, 512, 1024, 2048)), mid),
            "delay": (sims.run, sims.Config(N=64, L=1024, lag=256, n_train=6, n_test=6, steps=100),
                      list(range(6))),
            "closed_form": (sims.run, sims.Config(kinds=CLOSED_FORM_KINDS, N=64, L=1024, lag=256, n_train=8,
                                                  n_test=2, steps=0, record_outputs=False), mid),
            "picard": (sims.picard_run, sims.PicardConfig(), mid),
        }
    return {
        "equivalence": (sims.equivalence_run, sims.EquivalenceConfig(N=64, H=16, L=2048), seeds),
        "orders": (sims.orders_run, sims.OrdersConfig(N=32, dts=(0.08, 0.04, 0.02, 0.01)), many),
        "gating": (sims.gating_run, sims.GatingConfig(H=256, L=4096), many),
        # N=256 makes LegS stiff (eigenvalues down to -256): the O(dt^2) regime needs max|lambda|·dt << 1. At
        # L <= 16384 the fitted order was 1.1 (H100 run, 2026-11-26, reproduced on the CPU); from L = 65536 it is 2.04.
        "resample": (sims.resample_run, sims.ResampleConfig(N=256, T=2.0, Ls=(65536, 131072, 262144, 524288)), mid),
        "legs": (sims.legs_run, sims.LegsConfig(N=128, Ls=(256, 512, 1024, 2048), Ns_projection=(8, 16, 32, 64, 128)),
                 mid),
        "delay": (sims.run, sims.PRESETS["gpu"], seeds),
        "closed_form": (sims.run, dataclasses.replace(sims.PRESETS["gpu"], kinds=CLOSED_FORM_KINDS, steps=0,
                                                      record_outputs=False), mid),
        "picard": (sims.picard_run, sims.PicardConfig(depth=40, dt=2e-4), mid),
    }


def report_runs(size: str = "report") -> list:
    return list(setup(size).values())


FLOAT64_RUNS = ("orders", "resample", "picard")
"""Runs whose convergence orders are measured in float64 whatever the context's dtype: their finest-step errors
(1e-6 to 1e-7 for the second-order methods) sit at float32 rounding, where a local order is noise (float32 gave
0.82 for ZOH with midpoint samples, predicted 2)."""


def _run(ctx: Context, name: str):
    fn, config, seeds = setup(ctx.size)[name]
    return ctx.run(fn, config, seeds, dtype=torch.float64 if name in FLOAT64_RUNS else None), config


def _scalar(df, metric):
    """Per-seed values of a metric without steps, in seed order."""
    d = df[(df.metric == metric) & df.step.isna()] if "step" in df else df[df.metric == metric]
    return d.sort_values("seed").value.to_numpy()


def _curves(df, metric):
    """(n_seeds, n_steps) array of a stepped metric."""
    d = df[df.metric == metric].pivot(index="seed", columns="step", values="value")
    return d.sort_index(axis=1).to_numpy()


def _slopes(x, curves, sl=slice(None)):
    return np.array([loglog_slope(np.asarray(x)[sl], c[sl]).slope for c in curves])


def _local_orders(steps, curves):
    """Per-seed local order on the finest pair of steps: log(e_coarse / e_fine) / log(step_coarse / step_fine);
    ``steps`` in the order of the curves' columns, the finest last."""
    steps = np.asarray(steps, dtype=np.float64)
    curves = np.asarray(curves, dtype=np.float64)
    return np.log(curves[:, -2] / curves[:, -1]) / np.log(steps[-2] / steps[-1])


def _order_check(name, order, samples, bias, reason=""):
    return close_check(name, order, samples, bias_bound=bias,
                       rule_extra="pre-asymptotic bias bound r·dt/ln 2 (theory.order_bias_bound)"
                       + (f"; order {order:g}: {reason}" if reason else ""))


# ----------------------------------------------------------------------------------------------------------------
# 1. recurrence == convolution


def _predict_equivalence(ctx):
    return {"gap": 0.0}


def _measure_equivalence(ctx):
    df, config = _run(ctx, "equivalence")
    out = {m: {kind: float(_scalar(df, f"{kind}_{m}").max()) for kind in ("scan_vs_conv", "toeplitz_vs_conv",
                                                                             "squaring_vs_naive")}
           for m in config.methods}
    worst = max(v for d in out.values() for v in d.values())
    out["note"] = (f"worst relative gap over {len(config.methods)} methods and all seeds: {worst:.2e} "
                   f"({runtime.dtype_name(ctx.torch_dtype)}); N={config.N}, L={config.L}, "
                   f"dt log-uniform in [{config.dt_min}, {config.dt_max}], nonzero x_-1={config.nonzero_x0}")
    return out


def _compare_equivalence(pred, meas, ctx):
    tol = equivalence_rtol(ctx)
    rule = (f"rtol {tol:g} for {runtime.dtype_name(ctx.torch_dtype)} "
            "(eps·growth; observed 4e-15 f64 / 2e-6 f32)")
    checks = []
    for method, gaps in meas.items():
        if method == "note":
            continue
        for kind, gap in gaps.items():
            checks.append(Check(f"{kind} ({method}), max over seeds", pred["gap"], gap, tol, rule, "below"))
    return checks


# ----------------------------------------------------------------------------------------------------------------
# 2. convergence orders


def _predict_orders(ctx):
    _, config, _ = setup(ctx.size)["orders"]
    out = {}
    for m in config.methods:
        for s in config.samplings:
            order, reason = theory.discretization_order(m, s)
            out[f"{m}_{s}"] = {"order": float(order), "reason": reason}
    out["bias"] = theory.order_bias_bound(ORDER_RATE, min(config.dts))
    return out


def _measure_orders(ctx):
    df, config = _run(ctx, "orders")
    dts = np.sort(np.asarray(config.dts))[::-1]
    out = {}
    for m in config.methods:
        for s in config.samplings:
            curves = _curves(df, f"err_{m}_{s}")[:, np.argsort(config.dts)[::-1]]
            out[f"{m}_{s}"] = _local_orders(dts, curves).tolist()
    out["note"] = ("local orders on dt = {:g} -> {:g} (mean over {} seeds): ".format(dts[-2], dts[-1], len(
        next(iter(out.values())))) + ", ".join(f"{k.replace('_', ' ')} {np.mean(v):.4f}" for k, v in out.items()))
    return out


def _compare_orders(pred, meas, ctx):
    return [_order_check(f"order of {name.replace('_', ' ')} (local, finest pair of steps)", p["order"],
                         meas[name], pred["bias"], p["reason"])
            for name, p in pred.items() if name != "bias"]


# ----------------------------------------------------------------------------------------------------------------
# 3. gating lemma


def _predict_gating(ctx):
    _, config, _ = setup(ctx.size)["gating"]
    z = np.linspace(-20, 20, 4001)
    a_gate, b_gate = theory.sigmoid_gate(z)
    a_be, b_be = theory.gating_lemma(z)
    gap = float(max(np.max(np.abs(a_gate - a_be) / a_be), np.max(np.abs(b_gate - b_be) / b_be)))
    order, reason = theory.discretization_order("backward_euler", "endpoint")
    return {"gap": 0.0, "theory_gap": gap, "ode_order": float(order), "reason": reason,
            "bias": theory.order_bias_bound(GATING_RATE, min(config.dts))}


def _measure_gating(ctx):
    df, config = _run(ctx, "gating")
    order = np.argsort(config.dts)[::-1]
    return {"gate_vs_scan": float(_scalar(df, "gate_vs_scan").max()),
            "gate_vs_conv": float(_scalar(df, "gate_vs_conv").max()),
            "ode_orders": _local_orders(np.asarray(config.dts)[order], _curves(df, "ode_err")[:, order]).tolist(),
            "L": config.L}


def _compare_gating(pred, meas, ctx):
    eps = _eps(ctx)
    tol_scan = 10 * meas["L"] * eps
    rule = f"10·L·eps = {tol_scan:.2g} (L={meas['L']} rounding steps of a contraction)"
    return [
        Check("(1-sigma(z), sigma(z)) == backward Euler of x'=-x+u, dt=e^z, z in [-20,20] (float64, relative)",
              pred["gap"], pred["theory_gap"], 1e-14, "a few ulps (1e-14)", "below"),
        Check("gated RNN == LSSL backward Euler, recurrent view (max rel gap)", pred["gap"], meas["gate_vs_scan"],
              tol_scan, rule, "below"),
        Check("gated RNN == LSSL backward Euler, convolutional view (max rel gap)", pred["gap"],
              meas["gate_vs_conv"], max(tol_scan, equivalence_rtol(ctx)),
              f"max(10·L·eps, {equivalence_rtol(ctx):g}) (FFT rounding)", "below"),
        _order_check("gated RNN with z = log dt converges to the ODE: local order", pred["ode_order"],
                     meas["ode_orders"], pred["bias"], pred["reason"]),
    ]


# ----------------------------------------------------------------------------------------------------------------
# 4. dt is a time scale


def _predict_timescale(ctx):
    _, config, _ = setup(ctx.size)["resample"]
    order, reason = theory.discretization_order(config.method, "midpoint")
    A, _ = theory.hippo(config.kind, config.N)
    rate = max(theory.spectral_radius(A), 2 * math.pi * 2.0)  # tones <= 2 cycles per unit time
    return {"scale_gap": 0.0, "resample_order": float(order), "reason": reason,
            "bias": theory.order_bias_bound(rate, config.T / max(config.Ls))}


def _measure_timescale(ctx):
    df, config = _run(ctx, "resample")
    gaps = _curves(df, "resample_gap")
    dts = config.T / np.asarray(config.Ls, dtype=float)
    return {"scale_gap": float(_scalar(df, "scale_identity_gap").max()), "orders": _local_orders(dts, gaps).tolist(),
            "scale_L": config.scale_L,
            "note": f"relative resampling gap at L={config.Ls}: " + ", ".join(f"{g:.2e}" for g in gaps.mean(0))}


def _compare_timescale(pred, meas, ctx):
    eps = float(torch.finfo(torch.float64).eps)  # the resampling run is float64 (FLOAT64_RUNS)
    tol = max(100 * meas["scale_L"] * eps, 1e-12)
    return [
        Check("K(cA, cB; dt/c) == K(A, B; dt), c in [0.1, 10] (max rel gap)", pred["scale_gap"], meas["scale_gap"],
              tol, f"100·L·eps = {tol:.2g} (the discretizations see only dt·A and dt·B)", "below"),
        _order_check("resampling gap |y_dt[1::2] - y_2dt|: local order (finest pair)", pred["resample_order"],
                     meas["orders"], pred["bias"], "the gap of two O(dt^p) approximations is (2^p - 1)·c·dt^p; "
                     + pred["reason"]),
    ]


# ----------------------------------------------------------------------------------------------------------------
# 5. HiPPO-LegS memory


def _predict_legs(ctx):
    _, config, _ = setup(ctx.size)["legs"]
    sym = 0.0
    for N in (1, 2, 8, 32, 128):
        A, B = theory.hippo("legs", N)
        sym = max(sym, float(np.max(np.abs(A + A.T + np.eye(N) + np.outer(B, B)))) / (2 * N))
    f1 = lambda x: np.abs(x - 0.5)  # noqa: E731 (k = 1 kink)
    f2 = lambda x: (x - 0.5) * np.abs(x - 0.5)  # noqa: E731 (k = 2)
    Ns = np.array([4, 8, 16, 32, 64])
    e1 = theory.legendre_projection_error(f1, Ns, breakpoints=[0.5])
    e2 = theory.legendre_projection_error(f2, Ns, breakpoints=[0.5])
    # the exponent's band: how far the exact projection exponent of |x - kappa| over the fitted N range strays from
    # -(k + 1/2) for the simulator's kink positions kappa in [0.3, 0.7] (oscillating corrections in N)
    fit_Ns = np.array([n for n in config.Ns_projection if n >= 8])
    band = max(abs(loglog_slope(fit_Ns, theory.legendre_projection_error(
        lambda x, k=k: np.abs(x - k), fit_Ns, breakpoints=[k])).slope + 1.5) for k in np.linspace(0.3, 0.7, 21))
    A, _ = theory.hippo("legs", config.N)
    return {"sym_gap_rel": sym, "norm_bound": 1.0, "midpoint_order": -2.0, "published_order": -1.0,
            "rate_observed_k1": -1.5, "rate_prop6_k1": -0.5, "rate_band": band,
            "order_bias": theory.order_bias_bound(theory.spectral_radius(A), 1.0 / max(config.Ls)),
            "theory_slope_k1": loglog_slope(Ns, e1).slope, "theory_slope_k2": loglog_slope(Ns, e2).slope,
            "monotone_k1": bool(np.all(np.diff(e1) <= 1e-15)), "monotone_k2": bool(np.all(np.diff(e2) <= 1e-15)),
            "norm_N": config.norm_N}


def _measure_legs(ctx):
    df, config = _run(ctx, "legs")
    Ls = np.asarray(config.Ls, dtype=float)
    Ns = np.asarray(config.Ns_projection, dtype=float)
    mid, pub = _curves(df, "coef_err_midpoint"), _curves(df, "coef_err_published")
    recon, proj = _curves(df, "recon_err"), _curves(df, "proj_err")
    fit = Ns >= 8
    return {"max_norm": float(_scalar(df, "max_norm_Abar").max()),
            "midpoint_orders": (-_local_orders(1 / Ls, mid)).tolist(),
            "published_orders": (-_local_orders(1 / Ls, pub)).tolist(),
            "recon_vs_proj": float(np.max(np.abs(recon - proj) / proj)),
            "recon_slopes": _slopes(Ns[fit], recon[:, fit]).tolist(),
            "recon_monotone": bool(np.all(np.diff(recon, axis=1) <= 0)),
            "note": (f"local order in 1/L (finest pair): published A/k {np.mean(-_local_orders(1 / Ls, pub)):.4f}, "
                     f"A/(k-1/2) with midpoint samples {np.mean(-_local_orders(1 / Ls, mid)):.4f}. Projection "
                     f"error of a one-kink signal decays like N^{np.mean(_slopes(Ns[fit], recon[:, fit])):.3f}, "
                     f"sqrt(N) faster than HiPPO Prop. 6's N^-1/2 bound.")}


def _compare_legs(pred, meas, ctx):
    eps = _eps(ctx)
    norm_tol = 10 * pred["norm_N"] * eps
    band_rule = (f"band {pred['rate_band']:.3f} = max |exponent + 3/2| of the exact projection error of |x - kappa| "
                 "over the fitted N range, kappa in [0.3, 0.7]")
    return [
        Check("LegS: max|A + A^T + I + BB^T| / (2N), N in {1..128} (float64)", 0.0, pred["sym_gap_rel"],
              10 * np.finfo(float).eps, "10·eps per entry (exact integers and square roots)", "below"),
        Check("||A_bar||_2 <= 1 for LegS/LegT/LagT/FouT x bilinear/BE/ZOH, dt in 1e-4..1e2", pred["norm_bound"],
              meas["max_norm"], norm_tol, f"10·N·eps = {norm_tol:.2g} (matrix 2-norm rounding)", "below"),
        close_check("LegS state -> Legendre coefficients, A/(k-1/2) + midpoint: local order in 1/L",
                    pred["midpoint_order"], meas["midpoint_orders"], bias_bound=pred["order_bias"],
                    rule_extra="pre-asymptotic bias bound N/(L ln 2) (theory.order_bias_bound)"),
        close_check("published A/k recurrence: local order in 1/L (only first order)",
                    pred["published_order"], meas["published_orders"], bias_bound=pred["order_bias"],
                    rule_extra="pre-asymptotic bias bound N/(L ln 2) (theory.order_bias_bound)"),
        Check("projection error non-increasing in N (theory, two kink signals; and the simulated states)", 1.0,
              float(pred["monotone_k1"] and pred["monotone_k2"] and meas["recon_monotone"]), 0.0,
              "nested subspaces: exact", "close"),
        Check("reconstruction from the simulated state == exact projection error (max rel gap)", 0.0,
              meas["recon_vs_proj"], 0.05, "5 %: the finest state's coefficient error is << the projection error",
              "below", resolution=0.05, resolution_units="relative gap"),
        close_check("projection-error exponent, one kink (k=1): observed N^-(k+1/2)", pred["rate_observed_k1"],
                    meas["recon_slopes"], bias_bound=pred["rate_band"], rule_extra=band_rule),
        Check("HiPPO Prop. 6 bound N^-(k-1/2) holds (fitted exponent <= -1/2)", pred["rate_prop6_k1"],
              float(np.mean(meas["recon_slopes"])), 0.0, "an upper bound: the exponent may only be steeper",
              "below", role="context"),
        Check("theory: |x-1/2| projection exponent (k=1) is -(k+1/2), not Prop. 6's -(k-1/2)", -1.5,
              pred["theory_slope_k1"], RATE_BAND, "curvature band ±0.3 over N = 4..64", "close", role="context"),
        Check("theory: (x-1/2)|x-1/2| projection exponent (k=2) is -(k+1/2)", -2.5, pred["theory_slope_k2"],
              RATE_BAND, "curvature band ±0.3 over N = 4..64", "close", role="context"),
    ]


# ----------------------------------------------------------------------------------------------------------------
# 6. long-range memory on the delay task


def _predict_delay(ctx):
    _, config, _ = setup(ctx.size)["delay"]
    rng = np.random.default_rng(12345)
    n = {"test": 8, "report": 16, "gpu": 32}[ctx.size]
    u = theory.whitesignal(2 * n, config.L, config.dt, config.freq, rng)
    y = theory.delay_target(u, config.lag)
    omegas = theory.delay_band(config.L, config.lag, config.freq)
    out, delays, resolution = {}, {}, {}
    for kind in config.kinds:
        if kind == "random":
            A, B = theory.random_stable(config.N, rng), rng.standard_normal(config.N)
        else:
            A, B = theory.hippo(kind, config.N)
        A_bar, B_bar = theory.discretize(A, B, config.dt, config.method)
        fit = theory.delay_lstsq(A_bar, B_bar, u[:n], y[:n], u[n:], y[n:], start=config.lag)
        out[kind] = fit["test_rel_mse"]
        if kind in WINDOWED:
            H = theory.transfer_function(A_bar, B_bar, fit["C"], fit["D"], omegas)
            delays[kind] = theory.fitted_delay(H, omegas, config.lag)
            resolution[kind] = theory.delay_resolution(config.L, config.lag, config.freq, fit["test_rel_mse"])
    return {"lstsq": out, "lstsq_delay": delays, "delay_tol": resolution,
            "delay": theory.fitted_delay(theory.delay_response(config.lag, omegas), omegas, config.lag),
            "hippo_bound": DELAY_THRESHOLD, "random_floor": RANDOM_FLOOR, "trained_bound": TRAINED_BOUND,
            "trained_ratio": TRAINED_RATIO}


def _band_delays(df, config, fit, kind):
    omegas = theory.delay_band(config.L, config.lag, config.freq)
    H = _curves(df, f"H_re_{fit}_{kind}") + 1j * _curves(df, f"H_im_{fit}_{kind}")
    return np.array([theory.fitted_delay(h, omegas, config.lag) for h in H])


def _measure_delay(ctx):
    df, config = _run(ctx, "delay")
    cf, cf_config = _run(ctx, "closed_form")
    out = {"lstsq": {k: _scalar(cf, f"lstsq_rel_mse_{k}").tolist() for k in cf_config.kinds},
           "trained": {k: _scalar(df, f"test_rel_mse_{k}").tolist() for k in config.kinds},
           "lstsq_delay": {k: _band_delays(cf, cf_config, "lstsq", k).tolist() for k in WINDOWED
                           if k in cf_config.kinds},
           "trained_delay": {k: _band_delays(df, config, "trained", k).tolist() for k in HIPPO
                             if k in config.kinds},
           "band": (config.L, config.lag, config.freq)}
    out["note"] = ("trained test rel-MSE after {} Adam steps: ".format(config.steps) + ", ".join(
        f"{k} {np.mean(v):.2g}" for k, v in out["trained"].items()) + "; closed form ({} seeds): ".format(
        len(out["lstsq"]["legt"])) + ", ".join(
        f"{k} {np.mean(v):.2g}" for k, v in out["lstsq"].items()) + "; fitted delays (steps, lag {}): ".format(
        config.lag) + ", ".join(f"trained {k} {np.mean(v):.3f}" for k, v in out["trained_delay"].items()) + ", "
        + ", ".join(f"closed-form {k} {np.mean(v):.4f}" for k, v in out["lstsq_delay"].items()))
    return out


def _compare_delay(pred, meas, ctx):
    """Delays: the fitted delay of a read-out whose in-band relative error is sqrt(eps) can sit at most
    theory.delay_resolution(eps) steps from its true delay, so the closed-form read-out of each windowed HiPPO
    matrix must realise the theory's delay to within that resolution at its rel-MSE (theory data: the theory's
    rel-MSE; simulator: the worst seed's; 0.002-0.004 steps for LegT, ~0.35 for FouT at report size), and the
    trained models' mean to within t·SE plus the resolution at their mean rel-MSE; a one-step error in the delay
    (target, band or read-out) moves them by 1 step, and the thresholds do not see it (LegT's rel-MSE rises from
    2e-8 to 1e-4).
    Thresholds (memory, random floor, trained bound, ordering) are effects: the one-sided t bound of the mean of
    log10 rel-MSE over seeds must clear the threshold. History: with the closed form taken from the 6-seed trained
    run, the HiPPO memory effect failed in the replicates --seed-offset 1000 and 2000 (FouT at 5.2e-4, bound -2.91
    against -3: t(5) = 11.2 times SE 0.033; 3000 failed one lssl.6 check too); the closed form now comes from its own 16-seed run without
    training (8 training sequences per seed: with 3 the fit overfits, FouT rose to 7e-4 and the bound to -3.0006),
    t(15) = 5.2."""
    checks = []
    hippo = [k for k in HIPPO if k in pred["lstsq"]]
    L, lag, freq = meas["band"]
    for k in hippo:
        checks.append(Check(f"closed-form read-out, {k} (theory data): test rel-MSE", pred["hippo_bound"],
                            pred["lstsq"][k], 0.0, "memory threshold 1e-3 (deterministic: fixed theory data)",
                            "effect_below"))
    for k, tau in pred["lstsq_delay"].items():
        checks.append(Check(f"closed-form read-out, {k} (theory data): fitted delay (steps)", pred["delay"], tau,
                            pred["delay_tol"][k], f"theory.delay_resolution at its rel-MSE {pred['lstsq'][k]:.1e}",
                            "close", resolution=pred["delay_tol"][k], resolution_units="steps"))
    for k, taus in meas["lstsq_delay"].items():
        eps = max(meas["lstsq"][k])
        tol = theory.delay_resolution(L, lag, freq, eps)
        worst = float(max(taus, key=lambda v: abs(v - pred["delay"])))
        checks.append(Check(f"closed-form read-out, {k} (simulator, worst seed): fitted delay (steps)",
                            pred["delay"], worst, tol, f"theory.delay_resolution at its worst rel-MSE {eps:.1e}",
                            "close", resolution=tol, resolution_units="steps"))
    if hippo:
        worst_kind = np.max([np.log10(meas["lstsq"][k]) for k in hippo], axis=0)
        checks.append(effect_check(f"closed-form read-out on simulator data, worst of {'/'.join(hippo)}: "
                                   "log10 test rel-MSE", math.log10(pred["hippo_bound"]), worst_kind,
                                   direction="below", resolution_units="log10"))
    if "random" in pred["lstsq"]:
        checks.append(Check("closed-form read-out, random stable A (theory data): test rel-MSE",
                            pred["random_floor"], pred["lstsq"]["random"], 0.0,
                            "no memory: floor 0.3 (deterministic: fixed theory data)", "effect_above"))
        checks.append(effect_check("closed-form read-out, random stable A (simulator): log10 test rel-MSE",
                                   math.log10(pred["random_floor"]), np.log10(meas["lstsq"]["random"]),
                                   direction="above", resolution_units="log10"))
    trained = meas["trained"]
    if hippo:
        worst_trained = np.max([np.log10(trained[k]) for k in hippo], axis=0)
        checks.append(effect_check(f"trained {'/'.join(hippo)}, worst per seed: log10 test rel-MSE",
                                   math.log10(pred["trained_bound"]), worst_trained, direction="below",
                                   resolution_units="log10"))
        eps = float(np.mean([np.mean(trained[k]) for k in hippo]))
        tau = np.mean([meas["trained_delay"][k] for k in hippo], axis=0)
        bias = theory.delay_resolution(L, lag, freq, eps)
        checks.append(close_check(f"trained {'/'.join(hippo)}: fitted delay (steps, mean over kinds per seed)",
                                  pred["delay"], tau, bias_bound=bias,
                                  rule_extra=f"= theory.delay_resolution at the trained rel-MSE {eps:.1e}",
                                  resolution_units="steps"))
    others = [k for k in ("lagt", "random") if k in trained]
    if hippo and others:
        ratio = (np.max([np.log10(trained[k]) for k in hippo], axis=0)
                 - np.min([np.log10(trained[k]) for k in others], axis=0))
        checks.append(effect_check(f"trained: log10(worst HiPPO / best of {'/'.join(others)}) per seed",
                                   math.log10(pred["trained_ratio"]), ratio, direction="below",
                                   resolution_units="log10"))
    return checks


# ----------------------------------------------------------------------------------------------------------------
# 7. deep order-1 stacks = Picard


def _predict_picard(ctx):
    df, config = _run(ctx, "picard")  # the problems (x0, phase) the simulator drew; no outputs are read
    x0, phase = _scalar(df, "x0"), _scalar(df, "phase")
    t = config.dt * np.arange(config.n_steps + 1)
    order, reason = theory.discretization_order("bilinear", "cell_average")
    depth = np.arange(config.depth + 1)
    # |x| <= max(|x0|, 2) since x' = -x + f with |f| <= 2, so M = sup|x0 - x| <= 3
    return {"picard_err": theory.picard_errors(x0, phase, t, config.depth).tolist(), "order": float(order),
            "reason": reason, "bias": theory.order_bias_bound(PICARD_RATE, config.dt),
            "envelope": theory.picard_envelope(depth, 3.0, theory.PICARD_LIPSCHITZ, config.T).tolist()}


def _measure_picard(ctx):
    df, config = _run(ctx, "picard")
    err = _curves(df, "sup_err")
    D = np.stack([_curves(df, f"iterate_err_{i}")[:, 1:].max(-1) for i in range(config.n_halvings + 1)], axis=-1)
    dts = np.asarray(config.dts)
    return {"sup_err": err.tolist(), "stack_err": D.tolist(), "dts": dts.tolist(),
            "note": "sup-error by depth (mean over seeds): " + ", ".join(
                f"{d}: {err[:, d].mean():.1e}" for d in (1, 2, 5, 10, 15, 20, config.depth) if d <= config.depth)
            + "; stack vs exact Picard iterates, max over depths (mean over seeds) at dt = " + ", ".join(
                f"{d:g}: {v:.1e}" for d, v in zip(dts, D.mean(0)))}


def _compare_picard(pred, meas, ctx):
    """The stack's layer l is the l-th Picard iterate up to the bilinear discretization error D(dt) = O(dt^2)
    (check 1, the order of D from the theory). The floor at the finest step is then predicted from the next step by
    that order, floor = D(2 dt)/2^p, a different run than the one it bounds; at every (seed, depth) where the exact
    Picard error e_l (theory.picard_errors) is >= 100 floors, the measured sup-error may differ from e_l by at most
    the floor, i.e. by 1 % of e_l (check 2). The Picard-Lindelöf envelope holds but is loose by up to 10^4
    (context)."""
    err = np.asarray(meas["sup_err"])
    e = np.asarray(pred["picard_err"])
    D = np.asarray(meas["stack_err"])
    dts = np.asarray(meas["dts"])
    floor = D[:, 1] * (dts[0] / dts[1]) ** pred["order"]
    sel = (e >= PICARD_SELECT * floor[:, None]) & (np.arange(e.shape[1]) >= 1)[None, :]
    gap = float(np.max(np.abs(err - e)[sel] / e[sel])) if sel.any() else math.inf
    env = np.asarray(pred["envelope"])
    excess = float(np.max(e - env[None, :]))
    return [
        _order_check("stack == exact Picard iterates up to O(dt^p): local order of the gap (finest pair)",
                     pred["order"], _local_orders(dts[::-1], D[:, ::-1]), pred["bias"], pred["reason"]),
        Check(f"sup-error == exact Picard error e_l at the {int(sel.sum())} (seed, depth) pairs with e_l >= "
              f"{PICARD_SELECT:g}·floor (max relative gap)", 0.0, gap, 1 / PICARD_SELECT,
              "floor = D(2dt)/2^p from the coarser run and the theory's order; |sup-err - e_l| <= floor <= 1 % e_l",
              "below", resolution=1 / PICARD_SELECT),
        Check("exact Picard error <= M(L_f T)^l / l!, every depth and seed", 0.0, excess, 0.0,
              "Picard-Lindelöf envelope (M = 3, L_f = 3); loose by up to 10^4", "below", role="context"),
    ]


CLAIMS = [
    Claim("lssl.1", "Recurrence = convolution", "LSSL arXiv 2110.13985 §3.1-3.2, eqs. (4)-(7)",
          "For any A_bar, B_bar, C, D and initial state, the recurrent scan, the FFT convolution with the Krylov "
          "kernel and the direct Toeplitz product give the same outputs up to rounding, for every discretization.",
          _predict_equivalence, _measure_equivalence, _compare_equivalence),
    Claim("lssl.2", "Discretization orders", "LSSL arXiv 2110.13985 eq. (3), App. C.1.3",
          "Forward and backward Euler are first order; bilinear and ZOH are second order with midpoint (cell-average) "
          "input samples and first order with endpoint samples.",
          _predict_orders, _measure_orders, _compare_orders,
          amends="LSSL states the bilinear method's second order without the sampling condition; with endpoint "
                 "samples u_k = u(k dt) every method is first order."),
    Claim("lssl.3", "Gating lemma", "LSSL arXiv 2110.13985 Lemma 3.1",
          "The sigmoid-gated recurrence x_t = (1-sigma(z))x_{t-1} + sigma(z)u_t is the backward-Euler discretization "
          "of x' = -x + u with step dt = e^z.",
          _predict_gating, _measure_gating, _compare_gating),
    Claim("lssl.4", "dt is a time scale", "LSSL arXiv 2110.13985 §3.2, §5 (SC resampling)",
          "K(cA, cB; dt/c) = K(A, B; dt) exactly, and a model run on a signal resampled at 2 dt matches the dt run "
          "at the common times up to O(dt^2).",
          _predict_timescale, _measure_timescale, _compare_timescale),
    Claim("lssl.5", "HiPPO-LegS memory", "HiPPO arXiv 2008.07669 Thm 2, Prop. 6; LSSL App. B.2",
          "LegS satisfies A + A^T = -(I + BB^T), stable discretizations have ||A_bar|| <= 1, the LegS state is the "
          "Legendre projection of the history, and its error is non-increasing in N at rate N^-(k+1/2) for C^k kinks.",
          _predict_legs, _measure_legs, _compare_legs,
          amends="HiPPO Prop. 6 bounds the projection error by O(N^-(k-1/2)); the observed rate is N^-(k+1/2), "
                 "sqrt(N) faster. The published A/k recurrence converges only at O(1/L); A/(k-1/2) with midpoint "
                 "samples is O(1/L^2) (a testbed observation, not a paper claim)."),
    Claim("lssl.6", "Long-range memory (delay task)", "LSSL arXiv 2110.13985 §4-5; HTTYH arXiv 2206.12037 §5",
          "On the continuous-delay task the closed-form read-out with a HiPPO matrix reaches relative error below "
          "1e-3 and realises the delay of lag steps, while a random stable matrix stays above 0.3; Adam-trained "
          "LSSLs realise the same delay and order the matrices the same way.",
          _predict_delay, _measure_delay, _compare_delay),
    Claim("lssl.7", "Deep order-1 stacks are Picard iterations", "LSSL arXiv 2110.13985 Lemma 3.2, Thm 4, Lemma C.2",
          "A stack of l order-1 LSSL layers with a position-wise nonlinearity f computes the l-th Picard iterate of "
          "x' = -x + f(t, x) up to the O(dt^2) discretization error, so its error is the exact Picard error "
          "(at most M(L_f T)^l / l!) plus that floor.",
          _predict_picard, _measure_picard, _compare_picard),
]
