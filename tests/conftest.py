"""Shared fixtures: the shipped rule pack, the example caseload, a clean structlog per test."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import structlog

from qa_engine.rulepack.load import load_rules

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EXAMPLE_CASELOAD = EXAMPLES / "caseload.jsonl"
EXAMPLE_AS_OF = "2016-02-15"


@pytest.fixture(autouse=True)
def _reset_structlog():
    yield
    structlog.reset_defaults()


@pytest.fixture(name="pack", scope="session")
def _pack():
    return load_rules()


@pytest.fixture(name="example_records", scope="session")
def _example_records():
    return [json.loads(line) for line in EXAMPLE_CASELOAD.read_text().splitlines() if line.strip()]


@pytest.fixture(name="minimal_record")
def _minimal_record():
    return copy.deepcopy(
        {
            "case_id": "T-1",
            "child": {"child_id": "C-1", "age_at_sentence": 15},
            "order": {
                "order_id": "O-1",
                "order_type": "youth_rehabilitation_order",
                "sentence_date": "2016-03-01",
                "start_date": "2016-03-01",
            },
        }
    )
