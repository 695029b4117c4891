"""The newest date a case record holds: how the audit notices an export far older than the audit date.

Why this module exists: judging an export of February 2016 "as of today" counts every deadline since
then as missed. The audit compares the newest recorded date across the caseload with the audit date
and warns (run/audit.py, STALE_AFTER_DAYS). Dates of things planned rather than done (an order's
expected end, a report's due date) are left out: they may lie after the day the export was taken.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

__all__ = ["PLANNED", "newest_recorded_date"]

PLANNED = frozenset({"expected_end_date", "psr_due_date"})
"""Fields holding a date planned, not a date something was recorded as done."""


def newest_recorded_date(record: BaseModel) -> dt.date | None:
    """The latest date anywhere in ``record`` (a CaseRecord or any part of one), planned dates left out."""
    newest: dt.date | None = None
    stack: list[Any] = [record]
    while stack:
        item = stack.pop()
        if isinstance(item, BaseModel):
            for name, value in item.__dict__.items():
                if name in PLANNED or value is None or isinstance(value, (str, int, float, bool)):
                    continue
                if isinstance(value, dt.date):
                    if newest is None or value > newest:
                        newest = value
                else:
                    stack.append(value)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return newest
