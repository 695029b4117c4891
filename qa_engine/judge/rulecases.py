"""Each rule's own test cases (rules/<id>.cases.yaml): records that must come out met, not met, not applicable...

A cases file gives a ``defaults`` record and a list of cases; each case's ``record`` is merged over
the defaults (mappings merge, lists replace), judged as of the case's ``as_of`` date with optional
parameter overrides, and must come out with the ``expect``-ed outcome. The same runner serves
``qa-engine rules test`` and the pytest suite, so a rule's cases are checked the same way everywhere.

The cases must give every outcome the rule can come out with (``coverage_gaps``, run by ``rules lint``).
An outcome the compiled rule has but no record can give (a fact it tests is derived whenever the rule
applies, say) is declared under ``unreachable`` with the reason; no case may then expect it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import ValidationError

from qa_engine.base.calendar import WorkingCalendar
from qa_engine.base.errors import RuleSchemaError
from qa_engine.base.yamlfile import load_yaml
from qa_engine.facts.derive import derive
from qa_engine.judge.auditor import not_yet_made
from qa_engine.judge.durable_adapter import get_backend
from qa_engine.judge.findings import OUTCOMES, Finding, reduce
from qa_engine.records.model import CaseRecord
from qa_engine.rulepack.compile import CompiledPack, compile_rule, pack_rulesets
from qa_engine.rulepack.model import CASES_SUFFIX, Policy, Rule, RulePack

__all__ = ["CaseResult", "RuleCase", "coverage_gaps", "coverage_problems", "load_cases", "run_case", "run_pack_cases",
           "unreachable_outcomes"]

_CASES_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["rule", "cases"],
    "properties": {
        "rule": {"type": "string"},
        "defaults": {"type": "object"},
        "unreachable": {
            "type": "object",
            "propertyNames": {"enum": list(OUTCOMES)},
            "additionalProperties": {"type": "string", "minLength": 20},
        },
        "cases": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "as_of", "expect"],
                "properties": {
                    "name": {"type": "string", "pattern": "^[a-z0-9_]+$"},
                    "description": {"type": "string"},
                    "as_of": {"type": "string"},
                    "record": {"type": "object"},
                    "parameters": {"type": "object"},
                    "expect": {"enum": list(OUTCOMES)},
                    "message_contains": {"type": "string"},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class RuleCase:
    """One test case of one rule."""

    rule_id: str
    name: str
    as_of: dt.date
    record: dict[str, Any]
    parameters: dict[str, Any]
    expect: str
    message_contains: str | None
    path: Path


@dataclass(frozen=True)
class CaseResult:
    """How a case came out: passed or not, and what was found."""

    case: RuleCase
    passed: bool
    outcome: str | None
    detail: str


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return over


def cases_path(rule: Rule) -> Path:
    """Where a rule's cases live: beside it, as <id>.cases.yaml."""
    return Path(rule.path).with_name(rule.id + CASES_SUFFIX)


def load_cases(rule: Rule) -> list[RuleCase]:
    """A rule's cases, validated; a missing or malformed file raises RuleSchemaError."""
    path = cases_path(rule)
    if not path.exists():
        msg = f"rule {rule.id} has no test cases: add {path.name} beside it"
        raise RuleSchemaError(msg, path=path, rule_id=rule.id)
    data = load_yaml(path, RuleSchemaError)
    errors = list(Draft202012Validator(_CASES_SCHEMA).iter_errors(data))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(top level)"
        msg = f"at {where}: {errors[0].message}"
        raise RuleSchemaError(msg, path=path, rule_id=rule.id)
    if data["rule"] != rule.id:
        msg = f"cases are for rule {data['rule']!r}, but sit beside rule {rule.id!r}"
        raise RuleSchemaError(msg, path=path, rule_id=rule.id)
    defaults = data.get("defaults", {})
    unreachable = data.get("unreachable", {})
    out = []
    for case in data["cases"]:
        if case["expect"] in unreachable:
            msg = f"case {case['name']} expects {case['expect']}, which the file declares unreachable"
            raise RuleSchemaError(msg, path=path, rule_id=rule.id)
        for name in case.get("parameters", {}):
            if name not in rule.parameters:
                msg = f"case {case['name']}: rule {rule.id} has no parameter {name!r}"
                raise RuleSchemaError(msg, path=path, rule_id=rule.id)
        out.append(
            RuleCase(
                rule_id=rule.id,
                name=case["name"],
                as_of=dt.date.fromisoformat(case["as_of"]),
                record=_merge(defaults, case.get("record", {})),
                parameters=case.get("parameters", {}),
                expect=case["expect"],
                message_contains=case.get("message_contains"),
                path=path,
            )
        )
    return out


