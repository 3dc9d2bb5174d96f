"""The theory column of `python -m sims run`: sims/expected.py's predictions, their labels and the command line."""
from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
import torch

import sims.__main__ as cli
from sims import expected
from sims.sweep import simulator

PAIRINGS = sorted(expected.PREDICTIONS)

# Small configs of every registered simulator: each runs in about a second, and each switches on the optional
# metrics its prediction covers (so a renamed metric leaves a predicted label without a row, and the test fails).
TINY = {
    ("icl", "run"): dict(d=2, n=4, steps=5, batch=64, eval_batch=256, eval_lengths=(6,), eval_scales=(2.0,)),
    ("icl", "run_reduced"): dict(d=2, n=4, steps=20, log_every=10),
    ("admm", "run"): dict(K=3, L=2, n_iter=20, window=5, record_mean=True, n_record=4),
    ("grokking", "ascent"): dict(M=5, steps=4, log_every=2, hessian=False),
    ("grokking", "analytic"): dict(grid_p=(3, 5), random_p=()),
    ("hierarchical", "run"): dict(d=4, n_over_N=(2.0,), n2=200, m2=10, n_test=500),
}

ICL_TINY_ARGS = ["--d", "2", "--n", "4", "--steps", "5", "--batch", "64", "--eval-batch", "256", "--seeds", "2",
                 "--device", "cpu"]


def _config(system, fn_name, **changes):
    module, _ = simulator(system, fn_name)
    return cli.simulators(module)[fn_name](**changes)


def test_every_pairing_has_a_tiny_config():
    assert set(TINY) == set(PAIRINGS)


@pytest.mark.parametrize("pairing", PAIRINGS, ids=[".".join(p) for p in PAIRINGS])
def test_default_config_gives_finite_predictions(pairing):
    values = expected.PREDICTIONS[pairing].fn(_config(*pairing))
    assert values, f"{pairing}: no prediction at the default config"
    assert all(math.isfinite(v) for v in values.values()), values


@pytest.mark.parametrize("pairing", PAIRINGS, ids=[".".join(p) for p in PAIRINGS])
def test_predicted_labels_are_metrics_of_the_simulator(pairing):
    system, fn_name = pairing
    config = _config(system, fn_name, **TINY[pairing])
    _, fn = simulator(system, fn_name)
    summary = cli.summarise(fn(config, [0], device="cpu", dtype=torch.float64))
    values, skipped = expected.predict(system, fn_name, config, budget_s=30.0)
    assert skipped is None
    assert set(values) <= set(summary["metric"]), set(values) - set(summary["metric"])


def _row(out: str, metric: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if line.split()[:1] == [metric])


