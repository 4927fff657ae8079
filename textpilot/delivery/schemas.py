from datetime import datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from textpilot.common.inputs import BoundedDatetime, JsonObject, PlainText, PublicUrl, RowId
from textpilot.delivery import sendability
from textpilot.delivery.models import Status as MessageStatus
from textpilot.messaging.encoding import MAX_BODY_CHARACTERS


class SendIn(Schema):
    model_config = ConfigDict(extra="forbid")

    to: PlainText | None = Field(None, description="recipient phone (any format; the store's country is the default region)")
    profile_id: RowId | None = Field(None, description="or the recipient profile")
    body: PlainText = Field(..., min_length=1, max_length=MAX_BODY_CHARACTERS, description="the text; merge tags are rendered for the recipient")
    kind: Literal["marketing", "transactional"] = "transactional"
    media_urls: list[PublicUrl] = Field(default_factory=list, max_length=10)
    sender_id: RowId | None = Field(None, description="default: the store's default sender")
    idempotency_key: PlainText | None = Field(None, max_length=200, description="the same key returns the message created the first time")
    context: JsonObject | None = Field(None, description="merge values beyond the profile: discount_code, checkout_url, order, …")
    send_after: BoundedDatetime | None = Field(None, description="schedule for later (UTC unless the value has an offset)")


class LocalTimeOut(Schema):
    timezone: str = Field(..., description="IANA zone the recipient may be in")
    local: datetime = Field(..., description="the same moment as local time in that zone (with its offset)")


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
    status_reason: str = Field(..., description="in words, e.g. for a held text: "
                                                "\"held until 08:00 America/Chicago (quiet hours, Texas SB 140)\"")
    hold_rule: str = Field(..., description="what suppressed or holds the text: opted_out, no_consent, country, spend_cap, "
                                            "smart_sending, cap_24h:<rule>, quiet_hours:<rule> (e.g. US-TX@2025-09-01) or "
                                            "quiet_hours:store; empty otherwise")
    held_until: datetime | None = Field(None, description="a queued text held by the gate: when it may go (UTC)")
    held_until_local: list[LocalTimeOut] = Field(default_factory=list,
                                                 description="held_until in each zone the recipient may be in")
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


    @staticmethod
    def resolve_held_until(message):
        return sendability.held_until(message)

    @staticmethod
    def resolve_held_until_local(message, context):
        request = (context or {}).get("request")
        store = getattr(request, "store", None) or message.store
        return [{"timezone": t.timezone, "local": t.local} for t in sendability.held_until_local(store, message)]


class SendabilityOut(Schema):
    profile_id: int
    sendable: bool = Field(..., description="a marketing text to this person would leave now")
    action: Literal["send", "defer", "suppress"]
    rule: str = Field(..., description="what stops it (empty when sendable), as in a message's hold_rule")
    reason: str = Field(..., description="why, in words")
    checked_at: datetime
    at: datetime | None = Field(..., description="when it could go (UTC): now, the end of the hold, or null when the "
                                                  "text would be suppressed")
    local_times: list[LocalTimeOut] = Field(..., description="`at` in every zone the person may be in")
    jurisdictions: list[str] = Field(..., description="places whose sending rules apply, e.g. US-TX")


class MessageFilter(Schema):
    status: Literal[tuple(MessageStatus.values)] | None = None  # the stored statuses, listed in the OpenAPI
    direction: Literal["outbound", "inbound"] | None = None
    kind: Literal["marketing", "transactional"] | None = None
    phone: PlainText | None = None
    profile_id: RowId | None = None


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
