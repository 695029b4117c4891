"""The case record: one child's order under supervision, as exported from a case-management system.

Names and enumerations follow ../shared/reference/case-data-model.md: YJB Child Level Data
(legal outcomes, care status), AssetPlus judgements (likelihood of reoffending, risk of serious
harm, safety and wellbeing, scaled-approach level, MAPPA) and probation contact outcomes and
enforcement actions. Unknown fields are an error (``extra="forbid"``), so a misspelt column
never silently turns into "not recorded".

Personal details (name, date of birth, address, free-text notes) may be present in an export;
they are validated like everything else but never logged and never copied into findings.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from qa_engine.base.text import first_control

__all__ = [
    "OPTIONAL_FIELDS",
    "OPTIONAL_PARTS",
    "PERSONAL_FIELDS",
    "STAFF_FIELDS",
    "Assessment",
    "AssessmentStage",
    "CaseRecord",
    "Child",
    "Contact",
    "ContactOutcome",
    "CourtWork",
    "EnforcementAction",
    "EnforcementActionType",
    "InterventionLevel",
    "Level",
    "Need",
    "OffenceCategory",
    "OrderType",
    "OversightEntry",
    "Plan",
    "PlanReview",
    "PlanType",
    "PracticeJudgement",
    "Referral",
    "SafeguardingEvent",
    "SignificantChange",
]

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")]
"""A pseudonymous identifier: letters, digits and . _ : / - only, so it is safe in logs and file names."""

EARLIEST = dt.date(1990, 1, 1)
LATEST = dt.date(2100, 12, 31)


def _date_text_only(value: object) -> object:
    """Dates arrive as ISO text (2016-02-15); a number is not read as a timestamp."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        msg = "a date must be written as text like 2016-02-15, not as a number"
        raise ValueError(msg)
    return value


def _date_in_range(value: dt.date) -> dt.date:
    if not EARLIEST <= value <= LATEST:
        msg = f"the date is out of range ({EARLIEST.isoformat()} to {LATEST.isoformat()})"
        raise ValueError(msg)
    return value


Day = Annotated[dt.date, BeforeValidator(_date_text_only), AfterValidator(_date_in_range)]
"""A calendar date in ISO text, between 1990 and 2100 (anything else is a data error, not a date)."""

def _blank_is_none(value: str) -> str | None:
    return value or None


Text = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(_blank_is_none)]
"""Free text from the case file. Never logged; shown only as escaped text. Blank text is no text (None), as an
empty spreadsheet cell is."""

PERSONAL_FIELDS = frozenset({"name", "date_of_birth", "address", "note", "decision_text"})
"""Field names whose values must never reach a log line or a rejection reason."""


OPTIONAL_PARTS = ("court", "assessments", "assessments.factors", "plans", "plans.objectives", "plans.reviews",
                  "contacts", "enforcement", "referrals", "safeguarding_events", "significant_changes", "oversight",
                  "practice_judgements")
"""The parts of a case record an export may not hold (each a table of a mapping; court may also be columns of the
record table). A part an export does not hold is unknown for its cases, never "none recorded" (see not_exported)."""

OPTIONAL_FIELDS = ("child.looked_after", "child.child_protection_plan", "child.child_in_need",
                   "order.contract_signed_date", "order.first_panel_date", "order.intervention_level",
                   "order.main_offence_category", "assessments.rosh_full_analysis",
                   "assessments.exploitation_screening.date", "plans.child_involved", "plans.parent_involved",
                   "plans.diversity_addressed", "plans.barriers_addressed", "plans.contingency_recorded",
                   "assessments.completed_date", "assessments.likelihood_of_reoffending",
                   "assessments.risk_of_serious_harm", "assessments.relevant_behaviour_considered",
                   "assessments.safety_and_wellbeing", "assessments.countersigned_date", "assessments.mappa_eligible",
                   "assessments.mappa_category", "assessments.mappa_level", "assessments.exploitation_indicators",
                   "assessments.health_screened", "assessments.identified_needs", "plans.countersigned_date",
                   "plans.objectives.factor_category", "contacts.follow_up_date", "enforcement.answers_contact_ids",
                   "enforcement.manager_authorised_by", "referrals.referred_date", "oversight.decision_recorded",
                   "oversight.actions_requested", "oversight.actions_completed")
