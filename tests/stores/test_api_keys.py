import hashlib

import pytest

from textpilot.stores import service
from textpilot.stores.models import ApiKey


def test_raw_key_is_never_stored(store):
    api_key, raw = service.create_api_key(store, "zapier")
    assert raw.startswith("tp_") and len(raw) > 40
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {stored.key_hash, stored.prefix, stored.name}
    assert raw.startswith(stored.prefix)


def test_authenticate_finds_the_store_and_stamps_last_use(store):
    api_key, raw = service.create_api_key(store)
    found = service.authenticate_api_key(raw)
    assert found.pk == api_key.pk and found.store == store
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is not None


@pytest.mark.parametrize("token", ["", "tp_", "tp_not-a-real-key", "Bearer x", "sk_live_123"])
def test_unknown_keys_are_refused(store, token):
    service.create_api_key(store)
    assert service.authenticate_api_key(token) is None


def test_revoked_key_stops_working(store, client):
    api_key, raw = service.create_api_key(store)
    assert client.get("/api/v1/stores", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    service.revoke_api_key(store, api_key.pk)
    assert service.authenticate_api_key(raw) is None
    assert client.get("/api/v1/stores", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_a_store_cannot_revoke_another_stores_key(store, other_store):
    from textpilot.common.errors import NotFound

    api_key, raw = service.create_api_key(other_store)
    with pytest.raises(NotFound):
        service.revoke_api_key(store, api_key.pk)
    assert service.authenticate_api_key(raw) is not None


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Bearer "}, {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}, {"HTTP_AUTHORIZATION": "Bearer tp_wrong"}],
)
def test_api_refuses_missing_or_bad_keys(db, client, headers):
    response = client.get("/api/v1/profiles", **headers)
    assert response.status_code == 401
    assert "API key" in response.json()["detail"]


def test_stores_endpoint_lists_only_the_keys_store(api, store, other_store):
    response = api.get("/api/v1/stores")
    assert response.status_code == 200
    assert [s["slug"] for s in response.json()] == ["acme"]
