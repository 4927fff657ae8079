"""What a definition is evaluated against besides the data: the store (its time zone and
currency) and "now". The compiler and the matcher take the same context, so a window or a
date means the same instant on both sides; tests pass a fixed `now`.

Time rules (docs/decisions.md, "Segment definitions"):
- `within_days: d` and `within_last_days d` are the rolling window [now - d days, now];
- a date (`"2026-01-01"`) is that day in the store's time zone: `before` it is earlier than
  its first instant, `after` it is from the next day's first instant on, and `between`
  [d1, d2] runs from d1's first instant to the end of d2 (both days included);
- a datetime with an offset (`"2026-01-01T09:00:00+01:00"`) is that instant.
"""
from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.utils import timezone

from textpilot.segments.operators import Test

UTC = dt.timezone.utc


@dataclass(frozen=True)
class EvalContext:
    store_id: int
    tz: zoneinfo.ZoneInfo
    currency: str
    now: dt.datetime

    @classmethod
    def for_store(cls, store, now: dt.datetime | None = None) -> "EvalContext":
        now = now or timezone.now()
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        try:
            tz = zoneinfo.ZoneInfo(store.timezone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            tz = zoneinfo.ZoneInfo("UTC")
        return cls(store.pk, tz, store.currency, now.astimezone(UTC))

    def day_start(self, day: dt.date) -> dt.datetime:
        """The first instant of `day` in the store's time zone, in UTC."""
        return dt.datetime.combine(day, dt.time(0), tzinfo=self.tz).astimezone(UTC)

    def days_ago(self, days: int) -> dt.datetime:
        return self.now - dt.timedelta(days=days)


@dataclass(frozen=True)
class Window:
    """The time a condition looks at: the last `days` days, or the dates [first, last]."""

    days: int | None = None
    first: dt.date | None = None
    last: dt.date | None = None

    def test(self, ctx: EvalContext) -> Test:
        """A test on a timestamp: inside the window."""
        if self.days is not None:
            return Test("range", (ctx.days_ago(self.days), ctx.now))
        return Test("range_ho", (ctx.day_start(self.first), ctx.day_start(self.last + dt.timedelta(days=1))))

    def describe(self) -> str:
        if self.days is not None:
            return f"in the last {self.days} day{'s' if self.days != 1 else ''}"
        return f"from {self.first.isoformat()} to {self.last.isoformat()}"


def instant_bounds(value: dt.date | dt.datetime, ctx: EvalContext) -> tuple[dt.datetime, dt.datetime, bool]:
    """(start, end, is_day) of a date (the whole day) or a datetime (one instant)."""
    if isinstance(value, dt.datetime):
        instant = value.astimezone(UTC)
        return instant, instant, False
    return ctx.day_start(value), ctx.day_start(value + dt.timedelta(days=1)), True
