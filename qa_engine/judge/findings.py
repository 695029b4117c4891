"""Findings and the summary: what durable_rules fired, reduced to one outcome per case and rule, and counted.

The reduction is fixed and rule-independent: a rule judged per case fires at most one outcome; a rule
judged per item (each failure to comply...) fires one outcome per item, and the case takes the worst
by the precedence not_met > insufficient_data > met. No firing means the rule's default outcome
(the one its fast compilation leaves unfired, compile.py); a rule compiled with every outcome has
none, and must fire. Anything else (no firing without a default, two case outcomes, one item with
two outcomes, a case and an item outcome) is an OutcomeInvariantError, never a silent default.

On the hot path a finding is plain data (``finding_data``: a dict in the ``Finding`` model's field
order, about 40% cheaper to build), written with orjson (``encode_findings``); ``reduce`` gives the
same finding as the pydantic ``Finding``, which stays the schema and what tests and tools read. The
summary is counted in plain integers (``Tally``): each worker counts its own cases, the parent adds
the workers' tallies up (``SummaryBuilder.merge``) and builds the summary once at the end.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from qa_engine.base.errors import OutcomeInvariantError
from qa_engine.facts.derive import CASE_KIND, CATALOGUE, problem_key
from qa_engine.judge.durable_adapter import ITEM_ID_FIELD, Firing
from qa_engine.judge.phrases import wilson_interval
from qa_engine.records.model import LEVEL_NAME
from qa_engine.rulepack.compile import CompiledRule
from qa_engine.rulepack.messages import placeholders, render
from qa_engine.rulepack.model import Criterion
from qa_engine.trust.pseudonyms import Pseudonymiser

__all__ = [
    "OUTCOMES",
    "REASON_KINDS",
    "CriterionSummary",
    "Finding",
    "Outcome",
    "RuleSummary",
    "SectionSummary",
    "Summary",
    "SummaryBuilder",
    "Tally",
    "encode_findings",
    "finding_data",
    "reduce",
]

Outcome = Literal["met", "not_met", "not_applicable", "insufficient_data"]
ReasonKind = Literal["practice", "missing_data", "impossible_dates", "order_not_yet_made"]
REASON_KINDS: dict[str, str] = {
    "practice": "the work was not done as required: for the case manager",
    "missing_data": "the record does not hold what the check needs: for whoever keeps the record",
    "impossible_dates": "the record's dates cannot be right (e.g. a day/month swap): for a data officer to correct",
    "order_not_yet_made": "the audit date is before the order was made: the case is not judged",
}
"""Why a finding is not met, cannot be judged or is not judged, so practice and data-quality problems show apart."""
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
    reason_kind: ReasonKind | None = Field(
        default=None,
        description="Whose problem it is: practice (every not_met), missing_data or impossible_dates (every "
                    "insufficient_data), order_not_yet_made (a case audited before its order was made); null otherwise.")


_Shown = tuple[tuple[str, bool], ...]
"""The names a rule reads of one kind of fact, sorted, each with whether it is a level (shown as a word)."""


@dataclass(frozen=True)
class _Plan:
    """What building a rule's findings needs, worked out once per compiled rule."""

    case: _Shown
    item: _Shown
    match: _Shown
    item_kind: str
    match_kind: str | None
    parameters: dict[str, Any] | None
    templates: dict[str, str]
    fixed: dict[str, str]
    """The message of each outcome whose template reads no fact (none, or only the rule's parameters), rendered once."""


_PLANS: dict[int, tuple[CompiledRule, _Plan]] = {}


def _shown(kind: str | None, compiled: CompiledRule) -> _Shown:
    if kind is None:
        return ()
    specs = CATALOGUE[kind]
    return tuple((name, specs[name].type == "level") for name in sorted(compiled.fields.get(kind, set())))


