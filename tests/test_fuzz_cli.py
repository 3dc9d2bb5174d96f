"""A hostile user at the command line: hypothesis-generated `python -m sims run|sweep` lines over every simulator and
every Config field of every system (bad numbers, non-finite and huge values, wrong types, bad tuples, unknown
functions and presets, escaping sweep names, a results path that is a file or starts with ~).

Each case must end in one of two ways: a run that stores only sensible values, or one clean `error:` line that
names one of the options given. Counted as defects: a traceback (an exception escaping ``main``), an error that
names none of the given options, and nonsense accepted (a non-finite, negative or > 1e12 number, or an escaping
name, that ran). The simulators are replaced by a stub that checks the config type it receives and returns a
one-row table, so a case costs milliseconds and the fuzz covers the command line, the validation, the memory gate
and the store; `test_fuzz_runs.py` runs the real simulators (slow).

``python tests/test_fuzz_cli.py [N]`` prints the defect counts instead of asserting (to compare two versions).
"""
from __future__ import annotations

import contextlib
import dataclasses
import inspect
import io
import math
import os
import sys
import tempfile
import typing
from pathlib import Path
from unittest import mock

import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import sims.__main__ as cli
from sims import SYSTEMS
from sims import sweep as sw

N_CASES = 1800  # examples generated; 986-1100 distinct command lines at 1400 (the bar is 1000), so 1800; ~25 s CPU
OUTCOMES: list[tuple[str, list[str], str]] = []  # (kind, argv, detail)


# --------------------------------------------------------------------------------------------- the catalogue
def catalogue() -> list[tuple[str, str, type]]:
    """(system, function name, Config class) of every simulator: fn(config: SomeConfig, seeds, *, device, dtype)."""
    out = []
    for system in SYSTEMS:
        module, _ = sw.simulator(system)
        for name, fn in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != module.__name__:
                continue
            params = inspect.signature(fn).parameters
            if list(params)[:2] != ["config", "seeds"] or not cli._returns_table(fn):
                continue
            cls = typing.get_type_hints(inspect.unwrap(fn)).get("config")
            if isinstance(cls, type) and dataclasses.is_dataclass(cls):
                out.append((system, name, cls))
    return out


CATALOGUE = catalogue()
REAL_SIMULATOR = sw.simulator


def _numbers(default) -> list[str]:
    scaled = [default * 10, default * 1000] if isinstance(default, (int, float)) and not isinstance(default, bool) else []
    return [str(v) for v in [default, *scaled]]


INT_VALUES = ["0", "1", "2", "3", "-1", "-7", "2.5", "1e3", "nan", "inf", "", "abc", "99999999999999999999999", " 4 "]
FLOAT_VALUES = ["0", "-1", "1e-320", "nan", "inf", "-inf", "1e308", "1e400", "abc", "", "0.5", "1", "1e-3", "-0"]
STR_VALUES = ["", "..", "nosuch", "a/b", "x" * 300]
BOOL_VALUES = ["true", "false", "maybe", "1", "2", ""]
TUPLE_VALUES = ["", "1", "1,2", "2,4,8", "nan,1", "inf", "a,b", "1e308,1", ";", "-1,2", "3,1", "legs", "legs,zoh",
                "0.5;1"]


def field_values(cls, name: str) -> list[str]:
    default = getattr(cls(), name)
    if isinstance(default, bool):
        return BOOL_VALUES
    if isinstance(default, int):
        return INT_VALUES + _numbers(default)
    if isinstance(default, float):
        return FLOAT_VALUES + _numbers(default)
    if isinstance(default, str):
        return STR_VALUES + [default]
    if isinstance(default, tuple):
        return TUPLE_VALUES + [",".join(map(str, default))] + ([",".join(map(str, default[:1]))] if default else [])
    return ["1"]


def _random_number(default):
    """Any number of the field's kind, as text (tuples get one or two): keeps the generated lines distinct."""
    ints = st.integers(-10**3, 10**15).map(str)
    floats = st.floats(allow_nan=True, allow_infinity=True).map(repr)
    element = default[0] if isinstance(default, tuple) and default else default
    one = ints if isinstance(element, int) and not isinstance(element, bool) else floats
    return st.lists(one, min_size=1, max_size=2).map(",".join) if isinstance(default, tuple) else one


def nonsense(raw: str) -> bool:
    """A value no field of this testbed accepts: a non-finite, negative or astronomically large number."""
    for piece in raw.replace(";", ",").split(","):
        try:
            x = float(piece)
        except ValueError:
            continue
        if not math.isfinite(x) or x < 0 or abs(x) > 1e12:
            return True
    return False