"""Fields an export may hold no column for while it holds their part, and whose absence would otherwise read as a
definite no (no countersignature, not screened, no follow-up): a field the mapping does not read is unknown for every
case, like a part (see not_exported). facts/parts.py says which facts rest on each."""

STAFF_FIELDS = frozenset({"case_manager_id", "psr_quality_assured_by", "countersigned_by", "manager_authorised_by",
                          "manager_id", "auditor_id"})
"""Fields that name a member of staff: a label for grouping and display (a case-management report view writes
"Smith, Jo"), never a key a rule joins on. Staff personal data: never logged, never shown in a rejection reason, and
pseudonymised with the ids under --pseudonymise."""


def _one_line(value: str) -> str:
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in value):
        msg = "a member of staff must be one line of text (this holds a line break or control character)"
        raise ValueError(msg)
    return value


StaffLabel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                       AfterValidator(_one_line)]
"""A member of staff as the export names them: an id (MGR-1) or a name ("Smith, Jo"), trimmed, any characters on one
line, at most 100 of them. Grouped and shown, never joined on (see STAFF_FIELDS)."""


def _no_control(value: str) -> str:
    found = first_control(value)
    if found:
        msg = f"contains a control character ({found}): remove it from the export (see qa_engine.base.text)"
        raise ValueError(msg)
    return value


Label = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_no_control)]
"""A short label from the export that is shown in outputs (a team, a factor category, a requirement): no control
characters (they are refused, naming the character, never the text)."""


def _field_error(loc: tuple[str | int, ...], message: str, value: object = None) -> ValidationError:
    """A check across fields, reported at the field it concerns (so a message can name the export's column)."""
    return ValidationError.from_exception_data("CaseRecord", [InitErrorDetails(
        type=PydanticCustomError("record_check", message.replace("{", "{{").replace("}", "}}")), loc=loc, input=value)])


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Level(str, Enum):
    """AssetPlus four-point judgement (risk of serious harm, safety and wellbeing, likelihood of reoffending)."""

    low = "low"
    medium = "medium"
    high = "high"
    very_high = "very_high"


LEVEL_RANK = {Level.low: 1, Level.medium: 2, Level.high: 3, Level.very_high: 4}
"""Levels compared as ordered values: rules test ranks, never strings."""
LEVEL_NAME = {rank: level.value for level, rank in LEVEL_RANK.items()}
"""A rank back to its level's name."""


class InterventionLevel(str, Enum):
    """Scaled-approach intervention level (YJB Scaled Approach, 2009/10)."""

    standard = "standard"
    enhanced = "enhanced"
    intensive = "intensive"


class OrderType(str, Enum):
    """Court disposal under supervision (CLD ``legalOutcome`` / ``disposalType``, narrowed to supervised orders)."""

    referral_order = "referral_order"
    youth_rehabilitation_order = "youth_rehabilitation_order"
    youth_rehabilitation_order_iss = "youth_rehabilitation_order_iss"
    detention_and_training_order_licence = "detention_and_training_order_licence"
    section_250_licence = "section_250_licence"
    reparation_order = "reparation_order"
    youth_conditional_caution = "youth_conditional_caution"
    other = "other"


ORDER_TYPE_LABELS = {
    OrderType.referral_order: "referral order",
    OrderType.youth_rehabilitation_order: "youth rehabilitation order",
    OrderType.youth_rehabilitation_order_iss: "youth rehabilitation order with ISS",
    OrderType.detention_and_training_order_licence: "detention and training order licence",
    OrderType.section_250_licence: "section 250 licence",
    OrderType.reparation_order: "reparation order",
    OrderType.youth_conditional_caution: "youth conditional caution",
    OrderType.other: "other order",
}
"""Each order type as a manager would write it (ISS, Intensive Supervision and Surveillance, stays capitals)."""


