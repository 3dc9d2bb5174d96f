"""python -m mutation [system ...] [--sizes test,report] [--only ID,...] [--jobs N]: which claims catch which bugs.

For every mutant of ``mutation/mutants_<system>.py``: copy the repository's tracked sources into a scratch folder,
plant the bug, evaluate the system's claims there at each size (``mutation.evaluate``) and run the system's theory
and simulator unit tests. Simulations go through one shared mutation store (``results/mutation/``, or
``$THEORY_TESTBED_RESULTS/mutation``): the store keys hash only the code a simulator reaches, so a mutant of a
closed form re-runs no simulation and a mutant of a simulator re-runs only that simulator's runs. Finished mutants
are recorded in ``results/mutation/outcomes.json`` (keyed by the mutant's content and the sources), so an interrupted
run resumes. Writes ``reports/MUTATION.md``.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from mutation import Mutant
from sims import SYSTEMS
from sims.store import REPO_ROOT, ROOT_ENV

SIZES = ("test", "report")
TIMEOUT_S = 1800
"""Per mutant and size: a mutant that makes a simulation hang (a divergent loop) is caught by the time-out."""


def catalogue(systems) -> list[tuple[str, Mutant]]:
    out = []
    for system in systems:
        try:
            module = importlib.import_module(f"mutation.mutants_{system}")
        except ModuleNotFoundError as err:
            if err.name == f"mutation.mutants_{system}":
                continue
            raise
        out += [(system, m) for m in module.MUTANTS]
    ids = [m.id for _, m in out]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ValueError(f"duplicate mutant ids: {sorted(dup)}")
    return out


def _sources() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO_ROOT, capture_output=True,
                            text=True, check=True).stdout.split("\n")
    return [p for p in listed if p and not p.startswith(("figures/out/", "notebooks/")) and (REPO_ROOT / p).is_file()]


def _scratch(files: list[str], mutant: Mutant | None) -> Path:
    root = Path(tempfile.mkdtemp(prefix="mutant-"))
    for rel in files:
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, dest)
    if mutant is not None:
        target = root / mutant.file
        target.write_text(mutant.apply(target.read_text()))
    return root


THREADS = {"per_job": 1}
"""CPU threads of each evaluation (main() sets cores // jobs). On the 2-core machine two grokking evaluations at report
size with torch's default two threads each had not finished after 18 CPU-minutes each; with one thread each the
same two mutants took 123 s and 135 s (oversubscribed OpenMP threads spin)."""


def _env(root: Path, store: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root), MPLBACKEND="Agg", THEORY_TESTBED_DEVICE="cpu")
    env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = str(THREADS["per_job"])
    env[ROOT_ENV] = str(store)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _evaluate(root: Path, store: Path, system: str, size: str) -> dict:
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "mutation.evaluate", system, size], cwd=root,
                              env=_env(root, store), capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"timeout": True, "wall_s": TIMEOUT_S, "claims": {}}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("MUTATION-JSON ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        return {"crash": tail[0][:300], "wall_s": time.perf_counter() - start, "claims": {}}
    return {"claims": json.loads(lines[-1].split(" ", 1)[1]), "wall_s": time.perf_counter() - start}


def _unit_tests(root: Path, store: Path, system: str) -> bool:
    """True when the system's theory/simulator unit tests fail on the mutant (it is caught by them)."""
    tests = sorted(str(p.relative_to(root)) for p in (root / "tests").glob(f"test_{system}_*.py")
                   if p.stem.rsplit("_", 1)[-1] in ("theory", "sims"))
    if not tests:
        return False
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m",
                           "not slow and not gpu", *tests], cwd=root, env=_env(root, store), capture_output=True,
                          text=True, timeout=TIMEOUT_S)
    return proc.returncode != 0


def _digest(mutant: Mutant | None, system: str, sizes) -> str:
    h = hashlib.sha256(json.dumps([asdict(mutant) if mutant else None, system, list(sizes)]).encode())
    for folder in ("theory", "sims", "claims", "tests"):
        for p in sorted((REPO_ROOT / folder).glob(f"*{system}*.py")) + [REPO_ROOT / "claims" / "core.py"]:
            h.update(p.read_bytes())
    return h.hexdigest()[:20]


