"""Delivery rules: the only place that creates messages, senders and receipts.

`send_message` is the one way to send a text: it validates, renders and stores the message
as `queued` and returns at once; a dispatcher (delivery/dispatch.py, run by `textpilot
worker`) applies the compliance gate at the last moment and hands it to the provider.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from datetime import time as datetime_time
from decimal import Decimal
from typing import Any

import structlog
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from textpilot.common.bulk_write import reserve_ids
from textpilot.common.crypto import decrypt_secret, encrypt_secret
from textpilot.common.errors import Conflict, ErrorCollector, FieldError, NotFound
from textpilot.common.inputs import InputError, country_codes
from textpilot.delivery import composer, queueing, status_hooks
from textpilot.delivery.models import (
    DEFAULT_RATE_PER_SECOND, MAX_REPLY_CHARACTERS, STATUS_RANK, ComplianceSettings, DeliveryReport, Direction, Kind, Message,
    NumberType, Origin, Sender, Status,
)
from textpilot.delivery.providers.base import ProviderConfigError, provider_class
from textpilot.profiles import service as profiles
from textpilot.profiles.models import Profile
from textpilot.common.phones import normalize_phone
from textpilot.stores.models import Store

log = structlog.get_logger(__name__)

default_sender = composer.default_sender  # the store's active default sender, else its first active one


# --- settings ------------------------------------------------------------------------------

def compliance_settings(store: Store) -> ComplianceSettings:
    found = ComplianceSettings.objects.filter(store=store).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return ComplianceSettings.objects.create(store=store)
    except IntegrityError:  # created concurrently
        return ComplianceSettings.objects.get(store=store)


def update_compliance_settings(store: Store, **fields) -> ComplianceSettings:
    """Change some of the store's compliance settings. Every refused field is reported at
    once (FieldErrors) and nothing is saved then."""
    settings = check_compliance_settings(store, **fields)
    settings.save()
    return settings


def check_compliance_settings(store: Store, **fields) -> ComplianceSettings:
    """The store's settings with these changes applied, not saved; raises FieldErrors naming
    every refused field. Any subset of fields may be checked (the window only when given)."""
    settings = compliance_settings(store)
    errors = ErrorCollector()
    for name, value in fields.items():
        with errors.catching():
            setattr(settings, name, _clean_compliance_value(name, value))
    window = {"quiet_hours_start", "quiet_hours_end", "overnight_window"}
    if fields.keys() & window and not errors.fields() & window:
        # The window is quiet_hours_end → quiet_hours_start; one that doesn't end after it
        # starts runs past midnight, which must be asked for.
        opens, closes = settings.quiet_hours_end, settings.quiet_hours_start
        if closes <= opens and not settings.overnight_window:
            errors.add(FieldError(f"the sending window must end after it starts: quiet_hours_start (its end, {closes:%H:%M}) is "
                                  f"not after quiet_hours_end (its start, {opens:%H:%M}); set overnight_window to run it past "
                                  "midnight", field="quiet_hours_start"))
    errors.raise_if_any()
    return settings


_COMPLIANCE_FIELDS = {f.name for f in ComplianceSettings._meta.get_fields()} - {"id", "store"}


def _clean_compliance_value(name: str, value):
    if name not in _COMPLIANCE_FIELDS:
        raise FieldError(f"unknown compliance setting {name!r}", field=name)
    if name == "allowed_countries":
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            raise FieldError("allowed_countries must be a list of two-letter country codes", field=name)
        try:
            return sorted(country_codes(value))
        except InputError as exc:
            raise FieldError(exc.message, field=name) from None
    if name in ("quiet_hours_start", "quiet_hours_end"):
        return _clock_time(value, name)
    if name in ("stop_reply", "start_reply", "help_reply"):
        value = (value or "").strip() if isinstance(value, str) or value is None else value
        if not isinstance(value, str) or len(value) > MAX_REPLY_CHARACTERS:
            raise FieldError(f"{name} must be a text of at most {MAX_REPLY_CHARACTERS} characters (empty: the default)", field=name)
        return value
    if name == "overnight_window" and not isinstance(value, bool):
        raise FieldError("overnight_window must be true or false", field=name)
    if name == "smart_sending_hours" and not (isinstance(value, int) and 0 <= value <= 168):
        raise FieldError("smart_sending_hours must be a whole number of hours from 0 to 168", field=name)
    if name == "daily_spend_cap" and value is not None:
        try:
            value = Decimal(str(value))
        except ArithmeticError:
            raise FieldError("daily_spend_cap must be an amount", field=name) from None
        if value < 0:
            raise FieldError("daily_spend_cap cannot be negative", field=name)
    return value


def _clock_time(value, field: str) -> datetime_time:
    """A local time of day: a time, or "HH:MM" text. Equal start and end mean no quiet hours."""
    if isinstance(value, datetime_time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    try:
        return datetime_time.fromisoformat(str(value).strip()).replace(second=0, microsecond=0)
    except ValueError:
        raise FieldError(f"{field} must be a time of day such as 21:00", field=field) from None


def reply_texts(store: Store, settings: ComplianceSettings | None = None) -> dict[str, str]:
    """The STOP/START/HELP replies of a store: its own wording, else sensible defaults."""
    settings = settings or compliance_settings(store)
    brand = store.brand
    help_contact = f" or email {store.support_email}" if store.support_email else ""
    return {
        "stop": settings.stop_reply or f"{brand}: You are unsubscribed and will receive no more messages. Reply START to resubscribe.",
        "start": settings.start_reply or f"{brand}: You are subscribed again. Msg & data rates may apply. Reply STOP to opt out, HELP for help.",
        "help": settings.help_reply or f"{brand}: For help reply to this text{help_contact}. Msg & data rates may apply. Reply STOP to opt out.",
    }


# --- senders -------------------------------------------------------------------------------

def create_sender(
    store: Store, *, name: str, provider: str, from_number: str, number_type: str = NumberType.TEN_DLC,
    rate_per_second: float | None = None, credentials: Mapping[str, str] | None = None,
    options: Mapping[str, Any] | None = None, is_default: bool | None = None,
) -> Sender:
    clean = check_sender(store, name=name, provider=provider, from_number=from_number, number_type=number_type,
                         rate_per_second=rate_per_second, credentials=credentials, options=options)
    with transaction.atomic():
        first = not Sender.objects.filter(store=store).exists()
        make_default = first if is_default is None else is_default
        if make_default:
            Sender.objects.filter(store=store, is_default=True).update(is_default=False)
        return Sender.objects.create(
            store=store, name=clean["name"], provider=provider, from_number=clean["from_number"], number_type=number_type,
            rate_per_second=clean["rate"], credentials_encrypted=encrypt_secret(json.dumps(dict(credentials or {}))) if credentials else "",
            options={**clean["provider_cls"].option_fields, **dict(options or {})}, is_default=make_default,
        )


def check_sender(
    store: Store, *, name: str, provider: str, from_number: str, number_type: str = NumberType.TEN_DLC,
    rate_per_second: float | None = None, credentials: Mapping[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict:
    """A new sender's values cleaned (nothing written), or FieldErrors naming every refused field."""
    errors, clean = ErrorCollector(), {}
    clean["name"] = name = (name or "").strip()
    if not name:
        errors.add(FieldError("a sender needs a name", field="name"))
    elif Sender.objects.filter(store=store, name=name).exists():
        errors.add(Conflict(f"a sender named {name!r} already exists", field="name"))
    if number_type not in NumberType.values:
        errors.add(FieldError(f"number_type must be one of {', '.join(NumberType.values)}", field="number_type"))
    try:
        clean["provider_cls"] = cls = provider_class(provider)
        cls.validate_config(dict(credentials or {}), dict(options or {}))
    except ProviderConfigError as exc:
        for error in exc.errors:
            errors.add(FieldError(str(error), field=error.field or "provider"))
    clean["from_number"] = from_number = (from_number or "").strip()
    if not from_number:
        errors.add(FieldError("a sender needs a number or sender id", field="from_number"))
    elif from_number.startswith("+"):
        clean["from_number"] = errors.collect(normalize_phone, from_number, field="from_number")
    rate = DEFAULT_RATE_PER_SECOND.get(number_type, 1.0) if rate_per_second is None else float(rate_per_second)
    if not 0 < rate <= 10_000:
        errors.add(FieldError("rate_per_second must be above 0 and at most 10,000", field="rate_per_second"))
    clean["rate"] = rate
    errors.raise_if_any()
    return clean


