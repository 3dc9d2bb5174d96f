"""Sweeps: specification, the three backends (local joblib, debug in-process, slurm through submitit's local
executor) giving the same results, resumption, status, and clear errors for bad specs."""
import os
from pathlib import Path

import pytest

from sims import sweep as sw
from sims.store import Store
from tests import toy_sim

REPO = Path(__file__).resolve().parent.parent


def _sweep(name="toy", ns=(2, 3, 4, 5)):
    return sw.Sweep(name, toy_sim.run, tuple(toy_sim.Config(n=n) for n in ns), (0, 1), "cpu", "float64")


def test_grid_expands_to_the_product():
    configs = sw.expand(toy_sim.Config, grid={"n": ["2", "3"], "scale": [0.5, 1.0, 2.0]})
    assert len(configs) == 6 and configs[0] == toy_sim.Config(n=2, scale=0.5)
    listed = sw.expand(toy_sim.Config, overrides=[{"n": 7}, {"label": "b", "shape": "1,2"}])
    assert listed == [toy_sim.Config(n=7), toy_sim.Config(label="b", shape=(1, 2))]


@pytest.mark.parametrize("kwargs, field", [
    ({"grid": {"width": [1]}}, "width"),
    ({"grid": {"n": ["two"]}}, "n"),
    ({"grid": {"scale": [True]}}, "scale"),
    ({"grid": {}}, "grid"),
    ({"grid": {"n": []}}, "n"),
    ({"overrides": [{"n": 1.5}]}, "n"),
])
def test_bad_sweep_specs_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        sw.expand(toy_sim.Config, **kwargs)


def test_config_validation_still_applies():
    with pytest.raises(ValueError, match="n=0"):
        sw.expand(toy_sim.Config, grid={"n": [0]})


def test_unknown_backend_and_system(store):
    with pytest.raises(ValueError, match="backend"):
        sw.submit(_sweep(), "kubernetes", store)
    with pytest.raises(ValueError, match="system"):
        sw.simulator("toy")
    with pytest.raises(ValueError, match="device and dtype"):
        sw.submit(sw.Sweep("x", toy_sim.run, (toy_sim.Config(),), (0,)), "slurm", store,
                  slurm=sw.SlurmOptions(cluster="local"))


def test_slurm_without_a_scheduler_is_refused_unless_allowed(store, tmp_path, monkeypatch):
    """`--backend slurm` on a machine without SLURM used to run locally while saying 'backend slurm'."""
    monkeypatch.setattr(sw.shutil, "which", lambda name: None)
    with pytest.raises(ValueError, match="no SLURM scheduler.*--allow-local"):
        sw.submit(_sweep(), "slurm", store)
    assert sw._resolve_cluster(sw.SlurmOptions(allow_local=True)).cluster == "local"
    monkeypatch.setattr(sw.shutil, "which", lambda name: "/usr/bin/sbatch")
    assert sw._resolve_cluster(sw.SlurmOptions()).cluster == "slurm"


def _values(store, sweep):
    return [store.load(sweep.fn, c, sweep.seeds, device="cpu", dtype="float64")["value"].tolist()
            for c in sweep.configs]