def run_case(rule: Rule, case: RuleCase, policy: Policy | None = None) -> CaseResult:
    """Judge a case's record with this one rule, through the compiler and durable_rules, and compare.

    The rule is judged twice, compiled with every outcome and fast (its default outcome left
    unfired): the two findings must be identical, and then match the case's expectation.
    """
    policy = policy or Policy()
    try:
        record = CaseRecord.model_validate(case.record)
    except ValidationError as exc:
        return CaseResult(case, False, None, f"the case's record is invalid: {exc.errors()[0]['msg']} at "
                                             f"{'/'.join(map(str, exc.errors()[0]['loc']))}")
    params = {**policy.parameters_for(rule), **case.parameters}
    facts = derive(record, case.as_of, WorkingCalendar(policy.region, policy.closure_days), policy.settings)
    meta = {"case_id": record.case_id, "order_type": record.order.order_type.value}
    judged: list[Finding] = []
    for every_outcome in (True, False):  # the full compilation, then the fast one (its default left unfired)
        compiled = compile_rule(rule, params, every_outcome)
        (ruleset,) = pack_rulesets([compiled], prefix="case")
        if record.order.sentence_date > case.as_of:  # audited before the order was made: not judged
            (data,) = not_yet_made(CompiledPack(rulesets=[ruleset], rules={rule.id: compiled}), record, case.as_of)
            judged.append(Finding(**data))
        else:
            judged.append(reduce(compiled, get_backend().evaluate(ruleset, facts), facts.case, meta,
                                 problems=facts.problems))
    full, finding = judged
    if full != finding:
        return CaseResult(case, False, finding.outcome,
                          f"the fast compilation gave {finding.outcome} ({finding.message}), the full one "
                          f"{full.outcome} ({full.message})")
    if finding.outcome != case.expect:
        return CaseResult(case, False, finding.outcome,
                          f"expected {case.expect}, got {finding.outcome}: {finding.message}")
    if case.message_contains and case.message_contains not in finding.message:
        return CaseResult(case, False, finding.outcome,
                          f"message {finding.message!r} does not contain {case.message_contains!r}")
    return CaseResult(case, True, finding.outcome, finding.message)


def run_pack_cases(pack: RulePack) -> list[CaseResult]:
    """Every case of every rule in the pack."""
    return [run_case(rule, case) for rule in pack.rules for case in load_cases(rule)]


def unreachable_outcomes(rule: Rule) -> dict[str, str]:
    """The outcomes the rule's cases file declares no record can give, with the reason (see the module docstring)."""
    path = cases_path(rule)
    data = load_yaml(path, RuleSchemaError) if path.exists() else None
    return dict(data.get("unreachable") or {}) if isinstance(data, dict) else {}


def coverage_gaps(rule: Rule, cases: list[RuleCase], unreachable: Collection[str] = ()) -> list[str]:
    """Outcomes the rule can come out with (its compilation with every outcome and default parameters: met,
    not met, not applicable, insufficient data wherever a compiled variant gives it) that none of its cases
    expects, less those declared ``unreachable``.

    A case audited before its order was made does not count: it is not judged by the rule (``not_yet_made``).
    """
    compiled = compile_rule(rule, {name: p.default for name, p in rule.parameters.items()}, every_outcome=True)
    wanted = {v.outcome for v in compiled.variants.values()} - set(unreachable)
    judged = {c.expect for c in cases if not _before_the_order(c)}
    return [o for o in OUTCOMES if o in wanted and o not in judged]


def coverage_problems(rule: Rule) -> list[str]:
    """What ``qa-engine rules lint`` says of a rule's cases: the outcomes none gives (``coverage_gaps``), and an
    outcome declared unreachable that the rule never comes out with anyway (a stale declaration).

    Raises:
        RuleSchemaError: the cases file is missing or malformed (``load_cases``).
    """
    unreachable = unreachable_outcomes(rule)
    problems = []
    gaps = coverage_gaps(rule, load_cases(rule), unreachable)
    if gaps:
        problems.append(f"{rule.id}: no test case comes out {', '.join(gaps)} (add one to its cases file, or declare "
                        "the outcome unreachable there, saying why)")
    compiled = compile_rule(rule, {name: p.default for name, p in rule.parameters.items()}, every_outcome=True)
    never = sorted(set(unreachable) - {v.outcome for v in compiled.variants.values()})
    if never:
        problems.append(f"{rule.id}: its cases file declares {', '.join(never)} unreachable, but the rule never comes "
                        "out so anyway: remove the declaration")
    return problems


def _before_the_order(case: RuleCase) -> bool:
    """Whether the case is audited before its order was made (an unreadable date: no)."""
    try:
        return dt.date.fromisoformat(str(case.record["order"]["sentence_date"])) > case.as_of
    except (KeyError, TypeError, ValueError):
        return False
