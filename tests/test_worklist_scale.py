"""Worklists are built in time linear in their rows, however the rows fall across case managers.

The count is of Python function calls (generator steps included) made while building the workbook,
not of seconds, so it is exact and does not depend on the machine: a sheet that re-scans its cells
for each row it adds makes four times the rows cost about sixteen times the calls.
"""

from __future__ import annotations

import datetime as dt
import sys

from qa_engine.report.worklist import _xlsx


def _rows(n: int, managers: int) -> list[tuple[str, ...]]:
    return [(f"CM-{i % managers}", "Team A", f"C-{i:05d}", "youth rehabilitation order", "2015-06-01", "high", "4.3",
             "4.3-breach-after-third-failure", "The failure on 2015-07-01 was not answered.", "A breach within 10 days")
            for i in range(n)]


def _calls(rows: list[tuple[str, ...]]) -> int:
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        if event == "call":
            count += 1

    sys.setprofile(profile)
    try:
        _xlsx(rows, dt.date(2016, 2, 15))
    finally:
        sys.setprofile(None)
    return count


def test_one_case_manager_costs_what_many_do():
    """Four times the rows under one case manager cost at most five times the calls, and no more than spreading them."""
    _xlsx(_rows(10, 1), dt.date(2016, 2, 15))  # imports and caches out of the way
    small, large = _calls(_rows(300, 1)), _calls(_rows(1200, 1))
    spread = _calls(_rows(1200, 40))

    assert large < 5 * small, (small, large)
    assert large < 2 * spread, (large, spread)