def test_cli_prints_theory_and_rel_err(monkeypatch, tmp_path, capsys):
    from theory import icl as th

    monkeypatch.setenv("THEORY_TESTBED_RESULTS", str(tmp_path / "res"))
    assert cli.main(["run", "icl", *ICL_TINY_ARGS]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[2].split() == ["metric", "step", "mean", "ci95", "seeds", "theory", "rel_err"]
    row = _row(out, "eval_loss")  # no step: metric, mean, ci95, seeds, theory, rel_err
    L_star = th.optimal_loss(np.eye(2), 4, 0.01)
    assert float(row[4]) == pytest.approx(L_star, rel=1e-5)
    assert float(row[5]) == pytest.approx(float(row[1]) / L_star - 1, rel=1e-2, abs=1e-6)
    assert len(_row(out, "spd_opt")) == 4  # no prediction: theory and rel_err blank
    assert "theory: the global optimum" in out


def test_planted_bug_in_theory_shows_in_the_column(monkeypatch, tmp_path, capsys):
    """Double theory.icl.optimal_loss: the printed prediction doubles (cached run, so only the theory changes)."""
    from theory import icl as th

    monkeypatch.setenv("THEORY_TESTBED_RESULTS", str(tmp_path / "res"))
    assert cli.main(["run", "icl", *ICL_TINY_ARGS]) == 0
    honest = float(_row(capsys.readouterr().out, "eval_loss")[4])
    original = th.optimal_loss
    monkeypatch.setattr(th, "optimal_loss", lambda *a, **k: 2 * original(*a, **k))
    assert cli.main(["run", "icl", *ICL_TINY_ARGS]) == 0
    out = capsys.readouterr().out
    assert "cache hit" in out
    assert float(_row(out, "eval_loss")[4]) == pytest.approx(2 * honest, rel=1e-5)


def test_planted_bug_in_admm_recursion_shows_in_rel_err(monkeypatch):
    from theory import admm as th

    config = _config("admm", "run", **TINY[("admm", "run")])
    summary = pd.DataFrame({"metric": ["nmsd"], "step": [20], "mean": [1.0], "ci95": [0.0], "seeds": [2]})
    honest, _ = expected.annotate(summary, "admm", "run", config, budget_s=30.0)
    original = th.exact_moments

    def doubled(*args, **kw):
        out = original(*args, **kw)
        return {**out, "nmsd": 2 * out["nmsd"]}

    monkeypatch.setattr(th, "exact_moments", doubled)
    planted, _ = expected.annotate(summary, "admm", "run", config, budget_s=30.0)
    assert planted["theory"][0] == pytest.approx(2 * honest["theory"][0], rel=1e-12)
    assert planted["rel_err"][0] == pytest.approx(1 / planted["theory"][0] - 1, rel=1e-12)


def test_rel_err_is_blank_where_theory_is_zero_or_absent(monkeypatch):
    monkeypatch.setitem(expected.PREDICTIONS, ("toy", "run"),
                        expected.Prediction(lambda c: {"a": 2.0, "b": 0.0}, "made up"))
    summary = pd.DataFrame({"metric": ["a", "b", "c"], "step": ["", "", ""], "mean": [3.0, 0.1, 1.0],
                            "ci95": [0.1, 0.1, 0.1], "seeds": [2, 2, 2]})
    out, notes = expected.annotate(summary, "toy", "run", None)
    assert out["theory"].tolist()[:2] == [2.0, 0.0] and math.isnan(out["theory"][2])
    assert out["rel_err"][0] == pytest.approx(0.5) and np.isnan(out["rel_err"][1:]).all()
    assert notes == ["theory: made up; rel_err = mean/theory - 1"]


def test_a_prediction_that_raises_is_skipped_with_its_reason(monkeypatch, tmp_path, capsys):
    def outside(config):
        raise ValueError("response='relu' is outside the theory")

    monkeypatch.setenv("THEORY_TESTBED_RESULTS", str(tmp_path / "res"))
    monkeypatch.setitem(expected.PREDICTIONS, ("icl", "run"), expected.Prediction(outside, "unused"))
    assert cli.main(["run", "icl", *ICL_TINY_ARGS]) == 0
    out = capsys.readouterr().out
    assert "theory skipped: ValueError: response='relu' is outside the theory" in out
    assert len(_row(out, "eval_loss")) == 4


def test_a_slow_prediction_is_skipped_without_waiting(monkeypatch):
    monkeypatch.setitem(expected.PREDICTIONS, ("toy", "run"),
                        expected.Prediction(lambda c: time.sleep(5) or {"a": 1.0}, "unused"))
    monkeypatch.setattr(expected, "BUDGET_S", 0.05)
    start = time.perf_counter()
    values, skipped = expected.predict("toy", "run", None)
    assert values == {} and "took longer than 0.05 s" in skipped
    assert time.perf_counter() - start < 2.0


def test_a_folded_family_reports_its_theory():
    summary = pd.DataFrame({"metric": [f"gamma_{i}_{j}" for i in range(2) for j in range(2)], "step": [""] * 4,
                            "mean": [1.01, 0.02, -0.01, 0.99], "ci95": [0.1] * 4, "seeds": [2] * 4,
                            "theory": [1.0, 0.0, 0.0, 1.0], "rel_err": [0.01, np.nan, np.nan, -0.01]})
    _, folded = cli.compact(summary)
    assert folded == ["gamma_* (4 values: range -0.01 .. 1.01; theory 0 .. 1, largest |mean - theory| 0.02)"]


def test_all_metrics_keeps_the_column(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("THEORY_TESTBED_RESULTS", str(tmp_path / "res"))
    assert cli.main(["run", "icl", *ICL_TINY_ARGS, "--all-metrics"]) == 0
    out = capsys.readouterr().out
    assert float(_row(out, "gamma_0_0")[4]) > 0 and len(_row(out, "eval_loss_sq")) == 4


def test_a_system_without_predictions_says_why(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("THEORY_TESTBED_RESULTS", str(tmp_path / "res"))
    assert cli.main(["run", "lssl", "--fn", "gating_run", "--H", "2", "--L", "16", "--batch", "1", "--seeds", "2",
                     "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "theory: none (lssl's claims test rates" in out and "rel_err" not in out
