from decimal import Decimal

import pytest

from textpilot.commerce import stats
from textpilot.commerce.models import Order
from textpilot.events.models import Event
from textpilot.profiles.models import Profile

ORDER = {
    "external_id": "5001",
    "order_number": "#1001",
    "profile": {"phone": "+14155552671", "email": "ann@example.com"},
    "total": "59.90",
    "payment_status": "paid",
    "placed_at": "2026-11-01T10:00:00Z",
    "updated_at": "2026-11-01T10:00:00Z",
    "lines": [{"title": "Trail Tent", "quantity": 1, "price": "49.90"}, {"title": "Stakes", "quantity": 2, "price": "5.00"}],
    "discount_codes": ["WELCOME10"],
}


def test_order_creates_buyer_rollups_and_events(api):
    response = api.post("/api/v1/orders", ORDER)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["total"] == "59.90" and [l["title"] for l in body["lines"]] == ["Trail Tent", "Stakes"]
    buyer = Profile.objects.get()
    bought = api.get(f"/api/v1/profiles/{buyer.pk}").json()["stats"]
    assert (bought["orders_count"], bought["total_spent"], buyer.email) == (1, "59.90", "ann@example.com")
    assert set(Event.objects.values_list("name", flat=True)) == {"placed_order", "paid_order"}


def test_an_order_in_another_currency_is_kept_and_reported_not_summed(api, store):
    api.post("/api/v1/orders", ORDER)
    response = api.post("/api/v1/orders", {**ORDER, "external_id": "5002", "total": "80.00", "currency": "eur"})
    assert response.status_code == 201 and (response.json()["total"], response.json()["currency"]) == ("80.00", "EUR")
    row = stats.for_profile(store, Profile.objects.get().pk)
    assert (row.orders_count, row.total_spent, row.currency, row.other_currency_orders) == (1, Decimal("59.90"), "USD", 1)


def test_replay_and_older_update_change_nothing(api):
    api.post("/api/v1/orders", ORDER)
    assert api.post("/api/v1/orders", ORDER).status_code == 200
    older = {**ORDER, "payment_status": "pending", "updated_at": "2026-10-31T10:00:00Z"}
    api.post("/api/v1/orders", older)
    assert Order.objects.get().payment_status == "paid"
    assert Event.objects.count() == 2


def test_newer_update_cancels_and_emits_once(api, store):
    api.post("/api/v1/orders", ORDER)
    cancelled = {**ORDER, "cancelled_at": "2026-11-02T09:00:00Z", "updated_at": "2026-11-02T09:00:00Z"}
    api.post("/api/v1/orders", cancelled)
    api.post("/api/v1/orders", cancelled)
    assert stats.for_profile(store, Profile.objects.get().pk).orders_count == 0
    assert Event.objects.filter(name="cancelled_order").count() == 1


@pytest.mark.parametrize(
    "change, loc",
    [
        ({"profile": {}}, "profile"),
        ({"profile": {"phone": "555"}}, "profile.phone"),
        ({"total": "-3"}, "total"),
        ({"payment_status": "free"}, "payment_status"),
        ({"lines": [{"title": "Tent", "quantity": 0, "price": "1"}]}, "lines.0.quantity"),
        ({"lines": [{"title": "Tent", "quantity": 10**12, "price": "1"}]}, "lines.0.quantity"),
        ({"currency": "$$$"}, "currency"),
        ({"placed_at": "2026-01-01T00:00:00+20:00"}, "placed_at"),
        ({"total": "12345678901234"}, "total"),
        ({"currency": "EURO"}, "currency"),
    ],
)
def test_bad_orders_are_refused(api, change, loc):
    response = api.post("/api/v1/orders", {**ORDER, **change})
    assert response.status_code == 422, response.content
    assert ["body", *(int(p) if p.isdigit() else p for p in loc.split("."))] in [d["loc"] for d in response.json()["detail"]]
    assert not Order.objects.exists() and not Profile.objects.exists() and not Event.objects.exists()
