"""Derived facts are judged as of the audit date, and are pure: same record and date, same facts."""

from __future__ import annotations

import datetime as dt

from qa_engine.base.calendar import WorkingCalendar
from qa_engine.facts.derive import CATALOGUE, FactSettings, derive
from qa_engine.records.model import CaseRecord

CAL = WorkingCalendar()


def _facts(record, as_of, settings=None):
    return derive(CaseRecord.model_validate(record), dt.date.fromisoformat(as_of), CAL, settings or FactSettings())


def test_assessment_completed_after_audit_date_is_not_yet_done(minimal_record):
    """Work recorded after the audit date did not exist on that date."""
    minimal_record["assessments"] = [
        {"assessment_id": "A-1", "stage": "start_of_order", "completed_date": "2016-03-15", "risk_of_serious_harm": "high"}
    ]

    before = _facts(minimal_record, "2016-03-10").case
    after = _facts(minimal_record, "2016-03-20").case

    assert before["initial_assessment_completed"] is False
    assert "rosh_level" not in before
    assert after["initial_assessment_completed"] is True
    assert 3 == after["rosh_level"]
    assert 10 == after["initial_assessment_working_days"]


def test_no_fact_is_none(minimal_record):
    """durable_rules treats null as present, so an unknown fact is left out, never None."""
    facts = _facts(minimal_record, "2016-06-01")

    assert all(v is not None for v in facts.case.values())
    assert set(facts.case) <= set(CATALOGUE["case"])


def test_prior_warnings_counted_within_warned_period(minimal_record):
    """A failure counts the warnings whose warned period (12 months) covers it."""
    minimal_record["contacts"] = [
        {"contact_id": f"K-{i}", "date": d, "type": "office", "outcome": "unacceptable_absence"}
        for i, d in enumerate(["2016-03-07", "2016-04-04", "2016-05-02", "2017-04-10"])
    ]
    minimal_record["enforcement"] = [
        {"action_id": "E-1", "action": "warning", "date": "2016-03-08", "answers_contact_ids": ["K-0"]},
        {"action_id": "E-2", "action": "final_warning", "date": "2016-04-05", "answers_contact_ids": ["K-1"]},
    ]

    failures = {f["contact_id"]: f for f in _facts(minimal_record, "2017-06-01").items["failure"]}
    short = {f["contact_id"]: f for f in _facts(minimal_record, "2017-06-01", FactSettings(1)).items["failure"]}

    assert [0, 1, 2, 0] == [failures[f"K-{i}"]["prior_warnings_in_warned_period"] for i in range(4)]
    assert 1 == short["K-2"]["prior_warnings_in_warned_period"]


def test_responses_link_actions_to_failures(minimal_record):
    """Each (action, answered failure) pair becomes a response fact with the working days between them."""
    minimal_record["contacts"] = [{"contact_id": "K-1", "date": "2016-03-24", "type": "office",
                                   "outcome": "unacceptable_absence"}]
    minimal_record["enforcement"] = [{"action_id": "E-1", "action": "warning", "date": "2016-03-29",
                                      "answers_contact_ids": ["K-1"]}]

    (response,) = _facts(minimal_record, "2016-06-01").items["response"]

    assert 1 == response["working_days_after"]  # over Easter 2016
    assert "K-1" == response["answers_contact_id"]


def test_derive_is_pure(minimal_record):
    """Deriving twice gives equal facts."""
    assert _facts(minimal_record, "2016-06-01") == _facts(minimal_record, "2016-06-01")
