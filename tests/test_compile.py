"""The compiler: names checked at load with suggestions, negation correct with missing facts, limits respected."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from qa_engine.base.errors import RuleCompileError
from qa_engine.facts.derive import CaseFacts
from qa_engine.judge.durable_adapter import get_backend
from qa_engine.judge.findings import reduce
from qa_engine.records.model import LEVEL_RANK, Level
from qa_engine.rulepack.compile import MAX_COFIRING, check_rule, compile_pack, compile_rule, default_outcome, pack_rulesets
from qa_engine.rulepack.model import Rule

_BASE = {
    "id": "1.1-synthetic",
    "criterion": "1.1",
    "title": "A synthetic rule for compiler tests",
    "rationale": "Exercises the compiler with generated conditions.",
    "basis": "recorded_data",
    "severity": "low",
    "sources": [{"about": "nothing", "source": "tests", "status": "recalled"}],
    "messages": {"met": "met", "not_met": "not met"},
}


def _rule(**fields) -> Rule:
    return Rule(**{**_BASE, **fields})


# -- a reference semantics for conditions, used only as a test oracle -----------------------------
_FACTS = {
    "psr_late_working_days": lambda r: r.randint(0, 30),
    "order_type": lambda r: r.choice(["referral_order", "youth_rehabilitation_order", "other"]),
    "rosh_level": lambda r: r.randint(1, 4),
    "initial_assessment_completed": lambda r: r.choice([True, False]),
}
_LEVELS = [lv.value for lv in Level]


def _random_leaf(r):
    name = r.choice(list(_FACTS))
    if name == "order_type":
        op = r.choice(["eq", "ne", "in", "not_in", "present", "absent"])
        if op in ("in", "not_in"):
            return {"fact": name, op: r.sample(["referral_order", "youth_rehabilitation_order", "other"], 2)}
        return {"fact": name, op: True} if op in ("present", "absent") else {"fact": name, op: "referral_order"}
    if name == "rosh_level":
        return {"fact": name, r.choice(["lt", "lte", "gt", "gte", "eq", "ne"]): r.choice(_LEVELS)}
    if name == "initial_assessment_completed":
        return {"fact": name, r.choice(["eq", "ne"]): r.choice([True, False])}
    return {"fact": name, r.choice(["lt", "lte", "gt", "gte", "eq", "ne"]): r.randint(0, 30)}


def _random_condition(r, depth=0):
    roll = r.random()
    if depth >= 3 or roll < 0.4:
        return _random_leaf(r)
    if roll < 0.6:
        return {"not": _random_condition(r, depth + 1)}
    return {r.choice(["all", "any"]): [_random_condition(r, depth + 1) for _ in range(r.randint(1, 3))]}


def _reference(cond, facts):
    """Kleene's three-valued logic: True, False, or None when a test reads a fact that is not recorded."""
    if "all" in cond or "any" in cond:
        values = [_reference(c, facts) for c in cond["all" if "all" in cond else "any"]]
        decisive, other = (False, True) if "all" in cond else (True, False)
        if decisive in values:
            return decisive
        return other if all(v is other for v in values) else None
    if "not" in cond:
        inner = _reference(cond["not"], facts)
        return None if inner is None else not inner
    name = cond["fact"]
    op, value = next((k, v) for k, v in cond.items() if k != "fact")
    if op == "present":
        return name in facts
    if op == "absent":
        return name not in facts
    if name not in facts:
        return None
    actual = facts[name]
    if name == "rosh_level" and isinstance(value, str):
        value = LEVEL_RANK[Level(value)]
    return {
        "eq": lambda: actual == value, "ne": lambda: actual != value, "lt": lambda: actual < value,
        "lte": lambda: actual <= value, "gt": lambda: actual > value, "gte": lambda: actual >= value,
        "in": lambda: actual in value, "not_in": lambda: actual not in value,
    }[op]()


_ALWAYS = {"order_type", "initial_assessment_completed"}  # derived for every case: never absent


