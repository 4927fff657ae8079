"""A fixed, varied population of one store for the segment tests: ~60 live profiles (and a
few merged and erased ones) with orders and their lines, checkouts, opt-in evidence, texts,
clicks and events, drawn from a seeded random generator so every run sees the same data.

Values come from small vocabularies (VOCAB) that the definition generator
(definitions.py) draws from too, so random definitions match some profiles and miss
others; times sit on and around the window edges (30 days ago exactly, a second either
side) because that is where a compiler and a matcher disagree if they ever do."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from textpilot.commerce import stats
from textpilot.commerce.models import Checkout, Order, OrderLine, PaymentStatus, Product
from textpilot.delivery.models import Direction, Message, Status
from textpilot.events.models import Event
from textpilot.messaging.models import ShortLink
from textpilot.profiles.models import ConsentEvent, ConsentStatus, Profile

NOW = dt.datetime(2026, 6, 15, 16, 30, 0, tzinfo=dt.timezone.utc)

VOCAB = {
    "country": ["US", "CA", "GB", "DE", ""],
    "city": ["Boston", "boston", "New York", "Berlin", "São Paulo", "", "BOSTON "],
    "gender": ["female", "male", "other", ""],
    "language": ["en", "EN", "es", "fr-CA", ""],
    "timezone": ["America/New_York", "Europe/Berlin", "America/Los_Angeles", ""],
    "source": ["popup", "import", "shopify", "Popup", ""],
    "sms_status": ["subscribed", "unsubscribed", "never", "pending"],
    "opt_in_source": ["popup", "keyword", "checkout", "import", "Keyword"],
    "keyword": ["JOIN", "join", "Vip", "", "STOP2", "ıoın"],
    "products": ["p1", "p2", "p3", "p4", "p5"],
    "events": ["viewed_product", "started_checkout", "placed_order"],
    "property_keys": ["vip", "size", "tags", "score", "color", "größe"],
    "property_values": [True, False, 1, 0, 2, 10, 2.5, -3, "1", "true", "red", "Red", "blue", None, ["red", 1], [True], ["blue", "x"], [], {"a": 1}],
    "where_values": ["42", 42, "7", True, 10],
    "phones": ["+1617555{:04d}", "+44770090{:04d}", "+4915123{:04d}", "+5511998{:04d}", None],
    "money": ["0", "0.30", "9.99", "10", "25.50", "40", "100", "100.01", "250"],
    "points": [(42.3601, -71.0589), (40.7128, -74.0060), (52.52, 13.405), (42.37, -71.11), (0.0, 0.0), None],
}
DAY_OFFSETS = [0, 1, 5, 7, 29, 30, 31, 60, 89, 90, 91, 180, 365, 400]


def when(rng: random.Random) -> dt.datetime:
    """A time at or near a window edge: N days ago, exactly or a second either side, or
    anywhere in that day."""
    base = NOW - dt.timedelta(days=rng.choice(DAY_OFFSETS))
    jitter = rng.choice([0, 0, 1, -1, rng.randint(-86_000, 86_000)])
    return base + dt.timedelta(seconds=jitter)


def build(store, seed: int = 1234, people: int = 60) -> list[int]:
    """Create the population in `store`; returns the ids of every profile made."""
    rng = random.Random(seed)
    products = [Product.objects.create(store=store, external_id=pid, title=f"Product {pid}") for pid in VOCAB["products"]]
    products.append(Product.objects.create(store=store, external_id="42", title="The answer"))
    profiles = []
    for index in range(people):
        phone_pattern = rng.choice(VOCAB["phones"])
        point = rng.choice(VOCAB["points"])
        if point is not None and rng.random() < 0.5:
            point = (point[0] + rng.uniform(-0.3, 0.3), point[1] + rng.uniform(-0.3, 0.3))
        status = rng.choice(VOCAB["sms_status"])
        properties = {key: rng.choice(VOCAB["property_values"]) for key in rng.sample(VOCAB["property_keys"], rng.randint(0, 4))}
        profiles.append(Profile(
            store=store, phone=phone_pattern.format(index) if phone_pattern else None, country=rng.choice(VOCAB["country"]),
            city=rng.choice(VOCAB["city"]), gender=rng.choice(VOCAB["gender"]), language=rng.choice(VOCAB["language"]),
            timezone=rng.choice(VOCAB["timezone"]), source=rng.choice(VOCAB["source"]), created_at=when(rng),
            properties=properties, latitude=point[0] if point else None, longitude=point[1] if point else None,
            sms_status=status, sms_status_at=when(rng) if status != "never" or rng.random() < 0.2 else None,
        ))
    Profile.objects.bulk_create(profiles)
    profiles = list(Profile.objects.filter(store=store).order_by("pk"))

    # Tombstones: merged into a live profile (one two merges deep), with opt-in evidence of
    # their own; and erased profiles, which are in no segment.
    tombstones = []
    for index in range(4):
        tombstones.append(Profile.objects.create(store=store, country="US", sms_status="subscribed", sms_status_at=when(rng),
                                                 merged_into=profiles[index], created_at=when(rng)))
    tombstones.append(Profile.objects.create(store=store, country="US", merged_into=tombstones[0], created_at=when(rng)))
    erased = [Profile.objects.create(store=store, country="US", city="Boston", sms_status="subscribed", sms_status_at=when(rng),
                                     erased_at=NOW - dt.timedelta(days=3), created_at=when(rng)) for _ in range(2)]
    everyone = profiles + tombstones + erased

    orders, lines = [], []
    for profile in everyone:
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3, 5])):
            orders.append(Order(
                store=store, profile=profile, external_id=f"o{len(orders)}", total=Decimal(rng.choice(VOCAB["money"])),
                currency=rng.choice(["USD"] * 5 + ["EUR"]), payment_status=rng.choice(PaymentStatus.values),
                placed_at=when(rng), cancelled_at=NOW - dt.timedelta(days=1) if rng.random() < 0.1 else None,
            ))
    Order.objects.bulk_create(orders)
    for order in orders:
        for _ in range(rng.choice([0, 1, 1, 2])):
            lines.append(OrderLine(store=store, order=order, product=rng.choice(products + [None]), title="item",
                                   price=Decimal("5.00")))
    OrderLine.objects.bulk_create(lines)
    stats.recompute_store(store)

    checkouts = [
        Checkout(store=store, profile=profile, external_id=f"c{index}", total=Decimal(rng.choice(VOCAB["money"])),
                 currency=rng.choice(["USD", "USD", "EUR"]), status=rng.choice(Checkout.Status.values), started_at=when(rng))
        for index, profile in enumerate(rng.choices(everyone, k=40))
    ]
    Checkout.objects.bulk_create(checkouts)

    consent = []
    for profile in rng.choices(everyone, k=45) + tombstones:
        consent.append(ConsentEvent(store=store, profile=profile, status=rng.choice([ConsentStatus.SUBSCRIBED] * 3 + [ConsentStatus.UNSUBSCRIBED]),
                                    channel=rng.choice(["sms"] * 5 + ["email"]), phone=profile.phone or "",
                                    source=rng.choice(VOCAB["opt_in_source"]), keyword=rng.choice(VOCAB["keyword"]),
                                    occurred_at=when(rng)))
    ConsentEvent.objects.bulk_create(consent)

    messages = []
    for profile in rng.choices(everyone, k=70):
        direction = rng.choice([Direction.OUTBOUND] * 3 + [Direction.INBOUND])
        sent = when(rng)
        messages.append(Message(
            store=store, profile=profile, direction=direction, to_phone=profile.phone or "+16175550000", body="hi",
            media_urls=["https://example.test/card.vcf"] if rng.random() < 0.3 else [],
            status=Status.RECEIVED if direction == Direction.INBOUND else rng.choice([Status.SENT, Status.DELIVERED, Status.FAILED,
                                                                                     Status.QUEUED]),
            sent_at=sent if rng.random() < 0.9 else None, created_at=sent - dt.timedelta(seconds=rng.choice([0, 5])),
        ))
    Message.objects.bulk_create(messages)
    links = []
    for index, message in enumerate(m for m in messages if m.direction == Direction.OUTBOUND):
        clicks = rng.choice([0, 0, 1, 3])
        links.append(ShortLink(store=store, code=f"seg{index:05d}", message=message, profile=message.profile,
                               target_url="https://shop.test/", click_count=clicks,
                               last_clicked_at=when(rng) if clicks else None, first_clicked_at=None))
    ShortLink.objects.bulk_create(links)

    events = []
    for profile in rng.choices(everyone, k=120):
        properties = {}
        if rng.random() < 0.7:
            properties["product_id"] = rng.choice(VOCAB["where_values"])
        if rng.random() < 0.3:
            properties["price"] = rng.choice([10, 10.0, "10", 5])
        events.append(Event(store=store, profile=profile, name=rng.choice(VOCAB["events"]), properties=properties,
                            occurred_at=when(rng)))
    Event.objects.bulk_create(events)
    return [profile.pk for profile in everyone]
