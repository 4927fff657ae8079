"""seed_demo: counts, validity, customer stats, consent, determinism, idempotence, --reset isolation.

Runs on SQLite (executemany path) and on PostgreSQL (COPY path): `DATABASE_URL=… pytest tests/demo`."""
import io
from datetime import timedelta
from decimal import Decimal

import phonenumbers
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count

from textpilot.commerce import service as commerce
from textpilot.commerce import stats
from textpilot.commerce.models import Checkout, CustomerStats, Order, OrderLine, Product
from textpilot.demo.generator import DemoGenerator, Plan, ProductRef
from textpilot.demo import catalog
from textpilot.events.models import Event
from textpilot.profiles import service as profiles_service
from textpilot.profiles.models import ConsentEvent, Profile
from textpilot.stores.models import Membership, Store

NOW = "2025-06-01T00:00:00"
SIZES = {"profiles": 300, "orders": 400, "events": 2000}
EVENT_NAMES = {"viewed_product", "added_to_cart", "started_checkout", "placed_order", "clicked_link", "active_on_site"}


def seed(*args, slug="demo", seed=42, **sizes):
    out = io.StringIO()
    options = {**SIZES, **sizes}
    call_command(
        "seed_demo", "--store", slug, "--profiles", str(options["profiles"]), "--orders", str(options["orders"]),
        "--events", str(options["events"]), "--seed", str(seed), "--now", NOW, "--chunk-size", "64", *args, stdout=out,
    )
    return out.getvalue()


def snapshot(store):
    """Everything seeded, keyed by external ids (database ids differ between stores and runs)."""
    profile_ext = dict(Profile.objects.filter(store=store).values_list("id", "external_id"))
    order_ext = dict(Order.objects.filter(store=store).values_list("id", "external_id"))
    product_ext = dict(Product.objects.filter(store=store).values_list("id", "external_id"))
    profile_fields = [f.name for f in Profile._meta.concrete_fields if f.name not in ("id", "store", "updated_at")]

    def portable(data):  # product ids inside JSON are database ids too
        if isinstance(data, list):
            return str([portable(item) for item in data])
        if "product_id" in data:
            data = {**data, "product_id": product_ext[data["product_id"]]}
        return str(data)

    return {
        "profiles": sorted(
            tuple(str(row[name]) for name in profile_fields) for row in Profile.objects.filter(store=store).values(*profile_fields)
        ),
        "customer_stats": sorted(
            (profile_ext[c.profile_id], c.orders_count, c.total_spent, c.average_order_value, c.first_order_at, c.last_order_at,
             c.currency, c.other_currency_orders)
            for c in CustomerStats.objects.filter(store=store)
        ),
        "consent": sorted(
            (profile_ext[c.profile_id], c.status, c.phone, c.source, c.keyword, c.ip_address, c.user_agent, c.consent_text, c.occurred_at)
            for c in ConsentEvent.objects.filter(store=store)
        ),
        "orders": sorted(
            (o.external_id, profile_ext[o.profile_id], o.order_number, o.total, o.payment_status, o.fulfillment_status,
             o.discount_codes, o.shipping, o.placed_at, o.cancelled_at)
            for o in Order.objects.filter(store=store)
        ),
        "lines": sorted(
            (order_ext[line.order_id], product_ext[line.product_id], line.title, line.quantity, line.price)
            for line in OrderLine.objects.filter(store=store)
        ),
        "checkouts": sorted(
            (c.external_id, profile_ext[c.profile_id], c.status, c.total, c.checkout_url, c.started_at,
             order_ext.get(c.order_id), portable(c.line_items))
            for c in Checkout.objects.filter(store=store)
        ),
        "events": sorted(
            (profile_ext[e.profile_id], e.name, portable(e.properties), e.occurred_at, e.source) for e in Event.objects.filter(store=store)
        ),
    }


@pytest.fixture
def demo(db):
    seed()
    return Store.objects.get(slug="demo")


