"""API keys are checked in the database once per process and TTL, and never outlive a revoke
in the process that revoked them; elsewhere they live at most API_KEY_CACHE_SECONDS."""
import time

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from textpilot.stores import service
from textpilot.stores.models import ApiKey


def key_queries(raw):
    with CaptureQueriesContext(connection) as queries:
        found = service.authenticate_api_key(raw)
    return found, [q["sql"] for q in queries.captured_queries if "stores_apikey" in q["sql"]]


def test_a_checked_key_is_not_looked_up_again(store):
    _, raw = service.create_api_key(store)
    first, looked_up = key_queries(raw)
    assert first.store == store and looked_up
    again, looked_up = key_queries(raw)
    assert again.pk == first.pk and again.store == store and looked_up == []


def test_callers_get_copies_that_cannot_change_the_cache(store):
    _, raw = service.create_api_key(store)
    service.authenticate_api_key(raw).store.name = "Changed by a request"
    assert service.authenticate_api_key(raw).store.name == "Acme Outdoors"


def test_revoke_takes_effect_at_once_in_this_process(store, client):
    api_key, raw = service.create_api_key(store)
    assert client.get("/api/v1/stores", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    service.revoke_api_key(store, api_key.pk)
    assert client.get("/api/v1/stores", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_a_revoke_made_elsewhere_is_honoured_within_the_ttl(store, client, settings):
    """Another process's revoke reaches this one's database, not its memory: an UPDATE that
    sends no signal here stands for it."""
    settings.API_KEY_CACHE_SECONDS = 0.5
    api_key, raw = service.create_api_key(store)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get("/api/v1/stores", **headers).status_code == 200
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())
    time.sleep(0.6)
    assert client.get("/api/v1/stores", **headers).status_code == 401


def test_store_settings_changed_here_are_seen_at_once(store, api, api_key):
    assert api.post("/api/v1/events", {"name": "viewed_product", "profile": {"phone": "0151 23456789"}}).status_code == 422
    service.update_store_settings(store, country="DE")  # German numbers without +49 now parse
    response = api.post("/api/v1/events", {"name": "viewed_product", "profile": {"phone": "0151 23456789"}})
    assert response.status_code == 201, response.content


def test_ttl_zero_turns_the_cache_off(store, settings):
    settings.API_KEY_CACHE_SECONDS = 0
    _, raw = service.create_api_key(store)
    key_queries(raw)
    _, looked_up = key_queries(raw)
    assert looked_up
