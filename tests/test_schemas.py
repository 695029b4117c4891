"""Schemas in schemas/ match the models, are valid JSON Schema, and every shipped file validates against its schema."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from qa_engine.base.resources import load_schema, schemas_dir
from qa_engine.base.yamlfile import load_yaml
from qa_engine.judge.schemas import generated_schemas, render
from qa_engine.rulepack.load import DEFAULT_RULES_DIR
from qa_engine.rulepack.model import CASES_SUFFIX, CRITERIA_FILE, HINTS_FILE

from .conftest import EXAMPLES


@pytest.mark.parametrize("stem", sorted(generated_schemas()))
def test_generated_schema_is_checked_in(stem):
    """The checked-in schema equals the one generated from the model (see README, Development)."""
    assert render(generated_schemas()[stem]) == (schemas_dir() / f"{stem}.schema.json").read_text()


@pytest.mark.parametrize("path", sorted(schemas_dir().glob("*.schema.json")), ids=lambda p: p.name)
def test_schema_files_are_valid_json_schema(path):
    """Every schema file is itself a valid Draft 2020-12 schema."""
    Draft202012Validator.check_schema(json.loads(path.read_text()))


def test_rule_files_validate():
    """Every rule file in rules/ validates against schemas/rule.schema.json."""
    validator = Draft202012Validator(load_schema("rule"))
    files = [p for p in DEFAULT_RULES_DIR.glob("*.yaml")
             if p.name not in (CRITERIA_FILE, HINTS_FILE) and not p.name.endswith(CASES_SUFFIX)]

    assert files
    for path in files:
        validator.validate(load_yaml(path, ValueError))


def test_speed_hints_validate():
    """rules/outcome-hints.yaml validates against schemas/outcome-hints.schema.json."""
    Draft202012Validator(load_schema("outcome-hints")).validate(load_yaml(DEFAULT_RULES_DIR / HINTS_FILE, ValueError))


def test_criteria_catalogue_validates():
    """rules/criteria.yaml validates and lists every SQS criterion 1.1 to 4.3 and operational management."""
    data = load_yaml(DEFAULT_RULES_DIR / CRITERIA_FILE, ValueError)
    Draft202012Validator(load_schema("criteria")).validate(data)

    expected = [f"{s}.{n}" for s, n in [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (3, 3), (3, 4),
                                         (4, 1), (4, 2), (4, 3)]] + ["OM"]
    assert expected == [c["id"] for c in data["criteria"]]


def test_example_records_validate_against_the_schema():
    """Every record in examples/ validates against schemas/case-record.schema.json (not only the model)."""
    validator = Draft202012Validator(load_schema("case-record"))
    paths = sorted(EXAMPLES.glob("*.jsonl"))

    assert paths
    for path in paths:
        for line in path.read_text().splitlines():
            validator.validate(json.loads(line))


def test_example_policy_validates():
    """examples/policy.yaml validates against schemas/policy.schema.json."""
    Draft202012Validator(load_schema("policy")).validate(load_yaml(EXAMPLES / "policy.yaml", ValueError))


def test_schema_rejects_unknown_fields():
    """The record schema, like the model, forbids unknown fields."""
    assert load_schema("case-record")["additionalProperties"] is False
