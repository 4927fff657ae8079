"""Backfill through the Admin GraphQL API (the fake on 127.0.0.1): paging, resume, throttling."""
from dataclasses import replace
from decimal import Decimal

import pytest
from shopify_webhooks import TOKEN
from fake_admin_api import checkout_node, customer_node, order_node, product_node
from shopify_payloads import order_payload

from textpilot.commerce.models import Checkout, Order, Product
from textpilot.common.errors import Conflict
from textpilot.events.models import Event
from textpilot.integrations.shopify.models import BackfillJob
from textpilot.integrations.shopify import backfill, queries
from textpilot.integrations.shopify.client import AdminClient, ShopifyError
from textpilot.profiles.models import ConsentEvent, Profile

COUNTS = {"products": 5, "customers": 7, "orders": 9, "checkouts": 3}


def seed(fake):
    fake.nodes["products"] = [product_node(n) for n in range(1, 6)]
    fake.nodes["customers"] = [customer_node(n, phone=f"+1503555{n:04d}" if n % 2 else None) for n in range(1, 8)]
    fake.nodes["orders"] = [order_node(100 + n, customer=1 + n % 7, product=1 + n % 5, delivered=n % 3 == 0) for n in range(1, 10)]
    fake.nodes["abandonedCheckouts"] = [checkout_node(500 + n, customer=n, completed=n == 3) for n in range(1, 4)]


