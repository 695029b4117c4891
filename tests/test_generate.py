"""The caseload generator: valid records, same seed same bytes, streaming, tunable shortfalls, every rule exercised."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from click.testing import CliRunner

from qa_engine.cli import cli
from qa_engine.records.generate import DEFAULT_UNTIL, generate, generate_lines
from qa_engine.records.model import CaseRecord
from qa_engine.run.audit import audit, validate_inputs

from .conftest import EXAMPLES


def test_same_seed_same_bytes():
    """Two runs with the same seed give identical output; another seed gives different output."""
    first = "".join(generate_lines(50, seed=7))

    assert first == "".join(generate_lines(50, seed=7))
    assert first != "".join(generate_lines(50, seed=8))


def test_streams_case_by_case():
    """Case k is the same whatever the batch size, and records are produced lazily."""
    big = generate(10**9, seed=3)  # never materialised
    first_five = list(itertools.islice(big, 5))

    assert first_five == list(generate(5, seed=3))


def test_records_valid_and_dated_on_or_before_export():
    """Every generated record validates, and nothing is dated after the export date."""
    for record in generate(200, seed=11):
        CaseRecord.model_validate(record)
        record["order"].pop("expected_end_date", None)  # a planned date may lie ahead
        dates = [v for v in json.dumps(record).split('"') if len(v) == 10 and v[4] == "-" and v[7] == "-"]
        assert max(dates) <= DEFAULT_UNTIL.isoformat()


def test_rates_change_the_data():
    """Raising a shortfall rate raises the matching shortfalls."""
    def late(rate):
        count = 0
        for record in generate(300, seed=5, rates={"late_assessment": rate, "missing_assessment": 0.0}):
            CaseRecord.model_validate(record)
            count += any(a["stage"] == "start_of_order" for a in record["assessments"]) is False
        return count

    none_late = [r for r in generate(200, seed=5, rates={"late_assessment": 0.0})]
    all_late = [r for r in generate(200, seed=5, rates={"late_assessment": 1.0})]

    assert none_late != all_late
    assert late(0.0) == late(1.0)  # lateness does not remove assessments


def test_unknown_rate_names_the_nearest():
    """A misspelt rate is an error naming the intended one."""
    with pytest.raises(ValueError, match="did you mean 'late_assessment'"):
        list(generate(1, rates={"late_asessment": 0.5}))


def test_cli_generate(tmp_path):
    """qa-engine generate writes JSON Lines to a file or stdout, the same bytes for the same seed."""
    target = tmp_path / "g.jsonl"
    result = CliRunner().invoke(cli, ["generate", "--cases", "20", "--seed", "4", "--out", str(target)])
    stdout = CliRunner().invoke(cli, ["generate", "--cases", "20", "--seed", "4"])

    assert 0 == result.exit_code, result.output
    assert target.read_text() == stdout.stdout
    assert 20 == len(target.read_text().splitlines())
    assert 2 == CliRunner().invoke(cli, ["generate", "--cases", "1", "--rate", "oops"]).exit_code


def test_generated_example_is_current(tmp_path):
    """examples/generated-caseload.jsonl is exactly what its documented command produces."""
    assert (EXAMPLES / "generated-caseload.jsonl").read_text() == "".join(generate_lines(300, seed=2016))


def _outcomes(summary):
    return {r.rule_id: (r.met, r.not_met, r.not_applicable) for r in summary.rules}


def test_generated_example_exercises_every_rule(tmp_path):
    """In the 300-case example every rule comes out met, not met and not applicable at least once."""
    result = audit([str(EXAMPLES / "generated-caseload.jsonl")], tmp_path, as_of=DEFAULT_UNTIL)

    assert 0 == result.counts["rejected"]
    assert {} == {rule: counts for rule, counts in _outcomes(result.summary).items() if 0 in counts}


def test_hand_made_example_exercises_every_rule(tmp_path):
    """In the 37-case hand-made example every rule comes out met, not met and not applicable at least once."""
    result = audit([str(EXAMPLES / "caseload.jsonl")], tmp_path, as_of=DEFAULT_UNTIL)

    assert {} == {rule: counts for rule, counts in _outcomes(result.summary).items() if 0 in counts}


@pytest.mark.slow
def test_thousand_cases_validate_and_every_rule_is_met_and_not_met(tmp_path):
    """A generated caseload of 1,000 validates with no rejections; every rule is met and not met at least once."""
    path = tmp_path / "g.jsonl"
    path.write_text("".join(generate_lines(1000, seed=1000)))

    counts, _ = validate_inputs([str(path)])
    result = audit([str(path)], tmp_path / "out", as_of=dt.date(2016, 2, 15))

    assert 0 == counts["rejected"]
    assert {} == {rule: c for rule, c in _outcomes(result.summary).items() if c[0] == 0 or c[1] == 0}
