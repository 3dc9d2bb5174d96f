"""`make notebooks`: every demo executes headless as a notebook, with its figures inline and no error output.

Needs the `coursework` extra (jupytext, nbclient, ipykernel); skipped where it is not installed. The demos run at
their tiny size here; the fast suite keeps the per-system demo smoke tests (tests/test_*_demo.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMOS = sorted(p.stem for p in (REPO / "demos").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("name", DEMOS)
def test_notebook_executes_with_figures_and_no_errors(name, tmp_path):
    for module in ("jupytext", "nbclient", "ipykernel", "matplotlib_inline"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install -e .[coursework])")
    from scripts.build_notebooks import build

    notebook = __import__("nbformat").read(build(name, tmp_path, tiny=True), as_version=4)
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    stderr = [out.text for out in outputs if out.output_type == "stream" and out.name == "stderr"]
    assert not stderr, f"{name}: the notebook wrote to stderr (a warning or a traceback): {stderr}"
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert images, f"{name}: no inline figure in the executed notebook"
    headings = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    assert any(src.startswith("## Try it") for src in headings), f"{name}: no 'Try it' section"
    assert "take away" in headings[-1].lower(), f"{name}: the notebook does not end with its takeaway"
