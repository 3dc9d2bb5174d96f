r"""Statistics shared by every claim: confidence intervals, the suite-wide z rule, log-log slope fits.

Tolerance rule for Monte-Carlo comparisons (docs/conventions.md, rules 2-3): a measurement m with standard error SE
agrees with a prediction p when |m - p| <= z·SE + bias_bound, where z comes from a suite-wide false-alarm budget
(:data:`FALSE_ALARM_BUDGET` spread over :data:`N_MC_CHECKS` checks by Bonferroni), so the whole validation report
raises a false alarm with probability below the budget.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

FALSE_ALARM_BUDGET = 0.01
"""Probability that any Monte-Carlo check in the whole suite fails although its prediction is right."""
N_MC_CHECKS = 200
"""Upper bound on the number of Monte-Carlo checks in one run of the report (all systems): 154 on 2026-11-26;
tests/test_claims_core.py fails if the committed report outgrows it. The test suite runs the same claims at test
size, so it is covered by the same count."""


def z_for_budget(budget: float = FALSE_ALARM_BUDGET, n_checks: int = N_MC_CHECKS) -> float:
    r"""Two-sided Bonferroni z: :math:`z = \Phi^{-1}(1 - \alpha / (2m))`. Default ≈ 4.06 (α = 1 %, m = 200).

    Parameters
    ----------
    budget : float, default FALSE_ALARM_BUDGET = 0.01
        Probability α that any of the checks fails although every prediction is right; in (0, 1).
    n_checks : int, default N_MC_CHECKS = 200
        Number m of Monte-Carlo checks the budget is spread over (>= 1).

    Returns
    -------
    float
        The two-sided normal quantile z.

    References
    ----------
    Bonferroni correction; the rule is docs/conventions.md, rule 3.
    """
    if not 0 < budget < 1:
        raise ValueError(f"budget={budget} must be in (0, 1)")
    if n_checks < 1:
        raise ValueError(f"n_checks={n_checks} must be >= 1")
    return float(_st.norm.ppf(1 - budget / (2 * n_checks)))


Z_SUITE = z_for_budget()


@dataclass(frozen=True)
class MeanCI:
    mean: float
    se: float
    low: float
    high: float
    n: int


def mean_ci(samples, level: float = 0.95) -> MeanCI:
    r"""Mean with Student-t confidence interval over independent samples (seeds); SE = std/sqrt(n).

    Parameters
    ----------
    samples : array_like
        Independent measurements (one per seed or Monte-Carlo run); flattened.
    level : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    MeanCI
        ``mean``, ``se`` (sample std / sqrt(n)), ``low``, ``high`` (mean ± t quantile · se) and ``n``; se, low and
        high are NaN for a single sample.

    References
    ----------
    Student's t interval for a mean; docs/conventions.md, Statistics.
    """
    x = np.asarray(samples, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("samples is empty")
    n = x.size
    mean = float(x.mean())
    if n == 1:
        return MeanCI(mean, float("nan"), float("nan"), float("nan"), 1)
    se = float(x.std(ddof=1) / np.sqrt(n))
    half = float(_st.t.ppf(0.5 + level / 2, df=n - 1)) * se
    return MeanCI(mean, se, mean - half, mean + half, n)


@dataclass(frozen=True)
class SlopeFit:
    slope: float
    intercept: float
    se: float
    n: int


def loglog_slope(x, y) -> SlopeFit:
    r"""Least-squares slope of log y on log x with its standard error (convergence orders, scaling exponents).

    Parameters
    ----------
    x : array_like
        Positive abscissae (step sizes, sample sizes, widths).
    y : array_like
        Positive ordinates of the same length (errors, times).

    Returns
    -------
    SlopeFit
        ``slope``, ``intercept`` (of log y on log x), ``se`` of the slope (0 for two points) and ``n``.

    References
    ----------
    Ordinary least squares (scipy.stats.linregress); docs/conventions.md, Statistics (rates).
    """
    lx = np.log(np.asarray(x, dtype=np.float64))
    ly = np.log(np.asarray(y, dtype=np.float64))
    if lx.size < 2 or lx.size != ly.size:
        raise ValueError(f"need >= 2 matching points, got {lx.size} and {ly.size}")
    res = _st.linregress(lx, ly)
    return SlopeFit(float(res.slope), float(res.intercept), float(res.stderr) if lx.size > 2 else 0.0, lx.size)


def float_tolerance(dtype_eps: float, n: int, cond: float = 1.0, c: float = 10.0) -> float:
    r"""Deterministic identity tolerance C·n·eps·cond (docs/conventions.md, rule 1).

    Parameters
    ----------
    dtype_eps : float
        Machine epsilon of the dtype compared (e.g. numpy.finfo(numpy.float64).eps).
    n : int
        Number of accumulated operations (a length or a dimension).
    cond : float, default 1.0
        Condition number of the problem where it matters.
    c : float, default 10.0
        Safety constant C.

    Returns
    -------
    float
        The absolute tolerance C·n·eps·cond.

    References
    ----------
    Standard floating-point error analysis (Higham, Accuracy and Stability of Numerical Algorithms, ch. 3);
    docs/conventions.md, rule 1.
    """
    return c * n * dtype_eps * cond
