"""`message_status_changed`: which of a write's texts changed status, announced after commit.

What is announced: a text leaving the dispatcher's hands (`sent`, `unknown`, `failed`,
`suppressed`) and a receipt moving it on (`delivered`, `undelivered`, `failed`, a late
`sent`). What is not, by design: `queued` → `sending` and a text put back in the queue
(a retry, a deferral to its allowed hour): those are the dispatcher's own bookkeeping and
repeat many times per text. A text created already suppressed is not a change either; its
creator knows.

The dispatcher's writes are bulk UPDATEs guarded by its lease, so which rows changed is read
back inside the same transaction (the rows stay locked until it commits, so what is read is
what committed). That read is one statement per outcome per batch, and it is skipped when
nobody listens: the dispatcher's query budget (tests/delivery/test_dispatch_queries.py) is
unchanged until a feature connects."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from textpilot.common import hooks
from textpilot.common.hooks import MessageStatusChanged
from textpilot.delivery.models import Message

READ_BACK_CHUNK = 500  # ids per IN (…): inside SQLite's parameter limit


def listening() -> bool:
    return bool(hooks.message_status_changed.listeners)


def announce_now_in(ids: Iterable[int], status: str) -> None:
    """Announce those of `ids` that are now in `status`: call inside the transaction that
    wrote them, after the write."""
    if not listening():
        return
    ids = list(ids)
    by_store: dict[int, list[MessageStatusChanged]] = defaultdict(list)
    for start in range(0, len(ids), READ_BACK_CHUNK):
        rows = (Message.objects.filter(pk__in=ids[start:start + READ_BACK_CHUNK], status=status).order_by("pk")
                .values_list("store_id", "pk", "profile_id", "origin", "origin_id"))
        for store_id, pk, profile_id, origin, origin_id in rows:
            by_store[store_id].append(MessageStatusChanged(pk, profile_id, status, origin, origin_id))
    for store_id, records in by_store.items():
        hooks.message_status_changed.fire(store_id, records)


def record_of(message: Message) -> MessageStatusChanged:
    """For a text whose new status is already in memory (a receipt applied to it)."""
    return MessageStatusChanged(message.pk, message.profile_id, message.status, message.origin, message.origin_id)


def announce(store_id: int, messages: Iterable[Message]) -> None:
    hooks.message_status_changed.fire(store_id, [record_of(m) for m in messages])
