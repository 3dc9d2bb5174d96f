"""Closed-form predictions beside a simulator's measurements: the ``theory`` column of ``python -m sims run``.

One function per (system, simulator) maps the run's Config to ``{metric label: predicted value}``, with labels as
:func:`sims.__main__.summarise` prints them (``eval_loss``, ``gamma_0_1``, ``grid_acc_p41``, ...). Every value comes
from a function of ``theory/<system>.py``, the same pairing the system's claims use (``claims/<system>.py``); a
metric without such a function gets no entry, so its ``theory`` cell stays blank. Each entry of :data:`PREDICTIONS`
carries a one-line ``meaning`` (global optimum after training, exact mean, ...) that the command line prints under
the table, because the pairings are not all of one kind.

:func:`predict` runs a prediction with a time budget (:data:`BUDGET_S`): one that takes longer, or raises because
the config lies outside the theory's assumptions, is skipped and says why in one line; the run itself is unaffected.

Pairings (metric <- theory function):

- ``icl.run``: ``eval_loss`` <- ``theory.icl.optimal_loss`` (linear responses) or ``nonlinear_loss`` at
  ``nonlinear_eta`` (ReLU/tanh with Sigma = I, identity prior, tau2 = 1); ``gamma_i_j`` <- ``optimal_gamma`` (or
  ``nonlinear_eta``·I); ``gd_m<m>`` / ``gd_scale<c>`` <- ``population_loss`` of Gamma* at test length m or
  covariance c²·Sigma; ``ols_scale<c>`` <- sigma² + ``min_norm_ols_excess_risk`` (Sigma = I, identity prior).
- ``icl.run_reduced``: ``gamma_i_j`` <- ``zfb_gamma``; ``loss`` (last step) <- ``optimal_loss`` (sigma² = 0,
  identity prior, tau2 = 1: ZFB Thm 4.1).
- ``admm.run``: ``nmsd`` (last step) <- ``theory.admm.exact_moments``; ``nmsd_window`` <- ``exact_plateau``;
  ``local_err_j`` / ``global_err_j`` (RERCE, fixed participation) <- the error-state mean of ``exact_moments``.
- ``grokking.ascent``: ``energy_over_M`` (full table) <- ``theory.grokking.energy_max`` / M.
- ``grokking.analytic``: ``grid_acc_p<p>`` <- ``network_accuracy`` of ``phase_grid_network``;
  ``grid_margin_ratio_p<p>`` <- its ``normalized_margin`` / ``morwani_max_margin``.
- ``hierarchical.run``: ``err_plateau`` <- ``theory.hierarchical.kernel_plateau``.

lssl has no entry: its claims compare rates (discretization orders, projection-error exponents), identities
(scan = convolution, gate = backward Euler) and bounds, none of which is a per-config value of a simulator metric.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

BUDGET_S = 1.0
"""Wall-clock budget of one prediction: a slower one is skipped, so the summary never waits on theory."""
WORK_LIMIT = 2e9
"""Largest estimated work (n_iter·D³-style operation counts) a prediction starts, about 1 s on one core: measured
(CPU time, admm cpu preset, 2000 steps, two recursions) 0.46 s for RERCE at 8.8e8, 0.43 s for consensus ADMM at
1.9e9 and 6 s for the continual variant at 5.0e9. A bigger config is refused before any work, so :data:`BUDGET_S`
is a backstop and an abandoned prediction runs on for at most a few seconds."""


def _check_work(work: float, what: str) -> None:
    if work > WORK_LIMIT:
        raise ValueError(f"{what} needs ~{work:.1e} operations (> {WORK_LIMIT:.0e}, about 1 s): too costly to "
                         "show beside a run")


@dataclass(frozen=True)
class Prediction:
    """A prediction function (Config -> {metric label: value}) and what its values mean, for the footnote."""

    fn: Callable
    meaning: str


# ------------------------------------------------------------------------------------------------------------- icl
def icl_run(config) -> dict[str, float]:
    """Global optimum of the configured prompt law (Gamma*, L*) and exact losses of Gamma* at shifted test laws."""
    from theory import icl as th

    d = config.d
    if config.response == "linear":
        Gamma = th.optimal_gamma(config.Sigma, config.n, config.sigma2, config.Omega)
        out = {"eval_loss": th.optimal_loss(config.Sigma, config.n, config.sigma2, config.Omega)}
    elif config.spectrum == () and config.prior == "identity" and config.tau2 == 1.0:
        eta = th.nonlinear_eta(d, config.n, config.sigma2, config.response)
        Gamma = eta * np.eye(d)
        out = {"eval_loss": th.nonlinear_loss(eta, d, config.n, config.sigma2, config.response)}
    else:
        raise ValueError(f"response={config.response!r} has a closed-form optimum only with spectrum=(), "
                         "prior='identity' and tau2=1 (theory.icl.nonlinear_eta)")
    out.update({f"gamma_{i}_{j}": float(Gamma[i, j]) for i in range(d) for j in range(d)})
    if config.response == "linear":
        for m in config.eval_lengths:
            out[f"gd_m{m}"] = th.population_loss(Gamma, config.Sigma, m, config.sigma2, config.Omega)
        for c in config.eval_scales:
            c = float(c)
            out[f"gd_scale{c:g}"] = th.population_loss(Gamma, c * c * config.Sigma, config.n, config.sigma2,
                                                       config.Omega)
            if config.spectrum == () and config.prior == "identity":
                out[f"ols_scale{c:g}"] = config.sigma2 + th.min_norm_ols_excess_risk(d, config.n, config.sigma2,
                                                                                     config.tau2)
    return out


def icl_run_reduced(config) -> dict[str, float]:
    """Gamma_ZFB = Gamma_Z^{-1}, the gradient-flow limit of the reduced model, and the global minimum L* it attains."""
    from theory import icl as th

    if not (config.sigma2 == 0 and config.prior == "identity" and config.tau2 == 1.0):
        raise ValueError("theory.icl.zfb_gamma (ZFB Thm 4.1) assumes sigma2=0, prior='identity', tau2=1; got "
                         f"sigma2={config.sigma2:g}, prior={config.prior!r}, tau2={config.tau2:g}")
    Gamma = th.zfb_gamma(config.Sigma, config.n)
    out = {f"gamma_{i}_{j}": float(Gamma[i, j]) for i in range(config.d) for j in range(config.d)}
    out["loss"] = th.optimal_loss(config.Sigma, config.n, 0.0)
    return out


# ------------------------------------------------------------------------------------------------------------ admm
def _admm_state_dimension(config) -> int:
    """Size D of the moment recursion's error state (theory.admm.rerce_matrices / admm_matrices /
    continual_matrices); 3KL, the largest, for the Bernoulli mixtures."""
    K, L = config.K, config.L
    if config.variant == "rerce" and config.participation == "fixed":
        return (K + 2) * L
    if config.variant == "admm":
        return (2 * K + 1) * L
    return 3 * K * L


def admm_run(config) -> dict[str, float]:
    """Exact NMSD (local models) at the last step and over the final window, and the exact error mean at n_iter."""
    from sims import admm as sim
    from theory import admm as th

    D = _admm_state_dimension(config)
    _check_work((2 if config.window else 1) * max(config.n_iter, 1) * D ** 3,
                f"the exact recursion (theory.admm.exact_moments, state dimension {D}, {config.n_iter} steps)")
    data = sim.problem(config)
    args = (data["R"], data["q"], config.rho, config.C, config.sigma2_zeta, config.sigma2_eta, config.n_iter)
    kw = {"variant": config.variant, "participation": config.participation, "init": config.init}
    ex = th.exact_moments(*args, **kw, steps=[config.n_iter])
    out = {"nmsd": float(ex["nmsd"][config.n_iter])}
    if config.window:
        out["nmsd_window"] = th.exact_plateau(*args, config.window, **kw)
    if config.record_mean and config.variant == "rerce" and config.participation == "fixed":
        K, L = config.K, config.L
        m = ex["mean"][0]  # error state ((w_k)_k, w_n, w_{n-1}) of theory.admm.rerce_matrices
        local, glob = m[:K * L].reshape(K, L).mean(0), m[K * L:(K + 1) * L]
        out.update({f"local_err_{j}": float(local[j]) for j in range(L)})
        out.update({f"global_err_{j}": float(glob[j]) for j in range(L)})
    return out


# -------------------------------------------------------------------------------------------------------- grokking
def grokking_ascent(config) -> dict[str, float]:
    """E*/M of a single-frequency (complex-pair) maximum of the full-table energy."""
    from theory import grokking as th

    if config.fraction != 1.0:
        raise ValueError(f"fraction={config.fraction:g}: E* (theory.grokking.energy_max) is the full-table maximum; "
                         "a subsampled table has no closed form")
    return {"energy_over_M": th.energy_max(config.group) / config.M}


def grokking_analytic(config) -> dict[str, float]:
    """Accuracy and normalised margin / gamma* of the phase-grid network, evaluated by theory in float64."""
    from theory import grokking as th

    _check_work(sum(config.J ** 2 * p ** 4 for p in config.grid_p),
                f"the phase-grid networks of grid_p={config.grid_p}, J={config.J} (p² pairs x J²p units x p logits)")
    out = {}
    for p in config.grid_p:
        W_in, W_out = th.phase_grid_network(p, config.J)
        out[f"grid_acc_p{p}"] = th.network_accuracy(W_in, W_out, p)
        out[f"grid_margin_ratio_p{p}"] = th.normalized_margin(W_in, W_out, p) / th.morwani_max_margin(p)
    return out


# ---------------------------------------------------------------------------------------------------- hierarchical
def hierarchical_run(config) -> dict[str, float]:
    """The kernel plateau: the exact normalised error of P_{<=k} h."""
    from theory import hierarchical as th

    return {"err_plateau": th.kernel_plateau(config.target)}


PREDICTIONS: dict[tuple[str, str], Prediction] = {
    ("icl", "run"): Prediction(icl_run, "the global optimum Gamma*, L* of the configured prompt law (reached only "
                                        "after training: the claims allow an optimisation budget) and exact losses "
                                        "of Gamma* at shifted test laws"),
    ("icl", "run_reduced"): Prediction(icl_run_reduced, "the gradient-flow limit Gamma_ZFB and the global minimum "
                                                        "L* (reached after enough steps)"),
    ("admm", "run"): Prediction(admm_run, "exact mean over seeds (theory.admm moment recursion) at the last step"),
    ("grokking", "ascent"): Prediction(grokking_ascent, "E*/M at a single-frequency maximum (reached at the end "
                                                        "of a converged ascent)"),
    ("grokking", "analytic"): Prediction(grokking_analytic, "the same analytic networks evaluated exactly by "
                                                            "theory; margin ratio 1 = Morwani's gamma* attained"),
    ("hierarchical", "run"): Prediction(hierarchical_run, "exact value of the kernel plateau (P_<=k h's error)"),
}


NO_PREDICTION: dict[str, str] = {
    "lssl": "lssl's claims test rates (discretization orders, projection-error exponents), identities and bounds, "
            "not per-config values of these metrics",
}
"""Systems with no prediction for any simulator, and why (printed under the table instead of empty columns)."""


def predict(system: str, fn_name: str, config, budget_s: float | None = None) -> tuple[dict[str, float], str | None]:
    """({metric label: prediction}, None) or ({}, one line saying why the prediction was skipped); ({}, None) when
    the simulator has no registered prediction. A prediction that outlives ``budget_s`` is abandoned in a daemon
    thread (it cannot hold up the process's exit); ``budget_s`` defaults to :data:`BUDGET_S`."""
    budget_s = BUDGET_S if budget_s is None else budget_s
    entry = PREDICTIONS.get((system, fn_name))
    if entry is None:
        return {}, None
    result: dict = {}

    def work():
        try:
            result["values"] = entry.fn(config)
        except Exception as err:  # noqa: BLE001 - reported in one line; the run's own results stand
            result["error"] = err

    worker = threading.Thread(target=work, daemon=True, name=f"theory-{system}-{fn_name}")
    worker.start()
    worker.join(budget_s)
    if worker.is_alive():
        return {}, f"theory skipped: {entry.fn.__name__} took longer than {budget_s:g} s"
    if "error" in result:
        err = result["error"]
        return {}, f"theory skipped: {type(err).__name__}: {' '.join(str(err).split())}"
    return {k: float(v) for k, v in result["values"].items()}, None


def annotate(summary, system: str, fn_name: str, config, budget_s: float | None = None):
    """The summary with a ``theory`` column (prediction or NaN) and ``rel_err`` = mean/theory - 1 (NaN where the
    prediction is zero or absent), and the lines to print under the table (what the column means, or why it is
    blank). A simulator without a registered prediction gets no columns."""
    if (system, fn_name) not in PREDICTIONS:
        return summary, [f"theory: none ({NO_PREDICTION[system]})"] if system in NO_PREDICTION else []
    values, skipped = predict(system, fn_name, config, budget_s)
    theory = summary["metric"].map(lambda label: values.get(label, math.nan)).astype(float)
    rel_err = np.where(np.isfinite(theory) & (theory != 0), summary["mean"] / theory.where(theory != 0) - 1, np.nan)
    out = summary.assign(theory=theory, rel_err=rel_err)
    notes = []
    if skipped:
        notes.append(skipped)
    elif values and theory.notna().any():
        notes.append(f"theory: {PREDICTIONS[(system, fn_name)].meaning}; rel_err = mean/theory - 1")
    return out, notes
