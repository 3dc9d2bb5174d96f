"""The coursework demo runs top to bottom at its tiny size (demos are tests)."""
from __future__ import annotations

import runpy
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "demos" / "icl.py"


def test_demo_runs_tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("THEORY_TESTBED_DEMO_SIZE", "tiny")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(DEMO), run_name="__main__")
    assert not any(tmp_path.iterdir())  # the demo writes nothing
