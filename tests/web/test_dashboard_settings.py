"""Store settings and API keys: owners change, staff read, errors name the field."""
import hashlib
import re

from django.contrib.sessions.models import Session
from django.urls import reverse

from textpilot.stores.models import ApiKey, Store

VALID = {
    "name": "Acme Outdoors", "timezone": "America/New_York", "currency": "USD", "country": "US",
    "domain": "", "sender_name": "Acme", "sender_phone": "", "support_email": "help@acme.test",
}


def test_owner_saves_settings(owner_client, store):
    response = owner_client.post(reverse("web:settings"), {**VALID, "name": "Acme Gear", "currency": "cad", "timezone": "America/Toronto"})
    assert response.status_code == 302
    store.refresh_from_db()
    assert (store.name, store.currency, store.timezone, store.sender_name) == ("Acme Gear", "CAD", "America/Toronto", "Acme")
    page = owner_client.get(reverse("web:settings")).content.decode()
    assert "Store settings saved." in page


def test_validation_error_is_shown_next_to_the_field_and_nothing_is_saved(owner_client, store):
    response = owner_client.post(reverse("web:settings"), {**VALID, "name": "Renamed", "timezone": "Mars/Olympus_Mons"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "unknown time zone &#x27;Mars/Olympus_Mons&#x27;" in html
    assert re.search(r'name="timezone"[^>]*aria-invalid="true"', html)
    assert 'id="timezone-error"' in html
    assert 'value="Renamed"' in html  # what the owner typed is kept in the form
    store.refresh_from_db()
    assert store.name == "Acme Outdoors" and store.timezone == "America/New_York"


def test_other_service_errors_are_shown_too(owner_client, store):
    for field, value, message in [
        ("currency", "US", "currency must be a 3-letter"),
        ("sender_phone", "12", "is not a valid phone number"),
        ("name", "   ", "store name is required"),
        ("support_email", "not-an-email", "valid email"),
    ]:
        response = owner_client.post(reverse("web:settings"), {**VALID, field: value})
        assert response.status_code == 422, field
        assert message in response.content.decode(), field
    store.refresh_from_db()
    assert (store.currency, store.sender_phone, store.name, store.support_email) == ("USD", "", "Acme Outdoors", "")


def test_staff_sees_settings_read_only_and_cannot_change_them(staff_client, store):
    page = staff_client.get(reverse("web:settings"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Read only" in html and "Save settings" not in html
    assert re.search(r'name="name"[^>]*disabled', html)
    response = staff_client.post(reverse("web:settings"), {**VALID, "name": "Hijacked"})
    assert response.status_code == 403
    store.refresh_from_db()
    assert store.name == "Acme Outdoors"


def test_api_key_is_shown_once_and_only_its_hash_is_stored(owner_client, store):
    response = owner_client.post(reverse("web:api_key_create"), {"name": "Shopify sync"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    raw = re.search(r'<code id="new-api-key" class="secret">(tp_[A-Za-z0-9_-]+)</code>', html).group(1)
    key = ApiKey.objects.get(store=store, name="Shopify sync")
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(key.prefix) and len(key.prefix) < len(raw)
    stored = [str(v) for v in ApiKey.objects.filter(pk=key.pk).values().get().values()]
    assert not any(raw in value for value in stored)
    assert not any(raw in s.session_data for s in Session.objects.all())
    # The list shows the prefix, never the key; there is no way to see it again.
    listing = owner_client.get(reverse("web:api_keys")).content.decode()
    assert f"{key.prefix}…" in listing and raw not in listing
    assert owner_client.get(reverse("web:api_key_create")).status_code == 405


def test_the_new_key_works_against_the_api(owner_client, client, store):
    html = owner_client.post(reverse("web:api_key_create"), {"name": "script"}).content.decode()
    raw = re.search(r'id="new-api-key" class="secret">([^<]+)<', html).group(1)
    from textpilot.stores import service

    assert service.authenticate_api_key(raw).store == store


def test_owner_revokes_a_key(owner_client, store):
    from textpilot.stores import service

    key, raw = service.create_api_key(store, "old")
    response = owner_client.post(reverse("web:api_key_revoke", args=[key.pk]))
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert service.authenticate_api_key(raw) is None
    assert "Revoked" in owner_client.get(reverse("web:api_keys")).content.decode()


def test_staff_cannot_create_or_revoke_keys(staff_client, store):
    from textpilot.stores import service

    key, raw = service.create_api_key(store, "prod")
    listing = staff_client.get(reverse("web:api_keys")).content.decode()
    assert "prod" in listing and "Create key" not in listing and ">Revoke<" not in listing
    assert staff_client.post(reverse("web:api_key_revoke", args=[key.pk])).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None
    assert staff_client.post(reverse("web:api_key_create"), {"name": "sneaky"}).status_code == 403
    assert not ApiKey.objects.filter(name="sneaky").exists()


def test_keys_of_another_store_cannot_be_revoked_or_seen(owner_client, other_store):
    from textpilot.stores import service

    key, _ = service.create_api_key(other_store, "berlin-key")
    assert "berlin-key" not in owner_client.get(reverse("web:api_keys")).content.decode()
    assert owner_client.post(reverse("web:api_key_revoke", args=[key.pk])).status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
    assert Store.objects.count() == 2
