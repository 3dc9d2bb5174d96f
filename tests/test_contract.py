"""The contract every registered system keeps (sims.SYSTEMS), checked the same way for each, like scikit-learn's
check_estimator: a new system gets this battery by adding its name. What a system must provide is listed in the
README ("Adding a system"): a frozen Config per simulator, PRESETS with "tiny", "cpu" and "gpu", a batched
``run(config, seeds, *, device, dtype)`` returning the tidy table, CLAIMS with metadata and three sizes, a demo.

Per-system test files keep only what is specific to their system (identities, planted simulator bugs, rates)."""
from __future__ import annotations

import dataclasses
import importlib
import math
import runpy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sims import SYSTEMS

REPO = Path(__file__).resolve().parent.parent
COLUMNS = ["seed", "step", "metric", "value"]
"""The tidy table of every simulator: one row per (seed, step, metric); ``step`` is empty for final metrics."""
CPU = dict(device="cpu", dtype="float64")


def _module(system):
    return importlib.import_module(f"sims.{system}")


def _config_classes(system):
    mod = _module(system)
    return [cls for cls in vars(mod).values() if isinstance(cls, type) and dataclasses.is_dataclass(cls)
            and cls.__module__ == mod.__name__ and cls.__name__.endswith("Config")]


def _bad_values(default):
    """Values no field of that type should accept silently: a negative count, NaN, an unknown name."""
    if isinstance(default, bool):
        return []
    if isinstance(default, int):
        return [-1]
    if isinstance(default, float):
        return [math.nan]
    if isinstance(default, str):
        return ["no-such-value"]
    if isinstance(default, tuple):
        return [(-1,)]
    return []


@pytest.mark.parametrize("system", SYSTEMS)
def test_config_errors_name_the_field(system):
    """Every Config of the system rejects a bad value of each field with a ValueError that names the field."""
    classes = _config_classes(system)
    assert classes, f"sims.{system} defines no frozen *Config dataclass"
    for cls in classes:
        assert cls.__dataclass_params__.frozen, f"{cls.__name__} must be frozen (configs key the results store)"
        default = cls()
        for field in dataclasses.fields(cls):
            for bad in _bad_values(getattr(default, field.name)):
                with pytest.raises(ValueError) as err:
                    cls(**{field.name: bad})
                assert field.name in str(err.value), f"{cls.__name__}({field.name}={bad!r}): {err.value}"


@pytest.mark.parametrize("system", SYSTEMS)
def test_presets_and_sweeps(system):
    mod = _module(system)
    assert {"tiny", "cpu", "gpu"} <= set(mod.PRESETS), f"sims.{system}.PRESETS needs 'tiny', 'cpu' and 'gpu'"
    assert all(isinstance(c, mod.Config) for c in mod.PRESETS.values())
    for name, sweep in getattr(mod, "SWEEPS", {}).items():
        assert callable(sweep["fn"]) and sweep["n_seeds"] >= 1 and len(sweep["configs"]) >= 1, name


@pytest.fixture(scope="module")
def tiny_runs():
    """run(PRESETS['tiny']) per system: seeds [3, 8] twice, and each seed alone (computed once per system)."""
    cache = {}

    def get(system):
        if system not in cache:
            mod = _module(system)
            config = mod.PRESETS["tiny"]
            cache[system] = {"batch": mod.run(config, [3, 8], **CPU), "again": mod.run(config, [3, 8], **CPU),
                             "alone": {s: mod.run(config, [s], **CPU) for s in (3, 8)},
                             "string_args": mod.run(config, [3], device="cpu", dtype="float64")}
        return cache[system]

    return get


@pytest.mark.parametrize("system", SYSTEMS)
def test_table_has_the_documented_columns(system, tiny_runs):
    df = tiny_runs(system)["batch"]
    assert sorted(df.columns) == sorted(COLUMNS)
    assert sorted(df.seed.unique()) == [3, 8]
    assert pd.api.types.is_numeric_dtype(df.value) and len(df) > 0
    assert df.metric.map(type).eq(str).all()


@pytest.mark.parametrize("system", SYSTEMS)
def test_reruns_are_identical(system, tiny_runs):
    runs = tiny_runs(system)
    pd.testing.assert_frame_equal(runs["batch"], runs["again"])


@pytest.mark.parametrize("system", SYSTEMS)
def test_a_batch_of_seeds_equals_each_seed_alone(system, tiny_runs):
    """Randomness only through seeds: a seed's numbers do not depend on the other seeds of the batch, up to the
    system's stated BATCH_RTOL (rounding of batched linear algebra; 0 means bit for bit)."""
    rtol = getattr(_module(system), "BATCH_RTOL", 0.0)
    runs = tiny_runs(system)
    for seed, alone in runs["alone"].items():
        part = runs["batch"][runs["batch"].seed == seed].reset_index(drop=True)
        assert list(part.metric) == list(alone.metric) and part.step.equals(alone.step)
        np.testing.assert_allclose(part.value.to_numpy(), alone.value.to_numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("system", SYSTEMS)
def test_run_accepts_device_and_dtype_as_strings(system, tiny_runs):
    """The CLI and the demos pass 'cpu' and 'float64'; run must resolve them (sims.runtime.resolve_device/dtype)."""
    runs = tiny_runs(system)
    np.testing.assert_array_equal(runs["string_args"].value.to_numpy(), runs["alone"][3].value.to_numpy())


@pytest.mark.parametrize("system", SYSTEMS)
def test_claims_are_numbered_documented_and_sized(system):
    from claims.core import SIZES, Context

    claims = importlib.import_module(f"claims.{system}").CLAIMS
    assert [c.id for c in claims] == [f"{system}.{i}" for i in range(1, len(claims) + 1)]
    for claim in claims:
        assert claim.title and claim.source and claim.statement, claim.id
    assert SIZES == ("test", "report", "gpu")
    for size in SIZES:  # every size is a valid context; the claims read their sizes from it
        Context(size=size, device="cpu", dtype="float64")


@pytest.mark.parametrize("system", SYSTEMS)
def test_every_claim_has_a_planted_bug_test(system):
    """Each claim id (or a parametrisation over all claims with perturb) appears in tests/test_<system>_claims.py
    next to a planted bug: a test that breaks the prediction or the simulator and asserts the claim fails."""
    source = (REPO / "tests" / f"test_{system}_claims.py").read_text()
    claims = importlib.import_module(f"claims.{system}").CLAIMS
    assert "perturb(" in source or "planted" in source
    over_all = "perturb(" in source and ("CLAIMS" in source or "claims_" in source)
    missing = [c.id for c in claims if not over_all and c.id not in source and f"bug_{c.id.split('.')[1]}" not in source]
    assert not missing, f"no planted-bug test for {missing}"


@pytest.mark.parametrize("system", SYSTEMS)
def test_demo_runs_at_tiny_size(system, tmp_path, monkeypatch):
    """The coursework demo runs top to bottom at its tiny size and writes nothing (demos are tests)."""
    import matplotlib
    import torch

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("THEORY_TESTBED_DEMO_SIZE", "tiny")
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    try:
        runpy.run_path(str(REPO / "demos" / f"{system}.py"), run_name="__main__")
    finally:
        torch.set_num_threads(threads)  # a demo may pin threads for speed; leave the session as it was
        plt.close("all")
    assert list(tmp_path.iterdir()) == []