def test_backends_agree(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # submitit's local executor starts fresh interpreters
    results = {}
    for backend in ("local", "debug", "slurm"):
        store = Store(tmp_path / backend)
        opts = sw.SlurmOptions(cluster="local", chunk_size=3, timeout_min=5, folder=str(tmp_path / "submitit"))
        sw.submit(_sweep(), backend, store, n_jobs=2, slurm=opts)
        results[backend] = _values(store, _sweep())
        assert set(sw.status("toy", store)["state"]) == {"done"}
    assert results["local"] == results["debug"] == results["slurm"]
    assert list((tmp_path / "submitit").glob("*/*.err"))  # per-job logs in submitit's own folder
    # submitit's pickles are code: none of them may sit in the results store, which others may write
    assert not [p for p in (tmp_path / "slurm").rglob("*") if p.suffix == ".pkl"]


def test_failed_task_is_listed_with_its_log_and_resubmission_completes_the_rest(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("TOY_FAIL_AT", "3")
    store = Store(tmp_path / "res")
    opts = sw.SlurmOptions(cluster="local", chunk_size=2, timeout_min=5, folder=str(tmp_path / "submitit"))
    sw.submit(_sweep(), "slurm", store, slurm=opts)
    table = sw.status("toy", store)
    assert table["state"].tolist() == ["done", "failed", "done", "done"]  # a failure does not stop its chunk
    failed = table[table["state"] == "failed"].iloc[0]
    assert "planted failure" in failed["error"] and failed["log"].endswith(".err")
    monkeypatch.delenv("TOY_FAIL_AT")
    log = tmp_path / "calls.txt"
    monkeypatch.setenv("TOY_CALL_LOG", str(log))
    sw.submit(_sweep(), "slurm", store, slurm=opts)
    assert log.read_text().split() == ["3"]  # only the missing run
    assert set(sw.status("toy", store)["state"]) == {"done"}


def test_killed_worker_is_reported_failed_and_leaves_no_partial_run(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("TOY_CRASH_AT", "4")
    store = Store(tmp_path / "res")
    sw.submit(_sweep(), "slurm", store, slurm=sw.SlurmOptions(cluster="local", chunk_size=4, timeout_min=5,
                                                                folder=str(tmp_path / "submitit")))
    table = sw.status("toy", store)
    assert table["state"].tolist() == ["done", "done", "failed", "missing"]
    assert "died" in table["error"].iloc[2]
    assert not store.has(toy_sim.run, toy_sim.Config(n=4), (0, 1), device="cpu", dtype="float64")
    monkeypatch.delenv("TOY_CRASH_AT")
    sw.submit(_sweep(), "debug", store)
    assert set(sw.status("toy", store)["state"]) == {"done"}


def test_status_of_unknown_sweep(store):
    with pytest.raises(ValueError, match="sweep='nope'"):
        sw.status("nope", store)


# --------------------------------------------------------------------------------- races, debris and names
_WRITER = """
import sys
from pathlib import Path
from sims.sweep import write_json
path = Path(sys.argv[1])
for i in range(300):
    write_json(path, {"writer": sys.argv[2], "i": i, "pad": "x" * 4000})
"""


def test_concurrent_record_writers_never_show_a_torn_file(tmp_path):
    """Every writer used one `sweep.tmp` and markers were written in place: 13-26 % of reads saw torn JSON."""
    import json
    import subprocess
    import sys

    path = tmp_path / "sweep.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(k)], env=env) for k in range(3)]
    reads = torn = 0
    while any(w.poll() is None for w in writers):
        try:
            json.loads(path.read_text())
            reads += 1
        except FileNotFoundError:
            continue
        except ValueError:
            torn += 1
    assert all(w.returncode == 0 for w in writers)  # no writer crashed
    assert torn == 0 and reads > 0
    assert not [p for p in tmp_path.iterdir() if p.name != "sweep.json"]  # no temporary left behind


def test_status_treats_a_half_written_marker_as_absent(store):
    sweep = _sweep()
    sw.submit(sweep, "debug", store)
    key = sweep.keys(store)[0]
    folder = store.path(toy_sim.run, key)
    import shutil

    shutil.rmtree(folder)
    marker = store.root / ".sweeps" / "toy" / "running" / f"{key}.json"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text('{"key": "' + key[:5])  # cut by a crash of an older version that wrote in place
    assert sw.status("toy", store)["state"].tolist() == ["missing", "done", "done", "done"]


@pytest.mark.parametrize("name", ["..", ".", "../escape", "a/b", "", ".hidden", "x" * 201, "a\\b", "a b"])
def test_names_that_are_not_plain_folder_names_are_refused(store, name):
    with pytest.raises(ValueError, match="name"):
        _sweep(name)
    with pytest.raises(ValueError, match="sweep"):
        sw.status(name, store)


def test_bare_tuple_fields_are_settable_from_strings():
    """lssl.Config.kinds and hierarchical.Config.n_over_N are annotated `tuple`: their elements take the type of
    the default's elements."""
    from sims import hierarchical, lssl

    assert sw.parse_value(lssl.Config, "kinds", "legs,random") == ("legs", "random")
    assert sw.parse_value(hierarchical.Config, "n_over_N", "2,4") == (2.0, 4.0)
    configs = sw.expand(hierarchical.Config, grid={"n_over_N": ["2,4", "8"]})
    assert [c.n_over_N for c in configs] == [(2.0, 4.0), (8.0,)]
    with pytest.raises(ValueError, match="n_over_N"):
        sw.parse_value(hierarchical.Config, "n_over_N", "2,x")
