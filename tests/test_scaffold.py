"""The README's "Adding a system" steps work as written: in a copy of the repository, add a minimal system `coin`
by exactly those steps, then validate its claim with `python -m claims` and run the contract battery on it."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

THEORY = '''r"""Closed forms of the coin system: the second moment of Gaussian draws."""
from __future__ import annotations


def second_moment(scale: float) -> float:
    r"""Second moment :math:`E x^2 = s^2` of :math:`x \\sim N(0, s^2)`.

    Parameters
    ----------
    scale : float
        Standard deviation s of the draws (> 0).

    Returns
    -------
    float
        :math:`s^2`.

    References
    ----------
    Any probability textbook: the variance of a centred Gaussian.
    """
    if not scale > 0:
        raise ValueError(f"scale={scale} must be > 0")
    return float(scale) ** 2
'''

SIMS = '''"""Simulator of the coin system: running mean of x^2 over draws, batched over seeds."""
from __future__ import annotations

import dataclasses

import torch

from sims import runtime


@dataclasses.dataclass(frozen=True)
class Config:
    n: int = 256          # draws per seed
    scale: float = 1.0    # standard deviation of the draws

    def __post_init__(self):
        if not 1 <= self.n <= 10**7:
            raise ValueError(f"n={self.n!r} is not valid; need 1 <= n <= 10000000")
        if not self.scale > 0:
            raise ValueError(f"scale={self.scale!r} is not valid; need scale > 0")


def run(config: Config, seeds, *, device="auto", dtype="auto"):
    device = runtime.resolve_device(device)
    dtype = runtime.resolve_dtype(dtype, device)
    gens = runtime.generators(seeds, device)
    x = runtime.randn(gens, (config.n,), device=device, dtype=dtype) * config.scale
    steps = [config.n]
    return runtime.long_table(seeds, {"mean_sq": (x**2).mean(dim=1, keepdim=True)}, steps=steps)


PRESETS = {"tiny": Config(n=64), "cpu": Config(), "gpu": Config(n=10**6)}
SWEEPS = {"paper": {"fn": run, "configs": [Config(n=n) for n in (64, 256)], "n_seeds": 4}}
'''

CLAIMS = '''"""Claims of the coin system."""
from __future__ import annotations

from claims.core import Claim, close_check
from sims import coin as sim
from theory import coin as th

SEEDS = {"test": 8, "report": 32, "gpu": 64}


def _predict(ctx):
    return {"m2": th.second_moment(2.0)}


def _measure(ctx):
    df = ctx.run(sim.run, sim.Config(n=256, scale=2.0), list(range(SEEDS[ctx.size])))
    return {"m2": df[df.metric == "mean_sq"].value.to_numpy()}


def _compare(pred, meas, ctx):
    return [close_check("E x^2", pred["m2"], meas["m2"])]


CLAIMS = [Claim(id="coin.1", title="The second moment is scale^2", source="a textbook",
                statement="mean of x^2 over draws equals s^2", predict=_predict, measure=_measure, compare=_compare)]
'''

CLAIM_TESTS = '''from claims.core import perturb
from claims.coin import CLAIMS


def test_planted_bug_coin_1(test_ctx):
    claim = CLAIMS[0]
    pred, meas = claim.predict(test_ctx), claim.measure(test_ctx)
    assert claim.evaluate(test_ctx).passed
    assert not all(c.passed for c in claim.compare(perturb(pred, 1.5), meas, test_ctx))
'''

DEMO = '''# %% [markdown]
# # The coin system
# %%
from sims import coin as sim
from theory import coin as th

print(th.second_moment(2.0), sim.run(sim.PRESETS["tiny"], [0], device="cpu", dtype="float64").value.mean())

# %% [markdown]
# ## Try it
# Change the scale, predict s^2, run, compare.
#
# **What to take away.** The mean square of the draws is the variance.
'''


@pytest.mark.slow
def test_a_new_system_added_by_the_readme_steps_validates(tmp_path):
    readme = (REPO / "README.md").read_text()
    steps = readme[readme.index("## Adding a system"):]
    for needed in ("SYSTEMS", "resolve_device", "resolve_dtype", "tiny", "BATCH_RTOL", "toy", "no `_`",
                   "N_MC_CHECKS", "planted-bug test", "tests/test_contract.py"):
        assert needed in steps, f"the README's steps no longer mention {needed!r}"
    root = tmp_path / "repo"
    shutil.copytree(REPO, root, ignore=shutil.ignore_patterns(".git", ".venv", "results", "out", "notebooks", "api",
                                                               "__pycache__", "*.egg-info", "build"))
    init = root / "sims" / "__init__.py"
    text = init.read_text()
    init.write_text(re.sub(r"SYSTEMS = \((.*)\)", lambda m: f'SYSTEMS = ({m.group(1)}, "coin")', text, count=1))
    (root / "theory" / "coin.py").write_text(THEORY)
    (root / "sims" / "coin.py").write_text(SIMS)
    (root / "claims" / "coin.py").write_text(CLAIMS)
    (root / "demos" / "coin.py").write_text(DEMO)
    (root / "tests" / "test_coin_claims.py").write_text(CLAIM_TESTS)
    env = {**os.environ, "PYTHONPATH": str(root), "THEORY_TESTBED_RESULTS": str(tmp_path / "results"),
           "MPLBACKEND": "Agg"}
    claims = subprocess.run([sys.executable, "-m", "claims", "coin", "--size", "test", "--device", "cpu",
                             "--strict"], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert claims.returncode == 0, claims.stdout + claims.stderr
    assert "coin.1" in claims.stdout and "confirmed" in claims.stdout
    battery = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "coin",
                              "tests/test_contract.py", "tests/test_coin_claims.py"],
                             cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert battery.returncode == 0, battery.stdout[-3000:] + battery.stderr[-2000:]
    assert " passed" in battery.stdout and "failed" not in battery.stdout
