"""The coursework demo runs top to bottom at its tiny size."""
from __future__ import annotations

import runpy
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "demos" / "hierarchical.py"


def test_demo_runs_tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("THEORY_TESTBED_DEMO_SIZE", "tiny")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    ns = runpy.run_path(str(DEMO))
    assert "table" in ns and not any(tmp_path.iterdir())
