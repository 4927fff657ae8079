"""Checks for the values inside a segment definition. Each returns the value clean (a date
parsed, money as Decimal, text stripped) or raises `ValueProblem` in plain words; the
definition validator adds the path of the node.

Bounds (documented in docs/decisions.md, "Segment definitions"): text up to 200
characters, lists up to 500 items, counts 0 … 1,000,000,000, day windows 1 … 36,500 (a
hundred years), money up to 1,000,000,000,000 with at most 2 decimals, other numbers up to
10^15 in size, dates from 1900 to 9999. Text may not hold NUL, other control characters or
lone surrogates: PostgreSQL cannot store NUL, and none of them is something a person types.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_TEXT = 200
MAX_LIST = 500
MAX_COUNT = 1_000_000_000
MAX_DAYS = 36_500
MAX_MONEY = Decimal("1000000000000")
MAX_NUMBER = 10**15
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(9999, 12, 30)
MAX_ROW_ID = 2**63 - 1


class ValueProblem(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def junk_in(text: str) -> str | None:
    """Why `text` cannot be used as a name or value, or None when it can."""
    for char in text:
        category = unicodedata.category(char)
        if char == "\x00":
            return "contains the NUL character (U+0000)"
        if category == "Cs":
            return "contains a lone surrogate (broken unicode)"
        if category == "Cc":
            return f"contains the control character U+{ord(char):04X}"
    return None


def text(value: Any, what: str = "value") -> str:
    if not isinstance(value, str):
        raise ValueProblem(f"{what} must be text, not {_type_name(value)}")
    problem = junk_in(value)
    if problem:
        raise ValueProblem(f"{what} {problem}")
    value = value.strip()
    if not value:
        raise ValueProblem(f"{what} is empty")
    if len(value) > MAX_TEXT:
        raise ValueProblem(f"{what} is longer than {MAX_TEXT} characters")
    return value


def listed(value: Any, each, what: str = "value") -> list:
    if not isinstance(value, list):
        raise ValueProblem(f"{what} must be a list, not {_type_name(value)}")
    if not value:
        raise ValueProblem(f"{what} is an empty list")
    if len(value) > MAX_LIST:
        raise ValueProblem(f"{what} has more than {MAX_LIST} items")
    cleaned = []
    for index, item in enumerate(value):
        try:
            cleaned.append(each(item))
        except ValueProblem as problem:
            raise ValueProblem(f"item {index + 1} of the list: {problem.message}") from None
    return cleaned


def integer(value: Any, minimum: int, maximum: int, what: str = "value") -> int:
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_NUMBER:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueProblem(f"{what} must be a whole number, not {_type_name(value)}")
    if not minimum <= value <= maximum:
        raise ValueProblem(f"{what} must be between {minimum:,} and {maximum:,}")
    return value


def count(value: Any, what: str = "value") -> int:
    return integer(value, 0, MAX_COUNT, what)


def days(value: Any, what: str = "within_days") -> int:
    return integer(value, 1, MAX_DAYS, what)


def money(value: Any, what: str = "value") -> Decimal:
    """An amount in the store's currency: a number or its text ("100", "19.99")."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueProblem(f"{what} must be an amount like \"19.99\", not {_type_name(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueProblem(f"{what} must be a finite amount")
    raw = str(value).strip() if isinstance(value, str) else repr(value)
    if isinstance(value, str) and not re.fullmatch(r"[+-]?\d{1,20}(\.\d{1,20})?", raw):
        raise ValueProblem(f"{what} must be an amount like \"19.99\"")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise ValueProblem(f"{what} must be an amount like \"19.99\"") from None
    if not amount.is_finite() or abs(amount) > MAX_MONEY:
        raise ValueProblem(f"{what} must be at most {MAX_MONEY:,} in size")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueProblem(f"{what} has more than 2 decimals")
    return amount.quantize(Decimal("0.01"))


def number(value: Any, what: str = "value") -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueProblem(f"{what} must be a number, not {_type_name(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueProblem(f"{what} must be a finite number")
    if abs(value) > MAX_NUMBER:
        raise ValueProblem(f"{what} must be at most 10^15 in size")
    return value


def json_scalar(value: Any, what: str = "value") -> str | int | float | bool:
    """A value a JSON property can equal: text, a number or true/false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return number(value, what)
    if isinstance(value, str):
        problem = junk_in(value)
        if problem:
            raise ValueProblem(f"{what} {problem}")
        if len(value) > MAX_TEXT:
            raise ValueProblem(f"{what} is longer than {MAX_TEXT} characters")
        return value  # exact: property values are compared as stored
    raise ValueProblem(f"{what} must be text, a number or true/false, not {_type_name(value)}")


def _date(value: str) -> dt.date:
    day = dt.date.fromisoformat(value)
    if not EARLIEST <= day <= LATEST:
        raise ValueProblem("dates must be between 1900-01-01 and 9999-12-30")
    return day


def date(value: Any, what: str = "value") -> dt.date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ValueProblem(f"{what} must be a date like \"2026-01-31\"")
    try:
        return _date(value.strip())
    except ValueError as exc:
        if isinstance(exc, ValueProblem):
            raise
        raise ValueProblem(f"{what} is not a real date") from None


def date_or_instant(value: Any, what: str = "value") -> dt.date | dt.datetime:
    """A date (a day in the store's time zone) or a datetime with its offset."""
    if isinstance(value, str) and len(value.strip()) == 10:
        return date(value, what)
    if not isinstance(value, str) or len(value) > 40:
        raise ValueProblem(f"{what} must be a date like \"2026-01-31\" or a time like \"2026-01-31T09:00:00Z\"")
    try:
        instant = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueProblem(f"{what} must be a date like \"2026-01-31\" or a time like \"2026-01-31T09:00:00Z\"") from None
    if instant.tzinfo is None:
        raise ValueProblem(f"{what} needs a time zone offset (\"Z\" or \"+01:00\"), or give a date")
    offset = instant.utcoffset()
    if abs(offset) > dt.timedelta(hours=15, minutes=59):
        raise ValueProblem(f"{what} has an offset beyond ±15:59")
    if not EARLIEST <= instant.replace(tzinfo=None).date() <= LATEST:
        raise ValueProblem("dates must be between 1900-01-01 and 9999-12-30")
    return instant


def pair(value: Any, each, what: str = "value") -> tuple:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueProblem(f"{what} must be a list of two values [from, to]")
    first, last = each(value[0], f"the first of {what}"), each(value[1], f"the second of {what}")
    if isinstance(first, dt.date) and isinstance(first, dt.datetime) != isinstance(last, dt.datetime):
        raise ValueProblem(f"{what} must be two values of one kind (two dates, or two times)")
    if first > last:
        raise ValueProblem(f"{what} starts after it ends")
    return first, last


def row_id(value: Any, what: str = "value") -> int:
    return integer(value, 1, MAX_ROW_ID, what)
