"""The claim machinery: check modes, planted bugs through perturb, the report and README table."""
import math

import numpy as np
import pytest

from claims import core, report
from claims.core import Check, Claim, Context, close_check, perturb
from tests import toy_sim


@pytest.mark.parametrize("mode, measurement, passed", [
    ("close", 1.04, True), ("close", 1.2, False), ("below", 0.5, True), ("below", 1.2, False),
    ("above", 1.5, True), ("above", 0.8, False), ("differs", 1.2, True), ("differs", 1.05, False),
])
def test_check_modes(mode, measurement, passed):
    assert Check("x", 1.0, measurement, 0.1, "rule", mode).passed is passed


def test_nan_never_passes_and_inf_matches_only_inf():
    assert not Check("x", 1.0, math.nan, 1.0, "r").passed
    assert Check("x", math.inf, math.inf, 0.0, "r").passed
    assert not Check("x", 1.0, math.inf, 10.0, "r").passed
    with pytest.raises(ValueError, match="mode"):
        Check("x", 1.0, 1.0, 0.1, "r", "roughly")
    with pytest.raises(ValueError, match="tolerance"):
        Check("x", 1.0, 1.0, -0.1, "r")


def test_perturb_scales_every_number():
    out = perturb({"a": 2.0, "b": [1.0, np.array([1.0, 2.0])], "n": 3, "s": "text"}, 1.5)
    assert out["a"] == 3.0 and out["b"][0] == 1.5 and np.allclose(out["b"][1], [1.5, 3.0])
    assert out["n"] == 3 and out["s"] == "text"  # integers (sizes) and strings are not predictions


def _toy_claim():
    def measure(ctx):
        df = ctx.run(toy_sim.run, toy_sim.Config(n=50), list(range(16)))
        last = df[df["step"] == 50]["value"].to_numpy()
        return {"mean_sq": last}

    return Claim("toy.1", "mean square of N(0,1) is 1", "textbook", "E x^2 = 1.",
                 predict=lambda ctx: {"mean_sq": 1.0}, measure=measure,
                 compare=lambda p, m, ctx: [close_check("E x^2", p["mean_sq"], m["mean_sq"])])


def test_a_true_claim_is_confirmed_and_a_planted_bug_is_caught(test_ctx):
    claim = _toy_claim()
    result = claim.evaluate(test_ctx)
    assert result.verdict == "confirmed" and result.n_seeds == 16
    meas = claim.measure(test_ctx)
    assert not all(c.passed for c in claim.compare(perturb(claim.predict(test_ctx), 1.3), meas, test_ctx))


def test_context_rejects_unknown_size():
    with pytest.raises(ValueError, match="size"):
        Context(size="huge", device="cpu")


def test_report_merges_systems_and_updates_readme(tmp_path, test_ctx, monkeypatch):
    res = _toy_claim().evaluate(test_ctx).as_dict()
    res_other = dict(res, id="icl.1", system="icl")
    path = tmp_path / "validation.json"
    path.write_text('{"claims": [' + __import__("json").dumps(dict(res_other, verdict="not confirmed")) + "]}")
    merged = report.merge_results([res_other], path)
    assert len(merged) == 1 and merged[0]["verdict"] == "confirmed"  # the re-run system replaces its old rows
    text = report.render_markdown(merged + [res], report.environment())
    assert "icl.1" in text and "Environment:" in text and "[" in text  # CI brackets
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.README_START}\nold\n{report.README_END}\noutro\n")
    report.update_readme(merged, readme)
    body = readme.read_text()
    assert "old" not in body and "icl.1" in body and body.startswith("intro") and body.endswith("outro\n")


def test_the_false_alarm_budget_covers_every_monte_carlo_check_of_the_report():
    """Z_SUITE spreads the false-alarm budget over N_MC_CHECKS checks; the report must not hold more of them."""
    import json
    from pathlib import Path

    from theory.stats import N_MC_CHECKS

    path = Path(__file__).resolve().parent.parent / "reports" / "validation.json"
    if not path.exists():
        pytest.skip("no report yet (make validate)")
    claims = json.loads(path.read_text())["claims"]
    n_mc = sum("SE" in check["rule"] for claim in claims for check in claim["checks"])
    assert 0 < n_mc <= N_MC_CHECKS