def _plan(compiled: CompiledRule) -> _Plan:
    entry = _PLANS.get(id(compiled))
    if entry is not None and entry[0] is compiled:
        return entry[1]
    rule = compiled.rule
    item_kind = rule.for_each.kind if rule.for_each else CASE_KIND
    match_kind = rule.exists.kind if rule.exists else None
    templates = {outcome: getattr(rule.messages, outcome) for outcome in OUTCOMES}
    plan = _Plan(
        case=_shown(CASE_KIND, compiled),
        item=_shown(item_kind, compiled),
        match=_shown(match_kind, compiled),
        item_kind=item_kind,
        match_kind=match_kind,
        parameters=dict(sorted(compiled.parameters.items())) if compiled.parameters else None,
        templates=templates,
        fixed={outcome: render(template, {"param": compiled.parameters}) for outcome, template in templates.items()
               if {scope for scope, _ in placeholders(template)} <= {"param"}},
    )
    _PLANS[id(compiled)] = (compiled, plan)
    return plan


def _project(fact: dict[str, Any], shown: _Shown) -> dict[str, Any]:
    """Project a matched fact onto the names a rule reads (sorted), with levels shown as words."""
    return {name: LEVEL_NAME.get(fact[name], fact[name]) if level else fact[name]
            for name, level in shown if name in fact}


