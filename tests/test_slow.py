"""End-to-end on a larger batch: thousands of cases, nothing lost, nothing accumulating."""

from __future__ import annotations

import json

import pytest

from qa_engine.engine import audit

from .conftest import EXAMPLE_CASELOAD


@pytest.mark.slow
def test_three_thousand_cases(tmp_path):
    """3,700 cases (100 copies of the example, distinct ids) audit with counts that add up."""
    base = [json.loads(line) for line in EXAMPLE_CASELOAD.read_text().splitlines()]
    path = tmp_path / "big.jsonl"
    with path.open("w") as out:
        for copy in range(100):
            for record in base:
                out.write(json.dumps(dict(record, case_id=f"{record['case_id']}-{copy:03d}")) + "\n")
    import datetime as dt

    result = audit([str(path)], tmp_path / "out", as_of=dt.date(2016, 2, 15))
    lines = (tmp_path / "out" / "findings.jsonl").read_text().splitlines()

    one = audit([str(EXAMPLE_CASELOAD)], tmp_path / "one", as_of=dt.date(2016, 2, 15))

    assert {"records_read": 3700, "audited": 3700, "rejected": 0} == result.counts
    assert 3700 * len(result.run["rule_pack"]["rules"]) == len(lines)
    for big, small in zip(result.summary.rules, one.summary.rules, strict=True):
        assert (100 * small.met, 100 * small.not_met) == (big.met, big.not_met)
