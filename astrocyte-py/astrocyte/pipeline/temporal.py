"""Temporal grounding of recall queries: dates and relative times → a ``TimeRange`` (sync, pure).

Understands explicit dates ("2023-05-08", "8 May 2023", "May 8, 2023"), months ("May 2023",
"in May", "last May"), years ("in 2023"), relative days ("yesterday", "today", "3 days ago"),
relative periods ("last week", "this month", "last year", "2 weeks ago") and "recently".
Relative expressions are resolved against ``now`` (the caller's clock, UTC by default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from astrocyte.types import TimeRange

__all__ = ["TemporalMatch", "parse_time_expression"]

_MONTH_NUMBERS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "(?P<month>" + "|".join(sorted(_MONTH_NUMBERS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_UNIT = r"(?P<unit>day|week|month|year)s?"
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10}

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(?P<year>\d{4})-(?P<mon>\d{2})-(?P<day>\d{2})\b")),
    ("day_month_year", re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", re.I)),
    ("month_day_year", re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.I)),
    ("month_year", re.compile(rf"\b{_MONTH},?\s+(?:of\s+)?{_YEAR}\b", re.I)),
    ("ago", re.compile(rf"\b(?P<count>\d+|a|an|one|two|three|four|five|six|ten)\s+{_UNIT}\s+ago\b", re.I)),
    ("relative_period", re.compile(rf"\b(?P<which>last|this|past|previous|next)\s+{_UNIT}\b", re.I)),
    ("last_month_name", re.compile(rf"\b(?:last|previous)\s+{_MONTH}\b", re.I)),
    ("in_month", re.compile(rf"\b(?:in|during|since)\s+{_MONTH}\b(?!\s*\d)", re.I)),
    ("year", re.compile(rf"\b(?:in|during|of|since)\s+{_YEAR}\b", re.I)),
    ("day_word", re.compile(r"\b(?P<word>yesterday|today|tonight|tomorrow)\b", re.I)),
    ("recent", re.compile(r"\b(?P<word>recently|lately)\b", re.I)),
]


@dataclass(frozen=True, slots=True)
class TemporalMatch:
    phrase: str
    time_range: TimeRange


def _day(year: int, month: int, day: int) -> TimeRange | None:
    try:
        start = datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None
    return TimeRange(start=start, end=start + timedelta(days=1))


def _month(year: int, month: int) -> TimeRange:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return TimeRange(start=start, end=end)


def _year(year: int) -> TimeRange:
    return TimeRange(start=datetime(year, 1, 1, tzinfo=UTC), end=datetime(year + 1, 1, 1, tzinfo=UTC))


def _unit_range(unit: str, now: datetime, offset: int) -> TimeRange:
    """The calendar ``unit`` containing ``now`` shifted by ``offset`` units (0 = this one)."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        start = today + timedelta(days=offset)
        return TimeRange(start=start, end=start + timedelta(days=1))
    if unit == "week":
        start = today - timedelta(days=today.weekday()) + timedelta(weeks=offset)
        return TimeRange(start=start, end=start + timedelta(weeks=1))
    if unit == "month":
        index = today.year * 12 + today.month - 1 + offset
        return _month(index // 12, index % 12 + 1)
    return _year(today.year + offset)


def _resolve(kind: str, match: re.Match[str], now: datetime) -> TimeRange | None:
    groups = match.groupdict()
    month = _MONTH_NUMBERS.get((groups.get("month") or "").lower().rstrip("."), 0)
    if kind == "iso":
        return _day(int(groups["year"]), int(groups["mon"]), int(groups["day"]))
    if kind in ("day_month_year", "month_day_year"):
        return _day(int(groups["year"]), month, int(groups["day"]))
    if kind == "month_year":
        return _month(int(groups["year"]), month)
    if kind == "year":
        return _year(int(groups["year"]))
    if kind in ("last_month_name", "in_month"):
        # The most recent such month strictly before this one for "last", not after now for "in".
        year = now.year if month < now.month or (kind == "in_month" and month == now.month) else now.year - 1
        return _month(year, month)
    if kind == "ago":
        raw = groups["count"].lower()
        count = int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]
        return _unit_range(groups["unit"].lower(), now, -count)
    if kind == "relative_period":
        which = groups["which"].lower()
        offset = {"this": 0, "next": 1}.get(which, -1)
        return _unit_range(groups["unit"].lower(), now, offset)
    if kind == "day_word":
        offset = {"yesterday": -1, "tomorrow": 1}.get(groups["word"].lower(), 0)
        return _unit_range("day", now, offset)
    # recent / lately: the last 30 days up to now.
    return TimeRange(start=now - timedelta(days=30), end=now + timedelta(seconds=1))


# A word every pattern above needs (a digit, a month, a unit, "ago", a day word, "recently"): one
# search rules out the usual query without a time far cheaper than trying each pattern in turn.
_MAY_NAME_TIME = re.compile(
    # The lookahead (every alternative's first letter) skips most words without trying each branch.
    r"\d|\b(?=[adfjlmnorstwy])(?:"
    + "|".join(sorted(_MONTH_NUMBERS, key=len, reverse=True))
    + r"|(?:day|week|month|year)s?"
    r"|ago|yesterday|today|tonight|tomorrow|recently|lately)\b",
    re.I,
)


def parse_time_expression(query: str, now: datetime | None = None) -> TemporalMatch | None:
    """The first (most specific) time expression in ``query``, or ``None``."""
    if _MAY_NAME_TIME.search(query) is None:
        return None
    reference = (
        (now or datetime.now(UTC)).astimezone(UTC) if (now is None or now.tzinfo) else now.replace(tzinfo=UTC)
    )
    for kind, pattern in _PATTERNS:
        match = pattern.search(query)
        if match is None:
            continue
        resolved = _resolve(kind, match, reference)
        if resolved is not None:
            return TemporalMatch(match.group(0), resolved)
    return None
