from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from textpilot.common.inputs import CountryCode, PlainText
from textpilot.messaging.encoding import MAX_BODY_CHARACTERS


class PreviewIn(Schema):
    model_config = ConfigDict(extra="forbid")

    body: PlainText = Field(..., min_length=1, max_length=MAX_BODY_CHARACTERS, description="the text; may hold merge tags")
    kind: Literal["marketing", "transactional"]
    country: CountryCode | None = Field(None, description="recipient country (ISO 3166); default: the store's")
    channel: Literal["sms", "mms"] = "sms"


class WarningOut(Schema):
    code: str
    message: str
    data: dict[str, Any]


class PreviewOut(Schema):
    text: str = Field(..., description="the body as counted: merge tags filled with sample values of typical length, "
                                       "marketing links as the short links they are sent as (code XXXXXXX)")
    encoding: Literal["GSM-7", "UCS-2"]
    characters: int
    units: int = Field(..., description="septets (GSM-7) or UTF-16 code units (UCS-2)")
    segments: int
    estimated_cost: Decimal | None = Field(..., description="SMS: per segment; MMS: per message; null when the channel cannot reach the country")
    currency: str
    warnings: list[WarningOut]


class TemplateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    body: PlainText = Field(..., min_length=1, max_length=MAX_BODY_CHARACTERS)
    context_kind: Literal["campaign", "checkout", "order", "all"] = Field(
        "campaign", description="what the send knows: a campaign the profile, a checkout text also the checkout, an order update the order"
    )


class TemplateOut(Schema):
    valid: bool
    liquid: str = Field(..., description="the template as Liquid ({FirstName}-style tags translated)")
    merge_tags: list[str]


class MergeTagOut(Schema):
    tag: str
    description: str
    sample: str
    context_kinds: list[str]
