"""The date parser: the forms Chinese sites use, read in Asia/Shanghai against an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from huiyin.crawler.dates import SHANGHAI, parse_time

NOW = datetime(2024, 3, 5, 12, 0, 0, tzinfo=SHANGHAI)  # a Tuesday, noon in Beijing


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


CASES = [
    # relative
    ("刚刚", NOW),
    ("刚才", NOW),
    ("30秒前", at(2024, 3, 5, 11, 59, 30)),
    ("5分钟前", at(2024, 3, 5, 11, 55)),
    ("5 分钟前", at(2024, 3, 5, 11, 55)),
    ("3小时前", at(2024, 3, 5, 9, 0)),
    ("3个小时前", at(2024, 3, 5, 9, 0)),
    ("半小时前", at(2024, 3, 5, 11, 30)),
    ("三天前", at(2024, 3, 2, 12, 0)),
    ("十二小时前", at(2024, 3, 5, 0, 0)),
    ("2天前", at(2024, 3, 3, 12, 0)),
    ("1周前", at(2024, 2, 27, 12, 0)),
    ("１０分钟前", at(2024, 3, 5, 11, 50)),  # full-width digits
    # day words
    ("今天 09:00", at(2024, 3, 5, 9, 0)),
    ("今天09:00", at(2024, 3, 5, 9, 0)),
    ("昨天 14:20", at(2024, 3, 4, 14, 20)),
    ("昨天 14:20 来自iPhone客户端", at(2024, 3, 4, 14, 20)),
    ("昨天", at(2024, 3, 4, 0, 0)),
    ("前天 08:05", at(2024, 3, 3, 8, 5)),
    # absolute Chinese
    ("2024年3月5日", at(2024, 3, 5, 0, 0)),
    ("2024年03月05日 09时30分", at(2024, 3, 5, 9, 30)),
    ("2024年3月5日 下午3:20", at(2024, 3, 5, 15, 20)),
    ("2023年12月31日 晚上11:59", at(2023, 12, 31, 23, 59)),
    ("答复时间：2024年03月04日 16:45", at(2024, 3, 4, 16, 45)),
    # absolute numeric
    ("2024-03-05 09:00", at(2024, 3, 5, 9, 0)),
    ("2024-03-05 09:00:12", at(2024, 3, 5, 9, 0, 12)),
    ("2024/3/5 9:07", at(2024, 3, 5, 9, 7)),
    ("2024.03.05", at(2024, 3, 5, 0, 0)),
    ("发布时间：2024-03-05 09:00", at(2024, 3, 5, 9, 0)),
    ("2024-03-05 09:00 GMT+0800", at(2024, 3, 5, 9, 0)),
    ("2024-03-05 01:00 +0000", at(2024, 3, 5, 9, 0)),
    # month-day without year: this year, or last year if that would be in the future
    ("03-05 09:00", at(2024, 3, 5, 9, 0)),
    ("03-04", at(2024, 3, 4, 0, 0)),
    ("3月1日 18:00", at(2024, 3, 1, 18, 0)),
    ("12-30 10:00", at(2023, 12, 30, 10, 0)),
    # time only: today, or yesterday if later than now
    ("11:30", at(2024, 3, 5, 11, 30)),
    ("23:50", at(2024, 3, 4, 23, 50)),
    # machine formats
    (1709607600, at(2024, 3, 5, 11, 0)),
    (1709607600000, at(2024, 3, 5, 11, 0)),
    ("1709607600", at(2024, 3, 5, 11, 0)),
    ("1709607600123", datetime(2024, 3, 5, 3, 0, 0, 123000, tzinfo=UTC)),
    (1709607600.5, datetime(2024, 3, 5, 3, 0, 0, 500000, tzinfo=UTC)),
    ("2024-03-05T09:00:00+08:00", at(2024, 3, 5, 9, 0)),
    ("2024-03-05T01:00:00Z", at(2024, 3, 5, 9, 0)),
    ("2024-03-05T09:00:00", at(2024, 3, 5, 9, 0)),
    ("Tue, 05 Mar 2024 09:00:00 +0800", at(2024, 3, 5, 9, 0)),
    ("Tue, 05 Mar 2024 01:00:00 GMT", at(2024, 3, 5, 9, 0)),
    ("Tue Mar 05 09:00:00 +0800 2024", at(2024, 3, 5, 9, 0)),  # Weibo
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[str(c[0]) for c in CASES])
def test_known_forms(text: str | int | float, expected: datetime) -> None:
    parsed = parse_time(text, NOW)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() is not None


@pytest.mark.parametrize("text", [None, "", "   ", "不知道", "2024-13-45", "25:61", "99月99日", 12, "0", True, "2024年2月30日"])
def test_unknown_or_impossible_is_none_not_a_guess(text: object) -> None:
    assert parse_time(text, NOW) is None  # type: ignore[arg-type]


def test_result_is_in_shanghai_whatever_the_clock_zone() -> None:
    utc_now = NOW.astimezone(UTC)
    parsed = parse_time("昨天 14:20", utc_now)
    assert parsed == at(2024, 3, 4, 14, 20)
    assert parsed.tzinfo == SHANGHAI  # type: ignore[union-attr]


def test_day_words_follow_the_shanghai_calendar_not_utc() -> None:
    # 00:30 on 6 March in Beijing is still 5 March in UTC: "昨天" is 5 March.
    early = datetime(2024, 3, 5, 16, 30, tzinfo=UTC)
    assert parse_time("昨天 10:00", early) == at(2024, 3, 5, 10, 0)


def test_new_year_rollover_for_month_day() -> None:
    jan = datetime(2024, 1, 1, 8, 0, tzinfo=SHANGHAI)
    assert parse_time("12-31 23:00", jan) == at(2023, 12, 31, 23, 0)
    assert parse_time("01-01 07:00", jan) == at(2024, 1, 1, 7, 0)


def test_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_time("刚刚", datetime(2024, 3, 5, 12, 0))
