"""Two endpoints: one event -> one INSERT; a batch -> one multi-row INSERT. Nothing more.

The bodies are what textpilot's /api/v1/events and /events/batch take, parsed by a plain
django-ninja schema; no profile resolution, no idempotency, no API key."""
import json
from datetime import datetime
from typing import Any

from django.db import connection
from django.urls import path
from django.utils import timezone
from ninja import NinjaAPI, Schema

api = NinjaAPI(urls_namespace="bare", docs_url=None, openapi_url=None)


class EventIn(Schema):
    name: str
    profile: dict[str, str]
    properties: dict[str, Any] = {}
    time: datetime | None = None
    idempotency_key: str | None = None


class BatchIn(Schema):
    events: list[EventIn]


@api.post("/events", response={201: dict})
def one_event(request, payload: EventIn):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bare_event (name, profile, properties, occurred_at, idempotency_key) "
            "VALUES (%s, %s::jsonb, %s::jsonb, %s, %s) RETURNING id",
            [payload.name, json.dumps(payload.profile), json.dumps(payload.properties),
             payload.time or timezone.now(), payload.idempotency_key],
        )
        (event_id,) = cursor.fetchone()
    return 201, {"id": event_id}


@api.post("/events/batch")
def batch(request, payload: BatchIn):
    now = timezone.now()
    columns = ([], [], [], [], [])
    for item in payload.events:
        for column, value in zip(columns, (item.name, json.dumps(item.profile), json.dumps(item.properties),
                                           item.time or now, item.idempotency_key)):
            column.append(value)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bare_event (name, profile, properties, occurred_at, idempotency_key) "
            "SELECT n, p::jsonb, q::jsonb, t, k FROM unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::text[]) "
            "AS u(n, p, q, t, k)",
            list(columns),
        )
    return {"recorded": len(payload.events)}


urlpatterns = [path("", api.urls)]
