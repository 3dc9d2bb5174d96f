"""Every coursework demo is a valid jupytext percent script that becomes a notebook (make notebooks)."""
from pathlib import Path

import pytest

DEMOS = sorted((Path(__file__).resolve().parent.parent / "demos").glob("*.py"))


@pytest.mark.parametrize("path", DEMOS, ids=[p.stem for p in DEMOS])
def test_demo_converts_to_a_notebook(path):
    jupytext = pytest.importorskip("jupytext")
    import nbformat

    notebook = jupytext.read(path, fmt="py:percent")
    nbformat.validate(notebook)
    kinds = {cell.cell_type for cell in notebook.cells}
    assert kinds == {"markdown", "code"}, "a demo explains (markdown) and runs (code)"
