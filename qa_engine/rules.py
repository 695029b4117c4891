"""Loading rule files, the criteria catalogue and a service's policy: parse YAML safely, validate, resolve parameters.

A rule is data: YAML read with the safe loader, checked against schemas/rule.schema.json, then
compiled (see compile.py) before any record is read, so a broken rule fails the run at start-up
with the file and the reason, never half-way through a batch. Nothing here evaluates anything.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict

from qa_engine.errors import PolicyError, RuleSchemaError
from qa_engine.facts import FactSettings
from qa_engine.records import LEVEL_RANK, Level
from qa_engine.schemas import load_schema

__all__ = [
    "CRITERIA_FILE",
    "DEFAULT_RULES_DIR",
    "Criterion",
    "Parameter",
    "Policy",
    "Rule",
    "RulePack",
    "load_policy",
    "load_rules",
    "load_yaml",
    "suggest",
]

DEFAULT_RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
"""The shipped rule pack (the project's top-level rules/ folder)."""

CRITERIA_FILE = "criteria.yaml"
CASES_SUFFIX = ".cases.yaml"

try:  # the C loader is faster; both are safe loaders
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


def _plain(value: Any) -> Any:
    """YAML dates become ISO strings so every loaded document is plain JSON data."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


class TextKeyLoader(yaml.SafeLoader):
    """The safe loader, but every plain key stays the text it was written as: a mapping's code ``Yes`` or ``01`` is
    "Yes" and "01", never true or 1 (YAML 1.1 would read them so)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
        out = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(None, None, "found a key that is not plain text", key.start_mark)
            out[key.value] = self.construct_object(value, deep=True)
        return out


TextKeyLoader.add_constructor("tag:yaml.org,2002:map", lambda loader, node: loader.construct_mapping(node, deep=True))


def load_yaml(path: Path, error: type[Exception], loader: Any = None) -> Any:
    """Read one YAML document with the safe loader (or ``loader``); a syntax error names the file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read {path}: {exc}"
        raise error(msg) from exc
    try:
        return _plain(yaml.load(text, Loader=loader or _Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        msg = f"{path}: not valid YAML{where}: {problem}"
        raise error(msg) from exc
    except RecursionError as exc:
        msg = f"{path}: YAML nests too deeply (or refers to itself)"
        raise error(msg) from exc


def suggest(name: str, candidates: Any) -> str:
    """' (did you mean X?)' for the nearest candidate, or ''."""
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _schema_message(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    return f"at {where}: {error.message}"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(_Frozen):
    """A named, documented, overridable number in a rule, with the source of its default."""

    default: int | float | str | bool
    type: Literal["integer", "number", "level", "boolean"]
    description: str
    source: str
    status: Literal["verified", "local_practice", "recalled"]
    minimum: float | None = None
    maximum: float | None = None

    def check(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable for this parameter, or None."""
        if self.type == "integer" and not (isinstance(value, int) and not isinstance(value, bool)):
            return f"must be a whole number, not {value!r}"
        if self.type == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return f"must be a number, not {value!r}"
        if self.type == "boolean" and not isinstance(value, bool):
            return f"must be true or false, not {value!r}"
        if self.type == "level" and value not in {lv.value for lv in Level}:
            return f"must be one of {[lv.value for lv in Level]}, not {value!r}"
        if self.type in ("integer", "number"):
            if self.minimum is not None and value < self.minimum:
                return f"must be at least {self.minimum:g}, not {value!r}"
            if self.maximum is not None and value > self.maximum:
                return f"must be at most {self.maximum:g}, not {value!r}"
        return None

    def engine_value(self, value: Any) -> Any:
        """The value as facts carry it (a level becomes its rank)."""
        return LEVEL_RANK[Level(value)] if self.type == "level" else value


class Source(_Frozen):
    """Where a number or a requirement in a rule comes from."""

    about: str
    source: str
    status: Literal["verified", "local_practice", "recalled"]


class ForEach(_Frozen):
    """Judge each item fact of a kind (each failure to comply, each review...)."""

    kind: str
    where: dict[str, Any] | None = None
    requires: tuple[str, ...] = ()


class Exists(_Frozen):
    """A correlated fact that must exist for each item: matched on fields, filtered by a condition."""

    kind: str
    match: dict[str, str]
    where: dict[str, Any] | None = None


class Messages(_Frozen):
    """Message templates per outcome; placeholders quote the evidence: {case.x}, {item.x}, {match.x}, {param.x}."""

    met: str
    not_met: str
    not_applicable: str = "Does not apply to this case."
    insufficient_data: str = "The record does not hold what this check needs."


class Rule(_Frozen):
    """One declarative rule, as read from its YAML file."""

    id: str
    criterion: str
    title: str
    rationale: str
    basis: Literal["recorded_data", "practice_judgement"]
    severity: Literal["high", "medium", "low"]
    sources: tuple[Source, ...]
    parameters: dict[str, Parameter] = {}
    requires: tuple[str, ...] = ()
    applies_when: dict[str, Any] | None = None
    for_each: ForEach | None = None
    expects: dict[str, Any] | None = None
    exists: Exists | None = None
    messages: Messages
    path: str = ""
    sha256: str = ""


class Criterion(_Frozen):
    """An SQS criterion: section, number, and the inspectorate's wording."""

    id: str
    section: str
    section_title: str
    title: str
    wording: str


SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3}
"""Severities in order; a rule file names one, --fail-on compares them, worklists sort by them."""


