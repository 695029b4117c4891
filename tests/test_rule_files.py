"""Rule files are data: a new rule is a new file plus its cases, and a rule file can never run code."""

from __future__ import annotations

import re
import shutil

import pytest
from click.testing import CliRunner

from qa_engine.base.errors import RuleSchemaError
from qa_engine.cli import cli
from qa_engine.rulepack.compile import compile_pack
from qa_engine.rulepack.load import DEFAULT_RULES_DIR, load_rules
from qa_engine.rulepack.messages import render
from qa_engine.rulepack.model import HINTS_FILE

from .conftest import EXAMPLE_AS_OF, EXAMPLE_CASELOAD

NEW_RULE = """\
id: 4.2-contract-signed
criterion: "4.2"
title: Referral order contract signed
rationale: A referral order starts when the contract is signed, so an unsigned contract delays the order.
basis: recorded_data
severity: medium
sources:
  - {about: the order starts at contract signing, source: Sentencing Council referral order card, status: verified}
applies_when:
  all:
    - {fact: order_type, eq: referral_order}
    - any: [{fact: contract_signed, eq: true}, {fact: working_days_since_sentence, gt: 20}]
expects: {fact: contract_signed, eq: true}
messages:
  met: "Contract signed."
  not_met: "Contract not signed."
"""
NEW_CASES = """\
rule: 4.2-contract-signed
unreachable:
  insufficient_data: contract_signed is derived, true or false, for every referral order, which is when the rule applies.
defaults:
  case_id: T-1
  child: {child_id: C-1, age_at_sentence: 14}
  order: {order_id: O-1, order_type: referral_order, sentence_date: 2016-03-01}
cases:
  - {name: met_signed, as_of: 2016-05-01, expect: met,
     record: {order: {start_date: 2016-03-10, contract_signed_date: 2016-03-10}}}
  - {name: not_met_unsigned, as_of: 2016-05-01, expect: not_met}
  - {name: not_applicable_yro, as_of: 2016-05-01, expect: not_applicable,
     record: {order: {order_type: youth_rehabilitation_order}}}
"""


@pytest.fixture(name="rules_copy")
def _rules_copy(tmp_path):
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    return target


def test_a_new_rule_is_a_new_file(rules_copy, tmp_path):
    """Adding a rule file and its cases adds a rule to lint, test and audit, with no Python change."""
    (rules_copy / "4.2-contract-signed.yaml").write_text(NEW_RULE)
    (rules_copy / "4.2-contract-signed.cases.yaml").write_text(NEW_CASES)
    runner = CliRunner()

    lint = runner.invoke(cli, ["rules", "lint", "--rules", str(rules_copy)])
    test = runner.invoke(cli, ["rules", "test", "--rules", str(rules_copy)])
    audit = runner.invoke(cli, ["audit", str(EXAMPLE_CASELOAD), "--rules", str(rules_copy), "--as-of", EXAMPLE_AS_OF,
                                "--out", str(tmp_path / "out")])

    assert 0 == lint.exit_code, lint.output
    assert 0 == test.exit_code, test.output
    assert 0 == audit.exit_code, audit.output
    assert "4.2-contract-signed" in (tmp_path / "out" / "findings.jsonl").read_text()


@pytest.mark.parametrize(
    "payload",
    [
        "!!python/object/apply:os.system ['echo pwned > /tmp/qa-engine-pwned']",
        "id: !!python/name:os.system\n",
    ],
)
def test_rule_files_cannot_run_code(rules_copy, payload):
    """Python tags are refused by the safe loader, naming the file."""
    (rules_copy / "1.1-evil.yaml").write_text(payload)

    with pytest.raises(RuleSchemaError, match=r"1\.1-evil\.yaml: not valid YAML .*constructor for the tag"):
        load_rules(rules_copy)


def test_a_message_template_is_not_a_format_string(rules_copy):
    """Templates are substitutions, not format strings: in a rule that loads, ``{case.__class__}`` is not a
    placeholder (a placeholder names a fact in lower case), so it reads as written, never as Python's attribute."""
    (rules_copy / "4.2-contract-signed.yaml").write_text(NEW_RULE.replace(
        'met: "Contract signed."', 'met: "Contract signed {case.__class__} {case.contract_signed}."'))

    rule = load_rules(rules_copy).rule("4.2-contract-signed")

    assert "Contract signed {case.__class__} yes." == render(rule.messages.met, {"case": {"contract_signed": True}})


