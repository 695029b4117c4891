"""End-to-end on a larger batch: thousands of cases, nothing lost, nothing accumulating."""

from __future__ import annotations

import json

import pytest

from qa_engine.run.audit import audit

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


_PEAK = r"""
import json, resource, sys
from qa_engine.exports.sources import read_inputs
count = sum(1 for _ in read_inputs([sys.argv[1]]))
print(json.dumps({"records": count, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


@pytest.mark.slow
def test_joining_an_export_of_hundreds_of_thousands_of_rows_keeps_memory_flat(tmp_path):
    """A flat-layout export of 12,000 cases (about 400,000 rows) is joined in about the memory of one of 1,200."""
    import subprocess
    import sys

    from qa_engine.exports.flat import export_flat
    from qa_engine.records.generate import generate_lines

    peaks = {}
    for cases in (1_200, 12_000):
        source = tmp_path / f"{cases}.jsonl"
        with source.open("w", encoding="utf-8") as out:
            out.writelines(generate_lines(cases, seed=3))
        result = export_flat([str(source)], tmp_path / f"export-{cases}")
        assert result.cases == cases
        done = subprocess.run([sys.executable, "-c", _PEAK, str(tmp_path / f"export-{cases}")],
                              capture_output=True, text=True, check=True)
        measured = json.loads(done.stdout.strip().splitlines()[-1])
        assert measured["records"] == cases
        peaks[cases] = (measured["peak_mb"], sum(result.rows.values()))
    (small, _), (big, rows) = peaks[1_200], peaks[12_000]
    assert rows > 350_000
    assert big - small < 20, peaks  # ten times the rows, not ten times the memory