def test_creates_the_store_with_the_asked_counts(demo):
    assert (demo.name, demo.timezone, demo.currency, demo.country) == ("Demo Outdoor Co.", "America/New_York", "USD", "US")
    assert demo.sender_name
    assert Profile.objects.filter(store=demo).count() == SIZES["profiles"]
    assert Order.objects.filter(store=demo).count() == SIZES["orders"]
    assert Event.objects.filter(store=demo).count() == SIZES["events"]
    assert 30 <= Product.objects.filter(store=demo).count() <= 50
    assert OrderLine.objects.filter(store=demo).count() >= SIZES["orders"]
    assert Checkout.objects.filter(store=demo).exists()


def test_phones_are_valid_unique_e164_and_profiles_look_real(demo):
    rows = list(Profile.objects.filter(store=demo).values("phone", "email", "country", "timezone", "city", "latitude",
                                                           "longitude", "language", "first_name", "source", "gender"))
    phones = [row["phone"] for row in rows if row["phone"]]
    assert len(phones) > 0.9 * len(rows)
    assert len(set(phones)) == len(phones)
    for row in rows:
        if row["phone"]:
            number = phonenumbers.parse(row["phone"], None)
            assert phonenumbers.is_valid_number(number), row["phone"]
            assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == row["phone"]
            assert phonenumbers.region_code_for_number(number) == row["country"]
        assert row["phone"] or row["email"]
        assert row["timezone"] and row["city"] and row["first_name"] and row["language"]
        assert -90 <= row["latitude"] <= 90 and -180 <= row["longitude"] <= 180
    emails = [row["email"] for row in rows if row["email"]]
    assert len(emails) > len(rows) / 2 and len(set(emails)) == len(emails)
    assert all(email.endswith((".example.com", "@example.com", "@example.net", "@example.org")) for email in emails)
    assert {"US", "CA", "GB", "AU", "DE", "FR", "KR", "AE"} <= {row["country"] for row in rows}
    # Only ways to sign up that textpilot has today: the store's own web forms reporting consent
    # through the API (popup, checkout box) and a CSV import; no keyword sign-ups (JOIN does nothing yet).
    assert {row["source"] for row in rows} == {"popup", "checkout", "import"}
    assert {"female", "male"} <= {row["gender"] for row in rows}
    created = Profile.objects.filter(store=demo).order_by("created_at").values_list("created_at", flat=True)
    assert created.last() - created.first() > timedelta(days=600)


def test_customer_stats_equal_what_commerce_computes(demo):
    profiles = list(Profile.objects.filter(store=demo))
    written = stats.for_profiles(demo, [p.pk for p in profiles])
    for profile in profiles:
        expected = stats.compute(demo, profile.pk)
        actual = {name: getattr(written[profile.pk], name) for name in expected}
        assert actual == expected, profile.external_id
    # A row for exactly the profiles with an order (the commerce rule).
    assert set(CustomerStats.objects.filter(store=demo).values_list("pk", flat=True)) == set(
        Order.objects.filter(store=demo).values_list("profile_id", flat=True))
    assert any(s.orders_count >= 3 for s in written.values()) and any(s.orders_count == 0 for s in written.values())
    # The generator already wrote correct stats: recomputing corrects nothing ...
    assert stats.recompute_store(demo) == 0
    # ... and a damaged row is repaired.
    damaged = next(s for s in written.values() if s.orders_count)
    CustomerStats.objects.filter(pk=damaged.pk).update(orders_count=0, total_spent=Decimal("0"), last_order_at=None)
    assert stats.recompute_store(demo) == 1
    assert {n: getattr(CustomerStats.objects.get(pk=damaged.pk), n) for n in ("orders_count", "total_spent", "last_order_at")} == {
        n: getattr(damaged, n) for n in ("orders_count", "total_spent", "last_order_at")}


