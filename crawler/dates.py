"""Dates as Chinese sites write them, parsed explicitly in Asia/Shanghai.

A small table of known forms instead of a guessing library (dateparser is slow and guesses):
"刚刚", "5分钟前", "3小时前", "半小时前", "昨天 14:20", "前天", "今天 09:00", "2024年3月5日",
"2024-03-05 09:00", "2024/3/5 下午3:20", "03-05 09:00", "3月5日", "14:20", unix timestamps in
seconds or milliseconds, ISO 8601, RFC 2822 (RSS) and Weibo's "Tue Mar 05 09:00:00 +0800 2024".
Labels around the date ("发布时间：…") are ignored. Relative forms are computed from ``now``, which
callers inject (the crawl's clock), so tests are deterministic.

>>> from datetime import datetime
>>> now = datetime(2024, 3, 5, 12, 0, tzinfo=SHANGHAI)
>>> parse_time("3小时前", now).isoformat()
'2024-03-05T09:00:00+08:00'
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

_FULLWIDTH = str.maketrans("０１２３４５６７８９：－／．", "0123456789:-/.")
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {
    "秒": timedelta(seconds=1),
    "秒钟": timedelta(seconds=1),
    "分": timedelta(minutes=1),
    "分钟": timedelta(minutes=1),
    "小时": timedelta(hours=1),
    "个小时": timedelta(hours=1),
    "钟头": timedelta(hours=1),
    "个钟头": timedelta(hours=1),
    "天": timedelta(days=1),
    "日": timedelta(days=1),
    "周": timedelta(weeks=1),
    "星期": timedelta(weeks=1),
    "个星期": timedelta(weeks=1),
    "个月": timedelta(days=30),
    "月": timedelta(days=30),
    "年": timedelta(days=365),
}
_NUM = r"\d+|[零〇一二两三四五六七八九十]+|半"
_RELATIVE = re.compile(rf"({_NUM})\s*(秒钟|秒|分钟|分|个小时|小时|个钟头|钟头|天|日|个星期|星期|周|个月|月|年)\s*(?:以)?前")
_DAY_WORD = re.compile(r"(今天|今日|昨天|昨日|前天|前日)")
_DAY_OFFSET = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2, "前日": 2}
_TIME = r"(?:\s*(?P<ampm>上午|下午|晚上|凌晨|早上|中午|AM|PM|am|pm)?\s*(?P<H>\d{1,2})\s*[:时点]\s*(?P<M>\d{1,2})(?:\s*[:分]\s*(?P<S>\d{1,2})(?:\.\d+)?)?)?"
_YMD = re.compile(r"(?<!\d)(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?!\d)\s*日?(?:T|\s)*" + _TIME)
_MD = re.compile(r"(?<![\d\-/.])(?P<m>\d{1,2})\s*[-/月]\s*(?P<d>\d{1,2})(?!\d)\s*日?\s*" + _TIME)
_ONLY_TIME = re.compile(r"^" + _TIME + r"$")
_LEAD_TIME = re.compile(r"^" + _TIME)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_TZ_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+-])(\d{2}):?(\d{2})\s*$")
_WEIBO = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{1,2} \d{2}:\d{2}:\d{2} [+-]\d{4} \d{4}$")
_EPOCH = re.compile(r"^\d{9,13}(?:\.\d+)?$")


def parse_time(value: str | int | float | None, now: datetime, tz: tzinfo = SHANGHAI) -> datetime | None:
    """The moment ``value`` names, aware in ``tz``; None when empty or not a known form.

    ``now`` must be aware; relative forms ("3小时前", "昨天 14:20", "03-05") are computed from it.
    A month-day without a year that would lie in the future belongs to the previous year.
    """
    if value is None or isinstance(value, bool):
        return None
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local_now = now.astimezone(tz)
    if isinstance(value, int | float):
        return _from_epoch(float(value), tz)
    text = str(value).translate(_FULLWIDTH).strip()
    if not text:
        return None
    if _EPOCH.match(text):
        return _from_epoch(float(text), tz)
    for parse in (_relative, _day_word, _iso, _rfc, _ymd, _month_day, _time_only):
        result = parse(text, local_now, tz)
        if result is not None:
            return result
    return None


def _from_epoch(seconds: float, tz: tzinfo) -> datetime | None:
    if seconds > 1e11:  # milliseconds
        seconds /= 1000.0
    if not 631152000 <= seconds <= 4102444800:  # 1990 … 2100: anything else is not a post time
        return None
    return datetime.fromtimestamp(seconds, UTC).astimezone(tz)


def _cn_number(token: str) -> float | None:
    if token.isdigit():
        return float(token)
    if token == "半":
        return 0.5
    if "十" in token:
        tens, _, ones = token.partition("十")
        t = _CN_DIGITS.get(tens, None) if tens else 1
        o = _CN_DIGITS.get(ones, None) if ones else 0
        return None if t is None or o is None else float(t * 10 + o)
    digits = [_CN_DIGITS.get(ch) for ch in token]
    if any(d is None for d in digits):
        return None
    return float(int("".join(str(d) for d in digits)))


def _relative(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    if text.startswith(("刚刚", "刚才")):
        return now
    m = _RELATIVE.search(text)
    if not m:
        return None
    amount = _cn_number(m.group(1))
    if amount is None:
        return None
    return now - _UNITS[m.group(2)] * amount


def _clock(m: re.Match[str], default: tuple[int, int, int] = (0, 0, 0)) -> tuple[int, int, int] | None:
    """Hours, minutes, seconds of the optional time part of a match (None if out of range)."""
    if m.group("H") is None:
        return default
    hour, minute, second = int(m.group("H")), int(m.group("M")), int(m.group("S") or 0)
    ampm = (m.group("ampm") or "").lower()
    if ampm in ("下午", "晚上", "pm") and hour < 12:
        hour += 12
    elif ampm == "中午" and hour < 11:
        hour += 12
    elif ampm in ("凌晨", "am") and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour, minute, second


def _day_word(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    m = _DAY_WORD.search(text)
    if not m:
        return None
    day = (now - timedelta(days=_DAY_OFFSET[m.group(1)])).date()
    rest = _LEAD_TIME.match(text[m.end():].strip())
    hms = _clock(rest) if rest else (0, 0, 0)
    if hms is None:
        return None
    return datetime(day.year, day.month, day.day, *hms, tzinfo=tz)


def _iso(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    m = _ISO.search(text)
    if not m:
        return None
    try:
        parsed = datetime.fromisoformat(m.group(0))
    except ValueError:
        return None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed.astimezone(tz)


def _rfc(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    if not re.search(r"[A-Za-z]{3}", text):
        return None
    if _WEIBO.match(text):
        try:
            return datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y").astimezone(tz)
        except ValueError:
            return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed.astimezone(tz)


def _offset(text: str, tz: tzinfo) -> tzinfo:
    """An explicit trailing UTC offset ("+08:00", "GMT+0800") if there is one, else ``tz``."""
    m = _TZ_OFFSET.search(text)
    if not m:
        return tz
    from datetime import timezone

    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
    return timezone(delta if m.group(1) == "+" else -delta)


def _ymd(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    m = _YMD.search(text)
    if not m:
        return None
    hms = _clock(m)
    if hms is None:
        return None
    try:
        parsed = datetime(int(m.group("y")), int(m.group("m")), int(m.group("d")), *hms, tzinfo=_offset(text, tz))
    except ValueError:
        return None
    return parsed.astimezone(tz) if parsed.year >= 1900 else None


def _month_day(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    m = _MD.search(text)
    if not m:
        return None
    hms = _clock(m)
    if hms is None:
        return None
    try:
        parsed = datetime(now.year, int(m.group("m")), int(m.group("d")), *hms, tzinfo=tz)
    except ValueError:
        return None
    if parsed > now + timedelta(days=1):  # "12-30" read on 1 January is last year's
        try:
            parsed = parsed.replace(year=now.year - 1)
        except ValueError:  # 29 February
            return None
    return parsed


def _time_only(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    m = _ONLY_TIME.match(text)
    if not m or m.group("H") is None:
        return None
    hms = _clock(m)
    if hms is None:
        return None
    parsed = datetime(now.year, now.month, now.day, *hms, tzinfo=tz)
    if parsed > now + timedelta(minutes=5):  # a bare "23:50" seen at 00:10 was yesterday
        parsed -= timedelta(days=1)
    return parsed
