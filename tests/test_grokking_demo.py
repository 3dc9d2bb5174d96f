"""The coursework demo runs top to bottom at its tiny size and writes nothing into the repo."""
from __future__ import annotations

import runpy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

DEMO = Path(__file__).resolve().parent.parent / "demos" / "grokking.py"


def test_demo_runs_tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("THEORY_TESTBED_DEMO_SIZE", "tiny")
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(DEMO), run_name="__main__")
    assert list(tmp_path.iterdir()) == []
