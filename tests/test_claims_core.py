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
    # effects: the slack works against passing (1.05 is above the threshold 1, but not by more than 0.1)
    ("effect_above", 1.2, True), ("effect_above", 1.05, False), ("effect_below", 0.8, True),
    ("effect_below", 0.95, False),
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


def test_resolution_is_relative_to_the_prediction_or_in_units():
    assert Check("x", 2.0, 2.0, 0.1, "r").resolution == pytest.approx(0.05)
    zero = Check("x", 0.0, 0.01, 0.05, "r", "below")
    assert zero.resolution == 0.05 and zero.resolution_units == "abs" and not zero.relative
    effect = Check("x", 0.1, 0.5, 0.2, "r", "effect_above")
    assert effect.resolution == 0.2 and not effect.relative  # the smallest certified effect, not a ratio
    assert Check("x", 4.0, 4.0, 1.0, "r").coarse and not Check("x", 4.0, 4.0, 0.2, "r").coarse
    assert Check("x", 1.0, 3.0, 0.5, "r", "differs").role == "context"
    with pytest.raises(ValueError, match="role"):
        Check("x", 1.0, 1.0, 0.1, "r", role="hint")


def test_a_claim_of_context_checks_alone_is_not_confirmed(test_ctx):
    claim = Claim("toy.9", "t", "s", "st", predict=lambda ctx: {}, measure=lambda ctx: {},
                  compare=lambda p, m, ctx: [Check("paper far off", 1.0, 5.0, 0.5, "r", "differs")])
    result = claim.evaluate(test_ctx)
    assert all(c.passed for c in result.checks) and not result.passed


def test_monte_carlo_checks_use_student_t_on_the_seed_dof():
    from claims.core import effect_check, mc_check
    from theory.stats import Z_ONE_SIDED, Z_SUITE, t_for_budget

    assert Z_SUITE == pytest.approx(4.06, abs=0.01) and Z_ONE_SIDED == pytest.approx(3.89, abs=0.01)
    assert t_for_budget(1) == pytest.approx(12732, rel=1e-3) and t_for_budget(7) == pytest.approx(8.78, abs=0.01)
    x = np.array([1.0, 1.1, 0.9, 1.05])
    c = close_check("m", 1.0, x)
    assert c.dof == 3 and c.tolerance == pytest.approx(t_for_budget(3) * x.std(ddof=1) / 2)
    assert mc_check("m", 1.0, 1.0, 0.01, math.inf).tolerance == pytest.approx(Z_SUITE * 0.01)
    # an effect with no seed spread beyond chance is not certified; a clear one is
    assert not effect_check("gain", 0.0, [0.01, -0.02, 0.03, 0.0]).passed
    assert effect_check("gain", 0.0, np.full(16, 0.5) + np.linspace(-0.01, 0.01, 16)).passed
    with pytest.raises(ValueError, match="se="):
        mc_check("m", 1.0, 1.0, math.nan, 3)


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
    n_mc = sum(bool(check.get("se")) for claim in claims for check in claim["checks"])
    assert 0 < n_mc <= N_MC_CHECKS


def test_every_coarse_evidence_check_of_the_report_says_why_and_what_would_fix_it():
    """A relative resolution above COARSE needs a note: why, and what size would bring it under 5 %."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "reports" / "validation.json"
    if not path.exists():
        pytest.skip("no report yet (make validate)")
    claims = json.loads(path.read_text())["claims"]
    missing = [(r["id"], c["name"]) for r in claims for c in r["checks"]
               if c.get("role") == "evidence" and not c.get("resolution_units")
               and isinstance(c.get("resolution"), float) and c["resolution"] > core.COARSE
               and not c.get("resolution_note")]
    assert not missing
    assert all(r.get("worst_resolution") for r in claims if r["passed"])
