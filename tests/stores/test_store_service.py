import pytest

from textpilot.common.errors import Conflict, FieldError
from textpilot.stores import service
from textpilot.stores.models import Store


def test_create_store_normalises_codes(db):
    store = service.create_store("Café Nord", timezone="Europe/Paris", currency="eur", country="fr")
    assert (store.slug, store.currency, store.country) == ("cafe-nord", "EUR", "FR")


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"currency": "DOLLARS"}, "currency"),
        ({"country": "USA"}, "country"),
        ({"sender_phone": "not a phone"}, "sender_phone"),
    ],
)
def test_bad_store_settings_name_the_field_and_write_nothing(db, fields, field):
    with pytest.raises(FieldError) as error:
        service.create_store("Broken", **fields)
    assert error.value.field == field
    assert not Store.objects.exists()


def test_duplicate_slug_is_a_conflict(store):
    with pytest.raises(Conflict):
        service.create_store("Acme again", slug="acme")


def test_update_settings_is_all_or_nothing(store):
    with pytest.raises(FieldError):
        service.update_store_settings(store, sender_name="ACME", timezone="Nowhere/Land")
    store.refresh_from_db()
    assert store.sender_name == "" and store.timezone == "America/New_York"
    service.update_store_settings(store, sender_name="ACME", sender_phone="(415) 555-2671")
    store.refresh_from_db()
    assert (store.sender_name, store.sender_phone) == ("ACME", "+14155552671")


def test_short_code_sender_is_kept(store):
    service.update_store_settings(store, sender_phone="12345")
    assert store.sender_phone == "12345"


def test_membership_scopes_the_store_list(store, other_store):
    user = service.ensure_user("staff@acme.test", "a-long-password", store, "staff")
    assert list(service.stores_for_user(user)) == [store]
    assert service.role_of(user, store) == "staff"
    assert service.role_of(user, other_store) is None


@pytest.mark.parametrize(
    "fields, field",
    [({"support_email": "nope"}, "support_email"), ({"sender_name": "x" * 65}, "sender_name"), ({"domain": "d" * 256}, "domain")],
)
def test_store_text_limits_and_email(store, fields, field):
    with pytest.raises(FieldError) as error:
        service.update_store_settings(store, **fields)
    assert error.value.field == field
    store.refresh_from_db()
    assert store.support_email == "" and store.sender_name == ""