def test_recompute_rounds_the_average_like_compute(store):
    """100.05 / 2 = 50.025: both paths round half-to-even (50.02); 0.15 / 2 = 0.075 → 0.08."""
    ann = profiles_service.create_profile(store, phone="+14155552671")
    bob = profiles_service.create_profile(store, phone="+14155552672")
    for external_id, total, who in (("a1", "100.00", ann), ("a2", "0.05", ann), ("b1", "0.10", bob), ("b2", "0.05", bob)):
        commerce.record_order(store, external_id=external_id, total=total, profile=who, payment_status="paid")
    expected = {p: stats.compute(store, p.pk) for p in (ann, bob)}
    assert expected[ann]["average_order_value"] == Decimal("50.02") and expected[bob]["average_order_value"] == Decimal("0.08")
    CustomerStats.objects.filter(store=store).update(average_order_value=Decimal("1"))
    assert stats.recompute_store(store) == 2
    for profile, values in expected.items():
        assert stats.for_profile(store, profile.pk).average_order_value == values["average_order_value"]


def test_sms_status_is_the_newest_consent_event(demo):
    newest = {}
    for event in ConsentEvent.objects.filter(store=demo, channel="sms").order_by("occurred_at", "id"):
        newest[event.profile_id] = event
    statuses = set()
    for profile in Profile.objects.filter(store=demo):
        event = newest.get(profile.pk)
        if event is None:
            assert (profile.sms_status, profile.sms_status_at) == ("never", None)
        else:
            assert (profile.sms_status, profile.sms_status_at) == (event.status, event.occurred_at)
            assert event.phone == profile.phone and event.occurred_at >= profile.created_at
        statuses.add(profile.sms_status)
    assert {"subscribed", "unsubscribed", "never"} <= statuses
    # The seeded status is what the consent precedence rule makes of each trail.
    from textpilot.profiles import consent

    trails = {}
    for event in ConsentEvent.objects.filter(store=demo, channel="sms").order_by("recorded_at", "id"):
        trails.setdefault(event.profile_id, []).append(consent.change_of(event))
    for profile in Profile.objects.filter(store=demo, pk__in=list(trails)):
        assert consent.state_of(profile) == consent.fold(trails[profile.pk]), profile.pk
    assert Profile.objects.filter(store=demo, sms_opted_out_at__isnull=False, sms_status="unsubscribed").exists()
    subscribed = Profile.objects.filter(store=demo, sms_status="subscribed").count()
    assert subscribed > SIZES["profiles"] / 2
    for event in ConsentEvent.objects.filter(store=demo):
        assert event.source
        if event.status == "subscribed":
            assert event.consent_text and "STOP" in event.consent_text
        # The one keyword textpilot answers with a subscription is START (after a STOP), never JOIN.
        assert event.source in ("popup", "checkout", "import", "inbound_keyword", "inbound_reply", "staff"), event.source
        if event.keyword:  # only on what a customer texted in (STOP, START, "please stop texting me")
            assert event.source in ("inbound_keyword", "inbound_reply"), (event.source, event.keyword)
        if event.status == "subscribed" and event.source == "inbound_keyword":
            assert event.keyword == "START"
        if event.status == "unsubscribed":
            assert event.source in ("inbound_keyword", "inbound_reply", "staff") and event.basis == "observed"
            assert event.keyword or event.source == "staff"
        if event.source in ("popup", "checkout") and event.ip_address and event.user_agent:
            assert event.basis == "evidenced"
        if event.source in ("popup", "checkout"):
            assert event.ip_address and event.user_agent


def test_every_demo_subscriber_can_be_texted_from_the_demo_store(demo):
    """The demo's list is international (8 countries): the store allows exactly those
    countries, so no subscriber is one the gate would refuse for their country."""
    from textpilot.common.phones import phone_region
    from textpilot.delivery import service as delivery

    allowed = delivery.compliance_settings(demo).allowed_countries
    assert allowed == sorted(country.code for country in catalog.COUNTRIES)
    phones = Profile.objects.filter(store=demo, sms_status="subscribed").values_list("phone", flat=True)
    assert phones and not [phone for phone in phones if phone_region(phone) not in allowed]


def test_a_store_owner_choice_of_allowed_countries_survives_a_reseed(demo):
    from textpilot.delivery import service as delivery

    delivery.update_compliance_settings(demo, allowed_countries=["US"])
    seed("--reset")
    assert delivery.compliance_settings(demo).allowed_countries == ["US"]


