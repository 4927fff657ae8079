from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from textpilot.messaging.encoding import MAX_BODY_CHARACTERS


class SendIn(Schema):
    model_config = ConfigDict(extra="forbid")

    to: str | None = Field(None, description="recipient phone (any format; the store's country is the default region)")
    profile_id: int | None = Field(None, description="or the recipient profile")
    body: str = Field(..., min_length=1, max_length=MAX_BODY_CHARACTERS, description="the text; merge tags are rendered for the recipient")
    kind: Literal["marketing", "transactional"] = "transactional"
    media_urls: list[str] = Field(default_factory=list, max_length=10)
    sender_id: int | None = Field(None, description="default: the store's default sender")
    idempotency_key: str | None = Field(None, max_length=200, description="the same key returns the message created the first time")
    context: dict[str, Any] | None = Field(None, description="merge values beyond the profile: discount_code, checkout_url, order, …")
    send_after: datetime | None = Field(None, description="schedule for later (UTC unless the value has an offset)")


class MessageOut(Schema):
    id: int
    direction: str
    to_phone: str
    from_phone: str
    body: str
    media_urls: list[str]
    kind: str
    origin: str
    profile_id: int | None
    sender_id: int | None
    status: str
    status_reason: str
    error_code: str
    encoding: str
    segments: int
    estimated_cost: Decimal | None
    actual_cost: Decimal | None
    currency: str
    provider: str
    provider_message_id: str | None
    created_at: datetime
    status_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


class MessageFilter(Schema):
    status: str | None = None
    direction: Literal["outbound", "inbound"] | None = None
    kind: Literal["marketing", "transactional"] | None = None
    phone: str | None = None
    profile_id: int | None = None


class SenderOut(Schema):
    id: int
    name: str
    provider: str
    from_number: str
    number_type: str
    rate_per_second: float
    is_default: bool
    active: bool


class ComplianceOut(Schema):
    quiet_hours_start: str
    quiet_hours_end: str
    smart_sending_hours: int
    allowed_countries: list[str]
    daily_spend_cap: Decimal | None
    stop_reply: str
    start_reply: str
    help_reply: str
