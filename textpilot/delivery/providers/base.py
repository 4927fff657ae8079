"""The small interface every provider implements, and the registry that finds them by name.

A provider gets a batch of ready-to-send texts and returns one `SendResult` per text. It
never touches the database: the dispatcher records results, so a provider is easy to test
and can't break the exactly-once bookkeeping.
"""
from __future__ import annotations

import dataclasses
import enum
from typing import Any, ClassVar


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


class ProviderConfigError(Exception):
    """The sender's credentials or options are missing or wrong (shown to the merchant)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class Provider:
    """Base class. `name` is the registry key; `credential_fields` are stored encrypted,
    `option_fields` in plain JSON; both drive the sender settings form."""

    name: ClassVar[str]
    label: ClassVar[str]
    credential_fields: ClassVar[tuple[str, ...]] = ()
    option_fields: ClassVar[dict[str, Any]] = {}  # name -> default
    # True when `lookup` can tell whether a text reached the provider (by our message id).
    supports_lookup: ClassVar[bool] = False

    def __init__(self, credentials: dict[str, str] | None = None, options: dict[str, Any] | None = None):
        self.credentials = credentials or {}
        self.options = {**self.option_fields, **(options or {})}

    @classmethod
    def validate_config(cls, credentials: dict[str, str], options: dict[str, Any]) -> None:
        """Raise ProviderConfigError naming the field when the configuration can't work."""
        for field in cls.credential_fields:
            if not (credentials.get(field) or "").strip():
                raise ProviderConfigError(f"{field} is required for {cls.label}", field=field)

    async def send_batch(self, texts: list[OutgoingText]) -> list[SendResult]:
        raise NotImplementedError

    async def lookup(self, text: OutgoingText) -> LookupResult:
        """Did the provider receive this text? Only called when `supports_lookup`."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release connections (HTTP sessions, SMPP binds)."""


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