def test_orders_checkouts_and_events_are_consistent(demo):
    created = dict(Profile.objects.filter(store=demo).values_list("id", "created_at"))
    lines = {}
    for line in OrderLine.objects.filter(store=demo):
        lines.setdefault(line.order_id, []).append(line)
    statuses, cancelled = set(), 0
    for order in Order.objects.filter(store=demo):
        assert order.placed_at >= created[order.profile_id]
        assert 1 <= len(lines[order.pk]) <= 3
        assert order.total == sum(line.price * line.quantity for line in lines[order.pk])
        assert order.currency == "USD"
        statuses.add(order.payment_status)
        cancelled += order.cancelled_at is not None
        if order.fulfillment_status in ("fulfilled", "delivered", "partial"):
            assert order.shipping["tracking_url"].startswith("https://") and order.shipping["carrier"]
    assert {"paid", "pending", "refunded", "voided"} <= statuses or {"paid", "refunded"} <= statuses
    paid = Order.objects.filter(store=demo, payment_status="paid").count()
    assert paid > 0.7 * SIZES["orders"]
    assert Order.objects.filter(store=demo).exclude(discount_codes=[]).exists()
    # Power law: the busiest customer has many more orders than the typical buyer.
    per_profile = sorted(Order.objects.filter(store=demo).values("profile").annotate(n=Count("id")).values_list("n", flat=True))
    assert per_profile[-1] >= 4 * per_profile[len(per_profile) // 2]

    checkouts = list(Checkout.objects.filter(store=demo))
    abandoned = [c for c in checkouts if c.status == "abandoned"]
    recovered = [c for c in checkouts if c.status == "recovered"]
    assert abandoned and recovered
    assert all(c.checkout_url.startswith("https://") and c.order_id is None for c in abandoned)
    orders = {o.pk: o for o in Order.objects.filter(store=demo)}
    for checkout in recovered:
        order = orders[checkout.order_id]
        assert order.profile_id == checkout.profile_id and checkout.completed_at == order.placed_at
        assert checkout.started_at <= order.placed_at

    names = set()
    for event in Event.objects.filter(store=demo):
        assert event.occurred_at >= created[event.profile_id]
        names.add(event.name)
        if event.name in ("viewed_product", "added_to_cart"):
            assert event.properties["product_id"] and event.properties["title"]
    assert names == EVENT_NAMES


def test_same_seed_gives_the_same_data_and_another_seed_does_not(db):
    # The sample inbox texts happen at the real current time: only the generated data repeats.
    seed("--no-conversations", slug="first", seed=7)
    seed("--no-conversations", slug="second", seed=7)
    seed("--no-conversations", slug="third", seed=8)
    first, second, third = (snapshot(Store.objects.get(slug=slug)) for slug in ("first", "second", "third"))
    assert first == second
    assert first["profiles"] != third["profiles"] and first["events"] != third["events"]


def test_chunking_does_not_change_the_rows():
    from datetime import datetime, timezone

    products = [ProductRef(n, title, cents, f"S{n}", f"https://x.example/{n}") for n, (title, cents, _) in enumerate(catalog.PRODUCTS, 1)]

    def rows(chunk_size):
        plan = Plan(store_id=1, profiles=120, orders=200, events=900, seed=3, now=datetime(2025, 1, 1, tzinfo=timezone.utc), products=products)
        tables = {}
        for chunk in DemoGenerator(plan).chunks(chunk_size):
            for name, part in chunk.tables():
                tables.setdefault(name, []).extend(part)
        return tables

    one, other = rows(7), rows(1000)
    assert one == other
    assert len(one["profiles"]) == 120 and len(one["orders"]) == 200 and len(one["events"]) == 900


def test_second_run_without_reset_changes_nothing(demo):
    before = snapshot(demo)
    counts = (Profile.objects.count(), Order.objects.count(), Event.objects.count(), ConsentEvent.objects.count())
    output = seed(profiles=50, orders=10, events=10)
    assert "already seeded" in output
    assert (Profile.objects.count(), Order.objects.count(), Event.objects.count(), ConsentEvent.objects.count()) == counts
    assert snapshot(demo) == before


def test_reset_reloads_this_store_only(demo, other_store):
    theirs = profiles_service.create_profile(other_store, phone="+4915123456789", email="kim@example.de")
    profiles_service.record_consent(other_store, theirs, "subscribed", "popup", consent_text="Ja")
    commerce.record_order(other_store, external_id="B1", total="12.50", profile=theirs, payment_status="paid")
    from textpilot.events.service import record_event

    record_event(other_store, theirs, "viewed_product", {"sku": "X"})
    other_before = snapshot(other_store)

    output = seed("--reset", profiles=120, orders=150, events=700)
    assert "seeded store 'demo'" in output
    assert Profile.objects.filter(store=demo).count() == 120
    assert Order.objects.filter(store=demo).count() == 150
    assert Event.objects.filter(store=demo).count() == 700
    assert snapshot(other_store) == other_before
    theirs.refresh_from_db()
    bought = stats.for_profile(other_store, theirs.pk)
    assert (bought.orders_count, bought.total_spent, theirs.sms_status) == (1, Decimal("12.50"), "subscribed")


def test_reset_refuses_a_store_with_profiles_it_did_not_create(demo):
    profiles_service.create_profile(demo, phone="+14155552671", first_name="Real")
    with pytest.raises(CommandError, match="did not create"):
        seed("--reset")
    assert Profile.objects.filter(store=demo).count() == SIZES["profiles"] + 1


def test_user_becomes_owner_and_can_log_in(db, client):
    seed("--user", "demo@textpilot.test", "--password", "correct-horse-battery", profiles=20, orders=20, events=50)
    store = Store.objects.get(slug="demo")
    assert Membership.objects.get(store=store, user__username="demo@textpilot.test").role == "owner"
    assert client.login(username="demo@textpilot.test", password="correct-horse-battery")
    # Running again (as `make demo` does) keeps the data and still ensures the user.
    assert "already seeded" in seed("--user", "demo@textpilot.test", "--password", "another-password-1", profiles=20, orders=20, events=50)
    assert client.login(username="demo@textpilot.test", password="another-password-1")


def test_bad_arguments_are_refused(db):
    with pytest.raises(CommandError, match="at least one profile"):
        seed(profiles=0, orders=5, events=0)
    with pytest.raises(CommandError, match="go together"):
        seed("--user", "a@b.test")
    assert not Profile.objects.exists()


@pytest.mark.postgresql_only
def test_postgresql_without_superuser_checks_keys_per_copy(db, monkeypatch):
    from textpilot.demo import writers

    monkeypatch.setattr(writers.PostgresCopyWriter, "may_disable_triggers", lambda self: False)
    seed(profiles=60, orders=80, events=300)
    store = Store.objects.get(slug="demo")
    assert Event.objects.filter(store=store).count() == 300
    written = stats.for_profiles(store, Profile.objects.filter(store=store).values_list("pk", flat=True))
    for pk, row in written.items():
        assert stats.compute(store, pk)["orders_count"] == row.orders_count
    assert any(row.orders_count for row in written.values())


@pytest.mark.postgresql_only
def test_postgresql_orphan_rows_are_caught_when_triggers_are_off(db, monkeypatch):
    from textpilot.demo import generator

    original = generator.DemoGenerator._events

    def broken(self, pid, *args):
        return original(self, pid + 10_000_000, *args)  # events of profiles that do not exist

    monkeypatch.setattr(generator.DemoGenerator, "_events", broken)
    with pytest.raises(RuntimeError, match="missing"):
        seed(profiles=10, orders=10, events=40)
    assert not Event.objects.exists() and not Profile.objects.exists()


@pytest.mark.postgresql_only
def test_postgresql_big_load_path_rebuilds_the_indexes_it_dropped(db, monkeypatch):
    from textpilot.demo import writers

    def index_definitions():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
                "WHERE indrelid IN ('events_event'::regclass, 'commerce_order'::regclass, 'profiles_profile'::regclass, "
                "'commerce_customerstats'::regclass) ORDER BY 1"
            )
            return cursor.fetchall()

    before = index_definitions()
    monkeypatch.setattr(writers.PostgresCopyWriter, "rebuild_threshold", 0)  # take the big-load path at test size
    output = seed(profiles=80, orders=100, events=500)
    assert "without their" in output and "rebuilt index" in output
    assert index_definitions() == before
    store = Store.objects.get(slug="demo")
    assert Event.objects.filter(store=store).count() == 500


