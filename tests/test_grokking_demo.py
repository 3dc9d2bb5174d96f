"""The coursework demo runs top to bottom at its tiny size and writes nothing into the repo."""
from __future__ import annotations

import runpy
from pathlib import Path

import matplotlib
import torch

matplotlib.use("Agg")

DEMO = Path(__file__).resolve().parent.parent / "demos" / "grokking.py"


def test_demo_runs_tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("THEORY_TESTBED_DEMO_SIZE", "tiny")
    monkeypatch.chdir(tmp_path)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runpy.run_path(str(DEMO), run_name="__main__")
    finally:
        torch.set_num_threads(before)
    assert list(tmp_path.iterdir()) == []
