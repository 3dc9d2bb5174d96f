"""The code version of a simulator: its own module, the shared runtime, and only the theory code it can reach.

A simulator that imports its system's theory module (``from theory import icl as theory``) depends on the theory
functions it calls, not on the whole file: editing a closed form that only the claims use must not invalidate every
stored simulation (that is what makes ``make mutation`` affordable: a mutant of a prediction re-runs no simulation).
The digest therefore covers the source of every top-level theory definition the simulator references, closed
transitively over the theory module's own top-level names. Any use of a theory module that this analysis cannot
follow (the module object passed around, ``getattr`` on it, ``from theory.x import *``) falls back to hashing the
whole theory file, so the digest can be too coarse but never too fine.
"""
from __future__ import annotations

import ast
import hashlib
import sys
import types
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=None)
def _parsed(path: str) -> tuple[str, ast.Module]:
    source = Path(path).read_text()
    return source, ast.parse(source)


def _lines(source: str) -> list[str]:
    """The source's lines with their ends, split on \\r\\n, \\n and \\r only (as ``ast.get_source_segment`` does)."""
    out, start, i, n = [], 0, 0, len(source)
    while i < n:
        c = source[i]
        i += 1
        if c == "\r" and i < n and source[i] == "\n":
            i += 1
        if c in "\r\n":
            out.append(source[start:i])
            start = i
    if start < n:
        out.append(source[start:])
    return out


def _segment(lines: list[str], node: ast.AST) -> str:
    """``ast.get_source_segment(source, node)`` on pre-split lines: the stdlib splits the whole file on every call,
    which made hashing a simulator's theory closure cost ~2 s per store key (most of a claim evaluation)."""
    first, last = node.lineno - 1, node.end_lineno - 1
    if first == last:
        return lines[first].encode()[node.col_offset:node.end_col_offset].decode()
    head = lines[first].encode()[node.col_offset:].decode()
    tail = lines[last].encode()[:node.end_col_offset].decode()
    return "".join([head, *lines[first + 1:last], tail])


@lru_cache(maxsize=None)
def _top_level(path: str) -> dict[str, str]:
    """Top-level name -> source segment (functions, classes, assignments) of a module file; imports under ''."""
    source, tree = _parsed(path)
    lines = _lines(source)
    out: dict[str, list[str]] = {}
    for node in tree.body:
        segment = _segment(lines, node)
        names: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [""]
        else:  # a docstring or a bare expression: part of the module, not of a name
            continue
        for name in names:
            out.setdefault(name, []).append(segment)
    return {name: "\n".join(parts) for name, parts in out.items()}


@lru_cache(maxsize=None)
def _names_in(segment: str) -> frozenset[str]:
    try:
        tree = ast.parse(segment)
    except SyntaxError:
        return frozenset()
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))


def _closure(path: str, roots: set[str]) -> str:
    """Digest of the top-level definitions of ``path`` reachable from ``roots`` (plus its import lines)."""
    defs = _top_level(path)
    seen: set[str] = set()
    todo = [r for r in roots if r in defs]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [n for n in _names_in(defs[name]) if n in defs and n not in seen]
    h = hashlib.sha256(defs.get("", "").encode())
    for name in sorted(seen):
        h.update(f"\0{name}\0{defs[name]}".encode())
    return h.hexdigest()


def _whole_file(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def theory_digest(module: types.ModuleType, prefix: str = "theory") -> str:
    """Digest of the theory code that ``module`` (a simulator) can reach; ``prefix`` names the theory package.

    Computed once per module and process (sources are read once per process, like ``sims.store._file_digest``);
    ``clear_cache`` forgets it."""
    key = (module.__name__, getattr(module, "__file__", None), prefix)
    if key not in _DIGESTS:
        _DIGESTS[key] = _theory_digest(module, prefix)
    return _DIGESTS[key]


_DIGESTS: dict[tuple, str] = {}


def _theory_digest(module: types.ModuleType, prefix: str) -> str:
    path = getattr(module, "__file__", None)
    if not path:
        return ""
    source, tree = _parsed(path)
    aliases: dict[str, types.ModuleType] = {}
    direct: dict[types.ModuleType, set[str]] = {}
    whole: set[str] = set()
    for name, value in vars(module).items():
        if isinstance(value, types.ModuleType) and value.__name__.startswith(prefix):
            aliases[name] = value
        elif (getattr(value, "__module__", "") or "").startswith(prefix + ".") \
                and not isinstance(value, types.ModuleType):
            direct.setdefault(sys.modules[value.__module__], set()).add(getattr(value, "__name__", name))
    used: dict[types.ModuleType, set[str]] = {m: set(v) for m, v in direct.items()}
    attribute_bases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            attribute_bases.add(id(node.value))
            used.setdefault(aliases[node.value.id], set()).add(node.attr)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(prefix) \
                and any(a.name == "*" for a in node.names):
            whole.add(node.module)
    for node in ast.walk(tree):  # the alias used as a value (passed, getattr'd): follow the whole file
        if isinstance(node, ast.Name) and node.id in aliases and id(node) not in attribute_bases \
                and isinstance(node.ctx, ast.Load):
            whole.add(aliases[node.id].__name__)
    h = hashlib.sha256()
    for mod in sorted(used, key=lambda m: m.__name__):
        if mod.__name__ in whole or not getattr(mod, "__file__", None):
            continue
        h.update(f"{mod.__name__}:{_closure(mod.__file__, used[mod])}".encode())
        h.update(_shared_theory(mod, prefix).encode())
    for name in sorted(whole):
        mod = sys.modules.get(name)
        if mod is not None and getattr(mod, "__file__", None):
            h.update(f"{name}:*{_whole_file(mod.__file__)}".encode())
    return h.hexdigest()


def _shared_theory(module: types.ModuleType, prefix: str) -> str:
    """Other theory modules a theory module imports (e.g. theory.stats): hashed whole; they are small and shared."""
    names = set()
    for value in vars(module).values():
        name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", "") or ""
        if name.startswith(prefix + ".") and name != module.__name__:
            names.add(name)
    h = hashlib.sha256()
    for name in sorted(names):
        mod = sys.modules.get(name)
        if mod is not None and getattr(mod, "__file__", None):
            h.update(f"{name}:{_whole_file(mod.__file__)}".encode())
    return h.hexdigest()


def clear_cache() -> None:
    _parsed.cache_clear()
    _top_level.cache_clear()
    _names_in.cache_clear()
    _DIGESTS.clear()
