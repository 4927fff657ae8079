"""Hooks: "something happened" announcements, fired once the transaction that did it commits,
in batches. A lower layer fires; higher layers (flows, segment membership, attribution)
listen. Nobody polls tables for what happened, and nothing imports upward.

    hooks.events_recorded.connect(my_listener)          # in AppConfig.ready()
    hooks.events_recorded.fire(store_id, [EventRecorded(...), ...])   # in a service

A listener gets (store_id, records) after commit, never for a rolled-back write (Django
drops the on_commit callbacks of a rolled-back transaction or savepoint). Each fire() call
is one batch: bulk paths fire once per chunk. A listener that raises is logged and the
others still run: the write it reports has already committed. Listeners should be quick
(enqueue a task by name for real work).

Who fires what: `events_recorded` — the event API (single and batch), Shopify, orders;
`consent_changed` — profiles.record_consent and the CSV import's bulk writer;
`order_recorded` — commerce.record_order; `message_status_changed` — delivery's dispatcher
results, holds, recovery and receipts (delivery/status_hooks.py says which statuses);
`link_clicked` — messaging's click recording.

Writes that fire no hook, by design: the demo seed (`textpilot seed_demo` writes a
finished history in bulk; nothing should react to it as if it were happening now) and data
migrations."""
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import structlog
from django.db import transaction

log = structlog.get_logger(__name__)


class Hook:
    def __init__(self, name: str):
        self.name = name
        self._listeners: list[Callable] = []

    def connect(self, listener: Callable[[int, Sequence], None]) -> Callable:
        if listener not in self._listeners:
            self._listeners.append(listener)
        return listener

    def disconnect(self, listener: Callable) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    @property
    def listeners(self) -> tuple[Callable, ...]:
        return tuple(self._listeners)

    def fire(self, store_id: int, records: Sequence) -> None:
        """Announce `records` (one batch) once the current transaction commits."""
        if not records or not self._listeners:
            return
        batch = tuple(records)
        transaction.on_commit(lambda: self._deliver(store_id, batch))

    def _deliver(self, store_id: int, batch: tuple) -> None:
        for listener in self._listeners:
            try:
                listener(store_id, batch)
            except Exception:  # the write committed; one listener must not stop the others
                log.exception("hook.listener_failed", hook=self.name, store_id=store_id, records=len(batch),
                              listener=getattr(listener, "__qualname__", repr(listener)))


@dataclass(frozen=True)
class EventRecorded:
    event_id: int
    profile_id: int
    name: str
    occurred_at: datetime


@dataclass(frozen=True)
class ConsentChanged:
    profile_id: int
    channel: str
    status: str  # the status the profile has now
    source: str
    occurred_at: datetime


@dataclass(frozen=True)
class OrderRecorded:
    order_id: int
    profile_id: int | None
    total: Decimal
    currency: str
    placed_at: datetime
    created: bool  # False: an update of an order already known


@dataclass(frozen=True)
class MessageStatusChanged:
    message_id: int
    profile_id: int | None
    status: str  # the status the text has now
    origin: str
    origin_id: int | None  # the campaign, flow step… that sent it (Message.origin_id)


@dataclass(frozen=True)
class LinkClicked:
    link_id: int
    message_id: int | None
    profile_id: int | None
    clicked_at: datetime


events_recorded = Hook("events_recorded")
consent_changed = Hook("consent_changed")
order_recorded = Hook("order_recorded")
message_status_changed = Hook("message_status_changed")
link_clicked = Hook("link_clicked")

ALL = (events_recorded, consent_changed, order_recorded, message_status_changed, link_clicked)