def test_compiled_conditions_agree_with_their_meaning():
    """durable_rules, through the compiler, judges 300 random conditions x 8 random cases as three-valued logic
    says: true applies, false is not applicable, unknown is insufficient data, for applies_when and expects;
    the full compilation and the fast one agree, with the default outcome from the rule's shape and with an
    outcome hint drawn from those the rule can leave unfired (so a hint changes no finding)."""
    r = random.Random(20160215)
    hints = random.Random(7)  # each condition's outcome hint, drawn apart so the conditions stay the same
    backend = get_backend()
    judged = 0
    for n in range(300):
        cond = _random_condition(r)
        where = r.choice(["applies_when", "expects"])
        fields = {"applies_when": cond, "expects": {"fact": "order_type", "present": True}} if where == "applies_when" \
            else {"expects": cond}
        try:
            compiled = compile_rule(_rule(**fields), {})
        except RuleCompileError as exc:
            assert "too complex" in str(exc)
            continue
        judged += 1
        full = compile_rule(_rule(**fields), {}, every_outcome=True)
        hint = hints.choice(sorted(check_rule(_rule(**fields))))  # any outcome the rule can leave unfired
        hinted = compile_rule(_rule(**fields, outcome_hint=hint), {})
        assert hinted.default == hint
        rulesets = [(c, *pack_rulesets([c], prefix=f"oracle{n}-{c.default}-")) for c in (full, compiled, hinted)]
        for k in range(8):
            facts = {name: make(r) for name, make in _FACTS.items() if name in _ALWAYS or r.random() < 0.8}
            expected = _reference(cond, facts)
            if where == "applies_when":
                want = {True: "met", False: "not_applicable", None: "insufficient_data"}[expected]
            else:
                want = {True: "met", False: "not_met", None: "insufficient_data"}[expected]
            for rule_compiled, ruleset in rulesets:  # every outcome compiled, then a default left unfired
                firings = backend.evaluate(ruleset, CaseFacts(f"X-{n}-{k}", facts))
                finding = reduce(rule_compiled, firings, facts, {"case_id": "X", "order_type": "other"})
                assert finding.outcome == want, (where, json.dumps(cond), facts)
    assert judged > 250


class TestAbsenceAndChronology:
    def _judge(self, rule, facts):
        compiled = compile_rule(rule, {name: p.default for name, p in rule.parameters.items()})
        (ruleset,) = pack_rulesets([compiled], prefix=f"absence-{rule.id}-")
        firings = get_backend().evaluate(ruleset, CaseFacts("X", facts))
        return reduce(compiled, firings, facts, {"case_id": "X", "order_type": "other"},
                      problems={"case::plan_working_days": "the intervention plan is dated 2015-11-02, before the "
                                                           "order it plans for, made on 2016-04-04"})

    def test_unrecorded_fact_is_unknown_by_default(self):
        """A test on an unrecorded fact is insufficient data, never not met."""
        rule = _rule(expects={"fact": "psr_late_working_days", "lte": 0})
        assert self._judge(rule, {"order_type": "other"}).outcome == "insufficient_data"
        assert self._judge(rule, {"order_type": "other", "psr_late_working_days": 3}).outcome == "not_met"

    def test_declared_failure_gives_not_met_with_the_reason(self):
        """absent: {means: not_met} makes an unrecorded fact a failure, with the rule's reason as the message."""
        rule = _rule(expects={"fact": "psr_late_working_days", "lte": 0},
                     absent={"psr_late_working_days": {"means": "not_met", "reason": "Nothing was submitted."}})
        finding = self._judge(rule, {"order_type": "other"})
        assert (finding.outcome, finding.message, finding.reason_kind) == ("not_met", "Nothing was submitted.", "practice")

    def test_declared_not_applicable(self):
        """absent: {means: not_applicable} on a case fact makes the rule not applicable, with the reason."""
        rule = _rule(applies_when={"fact": "rosh_level", "gte": "high"}, expects={"fact": "order_type", "present": True},
                     absent={"rosh_level": {"means": "not_applicable", "reason": "Not yet rated."}})
        finding = self._judge(rule, {"order_type": "other"})
        assert (finding.outcome, finding.message) == ("not_applicable", "Not yet rated.")

    def test_impossible_span_is_never_met(self):
        """A later event dated before the earlier one (a plan before its order) is insufficient data naming both
        dates, even where an unrecorded plan is a declared failure."""
        rule = _rule(expects={"fact": "plan_working_days", "lte": 15},
                     clock={"other_orders": {"runs_from": "order_made", "source": "tests", "status": "recalled"}},
                     absent={"plan_working_days": {"means": "not_met", "reason": "No plan."}})
        finding = self._judge(rule, {"order_type": "other", "plan_working_days": -101})
        assert finding.outcome == "insufficient_data"
        assert finding.reason_kind == "impossible_dates"
        assert "dated 2015-11-02, before the order it plans for, made on 2016-04-04" in finding.message
        assert self._judge(rule, {"order_type": "other", "plan_working_days": 10}).outcome == "met"
        assert self._judge(rule, {"order_type": "other"}).outcome == "not_met"

    def test_clock_must_be_declared_and_match(self):
        """A rule testing a fact counted from the order must say which date its clock runs from, and agree."""
        with pytest.raises(RuleCompileError, match="declare the rule's clock"):
            compile_rule(_rule(expects={"fact": "plan_working_days", "lte": 15}), {})
        with pytest.raises(RuleCompileError, match="counts from order_made"):
            compile_rule(_rule(expects={"fact": "plan_working_days", "lte": 15},
                               clock={"referral_order": {"runs_from": "contract_signed", "source": "x",
                                                         "status": "recalled"}}), {})

    def test_absence_declared_for_an_untested_fact_is_refused(self):
        """Declaring what an unrecorded fact means is only allowed for a fact the rule tests."""
        with pytest.raises(RuleCompileError, match="no condition tests it"):
            compile_rule(_rule(expects={"fact": "order_type", "present": True},
                               absent={"rosh_level": {"means": "unknown", "reason": "Not rated."}}), {})


