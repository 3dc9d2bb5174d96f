"""Build the coursework notebooks from demos/*.py and execute them headless (`make notebooks`).

Each demo (a jupytext percent script) becomes notebooks/<demo>.ipynb, executed top to bottom on a fresh ipykernel
with its plots inline, so the notebook opens with every output and figure in place. A cell that raises stops the
build with the demo's name and exit status 1.

    python scripts/build_notebooks.py                 # every demo, full size, into notebooks/
    python scripts/build_notebooks.py icl --tiny      # one demo at its tiny (test) size
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMOS = REPO / "demos"
# The inline backend, whatever MPLBACKEND the caller has (the Makefile exports Agg, which would drop every plot).
INLINE = "module://matplotlib_inline.backend_inline"


def demo_names() -> list[str]:
    return sorted(p.stem for p in DEMOS.glob("*.py"))


def build(name: str, out_dir: Path, *, tiny: bool = False, timeout: int = 1800) -> Path:
    """Convert demos/<name>.py to a notebook, execute it in out_dir's kernel, write out_dir/<name>.ipynb."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    if name not in demo_names():
        raise ValueError(f"demo={name!r} is not valid; use one of {demo_names()}")
    notebook = jupytext.read(DEMOS / f"{name}.py", fmt="py:percent")
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    saved = dict(os.environ)
    os.environ["MPLBACKEND"] = INLINE  # the kernel inherits this process's environment
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), saved.get("PYTHONPATH")]))
    if tiny:
        os.environ["THEORY_TESTBED_DEMO_SIZE"] = "tiny"
    else:
        os.environ.pop("THEORY_TESTBED_DEMO_SIZE", None)
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(REPO)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("demos", nargs="*", help=f"demos to build (default: all of {demo_names()})")
    parser.add_argument("--tiny", action="store_true", help="run at the demos' tiny test size")
    parser.add_argument("--out", type=Path, default=REPO / "notebooks", help="output folder (default: notebooks/)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.demos) - set(demo_names()))
    if unknown:
        parser.error(f"unknown demo(s) {unknown}; choose from {demo_names()}")
    missing = [m for m in ("jupytext", "nbformat", "nbclient", "ipykernel") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"error: make notebooks needs {', '.join(missing)}: install the coursework extra "
              "(pip install -r requirements.lock, or pip install -e .[coursework])", file=sys.stderr)
        return 2
    from nbclient.exceptions import CellExecutionError

    for name in args.demos or demo_names():
        start = time.perf_counter()
        try:
            path = build(name, args.out, tiny=args.tiny)
        except CellExecutionError as err:
            print(f"error: demos/{name}.py failed while executing:\n{err}", file=sys.stderr)
            return 1
        print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}  executed in "
              f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
