"""Store settings and API keys: owners change, staff read, errors name the field."""
import hashlib
import re

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from form_errors import assert_plain, field_errors

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
        ("currency", "US", "is not a three-letter ISO 4217 currency code"),
        ("sender_phone", "12", "is not a valid phone number"),
        ("name", "   ", "This field is required."),
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


def create_key(client, name: str):
    """POST the form and follow its redirect: (the POST's response, the page that shows the key)."""
    posted = client.post(reverse("web:api_key_create"), {"name": name})
    assert posted.status_code == 302 and posted["Location"] == reverse("web:api_key_create")
    return posted, client.get(posted["Location"])


def raw_key_in(html: str) -> str:
    return re.search(r'<code id="new-api-key" class="secret">(tp_[A-Za-z0-9_-]+)</code>', html).group(1)


def test_api_key_is_shown_once_and_only_its_hash_is_stored(owner_client, store):
    owner_client.post(reverse("web:api_key_create"), {"name": "Shopify sync"})
    waiting = [repr(s.get_decoded()) for s in Session.objects.all()]  # between the POST and the GET
    response = owner_client.get(reverse("web:api_key_create"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    raw = raw_key_in(response.content.decode())
    key = ApiKey.objects.get(store=store, name="Shopify sync")
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(key.prefix) and len(key.prefix) < len(raw)
    stored = [str(v) for v in ApiKey.objects.filter(pk=key.pk).values().get().values()]
    assert not any(raw in value for value in stored)
    assert "web.new_api_key" in waiting[0] and not any(raw in data for data in waiting)  # it waited encrypted
    assert not any("web.new_api_key" in repr(s.get_decoded()) for s in Session.objects.all())  # and is gone once shown
    # The list shows the prefix, never the key; there is no way to see it again.
    listing = owner_client.get(reverse("web:api_keys")).content.decode()
    assert f"{key.prefix}…" in listing and raw not in listing


def test_reloading_the_new_key_page_creates_no_second_key_and_shows_it_no_more(owner_client, store):
    """POST/redirect/GET: a reload repeats the GET, which finds nothing waiting."""
    _, shown = create_key(owner_client, "zapier")
    raw = raw_key_in(shown.content.decode())
    again = owner_client.get(reverse("web:api_key_create"), follow=True)
    html = again.content.decode()
    assert again.redirect_chain[-1][0] == reverse("web:api_keys")
    assert raw not in html and "shown only once" in html
    assert ApiKey.objects.filter(store=store).count() == 1


def test_a_new_key_waits_for_its_own_store_only(owner_client, owner, store, other_store):
    """A key created in store A is not shown when the session has moved to store B."""
    from textpilot.stores import service

    service.add_member(other_store, owner, "owner")
    owner_client.post(reverse("web:api_key_create"), {"name": "for acme"})
    owner_client.post(reverse("web:switch_store"), {"store_id": other_store.pk})
    response = owner_client.get(reverse("web:api_key_create"))
    assert response.status_code == 302 and response["Location"] == reverse("web:api_keys")


def test_the_new_key_works_against_the_api(owner_client, client, store):
    _, shown = create_key(owner_client, "script")
    from textpilot.stores import service

    assert service.authenticate_api_key(raw_key_in(shown.content.decode())).store == store


@pytest.mark.parametrize("name, message", [
    ("", "Give the key a name: what will use it, e.g. Shopify sync."),
    ("   ", "Give the key a name: what will use it, e.g. Shopify sync."),
    ("k" * 300, "Ensure this value has at most 100 characters (it has 300)."),
])
def test_a_blank_or_too_long_key_name_is_refused_not_replaced_or_cut(owner_client, store, name, message):
    response = owner_client.post(reverse("web:api_key_create"), {"name": name})
    html = response.content.decode()
    assert response.status_code == 422
    assert field_errors(html) == {"name": message}
    assert not re.search(r'<input[^>]*name="name"[^>]*maxlength', html)  # the browser doesn't cut it either
    assert not ApiKey.objects.exists()


def test_the_service_refuses_a_blank_or_too_long_key_name(store):
    from textpilot.common.errors import FieldError
    from textpilot.stores import service

    for name in ("", "  ", "k" * 101):
        with pytest.raises(FieldError) as error:
            service.create_api_key(store, name)
        assert error.value.field == "name"
    assert service.create_api_key(store, "k" * 100)[0].name == "k" * 100
    assert ApiKey.objects.count() == 1


def test_a_long_key_name_wraps_in_the_list(owner_client, store):
    from textpilot.stores import service

    service.create_api_key(store, "k" * 100)
    html = owner_client.get(reverse("web:api_keys")).content.decode()
    assert f'<td class="key-name">{"k" * 100}</td>' in html  # .key-name wraps anywhere (app.css; the browser test measures it)


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


def test_made_up_codes_and_a_bad_domain_are_refused_all_at_once_and_nothing_is_saved(owner_client, store):
    response = owner_client.post(reverse("web:settings"), {
        **VALID, "name": "Renamed", "domain": "http://bad domain/", "currency": "XYZ", "country": "ZZ", "sender_phone": "12"})
    html = response.content.decode()
    assert response.status_code == 422
    errors = field_errors(html)
    assert errors.keys() == {"domain", "currency", "country", "sender_phone"}, errors
    assert "space" in errors["domain"] and "'XYZ' is not" in errors["currency"] and "'ZZ' is not" in errors["country"]
    assert_plain(errors)
    for field in errors:
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', html), field
    store.refresh_from_db()
    assert (store.name, store.domain, store.currency, store.country) == ("Acme Outdoors", "", "USD", "US")


def test_usa_and_dollars_are_refused_with_a_hint_not_cut_short(owner_client, store):
    html = owner_client.get(reverse("web:settings")).content.decode()
    for field in ("country", "currency"):  # a browser cuts what is typed at an HTML maxlength
        tag = re.search(rf'<input[^>]*name="{field}"[^>]*>', html).group(0)
        assert "maxlength" not in tag, tag
    response = owner_client.post(reverse("web:settings"), {**VALID, "country": "USA", "currency": "dollars"})
    assert response.status_code == 422
    errors = field_errors(response.content.decode())
    assert errors["country"] == "'USA' is not a two-letter ISO 3166 country code like US or DE (for United States, US)"
    assert errors["currency"].startswith("'dollars' is not a three-letter ISO 4217 currency code")
    store.refresh_from_db()
    assert (store.country, store.currency) == ("US", "USD")


def test_a_pasted_domain_url_is_kept_as_its_host_name(owner_client, store):
    response = owner_client.post(reverse("web:settings"), {**VALID, "domain": "https://SMS.Acme.example/"})
    assert response.status_code == 302
    store.refresh_from_db()
    assert store.domain == "sms.acme.example"


def test_the_service_refuses_every_bad_setting_at_once(store):
    from textpilot.common.errors import FieldErrors
    from textpilot.stores import service

    with pytest.raises(FieldErrors) as error:
        service.update_store_settings(store, currency="dollars", country="USA", domain="bad domain")
    assert sorted(e.field for e in error.value.errors) == ["country", "currency", "domain"]
    store.refresh_from_db()
    assert (store.country, store.currency, store.domain) == ("US", "USD", "")


def test_settings_show_the_storefront_public_key_and_a_snippet_to_copy(owner_client, store, settings):
    settings.TEXTPILOT_PUBLIC_URL = "https://sms.acme.example"
    html = owner_client.get(reverse("web:settings")).content.decode()
    snippet = f'&lt;script src="https://sms.acme.example/js/textpilot.js" data-key="{store.public_key}" async&gt;&lt;/script&gt;'
    assert f'<code id="storefront-snippet" class="secret">{snippet}</code>' in html.replace("&quot;", '"')
    assert f'<code id="storefront-public-key" class="secret">{store.public_key}</code>' in html
    assert 'data-copy-target="storefront-snippet"' in html and 'data-copy-target="storefront-public-key"' in html
    assert 'id="storefront-not-public"' not in html


def test_the_snippet_address_is_pointed_out_when_a_shop_could_not_load_it(staff_client, store, settings):
    settings.TEXTPILOT_PUBLIC_URL = ""
    html = staff_client.get(reverse("web:settings")).content.decode()  # staff see the key too: it is public
    assert "http://testserver/js/textpilot.js" in html and store.public_key in html
    assert 'id="storefront-not-public"' in html and "TEXTPILOT_PUBLIC_URL" in html