def run_one(system: str, mutant: Mutant | None, sizes, files, store: Path, unit: bool,
            baseline: dict | None = None) -> dict:
    """Evaluate one mutant (or the unmutated code: ``mutant=None``). The unit tests run only for a mutant that no
    claim catches at report size: they decide between "caught by unit tests only" and "survived", and a claim's
    catch already settles its status (recorded as ``"not run"``)."""
    root = _scratch(files, mutant)
    try:
        out = {"system": system, "mutant": asdict(mutant) if mutant else None,
               "sizes": {size: _evaluate(root, store, system, size) for size in sizes}}
        if not unit or mutant is None:
            out["unit_tests_fail"] = None
        elif baseline is not None and classify(out, baseline)["caught"].get("report"):
            out["unit_tests_fail"] = "not run"
        else:
            out["unit_tests_fail"] = _unit_tests(root, store, system)
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def classify(outcome: dict, baseline: dict) -> dict:
    """Per size: the claims that passed on the unmutated code and fail on the mutant (crash/time-out: all)."""
    caught = {}
    for size, res in outcome["sizes"].items():
        base = baseline.get(size, {}).get("claims", {})
        if res.get("timeout") or res.get("crash"):
            caught[size] = ["(time-out)" if res.get("timeout") else f"(crash: {res['crash']})"]
            continue
        caught[size] = [cid for cid, r in res["claims"].items() if base.get(cid, {}).get("passed") and not r["passed"]]
    report = caught.get("report")
    if report:
        status = "caught by a claim at report size"
    elif caught.get("test"):
        status = "caught at test size only"
    elif outcome.get("unit_tests_fail") is True:
        status = "caught by unit tests only"
    else:
        status = "survived"
    return {"caught": caught, "status": status}


def _cell(text: str) -> str:
    """Text for a Markdown table cell: a literal | (|S_1|, |x|^2) would split the cell."""
    return text.replace("|", "\\|")


