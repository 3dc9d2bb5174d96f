"""The validation report: reports/validation.json (machine-readable) and reports/VALIDATION.md (for people),
plus the claims table between markers in README.md."""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from sims.store import REPO_ROOT, git_sha, package_versions

# A source checkout (pyproject.toml beside the packages) keeps its committed reports/ and README table; an installed
# package writes reports/ in the current working directory and has no README to update.
IN_CHECKOUT = (REPO_ROOT / "pyproject.toml").exists()
REPORT_DIR = REPO_ROOT / "reports" if IN_CHECKOUT else Path.cwd() / "reports"
README_START = "<!-- claims-table:start -->"
README_END = "<!-- claims-table:end -->"
_ICON = {"confirmed": "✅ confirmed", "not confirmed": "❌ not confirmed"}


def merge_results(results: list[dict], path: Path) -> list[dict]:
    """Replace the entries of the systems just run, keep the others (a per-system `python -m claims X`)."""
    old = json.loads(path.read_text())["claims"] if path.exists() else []
    ran = {r["system"] for r in results}
    merged = [r for r in old if r["system"] not in ran] + results
    from sims import SYSTEMS

    order = {s: i for i, s in enumerate(SYSTEMS)}
    return sorted(merged, key=lambda r: (order.get(r["system"], 99), _claim_number(r["id"])))


def _claim_number(claim_id: str):
    tail = claim_id.split(".", 1)[-1]
    return (int(tail), "") if tail.isdigit() else (99, tail)


