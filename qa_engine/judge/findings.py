"""Findings and the summary: what durable_rules fired, reduced to one outcome per case and rule, and counted.

The reduction is fixed and rule-independent: a rule judged per case fires exactly one outcome; a rule
judged per item (each failure to comply...) fires one outcome per item, and the case takes the worst
by the precedence not_met > insufficient_data > met. Anything else (no firing, two case outcomes,
one item with two outcomes) is an OutcomeInvariantError, never a silent default.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qa_engine.base.errors import OutcomeInvariantError
from qa_engine.facts.derive import CASE_KIND, CATALOGUE
from qa_engine.judge.durable_adapter import ITEM_ID_FIELD, Firing
from qa_engine.judge.phrases import wilson_interval
from qa_engine.records.model import LEVEL_NAME
from qa_engine.rulepack.compile import CompiledRule
from qa_engine.rulepack.messages import render
from qa_engine.rulepack.model import Criterion
from qa_engine.trust.pseudonyms import Pseudonymiser

__all__ = [
    "OUTCOMES",
    "CriterionSummary",
    "Finding",
    "Outcome",
    "RuleSummary",
    "SectionSummary",
    "Summary",
    "SummaryBuilder",
    "reduce",
]

Outcome = Literal["met", "not_met", "not_applicable", "insufficient_data"]
OUTCOMES: tuple[str, ...] = ("met", "not_met", "not_applicable", "insufficient_data")
_ITEM_PRECEDENCE = ("not_met", "insufficient_data", "met")


class Finding(BaseModel):
    """One case judged by one rule: the outcome, a message for the case manager, and the evidence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    case_id: str
    rule_id: str
    criterion: str
    outcome: Outcome
    severity: Literal["high", "medium", "low"]
    message: str
    evidence: dict[str, Any] = Field(
        description="The values the judgement rested on: case facts, the items judged, the parameters used."
    )
    team: str | None = None
    case_manager_id: str | None = None
    order_type: str
    sentence_date: str | None = Field(default=None, description="The order's sentence date (ISO), for ordering worklists.")
    risk_level: str | None = Field(default=None, description="Latest risk of serious harm level, for filtering reports.")


