"""Compiling rules to durable_rules rulesets (its JSON form), and packing them so no engine limit can be hit.

Every rule becomes a handful of durable_rules rules, one per outcome, built so that for any case
exactly one outcome class can fire:

scalar rule (tests the ``case`` fact)::

    insufficient_data   case has not every required fact
    not_applicable      case has them all, and applies_when is false
    not_met             ... applies_when is true, expects is false
    met                 ... applies_when is true, expects is true

item rule (``for_each`` a kind of item fact, e.g. each failure to comply)::

    insufficient_data   (case)  as above
    not_applicable      (case)  as above
    not_applicable      (items) case gate holds, and none() of the items meets ``where``
    insufficient_data   (item)  an item meets ``where`` but lacks a required item fact
    not_met             (item)  an item fails ``expects``, or no correlated fact ``exists`` for it
    met                 (item)  an item passes ``expects`` and a correlated fact exists

Item outcomes are per item; the engine reduces them to the case outcome with a fixed precedence
(not_met > insufficient_data > met). Negation is pushed down to the leaves with De Morgan, and a
negated comparison is also true when the fact is absent, so "missing" never makes both a condition
and its negation false. Every durable_rules rule starts with a positive test on the fact kind,
so no rule is a pure negation (which would loop forever in durable_rules).

Since the outcomes partition every case, one of them need not fire at all: the fast compilation (the
default) leaves each rule's *default outcome* out, and "nothing fired for this rule" then means that
outcome. A rule judged per case may default to any outcome (its commonest, from ``hints.py``); a
rule judged per item only to ``not_applicable`` (its item outcomes must fire to be counted). This
changes how many rules fire (about 22 a case instead of 75), never an outcome: ``every_outcome=True``
compiles every variant, and the equivalence tests run both side by side. The partition holds only
for values durable_rules can compare, which the adapter checks against the catalogue before asserting.

Limits (../shared/reference/durable-rules-notes.md section 0.4, verified there and re-checked in
tests/test_durable_adapter.py): at most 64 rules may match one asserted fact, 253 properties per
fact, 512 rules per ruleset. The packer keeps a margin below each and refuses what cannot fit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from qa_engine.base.errors import RuleCompileError
from qa_engine.base.yamlfile import suggest
from qa_engine.facts.derive import CASE_KIND, CATALOGUE, FactSpec
from qa_engine.records.model import LEVEL_RANK, Level
from qa_engine.rulepack.hints import COMMONEST_OUTCOME
from qa_engine.rulepack.messages import placeholders
from qa_engine.rulepack.model import Policy, Rule, RulePack

__all__ = [
    "KIND_FIELD",
    "MAX_COFIRING",
    "MAX_FIELDS_PER_FACT",
    "MAX_RULES_PER_RULESET",
    "CompiledPack",
    "CompiledRule",
    "CompiledRuleset",
    "Variant",
    "check_rule",
    "compile_pack",
    "compile_rule",
    "default_outcome",
]

KIND_FIELD = "_k"
"""The field every asserted fact carries to say what kind of fact it is."""

MAX_COFIRING = 60
"""durable_rules fails (error 303) when more than 64 rules match one fact; we keep a margin."""
MAX_FIELDS_PER_FACT = 250
"""durable_rules fails (error 302) above 253 properties on one fact."""
MAX_RULES_PER_RULESET = 250
"""durable_rules hangs while creating a ruleset of more than 512 rules; we stay well below."""
MAX_EXPRESSION_SLOTS = 31
"""durable_rules gives each condition 32 expression slots (MAX_SEQUENCE_EXPRESSIONS, error 113 when
full): every $and / $or takes two, every comparison with another fact one."""

CASE_ALIAS, ITEM_ALIAS, MATCH_ALIAS = "c", "i", "x"
_CMP = {"lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}
_FLIP = {"lt": "gte", "lte": "gt", "gt": "lte", "gte": "lt", "eq": "ne", "ne": "eq"}


@dataclass(frozen=True)
class Variant:
    """What one compiled durable_rules rule means: which rule, which outcome, judged per case or per item."""

    rule_id: str
    outcome: str
    scope: str  # "case" or "item"


@dataclass
class CompiledRule:
    """One rule as durable_rules rules, the facts it reads, and how many rules can co-fire per fact kind."""

    rule: Rule
    parameters: dict[str, Any]
    durable: dict[str, dict[str, Any]]
    variants: dict[str, Variant]
    fields: dict[str, set[str]]
    weights: dict[str, int]
    default: str | None = None
    """The outcome left unfired (no firing means this outcome), or None when every outcome fires."""


@dataclass
class CompiledRuleset:
    """A durable_rules ruleset: a name unique to its content, its JSON definition and what it reads."""

    name: str
    definition: dict[str, dict[str, Any]]
    variants: dict[str, Variant]
    fields: dict[str, tuple[str, ...]]
    rule_ids: tuple[str, ...]


@dataclass
class CompiledPack:
    """A rule pack compiled for one policy: rulesets in evaluation order, and rule parameters used."""

    rulesets: list[CompiledRuleset]
    rules: dict[str, CompiledRule] = field(default_factory=dict)
    sha256: str = ""


class _Compiler:
    """Turns one rule's conditions into durable_rules expressions, checking every name on the way."""

    def __init__(self, rule: Rule, params: dict[str, Any]) -> None:
        self.rule = rule
        self.params = params
        self.fields: dict[str, set[str]] = {}

    def fail(self, message: str) -> RuleCompileError:
        return RuleCompileError(f"rule {self.rule.id}: {message}", rule_id=self.rule.id)

    def spec(self, kind: str, name: str) -> FactSpec:
        facts = CATALOGUE.get(kind)
        if facts is None:
            raise self.fail(f"unknown fact kind {kind!r}{suggest(kind, CATALOGUE)}")
        if name not in facts:
            raise self.fail(f"unknown {kind} fact {name!r}{suggest(name, facts)}")
        self.fields.setdefault(kind, set()).add(name)
        return facts[name]

    def value(self, spec: FactSpec, raw: Any) -> Any:
        """A literal or parameter operand, checked against the fact's type and turned into what facts hold."""
        if isinstance(raw, dict) and "param" in raw:
            name = raw["param"]
            if name not in self.rule.parameters:
                raise self.fail(f"unknown parameter {name!r}{suggest(name, self.rule.parameters)}")
            param = self.rule.parameters[name]
            raw = self.params[name]
            if param.type == "level":
                return param.engine_value(raw)
        if spec.type == "level":
            if raw not in {lv.value for lv in Level}:
                raise self.fail(f"{spec.name} is a level: use one of {[lv.value for lv in Level]}, not {raw!r}")
            return LEVEL_RANK[Level(raw)]
        if spec.type == "enum" and raw not in spec.values:
            raise self.fail(f"{spec.name} cannot be {raw!r}{suggest(str(raw), spec.values)}")
        if spec.type in ("integer", "number") and (isinstance(raw, bool) or not isinstance(raw, (int, float))):
            raise self.fail(f"{spec.name} is a number; {raw!r} is not")
        if spec.type == "boolean" and not isinstance(raw, bool):
            raise self.fail(f"{spec.name} is true or false; {raw!r} is not")
        if spec.type in ("date", "id") and not isinstance(raw, str):
            raise self.fail(f"{spec.name} is text; {raw!r} is not")
        return raw

    def condition(self, cond: dict[str, Any], kind: str, negate: bool = False) -> dict[str, Any]:
        """Compile a condition on facts of ``kind``; ``negate`` compiles its negation (absent counts as false)."""
        if "all" in cond or "any" in cond:
            op = "all" if "all" in cond else "any"
            parts = [self.condition(c, kind, negate) for c in cond[op]]
            use_and = (op == "all") != negate
            return _flat("$and" if use_and else "$or", parts)
        if "not" in cond:
            return self.condition(cond["not"], kind, not negate)
        if "param" in cond:
            return self.constant(cond, negate)
        name = cond["fact"]
        op, operand = next((k, v) for k, v in cond.items() if k != "fact")
        spec = self.spec(kind, name)
        present, missing = {"$ex": {name: 1}}, {"$nex": {name: 1}}
        if op in ("present", "absent"):
            return present if (op == "present") != negate else missing
        if op in ("in", "not_in"):
            values = [self.value(spec, v) for v in operand]
            inside = values[0] if len(values) == 1 else None
            is_in = {name: inside} if inside is not None else {"$or": [{name: v} for v in values]}
            not_in = _flat("$and", [{"$neq": {name: v}} for v in values])  # $neq is false on an absent fact
            holds = is_in if (op == "in") != negate else not_in
            # a test on an absent fact is false, so its negation is true when the fact is absent
            return {"$or": [holds, missing]} if negate else holds
        if isinstance(operand, dict) and "fact" in operand:
            other = operand["fact"]
            other_spec = self.spec(kind, other)
            if other_spec.type != spec.type:
                raise self.fail(f"cannot compare {name} ({spec.type}) with {other} ({other_spec.type})")
            rhs: Any = {"$m": other}
        else:
            rhs = self.value(spec, operand)
        if negate:
            return {"$or": [self._compare(_FLIP[op], name, rhs), missing]}
        return self._compare(op, name, rhs)

    def constant(self, cond: dict[str, Any], negate: bool) -> dict[str, Any]:
        """A test on a parameter is settled at compile time: always true or always false for every fact."""
        name = cond["param"]
        if name not in self.rule.parameters:
            raise self.fail(f"unknown parameter {name!r}{suggest(name, self.rule.parameters)}")
        op, value = next((k, v) for k, v in cond.items() if k != "param")
        holds = (self.params[name] == value) == (op == "eq")
        return {"$ex" if holds != negate else "$nex": {KIND_FIELD: 1}}

    @staticmethod
    def _compare(op: str, name: str, rhs: Any) -> dict[str, Any]:
        if op == "eq":
            return {name: rhs}
        if op == "ne":
            return {"$neq": {name: rhs}}  # durable_rules: $neq is false when the fact is absent
        return {_CMP[op]: {name: rhs}}

    def requires(self, kind: str, names: tuple[str, ...]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """(all present tests, any-missing test or None) for a list of required facts."""
        for name in names:
            self.spec(kind, name)
        present = [{"$ex": {n: 1}} for n in names]
        missing = [{"$nex": {n: 1}} for n in names]
        if not missing:
            return present, None
        return present, missing[0] if len(missing) == 1 else {"$or": missing}


def _flat(op: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """``{op: parts}`` with nested uses of the same op spliced in (each $and / $or costs durable_rules slots)."""
    flat: list[dict[str, Any]] = []
    for part in parts:
        flat.extend(part[op] if set(part) == {op} else [part])
    return flat[0] if len(flat) == 1 else {op: flat}


def _fact(kind: str, *tests: dict[str, Any] | None) -> dict[str, Any]:
    return _flat("$and", [{KIND_FIELD: kind}, *(t for t in tests if t)])


def expression_slots(test: Any) -> int:
    """How many of durable_rules' per-condition expression slots a compiled condition uses."""
    if not isinstance(test, dict):
        return 0
    used = 0
    for key, value in test.items():
        if key in ("$and", "$or"):
            used += 2 + sum(expression_slots(v) for v in value)
        elif isinstance(value, dict):
            inner = next(iter(value.values()), None) if len(value) == 1 else None
            if key.startswith("$") and isinstance(inner, dict):
                used += 1  # a comparison whose right side is another fact's field
            elif not key.startswith("$"):
                used += 1  # a join: field equals another alias's field
    return used


def default_outcome(rule: Rule) -> str:
    """The outcome a rule's fast compilation leaves unfired: ``not_applicable`` for a rule judged per
    item; for one judged per case its commonest outcome on a generated caseload (``hints.py``), else
    ``not_applicable`` when it has ``applies_when`` and ``met`` when not. Only speed depends on it."""
    if rule.for_each is not None:
        return "not_applicable"
    hint = COMMONEST_OUTCOME.get(rule.id)
    possible = {"met", "not_met"} | ({"insufficient_data"} if rule.requires else set()) | (
        {"not_applicable"} if rule.applies_when else set())
    if hint in possible:
        return hint
    return "not_applicable" if rule.applies_when else "met"


def compile_rule(rule: Rule, params: dict[str, Any], every_outcome: bool = False) -> CompiledRule:
    """Compile one rule, with its parameter values resolved, into durable_rules rules.

    With ``every_outcome`` every outcome has its durable_rules rules; otherwise the rule's
    ``default_outcome`` has none (judged per item: its case-scope not-applicable variants).

    Raises:
        RuleCompileError: an unknown fact, parameter or value, or a rule shape that cannot be evaluated.
    """
    comp = _Compiler(rule, params)
    out: dict[str, dict[str, Any]] = {}
    variants: dict[str, Variant] = {}
    default = None if every_outcome else default_outcome(rule)

    def add(outcome: str, scope: str, tag: str, conditions: list[dict[str, Any]]) -> None:
        if outcome == default and scope == "case":
            return  # left unfired: no firing for this rule means the default
        name = f"{rule.id}#{tag}"
        out[name] = {"all": conditions, "run": name}
        variants[name] = Variant(rule.id, outcome, scope)

    present, missing = comp.requires(CASE_KIND, rule.requires)
    applies = comp.condition(rule.applies_when, CASE_KIND) if rule.applies_when else None
    not_applies = comp.condition(rule.applies_when, CASE_KIND, negate=True) if rule.applies_when else None
    gate_tests = [*present, applies]

    if missing is not None:
        add("insufficient_data", "case", "insufficient", [{CASE_ALIAS: _fact(CASE_KIND, missing)}])
    if not_applies is not None:
        add("not_applicable", "case", "not-applicable", [{CASE_ALIAS: _fact(CASE_KIND, *present, not_applies)}])

    weights: dict[str, int] = {}
    if rule.for_each is None:
        if rule.exists is not None:
            raise comp.fail("'exists' needs 'for_each': correlate each item with the fact that answers it")
        assert rule.expects is not None  # the schema requires expects or exists
        add("not_met", "case", "not-met", [{CASE_ALIAS: _fact(CASE_KIND, *gate_tests,
                                                               comp.condition(rule.expects, CASE_KIND, True))}])
        add("met", "case", "met", [{CASE_ALIAS: _fact(CASE_KIND, *gate_tests, comp.condition(rule.expects, CASE_KIND))}])
        weights[CASE_KIND] = 1  # the variants are mutually exclusive on the case fact
    else:
        kind = rule.for_each.kind
        if kind == CASE_KIND or kind not in CATALOGUE:
            raise comp.fail(f"for_each.kind must be an item kind{suggest(kind, set(CATALOGUE) - {CASE_KIND})}, "
                            f"not {kind!r}")
        gate = {CASE_ALIAS: _fact(CASE_KIND, *gate_tests)}
        where = comp.condition(rule.for_each.where, kind) if rule.for_each.where else None
        item_present, item_missing = comp.requires(kind, rule.for_each.requires)
        expects = comp.condition(rule.expects, kind) if rule.expects else None
        expects_not = comp.condition(rule.expects, kind, negate=True) if rule.expects else None
        add("not_applicable", "case", "no-items", [gate, {f"{ITEM_ALIAS}$not": _fact(kind, where)}])
        if item_missing is not None:
            add("insufficient_data", "item", "item-insufficient", [gate, {ITEM_ALIAS: _fact(kind, where, item_missing)}])
        if expects_not is not None:
            add("not_met", "item", "item-not-met", [gate, {ITEM_ALIAS: _fact(kind, where, *item_present, expects_not)}])
        item_ok = {ITEM_ALIAS: _fact(kind, where, *item_present, expects)}
        if rule.exists is None:
            add("met", "item", "item-met", [gate, item_ok])
        else:
            other = rule.exists.kind
            if other not in CATALOGUE or other == CASE_KIND:
                raise comp.fail(f"exists.kind must be an item kind{suggest(other, set(CATALOGUE) - {CASE_KIND})}")
            joins = []
            for their, mine in rule.exists.match.items():
                a, b = comp.spec(other, their), comp.spec(kind, mine)
                if a.type != b.type:
                    raise comp.fail(f"exists.match compares {other}.{their} ({a.type}) with {kind}.{mine} ({b.type})")
                joins.append({their: {ITEM_ALIAS: mine}})
            corr_where = comp.condition(rule.exists.where, other) if rule.exists.where else None
            corr = _fact(other, *joins, corr_where)
            add("not_met", "item", "item-unanswered", [gate, item_ok, {f"{MATCH_ALIAS}$not": corr}])
            add("met", "item", "item-answered", [gate, item_ok, {MATCH_ALIAS: corr}])
            weights[other] = 2
        # The case-scope insufficient / not-applicable variants exclude the gated ones, so at most
        # max(1, gated) rules match the case fact; every gated rule also matches each item fact.
        gated = sum(1 for r in out.values() if len(r["all"]) > 1)
        weights[CASE_KIND] = gated
        weights[kind] = weights.get(kind, 0) + gated
    _check_messages(comp)
    for name, durable_rule in out.items():
        for condition in durable_rule["all"]:
            (alias, test), = condition.items()
            used = expression_slots(test)
            if used > MAX_EXPRESSION_SLOTS:
                raise comp.fail(
                    f"a condition is too complex for durable_rules ({name}, {alias}: {used} of "
                    f"{MAX_EXPRESSION_SLOTS} expression slots); simplify it or split the rule"
                )
    for kind, names in comp.fields.items():
        if len(names) > MAX_FIELDS_PER_FACT:
            raise comp.fail(f"reads {len(names)} {kind} facts; durable_rules allows {MAX_FIELDS_PER_FACT}")
    if max(weights.values()) > MAX_COFIRING:
        raise comp.fail("has more variants matching one fact than durable_rules allows")
    return CompiledRule(rule, dict(params), out, variants, comp.fields, weights, default)


def _check_messages(comp: _Compiler) -> None:
    """Every placeholder must name a fact or parameter the rule can see; the facts join its evidence."""
    rule = comp.rule
    kinds = {"case": CASE_KIND, "item": rule.for_each.kind if rule.for_each else None,
             "match": rule.exists.kind if rule.exists else None}
    for outcome, template in rule.messages.model_dump().items():
        for scope, name in placeholders(template):
            if scope == "count":
                continue
            if scope == "param":
                if name not in rule.parameters:
                    raise comp.fail(f"message {outcome!r} names unknown parameter {{param.{name}}}"
                                    f"{suggest(name, rule.parameters)}")
                continue
            if kinds[scope] is None:
                raise comp.fail(f"message {outcome!r} uses {{{scope}.{name}}} but the rule has no {scope}")
            comp.spec(kinds[scope], name)


def check_rule(rule: Rule) -> None:
    """Compile a rule with its defaults, only to find its errors at load time."""
    compile_rule(rule, {name: p.default for name, p in rule.parameters.items()})


def _ruleset(prefix: str, members: list[CompiledRule]) -> CompiledRuleset:
    definition: dict[str, dict[str, Any]] = {}
    variants: dict[str, Variant] = {}
    fields: dict[str, set[str]] = {}
    for compiled in members:
        definition.update(compiled.durable)
        variants.update(compiled.variants)
        for kind, names in compiled.fields.items():
            fields.setdefault(kind, set()).update(names)
        fields.setdefault(CASE_KIND, set())
    text = json.dumps(definition, sort_keys=True)
    name = f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    return CompiledRuleset(
        name=name,
        definition=definition,
        variants=variants,
        fields={k: tuple(sorted(v)) for k, v in sorted(fields.items())},
        rule_ids=tuple(c.rule.id for c in members),
    )


def pack_rulesets(compiled: list[CompiledRule], prefix: str = "qa") -> list[CompiledRuleset]:
    """Group compiled rules into rulesets that respect durable_rules' limits, in rule-id order.

    Raises:
        RuleCompileError: a single rule cannot fit in any ruleset.
    """
    groups: list[list[CompiledRule]] = []
    load: dict[str, int] = {}
    fields: dict[str, set[str]] = {}
    count = 0
    for item in compiled:
        size = len(item.durable)
        if size > MAX_RULES_PER_RULESET:
            msg = f"rule {item.rule.id} compiles to {size} durable_rules rules; the limit is {MAX_RULES_PER_RULESET}"
            raise RuleCompileError(msg, rule_id=item.rule.id)
        fits = bool(groups) and count + size <= MAX_RULES_PER_RULESET and all(
            load.get(k, 0) + w <= MAX_COFIRING for k, w in item.weights.items()
        ) and all(len(fields.get(k, set()) | v) <= MAX_FIELDS_PER_FACT for k, v in item.fields.items())
        if not fits:
            groups.append([])
            load, fields, count = {}, {}, 0
        groups[-1].append(item)
        count += size
        for k, w in item.weights.items():
            load[k] = load.get(k, 0) + w
        for k, v in item.fields.items():
            fields.setdefault(k, set()).update(v)
    return [_ruleset(f"{prefix}{i}", group) for i, group in enumerate(groups)]


def compile_pack(pack: RulePack, policy: Policy | None = None, every_outcome: bool = False) -> CompiledPack:
    """Compile every rule of a pack with the policy's parameters, and pack them into rulesets
    (``every_outcome``: see ``compile_rule``)."""
    policy = policy or Policy()
    compiled = {rule.id: compile_rule(rule, policy.parameters_for(rule), every_outcome) for rule in pack.rules}
    rulesets = pack_rulesets(list(compiled.values()))
    digest = hashlib.sha256("".join(rs.name for rs in rulesets).encode()).hexdigest()
    return CompiledPack(rulesets=rulesets, rules=compiled, sha256=digest)
