"""The durable_rules adapter handles each trap in durable-rules-notes.md section 0, and maps its errors."""

from __future__ import annotations

import random

import pytest

from qa_engine.base.errors import EngineError, EngineLimitError, OutcomeInvariantError
from qa_engine.facts.derive import CaseFacts
from qa_engine.judge.auditor import Auditor
from qa_engine.judge.durable_adapter import DurableBackend, get_backend
from qa_engine.records.model import CaseRecord
from qa_engine.rulepack.compile import CompiledRuleset, Variant, compile_pack


def _ruleset(name: str, definition: dict, fields: dict | None = None) -> CompiledRuleset:
    variants = {rule: Variant("1.1-test", "met", "case") for rule in definition}
    for rule in definition.values():
        rule["run"] = next(k for k, v in definition.items() if v is rule)
    return CompiledRuleset(name=name, definition=definition, variants=variants,
                           fields=fields or {"case": ("x",)}, rule_ids=("1.1-test",))


def test_pure_negation_is_refused():
    """A rule on a missing field alone would loop forever in durable_rules, so it is never registered."""
    ruleset = _ruleset("trap-negation", {"r": {"all": [{"c": {"$nex": {"x": 1}}}]}})

    with pytest.raises(EngineError, match="positive test"):
        get_backend().register(ruleset)


def test_case_matching_nothing_is_an_invariant_error():
    """A case no rule judges raises (durable_rules' MessageNotHandledException), never passes silently."""
    ruleset = _ruleset("trap-unhandled", {"r": {"all": [{"c": {"$and": [{"_k": "case"}, {"x": 1}]}}]}})

    with pytest.raises(OutcomeInvariantError, match="no rule gave the case an outcome"):
        get_backend().evaluate(ruleset, CaseFacts("K-1", {"x": 2}))


def test_too_many_rules_on_one_fact_is_a_limit_error():
    """65 rules matching one fact is durable_rules error 303, reported as an EngineLimitError."""
    definition = {f"r{i}": {"all": [{"c": {"$and": [{"_k": "case"}, {"$gte": {"x": i}}]}}]} for i in range(65)}
    ruleset = _ruleset("trap-303", definition)

    with pytest.raises(EngineLimitError, match="more rules match one fact"):
        get_backend().evaluate(ruleset, CaseFacts("K-1", {"x": 100}))


@pytest.mark.parametrize("lean", [False, True], ids=["durable-action-loop", "lean-action-loop"])
def test_exception_in_an_action_is_not_swallowed(lean):
    """durable_rules stores action exceptions in the state (its own loop); the adapter raises them either way."""
    backend = DurableBackend(lean=lean)  # a private backend: its actions are replaced below

    def boom(_variant):
        def action(_c):
            raise RuntimeError("boom")

        return action

    backend._action = backend._lean_action = boom
    ruleset = _ruleset(f"trap-action-{lean}", {"r": {"all": [{"c": {"$and": [{"_k": "case"}, {"x": 1}]}}]}})

    with pytest.raises(EngineError, match="action failed"):
        backend.evaluate(ruleset, CaseFacts("K-1", {"x": 1}))


def test_lean_action_loop_fires_exactly_what_durable_rules_fires(pack, example_records):
    """The lean action loop gives the same firings as durable_rules' own loop, case by case."""
    import datetime as dt

    from qa_engine.facts.derive import derive

    auditor = Auditor(pack, as_of=dt.date(2016, 2, 15))
    stock = DurableBackend(lean=False)
    for raw in example_records:
        facts = derive(CaseRecord.model_validate(raw), auditor.as_of, auditor.calendar, auditor.policy.settings)
        for ruleset in auditor.compiled.rulesets:
            lean = get_backend().evaluate(ruleset, facts)
            own = stock.evaluate(ruleset, facts)

            assert _comparable(own) == _comparable(lean)


def _comparable(firings):
    """Firings without the session id, which differs between the two backends."""
    return sorted(repr((f.variant, {a: {k: v for k, v in m.items() if k != "sid"} for a, m in f.matched.items()}))
                  for f in firings)


def test_state_does_not_accumulate_across_cases(pack, example_records):
    """Each case gets its own session, deleted afterwards: 1,500 cases pass durable_rules' 1,024-session cap."""
    import datetime as dt

    auditor = Auditor(pack, as_of=dt.date(2016, 2, 15))
    records = [CaseRecord.model_validate(r) for r in example_records]
    backend = get_backend()
    for i in range(1500):
        auditor.audit_record(records[i % len(records)])

    assert all(0 == backend.live_sessions(rs) for rs in auditor.compiled.rulesets)


def test_item_order_does_not_change_outcomes(pack, example_records):
    """none() depends on arrival order in durable_rules; asserting the case fact last makes order irrelevant."""
    import datetime as dt

    from qa_engine.facts.derive import derive
    from qa_engine.judge.findings import reduce

    auditor = Auditor(pack, as_of=dt.date(2016, 2, 15))
    compiled = compile_pack(pack)
    r = random.Random(7)
    for raw in example_records:
        record = CaseRecord.model_validate(raw)
        facts = derive(record, auditor.as_of, auditor.calendar, auditor.policy.settings)
        shuffled = CaseFacts(facts.case_id, facts.case, {k: r.sample(v, len(v)) for k, v in reversed(facts.items.items())})
        meta = {"case_id": record.case_id, "order_type": record.order.order_type.value}
        for facts_variant in (facts, shuffled):
            outcomes = []
            for ruleset in compiled.rulesets:
                firings = get_backend().evaluate(ruleset, facts_variant)
                for rule_id in ruleset.rule_ids:
                    mine = [f for f in firings if f.variant.rule_id == rule_id]
                    outcomes.append(reduce(compiled.rules[rule_id], mine, facts.case, meta).outcome)
            if facts_variant is facts:
                expected = outcomes

        assert expected == outcomes


def test_only_the_adapter_imports_durable_rules():
    """Every other module reaches durable_rules through qa_engine.judge.durable_adapter."""
    import re
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "qa_engine"
    pattern = re.compile(r"^\s*(import|from) durable(_rules_engine)?\b", re.MULTILINE)
    importers = sorted(p.relative_to(package).as_posix() for p in package.rglob("*.py") if pattern.search(p.read_text()))

    assert ["judge/durable_adapter.py"] == importers


def test_duplicate_fact_is_an_error_and_the_process_survives():
    """A repeated fact id is MessageObservedException in durable_rules; the adapter raises and stays usable
    (deleting such a session would corrupt the heap, so it is left alone)."""
    ruleset = _ruleset("trap-duplicate", {"r": {"all": [{"c": {"_k": "case"}}, {"i": {"_k": "item"}}]}},
                       fields={"case": (), "item": ()})
    item = {"id": "K-1"}

    with pytest.raises(EngineError, match="duplicate"):
        get_backend().evaluate(ruleset, CaseFacts("K-1", {}, {"item": [item, dict(item)]}))
    assert 1 == len(get_backend().evaluate(ruleset, CaseFacts("K-2", {}, {"item": [item]})))


def test_item_ids_may_repeat_across_kinds(pack, minimal_record):
    """A contact that is both an absence and a failure (same id, two kinds) is not a duplicate to durable_rules."""
    import datetime as dt

    minimal_record["contacts"] = [{"contact_id": "K-1", "date": "2016-03-07", "type": "office",
                                   "outcome": "unacceptable_absence"}]
    findings = Auditor(pack, as_of=dt.date(2016, 6, 1)).audit_record(CaseRecord.model_validate(minimal_record))

    assert "not_met" == next(f.outcome for f in findings if f.rule_id == "4.3-failure-answered")
