"""Synthetic queued messages for load tests and benchmarks (the exactly-once tests and
bench/dispatch_bench.py): many `queued` rows written in bulk, shaped like what
`send_message` stores for a transactional text, without paying for rendering 10,000 times.

Not used by the product itself; `send_message` stays the only way real texts are queued."""
from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from textpilot.delivery.models import PRIORITY_TRANSACTIONAL, Direction, Kind, Message, Origin, Sender, Status
from textpilot.profiles.models import ConsentStatus, Profile

US_TEST_PREFIX = "+1212555"  # New York numbers: one time zone, the store's country


def synthetic_profiles(store, count: int, prefix: str = US_TEST_PREFIX) -> list[Profile]:
    """`count` subscribed profiles with numbers prefix + 4 digits (then 5, 6 … as needed)."""
    width = max(4, len(str(count - 1)))
    now = timezone.now()
    rows = [Profile(store=store, phone=f"{prefix}{i:0{width}d}", country="US", sms_status=ConsentStatus.SUBSCRIBED,
                    sms_status_at=now, source="loadgen") for i in range(count)]
    Profile.objects.bulk_create(rows, batch_size=1000)
    return list(Profile.objects.filter(store=store, source="loadgen").order_by("id"))


def queue_messages(store, sender: Sender, profiles: list[Profile], count: int, *, kind: str = Kind.TRANSACTIONAL,
                   body: str = "Your order has shipped. Track it at https://acme.test/t/1", priority: int | None = None) -> int:
    """Queue `count` messages round-robin over `profiles`; returns how many were written."""
    now = timezone.now()
    rows = [
        Message(store=store, profile=profile, sender=sender, direction=Direction.OUTBOUND, to_phone=profile.phone,
                from_phone=sender.from_number, body=body, kind=kind, origin=Origin.API, encoding="GSM-7", segments=1,
                estimated_cost=Decimal("0.0079"), currency="USD", status=Status.QUEUED,
                priority=PRIORITY_TRANSACTIONAL if priority is None else priority, send_after=now, provider=sender.provider)
        for profile in (profiles[i % len(profiles)] for i in range(count))
    ]
    with transaction.atomic():
        Message.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
