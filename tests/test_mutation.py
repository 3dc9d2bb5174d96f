"""The mutation runner: mutants apply exactly once, and a claim catches a mutant only if it passed without it."""
import pytest

from mutation import Mutant
from mutation.__main__ import classify, render


def test_a_mutant_applies_to_exactly_one_snippet():
    m = Mutant("x", "theory/x.py", "a + b", "a - b", "sign flip")
    assert m.apply("y = a + b\n") == "y = a - b\n"
    for source in ("y = a * b\n", "y = a + b\nz = a + b\n"):
        with pytest.raises(ValueError, match="exactly once"):
            m.apply(source)


def _outcome(claims_by_size, unit=False):
    return {"system": "toy", "mutant": {"id": "m", "description": "d", "moves": "", "file": "f", "old": "o",
                                        "new": "n"},
            "sizes": {s: {"claims": c} for s, c in claims_by_size.items()}, "unit_tests_fail": unit}


def test_only_claims_that_passed_on_the_unmutated_code_catch_a_mutant():
    base = {"test": {"claims": {"toy.1": {"passed": True}, "toy.2": {"passed": False}}},
            "report": {"claims": {"toy.1": {"passed": True}, "toy.2": {"passed": False}}}}
    fail_both = {"toy.1": {"passed": False}, "toy.2": {"passed": False}}
    out = classify(_outcome({"test": fail_both, "report": fail_both}), base)
    assert out["caught"]["report"] == ["toy.1"] and out["status"] == "caught by a claim at report size"
    only_2 = {"toy.1": {"passed": True}, "toy.2": {"passed": False}}
    assert classify(_outcome({"test": only_2, "report": only_2}), base)["status"] == "survived"
    assert classify(_outcome({"test": only_2, "report": only_2}, unit=True), base)["status"] == \
        "caught by unit tests only"
    assert classify(_outcome({"test": fail_both, "report": only_2}), base)["status"] == "caught at test size only"
    crash = _outcome({"report": {}})
    crash["sizes"]["report"] = {"crash": "ValueError: boom", "claims": {}}
    assert classify(crash, base)["status"] == "caught by a claim at report size"
    text = render([_outcome({"test": fail_both, "report": only_2})], {"toy": base}, ["test", "report"])
    assert "1 caught at test size only" in text and "toy.2" in text  # the failing baseline claim is named


def test_report_lists_pending_mutants_and_keeps_table_cells_whole():
    """--report-only on an unfinished run: unrun mutants are rows marked pending; a | in a description is escaped
    so the Markdown row keeps its columns."""
    base = {"test": {"claims": {"toy.1": {"passed": True}}}, "report": {"claims": {"toy.1": {"passed": True}}}}
    done = _outcome({"test": {"toy.1": {"passed": False}}, "report": {"toy.1": {"passed": False}}}, unit="not run")
    done["mutant"]["description"] = "noise not divided by |S_1|"
    pending = [("toy", Mutant("toy-later", "sims/toy.py", "a", "b", "later bug", "moves |x| by 5 %"))]
    text = render([done], {"toy": base}, ["test", "report"], pending)
    assert "1 caught by a claim at report size, 1 pending (not run yet)" in text
    rows = [line for line in text.splitlines() if line.startswith("| toy |")]
    assert len(rows) == 2 and "\\|S_1\\|" in rows[0] and rows[1].endswith("| pending |")
    assert all(line.replace("\\|", "").count("|") == 9 for line in rows)  # 8 columns
    assert "not run" in rows[0]


def test_every_catalogued_mutant_applies_to_the_current_sources():
    """A snippet edited away (or duplicated, e.g. quoted in a docstring) would crash `make mutation` mid-run."""
    from mutation.__main__ import REPO_ROOT, catalogue

    for _, mutant in catalogue(["icl", "lssl", "admm", "grokking", "hierarchical"]):
        mutant.apply((REPO_ROOT / mutant.file).read_text())