def client_for(fake) -> AdminClient:
    # The fake's bucket refills on its virtual clock; the client sleeps by advancing it.
    return AdminClient(fake.base_url + "/graphql.json", TOKEN, sleep=fake.advance, clock=fake.clock)


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of 2 so every resource takes several pages."""
    for name, resource in list(queries.RESOURCES.items()):
        monkeypatch.setitem(queries.RESOURCES, name, replace(resource, page_size=2))


def run(job, fake, **kwargs):
    with client_for(fake) as client:
        return backfill.run_backfill(job.pk, client=client, **kwargs), client


def test_backfill_loads_the_whole_shop(store, connected_to_fake, fake_admin, small_pages):
    seed(fake_admin)
    job, _ = run(backfill.start_backfill(store), fake_admin)
    job.refresh_from_db()
    assert (job.status, job.current_resource, job.error) == ("completed", "", "")
    assert job.counts == COUNTS and job.totals == COUNTS
    assert backfill.progress(job)["percent"] == 100
    assert (Product.objects.count(), Profile.objects.count(), Order.objects.count(), Checkout.objects.count()) == (5, 7, 9, 3)

    # Shopify gids are stored as the numeric ids webhooks use.
    assert set(Order.objects.values_list("external_id", flat=True)) == {str(100 + n) for n in range(1, 10)}
    order = Order.objects.get(external_id="103")
    assert (order.payment_status, order.fulfillment_status, order.total, order.order_number) == ("paid", "delivered", Decimal("40.00"), "#1103")
    assert order.shipping["tracking_url"] == "https://ups.example/track/1Z103"
    assert order.lines.get().product == Product.objects.get(external_id="4")
    assert order.profile.external_id == "4" and order.profile.email == "customer4@example.com"
    assert Product.objects.get(external_id="1").url == "https://acme-outdoors.myshopify.com/products/product-1"
    assert dict(Checkout.objects.values_list("external_id", "status")) == {"501": "abandoned", "502": "abandoned", "503": "recovered"}
    assert ConsentEvent.objects.filter(channel="sms", status="subscribed", source="shopify").count() == 4

    # History is marked, so automations can leave old orders alone.
    assert set(Event.objects.values_list("source", flat=True)) == {"shopify_backfill"}
    assert Event.objects.filter(name="placed_order").count() == 9
    assert Event.objects.filter(name="delivered_order").count() == 3

    # Every page after the first asked for the cursor the previous page ended with.
    pages = [r for r in fake_admin.requests if r["root"] == "orders"]
    assert len(pages) == 5 and pages[0]["variables"]["after"] is None
    assert all(page["variables"]["after"] for page in pages[1:])


def test_backfill_never_overwrites_newer_webhook_state(store, connected_to_fake, fake_admin, webhooks):
    seed(fake_admin)
    # A webhook already brought order 101 as refunded, after the state the backfill reads.
    webhooks.post("orders/updated", order_payload(101, customer_id=2, financial_status="refunded", updated_at="2025-01-20T10:00:00Z"))
    run(backfill.start_backfill(store, ["orders"]), fake_admin)
    assert Order.objects.count() == 9
    assert Order.objects.get(external_id="101").payment_status == "refunded"


def test_crashed_backfill_resumes_from_its_last_saved_page(store, connected_to_fake, fake_admin, small_pages):
    seed(fake_admin)
    fake_admin.fail_after_pages = 6  # products take 3 pages; orders' pages fail midway through customers
    job = backfill.start_backfill(store)
    with pytest.raises(ShopifyError):
        run(job, fake_admin)
    job.refresh_from_db()
    assert job.status == "failed" and "500" in job.error
    assert (job.current_resource, job.counts) == ("customers", {"products": 5, "customers": 6})
    saved_cursor = job.cursors["customers"]
    assert Profile.objects.count() == 6

    fake_admin.fail_after_pages = None
    seen_before = len(fake_admin.requests)
    job, _ = run(job, fake_admin)
    job.refresh_from_db()
    assert job.status == "completed" and job.counts == COUNTS
    resumed = [r for r in fake_admin.requests[seen_before:] if r["root"] == "customers"]
    assert resumed[0]["variables"]["after"] == saved_cursor  # not from the start
    assert [r["root"] for r in fake_admin.requests[seen_before:]].count("products") == 0
    assert (Product.objects.count(), Profile.objects.count(), Order.objects.count(), Checkout.objects.count()) == (5, 7, 9, 3)
    assert Event.objects.filter(name="placed_order").count() == 9


def test_crash_inside_a_page_leaves_no_half_page_and_counts_it_once(store, connected_to_fake, fake_admin, small_pages, monkeypatch):
    from textpilot.integrations.shopify import mapping

    seed(fake_admin)
    real_apply, calls = mapping.apply_order, {"n": 0}

    def dies_on_the_fifth_order(ctx, order):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("worker killed")
        return real_apply(ctx, order)

    monkeypatch.setattr(mapping, "apply_order", dies_on_the_fifth_order)
    job = backfill.start_backfill(store, ["orders"])
    with pytest.raises(RuntimeError):
        run(job, fake_admin)
    job.refresh_from_db()
    assert job.counts == {"orders": 4} and Order.objects.count() == 4  # page 3 (orders 5-6) rolled back whole

    job, _ = run(job, fake_admin)
    job.refresh_from_db()
    assert (job.status, job.counts) == ("completed", {"orders": 9})
    assert Order.objects.count() == 9 and Event.objects.filter(name="placed_order").count() == 9


def test_throttled_answers_wait_the_time_the_bucket_needs(store, connected_to_fake, fake_admin, small_pages):
    seed(fake_admin)
    fake_admin.maximum, fake_admin.available, fake_admin.restore_rate, fake_admin.cost_per_node = 100.0, 10.0, 10.0, 20.0
    job, client = run(backfill.start_backfill(store, ["products"]), fake_admin)
    job.refresh_from_db()
    assert job.status == "completed" and Product.objects.count() == 5
    # Count query costs 1 (10 -> 9 left). First page costs 2 + 2*20 = 42: THROTTLED with 9
    # available, so the client waits (42 - 9) / 10 s plus the 0.1 s margin, then runs it
    # (1 left). Before each next page it waits for 42 points instead of being throttled.
    assert client.waited == [pytest.approx(3.4), pytest.approx(4.2), pytest.approx(4.2)]
    pages = sum(1 for r in fake_admin.requests if r["root"] == "products")
    assert pages == 3 + 1  # three pages, one of them refused once


def test_forced_throttle_is_retried(store, connected_to_fake, fake_admin):
    seed(fake_admin)
    fake_admin.throttle_next = 2
    job, client = run(backfill.start_backfill(store, ["products"]), fake_admin)
    job.refresh_from_db()
    assert job.status == "completed" and Product.objects.count() == 5
    assert len(client.waited) == 2  # one wait per THROTTLED answer


def test_refused_token_fails_the_job_with_a_clear_error(store, fake_admin):
    from textpilot.integrations.shopify import connections

    connections.connect_shop(store, shop_domain="acme-outdoors.myshopify.com", access_token="wrong", webhook_secret="s",
                             api_base_url=fake_admin.base_url)
    job = backfill.start_backfill(store)
    with pytest.raises(ShopifyError):
        backfill.run_backfill(job.pk, sleep=fake_admin.advance)
    job.refresh_from_db()
    assert job.status == "failed" and "reconnect the shop" in job.error


def test_one_backfill_at_a_time_and_resume_rules(store, connected_to_fake, fake_admin):
    job = backfill.start_backfill(store)
    with pytest.raises(Conflict):
        backfill.start_backfill(store)
    BackfillJob.objects.filter(pk=job.pk).update(status="failed", error="boom")
    resumed = backfill.resume_backfill(store, job.pk)
    assert (resumed.status, resumed.error) == ("queued", "")


def test_a_running_job_is_not_run_twice(store, connected_to_fake, fake_admin):
    seed(fake_admin)
    job = backfill.start_backfill(store)
    BackfillJob.objects.filter(pk=job.pk).update(status="running")  # another worker has it
    fake_admin.requests.clear()
    run(job, fake_admin)
    assert fake_admin.requests == [] and not Product.objects.exists()


def test_bad_rows_are_reported_and_the_rest_load(store, connected_to_fake, fake_admin):
    seed(fake_admin)
    fake_admin.nodes["products"][1]["title"] = ""
    fake_admin.nodes["orders"][2]["lineItems"]["nodes"][0]["quantity"] = "two"
    job, _ = run(backfill.start_backfill(store, ["products", "orders"]), fake_admin)
    job.refresh_from_db()
    assert job.status == "completed"
    assert job.counts == {"products": 5, "products_rejected": 1, "orders": 9, "orders_rejected": 1}
    assert (Product.objects.count(), Order.objects.count()) == (4, 8)
    assert backfill.progress(job)["resources"][0]["rejected"] == 1
