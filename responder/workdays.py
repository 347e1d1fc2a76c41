"""Working days for "N 个工作日" clocks: official holidays and 调休 make-up workdays.

``chinese-calendar`` knows each year only once the State Council has published its holiday
notice, and raises for other years. A clock must never crash for that: such days fall back to
Monday–Friday, the result says so (``fallback_years``), and a warning is logged once per year.

>>> from datetime import datetime, timezone, timedelta
>>> cal = WorkCalendar("Asia/Shanghai")
>>> due, missing = cal.add_working_days(datetime(2026, 9, 30, 10, tzinfo=timezone(timedelta(hours=8))), 3)
>>> due.isoformat(), missing
('2026-10-11T00:00:00+08:00', ())
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)
_warned_years: set[int] = set()


class WorkCalendar:
    """Official working days in one time zone."""

    def __init__(self, timezone: str = "Asia/Shanghai") -> None:
        self.zone = ZoneInfo(timezone)
        self._ends: dict[tuple[date, int], tuple[datetime, tuple[int, ...]]] = {}  # the stage asks thousands of times

    def is_workday(self, day: date) -> tuple[bool, bool]:
        """(is it a working day, was the Mon–Fri fallback used)."""
        try:
            return bool(chinese_calendar.is_workday(day)), False
        except NotImplementedError:
            if day.year not in _warned_years:
                _warned_years.add(day.year)
                log.warning(
                    "chinese-calendar 没有 %d 年的节假日数据：该年按周一至周五计算工作日 "
                    "(no official holiday data for %d; counting Monday-Friday; upgrade chinese-calendar)",
                    day.year, day.year,
                )
            return day.weekday() < 5, True

    def add_working_days(self, start: datetime, days: int) -> tuple[datetime, tuple[int, ...]]:
        """End of the ``days``-th working day after ``start``'s local day, and the fallback years used.

        The start day itself does not count (the rule says "within N working days of" the event).
        """
        if start.tzinfo is None:
            raise ValueError("naive datetime given to the working-day calendar")
        if days < 1:
            raise ValueError("working_days must be at least 1")
        first = start.astimezone(self.zone).date()
        found = self._ends.get((first, days))
        if found is not None:
            return found
        day = first
        counted = 0
        fallback: set[int] = set()
        while counted < days:
            day += timedelta(days=1)
            working, guessed = self.is_workday(day)
            if guessed:
                fallback.add(day.year)
            if working:
                counted += 1
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
        result = (end, tuple(sorted(fallback)))
        if len(self._ends) > 10_000:
            self._ends.clear()
        self._ends[(first, days)] = result
        return result
