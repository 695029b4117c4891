"""Which parts of a case record each fact is read from, so what an export does not hold is unknown, not absent.

An export that has no plans table cannot say a case has no plan: every fact read from plans is
unknown for every case of that export, and a rule that tests one cannot be judged (insufficient
data, naming the table that would let it be judged). A part that is exported but empty for one
case still reads as "none recorded". The record says which parts its export did not hold
(``CaseRecord.not_exported``, set by the export's mapping); this module says which facts rest on
which parts, and which parts a rule rests on.

The child and the order are in every record (a mapping must map them), so facts read only from them
rest on no part here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from qa_engine.records.model import OPTIONAL_FIELDS, OPTIONAL_PARTS

__all__ = ["FACT_FIELDS", "FACT_PARTS", "KIND_FIELDS", "KIND_PARTS", "OPTIONAL_FIELDS", "OPTIONAL_PARTS", "PART_NAMES",
           "coverage", "lacks", "missing_message", "part_name", "rule_parts"]

PART_NAMES = {
    "court": "pre-sentence reports", "assessments": "assessments (AssetPlus stages)",
    "assessments.factors": "assessment factors", "plans": "plans", "plans.objectives": "plan objectives",
    "plans.reviews": "plan reviews", "contacts": "contacts (appointments)", "enforcement": "warnings and breach",
    "referrals": "referrals", "safeguarding_events": "safeguarding events", "significant_changes": "significant changes",
    "oversight": "management oversight", "practice_judgements": "the auditor's practice judgements",
}
"""Each part in words, for the report."""

_ASSESS = frozenset({"assessments"})
_PLANS = frozenset({"plans"})
_REVIEWED_PLANS = frozenset({"plans", "plans.reviews"})
_CONTACTS = frozenset({"contacts"})
_COURT = frozenset({"court"})
_OVERSIGHT = frozenset({"oversight"})

KIND_PARTS: dict[str, frozenset[str]] = {
    "failure": frozenset({"contacts", "enforcement"}),
    "response": frozenset({"contacts", "enforcement"}),
    "absence": _CONTACTS,
    "enforcement": frozenset({"enforcement"}),
    "change": frozenset({"significant_changes", "assessments", "plans", "plans.reviews"}),
    "factor": frozenset({"assessments", "assessments.factors"}),
    "objective": frozenset({"plans", "plans.objectives"}),
    "need": frozenset({"assessments", "referrals"}),
    "referral": frozenset({"referrals"}),
    "oversight": _OVERSIGHT,
}
"""The parts every fact of an item kind is read from (a failure to comply is a contact and what answered it)."""

_CASE: dict[str, frozenset[str]] = {
    "assessment_longest_unreviewed_months": _ASSESS,
    "exploitation_indicators": _ASSESS, "exploitation_screened": _ASSESS, "health_screened": _ASSESS,
    "initial_assessment_completed": _ASSESS, "initial_assessment_countersigned": _ASSESS,
    "initial_assessment_working_days": _ASSESS, "initial_assessment_months_before_order": _ASSESS,
    "initial_factors_recorded": frozenset({"assessments", "assessments.factors"}),
    "initial_lor_recorded": _ASSESS, "mappa_category_recorded": _ASSESS, "mappa_considered": _ASSESS,
    "mappa_eligible": _ASSESS, "mappa_level_recorded": _ASSESS, "relevant_behaviour_considered": _ASSESS,
    "rosh_countersign_working_days": _ASSESS, "rosh_full_analysis": _ASSESS, "rosh_level": _ASSESS,
    "rosh_longest_unreviewed_months": _ASSESS, "rosh_screened": _ASSESS, "sw_level": _ASSESS,
    "sw_longest_unreviewed_months": _ASSESS, "sw_reviewed": _ASSESS, "sw_screened": _ASSESS, "sw_start_level": _ASSESS,
    "contacts_min_after_12_weeks": _CONTACTS, "contacts_min_first_12_weeks": _CONTACTS,
    "first_contact_working_days": _CONTACTS, "home_visit_working_days": _CONTACTS,
    "intervention_plan_recorded": _PLANS, "plan_barriers_addressed": _PLANS, "plan_child_involved": _PLANS,
    "plan_countersigned": _PLANS, "plan_diversity_addressed": _PLANS, "plan_longest_unreviewed_months": _REVIEWED_PLANS,
    "plan_parent_involved": _PLANS, "plan_review_count": _REVIEWED_PLANS, "plan_working_days": _PLANS,
    "risk_plan_contingency": _PLANS, "risk_plan_longest_unreviewed_months": _REVIEWED_PLANS,
    "risk_plan_recorded": _PLANS, "risk_plan_working_days": _PLANS, "safety_plan_contingency": _PLANS,
    "safety_plan_longest_unreviewed_months": _REVIEWED_PLANS, "safety_plan_recorded": _PLANS,
    "safety_plan_working_days": _PLANS,
    "psr_covers_risk_of_harm": _COURT, "psr_covers_vulnerability": _COURT, "psr_due_passed": _COURT,
    "psr_late_working_days": _COURT, "psr_qa_before_submission": _COURT, "psr_requested": _COURT,
    "psr_submitted": _COURT,
    "risk_oversight_longest_gap_months": _OVERSIGHT, "sw_oversight_longest_gap_months": _OVERSIGHT,
    "risk_oversight_recorded": _OVERSIGHT, "sw_oversight_recorded": _OVERSIGHT,
    "social_care_contact_working_days": frozenset({"safeguarding_events", "referrals"}),
}

FACT_PARTS: dict[tuple[str, str], frozenset[str]] = {
    **{("case", name): parts for name, parts in _CASE.items()},
    **{("case", f"judgement_{c}"): frozenset({"practice_judgements"})
       for c in ("1_1", "1_2", "1_3", "2_1", "2_2", "2_3", "3_1", "3_2", "3_3", "3_4", "4_1", "4_2", "4_3", "om")},
}
"""(kind, fact) -> the parts it is read from; a case fact not listed is read from the child and the order only."""


_FIELD_FACTS: dict[str, tuple[str, ...]] = {
    "child.looked_after": ("social_care_status",), "child.child_protection_plan": ("social_care_status",),
    "child.child_in_need": ("social_care_status",), "order.contract_signed_date": ("contract_signed",),
    "order.first_panel_date": ("first_panel_working_days",), "order.intervention_level": ("intervention_level",),
    "order.main_offence_category": ("offence_violent_or_sexual",),
    "assessments.completed_date": (
        "exploitation_indicators", "health_screened", "initial_assessment_completed", "mappa_considered",
        "rosh_screened", "sw_reviewed", "sw_screened", "assessment_longest_unreviewed_months",
        "initial_assessment_countersigned", "initial_assessment_months_before_order", "initial_assessment_working_days",
        "initial_factors_recorded", "initial_lor_recorded", "mappa_category_recorded", "mappa_eligible",
        "mappa_level_recorded", "relevant_behaviour_considered", "rosh_countersign_working_days", "rosh_full_analysis",
        "rosh_level", "rosh_longest_unreviewed_months", "sw_level", "sw_longest_unreviewed_months", "sw_start_level"),
    "assessments.likelihood_of_reoffending": ("initial_lor_recorded",),
    "assessments.risk_of_serious_harm": ("rosh_screened", "rosh_countersign_working_days", "rosh_full_analysis",
                                         "rosh_level", "rosh_longest_unreviewed_months"),
    "assessments.rosh_full_analysis": ("rosh_full_analysis",),
    "assessments.exploitation_screening.date": ("exploitation_screened",),
    "assessments.relevant_behaviour_considered": ("relevant_behaviour_considered",),
    "assessments.safety_and_wellbeing": ("sw_reviewed", "sw_screened", "sw_level", "sw_longest_unreviewed_months",
                                         "sw_start_level"),
    "assessments.countersigned_date": ("initial_assessment_countersigned", "rosh_countersign_working_days"),
    "assessments.mappa_eligible": ("mappa_considered", "mappa_category_recorded", "mappa_eligible",
                                   "mappa_level_recorded"),
    "assessments.mappa_category": ("mappa_category_recorded",),
    "plans.child_involved": ("plan_child_involved",), "plans.parent_involved": ("plan_parent_involved",),
    "plans.diversity_addressed": ("plan_diversity_addressed",), "plans.barriers_addressed": ("plan_barriers_addressed",),
    "plans.contingency_recorded": ("risk_plan_contingency", "safety_plan_contingency"),
    "assessments.mappa_level": ("mappa_level_recorded",),
    "assessments.exploitation_indicators": ("exploitation_indicators",),
    "assessments.health_screened": ("health_screened",), "plans.countersigned_date": ("plan_countersigned",),
    "oversight.decision_recorded": ("risk_oversight_longest_gap_months", "risk_oversight_recorded",
                                    "sw_oversight_longest_gap_months", "sw_oversight_recorded"),
}
_FIELD_KINDS: dict[str, tuple[str, ...]] = {
    "assessments.completed_date": ("change", "factor", "need"), "assessments.identified_needs": ("need",),
    "plans.objectives.factor_category": ("objective",), "contacts.follow_up_date": ("absence",),
    "enforcement.answers_contact_ids": ("response",), "enforcement.manager_authorised_by": ("enforcement", "response"),
    "referrals.referred_date": ("need", "referral"), "oversight.decision_recorded": ("oversight",),
    "oversight.actions_requested": ("oversight",), "oversight.actions_completed": ("oversight",),
}
FACT_FIELDS: dict[tuple[str, str], frozenset[str]] = {}
"""(kind, fact) -> the fields of held parts it rests on (records.model.OPTIONAL_FIELDS), where a field the export has
no column for would otherwise read as a definite no."""
for _field, _names in _FIELD_FACTS.items():
    for _name in _names:
        FACT_FIELDS[("case", _name)] = FACT_FIELDS.get(("case", _name), frozenset()) | {_field}
KIND_FIELDS: dict[str, frozenset[str]] = {}
"""Item kind -> the fields of held parts its facts rest on."""
for _field, _kinds in _FIELD_KINDS.items():
    for _kind in _kinds:
        KIND_FIELDS[_kind] = KIND_FIELDS.get(_kind, frozenset()) | {_field}
assert set(_FIELD_FACTS) | set(_FIELD_KINDS) <= set(OPTIONAL_FIELDS)


def _facts(condition: Any) -> Iterator[str]:
    """The facts a condition (or a list or mapping of them) names."""
    if isinstance(condition, dict):
        if isinstance(condition.get("fact"), str):
            yield condition["fact"]
        for value in condition.values():
            yield from _facts(value)
    elif isinstance(condition, (list, tuple)):
        for value in condition:
            yield from _facts(value)


def _case_parts(names: Iterable[str]) -> set[str]:
    return {part for name in names for part in FACT_PARTS.get(("case", name), frozenset())
            | FACT_FIELDS.get(("case", name), frozenset())}


def rule_parts(rule: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The parts a rule rests on: (all of them, those its applies_when alone rests on).

    ``rule`` is a rulepack Rule: its requires, applies_when and expects test case facts; for_each and exists range
    over the items of a kind, which rest on that kind's parts.
    """
    applies = _case_parts(_facts(rule.applies_when))
    parts = set(applies) | _case_parts(rule.requires) | _case_parts(_facts(rule.expects))
    for ranged in (rule.for_each, rule.exists):
        if ranged is not None:
            parts |= KIND_PARTS.get(ranged.kind, frozenset()) | KIND_FIELDS.get(ranged.kind, frozenset())
    return frozenset(parts), frozenset(applies)