class TestNamesCheckedAtLoad:
    def test_unknown_fact_suggests_the_nearest(self):
        """A misspelt fact fails at load and names the nearest one."""
        with pytest.raises(RuleCompileError, match="did you mean 'rosh_level'"):
            compile_rule(_rule(expects={"fact": "rosh_levle", "gte": "high"}), {})

    def test_unknown_parameter(self):
        """A condition on an undeclared parameter is refused."""
        with pytest.raises(RuleCompileError, match="unknown parameter 'deadline'"):
            compile_rule(_rule(expects={"fact": "psr_late_working_days", "lte": {"param": "deadline"}}), {})

    def test_enum_value_checked(self):
        """An order type that does not exist is refused with a suggestion."""
        with pytest.raises(RuleCompileError, match="did you mean 'referral_order'"):
            compile_rule(_rule(expects={"fact": "order_type", "eq": "referal_order"}), {})

    def test_level_value_checked(self):
        """Levels are low, medium, high or very_high."""
        with pytest.raises(RuleCompileError, match="is a level"):
            compile_rule(_rule(expects={"fact": "rosh_level", "gte": "severe"}), {})

    def test_message_placeholders_checked(self):
        """A message that quotes an unknown fact is refused."""
        with pytest.raises(RuleCompileError, match="did you mean 'rosh_level'"):
            compile_rule(_rule(expects={"fact": "rosh_level", "gte": "high"},
                               messages={"met": "{case.rosh_lvl}", "not_met": "x"}), {})

    def test_exists_needs_for_each(self):
        """Correlation is only meaningful per item."""
        with pytest.raises(RuleCompileError, match="needs 'for_each'"):
            compile_rule(_rule(exists={"kind": "response", "match": {"answers_contact_id": "contact_id"}}), {})


