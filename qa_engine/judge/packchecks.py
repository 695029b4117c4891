"""Pack-wide checks of judgement timing, run by ``qa-engine rules lint`` and by pytest.

Each rule's own cases test it one example at a time; these checks hold every rule of a pack to three
properties that no single example proves:

* **Nothing due on day one.** A minimal valid case of each order type (the child and the order, nothing
  else recorded), audited on the day its order is made, gets no ``not_met`` and no ``insufficient_data``
  from any rule: nothing is due yet; and, with no start recorded either, no ``met``: nothing recorded can
  be met. (With its start, a referral order's contract is signed that day: that may be met.)
* **No met on impossible dates.** Take each rule case the rule judges ``met``; set each fact the rule tests
  that measures one date after another, where the later event cannot come first (FactSpec.may_precede),
  to an impossible negative span: the outcome must not be ``met`` on it (an item the rule did not judge, such
  as a warning answering an earlier failure, may hold anything).
* **Absence explicit.** Take each rule case the rule judges ``met`` or ``not_met``; remove, in turn, each
  fact the rule tests that may be unrecorded (not FactSpec.always): the outcome must stay as it was, or
  become ``insufficient_data``, or what the rule declares for that fact (``absent: {means: ...}``). A fact
  the rule itself tests with ``present`` / ``absent`` has its absence written out and is not changed.

Each check returns sentences naming the rule, the case and what went wrong; an empty list means it holds.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from qa_engine.base.calendar import WorkingCalendar
from qa_engine.facts.derive import CASE_KIND, CATALOGUE, CaseFacts, derive
from qa_engine.judge.auditor import Auditor
from qa_engine.judge.durable_adapter import get_backend
from qa_engine.judge.findings import Finding, reduce
from qa_engine.judge.rulecases import load_cases
from qa_engine.records.model import CaseRecord, OrderType
from qa_engine.rulepack.compile import compile_rule, pack_rulesets
from qa_engine.rulepack.model import Policy, Rule, RulePack

__all__ = ["DAY_ONE", "absence_problems", "day_one_problems", "impossible_date_problems", "pack_problems"]

DAY_ONE = dt.date(2016, 2, 15)
"""The day the minimal orders are made and audited (a Monday, the Derbyshire SQS fieldwork date)."""


def minimal_case(order_type: OrderType, day: dt.date = DAY_ONE, start: bool = False) -> CaseRecord:
    """The least a valid case record holds: a child with an age, and an order made on ``day`` (with
    ``start``, started that day too; for a referral order, its contract signed that day)."""
    order: dict[str, Any] = {"order_id": "O-1", "order_type": order_type.value, "sentence_date": day.isoformat()}
    if start:
        order["start_date"] = day.isoformat()
        if order_type is OrderType.referral_order:
            order["contract_signed_date"] = day.isoformat()
    return CaseRecord.model_validate({"case_id": "DAY-ONE", "child": {"child_id": "C-1", "age_at_sentence": 15},
                                      "order": order})


def day_one_problems(pack: RulePack, policy: Policy | None = None) -> list[str]:
    """Rules that judge a minimal case of some order type, audited on the day its order is made, not met or
    insufficient data (with and without a start date recorded), or met with nothing recorded."""
    auditor = Auditor(pack, policy, as_of=DAY_ONE)
    problems = []
    for order_type in OrderType:
        for start in (False, True):
            for finding in auditor.audit_record(minimal_case(order_type, start=start)):
                # with nothing recorded nothing can be met; a referral order's contract signed that day may be
                if finding.outcome in ("not_met", "insufficient_data") or (finding.outcome == "met" and not start):
                    problems.append(
                        f"{finding.rule_id}: a minimal {order_type.value} case{' with its start' if start else ''}, "
                        f"audited on the day its order is made, comes out {finding.outcome} ({finding.message}); "
                        "nothing is due yet")
    return problems


def _judge(rule: Rule, params: dict[str, Any], facts: CaseFacts) -> Finding:
    compiled = compile_rule(rule, params, every_outcome=True)
    (ruleset,) = pack_rulesets([compiled], prefix="check")
    return reduce(compiled, get_backend().evaluate(ruleset, facts), facts.case,
                  {"case_id": facts.case_id, "order_type": str(facts.case.get("order_type", "other"))},
                  problems=facts.problems)


def _cases(rule: Rule, policy: Policy, wanted: set[str]) -> list[tuple[str, dict[str, Any], CaseFacts, Finding]]:
    """(case name, parameters, facts, finding) of the rule's own cases whose expected outcome is in ``wanted``."""
    calendar = WorkingCalendar(policy.region, policy.closure_days)
    out = []
    for case in load_cases(rule):
        if case.expect not in wanted:
            continue
        record = CaseRecord.model_validate(case.record)
        if record.order.sentence_date > case.as_of:
            continue
        params = {**policy.parameters_for(rule), **case.parameters}
        facts = derive(record, case.as_of, calendar, policy.settings)
        out.append((case.name, params, facts, _judge(rule, params, facts)))
    return out


