"""What providers report, written: delivery receipts and inbound texts.

The one write path of the receiving direction. Every provider's reports end here as the
normalised records of providers/base.py (`Receipt`, `InboundText`): the generic webhook
view (webhooks.py) for Twilio and Kannel, the SMPP listener for what arrives on its bind,
the simulated carrier's periodic receipts. Each call is one transaction: the records of one
webhook are written together or not at all (no savepoint inside a caller's transaction: a
failure aborts the whole call anyway, and each savepoint is two more round trips). Both kinds are idempotent: a receipt repeated
changes no message (statuses only move up; the repeat is kept in the DeliveryReport log,
unapplied) and an inbound text repeated under the same provider id is stored once.
"""
from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from textpilot.delivery import inbound, service
from textpilot.delivery.models import Message
from textpilot.delivery.providers.base import InboundText, Receipt
from textpilot.stores.models import Store


def record_receipts(store: Store, provider: str, receipts: Sequence[Receipt]) -> list[Message | None]:
    """Apply each receipt to its message (None when the store has no such message: the
    receipt is still kept, unapplied). A carrier opt-out in a receipt unsubscribes the
    recipient, as a STOP from them would."""
    messages: list[Message | None] = []
    with transaction.atomic(savepoint=False):
        for receipt in receipts:
            message = service.apply_delivery_report(
                store, provider=provider, status=receipt.status, provider_message_id=receipt.provider_message_id,
                message_id=receipt.message_id, error_code=receipt.error_code, reason=receipt.reason, raw=receipt.raw,
                cost=receipt.cost, occurred_at=receipt.occurred_at,
            )
            if receipt.carrier_opt_out and message is not None and message.profile_id:
                service.record_carrier_opt_out(store, message.profile, provider, receipt.error_code)
            messages.append(message)
    return messages


def record_inbound(store: Store, provider: str, texts: Sequence[InboundText]) -> list[Message]:
    """Store each text and act on it (STOP, START, HELP, keywords): the text and everything
    it triggers (consent, the reply queued) are committed together."""
    with transaction.atomic(savepoint=False):
        return [
            inbound.receive_inbound(store, from_phone=text.from_phone, to_phone=text.to_phone, body=text.body,
                                    provider=provider, provider_message_id=text.provider_message_id,
                                    media_urls=text.media_urls)
            for text in texts
        ]
