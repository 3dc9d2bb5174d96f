"""The results store: cache hits, cache misses on any change, atomic writes, resumable sweeps, no pickle."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sims import store as store_mod
from sims.store import MissingRunError, Store
from tests import toy_sim

REPO = Path(__file__).resolve().parent.parent


def test_second_run_is_a_cache_hit(store, tmp_path, monkeypatch):
    log = tmp_path / "calls.txt"
    monkeypatch.setenv("TOY_CALL_LOG", str(log))
    a = store.run(toy_sim.run, toy_sim.Config(), [0, 1], device="cpu")
    b = store.run(toy_sim.run, toy_sim.Config(), [0, 1], device="cpu")
    assert a.equals(b)
    assert log.read_text().count("\n") == 1


def test_changed_config_seeds_or_dtype_is_a_miss(store):
    base = store.key(toy_sim.run, toy_sim.Config(), [0, 1])
    assert store.key(toy_sim.run, toy_sim.Config(scale=2.0), [0, 1]) != base
    assert store.key(toy_sim.run, toy_sim.Config(), [0, 2]) != base
    assert store.key(toy_sim.run, toy_sim.Config(), [0, 1], device="cpu", dtype="float32") != \
        store.key(toy_sim.run, toy_sim.Config(), [0, 1], device="cpu", dtype="float64")


def test_changed_code_is_a_miss(store, tmp_path, monkeypatch):
    pkg = tmp_path / "sims_x"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    src = pkg / "mini.py"
    src.write_text("def run(config, seeds, *, device, dtype):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    mini = importlib.import_module("sims_x.mini")
    k1 = store.key(mini.run, toy_sim.Config(), [0])
    src.write_text("def run(config, seeds, *, device, dtype):\n    return 1  # changed\n")
    store_mod._file_digest.cache_clear()
    assert store.key(mini.run, toy_sim.Config(), [0]) != k1


def test_manifest_and_files(store):
    store.run(toy_sim.run, toy_sim.Config(n=3), [5], device="cpu")
    man = store.manifest(toy_sim.run, toy_sim.Config(n=3), [5], device="cpu")
    for field in ("config", "seeds", "versions", "git_sha", "device", "dtype", "wall_time_s", "code_version"):
        assert field in man
    assert man["config"]["n"] == 3 and man["seeds"] == [5] and man["dtype"] == "float64"
    folder = store.path(toy_sim.run, man["key"])
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "metrics.csv"]  # JSON + CSV, no pickle


def test_failed_run_leaves_nothing(store, monkeypatch):
    monkeypatch.setenv("TOY_FAIL_AT", "4")
    with pytest.raises(RuntimeError, match="planted"):
        store.run(toy_sim.run, toy_sim.Config(n=4), [0], device="cpu")
    assert not store.has(toy_sim.run, toy_sim.Config(n=4), [0], device="cpu")
    assert not (store.root / ".tmp").exists() or not any((store.root / ".tmp").iterdir())
    with pytest.raises(MissingRunError, match="make validate"):
        store.load(toy_sim.run, toy_sim.Config(n=4), [0], device="cpu")


def test_values_round_trip_exactly(store):
    import torch

    fresh = toy_sim.run(toy_sim.Config(n=5), [2], device=torch.device("cpu"), dtype=torch.float64)
    stored = store.run(toy_sim.run, toy_sim.Config(n=5), [2], device="cpu")
    assert (fresh["value"].to_numpy() == stored["value"].to_numpy()).all()


_SWEEP = """
import sys
from sims.store import Store
from sims.sweep import run_many
from tests import toy_sim
run_many(toy_sim.run, [toy_sim.Config(n=n) for n in (2, 3, 4, 5)], [0, 1], device="cpu", store=Store(sys.argv[1]))
"""


def test_killed_sweep_resumes_without_partial_runs(tmp_path):
    root, log = tmp_path / "res", tmp_path / "calls.txt"
    env = {**os.environ, "PYTHONPATH": str(REPO), "TOY_CALL_LOG": str(log), "TOY_CRASH_AT": "4"}
    killed = subprocess.run([sys.executable, "-c", _SWEEP, str(root)], env=env, cwd=REPO)
    assert killed.returncode == 17  # the process died in the middle of the third run
    store = Store(root)
    done = [store.has(toy_sim.run, toy_sim.Config(n=n), [0, 1], device="cpu") for n in (2, 3, 4, 5)]
    assert done == [True, True, False, False]
    assert not (root / "toy_sim" / store.key(toy_sim.run, toy_sim.Config(n=4), [0, 1], device="cpu")).exists()
    del env["TOY_CRASH_AT"]
    subprocess.run([sys.executable, "-c", _SWEEP, str(root)], env=env, cwd=REPO, check=True)
    assert log.read_text().split() == ["2", "3", "4", "4", "5"]  # only the missing runs ran again
    assert all(store.has(toy_sim.run, toy_sim.Config(n=n), [0, 1], device="cpu") for n in (2, 3, 4, 5))
    assert json.loads((store.path(toy_sim.run, store.key(toy_sim.run, toy_sim.Config(n=2), [0, 1],
                                                         device="cpu")) / "manifest.json").read_text())["rows"] == 4


def test_code_version_follows_only_the_theory_code_a_simulator_reaches(tmp_path, monkeypatch):
    """A closed form no simulator calls can change without invalidating stored runs; one it calls cannot."""
    import importlib
    import sys

    from sims import codehash

    theory_pkg, sims_pkg = tmp_path / "theory_q", tmp_path / "sims_q"
    for pkg in (theory_pkg, sims_pkg):
        pkg.mkdir()
        (pkg / "__init__.py").write_text("")
    theory_src = theory_pkg / "mini.py"
    used, unused = "def helper(x):\n    return 2 * x\n\n\ndef used(x):\n    return helper(x)\n", \
        "def only_claims(x):\n    return 3 * x\n"
    theory_src.write_text(used + "\n\n" + unused)
    (sims_pkg / "mini.py").write_text("from theory_q import mini as th\n\n\n"
                                      "def run(config, seeds, *, device, dtype):\n    return th.used(1)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module("sims_q.mini")

    def version():
        codehash.clear_cache()
        return codehash.theory_digest(mod, prefix="theory_q")

    base = version()
    theory_src.write_text(used + "\n\n" + unused.replace("3 * x", "4 * x"))
    assert version() == base  # only the claims use it: stored runs stay valid
    theory_src.write_text(used.replace("2 * x", "2.5 * x") + "\n\n" + unused)
    assert version() != base  # reached through used() -> helper(): a miss
    for name in ("sims_q.mini", "sims_q", "theory_q.mini", "theory_q"):
        sys.modules.pop(name, None)


def test_source_segments_equal_the_stdlib_ones():
    """codehash splits a file once and slices it; the store keys depend on it giving ast.get_source_segment's text
    exactly (multi-byte characters before a node, \\r\\n and \\r line ends, form feeds, one-line nodes)."""
    import ast

    from sims import codehash

    source = ("x = 'Γ₁'; y = 2\r\ndef f(a):\r\n    return a  # η\r\n\x0c\nclass C:\r    z = 'é'\r\n"
              "w = [1,\n     2]  # ∑\n")
    tree = ast.parse(source)
    lines = codehash._lines(source)
    nodes = [n for n in ast.walk(tree) if getattr(n, "end_lineno", None) is not None]
    assert len(nodes) > 15
    for node in nodes:
        assert codehash._segment(lines, node) == ast.get_source_segment(source, node)


def test_default_root_is_the_working_directory_or_the_environment(tmp_path, monkeypatch):
    """An installed package keeps its runs where the user works, not inside site-packages."""
    monkeypatch.delenv("THEORY_TESTBED_RESULTS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Store().root == tmp_path / "results"
    monkeypatch.setenv("THEORY_TESTBED_RESULTS", str(tmp_path / "elsewhere"))
    assert Store().root == tmp_path / "elsewhere"
