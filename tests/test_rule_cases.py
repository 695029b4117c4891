"""Every rule's own cases (rules/<id>.cases.yaml) pass through the compiler and durable_rules, and cover every outcome."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from qa_engine.base.errors import RuleSchemaError
from qa_engine.judge.rulecases import (
    cases_path,
    coverage_gaps,
    coverage_problems,
    load_cases,
    run_case,
    unreachable_outcomes,
)
from qa_engine.rulepack.load import load_rules

_PACK = load_rules()
_CASES = [(rule, case) for rule in _PACK.rules for case in load_cases(rule)]


@pytest.mark.parametrize(("rule", "case"), _CASES, ids=[f"{r.id}::{c.name}" for r, c in _CASES])
def test_rule_case(rule, case):
    """The case's record comes out with the expected outcome (and message)."""
    result = run_case(rule, case)

    assert result.passed, result.detail


@pytest.mark.parametrize("rule", _PACK.rules, ids=[r.id for r in _PACK.rules])
def test_rule_cases_cover_every_outcome(rule):
    """Each rule has cases for every outcome it can come out with (or declares it unreachable, saying why)."""
    assert coverage_gaps(rule, load_cases(rule), unreachable_outcomes(rule)) == []


@pytest.mark.parametrize("rule", _PACK.rules, ids=[r.id for r in _PACK.rules])
def test_every_parameter_has_a_source(rule):
    """Every number a rule uses names its source and how sure that source is."""
    assert rule.sources
    for name, param in rule.parameters.items():
        assert param.source.strip(), name
        assert param.status in {"verified", "local_practice", "recalled"}


def test_coverage_gaps_name_an_outcome_no_case_judged_by_the_rule_gives():
    """Without its insufficient-data case (a review dated before its plan) a rule has a gap there, unless the outcome
    is declared unreachable; a case audited before its order was made is not judged by the rule, so it does not fill
    a not-applicable gap."""
    rule = _PACK.rule("2.2-risk-plan-reviewed")
    cases = load_cases(rule)
    without = [c for c in cases if c.expect != "insufficient_data"]
    no_na = [c for c in cases if c.expect != "not_applicable"]
    early = dataclasses.replace(no_na[0], name="before_the_order", expect="not_applicable", as_of=dt.date(2015, 12, 1))

    assert [] == coverage_gaps(rule, cases)
    assert ["insufficient_data"] == coverage_gaps(rule, without)
    assert [] == coverage_gaps(rule, without, unreachable={"insufficient_data"})
    assert ["not_applicable"] == coverage_gaps(rule, [*no_na, early])
    assert run_case(rule, early).passed  # it does come out not applicable, just not by the rule


def test_an_outcome_declared_unreachable_is_no_gap_and_no_case_may_expect_it(tmp_path):
    rule = _PACK.rule("om-initial-plan-countersigned")
    assert "insufficient_data" in unreachable_outcomes(rule)
    assert "insufficient_data" not in {c.expect for c in load_cases(rule)}
    assert ["insufficient_data"] == coverage_gaps(rule, load_cases(rule))
    (tmp_path / f"{rule.id}.cases.yaml").write_text(cases_path(rule).read_text().replace(
        "expect: not_met", "expect: insufficient_data", 1))
    moved = rule.model_copy(update={"path": str(tmp_path / f"{rule.id}.yaml")})

    with pytest.raises(RuleSchemaError, match="expects insufficient_data, which the file declares unreachable"):
        load_cases(moved)


def test_lint_names_a_gap_and_a_stale_unreachable_declaration(tmp_path):
    """rules lint's words for a rule's cases: an outcome no case gives, and an outcome declared unreachable that the
    rule cannot come out with at all (1.1-initial-assessment-timely never gives insufficient data)."""
    rule = _PACK.rule("1.1-initial-assessment-timely")
    text = cases_path(rule).read_text()
    assert "expect: not_met" in text and "\ndefaults:" in text
    text = text.replace("expect: not_met", "expect: met").replace(
        "\ndefaults:", "\nunreachable:\n  insufficient_data: Written here to show a declaration not needed.\ndefaults:", 1)
    (tmp_path / f"{rule.id}.cases.yaml").write_text(text)
    moved = rule.model_copy(update={"path": str(tmp_path / f"{rule.id}.yaml")})

    assert [] == coverage_problems(rule)
    assert [f"{rule.id}: no test case comes out not_met (add one to its cases file, or declare the outcome unreachable "
            "there, saying why)",
            f"{rule.id}: its cases file declares insufficient_data unreachable, but the rule never comes out so anyway: "
            "remove the declaration"] == coverage_problems(moved)