class TestLimits:
    def test_too_complex_condition_refused_at_compile_not_at_register(self):
        """A condition needing more than durable_rules' 31 expression slots is refused with the reason."""
        many = {"all": [{"any": [{"fact": "rosh_level", "eq": "low"}, {"fact": "order_type", "eq": "other"}]}
                        for _ in range(16)]}

        with pytest.raises(RuleCompileError, match="too complex for durable_rules"):
            compile_rule(_rule(expects=many), {})

    def test_fifteen_alternatives_fit(self):
        """Below the limit (negations included), the condition compiles and durable_rules accepts it."""
        many = {"all": [{"any": [{"fact": "rosh_level", "eq": "low"}, {"fact": "psr_late_working_days", "eq": i}]}
                        for i in range(4)]}
        compiled = compile_rule(_rule(expects=many), {})
        (ruleset,) = pack_rulesets([compiled], prefix="fits")

        get_backend().register(ruleset)

    def test_packer_splits_to_stay_under_the_cofiring_limit(self, pack):
        """Many rules are split over several rulesets so no fact can match more than the limit."""
        rules = []
        for i in range(200):
            rules.append(compile_rule(_rule(id=f"1.1-synthetic-{i}",
                                            expects={"fact": "psr_late_working_days", "lte": i}), {}))
        rulesets = pack_rulesets(rules, prefix="limits")

        assert len(rulesets) == -(-200 // MAX_COFIRING)
        assert all(len(rs.definition) <= 250 for rs in rulesets)
        assert sorted(r for rs in rulesets for r in rs.rule_ids) == sorted(r.rule.id for r in rules)

    def test_item_rules_weigh_more(self, pack):
        """An item rule's variants all match the case fact, and the packer counts them (the fast compilation
        leaves out the not-applicable variant with its none(), so one fewer)."""
        weights = {rid: c.weights for rid, c in compile_pack(pack, every_outcome=True).rules.items()}
        fast = {rid: c.weights for rid, c in compile_pack(pack).rules.items()}

        assert 1 == weights["1.1-initial-assessment-timely"]["case"]
        assert 4 == weights["4.3-failure-answered"]["case"]
        assert 3 == weights["4.3-failure-answered"]["response"]
        assert 3 == fast["4.3-failure-answered"]["case"]

    def test_compiled_json_is_stable(self, pack):
        """The same rules and policy compile to the same ruleset names (content hashes) in other processes, whatever
        their hash seed (the order of a set of names), as worker processes started afresh would."""
        code = ("from qa_engine.rulepack.compile import compile_pack; from qa_engine.rulepack.load import load_rules; "
                "print(' '.join(r.name for r in compile_pack(load_rules()).rulesets))")
        names = [subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed}, check=True,
                                capture_output=True, text=True).stdout.split() for seed in ("1", "2")]

        assert names[0] == names[1] == [r.name for r in compile_pack(pack).rulesets]


class TestDefaultOutcome:
    def test_a_rule_judged_per_case_may_leave_any_outcome_it_gives_unfired(self):
        """check_rule names every outcome a rule judged per case can come out with, and no other."""
        decided = _rule(expects={"fact": "order_type", "present": True})
        gated = _rule(applies_when={"fact": "rosh_level", "gte": "high"}, expects={"fact": "psr_late_working_days", "lte": 0})

        assert {"met", "not_met"} == check_rule(decided)
        assert {"met", "not_met", "not_applicable", "insufficient_data"} == check_rule(gated)

    def test_a_rule_judged_per_item_leaves_only_not_applicable_unfired(self, pack):
        """Item outcomes must fire to be counted: a hint of another outcome is not used."""
        rule = pack.rule("4.3-failure-answered")

        assert {"not_applicable"} == check_rule(rule)
        assert "not_applicable" == default_outcome(rule.model_copy(update={"outcome_hint": "met"}))

    def test_without_a_hint_the_default_comes_from_the_rule_shape(self):
        """No hint: not applicable for a rule with applies_when, met for one without; a hint wins."""
        gated = _rule(applies_when={"fact": "rosh_level", "gte": "high"}, expects={"fact": "order_type", "present": True})
        plain = _rule(expects={"fact": "order_type", "present": True})

        assert ("not_applicable", "met") == (default_outcome(gated), default_outcome(plain))
        assert "not_met" == default_outcome(plain.model_copy(update={"outcome_hint": "not_met"}))
        assert "not_met" == compile_rule(plain.model_copy(update={"outcome_hint": "not_met"}), {}).default


def test_no_compiled_rule_is_a_pure_negation(pack):
    """Every durable_rules rule opens with a positive test on the fact kind (a lone negation loops forever)."""
    for ruleset in compile_pack(pack).rulesets:
        for rule in ruleset.definition.values():
            (alias, test), = rule["all"][0].items()
            assert not alias.endswith("$not")
            assert "_k" in test or "_k" in test["$and"][0]
