"""A service's policy overrides parameters and calendar; mistakes name the nearest valid rule or parameter."""

from __future__ import annotations

import datetime as dt

import pytest

from qa_engine.engine import Auditor
from qa_engine.errors import PolicyError
from qa_engine.records import CaseRecord
from qa_engine.rules import load_policy


def _write(tmp_path, text):
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


class TestErrors:
    def test_unknown_rule_id_names_the_nearest(self, tmp_path, pack):
        """A misspelt rule id is an error naming the rule meant."""
        path = _write(tmp_path, "parameters:\n  1.1-initial-assesment-timely: {deadline_working_days: 10}\n")

        with pytest.raises(PolicyError, match=r"did you mean '1\.1-initial-assessment-timely'"):
            load_policy(path, pack)

    def test_unknown_parameter_names_the_nearest(self, tmp_path, pack):
        """A misspelt parameter is an error naming the parameter meant and listing the rule's parameters."""
        path = _write(tmp_path, "parameters:\n  1.1-initial-assessment-timely: {deadline_workingdays: 10}\n")

        with pytest.raises(PolicyError, match="did you mean 'deadline_working_days'"):
            load_policy(path, pack)

    def test_wrong_type(self, tmp_path, pack):
        """A deadline must be a whole number in range."""
        path = _write(tmp_path, "parameters:\n  1.1-initial-assessment-timely: {deadline_working_days: 'ten'}\n")

        with pytest.raises(PolicyError, match="whole number"):
            load_policy(path, pack)

    def test_out_of_range(self, tmp_path, pack):
        """A parameter outside its documented range is refused."""
        path = _write(tmp_path, "parameters:\n  1.1-initial-assessment-timely: {deadline_working_days: 0}\n")

        with pytest.raises(PolicyError, match="at least 1"):
            load_policy(path, pack)

    def test_unknown_key(self, tmp_path, pack):
        """Keys outside the policy schema are errors, not ignored."""
        path = _write(tmp_path, "deadlines: {}\n")

        with pytest.raises(PolicyError, match="deadlines"):
            load_policy(path, pack)

    def test_not_yaml(self, tmp_path, pack):
        """A YAML syntax error names the line."""
        path = _write(tmp_path, "parameters: [\n")

        with pytest.raises(PolicyError, match="line"):
            load_policy(path, pack)

    def test_bad_level(self, tmp_path, pack):
        """A level parameter takes a level name."""
        path = _write(tmp_path, "parameters:\n  2.1-risk-of-harm-assessed: {full_analysis_level: severe}\n")

        with pytest.raises(PolicyError, match="very_high"):
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