def _tested(rule: Rule, params: dict[str, Any]) -> dict[str, list[str]]:
    return compile_rule(rule, params, every_outcome=True).tested


def _presence_tested(rule: Rule) -> set[str]:
    """Facts the rule tests with ``present`` or ``absent``: their absence is written out in its conditions."""
    found: set[str] = set()

    def walk(cond: Any) -> None:
        if isinstance(cond, dict):
            if "fact" in cond and ("present" in cond or "absent" in cond):
                found.add(cond["fact"])
            for value in cond.values():
                walk(value)
        elif isinstance(cond, list):
            for value in cond:
                walk(value)

    for part in (rule.applies_when, rule.expects, rule.for_each and rule.for_each.where,
                 rule.exists and rule.exists.where):
        walk(part)
    return found


def _variants(facts: CaseFacts, kind: str, name: str, change: Any) -> list[tuple[str, CaseFacts]]:
    """Copies of ``facts`` with ``kind.name`` changed by ``change(dict)`` in the case fact, or in one item at a
    time; each with a label saying where."""
    out = []
    if kind == CASE_KIND:
        if name in facts.case:
            changed = copy.deepcopy(facts)
            change(changed.case)
            out.append(("the case", changed))
        return out
    for n, item in enumerate(facts.items.get(kind, [])):
        if name in item:
            changed = copy.deepcopy(facts)
            change(changed.items[kind][n])
            out.append((f"{kind} {item['id']}", changed))
    return out


def _rests_on(evidence: Any, name: str, value: Any) -> bool:
    """Whether a finding's evidence shows ``name`` with ``value`` (the judgement rested on it); an item the
    rule did not judge (a warning answering an earlier failure) is not in the evidence."""
    if isinstance(evidence, dict):
        return evidence.get(name, object()) == value or any(_rests_on(v, name, value) for v in evidence.values())
    if isinstance(evidence, list):
        return any(_rests_on(v, name, value) for v in evidence)
    return False


def impossible_date_problems(pack: RulePack, policy: Policy | None = None) -> list[str]:
    """Rules that still judge a case met when a span they test is impossible (a later event dated first)."""
    policy = policy or Policy()
    problems = []
    for rule in pack.rules:
        for name, params, facts, before in _cases(rule, policy, {"met"}):
            if before.outcome != "met":
                continue
            for kind, names in _tested(rule, params).items():
                for fact in names:
                    spec = CATALOGUE[kind][fact]
                    if spec.may_precede or spec.type not in ("integer", "number"):
                        continue
                    negative = -1 if spec.type == "integer" else -1.0

                    def make_impossible(target: dict[str, Any], f: str = fact, v: Any = negative) -> None:
                        target[f] = v

                    for where, changed in _variants(facts, kind, fact, make_impossible):
                        after = _judge(rule, params, changed)
                        if after.outcome == "met" and _rests_on(after.evidence, fact, negative):
                            problems.append(f"{rule.id} case {name}: with {fact} impossible ({spec.later} before "
                                            f"{spec.earlier}) in {where}, it is still met")
    return problems


def absence_problems(pack: RulePack, policy: Policy | None = None) -> list[str]:
    """Rules whose outcome changes in an undeclared way when a fact they test is not recorded."""
    policy = policy or Policy()
    problems = []
    for rule in pack.rules:
        explicit = _presence_tested(rule)
        for name, params, facts, before in _cases(rule, policy, {"met", "not_met"}):
            for kind, names in _tested(rule, params).items():
                for fact in names:
                    if CATALOGUE[kind][fact].always or fact in explicit:
                        continue
                    declared = rule.absent.get(fact)
                    allowed = {before.outcome, "insufficient_data"} | ({declared.means} if declared else set())
                    if declared is not None and declared.means == "unknown":
                        allowed.add("insufficient_data")

                    def remove(target: dict[str, Any], f: str = fact) -> None:
                        del target[f]

                    for where, changed in _variants(facts, kind, fact, remove):
                        after = _judge(rule, params, changed)
                        if after.outcome not in allowed:
                            said = f"declares it means {declared.means}" if declared else "does not say what that means"
                            problems.append(f"{rule.id} case {name}: with {fact} not recorded in {where}, "
                                            f"{before.outcome} becomes {after.outcome}, and the rule {said}")
    return problems


def pack_problems(pack: RulePack, policy: Policy | None = None) -> list[str]:
    """Every problem the three checks find, in the order: day one, impossible dates, absence."""
    return [*day_one_problems(pack, policy), *impossible_date_problems(pack, policy), *absence_problems(pack, policy)]
