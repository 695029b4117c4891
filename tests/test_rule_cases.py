"""Every rule's own cases (rules/<id>.cases.yaml) pass through the compiler and durable_rules, and cover every outcome."""

from __future__ import annotations

import pytest

from qa_engine.judge.rulecases import coverage_gaps, load_cases, run_case
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
    """Each rule has cases that make it met, not met and not applicable (and insufficient data if it can be)."""
    assert coverage_gaps(rule, load_cases(rule)) == []


@pytest.mark.parametrize("rule", _PACK.rules, ids=[r.id for r in _PACK.rules])
def test_every_parameter_has_a_source(rule):
    """Every number a rule uses names its source and how sure that source is."""
    assert rule.sources
    for name, param in rule.parameters.items():
        assert param.source.strip(), name
        assert param.status in {"verified", "local_practice", "recalled"}
