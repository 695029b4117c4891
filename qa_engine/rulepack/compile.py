"""Compiling rules to durable_rules rulesets (its JSON form), and packing them so no engine limit can be hit.

Conditions are judged in three values (Kleene logic): a test is *true*, *false*, or *unknown* when a fact
it reads is not recorded, or holds an impossible span (a later event dated before the earlier one, where
the fact catalogue says it cannot come first: FactSpec.may_precede). ``all`` is false if any part is false,
true if all are true, else unknown; ``any`` the dual; ``not`` swaps true and false. ``present`` and
``absent`` are always decided. A rule may declare what an unrecorded fact means (``absent:``): unknown (the
default), a failure (``not_met``: the test on it is false) or ``not_applicable`` (case facts: the rule has
nothing to judge). Each condition is compiled to "definitely true", "definitely false" and "unknown"
expressions, so for any case exactly one outcome class can fire.

scalar rule (tests the ``case`` fact)::

    insufficient_data   case has not every required fact (``requires``)
    not_applicable      ... a fact declared not_applicable when absent is absent, or applies_when is false
    insufficient_data   ... applies_when is unknown
    not_met             ... applies_when is true, expects is false
    met                 ... applies_when is true, expects is true
    insufficient_data   ... applies_when is true, expects is unknown

item rule (``for_each`` a kind of item fact, e.g. each failure to comply)::

    insufficient_data / not_applicable (case)  as above
    not_applicable      (items) case gate holds, and ``where`` is false for every item
    insufficient_data   (item)  ``where`` is unknown, or true but a required item fact is missing
    not_met             (item)  ``where`` true, ``expects`` false, or no correlated fact that ``exists``
                                could answer it
    insufficient_data   (item)  ... ``expects`` unknown, or the only correlated facts cannot be judged
                                (e.g. a response dated before the failure it answers)
    met                 (item)  ... ``expects`` true and a correlated fact answers it

Item outcomes are per item; the engine reduces them to the case outcome with a fixed precedence
(not_met > insufficient_data > met). Every durable_rules rule starts with a positive test on the fact
kind, so no rule is a pure negation (which would loop forever in durable_rules).

A rule that tests a fact counted from the order (FactSpec.clock) must declare its ``clock``: which date
it runs from, per order type, with its source; the compiler refuses a clock the facts do not match.

Since the outcomes partition every case, one of them need not fire at all: the fast compilation (the
default) leaves each rule's *default outcome* out, and "nothing fired for this rule" then means that
outcome. A rule judged per case may default to any outcome it can come out with (its commonest, from
the pack's speed hints, ``outcome-hints.yaml``: data, read by load.py); a rule judged per item only to
``not_applicable`` (its item outcomes must fire to be counted). This
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
from qa_engine.rulepack.messages import placeholders
from qa_engine.rulepack.model import OTHER_ORDERS, Absent, Policy, Rule, RulePack

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

CASE_ALIAS, ITEM_ALIAS, MATCH_ALIAS, SECOND_MATCH_ALIAS = "c", "i", "x", "y"
_CMP = {"lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}
_FLIP = {"lt": "gte", "lte": "gt", "gt": "lte", "gte": "lt", "eq": "ne", "ne": "eq"}


@dataclass(frozen=True)
class Variant:
    """What one compiled durable_rules rule means: which rule, which outcome, judged per case or per item."""

    rule_id: str
    outcome: str
    scope: str  # "case" or "item"
    tag: str = ""
    """Which compiled rule fired (e.g. "insufficient": a required fact is missing; "unknown": a tested fact is)."""


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
    tested: dict[str, list[str]] = field(default_factory=dict)
    """Facts the rule's conditions test, by kind (what ``rules lint`` removes to prove absence is explicit)."""


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
        self.tested: dict[str, list[str]] = {}
        """Facts the rule's conditions test, by kind, in order of appearance (not those only quoted)."""
        self.absent: dict[tuple[str, str], Absent] = {}
        kinds = [k for k in (rule.for_each.kind if rule.for_each else None,
                             rule.exists.kind if rule.exists else None) if k in CATALOGUE]
        for name, meaning in rule.absent.items():
            kind = next((k for k in [*kinds, CASE_KIND] if name in CATALOGUE[k]), None)
            if kind is None:
                raise self.fail(f"absent: no fact {name!r} in {', '.join([*kinds, CASE_KIND])}"
                                f"{suggest(name, [n for k in [*kinds, CASE_KIND] for n in CATALOGUE[k]])}")
            if meaning.means == "not_applicable" and kind != CASE_KIND:
                raise self.fail(f"absent: {name} is a {kind} fact; only a case fact's absence can make the rule "
                                "not applicable (use for_each.where to leave items out)")
            self.absent[(kind, name)] = meaning

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

    def absent_means(self, kind: str, name: str) -> str:
        """What the rule says an unrecorded ``kind.name`` means: unknown (default), not_met or not_applicable."""
        declared = self.absent.get((kind, name))
        return declared.means if declared else "unknown"

    def condition(self, cond: dict[str, Any], kind: str, negate: bool = False) -> dict[str, Any]:
        """Compile a condition on facts of ``kind`` to the expression "it is definitely true" (``negate``:
        definitely false), in the three-valued logic described in the module docstring."""
        tri = self.tri(cond, kind)
        return _final(tri.f if negate else tri.t)

    def unknown(self, cond: dict[str, Any], kind: str) -> dict[str, Any] | None:
        """The expression "the condition cannot be decided" (a fact it tests is unknown), or None if it never is."""
        tri = self.tri(cond, kind)
        u = tri.u
        return None if u is FALSE else _final(u)

    def tri(self, cond: dict[str, Any], kind: str, known: frozenset[str] = frozenset()) -> _Tri:
        """(definitely true, definitely false, not definitely true, not definitely false) of a condition.

        ``known`` are facts certainly recorded wherever this condition is judged: inside ``any`` beside
        ``{fact: x, absent: true}`` (if x were absent the ``any`` would already hold), inside ``all`` beside
        ``{fact: x, present: true}``, and the rule's ``requires`` once they are checked.
        """
        if "all" in cond or "any" in cond:
            op = "all" if "all" in cond else "any"
            guard = "present" if op == "all" else "absent"
            inner = known | {c["fact"] for c in cond[op] if c.get(guard) is True}
            parts = [self.tri(c, kind, inner - {c["fact"]} if c.get(guard) is True else inner) for c in cond[op]]
            t, f = [p.t for p in parts], [p.f for p in parts]
            nt, nf = [p.nt for p in parts], [p.nf for p in parts]
            maybe = any(p.maybe for p in parts)
            if op == "all":
                return _Tri(_and(t), _or(f), _or(nt), _and(nf), maybe)
            return _Tri(_or(t), _and(f), _and(nt), _or(nf), maybe)
        if "not" in cond:
            inner_tri = self.tri(cond["not"], kind, known)
            return _Tri(inner_tri.f, inner_tri.t, inner_tri.nf, inner_tri.nt, inner_tri.maybe)
        if "param" in cond:
            holds = self.constant(cond)
            return _Tri(TRUE, FALSE, FALSE, TRUE) if holds else _Tri(FALSE, TRUE, TRUE, FALSE)
        return self.leaf(cond, kind, known)

    def leaf(self, cond: dict[str, Any], kind: str, known: frozenset[str] = frozenset()) -> _Tri:
        """A test on one fact (or two facts compared) in three values.

        ``present`` / ``absent`` are always decided. Any other test is unknown when a fact it reads is absent
        (unless the rule declares that absence a failure or not applicable: then the test is false), or holds an
        impossible negative span (a later event dated before the earlier one, FactSpec.may_precede false).
        """
        name = cond["fact"]
        op, operand = next((k, v) for k, v in cond.items() if k != "fact")
        spec = self.spec(kind, name)
        if name not in self.tested.setdefault(kind, []):
            self.tested[kind].append(name)
        if op in ("present", "absent"):
            ex, nex = {"$ex": {name: 1}}, {"$nex": {name: 1}}
            t, f = (ex, nex) if op == "present" else (nex, ex)
            return _Tri(t, f, f, t)
        names = [name]
        if op in ("in", "not_in"):
            values = [self.value(spec, v) for v in operand]
            is_in = {name: values[0]} if len(values) == 1 else {"$or": [{name: v} for v in values]}
            not_in = _and([{"$neq": {name: v}} for v in values])  # $neq is false on an absent fact
            holds, fails = (is_in, not_in) if op == "in" else (not_in, is_in)
        else:
            if isinstance(operand, dict) and "fact" in operand:
                other = operand["fact"]
                other_spec = self.spec(kind, other)
                if other_spec.type != spec.type:
                    raise self.fail(f"cannot compare {name} ({spec.type}) with {other} ({other_spec.type})")
                if other not in self.tested[kind]:
                    self.tested[kind].append(other)
                names.append(other)
                rhs: Any = {"$m": other}
            else:
                rhs = self.value(spec, operand)
            holds, fails = self._compare(op, name, rhs), self._compare(_FLIP[op], name, rhs)
        unknown: list[Any] = []   # each way the test cannot be decided
        decided: list[Any] = []   # ... and its negation, all of which must hold for a decided test
        failed_absent: list[Any] = []  # absences the rule declares a failure (or not applicable): false
        for n in names:
            impossible = not CATALOGUE[kind][n].may_precede
            if (CATALOGUE[kind][n].always or n in known) and not impossible:
                continue  # derived for every case (or item), or certainly recorded here: never unknown
            if self.absent_means(kind, n) == "unknown":
                if impossible:
                    unknown.append({"$or": [{"$nex": {n: 1}}, {"$lt": {n: 0}}]})
                    decided.append({"$gte": {n: 0}})
                else:
                    unknown.append({"$nex": {n: 1}})
                    decided.append({"$ex": {n: 1}})
            else:
                failed_absent.append({"$nex": {n: 1}})
                if impossible:
                    unknown.append({"$lt": {n: 0}})
                    decided.append({"$or": [{"$gte": {n: 0}}, {"$nex": {n: 1}}]})
        u, known = _or(unknown), _and(decided)
        t = _and([holds, known])
        f = _and([_or([fails, *failed_absent]), known])
        return _Tri(t, f, _or([f, u]), _or([t, u]), u is not FALSE)

    def constant(self, cond: dict[str, Any]) -> bool:
        """A test on a parameter is settled at compile time: always true or always false for every fact."""
        name = cond["param"]
        if name not in self.rule.parameters:
            raise self.fail(f"unknown parameter {name!r}{suggest(name, self.rule.parameters)}")
        op, value = next((k, v) for k, v in cond.items() if k != "param")
        return (self.params[name] == value) == (op == "eq")

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


