r"""Statistics shared by every claim: confidence intervals, the suite-wide quantile rule, log-log slope fits.

Tolerance rule for Monte-Carlo comparisons (docs/conventions.md): a measurement m with standard error SE on
``dof`` degrees of freedom agrees with a prediction p when |m - p| <= q·SE + bias_bound, where q is the Student-t
quantile (normal for large dof) at the suite-wide false-alarm budget :data:`FALSE_ALARM_BUDGET` spread over
:data:`N_MC_CHECKS` checks by Bonferroni, so the whole validation report raises a false alarm with probability
below the budget. Two-sided for equality checks (q = 4.06 for a normal SE), one-sided for effect and bound checks
(q = 3.89). An SE from S seeds has S - 1 degrees of freedom: q is 12 700 for 2 seeds, 141 for 3, 35 for 4 and 8.8
for 8, so a powered check needs many seeds or an SE pooled over many i.i.d. samples.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

FALSE_ALARM_BUDGET = 0.01
"""Probability that any Monte-Carlo check in the whole suite fails although its prediction is right."""
N_MC_CHECKS = 200
"""Upper bound on the number of Monte-Carlo checks in one run of the report (all systems): 193 on 2026-11-29;
tests/test_claims_core.py fails if the committed report outgrows it. The test suite runs the same claims at test
size, so it is covered by the same count."""


def z_for_budget(budget: float = FALSE_ALARM_BUDGET, n_checks: int = N_MC_CHECKS) -> float:
    r"""Two-sided Bonferroni z: :math:`z = \Phi^{-1}(1 - \alpha / (2m))`. Default ≈ 4.06.

    Parameters
    ----------
    budget : float, default FALSE_ALARM_BUDGET
        Suite-wide false-alarm probability α, in (0, 1).
    n_checks : int, default N_MC_CHECKS
        Number m of Monte-Carlo checks the budget is spread over (>= 1).

    Returns
    -------
    float
        The normal quantile z (4.06 for the defaults).

    References
    ----------
    Bonferroni correction over m checks; docs/conventions.md, "Tolerance rules" (rule 3, the suite's quantile).
    """
    return t_for_budget(math.inf, sides=2, budget=budget, n_checks=n_checks)


def t_for_budget(dof: float, *, sides: int = 2, budget: float = FALSE_ALARM_BUDGET,
                 n_checks: int = N_MC_CHECKS) -> float:
    r"""Bonferroni Student-t quantile :math:`t_{\nu}^{-1}(1 - \alpha / (s\,m))` for an SE on ``dof`` = ν degrees
    of freedom, ``sides`` = s (2: equality, 1: a one-sided effect or bound), α = ``budget``, m = ``n_checks``.
    ``dof`` = inf (or above 10^6) gives the normal quantile.

    Parameters
    ----------
    dof : float
        Degrees of freedom ν of the standard error (>= 1; S − 1 for S seeds; ``math.inf`` for a pooled SE).
    sides : int, default 2
        2 for an equality check, 1 for a one-sided effect or bound check.
    budget : float, default FALSE_ALARM_BUDGET
        Suite-wide false-alarm probability α, in (0, 1).
    n_checks : int, default N_MC_CHECKS
        Number m of Monte-Carlo checks the budget is spread over (>= 1).

    Returns
    -------
    float
        The quantile t (e.g. 8.8 two-sided for 8 seeds; 4.06 two-sided and 3.89 one-sided at ν = inf).

    References
    ----------
    Student-t quantile with a Bonferroni correction over m checks; docs/conventions.md, "Tolerance rules" (rule 3,
    the suite's quantile).
    """
    if not 0 < budget < 1:
        raise ValueError(f"budget={budget} must be in (0, 1)")
    if n_checks < 1:
        raise ValueError(f"n_checks={n_checks} must be >= 1")
    if sides not in (1, 2):
        raise ValueError(f"sides={sides} must be 1 or 2")
    if not dof >= 1:
        raise ValueError(f"dof={dof} must be >= 1 (an SE needs at least two samples)")
    level = 1 - budget / (sides * n_checks)
    return float(_st.norm.ppf(level) if dof > 1e6 else _st.t.ppf(level, dof))


Z_SUITE = z_for_budget()
"""Two-sided normal quantile of the suite budget (4.06): for SEs on many degrees of freedom (pooled samples)."""
Z_ONE_SIDED = t_for_budget(math.inf, sides=1)
"""One-sided normal quantile of the suite budget (3.89): effect and bound checks with SEs on many dof."""


@dataclass(frozen=True)
class MeanCI:
    mean: float
    se: float
    low: float
    high: float
    n: int


def mean_ci(samples, level: float = 0.95) -> MeanCI:
    """Mean with Student-t confidence interval over independent samples (seeds); SE = std/sqrt(n).

    Parameters
    ----------
    samples : array_like
        Independent samples (flattened), at least one.
    level : float, default 0.95
        Two-sided confidence level, in (0, 1).

    Returns
    -------
    MeanCI
        ``mean``, ``se`` (sample std with ddof = 1 over sqrt(n)), the interval ``low``, ``high`` = mean ∓ t·SE with
        t the Student-t quantile on n − 1 dof, and ``n``; se, low and high are NaN for a single sample.

    References
    ----------
    Student (1908), the t interval for a mean; docs/conventions.md, "Statistics".
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
    """Least-squares slope of log y on log x with its standard error (convergence orders, scaling exponents).

    Parameters
    ----------
    x : array_like
        Abscissae (> 0), at least two.
    y : array_like
        Ordinates (> 0), as many as x.

    Returns
    -------
    SlopeFit
        ``slope``, ``intercept`` (of log y = intercept + slope·log x, natural logs), the slope's standard error
        ``se`` (0 for exactly two points) and the number of points ``n``.

    References
    ----------
    Ordinary least squares (scipy.stats.linregress); docs/conventions.md, "Statistics" (rates).
    """
    lx = np.log(np.asarray(x, dtype=np.float64))
    ly = np.log(np.asarray(y, dtype=np.float64))
    if lx.size < 2 or lx.size != ly.size:
        raise ValueError(f"need >= 2 matching points, got {lx.size} and {ly.size}")
    res = _st.linregress(lx, ly)
    return SlopeFit(float(res.slope), float(res.intercept), float(res.stderr) if lx.size > 2 else 0.0, lx.size)


def float_tolerance(dtype_eps: float, n: int, cond: float = 1.0, c: float = 10.0) -> float:
    """Deterministic identity tolerance C·n·eps·cond.

    Parameters
    ----------
    dtype_eps : float
        Machine epsilon ε of the dtype (e.g. ``numpy.finfo(numpy.float64).eps``).
    n : int
        Number of accumulated operations (a length or a dimension), >= 1.
    cond : float, default 1.0
        Condition number of the problem where it matters (>= 1).
    c : float, default 10.0
        Safety constant C.

    Returns
    -------
    float
        The tolerance C·n·ε·cond.

    References
    ----------
    Higham, *Accuracy and Stability of Numerical Algorithms* (2002), ch. 3 (rounding errors grow like n·ε);
    docs/conventions.md, "Tolerance rules" (rule 1, deterministic identities).
    """
    return c * n * dtype_eps * cond
