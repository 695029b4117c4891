"""The rule pack as data: a rule, its parameters and messages, the criteria it rolls up to, and a service's policy.

These are plain frozen models with no loading and no evaluation: load.py builds them from files,
compile.py turns them into durable_rules rulesets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from qa_engine.base.yamlfile import suggest
from qa_engine.facts.derive import FactSettings
from qa_engine.records.model import LEVEL_RANK, Level

__all__ = ["ANCHORS", "CASES_SUFFIX", "CRITERIA_FILE", "HINTS_FILE", "OTHER_ORDERS", "SEVERITY_RANK", "Absent", "Clock",
           "Criterion", "Parameter", "Policy", "Question", "Rule", "RulePack"]

CRITERIA_FILE = "criteria.yaml"
CASES_SUFFIX = ".cases.yaml"
HINTS_FILE = "outcome-hints.yaml"
"""A rule pack's speed hints, optional (schemas/outcome-hints.schema.json): the outcome each rule's fast
compilation leaves unfired (compile.default_outcome). No finding depends on them."""


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


ANCHORS = ("order_made", "order_start", "contract_signed", "failure", "absence", "change", "need_identified",
           "oversight_entry", "psr_due", "assessment_completed", "plan_created", "previous_review")
"""Dates a rule's clock can run from. ``order_made``: the day the court made the order (the sentence date);
``order_start``: the order's start (for a referral order, the day the contract is signed, row 5.6); the rest are
the item or event the clock follows (each failure to comply, each missed contact...)."""

OTHER_ORDERS = "other_orders"
"""In a rule's ``clock``, the entry for every order type not named."""


class Clock(_Frozen):
    """Which date a rule's clock runs from, for one order type (or every other one), and on what authority."""

    runs_from: Literal[ANCHORS]  # type: ignore[valid-type]
    source: str
    status: Literal["verified", "local_practice", "recalled"]


class Absent(_Frozen):
    """What it means when a fact the rule tests is not recorded.

    ``unknown`` (the default for every tested fact) gives ``insufficient_data``; ``not_met`` is a declared
    failure (the practice standard is that it must be recorded); ``not_applicable`` means the rule has nothing
    to judge (only for case facts). ``reason`` is the finding's message then (a template, like messages).
    """

    means: Literal["unknown", "not_met", "not_applicable"]
    reason: str


class Messages(_Frozen):
    """Message templates per outcome; placeholders quote the evidence: {case.x}, {item.x}, {match.x}, {param.x}."""

    met: str
    not_met: str
    not_applicable: str = "Does not apply to this case."
    insufficient_data: str = "The record does not hold what this check needs."


class DueAmount(_Frozen):
    """Working days and calendar months (a number, or ``{param: name}`` as used for the case) for one order type."""

    working_days: int | dict[str, str] | None = None
    months: int | dict[str, str] | None = None


class Due(_Frozen):
    """When an action is due: working days or calendar months after a date the finding holds (see Action).

    ``for_order_type`` gives other amounts for an order type: a referral order's start-of-order assessment and
    plans fall due 20 working days after the order, other orders' 15 (the rule's own parameters say which).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: Literal["sentence_date", "item.date", "audit_date"] = Field(alias="from")
    working_days: int | dict[str, str] | None = None
    months: int | dict[str, str] | None = None
    for_order_type: dict[str, DueAmount] = {}

    @field_validator("for_order_type")
    @classmethod
    def _known_order_types(cls, value: dict[str, DueAmount]) -> dict[str, DueAmount]:
        from qa_engine.records.model import OrderType

        known = [t.value for t in OrderType]
        for name in value:
            if name not in known:
                msg = f"for_order_type names {name!r}, which is not an order type{suggest(name, known)}"
                raise ValueError(msg)
        return value

    def amounts(self, order_type: str | None) -> DueAmount:
        """The working days and months for a case of ``order_type``."""
        return self.for_order_type.get(order_type or "") or DueAmount(working_days=self.working_days, months=self.months)


class Action(_Frozen):
    """What to do when a rule is not met ("review the plan") and when it was due: shown in the worklists."""

    do: str
    due: Due | None = None


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
    clock: dict[str, Clock] = {}
    """Per order type (or ``other_orders``): the date the rule's clock runs from; checked against the facts."""
    absent: dict[str, Absent] = {}
    """Per tested fact: what an unrecorded value means (default: unknown, so ``insufficient_data``)."""
    action: Action | None = None
    path: str = ""
    sha256: str = ""
    outcome_hint: Literal["met", "not_met", "not_applicable", "insufficient_data"] | None = None
    """Set by the loader from the pack's outcome-hints.yaml, never written in a rule file: the outcome the fast
    compilation leaves unfired (compile.default_outcome). Speed only, never a finding."""


class Question(_Frozen):
    """One question a manager answers for a criterion when auditing a case file by hand.

    Paraphrased from ../shared/reference/sqs-case-questions.md section 3 (never HMIP's text);
    ``status`` says whether a source shows SQS inspectors judged the point (verified) or it is
    reconstructed (recalled). ``asks`` keeps "is there one?" apart from "is it good enough?".
    """

    id: str
    criterion: str
    asks: Literal["is_there_one", "good_enough"]
    scale: Literal["yes_no", "yes_no_na", "sufficient_insufficient"]
    status: Literal["verified", "local_practice", "recalled"]
    sources: tuple[str, ...]
    text: str
    good_enough_when: str | None = None
    note: str | None = None
    headline: bool = False

    @property
    def key(self) -> str:
        """``1.2c``: the criterion and the question's letter, as forms, findings and the report name it."""
        return f"{self.criterion}{self.id}"

    @property
    def label(self) -> str:
        """What a practice judgement records as its question: ``1.2c: Is the plan good enough overall ...``."""
        return f"{self.key}: {self.text}"[:500]


class Criterion(_Frozen):
    """An SQS criterion: section, number, the inspectorate's wording, and the questions a hand audit asks."""

    id: str
    section: str
    section_title: str
    title: str
    wording: str
    questions: tuple[Question, ...] = ()


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
    question_sources: dict[str, str] = field(default_factory=dict)
    """The sources the criteria's questions cite (``S1`` -> what it is)."""
    hint_problems: list[str] = field(default_factory=list)
    """Hints in outcome-hints.yaml left unused, one sentence each (a rule not in the pack, an outcome the rule
    cannot leave unfired): what ``qa-engine rules lint`` reports. The hints file is not in ``files`` or the
    hash: it changes no finding."""

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id; KeyError names the nearest one."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"no rule {rule_id!r}{suggest(rule_id, [r.id for r in self.rules])}")


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
