"""A few texts from customers, so the demo's inbox and consent pages show what they do: a
clear request to stop in plain words (unsubscribed, one confirmation queued), an unclear one
("who is this?", flagged for staff), an ordinary question, and a staff unsubscribe with its
reason. Written through the product's own services, after the bulk load, like real traffic."""
from __future__ import annotations

from textpilot.delivery import inbound, service as delivery
from textpilot.profiles import staff_consent
from textpilot.profiles.models import ConsentStatus, Profile
from textpilot.stores.models import Store

REPLIES = (
    "please stop texting me",  # a clear opt-out in other words
    "who is this?",  # possible opt-out: staff decide
    "Do you still have the 2-person tent in green?",  # a plain question in the conversation
    "ALTO por favor",  # Spanish opt-out
)
STAFF_REASON = "Asked by email to stop texts (support ticket #4812)"


def seed_conversations(store: Store, owner=None) -> int:
    """Returns how many inbound texts were written (none if the store has no sim sender)."""
    sender = delivery.list_senders(store).filter(provider="sim").first()
    people = list(Profile.objects.filter(store=store, sms_status=ConsentStatus.SUBSCRIBED, phone__isnull=False,
                                         country="US").order_by("id")[: len(REPLIES) + 1])
    if sender is None or len(people) <= len(REPLIES):
        return 0
    for person, body in zip(people, REPLIES):
        inbound.receive_inbound(store, from_phone=person.phone, to_phone=sender.from_number, body=body, provider="sim")
    if owner is not None:
        staff_consent.set_sms_consent_by_staff(store, people[-1], owner, ConsentStatus.UNSUBSCRIBED, STAFF_REASON)
    return len(REPLIES)