def sender_credentials(sender: Sender) -> dict[str, str]:
    return json.loads(decrypt_secret(sender.credentials_encrypted)) if sender.credentials_encrypted else {}


def provider_for(sender: Sender):
    """A provider instance configured for this sender."""
    return provider_class(sender.provider)(credentials=sender_credentials(sender), options=sender.options)


def list_senders(store: Store) -> QuerySet[Sender]:
    return Sender.objects.filter(store=store)


def get_sender(store: Store, sender_id: int) -> Sender:
    try:
        return Sender.objects.get(store=store, pk=sender_id)
    except (Sender.DoesNotExist, ValueError, TypeError):
        raise NotFound("no such sender in this store", field="sender_id") from None


def sender_for_number(store: Store, number: str) -> Sender | None:
    return Sender.objects.filter(store=store, from_number=number).first()


def set_sender_active(store: Store, sender_id: int, active: bool) -> Sender:
    """Switch a sender on or off. An inactive sender sends nothing (its queued texts wait).
    The default keeps its flag while it is off, so switching it on again restores it; in the
    meantime texts go through the first active sender (composer.default_sender). A sender
    switched on in a store without any default becomes the default."""
    with transaction.atomic():
        sender = get_sender(store, sender_id)
        sender.active = bool(active)
        if sender.active and not Sender.objects.filter(store=store, is_default=True).exclude(pk=sender.pk).exists():
            sender.is_default = True
        sender.save(update_fields=["active", "is_default"])
    log.info("sender.active", store=store.slug, sender_id=sender.pk, active=sender.active, is_default=sender.is_default)
    return sender