def test_unknown_key_in_a_rule_file(rules_copy):
    """A key the rule schema does not know is an error naming it."""
    path = rules_copy / "1.2-plan-reviewed.yaml"
    path.write_text(path.read_text() + "severty: high\n")

    with pytest.raises(RuleSchemaError, match="severty"):
        load_rules(rules_copy)


def test_rule_id_must_match_file_name(rules_copy):
    """A rule's id and its file name agree, so rules are found by id."""
    (rules_copy / "1.2-plan-reviewed.yaml").rename(rules_copy / "1.2-plans-reviewed.yaml")

    with pytest.raises(RuleSchemaError, match="does not match the file name"):
        load_rules(rules_copy)


def test_self_referencing_yaml_is_refused(rules_copy):
    """A YAML alias that refers to itself is refused, not followed forever."""
    (rules_copy / "1.1-loop.yaml").write_text("&a {id: 1.1-loop, criterion: *a}\n")

    with pytest.raises(RuleSchemaError, match="refers to itself"):
        load_rules(rules_copy)


def test_a_rule_folder_needs_no_speed_hints_and_they_change_no_finding(rules_copy, tmp_path):
    """outcome-hints.yaml is data beside the rules: without it (a service's own folder) every rule leaves the outcome
    its shape gives unfired, which compiles differently, and the example audits to the same bytes; the pack's hash,
    which forms and reports are tied to, does not include it."""
    hinted = load_rules()
    (rules_copy / HINTS_FILE).unlink()
    plain = load_rules(rules_copy)

    assert [] == plain.hint_problems == hinted.hint_problems
    assert all(rule.outcome_hint is None for rule in plain.rules)
    assert sum(rule.outcome_hint is not None for rule in hinted.rules) > 40
    assert compile_pack(hinted).sha256 != compile_pack(plain).sha256
    assert hinted.sha256 == plain.sha256
    runner = CliRunner()
    for name, folder in (("hinted", DEFAULT_RULES_DIR), ("plain", rules_copy)):
        result = runner.invoke(cli, ["audit", str(EXAMPLE_CASELOAD), "--rules", str(folder), "--as-of", EXAMPLE_AS_OF,
                                     "--no-report", "--out", str(tmp_path / name)])
        assert 0 == result.exit_code, result.output
    for name in ("findings.jsonl", "summary.json"):
        assert (tmp_path / "hinted" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes(), name


def test_a_hint_that_cannot_be_used_is_reported_by_lint_and_not_used(rules_copy):
    """A hint naming a rule the pack does not have, or an outcome the rule cannot leave unfired (a rule judged per
    item, or an outcome a rule never gives), is listed by rules lint (exit 1); the audit goes on without it."""
    path = rules_copy / HINTS_FILE
    text = path.read_text()
    assert "  1.2-plan-reviewed: " in text and "  1.1-initial-assessment-timely: " in text
    text = text.replace("  1.2-plan-reviewed: ", "  1.2-plan-reviewd: ")
    text = re.sub(r"  1\.1-initial-assessment-timely: \w+", "  1.1-initial-assessment-timely: insufficient_data", text)
    path.write_text(text + "  4.3-failure-answered: met\n")
    expected = [f"{HINTS_FILE}: 1.1-initial-assessment-timely can leave only met, not_applicable, not_met unfired, not "
                "insufficient_data; its hint is not used",
                f"{HINTS_FILE}: 1.2-plan-reviewd is not a rule of this pack (did you mean '1.2-plan-reviewed'?); "
                "its hint is not used (remove it)",
                f"{HINTS_FILE}: 4.3-failure-answered can leave only not_applicable unfired, not met; its hint is not used"]

    pack = load_rules(rules_copy)
    lint = CliRunner().invoke(cli, ["rules", "lint", "--rules", str(rules_copy)])

    assert expected == pack.hint_problems
    assert pack.rule("1.2-plan-reviewed").outcome_hint is None
    assert pack.rule("1.1-initial-assessment-timely").outcome_hint is None
    assert pack.rule("4.3-failure-answered").outcome_hint is None
    assert 1 == lint.exit_code, lint.output
    assert all(problem in lint.output.splitlines() for problem in expected), lint.output
    assert f"{len(expected)} problems." in lint.output


def test_a_malformed_hints_file_stops_the_load_naming_it(rules_copy):
    """A hints file that is not what its schema says (an outcome misspelt) is an error naming the file, like any other
    file of the pack."""
    (rules_copy / HINTS_FILE).write_text("default_outcome:\n  1.2-plan-reviewed: mett\n")

    with pytest.raises(RuleSchemaError, match="mett") as raised:
        load_rules(rules_copy)
    assert HINTS_FILE in str(raised.value)
