"""The durable_rules adapter handles each trap in durable-rules-notes.md section 0, and maps its errors."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import random

import pytest

from qa_engine.base.errors import EngineError, EngineLimitError, OutcomeInvariantError
from qa_engine.facts.derive import CaseFacts, derive
from qa_engine.judge import durable_adapter
from qa_engine.judge.auditor import Auditor
from qa_engine.judge.durable_adapter import DurableBackend, FactTypeError, get_backend
from qa_engine.judge.findings import reduce
from qa_engine.records.model import CaseRecord
from qa_engine.rulepack.compile import CompiledRuleset, Variant, compile_pack

AS_OF = dt.date(2016, 2, 15)


def _ruleset(name: str, definition: dict, fields: dict | None = None, scope: str = "case") -> CompiledRuleset:
    variants = {rule: Variant("1.1-test", "met", scope) for rule in definition}
    for rule in definition.values():
        rule["run"] = next(k for k, v in definition.items() if v is rule)
    return CompiledRuleset(name=name, definition=definition, variants=variants,
                           fields=fields or {"case": ("child_age",)}, rule_ids=("1.1-test",))


_AGE_IS_15 = {"r": {"all": [{"c": {"$and": [{"_k": "case"}, {"child_age": 15}]}}]}}


def test_pure_negation_is_refused():
    """A rule on a missing field alone would loop forever in durable_rules, so it is never registered."""
    ruleset = _ruleset("trap-negation", {"r": {"all": [{"c": {"$nex": {"child_age": 1}}}]}})

    with pytest.raises(EngineError, match="positive test"):
        get_backend().register(ruleset)


def test_case_matching_nothing_is_an_invariant_error_without_a_default(pack, minimal_record):
    """A rule compiled with every outcome must fire one: no firing at all raises, never passes silently."""
    compiled = compile_pack(pack, every_outcome=True).rules["4.3-minimum-contact"]

    with pytest.raises(OutcomeInvariantError, match="no outcome fired"):
        reduce(compiled, [], {}, {"case_id": "K-1", "order_type": "other"})


def test_a_case_no_rule_reads_is_handled_and_fires_nothing():
    """Every fact kind has a never-firing rule, so a fact no rule reads is not an error code; nothing fires."""
    ruleset = _ruleset("trap-unhandled", copy.deepcopy(_AGE_IS_15))

    assert [] == get_backend().evaluate(ruleset, CaseFacts("K-1", {"child_age": 14}))
    assert 1 == len(get_backend().evaluate(ruleset, CaseFacts("K-2", {"child_age": 15})))


def test_too_many_rules_on_one_fact_is_a_limit_error():
    """65 rules matching one fact is durable_rules error 303, reported as an EngineLimitError."""
    definition = {f"r{i}": {"all": [{"c": {"$and": [{"_k": "case"}, {"$gte": {"child_age": i}}]}}]} for i in range(65)}
    ruleset = _ruleset("trap-303", definition)

    with pytest.raises(EngineLimitError, match="more rules match one fact"):
        get_backend().evaluate(ruleset, CaseFacts("K-1", {"child_age": 100}))
    assert 21 == len(get_backend().evaluate(ruleset, CaseFacts("K-2", {"child_age": 20})))  # usable after it


def test_exception_in_an_action_is_not_swallowed():
    """durable_rules stores action exceptions in the state (its own loop); the adapter raises them."""
    backend = DurableBackend(lean=False)  # a private backend: its actions are replaced below

    def boom(_variant):
        def action(_c):
            raise RuntimeError("boom")

        return action

    backend._action = boom
    ruleset = _ruleset("trap-action", copy.deepcopy(_AGE_IS_15))

    with pytest.raises(EngineError, match="action failed"):
        backend.evaluate(ruleset, CaseFacts("K-1", {"child_age": 15}))


@pytest.mark.parametrize("value", [None, [15], {"years": 15}, math.nan, math.inf, True, "15", 15.0, 2**60],
                         ids=["null", "list", "object", "nan", "infinity", "boolean", "text", "float", "huge"])
def test_a_value_durable_rules_cannot_judge_is_refused_before_anything_is_asserted(value):
    """An integer fact holding anything but an integer would make neither a test nor its negation fire,
    so the fast compilation would silently give the default: it is refused, and the session stays clean."""
    ruleset = _ruleset("trap-types", copy.deepcopy(_AGE_IS_15))

    with pytest.raises(FactTypeError, match="child_age holds"):
        get_backend().evaluate(ruleset, CaseFacts("K-1", {"child_age": value}))
    assert 0 == get_backend().facts_held(ruleset)
    assert 1 == len(get_backend().evaluate(ruleset, CaseFacts("K-2", {"child_age": 15})))


@pytest.mark.parametrize(("name", "value"), [("order_type", "no_such_order"), ("rosh_level", 5), ("rosh_level", "high"),
                                             ("months_since_start", math.nan), ("sw_screened", 1)])
def test_every_catalogue_type_is_checked(name, value):
    """Enums, levels, numbers and booleans are checked against the catalogue too."""
    ruleset = _ruleset(f"trap-type-{name}", {"r": {"all": [{"c": {"$and": [{"_k": "case"}, {"$ex": {name: 1}}]}}]}},
                       fields={"case": (name,)})

    with pytest.raises(FactTypeError, match=name):
        get_backend().evaluate(ruleset, CaseFacts("K-1", {name: value}))


def test_a_field_outside_the_catalogue_is_refused_at_registration():
    """A field with no declared type cannot be checked, so a ruleset reading one is not registered."""
    ruleset = _ruleset("trap-uncatalogued", {"r": {"all": [{"c": {"$and": [{"_k": "case"}, {"x": 1}]}}]}},
                       fields={"case": ("x",)})

    with pytest.raises(EngineError, match="not in the fact catalogue"):
        get_backend().register(ruleset)


def test_item_facts_are_read_from_a_firing_message_without_the_case_fact():
    """Only the item facts of a message are parsed; a message not shaped as expected is parsed whole."""
    from qa_engine.judge.durable_adapter import _item_facts

    case = '{"id": "case/K,\\"i\\":{", "_k": "case", "sid": "0"}'
    item = '{"id": "failure/F-1", "_id": "F-1", "rating": 2.5}'
    answer = '{"id": "response/R-1", "_id": "R-1"}'

    assert {"i": json.loads(item)} == _item_facts(f'{{"r#m":{{"c":{case},"i":{item}}}}}', "r#m")
    assert {"i": json.loads(item), "x": json.loads(answer)} == _item_facts(
        f'{{"r#m":{{"c":{case},"i":{item},"x":{answer}}}}}', "r#m")
    assert {"x": json.loads(answer), "i": json.loads(item)} == _item_facts(
        f'{{"r#m":{{"c":{case},"x":{answer},"i":{item}}}}}', "r#m")


def test_direct_and_stock_paths_fire_the_same_on_both_compilations(pack, example_records):
    """Driving the C functions directly (one assert_facts, our action loop, one session reused) fires exactly
    what durable_rules' own Host path fires (one assert_fact at a time, its own loop, a session per case)."""
    stock = DurableBackend(lean=False)
    for every_outcome in (True, False):
        auditor = Auditor(pack, as_of=AS_OF, every_outcome=every_outcome)
        for raw in example_records:
            facts = derive(CaseRecord.model_validate(raw), auditor.as_of, auditor.calendar, auditor.policy.settings)
            for ruleset in auditor.compiled.rulesets:
                direct = get_backend().evaluate(ruleset, facts)
                own = stock.evaluate(ruleset, facts)

                assert _comparable(own) == _comparable(direct)


