"""analytics.service: days are the store's local days, series are zero-filled and add up."""
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from textpilot.analytics import service as analytics

UTC = ZoneInfo("UTC")


def test_orders_fall_on_the_store_local_day(shop, store, other_store):
    now = datetime(2024, 3, 12, 15, 0, tzinfo=UTC)  # New York: Mar 12, 11:00 (EDT since Mar 10)
    # 03:30 UTC on Mar 11 is 23:30 on Mar 10 in New York.
    shop.order(store, "late", "40.00", payment_status="paid", placed_at=datetime(2024, 3, 11, 3, 30, tzinfo=UTC))
    shop.order(store, "today", "10.25", payment_status="paid", placed_at=datetime(2024, 3, 12, 14, 0, tzinfo=UTC))
    shop.order(store, "refund", "99.00", payment_status="refunded", placed_at=datetime(2024, 3, 12, 14, 0, tzinfo=UTC))
    shop.order(store, "old", "5.00", payment_status="paid", placed_at=datetime(2024, 3, 5, 4, 59, tzinfo=UTC))  # Mar 4 23:59 EST
    shop.order(other_store, "berlin", "500.00", payment_status="paid", placed_at=datetime(2024, 3, 11, 12, 0, tzinfo=UTC))

    series = analytics.daily_orders(store, days=7, now=now)
    assert [row["day"] for row in series] == [date(2024, 3, d) for d in range(6, 13)]
    by_day = {row["day"]: (row["orders"], row["revenue"]) for row in series}
    assert by_day[date(2024, 3, 10)] == (1, Decimal("40.00"))
    assert by_day[date(2024, 3, 11)] == (0, Decimal("0.00"))
    assert by_day[date(2024, 3, 12)] == (1, Decimal("10.25"))
    assert sum(row["orders"] for row in series) == 2

    window = analytics.local_window(store, 7, now)
    assert window.start == datetime(2024, 3, 6, 5, 0, tzinfo=UTC)  # local midnight, EST
    assert window.end == datetime(2024, 3, 13, 4, 0, tzinfo=UTC)  # local midnight, EDT

    chart = analytics.chart_data(series)
    assert chart["labels"][0] == "2024-03-06" and chart["revenue"][-1] == 10.25

    berlin = analytics.daily_orders(other_store, days=7, now=now)
    assert sum(row["revenue"] for row in berlin) == Decimal("500.00")


def test_overview_matches_the_series(shop, store):
    now = datetime(2024, 3, 12, 15, 0, tzinfo=UTC)
    ann = shop.customer(store, "+14155550101")
    shop.subscribe(store, ann)
    shop.order(store, "a", "40.00", ann, payment_status="paid", placed_at=datetime(2024, 3, 11, 3, 30, tzinfo=UTC))
    shop.order(store, "b", "20.00", ann, payment_status="paid", placed_at=datetime(2024, 2, 1, tzinfo=UTC))
    shop.event(store, ann, "viewed_product", occurred_at=datetime(2024, 3, 1, tzinfo=UTC))
    shop.event(store, ann, "viewed_product", occurred_at=datetime(2024, 1, 1, tzinfo=UTC))
    overview = analytics.store_overview(store, days=30, now=now)
    assert overview["orders"] == 1 and overview["revenue"] == Decimal("40.00")
    assert overview["profiles"] == 1 and overview["sms_subscribers"] == 1 and overview["events"] == 1
    assert overview["days"] == 30
    series = analytics.daily_orders(store, days=30, now=now)
    assert sum(row["revenue"] for row in series) == overview["revenue"]


def test_orders_of_profile_is_scoped_to_the_store(shop, store, other_store):
    ann = shop.customer(store, "+14155550101")
    shop.order(store, "a", "1.00", ann)
    assert [o.external_id for o in analytics.orders_of_profile(other_store, ann)] == []
    assert [o.external_id for o in analytics.orders_of_profile(store, ann)] == ["a"]