def _display(kind: str, fact: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """``_project`` for a kind of fact and a set of names (what tests render messages with)."""
    specs = CATALOGUE[kind]
    return _project(fact, tuple((name, specs[name].type == "level") for name in sorted(names)))


def _impossible(text: str) -> str:
    return f"The record's dates cannot be right: {text}. Correct the record to judge this."


def _explain(compiled: CompiledRule, outcome: str, facts: list[tuple[str, str, dict[str, Any]]],
             problems: dict[str, str]) -> tuple[str | None, str | None]:
    """(message template, reason kind) for an outcome, from what the rule declares about absent facts and the
    impossible chronology derive() found; None for the message means the rule's own message for the outcome.

    ``facts`` are the (kind, id, values) the outcome rests on: the case fact, then the item and its match.
    Depends on the facts only, never on which compiled variant fired, so the fast compilation (the default
    outcome left unfired) words a finding exactly as the full one.
    """
    rule = compiled.rule
    if not problems and not rule.absent:  # nothing to explain: what the code below gives then, found quickly
        return None, "missing_data" if outcome == "insufficient_data" else "practice" if outcome == "not_met" else None
    tested = compiled.tested
    if outcome == "insufficient_data":
        if any(name not in facts[0][2] for name in rule.requires):
            return None, "missing_data"  # a required fact is missing: the rule's own message says which
        for kind, fact_id, _values in facts:
            for name in tested.get(kind, []):
                problem = problems.get(problem_key(kind, fact_id, name))
                if problem:
                    return _impossible(problem), "impossible_dates"
        for kind, _, values in facts:
            for name in tested.get(kind, []):
                declared = rule.absent.get(name)
                if name not in values and declared is not None and declared.means == "unknown":
                    return declared.reason, "missing_data"
        return None, "missing_data"
    if outcome in ("not_met", "not_applicable"):
        for kind, _, values in facts:
            for name in tested.get(kind, []):
                declared = rule.absent.get(name)
                if name not in values and declared is not None and declared.means == outcome:
                    return declared.reason, "practice" if outcome == "not_met" else None
    return None, "practice" if outcome == "not_met" else None


def reduce(compiled: CompiledRule, firings: list[Firing], case: dict[str, Any], meta: dict[str, Any],
           pseudonym: Pseudonymiser | None = None, problems: dict[str, str] | None = None) -> Finding:
    """The one finding a rule gives a case, from the durable_rules firings for that rule, as a ``Finding``.

    With a ``pseudonym``, ids in the evidence (and so in the message) are pseudonymised.

    Raises:
        OutcomeInvariantError: the firings give the case no outcome or several.
    """
    return Finding(**finding_data(compiled, firings, case, meta, pseudonym, problems))


def encode_findings(findings: Iterable[dict[str, Any]]) -> bytes:
    """A case's findings (``finding_data`` dicts) as JSON Lines, each line ending in a newline.

    orjson writes compact JSON (no space after ``,`` or ``:``), keys in the order given, text as UTF-8.
    """
    dumps = orjson.dumps
    return b"".join([dumps(f) + b"\n" for f in findings])


def _checked_outcomes(firings: list[Firing], where: str) -> tuple[str | None, dict[str, dict[str, Firing]]]:
    """The case outcome fired, or the item outcomes by item id; several, or an item with two, raise."""
    case_outcomes = {f.variant.outcome for f in firings if f.variant.scope == "case"}
    item_outcomes: dict[str, dict[str, Firing]] = defaultdict(dict)
    for f in firings:
        if f.variant.scope == "item":
            item_outcomes[f.variant.outcome].setdefault(f.matched["i"][ITEM_ID_FIELD], f)
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
    return (case_outcomes.pop() if case_outcomes else None), item_outcomes


def finding_data(compiled: CompiledRule, firings: list[Firing], case: dict[str, Any], meta: dict[str, Any],
                 pseudonym: Pseudonymiser | None = None, problems: dict[str, str] | None = None) -> dict[str, Any]:
    """``reduce`` as plain data: a dict with the ``Finding`` fields, in its field order (the hot path).

    ``problems`` are the impossible dates derive() found (CaseFacts.problems): an outcome that rests on one
    says so, naming both dates, with reason kind ``impossible_dates``.

    Raises:
        OutcomeInvariantError: the firings give the case no outcome or several.
    """
    rule = compiled.rule
    problems = problems or {}
    plan = _plan(compiled)
    if not firings:
        if compiled.default is None:
            msg = f"case {meta['case_id']}, rule {rule.id}: no outcome fired"
            raise OutcomeInvariantError(msg)
        case_outcome: str | None = compiled.default
        item_outcomes: dict[str, dict[str, Firing]] = {}
    elif len(firings) == 1 and firings[0].variant.scope == "case":
        case_outcome = firings[0].variant.outcome
        item_outcomes = {}
    else:
        case_outcome, item_outcomes = _checked_outcomes(firings, f"case {meta['case_id']}, rule {rule.id}")

    evidence: dict[str, Any] = _project(case, plan.case)
    if pseudonym:
        evidence = pseudonym.walk(evidence)
    if case_outcome is not None:
        outcome = case_outcome
        template, reason_kind = _explain(compiled, outcome, [(CASE_KIND, "", case)], problems)
        if template is None and outcome in plan.fixed:
            message = plan.fixed[outcome]
        else:
            message = render(template or plan.templates[outcome], {"case": evidence, "param": compiled.parameters})
    else:
        outcome = next(o for o in _ITEM_PRECEDENCE if o in item_outcomes)
        chosen = sorted(item_outcomes[outcome].values(), key=lambda f: f.matched["i"][ITEM_ID_FIELD])
        listed = []
        for f in chosen:
            entry = {"id": f.matched["i"][ITEM_ID_FIELD], **_project(f.matched["i"], plan.item)}
            if plan.match_kind and "x" in f.matched:
                entry["answered_by"] = _project(f.matched["x"], plan.match)
            listed.append(pseudonym.walk(entry) if pseudonym else entry)
        evidence["items"] = listed
        scopes = {"case": evidence, "param": compiled.parameters, "item": listed[0],
                  "match": listed[0].get("answered_by", {})}
        first = chosen[0]
        on = [(CASE_KIND, "", case), (plan.item_kind, first.matched["i"][ITEM_ID_FIELD], first.matched["i"])]
        if plan.match_kind and "x" in first.matched:
            on.append((plan.match_kind, first.matched["x"][ITEM_ID_FIELD], first.matched["x"]))
        template, reason_kind = _explain(compiled, outcome, on, problems)
        template = template or plan.templates[outcome]
        message = render(template, scopes, count=len(chosen))
        if len(chosen) > 1 and "{count}" not in template:
            more = f" (and {len(chosen) - 1} more)"
            message = message[:-1] + more + "." if message.endswith(".") else message + more
    if plan.parameters is not None:
        evidence["parameters"] = plan.parameters
    return {
        "case_id": meta["case_id"],
        "rule_id": rule.id,
        "criterion": rule.criterion,
        "outcome": outcome,
        "severity": rule.severity,
        "message": message,
        "evidence": evidence,
        "team": meta.get("team"),
        "case_manager_id": meta.get("case_manager_id"),
        "order_type": meta["order_type"],
        "sentence_date": meta.get("sentence_date"),
        "risk_level": meta.get("risk_level"),
        "reason_kind": reason_kind,
    }


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
    """How the cases came out on one SQS criterion: a case is not met if any of its rules is not met.

    ``by_data`` and ``by_judgement`` count the same way over the criterion's recorded-data rules only
    and its practice-judgement rules only (the auditing managers' answers): the two halves apart.
    """

    criterion: str
    section: str
    section_title: str
    title: str
    rule_ids: list[str]
    by_data: Counts | None = None
    by_judgement: Counts | None = None


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


_INDEX = {"met": 0, "not_met": 1, "insufficient_data": 2, "not_applicable": 3}
_WORST_FIRST = (1, 2, 0, 3)  # not_met, insufficient_data, met, not_applicable


class Tally:
    """Cases counted by outcome per rule, criterion and section, in plain integers (cheap to add, pickle and merge).

    ``rules`` maps each rule id to its criterion, ``sections`` each criterion to its section; the
    outcomes of a case are given per rule, in the order of ``rules``, as ``codes``: bytes, one per
    rule, indexing ``OUTCOMES`` (see ``encode_outcomes``).
    """

    def __init__(self, rules: dict[str, str], sections: dict[str, str], basis: dict[str, str] | None = None) -> None:
        self.cases = 0
        self.rule_ids = list(rules)
        criteria = sorted(set(rules.values()), key=lambda k: (k == "OM", k))
        self.criterion_of = [criteria.index(rules[r]) for r in self.rule_ids]
        self.criteria = criteria
        section_names = list(dict.fromkeys(sections[c] for c in criteria))
        self.section_of = [section_names.index(sections[c]) for c in criteria]
        self.sections = section_names
        self.rule_counts = [[0, 0, 0, 0] for _ in self.rule_ids]
        self.criterion_counts = [[0, 0, 0, 0] for _ in criteria]
        self.section_counts = [[0, 0, 0, 0] for _ in section_names]
        basis = basis or {}
        self.half_of = [0 if basis.get(r, "recorded_data") == "recorded_data" else 1 for r in self.rule_ids]
        """Per rule: 0 for a recorded-data rule, 1 for a practice-judgement rule (CriterionSummary.by_data / by_judgement)."""
        self.half_counts = [[[0, 0, 0, 0], [0, 0, 0, 0]] for _ in criteria]
        self._halves = [tuple(_picker([i for i, r in enumerate(self.rule_ids) if self.criterion_of[i] == c
                                       and self.half_of[i] == half]) for half in (0, 1))
                        for c in range(len(criteria))]
        """Per criterion: for its recorded-data rules and its practice-judgement rules, what picks their outcome
        ranks out of a case's (None where it has no such rule)."""

    def encode_outcomes(self, outcomes: dict[str, str]) -> bytes:
        """A case's outcomes by rule id as ``codes`` for ``add``."""
        return bytes(_INDEX[outcomes[r]] for r in self.rule_ids)

    def add(self, codes: bytes, sign: int = 1) -> None:
        """Count one case (``sign`` -1: take one back, as when the parent refuses a duplicate case id).

        A criterion's outcome is its rules' worst, and so is each half's (recorded data, practice judgement) and
        each section's: worked on ranks (0 worst), picked out of the case's codes per criterion at C speed.
        """
        self.cases += sign
        rule_counts = self.rule_counts
        for i, code in enumerate(codes):
            rule_counts[i][code] += sign
        ranks = codes.translate(_RANK_TABLE)
        worst_first = _WORST_FIRST
        sect = [3] * len(self.sections)  # ranks: not_applicable until a rule says worse
        section_of = self.section_of
        for c, (data, judged) in enumerate(self._halves):
            worst = 3
            halves = self.half_counts[c]
            if data is not None:
                worst = min(data(ranks))
                halves[0][worst_first[worst]] += sign
            if judged is not None:
                rank = min(judged(ranks))
                halves[1][worst_first[rank]] += sign
                worst = min(worst, rank)
            self.criterion_counts[c][worst_first[worst]] += sign
            s = section_of[c]
            if worst < sect[s]:
                sect[s] = worst
        for s, rank in enumerate(sect):
            self.section_counts[s][worst_first[rank]] += sign

    def merge(self, other: Tally) -> None:
        """Add another tally over the same rules (a worker's) into this one."""
        self.cases += other.cases
        for mine, theirs in ((self.rule_counts, other.rule_counts), (self.criterion_counts, other.criterion_counts),
                             (self.section_counts, other.section_counts)):
            for a, b in zip(mine, theirs, strict=True):
                for k in range(4):
                    a[k] += b[k]
        for mine_pair, theirs_pair in zip(self.half_counts, other.half_counts, strict=True):
            for a, b in zip(mine_pair, theirs_pair, strict=True):
                for k in range(4):
                    a[k] += b[k]


_RANK_TABLE = bytes(_WORST_FIRST.index(code) if code < len(_WORST_FIRST) else 255 for code in range(256))
"""An outcome code's rank (0 worst), as a bytes.translate table."""


def _picker(indexes: list[int]) -> Any:
    """What picks ``indexes`` out of a sequence as a tuple (None for none): itemgetter of one index gives no tuple."""
    if not indexes:
        return None
    return operator.itemgetter(*indexes) if len(indexes) > 1 else operator.itemgetter(indexes[0], indexes[0])


class SummaryBuilder:
    """Accumulates the summary one case (or one worker's tally) at a time, so it never needs every finding in memory."""

    def __init__(self, rules: list[CompiledRule], criteria: dict[str, Criterion], as_of: str) -> None:
        self.as_of = as_of
        self.rules = {c.rule.id: c.rule for c in rules}
        used = {c.rule.criterion for c in rules}
        self.criteria = criteria
        self.tally = Tally({rid: r.criterion for rid, r in self.rules.items()},
                           {key: criteria[key].section for key in used}, {rid: r.basis for rid, r in self.rules.items()})

    @property
    def cases(self) -> int:
        return self.tally.cases

    def add_outcomes(self, outcomes: Any) -> None:
        """Count one case from its (rule id, criterion, outcome) tuples."""
        self.tally.add(self.tally.encode_outcomes({rule_id: outcome for rule_id, _c, outcome, *_ in outcomes}))

    def merge(self, tally: Tally) -> None:
        """Add a worker's tally."""
        self.tally.merge(tally)

    def remove(self, codes: bytes) -> None:
        """Take back one case a worker counted (its outcome ``codes``), as when its case id is a duplicate."""
        self.tally.add(codes, -1)

    def build(self) -> Summary:
        """The summary so far."""
        tally = self.tally
        rules = []
        for i, rule in enumerate(self.rules.values()):
            rules.append(_counted(RuleSummary(rule_id=rule.id, criterion=rule.criterion, title=rule.title,
                                              severity=rule.severity), tally.rule_counts[i]))
        criteria = []
        sections: dict[str, SectionSummary] = {}
        for i, key in enumerate(tally.criteria):
            crit = self.criteria[key]
            kinds = {rule.basis for rule in self.rules.values() if rule.criterion == key}
            criteria.append(_counted(CriterionSummary(
                criterion=key, section=crit.section, section_title=crit.section_title, title=crit.title,
                rule_ids=sorted(r for r, rule in self.rules.items() if rule.criterion == key),
                by_data=_counted(Counts(), tally.half_counts[i][0]) if "recorded_data" in kinds else None,
                by_judgement=_counted(Counts(), tally.half_counts[i][1]) if "practice_judgement" in kinds else None),
                tally.criterion_counts[i]))
            section = sections.setdefault(
                crit.section, SectionSummary(section=crit.section, section_title=crit.section_title, criteria=[]))
            section.criteria.append(key)
        for s, name in enumerate(tally.sections):
            _counted(sections[name], tally.section_counts[s])
        return Summary(as_of=self.as_of, cases_audited=tally.cases, rules=rules, criteria=criteria,
                       sections=list(sections.values()))


def _counted(counts: Counts, tally: list[int]) -> Any:
    """``counts`` filled from one tally row (met, not met, insufficient data, not applicable) and settled."""
    counts.met, counts.not_met, counts.insufficient_data, counts.not_applicable = tally
    counts.applicable = tally[0] + tally[1] + tally[2]
    counts.settle()
    return counts
