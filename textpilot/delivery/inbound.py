"""Texts customers send us: stored, then opt-outs / START / HELP handled, everything else kept as
a reply in the customer's conversation (growth keywords hook in through `KEYWORD_HANDLERS`).

An opt-out is any clear request to stop (`optout_language.classify_reply`): a keyword alone
(STOP, OPT-OUT, …; source "inbound_keyword") or a request in other words ("please stop
texting me", "ALTO", "STOP SVP"; source "inbound_reply"). A text that only might be one is
kept with `review_flag="possible_opt_out"` for staff, and consent is left alone."""
from __future__ import annotations

import re
from collections.abc import Callable

import structlog
from django.db import IntegrityError, transaction
from django.utils import timezone

from textpilot.common.errors import FieldError, NotFound
from textpilot.delivery import optout_language, service
from textpilot.delivery.models import Direction, Kind, Message, Origin, Status
from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentBasis, ConsentStatus, Profile
from textpilot.common.phones import normalize_phone
from textpilot.stores.models import Store

log = structlog.get_logger(__name__)

# The keywords alone in a message; the full rules (phrases, other languages) are in optout_language.
OPT_OUT_WORDS = frozenset(optout_language.KEYWORDS.values())
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})
MAX_INBOUND_BODY = 5_000

# Other keywords (growth issue: "JOIN", "VIP", …) register a handler here:
# handler(store, profile, inbound_message, keyword) -> bool (True when it handled the text).
KEYWORD_HANDLERS: list[Callable[[Store, Profile, Message, str], bool]] = []

_TRIM_RE = re.compile(r"^[\s\W_]+|[\s\W_]+$")


def keyword_of(body: str) -> str:
    """The whole message trimmed of spaces and punctuation, upper-cased ("Stop." -> "STOP")."""
    return _TRIM_RE.sub("", body or "").upper()


def receive_inbound(
    store: Store, *, from_phone: str, to_phone: str, body: str, provider: str,
    provider_message_id: str | None = None, media_urls: list[str] | tuple[str, ...] = (),
) -> Message:
    """Store an inbound text and act on it. A repeated webhook (same provider id) is stored once."""
    phone = normalize_phone(from_phone, default_region=store.country, field="from")
    body = (body or "")[:MAX_INBOUND_BODY]
    # Provider ids are unique per store, not across stores: two stores' providers (or one
    # store's own SMSC) may hand out the same id, and another store's text is no duplicate.
    repeated = Message.objects.filter(store=store, provider=provider, provider_message_id=provider_message_id)
    if provider_message_id:
        existing = repeated.first()
        if existing is not None:
            return existing
    profile, _ = profiles.identify(store, phone=phone, source="inbound_sms")
    sender = service.sender_for_number(store, to_phone)
    verdict, matched = optout_language.classify_reply(body)
    review_flag = optout_language.POSSIBLE_OPT_OUT if verdict == optout_language.POSSIBLE_OPT_OUT else ""
    try:
        with transaction.atomic():
            message = Message.objects.create(
                store=store, profile=profile, sender=sender, direction=Direction.INBOUND, to_phone=to_phone or "",
                from_phone=phone, body=body, media_urls=list(media_urls), kind=Kind.TRANSACTIONAL, origin=Origin.INBOUND,
                status=Status.RECEIVED, provider=provider, provider_message_id=provider_message_id or None,
                sent_at=timezone.now(), review_flag=review_flag,
            )
    except IntegrityError:  # the same webhook delivered twice at once
        return repeated.get()
    keyword = keyword_of(body)
    log.info("message.inbound", store=store.slug, message_id=message.pk, keyword=keyword if len(keyword) <= 16 else "",
             verdict=verdict)
    _act_on(store, profile, message, keyword, sender, verdict=verdict, matched=matched)
    return message


def _act_on(store: Store, profile: Profile, message: Message, keyword: str, sender, *, verdict: str | None = None,
            matched: str = "") -> None:
    if verdict is None:
        verdict, matched = optout_language.classify_reply(message.body)
    replies = service.reply_texts(store)
    if verdict == optout_language.OPT_OUT:
        was = profile.sms_status
        source = "inbound_keyword" if optout_language.is_keyword(matched) else "inbound_reply"
        profiles.record_consent(store, profile, ConsentStatus.UNSUBSCRIBED, source=source, keyword=matched[:64],
                                basis=ConsentBasis.OBSERVED)
        # One confirmation, and only when this opt-out changed something (a second STOP gets silence).
        if was != ConsentStatus.UNSUBSCRIBED:
            _reply(store, profile, message, replies["stop"], sender, "stop")
    elif keyword in OPT_IN_WORDS:
        profiles.record_consent(store, profile, ConsentStatus.SUBSCRIBED, source="inbound_keyword", keyword=keyword,
                                basis=ConsentBasis.OBSERVED)
        _reply(store, profile, message, replies["start"], sender, "start")
    elif keyword in HELP_WORDS:
        _reply(store, profile, message, replies["help"], sender, "help")
    elif verdict == optout_language.POSSIBLE_OPT_OUT:
        # Stored with review_flag="possible_opt_out": the inbox shows it to staff, who decide.
        log.info("message.possible_opt_out", store=store.slug, message_id=message.pk, matched=matched)
    else:
        for handler in KEYWORD_HANDLERS:
            if handler(store, profile, message, keyword):
                return
        # Nothing else to do: it is a reply in the conversation, shown in the inbox.


def _reply(store: Store, profile: Profile, inbound: Message, text: str, sender, what: str) -> Message:
    return service.send_message(
        store, body=text, render=False, profile=profile, kind=Kind.TRANSACTIONAL, origin=Origin.KEYWORD_REPLY,
        origin_key=f"reply:{inbound.pk}:{what}", sender=sender,
    )


# What staff decided about a reply the matcher could only flag (review_flag values).
REVIEWED_NOT_OPT_OUT = "not_opt_out"
REVIEWED_OPT_OUT = "opted_out"


def review_flagged_reply(store: Store, message_id: int, verdict: str, reviewer: str = "") -> Message:
    """Close a possible opt-out: staff read it and decided (`REVIEWED_NOT_OPT_OUT`, or
    `REVIEWED_OPT_OUT` once they unsubscribed the customer). It leaves the inbox's filter;
    consent itself changes only through profiles (the staff unsubscribe records that)."""
    if verdict not in (REVIEWED_NOT_OPT_OUT, REVIEWED_OPT_OUT):
        raise FieldError(f"verdict must be {REVIEWED_NOT_OPT_OUT} or {REVIEWED_OPT_OUT}", field="verdict")
    message = Message.objects.filter(store=store, pk=message_id, direction=Direction.INBOUND).first()
    if message is None:
        raise NotFound("no such inbound text in this store", field="message_id")
    if message.review_flag == optout_language.POSSIBLE_OPT_OUT:
        Message.objects.filter(pk=message.pk).update(review_flag=verdict)
        message.review_flag = verdict
        log.info("message.reviewed", store=store.slug, message_id=message.pk, verdict=verdict, reviewer=reviewer)
    return message
