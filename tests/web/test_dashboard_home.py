"""Home page: totals of the current store only, the chart data, recent orders."""
import json
import re
from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone


def _fill(shop, store, other_store):
    now = timezone.now()
    ann = shop.customer(store, "+14155550101", first_name="Ann", email="ann@example.com")
    bob = shop.customer(store, "+14155550102", first_name="Bob")
    shop.customer(store, "+14155550103", first_name="Cat")
    shop.subscribe(store, ann)
    shop.subscribe(store, bob)
    shop.order(store, "A-1", "100.00", ann, payment_status="paid", order_number="#1001", placed_at=now - timedelta(days=1))
    shop.order(store, "A-2", "50.50", bob, payment_status="paid", order_number="#1002", placed_at=now - timedelta(days=2))
    shop.order(store, "A-3", "999.00", bob, payment_status="paid", order_number="#1003", placed_at=now - timedelta(days=45))  # outside 30 days
    shop.order(store, "A-4", "70.00", bob, payment_status="refunded", order_number="#1004", placed_at=now)  # not counted
    shop.abandoned_checkout(store, "C-1")
    shop.event(store, ann, "viewed_product", {"title": "Tent"})
    shop.event(store, ann, "viewed_product", {"title": "Boots"}, occurred_at=now - timedelta(days=40))

    # Another store with bigger numbers: none of it may show up.
    klaus = shop.customer(other_store, "+4915123456789", first_name="Klaus")
    shop.subscribe(other_store, klaus)
    shop.order(other_store, "B-1", "7777.00", klaus, payment_status="paid", order_number="#B-9001")
    shop.abandoned_checkout(other_store, "C-B1")
    shop.abandoned_checkout(other_store, "C-B2")
    shop.event(other_store, klaus, "viewed_product", {})


def test_home_shows_the_totals_of_its_own_store_only(owner_client, shop, store, other_store):
    _fill(shop, store, other_store)
    response = owner_client.get(reverse("web:home"))
    assert response.status_code == 200
    overview = response.context["overview"]
    assert overview["profiles"] == 3
    assert overview["sms_subscribers"] == 2
    assert overview["orders"] == 2
    assert overview["revenue"] == Decimal("150.50")
    assert overview["average_order_value"] == Decimal("75.25")
    assert overview["abandoned_checkouts"] == 1
    assert overview["events"] == 1

    html = response.content.decode()
    assert "$150.50" in html and "$75.25" in html
    assert "#1001" in html and "#1002" in html
    assert "Klaus" not in html and "#B-9001" not in html and "7,777" not in html

    chart = json.loads(re.search(r'<script id="daily-series" type="application/json">(.*?)</script>', html).group(1))
    assert len(chart["labels"]) == 30
    assert sum(chart["orders"]) == 2
    assert abs(sum(chart["revenue"]) - 150.50) < 0.001
    assert 'id="orders-chart"' in html


def test_home_of_the_other_store_shows_its_own_numbers(client, shop, store, other_store):
    from textpilot.stores import service

    _fill(shop, store, other_store)
    user = service.ensure_user("anna@berlin.test", "correct-horse-battery", other_store, "owner")
    client.force_login(user)
    response = client.get(reverse("web:home"))
    overview = response.context["overview"]
    assert (overview["profiles"], overview["orders"], overview["revenue"], overview["abandoned_checkouts"]) == (1, 1, Decimal("7777.00"), 2)
    html = response.content.decode()
    assert "€7,777.00" in html
    assert "#1001" not in html and "Ann" not in html


def test_home_with_no_data_renders_zeroes(owner_client):
    response = owner_client.get(reverse("web:home"))
    assert response.status_code == 200
    assert response.context["overview"]["orders"] == 0
    assert b"No orders yet" in response.content


def test_queue_badge_is_shown(owner_client):
    response = owner_client.get(reverse("web:home"))
    assert b"status-badge" in response.content


def test_queue_badge_says_when_the_queue_is_unreachable(owner_client, monkeypatch):
    from textpilot.common import queue_status

    def broken():
        raise ConnectionError("redis is down")

    monkeypatch.setattr(queue_status.HUEY, "pending_count", broken)
    response = owner_client.get(reverse("web:home"))
    assert response.status_code == 200
    assert b"Queue unreachable" in response.content


def test_dates_are_shown_in_the_store_time_zone(owner_client, shop, store):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    placed = datetime(2024, 1, 15, 3, 30, tzinfo=ZoneInfo("UTC"))  # 22:30 on Jan 14 in New York
    shop.order(store, "TZ-1", "10.00", order_number="#TZ", placed_at=placed)
    html = owner_client.get(reverse("web:home")).content.decode()
    assert "Jan 14, 2024 22:30" in html


def test_home_reports_orders_in_another_currency_instead_of_adding_them(owner_client, shop, store):
    ann = shop.customer(store, "+14155550101", first_name="Ann")
    shop.order(store, "A-1", "100.00", ann, payment_status="paid")
    shop.order(store, "E-1", "500.00", ann, currency="EUR", payment_status="paid")
    shop.order(store, "E-2", "70.00", ann, currency="GBP", payment_status="paid")
    response = owner_client.get(reverse("web:home"))
    overview = response.context["overview"]
    assert (overview["orders"], overview["revenue"], overview["average_order_value"], overview["other_currency_orders"]) == (
        1, Decimal("100.00"), Decimal("100.00"), 2)
    html = response.content.decode()
    assert "2 orders in another currency are not included" in html and "$600" not in html
    chart = json.loads(re.search(r'<script id="daily-series" type="application/json">(.*?)</script>', html).group(1))
    assert (sum(chart["orders"]), sum(chart["revenue"])) == (1, 100.0)