# Plain ASCII on purpose: one curly quote forces UCS-2 and doubles the cost of every test.
SENDER_TEST_TEXT = '{brand}: test message from textpilot through sender "{sender}".'


def sender_test_text(store: Store, sender: Sender) -> str:
    """The built-in text of a sender's *Send test message* button."""
    return SENDER_TEST_TEXT.format(brand=store.brand, sender=sender.name)


def make_default_sender(store: Store, sender_id: int) -> Sender:
    sender = get_sender(store, sender_id)
    if not sender.active:
        raise Conflict("an inactive sender can't be the default: activate it first", field="sender_id")
    with transaction.atomic():
        Sender.objects.filter(store=store, is_default=True).exclude(pk=sender.pk).update(is_default=False)
        Sender.objects.filter(pk=sender.pk).update(is_default=True)
    sender.is_default = True
    log.info("sender.default", store=store.slug, sender_id=sender.pk)
    return sender


# --- sending -------------------------------------------------------------------------------

def send_message(
    store: Store, *, body: str, to: str | None = None, profile: Profile | None = None,
    kind: str = Kind.TRANSACTIONAL, origin: str = Origin.API, origin_key: str | None = None,
    origin_id: int | None = None, variant: str = "",
    media_urls: list[str] | tuple[str, ...] = (), sender: Sender | None = None,
    context: Mapping[str, Any] | None = None, priority: int | None = None, send_after: datetime | None = None,
    render: bool = True,
) -> Message:
    """Queue one text and return at once. `body` is a template (merge tags are rendered for
    the recipient now); `origin_key` makes the call idempotent: the same key returns the
    message created the first time. `origin`/`origin_id`/`variant` record what sent it (a
    campaign and its A/B variant, a flow step). A body that fails to render for this
    recipient gives a `failed` message with the reason (a campaign's other messages go on).
    `render=False` sends `body` literally (keyword replies: a wording with braces must not
    become a tag). The rules are delivery/composer.py's, shared with bulk_enqueue."""
    request = composer.check_request(body=body, kind=kind, origin=origin, origin_id=origin_id, variant=variant,
                                     media_urls=media_urls, priority=priority, render=render)
    origin_key = composer.clean_origin_key(origin_key)
    if origin_key:
        existing = Message.objects.filter(store=store, origin_key=origin_key).first()
        if existing is not None:
            return existing
    texts = composer.Composer(store, request, composer.choose_sender(store, sender))  # TemplateError: nothing stored
    # One transaction from the recipient to the message: a text refused after `to` created
    # its profile (a bad merge context, an unstorable value) leaves no profile behind.
    with transaction.atomic():
        profile = _recipient(store, to, profile)
        composed = texts.compose(profile.phone, composer.render_context(store, profile, context) if texts.template else None)
        [message_id] = reserve_ids(Message, 1)
        inserted = queueing.write(texts, [queueing.Pending(message_id, profile.pk, profile.phone, origin_key, composed)],
                                  now=timezone.now(), send_after=send_after)
    if not inserted:  # the same request raced us: the other one's message is the answer
        return Message.objects.get(store=store, origin_key=origin_key)
    message = Message.objects.get(pk=message_id)
    log.info("message.queued", store=store.slug, message_id=message.pk, kind=kind, origin=origin, status=message.status)
    return message


