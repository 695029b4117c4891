"""Working days across weekends, bank holidays and closure days; calendar months for review intervals."""

from __future__ import annotations

import datetime as dt

import pytest

from qa_engine.base.calendar import WorkingCalendar, months_between

D = dt.date


class TestWorkingDays:
    @pytest.mark.parametrize(
        ("start", "end", "expected"),
        [
            (D(2016, 3, 21), D(2016, 3, 22), 1),  # Monday to Tuesday
            (D(2016, 3, 18), D(2016, 3, 21), 1),  # Friday to Monday: the weekend does not count
            (D(2016, 3, 24), D(2016, 3, 29), 1),  # Easter 2016: Good Friday 25th and Easter Monday 28th
            (D(2016, 3, 1), D(2016, 3, 29), 18),
            (D(2016, 12, 23), D(2016, 12, 28), 1),  # Christmas 2016: Boxing Day and Christmas Day (observed)
            (D(2015, 12, 24), D(2016, 1, 4), 4),  # 29, 30, 31 Dec and 4 Jan; 25, 28 Dec and 1 Jan are off
            (D(2016, 5, 27), D(2016, 5, 31), 1),  # Spring bank holiday, 30 May 2016
            (D(2016, 3, 1), D(2016, 3, 1), 0),
            (D(2016, 3, 29), D(2016, 3, 1), -18),
        ],
    )
    def test_counts(self, start, end, expected):
        """Working days in (start, end] skip weekends and England and Wales bank holidays."""
        assert expected == WorkingCalendar().working_days_between(start, end)

    def test_closure_days(self):
        """A service's own closure days are not working days."""
        cal = WorkingCalendar(closure_days=[D(2016, 3, 22)])

        assert 1 == cal.working_days_between(D(2016, 3, 21), D(2016, 3, 23))
        assert not cal.is_working_day(D(2016, 3, 22))

    def test_wales_region(self):
        """Wales has the same bank holidays as England in 2016."""
        assert 1 == WorkingCalendar("wales").working_days_between(D(2016, 3, 24), D(2016, 3, 29))

    def test_unknown_region(self):
        """An unknown region is refused with the valid choices."""
        with pytest.raises(ValueError, match="england"):
            WorkingCalendar("scotland")

    def test_matches_a_day_by_day_count(self):
        """The arithmetic agrees with counting day by day over three years."""
        cal = WorkingCalendar(closure_days=[D(2017, 8, 1)])
        start = D(2015, 11, 3)
        day, count = start, 0
        for _ in range(1100):
            day += dt.timedelta(days=1)
            count += cal.is_working_day(day)
            assert count == cal.working_days_between(start, day)


class TestMonthsBetween:
    @pytest.mark.parametrize(
        ("start", "end", "over_three"),
        [
            (D(2016, 1, 15), D(2016, 4, 15), False),
            (D(2016, 1, 15), D(2016, 4, 16), True),
            (D(2016, 1, 31), D(2016, 4, 30), False),
            (D(2016, 1, 31), D(2016, 5, 1), True),
            (D(2016, 11, 30), D(2017, 2, 28), False),
        ],
    )
    def test_exceeds_n_months_exactly_when_calendar_says_so(self, start, end, over_three):
        """months_between(a, b) > 3 exactly when b is after a + 3 calendar months."""
        assert over_three == (months_between(start, end) > 3)

    def test_negative_span_is_zero(self):
        """An end before the start gives 0."""
        assert 0.0 == months_between(D(2016, 5, 1), D(2016, 1, 1))


def test_add_months_agrees_with_dateutil():
    """add_months gives dateutil's relativedelta answer for every day of thirty years and -25..25 months."""
    from dateutil.relativedelta import relativedelta

    from qa_engine.base.calendar import add_months

    day = D(2000, 1, 1)
    while day < D(2030, 1, 1):
        for months in (-25, -1, 0, 1, 2, 3, 11, 12, 25):
            assert day + relativedelta(months=months) == add_months(day, months)
        day += dt.timedelta(days=3)
