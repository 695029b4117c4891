"""A service's policy overrides parameters and calendar; mistakes name the nearest valid rule or parameter."""

from __future__ import annotations

import datetime as dt

import pytest

from qa_engine.base.errors import PolicyError
from qa_engine.judge.auditor import Auditor
from qa_engine.records.model import CaseRecord
from qa_engine.rulepack.load import load_policy


def _write(tmp_path, text):
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


_T = "parameters:\n  1.1-initial-assessment-timely: {{{}}}\n"
POLICY_ERRORS = [
    # (what is wrong, policy text, what the message must say)
    ("misspelt rule id", "parameters:\n  1.1-initial-assesment-timely: {deadline_working_days: 10}\n",
     r"did you mean '1\.1-initial-assessment-timely'"),
    ("misspelt parameter", _T.format("deadline_workingdays: 10"), "did you mean 'deadline_working_days'"),
    ("not a whole number", _T.format("deadline_working_days: 'ten'"), "whole number"),
    ("out of range", _T.format("deadline_working_days: 0"), "at least 1"),
    ("key outside the schema", "deadlines: {}\n", "deadlines"),
    ("not YAML", "parameters: [\n", "line"),
    ("not a level", "parameters:\n  2.1-risk-of-harm-assessed: {full_analysis_level: severe}\n", "very_high"),
]


@pytest.mark.parametrize(("problem", "text", "message"), POLICY_ERRORS, ids=[p for p, _, _ in POLICY_ERRORS])
def test_policy_errors_name_the_problem(tmp_path, pack, problem, text, message):
    """Each mistake in a policy file is a PolicyError whose message names the nearest valid value or the line."""
    path = _write(tmp_path, text)

    with pytest.raises(PolicyError, match=message):
        load_policy(path, pack)


def test_policy_deadline_and_closure_days_change_the_outcome(tmp_path, pack, minimal_record):
    """A shorter deadline, or closure days that lengthen the count, turn a met case not met and back."""
    minimal_record["assessments"] = [{"assessment_id": "A-1", "stage": "start_of_order", "completed_date": "2016-03-22"}]
    record = CaseRecord.model_validate(minimal_record)  # 15 working days after 1 March 2016
    as_of = dt.date(2016, 6, 1)

    def outcome(policy_text):
        policy = load_policy(_write(tmp_path, policy_text), pack) if policy_text else None
        findings = Auditor(pack, policy, as_of).audit_record(record)
        return next(f.outcome for f in findings if f.rule_id == "1.1-initial-assessment-timely")

    assert "met" == outcome(None)
    assert "not_met" == outcome("parameters:\n  1.1-initial-assessment-timely: {deadline_working_days: 14}\n")
    assert "met" == outcome("calendar: {closure_days: [2016-03-02]}\nparameters:\n"
                            "  1.1-initial-assessment-timely: {deadline_working_days: 14}\n")
