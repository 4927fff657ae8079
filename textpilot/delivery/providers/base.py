"""The small interface every provider implements, and the registry that finds them by name.

A provider owns both directions of its wire, as courier's channel handlers do:
  sending    `send_batch` gets ready-to-send texts and returns one `SendResult` per text;
  receiving  `verify_webhook` says whether one of our senders' providers really called,
             `parse_receipts` / `parse_inbound` read the call into `Receipt` / `InboundText`
             records in our own terms, `webhook_response` shapes the answer when the
             provider wants a particular body (TwiML, an empty text).
A provider never touches the database: the dispatcher records send results, and the one
generic webhook view (delivery/webhooks.py) and the SMPP listener write receipts and inbound
texts through `delivery.receiving`. So a provider is easy to test and can't break the
exactly-once bookkeeping; adding one is adding a folder. `periodic(now)` is the exception
that proves the rule: housekeeping the dispatcher runs on a database thread (the simulated
carrier posting its due receipts through `delivery.receiving`).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from textpilot.common.errors import DomainError
from textpilot.common.phones import normalize_phone

# The two kinds of webhook a provider may take.
RECEIPT, INBOUND = "receipt", "inbound"


class Outcome(str, enum.Enum):
    ACCEPTED = "accepted"  # the provider took it; provider_message_id is set
    TRANSIENT = "transient"  # timeout before sending, 429, 5xx: safe to retry later
    PERMANENT = "permanent"  # invalid number, opted out at the carrier…: never retry
    UNKNOWN = "unknown"  # the call may have succeeded (connection dropped mid-request)


@dataclasses.dataclass(frozen=True)
class OutgoingText:
    message_id: int
    store_id: int
    to_phone: str
    from_phone: str
    body: str
    media_urls: tuple[str, ...] = ()
    # Where the provider should post receipts for this text (built by the dispatcher).
    status_callback_url: str = ""


@dataclasses.dataclass
class SendResult:
    message_id: int
    outcome: Outcome
    provider_message_id: str | None = None
    error: str = ""
    error_code: str = ""
    # Set when the provider says the number opted out at the carrier (Twilio 21610).
    carrier_opt_out: bool = False
    request: dict[str, Any] = dataclasses.field(default_factory=dict)
    response: dict[str, Any] = dataclasses.field(default_factory=dict)
    latency_ms: int = 0
    retry_after_s: float | None = None


@dataclasses.dataclass
class LookupResult:
    """What the provider knows about a text we may or may not have handed over."""

    found: bool
    provider_message_id: str | None = None
    status: str | None = None  # a delivery.models.Status value when known


@dataclasses.dataclass(frozen=True)
class Receipt:
    """A delivery receipt (DLR, status callback) read into our terms."""

    status: str  # a delivery.models.Status value: sent, delivered, undelivered or failed
    provider_message_id: str | None = None  # the provider's id of the text
    # Our message id when the provider hands it back (Kannel's dlr-url, Twilio's ?mid=, the
    # sim's client reference): it finds a text whose provider id was never recorded.
    message_id: int | None = None
    error_code: str = ""
    reason: str = ""  # shown in the message list when the text failed
    cost: Decimal | None = None  # what the provider charged, when it says so
    carrier_opt_out: bool = False  # the carrier says the recipient opted out (Twilio 21610)
    occurred_at: dt.datetime | None = None  # when the provider says it happened; None: now
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # kept on the DeliveryReport


@dataclasses.dataclass(frozen=True)
class InboundText:
    """A text a customer sent us, read into our terms."""

    from_phone: str  # the customer, E.164
    to_phone: str  # our number: E.164, or as given when it is no phone number (a short code)
    body: str
    provider_message_id: str | None = None  # a repeated webhook with the same id is stored once
    media_urls: tuple[str, ...] = ()


class WebhookRefused(Exception):
    """A webhook we can't trust: answered `status` (403) with `detail`, nothing written.
    `authenticated` is True when the caller's credentials matched but something else was
    wrong (Kannel's allowed_ips): that detail is the one worth reporting when the store has
    several senders. `log_fields` add what helps an operator (the URL Twilio's signature was
    checked against)."""

    def __init__(self, detail: str, *, status: int = 403, authenticated: bool = False, **log_fields: Any):
        super().__init__(detail)
        self.detail, self.status, self.authenticated, self.log_fields = detail, status, authenticated, log_fields


class WebhookMalformed(Exception):
    """A webhook we can't read: answered 400 with `detail`, which names the parameter."""

    def __init__(self, detail: str, field: str | None = None):
        super().__init__(detail)
        self.detail, self.field = detail, field


# Message ids are 64-bit: a bigger number is no id of ours (and would overflow the query).
MAX_MESSAGE_ID = 2**63 - 1


def webhook_message_id(value: str, field: str = "mid") -> int:
    """Our message id as a webhook hands it back (ASCII digits only: "²".isdigit() is True),
    or WebhookMalformed naming `field`."""
    value = (value or "").strip()
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_MESSAGE_ID:
        raise WebhookMalformed(f"{field} must be a message id", field=field)
    return int(value)


def webhook_phone(value: str, field: str, region: str | None) -> str:
    """A number from a webhook in E.164 (national numbers read in the store's `region`), or
    WebhookMalformed naming the parameter."""
    try:
        return normalize_phone(value, default_region=region or None, field=field)
    except DomainError as exc:
        raise WebhookMalformed(f"{field}: {exc.message}", field=field) from None


def our_number(value: str, region: str | None) -> str:
    """Our own number as a webhook names it: E.164 when it is a phone number (Kannel's %P may
    come without its +), else as given: a short code or an alphanumeric sender id is stored
    that way on the sender."""
    value = (value or "").strip()
    try:
        return normalize_phone(value, default_region=region or None, field="to", allow_short_code=True) if value else ""
    except DomainError:
        return value


class ProviderConfigError(Exception):
    """The sender's credentials or options are missing or wrong (shown to the merchant).
    `errors`: each refused field's own error (itself, or several from ConfigChecks)."""

    def __init__(self, message: str, field: str | None = None, errors: list["ProviderConfigError"] | None = None):
        super().__init__(message)
        self.field = field
        self.errors = errors or [self]


class ConfigChecks:
    """Independent checks of one configuration, each in its own `with checks:` block, so a
    form shows every refused field at once, not the first:

        checks = ConfigChecks()
        with checks:
            ...raise ProviderConfigError(..., field="account_sid")
        with checks:
            ...raise ProviderConfigError(..., field="auth_token")
        checks.raise_if_any()
    """

    def __init__(self) -> None:
        self.found: list[ProviderConfigError] = []

    def __enter__(self) -> "ConfigChecks":
        return self

    def __exit__(self, kind, exc, traceback) -> bool:
        if isinstance(exc, ProviderConfigError):
            self.found.extend(exc.errors)
            return True
        return False

    def raise_if_any(self) -> None:
        if self.found:
            raise ProviderConfigError("; ".join(str(e) for e in self.found), field=self.found[0].field, errors=list(self.found))


class Provider:
    """Base class. `name` is the registry key; `credential_fields` are stored encrypted,
    `option_fields` in plain JSON; both drive the sender settings form."""

    name: ClassVar[str]
    label: ClassVar[str]
    credential_fields: ClassVar[tuple[str, ...]] = ()
    option_fields: ClassVar[dict[str, Any]] = {}  # name -> default
    # True when `lookup` can tell whether a text reached the provider (by our message id).
    supports_lookup: ClassVar[bool] = False
    # The webhooks the provider calls (RECEIPT, INBOUND) and the HTTP methods it calls them with;
    # none for a provider that reports over its own connection (SMPP) or not at all (the sim).
    webhook_kinds: ClassVar[frozenset[str]] = frozenset()
    webhook_methods: ClassVar[tuple[str, ...]] = ("POST",)

    def __init__(self, credentials: dict[str, str] | None = None, options: dict[str, Any] | None = None):
        self.credentials = credentials or {}
        self.options = {**self.option_fields, **(options or {})}

    @classmethod
    def validate_config(cls, credentials: dict[str, str], options: dict[str, Any]) -> None:
        """Raise ProviderConfigError naming every field that can't work (ConfigChecks)."""
        checks = ConfigChecks()
        for field in cls.credential_fields:
            if not (credentials.get(field) or "").strip():
                with checks:
                    raise ProviderConfigError(f"{field} is required for {cls.label}", field=field)
        checks.raise_if_any()

    async def send_batch(self, texts: list[OutgoingText]) -> list[SendResult]:
        raise NotImplementedError

    async def lookup(self, text: OutgoingText) -> LookupResult:
        """Did the provider receive this text? Only called when `supports_lookup`."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release connections (HTTP sessions, SMPP binds)."""

    # --- receiving ---------------------------------------------------------------------------
    # The webhook methods run on an instance configured with one sender's credentials; the
    # generic view tries each of the store's senders of this provider until one verifies.

    def verify_webhook(self, request, kind: str) -> None:
        """Return when this sender's provider made the call; raise WebhookRefused otherwise."""
        raise WebhookRefused(f"{self.label} takes no webhooks", status=404)

    def parse_receipts(self, request) -> list[Receipt]:
        """The receipts in a verified request; WebhookMalformed names what is wrong."""
        raise WebhookMalformed(f"{self.label} sends no receipts to a webhook")

    def parse_inbound(self, request, region: str | None = None) -> list[InboundText]:
        """The texts in a verified request; national numbers are read in `region` (the
        store's country). WebhookMalformed names what is wrong."""
        raise WebhookMalformed(f"{self.label} sends no inbound texts to a webhook")

    def webhook_response(self, kind: str, messages: list) -> Any:
        """The HTTP answer to a webhook once its records are written (`messages`: the
        delivery.models.Message of each record, None for a receipt of a text we don't know),
        or None for the generic JSON answer."""
        return None

    @classmethod
    def periodic(cls, now: dt.datetime) -> int:
        """Housekeeping, run by each dispatcher every few seconds (on a database thread) for
        every provider with an active sender, once per provider, not per sender. Returns how
        much it did (receipts posted…)."""
        return 0


_REGISTRY: dict[str, type[Provider]] = {}


def register(cls: type[Provider]) -> type[Provider]:
    _REGISTRY[cls.name] = cls
    return cls


def provider_class(name: str) -> type[Provider]:
    from textpilot.delivery import providers  # noqa: F401 - imports every provider module

    try:
        return _REGISTRY[name]
    except KeyError:
        raise ProviderConfigError(f"unknown provider {name!r}; known: {', '.join(sorted(_REGISTRY))}", field="provider") from None


def provider_names() -> list[str]:
    from textpilot.delivery import providers  # noqa: F401

    return sorted(_REGISTRY)
