"""The coursework demo runs top to bottom at its tiny size without writing into the repository."""
from __future__ import annotations

import runpy
from pathlib import Path

import matplotlib

DEMO = Path(__file__).resolve().parent.parent / "demos" / "lssl.py"


def test_demo_runs_at_tiny_size(tmp_path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.setenv("THEORY_TESTBED_DEMO_SIZE", "tiny")
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in DEMO.parent.parent.iterdir())
    import torch

    threads = torch.get_num_threads()
    try:
        runpy.run_path(str(DEMO), run_name="__main__")
    finally:
        torch.set_num_threads(threads)  # the demo pins one thread for speed; leave the session as it was
    assert sorted(p.name for p in DEMO.parent.parent.iterdir()) == before
    assert list(tmp_path.iterdir()) == []