def render(outcomes: list[dict], baselines: dict, sizes, pending=()) -> str:
    """The report; ``pending``: (system, Mutant) pairs not run yet (``--report-only`` on an unfinished run)."""
    wall_s = sum(res.get("wall_s", 0.0) for o in outcomes for res in o["sizes"].values())
    rows, counts = [], {}
    for o in outcomes:
        verdict = classify(o, baselines[o["system"]])
        counts[verdict["status"]] = counts.get(verdict["status"], 0) + 1
        m = o["mutant"]
        cells = [", ".join(verdict["caught"].get(s, [])) or "—" for s in sizes]
        unit = {True: "fail", False: "pass", None: "—", "not run": "not run"}[o.get("unit_tests_fail")]
        rows.append(f"| {o['system']} | `{m['id']}` | {_cell(m['description'])} | {_cell(m['moves'] or '—')} | "
                    + " | ".join(cells) + f" | {unit} | {verdict['status']} |")
    base_lines = []
    for system, base in baselines.items():
        for size in sizes:
            claims = base.get(size, {}).get("claims", {})
            bad = [c for c, r in claims.items() if not r["passed"]]
            base_lines.append(f"- {system}, {size} size: {len(claims) - len(bad)}/{len(claims)} claims pass "
                              f"on the unmutated code" + (f" (not: {', '.join(bad)}; a mutant cannot be caught by "
                                                          f"those)" if bad else ""))
    for system, m in pending:
        counts["pending (not run yet)"] = counts.get("pending (not run yet)", 0) + 1
        rows.append(f"| {system} | `{m.id}` | {_cell(m.description)} | {_cell(m.moves or '—')} | "
                    + " | ".join("not run yet" for _ in sizes) + " | — | pending |")
    total = len(outcomes) + len(pending)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    lines = ["# Mutation report", "",
             "Realistic bugs planted one at a time in `theory/` and `sims/` (catalogue: `mutation/mutants_<system>.py`),"
             " each run against its system's claims at " + " and ".join(f"{s} size" for s in sizes) + " and its "
             "theory/simulator unit tests (run only for a mutant no claim catches at report size: \"not run\" "
             "otherwise). A claim *catches* a mutant when it is confirmed on the unmutated code and "
             "not confirmed on the mutant (a crash or time-out of the evaluation counts as caught). Regenerate with "
             "`make mutation`.", "",
             f"**{total} mutants: {summary}.** " + (
                 f"The claim evaluations recorded took {wall_s / 60:.0f} min of wall time summed over mutants and "
                 f"sizes, across the runs that recorded them (two evaluations at a time on a 2-core machine; unit "
                 f"tests not counted)." if not pending else
                 f"Written from the recorded outcomes of an unfinished run: the claim evaluations recorded so far "
                 f"took {wall_s / 60:.0f} min of wall time in all (two at a time, on a 2-core machine shared with "
                 f"other jobs; unit tests not counted); `make mutation` resumes the pending ones."), "",
             "Baselines:", "", *base_lines, "",
             "| system | mutant | bug | moves | " + " | ".join(f"caught at {s} size by" for s in sizes)
             + " | unit tests | status |",
             "|---|---|---|---|" + "---|" * len(sizes) + "---|---|", *rows, ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("systems", nargs="*", help=f"default: all of {', '.join(SYSTEMS)}")
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated claim sizes (default test,report)")
    parser.add_argument("--only", default="", help="comma-separated mutant ids")
    parser.add_argument("--jobs", type=int, default=2, help="mutants evaluated at once (default 2)")
    parser.add_argument("--no-unit", action="store_true", help="skip the unit tests")
    parser.add_argument("--output", default=str(REPO_ROOT / "reports" / "MUTATION.md"))
    parser.add_argument("--report-only", action="store_true",
                        help="write the report from the recorded outcomes, running nothing (unrun mutants: pending)")
    args = parser.parse_args(argv)
    sizes = [s for s in args.sizes.split(",") if s]
    for s in sizes:
        if s not in SIZES:
            parser.error(f"--sizes: {s!r} is not valid; use {', '.join(SIZES)}")
    for s in args.systems:
        if s not in SYSTEMS:
            parser.error(f"unknown system {s!r}; choose from {', '.join(SYSTEMS)}")
    if args.jobs < 1:
        parser.error(f"--jobs={args.jobs} must be >= 1")
    THREADS["per_job"] = max(1, (os.cpu_count() or 1) // args.jobs)
    systems = args.systems or list(SYSTEMS)
    mutants = catalogue(systems)
    only = {m for m in args.only.split(",") if m}
    unknown = only - {m.id for _, m in mutants}
    if unknown:
        parser.error(f"--only: unknown mutant ids {sorted(unknown)}")
    mutants = [(s, m) for s, m in mutants if not only or m.id in only]
    base_root = Path(os.environ.get(ROOT_ENV) or REPO_ROOT / "results").expanduser()
    store = base_root / "mutation"
    store.mkdir(parents=True, exist_ok=True)
    record_path = store / "outcomes.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    files = _sources()

    def job(item):
        system, mutant = item
        key = _digest(mutant, system, sizes)
        if key in record:
            return key, record[key], True
        return key, run_one(system, mutant, sizes, files, store, not args.no_unit, baselines.get(system)), False

    if args.report_only:
        return _report_only(args, systems, mutants, sizes, record)

    baselines = {}
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for key, out, cached in pool.map(job, [(s, None) for s in systems]):
            baselines[out["system"]] = out["sizes"]
            record[key] = out
            print(f"baseline {out['system']:<14} {'cached' if cached else 'done'}", flush=True)
        record_path.write_text(json.dumps(record))
        outcomes = []
        for i, (key, out, cached) in enumerate(pool.map(job, mutants), 1):
            record[key] = out
            record_path.write_text(json.dumps(record))
            outcomes.append(out)
            verdict = classify(out, baselines[out["system"]])
            print(f"[{i}/{len(mutants)}] {out['mutant']['id']:<48} {verdict['status']}"
                  f"{' (cached)' if cached else ''}", flush=True)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(render(outcomes, baselines, sizes))
    print(f"wrote {args.output}")
    return 0


def _report_only(args, systems, mutants, sizes, record: dict) -> int:
    baselines = {}
    for system in systems:
        base = record.get(_digest(None, system, sizes))
        if base is None:
            print(f"error: no recorded baseline for {system}: run `python -m mutation {system}` first",
                  file=sys.stderr)
            return 1
        baselines[system] = base["sizes"]
    outcomes, pending = [], []
    for system, mutant in mutants:
        out = record.get(_digest(mutant, system, sizes))
        if out is None:
            pending.append((system, mutant))
        else:
            outcomes.append(out)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(render(outcomes, baselines, sizes, pending))
    print(f"wrote {args.output}: {len(outcomes)} recorded, {len(pending)} pending")
    return 0


if __name__ == "__main__":
    sys.exit(main())