def environment() -> dict:
    return {"git_sha": git_sha(), "platform": platform.platform(), "machine": platform.machine(),
            "versions": package_versions(), "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def _fmt(x) -> str:
    if isinstance(x, str):
        return x
    if x is None:
        return ""
    ax = abs(x)
    return f"{x:.4g}" if (ax == 0 or 1e-3 <= ax < 1e5) else f"{x:.3e}"


def _measurement(check: dict) -> str:
    m = _fmt(check["measurement"])
    if check.get("ci"):
        lo, hi = check["ci"]
        return f"{m} [{_fmt(lo)}, {_fmt(hi)}]"
    return m


_MODE = {"close": "±", "below": "≤ pred +", "above": "≥ pred −", "effect_above": "> thr +",
         "effect_below": "< thr −", "differs": "differs by >"}


def format_resolution(res: dict | None) -> str:
    """A check's (or a claim's worst) resolution: '4.1 %' when relative to the prediction, '0.05 abs' (or the
    named units) when the prediction is 0 or a threshold."""
    if not res:
        return "—"
    value = res.get("resolution")
    units = res.get("resolution_units", res.get("units", ""))
    if value is None or isinstance(value, str):
        return str(value or "—")
    return f"{100 * value:.3g} %" if not units else f"{_fmt(value)} {units}"


def check_line(c: dict) -> str:
    """One check in plain text (``python -m claims --show``)."""
    role = "" if c.get("role", "evidence") == "evidence" else " [context]"
    res = format_resolution(c) if not role else "—"
    return (f"{'pass' if c['passed'] else 'FAIL'}{role} {c['name']}: prediction {_fmt(c['prediction'])}, measured "
            f"{_measurement(c)}, tolerance {_MODE[c['mode']]} {_fmt(c['tolerance'])}, resolution {res}"
            + (f" ({c['resolution_note']})" if c.get("resolution_note") else ""))


def _check_row(c: dict) -> str:
    tol = f"{_MODE[c['mode']]} {_fmt(c['tolerance'])}"
    res = format_resolution(c) if c.get("role", "evidence") == "evidence" else "—"
    note = f" ({c['resolution_note']})" if c.get("resolution_note") else ""
    return (f"| {c['name']} | {_fmt(c['prediction'])} | {_measurement(c)} | {tol} | {res}{note} | {c['rule']} | "
            f"{'yes' if c['passed'] else '**no**'} |")


def render_markdown(claims: list[dict], env: dict) -> str:
    lines = ["# Validation report", "",
             "Each claim: a theorem's prediction (theory/) against a training or Monte-Carlo measurement (sims/), "
             "with a stated tolerance. Measurements show the mean and its 95 % confidence interval in brackets "
             "where they are random. Compute is the claim's evaluation time plus the stored simulation time of the runs it "
             "read (runs shared by several claims count for each). Regenerate with `make validate`.", "",
             "**Resolution** is the smallest relative change of the prediction that flips a check (tolerance / "
             "|prediction|), or, where the prediction is 0 or a threshold, the tolerance in the check's own units "
             "(for an effect: the smallest effect beyond the threshold the data certify). *Evidence* checks decide "
             "the verdict; *context* checks show a paper's formula far off and are listed apart. A claim is "
             "confirmed when every check passes and at least one is evidence. The rules are in "
             "[docs/conventions.md](../docs/conventions.md).", "",
             "| claim | title | verdict | checks passed | worst resolution | seeds | device | dtype | compute (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in claims:
        n_ok = sum(c["passed"] for c in r["checks"])
        lines.append(f"| [{r['id']}](#{r['id'].replace('.', '')}) | {r['title']} | {_ICON[r['verdict']]} | "
                     f"{n_ok}/{len(r['checks'])} | {format_resolution(r.get('worst_resolution'))} | {r['n_seeds']} | "
                     f"{r['device']} | {r['dtype']} | {r['wall_s']:.1f} |")
    for r in claims:
        lines += ["", f"## {r['id']}", "", f"**{r['title']}** — {_ICON[r['verdict']]}", "",
                  f"- Source: {r['source']}", f"- Statement: {r['statement']}"]
        if r.get("amends"):
            lines.append(f"- Amends the paper: {r['amends']}")
        if r.get("note"):
            lines.append(f"- Finding: {r['note']}")
        header = ["| check | prediction | measurement [95 % CI] | tolerance | resolution | rule | passed |",
                  "|---|---|---|---|---|---|---|"]
        evidence = [c for c in r["checks"] if c.get("role", "evidence") == "evidence"]
        context = [c for c in r["checks"] if c.get("role", "evidence") == "context"]
        lines += ["", "Evidence:", "", *header, *map(_check_row, evidence)]
        if context:
            lines += ["", "Context (a paper's formula the data reject; not evidence for the claim):", "",
                      *header, *map(_check_row, context)]
    v = env["versions"]
    lines += ["", "---", "",
              f"Environment: git {env['git_sha']}, {env['platform']}, Python {v['python']}, torch {v['torch']}, "
              f"numpy {v['numpy']}, scipy {v['scipy']}, pandas {v['pandas']}; generated {env['generated']}.", ""]
    return "\n".join(lines)


def readme_table(claims: list[dict]) -> str:
    lines = ["| claim | title | verdict | worst resolution |", "|---|---|---|---|"]
    for r in claims:
        lines.append(f"| [{r['id']}](reports/VALIDATION.md#{r['id'].replace('.', '')}) | {r['title']} | "
                     f"{_ICON[r['verdict']]} | {format_resolution(r.get('worst_resolution'))} |")
    return "\n".join(lines)


def previous_results(size: str = "report") -> dict[str, dict]:
    """The claims of the last report of ``size`` by id (empty if there is none)."""
    path = REPORT_DIR / f"validation{'' if size == 'report' else '-' + size}.json"
    return {r["id"]: r for r in json.loads(path.read_text())["claims"]} if path.exists() else {}


def write_replicate(results: list[dict], size: str, seed_offset: int, root: Path | None = None) -> Path:
    """A replication with shifted seeds (``python -m claims --seed-offset N``) goes to
    results/replicates/<size>-seed-offset-N/ (ignored by git), never into the committed reports or the README."""
    from sims.store import Store

    out = Path(root or Store().root) / "replicates" / f"{size}-seed-offset-{seed_offset}"
    out.mkdir(parents=True, exist_ok=True)
    claims = merge_results(results, out / "validation.json")
    env = dict(environment(), seed_offset=seed_offset)
    (out / "validation.json").write_text(json.dumps({"environment": env, "claims": claims}, indent=2) + "\n")
    (out / "VALIDATION.md").write_text(render_markdown(claims, env).replace(
        "# Validation report", f"# Validation report (replicate: every simulation seed shifted by {seed_offset})", 1))
    return out


def write_reports(results: list[dict], size: str = "report") -> list[dict]:
    """Merge ``results`` into the report of ``size`` ('report': reports/VALIDATION.md and the README table;
    'gpu': reports/VALIDATION-gpu.md, for the GPU-size preset)."""
    REPORT_DIR.mkdir(exist_ok=True)
    suffix = "" if size == "report" else f"-{size}"
    json_path = REPORT_DIR / f"validation{suffix}.json"
    claims = merge_results(results, json_path)
    if json_path.exists() and _timeless(json.loads(json_path.read_text())["claims"]) == _timeless(claims):
        update_readme(claims) if size == "report" else None
        return claims  # nothing but timings changed: keep the report (and its environment stamp) as it is
    env = environment()
    _write_if_changed(json_path, json.dumps({"environment": env, "claims": claims}, indent=2) + "\n")
    _write_if_changed(REPORT_DIR / f"VALIDATION{suffix}.md", render_markdown(claims, env))
    if size == "report":
        update_readme(claims)
    return claims


def _timeless(claims: list[dict]) -> list[dict]:
    """Claims without their compute times, which differ on every machine and run."""
    return [{k: v for k, v in c.items() if k != "wall_s"} for c in claims]


def update_readme(claims: list[dict], readme: Path = REPO_ROOT / "README.md") -> None:
    if not readme.exists():
        return
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    _write_if_changed(readme, f"{head}{README_START}\n{readme_table(claims)}\n{README_END}{tail}")


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
