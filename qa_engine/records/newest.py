"""The newest date a case record holds: how the audit notices an export far older than the audit date.

Why this module exists: judging an export of February 2016 "as of today" counts every deadline since
then as missed. The audit compares the newest recorded date across the caseload with the audit date
and warns (run/audit.py, STALE_AFTER_DAYS). Dates of things planned rather than done (an order's
expected end, a report's due date) are left out: they may lie after the day the export was taken.
"""

from __future__ import annotations

import datetime as dt
import functools
import typing
from typing import Any

from pydantic import BaseModel

__all__ = ["PLANNED", "newest_recorded_date"]

PLANNED = frozenset({"expected_end_date", "psr_due_date"})
"""Fields holding a date planned, not a date something was recorded as done."""


def _may_hold(annotation: Any) -> bool:
    """Whether a field so annotated can hold a date or a model (itself, or in a list, tuple or union)."""
    if typing.get_origin(annotation) is None and isinstance(annotation, type):  # list[X] is a type on Python 3.10
        return issubclass(annotation, (dt.date, BaseModel))
    return any(_may_hold(arg) for arg in typing.get_args(annotation))


@functools.cache
def _searched(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of ``model`` that may hold a date or a part holding one, planned dates left out.

    Worked out once per model class from its annotations: the walk below runs on every record, and
    most of a record's fields are codes, flags and text that can never hold a date.
    """
    return tuple(name for name, field in model.model_fields.items()
                 if name not in PLANNED and _may_hold(field.annotation))


def newest_recorded_date(record: BaseModel) -> dt.date | None:
    """The latest date anywhere in ``record`` (a CaseRecord or any part of one), planned dates left out."""
    newest: dt.date | None = None
    stack: list[Any] = [record]
    while stack:
        item = stack.pop()
        if isinstance(item, BaseModel):
            values = item.__dict__
            for name in _searched(type(item)):
                value = values[name]
                if value is None:
                    continue
                if isinstance(value, dt.date):
                    if newest is None or value > newest:
                        newest = value
                else:
                    stack.append(value)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return newest
