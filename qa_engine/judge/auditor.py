"""Judging one validated case record: derive its facts, evaluate every compiled ruleset, reduce to one finding per rule.

The Auditor is what each worker process holds (see batch.py): the rule pack compiled once for
durable_rules, the working-day calendar and the adapter's host. It writes nothing; the run
(qa_engine.run) decides what happens to the findings. ``every_outcome`` compiles every outcome of
every rule (slower, the same findings), for the equivalence checks of the fast compilation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from qa_engine.base.calendar import WorkingCalendar
from qa_engine.facts.derive import derive
from qa_engine.facts.parts import missing_message, rule_parts
from qa_engine.judge.durable_adapter import get_backend
from qa_engine.judge.findings import Finding, Tally, finding_data
from qa_engine.records.model import LEVEL_NAME, CaseRecord, PracticeJudgement
from qa_engine.rulepack.compile import CompiledPack, compile_pack
from qa_engine.rulepack.model import Policy, RulePack
from qa_engine.trust.pseudonyms import Pseudonymiser, month

__all__ = ["Auditor", "not_yet_made"]


class Auditor:
    """Judges validated case records against a compiled rule pack, as of one audit date."""

    def __init__(self, pack: RulePack, policy: Policy | None = None, as_of: dt.date | None = None,
                 pseudonym: Pseudonymiser | None = None, every_outcome: bool = False,
                 judgements: dict[str, tuple[PracticeJudgement, ...]] | None = None) -> None:
        self.pack = pack
        self.judgements = judgements or {}
        """Practice judgements from audit forms, by case id as the outputs name it (pseudonym included)."""
        self.pseudonym = pseudonym
        self.policy = policy or Policy()
        self.as_of = as_of or dt.date.today()
        self.compiled: CompiledPack = compile_pack(pack, self.policy, every_outcome)
        """The pack compiled fast (each rule's default outcome left unfired) or, with ``every_outcome``, in full."""
        self.calendar = WorkingCalendar(self.policy.region, self.policy.closure_days)
        self.backend = get_backend()
        for ruleset in self.compiled.rulesets:
            self.backend.register(ruleset)
        self._order = sorted(self.compiled.rules)
        self._parts = {rule_id: rule_parts(c.rule) for rule_id, c in self.compiled.rules.items()}
        """Rule -> (the record parts it rests on, those its applies_when rests on)."""

    def tally(self) -> Tally:
        """An empty tally of this pack's rules, criteria and sections (see findings.Tally)."""
        return Tally({rule_id: c.rule.criterion for rule_id, c in self.compiled.rules.items()},
                     {c.rule.criterion: self.pack.criteria[c.rule.criterion].section for c in self.compiled.rules.values()},
                     {rule_id: c.rule.basis for rule_id, c in self.compiled.rules.items()})

    def audit_record(self, record: CaseRecord) -> list[Finding]:
        """One finding per rule, in rule-id order, as ``Finding`` models."""
        return [Finding(**data) for data in self.judge(record)]

    def judge(self, record: CaseRecord) -> list[dict[str, Any]]:
        """One finding per rule, in rule-id order, as plain data (findings.finding_data): the hot path.

        A case audited before its order was made is not judged: every rule is not applicable, with the
        reason (reason kind ``order_not_yet_made``) in each finding, so it is counted and never silent.
        A case answered on an audit form has its practice judgements for each criterion the form asks
        replaced by the form's (the form is this audit's judgement; the record's own are earlier ones).
        """
        if record.order.sentence_date > self.as_of:
            return not_yet_made(self.compiled, record, self.as_of, self.pseudonym)
        ids = self.pseudonym or (lambda value: value)
        extra = self.judgements.get(ids(record.case_id)) if self.judgements else None
        if extra:
            asked = {j.criterion for j in extra}
            kept = [j for j in record.practice_judgements if j.criterion not in asked]
            record = record.model_copy(update={"practice_judgements": [*kept, *extra]})
        facts = derive(record, self.as_of, self.calendar, self.policy.settings)
        rosh = facts.case.get("rosh_level")
        meta = {
            "case_id": ids(record.case_id),
            "team": ids(record.team) if record.team else None,
            "case_manager_id": ids(record.case_manager_id) if record.case_manager_id else None,
            "order_type": record.order.order_type.value,
            # shared (pseudonymised) outputs show the month of an event, never its day
            "sentence_date": record.order.sentence_date.isoformat()[:7 if self.pseudonym else 10],
            "risk_level": LEVEL_NAME[rosh] if rosh else None,
        }
        by_rule: dict[str, list] = {rule_id: [] for rule_id in self._order}
        for ruleset in self.compiled.rulesets:
            for firing in self.backend.evaluate(ruleset, facts):
                by_rule[firing.variant.rule_id].append(firing)
        found = [finding_data(self.compiled.rules[rule_id], by_rule[rule_id], facts.case, meta, self.pseudonym,
                              facts.problems)
                 for rule_id in self._order]
        if record.not_exported:
            self._unknown(found, set(record.not_exported))
        return found

    def _unknown(self, findings: list[dict[str, Any]], missing: set[str]) -> None:
        """A finding resting on a part the export does not hold cannot be judged: insufficient data, naming the table
        that would let it be judged (not applicable stays so when deciding that needed none of the missing parts)."""
        for data in findings:
            parts, applies = self._parts[data["rule_id"]]
            lacking = parts & missing
            if not lacking or (data["outcome"] == "not_applicable" and not applies & missing):
                continue
            data["outcome"] = "insufficient_data"
            data["message"] = missing_message(lacking)
            data["evidence"] = {**data["evidence"], "not_exported": sorted(lacking)}
            data["reason_kind"] = "missing_data"


def not_yet_made(compiled: CompiledPack, record: CaseRecord, as_of: dt.date,
                 pseudonym: Pseudonymiser | None = None) -> list[dict[str, Any]]:
    """The findings (plain data) of a case whose order was made after the audit date: not applicable on every
    rule, saying why, with reason kind ``order_not_yet_made``."""
    ids = pseudonym or (lambda value: value)
    made = record.order.sentence_date.isoformat()
    message = (f"Not judged: the order was made on {made}, after the audit date {as_of.isoformat()}; "
               "audit it on or after the day the order was made.")
    evidence = {"order_date": made, "as_of": as_of.isoformat()}
    if pseudonym:  # as for a judged case: ids and labels pseudonymised, dates cut to their month
        message, evidence, made = month(message), pseudonym.walk(evidence), month(made)
    return [{"case_id": ids(record.case_id), "rule_id": c.rule.id, "criterion": c.rule.criterion,
             "outcome": "not_applicable", "severity": c.rule.severity, "message": message,
             "evidence": dict(evidence), "team": ids(record.team) if record.team else None,
             "case_manager_id": ids(record.case_manager_id) if record.case_manager_id else None,
             "order_type": record.order.order_type.value, "sentence_date": made, "risk_level": None,
             "reason_kind": "order_not_yet_made"}
            for c in sorted(compiled.rules.values(), key=lambda c: c.rule.id)]
