"""The admm coursework demo runs top to bottom at its tiny size."""
from __future__ import annotations

import runpy
from pathlib import Path

import matplotlib

DEMO = Path(__file__).resolve().parent.parent / "demos" / "admm.py"


def test_demo_runs_tiny(tmp_path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.setenv("THEORY_TESTBED_DEMO_SIZE", "tiny")
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(DEMO), run_name="__main__")
    assert not any(tmp_path.iterdir())
