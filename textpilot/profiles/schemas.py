from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from textpilot.common.inputs import BoundedDatetime, JsonObject, PlainText
from textpilot.profiles import stats_slot


class ProfileIn(Schema):
    model_config = ConfigDict(extra="forbid")

    phone: PlainText | None = Field(None, max_length=40, examples=["+14155550123"])
    email: PlainText | None = Field(None, max_length=254)
    external_id: PlainText | None = Field(None, max_length=128)
    first_name: PlainText = Field("", max_length=100)
    last_name: PlainText = Field("", max_length=100)
    gender: PlainText = ""
    language: PlainText = Field("", max_length=16)
    country: PlainText = Field("", max_length=2)
    region: PlainText = Field("", max_length=6, description="state or province code, e.g. TX")
    city: PlainText = Field("", max_length=100)
    latitude: float | None = None
    longitude: float | None = None
    timezone: PlainText = Field("", max_length=64)
    properties: JsonObject = {}
    source: PlainText = Field("api", max_length=64)


class IdentifyIn(ProfileIn):
    anonymous_id: PlainText | None = Field(None, max_length=64, description="storefront visitor id to fold into this profile")


class ProfilePatch(Schema):
    model_config = ConfigDict(extra="forbid")

    phone: PlainText | None = Field(None, max_length=40)
    email: PlainText | None = Field(None, max_length=254)
    external_id: PlainText | None = Field(None, max_length=128)
    first_name: PlainText | None = Field(None, max_length=100)
    last_name: PlainText | None = Field(None, max_length=100)
    gender: PlainText | None = None
    language: PlainText | None = Field(None, max_length=16)
    country: PlainText | None = Field(None, max_length=2)
    region: PlainText | None = Field(None, max_length=6)
    city: PlainText | None = Field(None, max_length=100)
    latitude: float | None = None
    longitude: float | None = None
    timezone: PlainText | None = Field(None, max_length=64)
    properties: JsonObject | None = None
    source: PlainText | None = Field(None, max_length=64)


class CustomerPredictionOut(Schema):
    """What the store's nightly CLV model predicts for the customer (BG/NBD + Gamma-Gamma,
    docs/decisions.md "Predicted CLV"), in the store's currency, as of `fitted_at`."""

    predicted_clv: Decimal = Field(..., description="value of the next 12 months' orders, discounted at 10 % a year")
    expected_order_value: Decimal
    expected_purchases_12m: float
    p_alive: float = Field(..., description="probability the customer still buys")
    churn_risk: str = Field(..., description="high when p_alive < 0.3, else low")
    next_order_at: datetime | None = Field(..., description="when the customer has more likely than not ordered again")
    fitted_at: datetime


class CustomerStatsOut(Schema):
    """A customer's order rollups. Only orders in the store's currency count (see `currency`);
    counted orders in another currency are left out of every figure and counted in
    `other_currency_orders`. An order counts unless it is cancelled, refunded or voided."""

    orders_count: int
    total_spent: Decimal
    average_order_value: Decimal
    first_order_at: datetime | None
    last_order_at: datetime | None
    currency: str = Field(..., description="the store's currency, which every amount here is in")
    other_currency_orders: int = Field(..., description="orders in another currency, not included in the figures")
    predicted: CustomerPredictionOut | None = Field(
        None, description="the CLV model's prediction; null while the store has too little history or the customer none")


class ProfileOut(Schema):
    id: int
    phone: str | None
    email: str | None
    external_id: str | None
    first_name: str
    last_name: str
    gender: str
    language: str
    country: str
    region: str
    city: str
    latitude: float | None
    longitude: float | None
    timezone: str
    properties: dict[str, Any]
    source: str
    sms_status: str
    sms_status_at: datetime | None
    sms_opted_out_at: datetime | None
    stats: CustomerStatsOut | None = Field(None, description="order rollups, kept by commerce (null only without the commerce app)")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_stats(obj, context):
        return stats_slot.stats_of(context["request"].store, obj)


class ConsentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    status: Literal["subscribed", "unsubscribed", "pending"]
    source: PlainText = Field(..., min_length=1, max_length=64)
    channel: Literal["sms", "email"] = "sms"
    keyword: PlainText = Field("", max_length=64)
    ip_address: PlainText | None = None
    user_agent: PlainText = Field("", max_length=1000)
    consent_text: PlainText = Field("", max_length=5000)
    occurred_at: BoundedDatetime | None = None


class ConsentOut(Schema):
    id: int
    channel: str
    status: str
    phone: str
    source: str
    keyword: str
    basis: str
    ip_address: str | None
    user_agent: str
    consent_text: str
    occurred_at: datetime
    recorded_at: datetime