@st.composite
def cases(draw):
    system, fn_name, cls = draw(st.sampled_from(CATALOGUE))
    fields = [f.name for f in dataclasses.fields(cls)]
    chosen = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True))
    values = {f: draw(st.one_of(st.sampled_from(field_values(cls, f)),
                                st.sampled_from(_numbers(getattr(cls(), f))[:2] or [str(getattr(cls(), f))]),
                                _random_number(getattr(cls(), f))))
              for f in chosen}
    module, _ = REAL_SIMULATOR(system)
    fn_option = draw(st.sampled_from([fn_name] * 8 + ["nosuch", "Config", "problem", "_split", "simulate"]))
    seeds = draw(st.sampled_from(["1", "2", "3"] * 3 + ["0", "-1", "abc", "1e3"]))
    extra, bad_extra = [], nonsense(seeds) or seeds == "0"
    if draw(st.booleans()):
        root = draw(st.sampled_from(["0", "5", "-1", "99999999999999999999999"]))
        extra += ["--seed-root", root]
        bad_extra |= nonsense(root)
    if draw(st.integers(0, 9)) == 0:
        extra += ["--device", draw(st.sampled_from(["gpu", "cuda:x", "CPU", "cpu:0"]))]
    else:
        extra += ["--device", "cpu"]
    if draw(st.integers(0, 9)) == 0:
        extra += ["--dtype", draw(st.sampled_from(["float16", "float32", "auto", "int8"]))]
    preset = []
    if draw(st.integers(0, 9)) == 0:
        preset = ["--preset", draw(st.sampled_from(list(getattr(module, "PRESETS", {})) + ["nosuch"]))]
    results = draw(st.sampled_from(["dir"] * 18 + ["file", "tilde"]))
    if draw(st.integers(0, 3)) == 0:  # a sweep
        grid_field = draw(st.sampled_from(fields))
        v1, v2 = (draw(st.sampled_from(field_values(cls, grid_field))) for _ in range(2))
        sep = ";" if isinstance(getattr(cls(), grid_field), tuple) else ","
        name = draw(st.sampled_from(["fz-ok", "..", "../esc", "a/b", "", ".hidden", "x" * 300, "ok.name"]))
        argv = ["sweep", system, "--fn", fn_option, "--grid", f"{grid_field}={v1}{sep}{v2}", "--backend", "debug",
                "--seeds", seeds, "--name", name] + extra
        argv += [a for f, v in values.items() for a in ("--set", f"{f}={v}")]
        bad_name = name in ("..", "../esc", "a/b", "", ".hidden")
        bad = bad_extra or bad_name or any(nonsense(v) for v in (*values.values(), v1, v2))
        return argv, results, bad, fn_option == fn_name
    argv = ["run", system, "--fn", fn_option, "--seeds", seeds, *extra, *preset]
    argv += [a for f, v in values.items() for a in (f"--{f.replace('_', '-')}", v)]
    return argv, results, bad_extra or any(nonsense(v) for v in values.values()), fn_option == fn_name


# ------------------------------------------------------------------------------------------------ the harness
RECEIVED: list = []


def _stub_for(module, name: str, cls: type):
    def stub(config, seeds, *, device="cpu", dtype="float64"):
        if not isinstance(config, cls):  # what the real simulator would do with a foreign config, but at once
            raise TypeError(f"{name}() got a {type(config).__name__}, expected {cls.__name__}")
        RECEIVED.append(config)
        return pd.DataFrame({"seed": list(seeds), "metric": "m", "value": 1.0})

    stub.__module__, stub.__qualname__, stub.__name__ = module.__name__, name, name
    stub.__annotations__ = {"config": cls}
    return stub


def fake_simulator(system, fn_name="run"):
    module, real = REAL_SIMULATOR(system, fn_name)
    for sys_name, name, cls in CATALOGUE:
        if sys_name == system and name == fn_name:
            return module, _stub_for(module, name, cls)
    return module, real  # not a simulator: the real object, as the command line would call it


def _option_names(argv: list[str]) -> set[str]:
    names = set()
    for i, a in enumerate(argv):
        if a.startswith("--"):
            names |= {a[2:], a[2:].replace("-", "_")}
        if a in ("--grid", "--set") and i + 1 < len(argv):
            names.add(argv[i + 1].split("=", 1)[0])
    return {n for n in names if n}


def bad_numbers(config) -> bool:
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        for v in value if isinstance(value, tuple) else (value,):
            if isinstance(v, (int, float)) and not isinstance(v, bool) and (not math.isfinite(v) or v < 0 or abs(v) > 1e12):
                return True
    return False