def part_name(part: str) -> str:
    """A part or field the export lacks, in words ("plans", "a column for assessments.health_screened")."""
    return PART_NAMES.get(part) or f"a column for {part}"


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _lacking(parts: Iterable[str], listed: Callable[[list[str]], str]) -> str:
    """What an export lacks, in words ("no table of ... and no column for ..."), each list of names joined by
    ``listed``."""
    names = sorted(parts)
    tables = [PART_NAMES[p] for p in names if p in PART_NAMES]
    columns = [p for p in names if p not in PART_NAMES]
    return " and ".join(filter(None, [f"no table of {listed(tables)}" if tables else "",
                                      f"no column for {listed(columns)}" if columns else ""]))


def lacks(parts: Iterable[str]) -> str:
    """What an export lacks, in words: "no table of plans, contacts and no column for assessments.health_screened"."""
    return _lacking(parts, ", ".join)


def missing_message(parts: Iterable[str]) -> str:
    """The message of a finding that cannot be judged because the export lacks ``parts`` (parts or fields)."""
    return (f"Cannot be judged from this export: it has {_lacking(parts, _listed)}, so the record cannot show whether "
            "the work was done (map one to judge this).")


def coverage(rules: Iterable[Any], not_exported: Iterable[str]) -> dict[str, dict[str, Any]]:
    """For each criterion (in rule order): how many of its rules an export lacking ``not_exported`` can judge, and the
    parts whose tables would let the rest be judged: {criterion: {"rules", "judgeable", "needs"}}."""
    missing = set(not_exported)
    out: dict[str, dict[str, Any]] = {}
    for rule in sorted(rules, key=lambda r: (r.criterion, r.id)):
        entry = out.setdefault(rule.criterion, {"rules": 0, "judgeable": 0, "needs": set()})
        entry["rules"] += 1
        lacking = rule_parts(rule)[0] & missing
        if lacking:
            entry["needs"] |= lacking
        else:
            entry["judgeable"] += 1
    return {c: {**e, "needs": sorted(e["needs"])} for c, e in out.items()}