def _display(kind: str, fact: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """Project a matched fact onto the names a rule reads, with levels shown as words."""
    out: dict[str, Any] = {}
    specs = CATALOGUE[kind]
    for name in sorted(names):
        if name in fact:
            value = fact[name]
            out[name] = LEVEL_NAME.get(value, value) if specs[name].type == "level" else value
    return out


def reduce(compiled: CompiledRule, firings: list[Firing], case: dict[str, Any], meta: dict[str, Any],
           pseudonym: Pseudonymiser | None = None) -> Finding:
    """The one finding a rule gives a case, from the durable_rules firings for that rule.

    With a ``pseudonym``, ids in the evidence (and so in the message) are pseudonymised.
    """
    rule = compiled.rule
    case_outcomes = {f.variant.outcome for f in firings if f.variant.scope == "case"}
    item_outcomes: dict[str, dict[str, Firing]] = defaultdict(dict)
    for f in firings:
        if f.variant.scope == "item":
            item_id = f.matched["i"][ITEM_ID_FIELD]
            item_outcomes[f.variant.outcome].setdefault(item_id, f)
    where = f"case {meta['case_id']}, rule {rule.id}"
    if len(case_outcomes) > 1 or (case_outcomes and item_outcomes):
        found = sorted(case_outcomes | set(item_outcomes))
        msg = f"{where}: several outcomes fired ({', '.join(found)})"
        raise OutcomeInvariantError(msg)
    ids_seen: dict[str, str] = {}
    for outcome, items in item_outcomes.items():
        for item_id in items:
            if item_id in ids_seen:
                msg = f"{where}: item {item_id} is both {ids_seen[item_id]} and {outcome}"
                raise OutcomeInvariantError(msg)
            ids_seen[item_id] = outcome
    if not case_outcomes and not item_outcomes:
        msg = f"{where}: no outcome fired"
        raise OutcomeInvariantError(msg)

    case_names = compiled.fields.get(CASE_KIND, set())
    evidence: dict[str, Any] = _display(CASE_KIND, case, case_names)
    params = {"param": compiled.parameters}
    case_scope = {"case": evidence}
    if case_outcomes:
        outcome = case_outcomes.pop()
        message = render(getattr(rule.messages, outcome), {**case_scope, **params})
    else:
        outcome = next(o for o in _ITEM_PRECEDENCE if o in item_outcomes)
        chosen = sorted(item_outcomes[outcome].values(), key=lambda f: f.matched["i"][ITEM_ID_FIELD])
        kind = rule.for_each.kind if rule.for_each else CASE_KIND
        other = rule.exists.kind if rule.exists else None
        listed = []
        for f in chosen:
            entry = {"id": f.matched["i"][ITEM_ID_FIELD], **_display(kind, f.matched["i"], compiled.fields.get(kind, set()))}
            if other and "x" in f.matched:
                entry["answered_by"] = _display(other, f.matched["x"], compiled.fields.get(other, set()))
            listed.append(pseudonym.walk(entry) if pseudonym else entry)
        evidence["items"] = listed
        scopes = {**case_scope, **params, "item": listed[0], "match": listed[0].get("answered_by", {})}
        message = render(getattr(rule.messages, outcome), scopes, count=len(chosen))
        if len(chosen) > 1 and "{count}" not in getattr(rule.messages, outcome):
            message += f" (and {len(chosen) - 1} more)"
    if compiled.parameters:
        evidence["parameters"] = dict(sorted(compiled.parameters.items()))
    return Finding(
        case_id=meta["case_id"],
        rule_id=rule.id,
        criterion=rule.criterion,
        outcome=outcome,
        severity=rule.severity,
        message=message,
        evidence=evidence,
        team=meta.get("team"),
        case_manager_id=meta.get("case_manager_id"),
        order_type=meta["order_type"],
        sentence_date=meta.get("sentence_date"),
        risk_level=meta.get("risk_level"),
    )


class Counts(BaseModel):
    """Cases by outcome; ``applicable`` = met + not met + insufficient data."""

    model_config = ConfigDict(extra="forbid")

    applicable: int = 0
    met: int = 0
    not_met: int = 0
    insufficient_data: int = 0
    not_applicable: int = 0
    proportion_met: float | None = Field(
        default=None, description="met / (met + not_met), or null when no case could be judged."
    )
    interval_95: tuple[float, float] | None = Field(
        default=None, description="95% Wilson interval of proportion_met, or null when no case could be judged."
    )

    def add(self, outcome: str) -> None:
        """Count one case (the proportion and interval are worked out once, by ``settle``)."""
        setattr(self, outcome, getattr(self, outcome) + 1)
        if outcome != "not_applicable":
            self.applicable += 1

    def settle(self) -> None:
        """Work out the proportion met and its interval from the counts."""
        judged = self.met + self.not_met
        self.proportion_met = round(self.met / judged, 4) if judged else None
        self.interval_95 = wilson_interval(self.met, judged)


class RuleSummary(Counts):
    """How the cases came out on one rule."""

    rule_id: str
    criterion: str
    title: str
    severity: str


class CriterionSummary(Counts):
    """How the cases came out on one SQS criterion: a case is not met if any of its rules is not met."""

    criterion: str
    section: str
    section_title: str
    title: str
    rule_ids: list[str]


class SectionSummary(Counts):
    """How the cases came out on a section of criteria (1 to 4, or operational management)."""

    section: str
    section_title: str
    criteria: list[str]


class Summary(BaseModel):
    """Per rule, per SQS criterion and per section: cases applicable, met, not met, insufficient data, proportion met."""

    model_config = ConfigDict(extra="forbid")

    as_of: str
    cases_audited: int
    rules: list[RuleSummary]
    criteria: list[CriterionSummary]
    sections: list[SectionSummary] = []


class SummaryBuilder:
    """Accumulates the summary one case at a time, so it never needs every finding in memory."""

    def __init__(self, rules: list[CompiledRule], criteria: dict[str, Criterion], as_of: str) -> None:
        self.as_of = as_of
        self.cases = 0
        self.rules = {
            c.rule.id: RuleSummary(rule_id=c.rule.id, criterion=c.rule.criterion, title=c.rule.title,
                                   severity=c.rule.severity)
            for c in rules
        }
        used = sorted({c.rule.criterion for c in rules}, key=lambda k: (k == "OM", k))
        self.criteria = {
            key: CriterionSummary(criterion=key, section=criteria[key].section,
                                  section_title=criteria[key].section_title, title=criteria[key].title,
                                  rule_ids=sorted(c.rule.id for c in rules if c.rule.criterion == key))
            for key in used
        }
        self.sections: dict[str, SectionSummary] = {}
        for crit in self.criteria.values():
            section = self.sections.setdefault(
                crit.section, SectionSummary(section=crit.section, section_title=crit.section_title, criteria=[]))
            section.criteria.append(crit.criterion)

    def add_outcomes(self, outcomes: Any) -> None:
        """Count one case from its (rule id, criterion, outcome) tuples."""
        self.cases += 1
        per_criterion: dict[str, set[str]] = defaultdict(set)
        for rule_id, criterion, outcome, *_ in outcomes:
            self.rules[rule_id].add(outcome)
            per_criterion[criterion].add(outcome)
        per_section: dict[str, set[str]] = defaultdict(set)
        for key, outcomes in per_criterion.items():
            outcome = _worst(outcomes)
            self.criteria[key].add(outcome)
            per_section[self.criteria[key].section].add(outcome)
        for key, outcomes in per_section.items():
            self.sections[key].add(_worst(outcomes))

    def build(self) -> Summary:
        """The summary so far."""
        for counts in (*self.rules.values(), *self.criteria.values(), *self.sections.values()):
            counts.settle()
        return Summary(as_of=self.as_of, cases_audited=self.cases, rules=list(self.rules.values()),
                       criteria=list(self.criteria.values()), sections=list(self.sections.values()))


def _worst(outcomes: set[str]) -> str:
    """A case's outcome over several rules: not met if any is, then insufficient data, then met."""
    return next(o for o in ("not_met", "insufficient_data", "met", "not_applicable") if o in outcomes)
