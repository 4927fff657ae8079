"""Values the databases cannot store are a 422 naming the field, never a 500, and change
nothing (issue #10): NUL characters, NaN/Infinity in properties, unstorable times, integers
past 2^63, codes that are no country."""
import pytest

from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentEvent, Profile

NAN, INF = float("nan"), float("inf")  # json.dumps writes them as NaN and Infinity, as a client could


@pytest.mark.parametrize("path", ["/api/v1/profiles", "/api/v1/profiles/identify"])
@pytest.mark.parametrize("payload, field", [
    ({"phone": "+14155552671", "first_name": "An\x00n"}, "first_name"),
    ({"email": "a\x00@example.com"}, "email"),
    ({"email": "a@example.com", "city": "x\x00"}, "city"),
    ({"email": "a@example.com", "properties": {"a\x00": 1}}, "properties"),
    ({"email": "a@example.com", "properties": {"a": {"b": ["\x00"]}}}, "properties"),
    ({"email": "a@example.com", "properties": {"a": NAN}}, "properties"),
    ({"email": "a@example.com", "properties": {"a": [INF]}}, "properties"),
    ({"email": "a@example.com", "country": "ZZ"}, "country"),
])
def test_unstorable_profile_values_are_refused(api, refused, path, payload, field):
    refused(api.post(path, payload), "body", field)
    assert not Profile.objects.exists()


def test_unstorable_values_in_a_patch_change_nothing(api, refused, store):
    profile = profiles.create_profile(store, email="ann@example.com", first_name="Ann")
    refused(api.patch(f"/api/v1/profiles/{profile.pk}", {"first_name": "x\x00", "properties": {"a": NAN}}), "body", "first_name")
    profile.refresh_from_db()
    assert (profile.first_name, profile.properties) == ("Ann", {})


@pytest.mark.parametrize("params, loc", [
    ({"search": "a\x00b"}, ("query", "search")),
    ({"limit": str(2**64)}, ("query", "limit")),
    ({"limit": "0"}, ("query", "limit")),
    ({"offset": str(2**63)}, ("query", "offset")),
    ({"offset": "-1"}, ("query", "offset")),
])
def test_bad_list_parameters_are_refused(api, refused, params, loc):
    refused(api.get("/api/v1/profiles", **params), *loc)


def test_an_id_past_2_63_is_refused_not_looked_up(api, refused):
    refused(api.get(f"/api/v1/profiles/{2**64}"), "path", "profile_id")
    refused(api.post(f"/api/v1/profiles/{2**63}/consent", {"status": "subscribed", "source": "api"}), "path", "profile_id")


@pytest.mark.parametrize("change, field", [
    ({"source": "popup\x00"}, "source"),
    ({"consent_text": "Yes\x00"}, "consent_text"),
    ({"occurred_at": "2026-01-01T00:00:00+20:00"}, "occurred_at"),      # an offset PostgreSQL can't store
    ({"occurred_at": "0001-01-01T00:00:00+01:00"}, "occurred_at"),      # year 0 in UTC
    ({"occurred_at": "9999-12-31T23:00:00-05:00"}, "occurred_at"),      # year 10000 in UTC
])
def test_unstorable_consent_evidence_is_refused(api, refused, store, change, field):
    profile = profiles.create_profile(store, phone="+14155552671")
    refused(api.post(f"/api/v1/profiles/{profile.pk}/consent", {"status": "subscribed", "source": "popup", **change}),
            "body", field)
    assert not ConsentEvent.objects.exists()


def test_an_update_that_fails_half_way_changes_nothing(store, monkeypatch):
    """The row and its identifier history are written together (all or nothing)."""
    from textpilot.profiles import identifiers

    profile = profiles.create_profile(store, email="ann@example.com", first_name="Ann")

    def failing(*args, **kwargs):
        raise RuntimeError("history write failed")

    monkeypatch.setattr(identifiers, "remember_profile", failing)
    with pytest.raises(RuntimeError):
        profiles.update_profile(store, profile.pk, email="new@example.com", first_name="Anna")
    profile.refresh_from_db()
    assert (profile.email, profile.first_name) == ("ann@example.com", "Ann")
