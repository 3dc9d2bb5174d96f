"""The shared runtime: device/dtype resolution, per-seed generators, tidy tables."""
import numpy as np
import pytest
import torch

from sims import runtime


def test_auto_device_is_cpu_without_accelerators(monkeypatch):
    monkeypatch.delenv(runtime.DEVICE_ENV, raising=False)
    if not torch.cuda.is_available():
        assert runtime.resolve_device("auto").type in ("cpu", "mps")


def test_device_from_environment(monkeypatch):
    monkeypatch.setenv(runtime.DEVICE_ENV, "cpu")
    assert runtime.resolve_device("auto") == torch.device("cpu")


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "tpu", ""])
def test_unknown_device_is_rejected(bad):
    if bad == "":
        assert runtime.device_name(bad) in ("cpu", "cuda", "mps")
        return
    with pytest.raises(ValueError, match="device"):
        runtime.resolve_device(bad)


def test_cuda_without_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="device='cuda'.*not available|device='cuda'.*False"):
        runtime.resolve_device("cuda")
    assert runtime.device_name("cuda:1") == "cuda:1"  # keys for remote GPUs need no local GPU


def test_dtype_defaults_and_errors(monkeypatch):
    monkeypatch.delenv(runtime.DTYPE_ENV, raising=False)
    assert runtime.resolve_dtype("auto", torch.device("cpu")) == torch.float64
    assert runtime.resolve_dtype("auto", "cuda") == torch.float32
    assert runtime.resolve_dtype("float32", "cpu") == torch.float32
    with pytest.raises(ValueError, match="dtype"):
        runtime.resolve_dtype("float16", "cpu")


def test_batched_draws_equal_single_seed_draws():
    seeds = [3, 1, 4]
    batch = runtime.randn(runtime.generators(seeds), (5, 2), device="cpu", dtype=torch.float64)
    for i, s in enumerate(seeds):
        single = runtime.randn(runtime.generators([s]), (5, 2), device="cpu", dtype=torch.float64)
        assert torch.equal(batch[i], single[0])
    assert not torch.equal(batch[0], batch[1])


def test_spawned_seeds_are_deterministic_and_distinct():
    a, b = runtime.spawn_seeds(7, 5), runtime.spawn_seeds(7, 5)
    assert a == b and len(set(a)) == 5
    with pytest.raises(ValueError, match="k="):
        runtime.spawn_seeds(7, 0)


def test_long_table_shapes():
    df = runtime.long_table([0, 1], {"loss": np.ones((2, 3))}, steps=[10, 20, 30])
    assert list(df.columns) == ["seed", "step", "metric", "value"] and len(df) == 6
    with pytest.raises(ValueError, match="loss"):
        runtime.long_table([0, 1, 2], {"loss": np.ones((2, 3))}, steps=[10, 20, 30])


def test_one_cpu_thread_keeps_batched_solves_working():
    """Regression: restoring torch to 2 threads after a one-thread section made the next batched LU of size >= 256
    fail inside MKL (torch 2.13 CPU). The helper only ever lowers the count; run in a fresh interpreter."""
    import subprocess
    import sys

    code = (
        "import torch\n"
        "from sims import runtime\n"
        "for _ in range(3):\n"
        "    with runtime.one_cpu_thread('cpu'):\n"
        "        A = torch.randn(3, 256, 256, dtype=torch.float64)\n"
        "        torch.linalg.solve(A @ A.mT + torch.eye(256), torch.randn(3, 256, 7, dtype=torch.float64))\n"
        "assert torch.get_num_threads() == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(__import__("pathlib").Path(__file__).parent.parent))


# ------------------------------------------------------------------------- config validation, every system
def _catalogue():
    from tests.test_fuzz_cli import CATALOGUE

    return CATALOGUE


@pytest.mark.parametrize("system, fn_name, cls", _catalogue(), ids=lambda v: getattr(v, "__name__", str(v)))
def test_every_numeric_field_is_bounded_and_finite(system, fn_name, cls):
    """Every number a Config takes is finite and below a stated upper bound; the message names the field, the
    value and the range."""
    import dataclasses
    import math

    defaults = cls()  # the defaults are valid (and every numeric field has a declared range)
    for f in dataclasses.fields(cls):
        value = getattr(defaults, f.name)
        element = value[0] if isinstance(value, tuple) and value else value
        if isinstance(element, bool) or not isinstance(element, (int, float)):
            continue
        huge = 10**30 if isinstance(element, int) else 1e300
        bad = [huge] + ([math.nan, math.inf] if isinstance(element, float) else [])
        for v in bad:
            changed = (v,) + tuple(value[1:]) if isinstance(value, tuple) else v
            with pytest.raises(ValueError, match=rf"{f.name}=.*(in \[|must|valid|need)"):
                cls(**{f.name: changed})


def test_check_fields_messages_and_undeclared_fields():
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class C:
        steps: int = 3
        lr: float = 0.1
        dts: tuple = (0.5, 0.25)

    runtime.check_fields(C(), {"steps": (1, 10), "lr": (0, 1), "dts": (1e-9, 1)})
    with pytest.raises(ValueError, match=r"lr=inf is not valid; need a finite number in \[0, 1\]"):
        runtime.check_fields(C(lr=float("inf")), {"steps": (1, 10), "lr": (0, 1), "dts": (1e-9, 1)})
    with pytest.raises(ValueError, match=r"steps=2.5 is not valid; need an integer in \[1, 10\]"):
        runtime.check_fields(C(steps=2.5), {"steps": (1, 10), "lr": (0, 1), "dts": (1e-9, 1)})
    with pytest.raises(ValueError, match=r"dts=\(0.5, 'a'\)"):
        runtime.check_fields(C(dts=(0.5, "a")), {"steps": (1, 10), "lr": (0, 1), "dts": (1e-9, 1)})
    with pytest.raises(TypeError, match="C.lr has no declared range"):
        runtime.check_fields(C(), {"steps": (1, 10), "dts": (1e-9, 1)})


def test_progress_prints_a_plain_line_every_few_seconds_off_a_terminal(monkeypatch, capsys):
    monkeypatch.delenv("THEORY_TESTBED_QUIET", raising=False)
    monkeypatch.setattr(runtime, "PROGRESS_EVERY_S", 0.0)
    assert list(runtime.progress(range(3), desc="sweep x")) == [0, 1, 2]
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("sweep x: 1/3 (33 %)") and len(lines) == 3
    monkeypatch.setenv("THEORY_TESTBED_QUIET", "1")
    assert list(runtime.progress(range(3))) == [0, 1, 2]
    assert capsys.readouterr().err == ""
