"""Read-only questions the dashboard asks about texts: counts per status, one message's
history, inbox threads and what the simulated phone shows. Nothing here changes state."""
from __future__ import annotations

import dataclasses
from datetime import datetime

from django.db.models import Count, Max, Q, QuerySet

from textpilot.delivery.models import DeliveryAttempt, DeliveryReport, Direction, Message, Sender, Status
from textpilot.delivery.optout_language import POSSIBLE_OPT_OUT
from textpilot.stores.models import Store

SIM = "sim"
# The simulated carrier has a text once it accepted it; these are the statuses from then on
# that mean the handset got it (an undelivered text never reached the phone).
ON_THE_PHONE = (Status.SENT, Status.DELIVERED)
WAITING = (Status.QUEUED, Status.SENDING, Status.UNKNOWN)


def status_counts(messages: QuerySet[Message]) -> dict[str, int]:
    """How many of these messages are in each status (every status listed, zeros included)."""
    found = dict(messages.order_by().values_list("status").annotate(n=Count("id")))
    return {status: found.get(status, 0) for status in Status.values}


@dataclasses.dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    label: str
    status: str = ""  # a Status value, for the pill colour
    detail: str = ""
    ignored: bool = False  # a receipt that came late or repeated a known status


def queued_texts(store: Store) -> int:
    """How many of the store's texts wait in the queue (held, scheduled or due). Counted
    through the dispatcher's own index (sender, status, …): a queued text always has a sender
    of its store (composer refuses one without), so only queued rows are read."""
    senders = Sender.objects.filter(store=store).values("pk")
    return Message.objects.filter(store=store, sender__in=senders, status=Status.QUEUED).count()


def message_history(store: Store, message: Message) -> tuple[list[TimelineEntry], list[DeliveryAttempt]]:
    """The status timeline of a message (created, each provider call, each receipt) and its
    provider calls."""
    attempts = list(DeliveryAttempt.objects.filter(store=store, message=message).order_by("started_at", "id"))
    reports = list(DeliveryReport.objects.filter(store=store, message=message).order_by("received_at", "id"))
    if message.direction == Direction.INBOUND:
        entries = [TimelineEntry(message.created_at, f"Received through {message.provider or 'unknown provider'}", Status.RECEIVED)]
    else:
        entries = [TimelineEntry(message.created_at, "Queued", Status.QUEUED, message.get_origin_display())]
    for attempt in attempts:
        entries.append(TimelineEntry(
            attempt.started_at, f"Handed to {attempt.provider}: {attempt.get_outcome_display().lower()}",
            Status.SENT if attempt.outcome == DeliveryAttempt.Outcome.ACCEPTED else Status.FAILED
            if attempt.outcome == DeliveryAttempt.Outcome.PERMANENT else Status.UNKNOWN,
            attempt.error,
        ))
    for report in reports:
        detail = f"error {report.error_code}" if report.error_code else ""
        entries.append(TimelineEntry(report.received_at, f"Receipt from {report.provider}: {report.status}", report.status,
                                     detail, ignored=not report.applied))
    # A message settled without a provider or a receipt (suppressed by the gate, failed before
    # sending) gets its final status with the reason.
    if message.status in (Status.SUPPRESSED, Status.FAILED) and not reports and not any(
            a.outcome == DeliveryAttempt.Outcome.PERMANENT for a in attempts):
        entries.append(TimelineEntry(message.status_at, message.get_status_display(), message.status, message.status_reason))
    entries.sort(key=lambda entry: entry.at)
    return entries, attempts


# --- inbox ---------------------------------------------------------------------------------

def inbox_threads(store: Store, possible_opt_outs_only: bool = False) -> QuerySet:
    """One row per customer who ever texted the store: profile id, time of the newest text
    either way, newest first, and how many of their texts were flagged as possible opt-outs.
    Rows are dicts (profile_id, last_at, inbound, flagged)."""
    threads = (
        Message.objects.filter(store=store, profile__isnull=False).order_by()
        .values("profile_id")
        .annotate(last_at=Max("created_at"), inbound=Count("id", filter=Q(direction=Direction.INBOUND)),
                  flagged=Count("id", filter=Q(direction=Direction.INBOUND, review_flag=POSSIBLE_OPT_OUT)))
        .filter(inbound__gt=0)
    )
    if possible_opt_outs_only:
        threads = threads.filter(flagged__gt=0)
    return threads.order_by("-last_at", "-profile_id")


def flagged_replies(store: Store, profile_id: int) -> list[int]:
    """Ids of a customer's texts still flagged as possible opt-outs."""
    return list(Message.objects.filter(store=store, profile_id=profile_id, direction=Direction.INBOUND,
                                       review_flag=POSSIBLE_OPT_OUT).values_list("pk", flat=True))


def last_flagged(store: Store, profile_ids: list[int]) -> dict[int, Message]:
    """The newest text flagged as a possible opt-out of each of these customers (one query)."""
    flagged = (Message.objects.filter(store=store, profile_id__in=profile_ids, direction=Direction.INBOUND,
                                      review_flag=POSSIBLE_OPT_OUT).order_by("profile_id", "-created_at", "-id"))
    newest: dict[int, Message] = {}
    for message in flagged:
        newest.setdefault(message.profile_id, message)
    return newest


def last_messages(store: Store, profile_ids: list[int]) -> dict[int, Message]:
    """The newest message of each of these customers (one small indexed query each: a page
    of the inbox holds a few dozen)."""
    latest = {}
    for profile_id in profile_ids:
        message = (Message.objects.filter(store=store, profile_id=profile_id).select_related("profile")
                   .order_by("-created_at", "-id").first())
        if message is not None:
            latest[profile_id] = message
    return latest


def recent_conversation(store: Store, profile_id: int, limit: int = 100) -> list[Message]:
    """The last `limit` texts of one customer, oldest first."""
    newest = Message.objects.filter(store=store, profile_id=profile_id).order_by("-created_at", "-id")[:limit]
    return list(reversed(list(newest)))


# --- the simulated phone -------------------------------------------------------------------

def sim_sender(store: Store) -> Sender | None:
    """The store's active sender on the simulated carrier (the default one first)."""
    return Sender.objects.filter(store=store, provider=SIM, active=True).order_by("-is_default", "id").first()


def phone_thread(store: Store, phone: str, limit: int = 100) -> list[Message]:
    """What the customer's simulated handset shows: texts the sim carrier delivered to the
    number and texts typed on it, oldest first."""
    shown = Q(direction=Direction.OUTBOUND, to_phone=phone, status__in=ON_THE_PHONE) | Q(
        direction=Direction.INBOUND, from_phone=phone)
    newest = Message.objects.filter(store=store, provider=SIM).filter(shown).order_by("-created_at", "-id")[:limit]
    return list(reversed(list(newest)))


def phone_waiting(store: Store, phone: str) -> int:
    """Texts to the number still waiting at textpilot (queued, being sent, reconciling)."""
    return Message.objects.filter(store=store, direction=Direction.OUTBOUND, to_phone=phone, provider=SIM,
                                  status__in=WAITING).count()


def phone_numbers(store: Store, limit: int = 12) -> list[str]:
    """Numbers the simulated carrier talked to most recently."""
    recent = (Message.objects.filter(store=store, provider=SIM).order_by("-created_at", "-id")
              .values_list("direction", "to_phone", "from_phone")[:500])
    numbers: list[str] = []
    for direction, to_phone, from_phone in recent:
        number = to_phone if direction == Direction.OUTBOUND else from_phone
        if number and number not in numbers:
            numbers.append(number)
            if len(numbers) == limit:
                break
    return numbers
