"""POST/GET /api/v1/messages with values the databases cannot store: a 422 naming the field,
never a 500, and never a profile left behind by a refused text (issue #10)."""
import pytest

from textpilot.delivery.models import Message
from textpilot.profiles.models import Profile

NEW_NUMBER = "+12125550199"


@pytest.mark.parametrize("change, field", [
    ({"body": "Hi\x00"}, "body"),
    ({"to": "+1212555\x000199"}, "to"),
    ({"idempotency_key": "k\x00"}, "idempotency_key"),
    ({"send_after": "2026-01-01T00:00:00+20:00"}, "send_after"),
    ({"send_after": "9999-12-31T23:00:00-05:00"}, "send_after"),
    ({"context": {"discount_code": float("nan")}}, "context"),
    ({"context": {"discount_code": "x\x00"}}, "context"),
    ({"media_urls": ["https://bad host/cat.png"]}, "media_urls"),
    ({"profile_id": 2**64, "to": None}, "profile_id"),
    ({"sender_id": 2**63}, "sender_id"),
])
def test_unstorable_values_are_refused(api, refused, sim_sender, change, field):
    detail = refused(api.post("/api/v1/messages", {"to": NEW_NUMBER, "body": "Hi", **change}), "body", field,
                     *([0] if field == "media_urls" else []))
    assert detail
    assert not Message.objects.exists() and not Profile.objects.exists()


def test_a_text_refused_after_its_recipient_was_resolved_leaves_no_profile(api, refused, sim_sender):
    # The merge context is checked once the recipient is known: `to` had created a profile.
    refused(api.post("/api/v1/messages", {"to": NEW_NUMBER, "body": "Hi", "context": {"surprise": 1}}), "body", "context")
    assert not Message.objects.exists() and not Profile.objects.exists()


@pytest.mark.parametrize("params, name", [
    ({"phone": "\x00"}, "phone"),
    ({"status": "queued\x00"}, "status"),
    ({"profile_id": str(2**64)}, "profile_id"),
    ({"limit": str(2**64)}, "limit"),
    ({"offset": str(2**63)}, "offset"),
])
def test_bad_filters_are_refused(api, refused, params, name):
    refused(api.get("/api/v1/messages", **params), "query", name)


def test_an_id_past_2_63_is_refused_not_looked_up(api, refused):
    refused(api.get(f"/api/v1/messages/{2**64}"), "path", "message_id")
    refused(api.get(f"/api/v1/profiles/{2**64}/sendability"), "path", "profile_id")