def order_type_label(value: str) -> str:
    """The order type ``value`` (e.g. ``youth_rehabilitation_order_iss``) in words; an unknown value with spaces."""
    try:
        return ORDER_TYPE_LABELS[OrderType(value)]
    except ValueError:
        return value.replace("_", " ")


class OffenceCategory(str, Enum):
    """Main offence category (CLD ``yjboffenceCategory``, lower-cased)."""

    violence_against_the_person = "violence_against_the_person"
    sexual_offences = "sexual_offences"
    robbery = "robbery"
    burglary = "burglary"
    theft_and_handling = "theft_and_handling"
    criminal_damage = "criminal_damage"
    arson = "arson"
    drugs = "drugs"
    motoring_offences = "motoring_offences"
    public_order = "public_order"
    fraud_and_forgery = "fraud_and_forgery"
    breach_of_statutory_order = "breach_of_statutory_order"
    other = "other"
    not_known = "not_known"


class Need(str, Enum):
    """A need an assessment identifies and a referral answers (YJB KPIs 4 and 5; SQS criteria 3.3 and 4.1)."""

    mental_health = "mental_health"
    substance_misuse = "substance_misuse"
    education = "education"
    speech_language = "speech_language"
    physical_health = "physical_health"
    accommodation = "accommodation"
    children_social_care = "children_social_care"
    parenting = "parenting"
    other = "other"


class Sex(str, Enum):
    """Sex as recorded in CLD ``person_details.sex``."""

    male = "male"
    female = "female"
    not_known = "not_known"


class Ethnicity(str, Enum):
    """Ethnic group, as the YJB's case-reporting views group it."""

    white = "white"
    mixed = "mixed"
    asian_or_asian_british = "asian_or_asian_british"
    black_or_black_british = "black_or_black_british"
    other_ethnic_group = "other_ethnic_group"
    not_obtainable = "information_not_obtainable"


class Child(_Model):
    """The child: pseudonymous id, age or date of birth, sex, ethnicity and care status."""

    child_id: Id
    name: Text | None = Field(default=None, description="Personal: never logged or reported.")
    date_of_birth: Day | None = Field(default=None, description="Personal: never logged or reported.")
    address: Text | None = Field(default=None, description="Personal: never logged or reported.")
    age_at_sentence: int | None = Field(default=None, ge=10, le=21)
    sex: Sex = Sex.not_known
    ethnicity: Ethnicity = Ethnicity.not_obtainable
    looked_after: bool = False
    child_protection_plan: bool = False
    child_in_need: bool = False
    send_identified: bool | None = None


class Requirement(_Model):
    """A requirement of a youth rehabilitation order (supervision, curfew, reparation, ...)."""

    type: Label
    start_date: Day | None = None


class Order(_Model):
    """The order the service supervises; a referral order starts when the contract is signed."""

    order_id: Id
    order_type: OrderType
    sentence_date: Day
    start_date: Day | None = Field(
        default=None, description="Referral order: the date the contract was signed. Others: usually the sentence date."
    )
    contract_signed_date: Day | None = None
    first_panel_date: Day | None = None
    expected_end_date: Day | None = None
    actual_end_date: Day | None = None
    length_months: int | None = Field(default=None, ge=0, le=48)
    intervention_level: InterventionLevel | None = None
    requirements: list[Requirement] = Field(default_factory=list)
    main_offence_category: OffenceCategory | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Order:
        if self.start_date and self.start_date < self.sentence_date:
            raise _field_error(("start_date",), "start_date is before sentence_date", self.start_date)
        end = self.actual_end_date or self.expected_end_date
        if end and self.start_date and end < self.start_date:
            which = "actual_end_date" if self.actual_end_date else "expected_end_date"
            raise _field_error((which,), "the order ends before it starts", end)
        if (
            self.order_type is OrderType.referral_order
            and self.contract_signed_date
            and self.start_date
            and self.start_date != self.contract_signed_date
        ):
            raise _field_error(("start_date",), "a referral order starts on the day the contract is signed: start_date "
                               "must equal contract_signed_date", self.start_date)
        return self


