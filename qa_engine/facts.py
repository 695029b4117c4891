"""Derived facts: pure functions from a case record and an audit date to the small, flat values rules test.

Rules never see a raw record. They test the facts named in ``CATALOGUE``: working days, months,
counts and levels already reduced to numbers, judged *as of the audit date*, so that work not yet
due is not missing and the same input gives the same facts on any day it is run.

A fact that cannot be known (no start date, no completed assessment) is simply absent; rules
either require it (absent -> ``insufficient_data``) or treat a comparison on it as false.
Nothing here is ever ``None`` in the output: durable_rules treats ``null`` as present.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

from dateutil.relativedelta import relativedelta

from qa_engine.calendar import WorkingCalendar, months_between
from qa_engine.records import (
    LEVEL_RANK,
    AssessmentStage,
    CaseRecord,
    ContactOutcome,
    EnforcementActionType,
    InterventionLevel,
    Level,
    OrderType,
    PlanType,
)

__all__ = ["CASE_KIND", "CATALOGUE", "CaseFacts", "FactSettings", "FactSpec", "derive"]

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


def _spec(kind: str, name: str, type_: FactType, description: str, values: tuple[str, ...] = ()) -> FactSpec:
    return FactSpec(kind, name, type_, description, values)


_LEVELS = tuple(level.value for level in Level)
_ACTIONS = tuple(a.value for a in EnforcementActionType)

CATALOGUE: dict[str, dict[str, FactSpec]] = {}
"""Every fact a rule may test, by kind then name."""

for _s in (
    _spec("case", "order_type", "enum", "The order under supervision.", tuple(o.value for o in OrderType)),
    _spec("case", "intervention_level", "enum", "Scaled-approach intervention level.",
          tuple(i.value for i in InterventionLevel)),
    _spec("case", "working_days_since_start", "integer",
          "Working days from the order's start (a referral order's contract signing) to the audit date."),
    _spec("case", "months_since_start", "number",
          "Calendar months from the start to the audit date, or to the order's end if it ended earlier."),
    _spec("case", "initial_assessment_completed", "boolean",
          "A start-of-order assessment was completed on or before the audit date."),
    _spec("case", "initial_assessment_working_days", "integer",
          "Working days from the order's start to completion of the first start-of-order assessment."),
    _spec("case", "rosh_screened", "boolean",
          "The start-of-order assessment, completed by the audit date, records a risk of serious harm level."),
    _spec("case", "rosh_level", "level", "Risk of serious harm in the latest assessment completed by the audit date.",
          _LEVELS),
    _spec("case", "rosh_full_analysis", "boolean",
          "The latest assessment with a risk of serious harm level records a full risk-of-harm analysis."),
    _spec("case", "intervention_plan_recorded", "boolean",
          "An intervention plan (or referral order contract) was created on or before the audit date."),
    _spec("case", "plan_longest_unreviewed_months", "number",
          "Longest span, in calendar months, between the intervention plan's creation, its reviews and the audit "
          "date (or the order's end)."),
    _spec("case", "plan_review_count", "integer", "Reviews of the intervention plan on or before the audit date."),
    _spec("failure", "contact_id", "id", "The contact at which the child failed to comply."),
    _spec("failure", "date", "date", "Date of the unacceptable absence."),
    _spec("failure", "working_days_since", "integer", "Working days from the failure to the audit date."),
    _spec("failure", "prior_warnings_in_warned_period", "integer",
          "Warnings given before this failure whose warned period (settings.warned_period_months) covers it."),
    _spec("response", "action_id", "id", "The enforcement action."),
    _spec("response", "action", "enum", "What was done.", _ACTIONS),
    _spec("response", "answers_contact_id", "id", "The failure (contact) the action answers."),
    _spec("response", "date", "date", "Date of the action."),
    _spec("response", "working_days_after", "integer", "Working days from the failure to the action."),
    _spec("response", "manager_authorised", "boolean", "A manager authorised the action."),
):
    CATALOGUE.setdefault(_s.kind, {})[_s.name] = _s


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


def _put(target: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        target[name] = value


def derive(record: CaseRecord, as_of: dt.date, calendar: WorkingCalendar, settings: FactSettings) -> CaseFacts:
    """Reduce a record to the facts rules test, as of the audit date. Pure: no clock, no I/O."""
    order = record.order
    case: dict[str, Any] = {"order_type": order.order_type.value}
    if order.intervention_level:
        case["intervention_level"] = order.intervention_level.value

    start = order.start_date
    ended = order.actual_end_date if order.actual_end_date and order.actual_end_date <= as_of else None
    if start is not None:
        case["working_days_since_start"] = calendar.working_days_between(start, as_of)
        case["months_since_start"] = months_between(start, min(as_of, ended) if ended else as_of)

    done = [a for a in record.assessments if a.completed_date is not None and a.completed_date <= as_of]
    initial = sorted((a for a in done if a.stage is AssessmentStage.start_of_order), key=lambda a: a.completed_date)
    case["initial_assessment_completed"] = bool(initial)
    if initial and start is not None:
        case["initial_assessment_working_days"] = calendar.working_days_between(start, initial[0].completed_date)
    case["rosh_screened"] = bool(initial) and initial[0].risk_of_serious_harm is not None
    rated = sorted((a for a in done if a.risk_of_serious_harm is not None), key=lambda a: a.completed_date)
    if rated:
        latest = rated[-1]
        case["rosh_level"] = LEVEL_RANK[latest.risk_of_serious_harm]
        _put(case, "rosh_full_analysis", latest.rosh_full_analysis)

    plans = sorted(
        (
            p
            for p in record.plans
            if p.plan_type in (PlanType.intervention, PlanType.referral_order_contract) and p.created_date <= as_of
        ),
        key=lambda p: p.created_date,
    )
    case["intervention_plan_recorded"] = bool(plans)
    if plans:
        plan = plans[0]
        reviews = sorted({r.date for p in plans for r in p.reviews if plan.created_date <= r.date <= as_of})
        until = min(as_of, ended) if ended else as_of
        points = [plan.created_date, *(d for d in reviews if d <= until), until]
        case["plan_longest_unreviewed_months"] = max(months_between(a, b) for a, b in pairwise(points))
        case["plan_review_count"] = len(reviews)

    items: dict[str, list[dict[str, Any]]] = {"failure": [], "response": []}
    warnings = sorted(
        e.date
        for e in record.enforcement
        if e.action in (EnforcementActionType.warning, EnforcementActionType.final_warning) and e.date <= as_of
    )
    period = relativedelta(months=settings.warned_period_months)
    failures = {}
    for contact in record.contacts:
        if contact.outcome is not ContactOutcome.unacceptable_absence or contact.date > as_of:
            continue
        failures[contact.contact_id] = contact.date
        items["failure"].append(
            {
                "id": contact.contact_id,
                "contact_id": contact.contact_id,
                "date": contact.date.isoformat(),
                "working_days_since": calendar.working_days_between(contact.date, as_of),
                "prior_warnings_in_warned_period": sum(1 for w in warnings if w < contact.date <= w + period),
            }
        )
    for action in record.enforcement:
        if action.date > as_of:
            continue
        for cid in action.answers_contact_ids:
            if cid not in failures:
                continue
            items["response"].append(
                {
                    "id": f"{action.action_id}>{cid}",
                    "action_id": action.action_id,
                    "action": action.action.value,
                    "answers_contact_id": cid,
                    "date": action.date.isoformat(),
                    "working_days_after": calendar.working_days_between(failures[cid], action.date),
                    "manager_authorised": action.manager_authorised_by is not None,
                }
            )
    return CaseFacts(case_id=record.case_id, case=case, items=items)
