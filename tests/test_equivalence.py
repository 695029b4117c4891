"""The fast evaluation (each rule's default outcome left unfired, plain-data findings, orjson) gives exactly the
findings of the full one (every outcome compiled and fired, pydantic ``Finding``): on every example case and on
a generated caseload of 2,000 cases. The rule cases run both compilations in ``rules test`` (test_rule_cases.py)."""

from __future__ import annotations

import collections
import datetime as dt
import runpy

import orjson
import pytest

from qa_engine.base.yamlfile import load_yaml
from qa_engine.judge import rulecases
from qa_engine.judge.auditor import Auditor
from qa_engine.judge.findings import Finding, encode_findings
from qa_engine.records.generate import generate
from qa_engine.records.model import CaseRecord
from qa_engine.rulepack.load import DEFAULT_RULES_DIR
from qa_engine.rulepack.model import HINTS_FILE

from .conftest import ROOT

AS_OF = dt.date(2016, 2, 15)


def _differences(pack, records, as_of=AS_OF, counts=None):
    """Findings that differ between the full and the fast compilation, as (case, rule, full, fast); with ``counts``
    (a dict), the outcomes of the full one are counted into it (rule id -> outcome -> cases)."""
    full = Auditor(pack, as_of=as_of, every_outcome=True)
    fast = Auditor(pack, as_of=as_of)
    assert all(c.default is None for c in full.compiled.rules.values())
    assert all(c.default is not None for c in fast.compiled.rules.values())
    differences = []
    for raw in records:
        record = CaseRecord.model_validate(raw)
        for a, b in zip(full.judge(record), fast.judge(record), strict=True):
            if counts is not None:
                counts.setdefault(a["rule_id"], collections.Counter())[a["outcome"]] += 1
            if a != b:
                differences.append((record.case_id, a["rule_id"], a, b))
    return differences


def test_fast_and_full_compilations_agree_on_the_examples(pack, example_records):
    """Every example case, every rule, as of two dates: the same finding, field for field."""
    for as_of in (AS_OF, dt.date(2016, 9, 30)):
        assert [] == _differences(pack, example_records, as_of)


def test_the_fast_compilation_fires_fewer_rules(pack):
    """Leaving each rule's default outcome out removes durable_rules rules (and their firings)."""
    full = Auditor(pack, as_of=AS_OF, every_outcome=True).compiled
    fast = Auditor(pack, as_of=AS_OF).compiled

    assert sum(len(rs.definition) for rs in fast.rulesets) < 0.8 * sum(len(rs.definition) for rs in full.rulesets)


def test_plain_findings_are_the_pydantic_findings_byte_for_byte(pack, example_records):
    """The hot path's dicts validate as ``Finding`` and encode to the same bytes as the model's own dump."""
    auditor = Auditor(pack, as_of=AS_OF)
    for raw in example_records:
        data = auditor.judge(CaseRecord.model_validate(raw))
        models = [Finding(**d) for d in data]

        assert encode_findings(data) == b"".join(orjson.dumps(m.model_dump(mode="json")) + b"\n" for m in models)


def test_a_fast_compilation_that_differs_fails_the_rule_cases(pack, monkeypatch):
    """``rules test`` compares the two compilations: a fast compilation that lost a variant (here: the item
    met variants, so "met" cases would come out as the default, not applicable) fails, never passes silently."""
    real = rulecases.compile_rule

    def lossy(rule, params, every_outcome=False):
        compiled = real(rule, params, every_outcome)
        if not every_outcome:
            for name in [n for n, v in compiled.variants.items() if v.outcome == "met"]:
                del compiled.durable[name], compiled.variants[name]
        return compiled

    monkeypatch.setattr(rulecases, "compile_rule", lossy)
    rule = next(r for r in pack.rules if r.id == "4.3-failure-answered")
    results = [rulecases.run_case(rule, case) for case in rulecases.load_cases(rule)]

    assert any(not r.passed and "the fast compilation gave not_applicable" in r.detail
               and "the full one met" in r.detail for r in results)


@pytest.mark.slow
def test_fast_and_full_compilations_agree_on_a_generated_caseload(pack):
    """2,000 generated cases (qa-engine generate --seed 1), every rule: 0 differences. And the pack's speed hints
    (rules/outcome-hints.yaml) are each rule's commonest outcome there, as bench/outcome_hints.py writes them: stale
    hints cost speed only, but they are data kept with the rules, so a rule change that moves them fails here."""
    records = list(generate(2000, seed=1))
    counts: dict[str, collections.Counter[str]] = {}
    differences = _differences(pack, records, counts=counts)

    assert [] == differences[:3]
    bench = runpy.run_path(str(ROOT / "bench" / "outcome_hints.py"))
    shipped = load_yaml(DEFAULT_RULES_DIR / HINTS_FILE, ValueError)
    assert 2000 == shipped["cases"]
    assert bench["hints_from_counts"](pack, counts) == shipped["default_outcome"], (
        "rules/outcome-hints.yaml is stale: write it again as bench/outcome_hints.py says")
