"""Every public theory function documents itself in numpy style (the API reference, `make docs`, is built from
these): Parameters for each argument, Returns, References (the paper and equation, or how it was derived)."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import theory

MODULES = [importlib.import_module(f"theory.{m.name}") for m in pkgutil.iter_modules(theory.__path__)]
FUNCTIONS = [(mod.__name__, name, fn) for mod in MODULES for name, fn in vars(mod).items()
             if not name.startswith("_") and callable(fn) and getattr(fn, "__module__", None) == mod.__name__
             and (inspect.isfunction(fn) or inspect.isfunction(getattr(fn, "__wrapped__", None)))]


def test_every_theory_module_has_public_functions():
    assert len(FUNCTIONS) > 100


@pytest.mark.parametrize("module,name,fn", FUNCTIONS, ids=[f"{m}.{n}" for m, n, _ in FUNCTIONS])
def test_numpy_style_docstring(module, name, fn):
    doc = inspect.getdoc(fn) or ""
    for section in ("Returns\n-------", "References\n----------"):
        assert section in doc, f"{module}.{name}: no {section.splitlines()[0]} section"
    params = [p for p in inspect.signature(fn).parameters if p not in ("self", "cls")]
    if params:
        block = doc.split("Parameters\n----------\n", 1)
        assert len(block) == 2, f"{module}.{name}: no Parameters section"
        for p in params:
            assert f"\n{p} : " in "\n" + block[1], f"{module}.{name}: parameter {p!r} is not documented"
    assert "brief" not in doc.lower() and "shared/" not in doc
