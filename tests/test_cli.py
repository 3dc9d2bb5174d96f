"""The command lines: python -m sims run/sweep/sweep-status/list and python -m claims."""
import pytest

import sims.__main__ as cli
from sims import sweep as sw
from sims.store import Store
from tests import toy_sim


@pytest.fixture
def toy_system(monkeypatch, tmp_path):
    monkeypatch.setenv("THEORY_TESTBED_RESULTS", str(tmp_path / "res"))

    def fake_simulator(system, fn_name="run"):
        if system != "toy":
            raise ValueError(f"system={system!r} is not valid")
        return toy_sim, getattr(toy_sim, fn_name)

    monkeypatch.setattr(cli, "simulator", fake_simulator)
    monkeypatch.setattr(sw, "simulator", fake_simulator)
    return tmp_path / "res"


def test_run_prints_a_summary_and_caches(toy_system, capsys):
    assert cli.main(["run", "toy", "--n", "6", "--scale", "2", "--seeds", "3", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "running_mean_sq" in out and "ran" in out
    assert cli.main(["run", "toy", "--n", "6", "--scale", "2", "--seeds", "3", "--device", "cpu"]) == 0
    assert "cache hit" in capsys.readouterr().out


def test_run_help_lists_fields(toy_system, capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "toy", "--help"])
    out = capsys.readouterr().out
    assert "--scale" in out and "[float, default 1.0]" in out and "--shape" in out
    assert "standard deviation of the draws" in out  # the field's comment is its help


def test_bad_values_are_clear_errors(toy_system, capsys):
    assert cli.main(["run", "toy", "--n", "two"]) == 2
    assert "field 'n'" in capsys.readouterr().err
    assert cli.main(["run", "toy", "--n", "0", "--device", "cpu"]) == 2
    assert "n=0" in capsys.readouterr().err
    assert cli.main(["run", "nosuch"]) == 2
    assert cli.main(["frobnicate"]) == 2


def test_sweep_and_status(toy_system, capsys):
    assert cli.main(["sweep", "toy", "--grid", "n=2,3", "--grid", "scale=1,2", "--seeds", "2", "--backend", "debug",
                     "--device", "cpu", "--name", "toy-grid"]) == 0
    assert "done: 4" in capsys.readouterr().out
    assert cli.main(["sweep-status", "toy-grid"]) == 0
    assert cli.main(["sweep", "toy", "--paper", "--backend", "debug", "--device", "cpu"]) == 0
    assert "done: 2" in capsys.readouterr().out
    assert cli.main(["sweep", "toy", "--grid", "width=1", "--backend", "debug"]) == 2
    assert "width" in capsys.readouterr().err


def test_claims_command_writes_the_report(monkeypatch, tmp_path, capsys):
    import claims.__main__ as claims_cli
    from claims import report
    from tests.test_claims_core import _toy_claim

    monkeypatch.setenv("THEORY_TESTBED_RESULTS", str(tmp_path / "res"))
    monkeypatch.setattr(report, "REPORT_DIR", tmp_path / "reports")
    monkeypatch.setattr(claims_cli, "SYSTEMS", ("toy",))
    monkeypatch.setattr(claims_cli, "load_claims", lambda system: [_toy_claim()])
    monkeypatch.setattr(report, "update_readme", lambda claims: None)
    assert claims_cli.main(["--device", "cpu", "--strict"]) == 0
    assert "toy.1" in capsys.readouterr().out
    assert "toy.1" in (tmp_path / "reports" / "VALIDATION.md").read_text()
    assert claims_cli.main(["--device", "cpu"]) == 0
    assert "unchanged" in capsys.readouterr().out  # same code, same stored runs: the verdict is reused
    assert claims_cli.main(["--device", "cpu", "--fresh"]) == 0
    assert "unchanged" not in capsys.readouterr().out
    assert claims_cli.main(["--device", "cpu", "--size", "test"]) == 0
    assert "not written" in capsys.readouterr().out


def test_claims_seed_offset_replicates_without_touching_the_reports(monkeypatch, tmp_path, capsys):
    """--seed-offset N reruns every simulation with seeds shifted by N and writes its report under
    results/replicates/, leaving reports/ (and the README) alone."""
    import json

    import claims.__main__ as claims_cli
    from claims import report
    from tests.test_claims_core import _toy_claim

    monkeypatch.setenv("THEORY_TESTBED_RESULTS", str(tmp_path / "res"))
    monkeypatch.setattr(report, "REPORT_DIR", tmp_path / "reports")
    monkeypatch.setattr(claims_cli, "SYSTEMS", ("toy",))
    monkeypatch.setattr(claims_cli, "load_claims", lambda system: [_toy_claim()])
    monkeypatch.setattr(report, "update_readme", lambda claims: pytest.fail("a replicate must not touch the README"))
    assert claims_cli.main(["--device", "cpu", "--seed-offset", "1000"]) == 0
    assert "replicate" in capsys.readouterr().out
    assert not (tmp_path / "reports").exists()
    out = tmp_path / "res" / "replicates" / "report-seed-offset-1000"
    assert json.loads((out / "validation.json").read_text())["environment"]["seed_offset"] == 1000
    assert "every simulation seed shifted by 1000" in (out / "VALIDATION.md").read_text()
    stored = [json.loads(p.read_text())["seeds"] for p in (tmp_path / "res").rglob("manifest.json")]
    assert stored and all(min(s) >= 1000 for s in stored)
    with pytest.raises(SystemExit):
        claims_cli.main(["--seed-offset", "-1"])


def test_claims_show_prints_every_check_and_unknown_ids_are_refused(monkeypatch, tmp_path, capsys):
    import claims.__main__ as claims_cli
    from tests.test_claims_core import _toy_claim

    monkeypatch.setenv("THEORY_TESTBED_RESULTS", str(tmp_path / "results"))
    monkeypatch.setattr(claims_cli, "SYSTEMS", ("toy",))
    monkeypatch.setattr(claims_cli, "load_claims", lambda system: [_toy_claim()])
    assert claims_cli.main(["--device", "cpu", "--size", "test", "--show"]) == 0
    out = capsys.readouterr().out
    assert "pass E x^2: prediction 1, measured" in out and "resolution" in out and "worst resolution" in out
    with pytest.raises(SystemExit):
        claims_cli.main(["--device", "cpu", "--size", "test", "--only", "toy.99"])
    assert "unknown claim ids toy.99" in capsys.readouterr().err
