"""The store against crashes, corruption and bad paths: reads verified against manifest v2, one StoreError naming
the run folder, store-check, the fingerprint over stored data, stale temporary folders, the results root, refused
non-finite metrics, the memory gate, and sweep workers that die with their sweep."""
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


# ------------------------------------------------------------------------------ corruption: verified on read
def _stored(store, n=4, seeds=(0, 1)):
    store.run(toy_sim.run, toy_sim.Config(n=n), list(seeds), device="cpu")
    return store.path(toy_sim.run, store.key(toy_sim.run, toy_sim.Config(n=n), list(seeds), device="cpu"))


def _load(store, n=4, seeds=(0, 1)):
    return store.load(toy_sim.run, toy_sim.Config(n=n), list(seeds), device="cpu")


def _cut(folder):
    data = (folder / "metrics.csv").read_bytes()
    (folder / "metrics.csv").write_bytes(data[: len(data) // 2])


def _scale(folder):
    import pandas as pd

    df = pd.read_csv(folder / "metrics.csv")
    df["value"] *= 100
    df.to_csv(folder / "metrics.csv", index=False)


def _edit_config(folder):
    man = json.loads((folder / "manifest.json").read_text())
    man["config"]["scale"] = 3.0
    (folder / "manifest.json").write_text(json.dumps(man))


@pytest.mark.parametrize("damage, problem", [
    (_cut, "sha256"),                                                        # a csv cut in half
    (_scale, "sha256"),                                                      # values scaled x100
    (lambda f: (f / "metrics.csv").write_text(""), "sha256"),                # an empty csv
    (lambda f: (f / "metrics.csv").write_bytes(b"\x00\xff garbage"), "sha256"),
    (lambda f: (f / "metrics.csv").unlink(), "unreadable"),
    (lambda f: (f / "manifest.json").write_text(""), "not valid JSON"),      # an empty manifest
    (lambda f: (f / "manifest.json").write_text("{\"key\": [1,"), "not valid JSON"),
    (lambda f: (f / "manifest.json").write_text("[1, 2]"), "not valid JSON"),
    (_edit_config, "do not hash to its key"),                                # an edited manifest
])
def test_a_damaged_run_raises_one_store_error_naming_its_folder(store, damage, problem):
    folder = _stored(store)
    damage(folder)
    for read in (lambda: _load(store), lambda: store.run(toy_sim.run, toy_sim.Config(n=4), [0, 1], device="cpu")):
        with pytest.raises(store_mod.StoreError, match=problem) as err:
            read()
        assert str(folder) in str(err.value) and "rm -rf" in str(err.value) and "store-check --repair" in str(err.value)


def test_a_consistent_manifest_with_a_wrong_row_count_is_refused(store):
    import hashlib

    folder = _stored(store)
    lines = (folder / "metrics.csv").read_bytes().splitlines(keepends=True)
    cut = b"".join(lines[:-1])  # a whole row dropped and the checksum updated: only the row count notices
    (folder / "metrics.csv").write_bytes(cut)
    man = json.loads((folder / "manifest.json").read_text())
    man["metrics_sha256"] = hashlib.sha256(cut).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(store_mod.StoreError, match="rows"):
        _load(store)


def test_a_run_folder_without_a_manifest_counts_as_missing_and_is_replaced(store, tmp_path, monkeypatch):
    folder = _stored(store)
    (folder / "manifest.json").unlink()
    assert not store.has(toy_sim.run, toy_sim.Config(n=4), [0, 1], device="cpu")
    with pytest.raises(MissingRunError):
        _load(store)
    log = tmp_path / "calls.txt"
    monkeypatch.setenv("TOY_CALL_LOG", str(log))
    df = store.run(toy_sim.run, toy_sim.Config(n=4), [0, 1], device="cpu")  # used to fail: Directory not empty
    assert log.read_text().split() == ["4"] and len(df) == 8 and len(_load(store)) == 8


def test_store_check_finds_and_repairs_every_broken_run(store):
    good, cut, bare = _stored(store, 2), _stored(store, 3), _stored(store, 4)
    _cut(cut)
    (bare / "manifest.json").unlink()
    (store.root / "toy_sim" / "theory-cache").mkdir()  # not a run folder: left alone
    report = store_mod.check_store(store.root)
    assert report["ok"] == [good] and sorted(f for f, _ in report["broken"]) == sorted([cut, bare])
    store_mod.check_store(store.root, repair=True)
    assert good.exists() and not cut.exists() and not bare.exists()
    assert (store.root / "toy_sim" / "theory-cache").exists()
    assert store_mod.check_store(store.root)["broken"] == []


def test_fingerprint_covers_the_stored_data(store):
    """A warm `make` re-evaluates claims when stored data changed (it used to hash the run names only)."""
    folder = _stored(store)
    before = store.fingerprint("toy_sim")
    assert store.fingerprint("toy_sim") == before  # unchanged store, unchanged fingerprint
    _scale(folder)
    assert store.fingerprint("toy_sim") != before
    with pytest.raises(store_mod.StoreError):  # and re-evaluation then stops at the damaged run
        _load(store)


# ------------------------------------------------------------------------------------ debris, paths, values
def test_stale_temporary_folders_of_dead_writers_are_removed(store):
    import socket
    import time

    tmp = store.root / ".tmp"
    host = socket.gethostname()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp / f"{'a' * 20}-{host}~{dead.stdout.strip()}~0000"
    live = tmp / f"{'b' * 20}-{host}~{os.getpid()}~0000"
    old = tmp / f"{'c' * 20}-otherhost~1~0000"
    for d in (stale, live, old):
        d.mkdir(parents=True)
    os.utime(old, (time.time() - 2 * store_mod.STALE_TMP_S,) * 2)
    assert sorted(store_mod.check_store(store.root)["stale_tmp"]) == sorted([stale, old])
    store.run(toy_sim.run, toy_sim.Config(n=2), [0], device="cpu")  # any write cleans up first
    assert sorted(p.name for p in tmp.iterdir()) == [live.name]


def test_results_root_expands_home_and_refuses_a_file_before_computing(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv(store_mod.ROOT_ENV, "~/res")
    assert Store().root == tmp_path / "home" / "res"
    (tmp_path / "afile").write_text("x")
    log = tmp_path / "calls.txt"
    monkeypatch.setenv("TOY_CALL_LOG", str(log))
    for root in (tmp_path / "afile", tmp_path / "afile" / "below"):
        monkeypatch.setenv(store_mod.ROOT_ENV, str(root))
        with pytest.raises(ValueError, match="is a file"):
            Store().run(toy_sim.run, toy_sim.Config(n=2), [0], device="cpu")
    assert not log.exists()  # refused before computing


def test_non_finite_metrics_are_refused_unless_the_config_expects_them(store, monkeypatch):
    monkeypatch.setenv("TOY_NAN", "1")
    with pytest.raises(ValueError, match="non-finite.*running_mean_sq"):
        store.run(toy_sim.run, toy_sim.Config(n=3), [0], device="cpu")
    assert not store.has(toy_sim.run, toy_sim.Config(n=3), [0], device="cpu")
    df = store.run(toy_sim.run, toy_sim.Config(n=3, label="diverges"), [0], device="cpu")
    assert df["value"].isna().all()


def test_a_run_beyond_the_memory_budget_is_refused_before_it_allocates(store, tmp_path, monkeypatch):
    log = tmp_path / "calls.txt"
    monkeypatch.setenv("TOY_CALL_LOG", str(log))
    monkeypatch.setenv("THEORY_TESTBED_MEMORY_GB", "1")
    with pytest.raises(ValueError, match=r"needs about 1\.49 GiB.*0\.5 GiB allowed"):
        store.run(toy_sim.run, toy_sim.Config(n=100_000_000), [0, 1], device="cpu")
    assert not log.exists()


_ORPHAN = """
import sys
from sims.store import Store
from sims.sweep import run_many
from tests import toy_sim
run_many(toy_sim.run, [toy_sim.Config(n=n) for n in range(2, 10)], [0], device="cpu", store=Store(sys.argv[1]),
         n_jobs=2)
"""


def test_workers_stop_when_the_sweep_process_dies(tmp_path):
    """kill -9 of a sweep used to leave joblib workers computing and writing for minutes."""
    import signal
    import time

    root, pids = tmp_path / "res", tmp_path / "pids.txt"
    env = {**os.environ, "PYTHONPATH": str(REPO), "TOY_SLEEP": "2", "TOY_PID_LOG": str(pids)}
    sweep = subprocess.Popen([sys.executable, "-c", _ORPHAN, str(root)], env=env, cwd=REPO)
    deadline = time.time() + 300  # loky starts two interpreters that import torch: slow on a busy machine
    while time.time() < deadline and len(pids.read_text().split() if pids.exists() else []) < 2:
        time.sleep(0.1)
    workers = {int(p) for p in pids.read_text().split()}
    assert len(workers) == 2, "two workers should be running"
    sweep.send_signal(signal.SIGKILL)
    sweep.wait()
    killed_at = time.time()
    for _ in range(100):  # the watch polls every second
        alive = [p for p in workers if store_mod._pid_alive(p)]
        if not alive:
            break
        time.sleep(0.1)
    assert not alive, f"workers {alive} outlived their sweep"
    written = [p.stat().st_mtime for p in root.rglob("manifest.json")] if root.exists() else []
    assert all(t < killed_at for t in written)  # nothing was written after the sweep died