def stored_nonfinite(root: Path) -> list[str]:
    """Metrics stored with NaN/inf values, other than those a config declares undefined (G_F's ratios)."""
    bad = []
    for csv in root.rglob("metrics.csv"):
        df = pd.read_csv(csv)
        values = pd.to_numeric(df["value"], errors="coerce")
        names = set(df.loc[~values.apply(math.isfinite), "metric"].astype(str)) - {"gf_rel_err", "gf_cos"}
        bad += sorted(names)
    return bad


def run_case(argv: list[str], results: str, bad_input: bool, stub: bool = True) -> tuple[str, str]:
    """('ok' | 'refused' | 'traceback' | 'unnamed' | 'bad-accept', detail) for one command line; ``stub=False``
    runs the real simulators."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        root = home / "res"
        if results == "file":
            root.write_text("a file, not a folder")
            env_root, bad_input = str(root), True
        elif results == "tilde":
            env_root = "~/res"
        else:
            env_root = str(root)
        out, err = io.StringIO(), io.StringIO()
        RECEIVED.clear()
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            with mock.patch.dict(os.environ, {"THEORY_TESTBED_RESULTS": env_root, "HOME": str(home),
                                              "THEORY_TESTBED_QUIET": "1"}), \
                    mock.patch.object(cli, "simulator", fake_simulator if stub else REAL_SIMULATOR), \
                    mock.patch.object(sw, "simulator", fake_simulator if stub else REAL_SIMULATOR), \
                    contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    rc = cli.main(list(argv))
                except SystemExit as exit_:
                    rc = exit_.code if isinstance(exit_.code, int) else 2
                except BaseException as exc:  # noqa: BLE001 - exactly what the fuzz counts
                    return "traceback", f"{type(exc).__name__}: {exc}"[:300]
        finally:
            os.chdir(cwd)
        stderr = err.getvalue()
        if "Traceback" in stderr:
            return "traceback", stderr[-300:]
        escaped = sorted(p.name for p in home.iterdir() if p.name != "res")
        if escaped:
            return "bad-accept", f"wrote outside the results root: {escaped}"
        if rc == 0:
            if bad_input or any(bad_numbers(c) for c in RECEIVED):
                return "bad-accept", out.getvalue()[:200]
            if not stub and (nonfinite := stored_nonfinite(root)):
                return "bad-accept", f"stored non-finite metrics {nonfinite[:5]}"
            return "ok", ""
        lines = [line for line in stderr.splitlines() if line.startswith("error:") or "error:" in line]
        if not lines:
            return "unnamed", f"rc={rc} without an error line: {stderr[-200:]!r}"
        text = " ".join(lines).lower()
        if not any(name.lower() in text for name in _option_names(argv)) and "results root" not in text:
            return "unnamed", lines[-1][:300]
        return "refused", ""


def fuzz(n: int = N_CASES) -> dict[str, int]:
    """Run ``n`` derandomized cases (no shrinking: every case counts once); outcome counts by kind."""
    @settings(max_examples=n, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=cases())
    def one(case):
        argv, results, bad_input, _ = case
        line = tuple(argv) + (f"(results: {results})",)
        if line in seen:  # another draw of a line already run: no new information
            return
        seen.add(line)
        kind, detail = run_case(argv, results, bad_input)
        OUTCOMES.append((kind, argv + [f"(results: {results})"], detail))

    OUTCOMES.clear()
    seen: set[tuple[str, ...]] = set()
    one()
    counts = {k: sum(1 for o in OUTCOMES if o[0] == k) for k in ("ok", "refused", "traceback", "unnamed", "bad-accept")}
    return dict(counts, distinct=len({tuple(argv) for _, argv, _ in OUTCOMES}))


def test_cli_fuzz_finds_no_traceback_and_stores_no_nonsense():
    counts = fuzz()
    assert counts["distinct"] >= 1000
    defects = [o for o in OUTCOMES if o[0] in ("traceback", "unnamed", "bad-accept")]
    assert not defects, "\n".join(f"{k}: {' '.join(a)!r}: {d}" for k, a, d in defects[:10])
    assert counts["ok"] > 25 and counts["refused"] > 500  # hostile on purpose, but some lines must run (38 do)


if __name__ == "__main__":
    result = fuzz(int(sys.argv[1]) if len(sys.argv) > 1 else N_CASES)
    print(result)
    for kind, argv, detail in OUTCOMES:
        if kind in ("traceback", "unnamed", "bad-accept"):
            print(f"{kind:<11} {' '.join(argv)!r}: {detail}")