class _Const:
    """An always-true or always-false expression while composing; made concrete by ``_final``."""

    def __init__(self, value: bool) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "TRUE" if self.value else "FALSE"


TRUE, FALSE = _Const(True), _Const(False)


@dataclass(frozen=True)
class _Tri:
    """A condition compiled four ways: definitely true, definitely false, not definitely true, not definitely
    false. Unknown is ``nt and nf``. Each is an expression, TRUE or FALSE."""

    t: Any
    f: Any
    nt: Any
    nf: Any
    maybe: bool = False
    """Whether the condition can be unknown at all (some test in it reads a fact that may be unrecorded)."""

    @property
    def u(self) -> Any:
        """Unknown: neither definitely true nor definitely false."""
        return _and([self.nt, self.nf]) if self.maybe else FALSE


def _and(parts: list[Any]) -> Any:
    if any(p is FALSE for p in parts):
        return FALSE
    kept = [p for p in parts if p is not TRUE]
    return TRUE if not kept else _flat("$and", kept)


def _or(parts: list[Any]) -> Any:
    if any(p is TRUE for p in parts):
        return TRUE
    kept = [p for p in parts if p is not FALSE]
    return FALSE if not kept else _flat("$or", kept)


def _final(expr: Any) -> dict[str, Any]:
    """A composed expression as durable_rules JSON (a constant becomes a test every fact passes or fails)."""
    if isinstance(expr, _Const):
        return {"$ex" if expr.value else "$nex": {KIND_FIELD: 1}}
    return expr


