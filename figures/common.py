"""Shared figure plumbing: house style, mean ± 95 % CI bands, saving PNG + PDF, skipping unchanged figures.

A figure module ``figures/fig_<system>_<what>.py`` defines

- ``load(store) -> dict``: reads what it draws from the store (``store.load`` raises MissingRunError, never trains)
  and from theory/ (closed forms);
- ``draw(data) -> matplotlib.figure.Figure``.

:func:`render` skips a figure whose script, system code and stored runs are unchanged since it was last drawn
(``Store.fingerprint``), which keeps a warm ``make`` fast.
"""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import numpy as np

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


FEW_SEEDS = 4
"""With this many seeds or fewer a 95 % band is mostly the t quantile (12.7 for 2 seeds, 3.2 for 4) and can span
decades; figures then draw every seed as a thin line around the mean instead (docs/conventions.md)."""


def _seeds_or_band(ax, x, samples, centre, low, high, *, label, color, marker, what, connect=True):
    n = samples.shape[0]
    style = {"lw": 1.2} if connect else {"ls": "none", "mfc": "white", "mew": 1.2}
    if n <= FEW_SEEDS:
        each = "thin" if connect else "dots"
        line, = ax.plot(x, centre, marker=marker, ms=3.5 if connect else 5, color=color, **style,
                        label=f"{label} ({what}; {each}: each of {n} seed{'s' if n > 1 else ''})")
        seed_style = {"lw": 0.6} if connect else {"ls": "none", "marker": ".", "ms": 3}
        for row in samples if n > 1 else ():
            ax.plot(x, row, color=line.get_color(), alpha=0.45, zorder=line.get_zorder() - 0.1, **seed_style)
        return line
    line, = ax.plot(x, centre, marker=marker, ms=3.5 if connect else 5, color=color, **style,
                    label=f"{label} ({what} ± 95% CI, {n} seeds)")
    if connect:
        ax.fill_between(x, low, high, color=line.get_color(), alpha=0.25, lw=0)
    else:
        ax.errorbar(x, centre, yerr=[centre - low, high - centre], ls="none", color=line.get_color(), lw=1, capsize=2)
    return line


def mean_band(ax, x, samples, *, label: str, color=None, marker="o", level: float = 0.95, limits=None,
              connect: bool = True):
    """Simulation over seeds, ``samples`` of shape (n_seeds, len(x)): the mean with its CI band, or with every
    seed as a thin line when there are :data:`FEW_SEEDS` or fewer. ``limits`` = (low, high) clips the band to
    what the quantity can be (an accuracy or a share lies in [0, 1]). ``connect=False`` draws open markers with
    error bars (or seed dots) and no line: for a sparse grid next to a theory curve, where straight segments
    between the points would cut across the curve."""
    from theory.stats import mean_ci

    samples = np.asarray(samples, dtype=np.float64)
    stats = [mean_ci(samples[:, j], level) for j in range(samples.shape[1])]
    mean = np.array([s.mean for s in stats])
    low, high = np.array([s.low for s in stats]), np.array([s.high for s in stats])
    if limits is not None:
        low, high = np.clip(low, *limits), np.clip(high, *limits)
    return _seeds_or_band(ax, x, samples, mean, low, high, label=label, color=color, marker=marker, what="mean",
                          connect=connect)


def log_band(ax, x, samples, *, label: str, color=None, marker="o"):
    """Positive simulation values that spread over decades across seeds, on a log axis: the geometric mean with
    the 95 % CI of the log10 values (a linear CI would cross zero), or every seed as a thin line when there are
    :data:`FEW_SEEDS` or fewer."""
    from theory.stats import mean_ci

    samples = np.asarray(samples, dtype=np.float64)
    stats = [mean_ci(np.log10(samples[:, j])) for j in range(samples.shape[1])]
    centre = 10 ** np.array([s.mean for s in stats])
    low, high = 10 ** np.array([s.low for s in stats]), 10 ** np.array([s.high for s in stats])
    return _seeds_or_band(ax, x, samples, centre, low, high, label=label, color=color, marker=marker,
                          what="geo. mean")


def render(module_name: str, store=None, force: bool = False) -> str:
    """Draw ``figures.<module_name>`` into figures/out/<name>.png and .pdf, unless the figure script, the shared
    plumbing and its system's code and stored runs are all unchanged since the last drawing (then it is skipped
    without loading anything)."""
    from sims.store import Store

    store = store or Store()
    name = module_name
    source = Path(__file__).resolve().parent / f"{name}.py"
    stamp = store.fingerprint(name.split("_")[1], *([source] if source.exists() else []), __file__)
    png, pdf, stamp_file = OUT / f"{name}.png", OUT / f"{name}.pdf", STAMPS / f"{name}.sha"
    if not force and png.exists() and pdf.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return "unchanged"
    module = importlib.import_module(f"figures.{name}")
    data = module.load(store)
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
        source = (Path(__file__).resolve().parent / f"{name}.py").read_text()
        doc = " ".join((ast.get_docstring(ast.parse(source)) or name).strip().split("\n\n")[0].split())
        lines += [f"**{name}**: {doc}", "", f"![{name}](figures/out/{name}.png)", ""]
    text = readme.read_text()
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    _write_if_changed(readme, f"{head}{start}\n" + "\n".join(lines) + f"{end}{tail}")
