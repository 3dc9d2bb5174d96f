"""Figure plumbing: a figure is redrawn only when its data or script change."""
import sys
import types

import numpy as np

from figures import common


def _module(value):
    mod = types.ModuleType("figures.fig_toy_demo")
    mod.__file__ = common.__file__  # any readable source file
    mod.load = lambda store: {"y": np.array([1.0, value])}

    def draw(data):
        plt = common.style()
        fig, ax = plt.subplots()
        common.mean_band(ax, [0, 1], np.vstack([data["y"], data["y"] + 0.1]), label="sim")
        return fig

    mod.draw = draw
    return mod


def test_render_skips_unchanged_and_redraws_changed(tmp_path, monkeypatch, store):
    monkeypatch.setattr(common, "OUT", tmp_path)
    monkeypatch.setattr(common, "STAMPS", tmp_path / ".stamps")
    monkeypatch.setitem(sys.modules, "figures.fig_toy_demo", _module(2.0))
    assert common.render("fig_toy_demo", store) == "drawn"
    assert (tmp_path / "fig_toy_demo.png").exists() and (tmp_path / "fig_toy_demo.pdf").exists()
    assert common.render("fig_toy_demo", store) == "unchanged"
    monkeypatch.setitem(sys.modules, "figures.fig_toy_demo", _module(3.0))
    assert common.render("fig_toy_demo", store) == "unchanged"  # same code, same stored runs
    (store.root / "toy" / "newrun").mkdir(parents=True)
    (store.root / "toy" / "newrun" / "manifest.json").write_text("{}")
    assert common.render("fig_toy_demo", store) == "drawn"  # a new stored run of the system: redraw


def test_cli_refuses_an_unknown_system(capsys):
    import pytest

    from figures.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["nosuch"])
    assert exc.value.code == 2
    assert "unknown system 'nosuch'" in capsys.readouterr().err


def test_each_figure_is_reported_in_order_and_a_missing_run_fails(monkeypatch, capsys):
    """The report lists every figure drawn, in order, and a missing run makes the command fail."""
    from figures import __main__ as cli
    from sims.store import MissingRunError

    def fake(name, force):
        if name.endswith("lssl_kernel"):
            raise MissingRunError("no run")
        return "unchanged"

    monkeypatch.setattr(cli, "render", fake)
    monkeypatch.setattr(cli, "update_readme_gallery", lambda names: None)
    assert cli.main(["lssl", "--jobs", "1"]) == 1
    serial = capsys.readouterr()
    names = [line.split()[0] for line in serial.out.splitlines()]
    assert names == [n for n in cli.figure_modules(["lssl"]) if not n.endswith("lssl_kernel")]
    assert "fig_lssl_kernel" in serial.err