def _alternatives(expr: Any) -> list[Any]:
    """Expressions whose disjunction is ``expr``, one level finer (an $or's parts, or an $and distributed over
    its largest $or part); [expr] when it cannot be split."""
    if not isinstance(expr, dict):
        return [expr]
    if set(expr) == {"$or"}:
        return list(expr["$or"])
    if set(expr) == {"$and"}:
        parts = expr["$and"]
        ors = [i for i, p in enumerate(parts) if isinstance(p, dict) and set(p) == {"$or"}]
        if ors:
            i = max(ors, key=lambda k: len(parts[k]["$or"]))
            return [_and([*parts[:i], alt, *parts[i + 1:]]) for alt in parts[i]["$or"]]
    return [expr]


def _fitting(base: list[Any], expr: Any, limit: int = 16) -> list[Any]:
    """Split ``expr`` into alternatives until each, with the ``base`` tests, fits durable_rules' expression
    slots (at most ``limit`` pieces; a piece that still does not fit is refused later, naming the rule).
    The pieces may overlap: they become rules with the same outcome, which is one outcome however many fire."""
    done: list[Any] = []
    todo = [expr]
    while todo:
        piece = todo.pop(0)
        finer = _alternatives(piece)
        test = _and([*base, piece])
        if (test is TRUE or test is FALSE or expression_slots(test) <= MAX_EXPRESSION_SLOTS - 1 or len(finer) == 1
                or len(done) + len(todo) + len(finer) > limit):
            done.append(piece)
        else:
            todo[:0] = finer
    return done


