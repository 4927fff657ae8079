"""Request and response bodies of the tracking API.

The request bodies are plain pydantic models, not ninja.Schema: Schema's wrap validator
(which lets it read Django objects) validates a model with `extra="forbid"` twice and does
so again at every nesting level, so a batch of 100 events was validated 8 times over —
most of the request's CPU (bench/ingest_wrk_bench.py). Inputs are JSON, never ORM objects;
the views build the response models themselves."""
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from textpilot.common.inputs import BoundedDatetime, JsonObject, PlainText


class ProfileRef(BaseModel):
    """Who the event is about: any one identifier is enough."""

    model_config = ConfigDict(extra="forbid")

    phone: PlainText | None = Field(None, max_length=40)
    email: PlainText | None = Field(None, max_length=254)
    external_id: PlainText | None = Field(None, max_length=128)
    anonymous_id: PlainText | None = Field(None, max_length=64)


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PlainText = Field(..., max_length=100, examples=["Viewed Product"])
    profile: ProfileRef
    properties: JsonObject = {}
    time: BoundedDatetime | None = Field(None, description="when it happened (ISO 8601 with offset); default now")
    idempotency_key: PlainText | None = Field(None, max_length=128, description="same key twice records once")


class EventBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(..., max_length=1000)


class EventOut(BaseModel):
    id: int
    profile_id: int
    name: str
    properties: dict[str, Any]
    occurred_at: datetime
    idempotency_key: str | None
    created: bool = True


class BatchOut(BaseModel):
    recorded: int
    duplicates: int
    profiles_created: int
