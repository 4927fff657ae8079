"""Writing composed texts as messages: one text (`service.send_message`) or a chunk of
thousands (`bulk_enqueue`), through the same statements.

Ids are reserved first (common/bulk_write.reserve_ids), so a message's short links are
written right after it without reading anything back. Messages go in with `ON CONFLICT
(store, origin_key) DO NOTHING RETURNING id`: a text asked for twice (a retried request, a
campaign chunk redone after a crash) is created once, and only the messages really inserted
get links. A link code someone already has is replaced by links.store_links, and the one
text that carried it is corrected (same length: segments and cost don't change).
Call inside a transaction: messages and their links are written together or not at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Replace

from textpilot.common.bulk_write import column_defaults, insert_rows, prepared_rows
from textpilot.delivery.composer import Composed, Composer
from textpilot.delivery.models import Message
from textpilot.messaging import links

# What differs between the messages of one send; everything else is the same for all of them.
VARYING = ("id", "profile_id", "to_phone", "origin_key", "body", "status", "status_reason", "encoding", "segments",
           "estimated_cost", "currency")


@dataclass(frozen=True)
class Pending:
    message_id: int
    profile_id: int
    to_phone: str
    origin_key: str | None
    composed: Composed


def write(composer: Composer, pending: list[Pending], *, now: datetime, send_after: datetime | None = None) -> set[int]:
    """Insert the messages and their short links; the ids of those really inserted."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("queueing.write must run inside transaction.atomic(): messages and links go in together")
    if not pending:
        return set()
    constants = shared_values(composer, now, send_after)
    rows = [
        (p.message_id, p.profile_id, p.to_phone, p.origin_key, c.body, c.status, c.status_reason, c.encoding, c.segments,
         c.estimated_cost, c.currency)
        for p in pending for c in (p.composed,)
    ]
    inserted = set(insert_rows(Message, VARYING, rows, constants=constants, conflict="message_unique_origin", returning="id"))
    planned = [(p.message_id, p.profile_id, url, code) for p in pending if p.composed.links and p.message_id in inserted
               for url, code in p.composed.links]
    if planned:
        replaced = links.store_links(composer.store.pk, planned, now=now)
        if replaced:
            _correct_codes(composer.link_base, planned, replaced)
    return inserted


def shared_values(composer: Composer, now: datetime, send_after: datetime | None) -> dict:
    """Every other column: the send's shared fields over the model's defaults (so a field
    added later gets its default here too), prepared for the database once."""
    values = {**column_defaults(Message, now), **composer.message_fields(now, send_after)}
    names = [name for name, value in values.items() if name not in VARYING and value is not None]
    return dict(zip(names, prepared_rows(Message, names, [values])[0]))


def _correct_codes(base: str, planned: list, replaced: dict[str, str]) -> None:
    for message_id, _, _, code in planned:
        if code in replaced:
            Message.objects.filter(pk=message_id).update(body=Replace("body", Value(base + code), Value(base + replaced[code])))
