"""The three pack-wide timing checks (judge/packchecks.py) hold for the shipped pack, and each can fail."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from qa_engine.judge import packchecks
from qa_engine.judge.auditor import Auditor
from qa_engine.records.model import CaseRecord, OrderType
from qa_engine.rulepack.model import Rule


def _with_rule(pack, rule: Rule):
    return dataclasses.replace(pack, rules=[rule])


def test_nothing_due_on_day_one(pack):
    """A minimal case of each order type, audited the day its order is made, is not applicable on every rule."""
    assert packchecks.day_one_problems(pack) == []


def test_no_met_on_impossible_dates(pack):
    """No rule judges a case met on a span whose later event is dated first."""
    assert packchecks.impossible_date_problems(pack) == []


def test_absence_explicit(pack):
    """Removing any optional fact a rule tests gives insufficient data, the declared meaning, or no change."""
    assert packchecks.absence_problems(pack) == []


def test_day_one_check_can_fail(pack):
    """A rule that judges the child's age on day one is reported (it would be met with nothing due)."""
    rule = pack.rule("1.2-plan-involves-child-and-parent").model_copy(update={"applies_when": None})
    problems = packchecks.day_one_problems(_with_rule(pack, rule))
    assert problems
    assert all("comes out insufficient_data" in p or "comes out not_met" in p for p in problems)


def test_impossible_dates_check_can_fail(pack):
    """A rule that ignores impossible spans is reported: here the breach rule's exceptional-circumstances branch
    without its test that the decision comes after the failure."""
    rule = pack.rule("4.3-breach-after-third-failure")
    where = rule.exists.where
    branch = where["any"][1]
    loose = {"any": [where["any"][0], {"all": [c for c in branch["all"] if c.get("fact") != "working_days_after"]}]}
    rule = rule.model_copy(update={"exists": rule.exists.model_copy(update={"where": loose})})
    problems = packchecks.impossible_date_problems(_with_rule(pack, rule))
    assert any("met_exceptional_circumstances_authorised" in p and "still met" in p for p in problems)


def test_absence_check_can_fail(pack):
    """A declared failure used under ``not`` turns an unrecorded fact into met: reported as a gap."""
    rule = pack.rule("4.3-absence-followed-up")
    rule = rule.model_copy(update={"expects": {"not": {"fact": "follow_up_working_days",
                                                       "gt": {"param": "follow_up_working_days"}}}})
    problems = packchecks.absence_problems(_with_rule(pack, rule))
    assert any("follow_up_working_days not recorded" in p and "becomes met" in p for p in problems)


@pytest.mark.parametrize("order_type", list(OrderType))
def test_audited_before_the_order_is_not_judged(pack, order_type):
    """A case audited before its order was made: every rule not applicable, with the reason, counted."""
    record = packchecks.minimal_case(order_type)
    findings = Auditor(pack, as_of=packchecks.DAY_ONE.replace(day=1)).audit_record(record)
    assert {f.outcome for f in findings} == {"not_applicable"}
    assert {f.reason_kind for f in findings} == {"order_not_yet_made"}
    assert all("the order was made on 2016-02-15, after the audit date 2016-02-01" in f.message for f in findings)
    assert len(findings) == len(pack.rules)


def test_referral_order_examples_from_the_issue(pack):
    """Issue 13's referral order with no contract: not yet due (16 working days) is not applicable on every rule
    that counts from the order; long past due, the assessment, plan and panel rules are not met."""
    record = CaseRecord.model_validate({"case_id": "P1", "child": {"child_id": "C1", "age_at_sentence": 15},
                                        "order": {"order_id": "O1", "order_type": "referral_order",
                                                  "sentence_date": "2016-12-12"}})
    early = {f.rule_id: f.outcome for f in Auditor(pack, as_of=dt.date(2017, 1, 6)).audit_record(record)}
    assert not [r for r, o in early.items() if o == "insufficient_data"]
    for rule_id in ("1.1-initial-assessment-timely", "1.2-plan-timely", "2.1-risk-of-harm-assessed",
                    "3.1-safety-wellbeing-assessed", "4.2-referral-order-panel-timely", "4.3-minimum-contact"):
        assert early[rule_id] == "not_applicable", rule_id
    # the first appointment (5 working days from court, row 5.5) and the home visit (15) were due: not met
    assert {r for r, o in early.items() if o == "not_met"} == {"4.2-first-appointment-prompt", "4.2-home-visit"}
    late_record = record.model_copy(update={"order": record.order.model_copy(
        update={"sentence_date": dt.date(2016, 1, 4)})})
    late = {f.rule_id: f.outcome for f in Auditor(pack, as_of=dt.date(2016, 5, 3)).audit_record(late_record)}
    for rule_id in ("1.1-initial-assessment-timely", "1.2-plan-timely", "2.1-risk-of-harm-assessed",
                    "3.1-safety-wellbeing-assessed", "4.2-referral-order-panel-timely", "4.2-first-appointment-prompt"):
        assert late[rule_id] == "not_met", rule_id
    assert not [r for r, o in late.items() if o == "insufficient_data"]
