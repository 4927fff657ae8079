from datetime import datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from textpilot.common.inputs import BoundedDatetime, CurrencyCode, JsonObject, PlainText, Quantity
from textpilot.events.schemas import ProfileRef


class OrderLineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    title: PlainText = Field(..., max_length=255)
    sku: PlainText = Field("", max_length=64)
    quantity: Quantity = 1
    price: Decimal = Field(..., ge=0, max_digits=12, decimal_places=2)
    product_external_id: PlainText | None = Field(None, max_length=128)


class OrderIn(Schema):
    model_config = ConfigDict(extra="forbid")

    external_id: PlainText = Field(..., min_length=1, max_length=128)
    profile: ProfileRef
    order_number: PlainText = Field("", max_length=64)
    total: Decimal = Field(..., ge=0, max_digits=12, decimal_places=2)
    currency: CurrencyCode | None = None
    payment_status: Literal["pending", "authorized", "paid", "partially_refunded", "refunded", "voided"] = "pending"
    fulfillment_status: Literal["unfulfilled", "partial", "fulfilled", "delivered"] = "unfulfilled"
    placed_at: BoundedDatetime | None = None
    cancelled_at: BoundedDatetime | None = None
    updated_at: BoundedDatetime | None = Field(None, description="the order's last change in your platform; older updates are ignored")
    lines: list[OrderLineIn] = Field([], max_length=500)
    discount_codes: list[PlainText] = Field([], max_length=100)
    shipping: JsonObject = {}


class OrderLineOut(Schema):
    title: str
    sku: str
    quantity: int
    price: Decimal


class OrderOut(Schema):
    id: int
    external_id: str
    profile_id: int | None
    order_number: str
    total: Decimal
    currency: str
    payment_status: str
    fulfillment_status: str
    placed_at: datetime
    cancelled_at: datetime | None
    discount_codes: list
    shipping: dict
    lines: list[OrderLineOut]

    @staticmethod
    def resolve_lines(order):
        return list(order.lines.all())