class CourtWork(_Model):
    """Pre-sentence report: requested, due, submitted and quality-assured by a manager."""

    psr_requested_date: Day | None = None
    psr_due_date: Day | None = None
    psr_submitted_date: Day | None = None
    psr_quality_assured_date: Day | None = None
    psr_quality_assured_by: StaffLabel | None = None
    psr_covers_risk_of_harm: bool | None = None
    psr_covers_vulnerability: bool | None = None


class AssessmentStage(str, Enum):
    """AssetPlus stage type."""

    pre_sentence = "pre_sentence"
    start_of_order = "start_of_order"
    review = "review"
    end_of_order = "end_of_order"
    transfer = "transfer"
    custody = "custody"
    release = "release"


class ExploitationScreening(_Model):
    """Child sexual or criminal exploitation screening, and its result."""

    date: Day
    result: Level


class Factor(_Model):
    """A factor for or against desistance, with its rating (AssetPlus ``factorsAgainstDesistance``)."""

    category: Label
    rating: Level


class Assessment(_Model):
    """An AssetPlus stage: dates, the three judgements, countersignature and MAPPA."""

    assessment_id: Id
    stage: AssessmentStage
    trigger: Literal["scheduled", "new_offence", "custody", "change_of_address", "change_of_care_status", "other"] | None = None
    started_date: Day | None = None
    completed_date: Day | None = None
    likelihood_of_reoffending: Level | None = None
    risk_of_serious_harm: Level | None = None
    rosh_full_analysis: bool | None = Field(
        default=None, description="A full risk-of-harm analysis was completed (not only the screening)."
    )
    relevant_behaviour_considered: bool | None = None
    safety_and_wellbeing: Level | None = None
    intervention_level: InterventionLevel | None = None
    countersigned_by: StaffLabel | None = None
    countersigned_date: Day | None = None
    mappa_eligible: bool | None = None
    mappa_category: Literal[1, 2, 3] | None = None
    mappa_level: Literal[1, 2, 3] | None = None
    exploitation_indicators: bool | None = None
    exploitation_screening: ExploitationScreening | None = None
    health_screened: bool | None = Field(
        default=None, description="Physical, emotional and mental health, substance use and speech needs screened."
    )
    identified_needs: list[Need] = Field(default_factory=list)
    factors: list[Factor] = Field(default_factory=list)

    @model_validator(mode="after")
    def _completed_after_started(self) -> Assessment:
        if self.started_date and self.completed_date and self.completed_date < self.started_date:
            raise _field_error(("completed_date",), "completed_date is before started_date", self.completed_date)
        return self


class PlanType(str, Enum):
    """Kind of plan (AssetPlus Pathways and Planning; risk and safety plans)."""

    intervention = "intervention"
    risk_of_harm = "risk_of_harm"
    safety_and_wellbeing = "safety_and_wellbeing"
    referral_order_contract = "referral_order_contract"


class PlanReview(_Model):
    """A review of a plan, and what triggered it."""

    date: Day
    trigger: Literal["scheduled", "new_offence", "risk_change", "custody", "change_of_address", "safeguarding", "other"] = (
        "scheduled"
    )


class Objective(_Model):
    """A plan objective and the assessed factor it answers."""

    factor_category: Label | None = None
    text: Text | None = None


class Plan(_Model):
    """An intervention, risk-of-harm or safety-and-wellbeing plan and its reviews."""

    plan_id: Id
    plan_type: PlanType
    created_date: Day
    child_involved: bool | None = None
    parent_involved: bool | None = None
    diversity_addressed: bool | None = None
    barriers_addressed: bool | None = None
    contingency_recorded: bool | None = None
    countersigned_date: Day | None = None
    objectives: list[Objective] = Field(default_factory=list)
    reviews: list[PlanReview] = Field(default_factory=list)


