"""Derived facts: pure functions from a case record and an audit date to the small, flat values rules test.

Rules never see a raw record. They test the facts named in ``CATALOGUE``: working days, months,
counts and levels already reduced to numbers, judged *as of the audit date*, so that work not yet
due is not missing and the same input gives the same facts on any day it is run. Anything dated
after the audit date is ignored.

A fact that cannot be known (no due date, no completed assessment) is simply absent; a rule's test on
it is unknown (``insufficient_data``) unless the rule declares what its absence means (rulepack/compile.py).
Every order's assessment, plan and panel clock runs from the day the order was made (the sentence date;
domain-standards.md rows 5.1-5.4, section 8): FactSpec.clock says so per fact, and a rule's ``clock`` must
agree. A span whose later event is dated first where it cannot be (FactSpec.may_precede) keeps its negative
value and is recorded in CaseFacts.problems, naming both dates.
Nothing here is ever ``None`` in the output: durable_rules treats ``null`` as present.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

from qa_engine.base.calendar import WorkingCalendar, add_months, months_between
from qa_engine.records.model import (
    LEVEL_RANK,
    Assessment,
    AssessmentStage,
    CaseRecord,
    ContactOutcome,
    EnforcementActionType,
    InterventionLevel,
    Level,
    Need,
    OffenceCategory,
    OrderType,
    Plan,
    PlanType,
)

__all__ = ["CASE_KIND", "CATALOGUE", "ITEM_KINDS", "CaseFacts", "FactSettings", "FactSpec", "derive", "problem_key",
           "roll_up"]

CASE_KIND = "case"
"""The kind of the one fact per case that every rule joins; it is asserted last."""

FactType = Literal["integer", "number", "boolean", "enum", "level", "date", "id"]


@dataclass(frozen=True)
class FactSpec:
    """What a fact means and what values it takes; the compiler checks rules against it."""

    kind: str
    name: str
    type: FactType
    description: str
    values: tuple[str, ...] = ()
    clock: dict[str, str] | None = None
    """For a fact counted from the order: the date it counts from, per order type ("*" for every other type):
    ``order_made`` (the sentence date) or ``order_start`` (a referral order's contract signing). A rule that
    tests it must declare the same clock (rulepack/compile.py checks)."""
    earlier: str = ""
    """For a fact measuring one date after another: the earlier event, in words ("the failure it answers")."""
    later: str = ""
    """... and the later event ("the response")."""
    may_precede: bool = True
    """Whether the later event may really come first. When it may not, a negative value is impossible
    (a day/month swap or a typing error): rules treat it as unknown, never as met, and derive() records a
    problem naming both dates."""
    always: bool = False
    """Derived for every case (or item) whatever the record holds; anything else may be absent."""


_LEVELS = tuple(level.value for level in Level)
_ACTIONS = tuple(a.value for a in EnforcementActionType)
_ANSWERS = ("yes", "no", "not_applicable", "not_audited")
_NEEDS = tuple(n.value for n in Need)
_CHANGES = ("new_offence", "custody", "release", "change_of_address", "change_of_care_status", "risk_change",
            "safeguarding_incident")
CRITERIA_KEYS = ("1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "3.1", "3.2", "3.3", "3.4", "4.1", "4.2", "4.3", "OM")


def _judgement_fact(criterion: str) -> str:
    return "judgement_" + criterion.replace(".", "_").lower()


# (kind, name, type, description[, values]) -- the one place a fact is named and explained.
_FACTS: list[tuple[Any, ...]] = [
    ("case", "order_type", "enum", "The order under supervision.", tuple(o.value for o in OrderType)),
    ("case", "intervention_level", "enum", "Scaled-approach intervention level.",
     tuple(i.value for i in InterventionLevel)),
    ("case", "child_age", "integer", "The child's age at sentence (recorded, or from the date of birth)."),
    ("case", "working_days_since_sentence", "integer",
     "Working days from the day the order was made (the sentence date) to the audit date."),
    ("case", "months_since_order", "number",
     "Calendar months from the day the order was made to the audit date, or to the order's end if it ended earlier."),
    ("case", "order_date", "date", "The day the order was made (the sentence date), for messages."),
    ("case", "working_days_since_start", "integer",
     "Working days from the order's start (a referral order's contract signing) to the audit date."),
    ("case", "months_since_start", "number",
     "Calendar months from the start to the audit date, or to the order's end if it ended earlier."),
    ("case", "initial_assessment_completed", "boolean",
     "A start-of-order assessment was completed on or before the audit date."),
    ("case", "initial_assessment_working_days", "integer",
     "Working days from the day the order was made to completion of the first start-of-order assessment "
     "(negative: completed before the order, e.g. for the pre-sentence report)."),
    ("case", "initial_assessment_months_before_order", "number",
     "Calendar months by which the start-of-order assessment was completed before the order was made (0 when "
     "completed on or after the order)."),
    ("case", "initial_lor_recorded", "boolean", "The start-of-order assessment records the likelihood of reoffending."),
    ("case", "initial_factors_recorded", "boolean", "The start-of-order assessment records the factors behind offending."),
    ("case", "assessment_longest_unreviewed_months", "number",
     "Longest span, in months, between the start-of-order assessment, later completed assessments and the audit date."),
    ("case", "rosh_screened", "boolean",
     "The start-of-order assessment, completed by the audit date, records a risk of serious harm level."),
    ("case", "rosh_level", "level", "Risk of serious harm in the latest assessment completed by the audit date.",
     _LEVELS),
    ("case", "rosh_full_analysis", "boolean",
     "The latest assessment with a risk of serious harm level records a full risk-of-harm analysis."),
    ("case", "rosh_longest_unreviewed_months", "number",
     "Longest span, in months, from the first risk of serious harm rating without another."),
    ("case", "rosh_countersign_working_days", "integer",
     "Working days from completion of the latest risk-rated assessment to a manager's countersignature."),
    ("case", "relevant_behaviour_considered", "boolean",
     "The start-of-order assessment records that alleged and other relevant behaviour was considered."),
    ("case", "sw_screened", "boolean", "The start-of-order assessment records a safety and wellbeing level."),
    ("case", "sw_start_level", "level", "Safety and wellbeing level at the start of the order.", _LEVELS),
    ("case", "sw_level", "level", "Safety and wellbeing level in the latest assessment completed by the audit date.",
     _LEVELS),
    ("case", "sw_reviewed", "boolean", "An assessment after the start-of-order one rates safety and wellbeing again."),
    ("case", "sw_longest_unreviewed_months", "number",
     "Longest span, in months, from the first safety and wellbeing rating without another."),
    ("case", "exploitation_indicators", "boolean",
     "Exploitation indicators are recorded (in an assessment or as a safeguarding event)."),
    ("case", "exploitation_screened", "boolean", "An exploitation screening is recorded."),
    ("case", "health_screened", "boolean", "An assessment records that health needs were screened."),
    ("case", "mappa_considered", "boolean", "An assessment records whether the child is eligible for MAPPA."),
    ("case", "mappa_eligible", "boolean", "An assessment records the child as eligible for MAPPA."),
    ("case", "mappa_category_recorded", "boolean", "A MAPPA category is recorded."),
    ("case", "mappa_level_recorded", "boolean", "A MAPPA level is recorded."),
    ("case", "offence_violent_or_sexual", "boolean",
     "The main offence is violence against the person, robbery or a sexual offence."),
    ("case", "initial_assessment_countersigned", "boolean",
     "The start-of-order assessment was countersigned by a manager."),
    ("case", "intervention_plan_recorded", "boolean",
     "An intervention plan (or referral order contract) was created on or before the audit date."),
    ("case", "plan_working_days", "integer", "Working days from the day the order was made to the intervention plan."),
    ("case", "plan_child_involved", "boolean", "The intervention plan records the child's involvement."),
    ("case", "plan_parent_involved", "boolean", "The intervention plan records a parent's or carer's involvement."),
    ("case", "plan_diversity_addressed", "boolean", "The intervention plan addresses diversity needs."),
    ("case", "plan_barriers_addressed", "boolean", "The intervention plan addresses barriers to engagement."),
    ("case", "plan_countersigned", "boolean", "The intervention plan was countersigned by a manager."),
    ("case", "plan_longest_unreviewed_months", "number",
     "Longest span, in calendar months, between the intervention plan's creation, its reviews and the audit date "
     "(or the order's end)."),
    ("case", "plan_review_count", "integer", "Reviews of the intervention plan on or before the audit date."),
    ("case", "risk_plan_recorded", "boolean", "A risk-of-harm plan was created on or before the audit date."),
    ("case", "risk_plan_working_days", "integer",
     "Working days from the day the order was made to the risk-of-harm plan."),
    ("case", "risk_plan_contingency", "boolean", "The risk-of-harm plan records contingency arrangements."),
    ("case", "risk_plan_longest_unreviewed_months", "number",
     "Longest span, in months, between the risk-of-harm plan, its reviews and the audit date."),
    ("case", "safety_plan_recorded", "boolean", "A safety and wellbeing plan was created on or before the audit date."),
    ("case", "safety_plan_working_days", "integer", "Working days from the day the order was made to the safety plan."),
    ("case", "safety_plan_contingency", "boolean", "The safety and wellbeing plan records contingency arrangements."),
    ("case", "safety_plan_longest_unreviewed_months", "number",
     "Longest span, in months, between the safety plan, its reviews and the audit date."),
    ("case", "psr_requested", "boolean", "A pre-sentence report was requested."),
    ("case", "psr_due_passed", "boolean", "The report's due date is on or before the audit date."),
    ("case", "psr_submitted", "boolean", "The report was submitted on or before the audit date."),
    ("case", "psr_late_working_days", "integer", "Working days from the due date to submission (0 or less: on time)."),
    ("case", "psr_qa_before_submission", "boolean", "A manager quality-assured the report on or before submission."),
    ("case", "psr_covers_risk_of_harm", "boolean", "The report covers the risk of harm to others."),
    ("case", "psr_covers_vulnerability", "boolean", "The report covers the child's vulnerability."),
    ("case", "social_care_status", "boolean", "The child is looked after, on a child protection plan or a child in need."),
    ("case", "social_care_contact_working_days", "integer",
     "Working days from the day the order was made to the first information sharing, meeting or referral with "
     "children's social care (0 or less: already involved)."),
    ("case", "risk_oversight_longest_gap_months", "number",
     "Longest span, in months, from the day the order was made without a management-oversight decision on risk of "
     "harm."),
    ("case", "sw_oversight_longest_gap_months", "number",
     "Longest span, in months, from the day the order was made without a management-oversight decision on safety "
     "and wellbeing."),
    ("case", "risk_oversight_recorded", "boolean",
     "A management-oversight decision on risk of harm is recorded on or before the audit date."),
    ("case", "sw_oversight_recorded", "boolean",
     "A management-oversight decision on safety and wellbeing is recorded on or before the audit date."),
    ("case", "first_contact_working_days", "integer", "Working days from the sentence to the first appointment."),
    ("case", "first_panel_working_days", "integer",
     "Working days from the day the order was made to a referral order's first panel."),
    ("case", "contract_signed", "boolean", "The referral order contract was signed on or before the audit date."),
    ("case", "home_visit_working_days", "integer", "Working days from the sentence to the first home visit."),
    ("case", "contacts_min_first_12_weeks", "integer",
     "Fewest required contacts in any complete 4-week period of the first 12 weeks of the order."),
    ("case", "contacts_min_after_12_weeks", "integer",
     "Fewest required contacts in any complete 4-week period after the first 12 weeks."),
    *(("case", _judgement_fact(c), "enum",
       f"The auditing manager's judgement on criterion {c}: its questions' latest answers rolled up (no if any "
       "is no; yes if all are yes or not applicable; not_audited if none was asked; unknown while any is blank).",
       _ANSWERS)
      for c in CRITERIA_KEYS),
    ("failure", "contact_id", "id", "The contact at which the child failed to comply."),
    ("failure", "date", "date", "Date of the unacceptable absence."),
    ("failure", "working_days_since", "integer", "Working days from the failure to the audit date."),
    ("failure", "prior_warnings_in_warned_period", "integer",
     "Warnings given before this failure whose warned period (settings.warned_period_months) covers it."),
    ("failure", "prior_failures", "integer", "Unacceptable absences on the order before this one."),
    ("response", "action_id", "id", "The enforcement action."),
    ("response", "action", "enum", "What was done.", _ACTIONS),
    ("response", "answers_contact_id", "id", "The failure (contact) the action answers."),
    ("response", "date", "date", "Date of the action."),
    ("response", "working_days_after", "integer", "Working days from the failure to the action."),
    ("response", "manager_authorised", "boolean", "A manager authorised the action."),
    ("absence", "contact_id", "id", "The contact the child missed."),
    ("absence", "date", "date", "Date of the missed contact."),
    ("absence", "classified", "boolean", "The absence is recorded as acceptable or unacceptable."),
    ("absence", "follow_up_working_days", "integer", "Working days from the missed contact to its follow-up."),
    ("absence", "working_days_since", "integer", "Working days from the missed contact to the audit date."),
    ("enforcement", "action_id", "id", "The enforcement action."),
    ("enforcement", "action", "enum", "What was done.", _ACTIONS),
    ("enforcement", "date", "date", "Date of the action."),
    ("enforcement", "manager_authorised", "boolean", "A manager authorised the action."),
    ("change", "change_id", "id", "The significant change."),
    ("change", "type", "enum", "What changed.", _CHANGES),
    ("change", "date", "date", "Date of the change."),
    ("change", "working_days_since", "integer", "Working days from the change to the audit date."),
    ("change", "assessment_review_working_days", "integer",
     "Working days from the change to the next completed assessment."),
    ("change", "plan_review_working_days", "integer", "Working days from the change to the next plan review."),
    ("factor", "category", "id", "A factor against desistance in the start-of-order assessment."),
    ("factor", "rating", "level", "How strongly the factor is rated.", _LEVELS),
    ("objective", "factor_category", "id", "The assessed factor a plan objective answers."),
    ("need", "need", "enum", "A need an assessment identified.", _NEEDS),
    ("need", "working_days_since", "integer", "Working days from the need's identification to the audit date."),
    ("need", "referral_working_days", "integer",
     "Working days from the need's identification to the first referral for it (0 or less: referred already)."),
    ("referral", "need", "enum", "The need a referral answers.", _NEEDS),
    ("oversight", "date", "date", "Date of the management-oversight entry."),
    ("oversight", "decision_recorded", "boolean", "The entry records a decision."),
    ("oversight", "actions_requested", "integer", "Actions the manager asked for."),
    ("oversight", "actions_completed", "integer", "Of those, actions recorded as completed."),
    ("oversight", "working_days_since", "integer", "Working days from the entry to the audit date."),
]


_ORDER = {"*": "order_made"}
# Timing of the facts that count time: the clock (from the order), and for facts measuring one date after
# another, the two events and whether the later may really come first. Sources: domain-standards.md rows
# 5.1-5.6 and section 8 ("RO: after order date; YRO: after sentence"): every order's assessment, plan and
# panel timescales run from the day the order is made; a referral order's contract signing and first panel
# are milestones, not the clock. Contact minimums count from the order's start: for a referral order, the
# compliance period starting at the contract (row 5.6).
_TIMING: dict[tuple[str, str], dict[str, Any]] = {
    ("case", "working_days_since_sentence"): {"clock": _ORDER},
    ("case", "months_since_order"): {"clock": _ORDER},
    ("case", "working_days_since_start"): {"clock": {"*": "order_start"}},
    ("case", "months_since_start"): {"clock": {"*": "order_start"}},
    ("case", "contacts_min_first_12_weeks"): {"clock": {"*": "order_start"}},
    ("case", "contacts_min_after_12_weeks"): {"clock": {"*": "order_start"}},
    ("case", "initial_assessment_working_days"): {
        "clock": _ORDER, "earlier": "the order, made", "later": "the start-of-order assessment",
        "may_precede": True},  # an assessment prepared for the court comes before the order (row 5.25)
    ("case", "plan_working_days"): {"clock": _ORDER, "earlier": "the order it plans for, made",
                                    "later": "the intervention plan", "may_precede": False},
    ("case", "risk_plan_working_days"): {"clock": _ORDER, "earlier": "the order it plans for, made",
                                         "later": "the risk-of-harm plan", "may_precede": False},
    ("case", "safety_plan_working_days"): {"clock": _ORDER, "earlier": "the order it plans for, made",
                                           "later": "the safety and wellbeing plan", "may_precede": False},
    ("case", "social_care_contact_working_days"): {
        "clock": _ORDER, "earlier": "the order, made", "later": "the first contact with children's social care",
        "may_precede": True},  # social care is often involved long before the order
    ("case", "risk_oversight_longest_gap_months"): {"clock": _ORDER},
    ("case", "sw_oversight_longest_gap_months"): {"clock": _ORDER},
    ("case", "first_contact_working_days"): {"clock": _ORDER},
    ("case", "home_visit_working_days"): {"clock": _ORDER},
    ("case", "first_panel_working_days"): {"clock": _ORDER, "earlier": "the order, made",
                                           "later": "the first panel", "may_precede": False},
    ("case", "rosh_countersign_working_days"): {"earlier": "the assessment it endorses, completed",
                                                "later": "the countersignature", "may_precede": False},
    ("case", "plan_longest_unreviewed_months"): {"earlier": "the plan it reviews, created", "later": "a review",
                                                 "may_precede": False},
    ("case", "risk_plan_longest_unreviewed_months"): {"earlier": "the plan it reviews, created", "later": "a review",
                                                      "may_precede": False},
    ("case", "safety_plan_longest_unreviewed_months"): {"earlier": "the plan it reviews, created",
                                                        "later": "a review", "may_precede": False},
    ("case", "psr_late_working_days"): {"earlier": "the due date", "later": "the report's submission",
                                        "may_precede": True},  # early is on time
    ("response", "working_days_after"): {"earlier": "the failure it answers", "later": "the response",
                                         "may_precede": False},
    ("absence", "follow_up_working_days"): {"earlier": "the contact it follows up", "later": "the follow-up",
                                            "may_precede": False},
    ("need", "referral_working_days"): {"earlier": "the need's identification", "later": "the referral",
                                        "may_precede": True},  # a referral already in place answers the need
}

# Facts derived for every case or item, whatever the record holds (the rest may be absent).
_ALWAYS = {
    "case": {"order_type", "working_days_since_sentence", "months_since_order", "order_date",
             "initial_assessment_completed", "rosh_screened", "sw_screened", "exploitation_indicators",
             "exploitation_screened", "health_screened", "mappa_considered", "intervention_plan_recorded",
             "risk_plan_recorded", "safety_plan_recorded", "psr_requested", "psr_submitted", "social_care_status",
             "risk_oversight_recorded", "sw_oversight_recorded", "risk_oversight_longest_gap_months",
             "sw_oversight_longest_gap_months", "sw_reviewed"},
    "failure": {"contact_id", "date", "working_days_since", "prior_warnings_in_warned_period", "prior_failures"},
    "response": {"action_id", "action", "answers_contact_id", "date", "working_days_after", "manager_authorised"},
    "absence": {"contact_id", "date", "classified", "working_days_since"},
    "enforcement": {"action_id", "action", "date", "manager_authorised"},
    "change": {"change_id", "type", "date", "working_days_since"},
    "factor": {"category", "rating"},
    "objective": {"factor_category"},
    "need": {"need", "working_days_since"},
    "referral": {"need"},
    "oversight": {"date", "decision_recorded", "actions_requested", "actions_completed", "working_days_since"},
}

CATALOGUE: dict[str, dict[str, FactSpec]] = {}
"""Every fact a rule may test, by kind then name."""
for _row in _FACTS:
    _spec = FactSpec(*_row, **_TIMING.get((_row[0], _row[1]), {}), always=_row[1] in _ALWAYS.get(_row[0], ()))
    CATALOGUE.setdefault(_spec.kind, {})[_spec.name] = _spec
assert all(key[1] in CATALOGUE[key[0]] for key in _TIMING), "a timing entry names an unknown fact"

ITEM_KINDS = tuple(k for k in CATALOGUE if k != CASE_KIND)
"""Kinds of item fact (one per failure, change, need...), asserted before the case fact."""


@dataclass(frozen=True)
class FactSettings:
    """Service settings that shape derived facts (from the policy file's ``settings`` section)."""

    warned_period_months: int = 12
    """Warned period after a YRO warning: 12 months, Sentencing Act 2020 Sch 7 (re-enacting CJIA 2008 Sch 2
    para 3(4)); domain-standards.md row 5.14 [V]."""


@dataclass
class CaseFacts:
    """The facts of one case: one flat ``case`` fact, and lists of item facts by kind."""

    case_id: str
    case: dict[str, Any]
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    """Impossible chronology found while deriving, by ``problem_key(kind, item id, fact)``: a sentence naming
    both dates ("the response is dated 2016-03-30, before the failure it answers on 2016-04-04"), for the
    finding's message. Dates only: never a name or free text."""


def problem_key(kind: str, item_id: str, name: str) -> str:
    """Where CaseFacts.problems files a problem with one fact (``item_id`` is "" for the case fact)."""
    return f"{kind}:{item_id}:{name}"


_SOCIAL_CARE_EVENTS = {"strategy_meeting", "child_protection_conference", "looked_after_review",
                       "information_shared_with_social_care"}
_RISK_TARGETS = {"risk_of_harm", "case"}
_SW_TARGETS = {"safety_and_wellbeing", "case"}
_VIOLENT_OR_SEXUAL = {OffenceCategory.violence_against_the_person, OffenceCategory.sexual_offences,
                      OffenceCategory.robbery}


def _put(target: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        target[name] = value


def _longest_gap(first: dt.date, later: Iterable[dt.date], until: dt.date) -> float:
    """Longest span in months between ``first``, the later dates (up to ``until``) and ``until``."""
    points = [first, *sorted(d for d in set(later) if first <= d <= until), max(first, until)]
    return max(months_between(a, b) for a, b in pairwise(points))


def _age(record: CaseRecord) -> int | None:
    if record.child.age_at_sentence is not None:
        return record.child.age_at_sentence
    dob, on = record.child.date_of_birth, record.order.sentence_date
    if dob is None:
        return None
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


class _Deriver:
    """Derives one record's facts; split into one method per area for readability."""

    def __init__(self, record: CaseRecord, as_of: dt.date, calendar: WorkingCalendar, settings: FactSettings) -> None:
        self.r = record
        self.as_of = as_of
        self.wd = calendar.working_days_between
        self.settings = settings
        order = record.order
        ended = order.actual_end_date if order.actual_end_date and order.actual_end_date <= as_of else None
        self.until = min(as_of, ended) if ended else as_of
        self.done = sorted((a for a in record.assessments if a.completed_date and a.completed_date <= as_of),
                           key=lambda a: (a.completed_date, a.assessment_id))
        self.case: dict[str, Any] = {}
        self.items: dict[str, list[dict[str, Any]]] = {kind: [] for kind in ITEM_KINDS}
        self.problems: dict[str, str] = {}

    def measure(self, kind: str, item_id: str, name: str, earlier: dt.date, later: dt.date) -> int:
        """Working days from ``earlier`` to ``later``; an impossible order (see FactSpec.may_precede) is recorded."""
        spec = CATALOGUE[kind][name]
        if later < earlier and not spec.may_precede:
            self.problems[problem_key(kind, item_id, name)] = (
                f"{spec.later} is dated {later.isoformat()}, before {spec.earlier} on {earlier.isoformat()}")
        return self.wd(earlier, later)

    def since_order(self, name: str, day: dt.date | None) -> int | None:
        """Working days from the day the order was made (the sentence date) to ``day``: every order's
        assessment, plan and panel clock (domain-standards.md rows 5.1-5.4, section 8)."""
        return self.measure(CASE_KIND, "", name, self.r.order.sentence_date, day) if day else None

    def run(self) -> CaseFacts:
        self.order()
        self.assessments()
        self.plans()
        self.court()
        self.joint_work()
        self.contacts()
        self.enforcement()
        self.changes()
        self.judgements()
        return CaseFacts(case_id=self.r.case_id, case=self.case, items=self.items, problems=self.problems)

    def order(self) -> None:
        order, c = self.r.order, self.case
        c["order_type"] = order.order_type.value
        _put(c, "intervention_level", order.intervention_level.value if order.intervention_level else None)
        _put(c, "child_age", _age(self.r))
        c["working_days_since_sentence"] = self.wd(order.sentence_date, self.as_of)
        c["months_since_order"] = months_between(order.sentence_date, self.until)
        c["order_date"] = order.sentence_date.isoformat()
        if order.start_date is not None:
            c["working_days_since_start"] = self.wd(order.start_date, self.as_of)
            c["months_since_start"] = months_between(order.start_date, self.until)
        if order.main_offence_category is not None:
            c["offence_violent_or_sexual"] = order.main_offence_category in _VIOLENT_OR_SEXUAL
        if order.order_type is OrderType.referral_order:
            c["contract_signed"] = bool(order.contract_signed_date and order.contract_signed_date <= self.as_of)
            if order.first_panel_date and order.first_panel_date <= self.as_of:
                c["first_panel_working_days"] = self.since_order("first_panel_working_days", order.first_panel_date)

    def assessments(self) -> None:
        c, done = self.case, self.done
        initial = [a for a in done if a.stage is AssessmentStage.start_of_order]
        first: Assessment | None = initial[0] if initial else None
        c["initial_assessment_completed"] = first is not None
        c["rosh_screened"] = bool(first and first.risk_of_serious_harm is not None)
        c["sw_screened"] = bool(first and first.safety_and_wellbeing is not None)
        if first is not None:
            _put(c, "initial_assessment_working_days", self.since_order("initial_assessment_working_days",
                                                                        first.completed_date))
            c["initial_assessment_months_before_order"] = months_between(first.completed_date,
                                                                         self.r.order.sentence_date)
            c["initial_lor_recorded"] = first.likelihood_of_reoffending is not None
            c["initial_factors_recorded"] = bool(first.factors)
            c["relevant_behaviour_considered"] = bool(first.relevant_behaviour_considered)
            c["initial_assessment_countersigned"] = bool(first.countersigned_date and first.countersigned_date <= self.as_of)
            later = [a.completed_date for a in done if a.completed_date > first.completed_date]
            c["assessment_longest_unreviewed_months"] = _longest_gap(first.completed_date, later, self.until)
            if first.safety_and_wellbeing is not None:
                c["sw_start_level"] = LEVEL_RANK[first.safety_and_wellbeing]
            for factor in first.factors:
                self.items["factor"].append({"id": f"{first.assessment_id}:{factor.category}",
                                             "category": factor.category, "rating": LEVEL_RANK[factor.rating]})
        rated = [a for a in done if a.risk_of_serious_harm is not None]
        if rated:
            latest = rated[-1]
            c["rosh_level"] = LEVEL_RANK[latest.risk_of_serious_harm]
            _put(c, "rosh_full_analysis", latest.rosh_full_analysis)
            c["rosh_longest_unreviewed_months"] = _longest_gap(rated[0].completed_date,
                                                               [a.completed_date for a in rated], self.until)
            if latest.countersigned_date and latest.countersigned_date <= self.as_of:
                c["rosh_countersign_working_days"] = self.measure(CASE_KIND, "", "rosh_countersign_working_days",
                                                                  latest.completed_date, latest.countersigned_date)
        sw = [a for a in done if a.safety_and_wellbeing is not None]
        c["sw_reviewed"] = False
        if sw:
            c["sw_level"] = LEVEL_RANK[sw[-1].safety_and_wellbeing]
            c["sw_reviewed"] = bool(first and any(a.completed_date > first.completed_date for a in sw))
            c["sw_longest_unreviewed_months"] = _longest_gap(sw[0].completed_date, [a.completed_date for a in sw],
                                                             self.until)
        events = [e for e in self.r.safeguarding_events if e.date <= self.as_of]
        c["exploitation_indicators"] = any(a.exploitation_indicators for a in done) or any(
            e.type in ("exploitation_concern", "missing") for e in events)
        c["exploitation_screened"] = any(
            a.exploitation_screening and a.exploitation_screening.date <= self.as_of for a in self.r.assessments)
        c["health_screened"] = any(a.health_screened for a in done)
        considered = [a for a in done if a.mappa_eligible is not None]
        c["mappa_considered"] = bool(considered)
        if considered:
            c["mappa_eligible"] = bool(considered[-1].mappa_eligible)
            c["mappa_category_recorded"] = any(a.mappa_category is not None for a in done)
            c["mappa_level_recorded"] = any(a.mappa_level is not None for a in done)
        needs: dict[Need, dt.date] = {}
        for a in done:
            for need in a.identified_needs:
                needs.setdefault(need, a.completed_date)
        referrals: dict[Need, dt.date] = {}
        for ref in sorted(self.r.referrals, key=lambda x: x.referred_date or dt.date.max):
            if ref.referred_date and ref.referred_date <= self.as_of:
                referrals.setdefault(ref.need, ref.referred_date)
                self.items["referral"].append({"id": ref.referral_id, "need": ref.need.value})
        for need, found in sorted(needs.items(), key=lambda kv: kv[0].value):
            item = {"id": need.value, "need": need.value, "working_days_since": self.wd(found, self.as_of)}
            if need in referrals:
                item["referral_working_days"] = self.wd(found, referrals[need])
            self.items["need"].append(item)

    def _plan_facts(self, plans: list[Plan], prefix: str) -> Plan | None:
        c = self.case
        c[f"{prefix}_recorded"] = bool(plans)
        if not plans:
            return None
        plan = plans[0]
        _put(c, f"{prefix}_working_days", self.since_order(f"{prefix}_working_days", plan.created_date))
        reviews = [r.date for p in plans for r in p.reviews if r.date <= self.as_of]
        gap = f"{prefix}_longest_unreviewed_months"
        early = sorted((r.date, p.created_date) for p in plans for r in p.reviews if r.date < p.created_date)
        if early:
            # a review dated before the plan it reviews: impossible, so the gap cannot be measured
            spec = CATALOGUE[CASE_KIND][gap]
            self.problems[problem_key(CASE_KIND, "", gap)] = (
                f"{spec.later} is dated {early[0][0].isoformat()}, before {spec.earlier} on {early[0][1].isoformat()}")
            c[gap] = -1.0
        else:
            c[gap] = _longest_gap(plan.created_date, reviews, self.until)
        return plan

    def plans(self) -> None:
        c = self.case

        def of(*types: PlanType) -> list[Plan]:
            return sorted((p for p in self.r.plans if p.plan_type in types and p.created_date <= self.as_of),
                          key=lambda p: (p.created_date, p.plan_id))

        c["intervention_plan_recorded"] = False
        plan = self._plan_facts(of(PlanType.intervention, PlanType.referral_order_contract), "plan")
        c["intervention_plan_recorded"] = c.pop("plan_recorded")
        if plan is not None:
            reviews = {r.date for p in self.r.plans for r in p.reviews
                       if p.plan_type in (PlanType.intervention, PlanType.referral_order_contract) and r.date <= self.as_of}
            c["plan_review_count"] = len(reviews)
            _put(c, "plan_child_involved", plan.child_involved)
            _put(c, "plan_parent_involved", plan.parent_involved)
            _put(c, "plan_diversity_addressed", plan.diversity_addressed)
            _put(c, "plan_barriers_addressed", plan.barriers_addressed)
            c["plan_countersigned"] = bool(plan.countersigned_date and plan.countersigned_date <= self.as_of)
            for p in of(PlanType.intervention, PlanType.referral_order_contract):
                for n, objective in enumerate(p.objectives):
                    if objective.factor_category:
                        self.items["objective"].append({"id": f"{p.plan_id}:{n}",
                                                        "factor_category": objective.factor_category})
        risk = self._plan_facts(of(PlanType.risk_of_harm), "risk_plan")
        if risk is not None:
            _put(c, "risk_plan_contingency", risk.contingency_recorded)
        safety = self._plan_facts(of(PlanType.safety_and_wellbeing), "safety_plan")
        if safety is not None:
            _put(c, "safety_plan_contingency", safety.contingency_recorded)

    def court(self) -> None:
        court, c = self.r.court, self.case
        c["psr_requested"] = bool(court and court.psr_requested_date and court.psr_requested_date <= self.as_of)
        c["psr_submitted"] = False
        if not court or not c["psr_requested"]:
            return
        submitted = court.psr_submitted_date if court.psr_submitted_date and court.psr_submitted_date <= self.as_of else None
        c["psr_submitted"] = submitted is not None
        if court.psr_due_date:
            c["psr_due_passed"] = court.psr_due_date <= self.as_of
            if submitted:
                c["psr_late_working_days"] = self.wd(court.psr_due_date, submitted)
        if submitted:
            qa = court.psr_quality_assured_date
            c["psr_qa_before_submission"] = bool(qa and qa <= submitted)
            _put(c, "psr_covers_risk_of_harm", court.psr_covers_risk_of_harm)
            _put(c, "psr_covers_vulnerability", court.psr_covers_vulnerability)

    def joint_work(self) -> None:
        c, child = self.case, self.r.child
        c["social_care_status"] = child.looked_after or child.child_protection_plan or child.child_in_need
        dates = [e.date for e in self.r.safeguarding_events if e.type in _SOCIAL_CARE_EVENTS and e.date <= self.as_of]
        dates += [r.referred_date for r in self.r.referrals
                  if r.need is Need.children_social_care and r.referred_date and r.referred_date <= self.as_of]
        if dates:
            c["social_care_contact_working_days"] = self.since_order("social_care_contact_working_days", min(dates))
        made = self.r.order.sentence_date
        entries = [o for o in self.r.oversight if o.decision_recorded and o.date <= self.as_of]
        risk = [o.date for o in entries if o.target in _RISK_TARGETS]
        sw = [o.date for o in entries if o.target in _SW_TARGETS]
        c["risk_oversight_recorded"] = bool(risk)
        c["sw_oversight_recorded"] = bool(sw)
        c["risk_oversight_longest_gap_months"] = _longest_gap(made, risk, self.until)
        c["sw_oversight_longest_gap_months"] = _longest_gap(made, sw, self.until)
        for o in self.r.oversight:
            if o.date <= self.as_of:
                self.items["oversight"].append({
                    "id": o.entry_id, "date": o.date.isoformat(), "decision_recorded": o.decision_recorded,
                    "actions_requested": o.actions_requested, "actions_completed": o.actions_completed,
                    "working_days_since": self.wd(o.date, self.as_of)})

    def contacts(self) -> None:
        c, sentence = self.case, self.r.order.sentence_date
        contacts = sorted((k for k in self.r.contacts if k.date <= self.as_of), key=lambda k: (k.date, k.contact_id))
        after_sentence = [k for k in contacts if k.date >= sentence and k.type != "panel"]
        if after_sentence:
            c["first_contact_working_days"] = self.wd(sentence, after_sentence[0].date)
        visits = [k for k in contacts if k.type == "home_visit" and k.date >= sentence]
        if visits:
            c["home_visit_working_days"] = self.wd(sentence, visits[0].date)
        start = self.r.order.start_date
        if start:
            counts = [k.date for k in contacts if k.counts_towards_required]
            first, after = [], []
            k = 0
            while start + dt.timedelta(days=28 * (k + 1)) <= self.until:
                lo, hi = start + dt.timedelta(days=28 * k), start + dt.timedelta(days=28 * (k + 1))
                (first if k < 3 else after).append(sum(1 for d in counts if lo <= d < hi))
                k += 1
            if first:
                c["contacts_min_first_12_weeks"] = min(first)
            if after:
                c["contacts_min_after_12_weeks"] = min(after)
        for k in contacts:
            if k.outcome is ContactOutcome.attended:
                continue
            item = {"id": k.contact_id, "contact_id": k.contact_id, "date": k.date.isoformat(),
                    "classified": k.outcome is not ContactOutcome.not_recorded,
                    "working_days_since": self.wd(k.date, self.as_of)}
            if k.follow_up_date and k.follow_up_date <= self.as_of:
                item["follow_up_working_days"] = self.measure("absence", k.contact_id, "follow_up_working_days",
                                                              k.date, k.follow_up_date)
            self.items["absence"].append(item)

    def enforcement(self) -> None:
        warnings = sorted(e.date for e in self.r.enforcement
                          if e.action in (EnforcementActionType.warning, EnforcementActionType.final_warning)
                          and e.date <= self.as_of)
        period = self.settings.warned_period_months
        failures: dict[str, dt.date] = {}
        for contact in sorted(self.r.contacts, key=lambda k: (k.date, k.contact_id)):
            if contact.outcome is not ContactOutcome.unacceptable_absence or contact.date > self.as_of:
                continue
            self.items["failure"].append({
                "id": contact.contact_id,
                "contact_id": contact.contact_id,
                "date": contact.date.isoformat(),
                "working_days_since": self.wd(contact.date, self.as_of),
                "prior_warnings_in_warned_period": sum(1 for w in warnings if w < contact.date <= add_months(w, period)),
                "prior_failures": len(failures),
            })
            failures[contact.contact_id] = contact.date
        for action in self.r.enforcement:
            if action.date > self.as_of:
                continue
            authorised = action.manager_authorised_by is not None
            self.items["enforcement"].append({"id": action.action_id, "action_id": action.action_id,
                                              "action": action.action.value, "date": action.date.isoformat(),
                                              "manager_authorised": authorised})
            for cid in action.answers_contact_ids:
                if cid in failures:
                    rid = f"{action.action_id}>{cid}"
                    self.items["response"].append({
                        "id": rid,
                        "action_id": action.action_id,
                        "action": action.action.value,
                        "answers_contact_id": cid,
                        "date": action.date.isoformat(),
                        "working_days_after": self.measure("response", rid, "working_days_after", failures[cid],
                                                           action.date),
                        "manager_authorised": authorised,
                    })

    def changes(self) -> None:
        reviews = sorted(r.date for p in self.r.plans for r in p.reviews if r.date <= self.as_of)
        for change in sorted(self.r.significant_changes, key=lambda x: (x.date, x.change_id)):
            if change.date > self.as_of:
                continue
            item = {"id": change.change_id, "change_id": change.change_id, "type": change.type,
                    "date": change.date.isoformat(), "working_days_since": self.wd(change.date, self.as_of)}
            after = [a.completed_date for a in self.done if a.completed_date >= change.date]
            if after:
                item["assessment_review_working_days"] = self.wd(change.date, after[0])
            later_reviews = [d for d in reviews if d >= change.date]
            if later_reviews:
                item["plan_review_working_days"] = self.wd(change.date, later_reviews[0])
            self.items["change"].append(item)

    def judgements(self) -> None:
        """Each criterion's practice judgement: the latest answer to each of its questions, rolled up.

        Roll-up (../shared/reference/sqs-case-questions.md section 4; a product choice, stated in the
        report's method note): "no" if any question is answered no; unknown (the fact is left out, so the
        rule gives insufficient_data: not yet judged) if any is still blank; "yes" if every question is yes
        or not applicable with at least one yes; "not_applicable" if every one is not applicable;
        "not_audited" when no question of the criterion was put to an auditor by the audit date.
        """
        latest: dict[str, dict[str, str | None]] = {c: {} for c in CRITERIA_KEYS}
        for j in sorted(self.r.practice_judgements, key=lambda x: x.date):
            if j.date <= self.as_of:
                latest[j.criterion][j.question] = j.answer
        for criterion, answers in latest.items():
            rolled = roll_up(list(answers.values()))
            if rolled is not None:
                self.case[_judgement_fact(criterion)] = rolled


def roll_up(answers: list[str | None]) -> str | None:
    """One criterion's practice judgement from its questions' answers (None = not yet answered).

    ``no`` if any is no; None (not yet judged) if any is unanswered; ``yes`` if any is yes;
    ``not_applicable`` if all are; ``not_audited`` if there are none.
    """
    if not answers:
        return "not_audited"
    if "no" in answers:
        return "no"
    if None in answers:
        return None
    return "yes" if "yes" in answers else "not_applicable"


def derive(record: CaseRecord, as_of: dt.date, calendar: WorkingCalendar, settings: FactSettings) -> CaseFacts:
    """Reduce a record to the facts rules test, as of the audit date. Pure: no clock, no I/O."""
    return _Deriver(record, as_of, calendar, settings).run()