@dataclass
class RulePack:
    """The loaded rules (sorted by id), the criteria they roll up to, and a hash that identifies them."""

    rules: list[Rule]
    criteria: dict[str, Criterion]
    directory: Path
    sha256: str
    files: dict[str, str] = field(default_factory=dict)

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id; KeyError names the nearest one."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"no rule {rule_id!r}{suggest(rule_id, [r.id for r in self.rules])}")


def _file_sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_rules(directory: Path | str | None = None) -> RulePack:
    """Load, validate and compile-check every rule file in ``directory`` (default: the shipped pack).

    Raises:
        RuleSchemaError: a file is not YAML or breaks schemas/rule.schema.json, or ids clash.
        RuleCompileError: a rule names an unknown fact, parameter or value, or breaks an engine limit.
    """
    from qa_engine.compile import check_rule  # compile imports this module

    root = Path(directory) if directory else DEFAULT_RULES_DIR
    if not root.is_dir():
        msg = f"rules folder {root} does not exist"
        raise RuleSchemaError(msg)
    validator = Draft202012Validator(load_schema("rule"))
    criteria = _load_criteria(root)
    rules: list[Rule] = []
    files: dict[str, str] = {}
    for path in sorted(root.glob("*.yaml")):
        if path.name == CRITERIA_FILE or path.name.endswith(CASES_SUFFIX):
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
        check_rule(rule)
        rules.append(rule)
    if not rules:
        msg = f"no rule files (*.yaml) in {root}"
        raise RuleSchemaError(msg)
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{files[name]}\n".encode())
    return RulePack(rules=sorted(rules, key=lambda r: r.id), criteria=criteria, directory=root,
                    sha256=digest.hexdigest(), files=files)


def _load_criteria(root: Path) -> dict[str, Criterion]:
    path = root / CRITERIA_FILE
    if not path.exists():
        msg = f"{root} has no {CRITERIA_FILE} (the criteria catalogue rules roll up to)"
        raise RuleSchemaError(msg)
    data = load_yaml(path, RuleSchemaError)
    errors = list(Draft202012Validator(load_schema("criteria")).iter_errors(data))
    if errors:
        raise RuleSchemaError(_schema_message(errors[0]), path=path)
    return {c["id"]: Criterion(**c) for c in data["criteria"]}


@dataclass(frozen=True)
class Policy:
    """A service's overrides: rule parameters, calendar and fact settings. Empty means national defaults."""

    service: str | None = None
    region: str = "england"
    closure_days: tuple[dt.date, ...] = ()
    settings: FactSettings = field(default_factory=FactSettings)
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: str | None = None
    sha256: str | None = None

    def parameters_for(self, rule: Rule) -> dict[str, Any]:
        """The rule's parameter values after this policy's overrides."""
        values = {name: p.default for name, p in rule.parameters.items()}
        values.update(self.parameters.get(rule.id, {}))
        return values

    def as_dict(self) -> dict[str, Any]:
        """What run.json records about the policy."""
        return {
            "path": self.path,
            "sha256": self.sha256,
            "service": self.service,
            "calendar": {"region": self.region, "closure_days": [d.isoformat() for d in self.closure_days]},
            "settings": {"warned_period_months": self.settings.warned_period_months},
            "parameters": self.parameters,
        }


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