@pytest.mark.postgresql_only
def test_postgresql_keeps_indexes_of_tables_shared_with_other_stores(db, other_store, monkeypatch):
    from textpilot.demo import writers

    theirs = profiles_service.create_profile(other_store, phone="+4915123456789")
    commerce.record_order(other_store, external_id="B1", total="5", profile=theirs, payment_status="paid")
    monkeypatch.setattr(writers.PostgresCopyWriter, "rebuild_threshold", 0)
    output = seed(profiles=40, orders=50, events=100)
    line = next(line for line in output.splitlines() if "without their" in line)
    rebuilt = set(line.split("loading ", 1)[1].split(" without", 1)[0].split(", "))
    assert "events_event" in rebuilt  # only the demo store has events
    assert not rebuilt & {"profiles_profile", "commerce_order", "commerce_customerstats"}  # shared with the other store: untouched
    assert stats.for_profile(other_store, theirs.pk).orders_count == 1


def test_columns_the_generator_does_not_write_get_what_the_orm_would_write(store):
    """A field added to a model later (not in the generator's tuples) still gets its default."""
    from textpilot.demo.generator import PROFILE_FIELDS
    from textpilot.demo.writers import writer_for_connection

    skipped = {"first_name", "gender", "properties", "sms_status", "updated_at"}
    fields = [name for name in PROFILE_FIELDS if name not in skipped]
    values = {"id": None, "store_id": store.pk, "phone": "+14155552671", "email": None, "external_id": "x-1",
              "last_name": "Lee", "language": "en", "country": "US", "region": "MA", "city": "Boston", "latitude": None,
              "longitude": None, "timezone": "America/New_York", "source": "api", "created_at": "2025-01-02 03:04:05",
              "sms_status_at": None, "sms_opted_out_at": None}
    fields.remove("id")
    if connection.vendor == "postgresql":
        values["created_at"] += "+00"
    writer = writer_for_connection()
    writer.write("profiles", Profile, fields, [tuple(values[name] for name in fields)])
    profile = Profile.objects.get(store=store, external_id="x-1")
    assert (profile.first_name, profile.gender, profile.properties, profile.sms_status) == ("", "", {}, "never")
    assert profile.updated_at is not None and profile.created_at.year == 2025


