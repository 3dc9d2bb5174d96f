"""The simulators' command line as a user meets it: the Config of each --fn, help with valid values, a compact
summary, and every failure as one `error:` line naming the option (--traceback for developers)."""
import pytest

import sims.__main__ as cli
from tests import toy_sim
from tests.test_cli import toy_system  # noqa: F401 - the fixture


def test_fn_builds_the_config_of_that_simulator(monkeypatch, tmp_path, capsys):
    """`--fn run_reduced` used to build icl.Config and crash inside run_reduced."""
    monkeypatch.setenv("THEORY_TESTBED_RESULTS", str(tmp_path / "res"))
    assert cli.main(["run", "icl", "--fn", "run_reduced", "--d", "2", "--steps", "5", "--log-every", "1",
                     "--seeds", "1", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "ReducedConfig(d=2" in out and "loss" in out
    assert cli.main(["run", "icl", "--fn", "problem"]) == 2
    assert "--fn 'problem' is not a simulator of sims.icl; use one of run, run_reduced, run_reference" in \
        capsys.readouterr().err
    assert cli.main(["run", "icl", "--fn", "run_reduced", "--preset", "cpu"]) == 2
    assert "presets apply to the main simulator" in capsys.readouterr().err
    assert cli.main(["list"]) == 0
    assert "--fn run_reduced" in capsys.readouterr().out


def test_help_explains_each_field_with_its_valid_values(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "icl", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--optimizer VALUE \"adam\" or \"sgd\"; valid: ('adam', 'sgd')" in out
    assert "--lr VALUE peak learning rate; valid: a finite number in [1e-12, 10]" in out


def test_summary_is_compact_and_shows_metrics_without_a_step(toy_system, capsys):
    import pandas as pd

    rows = [{"seed": s, "metric": m, "value": 1.0} for s in (0, 1) for m in ("loss", "loss_sq", "final")]
    rows += [{"seed": s, "step": 10, "metric": "curve", "value": 2.0} for s in (0, 1)]
    rows += [{"seed": s, "metric": f"gamma_{i}_{j}", "value": float(i)} for s in (0, 1) for i in range(3) for j in range(3)]
    table, folded = cli.compact(cli.summarise(pd.DataFrame(rows)))
    assert table["metric"].tolist() == ["loss", "final", "curve"]  # loss_sq is loss's helper; gamma_* folded
    assert folded == ["gamma_* (9 values: range 0 .. 2)"]


def test_every_failure_is_one_error_line_and_traceback_shows_it(toy_system, monkeypatch, capsys):
    import numpy as np

    def broken(config, seeds, *, device, dtype):
        raise np.linalg.LinAlgError("Eigenvalues did not converge")

    broken.__module__, broken.__qualname__ = "tests.toy_sim", "run"
    monkeypatch.setattr(cli, "simulator", lambda system, fn_name="run": (toy_sim, broken if fn_name else None))
    argv = ["run", "toy", "--n", "3", "--seeds", "1", "--device", "cpu"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: run toy failed with LinAlgError: Eigenvalues did not")
    assert "--n" in err and "--traceback" in err
    with pytest.raises(np.linalg.LinAlgError):
        cli.main(argv + ["--traceback"])


@pytest.mark.parametrize("argv, says", [
    (["run", "toy", "--seeds", "0"], "--seeds: 0 is out of range; need 1 <= --seeds <= 100000"),
    (["run", "toy", "--seed-root", "-1"], "--seed-root: -1 is out of range"),
    (["run", "toy", "--scale", "inf"], "--scale"),
    (["run", "toy", "--device", "tpu"], "device='tpu' is not valid"),
    (["sweep", "toy", "--grid", "n=2,3", "--name", "../up", "--backend", "debug"], "--name='../up' is not valid"),
    (["sweep", "toy", "--grid", "n=2", "--backend", "slurm", "--device", "cpu", "--dtype", "float64"], "--allow-local"),
])
def test_bad_options_are_named(toy_system, capsys, monkeypatch, argv, says):
    from sims import sweep

    monkeypatch.setattr(sweep.shutil, "which", lambda name: None)
    monkeypatch.setattr(toy_sim.Config, "__post_init__", _bounded_toy)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1


def _bounded_toy(self):
    from sims import runtime

    runtime.check_fields(self, {"n": (1, 10**6), "scale": (0, 1e6), "shape": (1, 100)})


def test_results_root_that_is_a_file_fails_before_computing(toy_system, monkeypatch, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("THEORY_TESTBED_RESULTS", str(tmp_path / "afile"))
    monkeypatch.setenv("TOY_CALL_LOG", str(tmp_path / "calls.txt"))
    assert cli.main(["run", "toy", "--seeds", "1", "--device", "cpu"]) == 2
    assert "is a file" in capsys.readouterr().err and not (tmp_path / "calls.txt").exists()


def test_store_check_command(toy_system, capsys):
    assert cli.main(["run", "toy", "--n", "3", "--seeds", "1", "--device", "cpu"]) == 0
    assert cli.main(["store-check"]) == 0
    assert "1 runs ok, 0 broken" in capsys.readouterr().out
    (csv,) = toy_system.rglob("metrics.csv")
    csv.write_text(csv.read_text()[:20])
    assert cli.main(["store-check"]) == 1
    assert "broken" in capsys.readouterr().out
    assert cli.main(["store-check", "--repair"]) == 0
    assert cli.main(["store-check"]) == 0
    assert "0 runs ok, 0 broken" in capsys.readouterr().out
