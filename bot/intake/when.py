"""When the customer wants the visit: "tomorrow morning", "after 3pm", "next week", "asap".

Windows are in the company's timezone and never start before the message. Only words that
ask for a time count: "spring snapped this morning" tells what happened, not when to come.
A cheap regular expression decides first whether a message has any time words at all;
dateparser is asked only about explicit calendar dates ("Dec 5", "12/5", "the 15th").
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dispatch.company import TimeRange

Window = tuple[datetime, datetime]

_WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
_MONTHS = (
    r"jan|january|feb|february|mar|march|apr|april|may|jun|june|jul|july|aug|august|sep|sept|"
    r"september|oct|october|nov|november|dec|december"
)
_HINT = re.compile(
    r"\b(?:today|tonight|tomorrow|morning|afternoon|evening|noon|asap|soonest|right away|"
    r"week|weekend|month|monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|"
    r"wed|thu|thurs?|fri|sat|sun|after|before|between|until|till|by|around|"
    rf"\d{{1,2}}(?::\d\d)? ?[ap]\.?m\b|\d{{1,2}}/\d{{1,2}}|the \d{{1,2}}(?:st|nd|rd|th)|{_MONTHS})"
)
# A clock time, not a count: "after 3pm" but not "after 2 cycles".
_CLOCK = (
    r"(?:(\d{1,2})(?::(\d\d))? ?([ap])?\.?m?\b(?! ?(?:cycle|year|yr|day|week|month|hour|hr|min|"
    r"time|degree|deg|sec|ft|inch|gal|people|kid|unit|amp|f\b|percent|%))|(noon|midday|midnight))"
)
_AFTER = re.compile(rf"\b(?:after|from|past) {_CLOCK}")
_BEFORE = re.compile(rf"\b(?:before|by|until|till|no later than) {_CLOCK}")
_BETWEEN = re.compile(rf"\b(between )?{_CLOCK} ?(?:-|to|and) ?{_CLOCK}")
_AT = re.compile(rf"\b(?:at|around|about) {_CLOCK}")
_DATE = (
    rf"(?:(?:{_MONTHS})\.? \d{{1,2}}(?:st|nd|rd|th)?|\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?|"
    r"the \d{1,2}(?:st|nd|rd|th))"
)
_EXPLICIT_DATE = re.compile(rf"\b{_DATE}\b")
_BEFORE_DATE = re.compile(rf"\b(?:before|by|until|no later than) ({_DATE})\b")
_DAY_NAMES = (
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|thu|thurs?|fri|sat"
)
_BEFORE_DAY = re.compile(rf"\b(?:before|by) (?:next |this )?({_DAY_NAMES})\b")
_PARTS: dict[str, tuple[time, time]] = {
    "morning": (time(8, 0), time(12, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time(20, 0)),
    "tonight": (time(17, 0), time(21, 0)),
    "noon": (time(11, 30), time(13, 30)),
}
_ASAP = re.compile(r"\b(?:asap|soonest|right away|right now|come now|immediately|urgent)\b")


def has_time_words(text: str) -> bool:
    return _HINT.search(text) is not None


def _clock(groups: tuple[str | None, ...], offset: int = 0) -> time | None:
    hour_text, minute_text, meridiem, word = groups[offset : offset + 4]
    if word is not None:
        return time(0, 0) if word == "midnight" else time(12, 0)
    if hour_text is None:
        return None
    hour, minute = int(hour_text), int(minute_text or 0)
    if minute > 59:
        return None
    if meridiem is None:
        if not 1 <= hour <= 12:
            return None
        meridiem = "p" if hour <= 6 or hour == 12 else "a"  # "after 3" means 3 pm
    if hour > 12 or hour == 0:
        return None
    hour = hour % 12 + (12 if meridiem == "p" else 0)
    return time(hour, minute)


class WhenReader:
    def __init__(self, timezone: str, hours: TimeRange) -> None:
        self._tz = ZoneInfo(timezone)
        self._hours = hours

    def read(self, text: str, at: datetime) -> Window | None:
        """`text` is folded (lower case ASCII); `at` is when the message arrived."""
        if not has_time_words(text):
            return None
        now = at.astimezone(self._tz)
        today = now.date()
        if _ASAP.search(text):
            return now, now + timedelta(hours=4)
        span = self._span(text, now)
        if span is not None:
            return span
        day = self._day(text, today)
        start, end = self._times(text)
        if day is None and start is None:
            return None
        if day is None:
            ends = self._at(today, end or self._hours.end)
            day = today if ends > now else today + timedelta(days=1)
        first = self._at(day, start or self._hours.start)
        last = self._at(day, end or self._hours.end)
        if last <= now:
            return None
        return max(first, now), last

    def _at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, self._tz)

    def _span(self, text: str, now: datetime) -> Window | None:
        """Multi-day wishes: a week, a weekend, "before the 15th"."""
        today = now.date()
        monday = today - timedelta(days=today.weekday())
        if re.search(r"\bnext week\b", text):
            start = monday + timedelta(days=7)
            return self._at(start, self._hours.start), self._at(
                start + timedelta(days=4), self._hours.end
            )
        if re.search(r"\b(?:this|next|the) weekend\b|\bweekend\b", text):
            saturday = monday + timedelta(days=5 if today.weekday() < 6 else 12)
            first = max(self._at(saturday, self._hours.start), now)
            return first, self._at(saturday + timedelta(days=1), self._hours.end)
        if re.search(r"\bthis week\b|\bend of (?:the )?week\b", text):
            friday = monday + timedelta(days=4 if today.weekday() <= 4 else 6)
            return now, self._at(friday, self._hours.end)
        if re.search(r"\bend of (?:the )?month\b", text):
            following = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
            return now, self._at(following - timedelta(days=1), self._hours.end)
        before_day = _BEFORE_DAY.search(text)
        if before_day is not None:
            ahead = (_WEEKDAYS[before_day.group(1)] - today.weekday()) % 7 or 7
            return now, self._at(today + timedelta(days=ahead), self._hours.start)
        before = _BEFORE_DATE.search(text)
        if before is not None:
            day = self._explicit(before.group(1), now)
            if day is not None and day > today:
                return now, self._at(day - timedelta(days=1), self._hours.end)
        return None

    def _day(self, text: str, today: date) -> date | None:
        if re.search(r"\bday after tomorrow\b", text):
            return today + timedelta(days=2)
        if re.search(r"\btomorrow\b", text):
            return today + timedelta(days=1)
        if re.search(r"\b(?:today|tonight|this afternoon|this evening)\b", text):
            return today
        weekday = re.search(rf"\b(next |this |on )?({_DAY_NAMES})\b", text)
        if weekday is not None:
            ahead = (_WEEKDAYS[weekday.group(2)] - today.weekday()) % 7
            if weekday.group(1) == "next " and ahead == 0:
                ahead = 7
            return today + timedelta(days=ahead)
        explicit = _EXPLICIT_DATE.search(text)
        if explicit is not None:
            parsed = self._explicit(explicit.group(0), datetime.combine(today, time(12), self._tz))
            return parsed
        return None

    def _explicit(self, fragment: str, now: datetime) -> date | None:
        cleaned = re.sub(r"^the ", "", fragment)
        ordinal = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)", cleaned)
        if ordinal is not None:  # "the 15th": this month's if still ahead, else next month's
            return _next_day_of_month(now.date(), int(ordinal.group(1)))
        import dateparser  # only explicit dates need it; it costs 0.1 s to import

        parsed = dateparser.parse(
            cleaned,
            languages=["en"],
            settings={
                "PREFER_DATES_FROM": "future",
                "RELATIVE_BASE": now.replace(tzinfo=None),
                "RETURN_AS_TIMEZONE_AWARE": False,
            },
        )
        return parsed.date() if parsed is not None else None

    def _times(self, text: str) -> tuple[time | None, time | None]:
        between = _BETWEEN.search(text)
        if between is not None and (between.group(1) or between.group(4) or between.group(8)):
            first, second = _clock(between.groups(), 1), _clock(between.groups(), 5)
            if first is not None and second is not None and first < second:
                return first, second
        after = _AFTER.search(text)
        before = _BEFORE.search(text)
        start = _clock(after.groups()) if after else None
        end = _clock(before.groups()) if before else None
        if start is not None or end is not None:
            if start is not None and end is None:
                end = max(
                    self._hours.end, (datetime.combine(date.min, start) + timedelta(hours=2)).time()
                )
            return start, end
        at = _AT.search(text)
        if at is not None:
            clock = _clock(at.groups())
            if clock is not None:
                later = datetime.combine(date.min, clock) + timedelta(hours=1)
                return clock, later.time()
        for word, (first_part, last_part) in _PARTS.items():
            if re.search(rf"(?<!this )\b{word}\b", text) and not re.search(
                rf"\b(?:this|last|yesterday) {word}\b", text
            ):
                return first_part, last_part
        if re.search(r"\b(?:tomorrow|today) morning\b|\bthis (?:afternoon|evening)\b", text):
            key = (
                "morning"
                if "morning" in text
                else "afternoon"
                if "afternoon" in text
                else "evening"
            )
            return _PARTS[key]
        return None, None


def _next_day_of_month(today: date, day: int) -> date | None:
    year, month = today.year, today.month
    for _ in range(3):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None
