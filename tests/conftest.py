"""Shared test fixtures: a throw-away results store, a tiny claim context, deterministic hypothesis, CUDA marker."""
from __future__ import annotations

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

# Property tests are derandomized so CI never flakes; `HYPOTHESIS_PROFILE=explore` searches fresh examples.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

os.environ.setdefault("THEORY_TESTBED_QUIET", "1")
# Tests use small tensors, where intra-op threads only add hand-offs; xdist runs one process per core instead.
torch.set_num_threads(1)


@pytest.fixture
def store(tmp_path):
    from sims.store import Store

    return Store(tmp_path / "results")


@pytest.fixture
def test_ctx(store):
    """Claims at test size, on the CPU in float64, in a throw-away store."""
    from claims.core import Context

    return Context(size="test", device="cpu", dtype="float64", store=store, n_jobs=1)


@pytest.fixture
def cuda_device():
    if not torch.cuda.is_available():
        pytest.skip("CUDA not available")
    return torch.device("cuda")
