"""Bulk enqueue: queue one text for many recipients (a campaign, a periodic flow) fast,
resumably, and by exactly the rules of `service.send_message`.

    send = BulkSend(body="Hi {{ first_name }}! …", origin="campaign", origin_id=12, key_prefix="campaign:12")
    totals = enqueue(store, send, audience=Profile.objects.filter(...), after=campaign.cursor,
                     save_cursor=lambda cursor: Campaign.objects.filter(pk=12).update(cursor=cursor))

How it is fast: the template is compiled, the sender chosen and prices looked up once
(`prepare`); then, per chunk of recipients (profile id order), each text is rendered,
shortened, counted and priced in Python (delivery/composer.py, the rules send_message uses),
message ids are reserved in one statement so the short links go into the same chunk, and
the chunk is written by delivery/queueing.py (also send_message's writer): the messages in
one multi-row INSERT with `ON CONFLICT (store, origin_key) DO NOTHING`, their links in one more
(on PostgreSQL both COPYed into a temporary table first: common/bulk_write.py says why).
`enqueue` composes the next chunk in a thread while the database writes the current one.

How it resumes: every message has the idempotency key `<key_prefix>:<profile id>`, and a
chunk returns a cursor (the last profile id it covered) that the caller stores *in the same
transaction* as the chunk (`save_cursor`, or its own loop around `enqueue_chunk`). A crash
loses at most the chunk in flight, whose rows roll back with its cursor; resuming from the
stored cursor redoes it. Even a stale or lost cursor sends nobody a second text: the keys
already queued are skipped by the database (`existing` in the result).

A profile that can't be texted (no phone) is skipped and counted (`skipped`), where
send_message would refuse it; a text that fails for one recipient (a merge tag without
data, no sender) is stored as failed with the reason, as send_message does.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import structlog
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from textpilot.common.bulk_write import reserve_ids
from textpilot.common.errors import FieldError
from textpilot.delivery import composer, queueing
from textpilot.delivery.models import Kind, Message, Origin, Sender, Status
from textpilot.messaging import links
from textpilot.profiles.models import Profile
from textpilot.stores.models import Store

log = structlog.get_logger(__name__)

# Recipients per chunk: a transaction of ~0.2-0.5 s on PostgreSQL, ~10 MB of Python objects.
DEFAULT_CHUNK = 5_000
MAX_CHUNK = 50_000


@dataclass(frozen=True)
class BulkSend:
    """One text for many: send_message's arguments minus the recipient. `key_prefix` makes
    each recipient's idempotency key (`campaign:12` → `campaign:12:<profile id>`)."""

    body: str
    key_prefix: str
    kind: str = Kind.MARKETING
    origin: str = Origin.CAMPAIGN
    origin_id: int | None = None
    variant: str = ""
    sender: Sender | None = None
    media_urls: tuple[str, ...] = ()
    context: Mapping[str, Any] | None = None  # merge values shared by every recipient (a shared discount code)
    send_after: datetime | None = None
    priority: int | None = None
    render: bool = True


class Recipient(NamedTuple):
    """What a text needs of a profile: its id, store, number and names (the merge tags).
    `context`: merge values of this recipient only (a unique discount code)."""

    pk: int
    store_id: int
    phone: str | None
    first_name: str
    last_name: str
    context: Mapping[str, Any] | None = None


RECIPIENT_FIELDS = ("pk", "store_id", "phone", "first_name", "last_name")


@dataclass
class ChunkResult:
    cursor: int  # the last profile id this chunk covered: resume after it
    queued: int = 0
    failed: int = 0  # stored as failed with the reason (template without data, no sender)
    existing: int = 0  # already queued by an earlier run (same idempotency key): not created again
    skipped: int = 0  # no message: the profile can't be texted (no phone)


@dataclass
class Totals(ChunkResult):
    chunks: int = 0

    def add(self, chunk: ChunkResult) -> None:
        self.cursor = chunk.cursor
        self.queued += chunk.queued
        self.failed += chunk.failed
        self.existing += chunk.existing
        self.skipped += chunk.skipped
        self.chunks += 1


@dataclass(frozen=True)
class Prepared:
    store: Store
    send: BulkSend
    composer: composer.Composer


def prepare(store: Store, send: BulkSend) -> Prepared:
    """Check the send and compile its template: a FieldError (TemplateError) before anything
    is written, as send_message raises."""
    request = composer.check_request(body=send.body, kind=send.kind, origin=send.origin, origin_id=send.origin_id,
                                     variant=send.variant, media_urls=send.media_urls, priority=send.priority,
                                     render=send.render)
    prefix = composer.clean_origin_key(send.key_prefix)
    if not prefix or len(prefix) > composer.MAX_ORIGIN_KEY - 21:  # room for ":<profile id>"
        raise FieldError("key_prefix must name the send, e.g. campaign:12 (it makes each recipient's idempotency key)",
                         field="key_prefix")
    sender = composer.choose_sender(store, send.sender)
    composer.render_context(store, None, send.context)  # an unknown merge value is refused now, not per recipient
    return Prepared(store, send, composer.Composer(store, request, sender))


