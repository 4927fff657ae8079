"""Read-only store overview queries for the dashboard: totals and a daily series.

Days are the store's calendar days (its time zone), not UTC days: an order placed at 23:30
in New York belongs to that New York day. "Last N days" means today plus the N-1 days before
it, from local midnight, so the cards and the chart always add up to the same numbers.
The day grouping uses TruncDate with the store's tzinfo, which Django runs as
`AT TIME ZONE` on PostgreSQL and through its own date functions on SQLite.

Analytics only reads. Other domains' tables are reached through their service functions
where those exist; the few grouped queries no service offers yet live here."""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from textpilot.commerce import service as commerce_service
from textpilot.commerce import stats as commerce_stats
from textpilot.commerce.models import Order
from textpilot.events import service as events_service
from textpilot.profiles import service as profiles_service
from textpilot.stores.models import Store

MAX_DAYS = 366


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC covering `days` whole local days of the store, ending today."""

    first_day: date
    last_day: date
    start: datetime
    end: datetime
    tz: ZoneInfo

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range((self.last_day - self.first_day).days + 1)]


def store_tz(store: Store) -> ZoneInfo:
    return ZoneInfo(store.timezone or "UTC")


def local_window(store: Store, days: int = 30, now: datetime | None = None) -> Window:
    days = max(1, min(int(days), MAX_DAYS))
    tz = store_tz(store)
    today = (now or timezone.now()).astimezone(tz).date()
    first_day = today - timedelta(days=days - 1)
    # combine() with a ZoneInfo picks the right offset for each day, DST included.
    start = datetime.combine(first_day, time.min, tzinfo=tz)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=tz)
    return Window(first_day=first_day, last_day=today, start=start, end=end, tz=tz)


def daily_orders(store: Store, days: int = 30, now: datetime | None = None) -> list[dict]:
    """One row per local day, oldest first, zero-filled: {"day", "orders", "revenue"}.
    Counts the orders whose money counts (commerce.stats: not cancelled, not refunded/voided,
    in the store's currency), like the customer stats and the overview cards."""
    window = local_window(store, days, now)
    rows = (
        commerce_stats.revenue_orders(store).filter(placed_at__gte=window.start, placed_at__lt=window.end)
        .annotate(day=TruncDate("placed_at", tzinfo=window.tz))
        .values("day")
        .annotate(orders=Count("id"), revenue=Sum("total"))
        .order_by("day")
    )
    by_day = {row["day"]: row for row in rows}
    series = []
    for day in window.days:
        row = by_day.get(day)
        series.append({
            "day": day,
            "orders": row["orders"] if row else 0,
            "revenue": (Decimal(row["revenue"] or 0) if row else Decimal("0")).quantize(Decimal("0.01")),
        })
    return series


def chart_data(series: list[dict]) -> dict:
    """The daily series shaped for Chart.js (numbers, ISO dates), for `json_script`."""
    return {
        "labels": [row["day"].isoformat() for row in series],
        "orders": [row["orders"] for row in series],
        "revenue": [float(row["revenue"]) for row in series],
    }


def events_count(store: Store, since: datetime) -> int:
    return events_service.events_of(store).filter(occurred_at__gte=since).count()


def store_overview(store: Store, days: int = 30, now: datetime | None = None) -> dict:
    """Totals for the home cards. Order figures cover the last `days` local days."""
    window = local_window(store, days, now)
    profiles = profiles_service.count_profiles(store)
    orders = commerce_stats.order_totals(store, since=window.start)
    return {
        "days": (window.last_day - window.first_day).days + 1,
        "since": window.start,
        "profiles": profiles["profiles"],
        "sms_subscribers": profiles["sms_subscribers"],
        "orders": orders["orders"],
        "revenue": orders["revenue"],
        "average_order_value": orders["average_order_value"],
        # Counted orders in another currency: not in the figures above (one currency rule).
        "other_currency_orders": orders["other_currency_orders"],
        "abandoned_checkouts": commerce_service.abandoned_checkouts_count(store),
        "events": events_count(store, window.start),
        "currency": store.currency,
    }


def orders_of_profile(store: Store, profile, limit: int = 20):
    """The newest orders of one profile (all statuses), for the profile page."""
    return Order.objects.filter(store=store, profile=profile).order_by("-placed_at", "-id")[:limit]
