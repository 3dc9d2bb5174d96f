"""`make report` (python -m claims.summary): a subset run counts its own claims and says how many are carried."""
import json

from claims import report, summary


def _claim(system, i, passed=True):
    return {"id": f"{system}.{i}", "system": system, "title": "t", "verdict": "confirmed" if passed else
            "not confirmed", "passed": passed, "checks": [], "wall_s": 1.0, "n_seeds": 2, "device": "cpu", "dtype": "float64",
            "source": "s", "statement": "s"}


def test_subset_counts_its_own_claims_and_the_carried_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "REPORT_DIR", tmp_path)
    claims = [_claim("lssl", 1), _claim("lssl", 2, False), _claim("icl", 1), _claim("admm", 1)]
    (tmp_path / "validation.json").write_text(json.dumps({"environment": {}, "claims": claims}))
    lines = summary.summary(["lssl"])
    assert sum(line.startswith("lssl.") for line in lines) == 2
    assert "1/2 claims confirmed (lssl)" in lines
    assert any(line.startswith("2 claims of other systems carried") and "(2 confirmed)" in line for line in lines)
    assert not any("carried" in line for line in summary.summary(["lssl", "icl", "admm"]))


def test_a_report_differing_only_in_timings_is_left_untouched(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "REPORT_DIR", tmp_path)
    monkeypatch.setattr(report, "update_readme", lambda claims: None)
    claims = [_claim("lssl", 1)]
    report.write_reports(claims)
    written = (tmp_path / "validation.json").read_text()
    report.write_reports([dict(claims[0], wall_s=2.5)])
    assert (tmp_path / "validation.json").read_text() == written
    report.write_reports([dict(claims[0], passed=False, verdict="not confirmed")])
    assert (tmp_path / "validation.json").read_text() != written