def _recipient(store: Store, to: str | None, profile: Profile | None) -> Profile:
    if profile is not None:
        problem = composer.recipient_problem(store, profile)
        if problem is not None:
            raise problem
        return profile
    if not to:
        raise FieldError("give a phone number (to) or a profile", field="to")
    found, _ = profiles.identify(store, phone=to, source="message")
    return found


def message_for_origin_key(store: Store, origin_key: str) -> Message | None:
    return Message.objects.filter(store=store, origin_key=origin_key).first()


def get_message(store: Store, message_id: int) -> Message:
    try:
        return Message.objects.select_related("profile", "sender").get(store=store, pk=message_id)
    except (Message.DoesNotExist, ValueError, TypeError):
        raise NotFound("no such message in this store", field="message_id") from None


def list_messages(store: Store, *, status: str | None = None, direction: str | None = None,
                  kind: str | None = None, phone: str | None = None, profile_id: int | None = None) -> QuerySet[Message]:
    messages = Message.objects.filter(store=store).select_related("profile")
    if status:
        messages = messages.filter(status=status)
    if direction:
        messages = messages.filter(direction=direction)
    if kind:
        messages = messages.filter(kind=kind)
    if phone:
        messages = messages.filter(to_phone__contains=phone) | messages.filter(from_phone__contains=phone)
    if profile_id:
        messages = messages.filter(profile_id=profile_id)
    return messages.order_by("-created_at", "-id")


def conversation(store: Store, profile: Profile) -> QuerySet[Message]:
    """Both directions of one customer's texts, oldest first (the inbox and the Phone page)."""
    return Message.objects.filter(store=store, profile=profile).order_by("created_at", "id")


# --- receipts ------------------------------------------------------------------------------

def apply_delivery_report(
    store: Store, *, provider: str, status: str, provider_message_id: str | None = None,
    message_id: int | None = None, error_code: str = "", reason: str = "", raw: Mapping | None = None,
    cost: Decimal | None = None, occurred_at: datetime | None = None,
) -> Message | None:
    """Record a receipt and move the message forward. Statuses only move up in rank, so a
    duplicate or late receipt (a "sent" after "delivered") changes nothing; the receipt is
    still kept. A message stuck in `unknown` (its worker died mid-call) is reconciled here.
    A message it moved is announced (message_status_changed) after commit; receiving's
    batch path uses apply_report and announces the whole batch once."""
    message, applied = apply_report(store, provider=provider, status=status, provider_message_id=provider_message_id,
                                    message_id=message_id, error_code=error_code, reason=reason, raw=raw, cost=cost,
                                    occurred_at=occurred_at)
    if applied:
        status_hooks.announce(store.pk, [message])
    return message


