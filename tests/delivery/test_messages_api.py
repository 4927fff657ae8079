"""POST/GET /api/v1/messages: queue a text, read its status; bad input names the field."""
from textpilot.delivery.models import Message


def test_send_and_read(api, sim_sender, subscribed):
    answer = api.post("/api/v1/messages", {"to": "+1 212 555 0123", "body": "Hi {{ first_name }}", "idempotency_key": "k1"})
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["status"] == "queued" and body["body"] == "Hi Ann" and body["profile_id"] == subscribed.pk
    again = api.post("/api/v1/messages", {"to": "+1 212 555 0123", "body": "Hi {{ first_name }}", "idempotency_key": "k1"})
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert api.get(f"/api/v1/messages/{body['id']}").json()["id"] == body["id"]
    listed = api.get("/api/v1/messages", status="queued").json()
    assert [m["id"] for m in listed["items"]] == [body["id"]]


def test_bad_input_names_the_field_and_stores_nothing(api, sim_sender, subscribed):
    cases = [
        ({"to": "not a phone", "body": "x"}, "phone"),
        ({"body": "x"}, "to"),
        ({"to": "+12125550123", "profile_id": subscribed.pk, "body": "x"}, "to"),
        ({"to": "+12125550123", "body": "Hi {{ first_name "}, "body"),
        ({"to": "+12125550123", "body": "x", "kind": "spam"}, "kind"),
        ({"to": "+12125550123", "body": "x", "sender_id": 999999}, "sender_id"),
        ({"to": "+12125550123", "body": "x", "surprise": 1}, "surprise"),
    ]
    for payload, field in cases:
        answer = api.post("/api/v1/messages", payload)
        assert 400 <= answer.status_code < 500, (payload, answer.content)
        assert field in answer.content.decode(), (payload, answer.content)
    assert not Message.objects.exists()


def test_a_key_never_reads_another_stores_messages(api, other_api, sim_sender, subscribed):
    message_id = api.post("/api/v1/messages", {"to": "+12125550123", "body": "hi"}).json()["id"]
    assert other_api.get(f"/api/v1/messages/{message_id}").status_code == 404
    assert other_api.get("/api/v1/messages").json()["items"] == []
