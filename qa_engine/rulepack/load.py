"""Loading rule files, the criteria catalogue and a service's policy: parse YAML safely, validate, resolve parameters.

A rule is data: YAML read with the safe loader, checked against schemas/rule.schema.json, then
compiled (see compile.py) before any record is read, so a broken rule fails the run at start-up
with the file and the reason, never half-way through a batch. Nothing here evaluates anything.

A pack may hold speed hints (outcome-hints.yaml, checked against schemas/outcome-hints.schema.json):
the outcome each rule's fast compilation leaves unfired. They change no finding, so a stale hint
(a rule not in the pack, an outcome the rule cannot leave unfired) is not used and is listed for
``qa-engine rules lint`` rather than stopping an audit; a folder without the file uses defaults.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from qa_engine.base.errors import PolicyError, RuleSchemaError
from qa_engine.base.resources import load_schema, rules_dir
from qa_engine.base.yamlfile import load_yaml, suggest
from qa_engine.facts.derive import FactSettings
from qa_engine.rulepack.compile import check_rule
from qa_engine.rulepack.model import (
    CASES_SUFFIX,
    CRITERIA_FILE,
    HINTS_FILE,
    Criterion,
    Policy,
    Question,
    Rule,
    RulePack,
)

__all__ = ["DEFAULT_RULES_DIR", "load_policy", "load_rules"]

DEFAULT_RULES_DIR = rules_dir()
"""The shipped rule pack (packaged with qa_engine; in the repository, the top-level rules/ folder)."""


def _schema_message(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    return f"at {where}: {error.message}"


def _file_sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_rules(directory: Path | str | None = None) -> RulePack:
    """Load, validate and compile-check every rule file in ``directory`` (default: the shipped pack).

    Raises:
        RuleSchemaError: a file is not YAML or breaks schemas/rule.schema.json, or ids clash.
        RuleCompileError: a rule names an unknown fact, parameter or value, or breaks an engine limit.
    """

    root = Path(directory) if directory else DEFAULT_RULES_DIR
    if not root.is_dir():
        msg = f"rules folder {root} does not exist"
        raise RuleSchemaError(msg)
    validator = Draft202012Validator(load_schema("rule"))
    criteria, question_sources = _load_criteria(root)
    rules: list[Rule] = []
    unfired: dict[str, frozenset[str]] = {}
    files: dict[str, str] = {CRITERIA_FILE: _file_sha((root / CRITERIA_FILE).read_bytes())}
    for path in sorted(root.glob("*.yaml")):
        if path.name in (CRITERIA_FILE, HINTS_FILE) or path.name.endswith(CASES_SUFFIX):
            continue
        raw_bytes = path.read_bytes()
        files[path.name] = _file_sha(raw_bytes)
        data = load_yaml(path, RuleSchemaError)
        if not isinstance(data, dict):
            msg = "a rule file must hold one mapping (id, criterion, title, ...)"
            raise RuleSchemaError(msg, path=path)
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            raise RuleSchemaError(_schema_message(errors[0]), path=path, rule_id=data.get("id"))
        if path.stem != data["id"]:
            msg = f"rule id {data['id']!r} does not match the file name; name the file {data['id']}.yaml"
            raise RuleSchemaError(msg, path=path, rule_id=data["id"])
        if data["criterion"] not in criteria:
            msg = f"criterion {data['criterion']!r} is not in {CRITERIA_FILE}{suggest(data['criterion'], criteria)}"
            raise RuleSchemaError(msg, path=path, rule_id=data["id"])
        if not data["id"].lower().startswith(data["criterion"].lower() + "-"):
            msg = f"rule id {data['id']!r} must start with its criterion {data['criterion']!r}"
            raise RuleSchemaError(msg, path=path, rule_id=data["id"])
        rule = Rule(**data, path=str(path), sha256=files[path.name])
        for name, param in rule.parameters.items():
            problem = param.check(param.default)
            if problem:
                msg = f"parameter {name!r}: default {problem}"
                raise RuleSchemaError(msg, path=path, rule_id=rule.id)
        unfired[rule.id] = check_rule(rule)
        rules.append(rule)
    if not rules:
        msg = f"no rule files (*.yaml) in {root}"
        raise RuleSchemaError(msg)
    hints, hint_problems = _load_hints(root, unfired)
    rules = [rule.model_copy(update={"outcome_hint": hints[rule.id]}) if rule.id in hints else rule for rule in rules]
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{files[name]}\n".encode())
    return RulePack(rules=sorted(rules, key=lambda r: r.id), criteria=criteria, directory=root,
                    sha256=digest.hexdigest(), files=files, question_sources=question_sources,
                    hint_problems=hint_problems)


def _load_hints(root: Path, unfired: dict[str, frozenset[str]]) -> tuple[dict[str, str], list[str]]:
    """The pack's speed hints that can be used, by rule id, and a sentence for each that cannot.

    ``unfired`` gives, per rule of the pack, the outcomes its fast compilation may leave unfired
    (compile.check_rule). No file means no hints.

    Raises:
        RuleSchemaError: the file is not YAML or breaks schemas/outcome-hints.schema.json.
    """
    path = root / HINTS_FILE
    if not path.exists():
        return {}, []
    data = load_yaml(path, RuleSchemaError)
    errors = sorted(Draft202012Validator(load_schema("outcome-hints")).iter_errors(data),
                    key=lambda e: list(e.absolute_path))
    if errors:
        raise RuleSchemaError(_schema_message(errors[0]), path=path)
    usable: dict[str, str] = {}
    problems = []
    for rule_id, outcome in data["default_outcome"].items():
        if rule_id not in unfired:
            problems.append(f"{HINTS_FILE}: {rule_id} is not a rule of this pack{suggest(rule_id, unfired)}; "
                            "its hint is not used (remove it)")
        elif outcome not in unfired[rule_id]:
            problems.append(f"{HINTS_FILE}: {rule_id} can leave only {', '.join(sorted(unfired[rule_id]))} "
                            f"unfired, not {outcome}; its hint is not used")
        else:
            usable[rule_id] = outcome
    return usable, problems


def _load_criteria(root: Path) -> tuple[dict[str, Criterion], dict[str, str]]:
    """The criteria catalogue with each criterion's hand-audit questions, and the sources the questions cite.

    Raises:
        RuleSchemaError: the file breaks schemas/criteria.schema.json, or its questions name an unknown
            criterion or source, repeat a letter, or give a criterion two headlines.
    """
    path = root / CRITERIA_FILE
    if not path.exists():
        msg = f"{root} has no {CRITERIA_FILE} (the criteria catalogue rules roll up to)"
        raise RuleSchemaError(msg)
    data = load_yaml(path, RuleSchemaError)
    errors = list(Draft202012Validator(load_schema("criteria")).iter_errors(data))
    if errors:
        raise RuleSchemaError(_schema_message(errors[0]), path=path)
    sources = dict(data.get("question_sources") or {})
    ids = [c["id"] for c in data["criteria"]]
    asked: dict[str, tuple[Question, ...]] = {}
    for key, items in (data.get("questions") or {}).items():
        if key not in ids:
            msg = f"at questions/{key}: criterion {key!r} is not in the criteria list{suggest(key, ids)}"
            raise RuleSchemaError(msg, path=path)
        letters = [q["id"] for q in items]
        repeated = sorted({x for x in letters if letters.count(x) > 1})
        if repeated:
            msg = f"at questions/{key}: question {repeated[0]!r} appears twice"
            raise RuleSchemaError(msg, path=path)
        if sum(1 for q in items if q.get("headline")) > 1:
            msg = f"at questions/{key}: more than one headline question"
            raise RuleSchemaError(msg, path=path)
        for q in items:
            unknown = [s for s in q["sources"] if s not in sources]
            if unknown:
                msg = f"at questions/{key}/{q['id']}: source {unknown[0]!r} is not listed in question_sources"
                raise RuleSchemaError(msg, path=path)
        asked[key] = tuple(Question(criterion=key, **q) for q in items)
    criteria = {c["id"]: Criterion(**c, questions=asked.get(c["id"], ())) for c in data["criteria"]}
    return criteria, sources


def load_policy(path: Path | str | None, pack: RulePack) -> Policy:
    """Read and check a policy file against the schema and the loaded rules; ``None`` gives the defaults.

    Raises:
        PolicyError: the file is invalid, or names a rule or parameter that does not exist
            (the message names the nearest valid one), or gives a value of the wrong type.
    """
    if path is None:
        return Policy()
    path = Path(path)
    data = load_yaml(path, PolicyError)
    if data is None:
        data = {}
    errors = sorted(Draft202012Validator(load_schema("policy")).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        msg = f"{path}: {_schema_message(errors[0])}"
        raise PolicyError(msg)
    by_id = {r.id: r for r in pack.rules}
    parameters: dict[str, dict[str, Any]] = {}
    for rule_id, values in (data.get("parameters") or {}).items():
        if rule_id not in by_id:
            msg = f"{path}: parameters for unknown rule {rule_id!r}{suggest(rule_id, by_id)}"
            raise PolicyError(msg)
        rule = by_id[rule_id]
        for name, value in values.items():
            if name not in rule.parameters:
                known = ", ".join(sorted(rule.parameters)) or "none"
                msg = (f"{path}: rule {rule_id!r} has no parameter {name!r}{suggest(name, rule.parameters)}; "
                       f"its parameters are: {known}")
                raise PolicyError(msg)
            problem = rule.parameters[name].check(value)
            if problem:
                msg = f"{path}: {rule_id}.{name} {problem}"
                raise PolicyError(msg)
        parameters[rule_id] = dict(values)
    calendar = data.get("calendar") or {}
    try:
        closure = tuple(sorted(dt.date.fromisoformat(d) for d in calendar.get("closure_days", [])))
    except ValueError as exc:
        msg = f"{path}: calendar.closure_days: {exc}"
        raise PolicyError(msg) from exc
    settings = FactSettings(**(data.get("settings") or {}))
    return Policy(
        service=data.get("service"),
        region=calendar.get("region", "england"),
        closure_days=closure,
        settings=settings,
        parameters=parameters,
        path=str(path),
        sha256=_file_sha(path.read_bytes()),
    )
