"""What providers report, written: delivery receipts and inbound texts.

The one write path of the receiving direction. Every provider's reports end here as the
normalised records of providers/base.py (`Receipt`, `InboundText`): the generic webhook
view (webhooks.py) for Twilio and Kannel, the SMPP listener for what arrives on its bind,
the simulated carrier's periodic receipts. Each call is one transaction: the records of one
webhook are written together or not at all. Both kinds are idempotent: a receipt repeated
changes no message (statuses only move up; the repeat is kept in the DeliveryReport log,
unapplied) and an inbound text repeated under the same provider id is stored once.
"""
from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from textpilot.common.errors import NotFound
from textpilot.delivery import inbound, service, status_hooks
from textpilot.delivery.models import Message
from textpilot.delivery.providers.base import InboundText, Receipt
from textpilot.stores.models import Store


def record_receipts(store: Store, provider: str, receipts: Sequence[Receipt], *,
                    require_known_ids: bool = False) -> list[Message | None]:
    """Apply each receipt to its message (None when the store has no such message: the
    receipt is still kept, unapplied). A carrier opt-out in a receipt unsubscribes the
    recipient, as a STOP from them would. With `require_known_ids` a receipt naming one of
    our message ids that this store doesn't have raises NotFound and nothing is kept: a
    provider only knows our ids from us, so it is another store's text or a made-up one
    (webhooks; not the sim, whose log may outlive an erased message)."""
    messages: list[Message | None] = []
    moved: list[Message] = []
    with transaction.atomic():
        for receipt in receipts:
            message, applied = service.apply_report(
                store, provider=provider, status=receipt.status, provider_message_id=receipt.provider_message_id,
                message_id=receipt.message_id, error_code=receipt.error_code, reason=receipt.reason, raw=receipt.raw,
                cost=receipt.cost, occurred_at=receipt.occurred_at,
            )
            if message is None and receipt.message_id is not None and require_known_ids:
                raise NotFound(f"no message {receipt.message_id} in this store", field="mid")
            if receipt.carrier_opt_out and message is not None and message.profile_id:
                service.record_carrier_opt_out(store, message.profile, provider, receipt.error_code)
            messages.append(message)
            if applied:
                moved.append(message)
        status_hooks.announce(store.pk, moved)
    return messages


def record_inbound(store: Store, provider: str, texts: Sequence[InboundText]) -> list[Message]:
    """Store each text and act on it (STOP, START, HELP, keywords): the text and everything
    it triggers (consent, the reply queued) are committed together."""
    with transaction.atomic():
        return [
            inbound.receive_inbound(store, from_phone=text.from_phone, to_phone=text.to_phone, body=text.body,
                                    provider=provider, provider_message_id=text.provider_message_id,
                                    media_urls=text.media_urls)
            for text in texts
        ]