def _flat(op: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """``{op: parts}`` with nested uses of the same op spliced in (each $and / $or costs durable_rules slots)."""
    flat: list[dict[str, Any]] = []
    for part in parts:
        flat.extend(part[op] if set(part) == {op} else [part])
    return flat[0] if len(flat) == 1 else {op: flat}


def _fact(kind: str, *tests: Any) -> dict[str, Any] | None:
    """A test on one fact of ``kind``: the kind first, then the tests; None when a test can never hold."""
    if any(t is FALSE for t in tests):
        return None
    return _flat("$and", [{KIND_FIELD: kind}, *(t for t in tests if t and t is not TRUE)])


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
    item; for one judged per case its ``outcome_hint`` (the pack's outcome-hints.yaml: its commonest outcome
    on a generated caseload, set by the loader only when ``check_rule`` allows it), else ``not_applicable``
    when it has ``applies_when`` and ``met`` when not. Only speed depends on it: the outcomes partition every
    case, so whichever is left unfired, no firing means that one (and an outcome the rule never gives leaves
    nothing out)."""
    if rule.for_each is not None:
        return "not_applicable"
    if rule.outcome_hint is not None:
        return rule.outcome_hint
    return "not_applicable" if rule.applies_when else "met"


def compile_rule(rule: Rule, params: dict[str, Any], every_outcome: bool = False) -> CompiledRule:
    """Compile one rule, with its parameter values resolved, into durable_rules rules.

    With ``every_outcome`` every outcome has its durable_rules rules; otherwise the rule's
    ``default_outcome`` has none (judged per item: its case-scope not-applicable variants).

    Raises:
        RuleCompileError: an unknown fact, parameter or value, a rule shape that cannot be evaluated, a
            clock that disagrees with the facts, or an absence declared for a fact the rule does not test.
    """
    comp = _Compiler(rule, params)
    out: dict[str, dict[str, Any]] = {}
    variants: dict[str, Variant] = {}
    default = None if every_outcome else default_outcome(rule)

    def add(outcome: str, scope: str, tag: str, conditions: list[dict[str, Any]]) -> None:
        if outcome == default and scope == "case":
            return  # left unfired: no firing for this rule means the default
        if any(None in c.values() for c in conditions):
            return  # a condition that can never hold: the outcome cannot happen this way
        name = f"{rule.id}#{tag}"
        out[name] = {"all": conditions, "run": name}
        variants[name] = Variant(rule.id, outcome, scope, tag)

    def case(*tests: Any) -> dict[str, Any]:
        return {CASE_ALIAS: _fact(CASE_KIND, _and(list(tests)))}

    def item(alias: str, kind: str, *tests: Any) -> dict[str, Any]:
        return {alias: _fact(kind, _and(list(tests)))}

    # requires is checked once applies_when holds: a fact the rule needs is not missing while nothing is due
    present, missing = comp.requires(CASE_KIND, rule.requires)
    required = frozenset(rule.requires)
    not_applicable_when_absent = [{"$nex": {name: 1}} for (kind, name), a in comp.absent.items()
                                  if a.means == "not_applicable"]
    recorded = [{"$ex": {name: 1}} for (kind, name), a in comp.absent.items() if a.means == "not_applicable"]
    applies = comp.tri(rule.applies_when, CASE_KIND) if rule.applies_when else _Tri(TRUE, FALSE, FALSE, TRUE)
    gate_only = set(comp.tested.get(CASE_KIND, []))
    gate_tests = [*recorded, applies.t, *present]

    not_applies = _or([*not_applicable_when_absent, applies.f])
    if not_applies is not FALSE:
        add("not_applicable", "case", "not-applicable", [case(not_applies)])
    applies_unknown = applies.u
    applies_pieces = _fitting(recorded, applies_unknown) if applies_unknown is not FALSE else []
    if applies_pieces:
        for n, piece in enumerate(applies_pieces):
            add("insufficient_data", "case", "applies-unknown" + (f"-{n + 1}" if n else ""),
                [case(*recorded, piece)])
    if missing is not None:
        add("insufficient_data", "case", "insufficient", [case(*recorded, applies.t, missing)])

    weights: dict[str, int] = {}
    if rule.for_each is None:
        if rule.exists is not None:
            raise comp.fail("'exists' needs 'for_each': correlate each item with the fact that answers it")
        assert rule.expects is not None  # the schema requires expects or exists
        expects = comp.tri(rule.expects, CASE_KIND, required)
        add("not_met", "case", "not-met", [case(*gate_tests, expects.f)])
        add("met", "case", "met", [case(*gate_tests, expects.t)])
        unknown = expects.u
        pieces = _fitting(gate_tests, unknown) if unknown is not FALSE else []
        for n, piece in enumerate(pieces):
            add("insufficient_data", "case", "unknown" + (f"-{n + 1}" if n else ""), [case(*gate_tests, piece)])
        # the outcomes are mutually exclusive on the case fact; only the pieces of "unknown" may co-fire
        weights[CASE_KIND] = max(1, len(pieces), len(applies_pieces))
    else:
        kind = rule.for_each.kind
        if kind == CASE_KIND or kind not in CATALOGUE:
            raise comp.fail(f"for_each.kind must be an item kind{suggest(kind, set(CATALOGUE) - {CASE_KIND})}, "
                            f"not {kind!r}")
        gate = case(*gate_tests)
        where = comp.tri(rule.for_each.where, kind) if rule.for_each.where else _Tri(TRUE, FALSE, FALSE, TRUE)
        item_present, item_missing = comp.requires(kind, rule.for_each.requires)
        expects = comp.tri(rule.expects, kind) if rule.expects else _Tri(TRUE, FALSE, FALSE, TRUE)
        # no item is selected: every item's ``where`` is definitely false
        add("not_applicable", "case", "no-items", [gate, {f"{ITEM_ALIAS}$not": _fact(kind, _final(where.nf))}])
        where_unknown = where.u
        if where_unknown is not FALSE:
            add("insufficient_data", "item", "item-where-unknown", [gate, item(ITEM_ALIAS, kind, where_unknown)])
        if item_missing is not None:
            add("insufficient_data", "item", "item-insufficient", [gate, item(ITEM_ALIAS, kind, where.t, item_missing)])
        if expects.f is not FALSE:
            add("not_met", "item", "item-not-met", [gate, item(ITEM_ALIAS, kind, where.t, *item_present, expects.f)])
        expects_unknown = expects.u
        if expects_unknown is not FALSE:
            for n, piece in enumerate(_fitting([where.t, *item_present], expects_unknown)):
                add("insufficient_data", "item", "item-unknown" + (f"-{n + 1}" if n else ""),
                    [gate, item(ITEM_ALIAS, kind, where.t, *item_present, piece)])
        item_ok = item(ITEM_ALIAS, kind, where.t, *item_present, expects.t)
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
            answer = comp.tri(rule.exists.where, other) if rule.exists.where else _Tri(TRUE, FALSE, FALSE, TRUE)
            # unanswered: no correlated fact that answers it or might (its where is definitely false for all)
            add("not_met", "item", "item-unanswered", [gate, item_ok, item(f"{MATCH_ALIAS}$not", other, *joins, answer.nf)])
            add("met", "item", "item-answered", [gate, item_ok, item(MATCH_ALIAS, other, *joins, answer.t)])
            answer_unknown = answer.u
            if answer_unknown is not FALSE:
                # only an answer that cannot be judged (e.g. dated before what it answers): insufficient data
                add("insufficient_data", "item", "item-answer-unknown",
                    [gate, item_ok, item(MATCH_ALIAS, other, *joins, answer_unknown),
                     item(f"{SECOND_MATCH_ALIAS}$not", other, *joins, answer.t)])
            weights[other] = 3
        # The case-scope insufficient / not-applicable variants exclude the gated ones, so at most
        # max(1, gated) rules match the case fact; every gated rule also matches each item fact.
        gated = sum(1 for r in out.values() if len(r["all"]) > 1)
        weights[CASE_KIND] = max(gated, len(applies_pieces))
        weights[kind] = weights.get(kind, 0) + gated
    for (kind, name), meaning in comp.absent.items():
        if name not in comp.tested.get(kind, []):
            raise comp.fail(f"absent: declares what an unrecorded {name} means, but no condition tests it")
        _check_template(comp, f"absent.{name}", meaning.reason)
    _check_clock(comp, gate_only - set(_tested_after(comp, gate_only)))
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
    return CompiledRule(rule, dict(params), out, variants, comp.fields, weights, default, comp.tested)


def _check_messages(comp: _Compiler) -> None:
    """Every placeholder must name a fact or parameter the rule can see; the facts join its evidence."""
    for outcome, template in comp.rule.messages.model_dump().items():
        _check_template(comp, f"message {outcome!r}", template)


def _check_template(comp: _Compiler, what: str, template: str) -> None:
    rule = comp.rule
    kinds = {"case": CASE_KIND, "item": rule.for_each.kind if rule.for_each else None,
             "match": rule.exists.kind if rule.exists else None}
    for scope, name in placeholders(template):
        if scope == "count":
            continue
        if scope == "param":
            if name not in rule.parameters:
                raise comp.fail(f"{what} names unknown parameter {{param.{name}}}{suggest(name, rule.parameters)}")
            continue
        if kinds[scope] is None:
            raise comp.fail(f"{what} uses {{{scope}.{name}}} but the rule has no {scope}")
        comp.spec(kinds[scope], name)


def _tested_after(comp: _Compiler, gate: set[str]) -> list[str]:
    """Case facts tested outside applies_when (expects, for_each, exists): re-derived by compiling them again."""
    probe = _Compiler(comp.rule, comp.params)
    for cond in (comp.rule.expects,):
        if cond is not None and comp.rule.for_each is None:
            probe.tri(cond, CASE_KIND)
    return probe.tested.get(CASE_KIND, [])


def _check_clock(comp: _Compiler, gate_only: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """A rule that tests a fact counted from the order declares its clock, and the fact counts from that date.

    The facts say which date they count from, per order type (FactSpec.clock, derived in facts/derive.py);
    the rule says which date its clock runs from, per order type, with the source (rule.clock). They must
    agree for every order type the rule names; ``other_orders`` stands for the rest.
    """
    rule = comp.rule
    order_types = set(CATALOGUE[CASE_KIND]["order_type"].values)
    for key in rule.clock:
        if key != OTHER_ORDERS and key not in order_types:
            raise comp.fail(f"clock: {key!r} is not an order type{suggest(key, [*order_types, OTHER_ORDERS])}")
    # A fact counted from the day the order was made may always serve applies_when, to say whether anything is
    # due yet (e.g. contact counted from a referral order's contract, but only once a month has passed since
    # the order); every other counted fact must run from the rule's clock.
    clocked = [CATALOGUE[CASE_KIND][n] for n in comp.tested.get(CASE_KIND, []) if CATALOGUE[CASE_KIND][n].clock
               and not (n in gate_only and CATALOGUE[CASE_KIND][n].clock == {"*": "order_made"})]
    if clocked and not rule.clock:
        raise comp.fail(f"tests {clocked[0].name}, counted from the order: declare the rule's clock (which date it "
                        "runs from, per order type, with its source)")
    for key, clock in rule.clock.items():
        for spec in clocked:
            assert spec.clock is not None
            counts_from = spec.clock.get(key, spec.clock["*"]) if key != OTHER_ORDERS else spec.clock["*"]
            if counts_from != clock.runs_from:
                raise comp.fail(f"clock: for {key} the rule runs from {clock.runs_from}, but {spec.name} counts "
                                f"from {counts_from}")


def check_rule(rule: Rule) -> frozenset[str]:
    """Compile a rule with its default parameters and every outcome, to find its errors at load time.

    Returns the outcomes its fast compilation may leave unfired (what an outcome hint may name): for a rule
    judged per item ``not_applicable`` only; for one judged per case every outcome it can come out with.

    Raises:
        RuleCompileError: as ``compile_rule``.
    """
    compiled = compile_rule(rule, {name: p.default for name, p in rule.parameters.items()}, every_outcome=True)
    if rule.for_each is not None:
        return frozenset({"not_applicable"})
    return frozenset(v.outcome for v in compiled.variants.values())


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