class ContactOutcome(str, Enum):
    """What happened at a contact (nDelius ``ContactOutcomeType`` semantics, reduced to what QA needs)."""

    attended = "attended"
    acceptable_absence = "acceptable_absence"
    unacceptable_absence = "unacceptable_absence"
    not_recorded = "not_recorded"


class Contact(_Model):
    """An appointment or contact; unacceptable absences are failures to comply."""

    contact_id: Id
    date: Day
    type: Literal[
        "office", "home_visit", "panel", "reparation", "programme", "education", "health", "phone",
        "multi_agency_meeting", "follow_up", "other",
    ]
    counts_towards_required: bool = True
    outcome: ContactOutcome
    follow_up_date: Day | None = None
    note: Text | None = Field(default=None, description="Free text: never logged or reported.")


class EnforcementActionType(str, Enum):
    """Warnings, referral back to panel and breach (Sentencing Act 2020 Sch 7; referral order s.92)."""

    warning = "warning"
    final_warning = "final_warning"
    return_to_panel = "return_to_panel"
    breach_requested = "breach_requested"
    breach_laid = "breach_laid"
    exceptional_circumstances = "exceptional_circumstances"
    no_further_action = "no_further_action"


class EnforcementAction(_Model):
    """A warning, return to panel, breach, or recorded exceptional circumstances, and the contacts it answers."""

    action_id: Id
    action: EnforcementActionType
    date: Day
    answers_contact_ids: list[Id] = Field(default_factory=list)
    manager_authorised_by: StaffLabel | None = None
    manager_authorised_date: Day | None = None
    note: Text | None = Field(default=None, description="Free text: never logged or reported.")


class Referral(_Model):
    """A referral to another agency for an identified need."""

    referral_id: Id
    need: Need
    need_identified_date: Day | None = None
    referred_date: Day | None = None
    offered_date: Day | None = None


class SafeguardingEvent(_Model):
    """A safeguarding event: missing episode, exploitation concern, strategy meeting, conference..."""

    event_id: Id
    date: Day
    type: Literal[
        "missing", "exploitation_concern", "self_harm", "strategy_meeting", "child_protection_conference",
        "looked_after_review", "nrm_referral", "information_shared_with_social_care", "other",
    ]
    note: Text | None = Field(default=None, description="Free text: never logged or reported.")


class SignificantChange(_Model):
    """A change that calls for the assessment and plans to be reviewed (new offence, custody, move, care status)."""

    change_id: Id
    date: Day
    type: Literal["new_offence", "custody", "release", "change_of_address", "change_of_care_status", "risk_change",
                  "safeguarding_incident"]


class OversightEntry(_Model):
    """A management-oversight entry: who looked at what, and whether a decision was recorded."""

    entry_id: Id
    date: Day
    manager_id: StaffLabel
    target: Literal["assessment", "plan", "risk_of_harm", "safety_and_wellbeing", "enforcement", "case"]
    decision_recorded: bool = False
    actions_requested: int = Field(default=0, ge=0)
    actions_completed: int = Field(default=0, ge=0)
    decision_text: Text | None = Field(default=None, description="Free text: never logged or reported.")


class PracticeJudgement(_Model):
    """An auditing manager's yes / no / not applicable answer to a criterion question.

    ``answer`` null means the question was put to the auditor and not yet answered (a blank on the
    audit form): the criterion is then not yet judged for the case.
    """

    criterion: Annotated[str, StringConstraints(pattern=r"^([1-4]\.[1-4]|OM)$")]
    question: Annotated[str, StringConstraints(min_length=1, max_length=500), AfterValidator(_no_control)]
    answer: Literal["yes", "no", "not_applicable"] | None = Field(
        description="yes, no, not_applicable, or null: asked and not yet answered.")
    auditor_id: StaffLabel | None = Field(default=None, description="Who answered; required with an answer.")
    date: Day

    @model_validator(mode="after")
    def _answer_has_auditor(self) -> PracticeJudgement:
        if self.answer is not None and self.auditor_id is None:
            raise PydanticCustomError("record_check", "an answer needs the auditor_id of who gave it")
        return self


