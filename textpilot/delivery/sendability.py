"""Could a marketing text go to this person now, and if not, why and until when?

Answered by the dispatcher's own gate: a marketing text to the profile is put together in
memory (never saved) and handed to `gating.gate_batch` with the store's rules and the
person's real history (smart sending, 24-hour caps, today's spend), exactly as a campaign's
text would be at the moment it leaves. Also turns a queued text's hold (`hold_rule` and
`send_after`) into local times for the messages API and the message page.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

from django.utils import timezone

from textpilot.delivery import gate, gating, service
from textpilot.delivery.models import Direction, Kind, Message, Origin, Status
from textpilot.messaging.pricing import price_table
from textpilot.profiles.models import Profile
from textpilot.common.phones import phone_region
from textpilot.stores.models import Store


@dataclasses.dataclass(frozen=True)
class LocalTime:
    timezone: str
    local: dt.datetime

    @property
    def label(self) -> str:
        """"Sun Jun 14, 12:00 America/Chicago" (templates would convert an aware time to UTC)."""
        return f"{self.local:%a %b %-d, %H:%M} {self.timezone}"


@dataclasses.dataclass(frozen=True)
class Sendability:
    profile_id: int
    sendable: bool  # a marketing text would leave now
    action: str  # send, defer or suppress
    rule: str  # what stops it ("" when sendable): "opted_out", "quiet_hours:US-TX@2025-09-01", …
    reason: str  # in words: "held until 12:00 America/Chicago (quiet hours, Texas SB 140)"
    checked_at: dt.datetime
    at: dt.datetime | None  # when it could go: now, the end of the hold, or None (suppressed: not this text)
    local_times: list[LocalTime]  # `at` in every zone the person may be in
    jurisdictions: list[str]  # the places whose rules apply to this number, e.g. ["US-FL", "US-TX"]


def _now() -> dt.datetime:
    return timezone.now()


def recipient_for(profile: Profile, phone: str | None = None) -> gate.Recipient:
    return gating.recipient_of(phone or profile.phone or "", profile)


def profile_sendability(store: Store, profile: Profile, now: dt.datetime | None = None) -> Sendability:
    # The gate would read this person's texts and consent: only for a profile of `store`.
    profile.ensure_in(store, field="profile_id")
    now = now or _now()
    if not profile.phone:
        return Sendability(profile.pk, False, gate.SUPPRESS, "no_phone", "not sent: the profile has no phone number", now,
                           None, [], [])
    recipient = recipient_for(profile)
    jurisdictions = list(gate.whereabouts(recipient, store.timezone or "UTC")[1])
    sender = service.default_sender(store)
    provider = sender.provider if sender else ""
    price = price_table().price(phone_region(profile.phone) or store.country, "sms", provider).amount
    text = Message(store=store, profile=profile, sender=sender, direction=Direction.OUTBOUND, kind=Kind.MARKETING,
                   origin=Origin.CAMPAIGN, to_phone=profile.phone, estimated_cost=price, status=Status.QUEUED)
    decision = gating.gate_batch([text], now)[text.pk]
    at = now if decision.action == gate.SEND else decision.until
    return Sendability(profile.pk, decision.action == gate.SEND, decision.action, decision.rule, decision.reason, now, at,
                       local_times(store, recipient, at), jurisdictions)


def local_times(store: Store, recipient: gate.Recipient, moment: dt.datetime | None) -> list[LocalTime]:
    if moment is None:
        return []
    zones = gate.whereabouts(recipient, store.timezone or "UTC")[0]
    return [LocalTime(zone, moment.astimezone(zoneinfo.ZoneInfo(zone))) for zone in zones]


@dataclasses.dataclass(frozen=True)
class Waiting:
    """Why a queued text the gate did not hold has not left yet: "scheduled" (the caller
    asked for later), "retrying" (after a temporary provider error) or "due" (now)."""

    state: str
    at: dt.datetime | None  # when it goes; None when due now


def waiting(message: Message, now: dt.datetime | None = None) -> Waiting | None:
    """For a queued text that is not held by the gate (None otherwise)."""
    if message.status != Status.QUEUED or held_until(message) is not None:
        return None
    now = now or _now()
    if message.send_after is not None and message.send_after > now:
        return Waiting("retrying" if message.attempts else "scheduled", message.send_after)
    return Waiting("due", None)


def held_until(message: Message) -> dt.datetime | None:
    """When a queued text that the gate held back may go (None: it is not held)."""
    if message.status != Status.QUEUED or not message.hold_rule:
        return None
    return message.send_after


def held_until_local(store: Store, message: Message) -> list[LocalTime]:
    """`held_until` in every zone the recipient may be in (the profile must be loaded)."""
    until = held_until(message)
    if until is None or message.profile is None:
        return []
    return local_times(store, recipient_for(message.profile, message.to_phone), until)