@dataclass(frozen=True)
class ComposedChunk:
    """A chunk's texts, rendered and priced, not written yet."""

    cursor: int
    skipped: int
    texts: list[tuple[Recipient, composer.Composed]]


def compose_chunk(prepared: Prepared, recipients: Sequence[Recipient]) -> ComposedChunk:
    """Render, shorten, count and price each recipient's text: Python only, no database (so
    `enqueue` does it in a thread while the previous chunk is being written)."""
    if not recipients:
        raise ValueError("an empty chunk has no cursor")
    store, send, texts = prepared.store, prepared.send, prepared.composer
    shared, skipped, composed = send.context, 0, []
    codes = _code_supply(len(recipients) + 8) if texts.link_base else None
    for recipient in recipients:
        if composer.recipient_problem(store, recipient) is not None:
            skipped += 1
            continue
        extra = {**shared, **recipient.context} if shared and recipient.context else (recipient.context or shared)
        context = composer.render_context(store, recipient, extra) if texts.template else None
        composed.append((recipient, texts.compose(recipient.phone, context, codes)))
    return ComposedChunk(recipients[-1].pk, skipped, composed)


def write_chunk(prepared: Prepared, chunk: ComposedChunk, *, now: datetime | None = None) -> ChunkResult:
    """Reserve the message ids and write the chunk's messages and links. Call inside
    transaction.atomic() and store the returned cursor in that same transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("a chunk must be written inside transaction.atomic(): the cursor commits with the chunk")
    prefix = composer.clean_origin_key(prepared.send.key_prefix)
    ids = reserve_ids(Message, len(chunk.texts))
    pending = [queueing.Pending(message_id, recipient.pk, recipient.phone, f"{prefix}:{recipient.pk}", composed)
               for message_id, (recipient, composed) in zip(ids, chunk.texts)]
    inserted = queueing.write(prepared.composer, pending, now=now or timezone.now(), send_after=prepared.send.send_after)
    result = ChunkResult(cursor=chunk.cursor, skipped=chunk.skipped)
    for item in pending:
        if item.message_id not in inserted:
            result.existing += 1
        elif item.composed.status == Status.QUEUED:
            result.queued += 1
        else:
            result.failed += 1
    return result


def enqueue_chunk(prepared: Prepared, recipients: Sequence[Recipient], *, now: datetime | None = None) -> ChunkResult:
    """Queue one chunk (recipients in profile id order): compose_chunk, then write_chunk.
    Call inside transaction.atomic() and store the returned cursor in that same transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("enqueue_chunk must run inside transaction.atomic(): the cursor commits with the chunk")
    return write_chunk(prepared, compose_chunk(prepared, recipients), now=now)


def _code_supply(count: int):
    """Short-link codes for a chunk, drawn in one go (more if texts have unusually many links)."""
    while True:
        yield from links.new_codes(count)
        count = 64


def recipients_after(store: Store, after: int, limit: int, audience: QuerySet | None = None) -> list[Recipient]:
    """The next `limit` recipients of `audience` (profiles of the store; all with a phone
    when None) after profile id `after`, in id order: a keyset page on the primary key."""
    profiles = audience if audience is not None else Profile.objects.filter(store=store, phone__isnull=False)
    if profiles.model is not Profile:
        raise TypeError("the audience must be a queryset of profiles")
    rows = profiles.filter(store=store, pk__gt=after).order_by("pk").values_list(*RECIPIENT_FIELDS)[:limit]
    return [Recipient(*row) for row in rows]


def enqueue(store: Store, send: BulkSend, audience: QuerySet | None = None, *, after: int = 0,
            chunk_size: int = DEFAULT_CHUNK, save_cursor: Callable[[int], None] | None = None) -> Totals:
    """Queue `send` for every profile of `audience` after profile id `after`, chunk by chunk,
    each chunk (and `save_cursor(cursor)`) in its own transaction. Returns the totals; their
    `cursor` is where a later call resumes (the last profile id done)."""
    if not isinstance(chunk_size, int) or not 1 <= chunk_size <= MAX_CHUNK:
        raise FieldError(f"chunk_size must be a whole number from 1 to {MAX_CHUNK:,}", field="chunk_size")
    prepared = prepare(store, send)
    totals = Totals(cursor=after)
    # Two chunks in flight: the next one is composed (Python, in a thread) while this one is
    # written (the database's work; psycopg and sqlite3 release the GIL while they wait), so
    # the wall time is about the larger of the two instead of their sum.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-compose") as composing:
        page = recipients_after(store, after, chunk_size, audience)
        upcoming = composing.submit(compose_chunk, prepared, page) if page else None
        while upcoming is not None:
            with transaction.atomic():
                chunk = upcoming.result()
                page = recipients_after(store, chunk.cursor, chunk_size, audience)
                upcoming = composing.submit(compose_chunk, prepared, page) if page else None
                result = write_chunk(prepared, chunk)
                if save_cursor is not None:
                    save_cursor(result.cursor)
            totals.add(result)
    log.info("messages.bulk_queued", store=store.slug, origin=send.origin, origin_id=send.origin_id, queued=totals.queued,
             failed=totals.failed, existing=totals.existing, skipped=totals.skipped, chunks=totals.chunks, cursor=totals.cursor)
    return totals