class CaseRecord(_Model):
    """One child's order under supervision: everything the SQS criteria need, and nothing they ignore."""

    case_id: Id
    team: Label | None = None
    case_manager_id: StaffLabel | None = None
    child: Child
    order: Order
    court: CourtWork | None = None
    assessments: list[Assessment] = Field(default_factory=list)
    plans: list[Plan] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)
    enforcement: list[EnforcementAction] = Field(default_factory=list)
    referrals: list[Referral] = Field(default_factory=list)
    safeguarding_events: list[SafeguardingEvent] = Field(default_factory=list)
    significant_changes: list[SignificantChange] = Field(default_factory=list)
    oversight: list[OversightEntry] = Field(default_factory=list)
    practice_judgements: list[PracticeJudgement] = Field(default_factory=list)
    not_exported: list[Literal[OPTIONAL_PARTS + OPTIONAL_FIELDS]] = Field(  # type: ignore[valid-type]
        default_factory=list,
        description="Parts of the record the export does not hold (its mapping reads no table for them), and fields "
                    "of held parts it has no column for, so they are unknown for this case rather than empty: a rule "
                    "resting on one gives insufficient_data. Set by the mapping for a record read from tables.")

    @model_validator(mode="before")
    @classmethod
    def _empty_court_is_none(cls, data: object) -> object:
        """A court section with nothing recorded is no court section (as a row of empty cells is)."""
        if isinstance(data, dict) and isinstance(data.get("court"), dict) and not any(
                v is not None for v in data["court"].values()):
            return {k: v for k, v in data.items() if k != "court"}
        return data

    @model_validator(mode="after")
    def _ids_unique_and_links_resolve(self) -> CaseRecord:
        """Each item of a list is there once: a repeated id (a row a joined export repeated, say) is refused, as the
        rule engine would refuse it, naming the item in the export's words (``enforcement action E-1 appears
        twice``). An enforcement action answers each contact once, and only contacts of this case."""
        for field, id_field, label in _ITEM_IDS:
            _refuse_repeats(((field, index, id_field), getattr(item, id_field), label)
                            for index, item in enumerate(getattr(self, field)))
        for index, assessment in enumerate(self.assessments):
            _refuse_repeats(((("assessments", index, "factors", n, "category"), factor.category,
                              "factor {id} appears twice in assessment " + assessment.assessment_id)
                             for n, factor in enumerate(assessment.factors)), template=True)
        known = {contact.contact_id for contact in self.contacts}
        for index, action in enumerate(self.enforcement):
            _refuse_repeats(((("enforcement", index, "answers_contact_ids", n), cid,
                              f"enforcement action {action.action_id} answers contact {{id}} twice")
                             for n, cid in enumerate(action.answers_contact_ids)), template=True)
            for cid in action.answers_contact_ids:
                if cid not in known:
                    raise _field_error(("enforcement", index, "answers_contact_ids"),
                                       f"enforcement action {action.action_id} answers contact {cid}, which is not in "
                                       "this case", cid)
        return self


_ITEM_IDS = (("assessments", "assessment_id", "assessment"), ("plans", "plan_id", "plan"),
             ("contacts", "contact_id", "contact"), ("enforcement", "action_id", "enforcement action"),
             ("referrals", "referral_id", "referral"), ("safeguarding_events", "event_id", "safeguarding event"),
             ("significant_changes", "change_id", "significant change"), ("oversight", "entry_id", "oversight entry"))
"""Every list of the case record whose items carry an id, the id field, and what an item is called."""


def _refuse_repeats(items, template: bool = False) -> None:
    """Raise at the second item with an id already seen: ``{label} {id} appears twice`` (or the template filled)."""
    seen: set[str] = set()
    for loc, value, label in items:
        if value in seen:
            message = label.format(id=value) if template else f"{label} {value} appears twice"
            raise _field_error(loc, message, value)
        seen.add(value)


def record_json_schema() -> dict:
    """The JSON Schema of a case record, as checked in at schemas/case-record.schema.json."""
    schema = CaseRecord.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://qa-engine.invalid/schemas/case-record.schema.json"
    return schema
