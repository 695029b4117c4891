"""What a worklist row asks the case manager to do, and by when: read from each rule's ``action`` (rules are data).

Why this module exists: a worklist that repeats a rule's title does not tell anyone what to do. Each
rule file says, in its ``action``, what to do when it is not met ("review the plan") and when that
was due: working days or calendar months after the order's sentence date, after the date of the first
item not met (a missed appointment, a significant change), or at once (the audit date). The amounts
are the parameters the rule used for the case (from the finding's evidence), so a service's policy is
followed. Working days leave out weekends, bank holidays and the closure days of the run's policy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from qa_engine.base.calendar import WorkingCalendar, add_months
from qa_engine.rulepack.model import Action

__all__ = ["ToDo", "rule_action_specs", "rule_actions", "to_do"]


@dataclass(frozen=True)
class ToDo:
    """One action for one finding: the text, and the date it was due (None when the data gives no date)."""

    text: str
    due: dt.date | None


def rule_action_specs(data: Any) -> dict[str, Action]:
    """The ``action`` of each rule of the run's pack, when the pack can still be read unchanged (else none)."""
    pack = data.rule_pack()
    if pack is None or pack.sha256 != (data.run.get("rule_pack") or {}).get("sha256"):
        return {}
    return {rule.id: rule.action for rule in pack.rules if rule.action is not None}


def rule_actions(data: Any) -> dict[str, str]:
    """Rule id -> what to do when it is not met (for the report's suggestions)."""
    return {rule_id: action.do for rule_id, action in rule_action_specs(data).items()}


def calendar_of(run: dict[str, Any]) -> WorkingCalendar:
    """The working calendar of the run's policy (region and closure days)."""
    calendar = (run.get("policy") or {}).get("calendar") or {}
    closures = [dt.date.fromisoformat(d) for d in calendar.get("closure_days", [])]
    return WorkingCalendar(calendar.get("region", "england"), closures)


def _amount(value: int | dict[str, str] | None, evidence: dict[str, Any]) -> int | None:
    if isinstance(value, dict):
        used = (evidence.get("parameters") or {}).get(value["param"])
        return int(used) if isinstance(used, (int, float)) and not isinstance(used, bool) else None
    return value


def _start(action: Action, finding: Any, as_of: dt.date) -> dt.date | None:
    assert action.due is not None
    if action.due.start == "audit_date":
        return as_of
    # a pseudonymised run keeps only the month of an event (2015-08), so no due day is worked out from it
    if action.due.start == "sentence_date":
        return _day(finding.sentence_date)
    dates = [item.get("date") for item in finding.evidence.get("items", []) if isinstance(item, dict)]
    dates = [d for d in dates if isinstance(d, str)]
    return _day(min(dates)) if dates else None


def _day(text: str | None) -> dt.date | None:
    """An ISO day, or None for none or for a month alone (a pseudonymised run's dates)."""
    return dt.date.fromisoformat(text) if text and len(text) == 10 else None


def _add_working_days(calendar: WorkingCalendar, day: dt.date, n: int) -> dt.date:
    while n > 0:
        day += dt.timedelta(days=1)
        if calendar.is_working_day(day):
            n -= 1
    return day


def to_do(action: Action | None, finding: Any, as_of: dt.date, calendar: WorkingCalendar) -> ToDo:
    """The action for a not-met finding: 'Put the plan in place: due 2016-01-20, overdue by 18 working days',
    'Record ...: due now' (only where the finding gives no date to count from).

    The due date counts the rule's ``action.due`` (its amounts for the case's order type) from the date it names,
    with the parameters the rule used for the case. A rule with no ``action`` falls back to its finding ("Put right
    what was found"), never to a guess.
    """
    if action is None:
        return ToDo("Put right what was found", None)
    due = None
    if action.due is not None:
        start = _start(action, finding, as_of)
        amounts = action.due.amounts(getattr(finding, "order_type", None))
        if start is not None:
            due = start
            days = _amount(amounts.working_days, finding.evidence)
            months = _amount(amounts.months, finding.evidence)
            if (amounts.working_days is not None and days is None) or (amounts.months is not None and months is None):
                due = None
            else:
                if months:
                    due = add_months(due, months)
                if days:
                    due = _add_working_days(calendar, due, days)
    if due is None:
        return ToDo(f"{action.do}: due now", None)
    if action.due is not None and action.due.start == "audit_date" and due == as_of:
        return ToDo(f"{action.do}: due now", due)
    if due < as_of:
        late = calendar.working_days_between(due, as_of)
        if late == 0:  # due on a day off just before the audit date: the audit date is its first working day after
            return ToDo(f"{action.do}: due {due.isoformat()}, overdue", due)
        return ToDo(f"{action.do}: due {due.isoformat()}, overdue by {late:,} working {'day' if late == 1 else 'days'}",
                    due)
    if due == as_of:
        return ToDo(f"{action.do}: due today, {due.isoformat()}", due)
    return ToDo(f"{action.do}: due by {due.isoformat()}", due)