def apply_report(
    store: Store, *, provider: str, status: str, provider_message_id: str | None = None,
    message_id: int | None = None, error_code: str = "", reason: str = "", raw: Mapping | None = None,
    cost: Decimal | None = None, occurred_at: datetime | None = None,
) -> tuple[Message | None, bool]:
    """apply_delivery_report without the announcement: (the message or None, whether the
    receipt moved it)."""
    if status not in (Status.SENT, Status.DELIVERED, Status.UNDELIVERED, Status.FAILED):
        raise FieldError(f"unknown delivery status {status!r}", field="status")
    now = occurred_at or timezone.now()
    # No savepoint of its own inside a caller's transaction (receiving.record_receipts, a
    # batch): the batch is all or nothing anyway, and a savepoint costs two round trips per
    # receipt. (A caller inside a transaction can't catch a database error from here and go on.)
    with transaction.atomic(savepoint=False):
        messages = Message.objects.select_for_update().filter(store=store, direction=Direction.OUTBOUND)
        message = None
        if message_id is not None:
            message = messages.filter(pk=message_id).first()
        if message is None and provider_message_id:
            message = messages.filter(provider=provider, provider_message_id=provider_message_id).first()
        applied = False
        if message is not None and STATUS_RANK[Status(status)] > STATUS_RANK[Status(message.status)]:
            message.status, message.status_at = status, now
            updates = ["status", "status_at"]
            if provider_message_id and not message.provider_message_id:
                message.provider_message_id = provider_message_id
                updates.append("provider_message_id")
            if not message.provider:  # the receipt beat the dispatcher's "sent" bookkeeping
                message.provider = provider
                updates.append("provider")
            if message.sent_at is None:
                message.sent_at = now
                updates.append("sent_at")
            if status == Status.DELIVERED:
                message.delivered_at = now
                updates.append("delivered_at")
            if status in (Status.UNDELIVERED, Status.FAILED):
                message.error_code, message.status_reason = (error_code or "")[:32], (reason or f"provider reported {status}")[:255]
                updates += ["error_code", "status_reason"]
            if cost is not None:
                message.actual_cost = cost
                updates.append("actual_cost")
            message.save(update_fields=updates)
            applied = True
        elif message is not None and cost is not None and message.actual_cost is None:
            Message.objects.filter(pk=message.pk).update(actual_cost=cost)
        DeliveryReport.objects.create(
            store=store, message=message, provider=provider, provider_message_id=(provider_message_id or "")[:128],
            status=status, error_code=(error_code or "")[:32], raw=dict(raw or {}), applied=applied,
        )
    log.info("message.receipt", store=store.slug, provider=provider, message_id=getattr(message, "pk", None),
             status=status, applied=applied)
    return message, applied


def record_carrier_opt_out(store: Store, profile: Profile, provider: str, error_code: str) -> None:
    """The carrier says this number opted out (Twilio 21610): same as a STOP from them."""
    from textpilot.profiles.models import ConsentBasis, ConsentStatus

    if profile.sms_status != ConsentStatus.UNSUBSCRIBED:
        profiles.record_consent(store, profile, ConsentStatus.UNSUBSCRIBED, source=f"carrier_opt_out:{provider}",
                                keyword=error_code, basis=ConsentBasis.OBSERVED)


# --- privacy (called by profiles.service export/erase) -----------------------------------

def export_for_profiles(store: Store, profile_ids: list[int]) -> list[dict]:
    return [
        {"direction": m.direction, "to": m.to_phone, "from": m.from_phone, "body": m.body, "media_urls": m.media_urls,
         "kind": m.kind, "origin": m.origin, "status": m.status, "created_at": m.created_at, "sent_at": m.sent_at,
         "delivered_at": m.delivered_at}
        for m in Message.objects.filter(store=store, profile_id__in=profile_ids).order_by("created_at", "id")
    ]


def reassign_profile(store: Store, source_id: int, target_id: int) -> int:
    """Profile merge: the texts of one profile become the survivor's (frequency caps, the inbox)."""
    return Message.objects.filter(store=store, profile_id=source_id).update(profile_id=target_id)


def redact_for_profiles(erasure) -> int:
    """Erase what texts say and where they went; keep status, segments and cost (anonymous
    delivery and spend figures). Provider call records and receipts lose their payloads,
    and the simulated carrier's log forgets the number too."""
    from textpilot.delivery.models import DeliveryAttempt, SimDelivery

    store, profile_ids, phones = erasure.store, erasure.profile_ids, erasure.phones

    messages = Message.objects.filter(store=store, profile_id__in=profile_ids)
    ids = list(messages.values_list("pk", flat=True))
    DeliveryAttempt.objects.filter(store=store, message_id__in=ids).update(request={}, response={}, error="")
    DeliveryReport.objects.filter(store=store, message_id__in=ids).update(raw={})
    for phone in phones:
        DeliveryReport.objects.filter(store=store, raw__icontains=phone).update(raw={})
        SimDelivery.objects.filter(store_id=store.pk, to_phone=phone).update(to_phone="", body="[erased]")
        SimDelivery.objects.filter(store_id=store.pk, from_phone=phone).update(from_phone="", body="[erased]")
    outbound = messages.filter(direction=Direction.OUTBOUND).update(to_phone="", body="[erased]", media_urls=[])
    inbound = messages.filter(direction=Direction.INBOUND).update(from_phone="", body="[erased]", media_urls=[])
    return outbound + inbound
