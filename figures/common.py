"""Shared figure plumbing: house style, mean ± 95 % CI bands, saving PNG + PDF, skipping unchanged figures.

A figure module ``figures/fig_<system>_<what>.py`` defines

- ``load(store) -> dict``: reads what it draws from the store (``store.load`` raises MissingRunError, never trains)
  and from theory/ (closed forms);
- ``draw(data) -> matplotlib.figure.Figure``.

:func:`render` digests the loaded data and the script's source; when neither changed since the last render and
both files exist, the figure is skipped, which keeps a warm ``make`` fast.
"""
from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "out"
STAMPS = OUT / ".stamps"
THEORY_STYLE = {"color": "black", "lw": 1.6, "zorder": 3}


def style():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "axes.grid": True, "grid.alpha": 0.3,
                         "axes.spines.top": False, "axes.spines.right": False, "font.size": 10,
                         "legend.frameon": False, "svg.hashsalt": "theory-testbed"})
    return plt


def mean_band(ax, x, samples, *, label: str, color=None, marker="o", level: float = 0.95):
    """Simulation as mean ± CI over seeds: ``samples`` has shape (n_seeds, len(x))."""
    from theory.stats import mean_ci

    samples = np.asarray(samples, dtype=np.float64)
    stats = [mean_ci(samples[:, j], level) for j in range(samples.shape[1])]
    mean = np.array([s.mean for s in stats])
    lo = np.array([s.low for s in stats]) if samples.shape[0] > 1 else mean
    hi = np.array([s.high for s in stats]) if samples.shape[0] > 1 else mean
    line, = ax.plot(x, mean, marker=marker, ms=3.5, lw=1.0, color=color,
                    label=f"{label} (mean ± 95% CI, {samples.shape[0]} seeds)")
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.25, lw=0)
    return line


def digest(obj) -> str:
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()


def _feed(h, obj):
    if isinstance(obj, pd.DataFrame):
        h.update(pd.util.hash_pandas_object(obj, index=False).values.tobytes())
        h.update(",".join(map(str, obj.columns)).encode())
    elif isinstance(obj, np.ndarray):
        h.update(str(obj.dtype).encode() + str(obj.shape).encode())
        h.update(np.ascontiguousarray(obj).tobytes())
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            h.update(str(k).encode())
            _feed(h, obj[k])
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _feed(h, v)
    else:
        h.update(json.dumps(obj, default=str).encode())


def render(module_name: str, store=None, force: bool = False) -> str:
    """Load, digest, and draw ``figures.<module_name>`` into figures/out/<name>.png and .pdf unless unchanged."""
    from sims.store import Store

    store = store or Store()
    module = importlib.import_module(f"figures.{module_name}")
    name = module_name
    data = module.load(store)
    stamp = digest({"source": Path(module.__file__).read_text(), "common": Path(__file__).read_text(), "data": data})
    png, pdf, stamp_file = OUT / f"{name}.png", OUT / f"{name}.pdf", STAMPS / f"{name}.sha"
    if not force and png.exists() and pdf.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return "unchanged"
    plt = style()
    fig = module.draw(data)
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(pdf, bbox_inches="tight", metadata={"CreationDate": None, "Producer": None, "Creator": None})
    plt.close(fig)
    STAMPS.mkdir(parents=True, exist_ok=True)
    stamp_file.write_text(stamp)
    return "drawn"


def figure_modules(systems=None) -> list[str]:
    here = Path(__file__).resolve().parent
    names = sorted(p.stem for p in here.glob("fig_*.py"))
    if systems:
        names = [n for n in names if n.split("_")[1] in systems]
    return names


def update_readme_gallery(names: list[str]) -> None:
    """The README's figure gallery (between its figures markers): each figure with its script's first doc line."""
    from claims.report import REPO_ROOT, _write_if_changed

    readme = REPO_ROOT / "README.md"
    start, end = "<!-- figures:start -->", "<!-- figures:end -->"
    if not readme.exists() or start not in readme.read_text():
        return
    lines = []
    for name in names:
        if not (OUT / f"{name}.png").exists():
            continue
        doc = (importlib.import_module(f"figures.{name}").__doc__ or name).strip().split("\n")[0]
        lines += [f"**{name}**: {doc}", "", f"![{doc}](figures/out/{name}.png)", ""]
    text = readme.read_text()
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    _write_if_changed(readme, f"{head}{start}\n" + "\n".join(lines) + f"{end}{tail}")