def _comparable(firings):
    """Firings as (variant, matched item facts without the session id); the direct path reads only the item facts
    of firings judged per item (a firing's case fact is the case's own, which reduce reads itself)."""
    return sorted(repr((f.variant, {a: {k: v for k, v in m.items() if k != "sid"} for a, m in f.matched.items()
                                    if a != "c"} if f.variant.scope == "item" else {})) for f in firings)


def test_state_does_not_accumulate_across_cases(pack, example_records, monkeypatch):
    """One session per ruleset, each case's facts retracted after it, the session replaced every SESSION_CASES
    cases: 1,550 cases pass durable_rules' 1,024-session cap and leave one session and no fact."""
    monkeypatch.setattr(durable_adapter, "SESSION_CASES", 100)
    backend = DurableBackend()  # a private backend, so its session count is its own
    monkeypatch.setattr(durable_adapter, "_BACKEND", backend)
    auditor = Auditor(pack, as_of=AS_OF)
    records = [CaseRecord.model_validate(r) for r in example_records]
    for i in range(1550):
        auditor.audit_record(records[i % len(records)])

    assert all(1 == backend.live_sessions(rs) for rs in auditor.compiled.rulesets)
    assert all(0 == backend.facts_held(rs) for rs in auditor.compiled.rulesets)


def test_a_failed_case_leaves_nothing_for_the_next(pack, example_records):
    """After an engine error the session is replaced: the next case is judged as if alone."""
    auditor = Auditor(pack, as_of=AS_OF)
    records = [CaseRecord.model_validate(r) for r in example_records[:5]]
    alone = [auditor.judge(r) for r in records]
    ruleset = _ruleset("trap-303-then", {f"r{i}": {"all": [{"c": {"$and": [{"_k": "case"}, {"$gte": {"child_age": i}}]}}]}
                                         for i in range(65)})
    for record, expected in zip(records, alone, strict=True):
        with pytest.raises(EngineLimitError):
            get_backend().evaluate(ruleset, CaseFacts("K-1", {"child_age": 100}))

        assert expected == auditor.judge(record)


def test_item_order_does_not_change_outcomes(pack, example_records):
    """none() depends on arrival order in durable_rules; asserting the case fact last makes order irrelevant."""
    auditor = Auditor(pack, as_of=AS_OF)
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
    ruleset = _ruleset("trap-duplicate", {"r": {"all": [{"c": {"_k": "case"}}, {"i": {"_k": "failure"}}]}},
                       fields={"case": (), "failure": ()}, scope="item")
    item = {"id": "K-1"}

    for backend in (get_backend(), DurableBackend(lean=False)):
        with pytest.raises(EngineError, match=r"duplicate|share the id"):
            backend.evaluate(ruleset, CaseFacts("K-1", {}, {"failure": [item, dict(item)]}))
        assert 1 == len(backend.evaluate(ruleset, CaseFacts("K-2", {}, {"failure": [item]})))


def test_item_ids_may_repeat_across_kinds(pack, minimal_record):
    """A contact that is both an absence and a failure (same id, two kinds) is not a duplicate to durable_rules."""
    minimal_record["contacts"] = [{"contact_id": "K-1", "date": "2016-03-07", "type": "office",
                                   "outcome": "unacceptable_absence"}]
    findings = Auditor(pack, as_of=dt.date(2016, 6, 1)).audit_record(CaseRecord.model_validate(minimal_record))

    assert "not_met" == next(f.outcome for f in findings if f.rule_id == "4.3-failure-answered")