@pytest.mark.postgresql_only
def test_postgresql_reset_refuses_to_orphan_rows_of_another_store(demo, other_store):
    # A row of another store that (wrongly) points at a demo profile must stop the reset whole.
    demo_profile = Profile.objects.filter(store=demo).first()
    Event.objects.create(store=other_store, profile=demo_profile, name="viewed_product")
    with pytest.raises(RuntimeError, match="missing"):
        seed("--reset")
    assert Profile.objects.filter(store=demo).count() == SIZES["profiles"]


def test_demo_inbox_shows_an_opt_out_in_words_a_flagged_reply_and_a_staff_unsubscribe(db):
    from textpilot.delivery.models import Message, Origin

    seed("--user", "owner@example.com", "--password", "demo-pass-1")
    demo = Store.objects.get(slug="demo")
    inbound = {m.body: m for m in Message.objects.filter(store=demo, direction="inbound")}
    assert set(inbound) == {"please stop texting me", "who is this?", "Do you still have the 2-person tent in green?",
                            "ALTO por favor"}
    assert inbound["who is this?"].review_flag == "possible_opt_out"
    stopped = {inbound[body].profile_id for body in ("please stop texting me", "ALTO por favor")}
    assert set(Profile.objects.filter(pk__in=stopped).values_list("sms_status", flat=True)) == {"unsubscribed"}
    assert Message.objects.filter(store=demo, origin=Origin.KEYWORD_REPLY, profile_id__in=stopped).count() == 2
    staff = ConsentEvent.objects.get(store=demo, source="staff")
    assert staff.status == "unsubscribed" and "support ticket" in staff.consent_text
